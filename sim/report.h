/* The run's report: a summary for people and the same figures as JSON.
 * Neither contains anything that differs between two runs of the same
 * scenario and seed; the wall time is printed by main(), last. */
#ifndef SIM_REPORT_H
#define SIM_REPORT_H

#include <stdio.h>

#include "world.h"

typedef struct sim_figures {
  uint64_t to_gw, missing;              /* field entries that reached the gateway, or not */
  double p50_h, p95_h, max_h;           /* record-to-gateway delay, hours */
  int converged;
  double converge_h;                    /* after the last write */
  uint64_t quarantined, held, clock_ahead;
  size_t members, leaders, hostile, twins, honest;
  /* Sealing (--seal): what the gateway opens, and what any node opens of
   * another team's records (must be 0) or cannot open for damage (0). */
  fm_seal_counts gw_seal;
  uint64_t foreign_opened, unreadable;
  /* Scans (--scans): how long until the gateway held every chunk of a
   * scan, from its writing (hours), over |scans_whole|; |scans_never| did
   * not get there. */
  uint64_t scans_whole, scans_never;
  double scan_p50_h, scan_p95_h, scan_max_h;
} sim_figures;

int sim_report_figures(sim_world *w, sim_figures *f);
void sim_report_text(FILE *out, sim_world *w, const sim_figures *f, const sim_check_report *r);
void sim_report_json(FILE *out, sim_world *w, const sim_figures *f, const sim_check_report *r);

#endif
