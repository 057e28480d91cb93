/* The ledger: what was really written, by whom and when.  It is the
 * ground truth that the metrics and the checker compare the stores with:
 * every entry an honest device (or the authority) appended, its id, size
 * and time, and what each author's log should hold at the end (all of it,
 * or up to a revocation cut-off or a fork).
 */
#ifndef SIM_LEDGER_H
#define SIM_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include "fieldmesh/types.h"

typedef enum sim_kind {
  SIM_K_ENROLL, SIM_K_REVOKE, SIM_K_VISIT, SIM_K_DOSSIER, SIM_K_STATUS, SIM_K_GRANT,
  SIM_K_ATTACH, SIM_K_COUNT
} sim_kind;

const char *sim_kind_name(sim_kind k);

typedef struct sim_lentry {
  uint8_t id[FM_ID_LEN];
  fm_time created;          /* when it was written (the simulator's clock) */
  fm_time at_gateway;       /* when the gateway's store first held it; 0 never */
  uint32_t size;            /* stored bytes */
  uint8_t kind;             /* sim_kind */
  uint8_t checked;          /* the checker verified these bytes once */
} sim_lentry;

typedef struct sim_author {
  uint8_t pk[FM_KEY_LEN];
  int node;                 /* the device's node; -1 for the authority; -2 unused */
  sim_lentry *e;            /* the legitimate log: e[seq - 1] */
  uint64_t n, cap;
  uint64_t expect;          /* how much of the log every honest node must hold */
  uint64_t revoked_after;   /* UINT64_MAX when not revoked */
  uint64_t fork_base;       /* UINT64_MAX when not forked; entries past it are contested */
  int hostile;              /* a hostile device: nothing of it is expected */
  uint64_t twin_writes;     /* entries a twin laptop wrote with this key */
} sim_author;

/* A record written on a laptop restored from an older copy, under a seq
 * its key had already used: it must come back at the head of the log. */
typedef struct sim_restored {
  size_t author;
  uint64_t seq;             /* the seq it had on the restored branch */
} sim_restored;

/* A scan attached to a dossier (--scans): its `dossier.attach` entry and
 * the chunks every node that holds the entry must come to hold. */
typedef struct sim_lscan {
  size_t author;            /* the entry: ledger index and seq */
  uint64_t seq;
  uint8_t *ids;             /* nchunks blob ids of 32 bytes, owned */
  size_t nchunks;
  fm_time created;
  fm_time whole_at_gateway; /* when the gateway first held every chunk; 0 never */
} sim_lscan;

typedef struct sim_ledger {
  sim_author *a;
  size_t n;
  sim_lscan *scans;         /* in the order written */
  size_t nscans, capscans;
  sim_restored *r;          /* records written on restored branches */
  size_t nr, capr;
  uint32_t *order;          /* author indexes sorted by key, for lookups */
  size_t norder;
} sim_ledger;

/* Room for |n| authors, all unused.  0 or -ENOMEM. */
int sim_ledger_init(sim_ledger *l, size_t n);
void sim_ledger_free(sim_ledger *l);
/* Names author |i|; call sim_ledger_index() once all are named. */
void sim_ledger_name(sim_ledger *l, size_t i, const uint8_t pk[FM_KEY_LEN], int node);
int sim_ledger_index(sim_ledger *l);
/* The author whose key is |pk|, -1 when none. */
int sim_ledger_find(const sim_ledger *l, const uint8_t pk[FM_KEY_LEN]);
/* Records entry |seq| (the next one) of author |i|.  0, -EINVAL or -ENOMEM. */
int sim_ledger_add(sim_ledger *l, size_t i, uint64_t seq, const uint8_t id[FM_ID_LEN],
                   fm_time now, uint32_t size, sim_kind kind);
/* Records the scan of entry |seq| of author |author|: its |n| chunk ids
 * (copied).  0 or -ENOMEM. */
int sim_ledger_scan(sim_ledger *l, size_t author, uint64_t seq, const uint8_t *ids, size_t n,
                    fm_time now);
/* Notes a record written on a restored branch.  0 or -ENOMEM. */
int sim_ledger_restored(sim_ledger *l, size_t author, uint64_t seq);
/* Recomputes author |i|'s |expect| after a revocation, a fork or a write. */
void sim_ledger_recount(sim_ledger *l, size_t i);
/* True when entries of author |i| count as field work (not the authority's). */
int sim_ledger_is_field(const sim_ledger *l, size_t i);

#endif
