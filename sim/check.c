/* The invariant checker.  It reads the stores through the public API and
 * compares them with the ledger; nothing here trusts the driver's counts
 * except the hostile-session tallies, which only the network can see. */
#include "check.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fieldmesh/blob_store.h"
#include "fieldmesh/copies.h"
#include "fieldmesh/dirs.h"
#include "fieldmesh/entry.h"
#include "fieldmesh/error.h"

/* ---- findings ------------------------------------------------------------------------- */

__attribute__((format(printf, 3, 4))) static void add_finding(sim_check_log *log, int code, const char *fmt, ...) {
  if (log->n == log->cap) {
    size_t cap = log->cap ? log->cap * 2 : 8;
    sim_finding *f = realloc(log->f, cap * sizeof *f);
    if (!f) return;
    log->f = f;
    log->cap = cap;
  }
  sim_finding *f = &log->f[log->n++];
  va_list ap;
  va_start(ap, fmt);
  f->code = code;
  vsnprintf(f->detail, sizeof f->detail, fmt, ap);
  va_end(ap);
}

void sim_check_log_free(sim_check_log *log) {
  free(log->f);
  memset(log, 0, sizeof *log);
}

void sim_check_restart(sim_check_log *log, const char *node, fm_store *s, uint64_t before,
                       const char *scratch) {
  fm_store_stats st;
  char err[300];
  log->restarts++;
  if (fm_store_stats_get(s, &st) < 0 || st.entries < before)
    add_finding(log, SIM_INV_RESTART, "node %s held %llu entries before its crash and %llu after",
                node, (unsigned long long)before, (unsigned long long)st.entries);
  if (fm_store_verify(s, scratch, err, sizeof err) < 0)
    add_finding(log, SIM_INV_VERIFY, "node %s after its restart: %s", node, err);
}

/* The first failure of an invariant is the one reported; the rest count. */
__attribute__((format(printf, 2, 3))) static void fail(sim_check_item *it, const char *fmt, ...) {
  it->ok = 0;
  if (it->failures++) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(it->detail, sizeof it->detail, fmt, ap);
  va_end(ap);
}

static void author_name(const sim_check_in *in, size_t a, char *out, size_t cap) {
  int node = in->ledger->a[a].node;
  if (node < 0) snprintf(out, cap, "the authority");
  else snprintf(out, cap, "%s (%s)", in->nodes[node].id, in->nodes[node].name);
}

static void hex8(const uint8_t *p, char *out) { fm_hex(p, 8, out); }

/* ---- reading one log ------------------------------------------------------------------- */

/* An entry of the ledger as the checker first found it in a store: its
 * bytes hashed to the ledger's id, decoded and verified.  A byte-identical
 * copy in another store needs none of that again, only its place checked. */
typedef struct checked_copy {
  uint8_t *bytes;               /* NULL until checked once */
  size_t len;
  uint8_t prev[FM_ID_LEN];
} checked_copy;

typedef struct scan {
  const sim_check_in *in;
  size_t node;
  uint64_t *seq;                /* per author: entries held */
  uint8_t **verified;           /* per author and seq: signature checked once */
  checked_copy **known;         /* per author and seq: the bytes checked once */
  int cur;                      /* the author being read, -1 none */
  uint8_t cur_id[FM_ID_LEN];
  sim_check_item *valid, *revoked, *hostile;
  uint64_t entries;
} scan;

static int verify_known(scan *sc, size_t a, const fm_entry *e) {
  uint8_t *v = &sc->verified[a][e->seq - 1];
  if (*v) return 0;
  *v = 1;
  int rv = fm_entry_verify(e);
  checked_copy *k = &sc->known[a][e->seq - 1];
  if (rv == 0 && (k->bytes = malloc(e->len))) {
    memcpy(k->bytes, e->bytes, e->len);
    k->len = e->len;
    memcpy(k->prev, e->prev, FM_ID_LEN);
  }
  return rv;
}

