/* Connections of the virtual network.  See net.h. */
#include "net.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fieldmesh/error.h"
#include "link.h"
#include "node.h"

fm_time sim_net_node_now(const sim_world *w, const sim_node *n) { return w->now + n->skew; }

static sim_conn *conn_get(sim_world *w, int slot, uint32_t gen) {
  if (slot < 0 || (size_t)slot >= w->nslots || w->gens[slot] != gen) return NULL;
  return w->slots[slot];
}

static int slot_new(sim_world *w) {
  for (size_t i = 0; i < w->nslots; i++)
    if (!w->slots[i]) return (int)i;
  size_t n = w->nslots ? w->nslots * 2 : 64;
  sim_conn **s = realloc(w->slots, n * sizeof *s);
  if (!s) return -ENOMEM;
  w->slots = s;
  uint32_t *g = realloc(w->gens, n * sizeof *g);
  if (!g) return -ENOMEM;
  w->gens = g;
  for (size_t i = w->nslots; i < n; i++) {
    w->slots[i] = NULL;
    w->gens[i] = 1;
  }
  int slot = (int)w->nslots;
  w->nslots = n;
  return slot;
}

static int node_add_conn(sim_node *n, sim_conn *c) {
  if (n->nconns == n->capconns) {
    size_t cap = n->capconns ? n->capconns * 2 : 8;
    sim_conn **p = realloc(n->conns, cap * sizeof *p);
    if (!p) return -ENOMEM;
    n->conns = p;
    n->capconns = cap;
  }
  n->conns[n->nconns++] = c;
  return 0;
}

static void node_drop_conn(sim_node *n, const sim_conn *c) {
  for (size_t i = 0; i < n->nconns; i++)
    if (n->conns[i] == c) {
      /* Keep the order: notify walks the list, and order is determinism. */
      memmove(&n->conns[i], &n->conns[i + 1], (n->nconns - i - 1) * sizeof *n->conns);
      n->nconns--;
      return;
    }
}

int sim_net_connected(const sim_world *w, int a, int b) {
  const sim_node *n = &w->nodes[a];
  for (size_t i = 0; i < n->nconns; i++)
    if (n->conns[i]->node[0] == b || n->conns[i]->node[1] == b) return 1;
  return 0;
}

static fm_session *session_for(sim_world *w, sim_node *n, const sim_link_spec *k,
                               int initiator) {
  fm_session_cfg cfg;
  fm_session *s;
  fm_node_session_cfg(&n->fmn, initiator, &cfg);
  cfg.io = sim_node_io(n);   /* fm_node_io wrapped with the world's accounting */
  cfg.rng.fill = sim_rng_fill;
  cfg.rng.ctx = &w->rng;
  cfg.ping_every = k->ping;
  cfg.ping_max = k->ping_max;
  cfg.idle_timeout = k->idle;
  int rv = fm_session_new(&cfg, w->now, &s);
  return rv < 0 ? NULL : s;
}

static int hostile_side(const sim_world *w, const sim_conn *c) {
  for (int i = 0; i < 2; i++) {
    const sim_node_spec *sp = w->nodes[c->node[i]].spec;
    if (sp->hostile != SIM_HOSTILE_NONE && w->now >= sp->hostile_from) return i;
  }
  return -1;
}

static void kick(sim_world *w, sim_conn *c, int side) {
  sim_dir *d = &c->dir[side];
  if (d->pump_pending || d->lost) return;
  d->pump_pending = 1;
  sim_world_at(w, d->busy_until > w->now ? d->busy_until : w->now, SIM_EV_PUMP, (int)c->slot,
               side, c->gen, NULL, 0);
}

static fm_time next_timer(const sim_world *w, const sim_conn *c) {
  fm_time t = FM_TIME_NEVER;
  for (int i = 0; i < 2; i++) {
    fm_time x = fm_session_next_timer(c->s[i]);
    if (x != FM_TIME_NEVER && x < t) t = x;
  }
  return t;
}

