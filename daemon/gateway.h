/* fmd_gateway: the forwarder of a daemon enrolled with the gateway role
 * and given an [upstream] section (docs/config.md, docs/operations.md).
 *
 * Each configured sink (spool, postgres, http) forwards every entry of the
 * store, batch after batch, on its own:
 *
 *   idle --store gained entries--> linger (linger_ms, or at once when a
 *   full batch waits) --> busy: fm_forward_next() on the loop thread,
 *   deliver() on libuv's worker pool --> the loop commits: cursors,
 *   receipts (fm_forward_commit), then the next batch; or, on failure,
 *   fm_forward_failed() and a pause that doubles from retry_min_ms to
 *   retry_max_ms (random in its upper half) before the same batch again.
 *
 * Why the worker pool and not libcurl's multi interface on the loop: the
 * three sinks then share one blocking shape (libpq's and fsync's calls
 * block anyway), the loop only reads and writes the store, as it does for
 * the sessions, and one batch per sink in flight is the whole queue.
 * Receipts written by a commit are new entries: the node offers them to
 * its peers at once (fmd_node_poke).  A scan goes with its file
 * (scan_fwd.h): an author whose next entry is a scan whose chunks are not
 * all here waits, and a sink with nothing else to send looks again every
 * FMD_SCAN_POLL_MS (chunks arrive without new entries).
 */
#ifndef FMD_GATEWAY_H
#define FMD_GATEWAY_H

#include <uv.h>

#include "fieldmesh/forward.h"
#include "fieldmesh/keys.h"
#include "sink.h"

#define FMD_SINKS_MAX 3
#define FMD_SCAN_POLL_MS 1000
#define FMD_RESEND_POLL_MS 60000
#define FMD_RESEND_KICK_MS 5000

typedef struct fmd_node fmd_node;
typedef struct fmd_gateway fmd_gateway;

typedef enum fmd_sink_state { FMD_S_IDLE, FMD_S_LINGER, FMD_S_BUSY, FMD_S_BACKOFF } fmd_sink_state;

typedef struct fmd_sink {
  fmd_gateway *g;
  const fmd_sink_ops *ops;
  void *impl;
  fm_fwd_sink conf;              /* id, kind, target (points at |target|) */
  char target[FM_FWD_TARGET_MAX];
  fmd_sink_state state;
  uv_timer_t timer;              /* linger, backoff, "next batch now" */
  uv_work_t work;
  fm_fwd_batch batch;            /* being delivered (read by the worker) */
  fmd_delivery result;           /* written by the worker */
  fm_buf roster;                 /* result.roster: the members, for the sink */
  fm_buf opened;                 /* the batch's records with sealed fields opened */
  fmd_scans scans;               /* the batch's scans: loaded on the loop, opened by
                                  * the worker before deliver() (result.scans) */
  fm_time started;               /* of the delivery in flight */
  uint32_t backoff_ms;           /* the last pause; 0 after a success */
  char last_error[FMD_SINK_ERROR_MAX]; /* logged already: repeats go to debug */
  uint64_t since_start;          /* entries acknowledged since the daemon started */
  int scans_said;                /* "scans wait for chunks" logged since the last batch */
  uint8_t *placeholders;         /* one per item of |batch|: it goes with placeholders */
  /* Corrections (fm_forward_resend_next): entries that went with
   * placeholders go again once the keyring opens them.  Looked for when
   * nothing else waits, every FMD_RESEND_POLL_MS, and after new entries
   * (a grant or an extension may be among them) at most every
   * FMD_RESEND_KICK_MS. */
  fm_time resend_at;             /* next look on the timer */
  fm_time resend_last;           /* the last look */
  int resend_kick;               /* new entries since the last look */
  int resend_wait;               /* the LINGER timer is the wait for the next look */
} fmd_sink;

struct fmd_gateway {
  fmd_node *d;
  fmd_sink_env env;
  fmd_sink sinks[FMD_SINKS_MAX];
  size_t nsinks;
  fm_keyring *keys;              /* opens sealed fields (loop thread only) */
  int timers_open;               /* sinks' timers initialised (to be closed) */
  int http_global;               /* fmd_http_global_init() done */
  int stopping;
};

/* Sets up the sinks of |d->cfg->upstream| and forwards what waits.
 * Returns 0 (|*out| owned by the node), or FMD_EXIT_FAIL after logging
 * one line (this device is not a gateway, a spool folder that cannot be
 * made, a conninfo that does not parse). */
int fmd_gateway_start(fmd_node *d, fmd_gateway **out);

/* The store gained entries (from peers, the CLI, or our own receipts). */
void fmd_gateway_kick(fmd_gateway *g);

/* Stops planning batches, closes the timers and asks deliveries in flight
 * to give up; uv_run() returns once they have (idempotent). */
void fmd_gateway_stop(fmd_gateway *g);

/* After uv_run(): closes the sinks' connections and frees |g|. */
void fmd_gateway_free(fmd_gateway *g);

#endif
