/* Loading a scenario: the commune, the rhythms, the teams and the nodes.
 * Links, faults and campaigns are in scenario_net.c. */
#include "scenario_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fieldmesh/procedure.h"
#include "fieldmesh/record.h"
#include "names.h"

int sim__scenario_fail(sim__load *L, int line, const char *fmt, ...) {
  char msg[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (line > 0) snprintf(L->err, L->cap, "%s:%d: %s", L->path, line, msg);
  else snprintf(L->err, L->cap, "%s: %s", L->path, msg);
  return -1;
}

int sim__scenario_keys(sim__load *L, const sim_ini_section *s, const char *const *known) {
  for (size_t i = 0; i < s->n; i++) {
    int ok = 0;
    for (const char *const *k = known; *k && !ok; k++) ok = !strcmp(*k, s->items[i].key);
    if (ok) continue;
    char list[400] = "";
    for (const char *const *k = known; *k; k++) {
      strncat(list, *k, sizeof list - strlen(list) - 1);
      if (k[1]) strncat(list, ", ", sizeof list - strlen(list) - 1);
    }
    return sim__scenario_fail(L, s->items[i].line, "[%s%s%s] has no key '%s' (known: %s)",
                              s->type, *s->name ? " " : "", s->name, s->items[i].key, list);
  }
  return 0;
}

int sim__scenario_text(sim__load *L, int line, const char *key, const char *v, char *dst,
                       size_t cap) {
  size_t n = strlen(v);
  if (n == 0 || n >= cap)
    return sim__scenario_fail(L, line, "%s: give a text of 1 to %zu bytes", key, cap - 1);
  memcpy(dst, v, n + 1);
  return 0;
}

int sim_scenario_node(const sim_scenario *sc, const char *id) {
  for (size_t i = 0; i < sc->nnodes; i++)
    if (!strcmp(sc->nodes[i].id, id)) return (int)i;
  return -1;
}

int sim__scenario_node_ref(sim__load *L, int line, const char *key, const char *id,
                           int *out) {
  int i = sim_scenario_node(L->sc, id);
  if (i >= 0) return *out = i, 0;
  char list[300] = "";
  for (size_t k = 0; k < L->sc->nnodes && k < 12; k++) {
    if (k) strncat(list, ", ", sizeof list - strlen(list) - 1);
    strncat(list, L->sc->nodes[k].id, sizeof list - strlen(list) - 1);
  }
  return sim__scenario_fail(L, line, "%s: no node '%s' (nodes: %s%s)", key, id, list,
                            L->sc->nnodes > 12 ? ", ..." : "");
}

int sim_scenario_when(const sim_scenario *sc, const char *s, fm_time *out) {
  char date[16], clock[8];
  int day, n = 0, minute;
  int64_t d;
  if (sscanf(s, "day %d %5s%n", &day, clock, &n) == 2 && s[n] == 0) {
    if (day < 1 || day > 100000) return -1;
    d = sc->start_day + day - 1;
  } else if (sscanf(s, "%10s %5s%n", date, clock, &n) == 2 && s[n] == 0) {
    if (sim_cal_parse_date(date, &d) < 0) return -1;
  } else {
    return -1;
  }
  if (sim_cal_parse_clock(clock, &minute) < 0) return -1;
  *out = sim_cal_at(d, minute, sc->tz_min);
  return 0;
}

/* ---- [scenario] and [authority] -------------------------------------------- */

static int load_head(sim__load *L, const sim_ini_section *s) {
  static const char *const keys[] = {"name", "title", "commune", "start", "days",
                                     "drain", "tz", "seed", "seal", "scan_kb", NULL};
  sim_scenario *sc = L->sc;
  const char *v;
  int line = s->line, tz;
  uint64_t u;
  if (sim__scenario_keys(L, s, keys) < 0) return -1;
  if (!(v = sim_ini_get(s, "name", &line)) ||
      sim__scenario_text(L, line, "name", v, sc->name, sizeof sc->name) < 0)
    return v ? -1 : sim__scenario_fail(L, s->line, "[scenario] needs name = ...");
  if ((v = sim_ini_get(s, "title", &line)) &&
      sim__scenario_text(L, line, "title", v, sc->title, sizeof sc->title) < 0)
    return -1;
  if (!(v = sim_ini_get(s, "commune", &line)) ||
      sim__scenario_text(L, line, "commune", v, sc->commune, sizeof sc->commune) < 0)
    return v ? -1 : sim__scenario_fail(L, s->line, "[scenario] needs commune = ...");
  if (!(v = sim_ini_get(s, "start", &line)) || sim_cal_parse_date(v, &sc->start_day) < 0)
    return sim__scenario_fail(L, line, "start: give the first day as YYYY-MM-DD");
  if (!(v = sim_ini_get(s, "days", &line)) || sim_parse_uint(v, &u) < 0 || u < 1 || u > 3660)
    return sim__scenario_fail(L, line, "days: give the days of field work, 1 to 3660");
  sc->days = (int)u;
  sc->drain = 14 * SIM_DAY_MS;
  if ((v = sim_ini_get(s, "drain", &line)) && sim_parse_duration(v, &sc->drain) < 0)
    return sim__scenario_fail(L, line, "drain: give a duration such as 14d");
  sc->tz_min = 7 * 60;
  if ((v = sim_ini_get(s, "tz", &line))) {
    if (sscanf(v, "%d", &tz) != 1 || tz < -12 || tz > 14)
      return sim__scenario_fail(L, line, "tz: give hours east of UTC, such as +7");
    sc->tz_min = tz * 60;
  }
  sc->seed = 1;
  if ((v = sim_ini_get(s, "seed", &line)) && sim_parse_uint(v, &sc->seed) < 0)
    return sim__scenario_fail(L, line, "seed: give a whole number");
  if ((v = sim_ini_get(s, "seal", &line))) {
    if (!strcmp(v, "yes")) sc->seal = 1;
    else if (strcmp(v, "no")) return sim__scenario_fail(L, line, "seal: give yes or no");
  }
  if ((v = sim_ini_get(s, "scan_kb", &line))) {
    if (sim_parse_uint(v, &u) < 0 || u > SIM_SCAN_KB_MAX)
      return sim__scenario_fail(L, line, "scan_kb: give the KiB of the scan attached to each "
                                         "dossier, 0 (none) to 7680");
    sc->scan_kb = (unsigned)u;
  }
  return 0;
}

/* ---- [rhythm ID] ---------------------------------------------------------------- */

static int check_names(sim__load *L, int line, const char *key, const sim_weights *w) {
  for (int i = 0; i < w->n; i++) {
    const char *n = w->name[i];
    size_t len = strlen(n);
    int ok = !strcmp(key, "modes")       ? fm_mode_parse(n, len) >= 0
             : !strcmp(key, "services")  ? fm_service_parse(n, len) >= 0
                                         : fm_procedure_find(n, len) != NULL;
    if (!ok)
      return sim__scenario_fail(L, line, "%s: '%s' is not known (see include/fieldmesh/%s)",
                                key, n, strcmp(key, "procedures") ? "record.h" : "procedure.h");
  }
  return 0;
}

static int rhythm_weights(sim__load *L, const sim_ini_section *s, const char *key,
                          const char *def, sim_weights *w) {
  int line = s->line;
  const char *v = sim_ini_get(s, key, &line);
  if (sim_parse_weights(v ? v : def, w) < 0)
    return sim__scenario_fail(L, line, "%s: give names with weights, such as %s", key, def);
  return check_names(L, line, key, w);
}

static int rhythm_dist(sim__load *L, const sim_ini_section *s, const char *key,
                       const char *def, sim_dist *d) {
  int line = s->line;
  const char *v = sim_ini_get(s, key, &line);
  if (sim_parse_dist(v ? v : def, d) < 0)
    return sim__scenario_fail(L, line, "%s: give 2, poisson(0.8) or uniform(1,4)", key);
  return 0;
}

static int rhythm_range(sim__load *L, const sim_ini_section *s, const char *key,
                        const char *def, sim_range *r) {
  int line = s->line;
  const char *v = sim_ini_get(s, key, &line);
  if (sim_parse_range(v ? v : def, r) < 0)
    return sim__scenario_fail(L, line, "%s: give a delay such as 2h or 1d-3d", key);
  return 0;
}

static int load_rhythm(sim__load *L, const sim_ini_section *s, sim_rhythm *r) {
  static const char *const keys[] = {"days", "hours", "visits", "dossiers", "citizens",
                                     "modes", "services", "procedures", "reject", "submit",
                                     "process", "ready", "deliver", "correct", NULL};
  const char *v;
  int line = s->line;
  if (sim__scenario_keys(L, s, keys) < 0 ||
      sim__scenario_text(L, s->line, "[rhythm NAME]", s->name, r->id, sizeof r->id) < 0)
    return -1;
  if (!(v = sim_ini_get(s, "days", &line)) || sim_cal_parse_days(v, &r->days) < 0)
    return sim__scenario_fail(L, line, "days: give days such as 'mon wed fri' or 'mon-sat'");
  if (!(v = sim_ini_get(s, "hours", &line)) || sim_cal_parse_hours(v, &r->hours) < 0)
    return sim__scenario_fail(L, line, "hours: give blocks such as '07:30-11:30 13:30-17:00'");
  r->reject = 0.03;
  if ((v = sim_ini_get(s, "reject", &line)) && sim_parse_prob(v, &r->reject) < 0)
    return sim__scenario_fail(L, line, "reject: give a share such as 0.03 or 3%%");
  r->correct = 0;
  if ((v = sim_ini_get(s, "correct", &line)) && sim_parse_prob(v, &r->correct) < 0)
    return sim__scenario_fail(L, line, "correct: give a share such as 0.2 or 20%%");
  if (rhythm_dist(L, s, "visits", "0", &r->visits) < 0 ||
      rhythm_dist(L, s, "dossiers", "0", &r->dossiers) < 0 ||
      rhythm_dist(L, s, "citizens", "uniform(1,3)", &r->citizens) < 0 ||
      rhythm_weights(L, s, "modes", "home:1", &r->modes) < 0 ||
      rhythm_weights(L, s, "services", "dossier_submitted:1", &r->services) < 0 ||
      rhythm_weights(L, s, "procedures", "chung_thuc:1", &r->procedures) < 0 ||
      rhythm_range(L, s, "submit", "0m-2h", &r->submit) < 0 ||
      rhythm_range(L, s, "process", "1d-3d", &r->process) < 0 ||
      rhythm_range(L, s, "ready", "2d-10d", &r->ready) < 0 ||
      rhythm_range(L, s, "deliver", "1d-7d", &r->deliver) < 0)
    return -1;
  return 0;
}

static int rhythm_ref(sim__load *L, int line, const char *v, int *out) {
  for (size_t i = 0; i < L->sc->nrhythms; i++)
    if (!strcmp(L->sc->rhythms[i].id, v)) return *out = (int)i, 0;
  return sim__scenario_fail(L, line, "rhythm: no [rhythm %s] in this file", v);
}

/* ---- nodes ------------------------------------------------------------------------ */

static sim_node_spec *new_node(sim__load *L, const char *id, int line) {
  sim_scenario *sc = L->sc;
  if (sim_scenario_node(sc, id) >= 0) {
    sim__scenario_fail(L, line, "node '%s' is defined twice", id);
    return NULL;
  }
  sim_node_spec *n = realloc(sc->nodes, (sc->nnodes + 1) * sizeof *n);
  if (!n) {
    sim__scenario_fail(L, line, "out of memory");
    return NULL;
  }
  sc->nodes = n;
  n = &sc->nodes[sc->nnodes++];
  memset(n, 0, sizeof *n);
  n->team = n->rhythm = n->twin_of = -1;
  n->line = line;
  if (sim__scenario_text(L, line, "node id", id, n->id, sizeof n->id) < 0) return NULL;
  return n;
}

/* "id | Name | role | village" */
static int member_line(sim__load *L, int team, const char *v, int line) {
  char buf[512], *f[4] = {NULL, NULL, NULL, NULL};
  int nf = 0;
  snprintf(buf, sizeof buf, "%s", v);
  for (char *p = buf; nf < 4; nf++) {
    f[nf] = p;
    char *bar = strchr(p, '|');
    if (!bar) {
      nf++;
      break;
    }
    *bar = 0;
    p = bar + 1;
  }
  for (int i = 0; i < nf; i++) {
    while (*f[i] == ' ') f[i]++;
    for (size_t n = strlen(f[i]); n && f[i][n - 1] == ' ';) f[i][--n] = 0;
  }
  if (nf < 3)
    return sim__scenario_fail(L, line, "member: give 'id | Name | role | village'");
  sim_node_spec *n = new_node(L, f[0], line);
  if (!n || sim__scenario_text(L, line, "member name", f[1], n->name, sizeof n->name) < 0)
    return -1;
  if (fm_role_parse(f[2], &n->role) < 0)
    return sim__scenario_fail(L, line, "member: role '%s' is not member, leader, gateway or admin", f[2]);
  n->team = team;
  n->rhythm = L->sc->teams[team].rhythm;
  const char *village = nf > 3 && *f[3] ? f[3] : L->sc->teams[team].villages[0];
  return sim__scenario_text(L, line, "member village", village, n->village, sizeof n->village);
}

static int generate_members(sim__load *L, int team, const char *v, int line) {
  uint64_t count;
  const sim_team *t = &L->sc->teams[team];
  if (sim_parse_uint(v, &count) < 0 || count < 1 || count > 1000)
    return sim__scenario_fail(L, line, "members: give how many to generate, 1 to 1000");
  for (uint64_t k = 1; k <= count; k++) {
    char id[SIM_ID_MAX + 8];
    snprintf(id, sizeof id, "%s-%llu", t->id, (unsigned long long)k);
    sim_node_spec *n = new_node(L, id, line);
    if (!n) return -1;
    sim_name(L->sc->nnodes * 13 + k, n->name, sizeof n->name);
    n->team = team;
    n->rhythm = t->rhythm;
    n->role = FM_ROLE_MEMBER;
    snprintf(n->village, sizeof n->village, "%s", t->villages[(k - 1) % (uint64_t)t->nvillages]);
  }
  return 0;
}

static int split_villages(sim__load *L, int line, const char *v, sim_team *t) {
  char buf[2048], *save = NULL;
  snprintf(buf, sizeof buf, "%s", v);
  for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    while (*tok == ' ') tok++;
    for (size_t n = strlen(tok); n && tok[n - 1] == ' ';) tok[--n] = 0;
    if (!*tok) continue;
    if (t->nvillages == FM_VILLAGES_MAX)
      return sim__scenario_fail(L, line, "villages: at most %d per team", FM_VILLAGES_MAX);
    if (sim__scenario_text(L, line, "villages", tok, t->villages[t->nvillages],
                           SIM_TEXT_MAX) < 0)
      return -1;
    t->nvillages++;
  }
  if (!t->nvillages) return sim__scenario_fail(L, line, "villages: give a comma-separated list");
  return 0;
}

