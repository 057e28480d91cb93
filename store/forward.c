/* The gateway's forwarding cursors and batches.  See
 * include/fieldmesh/forward.h. */
#include "fieldmesh/forward.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fieldmesh/attach.h"
#include "fieldmesh/error.h"
#include "fieldmesh/record.h"
#include "store_int.h"

#define SID FM_FWD_SINK_ID_LEN
#define MEM_MAX ((size_t)256 << 20)   /* a batch's bytes: FM_FWD_BATCH_MAX entries of 16 KiB and their records */

const char *fm_sink_kind_name(fm_sink_kind k) {
  switch (k) {
  case FM_SINK_SPOOL: return "spool";
  case FM_SINK_POSTGRES: return "postgres";
  case FM_SINK_HTTP: return "http";
  }
  return "?";
}

void fm_forward_sink_id(fm_sink_kind k, const char *target, uint8_t out[SID]) {
  crypto_generichash_state h;
  uint8_t kb = (uint8_t)k;
  crypto_generichash_init(&h, NULL, 0, SID);
  crypto_generichash_update(&h, (const uint8_t *)"fieldmesh sink", 15);
  crypto_generichash_update(&h, &kb, 1);
  crypto_generichash_update(&h, (const uint8_t *)target, strlen(target));
  crypto_generichash_final(&h, out, SID);
}

/* ---- keys ----------------------------------------------------------------------- */

/* sink | tag [| author [| seq]] */
static MDB_val fkey(uint8_t k[SID + 1 + 40], const uint8_t sink[SID], char tag,
                    const uint8_t *author, uint64_t seq) {
  MDB_val v = {SID + 1, k};
  memcpy(k, sink, SID);
  k[SID] = (uint8_t)tag;
  if (author) {
    memcpy(k + SID + 1, author, FM_KEY_LEN);
    v.mv_size += FM_KEY_LEN;
    if (tag == 'a' || tag == 'p') {
      fm__be64_put(k + SID + 1 + FM_KEY_LEN, seq);
      v.mv_size += 8;
    }
  }
  return v;
}

static int get_u64(fm_store *s, MDB_txn *t, MDB_val *k, uint64_t *out) {
  MDB_val v;
  int rc = mdb_get(t, s->forward, k, &v);
  *out = 0;
  if (rc == MDB_NOTFOUND) return 0;
  if (rc) return rc;
  if (v.mv_size != 8) return FM_ERR_CORRUPT;
  *out = fm__be64_get(v.mv_data);
  return 0;
}

static int cursor_get(fm_store *s, MDB_txn *t, const uint8_t sink[SID],
                      const uint8_t author[FM_KEY_LEN], uint64_t *seq) {
  uint8_t kb[SID + 41];
  MDB_val k = fkey(kb, sink, 'c', author, 0);
  return get_u64(s, t, &k, seq);
}

static int is_acked(fm_store *s, MDB_txn *t, const uint8_t sink[SID],
                    const uint8_t author[FM_KEY_LEN], uint64_t seq) {
  uint8_t kb[SID + 41];
  MDB_val k = fkey(kb, sink, 'a', author, seq), v;
  return mdb_get(t, s->forward, &k, &v) == 0;
}

/* Whether |sink| holds any 'a' key for |author| (cheap: one seek). */
static int any_acked(fm_store *s, MDB_txn *t, const uint8_t sink[SID],
                     const uint8_t author[FM_KEY_LEN]) {
  uint8_t kb[SID + 41];
  MDB_cursor *c;
  MDB_val k = fkey(kb, sink, 'a', author, 0), v;
  size_t plen = SID + 1 + FM_KEY_LEN;
  int found = 0;
  if (mdb_cursor_open(t, s->forward, &c) != 0) return 1; /* assume some: only slower */
  if (mdb_cursor_get(c, &k, &v, MDB_SET_RANGE) == 0)
    found = k.mv_size == plen + 8 && !memcmp(k.mv_data, kb, plen);
  mdb_cursor_close(c);
  return found;
}

/* ---- the sink's state record ---------------------------------------------------------- */

/* A sink's state record holds the fields of fm_fwd_status that are kept
 * (sink, pending and in_flight are derived when status is read). */
typedef fm_fwd_status state;

/* Fields of the state record: 10 before refusals were tracked. */
#define STATE_FIELDS_OLD 10
#define STATE_FIELDS 13

static int rd_cstr(fm_rd *c, char *out, size_t cap) {
  const char *p;
  size_t n;
  if (fm_rd_str(c, &p, &n) < 0 || n >= cap) return FM_ERR_CORRUPT;
  memcpy(out, p, n);
  out[n] = 0;
  return 0;
}

static int state_get(fm_store *s, MDB_txn *t, const uint8_t sink[SID], state *st) {
  uint8_t kb[SID + 41];
  MDB_val k = fkey(kb, sink, 's', NULL, 0), v;
  fm_rd c;
  uint32_t n;
  uint64_t kind, active, ok, fail, failures;
  memset(st, 0, sizeof *st);
  int rc = mdb_get(t, s->forward, &k, &v);
  if (rc) return fm__store_err(rc);
  fm_rd_init(&c, v.mv_data, v.mv_size, 0);
  if (fm_rd_array(&c, &n) < 0 || (n != STATE_FIELDS_OLD && n != STATE_FIELDS) ||
      fm_rd_uint(&c, &kind) < 0 ||
      fm_rd_uint(&c, &active) < 0 || rd_cstr(&c, st->target, sizeof st->target) < 0 ||
      fm_rd_uint(&c, &st->forwarded) < 0 || fm_rd_uint(&c, &st->batches) < 0 ||
      fm_rd_uint(&c, &st->receipts) < 0 || fm_rd_uint(&c, &ok) < 0 ||
      fm_rd_uint(&c, &fail) < 0 || fm_rd_uint(&c, &failures) < 0 ||
      rd_cstr(&c, st->last_error, sizeof st->last_error) < 0)
    return FM_ERR_CORRUPT;
  if (n == STATE_FIELDS) {
    uint64_t batches;
    if (fm_rd_bin_fixed(&c, st->refused_author, FM_KEY_LEN) < 0 ||
        fm_rd_uint(&c, &st->refused_seq) < 0 || fm_rd_uint(&c, &batches) < 0 ||
        batches > UINT32_MAX)
      return FM_ERR_CORRUPT;
    st->refused_batches = (uint32_t)batches;
  }
  st->kind = (fm_sink_kind)kind;
  st->active = active != 0;
  st->last_ok = (fm_time)ok;
  st->last_failure = (fm_time)fail;
  st->failures = (uint32_t)failures;
  return 0;
}

