/* The simulator's one source of randomness.
 *
 * Every random choice of a run (keys, nonces, workloads, jitter, losses)
 * comes from one sim_rng seeded from --seed, drawn in event order, so the
 * same scenario and seed give the same run byte for byte.  xoshiro256**
 * seeded through splitmix64: small, fast, and the same on every platform.
 */
#ifndef SIM_RNG_H
#define SIM_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct sim_rng {
  uint64_t s[4];
} sim_rng;

void sim_rng_seed(sim_rng *r, uint64_t seed);
uint64_t sim_rng_next(sim_rng *r);
/* Uniform in [0, n); 0 when n is 0. */
uint64_t sim_rng_below(sim_rng *r, uint64_t n);
/* Uniform in [lo, hi] (inclusive); lo when hi <= lo. */
int64_t sim_rng_range(sim_rng *r, int64_t lo, int64_t hi);
/* Uniform in [0, 1). */
double sim_rng_unit(sim_rng *r);
/* 1 with probability |p|. */
int sim_rng_chance(sim_rng *r, double p);
/* A Poisson draw with mean |mean| (>= 0). */
uint64_t sim_rng_poisson(sim_rng *r, double mean);
/* fm_rng's fill callback: |ctx| is a sim_rng. */
void sim_rng_fill(void *ctx, uint8_t *out, size_t len);

#endif
