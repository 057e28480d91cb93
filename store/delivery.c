/* Materialized receipts.  See include/fieldmesh/delivery.h. */
#include "fieldmesh/delivery.h"

#include <stdio.h>
#include <string.h>

#include "fieldmesh/error.h"
#include "fieldmesh/record.h"
#include "store_int.h"

/* receipts value: id8 | hlc(be64) | sinks(be32) | gateway(32) | sink len(1)
 * | sink | ref len(1) | ref */
#define REC_FIXED (FM_RECEIPT_ID8_LEN + 8 + 4 + FM_KEY_LEN)
#define REC_MAX (REC_FIXED + 2 + FM_RECEIPT_SINK_MAX + FM_RECEIPT_REF_MAX)

static const char *const SINK_NAMES[] = {"spool", "postgres", "http"};

uint32_t fm_sink_bit(const char *name, size_t n) {
  for (size_t i = 0; i < 3; i++)
    if (strlen(SINK_NAMES[i]) == n && !memcmp(SINK_NAMES[i], name, n)) return 1u << i;
  return FM_SINK_BIT_OTHER;
}

const char *fm_sink_bits_str(uint32_t mask, char *buf, size_t cap) {
  size_t n = 0;
  buf[0] = 0;
  for (size_t i = 0; i < 4 && n < cap; i++) {
    if (!(mask & (1u << i))) continue;
    int w = snprintf(buf + n, cap - n, "%s%s", n ? ", " : "", i < 3 ? SINK_NAMES[i] : "other");
    if (w < 0) break;
    n += (size_t)w;
  }
  return buf;
}

