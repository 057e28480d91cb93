/* fmd_vpool: the daemon's signature checkers.  A few threads decode and
 * verify the entries of the batch being ingested while the loop thread,
 * the store's one writer, applies them in order (fm_verifier in
 * fieldmesh/store.h).  The loop thread checks an entry itself when no
 * worker has taken it yet, so it never waits on an idle pool, and one
 * batch runs at a time (the store's).
 *
 * Threads: fmd_vpool_verifier's callbacks run on the store's thread; the
 * workers only read the batch's bytes and write their verdicts.
 */
#ifndef FMD_VPOOL_H
#define FMD_VPOOL_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "fieldmesh/store.h"

#define FMD_VPOOL_MAX 64     /* [node] verify_threads at most */

typedef struct fmd_vpool {
  uv_thread_t threads[FMD_VPOOL_MAX];
  unsigned nthreads;
  uv_mutex_t mu;
  uv_cond_t work;            /* a batch began, or stop */
  uv_cond_t done;            /* a verdict was written, or a worker let go */
  const fm_slice *entries;   /* the batch; NULL between batches */
  size_t n, next;            /* entries, and the next one no one took */
  int8_t *state;             /* per entry: 0 free, 1 taken, 2 judged */
  int *verdicts;
  size_t cap;
  unsigned busy;             /* workers checking an entry of the batch */
  int stop;
  /* Tests: the verdict of entry |fail_at| - 1 is -ENOMEM, as when a
   * worker cannot get memory (0: never). */
  size_t fail_at;
} fmd_vpool;

/* The number of cores the daemon may use (at least 1). */
unsigned fmd_vpool_cores(void);

/* Starts |nthreads| (1 .. FMD_VPOOL_MAX) workers.  0, or a negative uv
 * error after which nothing is left running. */
int fmd_vpool_start(fmd_vpool *p, unsigned nthreads);

/* Stops and joins the workers (none may be in a batch); |p| may be
 * zeroed or started. */
void fmd_vpool_stop(fmd_vpool *p);

/* The fm_verifier that hands batches to |p| (for fm_store_set_verifier). */
fm_verifier fmd_vpool_verifier(fmd_vpool *p);

#endif