static int state_put(fm_store *s, MDB_txn *t, const uint8_t sink[SID], const state *st) {
  uint8_t kb[SID + 41];
  MDB_val k = fkey(kb, sink, 's', NULL, 0), v;
  fm_buf b;
  fm_wr w;
  fm_buf_init(&b, 4096);
  fm_wr_init(&w, &b);
  fm_wr_array(&w, STATE_FIELDS);
  fm_wr_uint(&w, (uint64_t)st->kind);
  fm_wr_uint(&w, (uint64_t)st->active);
  fm_wr_cstr(&w, st->target);
  fm_wr_uint(&w, st->forwarded);
  fm_wr_uint(&w, st->batches);
  fm_wr_uint(&w, st->receipts);
  fm_wr_uint(&w, st->last_ok > 0 ? (uint64_t)st->last_ok : 0);
  fm_wr_uint(&w, st->last_failure > 0 ? (uint64_t)st->last_failure : 0);
  fm_wr_uint(&w, st->failures);
  fm_wr_cstr(&w, st->last_error);
  fm_wr_bin(&w, st->refused_author, FM_KEY_LEN);
  fm_wr_uint(&w, st->refused_seq);
  fm_wr_uint(&w, st->refused_batches);
  int rc = fm_buf_error(&b);
  if (rc == 0) {
    v.mv_size = b.len;
    v.mv_data = b.p;
    rc = mdb_put(t, s->forward, &k, &v, 0);
  }
  fm_buf_free(&b);
  return rc;
}

/* ---- configuring ------------------------------------------------------------------------ */

typedef struct conf_ctx {
  const fm_fwd_sink *sinks;
  size_t n;
} conf_ctx;

/* The sink ids the store knows, one seek per sink: keys sort by sink id. */
static int next_sink(fm_store *s, MDB_txn *t, MDB_cursor *c, uint8_t sink[SID], int first) {
  uint8_t kb[SID];
  MDB_val k = {SID, kb}, v;
  int rc;
  if (first) {
    rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
  } else {
    memcpy(kb, sink, SID);
    int i = SID - 1;
    while (i >= 0 && ++kb[i] == 0) i--;
    if (i < 0) return MDB_NOTFOUND;
    rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
  }
  (void)s;
  (void)t;
  if (rc) return rc;
  if (k.mv_size < SID) return FM_ERR_CORRUPT;
  memcpy(sink, k.mv_data, SID);
  return 0;
}

static int do_configure(fm_store *s, MDB_txn *t, void *ctx) {
  conf_ctx *cc = ctx;
  MDB_cursor *c;
  uint8_t sink[SID];
  state st;
  int rc;
  /* Retire every known sink, then bring back the configured ones. */
  if ((rc = mdb_cursor_open(t, s->forward, &c)) != 0) return fm__store_err(rc);
  size_t known = 0, cap = 16;
  uint8_t(*ids)[SID] = malloc(cap * SID);
  if (!ids) rc = -ENOMEM;
  for (int first = 1; rc == 0 && (rc = next_sink(s, t, c, sink, first)) == 0; first = 0) {
    if (known == cap) {
      void *p = realloc(ids, (cap *= 2) * SID);
      if (!p) { rc = -ENOMEM; break; }
      ids = p;
    }
    memcpy(ids[known++], sink, SID);
  }
  mdb_cursor_close(c);
  if (rc == MDB_NOTFOUND) rc = 0;
  for (size_t i = 0; rc == 0 && i < known; i++) {
    if ((rc = state_get(s, t, ids[i], &st)) == FM_ERR_NOTFOUND) { rc = 0; continue; }
    if (rc == 0 && st.active) {
      st.active = 0;
      rc = state_put(s, t, ids[i], &st);
    }
  }
  free(ids);
  for (size_t i = 0; rc == 0 && i < cc->n; i++) {
    const fm_fwd_sink *k = &cc->sinks[i];
    rc = state_get(s, t, k->id, &st);
    if (rc == FM_ERR_NOTFOUND) rc = 0;
    if (rc) break;
    st.kind = k->kind;
    st.active = 1;
    snprintf(st.target, sizeof st.target, "%s", k->target);
    rc = state_put(s, t, k->id, &st);
  }
  return rc;
}

int fm_forward_configure(fm_store *s, const fm_fwd_sink *sinks, size_t n) {
  conf_ctx cc = {sinks, n};
  if (!s->gw_tables) return -EROFS;
  return fm__store_write(s, do_configure, &cc);
}

/* ---- planning and loading batches -------------------------------------------------------- */

void fm_fwd_batch_free(fm_fwd_batch *b) {
  free(b->ranges);
  free(b->items);
  free(b->records);
  fm_buf_free(&b->mem);
  memset(b, 0, sizeof *b);
}

static void batch_reset(fm_fwd_batch *b, const uint8_t sink[SID]) {
  fm_fwd_batch_free(b);
  memcpy(b->sink, sink, SID);
  fm_buf_init(&b->mem, MEM_MAX);
}

static int grow(void **arr, size_t n, size_t *cap, size_t size) {
  if (n < *cap) return 0;
  size_t nc = *cap ? *cap * 2 : 64;
  void *p = realloc(*arr, nc * size);
  if (!p) return -ENOMEM;
  *arr = p;
  *cap = nc;
  return 0;
}

typedef struct loader {
  fm_fwd_batch *b;
  size_t items_cap, ranges_cap, records_cap;
  size_t bytes;
  uint64_t scan_bytes;
  int full;
  fm_time now;         /* when the batch is planned */
} loader;

/* The stored entry |v| as a scan: 0 when it is no `dossier.attach` that
 * parses (it goes like any entry), else 1 with its file's size in
 * |*size| and how many of its chunks this store lacks in |*missing|. */
static int scan_of(fm_store *s, MDB_txn *t, const MDB_val *v, uint64_t *size,
                   uint32_t *missing) {
  fm_entry e;
  fm_attach a;
  *size = 0;
  *missing = 0;
  if (fm_attach_of_entry(v->mv_data, v->mv_size, &e, &a) < 0) return 0;
  *size = a.size;
  for (size_t i = 0; i < a.nchunks; i++) {
    MDB_val k = {FM_BLOB_ID, (void *)(a.chunks + i * FM_BLOB_ID)}, c;
    /* A store without the blobs table (older, read-only) holds none. */
    if (!s->has_blobs || mdb_get(t, s->blobs, &k, &c) != 0) (*missing)++;
  }
  return 1;
}