static int load_team(sim__load *L, const sim_ini_section *s, int ti) {
  static const char *const keys[] = {"name", "villages", "rhythm", "member", "members", NULL};
  sim_team *t = &L->sc->teams[ti];
  const char *v;
  int line = s->line;
  memset(t, 0, sizeof *t);
  t->rhythm = -1;
  if (sim__scenario_keys(L, s, keys) < 0 ||
      sim__scenario_text(L, s->line, "[team ID]", s->name, t->id, sizeof t->id) < 0)
    return -1;
  if (!(v = sim_ini_get(s, "name", &line)) ||
      sim__scenario_text(L, line, "name", v, t->name, sizeof t->name) < 0)
    return v ? -1 : sim__scenario_fail(L, s->line, "[team %s] needs name = ...", t->id);
  if (!(v = sim_ini_get(s, "villages", &line)))
    return sim__scenario_fail(L, s->line, "[team %s] needs villages = A, B, ...", t->id);
  if (split_villages(L, line, v, t) < 0) return -1;
  if ((v = sim_ini_get(s, "rhythm", &line)) && rhythm_ref(L, line, v, &t->rhythm) < 0)
    return -1;
  for (size_t i = 0; i < s->n; i++) {
    const sim_ini_item *it = &s->items[i];
    if (!strcmp(it->key, "member") && member_line(L, ti, it->value, it->line) < 0) return -1;
    if (!strcmp(it->key, "members") && generate_members(L, ti, it->value, it->line) < 0)
      return -1;
  }
  return 0;
}

