/* Rebuilding views and checking a store from scratch. */
#include "store_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "fieldmesh/dirs.h"
#include "fieldmesh/error.h"

int fm__store_each_logged(fm_store *s, MDB_txn *t, fm__entry_fn fn, void *ctx) {
  MDB_cursor *c;
  MDB_val k, v;
  fm_entry e;
  int rc;
  if ((rc = mdb_cursor_open(t, s->entries, &c)) != 0) return rc;
  for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    if (fm_entry_decode(v.mv_data, v.mv_size, NULL, &e) < 0) {
      rc = FM_ERR_CORRUPT;
      break;
    }
    if ((rc = fn(ctx, &e)) != 0) break;
  }
  mdb_cursor_close(c);
  return rc == MDB_NOTFOUND ? 0 : fm__store_err(rc);
}

typedef struct view_replay {
  fm_store *s;
  MDB_txn *wt;
  MDB_dbi dossiers, visits;
} view_replay;

static int replay_one_view(void *ctx, const fm_entry *e) {
  view_replay *r = ctx;
  return fm__store_apply_views(r->s, r->wt, r->dossiers, r->visits, e);
}

int fm__store_replay_views(fm_store *s, MDB_txn *rt, MDB_txn *wt,
                           MDB_dbi dossiers, MDB_dbi visits) {
  view_replay r = {s, wt, dossiers, visits};
  int rc;
  if ((rc = mdb_drop(wt, dossiers, 0)) != 0 || (rc = mdb_drop(wt, visits, 0)) != 0)
    return rc;
  /* The merge rules make views independent of the order entries are
   * applied in, so the log's key order is as good as arrival order. */
  return fm__store_each_logged(s, rt, replay_one_view, &r);
}

static int purge_tail(fm_store *s, MDB_txn *t, const uint8_t device[FM_KEY_LEN],
                      uint64_t after, fm_time now, uint64_t *purged,
                      uint64_t *bytes) {
  uint8_t key[40], qkey[40 + FM_ID_LEN];
  MDB_cursor *c;
  MDB_val k = {sizeof key, key}, v;
  int rc;
  fm__store_entry_key(key, device, after + 1);
  if ((rc = mdb_cursor_open(t, s->entries, &c)) != 0) return rc;
  for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE)) {
    if (k.mv_size != 40 || memcmp(k.mv_data, device, FM_KEY_LEN)) break;
    /* Quarantine record as in ingest.c: reason | when | bytes. */
    MDB_val qk = {sizeof qkey, qkey}, qv = {12 + v.mv_size, NULL};
    memcpy(qkey, k.mv_data, 40);
    fm_entry_id(v.mv_data, v.mv_size, qkey + 40);
    if ((rc = mdb_put(t, s->quarantine, &qk, &qv, MDB_RESERVE)) != 0) break;
    uint8_t *p = qv.mv_data;
    uint32_t r = (uint32_t)-FM_ERR_REVOKED;
    p[0] = (uint8_t)(r >> 24); p[1] = (uint8_t)(r >> 16);
    p[2] = (uint8_t)(r >> 8); p[3] = (uint8_t)r;
    fm__be64_put(p + 4, (uint64_t)now);
    memcpy(p + 12, v.mv_data, v.mv_size);
    (*purged)++;
    *bytes += v.mv_size;
    if ((rc = mdb_cursor_del(c, 0)) != 0) break;
    memcpy(key, qkey, 40);
    k.mv_size = sizeof key;
    k.mv_data = key;
  }
  mdb_cursor_close(c);
  return rc == MDB_NOTFOUND || rc == 0 ? 0 : fm__store_err(rc);
}

/* The views and the receipts rebuilt from the log, in place. */
int fm__store_replay_derived(fm_store *s, MDB_txn *t) {
  int rc;
  if ((rc = fm__store_replay_views(s, t, t, s->dossiers, s->visits)) != 0) return rc;
  if (!s->gw_tables) return 0;
  return fm__store_replay_receipts(s, t, t, s->receipts, s->delivered, s->receipt_wait);
}