/* 1 when a scan missing chunks goes without its file: its author is
 * revoked, or it was stamped |lim->scan_wait| before |now| (the planner's
 * clock, not the writer's).  0 when it waits, or a store error. */
static int scan_gives_up(fm_store *s, MDB_txn *t, const MDB_val *v, const uint8_t *author,
                         const fm_fwd_limits *lim, fm_time now) {
  fm_entry e;
  fm__trust trust;
  fm_role role;
  if (fm_entry_decode(v->mv_data, v->mv_size, NULL, &e) < 0) return 0;
  int rv = fm__store_trust(s, t, author, UINT64_MAX, e.hlc, &trust, &role);
  if (rv < 0) return rv;
  if (trust == FM__TRUST_REVOKED) return 1;
  fm_time wait = lim->scan_wait ? lim->scan_wait : FM_FWD_SCAN_WAIT;
  return now - (fm_time)fm_hlc_ms(e.hlc) >= wait;
}

static int add_item(loader *L, const MDB_val *v, uint64_t seq, const uint8_t author[FM_KEY_LEN]) {
  fm_fwd_batch *b = L->b;
  fm_entry e;
  int rc;
  if ((rc = grow((void **)&b->items, b->n, &L->items_cap, sizeof *b->items)) < 0) return rc;
  if (fm_entry_decode(v->mv_data, v->mv_size, NULL, &e) < 0) return FM_ERR_CORRUPT;
  fm_fwd_item *it = &b->items[b->n];
  memset(it, 0, sizeof *it);
  memcpy(it->author, author, FM_KEY_LEN);
  it->seq = seq;
  fm_entry_id(v->mv_data, v->mv_size, it->id);
  it->len = v->mv_size;
  it->off = b->mem.len;
  it->is_receipt = fm_entry_is(&e, FM_KIND_RECEIPT);
  if ((rc = fm_buf_put(&b->mem, v->mv_data, v->mv_size)) < 0) return rc;
  b->n++;
  L->bytes += v->mv_size;
  return 0;
}

/* Adds |author|'s entries |from| .. |to| that |sink| has not acknowledged,
 * stopping at |lim| (NULL: none).  |*last| is the last seq looked at and
 * taken (or skipped as acknowledged); from - 1 when none. */
static int load_range(fm_store *s, MDB_txn *t, loader *L, const uint8_t author[FM_KEY_LEN],
                      uint64_t from, uint64_t to, const fm_fwd_limits *lim, uint64_t *last) {
  uint8_t key[40];
  MDB_cursor *c;
  MDB_val k = {sizeof key, key}, v;
  int rc, acked = any_acked(s, t, L->b->sink, author);
  *last = from - 1;
  fm__store_entry_key(key, author, from);
  if ((rc = mdb_cursor_open(t, s->entries, &c)) != 0) return fm__store_err(rc);
  for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    if (k.mv_size != 40 || memcmp(k.mv_data, author, FM_KEY_LEN)) break;
    uint64_t seq = fm__be64_get((uint8_t *)k.mv_data + FM_KEY_LEN);
    if (seq > to) break;
    if (acked && is_acked(s, t, L->b->sink, author, seq)) {
      *last = seq;
      continue;
    }
    if (lim && L->b->n && (L->b->n >= lim->max_entries || L->bytes + v.mv_size > lim->max_bytes)) {
      L->full = 1;
      break;
    }
    uint64_t scan = 0;
    uint32_t missing = 0;
    if (lim && scan_of(s, t, &v, &scan, &missing)) {
      /* A scan goes with its file: this author waits for the chunks (the
       * cursor is per author and in seq order) -- but not for ever. */
      if (missing && !(rc = scan_gives_up(s, t, &v, author, lim, L->now))) {
        L->b->scans_waiting++;
        break;
      }
      if (rc < 0) break;
      if (missing) scan = 0;   /* it goes without its file */
      if (L->scan_bytes && L->scan_bytes + scan > lim->max_scan_bytes) {
        L->full = 1;
        break;
      }
    }
    if ((rc = add_item(L, &v, seq, author)) != 0) break;
    L->scan_bytes += scan;
    *last = seq;
  }
  mdb_cursor_close(c);
  return rc == MDB_NOTFOUND ? 0 : fm__store_err(rc);
}

static int add_range(loader *L, const uint8_t author[FM_KEY_LEN], uint64_t from, uint64_t to) {
  fm_fwd_batch *b = L->b;
  int rc = grow((void **)&b->ranges, b->nranges, &L->ranges_cap, sizeof *b->ranges);
  if (rc < 0) return rc;
  memcpy(b->ranges[b->nranges].author, author, FM_KEY_LEN);
  b->ranges[b->nranges].from = from;
  b->ranges[b->nranges].to = to;
  b->nranges++;
  return 0;
}

/* One author of a new plan. */
static int plan_author(fm_store *s, MDB_txn *t, loader *L, const uint8_t author[FM_KEY_LEN],
                       uint64_t head, const fm_fwd_limits *lim) {
  uint64_t cur, last;
  int rc = cursor_get(s, t, L->b->sink, author, &cur);
  if (rc || head <= cur) return rc;
  if ((rc = load_range(s, t, L, author, cur + 1, head, lim, &last)) != 0) return rc;
  return last > cur ? add_range(L, author, cur + 1, last) : 0;
}

/* Walks the heads, the authority's log first, until the batch is full. */
static int plan(fm_store *s, MDB_txn *t, loader *L, const fm_fwd_limits *lim) {
  MDB_cursor *c;
  MDB_val k, v, a;
  int rc, have_auth = fm__store_meta_get(s, t, "authority", &a) == 0 && a.mv_size == FM_KEY_LEN;
  uint8_t auth[FM_KEY_LEN];
  fm__head h;
  if (have_auth) {
    memcpy(auth, a.mv_data, FM_KEY_LEN);
    if ((rc = fm__store_head_get(s, t, auth, &h)) != 0) return rc;
    if ((rc = plan_author(s, t, L, auth, h.seq, lim)) != 0) return rc;
  }
  if ((rc = mdb_cursor_open(t, s->heads, &c)) != 0) return fm__store_err(rc);
  for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0 && !L->full;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    if (k.mv_size != FM_KEY_LEN || v.mv_size != FM__HEAD_LEN) continue;
    if (have_auth && !memcmp(k.mv_data, auth, FM_KEY_LEN)) continue;
    uint8_t author[FM_KEY_LEN];
    memcpy(author, k.mv_data, FM_KEY_LEN);
    if ((rc = plan_author(s, t, L, author, fm__be64_get(v.mv_data), lim)) != 0) break;
  }
  mdb_cursor_close(c);
  return rc == MDB_NOTFOUND ? 0 : fm__store_err(rc);
}

