#include "fault.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fieldmesh/dirs.h"
#include "fieldmesh/enroll.h"
#include "fieldmesh/error.h"
#include "link.h"
#include "net.h"
#include "node.h"

void sim_fault_init(sim_world *w) {
  const sim_scenario *sc = w->sc;
  for (size_t i = 0; i < sc->nfaults; i++) {
    const sim_fault_spec *f = &sc->faults[i];
    if (f->at < w->t0 || f->at >= w->work_end) {
      fprintf(stderr, "fieldmesh-sim: fault %s is outside the %d days of work: skipped\n",
              f->id, (int)((w->work_end - w->t0) / SIM_DAY_MS));
      continue;
    }
    sim_world_at(w, f->at, SIM_EV_FAULT, (int)i, 0, 0, NULL, 0);
  }
  /* The copy a restore puts back is taken |age| before it. */
  for (size_t i = 0; i < sc->nfaults; i++) {
    const sim_fault_spec *f = &sc->faults[i];
    if (f->kind != SIM_FAULT_RESTORE || f->at < w->t0 || f->at >= w->work_end) continue;
    fm_time when = f->at - f->age < w->t0 ? w->t0 : f->at - f->age;
    sim_world_at(w, when, SIM_EV_FAULT, (int)i, 2, 0, NULL, 0);
  }
  for (size_t i = 0; i < sc->nnodes; i++)
    if (sc->nodes[i].twin_of >= 0 && sc->nodes[i].appears < w->work_end)
      sim_world_at(w, sc->nodes[i].appears, SIM_EV_TWIN, (int)i, 0, 0, NULL, 0);
}

/* ---- cut ----------------------------------------------------------------------------- */

/* The first connection of the link to move |bytes| more (one opened
 * later included) is cut there: the one that is transferring. */
static void cut(sim_world *w, const sim_fault_spec *f) {
  for (size_t i = 0; i < w->nslots; i++) {
    sim_conn *c = w->slots[i];
    if (!c || c->link != f->link) continue;
    if (f->bytes == 0) {
      sim_net_kill(w, c, SIM_END_FAULT);
      return;
    }
    c->cut_at = c->bytes + f->bytes;
  }
  w->links[f->link].cut_armed = 1;
  w->links[f->link].cut_bytes = f->bytes;
}

/* ---- crash and restart ----------------------------------------------------------------- */

static void crash(sim_world *w, const sim_fault_spec *f, int phase) {
  sim_node *n = &w->nodes[f->node];
  if (phase == 0) {
    if (!n->up) return;
    n->before_crash = sim_node_entries(n);
    sim_net_kill_node(w, n, SIM_END_CRASH);
    sim_node_stop(n);
    w->m.crashes++;
    sim_world_at(w, w->now + f->down, SIM_EV_FAULT, (int)(f - w->sc->faults), 1, 0, NULL, 0);
    return;
  }
  int rv = sim_node_start(w, n);
  if (rv < 0) {
    sim_world_fatal(w, "reopening a store after a crash", rv);
    return;
  }
  char scratch[700];
  snprintf(scratch, sizeof scratch, "%s/verify-%s", w->root, n->spec->id);
  sim_check_restart(&w->log, n->spec->id, n->store, n->before_crash, scratch);
  if ((rv = sim_node_reload(w, n)) < 0) sim_world_fatal(w, "reading a vector", rv);
  sim_link_node_up(w, n->idx);
}

/* ---- revocation --------------------------------------------------------------------------- */

static uint64_t cutoff(sim_world *w, const sim_fault_spec *f, const sim_node *holder) {
  const sim_author *a = &w->ledger.a[w->nodes[f->node].author];
  if (f->after == SIM_AFTER_SEQ) return f->after_seq;
  if (f->after == SIM_AFTER_FORK && a->fork_base != UINT64_MAX) return a->fork_base;
  /* What the administrator sees on the gateway: the device's entries that
   * reached it stay valid. */
  (void)holder;
  return w->m.t[w->sc->gateway].held[w->nodes[f->node].author];
}