int fm__store_purge_revoked(fm_store *s, MDB_txn *t,
                            const uint8_t device[FM_KEY_LEN], uint64_t after,
                            fm_time now) {
  fm__head h;
  uint64_t purged = 0, bytes = 0;
  int rc;
  if ((rc = fm__store_head_get(s, t, device, &h)) != 0) return rc;
  if (h.seq <= after) return 0;
  /* Entries past the cut-off that arrived before the revocation must go,
   * or this node would hold a different set than one that heard of the
   * revocation first. */
  if ((rc = purge_tail(s, t, device, after, now, &purged, &bytes)) != 0) return rc;
  h.count -= purged;
  h.bytes -= bytes;
  h.seq = after;
  if (after == 0) {
    MDB_val k = {FM_KEY_LEN, (void *)device};
    rc = mdb_del(t, s->heads, &k, NULL);
  } else {
    uint8_t key[40];
    MDB_val k = {sizeof key, key}, v;
    fm__store_entry_key(key, device, after);
    if ((rc = mdb_get(t, s->entries, &k, &v)) != 0) return rc;
    fm_entry_id(v.mv_data, v.mv_size, h.id);
    rc = fm__store_head_put(s, t, device, &h);
  }
  if (rc) return rc;
  return fm__store_replay_derived(s, t);
}

/* ---- verify ------------------------------------------------------------- */

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t cap, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, cap, fmt, ap);
  va_end(ap);
  return FM_ERR_CORRUPT;
}

typedef struct chain {
  uint8_t author[FM_KEY_LEN];
  uint64_t seq, count, bytes;
  uint8_t id[FM_ID_LEN];
} chain;

static int check_head(fm_store *s, MDB_txn *t, const chain *ch, char *err,
                      size_t cap) {
  fm__head h;
  char hex[2 * FM_KEY_LEN + 1];
  if (fm__store_head_get(s, t, ch->author, &h) != 0 || h.seq != ch->seq ||
      h.count != ch->count || h.bytes != ch->bytes ||
      memcmp(h.id, ch->id, FM_ID_LEN)) {
    fm_hex(ch->author, FM_KEY_LEN, hex);
    return fail(err, cap, "head of %.16s does not match its log", hex);
  }
  return 0;
}

static int check_entry(fm_store *s, MDB_txn *t, const MDB_val *k, const MDB_val *v,
                       chain *ch, char *err, size_t cap) {
  fm_entry e;
  char hex[2 * FM_KEY_LEN + 1];
  fm__trust trust;
  fm_role role;
  if (k->mv_size != 40 || fm_entry_decode(v->mv_data, v->mv_size, &s->limits, &e) < 0)
    return fail(err, cap, "an entry does not decode");
  fm_hex(e.author, FM_KEY_LEN, hex);
  if (memcmp(k->mv_data, e.author, FM_KEY_LEN) ||
      fm__be64_get((uint8_t *)k->mv_data + FM_KEY_LEN) != e.seq)
    return fail(err, cap, "entry %.16s/%llu is filed under another key", hex,
                (unsigned long long)e.seq);
  if (fm_entry_verify(&e) < 0)
    return fail(err, cap, "entry %.16s/%llu: bad signature", hex, (unsigned long long)e.seq);
  if (e.seq != ch->seq + 1 || e.has_prev != (ch->seq > 0) ||
      (e.has_prev && memcmp(e.prev, ch->id, FM_ID_LEN)))
    return fail(err, cap, "entry %.16s/%llu: broken chain link", hex, (unsigned long long)e.seq);
  if (fm__store_trust(s, t, e.author, e.seq, e.hlc, &trust, &role) != 0 ||
      trust == FM__TRUST_UNKNOWN || trust == FM__TRUST_REVOKED)
    return fail(err, cap, "entry %.16s/%llu: author not trusted", hex, (unsigned long long)e.seq);
  ch->seq = e.seq;
  ch->count++;
  ch->bytes += e.len;
  fm_entry_id(e.bytes, e.len, ch->id);
  return 0;
}

static int check_log(fm_store *s, MDB_txn *t, uint64_t *entries, uint64_t *authors,
                     char *err, size_t cap) {
  MDB_cursor *c;
  MDB_val k, v;
  MDB_stat st;
  chain ch;
  int rc, rv = 0;
  memset(&ch, 0, sizeof ch);
  if ((rc = mdb_cursor_open(t, s->entries, &c)) != 0) return fm__store_err(rc);
  for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0 && rv == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    if (k.mv_size == 40 && memcmp(k.mv_data, ch.author, FM_KEY_LEN)) {
      if (ch.count && (rv = check_head(s, t, &ch, err, cap)) != 0) break;
      if (ch.count) (*authors)++;
      memset(&ch, 0, sizeof ch);
      memcpy(ch.author, k.mv_data, FM_KEY_LEN);
    }
    rv = check_entry(s, t, &k, &v, &ch, err, cap);
    if (rv == 0) (*entries)++;
  }
  mdb_cursor_close(c);
  if (rv) return rv;
  if (ch.count) {
    if ((rv = check_head(s, t, &ch, err, cap)) != 0) return rv;
    (*authors)++;
  }
  if (mdb_stat(t, s->heads, &st) == 0 && st.ms_entries != *authors)
    return fail(err, cap, "%llu heads for %llu logs", (unsigned long long)st.ms_entries,
                (unsigned long long)*authors);
  return 0;
}