static int parse_hostile(sim__load *L, int line, const char *v, sim_hostile *h) {
  if (!strcmp(v, "noise")) *h = SIM_HOSTILE_NOISE;
  else if (!strcmp(v, "flip")) *h = SIM_HOSTILE_FLIP;
  else if (!strcmp(v, "oversize")) *h = SIM_HOSTILE_OVERSIZE;
  else return sim__scenario_fail(L, line, "hostile: give noise, flip or oversize");
  return 0;
}

/* [node ID]: a node of its own, or more about a team member. */
static int load_node(sim__load *L, const sim_ini_section *s) {
  static const char *const keys[] = {"name", "role", "team", "village", "rhythm", "hostile",
                                     "hostile_from", "twin_of", "appears", NULL};
  int i = sim_scenario_node(L->sc, s->name), line = s->line;
  const char *v;
  if (sim__scenario_keys(L, s, keys) < 0) return -1;
  sim_node_spec *n = i >= 0 ? &L->sc->nodes[i] : new_node(L, s->name, s->line);
  if (!n) return -1;
  if ((v = sim_ini_get(s, "name", &line)) &&
      sim__scenario_text(L, line, "name", v, n->name, sizeof n->name) < 0)
    return -1;
  if (!n->name[0]) return sim__scenario_fail(L, s->line, "[node %s] needs name = ...", n->id);
  if ((v = sim_ini_get(s, "role", &line)) && fm_role_parse(v, &n->role) < 0)
    return sim__scenario_fail(L, line, "role: give member, leader, gateway or admin");
  if ((v = sim_ini_get(s, "village", &line)) &&
      sim__scenario_text(L, line, "village", v, n->village, sizeof n->village) < 0)
    return -1;
  if ((v = sim_ini_get(s, "team", &line))) {
    n->team = -1;
    for (size_t k = 0; k < L->sc->nteams; k++)
      if (!strcmp(L->sc->teams[k].id, v)) n->team = (int)k;
    if (n->team < 0) return sim__scenario_fail(L, line, "team: no [team %s] in this file", v);
  }
  if ((v = sim_ini_get(s, "rhythm", &line)))
    n->rhythm = -1;
  if (v && strcmp(v, "none") && rhythm_ref(L, line, v, &n->rhythm) < 0) return -1;
  if ((v = sim_ini_get(s, "hostile", &line)) && parse_hostile(L, line, v, &n->hostile) < 0)
    return -1;
  /* A hostile node writes nothing: its entries are never expected anywhere. */
  if (n->hostile != SIM_HOSTILE_NONE) n->rhythm = -1;
  if ((v = sim_ini_get(s, "hostile_from", &line)) &&
      sim_scenario_when(L->sc, v, &n->hostile_from) < 0)
    return sim__scenario_fail(L, line, "hostile_from: give 'day 3 10:00' or '2023-08-03 10:00'");
  return 0;
}

