/* A restored backup written to before it met the mesh: our own log forked.
 * The mesh's branch wins; ours is set aside (quarantine as evidence, the
 * restore table as work to do) and, once our log has caught up, every
 * entry of it is written again at the head.  Layouts and the reasoning in
 * docs/architecture.md, "A restored backup". */
#include "store_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fieldmesh/error.h"

#define RESTORED_KEY "restored_from"
/* meta "restore": set aside (be64), written again (be64), when (be64). */
#define META_LEN 24

static int is_self(fm_store *s, MDB_txn *t, const uint8_t pk[FM_KEY_LEN]) {
  MDB_val v;
  return fm__store_meta_get(s, t, "self", &v) == 0 && v.mv_size == FM_KEY_LEN &&
         memcmp(v.mv_data, pk, FM_KEY_LEN) == 0;
}

/* Adds |aside| and |rewritten| to the meta record. */
static int count(fm_store *s, MDB_txn *t, uint64_t aside, uint64_t rewritten, fm_time now) {
  uint8_t buf[META_LEN] = {0};
  MDB_val v;
  if (fm__store_meta_get(s, t, "restore", &v) == 0 && v.mv_size == META_LEN)
    memcpy(buf, v.mv_data, META_LEN);
  fm__be64_put(buf, fm__be64_get(buf) + aside);
  fm__be64_put(buf + 8, fm__be64_get(buf + 8) + rewritten);
  fm__be64_put(buf + 16, (uint64_t)now);
  return fm__store_meta_put(s, t, "restore", buf, sizeof buf);
}

/* |e| is an entry we set aside ourselves once: it never wins again. */
static int set_aside_before(fm_store *s, MDB_txn *t, const fm_entry *e) {
  uint8_t key[40 + FM_ID_LEN];
  MDB_val k = {sizeof key, key}, v;
  fm__store_entry_key(key, e->author, e->seq);
  fm_entry_id(e->bytes, e->len, key + 40);
  if (mdb_get(t, s->quarantine, &k, &v) != 0 || v.mv_size < 4) return 0;
  const uint8_t *p = v.mv_data;
  uint32_t r = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
  return r == (uint32_t)-FM_ERR_ROLLEDBACK;
}

/* Our log up to |e->seq| - 1 is the one |e| continues. */
static int continues_ours(fm_store *s, MDB_txn *t, const fm_entry *e) {
  uint8_t key[40], id[FM_ID_LEN];
  MDB_val k = {sizeof key, key}, v;
  if (e->seq == 1) return !e->has_prev;
  fm__store_entry_key(key, e->author, e->seq - 1);
  if (!e->has_prev || mdb_get(t, s->entries, &k, &v) != 0) return 0;
  fm_entry_id(v.mv_data, v.mv_size, id);
  return memcmp(id, e->prev, FM_ID_LEN) == 0;
}

/* 1 when |e| was written before our entry at its seq (stamp, then id):
 * the branch written first wins.  A restored laptop's records are written
 * after the restore, so after the mesh's entries with those numbers, which
 * it had written before; two laptops carrying one key decide the same way
 * on both sides, so one branch wins everywhere.  0 or 1, or a negative
 * code. */
static int older_than_ours(fm_store *s, MDB_txn *t, const fm_entry *e) {
  uint8_t key[40], id[FM_ID_LEN], ours_id[FM_ID_LEN];
  MDB_val k = {sizeof key, key}, v;
  fm_entry o;
  int rc;
  fm__store_entry_key(key, e->author, e->seq);
  if ((rc = mdb_get(t, s->entries, &k, &v)) != 0) return rc;
  if (fm_entry_decode(v.mv_data, v.mv_size, NULL, &o) < 0) return FM_ERR_CORRUPT;
  if (e->hlc != o.hlc) return e->hlc < o.hlc;
  fm_entry_id(e->bytes, e->len, id);
  fm_entry_id(v.mv_data, v.mv_size, ours_id);
  return memcmp(id, ours_id, FM_ID_LEN) < 0;
}

/* Moves one entry of ours (|k|, |v| as in the entries table) to the
 * quarantine and the restore table. */
static int put_aside(fm_store *s, MDB_txn *t, const MDB_val *k, const MDB_val *v,
                     fm_time now) {
  uint8_t qkey[40 + FM_ID_LEN], rkey[8 + FM_ID_LEN];
  int rc;
  memcpy(qkey, k->mv_data, 40);
  fm_entry_id(v->mv_data, v->mv_size, qkey + 40);
  if ((rc = fm__store_quarantine_bytes(s, t, qkey, v->mv_data, v->mv_size,
                                       FM_ERR_ROLLEDBACK, now)) != 0)
    return rc;
  memcpy(rkey, qkey + FM_KEY_LEN, 8);
  memcpy(rkey + 8, qkey + 40, FM_ID_LEN);
  MDB_val rk = {sizeof rkey, rkey}, rv = {v->mv_size, v->mv_data};
  return fm__store_err(mdb_put(t, s->restore, &rk, &rv, 0));
}