/* What depends on where an entry is held, not on its bytes. */
static void check_place(scan *sc, size_t a, uint64_t seq) {
  const sim_author *au = &sc->in->ledger->a[a];
  const sim_check_node *nd = &sc->in->nodes[sc->node];
  char who[200];
  /* A revoked laptop never hears of its revocation (no one lets it in):
   * its own log is not the mesh's concern, everyone else's is. */
  if (seq > au->revoked_after && nd->author != a) {
    author_name(sc->in, a, who, sizeof who);
    fail(sc->revoked, "node %s holds entry %s#%llu, past the revocation cut-off %llu", nd->id,
         who, (unsigned long long)seq, (unsigned long long)au->revoked_after);
  }
  if (au->node >= 0 && sc->in->nodes[au->node].garbage && nd->honest) {
    author_name(sc->in, a, who, sizeof who);
    fail(sc->hostile, "node %s holds entry %s#%llu of a hostile node", nd->id, who,
         (unsigned long long)seq);
  }
}

static void check_entry(scan *sc, size_t a, const fm_entry *e, const uint8_t id[FM_ID_LEN]) {
  const sim_author *au = &sc->in->ledger->a[a];
  const sim_check_node *nd = &sc->in->nodes[sc->node];
  char who[200], hx[17];
  author_name(sc->in, a, who, sizeof who);
  int known = e->seq <= au->n && !memcmp(au->e[e->seq - 1].id, id, FM_ID_LEN);
  int contested = au->fork_base != UINT64_MAX && e->seq > au->fork_base;
  if (!known && !contested && e->seq <= au->n) {
    hex8(id, hx);
    fail(sc->valid, "node %s holds entry %s#%llu (id %s...) that its author never wrote", nd->id,
         who, (unsigned long long)e->seq, hx);
  } else if (known ? verify_known(sc, a, e) < 0 : fm_entry_verify(e) < 0) {
    fail(sc->valid, "node %s holds entry %s#%llu with a bad signature", nd->id, who,
         (unsigned long long)e->seq);
  }
  check_place(sc, a, e->seq);
}

/* Logs come author by author, each in seq order: the chain. */
static void check_chain(scan *sc, int a, uint64_t seq, int has_prev, const uint8_t *prev) {
  int first = a != sc->cur;
  if ((first && (seq != 1 || has_prev)) ||
      (!first && (seq != sc->seq[a] + 1 || !has_prev || memcmp(prev, sc->cur_id, FM_ID_LEN)))) {
    char who[200];
    author_name(sc->in, (size_t)a, who, sizeof who);
    fail(sc->valid, "node %s: the log of %s breaks at seq %llu", sc->in->nodes[sc->node].id,
         who, (unsigned long long)seq);
  }
}

static void advance(scan *sc, int a, uint64_t seq, const uint8_t id[FM_ID_LEN]) {
  sc->cur = a;
  memcpy(sc->cur_id, id, FM_ID_LEN);
  sc->seq[a] = seq;
}

/* An entry byte for byte the same as one of the ledger's already checked
 * in full: only its place is checked.  1 when it was, 0 for the full way.
 * The author and seq are read from the first fields (entry.h) to find the
 * copy to compare with; the comparison is over every byte. */
static int scan_seen(scan *sc, const uint8_t *p, size_t len) {
  fm_rd c;
  uint32_t n;
  uint64_t version, seq;
  uint8_t author[FM_KEY_LEN];
  fm_rd_init(&c, p, len, 0);
  if (fm_rd_array(&c, &n) < 0 || n != 7 || fm_rd_uint(&c, &version) < 0 ||
      fm_rd_bin_fixed(&c, author, FM_KEY_LEN) < 0 || fm_rd_uint(&c, &seq) < 0)
    return 0;
  int a = sim_ledger_find(sc->in->ledger, author);
  if (a < 0 || seq == 0 || seq > sc->in->ledger->a[a].n) return 0;
  const checked_copy *k = &sc->known[a][seq - 1];
  if (!k->bytes || k->len != len || memcmp(k->bytes, p, len)) return 0;
  check_chain(sc, a, seq, seq > 1, k->prev);
  check_place(sc, (size_t)a, seq);
  advance(sc, a, seq, sc->in->ledger->a[a].e[seq - 1].id);
  return 1;
}

