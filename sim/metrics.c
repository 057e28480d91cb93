#include "metrics.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cal.h"

int sim_metrics_init(sim_metrics *m, size_t nnodes, size_t nauthors, int gateway) {
  memset(m, 0, sizeof *m);
  if (!(m->t = calloc(nnodes ? nnodes : 1, sizeof *m->t))) return -ENOMEM;
  for (size_t i = 0; i < nnodes; i++)
    if (!(m->t[i].held = calloc(nauthors ? nauthors : 1, sizeof(uint64_t)))) {
      m->nnodes = i;
      sim_metrics_free(m);
      return -ENOMEM;
    }
  m->nnodes = nnodes;
  m->nauthors = nauthors;
  m->gateway = gateway;
  return 0;
}

void sim_metrics_free(sim_metrics *m) {
  for (size_t i = 0; i < m->nnodes; i++) free(m->t[i].held);
  free(m->t);
  m->t = NULL;
}

static uint64_t contrib(const sim_author *a, uint64_t held) {
  return held >= a->expect ? 0 : a->expect - held;
}

/* Keeps |synced| and the count of synced nodes true to |lag|. */
static void settle(sim_metrics *m, sim_track *t, fm_time now) {
  int synced = t->honest && t->lag == 0;
  if (synced == t->synced) return;
  t->synced = synced;
  if (synced) {
    m->n_synced++;
    if (m->n_synced == m->n_honest) m->all_synced_at = now;
  } else {
    m->n_synced--;
  }
}

void sim_metrics_held(sim_metrics *m, sim_ledger *l, int node, size_t author, uint64_t seq,
                      fm_time now) {
  sim_track *t = &m->t[node];
  sim_author *a = &l->a[author];
  uint64_t old = t->held[author];
  if (old == seq) return;
  t->held[author] = seq;
  t->lag = t->lag - contrib(a, old) + contrib(a, seq);
  if (node == m->gateway)
    for (uint64_t s = old + 1; s <= seq && s <= a->n; s++)
      if (!a->e[s - 1].at_gateway) a->e[s - 1].at_gateway = now;
  settle(m, t, now);
}

void sim_metrics_wrote(sim_metrics *m, sim_ledger *l, int node, size_t author, uint64_t seq,
                       fm_time now) {
  const sim_author *a = &l->a[author];
  m->last_write_at = now;
  /* The ledger has already counted the entry: every node that does not
   * hold it now lags by one more (the writer too, until just below). */
  for (size_t i = 0; i < m->nnodes; i++) {
    sim_track *t = &m->t[i];
    if (t->held[author] < a->expect && a->expect == seq) t->lag++;
    settle(m, t, now);
  }
  sim_metrics_held(m, l, node, author, seq, now);
}

void sim_metrics_set_honest(sim_metrics *m, int node, int honest, fm_time now) {
  sim_track *t = &m->t[node];
  if (t->honest == honest) return;
  if (t->synced) {
    t->synced = 0;
    m->n_synced--;
  }
  t->honest = honest;
  m->n_honest += honest ? 1 : (size_t)-1;
  settle(m, t, now);
  if (!honest && m->n_honest && m->n_synced == m->n_honest) m->all_synced_at = now;
}

void sim_metrics_recount(sim_metrics *m, const sim_ledger *l, fm_time now) {
  for (size_t i = 0; i < m->nnodes; i++) {
    sim_track *t = &m->t[i];
    t->lag = 0;
    for (size_t k = 0; k < l->n; k++)
      if (l->a[k].node != -2) t->lag += contrib(&l->a[k], t->held[k]);
    settle(m, t, now);
  }
}

int sim_metrics_converged(const sim_metrics *m) {
  return m->n_honest > 0 && m->n_synced == m->n_honest;
}

uint64_t sim_metrics_field_created(const sim_metrics *m) {
  return m->created[SIM_K_VISIT] + m->created[SIM_K_DOSSIER] + m->created[SIM_K_STATUS] +
         m->created[SIM_K_ATTACH];
}

uint64_t sim_metrics_field_at(const sim_metrics *m, const sim_ledger *l, int node) {
  uint64_t n = 0;
  for (size_t k = 0; k < l->n; k++) {
    if (!sim_ledger_is_field(l, k)) continue;
    uint64_t h = m->t[node].held[k];
    n += h < l->a[k].n ? h : l->a[k].n;
  }
  return n;
}

void sim_metrics_csv_head(FILE *f) {
  fprintf(f, "hour,local_time,entries_created,entries_at_gateway,nodes_in_agreement,"
             "honest_nodes,sessions_open\n");
}

void sim_metrics_csv_row(const sim_metrics *m, const sim_ledger *l, FILE *f, fm_time t,
                         int tz_min, int64_t hour, size_t sessions_open) {
  char when[17];
  sim_cal_format(t, tz_min, when);
  fprintf(f, "%lld,%s,%llu,%llu,%zu,%zu,%zu\n", (long long)hour, when,
          (unsigned long long)sim_metrics_field_created(m),
          (unsigned long long)sim_metrics_field_at(m, l, m->gateway), m->n_synced, m->n_honest,
          sessions_open);
}
