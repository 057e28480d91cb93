/* The presence table.  See include/fieldmesh/presence_store.h. */
#include "fieldmesh/presence_store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fieldmesh/copies.h"
#include "fieldmesh/error.h"
#include "fieldmesh/hlc.h"
#include "fieldmesh/msg.h"
#include "store_int.h"

#define DROPS_META "presence_drops"

const char *fm_presence_drop_name(fm_presence_drop d) {
  static const char *names[FM_PDROP_N] = {"forged", "oversize",   "stale",
                                          "future", "unenrolled", "too soon"};
  return d < FM_PDROP_N ? names[d] : "?";
}

static fm_presence_drop drop_for(int rv) {
  return rv == FM_ERR_TOOBIG ? FM_PDROP_OVERSIZE : FM_PDROP_FORGED;
}

/* ---- keeping ---------------------------------------------------------------- */

typedef struct put_arg {
  const fm_slice *notes;
  size_t n;
  fm_time now;
  fm_presence_tally tally;
} put_arg;

/* What to do with one note, decided inside the write transaction |t|:
 * 1 keep, 0 the same note is held, or -1 - the drop reason. */
static int judge(fm_store *s, MDB_txn *t, const fm_slice *in, fm_time now, int *drop) {
  fm_presence p, held;
  fm__trust trust;
  fm_role role;
  MDB_val k = {FM_KEY_LEN, p.device}, v;
  int rv;
  /* The very note held already (same bytes) was verified when it was
   * kept: no signature to check again -- but its device may have been
   * revoked since, which drops it as any other.  Anything else is judged
   * whole. */
  if (fm_presence_peek(in->p, in->len, &p) == 0) {
    int rc = mdb_get(t, s->presence, &k, &v);
    if (rc && rc != MDB_NOTFOUND) return fm__store_err(rc);
    if (rc == 0 && v.mv_size == 8 + in->len && !memcmp((uint8_t *)v.mv_data + 8, in->p, in->len)) {
      if ((rv = fm__store_trust(s, t, p.device, UINT64_MAX - 1,
                                fm_hlc_make((uint64_t)p.wall, 0), &trust, &role)) < 0)
        return rv;
      if (trust != FM__TRUST_OK && trust != FM__TRUST_AUTHORITY)
        return *drop = FM_PDROP_UNENROLLED, -1;
      return 0;
    }
  }
  rv = fm_presence_parse(in->p, in->len, &p);
  if (rv < 0) return *drop = drop_for(rv), -1;
  if (p.wall > now + FM_HLC_MAX_AHEAD_MS) return *drop = FM_PDROP_FUTURE, -1;
  if ((rv = fm__store_trust(s, t, p.device, UINT64_MAX - 1, fm_hlc_make((uint64_t)p.wall, 0),
                            &trust, &role)) < 0)
    return rv;
  if (trust != FM__TRUST_OK && trust != FM__TRUST_AUTHORITY)
    return *drop = FM_PDROP_UNENROLLED, -1;
  int rc = mdb_get(t, s->presence, &k, &v);
  if (rc && rc != MDB_NOTFOUND) return fm__store_err(rc);
  /* Held notes were verified when kept: decoding them is enough. */
  if (rc == 0 && v.mv_size > 8 &&
      fm_presence_peek((uint8_t *)v.mv_data + 8, v.mv_size - 8, &held) == 0) {
    int c = fm_presence_cmp(&p, in->p, in->len, &held, (uint8_t *)v.mv_data + 8, v.mv_size - 8);
    if (c == 0) return 0;
    if (c < 0) return *drop = FM_PDROP_STALE, -1;
    /* A device that writes notes faster than the rule floods every node. */
    if (p.wall < held.wall + FM_PRESENCE_INTERVAL_MS) return *drop = FM_PDROP_TOO_SOON, -1;
  }
  return 1;
}