/* Twins refer to nodes that may be defined later in the file. */
static int load_twin(sim__load *L, const sim_ini_section *s) {
  int i = sim_scenario_node(L->sc, s->name), line = s->line;
  const char *v = sim_ini_get(s, "twin_of", &line);
  if (!v) return 0;
  sim_node_spec *n = &L->sc->nodes[i];
  if (sim__scenario_node_ref(L, line, "twin_of", v, &n->twin_of) < 0) return -1;
  if (n->twin_of == i || L->sc->nodes[n->twin_of].twin_of >= 0)
    return sim__scenario_fail(L, line, "twin_of: name an ordinary node");
  if (!(v = sim_ini_get(s, "appears", &line)) || sim_scenario_when(L->sc, v, &n->appears) < 0)
    return sim__scenario_fail(L, line, "appears: a twin needs a time, such as 'day 3 08:00'");
  return 0;
}

/* ---- the whole file ------------------------------------------------------------------- */

static size_t count_sections(const sim_ini *ini, const char *type) {
  size_t n = 0;
  for (size_t i = 0; i < ini->n; i++) n += !strcmp(ini->sec[i].type, type);
  return n;
}

static int known_sections(sim__load *L) {
  static const char *const types[] = {"scenario", "authority", "rhythm", "team", "node",
                                      "link", "fault", "campaign", NULL};
  for (size_t i = 0; i < L->ini->n; i++) {
    int ok = 0;
    for (const char *const *t = types; *t; t++) ok |= !strcmp(*t, L->ini->sec[i].type);
    if (!ok)
      return sim__scenario_fail(L, L->ini->sec[i].line,
                                "[%s] is not a section (scenario, authority, rhythm, team, "
                                "node, link, fault, campaign)", L->ini->sec[i].type);
  }
  if (count_sections(L->ini, "scenario") != 1)
    return sim__scenario_fail(L, 0, "give exactly one [scenario] section");
  return 0;
}

