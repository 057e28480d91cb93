/* The store: opening, transactions, meta and trust bookkeeping. */
#include "store_int.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "fieldmesh/error.h"

#define DEFAULT_MAP_SIZE ((size_t)64 << 20)
#define MAX_GROWTHS 24

void fm__be64_put(uint8_t *p, uint64_t v) {
  for (int i = 7; i >= 0; i--, v >>= 8) p[i] = (uint8_t)v;
}

uint64_t fm__be64_get(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = (v << 8) | p[i];
  return v;
}

void fm__store_entry_key(uint8_t key[40], const uint8_t author[FM_KEY_LEN],
                         uint64_t seq) {
  memcpy(key, author, FM_KEY_LEN);
  fm__be64_put(key + FM_KEY_LEN, seq);
}

int fm__store_err(int rc) {
  if (rc == ENOSPC || rc == EDQUOT || rc == -ENOSPC || rc == -EDQUOT) return FM_ERR_NOSPACE;
  if (rc == MDB_NOTFOUND) return FM_ERR_NOTFOUND;
  /* LMDB found its own file inconsistent: that is the file, not the log. */
  if (rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND || rc == MDB_INVALID ||
      rc == MDB_VERSION_MISMATCH)
    return FM_ERR_DAMAGED;
  if (rc > 0) return -rc; /* errno */
  return rc;
}

static int open_dbs(fm_store *s) {
  MDB_txn *t;
  unsigned flags = s->read_only ? 0 : MDB_CREATE;
  struct { const char *name; MDB_dbi *dbi; } dbs[] = {
      {"entries", &s->entries},         {"heads", &s->heads},
      {"dossiers", &s->dossiers},       {"visits", &s->visits},
      {"enrollments", &s->enrollments}, {"held", &s->held},
      {"quarantine", &s->quarantine},   {"clock", &s->clock},
      {"meta", &s->meta},
  };
  /* Added with the gateway: a read-only open of an older store goes on
   * without them (s->gw_tables stays 0). */
  struct { const char *name; MDB_dbi *dbi; } gw[] = {
      {"forward", &s->forward},     {"receipts", &s->receipts},
      {"delivered", &s->delivered}, {"receipt_wait", &s->receipt_wait},
  };
  int rc = mdb_txn_begin(s->env, NULL, s->read_only ? MDB_RDONLY : 0, &t);
  if (rc) return fm__store_err(rc);
  for (size_t i = 0; i < sizeof dbs / sizeof dbs[0]; i++) {
    if ((rc = mdb_dbi_open(t, dbs[i].name, flags, dbs[i].dbi)) != 0) {
      mdb_txn_abort(t);
      return fm__store_err(rc);
    }
  }
  s->gw_tables = 1;
  for (size_t i = 0; i < sizeof gw / sizeof gw[0] && s->gw_tables; i++) {
    rc = mdb_dbi_open(t, gw[i].name, flags, gw[i].dbi);
    if (rc == MDB_NOTFOUND && s->read_only) s->gw_tables = 0;
    else if (rc) {
      mdb_txn_abort(t);
      return fm__store_err(rc);
    }
  }
  rc = mdb_dbi_open(t, "copies", flags, &s->copies);
  s->has_copies = rc == 0;
  if (rc && !(rc == MDB_NOTFOUND && s->read_only)) {
    mdb_txn_abort(t);
    return fm__store_err(rc);
  }
  /* Added for restored backups (restore.c). */
  rc = mdb_dbi_open(t, "restore", flags, &s->restore);
  s->has_restore = rc == 0;
  if (rc && !(rc == MDB_NOTFOUND && s->read_only)) {
    mdb_txn_abort(t);
    return fm__store_err(rc);
  }
  /* Added for presence notes (presence.c). */
  rc = mdb_dbi_open(t, "presence", flags, &s->presence);
  s->has_presence = rc == 0;
  if (rc && !(rc == MDB_NOTFOUND && s->read_only)) {
    mdb_txn_abort(t);
    return fm__store_err(rc);
  }
  /* Added for attachments (blob.c). */
  rc = mdb_dbi_open(t, "blobs", flags, &s->blobs);
  if (rc == 0) rc = mdb_dbi_open(t, "blob_wanted", flags, &s->blob_wanted);
  s->has_blobs = rc == 0;
  if (rc && !(rc == MDB_NOTFOUND && s->read_only)) {
    mdb_txn_abort(t);
    return fm__store_err(rc);
  }
  /* Added for the copies of scans' chunks (scan_copies.c). */
  rc = mdb_dbi_open(t, "blob_copies", flags, &s->blob_copies);
  s->has_blob_copies = rc == 0;
  if (rc && !(rc == MDB_NOTFOUND && s->read_only)) {
    mdb_txn_abort(t);
    return fm__store_err(rc);
  }
  /* Added with the team rule (team.c): only writers use it. */
  rc = mdb_dbi_open(t, "record_wait", flags, &s->record_wait);
  s->has_record_wait = rc == 0;
  if (rc && !(rc == MDB_NOTFOUND && s->read_only)) {
    mdb_txn_abort(t);
    return fm__store_err(rc);
  }
  return fm__store_err(mdb_txn_commit(t));
}

