/* Attachment chunks, kept by the hash of their bytes (blob_store.h). */
#include "store_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fieldmesh/blob_store.h"
#include "fieldmesh/error.h"

int fm__store_blobs_on_entry(fm_store *s, MDB_txn *t, const fm_entry *e) {
  fm_attach a;
  MDB_val v, none = {0, NULL};
  if (!s->has_blobs || !fm_entry_is(e, FM_KIND_DOSSIER_ATTACH) ||
      fm_attach_parse(e->body, e->body_len, &a) < 0)
    return 0;
  for (size_t i = 0; i < a.nchunks; i++) {
    MDB_val k = {FM_BLOB_ID, (void *)(a.chunks + i * FM_BLOB_ID)};
    int rc = mdb_get(t, s->blobs, &k, &v);
    if (rc == MDB_NOTFOUND) rc = mdb_put(t, s->blob_wanted, &k, &none, 0);
    if (rc) return fm__store_err(rc);
  }
  return 0;
}

typedef struct put_ctx {
  const fm_slice *chunks;
  const uint8_t (*ids)[FM_BLOB_ID];   /* known ids, or NULL: hashed here */
  size_t n;
  int only_wanted;
  fm_blob_tally tally;
} put_ctx;

/* Keeps chunk |i| (wanted ones only, when |only_wanted|). */
static int put_one(fm_store *s, MDB_txn *t, put_ctx *pc, size_t i) {
  const fm_slice *c = &pc->chunks[i];
  uint8_t id[FM_BLOB_ID];
  MDB_val k = {FM_BLOB_ID, id}, v = {c->len, (void *)c->p}, w;
  int rc;
  if (c->len <= FM_ATTACH_TAG || c->len > FM_ATTACH_CHUNK + FM_ATTACH_TAG) {
    pc->tally.unwanted++;
    return 0;
  }
  if (pc->ids) memcpy(id, pc->ids[i], FM_BLOB_ID);
  else fm_blob_id(c->p, c->len, id);
  rc = mdb_get(t, s->blob_wanted, &k, &w);
  if (rc && rc != MDB_NOTFOUND) return fm__store_err(rc);
  if (rc == MDB_NOTFOUND && pc->only_wanted) {
    rc = mdb_get(t, s->blobs, &k, &w);
    if (rc && rc != MDB_NOTFOUND) return fm__store_err(rc);
    if (rc == 0) pc->tally.same++;
    else pc->tally.unwanted++;
    return 0;
  }
  if (rc == 0 && (rc = mdb_del(t, s->blob_wanted, &k, NULL)) != 0) return fm__store_err(rc);
  rc = mdb_put(t, s->blobs, &k, &v, MDB_NOOVERWRITE);
  if (rc == MDB_KEYEXIST) pc->tally.same++;
  else if (rc) return fm__store_err(rc);
  else pc->tally.kept++;
  return 0;
}

static int do_put(fm_store *s, MDB_txn *t, void *ctx) {
  put_ctx *pc = ctx;
  int rc;
  memset(&pc->tally, 0, sizeof pc->tally);
  for (size_t i = 0; i < pc->n; i++)
    if ((rc = put_one(s, t, pc, i)) != 0) return rc;
  return 0;
}

static int put(fm_store *s, const fm_slice *chunks, const uint8_t (*ids)[FM_BLOB_ID], size_t n,
               int only_wanted, fm_blob_tally *tally) {
  put_ctx pc = {chunks, ids, n, only_wanted, {0}};
  if (!s->has_blobs) return -EROFS;
  int rv = fm__store_write(s, do_put, &pc);
  if (rv == 0 && tally) *tally = pc.tally;
  return rv;
}

int fm_store_blob_put(fm_store *s, const fm_slice *chunks, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (chunks[i].len <= FM_ATTACH_TAG || chunks[i].len > FM_ATTACH_CHUNK + FM_ATTACH_TAG)
      return FM_ERR_TOOBIG;
  return put(s, chunks, NULL, n, 0, NULL);
}

int fm_store_blob_seal_file(fm_store *s, const uint8_t *plain, size_t len,
                            const uint8_t key[static FM_ATTACH_KEY], uint8_t *ids) {
  const size_t cap = FM_ATTACH_CHUNK + FM_ATTACH_TAG;
  size_t n = fm_attach_nchunks(len);
  uint8_t *ct = malloc(n * cap);
  fm_slice *chunks = calloc(n, sizeof *chunks);
  int rv = ct && chunks ? 0 : -ENOMEM;
  for (size_t i = 0; rv == 0 && i < n; i++) {
    size_t m = fm_attach_chunk_len(len, i);
    chunks[i].p = ct + i * cap;
    chunks[i].len = m + FM_ATTACH_TAG;
    fm_attach_chunk_seal(key, i, plain + i * FM_ATTACH_CHUNK, m, ct + i * cap, ids + i * FM_BLOB_ID);
  }
  if (rv == 0) rv = fm_store_blob_put(s, chunks, n);
  free(ct);
  free(chunks);
  return rv;
}

int fm_store_blob_offer(fm_store *s, const fm_slice *chunks, size_t n, fm_blob_tally *tally) {
  return put(s, chunks, NULL, n, 1, tally);
}

int fm_store_blob_offer_checked(fm_store *s, const fm_slice *chunk,
                                const uint8_t id[static FM_BLOB_ID], fm_blob_tally *tally) {
  return put(s, chunk, (const uint8_t (*)[FM_BLOB_ID])id, 1, 1, tally);
}

