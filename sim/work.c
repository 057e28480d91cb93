#include "work.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fieldmesh/attach.h"
#include "fieldmesh/error.h"
#include "fieldmesh/keys.h"
#include "fieldmesh/record.h"
#include "names.h"
#include "net.h"
#include "node.h"
#include "scan.h"

/* What a WRITE event writes: low bits the kind, above them the campaign
 * (plus one) whose procedures a dossier follows. */
#define WHAT_VISIT 0
#define WHAT_DOSSIER 1
#define WHAT_CAMPAIGN_SHIFT 4

typedef struct dossier {
  char id[FM_RECORD_ID_MAX];
  int node;
  int step;                   /* the next status to write */
  int rejected;
  int mate;                   /* the team-mate who corrects its reference */
} dossier;

typedef struct alloc {        /* campaign dossiers for one member's block */
  int day, node, block, campaign;
  uint32_t count;
} alloc;

typedef struct sim_work {
  dossier *d;
  size_t n, cap;
  alloc *a;                   /* by day */
  size_t na, next_a;
  fm_buf body;
  sim_correction *c;          /* statuses written after seeing another */
  size_t nc, capc;
} sim_work;

/* ---- campaigns --------------------------------------------------------------------- */

/* Every (day, member, block) of the campaign's weeks, and how many of its
 * dossiers land there: each dossier picks one uniformly. */
static int plan_campaign(sim_world *w, int ci) {
  const sim_scenario *sc = w->sc;
  const sim_campaign *c = &sc->campaigns[ci];
  alloc *slots = NULL;
  size_t n = 0, cap = 0;
  for (int64_t day = c->from_day; day <= c->to_day; day++)
    for (size_t i = 0; i < sc->nnodes; i++) {
      const sim_node_spec *sp = &sc->nodes[i];
      if (!c->who[i] || sp->rhythm < 0) continue;
      const sim_rhythm *r = &sc->rhythms[sp->rhythm];
      if (!(r->days & (1u << sim_cal_weekday(day)))) continue;
      for (int b = 0; b < r->hours.n; b++) {
        if (n == cap) {
          cap = cap ? cap * 2 : 256;
          alloc *p = realloc(slots, cap * sizeof *p);
          if (!p) {
            free(slots);
            return -ENOMEM;
          }
          slots = p;
        }
        alloc x = {(int)(day - sc->start_day), (int)i, b, ci, 0};
        slots[n++] = x;
      }
    }
  for (uint64_t k = 0; k < c->dossiers && n; k++) slots[sim_rng_below(&w->rng, n)].count++;
  sim_work *wk = w->work;
  for (size_t i = 0; i < n; i++) {
    if (!slots[i].count || slots[i].day < 0) continue;
    if (wk->na % 256 == 0) {
      alloc *p = realloc(wk->a, (wk->na + 256) * sizeof *p);
      if (!p) {
        free(slots);
        return -ENOMEM;
      }
      wk->a = p;
    }
    wk->a[wk->na++] = slots[i];
  }
  if (!n) fprintf(stderr, "fieldmesh-sim: campaign %s has no work day of its members\n", c->id);
  free(slots);
  return 0;
}

static int by_day(const void *x, const void *y) {
  const alloc *a = x, *b = y;
  if (a->day != b->day) return a->day < b->day ? -1 : 1;
  if (a->campaign != b->campaign) return a->campaign < b->campaign ? -1 : 1;
  if (a->node != b->node) return a->node < b->node ? -1 : 1;
  return a->block < b->block ? -1 : a->block > b->block;
}

int sim_work_init(sim_world *w) {
  if (!(w->work = calloc(1, sizeof *w->work))) return -ENOMEM;
  fm_buf_init(&w->work->body, FM_ENTRY_MAX);
  for (size_t i = 0; i < w->sc->ncampaigns; i++) {
    int rv = plan_campaign(w, (int)i);
    if (rv < 0) return rv;
  }
  /* A total order, so qsort's instability cannot show. */
  if (w->work->na) qsort(w->work->a, w->work->na, sizeof *w->work->a, by_day);
  return 0;
}

void sim_work_free(sim_world *w) {
  if (!w->work) return;
  free(w->work->d);
  free(w->work->a);
  free(w->work->c);
  fm_buf_free(&w->work->body);
  free(w->work);
  w->work = NULL;
}

