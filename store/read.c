/* Reading the store: vectors, logs, views, digests and counts. */
#include "store_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fieldmesh/error.h"

static int fill_vector(fm_store *s, MDB_txn *t, fm_vector *out) {
  MDB_stat st;
  MDB_cursor *c;
  MDB_val k, v, a;
  int rc = mdb_stat(t, s->heads, &st);
  if (rc) return rc;
  fm_vector vec = {0, NULL};
  if (st.ms_entries && !(vec.items = calloc(st.ms_entries, sizeof *vec.items)))
    return -ENOMEM;
  int have_auth = fm__store_meta_get(s, t, "authority", &a) == 0 && a.mv_size == FM_KEY_LEN;
  if ((rc = mdb_cursor_open(t, s->heads, &c)) != 0) goto out;
  for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0 && vec.n < st.ms_entries;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    if (k.mv_size != FM_KEY_LEN || v.mv_size != FM__HEAD_LEN) {
      rc = FM_ERR_CORRUPT;
      break;
    }
    fm_vec_item *it = &vec.items[vec.n++];
    memcpy(it->author, k.mv_data, FM_KEY_LEN);
    it->seq = fm__be64_get(v.mv_data);
    memcpy(it->head, (uint8_t *)v.mv_data + 8, FM_ID_LEN);
    /* The authority's log goes first: enrollments and revocations must
     * arrive before the entries they govern. */
    if (have_auth && !memcmp(it->author, a.mv_data, FM_KEY_LEN) && vec.n > 1) {
      fm_vec_item tmp = *it;
      memmove(&vec.items[1], &vec.items[0], (vec.n - 1) * sizeof *it);
      vec.items[0] = tmp;
    }
  }
  mdb_cursor_close(c);
  if (rc == MDB_NOTFOUND || rc == 0) rc = 0;
out:
  if (rc) free(vec.items);
  else *out = vec;
  return rc;
}

int fm_store_vector(fm_store *s, fm_vector *out) {
  MDB_txn *t;
  int rv = fm__store_read_begin(s, &t);
  if (rv < 0) return rv;
  rv = fill_vector(s, t, out);
  mdb_txn_abort(t);
  return fm__store_err(rv);
}

static int read_after(fm_store *s, MDB_txn *t, const uint8_t author[FM_KEY_LEN],
                      uint64_t after, size_t max_bytes, fm_entry_cb cb, void *ctx) {
  MDB_cursor *c;
  uint8_t key[40];
  MDB_val k = {sizeof key, key}, v;
  size_t passed = 0;
  int rc, rv = 0;
  if (after == UINT64_MAX) return 0;
  fm__store_entry_key(key, author, after + 1);
  if ((rc = mdb_cursor_open(t, s->entries, &c)) != 0) return rc;
  for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    if (k.mv_size != 40 || memcmp(k.mv_data, author, FM_KEY_LEN)) break;
    if (max_bytes && passed && passed + v.mv_size > max_bytes) break;
    passed += v.mv_size;
    if ((rv = cb(ctx, v.mv_data, v.mv_size)) != 0) break;
  }
  mdb_cursor_close(c);
  if (rv) return rv;
  return rc == MDB_NOTFOUND || rc == 0 ? 0 : fm__store_err(rc);
}

int fm_store_entry_copy(fm_store *s, const uint8_t author[static FM_KEY_LEN], uint64_t seq,
                        uint8_t **out, size_t *len) {
  uint8_t key[40];
  MDB_txn *t;
  MDB_val k = {sizeof key, key}, v;
  *out = NULL;
  *len = 0;
  int rv = fm__store_read_begin(s, &t);
  if (rv < 0) return rv;
  fm__store_entry_key(key, author, seq);
  rv = fm__store_err(mdb_get(t, s->entries, &k, &v));
  if (rv == 0 && !(*out = malloc(v.mv_size ? v.mv_size : 1))) rv = -ENOMEM;
  if (rv == 0) {
    memcpy(*out, v.mv_data, v.mv_size);
    *len = v.mv_size;
  }
  mdb_txn_abort(t);
  return rv;
}

int fm_store_read_after(fm_store *s, const uint8_t author[static FM_KEY_LEN],
                        uint64_t after, size_t max_bytes, fm_entry_cb cb,
                        void *ctx) {
  MDB_txn *t;
  int rv = fm__store_read_begin(s, &t);
  if (rv < 0) return rv;
  rv = read_after(s, t, author, after, max_bytes, cb, ctx);
  mdb_txn_abort(t);
  return rv > 0 ? rv : fm__store_err(rv);
}

/* What the holder of |theirs| holds of |author|'s log that we can build
 * on: its seq, unless its head there is not our entry (its log of that
 * author forked from ours -- a restored backup written to): then nothing,
 * and it gets the whole log, as a peer would send it (docs/protocol.md). */
