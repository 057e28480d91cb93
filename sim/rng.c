#include "rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void sim_rng_seed(sim_rng *r, uint64_t seed) {
  uint64_t x = seed;
  for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t sim_rng_next(sim_rng *r) {
  uint64_t *s = r->s;
  uint64_t out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return out;
}

uint64_t sim_rng_below(sim_rng *r, uint64_t n) {
  if (n == 0) return 0;
  /* Rejection keeps the draw exactly uniform. */
  uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t x;
  do x = sim_rng_next(r);
  while (x >= limit);
  return x % n;
}

int64_t sim_rng_range(sim_rng *r, int64_t lo, int64_t hi) {
  if (hi <= lo) return lo;
  return lo + (int64_t)sim_rng_below(r, (uint64_t)(hi - lo) + 1);
}

double sim_rng_unit(sim_rng *r) {
  return (double)(sim_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

int sim_rng_chance(sim_rng *r, double p) {
  if (p <= 0) return 0;
  return sim_rng_unit(r) < p;
}

uint64_t sim_rng_poisson(sim_rng *r, double mean) {
  if (mean <= 0) return 0;
  if (mean > 30) {
    /* Normal approximation (Box-Muller): large means only. */
    double u1 = sim_rng_unit(r), u2 = sim_rng_unit(r);
    double z = sqrt(-2.0 * log(u1 > 0 ? u1 : 1e-300)) * cos(6.283185307179586 * u2);
    double v = mean + sqrt(mean) * z + 0.5;
    return v < 0 ? 0 : (uint64_t)v;
  }
  /* Knuth: multiply uniforms until the product drops below e^-mean. */
  double limit = exp(-mean), p = 1.0;
  uint64_t k = 0;
  for (;;) {
    p *= sim_rng_unit(r);
    if (p <= limit) return k;
    k++;
  }
}

void sim_rng_fill(void *ctx, uint8_t *out, size_t len) {
  sim_rng *r = ctx;
  while (len > 0) {
    uint64_t x = sim_rng_next(r);
    size_t n = len < 8 ? len : 8;
    for (size_t i = 0; i < n; i++) out[i] = (uint8_t)(x >> (8 * i));
    out += n;
    len -= n;
  }
}