static void be32_put(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

static uint32_t be32_get(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static size_t encode(const fm_delivery *d, uint8_t out[REC_MAX]) {
  size_t sl = strlen(d->sink), rl = strlen(d->ref), n = REC_FIXED;
  memcpy(out, d->id8, FM_RECEIPT_ID8_LEN);
  fm__be64_put(out + 8, d->at);
  be32_put(out + 16, d->sinks);
  memcpy(out + 20, d->gateway, FM_KEY_LEN);
  out[n++] = (uint8_t)sl;
  memcpy(out + n, d->sink, sl);
  n += sl;
  out[n++] = (uint8_t)rl;
  memcpy(out + n, d->ref, rl);
  return n + rl;
}

static int decode(const uint8_t *key, const MDB_val *v, fm_delivery *d) {
  const uint8_t *p = v->mv_data;
  size_t len = v->mv_size, n = REC_FIXED;
  memset(d, 0, sizeof *d);
  if (len < REC_FIXED + 2) return FM_ERR_CORRUPT;
  memcpy(d->author, key, FM_KEY_LEN);
  d->seq = fm__be64_get(key + FM_KEY_LEN);
  memcpy(d->id8, p, FM_RECEIPT_ID8_LEN);
  d->at = fm__be64_get(p + 8);
  d->sinks = be32_get(p + 16);
  memcpy(d->gateway, p + 20, FM_KEY_LEN);
  size_t sl = p[n++];
  if (sl > FM_RECEIPT_SINK_MAX || n + sl + 1 > len) return FM_ERR_CORRUPT;
  memcpy(d->sink, p + n, sl);
  n += sl;
  size_t rl = p[n++];
  if (rl > FM_RECEIPT_REF_MAX || n + rl != len) return FM_ERR_CORRUPT;
  memcpy(d->ref, p + n, rl);
  return 0;
}

/* ---- materializing ----------------------------------------------------------------- */

/* delivered key: kind | id length | id | author | seq */
/* Where receipts are materialized: the store's own tables, or a scratch
 * environment's when verify rebuilds them.  The log is read through |rt|,
 * the tables written through |wt| (the same transaction but in verify). */
typedef struct rtabs {
  MDB_txn *rt, *wt;
  MDB_dbi receipts, delivered, wait;
} rtabs;

static size_t delivered_key(uint8_t *key, fm_view_kind k, const char *id, size_t n,
                            const uint8_t author[FM_KEY_LEN], uint64_t seq) {
  key[0] = (uint8_t)k;
  key[1] = (uint8_t)n;
  memcpy(key + 2, id, n);
  fm__store_entry_key(key + 2 + n, author, seq);
  return 2 + n + 40;
}

/* Indexes the held entry |bytes| by the record it changes, when its id
 * starts with |id8|; with |drop|, takes that index row out instead. */
static int index_entry(const rtabs *T, const uint8_t *bytes, size_t len,
                       const uint8_t id8[FM_RECEIPT_ID8_LEN], int drop) {
  uint8_t id[FM_ID_LEN], key[2 + FM_RECORD_ID_MAX + 40];
  fm_entry e;
  const char *rid;
  size_t rn;
  fm_entry_id(bytes, len, id);
  if (memcmp(id, id8, FM_RECEIPT_ID8_LEN)) return 0; /* a fork: not the entry receipted */
  if (fm_entry_decode(bytes, len, NULL, &e) < 0) return FM_ERR_CORRUPT;
  fm_view_kind k = fm_view_target(&e, &rid, &rn);
  if (k == FM_VIEW_NONE) return 0;
  /* |bytes| may live in the map: the key is built before anything is written. */
  MDB_val kv = {delivered_key(key, k, rid, rn, e.author, e.seq), key}, empty = {0, NULL};
  if (!drop) return fm__store_err(mdb_put(T->wt, T->delivered, &kv, &empty, 0));
  int rc = mdb_del(T->wt, T->delivered, &kv, NULL);
  return rc == MDB_NOTFOUND ? 0 : fm__store_err(rc);
}

/* One item of receipt |r| in entry |e|.  The row of (author, seq) comes
 * out the same whatever order the receipts arrive in: among receipts of
 * one entry id the earliest (hlc, then gateway) names when and where and
 * the sinks add up; receipts naming different ids for one (author, seq)
 * -- gateways that took different sides of a fork -- keep the smallest
 * id, and the held entry counts as delivered only when it is that one. */
static int note_item(fm_store *s, const rtabs *T, const fm_entry *e, const fm_receipt *r,
                     const fm_receipt_item *it, uint32_t bit) {
  uint8_t key[40], val[REC_MAX];
  MDB_val k = {sizeof key, key}, v, empty = {0, NULL};
  fm_delivery d, old;
  int rc;
  fm__store_entry_key(key, it->author, it->seq);
  memset(&d, 0, sizeof d);
  memcpy(d.id8, it->id8, FM_RECEIPT_ID8_LEN);
  d.sinks = bit;
  d.at = e->hlc;
  memcpy(d.gateway, e->author, FM_KEY_LEN);
  memcpy(d.sink, r->sink, r->sink_len);
  if (it->ref_len) memcpy(d.ref, it->ref, it->ref_len);
  else memcpy(d.ref, r->ref, r->ref_len);
  rc = mdb_get(T->wt, T->receipts, &k, &v);
  if (rc == 0) {
    if (decode(key, &v, &old) < 0) return FM_ERR_CORRUPT;
    int side = memcmp(d.id8, old.id8, FM_RECEIPT_ID8_LEN);
    if (side > 0) return 0;
    if (side < 0) {
      /* The other side of a fork, with the smaller id: it takes the row,
       * and the held entry stops counting as delivered if it was the
       * old one. */
      MDB_val nv = {encode(&d, val), val}, hv;
      uint8_t held[FM_ID_LEN];
      if ((rc = mdb_put(T->wt, T->receipts, &k, &nv, 0)) != 0) return fm__store_err(rc);
      rc = mdb_get(T->rt, s->entries, &k, &hv);
      if (rc == MDB_NOTFOUND) return 0; /* still waiting for it */
      if (rc) return rc;
      /* One write at most below: |hv| may live in the map. */
      fm_entry_id(hv.mv_data, hv.mv_size, held);
      if (!memcmp(held, old.id8, FM_RECEIPT_ID8_LEN))
        return index_entry(T, hv.mv_data, hv.mv_size, old.id8, 1);
      return index_entry(T, hv.mv_data, hv.mv_size, d.id8, 0);
    }
    /* The earliest receipt names when and where, whatever the order. */
    int earlier = d.at < old.at || (d.at == old.at && memcmp(d.gateway, old.gateway, FM_KEY_LEN) < 0);
    uint32_t sinks = old.sinks | bit;
    if (!earlier) d = old;
    d.sinks = sinks;
    v.mv_size = encode(&d, val);
    v.mv_data = val;
    return fm__store_err(mdb_put(T->wt, T->receipts, &k, &v, 0));
  }
  if (rc != MDB_NOTFOUND) return fm__store_err(rc);
  MDB_val nv = {encode(&d, val), val};
  if ((rc = mdb_put(T->wt, T->receipts, &k, &nv, 0)) != 0) return fm__store_err(rc);
  rc = mdb_get(T->rt, s->entries, &k, &v);
  if (rc == MDB_NOTFOUND) return fm__store_err(mdb_put(T->wt, T->wait, &k, &empty, 0));
  if (rc) return rc;
  return index_entry(T, v.mv_data, v.mv_size, d.id8, 0);
}

static int apply_receipt(fm_store *s, const rtabs *T, const fm_entry *e) {
  fm_receipt r;
  fm_receipt_item it;
  int rc;
  /* A malformed receipt is signed and stays in the log, but says nothing. */
  if (fm_receipt_parse(e->body, e->body_len, &r) < 0) return 0;
  uint32_t bit = fm_sink_bit(r.sink, r.sink_len);
  while (fm_receipt_next(&r, &it))
    if ((rc = note_item(s, T, e, &r, &it, bit)) != 0) return rc;
  return 0;
}

int fm__store_receipts_on_entry(fm_store *s, MDB_txn *t, const fm_entry *e) {
  uint8_t key[40];
  MDB_val k = {sizeof key, key}, v;
  MDB_stat st;
  int rc;
  rtabs T = {t, t, s->receipts, s->delivered, s->receipt_wait};
  if (!s->gw_tables) return 0;
  if (fm_entry_is(e, FM_KIND_RECEIPT) && (rc = apply_receipt(s, &T, e)) != 0) return rc;
  /* The common case: no receipt is waiting for any entry. */
  if ((rc = mdb_stat(t, s->receipt_wait, &st)) != 0) return fm__store_err(rc);
  if (st.ms_entries == 0) return 0;
  fm__store_entry_key(key, e->author, e->seq);
  if ((rc = mdb_get(t, s->receipt_wait, &k, &v)) == MDB_NOTFOUND) return 0;
  if (rc || (rc = mdb_del(t, s->receipt_wait, &k, NULL)) != 0) return fm__store_err(rc);
  if ((rc = mdb_get(t, s->receipts, &k, &v)) != 0) return rc == MDB_NOTFOUND ? 0 : fm__store_err(rc);
  uint8_t id8[FM_RECEIPT_ID8_LEN];
  if (v.mv_size < FM_RECEIPT_ID8_LEN) return FM_ERR_CORRUPT;
  memcpy(id8, v.mv_data, FM_RECEIPT_ID8_LEN);
  return index_entry(&T, e->bytes, e->len, id8, 0);
}

typedef struct receipt_replay {
  fm_store *s;
  rtabs T;
} receipt_replay;

static int replay_one_receipt(void *ctx, const fm_entry *e) {
  receipt_replay *r = ctx;
  return fm_entry_is(e, FM_KIND_RECEIPT) ? apply_receipt(r->s, &r->T, e) : 0;
}

int fm__store_replay_receipts(fm_store *s, MDB_txn *rt, MDB_txn *wt, MDB_dbi receipts,
                              MDB_dbi delivered, MDB_dbi wait) {
  receipt_replay r = {s, {rt, wt, receipts, delivered, wait}};
  int rc;
  if ((rc = mdb_drop(wt, receipts, 0)) != 0 || (rc = mdb_drop(wt, delivered, 0)) != 0 ||
      (rc = mdb_drop(wt, wait, 0)) != 0)
    return rc;
  /* Every entry a receipt names is in the log already or not at all, so
   * one pass over the receipts settles the index and the waiting list;
   * the earliest receipt wins whatever the order (note_item). */
  return fm__store_each_logged(s, rt, replay_one_receipt, &r);
}

/* ---- reading ---------------------------------------------------------------------------- */

int fm_delivery_get(fm_store *s, const uint8_t author[FM_KEY_LEN], uint64_t seq,
                    fm_delivery *out) {
  uint8_t key[40];
  MDB_txn *t;
  MDB_val k = {sizeof key, key}, v;
  int rv;
  if (!s->gw_tables) return FM_ERR_NOTFOUND;
  if ((rv = fm__store_read_begin(s, &t)) < 0) return rv;
  fm__store_entry_key(key, author, seq);
  rv = fm__store_err(mdb_get(t, s->receipts, &k, &v));
  if (rv == 0) rv = decode(key, &v, out);
  mdb_txn_abort(t);
  return rv;
}

int fm_delivery_each_of_record(fm_store *s, fm_view_kind kind, const char *id, size_t n,
                               fm_delivery_cb cb, void *ctx) {
  uint8_t key[2 + FM_RECORD_ID_MAX + 40];
  MDB_txn *t;
  MDB_cursor *c;
  MDB_val k, v, rk, rv_;
  fm_delivery d;
  int rc, rv = 0;
  if (!s->gw_tables || n == 0 || n > FM_RECORD_ID_MAX) return 0;
  size_t plen = delivered_key(key, kind, id, n, (const uint8_t[FM_KEY_LEN]){0}, 0) - 40;
  if ((rv = fm__store_read_begin(s, &t)) < 0) return rv;
  if ((rc = mdb_cursor_open(t, s->delivered, &c)) != 0) {
    mdb_txn_abort(t);
    return fm__store_err(rc);
  }
  k.mv_size = plen;
  k.mv_data = key;
  for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0 && rv == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    if (k.mv_size != plen + 40 || memcmp(k.mv_data, key, plen)) break;
    rk.mv_size = 40;
    rk.mv_data = (uint8_t *)k.mv_data + plen;
    if (mdb_get(t, s->receipts, &rk, &rv_) != 0 || decode(rk.mv_data, &rv_, &d) < 0) continue;
    rv = cb(ctx, &d);
  }
  mdb_cursor_close(c);
  mdb_txn_abort(t);
  if (rv) return rv;
  return rc == MDB_NOTFOUND || rc == 0 ? 0 : fm__store_err(rc);
}

int fm_delivery_count(fm_store *s, const uint8_t author[FM_KEY_LEN], uint64_t upto,
                      uint64_t *out) {
  uint8_t key[40];
  MDB_txn *t;
  MDB_cursor *c;
  MDB_val k = {sizeof key, key}, v;
  uint64_t n = 0;
  int rc, rv;
  *out = 0;
  if (!s->gw_tables || upto == 0) return 0;
  if ((rv = fm__store_read_begin(s, &t)) < 0) return rv;
  if ((rc = mdb_cursor_open(t, s->receipts, &c)) != 0) {
    mdb_txn_abort(t);
    return fm__store_err(rc);
  }
  fm__store_entry_key(key, author, 1);
  for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    if (k.mv_size != 40 || memcmp(k.mv_data, author, FM_KEY_LEN) ||
        fm__be64_get((uint8_t *)k.mv_data + FM_KEY_LEN) > upto)
      break;
    n++;
  }
  mdb_cursor_close(c);
  mdb_txn_abort(t);
  if (rc != 0 && rc != MDB_NOTFOUND) return fm__store_err(rc);
  *out = n;
  return 0;
}