size_t sim_work_dossiers(const sim_world *w) { return w->work ? w->work->n : 0; }

void sim_work_corrections(const sim_world *w, const sim_correction **c, size_t *n) {
  *c = w->work ? w->work->c : NULL;
  *n = w->work ? w->work->nc : 0;
}

/* ---- the day's plan -------------------------------------------------------------------- */

static void write_at(sim_world *w, int64_t day, const sim_span *sp, int node, int what) {
  int minute = (int)sim_rng_range(&w->rng, sp->from, sp->to - 1);
  fm_time at = sim_cal_at(day, minute, w->sc->tz_min) + sim_rng_range(&w->rng, 0, 59999);
  sim_world_at(w, at, SIM_EV_WRITE, node, what, 0, NULL, 0);
}

void sim_work_day(sim_world *w, int day) {
  const sim_scenario *sc = w->sc;
  int64_t d = sc->start_day + day;
  for (size_t i = 0; i < w->nnodes; i++) {
    const sim_node_spec *sp = &sc->nodes[i];
    if (sp->rhythm < 0) continue;
    const sim_rhythm *r = &sc->rhythms[sp->rhythm];
    if (!(r->days & (1u << sim_cal_weekday(d)))) continue;
    for (int b = 0; b < r->hours.n; b++) {
      uint64_t visits = sim_dist_draw(&r->visits, &w->rng);
      uint64_t dossiers = sim_dist_draw(&r->dossiers, &w->rng);
      for (uint64_t k = 0; k < visits; k++) write_at(w, d, &r->hours.s[b], (int)i, WHAT_VISIT);
      for (uint64_t k = 0; k < dossiers; k++)
        write_at(w, d, &r->hours.s[b], (int)i, WHAT_DOSSIER);
    }
  }
  sim_work *wk = w->work;
  for (; wk->next_a < wk->na && wk->a[wk->next_a].day <= day; wk->next_a++) {
    const alloc *a = &wk->a[wk->next_a];
    if (a->day < day) continue;
    const sim_rhythm *r = &sc->rhythms[sc->nodes[a->node].rhythm];
    int what = WHAT_DOSSIER | ((a->campaign + 1) << WHAT_CAMPAIGN_SHIFT);
    for (uint32_t k = 0; k < a->count; k++) write_at(w, d, &r->hours.s[a->block], a->node, what);
  }
}

/* The first moment at or after |t| when the member of |node| works,
 * within the run; FM_TIME_NEVER when there is none. */
static fm_time next_work(sim_world *w, int node, fm_time t) {
  const sim_scenario *sc = w->sc;
  const sim_rhythm *r = &sc->rhythms[sc->nodes[node].rhythm];
  int64_t day;
  int minute;
  sim_cal_split(t, sc->tz_min, &day, &minute);
  for (int k = 0; k < 21; k++, day++, minute = 0) {
    if (!(r->days & (1u << sim_cal_weekday(day)))) continue;
    for (int b = 0; b < r->hours.n; b++) {
      const sim_span *sp = &r->hours.s[b];
      if (minute >= sp->to) continue;
      fm_time at = minute >= sp->from
                       ? t
                       : sim_cal_at(day, sp->from, sc->tz_min) +
                             sim_rng_range(&w->rng, 0, 30 * SIM_MIN_MS);
      return at < w->work_end ? at : FM_TIME_NEVER;
    }
  }
  return FM_TIME_NEVER;
}

/* ---- writing records --------------------------------------------------------------------- */

static const char *team_of(const sim_world *w, int node) {
  const sim_node_spec *sp = &w->sc->nodes[node];
  return sp->team >= 0 ? w->sc->teams[sp->team].name : "";
}

/* The member's own village most of the time, another of the team's. */
static const char *village_for(sim_world *w, int node) {
  const sim_node_spec *sp = &w->sc->nodes[node];
  if (sp->team < 0 || sim_rng_chance(&w->rng, 0.6)) return sp->village;
  const sim_team *t = &w->sc->teams[sp->team];
  return t->villages[sim_rng_below(&w->rng, (uint64_t)t->nvillages)];
}

