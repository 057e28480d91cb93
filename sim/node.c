#include "node.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "fieldmesh/blob_store.h"
#include "fieldmesh/error.h"
#include "net.h"
#include "scan.h"
#include "vcache.h"

/* ---- the session callbacks ------------------------------------------------------------ */

static int io_vector(void *ctx, fm_vector *out) {
  sim_node *n = ctx;
  return n->inner.vector(n->inner.ctx, out);
}

static int io_read_after(void *ctx, const uint8_t author[FM_KEY_LEN], uint64_t after,
                         size_t max_bytes, fm_entry_cb cb, void *cbctx) {
  sim_node *n = ctx;
  return n->inner.read_after(n->inner.ctx, author, after, max_bytes, cb, cbctx);
}

static int io_admit(void *ctx, const uint8_t node_id[FM_KEY_LEN], const uint8_t *cert,
                    size_t cert_len, fm_enrollment *who) {
  sim_node *n = ctx;
  return n->inner.admit(n->inner.ctx, node_id, cert, cert_len, who);
}

static void io_seen(void *ctx, const uint8_t author[FM_KEY_LEN], uint64_t seq) {
  sim_node *n = ctx;
  n->inner.seen(n->inner.ctx, author, seq);
}

static void io_held(void *ctx, const uint8_t device[FM_KEY_LEN], const uint8_t author[FM_KEY_LEN],
                    uint64_t seq, const uint8_t *head8) {
  sim_node *n = ctx;
  n->inner.held(n->inner.ctx, device, author, seq, head8);
}

static int io_cert_of(void *ctx, const uint8_t author[FM_KEY_LEN], fm_buf *out) {
  sim_node *n = ctx;
  return n->inner.cert_of(n->inner.ctx, author, out);
}

static int io_learn_cert(void *ctx, const uint8_t *cert, size_t len) {
  sim_node *n = ctx;
  return n->inner.learn_cert(n->inner.ctx, cert, len);
}

/* The author and seq of an accepted entry: the first fields of its
 * encoding (entry.h), read without decoding the whole entry again. */
static int entry_key(const fm_slice *e, uint8_t author[FM_KEY_LEN], uint64_t *seq) {
  fm_rd c;
  uint32_t n;
  uint64_t version;
  fm_rd_init(&c, e->p, e->len, 0);
  if (fm_rd_array(&c, &n) < 0 || n != 7 || fm_rd_uint(&c, &version) < 0 ||
      fm_rd_bin_fixed(&c, author, FM_KEY_LEN) < 0 || fm_rd_uint(&c, seq) < 0)
    return -1;
  return 0;
}

/* Updates what the metrics know this node holds after a batch.  When the
 * whole batch went in as sent, the entries themselves say; otherwise (or
 * when the authority spoke: a revocation purges) the store's vector does. */
static void after_batch(sim_world *w, sim_node *n, const fm_slice *e, size_t count,
                        const fm_ingest_result *res) {
  sim_metrics *m = &w->m;
  m->batches++;
  m->entries_in += count;
  m->entries_accepted += res->accepted + res->released;
  m->entries_dup += res->duplicate;
  m->entries_held += res->held;
  for (size_t i = 0; i < count; i++) m->entry_bytes_in += e[i].len;
  if (res->accepted + res->released == 0) return;
  int fast = res->accepted == count && res->released == 0;
  for (size_t i = 0; i < count && fast; i++) {
    uint8_t author[FM_KEY_LEN];
    uint64_t seq;
    int a = entry_key(&e[i], author, &seq) == 0 ? sim_ledger_find(&w->ledger, author) : -1;
    if (a <= 0) fast = 0; /* the authority (index 0), or a stranger */
    else sim_metrics_held(m, &w->ledger, n->idx, (size_t)a, seq, w->now);
  }
  if (!fast && sim_node_reload(w, n) < 0) sim_world_fatal(w, "reading a vector", -EIO);
}

#ifdef SIM_BREAK_DROP_BATCH
/* A deliberately broken build: one batch received by a member after the
 * first day is acknowledged but never stored, as a wrong merge or a lost
 * write would do.  The checker must catch it. */
static int break_drop(sim_world *w, sim_node *n) {
  if (w->broken || n->idx == w->sc->gateway || w->now < w->t0 + SIM_DAY_MS) return 0;
  w->broken = 1;
  fprintf(stderr, "fieldmesh-sim: SIM_BREAK_DROP_BATCH dropped a batch at node %s\n",
          n->spec->id);
  return 1;
}
#endif