static void revoke(sim_world *w, const sim_fault_spec *f) {
  sim_node *h = &w->nodes[w->sc->holder], *dev = &w->nodes[f->node];
  fm_buf b;
  if (!h->up) {
    /* The administrator's laptop is off: try again in an hour. */
    sim_world_at(w, w->now + SIM_HOUR_MS, SIM_EV_FAULT, (int)(f - w->sc->faults), 0, 0, NULL, 0);
    return;
  }
  uint64_t after = cutoff(w, f, h);
  fm_buf_init(&b, 256);
  int rv = fm_revoke_body(&b, dev->id.pk, after);
  if (rv == 0)
    rv = sim_node_append(w, h, &w->authority, 0, FM_KIND_REVOKE, SIM_K_REVOKE, b.p, b.len);
  fm_buf_free(&b);
  if (rv < 0) {
    sim_world_fatal(w, "appending a revocation", rv);
    return;
  }
  sim_author *a = &w->ledger.a[dev->author];
  if (after < a->revoked_after) a->revoked_after = after;
  sim_ledger_recount(&w->ledger, dev->author);
  /* Every laptop carrying the key stops counting as honest. */
  for (size_t i = 0; i < w->nnodes; i++)
    if (w->nodes[i].author == dev->author) sim_metrics_set_honest(&w->m, (int)i, 0, w->now);
  sim_metrics_recount(&w->m, &w->ledger, w->now);
  w->m.revocations++;
}

static int copy_store(sim_world *w, sim_node *from, const char *dir, const uint8_t self[FM_KEY_LEN],
                      fm_time now);

/* ---- a laptop put back to an older copy of its state folder --------------------------------- */

static void backup_dir(sim_world *w, const sim_node *n, char *out, size_t cap) {
  snprintf(out, cap, "%s/backup-%03d", w->root, n->idx);
}

/* Phase 2: the copy is taken; phase 0: it is put back in place of the
 * laptop's store, which restarts on it and writes on from there. */
static void restore(sim_world *w, const sim_fault_spec *f, int phase) {
  sim_node *n = &w->nodes[f->node];
  char dir[700];
  struct stat st;
  backup_dir(w, n, dir, sizeof dir);
  if (phase == 2) {
    int rv = n->up ? copy_store(w, n, dir, n->id.pk, sim_net_node_now(w, n)) : 0;
    if (rv < 0) sim_world_fatal(w, "copying a laptop's store for a restore", rv);
    return;
  }
  if (!n->up || stat(dir, &st) < 0) return; /* off, or no copy was taken */
  sim_net_kill_node(w, n, SIM_END_CRASH);
  sim_node_stop(n);
  int rv = fm_store_remove_dir(n->dir);
  if (rv == 0 && rename(dir, n->dir) < 0) rv = -errno;
  if (rv == 0) rv = sim_node_start(w, n);
  if (rv == 0) rv = sim_node_reload(w, n);
  if (rv < 0) {
    sim_world_fatal(w, "putting back a laptop's older copy", rv);
    return;
  }
  w->m.restores++;
  n->restored = 1;
  sim_link_node_up(w, n->idx);
}

void sim_fault_on(sim_world *w, const sim_event *ev) {
  const sim_fault_spec *f = &w->sc->faults[ev->a];
  switch (f->kind) {
  case SIM_FAULT_CUT: cut(w, f); break;
  case SIM_FAULT_CRASH: crash(w, f, ev->b); break;
  case SIM_FAULT_REVOKE: revoke(w, f); break;
  case SIM_FAULT_RESTORE: restore(w, f, ev->b); break;
  case SIM_FAULT_CLOCK:
    w->nodes[f->node].skew = ev->b ? 0 : f->offset;
    if (ev->b == 0) {
      w->m.clock_faults++;
      if (f->until != FM_TIME_NEVER && f->until > w->now)
        sim_world_at(w, f->until, SIM_EV_FAULT, ev->a, 1, 0, NULL, 0);
    }
    break;
  }
}

