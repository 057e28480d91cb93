/* Loading a scenario: links, faults and campaigns, and the node sets they
 * name ("all", "team:t1", "role:leader", ids). */
#include "scenario_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fieldmesh/procedure.h"

/* ---- node sets ----------------------------------------------------------------- */

/* Marks in |in| (one byte per node) the nodes |tok| names.  Twins only
 * come in by their id: they are not there from the start. */
static int set_token(sim__load *L, int line, const char *key, const char *tok, uint8_t *in) {
  const sim_scenario *sc = L->sc;
  if (!strcmp(tok, "all")) {
    for (size_t i = 0; i < sc->nnodes; i++) in[i] |= sc->nodes[i].twin_of < 0;
    return 0;
  }
  if (!strncmp(tok, "team:", 5)) {
    int found = 0;
    for (size_t t = 0; t < sc->nteams; t++) {
      if (strcmp(sc->teams[t].id, tok + 5)) continue;
      found = 1;
      for (size_t i = 0; i < sc->nnodes; i++)
        in[i] |= sc->nodes[i].team == (int)t && sc->nodes[i].twin_of < 0;
    }
    if (!found) return sim__scenario_fail(L, line, "%s: no [team %s]", key, tok + 5);
    return 0;
  }
  if (!strncmp(tok, "role:", 5)) {
    fm_role r;
    if (fm_role_parse(tok + 5, &r) < 0)
      return sim__scenario_fail(L, line, "%s: '%s' is not a role (member, leader, gateway, admin)",
                                key, tok + 5);
    for (size_t i = 0; i < sc->nnodes; i++)
      in[i] |= sc->nodes[i].role == r && sc->nodes[i].twin_of < 0;
    return 0;
  }
  int i;
  if (sim__scenario_node_ref(L, line, key, tok, &i) < 0) return -1;
  in[i] = 1;
  return 0;
}

/* Parses the words of |s| from the |skip|th on as a node set. */
static int parse_set(sim__load *L, int line, const char *key, const char *s, int skip,
                     uint8_t *in) {
  char buf[4096], *save = NULL;
  int k = 0;
  snprintf(buf, sizeof buf, "%s", s);
  for (char *tok = strtok_r(buf, " \t,", &save); tok; tok = strtok_r(NULL, " \t,", &save), k++)
    if (k >= skip && set_token(L, line, key, tok, in) < 0) return -1;
  return 0;
}

/* ---- pairs ------------------------------------------------------------------------- */

typedef struct pairs {
  sim_pair *p;
  size_t n, cap;
} pairs;

static int add_pair(pairs *ps, int a, int b) {
  if (a == b) return 0;
  for (size_t i = 0; i < ps->n; i++)
    if ((ps->p[i].a == a && ps->p[i].b == b) || (ps->p[i].a == b && ps->p[i].b == a)) return 0;
  if (ps->n == ps->cap) {
    size_t cap = ps->cap ? ps->cap * 2 : 16;
    sim_pair *p = realloc(ps->p, cap * sizeof *p);
    if (!p) return -1;
    ps->p = p;
    ps->cap = cap;
  }
  ps->p[ps->n].a = a;
  ps->p[ps->n].b = b;
  ps->n++;
  return 0;
}

static int mesh_of(pairs *ps, const uint8_t *in, size_t n) {
  for (size_t a = 0; a < n; a++)
    for (size_t b = a + 1; b < n && in[a]; b++)
      if (in[b] && add_pair(ps, (int)a, (int)b) < 0) return -1;
  return 0;
}

/* Each team's leaders with each other member of the team: members dial. */
static int team_star(sim__load *L, int line, pairs *ps) {
  const sim_scenario *sc = L->sc;
  for (size_t t = 0; t < sc->nteams; t++) {
    int leaders = 0;
    for (size_t h = 0; h < sc->nnodes; h++) {
      const sim_node_spec *hub = &sc->nodes[h];
      if (hub->team != (int)t || hub->role != FM_ROLE_LEADER || hub->twin_of >= 0) continue;
      leaders++;
      for (size_t m = 0; m < sc->nnodes; m++)
        if (sc->nodes[m].team == (int)t && sc->nodes[m].role != FM_ROLE_LEADER &&
            sc->nodes[m].twin_of < 0 && add_pair(ps, (int)m, (int)h) < 0)
          return -1;
    }
    if (!leaders)
      return sim__scenario_fail(L, line, "peers: team-star needs a leader in [team %s]",
                                sc->teams[t].id);
  }
  return 0;
}

