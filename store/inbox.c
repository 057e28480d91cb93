/* Inbox secrets on disk (inbox.h): one 0600 file per month, forgotten by
 * overwriting, syncing and unlinking it.
 *
 * Why one random secret per month rather than a chain (month m+1's seed a
 * hash of month m's): with a chain, whoever copies the folder in January
 * (a backup, a stolen disk) holds the seed of every later month too, and
 * keep_months would protect nothing written after the copy.  Random
 * secrets tie a copy to the months it held.
 */
#include "fieldmesh/inbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fieldmesh/error.h"
#include "fieldmesh/fsfile.h"

#define PATH_MAX_LEN 4096

/* Whether |name| is a month "YYYY-MM". */
static int is_month(const char *name) {
  if (strlen(name) != FM_SEAL_PERIOD_LEN || name[4] != '-') return 0;
  for (int i = 0; i < FM_SEAL_PERIOD_LEN; i++)
    if (i != 4 && (name[i] < '0' || name[i] > '9')) return 0;
  return 1;
}

static int join(char *out, const char *dir, const char *name) {
  int n = snprintf(out, PATH_MAX_LEN, "%s/%s", dir, name);
  return n < 0 || n >= PATH_MAX_LEN ? FM_ERR_INVAL : 0;
}

int fm_inbox_ensure(const char *dir, const char *period, const fm_rng *rng) {
  char path[PATH_MAX_LEN];
  uint8_t sk[FM_SEAL_INBOX_PK_LEN];
  struct stat st;
  fm_fsfile f;
  int rv;
  if (!is_month(period) || join(path, dir, period)) return FM_ERR_INVAL;
  if (mkdir(dir, 0700) != 0 && errno != EEXIST) return FM_ERR_IO;
  if (lstat(path, &st) == 0) return 0;
  if ((rv = fm_fsfile_begin(&f, path, 0600)) < 0) return rv;
  rng->fill(rng->ctx, sk, sizeof sk);
  rv = fm_fsfile_write(&f, sk, sizeof sk);
  sodium_memzero(sk, sizeof sk);
  if (rv < 0) {
    fm_fsfile_abort(&f);
    return rv;
  }
  rv = fm_fsfile_commit(&f, FM_FSFILE_NOREPLACE);
  return rv == FM_ERR_EXISTS ? 0 : rv; /* another command made it meanwhile */
}

static int by_period(const void *a, const void *b) {
  return strcmp(((const fm_seal_inbox_key *)a)->period, ((const fm_seal_inbox_key *)b)->period);
}

int fm_inbox_load(const char *dir, fm_seal_inbox_key *out, size_t cap, size_t *n) {
  char path[PATH_MAX_LEN];
  struct dirent *de;
  struct stat st;
  uint8_t *bytes;
  size_t len;
  int rv = 0;
  DIR *d = opendir(dir);
  *n = 0;
  if (!d) return errno == ENOENT ? 0 : FM_ERR_IO;
  while (rv == 0 && (de = readdir(d)) != NULL) {
    if (!is_month(de->d_name) || join(path, dir, de->d_name)) continue;
    if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if (st.st_mode & 077) {
      errno = EACCES;
      rv = FM_ERR_IO;
      break;
    }
    if (*n == cap) continue; /* more months than anyone keeps: the newest win below */
    if (fm_fsfile_read(path, FM_SEAL_INBOX_PK_LEN, &bytes, &len) < 0) continue;
    if (len == FM_SEAL_INBOX_PK_LEN) {
      fm_seal_inbox_key *k = &out[(*n)++];
      memcpy(k->period, de->d_name, 8);
      memcpy(k->sk, bytes, FM_SEAL_INBOX_PK_LEN);
      fm_seal_inbox_public(k->sk, k->pk);
    }
    sodium_memzero(bytes, len);
    free(bytes);
  }
  closedir(d);
  if (rv) {
    sodium_memzero(out, cap * sizeof *out);
    *n = 0;
    return rv;
  }
  qsort(out, *n, sizeof *out, by_period);
  return 0;
}

/* Overwrites |name| in |dirfd| with zeros, syncs and unlinks it. */
static int shred(int dirfd, const char *name) {
  uint8_t zero[FM_SEAL_INBOX_PK_LEN] = {0};
  struct stat st;
  int fd = openat(dirfd, name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd >= 0) {
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
      for (off_t o = 0; o < st.st_size; o += (off_t)sizeof zero)
        if (pwrite(fd, zero, sizeof zero, o) < 0) break;
    fsync(fd);
    close(fd);
  }
  return unlinkat(dirfd, name, 0) == 0 || errno == ENOENT ? 0 : FM_ERR_IO;
}

int fm_inbox_forget(const char *dir, const char *oldest_kept, unsigned *forgot) {
  struct dirent *de;
  unsigned n = 0;
  int rv = 0;
  DIR *d = opendir(dir);
  if (forgot) *forgot = 0;
  if (!d) return errno == ENOENT ? 0 : FM_ERR_IO;
  int dfd = dirfd(d);
  while ((de = readdir(d)) != NULL) {
    if (!is_month(de->d_name) || strcmp(de->d_name, oldest_kept) >= 0) continue;
    if (shred(dfd, de->d_name) < 0)
      rv = FM_ERR_IO;
    else
      n++;
  }
  if (n && fsync(dfd) != 0) rv = FM_ERR_IO;
  closedir(d);
  if (forgot) *forgot = n;
  return rv;
}
