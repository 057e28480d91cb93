/* Copies of scans' chunks elsewhere.  See include/fieldmesh/scan_copies.h. */
#include "fieldmesh/scan_copies.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fieldmesh/delivery.h"
#include "fieldmesh/error.h"
#include "store_int.h"

typedef struct held_arg {
  const uint8_t *device, *id;
  fm_time now;
} held_arg;

/* The row for |a|, when this store holds the chunk: 1 when it is new,
 * 0 when it was there (or the chunk is not here), or a store error. */
static int held_row(fm_store *s, MDB_txn *t, const held_arg *a) {
  uint8_t key[FM_BLOB_ID + FM_KEY_LEN], when[8];
  MDB_val k = {FM_BLOB_ID, (void *)a->id}, v;
  int rc = mdb_get(t, s->blobs, &k, &v);
  if (rc == MDB_NOTFOUND) return 0;
  if (rc) return fm__store_err(rc);
  memcpy(key, a->id, FM_BLOB_ID);
  memcpy(key + FM_BLOB_ID, a->device, FM_KEY_LEN);
  fm__be64_put(when, (uint64_t)a->now);
  k = (MDB_val){sizeof key, key};
  v = (MDB_val){sizeof when, when};
  rc = mdb_put(t, s->blob_copies, &k, &v, MDB_NOOVERWRITE);
  return rc == MDB_KEYEXIST ? 0 : rc ? fm__store_err(rc) : 1;
}

static int put_held(fm_store *s, MDB_txn *t, void *ctx) {
  int rv = held_row(s, t, ctx);
  return rv < 0 ? rv : 0;
}

int fm_store_blob_note_held(fm_store *s, const uint8_t device[static FM_KEY_LEN],
                            const uint8_t id[static FM_BLOB_ID], fm_time now) {
  uint8_t self[FM_KEY_LEN];
  if (fm_store_self(s, self) == 0 && !memcmp(self, device, FM_KEY_LEN)) return 0;
  if (!s->has_blob_copies) return -EROFS;
  held_arg a = {device, id, now};
  return fm__store_write(s, put_held, &a);
}

/* ---- counting ------------------------------------------------------------- */

typedef struct scan_ref {
  uint64_t seq;
  size_t off, n;           /* its chunk ids: ids[off .. off + n) */
} scan_ref;

typedef struct scan_list {
  scan_ref *v;
  size_t n, cap;
  uint8_t *ids;            /* 32 bytes per chunk */
  size_t nids, idcap;
} scan_list;

static int grow(void **p, size_t *cap, size_t need, size_t size) {
  if (need <= *cap) return 0;
  size_t c = *cap ? *cap : 16;
  while (c < need) c *= 2;
  void *q = realloc(*p, c * size);
  if (!q) return -ENOMEM;
  *p = q;
  *cap = c;
  return 0;
}

/* Collects the author's attach entries: their seq and chunk ids. */
static int collect(void *ctx, const uint8_t *bytes, size_t len) {
  scan_list *l = ctx;
  fm_entry e;
  fm_attach a;
  if (fm_attach_of_entry(bytes, len, &e, &a) < 0) return 0;
  if (grow((void **)&l->v, &l->cap, l->n + 1, sizeof *l->v) < 0 ||
      grow((void **)&l->ids, &l->idcap, l->nids + a.nchunks, FM_BLOB_ID) < 0)
    return -ENOMEM;
  l->v[l->n++] = (scan_ref){e.seq, l->nids, a.nchunks};
  memcpy(l->ids + l->nids * FM_BLOB_ID, a.chunks, a.nchunks * FM_BLOB_ID);
  l->nids += a.nchunks;
  return 0;
}

/* Holders of a chunk that are not revoked now (a lost laptop keeps
 * nothing anyone can count on). */
static int live_holders(fm_store *s, MDB_cursor *c, const uint8_t *id, unsigned need,
                        unsigned *n) {
  uint8_t key[FM_BLOB_ID + FM_KEY_LEN] = {0};
  MDB_val k = {sizeof key, key}, v;
  int rc;
  memcpy(key, id, FM_BLOB_ID);
  *n = 0;
  for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0 && *n < need;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    if (k.mv_size != sizeof key || memcmp(k.mv_data, id, FM_BLOB_ID)) break;
    fm_enrollment en;
    uint64_t revoked_after = UINT64_MAX;
    int rv = fm_store_enrollment(s, (uint8_t *)k.mv_data + FM_BLOB_ID, &en, &revoked_after,
                                 NULL, NULL);
    if (rv < 0 && rv != FM_ERR_NOTFOUND) return rv;
    if (revoked_after == UINT64_MAX) (*n)++;
  }
  return rc == 0 || rc == MDB_NOTFOUND ? 0 : fm__store_err(rc);
}