/* ---- a twin laptop with a copied key ------------------------------------------------------- */

typedef struct copy {
  fm_store *to;
  fm_time now;
  fm_slice batch[256];
  uint8_t *owned[256];
  size_t n;
  int rv;
} copy;

static void copy_flush(copy *c) {
  fm_ingest_result res;
  if (c->n && c->rv == 0) c->rv = fm_store_ingest(c->to, c->batch, c->n, c->now, &res, NULL);
  for (size_t i = 0; i < c->n; i++) free(c->owned[i]);
  c->n = 0;
}

static int copy_entry(void *ctx, const uint8_t *p, size_t len) {
  copy *c = ctx;
  uint8_t *dup = malloc(len);
  if (!dup) return c->rv = -ENOMEM;
  memcpy(dup, p, len);
  c->owned[c->n] = dup;
  c->batch[c->n].p = dup;
  c->batch[c->n].len = len;
  if (++c->n == 256) copy_flush(c);
  return c->rv;
}

static int copy_cert(void *ctx, const uint8_t *p, size_t len) {
  copy *c = ctx;
  int rv = fm_store_add_cert(c->to, p, len, c->now, NULL);
  return rv < 0 ? (c->rv = rv) : 0;
}

/* A store in |dir| (made) holding |from|'s log and certificates as they
 * are now, with |self| as its device. */
static int copy_store(sim_world *w, sim_node *from, const char *dir, const uint8_t self[FM_KEY_LEN],
                      fm_time now) {
  fm_store_opts o;
  copy *c = calloc(1, sizeof *c);
  if (!c) return -ENOMEM;
  memset(&o, 0, sizeof o);
  o.nosync = 1;
  int rv = mkdir(dir, 0700) < 0 && errno != EEXIST ? -errno : 0;
  if (rv == 0) rv = fm_store_open(dir, &o, &c->to);
  if (rv == 0) {
    c->now = now;
    rv = fm_store_set_authority(c->to, w->authority.pk, w->sc->commune);
    if (rv == 0) rv = fm_store_set_self(c->to, self);
    if (rv == 0) rv = fm_store_each_cert(from->store, copy_cert, c);
    if (rv == 0) rv = fm_store_each_missing(from->store, NULL, copy_entry, c);
    copy_flush(c);
    if (rv == 0) rv = c->rv;
    fm_store_close(c->to);
  }
  free(c);
  return rv;
}

/* The twin's store: the original's log as it was when the key was copied. */
static int clone_store(sim_world *w, sim_node *orig, sim_node *twin) {
  snprintf(twin->dir, sizeof twin->dir, "%s/%03d-%s", w->root, twin->idx, twin->spec->id);
  return copy_store(w, orig, twin->dir, twin->id.pk, sim_net_node_now(w, twin));
}

void sim_fault_on_twin(sim_world *w, const sim_event *ev) {
  sim_node *twin = &w->nodes[ev->a], *orig = &w->nodes[twin->spec->twin_of];
  if (!orig->up) {
    sim_world_at(w, w->now + SIM_HOUR_MS, SIM_EV_TWIN, ev->a, 0, 0, NULL, 0);
    return;
  }
  int rv = clone_store(w, orig, twin);
  if (rv == 0) rv = sim_node_start(w, twin);
  if (rv == 0) rv = sim_node_reload(w, twin);
  if (rv < 0) {
    sim_world_fatal(w, "copying a laptop for its twin", rv);
    return;
  }
  twin->exists = 1;
  sim_author *a = &w->ledger.a[orig->author];
  a->fork_base = a->n;
  sim_ledger_recount(&w->ledger, orig->author);
  sim_metrics_set_honest(&w->m, orig->idx, 0, w->now);
  sim_metrics_recount(&w->m, &w->ledger, w->now);
  w->m.forks++;
  sim_link_node_up(w, twin->idx);
}
