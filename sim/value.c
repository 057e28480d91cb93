#include "value.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* A non-negative decimal number and where it ends. */
static int number(const char *s, double *v, const char **end) {
  char *e;
  if (!(*s >= '0' && *s <= '9') && *s != '.') return -1;
  *v = strtod(s, &e);
  if (e == s || !isfinite(*v) || *v < 0) return -1;
  *end = e;
  return 0;
}

int sim_parse_duration(const char *s, fm_time *out) {
  static const struct { const char *unit; double ms; } units[] = {
      {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
  const char *e;
  double v;
  if (number(s, &v, &e) < 0) return -1;
  if (*e == 0 && v == 0) return *out = 0, 0;
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
    if (strcmp(e, units[i].unit) == 0) {
      double ms = v * units[i].ms;
      if (ms > 1e15) return -1;
      *out = (fm_time)(ms + 0.5);
      return 0;
    }
  return -1;
}

int sim_parse_offset(const char *s, fm_time *out) {
  int neg = *s == '-';
  fm_time t;
  if (*s == '-' || *s == '+') s++;
  if (sim_parse_duration(s, &t) < 0) return -1;
  *out = neg ? -t : t;
  return 0;
}

int sim_parse_range(const char *s, sim_range *out) {
  char a[32];
  const char *dash = strchr(s, '-');
  sim_range r;
  if (!dash) {
    if (sim_parse_duration(s, &r.lo) < 0) return -1;
    r.hi = r.lo;
  } else {
    size_t n = (size_t)(dash - s);
    if (n == 0 || n >= sizeof a) return -1;
    memcpy(a, s, n);
    a[n] = 0;
    if (sim_parse_duration(a, &r.lo) < 0 || sim_parse_duration(dash + 1, &r.hi) < 0 ||
        r.hi < r.lo)
      return -1;
  }
  *out = r;
  return 0;
}

fm_time sim_range_draw(const sim_range *r, sim_rng *rng) {
  return sim_rng_range(rng, r->lo, r->hi);
}

int sim_parse_rate(const char *s, uint64_t *out) {
  static const struct { const char *unit; double bps; } units[] = {
      {"B/s", 1},        {"kB/s", 1e3},        {"MB/s", 1e6},       {"GB/s", 1e9},
      {"bit/s", 0.125},  {"kbit/s", 125},      {"Mbit/s", 125000},  {"Gbit/s", 1.25e8}};
  const char *e;
  double v;
  if (number(s, &v, &e) < 0) return -1;
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
    if (strcmp(e, units[i].unit) == 0) {
      double r = v * units[i].bps;
      if (r < 1 || r > 1e12) return -1;
      *out = (uint64_t)r;
      return 0;
    }
  return -1;
}

int sim_parse_prob(const char *s, double *out) {
  const char *e;
  double v;
  if (number(s, &v, &e) < 0) return -1;
  if (*e == '%' && e[1] == 0) v /= 100;
  else if (*e) return -1;
  if (v > 1) return -1;
  *out = v;
  return 0;
}

int sim_parse_uint(const char *s, uint64_t *out) {
  char *e;
  if (!(*s >= '0' && *s <= '9')) return -1;
  unsigned long long v = strtoull(s, &e, 10);
  if (*e) return -1;
  *out = v;
  return 0;
}

int sim_parse_bytes(const char *s, uint64_t *out) {
  static const struct { const char *unit; double b; } units[] = {
      {"", 1}, {"B", 1}, {"kB", 1e3}, {"MB", 1e6}, {"KiB", 1024}, {"MiB", 1048576}};
  const char *e;
  double v;
  if (number(s, &v, &e) < 0) return -1;
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
    if (strcmp(e, units[i].unit) == 0) {
      *out = (uint64_t)(v * units[i].b);
      return 0;
    }
  return -1;
}

int sim_parse_dist(const char *s, sim_dist *out) {
  sim_dist d = {SIM_DIST_CONST, 0, 0};
  int n = 0;
  if (sscanf(s, "poisson(%lf)%n", &d.a, &n) == 1 && s[n] == 0) {
    d.kind = SIM_DIST_POISSON;
  } else if (sscanf(s, "uniform(%lf,%lf)%n", &d.a, &d.b, &n) == 2 && s[n] == 0) {
    d.kind = SIM_DIST_UNIFORM;
    if (d.b < d.a || d.a != floor(d.a) || d.b != floor(d.b)) return -1;
  } else {
    const char *e;
    if (number(s, &d.a, &e) < 0 || *e || d.a != floor(d.a)) return -1;
  }
  if (d.a < 0 || d.a > 1e6) return -1;
  *out = d;
  return 0;
}

uint64_t sim_dist_draw(const sim_dist *d, sim_rng *rng) {
  switch (d->kind) {
  case SIM_DIST_POISSON: return sim_rng_poisson(rng, d->a);
  case SIM_DIST_UNIFORM: return (uint64_t)sim_rng_range(rng, (int64_t)d->a, (int64_t)d->b);
  default: return (uint64_t)d->a;
  }
}

double sim_dist_mean(const sim_dist *d) {
  return d->kind == SIM_DIST_UNIFORM ? (d->a + d->b) / 2 : d->a;
}

int sim_parse_weights(const char *s, sim_weights *out) {
  sim_weights ws;
  memset(&ws, 0, sizeof ws);
  while (*s) {
    while (*s == ' ' || *s == ',' || *s == '\t') s++;
    if (!*s) break;
    size_t n = strcspn(s, " ,\t");
    const char *colon = memchr(s, ':', n);
    size_t name_len = colon ? (size_t)(colon - s) : n;
    uint64_t w = 1;
    if (ws.n == SIM_WEIGHTS_MAX || name_len == 0 || name_len >= SIM_WORD_MAX) return -1;
    if (colon) {
      char num[16];
      size_t k = n - name_len - 1;
      if (k == 0 || k >= sizeof num) return -1;
      memcpy(num, colon + 1, k);
      num[k] = 0;
      if (sim_parse_uint(num, &w) < 0 || w > 1000000) return -1;
    }
    memcpy(ws.name[ws.n], s, name_len);
    ws.name[ws.n][name_len] = 0;
    ws.w[ws.n++] = (uint32_t)w;
    ws.total += (uint32_t)w;
    s += n;
  }
  if (!ws.n || !ws.total) return -1;
  *out = ws;
  return 0;
}

int sim_weights_draw(const sim_weights *ws, sim_rng *rng) {
  if (!ws->n || !ws->total) return -1;
  uint64_t x = sim_rng_below(rng, ws->total);
  for (int i = 0; i < ws->n; i++) {
    if (x < ws->w[i]) return i;
    x -= ws->w[i];
  }
  return ws->n - 1;
}