extern char *program_invocation_short_name;   /* glibc: "fieldmesh", "fieldmeshd" */

/* LMDB calls abort() as soon as this returns, and unwinding out of it
 * could leave its writer lock held, so the one thing left to do is to say
 * what happened in the words every other damaged-store message uses, and
 * end the process with the ordinary failure code. */
static void on_lmdb_assert(MDB_env *env, const char *msg) {
  (void)env;
  fprintf(stderr, "%s: this laptop's store is damaged (LMDB: %s): run fieldmesh recover\n",
          program_invocation_short_name, msg);
  fflush(stderr);
  _exit(1);
}

/* SIGBUS in this program means a read of a mapped store file failed: the
 * file was cut short under us, or the disk could not read a page (the
 * check at open rules out pages past the end of the file as it was).
 * Only async-signal-safe calls here: write(2) and _exit(2). */
static void on_sigbus(int sig) {
  static const char line[] = ": this laptop's store is damaged (a page of its file could "
                             "not be read): run fieldmesh recover\n";
  const char *name = program_invocation_short_name;
  size_t n = 0;
  (void)sig;
  while (name[n]) n++;
  if (write(2, name, n) < 0 || write(2, line, sizeof line - 1) < 0) _exit(1);
  _exit(1);
}

void fm_store_catch_sigbus(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigbus;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGBUS, &sa, NULL);
}

/* A write that failed on a full disk can come back from LMDB as EIO (a
 * short write is reported so): ask the file system before blaming the
 * disk itself. */
static int write_err(fm_store *s, int rc) {
  const char *path;
  struct statvfs v;
  if ((rc == EIO || rc == -EIO) && mdb_env_get_path(s->env, &path) == 0 && statvfs(path, &v) == 0 &&
      (unsigned long long)v.f_bavail * v.f_frsize < ((unsigned long long)1 << 20))
    return FM_ERR_NOSPACE;
  return fm__store_err(rc);
}

static void set_why(const fm_store_opts *o, const char *why) {
  if (o->why && o->why_cap) snprintf(o->why, o->why_cap, "%s", why);
}

