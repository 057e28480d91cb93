/* Reading and writing whole files without following planted links or
 * blocking on special files: see include/fieldmesh/fsfile.h. */
#define _GNU_SOURCE /* renameat2 */
#include "fieldmesh/fsfile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "fieldmesh/error.h"
#include "fieldmesh/types.h"

/* A failed write: the disk (or the user's quota) is full, or something
 * else that errno names. */
static int write_err(int e) {
  errno = e;
  return e == ENOSPC || e == EDQUOT ? FM_ERR_NOSPACE : FM_ERR_IO;
}

int fm_fsfile_open_read(const char *path, struct stat *st) {
  struct stat s;
  int fd, e;
  /* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
   * writer that never comes.  It changes nothing for a regular file. */
  if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)) < 0)
    return errno == ENOENT || errno == ENOTDIR ? FM_ERR_NOTFOUND : FM_ERR_IO;
  if (fstat(fd, &s) != 0) {
    e = errno;
    close(fd);
    errno = e;
    return FM_ERR_IO;
  }
  if (!S_ISREG(s.st_mode)) {
    close(fd);
    return FM_ERR_NOTREG;
  }
  if (st) *st = s;
  return fd;
}

int fm_fsfile_read(const char *path, size_t max, uint8_t **out, size_t *len) {
  struct stat st;
  uint8_t *data;
  size_t got = 0, size;
  int fd = fm_fsfile_open_read(path, &st), rv = 0;
  if (fd < 0) return fd;
  if ((uint64_t)st.st_size > max) {
    close(fd);
    return FM_ERR_TOOBIG;
  }
  size = (size_t)st.st_size;
  if (!(data = malloc(size + 1))) {
    close(fd);
    return -ENOMEM;
  }
  while (got < size) {
    ssize_t n = read(fd, data + got, size - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      rv = FM_ERR_IO;
      break;
    }
    if (n == 0) {
      rv = FM_ERR_TRUNCATED; /* shrank while we read */
      break;
    }
    got += (size_t)n;
  }
  close(fd);
  if (rv < 0) {
    free(data);
    return rv;
  }
  data[size] = 0;
  *out = data;
  *len = size;
  return 0;
}

/* ---- writing ------------------------------------------------------------- */

/* Splits |path| into its folder (opened) and its last component. */
static int open_dir_of(const char *path, char *name, size_t cap) {
  char dir[PATH_MAX];
  const char *slash = strrchr(path, '/');
  const char *base = slash ? slash + 1 : path;
  size_t n = slash ? (size_t)(slash - path) : 0;
  int fd;
  if (!*base || !strcmp(base, ".") || !strcmp(base, "..") || strlen(base) >= cap) {
    errno = EINVAL;
    return FM_ERR_INVAL;
  }
  if (slash && n == 0) n = 1; /* "/name" */
  if (n >= sizeof dir) {
    errno = ENAMETOOLONG;
    return FM_ERR_INVAL;
  }
  if (n) memcpy(dir, path, n);
  else dir[n++] = '.';
  dir[n] = 0;
  memcpy(name, base, strlen(base) + 1); /* shorter than |cap|: checked above */
  if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) return FM_ERR_IO;
  return fd;
}

int fm_fsfile_begin(fm_fsfile *f, const char *path, mode_t mode) {
  struct stat st;
  int e;
  memset(f, 0, sizeof *f);
  f->fd = -1;
  f->mode = mode;
  if ((f->dirfd = open_dir_of(path, f->name, sizeof f->name)) < 0) return f->dirfd;
  /* A fresh random name, created only if nothing (not even a dangling
   * link) has it: whatever was planted in the folder is never opened. */
  for (int tries = 0; tries < 16; tries++) {
    uint8_t r[6];
    char hex[13];
    randombytes_buf(r, sizeof r);
    fm_hex(r, sizeof r, hex);
    /* At most 200 bytes of the name: the temporary one must fit NAME_MAX
     * (255) too. */
    snprintf(f->tmp, sizeof f->tmp, FM_FSFILE_TMP_PREFIX "%.200s.%s", f->name, hex);
    f->fd = openat(f->dirfd, f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                   mode & 0777);
    if (f->fd >= 0 || errno != EEXIST) break;
  }
  if (f->fd < 0) goto fail;
  if (fstat(f->fd, &st) != 0) goto fail_unlink;
  f->dev = st.st_dev;
  f->ino = st.st_ino;
  /* The mode asked for, whatever the umask. */
  if (fchmod(f->fd, mode & 0777) != 0) goto fail_unlink;
  return 0;
fail_unlink:
  e = errno;
  close(f->fd);
  unlinkat(f->dirfd, f->tmp, 0);
  errno = e;
fail:
  e = errno;
  close(f->dirfd);
  f->dirfd = f->fd = -1;
  return write_err(e);
}

