/* The simulated world: every node with its own real store, the virtual
 * network between them, the event queue and the virtual clock.
 *
 * One thread, no global state: everything hangs off a sim_world that
 * main() owns.  The clock never ticks on its own: the loop pops the next
 * event and jumps to its time, so idle nights and weekends cost nothing.
 */
#ifndef SIM_WORLD_H
#define SIM_WORLD_H

#include <stdio.h>

#include "check.h"
#include "heap.h"
#include "ledger.h"
#include "metrics.h"
#include "rng.h"
#include "scenario.h"
#include "fieldmesh/keys.h"
#include "fieldmesh/node.h"

typedef struct sim_world sim_world;
typedef struct sim_conn sim_conn;

/* Event types.  |a|, |b| and |gen| mean what each comment says. */
enum {
  SIM_EV_DAY,         /* a = day index: plan the day's work and link windows */
  SIM_EV_SAMPLE,      /* a = hour index: one CSV row */
  SIM_EV_WRITE,       /* a = node, b = what (sim_work_what) */
  SIM_EV_STATUS,      /* a = dossier index in the work table */
  SIM_EV_WINDOW,      /* a = link, b = 1 open / 0 close */
  SIM_EV_CONTACT,     /* a = link, b = pair: dial if not connected */
  SIM_EV_PUMP,        /* a = conn slot, b = sending side, gen */
  SIM_EV_DELIVER,     /* a = conn slot, b = receiving side, gen, p/len = bytes */
  SIM_EV_FIN,         /* a = conn slot, b = receiving side, gen: the peer closed */
  SIM_EV_LOST,        /* a = conn slot, gen: a chunk was lost, the connection dies */
  SIM_EV_TIMER,       /* a = conn slot, gen */
  SIM_EV_FAULT,       /* a = fault index, b = phase */
  SIM_EV_TWIN,        /* a = node: a twin laptop appears */
  SIM_EV_USB,         /* a = link, b = leg (0 out, 1 arrive, 2 back) */
};

typedef struct sim_node {
  int idx;
  const sim_node_spec *spec;
  size_t author;              /* ledger index of its key */
  fm_identity id;
  char dir[600];
  fm_store *store;            /* NULL while down */
  fm_node fmn;
  fm_session_io inner;        /* fm_node's callbacks, which ours wrap */
  int up, exists;
  fm_time skew;               /* its clock minus the true time */
  sim_conn **conns;
  size_t nconns, capconns;
  sim_world *w;
  uint64_t before_crash;      /* entries its store held when it went down */
  int restored;               /* put back to an older copy once (a restore fault) */
  uint64_t usb_serial;
  fm_keyring *keys;           /* sealing: made on its first sealed write, freed when it stops */
  fm_store *keys_store;       /* the store |keys| reads */
  int regrant_due;            /* it took entries in since its grants were last extended */
} sim_node;

typedef struct sim_linkrt {
  const sim_link_spec *spec;
  int open;                   /* inside a window now */
  uint32_t *fails;            /* per pair: failures in a row, for back-off */
  uint8_t *dialing;           /* per pair: a CONTACT is queued */
  int cut_armed;              /* a cut fault waits for a connection to move cut_bytes */
  uint64_t cut_bytes;
  fm_vector seen[2];          /* usb: the vector each side last learned of the other */
  int has_seen[2];
  char pending[2][700];       /* usb: bundle files in transit */
} sim_linkrt;

typedef struct sim_options {
  uint64_t seed;
  int days;                   /* 0: the scenario's */
  int verify_all;             /* fm_store_verify on every node at the end */
  int keep;                   /* keep the stores */
  int seal;                   /* seal personal fields (--seal), besides the scenario's seal */
  const char *tmp;            /* where the run's folder goes */
  FILE *csv;                  /* hourly rows, or NULL */
  unsigned scan_kb;           /* KiB of the scan attached to each dossier; 0: none */
} sim_options;

struct sim_world {
  const sim_scenario *sc;
  sim_options opt;
  sim_rng rng;
  sim_heap q;
  fm_time now, t0, work_end, end_limit;
  int ended;
  int broken;                 /* SIM_BREAK_DROP_BATCH has struck */
  sim_node *nodes;
  size_t nnodes;
  sim_linkrt *links;
  sim_conn **slots;           /* connections by slot */
  uint32_t *gens;             /* generation of each slot */
  size_t nslots;
  size_t open_conns;
  sim_ledger ledger;
  sim_metrics m;
  struct sim_work *work;
  struct sim_vcache *vcache;  /* signatures verified once for every store (vcache.h) */
  fm_identity authority;
  char root[512];
  sim_check_log log;          /* what checkers found during the run */
  size_t scan_open;           /* scans before it are whole at the gateway (scan.h) */
  uint64_t scan_seen_chunks, scan_seen_entries;  /* when sim_scan_settled last looked */
  int scan_settled;           /* ... and what it found */
  uint8_t buf[1 << 16];       /* scratch for bytes pulled from sessions */
};

/* Builds the world for |sc|: folders, keys, stores, enrollments.  0, or
 * -1 with a message on stderr.  |w| is the caller's: sim_world_free(). */
int sim_world_new(sim_world *w, const sim_scenario *sc, const sim_options *opt);
/* Runs to convergence after the work, or to the end of the drain.  0, or
 * a negative code when a store failed. */
int sim_world_run(sim_world *w);
void sim_world_free(sim_world *w);
/* Runs the checker over the stores at the end of the run.  0, or a
 * negative code when a store could not be read. */
int sim_world_check(sim_world *w, sim_check_report *r);

/* Queues an event; a failure to queue is out of memory, which ends the run. */
void sim_world_at(sim_world *w, fm_time at, int type, int a, int b, uint32_t gen, void *p,
                  size_t len);
/* Ends the run now with a store or system failure. */
void sim_world_fatal(sim_world *w, const char *what, int code);

#endif