int fm_store_open(const char *dir, const fm_store_opts *opts, fm_store **out) {
  fm_store_opts o = {0};
  fm_store *s;
  char why[256] = "";
  int rc;
  if (opts) o = *opts;
  set_why(&o, "");
  /* Before LMDB maps the file: it would follow whatever the meta pages
   * say, into SIGBUS past the end of a cut file. */
  if ((rc = fm__store_precheck(dir, why, sizeof why)) != 0) {
    set_why(&o, why);
    return rc;
  }
  if (!(s = calloc(1, sizeof *s))) return -ENOMEM;
  s->limits = o.limits.entry_max ? o.limits : fm_limits_default();
  s->nosync = o.nosync;
  s->read_only = o.read_only;
  s->verify = o.verify;
  s->verify_ctx = o.verify_ctx;
  s->held_max = o.held_max ? o.held_max : FM__HELD_MAX;
  s->held_per_author = fm__store_held_per_author(o.held_per_author, s->held_max);
  fm_buf_init(&s->rec, 1 << 20);
  fm_buf_init(&s->build, s->limits.entry_max);
  if ((rc = mdb_env_create(&s->env)) != 0) goto fail;
  mdb_env_set_maxdbs(s->env, 32);
  /* A map smaller than the file would refuse to open; LMDB keeps the
   * larger of the two. */
  mdb_env_set_mapsize(s->env, o.map_size ? o.map_size : DEFAULT_MAP_SIZE);
  unsigned flags = MDB_NOTLS;
  if (s->nosync) flags |= MDB_NOSYNC;
  if (s->read_only) flags |= MDB_RDONLY;
  mdb_env_set_assert(s->env, on_lmdb_assert);
  if ((rc = mdb_env_open(s->env, dir, flags, 0600)) != 0) goto fail;
  /* Every page the store can reach, checked before LMDB follows any of
   * them (store/check.c). */
  if (!o.skip_walk && (rc = fm__store_walk(s, why, sizeof why)) != 0) {
    set_why(&o, why);
    goto fail;
  }
  if ((rc = open_dbs(s)) != 0) goto fail;
  /* Views built by another format are rebuilt from the log.  Not fatal:
   * a full disk or a damaged entry leaves them as they were (verify says
   * so), and the next open tries again.  A store opened without its page
   * walk is not read further than asked. */
  if (!s->read_only && !o.skip_walk) (void)fm__store_views_current(s);
  *out = s;
  return 0;
fail:
  if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH || rc == MDB_CORRUPTED ||
      rc == MDB_PAGE_NOTFOUND)
    set_why(&o, mdb_strerror(rc));
  if (s->env) mdb_env_close(s->env);
  fm_buf_free(&s->rec);
  fm_buf_free(&s->build);
  free(s);
  return fm__store_err(rc);
}

int fm__store_verify_entry(const fm_store *s, const fm_entry *e) {
  return s->verify ? s->verify(s->verify_ctx, e) : fm_entry_verify(e);
}

void fm_store_close(fm_store *s) {
  if (!s) return;
  mdb_env_close(s->env);
  fm_buf_free(&s->rec);
  fm_buf_free(&s->build);
  free(s);
}

/* A map that cannot grow (no address space left for twice the size) is
 * a store that cannot take more: the same as a full disk to the member. */
static int grow(fm_store *s) {
  MDB_envinfo info;
  mdb_env_info(s->env, &info);
  return mdb_env_set_mapsize(s->env, info.me_mapsize * 2) ? FM_ERR_NOSPACE : 0;
}

int fm__store_read_begin(fm_store *s, MDB_txn **t) {
  s->trust_cache.valid = 0;
  int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, t);
  if (rc == MDB_MAP_RESIZED) {
    /* Another process grew the map: adopt its size. */
    mdb_env_set_mapsize(s->env, 0);
    rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, t);
  }
  return fm__store_err(rc);
}

int fm__store_write(fm_store *s, fm__write_fn fn, void *ctx) {
  if (s->read_only) return -EROFS;
  for (int attempt = 0; attempt <= MAX_GROWTHS; attempt++) {
    MDB_txn *t;
    int rc = mdb_txn_begin(s->env, NULL, 0, &t);
    if (rc == MDB_MAP_RESIZED) {
      mdb_env_set_mapsize(s->env, 0);
      rc = mdb_txn_begin(s->env, NULL, 0, &t);
    }
    if (rc) return write_err(s, rc);
    s->trust_cache.valid = 0; /* another process may have written */
    rc = fn(s, t, ctx);
    if (rc == MDB_MAP_FULL) {
      mdb_txn_abort(t);
      if ((rc = grow(s)) < 0) return rc;
      continue;
    }
    FM_ASSERT(rc <= 0); /* a write function's errors are negative */
    if (rc != 0) {
      mdb_txn_abort(t);
      return write_err(s, rc);
    }
    rc = mdb_txn_commit(t);
    if (rc == MDB_MAP_FULL) {
      if ((rc = grow(s)) < 0) return rc;
      continue;
    }
    return write_err(s, rc);
  }
  return FM_ERR_NOSPACE;
}