static int load_people(sim__load *L) {
  const sim_ini *ini = L->ini;
  sim_scenario *sc = L->sc;
  sc->rhythms = calloc(count_sections(ini, "rhythm") + 1, sizeof *sc->rhythms);
  sc->teams = calloc(count_sections(ini, "team") + 1, sizeof *sc->teams);
  if (!sc->rhythms || !sc->teams) return sim__scenario_fail(L, 0, "out of memory");
  for (size_t i = 0; i < ini->n; i++)
    if (!strcmp(ini->sec[i].type, "scenario") && load_head(L, &ini->sec[i]) < 0) return -1;
  for (size_t i = 0; i < ini->n; i++)
    if (!strcmp(ini->sec[i].type, "rhythm") &&
        load_rhythm(L, &ini->sec[i], &sc->rhythms[sc->nrhythms++]) < 0)
      return -1;
  for (size_t i = 0; i < ini->n; i++)
    if (!strcmp(ini->sec[i].type, "team") && load_team(L, &ini->sec[i], (int)sc->nteams++) < 0)
      return -1;
  for (size_t i = 0; i < ini->n; i++)
    if (!strcmp(ini->sec[i].type, "node") && load_node(L, &ini->sec[i]) < 0) return -1;
  for (size_t i = 0; i < ini->n; i++)
    if (!strcmp(ini->sec[i].type, "node") && load_twin(L, &ini->sec[i]) < 0) return -1;
  return 0;
}