static void record_id(sim_world *w, sim_node *n, char prefix, char *out) {
  uint8_t rnd[2];
  sim_rng_fill(&w->rng, rnd, sizeof rnd);
  fm_record_id(prefix, (uint64_t)sim_net_node_now(w, n), n->id.pk, rnd, out);
}

static uint32_t draw_services(sim_world *w, const sim_rhythm *r) {
  uint32_t mask = 0;
  uint64_t k = 1 + sim_rng_below(&w->rng, 3);
  for (uint64_t i = 0; i < k; i++) {
    int s = sim_weights_draw(&r->services, &w->rng);
    mask |= 1u << fm_service_parse(r->services.name[s], strlen(r->services.name[s]));
  }
  return mask;
}

/* ---- sealed fields (docs/privacy.md) -------------------------------------------------- */

static void world_fill(void *ctx, uint8_t *out, size_t len) {
  sim_world *w = ctx;
  for (size_t i = 0; i < len; i += 8) {
    uint64_t x = sim_rng_next(&w->rng);
    for (size_t k = 0; k < 8 && i + k < len; k++) out[i + k] = (uint8_t)(x >> (8 * k));
  }
}

static int append(sim_world *w, sim_node *n, const char *kind, sim_kind k, const fm_buf *b);

static uint64_t own_head(sim_node *n) {
  fm_store_stats st;
  return fm_store_stats_get(n->store, &st) == 0 ? st.self_seq : 0;
}

/* The sealer of |n|'s next record, NULL when the run does not seal; a new
 * grant goes into its log first.  A grant refused (a revoked laptop,
 * counted as the refused write): NULL with *|refused| set, and the record
 * is not written. */
static const fm_sealer *sealer_of(sim_world *w, sim_node *n, int *refused) {
  static fm_sealer s;
  fm_rng rng = {world_fill, w};
  fm_buf grant;
  *refused = 0;
  if (!w->opt.seal) return NULL;
  if (n->keys && n->keys_store != n->store) { /* restarted or restored */
    fm_keyring_free(n->keys);
    n->keys = NULL;
  }
  if (!n->keys && fm_keyring_new(n->store, &n->id, &n->keys) < 0)
    sim_world_fatal(w, "making a keyring", -ENOMEM);
  n->keys_store = n->store;
  fm_buf_init(&grant, FM_ENTRY_MAX);
  int rv, rounds = 0;
  while ((rv = fm_keyring_sealer(n->keys, sim_net_node_now(w, n), &rng, &grant, &s)) == 1) {
    if (++rounds > 64) sim_world_fatal(w, "readying a sealer: the grants do not settle", -EINVAL);
    if (append(w, n, FM_KIND_SEAL_GRANT, SIM_K_GRANT, &grant) != 0) {
      *refused = 1;
      break;
    }
    fm_keyring_granted(n->keys, own_head(n), &s);
  }
  if (rv == FM_ERR_AUTH) {
    w->m.writes_refused++;
    *refused = 1;
  } else if (rv < 0) {
    sim_world_fatal(w, "readying a sealer", rv);
  }
  fm_buf_free(&grant);
  return rv == 0 ? &s : NULL;
}

void sim_work_regrant(sim_world *w, sim_node *n) {
  fm_rng rng = {world_fill, w};
  fm_buf grant;
  int rv, rounds = 0;
  n->regrant_due = 0;
  if (!n->keys || n->keys_store != n->store || !n->up) return;
  fm_buf_init(&grant, FM_ENTRY_MAX);
  while ((rv = fm_keyring_extend(n->keys, sim_net_node_now(w, n), &rng, &grant)) == 1 &&
         rounds++ < 64)
    if (append(w, n, FM_KIND_SEAL_GRANT, SIM_K_GRANT, &grant) != 0) break;
  if (rv < 0 && rv != FM_ERR_AUTH) sim_world_fatal(w, "extending grants", rv);
  fm_buf_free(&grant);
}

