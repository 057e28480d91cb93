#include "link.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>


#define BACKOFF_MAX SIM_HOUR_MS

int sim_link_init(sim_world *w) {
  const sim_scenario *sc = w->sc;
  if (!(w->links = calloc(sc->nlinks + 1, sizeof *w->links))) return -ENOMEM;
  for (size_t i = 0; i < sc->nlinks; i++) {
    sim_linkrt *l = &w->links[i];
    l->spec = &sc->links[i];
    l->fails = calloc(l->spec->npairs + 1, sizeof *l->fails);
    l->dialing = calloc(l->spec->npairs + 1, 1);
    if (!l->fails || !l->dialing) return -ENOMEM;
  }
  return 0;
}

void sim_link_free(sim_world *w) {
  if (!w->links) return;
  for (size_t i = 0; i < w->sc->nlinks; i++) {
    free(w->links[i].fails);
    free(w->links[i].dialing);
    fm_vector_free(&w->links[i].seen[0]);
    fm_vector_free(&w->links[i].seen[1]);
  }
  free(w->links);
  w->links = NULL;
}

int sim_link_up_at(const sim_world *w, int link, fm_time t) {
  const sim_link_spec *k = w->links[link].spec;
  int64_t day;
  int minute;
  sim_cal_split(t, w->sc->tz_min, &day, &minute);
  return sim_cal_within(k->days, &k->hours, day, minute);
}

void sim_link_day(sim_world *w, int64_t day) {
  for (size_t i = 0; i < w->sc->nlinks; i++) {
    const sim_link_spec *k = w->links[i].spec;
    if (!(k->days & (1u << sim_cal_weekday(day)))) continue;
    if (k->kind == SIM_LINK_USB) {
      sim_world_at(w, sim_cal_at(day, k->at_minute, w->sc->tz_min), SIM_EV_USB, (int)i, 0, 0,
                   NULL, 0);
      continue;
    }
    for (int s = 0; s < k->hours.n; s++) {
      sim_world_at(w, sim_cal_at(day, k->hours.s[s].from, w->sc->tz_min), SIM_EV_WINDOW,
                   (int)i, 1, 0, NULL, 0);
      sim_world_at(w, sim_cal_at(day, k->hours.s[s].to, w->sc->tz_min), SIM_EV_WINDOW, (int)i,
                   0, 0, NULL, 0);
    }
  }
}

static void dial_later(sim_world *w, int link, size_t pair, fm_time delay) {
  sim_linkrt *l = &w->links[link];
  if (l->dialing[pair]) return;
  l->dialing[pair] = 1;
  sim_world_at(w, w->now + delay, SIM_EV_CONTACT, link, (int)pair, 0, NULL, 0);
}

void sim_link_on_window(sim_world *w, const sim_event *ev) {
  sim_linkrt *l = &w->links[ev->a];
  if (ev->b) {
    if (l->open) return;
    l->open = 1;
    for (size_t p = 0; p < l->spec->npairs; p++) {
      l->fails[p] = 0;
      dial_later(w, ev->a, p, sim_rng_range(&w->rng, 0, l->spec->jitter));
    }
    return;
  }
  /* Back-to-back windows (one ends as the next begins) are one. */
  if (!l->open || sim_link_up_at(w, ev->a, w->now)) return;
  l->open = 0;
  sim_net_kill_link(w, ev->a, SIM_END_LINK_DOWN);
}

void sim_link_on_contact(sim_world *w, const sim_event *ev) {
  sim_linkrt *l = &w->links[ev->a];
  const sim_pair *p = &l->spec->pairs[ev->b];
  l->dialing[ev->b] = 0;
  if (!l->open || w->ended) return;
  const sim_node *a = &w->nodes[p->a], *b = &w->nodes[p->b];
  if (!a->up || !b->up || sim_net_connected(w, p->a, p->b)) return;
  int rv = sim_net_connect(w, ev->a, (size_t)ev->b);
  if (rv < 0) sim_world_fatal(w, "opening a connection", rv);
}

void sim_link_ended(sim_world *w, int link, size_t pair, sim_end why, int failed) {
  sim_linkrt *l = &w->links[link];
  if (why == SIM_END_LINK_DOWN || why == SIM_END_CRASH || why == SIM_END_RUN_OVER) return;
  fm_time delay = l->spec->retry;
  if (failed) {
    uint32_t f = l->fails[pair] < 12 ? l->fails[pair]++ : l->fails[pair];
    for (uint32_t i = 0; i < f && delay < BACKOFF_MAX; i++) delay *= 2;
    if (delay > BACKOFF_MAX) delay = BACKOFF_MAX;
  } else {
    l->fails[pair] = 0;
    /* Caught up and said goodbye: the next window will do. */
    if (l->spec->mode == SIM_MODE_SYNC) return;
  }
  if (l->open) dial_later(w, link, pair, delay);
}

void sim_link_node_up(sim_world *w, int node) {
  for (size_t i = 0; i < w->sc->nlinks; i++) {
    sim_linkrt *l = &w->links[i];
    if (!l->open) continue;
    for (size_t p = 0; p < l->spec->npairs; p++)
      if (l->spec->pairs[p].a == node || l->spec->pairs[p].b == node)
        dial_later(w, (int)i, p, sim_rng_range(&w->rng, 5000, 60000));
  }
}