static int io_ingest(void *ctx, const fm_slice *e, size_t count, fm_ingest_result *res,
                     fm_ingest_outcome *out) {
  sim_node *n = ctx;
#ifdef SIM_BREAK_DROP_BATCH
  if (break_drop(n->w, n)) {
    memset(res, 0, sizeof *res);
    res->accepted = (uint32_t)count;
    for (size_t i = 0; i < count; i++) out[i] = (fm_ingest_outcome){FM_IN_ACCEPTED, 0};
    return 0;
  }
#endif
  int rv = n->inner.ingest(n->inner.ctx, e, count, res, out);
  if (rv == 0) after_batch(n->w, n, e, count, res);
  return rv;
}

/* Presence notes and the clocks, as the daemon's: straight to fm_node. */
static int io_presence_each(void *ctx, int live, fm_presence_cb cb, void *cbctx) {
  sim_node *n = ctx;
  return n->inner.presence_each(n->inner.ctx, live, cb, cbctx);
}

static void io_presence_in(void *ctx, const fm_slice *notes, size_t count) {
  sim_node *n = ctx;
  n->inner.presence_in(n->inner.ctx, notes, count);
}

static fm_time io_wall(void *ctx) {
  sim_node *n = ctx;
  return n->inner.wall(n->inner.ctx);
}

static void io_peer_clock(void *ctx, const uint8_t peer[FM_KEY_LEN], int64_t ahead) {
  sim_node *n = ctx;
  n->inner.peer_clock(n->inner.ctx, peer, ahead);
}

/* Attachment chunks, as the daemon's; what a node takes in is counted,
 * and the gateway's scans are watched until each is whole there. */
static int io_blob_wanted(void *ctx, int (*cb)(void *cbctx, const uint8_t id[32]), void *cbctx) {
  sim_node *n = ctx;
  return n->inner.blob_wanted(n->inner.ctx, cb, cbctx);
}

static int io_blob_get(void *ctx, const uint8_t id[32], fm_buf *out) {
  sim_node *n = ctx;
  return n->inner.blob_get(n->inner.ctx, id, out);
}

static int io_blob_in(void *ctx, const uint8_t id[32], const uint8_t *chunk, size_t len) {
  sim_node *n = ctx;
  fm_slice c = {chunk, len};
  fm_blob_tally t;
  int rv = fm_store_blob_offer_checked(n->store, &c, id, &t);
  if (rv < 0) return rv;
  n->w->m.chunks_in++;
  n->w->m.chunk_bytes_in += len;
  if (t.kept && n->idx == n->w->sc->gateway) sim_scan_gateway_took(n->w, id);
  return 0;
}

static uint64_t io_presence_gen(void *ctx) {
  sim_node *n = ctx;
  return n->inner.presence_gen(n->inner.ctx);
}

static void io_blob_held(void *ctx, const uint8_t device[FM_KEY_LEN], const uint8_t id[32]) {
  sim_node *n = ctx;
  n->inner.blob_held(n->inner.ctx, device, id);
}

fm_session_io sim_node_io(sim_node *n) {
  fm_session_io io = {.ctx = n,
                      .vector = io_vector,
                      .read_after = io_read_after,
                      .admit = io_admit,
                      .ingest = io_ingest,
                      .seen = io_seen,
                      .held = io_held,
                      .cert_of = io_cert_of,
                      .learn_cert = io_learn_cert,
                      .presence_each = io_presence_each,
                      .presence_in = io_presence_in,
                      .presence_gen = io_presence_gen,
                      .wall = io_wall,
                      .peer_clock = io_peer_clock,
                      .blob_wanted = io_blob_wanted,
                      .blob_get = io_blob_get,
                      .blob_in = io_blob_in,
                      .blob_held = io_blob_held};
  return io;
}

/* Sessions run on the world's clock; the node's wall clock is off by its
 * skew (a clock fault). */
static fm_time node_wall(void *ctx) {
  sim_node *n = ctx;
  return sim_net_node_now(n->w, n);
}

/* fm_node tells us a session brought new entries: offer them to the rest
 * (and learn what a restored laptop wrote again at its head). */
static void on_new_entries(void *ctx, uint32_t accepted) {
  sim_node *n = ctx;
  (void)accepted;
  n->regrant_due = 1;
  int rv = sim_node_absorb(n->w, n);
  if (rv < 0) sim_world_fatal(n->w, "reading a restored laptop's log", rv);
  sim_net_notify(n->w, n);
}