static int build_visit(sim_world *w, sim_node *n, const sim_rhythm *r, fm_buf *b) {
  char id[FM_RECORD_ID_MAX], date[11], place[200], who[64];
  int64_t day;
  int minute;
  const char *village = village_for(w, n->idx);
  int mode = sim_weights_draw(&r->modes, &w->rng);
  mode = fm_mode_parse(r->modes.name[mode], strlen(r->modes.name[mode]));
  record_id(w, n, 'V', id);
  sim_cal_split(sim_net_node_now(w, n), w->sc->tz_min, &day, &minute);
  sim_cal_date(day, date);
  sim_name(sim_rng_next(&w->rng) % 100000, who, sizeof who);
  if (mode == FM_MODE_HOME) snprintf(place, sizeof place, "Hộ %s", who);
  else if (mode == FM_MODE_VILLAGE_POINT) snprintf(place, sizeof place, "Nhà văn hóa %s", village);
  else snprintf(place, sizeof place, "Bộ phận một cửa %s", w->sc->commune);
  uint64_t citizens = sim_dist_draw(&r->citizens, &w->rng);
  fm_visit_in v = {id, team_of(w, n->idx), village, place, date, "", mode,
                   draw_services(w, r), citizens ? citizens : 1};
  int refused;
  const fm_sealer *seal = sealer_of(w, n, &refused);
  if (refused) return -1;
  fm_buf_reset(b);
  return fm_visit_body_sealed(b, &v, seal);
}

static int build_dossier(sim_world *w, sim_node *n, const sim_weights *procs, fm_buf *b,
                         char *id) {
  char name[64], idnum[16], phone[16];
  int p = sim_weights_draw(procs, &w->rng);
  record_id(w, n, 'D', id);
  sim_name(sim_rng_next(&w->rng) % 100000, name, sizeof name);
  snprintf(idnum, sizeof idnum, "0%02u%09llu", (unsigned)sim_rng_below(&w->rng, 96),
           (unsigned long long)sim_rng_below(&w->rng, 1000000000));
  snprintf(phone, sizeof phone, "09%08llu", (unsigned long long)sim_rng_below(&w->rng, 100000000));
  fm_dossier_in d = {id, procs->name[p], name, idnum, phone, village_for(w, n->idx),
                     team_of(w, n->idx), "dichvucong.gov.vn", "", "", NULL};
  int refused;
  const fm_sealer *seal = sealer_of(w, n, &refused);
  if (refused) return -1;
  fm_buf_reset(b);
  return fm_dossier_body_sealed(b, &d, seal);
}

static void schedule_status(sim_world *w, size_t di, fm_time after) {
  const dossier *d = &w->work->d[di];
  const sim_rhythm *r = &w->sc->rhythms[w->sc->nodes[d->node].rhythm];
  const sim_range *delay = d->step == 0 ? &r->submit
                           : d->step == 1 ? &r->process
                           : d->step == 2 ? &r->ready
                                          : &r->deliver;
  fm_time at = next_work(w, d->node, after + sim_range_draw(delay, &w->rng));
  if (at != FM_TIME_NEVER) sim_world_at(w, at, SIM_EV_STATUS, (int)di, 0, 0, NULL, 0);
}

static void add_dossier(sim_world *w, int node, const char *id) {
  sim_work *wk = w->work;
  if (wk->n == wk->cap) {
    size_t cap = wk->cap ? wk->cap * 2 : 256;
    dossier *p = realloc(wk->d, cap * sizeof *p);
    if (!p) {
      sim_world_fatal(w, "out of memory", -ENOMEM);
      return;
    }
    wk->d = p;
    wk->cap = cap;
  }
  dossier *d = &wk->d[wk->n++];
  memset(d, 0, sizeof *d);
  snprintf(d->id, sizeof d->id, "%s", id);
  d->node = node;
  d->rejected = sim_rng_chance(&w->rng, w->sc->rhythms[w->sc->nodes[node].rhythm].reject);
  schedule_status(w, wk->n - 1, w->now);
}

/* A write that fails is counted, not fatal: a laptop that learned of a
 * later entry of its own key refuses to write (FM_ERR_BEHIND). */
static int append(sim_world *w, sim_node *n, const char *kind, sim_kind k, const fm_buf *b) {
  int rv = sim_node_append(w, n, &n->id, n->author, kind, k, b->p, b->len);
  if (rv == FM_ERR_BEHIND || (rv <= FM_ERR_AUTH && rv >= FM_ERR_MESH)) {
    w->m.writes_refused++;
    return rv;
  }
  if (rv < 0) sim_world_fatal(w, "appending an entry", rv);
  return rv;
}

/* The scan of the dossier |id| just filed on |n|, attached at once, as a
 * member scans the papers while the citizen is there. */