/* Members living in the same village, with each other. */
static int village_mesh(sim__load *L, pairs *ps) {
  const sim_scenario *sc = L->sc;
  for (size_t a = 0; a < sc->nnodes; a++)
    for (size_t b = a + 1; b < sc->nnodes; b++) {
      const sim_node_spec *x = &sc->nodes[a], *y = &sc->nodes[b];
      if (x->twin_of >= 0 || y->twin_of >= 0 || !x->village[0] || x->role == FM_ROLE_GATEWAY ||
          y->role == FM_ROLE_GATEWAY || strcmp(x->village, y->village))
        continue;
      if (add_pair(ps, (int)a, (int)b) < 0) return -1;
    }
  return 0;
}

static int explicit_pairs(sim__load *L, int line, const char *s, pairs *ps) {
  char buf[4096], *save = NULL;
  int k = 0;
  snprintf(buf, sizeof buf, "%s", s);
  for (char *tok = strtok_r(buf, " \t,", &save); tok; tok = strtok_r(NULL, " \t,", &save), k++) {
    if (k == 0) continue;
    char *colon = strchr(tok, ':');
    int a, b;
    if (!colon) return sim__scenario_fail(L, line, "peers: pairs are written a:b");
    *colon = 0;
    if (sim__scenario_node_ref(L, line, "peers", tok, &a) < 0 ||
        sim__scenario_node_ref(L, line, "peers", colon + 1, &b) < 0 || add_pair(ps, a, b) < 0)
      return -1;
  }
  return 0;
}

static int star_of(sim__load *L, int line, const char *s, pairs *ps, uint8_t *in) {
  char hub_id[SIM_ID_MAX + 1];
  int hub;
  if (sscanf(s, "star %32s", hub_id) != 1)
    return sim__scenario_fail(L, line, "peers: write 'star HUB SET'");
  if (sim__scenario_node_ref(L, line, "peers", hub_id, &hub) < 0 ||
      parse_set(L, line, "peers", s, 2, in) < 0)
    return -1;
  for (size_t i = 0; i < L->sc->nnodes; i++)
    if (in[i] && (int)i != hub && add_pair(ps, (int)i, hub) < 0) return -1;
  return 0;
}

static int parse_peers(sim__load *L, int line, const char *s, sim_link_spec *k) {
  pairs ps = {NULL, 0, 0};
  uint8_t *in = calloc(L->sc->nnodes + 1, 1);
  int rv;
  if (!in) return sim__scenario_fail(L, line, "out of memory");
  if (!strncmp(s, "mesh ", 5)) {
    rv = parse_set(L, line, "peers", s, 1, in);
    if (rv == 0) rv = mesh_of(&ps, in, L->sc->nnodes);
  } else if (!strncmp(s, "star ", 5)) {
    rv = star_of(L, line, s, &ps, in);
  } else if (!strcmp(s, "team-star")) {
    rv = team_star(L, line, &ps);
  } else if (!strcmp(s, "village-mesh")) {
    rv = village_mesh(L, &ps);
  } else if (!strncmp(s, "pairs ", 6)) {
    rv = explicit_pairs(L, line, s, &ps);
  } else {
    rv = sim__scenario_fail(L, line, "peers: write 'mesh SET', 'star HUB SET', 'team-star', "
                                     "'village-mesh' or 'pairs a:b c:d'");
  }
  free(in);
  if (rv == 0 && ps.n == 0) rv = sim__scenario_fail(L, line, "peers: names no pair of nodes");
  if (rv < 0) {
    free(ps.p);
    return -1;
  }
  k->pairs = ps.p;
  k->npairs = ps.n;
  return 0;
}

/* ---- [link ID] ------------------------------------------------------------------------ */

static int link_defaults(sim__load *L, const sim_ini_section *s, sim_link_spec *k) {
  int line = s->line;
  const char *v = sim_ini_get(s, "kind", &line);
  if (!v || !strcmp(v, "lan")) k->kind = SIM_LINK_LAN;
  else if (!strcmp(v, "3g")) k->kind = SIM_LINK_3G;
  else if (!strcmp(v, "usb")) k->kind = SIM_LINK_USB;
  else return sim__scenario_fail(L, line, "kind: give lan, 3g or usb");
  int slow = k->kind == SIM_LINK_3G;
  k->mode = SIM_MODE_STAY;
  k->latency = slow ? 250 : 2;
  k->bandwidth = slow ? 50000 : 10000000;
  k->loss = slow ? 0.01 : 0;
  k->jitter = slow ? 5 * SIM_MIN_MS : 10 * SIM_MIN_MS;
  k->ping = 15000;
  k->ping_max = 30 * SIM_MIN_MS;
  k->idle = 60000;
  k->retry = slow ? 2 * SIM_MIN_MS : 30000;
  k->carry = SIM_HOUR_MS;
  return 0;
}

