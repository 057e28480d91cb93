/* fm_vpool: signature checkers on every core.  A few threads decode and
 * verify the entries being ingested while the calling thread, the
 * store's one writer, applies them in order (fm_verifier in
 * fieldmesh/store.h).  The writer checks an entry itself when no worker
 * has taken it yet, so it never waits on an idle pool.
 *
 * Two ways to feed it, both through the store:
 *   - batch by batch (a sync session): the workers start on a batch when
 *     fm_store_ingest() begins it and stop at its end;
 *   - ahead (a bundle import, fm_store_verify_ahead()): the caller names
 *     every entry it is about to ingest, in order; the workers check them
 *     all, so the checks of batch k+1 run while batch k commits and
 *     flushes to disk.  Batches then ingested from that array take the
 *     verdicts already made.
 * A verdict is a pure function of an entry's bytes (decode within the
 * default limits, then Ed25519), so what the store holds afterwards is
 * byte for byte what inline checks give.
 *
 * Used by fieldmeshd (one per node, [node] verify_threads) and by
 * `fieldmesh bundle import`.  POSIX threads only: the store's wall
 * (tests/link/store_only.c) keeps libuv out of this file.
 *
 * Threads: fm_vpool_verifier's callbacks run on the store's thread; the
 * workers only read the entries' bytes and write their verdicts.
 */
#ifndef FIELDMESH_VPOOL_H
#define FIELDMESH_VPOOL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "fieldmesh/store.h"

#define FM_VPOOL_MAX 64     /* workers at most ([node] verify_threads) */

typedef struct fm_vpool {
  pthread_t threads[FM_VPOOL_MAX];
  unsigned nthreads;
  pthread_mutex_t mu;
  pthread_cond_t work;       /* entries to check, or stop */
  pthread_cond_t done;       /* a verdict was written, or a worker let go */
  const fm_slice *entries;   /* what the workers check; NULL: nothing */
  size_t n, next;            /* entries, and the next one no one took */
  int ahead;                 /* |entries| came from fm_store_verify_ahead */
  size_t base;               /* the current batch starts at entries[base] */
  size_t batch_n;            /* ... and holds this many */
  int8_t *state;             /* per entry: 0 free, 1 taken, 2 judged */
  int *verdicts;
  size_t cap;
  unsigned busy;             /* workers checking an entry */
  int stop;
  /* Tests: the verdict of entry |fail_at| - 1 (of a batch, or of the
   * ahead array) is -ENOMEM, as when a worker cannot get memory (0:
   * never). */
  size_t fail_at;
} fm_vpool;

/* The number of cores this process may run on (at least 1). */
unsigned fm_vpool_cores(void);

/* Starts |nthreads| (1 .. FM_VPOOL_MAX) workers.  0, FM_ERR_INVAL, or a
 * negative errno (-EAGAIN, -ENOMEM) after which nothing is left running. */
int fm_vpool_start(fm_vpool *p, unsigned nthreads);

/* Stops and joins the workers (no batch or ahead array may be in use);
 * |p| may be zeroed or started. */
void fm_vpool_stop(fm_vpool *p);

/* The fm_verifier that hands entries to |p| (for fm_store_set_verifier).
 * It has the |ahead| callback. */
fm_verifier fm_vpool_verifier(fm_vpool *p);

#endif
