/* What every command shares: messages, time, the state folder, keys. */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sodium.h>

#include "date.h"
#include "seal.h"
#include "fieldmesh/dirs.h"
#include "fieldmesh/error.h"
#include "fieldmesh/keyfile.h"

__attribute__((format(printf, 3, 0))) static void vmsg(const fmc_ctx *c, const char *kind,
                                                     const char *fmt, va_list ap) {
  fprintf(stderr, "fieldmesh%s%s: %s", c->cmd ? " " : "", c->cmd ? c->cmd : "", kind);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
}

int fmc_usage(const fmc_ctx *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vmsg(c, "", fmt, ap);
  va_end(ap);
  return FMC_USAGE;
}

int fmc_fail(const fmc_ctx *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vmsg(c, "", fmt, ap);
  va_end(ap);
  return FMC_FAIL;
}

void fmc_warn(const fmc_ctx *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vmsg(c, "warning: ", fmt, ap);
  va_end(ap);
}

const char *fmc_short_id(const uint8_t *key, char out[16]) {
  fm_hex(key, 6, out);
  return out;
}

const char *fmc_device_label(fmc_ctx *c, const uint8_t key[FM_KEY_LEN], char *buf, size_t cap) {
  fm_enrollment en;
  char id[16];
  if (c->store && fm_store_enrollment(c->store, key, &en, NULL, NULL, NULL) == 0)
    snprintf(buf, cap, "%s (%s)", en.name, en.team);
  else
    snprintf(buf, cap, "device %s", fmc_short_id(key, id));
  return buf;
}

/* ---- time and randomness ------------------------------------------------- */

int fmc_now(fmc_ctx *c) {
  const char *env = getenv("FIELDMESH_NOW");
  if (env && *env) {
    char *end;
    errno = 0;
    long long v = strtoll(env, &end, 10);
    if (errno || *end || v < 0)
      return fmc_usage(c, "FIELDMESH_NOW must be milliseconds since 1970 (a whole "
                          "number), got \"%s\"; unset it to use the clock", env);
    c->now = (fm_time)v;
    return 0;
  }
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  c->now = (fm_time)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
  return 0;
}

void fmc_random(void *buf, size_t n) { randombytes_buf(buf, n); }

/* ---- the state folder ----------------------------------------------------- */


int fmc_state(fmc_ctx *c, int create) {
  const char *dir = c->state_opt, *src = "--state";
  struct stat st;
  int n;
  if (!dir || !*dir) {
    dir = getenv("FIELDMESH_STATE");
    src = "FIELDMESH_STATE";
  }
  if (dir && *dir) n = snprintf(c->state, sizeof c->state, "%s", dir);
  else {
    const char *home = getenv("HOME");
    if (!home || !*home)
      return fmc_usage(c, "no state folder: HOME is not set; pass --state DIR or "
                          "set FIELDMESH_STATE");
    src = "the default";
    n = snprintf(c->state, sizeof c->state, "%s/.local/share/fieldmesh", home);
  }
  if (n < 0 || (size_t)n >= sizeof c->state - 64)
    return fmc_usage(c, "the state folder path from %s is too long", src);
  if (stat(c->state, &st) == 0) {
    if (!S_ISDIR(st.st_mode))
      return fmc_usage(c, "state folder %s (from %s) is not a folder", c->state, src);
    return 0;
  }
  if (!create)
    return fmc_fail(c, "no fieldmesh state in %s: run `fieldmesh init` first, or "
                       "pass --state DIR / set FIELDMESH_STATE", c->state);
  if ((n = fm_mkdirs(c->state, 0700)) < 0)
    return fmc_fail(c, "cannot create state folder %s: %s", c->state, strerror(-n));
  return 0;
}

int fmc_path(const fmc_ctx *c, const char *name, char *out) {
  int n = snprintf(out, FMC_PATH_MAX, "%s/%s", c->state, name);
  return n < 0 || n >= FMC_PATH_MAX ? -ENAMETOOLONG : 0;
}

/* A state folder holds a store, or at least a key that `init` or
 * `authority init` made; any other folder is not ours to write in. */