/* |*same|: whether table |da| read through |a| holds exactly what |db|
 * read through |b| holds.  Returns 0 or an LMDB error. */
static int same_table(MDB_txn *a, MDB_dbi da, MDB_txn *b, MDB_dbi db, int *same_out) {
  MDB_cursor *ca = NULL, *cb = NULL;
  MDB_val ka, va, kb, vb;
  int ra, rb, same = 1;
  if ((ra = mdb_cursor_open(a, da, &ca)) != 0) return ra;
  if ((rb = mdb_cursor_open(b, db, &cb)) != 0) {
    mdb_cursor_close(ca);
    return rb;
  }
  ra = mdb_cursor_get(ca, &ka, &va, MDB_FIRST);
  rb = mdb_cursor_get(cb, &kb, &vb, MDB_FIRST);
  while (ra == 0 && rb == 0) {
    if (ka.mv_size != kb.mv_size || va.mv_size != vb.mv_size ||
        memcmp(ka.mv_data, kb.mv_data, ka.mv_size) ||
        (va.mv_size && memcmp(va.mv_data, vb.mv_data, va.mv_size))) {
      same = 0;
      break;
    }
    ra = mdb_cursor_get(ca, &ka, &va, MDB_NEXT);
    rb = mdb_cursor_get(cb, &kb, &vb, MDB_NEXT);
  }
  mdb_cursor_close(ca);
  mdb_cursor_close(cb);
  *same_out = 0;
  if (!same) return 0;
  if (ra != 0 && ra != MDB_NOTFOUND) return ra;
  if (rb != 0 && rb != MDB_NOTFOUND) return rb;
  *same_out = ra == rb; /* both ended together */
  return 0;
}

/* The scratch folder: a new one, made by mkdtemp next to |prefix| (or
 * under $TMPDIR, else /tmp), so nothing planted there -- a symlink, a
 * folder of someone else's -- is followed or removed.  |out| holds 4096
 * bytes; |parent| receives the folder it was made in, for messages. */