static int put_row(fm_store *s, MDB_txn *t, const fm_slice *in, fm_time now) {
  uint8_t row[8 + FM_PRESENCE_MAX];
  MDB_val k = {FM_KEY_LEN, NULL}, v = {8 + in->len, row};
  fm_presence p;
  if (fm_presence_peek(in->p, in->len, &p) < 0) return FM_ERR_CORRUPT;  /* judged above */
  k.mv_data = p.device;
  fm__be64_put(row, (uint64_t)now);
  memcpy(row + 8, in->p, in->len);
  return fm__store_err(mdb_put(t, s->presence, &k, &v, 0));
}

static int add_drops(fm_store *s, MDB_txn *t, const unsigned add[FM_PDROP_N]) {
  uint8_t row[8 * FM_PDROP_N] = {0};
  MDB_val v;
  int any = 0;
  for (int i = 0; i < FM_PDROP_N; i++) any |= add[i] != 0;
  if (!any) return 0;
  /* A row written before a reason was added is shorter: its counts stand. */
  if (fm__store_meta_get(s, t, DROPS_META, &v) == 0 && v.mv_size % 8 == 0)
    memcpy(row, v.mv_data, v.mv_size < sizeof row ? v.mv_size : sizeof row);
  for (int i = 0; i < FM_PDROP_N; i++)
    fm__be64_put(row + 8 * i, fm__be64_get(row + 8 * i) + add[i]);
  return fm__store_meta_put(s, t, DROPS_META, row, sizeof row);
}

static int put_notes(fm_store *s, MDB_txn *t, void *ctx) {
  put_arg *a = ctx;
  int rv, drop;
  memset(&a->tally, 0, sizeof a->tally);
  for (size_t i = 0; i < a->n; i++) {
    if ((rv = judge(s, t, &a->notes[i], a->now, &drop)) == -1) {
      a->tally.dropped[drop]++;
      continue;
    }
    if (rv < 0) return rv;
    if (rv == 0) {
      a->tally.same++;
      continue;
    }
    if ((rv = put_row(s, t, &a->notes[i], a->now)) < 0) return rv;
    a->tally.kept++;
  }
  return add_drops(s, t, a->tally.dropped);
}

int fm_store_presence_put(fm_store *s, const fm_slice *notes, size_t n, fm_time now,
                          fm_presence_tally *tally) {
  put_arg a = {notes, n, now, {0}};
  if (n == 0) {
    if (tally) memset(tally, 0, sizeof *tally);
    return 0;
  }
  if (!s->has_presence) return -EROFS;
  int rv = fm__store_write(s, put_notes, &a);
  if (rv == 0 && tally) *tally = a.tally;
  return rv;
}

/* ---- reading ----------------------------------------------------------------- */

int fm_store_presence_each(fm_store *s, fm_presence_cb cb, void *ctx) {
  MDB_txn *t;
  MDB_cursor *c;
  MDB_val k, v;
  fm_presence p;
  int rc, rv = 0;
  if (!s->has_presence) return 0; /* an older store opened read-only */
  if ((rv = fm__store_read_begin(s, &t)) < 0) return rv;
  if ((rc = mdb_cursor_open(t, s->presence, &c)) != 0) {
    mdb_txn_abort(t);
    return fm__store_err(rc);
  }
  for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0 && rv == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    const uint8_t *b = (const uint8_t *)v.mv_data + 8;
    /* Verified when kept (judge): decoding is enough, each time a session
     * offers the notes. */
    if (v.mv_size <= 8 || fm_presence_peek(b, v.mv_size - 8, &p) < 0) continue;
    rv = cb(ctx, &p, b, v.mv_size - 8, (fm_time)fm__be64_get(v.mv_data));
  }
  mdb_cursor_close(c);
  mdb_txn_abort(t);
  if (rv) return rv;
  return rc == MDB_NOTFOUND ? 0 : fm__store_err(rc);
}

