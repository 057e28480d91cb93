/* Copies of own entries on other devices.  See include/fieldmesh/copies.h. */
#include "fieldmesh/copies.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fieldmesh/delivery.h"
#include "fieldmesh/error.h"
#include "store_int.h"

#define ROW_LEN 16

typedef struct held_arg {
  const uint8_t *device, *author;
  uint64_t seq;
  fm_time now;
} held_arg;

static int put_held(fm_store *s, MDB_txn *t, void *ctx) {
  held_arg *a = ctx;
  uint8_t key[2 * FM_KEY_LEN], row[ROW_LEN];
  MDB_val k = {sizeof key, key}, v;
  memcpy(key, a->author, FM_KEY_LEN);
  memcpy(key + FM_KEY_LEN, a->device, FM_KEY_LEN);
  int rc = mdb_get(t, s->copies, &k, &v);
  if (rc == 0 && v.mv_size == ROW_LEN && fm__be64_get(v.mv_data) >= a->seq) return 0;
  if (rc && rc != MDB_NOTFOUND) return fm__store_err(rc);
  fm__be64_put(row, a->seq);
  fm__be64_put(row + 8, (uint64_t)a->now);
  v.mv_size = sizeof row;
  v.mv_data = row;
  return fm__store_err(mdb_put(t, s->copies, &k, &v, 0));
}

/* The row as stored, read first so that the usual case -- nothing new --
 * costs no write transaction. */
static int held_now(fm_store *s, const uint8_t *author, const uint8_t *device,
                    uint64_t *seq) {
  uint8_t key[2 * FM_KEY_LEN];
  MDB_val k = {sizeof key, key}, v;
  MDB_txn *t;
  int rv = fm__store_read_begin(s, &t);
  if (rv < 0) return rv;
  memcpy(key, author, FM_KEY_LEN);
  memcpy(key + FM_KEY_LEN, device, FM_KEY_LEN);
  *seq = 0;
  int rc = s->has_copies ? mdb_get(t, s->copies, &k, &v) : MDB_NOTFOUND;
  if (rc == 0 && v.mv_size == ROW_LEN) *seq = fm__be64_get(v.mv_data);
  mdb_txn_abort(t);
  return rc == 0 || rc == MDB_NOTFOUND ? 0 : fm__store_err(rc);
}

int fm_store_note_held(fm_store *s, const uint8_t device[static FM_KEY_LEN],
                       const uint8_t author[static FM_KEY_LEN], uint64_t seq, fm_time now) {
  uint8_t self[FM_KEY_LEN];
  uint64_t cur;
  int rv;
  if (seq == 0) return 0;
  if (fm_store_self(s, self) == 0 && !memcmp(self, device, FM_KEY_LEN)) return 0;
  if ((rv = held_now(s, author, device, &cur)) < 0) return rv;
  if (cur >= seq) return 0;
  if (!s->has_copies) return -EROFS;
  held_arg a = {device, author, seq, now};
  return fm__store_write(s, put_held, &a);
}

int fm_store_each_holder(fm_store *s, const uint8_t author[static FM_KEY_LEN],
                         fm_holder_cb cb, void *ctx) {
  MDB_txn *t;
  MDB_cursor *c;
  MDB_val k = {FM_KEY_LEN, (void *)author}, v;
  int rc, rv = 0;
  if (!s->has_copies) return 0; /* an older store opened read-only: none known */
  if ((rv = fm__store_read_begin(s, &t)) < 0) return rv;
  if ((rc = mdb_cursor_open(t, s->copies, &c)) != 0) {
    mdb_txn_abort(t);
    return fm__store_err(rc);
  }
  for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    if (k.mv_size != 2 * FM_KEY_LEN || memcmp(k.mv_data, author, FM_KEY_LEN)) break;
    if (v.mv_size != ROW_LEN) continue;
    rv = cb(ctx, (uint8_t *)k.mv_data + FM_KEY_LEN, fm__be64_get(v.mv_data),
            (fm_time)fm__be64_get((uint8_t *)v.mv_data + 8));
    if (rv) break;
  }
  mdb_cursor_close(c);
  mdb_txn_abort(t);
  if (rv) return rv;
  return rc == 0 || rc == MDB_NOTFOUND ? 0 : fm__store_err(rc);
}