static int scan_cb(void *ctx, const uint8_t *p, size_t len) {
  scan *sc = ctx;
  const sim_check_node *nd = &sc->in->nodes[sc->node];
  uint8_t id[FM_ID_LEN];
  fm_entry e;
  sc->entries++;
  if (scan_seen(sc, p, len)) return 0;
  if (fm_entry_decode(p, len, NULL, &e) < 0) {
    fail(sc->valid, "node %s holds an entry of %zu bytes that does not decode", nd->id, len);
    return 0;
  }
  int a = sim_ledger_find(sc->in->ledger, e.author);
  if (a < 0) {
    char hx[17];
    hex8(e.author, hx);
    fail(sc->valid, "node %s holds an entry by %s..., a key the commune never enrolled", nd->id, hx);
    return 0;
  }
  check_chain(sc, a, e.seq, e.has_prev, e.prev);
  fm_entry_id(p, len, id);
  check_entry(sc, (size_t)a, &e, id);
  advance(sc, a, e.seq, id);
  return 0;
}

/* ---- what each node must hold ------------------------------------------------------------- */

static void check_holdings(const sim_check_in *in, size_t node, const uint64_t *seq,
                           sim_check_item *it) {
  const sim_ledger *l = in->ledger;
  for (size_t a = 0; a < l->n; a++) {
    const sim_author *au = &l->a[a];
    if (au->node == -2 || seq[a] >= au->expect) continue;
    const sim_lentry *miss = &au->e[seq[a]];
    char who[200], hx[17];
    author_name(in, a, who, sizeof who);
    hex8(miss->id, hx);
    fail(it, "node %s (%s) lacks entry %s#%llu (id %s..., a %s written %.1f h before the end)",
         in->nodes[node].id, in->nodes[node].name, who, (unsigned long long)(seq[a] + 1), hx,
         sim_kind_name((sim_kind)miss->kind), (double)(in->now - miss->created) / 3600000.0);
    return;
  }
}

static int scan_node(const sim_check_in *in, size_t node, scan *sc, sim_check_report *r) {
  sc->node = node;
  sc->cur = -1;
  memset(sc->seq, 0, in->ledger->n * sizeof *sc->seq);
  int rv = fm_store_each_missing(in->nodes[node].store, NULL, scan_cb, sc);
  if (rv < 0) return rv;
  if (in->nodes[node].honest || (int)node == in->gateway)
    check_holdings(in, node, sc->seq, &r->items[(int)node == in->gateway ? 0 : 1]);
  return 0;
}

static int check_views(const sim_check_in *in, sim_check_item *it, uint8_t gw[32]) {
  char a[17], b[17];
  int rv = fm_store_view_digest(in->nodes[in->gateway].store, gw);
  if (rv < 0) return rv;
  for (size_t i = 0; i < in->nnodes; i++) {
    uint8_t d[32];
    if (!in->nodes[i].honest || !in->nodes[i].store) continue;
    if ((rv = fm_store_view_digest(in->nodes[i].store, d)) < 0) return rv;
    it->checked++;
    if (memcmp(d, gw, 32)) {
      hex8(d, a);
      hex8(gw, b);
      fail(it, "node %s (%s) has view digest %s..., the gateway %s...", in->nodes[i].id,
           in->nodes[i].name, a, b);
    }
  }
  return 0;
}

/* ---- views do not depend on arrival order ------------------------------------------------------ */

typedef struct gather {
  fm_slice *e;
  uint8_t **own;
  size_t n, cap;
  int rv;
} gather;

