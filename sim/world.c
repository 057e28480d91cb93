/* Setting the world up, running its events, and taking it down. */
#include "world.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fault.h"
#include "fieldmesh/error.h"
#include "link.h"
#include "net.h"
#include "node.h"
#include "scan.h"
#include "usb.h"
#include "vcache.h"
#include "work.h"

#define ENROLL_YEARS 2

void sim_world_at(sim_world *w, fm_time at, int type, int a, int b, uint32_t gen, void *p,
                  size_t len) {
  sim_event e = {at, 0, type, a, b, gen, p, len};
  if (sim_heap_push(&w->q, &e) < 0) {
    free(p);
    sim_world_fatal(w, "out of memory for events", -ENOMEM);
  }
}

void sim_world_fatal(sim_world *w, const char *what, int code) {
  if (w->ended < 0) return;
  fprintf(stderr, "fieldmesh-sim: %s: %s (%d)\n", what, fm_strerror(code), code);
  w->ended = -1;
}

/* ---- set-up -------------------------------------------------------------------------- */

static int make_nodes(sim_world *w) {
  const sim_scenario *sc = w->sc;
  uint8_t seed[32];
  if (!(w->nodes = calloc(sc->nnodes + 1, sizeof *w->nodes))) return -ENOMEM;
  w->nnodes = sc->nnodes;
  sim_rng_fill(&w->rng, seed, sizeof seed);
  int rv = fm_identity_from_seed(&w->authority, seed);
  for (size_t i = 0; i < sc->nnodes && rv == 0; i++) {
    sim_node *n = &w->nodes[i];
    n->idx = (int)i;
    n->spec = &sc->nodes[i];
    n->w = w;
    if (n->spec->twin_of >= 0) continue;
    sim_rng_fill(&w->rng, seed, sizeof seed);
    rv = fm_identity_from_seed(&n->id, seed);
    n->author = i + 1;
  }
  /* A twin carries a copy of its original's key. */
  for (size_t i = 0; i < sc->nnodes; i++) {
    sim_node *n = &w->nodes[i];
    if (n->spec->twin_of < 0) continue;
    n->id = w->nodes[n->spec->twin_of].id;
    n->author = w->nodes[n->spec->twin_of].author;
  }
  return rv;
}

static int make_ledger(sim_world *w) {
  int rv = sim_ledger_init(&w->ledger, w->nnodes + 1);
  if (rv < 0) return rv;
  sim_ledger_name(&w->ledger, 0, w->authority.pk, -1);
  for (size_t i = 0; i < w->nnodes; i++) {
    const sim_node *n = &w->nodes[i];
    if (n->spec->twin_of >= 0) continue;
    sim_ledger_name(&w->ledger, n->author, n->id.pk, (int)i);
    w->ledger.a[n->author].hostile = n->spec->hostile != SIM_HOSTILE_NONE;
  }
  if ((rv = sim_ledger_index(&w->ledger)) < 0) return rv;
  if ((rv = sim_metrics_init(&w->m, w->nnodes, w->ledger.n, w->sc->gateway)) < 0) return rv;
  for (size_t i = 0; i < w->nnodes; i++) {
    const sim_node_spec *sp = w->nodes[i].spec;
    int honest = sp->twin_of < 0 && sp->hostile == SIM_HOSTILE_NONE;
    sim_metrics_set_honest(&w->m, (int)i, honest, w->now);
  }
  return 0;
}