/* ---- meta --------------------------------------------------------------- */

int fm__store_meta_get(fm_store *s, MDB_txn *t, const char *name, MDB_val *v) {
  MDB_val k = {strlen(name), (void *)name};
  return fm__store_err(mdb_get(t, s->meta, &k, v));
}

int fm__store_meta_put(fm_store *s, MDB_txn *t, const char *name,
                       const void *p, size_t n) {
  MDB_val k = {strlen(name), (void *)name}, v = {n, (void *)p};
  return fm__store_err(mdb_put(t, s->meta, &k, &v, 0));
}

int fm__store_setting_get(fm_store *s, const char *name, uint64_t dflt, uint64_t max,
                          uint64_t *out) {
  MDB_txn *t;
  MDB_val v;
  int rv = fm__store_read_begin(s, &t);
  if (rv < 0) return rv;
  *out = dflt;
  if (fm__store_meta_get(s, t, name, &v) == 0 && v.mv_size == 8 &&
      fm__be64_get(v.mv_data) <= max)
    *out = fm__be64_get(v.mv_data);
  mdb_txn_abort(t);
  return 0;
}

typedef struct setting {
  const char *name;
  uint64_t v;
} setting;

static int put_setting(fm_store *s, MDB_txn *t, void *ctx) {
  const setting *x = ctx;
  uint8_t be[8];
  fm__be64_put(be, x->v);
  return fm__store_meta_put(s, t, x->name, be, 8);
}

int fm__store_setting_set(fm_store *s, const char *name, uint64_t v) {
  uint64_t cur;
  if (fm__store_setting_get(s, name, ~v, UINT64_MAX, &cur) == 0 && cur == v) return 0;
  setting x = {name, v};
  return fm__store_write(s, put_setting, &x);
}

static int read_key(fm_store *s, const char *name, uint8_t pk[FM_KEY_LEN]) {
  MDB_txn *t;
  MDB_val v;
  int rv = fm__store_read_begin(s, &t);
  if (rv < 0) return rv;
  rv = fm__store_meta_get(s, t, name, &v);
  if (rv == 0 && v.mv_size != FM_KEY_LEN) rv = FM_ERR_CORRUPT;
  if (rv == 0) memcpy(pk, v.mv_data, FM_KEY_LEN);
  mdb_txn_abort(t);
  return rv;
}

int fm_store_self(fm_store *s, uint8_t pk[static FM_KEY_LEN]) {
  return read_key(s, "self", pk);
}

static int put_self(fm_store *s, MDB_txn *t, void *ctx) {
  return fm__store_meta_put(s, t, "self", ctx, FM_KEY_LEN);
}

int fm_store_set_self(fm_store *s, const uint8_t pk[static FM_KEY_LEN]) {
  return fm__store_write(s, put_self, (void *)pk);
}

int fm_store_authority(fm_store *s, uint8_t pk[static FM_KEY_LEN], char *commune) {
  MDB_txn *t;
  MDB_val v;
  int rv = fm__store_read_begin(s, &t);
  if (rv < 0) return rv;
  rv = fm__store_meta_get(s, t, "authority", &v);
  if (rv == 0 && v.mv_size != FM_KEY_LEN) rv = FM_ERR_CORRUPT;
  if (rv == 0) memcpy(pk, v.mv_data, FM_KEY_LEN);
  if (rv == 0 && commune) {
    commune[0] = 0;
    if (fm__store_meta_get(s, t, "commune", &v) == 0 && v.mv_size < FM_NAME_MAX) {
      memcpy(commune, v.mv_data, v.mv_size);
      commune[v.mv_size] = 0;
    }
  }
  mdb_txn_abort(t);
  return rv;
}

struct set_auth { const uint8_t *pk; const char *commune; };

static int put_authority(fm_store *s, MDB_txn *t, void *ctx) {
  struct set_auth *a = ctx;
  MDB_val v;
  int rv = fm__store_meta_get(s, t, "authority", &v);
  if (rv == 0) {
    if (v.mv_size != FM_KEY_LEN || memcmp(v.mv_data, a->pk, FM_KEY_LEN))
      return FM_ERR_MESH;
  } else if (rv != FM_ERR_NOTFOUND) {
    return rv;
  }
  if ((rv = fm__store_meta_put(s, t, "authority", a->pk, FM_KEY_LEN)) != 0)
    return rv;
  return fm__store_meta_put(s, t, "commune", a->commune, strlen(a->commune));
}