static int gather_cb(void *ctx, const uint8_t *p, size_t len) {
  gather *g = ctx;
  if (g->n == g->cap) {
    size_t cap = g->cap ? g->cap * 2 : 1024;
    fm_slice *e = realloc(g->e, cap * sizeof *e);
    uint8_t **own = e ? realloc(g->own, cap * sizeof *own) : NULL;
    if (e) g->e = e;
    if (!own) return g->rv = -ENOMEM;
    g->own = own;
    g->cap = cap;
  }
  if (!(g->own[g->n] = malloc(len))) return g->rv = -ENOMEM;
  memcpy(g->own[g->n], p, len);
  g->e[g->n].p = g->own[g->n];
  g->e[g->n].len = len;
  g->n++;
  return 0;
}

/* Feeds |g| to |s| author by author in reverse: the authority's log (and
 * with it every enrollment) comes last, so every device's entries are held
 * and then released, the opposite of what a session does. */
static int feed_reversed(fm_store *s, const gather *g, fm_time now) {
  size_t end = g->n;
  while (end > 0) {
    fm_entry last, e;
    size_t begin = end - 1;
    if (fm_entry_decode(g->e[begin].p, g->e[begin].len, NULL, &last) < 0) return FM_ERR_CORRUPT;
    while (begin > 0 && fm_entry_decode(g->e[begin - 1].p, g->e[begin - 1].len, NULL, &e) == 0 &&
           !memcmp(e.author, last.author, FM_KEY_LEN))
      begin--;
    for (size_t i = begin; i < end; i += 128) {
      fm_ingest_result res;
      size_t n = end - i < 128 ? end - i : 128;
      int rv = fm_store_ingest(s, g->e + i, n, now, &res, NULL);
      if (rv < 0) return rv;
    }
    end = begin;
  }
  return 0;
}

static int check_order(const sim_check_in *in, const uint8_t gw[32], sim_check_item *it) {
  gather g = {NULL, NULL, 0, 0, 0};
  fm_store *s = NULL;
  fm_store_opts o;
  fm_store_stats a, b;
  uint8_t d[32];
  char dir[600];
  memset(&o, 0, sizeof o);
  o.nosync = 1;
  o.verify = in->store_verify;
  o.verify_ctx = in->store_verify_ctx;
  snprintf(dir, sizeof dir, "%s/order-check", in->scratch);
  int rv = mkdir(dir, 0700) < 0 ? -errno : 0;
  if (rv == 0) rv = fm_store_each_missing(in->nodes[in->gateway].store, NULL, gather_cb, &g);
  if (rv == 0) rv = g.rv;
  if (rv == 0) rv = fm_store_open(dir, &o, &s);
  if (rv == 0) rv = fm_store_set_authority(s, in->authority, in->commune);
  if (rv == 0) rv = feed_reversed(s, &g, in->now);
  if (rv == 0) rv = fm_store_view_digest(s, d);
  if (rv == 0) rv = fm_store_stats_get(s, &a);
  if (rv == 0) rv = fm_store_stats_get(in->nodes[in->gateway].store, &b);
  if (rv == 0) {
    char x[17], y[17];
    it->checked = g.n;
    hex8(d, x);
    hex8(gw, y);
    if (a.entries != b.entries)
      fail(it, "the gateway's %llu entries fed in reverse order left %llu in the log",
           (unsigned long long)b.entries, (unsigned long long)a.entries);
    else if (memcmp(d, gw, 32))
      fail(it, "the gateway's entries fed in reverse order give view digest %s..., not %s...", x, y);
  }
  if (s) fm_store_close(s);
  fm_store_remove_dir(dir);
  for (size_t i = 0; i < g.n; i++) free(g.own[i]);
  free(g.own);
  free(g.e);
  return rv;
}

/* ---- forks, hostile nodes, restarts ---------------------------------------------------------------- */

typedef struct evidence {
  const uint8_t *author;
  uint64_t base;
  int found;
} evidence;