static void enrollment_of(const sim_world *w, const sim_node *n, fm_enrollment *en) {
  const sim_node_spec *sp = n->spec;
  memset(en, 0, sizeof *en);
  memcpy(en->device, n->id.pk, FM_KEY_LEN);
  en->role = sp->role;
  snprintf(en->name, sizeof en->name, "%s", sp->name);
  snprintf(en->commune, sizeof en->commune, "%s", w->sc->commune);
  en->expires = w->t0 + (fm_time)ENROLL_YEARS * 365 * SIM_DAY_MS;
  if (sp->team >= 0) {
    const sim_team *t = &w->sc->teams[sp->team];
    snprintf(en->team, sizeof en->team, "%s", t->name);
    en->nvillages = t->nvillages;
    memcpy(en->villages, t->villages, sizeof t->villages);
  } else {
    snprintf(en->team, sizeof en->team, "Bộ phận một cửa %.90s", w->sc->commune);
    if (sp->village[0]) {
      snprintf(en->villages[0], sizeof en->villages[0], "%s", sp->village);
      en->nvillages = 1;
    }
  }
}

typedef struct grab {
  uint8_t *p;
  size_t len;
} grab;

/* The administrator enrolls every laptop on the holder's store. */
static int enroll_all(sim_world *w, sim_node *holder, grab *certs) {
  fm_buf b;
  int rv = 0;
  fm_buf_init(&b, 8192);
  for (size_t i = 0; i < w->nnodes && rv == 0; i++) {
    sim_node *n = &w->nodes[i];
    fm_enrollment en;
    uint8_t id[FM_ID_LEN];
    uint64_t seq;
    if (n->spec->twin_of >= 0) continue;
    enrollment_of(w, n, &en);
    fm_buf_reset(&b);
    if ((rv = fm_enroll_body(&b, &en)) < 0) break;
    rv = fm_store_append(holder->store, &w->authority, FM_KIND_ENROLL, b.p, b.len,
                         sim_net_node_now(w, holder), id, &seq);
    if (rv == 0) rv = fm_store_entry_copy(holder->store, w->authority.pk, seq, &certs[i].p, &certs[i].len);
    if (rv == 0) rv = sim_ledger_add(&w->ledger, 0, seq, id, w->now, (uint32_t)certs[i].len, SIM_K_ENROLL);
    if (rv == 0) sim_metrics_wrote(&w->m, &w->ledger, holder->idx, 0, seq, w->now);
    if (rv == 0) w->m.created[SIM_K_ENROLL]++;
  }
  fm_buf_free(&b);
  return rv;
}

static int make_stores(sim_world *w) {
  sim_node *holder = &w->nodes[w->sc->holder];
  grab *certs = calloc(w->nnodes + 1, sizeof *certs);
  fm_store_opts o;
  int rv = certs ? 0 : -ENOMEM;
  memset(&o, 0, sizeof o);
  o.nosync = 1;
  snprintf(holder->dir, sizeof holder->dir, "%s/%03d-%s", w->root, holder->idx, holder->spec->id);
  if (rv == 0 && mkdir(holder->dir, 0700) < 0) rv = -errno;
  if (rv == 0) rv = fm_store_open(holder->dir, &o, &holder->store);
  if (rv == 0) rv = fm_store_set_authority(holder->store, w->authority.pk, w->sc->commune);
  if (rv == 0) rv = fm_store_set_self(holder->store, holder->id.pk);
  if (rv == 0) rv = enroll_all(w, holder, certs);
  if (holder->store) fm_store_close(holder->store);
  holder->store = NULL;
  holder->exists = 1;
  if (rv == 0) rv = sim_node_start(w, holder);
  for (size_t i = 0; i < w->nnodes && rv == 0; i++) {
    sim_node *n = &w->nodes[i];
    if (n == holder || n->spec->twin_of >= 0) continue;
    rv = sim_node_create(w, n, certs[i].p, certs[i].len);
  }
  for (size_t i = 0; certs && i < w->nnodes; i++) free(certs[i].p);
  free(certs);
  return rv;
}