static void batch_id(fm_fwd_batch *b) {
  crypto_generichash_state h;
  uint8_t be[8];
  crypto_generichash_init(&h, NULL, 0, FM_RECEIPT_BATCH_LEN);
  crypto_generichash_update(&h, b->sink, SID);
  fm__be64_put(be, (uint64_t)b->created);
  crypto_generichash_update(&h, be, 8);
  for (size_t i = 0; i < b->nranges; i++) {
    crypto_generichash_update(&h, b->ranges[i].author, FM_KEY_LEN);
    fm__be64_put(be, b->ranges[i].from);
    crypto_generichash_update(&h, be, 8);
    fm__be64_put(be, b->ranges[i].to);
    crypto_generichash_update(&h, be, 8);
  }
  crypto_generichash_final(&h, b->id, FM_RECEIPT_BATCH_LEN);
}

/* The recorded batch: [id bin 16, created, attempts, [[author, from, to], ...]] */
static int intent_put(fm_store *s, MDB_txn *t, const fm_fwd_batch *b) {
  uint8_t kb[SID + 41];
  MDB_val k = fkey(kb, b->sink, 'b', NULL, 0), v;
  fm_buf buf;
  fm_wr w;
  fm_buf_init(&buf, (size_t)64 << 20);
  fm_wr_init(&w, &buf);
  fm_wr_array(&w, 4);
  fm_wr_bin(&w, b->id, FM_RECEIPT_BATCH_LEN);
  fm_wr_uint(&w, (uint64_t)b->created);
  fm_wr_uint(&w, b->attempts);
  fm_wr_array(&w, (uint32_t)b->nranges);
  for (size_t i = 0; i < b->nranges; i++) {
    fm_wr_array(&w, 3);
    fm_wr_bin(&w, b->ranges[i].author, FM_KEY_LEN);
    fm_wr_uint(&w, b->ranges[i].from);
    fm_wr_uint(&w, b->ranges[i].to);
  }
  int rc = fm_buf_error(&buf);
  if (rc == 0) {
    v.mv_size = buf.len;
    v.mv_data = buf.p;
    rc = mdb_put(t, s->forward, &k, &v, 0);
  }
  fm_buf_free(&buf);
  return rc;
}

/* Reads the recorded batch's header and ranges: 0, FM_ERR_NOTFOUND. */
static int intent_get(fm_store *s, MDB_txn *t, const uint8_t sink[SID], loader *L) {
  uint8_t kb[SID + 41];
  MDB_val k = fkey(kb, sink, 'b', NULL, 0), v;
  fm_fwd_batch *b = L->b;
  fm_rd c;
  uint32_t n, nr;
  uint64_t created, attempts;
  int rc = mdb_get(t, s->forward, &k, &v);
  if (rc) return fm__store_err(rc);
  fm_rd_init(&c, v.mv_data, v.mv_size, 0);
  if (fm_rd_array(&c, &n) < 0 || n != 4 || fm_rd_bin_fixed(&c, b->id, FM_RECEIPT_BATCH_LEN) < 0 ||
      fm_rd_uint(&c, &created) < 0 || fm_rd_uint(&c, &attempts) < 0 ||
      fm_rd_array(&c, &nr) < 0 || nr > FM_FWD_BATCH_MAX * 2)
    return FM_ERR_CORRUPT;
  b->created = (fm_time)created;
  b->attempts = (uint32_t)attempts;
  for (uint32_t i = 0; i < nr; i++) {
    uint8_t author[FM_KEY_LEN];
    uint64_t from, to;
    if (fm_rd_array(&c, &n) < 0 || n != 3 || fm_rd_bin_fixed(&c, author, FM_KEY_LEN) < 0 ||
        fm_rd_uint(&c, &from) < 0 || fm_rd_uint(&c, &to) < 0 || from == 0 || to < from)
      return FM_ERR_CORRUPT;
    if ((rc = add_range(L, author, from, to)) < 0) return rc;
  }
  return 0;
}

static int target_cmp(const void *x, const void *y) {
  const fm_fwd_record *a = x, *b = y;
  if (a->kind != b->kind) return a->kind < b->kind ? -1 : 1;
  size_t n = a->id_len < b->id_len ? a->id_len : b->id_len;
  int c = memcmp(a->id, b->id, n);
  if (c) return c;
  return a->id_len < b->id_len ? -1 : a->id_len > b->id_len;
}

/* The dossiers and visits the batch's entries change, each once, as the
 * views hold them now. */
static int load_records(fm_store *s, MDB_txn *t, loader *L) {
  fm_fwd_batch *b = L->b;
  size_t n = 0;
  int rc;
  for (size_t i = 0; i < b->n; i++) {
    fm_entry e;
    const char *id;
    size_t idn;
    if (fm_entry_decode(b->mem.p + b->items[i].off, b->items[i].len, NULL, &e) < 0)
      return FM_ERR_CORRUPT;
    fm_view_kind k = fm_view_target(&e, &id, &idn);
    if (k == FM_VIEW_NONE) continue;
    if ((rc = grow((void **)&b->records, n, &L->records_cap, sizeof *b->records)) < 0) return rc;
    fm_fwd_record *r = &b->records[n++];
    memset(r, 0, sizeof *r);
    r->kind = k;
    memcpy(r->id, id, idn);
    r->id_len = idn;
  }
  if (n) qsort(b->records, n, sizeof *b->records, target_cmp);
  for (size_t i = 0; i < n; i++) {
    if (b->nrecords && !target_cmp(&b->records[b->nrecords - 1], &b->records[i])) continue;
    fm_fwd_record *r = &b->records[b->nrecords];
    if (r != &b->records[i]) *r = b->records[i];
    MDB_val k = {r->id_len, r->id}, v;
    rc = mdb_get(t, r->kind == FM_VIEW_DOSSIER ? s->dossiers : s->visits, &k, &v);
    if (rc == MDB_NOTFOUND) continue;
    if (rc) return rc;
    r->off = b->mem.len;
    r->len = v.mv_size;
    if ((rc = fm_buf_put(&b->mem, v.mv_data, v.mv_size)) < 0) return rc;
    b->nrecords++;
  }
  return 0;
}

/* Points items and records into the batch's memory, which moved while it
 * grew. */