int fm_store_set_authority(fm_store *s, const uint8_t pk[static FM_KEY_LEN],
                           const char *commune) {
  struct set_auth a = {pk, commune};
  if (strlen(commune) >= FM_NAME_MAX) return FM_ERR_INVAL;
  return fm__store_write(s, put_authority, &a);
}

/* ---- trust --------------------------------------------------------------- */

/* Enrollment record: revoked_after (be64) | certificate (an enroll entry,
 * possibly empty when a revocation came before any enrollment). */
static int get_enrollment(fm_store *s, MDB_txn *t, const uint8_t dev[FM_KEY_LEN],
                          uint64_t *revoked_after, MDB_val *cert) {
  MDB_val k = {FM_KEY_LEN, (void *)dev}, v;
  int rc = mdb_get(t, s->enrollments, &k, &v);
  if (rc) return fm__store_err(rc);
  if (v.mv_size < 8) return FM_ERR_CORRUPT;
  *revoked_after = fm__be64_get(v.mv_data);
  cert->mv_size = v.mv_size - 8;
  cert->mv_data = (uint8_t *)v.mv_data + 8;
  return 0;
}

static int put_enrollment(fm_store *s, MDB_txn *t, const uint8_t dev[FM_KEY_LEN],
                          uint64_t revoked_after, const uint8_t *cert,
                          size_t cert_len) {
  s->trust_cache.valid = 0;
  MDB_val k = {FM_KEY_LEN, (void *)dev}, v = {8 + cert_len, NULL};
  int rc = mdb_put(t, s->enrollments, &k, &v, MDB_RESERVE);
  if (rc) return rc;
  fm__be64_put(v.mv_data, revoked_after);
  if (cert_len) memcpy((uint8_t *)v.mv_data + 8, cert, cert_len);
  return 0;
}

/* Fills the trust cache for |author| from the enrollments table. */
static int load_trust(fm_store *s, MDB_txn *t, const uint8_t author[FM_KEY_LEN]) {
  MDB_val cert;
  uint64_t revoked_after = UINT64_MAX;
  fm_entry ce;
  fm_enrollment en;
  int rv = get_enrollment(s, t, author, &revoked_after, &cert);
  if (rv < 0 && rv != FM_ERR_NOTFOUND) return rv;
  memset(&s->trust_cache, 0, sizeof s->trust_cache);
  memcpy(s->trust_cache.author, author, FM_KEY_LEN);
  s->trust_cache.revoked_after = rv == 0 ? revoked_after : UINT64_MAX;
  if (rv == 0 && cert.mv_size) {
    if (fm_entry_decode(cert.mv_data, cert.mv_size, NULL, &ce) < 0 ||
        fm_enroll_parse(&ce, &en) < 0)
      return FM_ERR_CORRUPT;
    s->trust_cache.known = 1;
    s->trust_cache.role = en.role;
    memcpy(s->trust_cache.team, en.team, sizeof en.team);
    s->trust_cache.expires = en.expires;
  }
  s->trust_cache.valid = 1;
  return 0;
}

int fm__store_trust(fm_store *s, MDB_txn *t, const uint8_t author[FM_KEY_LEN],
                    uint64_t seq, fm_hlc hlc, fm__trust *trust, fm_role *role) {
  MDB_val v;
  int rv = fm__store_meta_get(s, t, "authority", &v);
  if (rv == 0 && v.mv_size == FM_KEY_LEN && !memcmp(v.mv_data, author, FM_KEY_LEN)) {
    *trust = FM__TRUST_AUTHORITY;
    *role = FM_ROLE_ADMIN;
    return 0;
  }
  if (!s->trust_cache.valid || memcmp(s->trust_cache.author, author, FM_KEY_LEN)) {
    if ((rv = load_trust(s, t, author)) < 0) return rv;
  }
  uint64_t revoked_after = s->trust_cache.revoked_after;
  if (!s->trust_cache.known) {
    *trust = seq > revoked_after ? FM__TRUST_REVOKED : FM__TRUST_UNKNOWN;
    return 0;
  }
  fm_enrollment en;
  en.expires = s->trust_cache.expires;
  *role = s->trust_cache.role;
  if (seq > revoked_after) *trust = FM__TRUST_REVOKED;
  else if (!fm_enroll_valid_at(&en, (fm_time)fm_hlc_ms(hlc))) *trust = FM__TRUST_EXPIRED;
  else *trust = FM__TRUST_OK;
  return 0;
}