static int link_duration(sim__load *L, const sim_ini_section *s, const char *key, fm_time *t) {
  int line = s->line;
  const char *v = sim_ini_get(s, key, &line);
  if (v && sim_parse_duration(v, t) < 0)
    return sim__scenario_fail(L, line, "%s: give a duration such as 250ms, 30s, 5m", key);
  return 0;
}

static int link_shape(sim__load *L, const sim_ini_section *s, sim_link_spec *k) {
  const char *v;
  int line = s->line;
  if ((v = sim_ini_get(s, "mode", &line))) {
    if (!strcmp(v, "stay")) k->mode = SIM_MODE_STAY;
    else if (!strcmp(v, "sync")) k->mode = SIM_MODE_SYNC;
    else return sim__scenario_fail(L, line, "mode: give stay or sync");
  }
  if ((v = sim_ini_get(s, "bandwidth", &line)) && sim_parse_rate(v, &k->bandwidth) < 0)
    return sim__scenario_fail(L, line, "bandwidth: give a rate such as 10MB/s or 384kbit/s");
  if ((v = sim_ini_get(s, "loss", &line)) && sim_parse_prob(v, &k->loss) < 0)
    return sim__scenario_fail(L, line, "loss: give a chance per 16 KiB such as 0.02 or 2%%");
  if (link_duration(L, s, "latency", &k->latency) < 0 ||
      link_duration(L, s, "jitter", &k->jitter) < 0 || link_duration(L, s, "ping", &k->ping) < 0 ||
      link_duration(L, s, "idle", &k->idle) < 0 || link_duration(L, s, "retry", &k->retry) < 0 ||
      link_duration(L, s, "ping_max", &k->ping_max) < 0)
    return -1;
  if (k->ping < 1000 || k->idle <= k->ping || k->retry < 1000)
    return sim__scenario_fail(L, s->line, "[link %s]: ping >= 1s, idle > ping, retry >= 1s", k->id);
  return 0;
}

static int link_usb(sim__load *L, const sim_ini_section *s, sim_link_spec *k) {
  const char *v;
  int line = s->line;
  if (!(v = sim_ini_get(s, "from", &line)))
    return sim__scenario_fail(L, s->line, "[link %s]: a usb link needs from = NODE", k->id);
  if (!(k->pairs = calloc(1, sizeof *k->pairs))) return sim__scenario_fail(L, line, "out of memory");
  k->npairs = 1;
  if (sim__scenario_node_ref(L, line, "from", v, &k->pairs[0].a) < 0) return -1;
  if (!(v = sim_ini_get(s, "to", &line)))
    return sim__scenario_fail(L, s->line, "[link %s]: a usb link needs to = NODE", k->id);
  if (sim__scenario_node_ref(L, line, "to", v, &k->pairs[0].b) < 0) return -1;
  if (!(v = sim_ini_get(s, "at", &line)) || sim_cal_parse_clock(v, &k->at_minute) < 0)
    return sim__scenario_fail(L, line, "at: give the time the stick leaves, such as 16:00");
  return link_duration(L, s, "carry", &k->carry);
}

static int load_link(sim__load *L, const sim_ini_section *s, sim_link_spec *k) {
  static const char *const keys[] = {"kind", "peers", "days", "hours", "mode", "jitter",
                                     "latency", "bandwidth", "loss", "ping", "ping_max", "idle", "retry",
                                     "from", "to", "at", "carry", NULL};
  const char *v;
  int line = s->line;
  memset(k, 0, sizeof *k);
  k->line = s->line;
  if (sim__scenario_keys(L, s, keys) < 0 ||
      sim__scenario_text(L, s->line, "[link ID]", s->name, k->id, sizeof k->id) < 0 ||
      link_defaults(L, s, k) < 0)
    return -1;
  if (!(v = sim_ini_get(s, "days", &line)) || sim_cal_parse_days(v, &k->days) < 0)
    return sim__scenario_fail(L, line, "days: give days such as 'fri' or 'daily'");
  if (k->kind == SIM_LINK_USB) return link_usb(L, s, k);
  if (!(v = sim_ini_get(s, "hours", &line)) || sim_cal_parse_hours(v, &k->hours) < 0)
    return sim__scenario_fail(L, line, "hours: give windows such as '15:30-17:00'");
  if (!(v = sim_ini_get(s, "peers", &line)))
    return sim__scenario_fail(L, s->line, "[link %s] needs peers = ...", k->id);
  if (parse_peers(L, line, v, k) < 0) return -1;
  return link_shape(L, s, k);
}