static void rearm(sim_world *w, sim_conn *c) {
  fm_time t = next_timer(w, c);
  if (t == FM_TIME_NEVER) return;
  if (t < w->now) t = w->now;
  if (c->timer_at != FM_TIME_NEVER && c->timer_at <= t) return;
  c->timer_at = t;
  sim_world_at(w, t, SIM_EV_TIMER, (int)c->slot, 0, c->gen, NULL, 0);
}

int sim_net_connect(sim_world *w, int link, size_t pair) {
  const sim_link_spec *k = w->links[link].spec;
  int slot = slot_new(w);
  if (slot < 0) return slot;
  sim_conn *c = calloc(1, sizeof *c);
  if (!c) return -ENOMEM;
  c->slot = (uint32_t)slot;
  c->gen = w->gens[slot];
  c->link = link;
  c->pair = pair;
  c->node[0] = k->pairs[pair].a;
  c->node[1] = k->pairs[pair].b;
  c->opened = w->now;
  c->timer_at = FM_TIME_NEVER;
  c->cut_at = UINT64_MAX;
  c->s[0] = session_for(w, &w->nodes[c->node[0]], k, 1);
  c->s[1] = session_for(w, &w->nodes[c->node[1]], k, 0);
  if (!c->s[0] || !c->s[1] || node_add_conn(&w->nodes[c->node[0]], c) < 0 ||
      node_add_conn(&w->nodes[c->node[1]], c) < 0) {
    node_drop_conn(&w->nodes[c->node[0]], c);
    fm_session_del(c->s[0]);
    fm_session_del(c->s[1]);
    free(c);
    return -ENOMEM;
  }
  if (w->links[link].cut_armed) c->cut_at = w->links[link].cut_bytes;
  c->hostile = hostile_side(w, c);
  w->slots[slot] = c;
  w->open_conns++;
  w->m.sess_opened++;
  kick(w, c, 0);
  rearm(w, c);
  return 0;
}

/* ---- ending ------------------------------------------------------------------------ */

static int refusal(int code) {
  return code == FM_ERR_AUTH || code == FM_ERR_MESH || code == FM_ERR_REVOKED ||
         code == FM_ERR_EXPIRED;
}

static void count_hostile(sim_world *w, const sim_conn *c, const fm_session_stats *st) {
  if (c->hostile < 0 || c->hostile_bytes == 0) return;
  /* Two hostile nodes talking garbage to each other prove nothing. */
  if (w->nodes[c->node[1 - c->hostile]].spec->hostile != SIM_HOSTILE_NONE) return;
  const fm_session_stats *honest = &st[1 - c->hostile];
  w->m.hostile_sessions++;
  if (fm_err_is_fatal(honest->error)) w->m.hostile_dropped++;
  if (honest->entries_in) w->m.hostile_leaks++;
}

/* Returns 1 when the session failed (for the link's back-off). */
static int count_end(sim_world *w, const sim_conn *c, sim_end why) {
  fm_session_stats st[2];
  sim_metrics *m = &w->m;
  fm_session_get_stats(c->s[0], &st[0]);
  fm_session_get_stats(c->s[1], &st[1]);
  count_hostile(w, c, st);
  for (int i = 0; i < 2; i++) {
    m->handshake_out += st[i].handshake_out;
    for (int t = 0; t < FM_MSG_TYPE_SLOTS; t++) m->msg_out[t] += st[i].msg_out[t];
  }
  switch (why) {
  case SIM_END_LINK_DOWN: m->sess_link_down++; return 0;
  case SIM_END_LOSS: m->sess_cut++, m->cut_loss++; return 1;
  case SIM_END_FAULT: m->sess_cut++, m->cut_fault++; return 1;
  case SIM_END_CRASH: m->sess_cut++, m->cut_crash++; return 1;
  case SIM_END_RUN_OVER: return 0;
  case SIM_END_CLOSED: break;
  }
  int err = st[0].error ? st[0].error : st[1].error;
  if (!err) {
    m->sess_completed++;
    return 0;
  }
  if (refusal(err)) m->sess_refused++;
  else m->sess_failed++;
  return 1;
}

