/* Key files: a device's (or the authority's) seed on disk.
 *
 * Written through fm_fsfile (a fresh temporary file, mode 0600, never
 * through a link, fsync'ed, then linked to its final name, which fails when
 * the name is taken): a crash never leaves a half-written key under the
 * real name, and a link planted there is never written through.
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
#include "fieldmesh/fsfile.h"

#define KEY_TAG "fieldmesh-key-v1 "
#define KEY_TAG_LEN (sizeof KEY_TAG - 1)
#define SEED_LEN 32
/* tag, 64 hex digits, newline */
#define KEY_LINE_LEN (KEY_TAG_LEN + 2 * SEED_LEN + 1)

/* On FM_ERR_IO, errno still holds the system's reason when this returns,
 * so the caller can say "permission denied". */
int fm_keyfile_write(const char *path, const fm_identity *id) {
  char line[KEY_LINE_LEN + 1];
  fm_fsfile f;
  int rv;
  if ((rv = fm_fsfile_begin(&f, path, 0600)) < 0) return rv;
  memcpy(line, KEY_TAG, KEY_TAG_LEN);
  fm_hex(id->sk, SEED_LEN, line + KEY_TAG_LEN);
  line[KEY_LINE_LEN - 1] = '\n';
  line[KEY_LINE_LEN] = 0;
  rv = fm_fsfile_write(&f, line, KEY_LINE_LEN);
  sodium_memzero(line, sizeof line);
  if (rv < 0) {
    fm_fsfile_abort(&f);
    return rv;
  }
  /* Never over an existing key, not even one that appeared meanwhile:
   * two `init`s racing cannot overwrite each other's key. */
  return fm_fsfile_commit(&f, FM_FSFILE_NOREPLACE);
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
  /* A FIFO or device in its place is refused at once, never waited on. */
  if ((fd = fm_fsfile_open_read(path, &st)) < 0) return fd;
  /* A key others can read may already be copied: refuse it rather than
   * quietly go on signing with it. */
  if (st.st_mode & 077) {
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