static int evidence_cb(void *ctx, const uint8_t author[FM_KEY_LEN], uint64_t seq, int reason,
                       fm_time when, const uint8_t *bytes, size_t len) {
  evidence *ev = ctx;
  (void)when, (void)bytes, (void)len;
  if (!memcmp(author, ev->author, FM_KEY_LEN) && seq > ev->base &&
      (reason == FM_ERR_FORK || reason == FM_ERR_BADPREV))
    ev->found = 1;
  return 0;
}

static int check_forks(const sim_check_in *in, sim_check_item *it) {
  const sim_ledger *l = in->ledger;
  for (size_t a = 0; a < l->n; a++) {
    if (l->a[a].fork_base == UINT64_MAX) continue;
    size_t nodes = 0, honest = 0;
    char who[200], where[200] = "";
    author_name(in, a, who, sizeof who);
    for (size_t i = 0; i < in->nnodes; i++) {
      evidence ev = {l->a[a].pk, l->a[a].fork_base, 0};
      if (!in->nodes[i].honest || !in->nodes[i].store) continue;
      honest++;
      int rv = fm_store_each_quarantined(in->nodes[i].store, evidence_cb, &ev);
      if (rv < 0) return rv;
      if (ev.found && nodes++ < 6) {
        if (*where) strncat(where, ", ", sizeof where - strlen(where) - 1);
        strncat(where, in->nodes[i].id, sizeof where - strlen(where) - 1);
      }
    }
    it->checked++;
    if (!nodes)
      fail(it, "the key of %s was copied and forked after seq %llu, and no honest node holds "
               "evidence of it", who, (unsigned long long)l->a[a].fork_base);
    else if (it->ok)
      snprintf(it->detail, sizeof it->detail, "fork of %.150s: evidence at %zu of %zu honest nodes (%.150s%s)",
               who, nodes, honest, where, nodes > 6 ? ", ..." : "");
  }
  return 0;
}

static void check_hostile(const sim_check_in *in, sim_check_item *it) {
  it->checked = in->hostile_sessions;
  if (in->hostile_dropped < in->hostile_sessions)
    fail(it, "%llu of %llu sessions with a hostile node were not dropped for breaking the protocol",
         (unsigned long long)(in->hostile_sessions - in->hostile_dropped),
         (unsigned long long)in->hostile_sessions);
  if (in->hostile_leaks)
    fail(it, "%llu sessions accepted entries from a hostile node", (unsigned long long)in->hostile_leaks);
  if (it->ok && in->hostile_sessions)
    snprintf(it->detail, sizeof it->detail, "%llu hostile sessions, all dropped",
             (unsigned long long)in->hostile_sessions);
}

static void log_findings(const sim_check_log *log, sim_check_item *it) {
  for (size_t i = 0; i < log->n; i++)
    if (log->f[i].code == it->code) fail(it, "%s", log->f[i].detail);
}

static int verify_stores(const sim_check_in *in, sim_check_item *it) {
  for (size_t i = 0; i < in->nnodes; i++) {
    char err[300], dir[600];
    if (!in->nodes[i].store || ((int)i != in->gateway && !in->verify_all)) continue;
    snprintf(dir, sizeof dir, "%s/verify-end-%zu", in->scratch, i);
    it->checked++;
    int rv = fm_store_verify(in->nodes[i].store, dir, err, sizeof err);
    if (rv == FM_ERR_CORRUPT) fail(it, "node %s: %s", in->nodes[i].id, err);
    else if (rv < 0) return rv;
  }
  return 0;
}

/* ---- copies: what a node counts as held elsewhere is there --------------------------------------- */

typedef struct copies_scan {
  const sim_check_in *in;
  size_t node;
  const uint8_t *author;
  sim_check_item *it;
  int err;
} copies_scan;

static int same_entry(fm_store *a, fm_store *b, const uint8_t author[FM_KEY_LEN], uint64_t seq) {
  uint8_t *x = NULL, *y = NULL;
  size_t xn = 0, yn = 0;
  int same = fm_store_entry_copy(a, author, seq, &x, &xn) == 0 &&
             fm_store_entry_copy(b, author, seq, &y, &yn) == 0 && xn == yn && !memcmp(x, y, xn);
  free(x);
  free(y);
  return same;
}