void sim_net_kill(sim_world *w, sim_conn *c, sim_end why) {
  int failed = count_end(w, c, why);
  int link = c->link;
  size_t pair = c->pair;
  node_drop_conn(&w->nodes[c->node[0]], c);
  node_drop_conn(&w->nodes[c->node[1]], c);
  fm_session_del(c->s[0]);
  fm_session_del(c->s[1]);
  /* Events still queued for this slot see a new generation and drop. */
  w->gens[c->slot]++;
  w->slots[c->slot] = NULL;
  w->open_conns--;
  free(c);
  sim_link_ended(w, link, pair, why, failed);
}

void sim_net_kill_node(sim_world *w, sim_node *n, sim_end why) {
  while (n->nconns) sim_net_kill(w, n->conns[n->nconns - 1], why);
}

void sim_net_kill_link(sim_world *w, int link, sim_end why) {
  for (size_t i = 0; i < w->nslots; i++)
    if (w->slots[i] && w->slots[i]->link == link) sim_net_kill(w, w->slots[i], why);
}

/* ---- moving bytes ------------------------------------------------------------------ */

/* A hostile sender's bytes, after its session made them. */
static void garble(sim_world *w, sim_conn *c, int side, uint8_t *p, size_t *n) {
  sim_hostile h = w->nodes[c->node[side]].spec->hostile;
  if (h == SIM_HOSTILE_NOISE) {
    sim_rng_fill(&w->rng, p, *n);
    return;
  }
  /* Flip and oversize wait for the handshake, so the peer meets them in
   * the encrypted part of the stream. */
  if (fm_session_get_state(c->s[side]) == FM_SS_HANDSHAKE) return;
  if (h == SIM_HOSTILE_FLIP) {
    p[*n - 1] ^= (uint8_t)(1u << sim_rng_below(&w->rng, 8));
  } else {
    static const uint8_t big[4] = {0, 0x10, 0, 0}; /* a frame of 1 MiB */
    memcpy(p, big, sizeof big);
    *n = sizeof big;
  }
}

/* Sync mode: once both sides are caught up and nothing is on the way,
 * the dialling side says goodbye. */
static void maybe_done(sim_world *w, sim_conn *c) {
  if (c->closing || w->links[c->link].spec->mode != SIM_MODE_SYNC) return;
  for (int i = 0; i < 2; i++)
    if (fm_session_get_state(c->s[i]) != FM_SS_LIVE || c->dir[i].inflight ||
        c->dir[i].pump_pending)
      return;
  c->closing = 1;
  fm_session_close(c->s[0], "caught up");
  kick(w, c, 0);
}

/* A scripted cut strikes once: the other connections of the link go free. */
static void disarm(sim_world *w, int link) {
  w->links[link].cut_armed = 0;
  for (size_t i = 0; i < w->nslots; i++)
    if (w->slots[i] && w->slots[i]->link == link) w->slots[i]->cut_at = UINT64_MAX;
}

static void send_chunk(sim_world *w, sim_conn *c, int side, size_t n) {
  const sim_link_spec *k = w->links[c->link].spec;
  sim_dir *d = &c->dir[side];
  if (c->hostile == side) garble(w, c, side, w->buf, &n);
  w->m.wire_bytes += n;
  c->bytes += n;
  fm_time tx = (fm_time)((n * 1000 + k->bandwidth - 1) / k->bandwidth);
  fm_time arrive = w->now + tx + k->latency;
  if (arrive < d->last_arrival) arrive = d->last_arrival;
  d->last_arrival = arrive;
  d->busy_until = w->now + tx;
  if (c->bytes >= c->cut_at) {
    disarm(w, c->link);
    d->lost = 1;
    sim_world_at(w, arrive, SIM_EV_LOST, (int)c->slot, SIM_END_FAULT, c->gen, NULL, 0);
    return;
  }
  /* |loss| is per 16 KiB: a ping rarely dies, a long transfer often. */
  if (k->loss > 0 && sim_rng_chance(&w->rng, 1 - pow(1 - k->loss, (double)n / 16384))) {
    d->lost = 1;
    sim_world_at(w, arrive, SIM_EV_LOST, (int)c->slot, SIM_END_LOSS, c->gen, NULL, 0);
    return;
  }
  uint8_t *copy = malloc(n);
  if (!copy) {
    sim_world_fatal(w, "out of memory", -ENOMEM);
    return;
  }
  memcpy(copy, w->buf, n);
  d->inflight++;
  sim_world_at(w, arrive, SIM_EV_DELIVER, (int)c->slot, 1 - side, c->gen, copy, n);
  kick(w, c, side);
}