/* ---- life cycle ----------------------------------------------------------------------- */

int sim_node_start(sim_world *w, sim_node *n) {
  fm_store_opts o;
  memset(&o, 0, sizeof o);
  o.nosync = 1;
  o.map_size = (size_t)16 << 20; /* grows when needed; keeps 140 maps small */
  o.verify = sim_vcache_verify;
  o.verify_ctx = w->vcache;
  int rv = fm_store_open(n->dir, &o, &n->store);
  if (rv < 0) return rv;
  if ((rv = fm_node_init(&n->fmn, n->store, &n->id)) < 0) {
    fm_store_close(n->store);
    n->store = NULL;
    return rv;
  }
  n->fmn.on_new_entries = on_new_entries;
  n->fmn.on_new_ctx = n;
  n->fmn.wall = node_wall;
  n->fmn.wall_ctx = n;
  /* What a daemon's note says of itself (daemon/node.c), of the same size. */
  n->fmn.presence.version = "fieldmesh 0.1.0";
  n->fmn.presence.free_kib = 50u << 20;
  n->inner = fm_node_io(&n->fmn);
  n->up = 1;
  return 0;
}

void sim_node_stop(sim_node *n) {
  fm_keyring_free(n->keys);
  n->keys = NULL;
  if (!n->store) return;
  fm_node_free(&n->fmn);
  fm_store_close(n->store);
  n->store = NULL;
  n->up = 0;
}

int sim_node_create(sim_world *w, sim_node *n, const uint8_t *cert, size_t cert_len) {
  fm_store_opts o;
  fm_store *s;
  memset(&o, 0, sizeof o);
  o.nosync = 1;
  snprintf(n->dir, sizeof n->dir, "%s/%03d-%s", w->root, n->idx, n->spec->id);
  if (mkdir(n->dir, 0700) < 0 && errno != EEXIST) return -errno;
  int rv = fm_store_open(n->dir, &o, &s);
  if (rv < 0) return rv;
  rv = fm_store_set_authority(s, w->authority.pk, w->sc->commune);
  if (rv == 0) rv = fm_store_set_self(s, n->id.pk);
  if (rv == 0 && cert) rv = fm_store_add_cert(s, cert, cert_len, w->now, NULL);
  fm_store_close(s);
  if (rv < 0) return rv;
  n->exists = 1;
  return sim_node_start(w, n);
}

int sim_node_reload(sim_world *w, sim_node *n) {
  fm_vector v;
  sim_ledger *l = &w->ledger;
  int rv = fm_store_vector(n->store, &v);
  if (rv < 0) return rv;
  for (size_t k = 0; k < l->n; k++) {
    if (l->a[k].node == -2) continue;
    sim_metrics_held(&w->m, l, n->idx, k, fm_vector_seq(&v, l->a[k].pk), w->now);
  }
  fm_vector_free(&v);
  return 0;
}

uint64_t sim_node_entries(sim_node *n) {
  fm_store_stats st;
  if (!n->store || fm_store_stats_get(n->store, &st) < 0) return 0;
  return st.entries;
}

/* ---- writing ---------------------------------------------------------------------------- */

static int size_cb(void *ctx, const uint8_t *p, size_t len) {
  (void)p;
  *(uint32_t *)ctx = (uint32_t)len;
  return 1;
}

static sim_kind kind_of(const fm_entry *e) {
  if (fm_entry_is(e, FM_KIND_VISIT)) return SIM_K_VISIT;
  if (fm_entry_is(e, FM_KIND_DOSSIER)) return SIM_K_DOSSIER;
  if (fm_entry_is(e, FM_KIND_DOSSIER_STATUS)) return SIM_K_STATUS;
  if (fm_entry_is(e, FM_KIND_SEAL_GRANT)) return SIM_K_GRANT;
  if (fm_entry_is(e, FM_KIND_DOSSIER_ATTACH)) return SIM_K_ATTACH;
  return SIM_K_VISIT;
}

typedef struct absorb {
  sim_world *w;
  sim_node *n;
  int rv;
} absorb;

