/* Forwarding: the gateway's cursors and delivery state, kept in the store.
 *
 * A gateway forwards every entry it holds to each of its sinks (a spool
 * folder, a PostgreSQL database, an HTTP endpoint) in batches.  For each
 * sink the store keeps, in the `forward` table (key: sink id | tag | ...):
 *
 *   's'                 the sink's state: kind, target, counts, last error
 *   'c' author          cursor: every entry of |author| up to this seq is
 *                       acknowledged by the sink
 *   'a' author seq      acknowledged although an earlier entry of the same
 *                       author was not (an HTTP upstream that accepted part
 *                       of a batch): skipped by the next batches
 *   'b'                 the batch planned and not yet acknowledged
 *   'p' author seq      acknowledged, but it went with placeholders for
 *                       sealed fields the gateway could not open then: to
 *                       be sent again as a correction once it can
 *   'r'                 how many such entries were corrected, all time
 *                       (a u64 of its own: the 's' record keeps its shape)
 *
 * Entries go out per author in seq order (the authority's log first), so a
 * cursor per author says all there is; nothing is added to the cost of
 * ingesting an entry.  A `dossier.attach` entry goes out only with its
 * file: while a chunk it names is not held here, its author's entries
 * stop there (that author's later entries wait behind it; other authors'
 * go on), and fm_fwd_status says how many scans wait so.  The life of a batch:
 *
 *   1. fm_forward_next() plans a batch and records it ('b') durably before
 *      returning it; or, when one is recorded already (the gateway crashed,
 *      or the last delivery failed), returns that one again: the same id,
 *      the same entries.  Sinks name what they write by the batch id, so
 *      a batch delivered twice replaces itself (spool file name, HTTP
 *      Idempotency-Key) or is ignored (PostgreSQL keys by entry id).
 *   2. The caller delivers it (on another thread: nothing here blocks on
 *      the network).
 *   3. fm_forward_commit() moves the cursors over what the sink
 *      acknowledged, forgets the batch, and appends the gateway's signed
 *      `receipt` entries for it: all in one transaction, so a crash
 *      leaves either the batch to deliver again or all of it done, never
 *      a receipt twice nor an acknowledged entry sent again.
 *      fm_forward_failed() instead keeps the batch and notes the error.
 *
 * Functions return 0 or a negative code (as fm_store_*).
 */
#ifndef FIELDMESH_FORWARD_H
#define FIELDMESH_FORWARD_H

#include "fieldmesh/receipt.h"
#include "fieldmesh/store.h"

#define FM_FWD_SINK_ID_LEN 8
#define FM_FWD_BATCH_MAX 2000          /* entries in one batch, at most */
#define FM_FWD_TARGET_MAX 256          /* bytes of a sink's target, with NUL */
#define FM_FWD_ERROR_MAX 256           /* bytes of a sink's last error, with NUL */
/* Bytes of scans (the `size` of its `dossier.attach` entries) one new
 * batch carries, unless its first scan alone is larger: what a sink holds
 * in memory at once, twice (sealed and opened). */
#define FM_FWD_SCAN_BYTES ((uint64_t)8 << 20)

typedef enum fm_sink_kind {
  FM_SINK_SPOOL = 1,
  FM_SINK_POSTGRES = 2,
  FM_SINK_HTTP = 3,
} fm_sink_kind;

/* "spool", "postgres", "http" (the name receipts carry), or "?". */
const char *fm_sink_kind_name(fm_sink_kind k);

/* The id a sink's state is kept under: BLAKE2b of its kind and |target|
 * (a folder, a database, a URL, without secrets).  A sink pointed at a new
 * target is a new sink, and starts from the first entry. */
void fm_forward_sink_id(fm_sink_kind k, const char *target, uint8_t out[FM_FWD_SINK_ID_LEN]);

typedef struct fm_fwd_sink {
  uint8_t id[FM_FWD_SINK_ID_LEN];
  fm_sink_kind kind;
  const char *target;            /* shown to people; < FM_FWD_TARGET_MAX bytes */
} fm_fwd_sink;

/* Records the gateway's sinks: each of |sinks| is active (created when
 * new), every other sink the store knows is retired (kept, not shown as
 * waiting).  Called once at start. */
int fm_forward_configure(fm_store *s, const fm_fwd_sink *sinks, size_t n);