int fm_store_presence_one(fm_store *s, const uint8_t device[static FM_KEY_LEN],
                          fm_presence_cb cb, void *ctx) {
  MDB_txn *t;
  MDB_val k = {FM_KEY_LEN, (void *)device}, v;
  fm_presence p;
  int rc, rv;
  if (!s->has_presence) return FM_ERR_NOTFOUND;
  if ((rv = fm__store_read_begin(s, &t)) < 0) return rv;
  rc = mdb_get(t, s->presence, &k, &v);
  if (rc == 0 && v.mv_size > 8 &&
      fm_presence_peek((const uint8_t *)v.mv_data + 8, v.mv_size - 8, &p) == 0 &&
      !memcmp(p.device, device, FM_KEY_LEN))
    rv = cb(ctx, &p, (const uint8_t *)v.mv_data + 8, v.mv_size - 8,
            (fm_time)fm__be64_get(v.mv_data));
  else
    rv = rc == 0 || rc == MDB_NOTFOUND ? FM_ERR_NOTFOUND : fm__store_err(rc);
  mdb_txn_abort(t);
  return rv;
}

typedef struct get_arg {
  fm_presence *out;
  fm_time *received;
} get_arg;

static int get_one(void *ctx, const fm_presence *p, const uint8_t *b, size_t len, fm_time r) {
  get_arg *a = ctx;
  (void)b, (void)len;
  if (a->out) *a->out = *p;
  if (a->received) *a->received = r;
  return 0;
}

int fm_store_presence_get(fm_store *s, const uint8_t device[static FM_KEY_LEN],
                          fm_presence *out, fm_time *received) {
  get_arg a = {out, received};
  return fm_store_presence_one(s, device, get_one, &a);
}

int fm_store_presence_drops(fm_store *s, uint64_t out[FM_PDROP_N]) {
  MDB_txn *t;
  MDB_val v;
  int rv = fm__store_read_begin(s, &t);
  if (rv < 0) return rv;
  memset(out, 0, sizeof(uint64_t) * FM_PDROP_N);
  if (fm__store_meta_get(s, t, DROPS_META, &v) == 0 && v.mv_size % 8 == 0)
    for (size_t i = 0; i < FM_PDROP_N && i < v.mv_size / 8; i++)
      out[i] = fm__be64_get((uint8_t *)v.mv_data + 8 * i);
  mdb_txn_abort(t);
  return 0;
}

/* ---- this node's own note ------------------------------------------------------ */

static int by_author(const void *a, const void *b) {
  return memcmp(((const fm_vec_item *)a)->author, ((const fm_vec_item *)b)->author, FM_KEY_LEN);
}

/* Digest, author count and the first heads in key order. */
static int fill_vector(fm_store *s, fm_presence *p) {
  fm_vector v;
  int rv = fm_store_vector(s, &v);
  if (rv < 0) return rv;
  fm_vector_digest(&v, p->vdigest);
  p->authors = v.n;
  if (v.n) qsort(v.items, v.n, sizeof v.items[0], by_author);
  for (size_t i = 0; i < v.n && p->nheads < FM_PRESENCE_HEADS_MAX; i++) {
    fm_presence_head *h = &p->heads[p->nheads];
    /* Two keys sharing 8 bytes would break the order: name the first. */
    if (p->nheads && !memcmp(h[-1].prefix, v.items[i].author, FM_PRESENCE_PREFIX_LEN)) continue;
    memcpy(h->prefix, v.items[i].author, FM_PRESENCE_PREFIX_LEN);
    h->seq = v.items[i].seq;
    p->nheads++;
  }
  fm_vector_free(&v);
  return 0;
}

