/* The invariants, checked apart from the code that runs the world.
 *
 * The checker reads only the stores (through the public store API) and
 * the ledger of what was written; it never trusts the driver's own
 * bookkeeping.  A few checks must happen during the run (a restarted
 * store must hold what it committed before the crash): the driver calls
 * sim_check_restart() and the findings wait in a sim_check_log.
 *
 * Each invariant has an exit code; the run exits with the code of the
 * first one that failed (docs/simulator.md lists them).
 */
#ifndef SIM_CHECK_H
#define SIM_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "fieldmesh/record.h"
#include "fieldmesh/store.h"
#include "ledger.h"

enum {
  SIM_EXIT_OK = 0,
  SIM_EXIT_USAGE = 1,           /* bad arguments or scenario file */
  SIM_EXIT_SYSTEM = 2,          /* a store or the system failed */
  SIM_INV_REACHED_GATEWAY = 10, /* every honest entry reached the gateway */
  SIM_INV_SAME_ENTRIES = 11,    /* every honest node holds the same entries */
  SIM_INV_SAME_VIEWS = 12,      /* ... and the same view digest */
  SIM_INV_ORDER_FREE = 13,      /* views do not depend on arrival order */
  SIM_INV_VALID = 14,           /* no invalid entry in any log */
  SIM_INV_NO_REVOKED = 15,      /* no entry past a revocation cut-off in any log */
  SIM_INV_FORKS = 16,           /* every fork left evidence in a quarantine */
  SIM_INV_HOSTILE = 17,         /* every hostile session was dropped, nothing got in */
  SIM_INV_RESTART = 18,         /* a restarted store kept every committed entry */
  SIM_INV_VERIFY = 19,          /* fm_store_verify passes */
  SIM_INV_COPIES = 20,          /* a copy a node counts is really there */
  SIM_INV_CAUSAL = 21,          /* a change made after seeing another wins over it */
  SIM_INV_RESTORED = 22,        /* a record written after a restore is never lost */
  SIM_INV_SCANS = 23,           /* every node holding a scan's entry holds its chunks */
};

/* A status written after seeing another (sim/work.c): the one it saw
 * must not be what any node shows, whatever the two writers' clocks. */
typedef struct sim_correction {
  char id[FM_RECORD_ID_MAX + 1];   /* the dossier */
  uint8_t seen_author[FM_KEY_LEN]; /* the status entry the writer saw */
  uint64_t seen_seq;
  size_t author;                   /* the correction: ledger index and seq */
  uint64_t seq;
} sim_correction;

typedef struct sim_finding {
  int code;
  char detail[400];
} sim_finding;

typedef struct sim_check_log {
  sim_finding *f;
  size_t n, cap;
  uint64_t restarts;            /* restarts checked */
} sim_check_log;

void sim_check_log_free(sim_check_log *log);

/* After a restart: the store of |node| must hold at least |before|
 * entries and pass fm_store_verify (scratch under |scratch|). */
void sim_check_restart(sim_check_log *log, const char *node, fm_store *s, uint64_t before,
                       const char *scratch);

typedef struct sim_check_node {
  const char *id, *name;
  fm_store *store;              /* NULL: the node is down or never existed */
  int honest;                   /* must hold everything expected */
  int garbage;                  /* sent garbage: none of its entries may be anywhere */
  size_t author;                /* ledger index of the key it carries */
} sim_check_node;

typedef struct sim_check_in {
  const sim_ledger *ledger;
  const sim_check_node *nodes;
  size_t nnodes;
  int gateway;
  const char *scratch;          /* a folder for scratch stores */
  const uint8_t *authority;     /* the authority's key */
  const char *commune;
  fm_time now;
  uint64_t hostile_sessions, hostile_dropped, hostile_leaks;
  int verify_all;
  const sim_correction *corr;
  size_t ncorr;
  /* The run's shared signature results (vcache.h), for the fresh store
   * of views-order-free like every store of the run; NULL: none.  The
   * signatures in the logs (valid-entries) are checked apart from it. */
  int (*store_verify)(void *ctx, const fm_entry *e);
  void *store_verify_ctx;
} sim_check_in;

typedef struct sim_check_item {
  const char *name;
  int code;
  int ok;
  uint64_t failures;            /* how many things were wrong */
  uint64_t checked;             /* how many things were looked at */
  char detail[400];
} sim_check_item;

#define SIM_CHECKS 14
typedef struct sim_check_report {
  sim_check_item items[SIM_CHECKS];
  size_t n;
  int exit_code;                /* of the first failure, 0 when all hold */
} sim_check_report;

/* Checks every invariant.  0, or a negative code when a store could not
 * be read (then the report is incomplete and the run failed anyway). */
int sim_check_run(const sim_check_in *in, const sim_check_log *log, sim_check_report *out);

#endif