static uint64_t their_base(fm_store *s, MDB_txn *t, const fm_vector *theirs,
                           const fm_vec_item *mine) {
  static const uint8_t none[FM_ID_LEN];
  uint8_t key[40], id[FM_ID_LEN];
  MDB_val k = {sizeof key, key}, v;
  for (size_t i = 0; theirs && i < theirs->n; i++) {
    const fm_vec_item *it = &theirs->items[i];
    if (memcmp(it->author, mine->author, FM_KEY_LEN)) continue;
    if (it->seq == 0 || it->seq >= mine->seq || !memcmp(it->head, none, FM_ID_LEN))
      return it->seq;
    fm__store_entry_key(key, it->author, it->seq);
    if (mdb_get(t, s->entries, &k, &v) != 0) return it->seq;
    fm_entry_id(v.mv_data, v.mv_size, id);
    return memcmp(id, it->head, FM_ID_LEN) ? 0 : it->seq;
  }
  return 0;
}

int fm_store_each_missing(fm_store *s, const fm_vector *theirs, fm_entry_cb cb,
                          void *ctx) {
  MDB_txn *t;
  fm_vector mine;
  int rv = fm__store_read_begin(s, &t);
  if (rv < 0) return rv;
  if ((rv = fill_vector(s, t, &mine)) == 0) {
    for (size_t i = 0; i < mine.n && rv == 0; i++) {
      uint64_t have = their_base(s, t, theirs, &mine.items[i]);
      if (have < mine.items[i].seq)
        rv = read_after(s, t, mine.items[i].author, have, 0, cb, ctx);
    }
    fm_vector_free(&mine);
  }
  mdb_txn_abort(t);
  return rv > 0 ? rv : fm__store_err(rv);
}

/* ---- views ---------------------------------------------------------------- */

static MDB_dbi view_dbi(fm_store *s, fm_view_kind k) {
  return k == FM_VIEW_DOSSIER ? s->dossiers : s->visits;
}

int fm_store_each_record(fm_store *s, fm_view_kind kind, fm_record_cb cb, void *ctx) {
  MDB_txn *t;
  MDB_cursor *c;
  MDB_val k, v;
  int rc, rv = fm__store_read_begin(s, &t);
  if (rv < 0) return rv;
  if ((rc = mdb_cursor_open(t, view_dbi(s, kind), &c)) != 0) {
    mdb_txn_abort(t);
    return fm__store_err(rc);
  }
  for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
    if ((rv = cb(ctx, k.mv_data, k.mv_size, v.mv_data, v.mv_size)) != 0) break;
  mdb_cursor_close(c);
  mdb_txn_abort(t);
  if (rv) return rv;
  return rc == MDB_NOTFOUND ? 0 : fm__store_err(rc);
}

int fm_store_find_record(fm_store *s, fm_view_kind kind, const char *id,
                         fm_record_cb cb, void *ctx) {
  MDB_txn *t;
  MDB_cursor *c;
  size_t n = strlen(id);
  MDB_val k = {n, (void *)id}, v, k2, v2;
  int rc, rv = fm__store_read_begin(s, &t);
  if (rv < 0) return rv;
  if ((rc = mdb_cursor_open(t, view_dbi(s, kind), &c)) != 0) {
    mdb_txn_abort(t);
    return fm__store_err(rc);
  }
  rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
  if (rc == 0 && (k.mv_size < n || memcmp(k.mv_data, id, n))) rc = MDB_NOTFOUND;
  if (rc == 0 && k.mv_size != n) {
    /* A prefix: it must be long enough and name exactly one record. */
    if (n < 4) rc = MDB_NOTFOUND;
    else if (mdb_cursor_get(c, &k2, &v2, MDB_NEXT) == 0 && k2.mv_size >= n &&
             !memcmp(k2.mv_data, id, n))
      rv = FM_ERR_EXISTS;
  }
  if (rc == 0 && rv == 0) rv = cb(ctx, k.mv_data, k.mv_size, v.mv_data, v.mv_size);
  mdb_cursor_close(c);
  mdb_txn_abort(t);
  if (rc) return fm__store_err(rc);
  return rv;
}

static void hash_len(crypto_generichash_state *h, size_t n) {
  uint8_t b[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
  crypto_generichash_update(h, b, 4);
}

int fm__store_digest_txn(MDB_txn *t, MDB_dbi dossiers, MDB_dbi visits,
                         uint8_t out[32]) {
  crypto_generichash_state h;
  MDB_dbi dbis[2] = {dossiers, visits};
  crypto_generichash_init(&h, NULL, 0, 32);
  for (int i = 0; i < 2; i++) {
    MDB_cursor *c;
    MDB_val k, v;
    uint8_t tag = (uint8_t)i;
    int rc = mdb_cursor_open(t, dbis[i], &c);
    if (rc) return rc;
    crypto_generichash_update(&h, &tag, 1);
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
      hash_len(&h, k.mv_size);
      crypto_generichash_update(&h, k.mv_data, k.mv_size);
      hash_len(&h, v.mv_size);
      crypto_generichash_update(&h, v.mv_data, v.mv_size);
    }
    mdb_cursor_close(c);
    if (rc != MDB_NOTFOUND) return fm__store_err(rc);
  }
  crypto_generichash_final(&h, out, 32);
  return 0;
}

