/* The small value languages of scenario files: durations, rates,
 * probabilities, distributions and weighted choices.  Each parser returns
 * 0, or -1 when the text is not of its form (the caller names the key and
 * the line, and shows an example of the right form).
 */
#ifndef SIM_VALUE_H
#define SIM_VALUE_H

#include <stddef.h>
#include <stdint.h>

#include "fieldmesh/types.h"
#include "rng.h"

/* "150ms", "20s", "30m", "2h", "3d", or "0".  Never negative. */
int sim_parse_duration(const char *s, fm_time *out);
/* A duration with a sign: "+3d", "-36h", "0". */
int sim_parse_offset(const char *s, fm_time *out);
/* "1d-3d" (uniform between), or one duration. */
typedef struct sim_range {
  fm_time lo, hi;
} sim_range;
int sim_parse_range(const char *s, sim_range *out);
fm_time sim_range_draw(const sim_range *r, sim_rng *rng);
/* Bytes per second: "10MB/s", "40kB/s", "2Mbit/s", "512kbit/s" (1000-based). */
int sim_parse_rate(const char *s, uint64_t *out);
/* "0.02" or "2%", in [0, 1]. */
int sim_parse_prob(const char *s, double *out);
/* A whole number. */
int sim_parse_uint(const char *s, uint64_t *out);
/* Bytes: "200000", "200kB", "1MB", "64KiB". */
int sim_parse_bytes(const char *s, uint64_t *out);

/* A count drawn per occasion: "3", "poisson(0.8)", "uniform(1,4)". */
typedef enum sim_dist_kind { SIM_DIST_CONST, SIM_DIST_POISSON, SIM_DIST_UNIFORM } sim_dist_kind;
typedef struct sim_dist {
  sim_dist_kind kind;
  double a, b;
} sim_dist;
int sim_parse_dist(const char *s, sim_dist *out);
uint64_t sim_dist_draw(const sim_dist *d, sim_rng *rng);
/* The mean of |d|, for reports. */
double sim_dist_mean(const sim_dist *d);

/* A weighted choice among names: "home:5 village_point:3 one_stop:2".
 * A name without ":weight" weighs 1. */
#define SIM_WEIGHTS_MAX 24
#define SIM_WORD_MAX 32
typedef struct sim_weights {
  int n;
  char name[SIM_WEIGHTS_MAX][SIM_WORD_MAX];
  uint32_t w[SIM_WEIGHTS_MAX];
  uint32_t total;
} sim_weights;
int sim_parse_weights(const char *s, sim_weights *out);
/* The index of a name drawn by weight; -1 when |ws| is empty. */
int sim_weights_draw(const sim_weights *ws, sim_rng *rng);

#endif