typedef struct seqs {
  uint64_t *v;
  size_t n, cap;
} seqs;

static int collect(void *ctx, const uint8_t device[FM_KEY_LEN], uint64_t seq, fm_time when) {
  seqs *q = ctx;
  (void)device;
  (void)when;
  if (q->n == q->cap) {
    size_t cap = q->cap ? q->cap * 2 : 16;
    uint64_t *v = realloc(q->v, cap * sizeof *v);
    if (!v) return -ENOMEM;
    q->v = v;
    q->cap = cap;
  }
  q->v[q->n++] = seq;
  return 0;
}

typedef struct live_arg {
  fm_store *s;
  seqs *q;
} live_arg;

/* Holders that are revoked now (a lost or stolen laptop) carry nothing
 * anyone can count on. */
static int collect_live(void *ctx, const uint8_t device[FM_KEY_LEN], uint64_t seq,
                        fm_time when) {
  live_arg *a = ctx;
  fm_enrollment en;
  uint64_t revoked_after = UINT64_MAX;
  int rv = fm_store_enrollment(a->s, device, &en, &revoked_after, NULL, NULL);
  if (rv < 0 && rv != FM_ERR_NOTFOUND) return rv;
  if (revoked_after != UINT64_MAX) return 0;
  return collect(a->q, device, seq, when);
}

static int desc(const void *x, const void *y) {
  uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
  return a < b ? 1 : a > b ? -1 : 0;
}

static uint64_t nth(const seqs *q, size_t i) { return i < q->n ? q->v[i] : 0; }

int fm_store_copies(fm_store *s, const uint8_t author[static FM_KEY_LEN], unsigned need,
                    fm_copies *out) {
  MDB_txn *t;
  fm__head h;
  seqs q = {0};
  live_arg a = {s, &q};
  uint64_t all = 0, below = 0;
  int rv = fm__store_read_begin(s, &t);
  if (rv < 0) return rv;
  rv = fm__store_head_get(s, t, author, &h);
  mdb_txn_abort(t);
  if (rv == MDB_NOTFOUND) h.seq = 0;
  else if (rv) return fm__store_err(rv);
  if ((rv = fm_store_each_holder(s, author, collect_live, &a)) < 0) goto out;
  /* Holding more than we hold means a restored backup here: what we do
   * not hold is not ours to count. */
  for (size_t i = 0; i < q.n; i++)
    if (q.v[i] > h.seq) q.v[i] = h.seq;
  if (q.n) qsort(q.v, q.n, sizeof *q.v, desc);
  fm_copies c = {0};
  c.own = h.seq;
  c.need = need;
  c.holders = (uint32_t)q.n;
  c.none = h.seq - nth(&q, 0);
  c.one = nth(&q, 0) - nth(&q, 1);
  c.more = nth(&q, 1);
  if (h.seq && (rv = fm_delivery_count(s, author, h.seq, &all)) < 0) goto out;
  c.receipted = all;
  if (need > 0) {
    /* Entries past the need-th holder's seq lack copies; receipts among
     * them still make them safe. */
    uint64_t cut = nth(&q, need - 1);
    if (cut && (rv = fm_delivery_count(s, author, cut, &below)) < 0) goto out;
    c.unsafe = (h.seq - cut) - (all - below);
  }
  *out = c;
  rv = 0;
out:
  free(q.v);
  return rv;
}

/* ---- safe_copies -------------------------------------------------------------- */

int fm_store_set_safe_copies(fm_store *s, unsigned n) {
  if (n > FM_SAFE_COPIES_MAX) return FM_ERR_INVAL;
  return fm__store_setting_set(s, "safe_copies", n);
}

int fm_store_safe_copies(fm_store *s, unsigned *out) {
  uint64_t v;
  int rv = fm__store_setting_get(s, "safe_copies", FM_SAFE_COPIES_DEFAULT, FM_SAFE_COPIES_MAX, &v);
  *out = (unsigned)v;
  return rv;
}