static void attach_scan(sim_world *w, sim_node *n, const char *id) {
  sim_author *a = &w->ledger.a[n->author];
  uint8_t *ids;
  size_t nchunks;
  int refused;
  const fm_sealer *seal = sealer_of(w, n, &refused);  /* may write grants first */
  if (refused) return;
  uint64_t before = a->n;
  int rv = sim_scan_make(w, n, id, seal, &w->work->body, &ids, &nchunks);
  if (rv < 0) {
    sim_world_fatal(w, "writing a scan", rv);
    return;
  }
  /* Only an entry the ledger took as the author's next one is expected
   * everywhere, and its chunks with it. */
  if (append(w, n, FM_KIND_DOSSIER_ATTACH, SIM_K_ATTACH, &w->work->body) == 0 &&
      a->n == before + 1) {
    if (sim_ledger_scan(&w->ledger, n->author, a->n, ids, nchunks, w->now) < 0)
      sim_world_fatal(w, "out of memory", -ENOMEM);
    else if (n->idx == w->sc->gateway)
      w->ledger.scans[w->ledger.nscans - 1].whole_at_gateway = w->now;
  }
  free(ids);
}

void sim_work_on_write(sim_world *w, const sim_event *ev) {
  sim_node *n = &w->nodes[ev->a];
  const sim_rhythm *r = &w->sc->rhythms[n->spec->rhythm];
  fm_buf *b = &w->work->body;
  char id[FM_RECORD_ID_MAX];
  if (!n->exists && n->spec->twin_of >= 0) return; /* the twin is not there yet */
  if (!n->up) {
    w->m.writes_down++;
    return;
  }
  int what = ev->b & ((1 << WHAT_CAMPAIGN_SHIFT) - 1), campaign = (ev->b >> WHAT_CAMPAIGN_SHIFT) - 1;
  if (what == WHAT_VISIT) {
    if (build_visit(w, n, r, b) == 0) append(w, n, FM_KIND_VISIT, SIM_K_VISIT, b);
    return;
  }
  const sim_weights *procs = campaign >= 0 ? &w->sc->campaigns[campaign].procedures : &r->procedures;
  if (build_dossier(w, n, procs, b, id) == 0 && append(w, n, FM_KIND_DOSSIER, SIM_K_DOSSIER, b) == 0) {
    add_dossier(w, n->idx, id);
    if (w->opt.scan_kb) attach_scan(w, n, id);
  }
}

/* ---- corrections: causality before clocks ------------------------------------------ */

#define CORRECT_TRIES 10

/* Another writer of |node|'s team, drawn at random; -1 when none. */
static int team_mate(sim_world *w, int node) {
  const sim_scenario *sc = w->sc;
  int team = sc->nodes[node].team, cand[64], n = 0;
  if (team < 0) return -1;
  for (size_t i = 0; i < sc->nnodes && n < 64; i++) {
    const sim_node_spec *sp = &sc->nodes[i];
    if ((int)i != node && sp->team == team && sp->rhythm >= 0 &&
        sp->hostile == SIM_HOSTILE_NONE && sp->twin_of < 0)
      cand[n++] = (int)i;
  }
  return n ? cand[sim_rng_below(&w->rng, (uint64_t)n)] : -1;
}

static void schedule_correct(sim_world *w, size_t di, int tries) {
  const dossier *d = &w->work->d[di];
  fm_time at = next_work(w, d->mate, w->now + (tries ? 3 : 1) * SIM_HOUR_MS);
  if (at != FM_TIME_NEVER) sim_world_at(w, at, SIM_EV_STATUS, (int)di, 1 + tries, 0, NULL, 0);
}

typedef struct seen {
  int found, status;
  fm_stamp stamp;             /* the status entry the laptop shows */
  fm_hlc order;               /* the latest order of the record: `after` */
} seen;

static int seen_cb(void *ctx, const char *id, size_t n, const uint8_t *rec, size_t len) {
  seen *s = ctx;
  fm_dossier_view v;
  (void)id;
  (void)n;
  if (fm_dossier_view_decode(rec, len, &v) < 0) return 0;
  s->found = 1;
  s->status = v.status;
  s->stamp = v.status_stamp;
  s->order = fm_dossier_view_seen(&v);
  return 0;
}