static void fix_pointers(fm_fwd_batch *b) {
  for (size_t i = 0; i < b->n; i++) b->items[i].bytes = b->mem.p + b->items[i].off;
  for (size_t i = 0; i < b->nrecords; i++) b->records[i].rec = b->mem.p + b->records[i].off;
}

typedef struct next_ctx {
  const uint8_t *sink;
  const fm_fwd_limits *lim;
  fm_time now;
  fm_fwd_batch *b;
} next_ctx;

static int do_next(fm_store *s, MDB_txn *t, void *ctx) {
  next_ctx *nc = ctx;
  loader L;
  int rc;
  batch_reset(nc->b, nc->sink);
  memset(&L, 0, sizeof L);
  L.b = nc->b;
  L.now = nc->now;
  rc = intent_get(s, t, nc->sink, &L);
  if (rc == 0) {
    /* Delivered before, perhaps: exactly the same entries again. */
    for (size_t i = 0; i < L.b->nranges && rc == 0; i++) {
      uint64_t last;
      fm_fwd_range r = L.b->ranges[i];
      rc = load_range(s, t, &L, r.author, r.from, r.to, NULL, &last);
    }
    L.b->resumed = 1;
    if (rc == 0 && L.b->n == 0) {
      /* Its entries left the log (a revocation purged them): plan again,
       * which steps over them. */
      uint8_t kb[SID + 41];
      MDB_val k = fkey(kb, nc->sink, 'b', NULL, 0);
      if ((rc = mdb_del(t, s->forward, &k, NULL)) != 0) return fm__store_err(rc);
      batch_reset(nc->b, nc->sink);
      memset(&L, 0, sizeof L);
      L.b = nc->b;
      L.now = nc->now;
      rc = FM_ERR_NOTFOUND;
    }
  }
  if (rc == FM_ERR_NOTFOUND) {
    L.b->created = nc->now;
    if ((rc = plan(s, t, &L, nc->lim)) == 0 && L.b->n) {
      batch_id(L.b);
      rc = intent_put(s, t, L.b);
    }
  }
  if (rc == 0) rc = load_records(s, t, &L);
  if (rc == 0) rc = fm_buf_error(&L.b->mem);
  if (rc == 0) fix_pointers(L.b);
  return rc;
}

int fm_forward_next(fm_store *s, const uint8_t sink[SID], const fm_fwd_limits *lim,
                    fm_time now, fm_fwd_batch *out) {
  fm_fwd_limits l = *lim;
  if (l.max_entries == 0 || l.max_entries > FM_FWD_BATCH_MAX) l.max_entries = FM_FWD_BATCH_MAX;
  if (l.max_bytes == 0) l.max_bytes = (size_t)4 << 20;
  if (l.max_scan_bytes == 0) l.max_scan_bytes = FM_FWD_SCAN_BYTES;
  next_ctx nc = {sink, &l, now, out};
  if (!s->gw_tables) return -EROFS;
  int rv = fm__store_write(s, do_next, &nc);
  if (rv < 0) batch_reset(out, sink);
  return rv;
}

/* ---- committing ----------------------------------------------------------------------------- */

typedef struct commit_ctx {
  const fm_identity *gw;
  const fm_fwd_batch *b;
  const fm_fwd_ack *ack;
  fm_time now;
  fm_fwd_done done;
} commit_ctx;

/* Moves |r.author|'s cursor over what is acknowledged now (items
 * |i0| .. |i1| of the batch) or before ('a' keys, which go), and over
 * seqs of the range that were not in the batch (acknowledged before, or
 * gone from the log).  Acknowledged items past a gap get 'a' keys. */
static int advance(fm_store *s, MDB_txn *t, const commit_ctx *cc, const fm_fwd_range *r,
                   size_t i0, size_t i1) {
  const fm_fwd_batch *b = cc->b;
  uint8_t kb[SID + 41];
  MDB_val k, v, empty = {0, NULL};
  uint64_t cur, start;
  size_t j = i0;
  int rc = cursor_get(s, t, b->sink, r->author, &cur);
  if (rc) return rc;
  start = cur;
  for (;;) {
    uint64_t next = cur + 1;
    while (j < i1 && b->items[j].seq < next) j++;
    if (j < i1 && b->items[j].seq == next) {
      if (!cc->ack->accepted[j]) break;
      cur = next;
      continue;
    }
    k = fkey(kb, b->sink, 'a', r->author, next);
    rc = mdb_del(t, s->forward, &k, NULL);
    if (rc == 0 || (rc == MDB_NOTFOUND && next >= r->from && next <= r->to)) {
      cur = next;
      continue;
    }
    if (rc != MDB_NOTFOUND) return fm__store_err(rc);
    break;
  }
  for (; j < i1; j++) {
    if (!cc->ack->accepted[j] || b->items[j].seq <= cur) continue;
    k = fkey(kb, b->sink, 'a', r->author, b->items[j].seq);
    if ((rc = mdb_put(t, s->forward, &k, &empty, 0)) != 0) return fm__store_err(rc);
  }
  if (cur == start) return 0;
  uint8_t be[8];
  fm__be64_put(be, cur);
  k = fkey(kb, b->sink, 'c', r->author, 0);
  v.mv_size = 8;
  v.mv_data = be;
  return fm__store_err(mdb_put(t, s->forward, &k, &v, 0));
}

/* |s| cut to |max| bytes on a UTF-8 boundary. */
static size_t cut(const char *s, size_t max) {
  size_t n = s ? strlen(s) : 0;
  if (n <= max) return n;
  n = max;
  while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80) n--;
  return n;
}

/* The receipts of the acknowledged items (receipts themselves excepted:
 * a receipt of a receipt would never end). */
static int write_receipts(fm_store *s, MDB_txn *t, commit_ctx *cc) {
  const fm_fwd_batch *b = cc->b;
  fm_receipt_item *items = calloc(b->n ? b->n : 1, sizeof *items);
  size_t n = 0, at = 0, used;
  fm_buf body;
  int rc = 0;
  if (!items) return -ENOMEM;
  for (size_t i = 0; i < b->n; i++) {
    if (!cc->ack->accepted[i] || b->items[i].is_receipt) continue;
    fm_receipt_item *it = &items[n++];
    memcpy(it->author, b->items[i].author, FM_KEY_LEN);
    it->seq = b->items[i].seq;
    memcpy(it->id8, b->items[i].id, FM_RECEIPT_ID8_LEN);
    it->ref = cc->ack->refs ? cc->ack->refs[i] : NULL;
    it->ref_len = cut(it->ref, FM_RECEIPT_REF_MAX);
  }
  const char *bref = cc->ack->batch_ref ? cc->ack->batch_ref : "";
  fm_buf_init(&body, FM_RECEIPT_BODY_MAX + 1024);
  while (rc == 0 && at < n) {
    uint64_t seq;
    fm_buf_reset(&body);
    rc = fm_receipt_body(&body, cc->ack->sink_name, b->id, bref, cut(bref, FM_RECEIPT_REF_MAX),
                         items + at, n - at, &used);
    if (rc == 0)
      rc = fm__store_append_txn(s, t, cc->gw, FM_KIND_RECEIPT, body.p, body.len, cc->now,
                                NULL, &seq);
    if (rc == 0) {
      if (!cc->done.receipts++) cc->done.first_seq = seq;
      cc->done.last_seq = seq;
      at += used;
    }
  }
  fm_buf_free(&body);
  free(items);
  return rc;
}

