/* Files on disk: the one way this program reads a whole file and the one
 * way it writes one.
 *
 * Reading refuses anything but a regular file at once (a FIFO or a device
 * in place of a key file or a bundle would otherwise block the reader for
 * ever).  Writing never follows a link and never leaves a half-written file
 * under the final name: the bytes go to a fresh temporary file in the
 * destination's folder, created with O_CREAT|O_EXCL|O_NOFOLLOW relative to
 * that folder's descriptor, are fsync'ed, and only then get their name
 * (rename, or link when an existing file must not be replaced), and the
 * folder is fsync'ed.  On any failure the temporary file is removed, and
 * only if it is still the very file this process made.
 *
 * Temporary names are FM_FSFILE_TMP_PREFIX "<final name>.<random>" in the
 * same folder: hidden from `*` globs (they start with a dot), unpredictable
 * (nobody can plant a link there in advance), and recognisable by
 * fm_fsfile_remove_stale() after a crash.
 */
#ifndef FIELDMESH_FSFILE_H
#define FIELDMESH_FSFILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define FM_FSFILE_TMP_PREFIX ".tmp-"

struct stat;

/* Opens |path| for reading (links are followed: reading through one is
 * harmless) without blocking, and checks it is a regular file.  Returns the
 * descriptor (close it), FM_ERR_NOTFOUND, FM_ERR_NOTREG (a FIFO, device,
 * socket or folder), or FM_ERR_IO with errno set.  |st| (may be NULL)
 * receives the file's status. */
int fm_fsfile_open_read(const char *path, struct stat *st);

/* Reads the whole regular file |path| into a malloc'd buffer of |*len|
 * bytes (the caller frees |*out|; one spare byte past the end is 0).
 * Errors: those of fm_fsfile_open_read, FM_ERR_TOOBIG when the file is
 * over |max| bytes, FM_ERR_TRUNCATED when it shrank while being read,
 * -ENOMEM.  Outputs are written only on success. */
int fm_fsfile_read(const char *path, size_t max, uint8_t **out, size_t *len);

/* A file being written.  Embed it; everything in it is private. */
typedef struct fm_fsfile {
  int fd;              /* the temporary file, -1 once closed */
  int dirfd;           /* the destination's folder */
  mode_t mode;
  dev_t dev;           /* what we created, to remove only that */
  ino_t ino;
  int err;             /* first write error, sticky */
  int err_errno;       /* and the errno that came with it */
  char name[256];      /* final name inside the folder */
  char tmp[256 + 32];  /* temporary name inside the folder */
} fm_fsfile;

/* Starts writing |path| with permissions |mode| (exactly, whatever the
 * umask).  Returns 0, FM_ERR_INVAL (no file name, or it is too long),
 * FM_ERR_NOSPACE, or FM_ERR_IO with errno set (folder missing, not
 * writable).  On success, end with fm_fsfile_commit() or fm_fsfile_abort(). */
int fm_fsfile_begin(fm_fsfile *f, const char *path, mode_t mode);

/* Appends |n| bytes.  Errors are sticky and also returned by commit:
 * FM_ERR_NOSPACE (ENOSPC, EDQUOT) or FM_ERR_IO (errno set). */
int fm_fsfile_write(fm_fsfile *f, const void *p, size_t n);

/* Flags of fm_fsfile_commit(). */
#define FM_FSFILE_REPLACE   0   /* an existing file (or link) of that name is replaced */
#define FM_FSFILE_NOREPLACE 1   /* FM_ERR_EXISTS if the name is taken (key files) */

/* Makes the file durable and gives it its name, then syncs the folder.
 * Whatever it returns, |f| is finished and the temporary file gone.
 * Returns 0, FM_ERR_EXISTS (NOREPLACE and the name is taken; nothing
 * changed), FM_ERR_NOSPACE, or FM_ERR_IO with errno set. */
int fm_fsfile_commit(fm_fsfile *f, int flags);

/* Gives up: closes and removes the temporary file. */
void fm_fsfile_abort(fm_fsfile *f);

/* Removes |name| in the folder |dirfd| only if it is a regular file owned
 * by this user (lstat, no link followed): what this program made.
 * Returns 0 when removed, FM_ERR_NOTREG when left alone, or -errno. */
int fm_fsfile_remove_own(int dirfd, const char *name);

/* Removes the temporary files that interrupted writes left in |dir| (names
 * starting with FM_FSFILE_TMP_PREFIX, regular, ours).  Returns how
 * many were removed, or -errno when the folder cannot be read. */
int fm_fsfile_remove_stale(const char *dir);

#endif