int fm__store_put_cert(fm_store *s, MDB_txn *t, const fm_entry *e,
                       fm_enrollment *en) {
  MDB_val cert;
  uint64_t revoked_after = UINT64_MAX;
  fm_entry old;
  if (fm_enroll_parse(e, en) < 0) return FM_ERR_MALFORMED;
  int rv = get_enrollment(s, t, en->device, &revoked_after, &cert);
  if (rv < 0 && rv != FM_ERR_NOTFOUND) return rv;
  /* Of two certificates for one device, the later one in the authority's
   * log wins: a renewal replaces the team, villages or expiry. */
  if (rv == 0 && cert.mv_size &&
      fm_entry_decode(cert.mv_data, cert.mv_size, NULL, &old) == 0 &&
      old.seq >= e->seq)
    return 0;
  return put_enrollment(s, t, en->device, revoked_after, e->bytes, e->len);
}

int fm__store_put_revocation(fm_store *s, MDB_txn *t,
                             const uint8_t device[FM_KEY_LEN], uint64_t after) {
  MDB_val cert = {0, NULL};
  uint64_t revoked_after = UINT64_MAX;
  int rv = get_enrollment(s, t, device, &revoked_after, &cert);
  if (rv < 0 && rv != FM_ERR_NOTFOUND) return rv;
  /* Two revocations of one device: the stricter holds, whatever the order. */
  if (after >= revoked_after) return 0;
  /* The certificate bytes live in the map; copy before writing over them. */
  uint8_t *copy = NULL;
  if (cert.mv_size) {
    if (!(copy = malloc(cert.mv_size))) return -ENOMEM;
    memcpy(copy, cert.mv_data, cert.mv_size);
  }
  rv = put_enrollment(s, t, device, after, copy, cert.mv_size);
  free(copy);
  return rv;
}

int fm_store_enrollment(fm_store *s, const uint8_t device[static FM_KEY_LEN],
                        fm_enrollment *en, uint64_t *revoked_after,
                        uint8_t **cert, size_t *cert_len) {
  MDB_txn *t;
  MDB_val c;
  fm_entry e;
  uint64_t ra = UINT64_MAX;
  if (revoked_after) *revoked_after = UINT64_MAX;
  int rv = fm__store_read_begin(s, &t);
  if (rv < 0) return rv;
  rv = get_enrollment(s, t, device, &ra, &c);
  if (rv == 0 && revoked_after) *revoked_after = ra;
  if (rv == 0 && c.mv_size == 0) rv = FM_ERR_NOTFOUND;
  if (rv == 0 && (fm_entry_decode(c.mv_data, c.mv_size, NULL, &e) < 0 ||
                  fm_enroll_parse(&e, en) < 0))
    rv = FM_ERR_CORRUPT;
  if (rv == 0 && cert) {
    if (!(*cert = malloc(c.mv_size))) rv = -ENOMEM;
    else {
      memcpy(*cert, c.mv_data, c.mv_size);
      *cert_len = c.mv_size;
    }
  }
  mdb_txn_abort(t);
  return rv;
}

struct add_cert {
  const uint8_t *bytes;
  size_t len;
  fm_time now;
  fm_enrollment en;
};