/* One row of node |cs->node|'s copies table: |device| holds its entries
 * 1 .. |seq|.  Some node carrying that key (a copied key is carried by
 * two) must hold the very entry |seq|; a node that is down is not asked. */
static int copy_row(void *ctx, const uint8_t device[FM_KEY_LEN], uint64_t seq, fm_time when) {
  copies_scan *cs = ctx;
  const sim_check_in *in = cs->in;
  const char *who = NULL;
  fm_enrollment en;
  uint64_t cut = UINT64_MAX;
  (void)when;
  /* Entries past the key's revocation (as the gateway, the authority's
   * holder, knows it) are refused everywhere, purged from the logs that
   * held them: copies of those mean nothing any more. */
  fm_store_enrollment(in->nodes[in->gateway].store, cs->author, &en, &cut, NULL, NULL);
  if (seq > cut) seq = cut;
  if (seq == 0) return 0;
  for (size_t j = 0; j < in->nnodes; j++) {
    const sim_check_node *d = &in->nodes[j];
    if (!d->store || j == cs->node || memcmp(in->ledger->a[d->author].pk, device, FM_KEY_LEN))
      continue;
    if (same_entry(in->nodes[cs->node].store, d->store, cs->author, seq)) {
      cs->it->checked++;
      return 0;
    }
    who = d->id;
  }
  if (!who) return 0;
  cs->it->checked++;
  fail(cs->it, "node %s counts its entries 1 .. %llu as held by %s, which does not hold "
               "entry %llu as it is", in->nodes[cs->node].id, (unsigned long long)seq, who,
       (unsigned long long)seq);
  return 0;
}

static int check_copies(const sim_check_in *in, sim_check_item *it) {
  for (size_t i = 0; i < in->nnodes; i++) {
    if (!in->nodes[i].store) continue;
    copies_scan cs = {in, i, in->ledger->a[in->nodes[i].author].pk, it, 0};
    int rv = fm_store_each_holder(in->nodes[i].store, cs.author, copy_row, &cs);
    if (rv < 0) return rv;
  }
  return 0;
}

/* ---- causality before clocks ---------------------------------------------------------------------- */

typedef struct shown {
  int found;
  fm_stamp status, ref;
} shown;

static int shown_cb(void *ctx, const char *id, size_t n, const uint8_t *rec, size_t len) {
  shown *s = ctx;
  fm_dossier_view v;
  (void)id;
  (void)n;
  if (fm_dossier_view_decode(rec, len, &v) < 0) return 0;
  s->found = 1;
  s->status = v.status_stamp;
  s->ref = v.ref_stamp;
  return 0;
}

static int is_seen(const fm_stamp *s, const sim_correction *c) {
  return s->set && s->seq == c->seen_seq && !memcmp(s->author, c->seen_author, FM_KEY_LEN);
}

/* A status written after seeing another of the same rank replaced it on
 * every honest node: what it saw is neither the status nor the reference
 * shown, whatever the writers' clocks said. */
static int check_causal(const sim_check_in *in, sim_check_item *it) {
  for (size_t k = 0; k < in->ncorr; k++) {
    const sim_correction *c = &in->corr[k];
    if (c->seq > in->ledger->a[c->author].expect) continue; /* purged: revoked, forked */
    for (size_t i = 0; i < in->nnodes; i++) {
      const sim_check_node *d = &in->nodes[i];
      shown s;
      if (!d->store || !d->honest) continue;
      memset(&s, 0, sizeof s);
      int rv = fm_store_find_record(d->store, FM_VIEW_DOSSIER, c->id, shown_cb, &s);
      if (rv < 0 && rv != FM_ERR_NOTFOUND) return rv;
      it->checked++;
      if (s.found && (is_seen(&s.status, c) || is_seen(&s.ref, c)))
        fail(it, "node %s shows dossier %s as status entry %llu of its author left it, although "
                 "entry %llu of %s was written after seeing it", d->id, c->id,
             (unsigned long long)c->seen_seq, (unsigned long long)c->seq,
             in->nodes[in->ledger->a[c->author].node].id);
    }
  }
  return 0;
}