int sim_world_new(sim_world *w, const sim_scenario *sc, const sim_options *opt) {
  memset(w, 0, sizeof *w);
  w->sc = sc;
  w->opt = *opt;
  sim_rng_seed(&w->rng, opt->seed);
  sim_heap_init(&w->q);
  int days = opt->days ? opt->days : sc->days;
  w->t0 = w->now = sim_cal_at(sc->start_day, 0, sc->tz_min);
  w->work_end = w->t0 + (fm_time)days * SIM_DAY_MS;
  w->end_limit = w->work_end + sc->drain;
  snprintf(w->root, sizeof w->root, "%s/fieldmesh-sim-XXXXXX", opt->tmp);
  if (!mkdtemp(w->root)) {
    fprintf(stderr, "fieldmesh-sim: cannot create a folder in %s: %s\n", opt->tmp, strerror(errno));
    w->root[0] = 0;
    return -1;
  }
  int rv = (w->vcache = sim_vcache_new()) ? 0 : -ENOMEM;
  if (rv == 0) rv = make_nodes(w);
  if (rv == 0) rv = make_ledger(w);
  if (rv == 0) rv = make_stores(w);
  if (rv == 0) rv = sim_link_init(w);
  if (rv == 0) rv = sim_work_init(w);
  if (rv < 0) {
    fprintf(stderr, "fieldmesh-sim: setting up the world: %s (%d)\n", fm_strerror(rv), rv);
    return -1;
  }
  sim_fault_init(w);
  return 0;
}

/* ---- running ------------------------------------------------------------------------------ */

static void on_day(sim_world *w, int day) {
  int days = (int)((w->work_end - w->t0) / SIM_DAY_MS);
  if (day < days) sim_work_day(w, day);
  sim_link_day(w, w->sc->start_day + day);
  fm_time next = sim_cal_at(w->sc->start_day + day + 1, 0, w->sc->tz_min);
  if (next < w->end_limit) sim_world_at(w, next, SIM_EV_DAY, day + 1, 0, 0, NULL, 0);
}

static void on_sample(sim_world *w, int hour) {
  for (size_t i = 0; w->opt.seal && i < w->nnodes; i++)
    if (w->nodes[i].regrant_due) sim_work_regrant(w, &w->nodes[i]);
  if (w->opt.csv)
    sim_metrics_csv_row(&w->m, &w->ledger, w->opt.csv, w->now, w->sc->tz_min, hour,
                        w->open_conns);
  sim_world_at(w, w->now + SIM_HOUR_MS, SIM_EV_SAMPLE, hour + 1, 0, 0, NULL, 0);
}

static void dispatch(sim_world *w, sim_event *ev) {
  switch (ev->type) {
  case SIM_EV_DAY: on_day(w, ev->a); break;
  case SIM_EV_SAMPLE: on_sample(w, ev->a); break;
  case SIM_EV_WRITE: sim_work_on_write(w, ev); break;
  case SIM_EV_STATUS: sim_work_on_status(w, ev); break;
  case SIM_EV_WINDOW: sim_link_on_window(w, ev); break;
  case SIM_EV_CONTACT: sim_link_on_contact(w, ev); break;
  case SIM_EV_PUMP: sim_net_on_pump(w, ev); break;
  case SIM_EV_DELIVER: sim_net_on_deliver(w, ev); break;
  case SIM_EV_FIN: sim_net_on_fin(w, ev); break;
  case SIM_EV_LOST: sim_net_on_lost(w, ev); break;
  case SIM_EV_TIMER: sim_net_on_timer(w, ev); break;
  case SIM_EV_FAULT: sim_fault_on(w, ev); break;
  case SIM_EV_TWIN: sim_fault_on_twin(w, ev); break;
  case SIM_EV_USB: sim_usb_on_leg(w, ev); break;
  }
}