/* An answered batch: the first entry it left out, if any, and whether the
 * sink left that same entry out of the batch before. */
static void note_refused(state *st, const commit_ctx *cc) {
  const fm_fwd_batch *b = cc->b;
  for (size_t i = 0; i < b->n; i++) {
    if (cc->ack->accepted[i]) continue;
    const fm_fwd_item *it = &b->items[i];
    if (st->refused_batches && st->refused_seq == it->seq &&
        !memcmp(st->refused_author, it->author, FM_KEY_LEN)) {
      st->refused_batches++;
    } else {
      memcpy(st->refused_author, it->author, FM_KEY_LEN);
      st->refused_seq = it->seq;
      st->refused_batches = 1;
    }
    return;
  }
  memset(st->refused_author, 0, FM_KEY_LEN);
  st->refused_seq = 0;
  st->refused_batches = 0;
}

/* A 'p' key, valued the time it was acknowledged, for each acknowledged
 * item that went with placeholders. */
static int keep_placeholders(fm_store *s, MDB_txn *t, const commit_ctx *cc) {
  const fm_fwd_batch *b = cc->b;
  uint8_t kb[SID + 41], be[8];
  MDB_val k, v = {8, be};
  int rc;
  if (!cc->ack->placeholders) return 0;
  fm__be64_put(be, cc->now > 0 ? (uint64_t)cc->now : 0);
  for (size_t i = 0; i < b->n; i++) {
    if (!cc->ack->accepted[i] || !cc->ack->placeholders[i] || b->items[i].is_receipt) continue;
    k = fkey(kb, b->sink, 'p', b->items[i].author, b->items[i].seq);
    if ((rc = mdb_put(t, s->forward, &k, &v, 0)) != 0) return fm__store_err(rc);
  }
  return 0;
}

static int do_commit(fm_store *s, MDB_txn *t, void *ctx) {
  commit_ctx *cc = ctx;
  const fm_fwd_batch *b = cc->b;
  fm_fwd_batch cur;
  loader L;
  state st;
  uint8_t kb[SID + 41];
  MDB_val k;
  int rc;
  memset(&cc->done, 0, sizeof cc->done);
  memset(&cur, 0, sizeof cur);
  memset(&L, 0, sizeof L);
  L.b = &cur;
  rc = intent_get(s, t, b->sink, &L);
  int same = rc == 0 && !memcmp(cur.id, b->id, FM_RECEIPT_BATCH_LEN);
  fm_fwd_batch_free(&cur);
  if (rc && rc != FM_ERR_NOTFOUND) return rc;
  if (!same) return FM_ERR_NOTFOUND;
  for (size_t i = 0, j = 0; i < b->nranges; i++) {
    size_t i0 = j;
    while (j < b->n && !memcmp(b->items[j].author, b->ranges[i].author, FM_KEY_LEN)) j++;
    if ((rc = advance(s, t, cc, &b->ranges[i], i0, j)) != 0) return rc;
  }
  for (size_t i = 0; i < b->n; i++) cc->done.acked += cc->ack->accepted[i] ? 1 : 0;
  if ((rc = keep_placeholders(s, t, cc)) != 0) return rc;
  k = fkey(kb, b->sink, 'b', NULL, 0);
  if ((rc = mdb_del(t, s->forward, &k, NULL)) != 0) return fm__store_err(rc);
  if ((rc = write_receipts(s, t, cc)) != 0) return rc;
  if ((rc = state_get(s, t, b->sink, &st)) != 0 && rc != FM_ERR_NOTFOUND) return rc;
  if (cc->done.acked == 0) return 0; /* forgotten, but no success: the caller notes why */
  note_refused(&st, cc);
  st.forwarded += cc->done.acked;
  st.batches++;
  st.receipts += cc->done.receipts;
  st.last_ok = cc->now;
  st.failures = 0;
  st.last_error[0] = 0;
  return state_put(s, t, b->sink, &st);
}

int fm_forward_commit(fm_store *s, const fm_identity *gw, const fm_fwd_batch *b,
                      const fm_fwd_ack *ack, fm_time now, fm_fwd_done *out) {
  commit_ctx cc;
  memset(&cc, 0, sizeof cc);
  cc.gw = gw;
  cc.b = b;
  cc.ack = ack;
  cc.now = now;
  if (!s->gw_tables) return -EROFS;
  int rv = fm__store_write(s, do_commit, &cc);
  if (rv == 0 && out) *out = cc.done;
  return rv;
}

typedef struct fail_ctx {
  const uint8_t *sink;
  fm_time now;
  const char *error;
} fail_ctx;

static int do_failed(fm_store *s, MDB_txn *t, void *ctx) {
  fail_ctx *fc = ctx;
  fm_fwd_batch b;
  loader L;
  state st;
  int rc = state_get(s, t, fc->sink, &st);
  if (rc && rc != FM_ERR_NOTFOUND) return rc;
  st.failures++;
  st.last_failure = fc->now;
  snprintf(st.last_error, sizeof st.last_error, "%.*s", (int)cut(fc->error, sizeof st.last_error - 1),
           fc->error ? fc->error : "");
  if ((rc = state_put(s, t, fc->sink, &st)) != 0) return rc;
  memset(&b, 0, sizeof b);
  memcpy(b.sink, fc->sink, SID);
  memset(&L, 0, sizeof L);
  L.b = &b;
  if ((rc = intent_get(s, t, fc->sink, &L)) == 0) {
    b.attempts++;
    rc = intent_put(s, t, &b);
  }
  fm_fwd_batch_free(&b);
  return rc == FM_ERR_NOTFOUND ? 0 : rc;
}