/* Our entries from |from| on leave the log; |*n| and |*bytes| say how many. */
static int move_branch(fm_store *s, MDB_txn *t, const uint8_t author[FM_KEY_LEN],
                       uint64_t from, fm_time now, uint64_t *n, uint64_t *bytes) {
  uint8_t key[40];
  MDB_cursor *c;
  MDB_val k = {sizeof key, key}, v;
  int rc;
  fm__store_entry_key(key, author, from);
  if ((rc = mdb_cursor_open(t, s->entries, &c)) != 0) return fm__store_err(rc);
  for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE)) {
    if (k.mv_size != 40 || memcmp(k.mv_data, author, FM_KEY_LEN)) break;
    if ((rc = put_aside(s, t, &k, &v, now)) != 0) break;
    (*n)++;
    *bytes += v.mv_size;
    memcpy(key, k.mv_data, 40);
    if ((rc = mdb_cursor_del(c, 0)) != 0) break;
    k.mv_size = sizeof key;
    k.mv_data = key;
  }
  mdb_cursor_close(c);
  return rc == MDB_NOTFOUND || rc == 0 ? 0 : fm__store_err(rc);
}

/* Our head set back to |seq| (0: no log at all). */
static int head_back(fm_store *s, MDB_txn *t, const uint8_t author[FM_KEY_LEN],
                     fm__head *h, uint64_t seq) {
  uint8_t key[40];
  MDB_val k = {sizeof key, key}, v;
  int rc;
  h->seq = seq;
  if (seq == 0) {
    MDB_val hk = {FM_KEY_LEN, (void *)author};
    return fm__store_err(mdb_del(t, s->heads, &hk, NULL));
  }
  fm__store_entry_key(key, author, seq);
  if ((rc = mdb_get(t, s->entries, &k, &v)) != 0) return rc;
  fm_entry_id(v.mv_data, v.mv_size, h->id);
  return fm__store_head_put(s, t, author, h);
}

int fm__store_own_fork(fm_store *s, MDB_txn *t, const fm_entry *e, fm_time now,
                       int *rolled) {
  fm__head h;
  uint64_t n = 0, bytes = 0;
  int rc;
  *rolled = 0;
  if (!s->has_restore || !is_self(s, t, e->author)) return 0;
  if ((rc = fm__store_head_get(s, t, e->author, &h)) != 0) return rc;
  if (e->seq > h.seq || set_aside_before(s, t, e) || !continues_ours(s, t, e)) return 0;
  if ((rc = older_than_ours(s, t, e)) <= 0) return rc;
  if ((rc = move_branch(s, t, e->author, e->seq, now, &n, &bytes)) != 0) return rc;
  h.count -= n;
  h.bytes -= bytes;
  if ((rc = head_back(s, t, e->author, &h, e->seq - 1)) != 0) return rc;
  if ((rc = count(s, t, n, 0, now)) != 0) return rc;
  if ((rc = fm__store_replay_derived(s, t)) != 0) return rc;
  *rolled = 1;
  return 0;
}

/* ---- writing the set-aside entries again --------------------------------------- */

/* |body| with "restored_from": |old_seq| (replacing an earlier mark) into
 * |out|.  FM_ERR_MALFORMED when |body| is not a map. */
static int mark_restored(fm_buf *out, const uint8_t *body, size_t len, uint64_t old_seq) {
  uint8_t mark[16];
  fm_buf mb;
  fm_wr w;
  fm_rd r;
  uint32_t n, keep = 0;
  fm_buf_init(&mb, sizeof mark);
  fm_wr_init(&w, &mb);
  fm_wr_cstr(&w, RESTORED_KEY);
  size_t mlen = mb.len;
  memcpy(mark, mb.p, mlen);
  fm_buf_free(&mb);
  for (int pass = 0; pass < 2; pass++) {
    fm_rd_init(&r, body, len, 0);
    if (fm_rd_map(&r, &n) < 0) return FM_ERR_MALFORMED;
    if (pass == 1) {
      fm_wr_init(&w, out);
      fm_wr_map(&w, keep + 1);
    }
    for (uint32_t i = 0; i < n; i++) {
      const uint8_t *start = r.p;
      if (fm_rd_skip(&r, 2, UINT32_MAX) < 0) return FM_ERR_MALFORMED;
      int ours = (size_t)(r.p - start) == mlen && memcmp(start, mark, mlen) == 0;
      if (fm_rd_skip(&r, 64, UINT32_MAX) < 0) return FM_ERR_MALFORMED;
      if (ours) continue;
      if (pass == 0) keep++;
      else fm_wr_raw(&w, start, (size_t)(r.p - start));
    }
  }
  fm_wr_cstr(&w, RESTORED_KEY);
  fm_wr_uint(&w, old_seq);
  return fm_buf_error(out);
}