/* ---- batches ------------------------------------------------------------------- */

typedef struct fm_fwd_item {
  uint8_t author[FM_KEY_LEN];
  uint64_t seq;
  uint8_t id[FM_ID_LEN];
  const uint8_t *bytes;          /* the stored entry; owned by the batch */
  size_t len;
  int is_receipt;                /* a receipt is forwarded but not receipted */
  size_t off;                    /* (internal) */
} fm_fwd_item;

/* A dossier or visit that an entry of the batch changes, as the gateway's
 * view holds it when the batch is read (fm_*_view_decode). */
typedef struct fm_fwd_record {
  fm_view_kind kind;
  char id[FM_RECORD_ID_MAX + 1]; /* NUL-terminated */
  size_t id_len;
  const uint8_t *rec;            /* owned by the batch */
  size_t len;
  size_t off;                    /* (internal) */
} fm_fwd_record;

typedef struct fm_fwd_range {
  uint8_t author[FM_KEY_LEN];
  uint64_t from, to;             /* seqs, inclusive */
} fm_fwd_range;

typedef struct fm_fwd_batch {
  uint8_t sink[FM_FWD_SINK_ID_LEN];
  uint8_t id[FM_RECEIPT_BATCH_LEN];
  fm_time created;               /* when it was planned: names spool files */
  uint32_t attempts;             /* failed deliveries so far */
  int resumed;                   /* recorded before this call: a restart or a failure */
  size_t nranges, n, nrecords;
  fm_fwd_range *ranges;
  fm_fwd_item *items;            /* per author, in seq order */
  fm_fwd_record *records;        /* by kind and id, each once */
  fm_buf mem;                    /* what items and records point into */
  /* New plans only: authors whose entries stopped at a `dossier.attach`
   * entry whose chunks are not all here (the caller looks again later:
   * chunks arrive without new entries). */
  uint32_t scans_waiting;
  int resent;                    /* a correction (fm_forward_resend_next) */
} fm_fwd_batch;

typedef struct fm_fwd_limits {
  uint32_t max_entries;          /* 1 .. FM_FWD_BATCH_MAX */
  size_t max_bytes;              /* of entries; at least one entry always goes */
  uint64_t max_scan_bytes;       /* of scans; 0: FM_FWD_SCAN_BYTES; one always goes */
  fm_time scan_wait;             /* ms a scan waits for its chunks, from its stamp, before
                                  * it goes without its file; 0: FM_FWD_SCAN_WAIT.  A scan
                                  * of a revoked author never waits: its laptop is gone. */
} fm_fwd_limits;

/* A scan whose chunks have not reached the gateway a week after it was
 * attached goes upstream without its file, so that its author's later
 * records are not held back for good by a laptop lost before it synced. */
#define FM_FWD_SCAN_WAIT ((fm_time)7 * 24 * 3600 * 1000)

/* The next batch for |sink| into |out| (which the caller frees with
 * fm_fwd_batch_free(), whatever the result): the recorded one, else a new
 * one of at most |lim| planned at |now| and recorded.  0 with |out->n| 0
 * when nothing waits. */
int fm_forward_next(fm_store *s, const uint8_t sink[FM_FWD_SINK_ID_LEN],
                    const fm_fwd_limits *lim, fm_time now, fm_fwd_batch *out);
void fm_fwd_batch_free(fm_fwd_batch *b);

/* What the sink said about a batch. */
typedef struct fm_fwd_ack {
  const char *sink_name;         /* carried in the receipts: fm_sink_kind_name() */
  const uint8_t *accepted;       /* one per item: non-zero when acknowledged */
  const char *const *refs;       /* one per item, NULL or "" for none; may be NULL */
  const char *batch_ref;         /* may be NULL */
  /* One per item, may be NULL: non-zero when the item went with
   * placeholders for sealed fields (a 'p' key is kept when it is
   * acknowledged, in the same transaction). */
  const uint8_t *placeholders;
} fm_fwd_ack;

typedef struct fm_fwd_done {
  uint32_t acked;                /* items acknowledged */
  uint32_t receipts;             /* receipt entries appended */
  uint64_t first_seq, last_seq;  /* their seqs in the gateway's log */
} fm_fwd_done;