int fm_fsfile_write(fm_fsfile *f, const void *p, size_t n) {
  const uint8_t *b = p;
  if (f->err) {
    errno = f->err_errno;
    return f->err;
  }
  while (n) {
    ssize_t w = write(f->fd, b, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) {
      f->err_errno = errno;
      return f->err = write_err(errno);
    }
    b += w;
    n -= (size_t)w;
  }
  return 0;
}

int fm_fsfile_remove_own(int dirfd, const char *name) {
  struct stat st;
  if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return -errno;
  if (!S_ISREG(st.st_mode) || st.st_uid != geteuid()) return FM_ERR_NOTREG;
  return unlinkat(dirfd, name, 0) == 0 ? 0 : -errno;
}

/* Removes the temporary file if the name still holds the file we made. */
static void drop_tmp(fm_fsfile *f) {
  struct stat st;
  if (fstatat(f->dirfd, f->tmp, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
      st.st_dev == f->dev && st.st_ino == f->ino)
    unlinkat(f->dirfd, f->tmp, 0);
}

static void finish(fm_fsfile *f) {
  int e = errno;
  if (f->fd >= 0) close(f->fd);
  if (f->dirfd >= 0) {
    drop_tmp(f);
    close(f->dirfd);
  }
  f->fd = f->dirfd = -1;
  errno = e;
}

void fm_fsfile_abort(fm_fsfile *f) { finish(f); }

/* Gives the temporary file its final name without replacing anything.
 * link() is atomic and never replaces; file systems without hard links
 * (a FAT stick) get rename with RENAME_NOREPLACE, or at worst a check and
 * rename, racy only against a second writer of the same name. */
static int publish_new(fm_fsfile *f) {
  struct stat st;
  if (linkat(f->dirfd, f->tmp, f->dirfd, f->name, 0) == 0) return 0;
  if (errno == EEXIST) return FM_ERR_EXISTS;
  if (errno != EPERM && errno != ENOTSUP && errno != EOPNOTSUPP && errno != ENOSYS)
    return write_err(errno);
  if (renameat2(f->dirfd, f->tmp, f->dirfd, f->name, RENAME_NOREPLACE) == 0) return 0;
  if (errno == EEXIST) return FM_ERR_EXISTS;
  if (errno != EINVAL && errno != ENOSYS) return write_err(errno);
  if (fstatat(f->dirfd, f->name, &st, AT_SYMLINK_NOFOLLOW) == 0) return FM_ERR_EXISTS;
  if (renameat(f->dirfd, f->tmp, f->dirfd, f->name) != 0) return write_err(errno);
  return 0;
}

int fm_fsfile_commit(fm_fsfile *f, int flags) {
  int rv = f->err, c;
  /* A write that failed earlier: its errno, not whatever came since. */
  if (rv) errno = f->err_errno;
  if (rv == 0 && fsync(f->fd) != 0) rv = write_err(errno);
  c = close(f->fd);
  f->fd = -1;
  if (rv == 0 && c != 0) rv = write_err(errno);
  /* rename() replaces a link at the final name, never what it points to. */
  if (rv == 0) {
    if (flags & FM_FSFILE_NOREPLACE) rv = publish_new(f);
    else if (renameat(f->dirfd, f->tmp, f->dirfd, f->name) != 0) rv = write_err(errno);
  }
  /* The new name is durable only once the folder is. */
  if (rv == 0 && fsync(f->dirfd) != 0 && errno != EINVAL) rv = write_err(errno);
  finish(f);
  return rv;
}

int fm_fsfile_remove_stale(const char *dir) {
  size_t plen = strlen(FM_FSFILE_TMP_PREFIX);
  struct dirent *e;
  int n = 0, dfd;
  DIR *d;
  if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) return -errno;
  if (!(d = fdopendir(dfd))) {
    int rv = -errno;
    close(dfd);
    return rv;
  }
  while ((e = readdir(d)) != NULL)
    if (!strncmp(e->d_name, FM_FSFILE_TMP_PREFIX, plen) &&
        fm_fsfile_remove_own(dirfd(d), e->d_name) == 0)
      n++;
  closedir(d);
  return n;
}