int sim__scenario_links(sim__load *L) {
  sim_scenario *sc = L->sc;
  size_t n = 0;
  for (size_t i = 0; i < L->ini->n; i++) n += !strcmp(L->ini->sec[i].type, "link");
  if (!(sc->links = calloc(n + 1, sizeof *sc->links))) return sim__scenario_fail(L, 0, "out of memory");
  for (size_t i = 0; i < L->ini->n; i++)
    if (!strcmp(L->ini->sec[i].type, "link") &&
        load_link(L, &L->ini->sec[i], &sc->links[sc->nlinks++]) < 0)
      return -1;
  return 0;
}

/* ---- [fault ID] ------------------------------------------------------------------------- */

static int fault_target(sim__load *L, const sim_ini_section *s, sim_fault_spec *f) {
  const char *v;
  int line = s->line;
  if (f->kind == SIM_FAULT_CUT) {
    if (!(v = sim_ini_get(s, "link", &line)))
      return sim__scenario_fail(L, s->line, "[fault %s]: a cut needs link = ID", f->id);
    f->link = -1;
    for (size_t i = 0; i < L->sc->nlinks; i++)
      if (!strcmp(L->sc->links[i].id, v) && L->sc->links[i].kind != SIM_LINK_USB) f->link = (int)i;
    if (f->link < 0) return sim__scenario_fail(L, line, "link: no network [link %s]", v);
    if ((v = sim_ini_get(s, "bytes", &line)) && sim_parse_bytes(v, &f->bytes) < 0)
      return sim__scenario_fail(L, line, "bytes: give a size such as 200kB");
    return 0;
  }
  if (!(v = sim_ini_get(s, "node", &line)))
    return sim__scenario_fail(L, s->line, "[fault %s] needs node = ID", f->id);
  return sim__scenario_node_ref(L, line, "node", v, &f->node);
}

static int fault_params(sim__load *L, const sim_ini_section *s, sim_fault_spec *f) {
  const char *v;
  int line = s->line;
  f->down = SIM_HOUR_MS;
  f->until = FM_TIME_NEVER;
  if ((v = sim_ini_get(s, "down", &line)) && sim_parse_duration(v, &f->down) < 0)
    return sim__scenario_fail(L, line, "down: give how long the laptop stays off, such as 2h");
  f->age = SIM_DAY_MS;
  if ((v = sim_ini_get(s, "age", &line)) && (sim_parse_duration(v, &f->age) < 0 || f->age <= 0))
    return sim__scenario_fail(L, line, "age: give how old the copy put back is, such as 1d");
  if ((v = sim_ini_get(s, "offset", &line)) && sim_parse_offset(v, &f->offset) < 0)
    return sim__scenario_fail(L, line, "offset: give how far the clock is off, such as +3d or -2d");
  if (f->kind == SIM_FAULT_CLOCK && !v)
    return sim__scenario_fail(L, s->line, "[fault %s]: a clock fault needs offset = ...", f->id);
  if ((v = sim_ini_get(s, "until", &line)) && sim_scenario_when(L->sc, v, &f->until) < 0)
    return sim__scenario_fail(L, line, "until: give 'day 9 08:00' or '2023-08-09 08:00'");
  f->after = SIM_AFTER_GATEWAY;
  if ((v = sim_ini_get(s, "after", &line)) && strcmp(v, "gateway")) {
    if (!strcmp(v, "fork")) f->after = SIM_AFTER_FORK;
    else if (sim_parse_uint(v, &f->after_seq) == 0) f->after = SIM_AFTER_SEQ;
    else return sim__scenario_fail(L, line, "after: give gateway, fork or a seq number");
  }
  return 0;
}

static int load_fault(sim__load *L, const sim_ini_section *s, sim_fault_spec *f) {
  static const char *const keys[] = {"kind", "node", "link", "at", "bytes", "down",
                                     "offset", "until", "after", "age", NULL};
  static const char *const kinds[] = {"cut", "crash", "clock", "revoke", "restore"};
  const char *v;
  int line = s->line;
  memset(f, 0, sizeof *f);
  f->line = s->line;
  f->node = f->link = -1;
  if (sim__scenario_keys(L, s, keys) < 0 ||
      sim__scenario_text(L, s->line, "[fault ID]", s->name, f->id, sizeof f->id) < 0)
    return -1;
  v = sim_ini_get(s, "kind", &line);
  int kind = -1;
  for (int i = 0; v && i < 5; i++)
    if (!strcmp(v, kinds[i])) kind = i;
  if (kind < 0) return sim__scenario_fail(L, line, "kind: give cut, crash, clock, revoke or restore");
  f->kind = (sim_fault_kind)kind;
  if (!(v = sim_ini_get(s, "at", &line)) || sim_scenario_when(L->sc, v, &f->at) < 0)
    return sim__scenario_fail(L, line, "at: give 'day 3 10:00' or '2023-08-03 10:00'");
  if (fault_target(L, s, f) < 0 || fault_params(L, s, f) < 0) return -1;
  if (f->kind == SIM_FAULT_REVOKE && f->node == L->sc->holder)
    return sim__scenario_fail(L, s->line, "[fault %s]: the authority's holder cannot be revoked", f->id);
  return 0;
}