int fm_store_view_digest(fm_store *s, uint8_t out[static 32]) {
  MDB_txn *t;
  int rv = fm__store_read_begin(s, &t);
  if (rv < 0) return rv;
  rv = fm__store_digest_txn(t, s->dossiers, s->visits, out);
  mdb_txn_abort(t);
  return fm__store_err(rv);
}

/* ---- counts ------------------------------------------------------------- */

static uint64_t db_count(MDB_txn *t, MDB_dbi d) {
  MDB_stat st;
  return mdb_stat(t, d, &st) == 0 ? st.ms_entries : 0;
}

static uint64_t seen_of(fm_store *s, MDB_txn *t, const uint8_t pk[FM_KEY_LEN]) {
  char name[8 + 2 * FM_KEY_LEN + 1] = "seen:";
  MDB_val v;
  fm_hex(pk, FM_KEY_LEN, name + 5);
  if (fm__store_meta_get(s, t, name, &v) == 0 && v.mv_size == 16)
    return fm__be64_get(v.mv_data);
  return 0;
}

int fm_store_stats_get(fm_store *s, fm_store_stats *out) {
  MDB_txn *t;
  MDB_cursor *c;
  MDB_val k, v, self;
  fm_store_stats st;
  int rc, rv = fm__store_read_begin(s, &t);
  if (rv < 0) return rv;
  memset(&st, 0, sizeof st);
  st.dossiers = db_count(t, s->dossiers);
  st.visits = db_count(t, s->visits);
  st.held = db_count(t, s->held);
  st.quarantined = db_count(t, s->quarantine);
  int have_self = fm__store_meta_get(s, t, "self", &self) == 0 && self.mv_size == FM_KEY_LEN;
  if (have_self) st.self_seen = seen_of(s, t, self.mv_data);
  if ((rc = mdb_cursor_open(t, s->heads, &c)) == 0) {
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
      if (v.mv_size != FM__HEAD_LEN) continue;
      st.authors++;
      st.entries += fm__be64_get((uint8_t *)v.mv_data + 8 + FM_ID_LEN);
      st.bytes += fm__be64_get((uint8_t *)v.mv_data + 16 + FM_ID_LEN);
      if (have_self && k.mv_size == FM_KEY_LEN && !memcmp(k.mv_data, self.mv_data, FM_KEY_LEN))
        st.self_seq = fm__be64_get(v.mv_data);
    }
    mdb_cursor_close(c);
  }
  /* A walk ends at MDB_NOTFOUND; anything else is a read error (a
   * damaged page), not a count to show. */
  if (rc == MDB_NOTFOUND && (rc = mdb_cursor_open(t, s->clock, &c)) == 0) {
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
      if (v.mv_size == 16) st.clock_ahead += fm__be64_get(v.mv_data);
    mdb_cursor_close(c);
  }
  mdb_txn_abort(t);
  if (rc != MDB_NOTFOUND) return fm__store_err(rc);
  *out = st;
  return 0;
}

int fm_store_each_quarantined(fm_store *s, fm_quarantine_cb cb, void *ctx) {
  MDB_txn *t;
  MDB_cursor *c;
  MDB_val k, v;
  int rc, rv = fm__store_read_begin(s, &t);
  if (rv < 0) return rv;
  if ((rc = mdb_cursor_open(t, s->quarantine, &c)) != 0) {
    mdb_txn_abort(t);
    return fm__store_err(rc);
  }
  for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    if (k.mv_size != 40 + FM_ID_LEN || v.mv_size < 12) continue;
    const uint8_t *p = v.mv_data;
    int reason = -(int)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
                        (uint32_t)p[2] << 8 | p[3]);
    rv = cb(ctx, k.mv_data, fm__be64_get((uint8_t *)k.mv_data + FM_KEY_LEN), reason,
            (fm_time)fm__be64_get(p + 4), p + 12, v.mv_size - 12);
    if (rv) break;
  }
  mdb_cursor_close(c);
  mdb_txn_abort(t);
  if (rv) return rv;
  return rc == MDB_NOTFOUND ? 0 : fm__store_err(rc);
}

int fm_store_each_clock_ahead(fm_store *s, fm_clock_cb cb, void *ctx) {
  MDB_txn *t;
  MDB_cursor *c;
  MDB_val k, v;
  int rc, rv = fm__store_read_begin(s, &t);
  if (rv < 0) return rv;
  if ((rc = mdb_cursor_open(t, s->clock, &c)) != 0) {
    mdb_txn_abort(t);
    return fm__store_err(rc);
  }
  for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    if (k.mv_size != FM_KEY_LEN || v.mv_size != 16) continue;
    rv = cb(ctx, k.mv_data, fm__be64_get(v.mv_data), fm__be64_get((uint8_t *)v.mv_data + 8));
    if (rv) break;
  }
  mdb_cursor_close(c);
  mdb_txn_abort(t);
  if (rv) return rv;
  return rc == MDB_NOTFOUND ? 0 : fm__store_err(rc);
}
