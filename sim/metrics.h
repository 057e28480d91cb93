/* What a run measures while it runs: counters, and for every node how far
 * behind the ledger it is, so that convergence is known to the
 * millisecond without reading every store after every event.
 *
 * These figures are for the report only.  Whether the run was right is
 * decided at the end by the checker (check.h), which reads the stores
 * themselves.
 */
#ifndef SIM_METRICS_H
#define SIM_METRICS_H

#include <stdio.h>

#include "fieldmesh/msg.h"
#include "ledger.h"

typedef struct sim_track {
  uint64_t *held;           /* per author: the seq this node's store holds */
  uint64_t lag;             /* expected entries it still lacks */
  int honest;               /* must converge (not hostile, not revoked) */
  int synced;               /* honest and lag == 0 */
} sim_track;

typedef struct sim_metrics {
  uint64_t created[SIM_K_COUNT];  /* legitimate writes by kind */
  uint64_t created_bytes;         /* their stored bytes (field kinds) */
  uint64_t writes_down, writes_refused, twin_writes;
  uint64_t corrections;       /* statuses a team-mate corrected after seeing them */
  uint64_t wire_bytes;            /* every byte any session sent */
  /* The same by what they carried, from each session's own account
   * (fm_session_stats: bytes queued, summed when the session ends). */
  uint64_t handshake_out, msg_out[FM_MSG_TYPE_SLOTS];
  /* Scans (--scans): written, and their chunks taken in by the nodes. */
  uint64_t scans, scan_bytes, scan_chunk_bytes;  /* files, their bytes, sealed */
  uint64_t chunks_in, chunk_bytes_in;
  uint64_t entry_bytes_in;        /* entry bytes inside ENTRIES messages received */
  uint64_t entries_in, entries_accepted, entries_dup, batches;
  uint64_t entries_held;   /* held on arrival: an author not enrolled yet, or a change
                              waiting for its record (the team rule) */
  uint64_t bundles, bundle_bytes, bundle_entries;
  uint64_t sess_opened, sess_completed, sess_link_down, sess_cut, sess_failed, sess_refused;
  uint64_t cut_loss, cut_fault, cut_crash;
  uint64_t hostile_sessions, hostile_dropped, hostile_leaks;
  uint64_t crashes, revocations, forks, clock_faults;
  uint64_t restores;              /* laptops put back to an older copy */
  uint64_t restored_writes;       /* records written on a restored branch */
  uint64_t rewritten;             /* ... written again at the head of the log */
  uint64_t events;
  /* agreement */
  sim_track *t;
  size_t nnodes, nauthors;
  size_t n_honest, n_synced;
  fm_time all_synced_at;          /* when every honest node last came to agree */
  fm_time last_write_at;
  int gateway;
} sim_metrics;

int sim_metrics_init(sim_metrics *m, size_t nnodes, size_t nauthors, int gateway);
void sim_metrics_free(sim_metrics *m);

/* Node |node| now holds |seq| entries of |author|. */
void sim_metrics_held(sim_metrics *m, sim_ledger *l, int node, size_t author, uint64_t seq,
                      fm_time now);
/* Author |author| just wrote its entry number |seq| on node |node|. */
void sim_metrics_wrote(sim_metrics *m, sim_ledger *l, int node, size_t author, uint64_t seq,
                       fm_time now);
/* Whether node |node| must converge. */
void sim_metrics_set_honest(sim_metrics *m, int node, int honest, fm_time now);
/* Recomputes every node's lag (after a revocation or a fork moved what is
 * expected). */
void sim_metrics_recount(sim_metrics *m, const sim_ledger *l, fm_time now);
/* True when every honest node holds everything expected. */
int sim_metrics_converged(const sim_metrics *m);

/* Honest field entries written so far, and those the gateway holds. */
uint64_t sim_metrics_field_created(const sim_metrics *m);
uint64_t sim_metrics_field_at(const sim_metrics *m, const sim_ledger *l, int node);

/* Writes the CSV header, and one row for the hour starting at |t|. */
void sim_metrics_csv_head(FILE *f);
void sim_metrics_csv_row(const sim_metrics *m, const sim_ledger *l, FILE *f, fm_time t,
                         int tz_min, int64_t hour, size_t sessions_open);

#endif