static int do_add_cert(fm_store *s, MDB_txn *t, void *ctx) {
  struct add_cert *a = ctx;
  fm_entry e;
  MDB_val v;
  fm_ingest_result res;
  int rv = fm_entry_decode(a->bytes, a->len, &s->limits, &e);
  if (rv < 0) return FM_ERR_MALFORMED;
  if (fm__store_meta_get(s, t, "authority", &v) < 0 || v.mv_size != FM_KEY_LEN ||
      memcmp(v.mv_data, e.author, FM_KEY_LEN))
    return FM_ERR_MESH;
  if (!fm_entry_is(&e, FM_KIND_ENROLL)) return FM_ERR_MALFORMED;
  if ((rv = fm__store_verify_entry(s, &e)) < 0) return rv;
  if ((rv = fm__store_put_cert(s, t, &e, &a->en)) != 0) return rv;
  memset(&res, 0, sizeof res);
  return fm__store_release_held(s, t, a->en.device, a->now, &res);
}

int fm_store_add_cert(fm_store *s, const uint8_t *bytes, size_t len,
                      fm_time now, fm_enrollment *out) {
  struct add_cert a;
  memset(&a, 0, sizeof a);
  a.bytes = bytes;
  a.len = len;
  a.now = now;
  int rv = fm__store_write(s, do_add_cert, &a);
  if (rv == 0 && out) *out = a.en;
  return rv;
}

int fm_store_each_cert(fm_store *s, fm_entry_cb cb, void *ctx) {
  MDB_txn *t;
  MDB_cursor *c;
  MDB_val k, v;
  int rv = fm__store_read_begin(s, &t), rc;
  if (rv < 0) return rv;
  if ((rc = mdb_cursor_open(t, s->enrollments, &c)) != 0) {
    mdb_txn_abort(t);
    return fm__store_err(rc);
  }
  for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0 && rv == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
    if (v.mv_size > 8) rv = cb(ctx, (uint8_t *)v.mv_data + 8, v.mv_size - 8);
  mdb_cursor_close(c);
  mdb_txn_abort(t);
  if (rv) return rv;
  return rc == MDB_NOTFOUND ? 0 : fm__store_err(rc);
}

/* ---- seen seqs of our own logs ---------------------------------------------- */

struct seen { const uint8_t *author; uint64_t seq; fm_time now; };

static int put_seen(fm_store *s, MDB_txn *t, void *ctx) {
  struct seen *a = ctx;
  char name[8 + 2 * FM_KEY_LEN + 1] = "seen:";
  MDB_val v;
  uint8_t be[16];
  fm__head h;
  int rc;
  fm_hex(a->author, FM_KEY_LEN, name + 5);
  /* A claim we already hold entries for proves nothing new. */
  if ((rc = fm__store_head_get(s, t, a->author, &h)) != 0) return rc;
  if (a->seq <= h.seq) return 0;
  /* Record: the highest seq claimed (be64), and when it was last claimed. */
  if (fm__store_meta_get(s, t, name, &v) == 0 && v.mv_size == 16 &&
      fm__be64_get(v.mv_data) > a->seq)
    return 0;
  fm__be64_put(be, a->seq);
  fm__be64_put(be + 8, (uint64_t)a->now);
  return fm__store_meta_put(s, t, name, be, 16);
}

int fm_store_note_seen(fm_store *s, const uint8_t author[static FM_KEY_LEN],
                       uint64_t seq, fm_time now) {
  uint8_t self[FM_KEY_LEN], auth[FM_KEY_LEN];
  struct seen a = {author, seq, now};
  int mine = (fm_store_self(s, self) == 0 && !memcmp(self, author, FM_KEY_LEN)) ||
             (fm_store_authority(s, auth, NULL) == 0 &&
              !memcmp(auth, author, FM_KEY_LEN));
  /* Only our own logs matter: another device being ahead is just sync. */
  if (!mine) return 0;
  return fm__store_write(s, put_seen, &a);
}

int64_t fm_store_clock_ahead(fm_store *s, fm_time now) {
  MDB_txn *t;
  MDB_val v;
  fm_hlc cur = 0;
  if (fm__store_read_begin(s, &t) < 0) return 0;
  if (fm__store_meta_get(s, t, "hlc", &v) == 0 && v.mv_size == 8) cur = fm__be64_get(v.mv_data);
  mdb_txn_abort(t);
  return fm_hlc_too_far_ahead(cur, now) ? (int64_t)(fm_hlc_ms(cur) - (uint64_t)now) : 0;
}