/* Writes the set-aside entry |bytes| again at the head of |id|'s log. */
static int rewrite_one(fm_store *s, MDB_txn *t, const fm_identity *id,
                       const uint8_t *bytes, size_t len, fm_time now) {
  fm_entry e;
  fm_buf body;
  char kind[FM_KIND_MAX + 1];
  int rc;
  if (fm_entry_decode(bytes, len, NULL, &e) < 0 || e.kind_len > FM_KIND_MAX)
    return FM_ERR_CORRUPT;
  memcpy(kind, e.kind, e.kind_len);
  kind[e.kind_len] = 0;
  fm_buf_init(&body, FM_ENTRY_MAX);
  rc = mark_restored(&body, e.body, e.body_len, e.seq);
  if (rc == 0)
    rc = fm__store_append_one(s, t, id, kind, body.p, body.len, now, NULL, NULL);
  /* A record at the very limit has no room for the mark: it goes as it was. */
  if (rc == FM_ERR_TOOBIG)
    rc = fm__store_append_one(s, t, id, kind, e.body, e.body_len, now, NULL, NULL);
  fm_buf_free(&body);
  return rc;
}

/* Takes the oldest row of the restore table out into |*copy| (malloc'd,
 * caller frees).  MDB_NOTFOUND when the table is empty. */
static int take_first(fm_store *s, MDB_txn *t, uint8_t **copy, size_t *len) {
  MDB_cursor *c;
  MDB_val k, v;
  int rc = mdb_cursor_open(t, s->restore, &c);
  if (rc) return rc;
  *copy = NULL;
  if ((rc = mdb_cursor_get(c, &k, &v, MDB_FIRST)) == 0) {
    if (!(*copy = malloc(v.mv_size))) rc = -ENOMEM;
    else {
      memcpy(*copy, v.mv_data, v.mv_size);
      *len = v.mv_size;
      rc = mdb_cursor_del(c, 0);
    }
  }
  mdb_cursor_close(c);
  if (rc) {
    free(*copy);
    *copy = NULL;
  }
  return rc;
}

int fm__store_restore_flush(fm_store *s, MDB_txn *t, const fm_identity *id, fm_time now,
                            unsigned *n) {
  MDB_stat st;
  fm__head h;
  unsigned done = 0;
  int rc;
  if (n) *n = 0;
  if (!s->has_restore) return 0;
  if ((rc = mdb_stat(t, s->restore, &st)) != 0) return fm__store_err(rc);
  if (st.ms_entries == 0 || !is_self(s, t, id->pk)) return 0;
  /* Not before our log has the mesh's branch: at the head as the mesh
   * knows it, or we would fork it again. */
  if ((rc = fm__store_head_get(s, t, id->pk, &h)) != 0) return rc;
  if (fm__store_own_behind(s, t, id->pk, h.seq, now)) return 0;
  for (;;) {
    uint8_t *copy;
    size_t len = 0;
    if ((rc = take_first(s, t, &copy, &len)) == MDB_NOTFOUND) break;
    if (rc) return rc;
    rc = rewrite_one(s, t, id, copy, len, now);
    free(copy);
    if (rc) return rc;
    done++;
  }
  if (n) *n = done;
  return count(s, t, 0, done, now);
}

/* ---- the public face ----------------------------------------------------------- */

typedef struct flush_ctx {
  const fm_identity *id;
  fm_time now;
  unsigned n;
} flush_ctx;

static int do_flush(fm_store *s, MDB_txn *t, void *ctx) {
  flush_ctx *f = ctx;
  return fm__store_restore_flush(s, t, f->id, f->now, &f->n);
}

static int pending(fm_store *s, uint64_t *out) {
  MDB_txn *t;
  MDB_stat st;
  int rv = fm__store_read_begin(s, &t);
  if (rv < 0) return rv;
  rv = fm__store_err(mdb_stat(t, s->restore, &st));
  mdb_txn_abort(t);
  if (rv == 0) *out = st.ms_entries;
  return rv;
}

int fm_store_restore_flush(fm_store *s, const fm_identity *id, fm_time now, unsigned *n) {
  flush_ctx f = {id, now, 0};
  uint64_t waiting = 0;
  int rv;
  if (n) *n = 0;
  /* Nearly always nothing waits: a read, no write transaction. */
  if (!s->has_restore || s->read_only) return 0;
  if ((rv = pending(s, &waiting)) < 0 || waiting == 0) return rv;
  if ((rv = fm__store_write(s, do_flush, &f)) < 0) return rv;
  if (n) *n = f.n;
  return 0;
}

int fm_store_restore_info(fm_store *s, fm_restore_info *out) {
  MDB_txn *t;
  MDB_val v;
  int rv;
  memset(out, 0, sizeof *out);
  if (!s->has_restore) return 0;
  if ((rv = pending(s, &out->pending)) < 0) return rv;
  if ((rv = fm__store_read_begin(s, &t)) < 0) return rv;
  if (fm__store_meta_get(s, t, "restore", &v) == 0 && v.mv_size == META_LEN) {
    out->set_aside = fm__be64_get(v.mv_data);
    out->rewritten = fm__be64_get((uint8_t *)v.mv_data + 8);
    out->last = (fm_time)fm__be64_get((uint8_t *)v.mv_data + 16);
  }
  mdb_txn_abort(t);
  return 0;
}