static int load_authority(sim__load *L) {
  static const char *const keys[] = {"name", "holder", NULL};
  sim_scenario *sc = L->sc;
  sc->gateway = sc->holder = -1;
  for (size_t i = 0; i < sc->nnodes; i++)
    if (sc->nodes[i].role == FM_ROLE_GATEWAY) {
      if (sc->gateway >= 0)
        return sim__scenario_fail(L, sc->nodes[i].line, "only one node may have role gateway");
      sc->gateway = sc->holder = (int)i;
    }
  if (sc->gateway < 0) return sim__scenario_fail(L, 0, "give one node with role = gateway");
  snprintf(sc->authority, sizeof sc->authority, "UBND %.100s", sc->commune);
  for (size_t i = 0; i < L->ini->n; i++) {
    const sim_ini_section *s = &L->ini->sec[i];
    const char *v;
    int line = s->line;
    if (strcmp(s->type, "authority")) continue;
    if (sim__scenario_keys(L, s, keys) < 0) return -1;
    if ((v = sim_ini_get(s, "name", &line)) &&
        sim__scenario_text(L, line, "name", v, sc->authority, sizeof sc->authority) < 0)
      return -1;
    if ((v = sim_ini_get(s, "holder", &line)) &&
        sim__scenario_node_ref(L, line, "holder", v, &sc->holder) < 0)
      return -1;
  }
  return 0;
}

int sim_scenario_load(const char *path, sim_scenario *out, char *err, size_t cap) {
  sim_ini ini;
  sim_scenario sc;
  memset(&sc, 0, sizeof sc);
  if (sim_ini_load(path, &ini, err, cap) < 0) return -1;
  sim__load L = {&sc, &ini, path, err, cap};
  snprintf(sc.path, sizeof sc.path, "%s", path);
  int rv = known_sections(&L);
  if (rv == 0) rv = load_people(&L);
  if (rv == 0) rv = load_authority(&L);
  if (rv == 0) rv = sim__scenario_campaigns(&L);
  if (rv == 0) rv = sim__scenario_links(&L);
  if (rv == 0) rv = sim__scenario_faults(&L);
  sim_ini_free(&ini);
  if (rv < 0) {
    sim_scenario_free(&sc);
    return -1;
  }
  *out = sc;
  return 0;
}

void sim_scenario_free(sim_scenario *sc) {
  for (size_t i = 0; i < sc->ncampaigns; i++) free(sc->campaigns[i].who);
  for (size_t i = 0; i < sc->nlinks; i++) free(sc->links[i].pairs);
  free(sc->campaigns);
  free(sc->links);
  free(sc->faults);
  free(sc->nodes);
  free(sc->teams);
  free(sc->rhythms);
  memset(sc, 0, sizeof *sc);
}