static int absorb_cb(void *ctx, const uint8_t *p, size_t len) {
  absorb *ab = ctx;
  sim_world *w = ab->w;
  uint8_t id[FM_ID_LEN];
  uint64_t from;
  fm_entry e;
  if (fm_entry_decode(p, len, NULL, &e) < 0) return ab->rv = -EINVAL;
  fm_entry_id(p, len, id);
  sim_kind k = kind_of(&e);
  if ((ab->rv = sim_ledger_add(&w->ledger, ab->n->author, e.seq, id, w->now, (uint32_t)len, k)) < 0)
    return ab->rv;
  if (fm_body_uint(e.body, e.body_len, "restored_from", &from) == 0) w->m.rewritten++;
  w->m.created[k]++;
  w->m.created_bytes += len;
  sim_metrics_wrote(&w->m, &w->ledger, ab->n->idx, ab->n->author, e.seq, w->now);
  return 0;
}

static int id_cb(void *ctx, const uint8_t *p, size_t len) {
  fm_entry_id(p, len, ctx);
  return 1;
}

/* Whether the node's own log holds, at |seq|, the entry the ledger has
 * there: it follows the mesh's branch, not a restored one (seq 0: yes). */
static int on_ledger_branch(sim_world *w, sim_node *n, uint64_t seq) {
  const sim_author *a = &w->ledger.a[n->author];
  uint8_t id[FM_ID_LEN];
  if (seq == 0) return 1;
  if (seq > a->n || fm_store_read_after(n->store, n->id.pk, seq - 1, 1, id_cb, id) != 1) return 0;
  return memcmp(id, a->e[seq - 1].id, FM_ID_LEN) == 0;
}

int sim_node_absorb(sim_world *w, sim_node *n) {
  sim_author *a = &w->ledger.a[n->author];
  absorb ab = {w, n, 0};
  /* Only a laptop that was put back to an older copy writes entries of its
   * own without an append: the records of its lost branch, written again
   * once its log is the mesh's again. */
  if (!n->restored || !n->store || n->spec->twin_of >= 0 || a->fork_base != UINT64_MAX ||
      !on_ledger_branch(w, n, a->n))
    return 0;
  int rv = fm_store_read_after(n->store, n->id.pk, a->n, 0, absorb_cb, &ab);
  return rv < 0 ? rv : ab.rv;
}

static void record(sim_world *w, sim_node *n, size_t author, uint64_t seq,
                   const uint8_t id[FM_ID_LEN], uint32_t size, sim_kind k) {
  sim_author *a = &w->ledger.a[author];
  /* A laptop put back to an older copy writes under seqs its key used
   * already: the record must come back at the head later. */
  if (n->restored && n->spec->twin_of < 0 && a->fork_base == UINT64_MAX &&
      (seq <= a->n || !on_ledger_branch(w, n, a->n))) {
    if (sim_ledger_restored(&w->ledger, author, seq) < 0) sim_world_fatal(w, "out of memory", -ENOMEM);
    w->m.restored_writes++;
    return;
  }
  /* The append wrote the restored records again first: the ledger learns
   * them, and this entry, from the log. */
  if (seq > a->n + 1 && n->restored) {
    if (sim_node_absorb(w, n) < 0) sim_world_fatal(w, "reading a restored laptop's log", -EINVAL);
    if (seq <= a->n) return;
  }
  /* A twin's writes, and whatever the original writes once its key is
   * known to be copied, are contested: not part of the expected log. */
  if (n->spec->twin_of >= 0 || a->fork_base != UINT64_MAX || seq != a->n + 1) {
    a->twin_writes++;
    w->m.twin_writes++;
    sim_metrics_held(&w->m, &w->ledger, n->idx, author, seq, w->now);
    return;
  }
  if (sim_ledger_add(&w->ledger, author, seq, id, w->now, size, k) < 0) {
    sim_world_fatal(w, "recording a write", -ENOMEM);
    return;
  }
  w->m.created[k]++;
  /* Grants are the cost of sealing, not field work: not payload. */
  if (k >= SIM_K_VISIT && k != SIM_K_GRANT) w->m.created_bytes += size;
  sim_metrics_wrote(&w->m, &w->ledger, n->idx, author, seq, w->now);
}

int sim_node_append(sim_world *w, sim_node *n, const fm_identity *as, size_t author,
                    const char *kind, sim_kind k, const uint8_t *body, size_t len) {
  uint8_t id[FM_ID_LEN];
  uint64_t seq;
  uint32_t size = 0;
  int rv = fm_store_append(n->store, as, kind, body, len, sim_net_node_now(w, n), id, &seq);
  if (rv < 0) return rv;
  if ((rv = fm_store_read_after(n->store, as->pk, seq - 1, 1, size_cb, &size)) < 0) return rv;
  record(w, n, author, seq, id, size, k);
  sim_net_notify(w, n);
  return 0;
}
