/* The spool sink: one NDJSON file per batch in a folder, written
 * atomically (fm_fsfile: a temporary file never opened through a link,
 * fsync, rename, fsync of the folder), named
 * by the batch's planning time and id.  The default that needs no server:
 * the commune's import job reads *.ndjson and may move or delete them.
 * A batch written twice (the gateway crashed before it recorded the
 * acknowledgement) has the same name and replaces itself.
 *
 * Scans go beside the batch, before it, one file per scan named by the
 * BLAKE2b-256 of its bytes, "<hash>.scan", written the same way; a file
 * of that name with those bytes already there is kept as it is, so a scan
 * is written once however often a batch naming it is. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "batch_json.h"
#include "fieldmesh/error.h"
#include "fieldmesh/dirs.h"
#include "fieldmesh/fsfile.h"
#include "scan_fwd.h"
#include "sink.h"

#define SCAN_SUFFIX ".scan"

typedef struct spool {
  const fmd_sink_env *env;
  char dir[PATH_MAX];
  fm_buf buf;
} spool;


int fmd_spool_new(const fmd_sink_env *env, const char *dir, void **impl, char *target,
                  size_t target_cap, char *err, size_t cap) {
  struct stat st;
  int rv;
  spool *s;
  if ((rv = fm_mkdirs(dir, 0700)) < 0 || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
    snprintf(err, cap, "[upstream] spool = %s: cannot make that folder (%s): create it, "
             "writable by this user, or choose another", dir, strerror(rv < 0 ? -rv : ENOTDIR));
    return -1;
  }
  if (access(dir, W_OK | X_OK) != 0) {
    snprintf(err, cap, "[upstream] spool = %s: this user cannot write there: chown the "
             "folder to the daemon's user", dir);
    return -1;
  }
  if (!(s = calloc(1, sizeof *s))) {
    snprintf(err, cap, "out of memory");
    return -1;
  }
  s->env = env;
  snprintf(s->dir, sizeof s->dir, "%s", dir);
  fm_buf_init(&s->buf, (size_t)256 << 20);
  /* Temporary files of writes a crash interrupted: never renamed, so never
   * read.  Only our own regular files go; a link or anything else the
   * import job left there stays. */
  fm_fsfile_remove_stale(dir);
  /* The folder as given: moving the spool elsewhere starts a new sink,
   * which writes every entry again for the new folder's reader. */
  snprintf(target, target_cap, "%s", dir);
  *impl = s;
  return 0;
}

static void fail(fmd_delivery *out, const char *dir, const char *what, int e) {
  if (e == ENOSPC || e == EDQUOT)
    snprintf(out->error, sizeof out->error, "spool %s is full (%s): free space, or move the "
             "import job's files away", dir, strerror(e));
  else if (e == EACCES || e == EPERM || e == EROFS)
    snprintf(out->error, sizeof out->error, "cannot %s in spool %s (%s): give the daemon's "
             "user write access", what, dir, strerror(e));
  else
    snprintf(out->error, sizeof out->error, "cannot %s in spool %s: %s", what, dir, strerror(e));
}

/* "20261128T090000Z-<batch>.ndjson": sorts by planning time. */
static void file_name(const fm_fwd_batch *b, char *out, size_t cap) {
  char hex[33], when[32];
  struct tm tm;
  time_t secs = (time_t)(b->created / 1000);
  fmd_batch_hex(b, hex);
  gmtime_r(&secs, &tm);
  strftime(when, sizeof when, "%Y%m%dT%H%M%SZ", &tm);
  snprintf(out, cap, "%s-%s%s.ndjson", when, hex, b->resent ? "-resent" : "");
}

/* Whether |path| is already a regular file of exactly |n| bytes that
 * hash to |hash| (hex): then it is the scan, and it stays. */