int sim_world_run(sim_world *w) {
  sim_event ev;
  if (w->opt.csv) sim_metrics_csv_head(w->opt.csv);
  /* Hourly: a CSV row, and the grant extensions sealing laptops make. */
  if (w->opt.csv || w->opt.seal) sim_world_at(w, w->t0, SIM_EV_SAMPLE, 0, 0, 0, NULL, 0);
  sim_world_at(w, w->t0, SIM_EV_DAY, 0, 0, 0, NULL, 0);
  while (!w->ended && sim_heap_pop(&w->q, &ev)) {
    if (ev.at >= w->end_limit) {
      free(ev.p);
      w->now = w->end_limit;
      break;
    }
    w->now = ev.at;
    dispatch(w, &ev);
    free(ev.p);
    w->m.events++;
    /* After the work, the run ends as soon as every honest node agrees. */
    if (w->now >= w->work_end && sim_metrics_converged(&w->m) && !w->ended &&
        sim_scan_settled(w))
      w->ended = 1;
  }
  if (w->ended < 0) return -1;
  for (size_t i = 0; i < w->nslots; i++)
    if (w->slots[i]) sim_net_kill(w, w->slots[i], SIM_END_RUN_OVER);
  if (w->opt.csv)
    sim_metrics_csv_row(&w->m, &w->ledger, w->opt.csv, w->now, w->sc->tz_min,
                        (w->now - w->t0) / SIM_HOUR_MS + 1, w->open_conns);
  return 0;
}

/* ---- taking it down ------------------------------------------------------------------------- */

static void rm_tree(const char *path) {
  struct stat st;
  if (lstat(path, &st) < 0) return;
  if (S_ISDIR(st.st_mode)) {
    DIR *d = opendir(path);
    struct dirent *e;
    while (d && (e = readdir(d))) {
      char sub[1024];
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
      snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
      rm_tree(sub);
    }
    if (d) closedir(d);
    rmdir(path);
  } else {
    unlink(path);
  }
}

void sim_world_free(sim_world *w) {
  for (size_t i = 0; i < w->nslots; i++)
    if (w->slots[i]) sim_net_kill(w, w->slots[i], SIM_END_RUN_OVER);
  for (size_t i = 0; w->nodes && i < w->nnodes; i++) {
    sim_node_stop(&w->nodes[i]);
    fm_identity_wipe(&w->nodes[i].id);
    free(w->nodes[i].conns);
  }
  fm_identity_wipe(&w->authority);
  sim_link_free(w);
  sim_work_free(w);
  sim_heap_free(&w->q);
  sim_metrics_free(&w->m);
  sim_ledger_free(&w->ledger);
  sim_check_log_free(&w->log);
  sim_vcache_del(w->vcache);
  free(w->nodes);
  free(w->slots);
  free(w->gens);
  if (w->root[0]) {
    if (w->opt.keep) fprintf(stderr, "fieldmesh-sim: stores kept in %s\n", w->root);
    else rm_tree(w->root);
  }
}

/* ---- the verdict ------------------------------------------------------------------------------ */

int sim_world_check(sim_world *w, sim_check_report *r) {
  sim_check_node *nodes = calloc(w->nnodes + 1, sizeof *nodes);
  char scratch[600];
  if (!nodes) return -ENOMEM;
  for (size_t i = 0; i < w->nnodes; i++) {
    const sim_node *n = &w->nodes[i];
    nodes[i].id = n->spec->id;
    nodes[i].name = n->spec->name;
    nodes[i].store = n->store;
    nodes[i].honest = w->m.t[i].honest;
    nodes[i].garbage = n->spec->hostile != SIM_HOSTILE_NONE;
    nodes[i].author = n->author;
  }
  snprintf(scratch, sizeof scratch, "%s/check", w->root);
  mkdir(scratch, 0700);
  sim_check_in in = {&w->ledger, nodes, w->nnodes, w->sc->gateway, scratch, w->authority.pk,
                     w->sc->commune, w->now, w->m.hostile_sessions, w->m.hostile_dropped,
                     w->m.hostile_leaks, w->opt.verify_all, NULL, 0,
                     sim_vcache_verify, w->vcache};
  sim_work_corrections(w, &in.corr, &in.ncorr);
  int rv = sim_check_run(&in, &w->log, r);
  free(nodes);
  return rv;
}