/* Keeps the FM_PRESENCE_MET_MAX holders of our entries heard from last. */
static int on_holder(void *ctx, const uint8_t device[FM_KEY_LEN], uint64_t seq, fm_time when) {
  fm_presence *p = ctx;
  uint32_t at = p->nmet;
  (void)seq;
  while (at > 0 && p->met[at - 1].when < when) at--;
  if (at >= FM_PRESENCE_MET_MAX) return 0;
  uint32_t last = p->nmet < FM_PRESENCE_MET_MAX ? p->nmet : FM_PRESENCE_MET_MAX - 1;
  memmove(&p->met[at + 1], &p->met[at], (last - at) * sizeof p->met[0]);
  memcpy(p->met[at].device, device, FM_KEY_LEN);
  p->met[at].when = when;
  if (p->nmet < FM_PRESENCE_MET_MAX) p->nmet++;
  return 0;
}

static int fill_note(fm_store *s, const fm_identity *id, const fm_presence_local *local,
                     fm_time now, fm_presence *p) {
  fm_copies cp;
  unsigned need;
  int rv;
  memset(p, 0, sizeof *p);
  memcpy(p->device, id->pk, FM_KEY_LEN);
  p->wall = now;
  if ((rv = fm_store_safe_copies(s, &need)) < 0 ||
      (rv = fm_store_copies(s, id->pk, need, &cp)) < 0)
    return rv;
  p->head_seq = cp.own;
  p->only_here = cp.none;
  if ((rv = fill_vector(s, p)) < 0) return rv;
  if (local && local->version) {
    size_t n = strnlen(local->version, FM_PRESENCE_VERSION_MAX);
    memcpy(p->version, local->version, n);
    p->version[n] = 0;
  }
  p->clock_offset = local ? local->clock_offset : 0;
  p->free_kib = local ? local->free_kib : 0;
  return fm_store_each_holder(s, id->pk, on_holder, p);
}

/* Signs and keeps |p|: 0 when kept, 1 when the store kept another. */
static int keep_note(fm_store *s, const fm_identity *id, const fm_presence *p, fm_time now) {
  fm_buf b;
  fm_presence_tally tally;
  int rv;
  fm_buf_init(&b, FM_PRESENCE_MAX);
  if ((rv = fm_presence_sign(p, id, &b)) == 0) {
    fm_slice one = {b.p, b.len};
    rv = fm_store_presence_put(s, &one, 1, now, &tally);
    if (rv == 0 && tally.kept != 1) rv = 1;
  }
  fm_buf_free(&b);
  return rv;
}

int fm_store_presence_make(fm_store *s, const fm_identity *id, const fm_presence_local *local,
                           fm_time now) {
  fm_presence p;
  int rv = fm_store_presence_get(s, id->pk, &p, NULL);
  if (rv == 0 && p.wall > now - FM_PRESENCE_INTERVAL_MS && p.wall <= now) return 1;
  if (rv < 0 && rv != FM_ERR_NOTFOUND) return rv;
  if ((rv = fill_note(s, id, local, now, &p)) < 0) return rv;
  return keep_note(s, id, &p, now);
}

int fm_store_presence_renew(fm_store *s, const fm_identity *id, const fm_presence_local *local,
                            fm_time now) {
  fm_presence held, p;
  held.wall = 0;   /* written by the lookup on success; said for the compiler */
  int rv = fm_store_presence_get(s, id->pk, &held, NULL);
  if (rv == FM_ERR_NOTFOUND || (rv == 0 && (held.wall > now || held.wall <= now - FM_PRESENCE_RENEW_MS)))
    return fm_store_presence_make(s, id, local, now);
  if (rv < 0) return rv;
  if (held.wall > now - FM_PRESENCE_INTERVAL_MS) return 1;
  if ((rv = fill_note(s, id, local, now, &p)) < 0) return rv;
  /* Only what tells the hall something new; the wall alone waits. */
  int64_t moved = p.clock_offset - held.clock_offset;
  if (p.head_seq == held.head_seq && p.only_here == held.only_here && p.authors == held.authors &&
      !memcmp(p.vdigest, held.vdigest, sizeof p.vdigest) &&
      moved < FM_PRESENCE_CLOCK_STEP_MS && moved > -FM_PRESENCE_CLOCK_STEP_MS)
    return 1;
  return keep_note(s, id, &p, now);
}