int fm_forward_failed(fm_store *s, const uint8_t sink[SID], fm_time now, const char *error) {
  fail_ctx fc = {sink, now, error};
  if (!s->gw_tables) return -EROFS;
  return fm__store_write(s, do_failed, &fc);
}

/* ---- status ---------------------------------------------------------------------------------- */

static int pending_txn(fm_store *s, MDB_txn *t, const uint8_t sink[SID], uint64_t *out) {
  MDB_cursor *c;
  MDB_val k, v;
  uint8_t kb[SID + 41];
  uint64_t n = 0, acked = 0;
  int rc;
  if ((rc = mdb_cursor_open(t, s->heads, &c)) != 0) return fm__store_err(rc);
  for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    uint64_t cur, head;
    if (k.mv_size != FM_KEY_LEN || v.mv_size != FM__HEAD_LEN) continue;
    head = fm__be64_get(v.mv_data);
    if ((rc = cursor_get(s, t, sink, k.mv_data, &cur)) != 0) break;
    if (head > cur) n += head - cur;
  }
  mdb_cursor_close(c);
  if (rc != MDB_NOTFOUND) return fm__store_err(rc);
  /* Acknowledged past a gap: not waiting any more. */
  if ((rc = mdb_cursor_open(t, s->forward, &c)) != 0) return fm__store_err(rc);
  k = fkey(kb, sink, 'a', NULL, 0);
  for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    if (k.mv_size < SID + 1 || memcmp(k.mv_data, kb, SID + 1)) break;
    acked++;
  }
  mdb_cursor_close(c);
  if (rc != 0 && rc != MDB_NOTFOUND) return fm__store_err(rc);
  *out = n > acked ? n - acked : 0;
  return 0;
}

int fm_forward_pending(fm_store *s, const uint8_t sink[SID], uint64_t *out) {
  MDB_txn *t;
  int rv;
  *out = 0;
  if (!s->gw_tables) return 0;
  if ((rv = fm__store_read_begin(s, &t)) < 0) return rv;
  rv = fm__store_err(pending_txn(s, t, sink, out));
  mdb_txn_abort(t);
  return rv;
}

/* The authors whose next entry to forward is a scan without all its
 * chunks (what load_range stops at). */
static int scans_waiting_txn(fm_store *s, MDB_txn *t, fm_fwd_status *out) {
  MDB_cursor *c;
  MDB_val k, v;
  int rc;
  if ((rc = mdb_cursor_open(t, s->heads, &c)) != 0) return fm__store_err(rc);
  for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    uint64_t cur, size;
    uint32_t missing;
    uint8_t key[40];
    MDB_val ek = {sizeof key, key}, ev;
    if (k.mv_size != FM_KEY_LEN || v.mv_size != FM__HEAD_LEN) continue;
    if ((rc = cursor_get(s, t, out->sink, k.mv_data, &cur)) != 0) break;
    if (fm__be64_get(v.mv_data) <= cur) continue;
    fm__store_entry_key(key, k.mv_data, cur + 1);
    if (mdb_get(t, s->entries, &ek, &ev) != 0 || !scan_of(s, t, &ev, &size, &missing) ||
        !missing)
      continue;
    if (!out->scans_waiting++) {
      memcpy(out->scan_author, k.mv_data, FM_KEY_LEN);
      out->scan_seq = cur + 1;
      out->scan_missing = missing;
    }
  }
  mdb_cursor_close(c);
  return rc == MDB_NOTFOUND ? 0 : fm__store_err(rc);
}

static int placeholders_txn(fm_store *s, MDB_txn *t, const uint8_t sink[SID], uint64_t *out);

static int one_status(fm_store *s, MDB_txn *t, const uint8_t sink[SID], fm_fwd_status *out) {
  uint8_t kb[SID + 41];
  MDB_val k, v;
  int rc = state_get(s, t, sink, out);
  if (rc) return rc;
  memcpy(out->sink, sink, SID);
  k = fkey(kb, sink, 'b', NULL, 0);
  out->in_flight = mdb_get(t, s->forward, &k, &v) == 0;
  if ((rc = scans_waiting_txn(s, t, out)) != 0) return rc;
  if ((rc = placeholders_txn(s, t, sink, &out->placeholders)) != 0) return rc;
  k = fkey(kb, sink, 'r', NULL, 0);
  if ((rc = get_u64(s, t, &k, &out->corrected)) != 0) return fm__store_err(rc);
  return pending_txn(s, t, sink, &out->pending);
}

int fm_forward_each_status(fm_store *s, int (*cb)(void *ctx, const fm_fwd_status *st),
                           void *ctx) {
  MDB_txn *t;
  MDB_cursor *c;
  uint8_t sink[SID];
  fm_fwd_status st;
  int rc, rv = 0;
  if (!s->gw_tables) return 0;
  if ((rv = fm__store_read_begin(s, &t)) < 0) return rv;
  if ((rc = mdb_cursor_open(t, s->forward, &c)) != 0) {
    mdb_txn_abort(t);
    return fm__store_err(rc);
  }
  for (int first = 1; rv == 0 && (rc = next_sink(s, t, c, sink, first)) == 0; first = 0) {
    int r = one_status(s, t, sink, &st);
    if (r == FM_ERR_NOTFOUND) continue;
    if (r) {
      rc = r;
      break;
    }
    rv = cb(ctx, &st);
  }
  mdb_cursor_close(c);
  mdb_txn_abort(t);
  if (rv) return rv;
  return rc == MDB_NOTFOUND ? 0 : fm__store_err(rc);
}

/* ---- corrections ----------------------------------------------------------------------------- */

/* Walks |sink|'s 'p' keys in key order: |cb| gets the author and seq of
 * each, until it returns non-zero (returned). */
static int each_placeholder(fm_store *s, MDB_txn *t, const uint8_t sink[SID],
                            int (*cb)(void *ctx, const uint8_t *author, uint64_t seq,
                                      const MDB_val *v),
                            void *ctx) {
  uint8_t kb[SID + 41];
  MDB_cursor *c;
  MDB_val k = fkey(kb, sink, 'p', NULL, 0), v;
  int rc, rv = 0;
  if ((rc = mdb_cursor_open(t, s->forward, &c)) != 0) return fm__store_err(rc);
  for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0 && rv == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    if (k.mv_size < SID + 1 || memcmp(k.mv_data, kb, SID + 1)) break;
    if (k.mv_size != SID + 1 + FM_KEY_LEN + 8) {
      rc = FM_ERR_CORRUPT;
      break;
    }
    const uint8_t *a = (const uint8_t *)k.mv_data + SID + 1;
    rv = cb(ctx, a, fm__be64_get(a + FM_KEY_LEN), &v);
  }
  mdb_cursor_close(c);
  if (rv) return rv;
  return rc == 0 || rc == MDB_NOTFOUND ? 0 : fm__store_err(rc);
}