static int is_state_folder(const fmc_ctx *c, const char *store) {
  static const char *const keys[] = {"device.key", "authority.key"};
  char path[FMC_PATH_MAX];
  struct stat st;
  if (lstat(store, &st) == 0) return 1;
  for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
    if (fmc_path(c, keys[i], path) == 0 && lstat(path, &st) == 0) return 1;
  return 0;
}

int fmc_open(fmc_ctx *c, int create) {
  char dir[FMC_PATH_MAX];
  int rv;
  if ((rv = fmc_state(c, create)) != 0) return rv;
  if (fmc_path(c, "store", dir) < 0) return fmc_fail(c, "state path too long");
  if (!create && !is_state_folder(c, dir))
    return fmc_fail(c, "%s is not a fieldmesh state folder (no store, no key in it): pass "
                       "--state DIR or set FIELDMESH_STATE to the laptop's folder, or run "
                       "`fieldmesh init` to make one here", c->state);
  if (mkdir(dir, 0700) != 0 && errno != EEXIST)
    return fmc_fail(c, "cannot create store folder %s: %s", dir, strerror(errno));
  fm_store_opts o;
  memset(&o, 0, sizeof o);
  o.why = c->damage;
  o.why_cap = sizeof c->damage;
  if ((rv = fm_store_open(dir, &o, &c->store)) < 0) return fmc_store_fail(c, rv, NULL);
  return 0;
}

int fmc_store_fail(fmc_ctx *c, int rv, const char *what) {
  char msg[FMC_PATH_MAX + 128];
  if (rv == FM_ERR_DAMAGED || rv == FM_ERR_CORRUPT)
    return fmc_fail(c, "this laptop's store is damaged (%s): run fieldmesh recover",
                    c->damage[0] ? c->damage : fm_strerror(rv));
  if (rv == FM_ERR_NOSPACE)
    return fmc_fail(c, "%s", fm_disk_full_message(c->state, msg, sizeof msg));
  return fmc_fail(c, "%s: %s", what ? what : "cannot open the store", fm_strerror(rv));
}

void fmc_close(fmc_ctx *c) {
  fmc_seal_close(c);
  fm_store_close(c->store);
  c->store = NULL;
  if (c->have_device) fm_identity_wipe(&c->device);
  c->have_device = 0;
}

static int key_error(fmc_ctx *c, const char *path, int rv, const char *fix) {
  if (rv == FM_ERR_NOTFOUND) return fmc_fail(c, "no key file %s: %s", path, fix);
  if (rv == FM_ERR_MALFORMED)
    return fmc_fail(c, "%s is not a fieldmesh key file: restore it from the backup", path);
  if (rv == FM_ERR_NOTREG)
    return fmc_fail(c, "%s is not a regular file (a pipe, device or folder): put the key "
                       "file back from the backup", path);
  return fmc_fail(c, "cannot use %s: unreadable, or readable by other users "
                     "(run `chmod 600 %s`)", path, path);
}

int fmc_load_device(fmc_ctx *c) {
  char path[FMC_PATH_MAX];
  uint8_t self[FM_KEY_LEN];
  int rv;
  if (fmc_path(c, "device.key", path) < 0) return fmc_fail(c, "state path too long");
  if ((rv = fm_keyfile_read(path, &c->device)) < 0)
    return key_error(c, path, rv, "run `fieldmesh init` first");
  c->have_device = 1;
  rv = fm_store_self(c->store, self);
  /* init writes the key first and then the store: finish its job. */
  if (rv == FM_ERR_NOTFOUND) rv = fm_store_set_self(c->store, c->device.pk);
  else if (rv == 0 && sodium_memcmp(self, c->device.pk, FM_KEY_LEN) != 0)
    return fmc_fail(c, "%s does not match the store's own identity: the key file "
                       "was replaced; restore the original key", path);
  if (rv < 0) return fmc_fail(c, "cannot read the store: %s", fm_strerror(rv));
  return 0;
}