int fm_store_blob_each_wanted(fm_store *s, fm_blob_cb cb, void *ctx) {
  MDB_txn *t;
  MDB_cursor *c;
  MDB_val k, v;
  int rc, stop = 0;
  if (!s->has_blobs) return 0;
  int rv = fm__store_read_begin(s, &t);
  if (rv < 0) return rv;
  if ((rc = mdb_cursor_open(t, s->blob_wanted, &c)) != 0) {
    mdb_txn_abort(t);
    return fm__store_err(rc);
  }
  for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0 && !stop;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
    if (k.mv_size == FM_BLOB_ID) stop = cb(ctx, k.mv_data);
  mdb_cursor_close(c);
  mdb_txn_abort(t);
  if (stop) return stop;
  return rc == MDB_NOTFOUND ? 0 : fm__store_err(rc);
}

/* Hands the chunk |id| names, as the store maps it, to |use| (its result
 * returned), inside a read transaction. */
static int with_blob(fm_store *s, const uint8_t *id, int (*use)(void *ctx, const MDB_val *v),
                     void *ctx) {
  MDB_txn *t;
  MDB_val k = {FM_BLOB_ID, (void *)id}, v;
  if (!s->has_blobs) return FM_ERR_NOTFOUND;
  int rv = fm__store_read_begin(s, &t);
  if (rv < 0) return rv;
  rv = fm__store_err(mdb_get(t, s->blobs, &k, &v));
  if (rv == 0) rv = use(ctx, &v);
  mdb_txn_abort(t);
  return rv;
}

typedef struct copy_out {
  uint8_t *p;
  size_t cap, *len;
} copy_out;

static int use_copy(void *ctx, const MDB_val *v) {
  copy_out *o = ctx;
  if (v->mv_size > o->cap) return FM_ERR_TOOBIG;
  memcpy(o->p, v->mv_data, v->mv_size);
  *o->len = v->mv_size;
  return 0;
}

int fm_store_blob_get(fm_store *s, const uint8_t id[static FM_BLOB_ID], uint8_t *out,
                      size_t cap, size_t *len) {
  copy_out o = {out, cap, len};
  return with_blob(s, id, use_copy, &o);
}

static int use_append(void *ctx, const MDB_val *v) { return fm_buf_put(ctx, v->mv_data, v->mv_size); }

int fm_store_blob_append(fm_store *s, const uint8_t id[static FM_BLOB_ID], fm_buf *out) {
  return with_blob(s, id, use_append, out);
}

int fm_store_blob_count(fm_store *s, const uint8_t *ids, size_t n, size_t *held) {
  MDB_txn *t;
  *held = 0;
  if (!s->has_blobs) return 0;
  int rv = fm__store_read_begin(s, &t);
  if (rv < 0) return rv;
  for (size_t i = 0; i < n && rv == 0; i++) {
    MDB_val k = {FM_BLOB_ID, (void *)(ids + i * FM_BLOB_ID)}, v;
    int rc = mdb_get(t, s->blobs, &k, &v);
    if (rc == 0) (*held)++;
    else if (rc != MDB_NOTFOUND) rv = fm__store_err(rc);
  }
  mdb_txn_abort(t);
  return rv;
}

static int count_rows(MDB_txn *t, MDB_dbi d, uint64_t *n) {
  MDB_stat st;
  int rc = mdb_stat(t, d, &st);
  if (rc) return fm__store_err(rc);
  *n = st.ms_entries;
  return 0;
}

int fm_store_blob_wanted_count(fm_store *s, uint64_t *n) {
  MDB_txn *t;
  *n = 0;
  if (!s->has_blobs) return 0;
  int rv = fm__store_read_begin(s, &t);
  if (rv < 0) return rv;
  rv = count_rows(t, s->blob_wanted, n);
  mdb_txn_abort(t);
  return rv;
}

int fm_store_blob_stats(fm_store *s, uint64_t *count, uint64_t *bytes) {
  MDB_txn *t;
  MDB_cursor *c;
  MDB_val k, v;
  int rc;
  *count = *bytes = 0;
  if (!s->has_blobs) return 0;
  int rv = fm__store_read_begin(s, &t);
  if (rv < 0) return rv;
  if ((rc = mdb_cursor_open(t, s->blobs, &c)) != 0) {
    mdb_txn_abort(t);
    return fm__store_err(rc);
  }
  for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    (*count)++;
    *bytes += v.mv_size;
  }
  mdb_cursor_close(c);
  mdb_txn_abort(t);
  return rc == MDB_NOTFOUND ? 0 : fm__store_err(rc);
}

/* ---- the quota of scans ---------------------------------------------------- */

int fm_store_blob_full(fm_store *s, uint64_t max, int *full) {
  MDB_txn *t;
  uint64_t n = 0;
  *full = 0;
  if (!s->has_blobs || max == 0) return 0;
  int rv = fm__store_read_begin(s, &t);
  if (rv < 0) return rv;
  rv = count_rows(t, s->blobs, &n);
  mdb_txn_abort(t);
  if (rv == 0) *full = n * (FM_ATTACH_CHUNK + FM_ATTACH_TAG) >= max;
  return rv;
}

int fm_store_set_scans_max(fm_store *s, uint64_t bytes) {
  return fm__store_setting_set(s, "scans_max", bytes);
}

int fm_store_scans_max(fm_store *s, uint64_t *bytes) {
  return fm__store_setting_get(s, "scans_max", 0, UINT64_MAX, bytes);
}