/* Adds scan |r| to |out|. */
static int count_scan(fm_store *s, MDB_txn *t, MDB_cursor *c, const uint8_t *author,
                      const scan_list *l, const scan_ref *r, unsigned need,
                      fm_scan_copies *out) {
  uint64_t bytes = 0, short_bytes = 0;
  int absent = 0, rv;
  for (size_t i = 0; i < r->n; i++) {
    const uint8_t *id = l->ids + (r->off + i) * FM_BLOB_ID;
    MDB_val k = {FM_BLOB_ID, (void *)id}, v;
    unsigned n = 0;
    int rc = mdb_get(t, s->blobs, &k, &v);
    if (rc == MDB_NOTFOUND) {
      absent = 1;
      continue;
    }
    if (rc) return fm__store_err(rc);
    bytes += v.mv_size;
    if (c && (rv = live_holders(s, c, id, need, &n)) < 0) return rv;
    if (n < need) short_bytes += v.mv_size;
  }
  out->scans++;
  out->bytes += bytes;
  if (absent) out->absent++;
  if (short_bytes == 0) return 0;
  fm_delivery d;
  rv = fm_delivery_get(s, author, r->seq, &d);
  if (rv == 0) return 0;
  if (rv != FM_ERR_NOTFOUND) return rv;
  out->unsafe++;
  out->unsafe_bytes += short_bytes;
  return 0;
}

int fm_store_scan_copies(fm_store *s, const uint8_t author[static FM_KEY_LEN], unsigned need,
                         fm_scan_copies *out) {
  scan_list l = {0};
  MDB_txn *t = NULL;
  MDB_cursor *c = NULL;
  int rv, rc;
  memset(out, 0, sizeof *out);
  if (!s->has_blobs) return 0;
  if ((rv = fm_store_read_after(s, author, 0, 0, collect, &l)) < 0) goto out;
  if (l.n == 0) goto out;
  if ((rv = fm__store_read_begin(s, &t)) < 0) goto out;
  if (s->has_blob_copies && (rc = mdb_cursor_open(t, s->blob_copies, &c)) != 0) {
    rv = fm__store_err(rc);
    goto out;
  }
  for (size_t i = 0; i < l.n && rv == 0; i++)
    rv = count_scan(s, t, c, author, &l, &l.v[i], need, out);
out:
  if (c) mdb_cursor_close(c);
  if (t) mdb_txn_abort(t);
  free(l.v);
  free(l.ids);
  return rv;
}

/* ---- by USB stick ---------------------------------------------------------- */

int fm_store_scans_held_upto(fm_store *s, const uint8_t author[static FM_KEY_LEN],
                             uint64_t *seq) {
  scan_list l = {0};
  MDB_txn *t = NULL;
  fm__head h;
  int rv;
  *seq = 0;
  if (!s->has_blobs) return 0;
  if ((rv = fm_store_read_after(s, author, 0, 0, collect, &l)) < 0 || l.n == 0) goto out;
  if ((rv = fm__store_read_begin(s, &t)) < 0) goto out;
  if ((rv = fm__store_head_get(s, t, author, &h)) != 0) {
    rv = fm__store_err(rv);
    goto out;
  }
  *seq = h.seq;
  for (size_t i = 0; i < l.n; i++) {
    size_t held = 0;
    for (size_t j = 0; j < l.v[i].n; j++) {
      MDB_val k = {FM_BLOB_ID, l.ids + (l.v[i].off + j) * FM_BLOB_ID}, v;
      int rc = mdb_get(t, s->blobs, &k, &v);
      if (rc && rc != MDB_NOTFOUND) {
        rv = fm__store_err(rc);
        goto out;
      }
      held += rc == 0;
    }
    if (held < l.v[i].n) {
      *seq = l.v[i].seq - 1;
      break;
    }
  }
  if (*seq < l.v[0].seq) *seq = 0;   /* not one whole scan: it says nothing */
out:
  if (t) mdb_txn_abort(t);
  free(l.v);
  free(l.ids);
  return rv;
}

typedef struct note_arg {
  const scan_list *l;
  const uint8_t *device;
  uint64_t upto, noted;
  fm_time now;
} note_arg;

static int put_all_held(fm_store *s, MDB_txn *t, void *ctx) {
  note_arg *a = ctx;
  a->noted = 0;
  for (size_t i = 0; i < a->l->n && a->l->v[i].seq <= a->upto; i++)
    for (size_t j = 0; j < a->l->v[i].n; j++) {
      held_arg h = {a->device, a->l->ids + (a->l->v[i].off + j) * FM_BLOB_ID, a->now};
      int rv = held_row(s, t, &h);
      if (rv < 0) return rv;
      a->noted += rv;
    }
  return 0;
}

int fm_store_scans_note_held(fm_store *s, const uint8_t device[static FM_KEY_LEN],
                             uint64_t upto, fm_time now, uint64_t *noted) {
  uint8_t self[FM_KEY_LEN];
  scan_list l = {0};
  int rv;
  if (noted) *noted = 0;
  if (upto == 0 || fm_store_self(s, self) < 0 || !memcmp(self, device, FM_KEY_LEN)) return 0;
  if (!s->has_blob_copies) return -EROFS;
  if ((rv = fm_store_read_after(s, self, 0, 0, collect, &l)) < 0 || l.n == 0) goto out;
  note_arg a = {&l, device, upto, 0, now};
  if ((rv = fm__store_write(s, put_all_held, &a)) == 0 && noted) *noted = a.noted;
out:
  free(l.v);
  free(l.ids);
  return rv;
}