int fmc_load_authority(fmc_ctx *c, fm_identity *id) {
  char path[FMC_PATH_MAX], commune[FM_NAME_MAX];
  uint8_t pk[FM_KEY_LEN];
  int rv;
  if (fmc_path(c, "authority.key", path) < 0) return fmc_fail(c, "state path too long");
  if ((rv = fm_keyfile_read(path, id)) < 0)
    return key_error(c, path, rv,
                     "this is not the administrator's state folder (run "
                     "`fieldmesh authority init --commune NAME` there first)");
  rv = fm_store_authority(c->store, pk, commune);
  if (rv == 0 && sodium_memcmp(pk, id->pk, FM_KEY_LEN) != 0)
    rv = fmc_fail(c, "%s is not the authority of this store's commune %s", path, commune);
  else if (rv < 0)
    rv = fmc_fail(c, "the store has no commune authority: run `fieldmesh authority "
                     "init --commune NAME`");
  if (rv) fm_identity_wipe(id);
  return rv;
}

int fmc_self_enrollment(fmc_ctx *c, fm_enrollment *en, uint64_t *revoked_after) {
  char sid[16];
  int rv = fm_store_enrollment(c->store, c->device.pk, en, revoked_after, NULL, NULL);
  if (rv == FM_ERR_NOTFOUND)
    return fmc_fail(c, "this laptop (%s…) is not enrolled: ask the commune "
                       "administrator for a join file and run `fieldmesh join FILE`",
                    fmc_short_id(c->device.pk, sid));
  if (rv < 0) return fmc_fail(c, "cannot read the enrollment: %s", fm_strerror(rv));
  return 0;
}

static int behind(fmc_ctx *c) {
  fm_store_stats st;
  if (fm_store_stats_get(c->store, &st) < 0) memset(&st, 0, sizeof st);
  return fmc_fail(c, "the mesh holds newer entries of this laptop (up to seq %llu; "
                     "this store has %llu), e.g. from a restored backup or a copied "
                     "key: import a bundle from another laptop (`fieldmesh bundle "
                     "import FILE`) or sync first; nothing was written",
                  (unsigned long long)st.self_seen, (unsigned long long)st.self_seq);
}

int fmc_own_copies(fmc_ctx *c, const uint8_t self[FM_KEY_LEN], fm_copies *out) {
  unsigned need;
  int rv = fm_store_safe_copies(c->store, &need);
  return rv < 0 ? rv : fm_store_copies(c->store, self, need, out);
}

int fmc_append(fmc_ctx *c, const fm_identity *id, const char *kind,
               const fm_buf *body, uint64_t *seq) {
  char day[16];
  fm_enrollment en;
  int rv = fm_buf_error(body);
  int64_t ahead = rv == 0 ? fm_store_clock_ahead(c->store, c->now) : 0;
  if (rv == 0) rv = fm_store_append(c->store, id, kind, body->p, body->len, c->now, NULL, seq);
  /* Said once: the append moved the store's clock back to the present. */
  if (rv == 0 && ahead > 0) {
    long long days = (ahead + 43200000) / 86400000;
    fmc_warn(c, "this laptop's last stamp is %lld day%s ahead of its clock; new records "
                "use the clock", days, days == 1 ? "" : "s");
  }
  switch (rv) {
  case 0: return 0;
  case FM_ERR_BEHIND: return behind(c);
  case FM_ERR_REVOKED:
    return fmc_fail(c, "this laptop was revoked by the commune authority: it can no "
                       "longer record, and a revoked key is never trusted again; run "
                       "`fieldmesh init` in a fresh state folder and ask the administrator "
                       "to enroll the new id (docs/operations.md, \"Re-enrolling a revoked "
                       "laptop\")");
  case FM_ERR_EXPIRED:
    if (fm_store_enrollment(c->store, id->pk, &en, NULL, NULL, NULL) == 0)
      fmc_date_of(en.expires, day);
    else
      snprintf(day, sizeof day, "?");
    return fmc_fail(c, "this laptop's enrollment expired on %s: ask the commune "
                       "administrator to enroll it again", day);
  case FM_ERR_AUTH:
    return fmc_fail(c, "this laptop is not enrolled: run `fieldmesh join FILE` first");
  case FM_ERR_TOOBIG:
    return fmc_usage(c, "the record is over the 16 KiB entry limit: shorten the note");
  case FM_ERR_NOSPACE:
  case FM_ERR_DAMAGED:
    return fmc_store_fail(c, rv, NULL);
  default:
    return fmc_fail(c, "cannot write the entry: %s; nothing was written", fm_strerror(rv));
  }
}