static int have_scan(const char *path, uint64_t n, const char *hash) {
  struct stat st;
  uint8_t buf[65536], h[FM_BLOB_ID];
  char hex[FMD_SCAN_HASH_HEX];
  crypto_generichash_state hs;
  uint64_t left = n;
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC), ok = 0;
  if (fd < 0) return 0;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != n) goto out;
  crypto_generichash_init(&hs, NULL, 0, FM_BLOB_ID);
  while (left > 0) {
    ssize_t r = read(fd, buf, left < sizeof buf ? (size_t)left : sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) goto out;
    crypto_generichash_update(&hs, buf, (size_t)r);
    left -= (uint64_t)r;
  }
  crypto_generichash_final(&hs, h, FM_BLOB_ID);
  fm_hex(h, FM_BLOB_ID, hex);
  ok = strcmp(hex, hash) == 0;
out:
  sodium_memzero(buf, sizeof buf);
  close(fd);
  return ok;
}

/* Every opened scan of the batch, each as "<hash>.scan": 0, or -1 with
 * |out->error|.  Before the batch's file, which names them. */
static int write_scans(spool *s, const fmd_scans *sc, fmd_delivery *out) {
  char path[PATH_MAX + 160];
  fm_fsfile f;
  for (size_t i = 0; sc && i < sc->n; i++) {
    const fmd_scan *x = &sc->v[i];
    if (x->state != FMD_SCAN_OK) continue;
    snprintf(path, sizeof path, "%s/%s" SCAN_SUFFIX, s->dir, x->hash);
    if (have_scan(path, x->size, x->hash)) continue;
    /* A file of that name that is not the scan (cut short, changed by
     * hand) is replaced: the name promises those bytes. */
    if (fm_fsfile_begin(&f, path, 0640) < 0) {
      fail(out, s->dir, "create a file", errno);
      return -1;
    }
    fm_fsfile_write(&f, fmd_scan_file(sc, x), (size_t)x->size);
    if (fm_fsfile_commit(&f, FM_FSFILE_REPLACE) < 0) {
      fail(out, s->dir, "write", errno);
      return -1;
    }
  }
  return 0;
}

static void spool_deliver(void *impl, const fm_fwd_batch *b, fmd_delivery *out) {
  spool *s = impl;
  char name[128], path[PATH_MAX + 160];
  fmd_batch_meta m = {s->env->gateway, s->env->commune, "spool", out->scans, SCAN_SUFFIX};
  fm_fsfile f;
  int rv;
  fm_buf_reset(&s->buf);
  if (write_scans(s, out->scans, out) < 0) return;
  if ((rv = fmd_batch_ndjson(&s->buf, b, &m)) < 0) {
    snprintf(out->error, sizeof out->error, "cannot write the batch as JSON: %s", fm_strerror(rv));
    return;
  }
  file_name(b, name, sizeof name);
  snprintf(path, sizeof path, "%s/%s", s->dir, name);
  /* A fresh temporary name each time, created O_EXCL|O_NOFOLLOW: a link
   * the import job (or anyone who can write the folder) planted is never
   * written through.  Readable by the folder's group (the import job),
   * whatever the umask. */
  if ((rv = fm_fsfile_begin(&f, path, 0640)) < 0) {
    fail(out, s->dir, "create a file", errno);
    return;
  }
  fm_fsfile_write(&f, s->buf.p, s->buf.len);
  /* The rename is durable only once the folder is: commit syncs it, before
   * the gateway records the acknowledgement, not after. */
  if ((rv = fm_fsfile_commit(&f, FM_FSFILE_REPLACE)) < 0) {
    fail(out, s->dir, "write", errno);
    return;
  }
  memset(out->accepted, 1, b->n);
  snprintf(out->batch_ref, sizeof out->batch_ref, "%.64s", name);
  out->ok = 1;
}

static void spool_cancel(void *impl) { (void)impl; /* a write ends by itself */ }

static void spool_del(void *impl) {
  spool *s = impl;
  if (!s) return;
  fm_buf_free(&s->buf);
  free(s);
}

const fmd_sink_ops fmd_spool_ops = {FM_SINK_SPOOL, spool_deliver, spool_cancel, spool_del};