/* Commits |ack| for the recorded batch |b|, signing receipts with |gw|
 * (an |ack| that accepts nothing just forgets the batch: an endpoint that
 * answered it would answer its id the same way again, so the entries go
 * out again in a new batch; the caller notes the failure)
 * (the gateway's identity: FM_ERR_ROLE when the store does not know it as
 * a gateway, FM_ERR_BEHIND as fm_store_append).  FM_ERR_NOTFOUND when |b|
 * is not the recorded batch any more.  Nothing is written on failure. */
int fm_forward_commit(fm_store *s, const fm_identity *gw, const fm_fwd_batch *b,
                      const fm_fwd_ack *ack, fm_time now, fm_fwd_done *out);

/* Notes a failed delivery of |sink|'s recorded batch: its attempts and
 * the sink's failures go up, |error| (one line) is kept for `status`. */
int fm_forward_failed(fm_store *s, const uint8_t sink[FM_FWD_SINK_ID_LEN], fm_time now,
                      const char *error);

/* ---- status ---------------------------------------------------------------------- */

typedef struct fm_fwd_status {
  uint8_t sink[FM_FWD_SINK_ID_LEN];
  fm_sink_kind kind;
  char target[FM_FWD_TARGET_MAX];
  int active;                    /* configured on the gateway's last start */
  uint64_t pending;              /* entries held and not acknowledged */
  uint64_t forwarded;            /* acknowledged, all time */
  uint64_t batches, receipts;
  fm_time last_ok, last_failure; /* 0: never */
  uint32_t failures;             /* failed deliveries since the last success */
  char last_error[FM_FWD_ERROR_MAX];
  int in_flight;                 /* a planned batch waits for its acknowledgement */
  /* The first entry the sink left out of its last answered batch (it
   * accepted others), and in how many answered batches in a row it left
   * that same entry out; 0 when the last one took everything. */
  uint8_t refused_author[FM_KEY_LEN];
  uint64_t refused_seq;
  uint32_t refused_batches;
  /* Authors whose next entry to forward is a `dossier.attach` whose
   * chunks have not all reached this store: their entries wait for the
   * chunks (the first such, by author order: |scan_author|, |scan_seq|,
   * |scan_missing| of its chunks not here). */
  uint64_t scans_waiting;
  uint8_t scan_author[FM_KEY_LEN];
  uint64_t scan_seq;
  uint32_t scan_missing;
  /* Entries acknowledged with placeholders that wait for their key to be
   * sent again, and those sent again (corrected), all time. */
  uint64_t placeholders, corrected;
} fm_fwd_status;

/* Calls |cb| for every sink the store knows, until it returns non-zero. */
int fm_forward_each_status(fm_store *s, int (*cb)(void *ctx, const fm_fwd_status *st),
                           void *ctx);

/* Entries of the store not yet acknowledged by |sink|. */
int fm_forward_pending(fm_store *s, const uint8_t sink[FM_FWD_SINK_ID_LEN], uint64_t *out);

/* ---- corrections ------------------------------------------------------------------ */

/* Entries of |sink| acknowledged with placeholders and not corrected yet
 * (0 on a store without the gateway's tables). */
int fm_forward_placeholders(fm_store *s, const uint8_t sink[FM_FWD_SINK_ID_LEN], uint64_t *out);

/* The entries of |sink| that went with placeholders, at most |max| (1 ..
 * FM_FWD_BATCH_MAX), as a batch into |out| (freed by the caller with
 * fm_fwd_batch_free(), whatever the result), its records as the views
 * hold them now, with |out->resent| set.  Its id is derived from the sink
 * and its entries, so the same correction delivered again (a failure, a
 * restart) carries the same id, and never that of a first delivery.
 * Nothing is recorded: the 'p' keys are the plan.  0 with |out->n| 0 when
 * none waits.  Entries gone from the log (a revocation purged them) are
 * forgotten. */
int fm_forward_resend_next(fm_store *s, const uint8_t sink[FM_FWD_SINK_ID_LEN], uint32_t max,
                           fm_fwd_batch *out);

/* The sink took the correction |b| (fm_forward_resend_next): forgets the
 * items whose |accepted| is non-zero (NULL: all) and counts them as
 * corrected.  No receipt is written: the entries have theirs, and the
 * laptops' views do not change. */
int fm_forward_resend_done(fm_store *s, const fm_fwd_batch *b, const uint8_t *accepted);

#endif