static int keep_correction(sim_work *wk, const dossier *d, const seen *s, const sim_node *n,
                           uint64_t seq) {
  if (wk->nc == wk->capc) {
    size_t cap = wk->capc ? wk->capc * 2 : 64;
    sim_correction *p = realloc(wk->c, cap * sizeof *p);
    if (!p) return -ENOMEM;
    wk->c = p;
    wk->capc = cap;
  }
  sim_correction *c = &wk->c[wk->nc++];
  snprintf(c->id, sizeof c->id, "%s", d->id);
  memcpy(c->seen_author, s->stamp.author, FM_KEY_LEN);
  c->seen_seq = s->stamp.seq;
  c->author = n->author;
  c->seq = seq;
  return 0;
}

/* The team-mate, having received the submitted status, corrects its
 * reference: a status of the same rank, written after seeing it (with
 * `after`), whatever the two laptops' clocks say. */
static void on_correct(sim_world *w, const sim_event *ev) {
  dossier *d = &w->work->d[ev->a];
  sim_node *n = &w->nodes[d->mate];
  fm_buf *b = &w->work->body;
  seen s;
  char ref[40];
  memset(&s, 0, sizeof s);
  if (n->up && n->store) fm_store_find_record(n->store, FM_VIEW_DOSSIER, d->id, seen_cb, &s);
  if (!s.found || !s.stamp.set || s.status == FM_ST_DRAFT) {
    /* Not received yet, or the laptop is off: look again later. */
    if (ev->b < CORRECT_TRIES) schedule_correct(w, (size_t)ev->a, ev->b);
    return;
  }
  if (fm_status_rank(s.status) != fm_status_rank(FM_ST_SUBMITTED)) return; /* moved on */
  snprintf(ref, sizeof ref, "G22.%03u-%06llu", (unsigned)sim_rng_below(&w->rng, 1000),
           (unsigned long long)sim_rng_below(&w->rng, 1000000));
  fm_buf_reset(b);
  if (fm_dossier_status_body_after(b, d->id, FM_ST_SUBMITTED, ref, "sửa số biên nhận",
                                   s.order) < 0 ||
      append(w, n, FM_KIND_DOSSIER_STATUS, SIM_K_STATUS, b) < 0)
    return;
  if (keep_correction(w->work, d, &s, n, w->ledger.a[n->author].n) < 0)
    sim_world_fatal(w, "recording a correction", -ENOMEM);
  w->m.corrections++;
}

void sim_work_on_status(sim_world *w, const sim_event *ev) {
  dossier *d = &w->work->d[ev->a];
  sim_node *n = &w->nodes[d->node];
  const sim_rhythm *r = &w->sc->rhythms[w->sc->nodes[d->node].rhythm];
  fm_buf *b = &w->work->body;
  char ref[40] = "";
  if (ev->b) {
    on_correct(w, ev);
    return;
  }
  if (!n->up) {
    /* The laptop is off: the member writes it at the next work block. */
    fm_time at = next_work(w, d->node, w->now + SIM_HOUR_MS);
    if (at != FM_TIME_NEVER) sim_world_at(w, at, SIM_EV_STATUS, ev->a, 0, 0, NULL, 0);
    return;
  }
  static const int ladder[4] = {FM_ST_SUBMITTED, FM_ST_PROCESSING, FM_ST_RESULT_READY,
                                FM_ST_DELIVERED};
  int st = ladder[d->step];
  if (d->step == 2 && d->rejected) st = FM_ST_REJECTED;
  if (d->step == 0)
    snprintf(ref, sizeof ref, "G22.%03u-%06llu", (unsigned)sim_rng_below(&w->rng, 1000),
             (unsigned long long)sim_rng_below(&w->rng, 1000000));
  fm_buf_reset(b);
  if (fm_dossier_status_body(b, d->id, st, ref, "") < 0) return;
  if (append(w, n, FM_KIND_DOSSIER_STATUS, SIM_K_STATUS, b) < 0) return;
  d->step++;
  if (d->step == 1 && r->correct > 0 && sim_rng_chance(&w->rng, r->correct) &&
      (d->mate = team_mate(w, d->node)) >= 0)
    schedule_correct(w, (size_t)ev->a, 0);
  if (d->step < 4 && st != FM_ST_REJECTED) schedule_status(w, (size_t)ev->a, w->now);
}