void sim_net_on_pump(sim_world *w, const sim_event *ev) {
  sim_conn *c = conn_get(w, ev->a, ev->gen);
  if (!c) return;
  int side = ev->b;
  sim_dir *d = &c->dir[side];
  d->pump_pending = 0;
  if (d->lost || d->fin) return;
  if (d->busy_until > w->now) {
    kick(w, c, side);
    return;
  }
  ssize_t n = fm_session_send(c->s[side], w->buf, SIM_CHUNK, w->now);
  if (n < 0) {
    sim_net_kill(w, c, SIM_END_CLOSED);
    return;
  }
  if (n > 0) {
    send_chunk(w, c, side, (size_t)n);
  } else if (fm_session_get_state(c->s[side]) == FM_SS_CLOSED) {
    /* Nothing more will come: close after the last bytes arrive. */
    d->fin = 1;
    fm_time at = d->last_arrival > w->now ? d->last_arrival : w->now;
    sim_world_at(w, at, SIM_EV_FIN, (int)c->slot, 1 - side, c->gen, NULL, 0);
  }
  rearm(w, c);
  maybe_done(w, c);
}

void sim_net_on_deliver(sim_world *w, sim_event *ev) {
  sim_conn *c = conn_get(w, ev->a, ev->gen);
  uint8_t *p = ev->p;
  ev->p = NULL;
  if (!c) {
    free(p);
    return;
  }
  int r = ev->b;
  c->dir[1 - r].inflight--;
  if (c->hostile == 1 - r) c->hostile_bytes += ev->len;
  /* An error is the session's to report: it queues an ERROR for the
   * peer or closes, and the next pump drains it. */
  if (fm_session_recv(c->s[r], p, ev->len, w->now) == 0) fm_session_flush(c->s[r], w->now);
  free(p);
  kick(w, c, r);
  rearm(w, c);
  maybe_done(w, c);
}

void sim_net_on_fin(sim_world *w, const sim_event *ev) {
  sim_conn *c = conn_get(w, ev->a, ev->gen);
  if (c) sim_net_kill(w, c, SIM_END_CLOSED);
}

void sim_net_on_lost(sim_world *w, const sim_event *ev) {
  sim_conn *c = conn_get(w, ev->a, ev->gen);
  if (c) sim_net_kill(w, c, (sim_end)ev->b);
}

void sim_net_on_timer(sim_world *w, const sim_event *ev) {
  sim_conn *c = conn_get(w, ev->a, ev->gen);
  if (!c || ev->at != c->timer_at) return; /* a later or earlier timer replaced it */
  c->timer_at = FM_TIME_NEVER;
  for (int i = 0; i < 2; i++) {
    fm_time due = fm_session_next_timer(c->s[i]);
    if (due == FM_TIME_NEVER || due > w->now) continue;
    fm_session_on_timer(c->s[i], w->now);
    kick(w, c, i);
  }
  rearm(w, c);
}

void sim_net_notify(sim_world *w, sim_node *n) {
  for (size_t i = 0; i < n->nconns; i++) {
    sim_conn *c = n->conns[i];
    int side = c->node[0] == n->idx ? 0 : 1;
    fm_session_notify(c->s[side]);
    kick(w, c, side);
  }
}