int sim__scenario_faults(sim__load *L) {
  sim_scenario *sc = L->sc;
  size_t n = 0;
  for (size_t i = 0; i < L->ini->n; i++) n += !strcmp(L->ini->sec[i].type, "fault");
  if (!(sc->faults = calloc(n + 1, sizeof *sc->faults))) return sim__scenario_fail(L, 0, "out of memory");
  for (size_t i = 0; i < L->ini->n; i++)
    if (!strcmp(L->ini->sec[i].type, "fault") &&
        load_fault(L, &L->ini->sec[i], &sc->faults[sc->nfaults++]) < 0)
      return -1;
  return 0;
}

/* ---- [campaign ID] ------------------------------------------------------------------------ */

static int load_campaign(sim__load *L, const sim_ini_section *s, sim_campaign *c) {
  static const char *const keys[] = {"title", "from", "to", "dossiers", "procedures", "who", NULL};
  const char *v;
  int line = s->line;
  if (sim__scenario_keys(L, s, keys) < 0 ||
      sim__scenario_text(L, s->line, "[campaign ID]", s->name, c->id, sizeof c->id) < 0)
    return -1;
  snprintf(c->title, sizeof c->title, "%s", (v = sim_ini_get(s, "title", NULL)) ? v : c->id);
  if (!(v = sim_ini_get(s, "from", &line)) || sim_cal_parse_date(v, &c->from_day) < 0)
    return sim__scenario_fail(L, line, "from: give the first day as YYYY-MM-DD");
  if (!(v = sim_ini_get(s, "to", &line)) || sim_cal_parse_date(v, &c->to_day) < 0 ||
      c->to_day < c->from_day)
    return sim__scenario_fail(L, line, "to: give the last day as YYYY-MM-DD, not before from");
  if (!(v = sim_ini_get(s, "dossiers", &line)) || sim_parse_uint(v, &c->dossiers) < 0 ||
      c->dossiers > 1000000)
    return sim__scenario_fail(L, line, "dossiers: give how many dossiers the campaign files");
  if (!(v = sim_ini_get(s, "procedures", &line)) || sim_parse_weights(v, &c->procedures) < 0)
    return sim__scenario_fail(L, line, "procedures: give codes with weights, such as gia_dinh_van_hoa");
  for (int i = 0; i < c->procedures.n; i++)
    if (!fm_procedure_find(c->procedures.name[i], strlen(c->procedures.name[i])))
      return sim__scenario_fail(L, line, "procedures: '%s' is not in the catalogue "
                                         "(include/fieldmesh/procedure.h)", c->procedures.name[i]);
  if (!(c->who = calloc(L->sc->nnodes + 1, 1))) return sim__scenario_fail(L, line, "out of memory");
  if (!(v = sim_ini_get(s, "who", &line)))
    return sim__scenario_fail(L, s->line, "[campaign %s] needs who = SET (all, team:ID, role:member)", c->id);
  if (parse_set(L, line, "who", v, 0, c->who) < 0) return -1;
  for (size_t i = 0; i < L->sc->nnodes; i++)
    if (c->who[i] && L->sc->nodes[i].rhythm < 0) c->who[i] = 0; /* no work days, no dossiers */
  return 0;
}

int sim__scenario_campaigns(sim__load *L) {
  sim_scenario *sc = L->sc;
  size_t n = 0;
  for (size_t i = 0; i < L->ini->n; i++) n += !strcmp(L->ini->sec[i].type, "campaign");
  if (!(sc->campaigns = calloc(n + 1, sizeof *sc->campaigns)))
    return sim__scenario_fail(L, 0, "out of memory");
  for (size_t i = 0; i < L->ini->n; i++)
    if (!strcmp(L->ini->sec[i].type, "campaign") &&
        load_campaign(L, &L->ini->sec[i], &sc->campaigns[sc->ncampaigns++]) < 0)
      return -1;
  return 0;
}
