/* An upstream sink of the gateway: where batches of entries go.
 *
 * Three kinds (spool folder, PostgreSQL, HTTP), one shape: a blocking
 * deliver() that the gateway runs on libuv's worker pool (uv_queue_work),
 * at most one at a time per sink, so a slow disk, database or endpoint
 * never holds up the event loop that syncs with the laptops.  The batch
 * was read from the store on the loop thread and is only read here; the
 * answer goes back in an fmd_delivery, and the loop thread commits it
 * (gateway.c).  A sink keeps its connection (PostgreSQL, HTTP keep-alive)
 * from one delivery to the next; nothing else is shared between threads
 * except what cancel() touches, which each sink guards.
 */
#ifndef FMD_SINK_H
#define FMD_SINK_H

#include "fieldmesh/enroll.h"
#include "fieldmesh/forward.h"
#include "scan_fwd.h"
#include "upstream_config.h"

#define FMD_SINK_ERROR_MAX 256

/* What a sink knows of its gateway (read-only; outlives every sink). */
typedef struct fmd_sink_env {
  char gateway[2 * FM_KEY_LEN + 1];   /* device id, hex */
  char commune[FM_NAME_MAX];
  char commune_id[2 * FM_KEY_LEN + 1];  /* the commune authority's key, hex */
  const fmd_upstream_config *cfg;
} fmd_sink_env;

/* The outcome of one delivery, written by deliver() on the worker thread. */
typedef struct fmd_delivery {
  const char *roster;       /* in: the commune's members as JSON (fmd_batch_roster),
                             * read on the loop thread before the delivery */
  const fmd_scans *scans;   /* in: the batch's scans, opened (scan_fwd.h): each sink
                             * files the opened ones under their hash before the
                             * entries that name them, and names them in them */
  int ok;                   /* the sink answered: |accepted| says what it kept */
  uint8_t *accepted;        /* one flag per item, zeroed by the gateway */
  char **refs;              /* one per item (NULL: none), malloc'd by the sink or NULL;
                             * the gateway frees them */
  char batch_ref[FM_RECEIPT_REF_MAX + 1];
  char error[FMD_SINK_ERROR_MAX];   /* !ok: what went wrong and what to do, one line */
  char note[FMD_SINK_ERROR_MAX];    /* ok: anything worth a log line, or "" */
} fmd_delivery;

typedef struct fmd_sink_ops {
  fm_sink_kind kind;
  /* Worker thread.  Delivers |b| (n >= 1) and fills |out|. */
  void (*deliver)(void *impl, const fm_fwd_batch *b, fmd_delivery *out);
  /* Loop thread, while deliver() may run: make it give up soon. */
  void (*cancel)(void *impl);
  /* Once no deliver() runs any more. */
  void (*del)(void *impl);
} fmd_sink_ops;

/* Constructors: 0 and |*impl|, or -1 with one line in |err| saying what to
 * fix (the daemon then refuses to start).  |target| receives the text the
 * sink's cursors are kept under (fm_forward_sink_id): no secrets. */
int fmd_spool_new(const fmd_sink_env *env, const char *dir, void **impl, char *target,
                  size_t target_cap, char *err, size_t cap);
int fmd_pg_new(const fmd_sink_env *env, const char *conninfo, void **impl, char *target,
               size_t target_cap, char *err, size_t cap);
int fmd_http_new(const fmd_sink_env *env, const char *url, void **impl, char *target,
                 size_t target_cap, char *err, size_t cap);

extern const fmd_sink_ops fmd_spool_ops, fmd_pg_ops, fmd_http_ops;

/* Library set-up the HTTP sink needs once per process (curl_global_*), on
 * the loop thread before any delivery and after the last. */
int fmd_http_global_init(void);
void fmd_http_global_cleanup(void);

#endif
