/* Key files: a device's (or the authority's) seed on disk.
 *
 * The file is created under a temporary name with O_EXCL and mode 0600,
 * written, fsync'ed, and only then given its final name with link(), which
 * fails when the name is taken: two `init`s racing cannot overwrite each
 * other's key, and a crash never leaves a half-written key under the real
 * name.
 */
#include "fieldmesh/keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "fieldmesh/error.h"

#define KEY_TAG "fieldmesh-key-v1 "
#define KEY_TAG_LEN (sizeof KEY_TAG - 1)
#define SEED_LEN 32
/* tag, 64 hex digits, newline */
#define KEY_LINE_LEN (KEY_TAG_LEN + 2 * SEED_LEN + 1)

static int write_all(int fd, const char *p, size_t n) {
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* Makes the durable rename visible after a crash: the new directory entry
 * lives in the directory, not in the file. */
static void sync_dir_of(const char *path) {
  char dir[4096];
  const char *slash = strrchr(path, '/');
  size_t n = slash ? (size_t)(slash - path) : 0;
  if (n == 0) n = slash ? 1 : 0;
  if (n >= sizeof dir) return;
  if (n) memcpy(dir, path, n);
  else dir[n++] = '.';
  dir[n] = 0;
  int fd = open(dir, O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
}

/* Gives |tmp| the name |path| unless |path| exists.  link() is atomic and
 * never replaces; on file systems without hard links we fall back to a
 * check and rename, which is only racy against a second writer. */
static int publish(const char *tmp, const char *path) {
  struct stat st;
  if (link(tmp, path) == 0) return 0;
  if (errno == EEXIST) return FM_ERR_EXISTS;
  if (errno != EPERM && errno != ENOTSUP && errno != EOPNOTSUPP && errno != ENOSYS)
    return -errno;
  if (stat(path, &st) == 0) return FM_ERR_EXISTS;
  if (rename(tmp, path) != 0) return -errno;
  return 0;
}

/* On FM_ERR_IO, errno still holds the system's reason when this returns,
 * so the caller can say "permission denied" or "no space left". */
int fm_keyfile_write(const char *path, const fm_identity *id) {
  char tmp[4096 + 16], line[KEY_LINE_LEN + 1];
  struct stat st;
  int fd, rv = 0, saved = 0;
  if (stat(path, &st) == 0) return FM_ERR_EXISTS;
  if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path) >= sizeof tmp)
    return FM_ERR_INVAL;
  /* mkstemp creates the file 0600 with O_EXCL. */
  if ((fd = mkstemp(tmp)) < 0) return FM_ERR_IO;
  memcpy(line, KEY_TAG, KEY_TAG_LEN);
  fm_hex(id->sk, SEED_LEN, line + KEY_TAG_LEN);
  line[KEY_LINE_LEN - 1] = '\n';
  line[KEY_LINE_LEN] = 0;
  if (fchmod(fd, 0600) != 0 || write_all(fd, line, KEY_LINE_LEN) != 0 ||
      fsync(fd) != 0) {
    saved = errno;
    rv = FM_ERR_IO;
  }
  if (close(fd) != 0 && rv == 0) {
    saved = errno;
    rv = FM_ERR_IO;
  }
  if (rv == 0 && (rv = publish(tmp, path)) < 0 && rv != FM_ERR_EXISTS) {
    saved = -rv;
    rv = FM_ERR_IO;
  }
  unlink(tmp);
  if (rv == 0) sync_dir_of(path);
  sodium_memzero(line, sizeof line);
  if (saved) errno = saved;
  return rv;
}

/* Parses the one line of a key file into a seed. */
static int parse_line(const char *buf, size_t n, uint8_t seed[SEED_LEN]) {
  char hex[2 * SEED_LEN + 1];
  int rv;
  /* The final newline is optional: an editor may have dropped it. */
  if (n == KEY_LINE_LEN && buf[n - 1] == '\n') n--;
  if (n != KEY_LINE_LEN - 1) return FM_ERR_MALFORMED;
  if (memcmp(buf, KEY_TAG, KEY_TAG_LEN) != 0) return FM_ERR_MALFORMED;
  memcpy(hex, buf + KEY_TAG_LEN, 2 * SEED_LEN);
  hex[2 * SEED_LEN] = 0;
  rv = fm_unhex(hex, seed, SEED_LEN) < 0 ? FM_ERR_MALFORMED : 0;
  sodium_memzero(hex, sizeof hex);
  return rv;
}

int fm_keyfile_read(const char *path, fm_identity *id) {
  char buf[KEY_LINE_LEN + 8];
  uint8_t seed[SEED_LEN];
  struct stat st;
  ssize_t n;
  size_t got = 0;
  int fd, rv;
  if ((fd = open(path, O_RDONLY)) < 0)
    return errno == ENOENT ? FM_ERR_NOTFOUND : FM_ERR_IO;
  /* A key others can read may already be copied: refuse it rather than
   * quietly go on signing with it. */
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077)) {
    close(fd);
    return FM_ERR_IO;
  }
  while (got < sizeof buf && (n = read(fd, buf + got, sizeof buf - got)) != 0) {
    if (n < 0) {
      if (errno == EINTR) continue;
      close(fd);
      sodium_memzero(buf, sizeof buf);
      return FM_ERR_IO;
    }
    got += (size_t)n;
  }
  close(fd);
  rv = parse_line(buf, got, seed);
  if (rv == 0) rv = fm_identity_from_seed(id, seed) < 0 ? FM_ERR_MALFORMED : 0;
  sodium_memzero(buf, sizeof buf);
  sodium_memzero(seed, sizeof seed);
  return rv;
}