/* ---- everything ------------------------------------------------------------------------------------ */

static void items_init(sim_check_report *r) {
  static const struct { const char *name; int code; } inv[SIM_CHECKS] = {
      {"reached-gateway", SIM_INV_REACHED_GATEWAY}, {"same-entries", SIM_INV_SAME_ENTRIES},
      {"same-views", SIM_INV_SAME_VIEWS},           {"views-order-free", SIM_INV_ORDER_FREE},
      {"valid-entries", SIM_INV_VALID},             {"no-revoked", SIM_INV_NO_REVOKED},
      {"forks-detected", SIM_INV_FORKS},            {"hostile-contained", SIM_INV_HOSTILE},
      {"restart-durable", SIM_INV_RESTART},         {"store-verify", SIM_INV_VERIFY},
      {"copies-true", SIM_INV_COPIES},             {"causal-order", SIM_INV_CAUSAL},
      {"restored-kept", SIM_INV_RESTORED},         {"scans-whole", SIM_INV_SCANS}};
  memset(r, 0, sizeof *r);
  for (int i = 0; i < SIM_CHECKS; i++) {
    r->items[i].name = inv[i].name;
    r->items[i].code = inv[i].code;
    r->items[i].ok = 1;
  }
  r->n = SIM_CHECKS;
}

/* ---- a record written after a restore is never lost ------------------------------------------ */

typedef struct rewritten {
  uint64_t seq;             /* the seq it had on the restored branch */
  int found;
} rewritten;

static int rewritten_cb(void *ctx, const uint8_t *p, size_t len) {
  rewritten *rw = ctx;
  fm_entry e;
  uint64_t from;
  if (fm_entry_decode(p, len, NULL, &e) == 0 &&
      fm_body_uint(e.body, e.body_len, "restored_from", &from) == 0 && from == rw->seq)
    rw->found = 1;
  return rw->found;
}

/* Every record written on a restored branch is in the gateway's log again,
 * marked with the seq it first had. */
static int check_restored(const sim_check_in *in, sim_check_item *it) {
  const sim_ledger *l = in->ledger;
  char who[200];
  for (size_t i = 0; i < l->nr; i++) {
    rewritten rw = {l->r[i].seq, 0};
    int rv = fm_store_read_after(in->nodes[in->gateway].store, l->a[l->r[i].author].pk, 0, 0,
                                 rewritten_cb, &rw);
    if (rv < 0) return rv;
    it->checked++;
    if (rw.found) continue;
    author_name(in, l->r[i].author, who, sizeof who);
    fail(it, "the record %s wrote as seq %llu after a restore never reached the gateway", who,
         (unsigned long long)l->r[i].seq);
  }
  return 0;
}

/* ---- scans travel with their entries -------------------------------------------------------------- */

typedef struct entry_id {
  uint8_t id[FM_ID_LEN];
  int found;
} entry_id;

static int entry_id_cb(void *ctx, const uint8_t *p, size_t len) {
  entry_id *e = ctx;
  fm_entry_id(p, len, e->id);
  e->found = 1;
  return 1;
}

/* Every honest node that holds a scan's `dossier.attach` entry -- as its
 * author wrote it -- holds every chunk it names (every node fetches every
 * chunk: docs/protocol.md, section 10), and the gateway holds every scan
 * whose entry is expected there. */