static int make_scratch(const char *prefix, char *out, char *parent, size_t cap) {
  const char *tmp = getenv("TMPDIR");
  int n;
  if (prefix) n = snprintf(out, cap, "%s-XXXXXX", prefix);
  else n = snprintf(out, cap, "%s/fieldmesh-verify-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (n < 0 || (size_t)n >= cap) return -ENAMETOOLONG;
  snprintf(parent, cap, "%s", out);
  char *slash = strrchr(parent, '/');
  if (slash && slash != parent) *slash = 0;
  else snprintf(parent, cap, "%s", slash ? "/" : ".");
  return mkdtemp(out) ? 0 : -errno;
}

/* Removes what make_scratch made and LMDB put in it (MDB_NOLOCK: only
 * data.mdb), and nothing else. */
static void drop_scratch(const char *dir) {
  char path[4200];
  snprintf(path, sizeof path, "%s/data.mdb", dir);
  unlink(path);
  rmdir(dir);
}

/* The scratch store could not be made or filled: that says nothing
 * against this store, but the views went unchecked; say where. */
static int scratch_failed(int code, const char *parent, char *err, size_t cap) {
  char msg[512];
  if (code == FM_ERR_NOSPACE) {
    fail(err, cap, "the log is sound, but the views could not be rebuilt for checking: %s "
         "(or point TMPDIR at a folder with room)", fm_disk_full_message(parent, msg, sizeof msg));
    return FM_ERR_NOSPACE;
  }
  fail(err, cap, "the log is sound, but the views could not be rebuilt for checking in %s: %s "
       "(point TMPDIR at a folder where they can)", parent, fm_strerror(code));
  return FM_ERR_IO;
}

/* Rebuilds what is derived from the log -- the views, and the receipts
 * where the store has them -- in a scratch environment, and compares. */
static int check_derived(fm_store *s, MDB_txn *t, const char *prefix, char *err, size_t cap) {
  static const char *const names[] = {"receipts", "delivered", "receipt_wait"};
  char dir[4096], parent[4096];
  MDB_env *env = NULL;
  MDB_txn *wt = NULL;
  MDB_dbi d, v, r[3];
  const MDB_dbi mine[3] = {s->receipts, s->delivered, s->receipt_wait};
  uint8_t want[32], got[32];
  const char *differs = NULL;
  int rc;
  if ((rc = make_scratch(prefix, dir, parent, sizeof dir)) < 0)
    return scratch_failed(fm__store_err(rc), parent, err, cap);
  if ((rc = mdb_env_create(&env)) == 0) {
    mdb_env_set_maxdbs(env, 8);
    mdb_env_set_mapsize(env, (size_t)1 << 36);
    /* No lock file: the folder is ours alone, and a lock file's pages,
     * written through a map, are a SIGBUS on a full disk. */
    rc = mdb_env_open(env, dir, MDB_NOSYNC | MDB_NOLOCK, 0600);
  }
  if (rc == 0) rc = mdb_txn_begin(env, NULL, 0, &wt);
  if (rc == 0) rc = mdb_dbi_open(wt, "dossiers", MDB_CREATE, &d);
  if (rc == 0) rc = mdb_dbi_open(wt, "visits", MDB_CREATE, &v);
  if (rc == 0) rc = fm__store_replay_views(s, t, wt, d, v);
  if (rc == 0) rc = fm__store_digest_txn(wt, d, v, got);
  if (rc == 0) rc = fm__store_digest_txn(t, s->dossiers, s->visits, want);
  if (rc == 0 && memcmp(want, got, 32)) differs = "views";
  for (int i = 0; rc == 0 && s->gw_tables && i < 3; i++)
    rc = mdb_dbi_open(wt, names[i], MDB_CREATE, &r[i]);
  if (rc == 0 && !differs && s->gw_tables)
    rc = fm__store_replay_receipts(s, t, wt, r[0], r[1], r[2]);
  for (int i = 0; rc == 0 && !differs && s->gw_tables && i < 3; i++) {
    int same;
    if ((rc = same_table(t, mine[i], wt, r[i], &same)) == 0 && !same) differs = "receipts";
  }
  if (wt) mdb_txn_abort(wt);
  if (env) mdb_env_close(env);
  drop_scratch(dir);
  if (rc) {
    int code = fm__store_err(rc);
    /* An entry of the log that does not decode is this store's damage. */
    if (code == FM_ERR_CORRUPT || code == FM_ERR_DAMAGED) {
      fail(err, cap, "an entry of the log does not decode");
      return code;
    }
    /* LMDB reports a write cut short by a full disk as EIO. */
    if (rc == EIO) {
      struct statvfs sv;
      if (statvfs(parent, &sv) == 0 && (unsigned long long)sv.f_bavail * sv.f_frsize < (1u << 20))
        code = FM_ERR_NOSPACE;
    }
    return scratch_failed(code, parent, err, cap);
  }
  if (differs) {
    fail(err, cap, "the %s do not match the log (`fieldmesh verify --repair` rebuilds them)",
         differs);
    return FM_ERR_STALE;
  }
  return 0;
}

/* The view record format this build writes (docs/architecture.md, "View
 * records"): 2 added stamps' order and the dossier's date; 3 lists a
 * dossier's `dossier.attach` entries.  A store whose views were built by
 * another format has them rebuilt when opened. */
#define VIEWS_FORMAT 3

static int do_rebuild(fm_store *s, MDB_txn *t, void *ctx) {
  uint8_t v = VIEWS_FORMAT;
  int rc;
  (void)ctx;
  if ((rc = fm__store_replay_derived(s, t)) != 0) return rc;
  return fm__store_meta_put(s, t, "views", &v, 1);
}

int fm_store_rebuild(fm_store *s) { return fm__store_write(s, do_rebuild, NULL); }

int fm__store_views_current(fm_store *s) {
  MDB_txn *t;
  MDB_val v;
  int current;
  int rv = fm__store_read_begin(s, &t);
  if (rv < 0) return rv;
  current = fm__store_meta_get(s, t, "views", &v) == 0 && v.mv_size == 1 &&
            *(uint8_t *)v.mv_data == VIEWS_FORMAT;
  mdb_txn_abort(t);
  return current ? 0 : fm_store_rebuild(s);
}

int fm_store_verify(fm_store *s, const char *scratch_dir, char *err, size_t errcap) {
  MDB_txn *t;
  uint64_t entries = 0, authors = 0;
  int rv = fm__store_read_begin(s, &t);
  if (rv < 0) return rv;
  err[0] = 0;
  rv = check_log(s, t, &entries, &authors, err, errcap);
  if (rv == 0) rv = check_derived(s, t, scratch_dir, err, errcap);
  mdb_txn_abort(t);
  if (rv == 0) snprintf(err, errcap, "%llu entries, %llu authors",
                        (unsigned long long)entries, (unsigned long long)authors);
  return rv;
}

/* ---- the quick check ---------------------------------------------------- */

typedef struct quick {
  fm_store *s;
  MDB_txn *t;
  chain ch;
  uint64_t n, every, checked;
  char *err;
  size_t cap;
} quick;

static int quick_head(quick *q) {
  fm__head h;
  char hex[2 * FM_KEY_LEN + 1];
  if (!q->ch.count) return 0;
  if (fm__store_head_get(q->s, q->t, q->ch.author, &h) != 0 || h.seq != q->ch.seq ||
      memcmp(h.id, q->ch.id, FM_ID_LEN)) {
    fm_hex(q->ch.author, FM_KEY_LEN, hex);
    fail(q->err, q->cap, "the last entry of %.16s does not match its head", hex);
    return FM_ERR_DAMAGED;
  }
  return 0;
}

/* Each entry's id is the hash of all its bytes and the next entry names
 * it as prev (the last one: its head record), so hashing every entry
 * finds any changed byte at the cost of a hash; signatures, the
 * expensive part, are checked for a spread sample. */
static int quick_entry(void *ctx, const fm_entry *e) {
  quick *q = ctx;
  char hex[2 * FM_KEY_LEN + 1];
  int rv;
  if (memcmp(e->author, q->ch.author, FM_KEY_LEN) || !q->ch.count) {
    if ((rv = quick_head(q)) != 0) return rv;
    memset(&q->ch, 0, sizeof q->ch);
    memcpy(q->ch.author, e->author, FM_KEY_LEN);
  }
  fm_hex(e->author, FM_KEY_LEN, hex);
  if (e->seq != q->ch.seq + 1 || e->has_prev != (q->ch.seq > 0) ||
      (e->has_prev && memcmp(e->prev, q->ch.id, FM_ID_LEN))) {
    fail(q->err, q->cap, "entry %.16s/%llu does not link to the one before it", hex,
         (unsigned long long)e->seq);
    return FM_ERR_DAMAGED;
  }
  if (q->n++ % q->every == 0) {
    q->checked++;
    if (fm_entry_verify(e) < 0) {
      fail(q->err, q->cap, "entry %.16s/%llu: bad signature", hex, (unsigned long long)e->seq);
      return FM_ERR_DAMAGED;
    }
  }
  q->ch.seq = e->seq;
  q->ch.count++;
  fm_entry_id(e->bytes, e->len, q->ch.id);
  return 0;
}

int fm_store_check(fm_store *s, uint64_t sample, uint64_t *entries, uint64_t *signatures,
                   char *err, size_t errcap) {
  MDB_stat st;
  quick q;
  int rv;
  memset(&q, 0, sizeof q);
  q.s = s;
  q.err = err;
  q.cap = errcap;
  err[0] = 0;
  if ((rv = fm__store_read_begin(s, &q.t)) < 0) return rv;
  rv = fm__store_err(mdb_stat(q.t, s->entries, &st));
  if (rv == 0) {
    q.every = sample && st.ms_entries > sample ? (st.ms_entries + sample - 1) / sample : 1;
    rv = fm__store_each_logged(s, q.t, quick_entry, &q);
    if (rv == FM_ERR_CORRUPT) {
      fail(err, errcap, "an entry of the log does not decode");
      rv = FM_ERR_DAMAGED;
    } else if (rv != FM_ERR_DAMAGED) {
      rv = fm__store_err(rv);
    }
  }
  if (rv == 0) rv = quick_head(&q);
  mdb_txn_abort(q.t);
  if (rv == 0) {
    if (entries) *entries = q.n;
    if (signatures) *signatures = q.checked;
  }
  return rv;
}