static int count_one(void *ctx, const uint8_t *author, uint64_t seq, const MDB_val *v) {
  (void)author;
  (void)seq;
  (void)v;
  (*(uint64_t *)ctx)++;
  return 0;
}

static int placeholders_txn(fm_store *s, MDB_txn *t, const uint8_t sink[SID], uint64_t *out) {
  *out = 0;
  return each_placeholder(s, t, sink, count_one, out);
}

int fm_forward_placeholders(fm_store *s, const uint8_t sink[SID], uint64_t *out) {
  MDB_txn *t;
  int rv;
  *out = 0;
  if (!s->gw_tables) return 0;
  if ((rv = fm__store_read_begin(s, &t)) < 0) return rv;
  rv = placeholders_txn(s, t, sink, out);
  mdb_txn_abort(t);
  return rv;
}

typedef struct resend_ctx {
  fm_store *s;
  MDB_txn *t;
  loader L;
  uint32_t max;
  /* Keys of entries gone from the log, to forget after the walk. */
  uint8_t (*gone)[FM_KEY_LEN + 8];
  size_t ngone, gone_cap;
} resend_ctx;

static int resend_one(void *ctx, const uint8_t *author, uint64_t seq, const MDB_val *pv) {
  resend_ctx *rc_ = ctx;
  uint8_t key[40];
  MDB_val k = {sizeof key, key}, v;
  int rc;
  if (rc_->L.b->n >= rc_->max) return 1;
  fm__store_entry_key(key, author, seq);
  rc = mdb_get(rc_->t, rc_->s->entries, &k, &v);
  if (rc == MDB_NOTFOUND) {
    if ((rc = grow((void **)&rc_->gone, rc_->ngone, &rc_->gone_cap, sizeof *rc_->gone)) < 0)
      return rc;
    memcpy(rc_->gone[rc_->ngone], author, FM_KEY_LEN);
    fm__be64_put(rc_->gone[rc_->ngone] + FM_KEY_LEN, seq);
    rc_->ngone++;
    return 0;
  }
  if (rc) return fm__store_err(rc);
  /* The batch's time: the latest first delivery among its entries, so the
   * same correction is named the same way however often it is built. */
  if (pv->mv_size == 8 && (fm_time)fm__be64_get(pv->mv_data) > rc_->L.b->created)
    rc_->L.b->created = (fm_time)fm__be64_get(pv->mv_data);
  return add_item(&rc_->L, &v, seq, author);
}

static void resend_id(fm_fwd_batch *b) {
  crypto_generichash_state h;
  crypto_generichash_init(&h, NULL, 0, FM_RECEIPT_BATCH_LEN);
  crypto_generichash_update(&h, (const uint8_t *)"fieldmesh resent", 16);
  crypto_generichash_update(&h, b->sink, SID);
  for (size_t i = 0; i < b->n; i++) crypto_generichash_update(&h, b->items[i].id, FM_ID_LEN);
  crypto_generichash_final(&h, b->id, FM_RECEIPT_BATCH_LEN);
}

typedef struct resend_next_ctx {
  const uint8_t *sink;
  uint32_t max;
  fm_fwd_batch *b;
} resend_next_ctx;

static int do_resend_next(fm_store *s, MDB_txn *t, void *ctx) {
  resend_next_ctx *nc = ctx;
  resend_ctx rc_;
  int rc;
  batch_reset(nc->b, nc->sink);
  memset(&rc_, 0, sizeof rc_);
  rc_.s = s;
  rc_.t = t;
  rc_.L.b = nc->b;
  rc_.max = nc->max;
  rc = each_placeholder(s, t, nc->sink, resend_one, &rc_);
  if (rc == 1) rc = 0;
  for (size_t i = 0; rc == 0 && i < rc_.ngone; i++) {
    uint8_t kb[SID + 41];
    MDB_val k = fkey(kb, nc->sink, 'p', rc_.gone[i], fm__be64_get(rc_.gone[i] + FM_KEY_LEN));
    rc = fm__store_err(mdb_del(t, s->forward, &k, NULL));
  }
  free(rc_.gone);
  if (rc == 0) rc = load_records(s, t, &rc_.L);
  if (rc == 0) rc = fm_buf_error(&nc->b->mem);
  if (rc == 0) {
    fix_pointers(nc->b);
    nc->b->resent = 1;
    resend_id(nc->b);
  }
  return rc;
}

int fm_forward_resend_next(fm_store *s, const uint8_t sink[SID], uint32_t max, fm_fwd_batch *out) {
  resend_next_ctx nc = {sink, max == 0 || max > FM_FWD_BATCH_MAX ? FM_FWD_BATCH_MAX : max, out};
  if (!s->gw_tables) {
    batch_reset(out, sink);
    return 0;
  }
  int rv = fm__store_write(s, do_resend_next, &nc);
  if (rv < 0) batch_reset(out, sink);
  return rv;
}

typedef struct resend_done_ctx {
  const fm_fwd_batch *b;
  const uint8_t *accepted;
} resend_done_ctx;

static int do_resend_done(fm_store *s, MDB_txn *t, void *ctx) {
  resend_done_ctx *dc = ctx;
  const fm_fwd_batch *b = dc->b;
  uint8_t kb[SID + 41], be[8];
  uint64_t done = 0, total;
  MDB_val k;
  int rc;
  for (size_t i = 0; i < b->n; i++) {
    if (dc->accepted && !dc->accepted[i]) continue;
    k = fkey(kb, b->sink, 'p', b->items[i].author, b->items[i].seq);
    rc = mdb_del(t, s->forward, &k, NULL);
    if (rc == MDB_NOTFOUND) continue;   /* corrected already: counted then */
    if (rc) return fm__store_err(rc);
    done++;
  }
  if (!done) return 0;
  k = fkey(kb, b->sink, 'r', NULL, 0);
  if ((rc = get_u64(s, t, &k, &total)) != 0) return fm__store_err(rc);
  fm__be64_put(be, total + done);
  MDB_val v = {8, be};
  return fm__store_err(mdb_put(t, s->forward, &k, &v, 0));
}

int fm_forward_resend_done(fm_store *s, const fm_fwd_batch *b, const uint8_t *accepted) {
  resend_done_ctx dc = {b, accepted};
  if (!s->gw_tables) return -EROFS;
  return fm__store_write(s, do_resend_done, &dc);
}