static int check_scans(const sim_check_in *in, sim_check_item *it) {
  const sim_ledger *l = in->ledger;
  char who[200];
  for (size_t k = 0; k < l->nscans; k++) {
    const sim_lscan *s = &l->scans[k];
    const sim_author *a = &l->a[s->author];
    for (size_t i = 0; i < in->nnodes; i++) {
      const sim_check_node *d = &in->nodes[i];
      entry_id e = {{0}, 0};
      size_t held;
      if (!d->store || (!d->honest && (int)i != in->gateway)) continue;
      int rv = fm_store_read_after(d->store, a->pk, s->seq - 1, 1, entry_id_cb, &e);
      if (rv < 0) return rv;
      int expected = (int)i == in->gateway && s->seq <= a->expect;
      if (!expected && (!e.found || memcmp(e.id, a->e[s->seq - 1].id, FM_ID_LEN))) continue;
      if ((rv = fm_store_blob_count(d->store, s->ids, s->nchunks, &held)) < 0) return rv;
      it->checked++;
      if (held == s->nchunks) continue;
      author_name(in, s->author, who, sizeof who);
      fail(it, "node %s holds %zu of the %zu chunks of the scan %s attached as entry %llu", d->id,
           held, s->nchunks, who, (unsigned long long)s->seq);
    }
  }
  return 0;
}

static int scan_all(const sim_check_in *in, sim_check_report *r) {
  const sim_ledger *l = in->ledger;
  scan sc;
  memset(&sc, 0, sizeof sc);
  sc.in = in;
  sc.valid = &r->items[4];
  sc.revoked = &r->items[5];
  sc.hostile = &r->items[7];
  int rv = -ENOMEM;
  if (!(sc.seq = calloc(l->n + 1, sizeof *sc.seq)) ||
      !(sc.verified = calloc(l->n + 1, sizeof *sc.verified)) ||
      !(sc.known = calloc(l->n + 1, sizeof *sc.known)))
    goto out;
  for (size_t a = 0; a < l->n; a++)
    if (!(sc.verified[a] = calloc(l->a[a].n + 1, 1)) ||
        !(sc.known[a] = calloc(l->a[a].n + 1, sizeof **sc.known)))
      goto out;
  rv = 0;
  for (size_t i = 0; i < in->nnodes && rv == 0; i++) {
    if (!in->nodes[i].store) continue;
    rv = scan_node(in, i, &sc, r);
    r->items[(int)i == in->gateway ? 0 : 1].checked++;
  }
  r->items[4].checked = r->items[5].checked = sc.entries;
out:
  for (size_t a = 0; sc.verified && a < l->n; a++) free(sc.verified[a]);
  free(sc.verified);
  for (size_t a = 0; sc.known && a < l->n; a++) {
    for (uint64_t q = 0; sc.known[a] && q < l->a[a].n; q++) free(sc.known[a][q].bytes);
    free(sc.known[a]);
  }
  free(sc.known);
  free(sc.seq);
  return rv;
}

int sim_check_run(const sim_check_in *in, const sim_check_log *log, sim_check_report *r) {
  uint8_t gw[32];
  items_init(r);
  if (!in->nodes[in->gateway].store) {
    fail(&r->items[0], "the gateway is down at the end of the run");
    r->exit_code = SIM_INV_REACHED_GATEWAY;
    return 0;
  }
  int rv = scan_all(in, r);
  if (rv == 0) rv = check_views(in, &r->items[2], gw);
  if (rv == 0) rv = check_order(in, gw, &r->items[3]);
  if (rv == 0) rv = check_forks(in, &r->items[6]);
  if (rv == 0) rv = check_copies(in, &r->items[10]);
  if (rv == 0) rv = check_causal(in, &r->items[11]);
  if (rv == 0) rv = check_restored(in, &r->items[12]);
  if (rv == 0) rv = check_scans(in, &r->items[13]);
  if (rv < 0) return rv;
  check_hostile(in, &r->items[7]);
  log_findings(log, &r->items[8]);
  log_findings(log, &r->items[9]);
  r->items[8].checked = log->restarts;
  if ((rv = verify_stores(in, &r->items[9])) < 0) return rv;
  r->items[9].checked += log->restarts;
  for (size_t i = 0; i < r->n; i++)
    if (!r->items[i].ok) {
      r->exit_code = r->items[i].code;
      break;
    }
  return 0;
}
