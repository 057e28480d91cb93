/* The LMDB store: one node's logs, views and bookkeeping.
 *
 * One store lives in STATE/store/ (data.mdb, lock.mdb).  Several processes
 * may open it (the daemon, the CLI); LMDB's own locking is the only
 * coordination.  Every write is one transaction: a batch of received
 * entries, with their validation, log append, heads, views and indexes,
 * commits together or not at all.  Commits are durable unless the store
 * was opened with |nosync| (tests and the simulator only).
 *
 * Named databases (internal layouts in docs/architecture.md):
 *   entries     author|seq(be64)        -> stored entry bytes
 *   heads       author                  -> seq, head id, count, bytes
 *   dossiers    dossier id              -> dossier view record
 *   visits      visit id                -> visit view record
 *   enrollments device                  -> revoked_after, enroll entry
 *   held        author|seq              -> entry from a not-yet-known author
 *   quarantine  author|seq|id           -> reason, time, entry bytes
 *   clock       author                  -> entries stamped too far ahead
 *   meta        name                    -> value (self, authority, hlc, ...)
 *   copies      author|device           -> seq, when (copies.h)
 *   restore     seq(be64)|id            -> own entry of a losing branch (restore.c)
 *   presence    device                  -> received, newest note (presence_store.h)
 *
 * Unless said otherwise, functions return 0 or a negative code: LMDB's own
 * codes, FM_ERR_NOSPACE (disk full: nothing was written), FM_ERR_CORRUPT,
 * or those named for the function.
 *
 * Threads: an fm_store handle is single-threaded -- it keeps per-call
 * scratch buffers -- so one thread calls it at a time (the daemon's loop
 * thread, the CLI's only thread).  Other processes may open the same
 * store at once; other threads open their own handle.
 */
#ifndef FIELDMESH_STORE_H
#define FIELDMESH_STORE_H

#include "fieldmesh/enroll.h"
#include "fieldmesh/entry.h"
#include "fieldmesh/ingest.h"
#include "fieldmesh/types.h"
#include "fieldmesh/vector.h"
#include "fieldmesh/view.h"

typedef struct fm_store fm_store;

typedef struct fm_store_opts {
  size_t map_size;     /* initial map size in bytes; 0: 64 MiB.  The map grows as needed. */
  int nosync;          /* 1: commits are not flushed (tests, simulator) */
  int read_only;
  fm_limits limits;    /* zero: the defaults */
  size_t held_max;     /* entries kept aside for unknown authors; 0: 100,000 */
  size_t held_per_author; /* of those, per author; 0: 4,096 (only lower values count) */
  char *why;           /* when not NULL: why the store is damaged (|why_cap| bytes) */
  size_t why_cap;
  int skip_walk;       /* 1: only the meta pages are checked (see below) */
  /* Optional, NULL by default (the daemon and the CLI leave it so): checks
   * the signature of a received entry in place of fm_entry_verify, with
   * its contract -- 0 or FM_ERR_BADSIG -- and on the store's thread.
   * Only the simulator sets it, to share between its stores the result
   * of verifying byte-identical entries (docs/simulator.md). */
  int (*verify)(void *ctx, const fm_entry *e);
  void *verify_ctx;
} fm_store_opts;

/* Opens (creating if needed) the store in |dir|, which must exist.
 * |opts| may be NULL.  On success |*out| is owned by the caller, who
 * closes it with fm_store_close().
 *
 * The files are checked before LMDB trusts them (store/check.c): the meta
 * pages before the file is mapped, then every page of every table inside
 * a read transaction, so that a cut, zeroed or scribbled-on file is
 * refused with FM_ERR_DAMAGED (the reason in |opts->why|) instead of
 * ending the process.  An LMDB assertion later on (the file damaged while
 * open) prints "this laptop's store is damaged (...): run fieldmesh
 * recover" and ends the process with exit code 1.  A disk that is full
 * gives FM_ERR_NOSPACE from every write. */
int fm_store_open(const char *dir, const fm_store_opts *opts, fm_store **out);
void fm_store_close(fm_store *s);

/* For a program's main(): SIGBUS -- a read of a mapped store file that
 * failed, because the file was cut short while open or the disk could not
 * read a page -- prints "PROGRAM: this laptop's store is damaged (...):
 * run fieldmesh recover" and ends the process with exit code 1 instead of
 * a crash.  Process-wide, like every signal disposition. */
void fm_store_catch_sigbus(void);

/* ---- identity and trust -------------------------------------------------- */

/* The device's own public key. FM_ERR_NOTFOUND before it is set. */
int fm_store_self(fm_store *s, uint8_t pk[static FM_KEY_LEN]);
int fm_store_set_self(fm_store *s, const uint8_t pk[static FM_KEY_LEN]);

/* The commune authority's public key and name.  Setting it again with a
 * different key is FM_ERR_MESH: a store belongs to one commune.
 * |commune| holds FM_NAME_MAX bytes. */
int fm_store_authority(fm_store *s, uint8_t pk[static FM_KEY_LEN], char *commune);
int fm_store_set_authority(fm_store *s, const uint8_t pk[static FM_KEY_LEN],
                           const char *commune);

/* Installs a signed enrollment certificate (an `enroll` entry of the
 * authority, hostile bytes) without it being in sequence in the
 * authority's log: from `join`, a bundle header or a peer's hello.  Held
 * entries of the enrolled device are retried.  Returns 0, FM_ERR_MESH (not
 * signed by this commune's authority), FM_ERR_MALFORMED or FM_ERR_BADSIG;
 * |out| (may be NULL) receives the parsed enrollment. */
int fm_store_add_cert(fm_store *s, const uint8_t *bytes, size_t len,
                      fm_time now, fm_enrollment *out);

/* The enrollment of |device|, and the last seq still trusted when it was
 * revoked (UINT64_MAX when it was not).  FM_ERR_NOTFOUND when the device
 * has no enrollment here; |revoked_after| is set then too (a revocation
 * may be heard of before any certificate).  |cert|, when not NULL, receives a malloc'd copy
 * of the certificate bytes (caller frees). */
int fm_store_enrollment(fm_store *s, const uint8_t device[static FM_KEY_LEN],
                        fm_enrollment *en, uint64_t *revoked_after,
                        uint8_t **cert, size_t *cert_len);

/* Calls |cb| with every enrollment certificate the store holds (bytes
 * valid during the call), until it returns non-zero. */
int fm_store_each_cert(fm_store *s, fm_entry_cb cb, void *ctx);

/* ---- writing ------------------------------------------------------------- */

/* Appends a new entry by |id| (the device or, on the administrator's
 * store, the authority): seq and prev from its head, hlc from the store's
 * clock and |now|.  The entry goes through the same validation and view
 * updates as a received one.  |entry_id| and |seq| may be NULL.  Returns
 * 0, or, with nothing written:
 *   FM_ERR_BEHIND   a peer has shown entries of |id| past our head (a
 *                   restored backup or a copied key) and they have not
 *                   arrived yet: the store will not fork its own log;
 *                   sync, or wait for the claim to lapse (FM_SEEN_TRUST_MS);
 *   FM_ERR_REVOKED  |id| was revoked: enroll the laptop again;
 *   FM_ERR_EXPIRED  |id|'s enrollment has expired at |now|: enroll again;
 *   FM_ERR_AUTH     the store holds no enrollment for |id| (not joined);
 *   FM_ERR_TOOBIG   the entry would be over FM_ENTRY_MAX: shorten the body;
 *   FM_ERR_NOSPACE  the disk or the map is full: free space, retry;
 *   FM_ERR_DAMAGED  the store is damaged: `fieldmesh recover`. */
int fm_store_append(fm_store *s, const fm_identity *id, const char *kind,
                    const uint8_t *body, size_t body_len, fm_time now,
                    uint8_t entry_id[FM_ID_LEN], uint64_t *seq);

/* How far (in ms) the store's clock, the last stamp this laptop made or
 * believed, is ahead of |now|: 0 unless more than FM_HLC_MAX_AHEAD_MS.
 * Then the next entry is stamped from |now| and the clock follows it
 * (a wrong clock fixed since): callers say so to the member, once. */
int64_t fm_store_clock_ahead(fm_store *s, fm_time now);

/* Validates and applies |n| received entries in one write transaction,
 * in the order given (per author, seq order).  |outcomes| (may be NULL)
 * receives one outcome per entry.  Returns 0 when the batch was
 * committed, whatever the outcomes; negative when nothing was. */
int fm_store_ingest(fm_store *s, const fm_slice *entries, size_t n, fm_time now,
                    fm_ingest_result *res, fm_ingest_outcome *outcomes);

/* Checks the signatures of a batch off the writer's thread, so that a
 * node uses every core while its one LMDB writer applies the entries in
 * order.  A verdict is a pure function of an entry's bytes: the store
 * asks for one exactly where it would otherwise call fm_entry_verify(),
 * so the outcomes, the log and the views are the same as with none.
 *
 * |begin| is handed the batch before the write transaction starts (the
 * slices stay valid until |end|) and may start checking it at once;
 * 0 or -ENOMEM (the batch fails: nothing is stored).  |verdict| returns
 * entry |i|'s: 0 (signed by its author), FM_ERR_BADSIG, FM_ERR_MALFORMED,
 * FM_ERR_TOOBIG, or -ENOMEM when the check itself could not run (the
 * batch fails, nothing of it is stored); it waits for the entry, or
 * checks it on the calling thread.  |end| is called once after |begin|
 * succeeded, whatever happened: once it returns, no thread reads the
 * batch any more -- unless the batch is part of an array named by
 * |ahead|, which is read until |ahead| is called again.
 *
 * |ahead| (may be NULL) is handed, by fm_store_verify_ahead(), every
 * entry its caller is about to ingest, in order; it may check them all
 * at once, so that the checks of one batch run while the one before
 * commits.  A batch later begun that is a run of that very array takes
 * those verdicts.  0 or -ENOMEM (nothing was handed over: the batches
 * are then checked one by one, the same).  Called with |n| 0, it lets go
 * of the array: once it returns, no thread reads it any more.  All four
 * are called on the store's thread. */
typedef struct fm_verifier {
  void *ctx;
  int (*begin)(void *ctx, const fm_slice *entries, size_t n);
  int (*verdict)(void *ctx, size_t i);
  void (*end)(void *ctx);
  int (*ahead)(void *ctx, const fm_slice *entries, size_t n);
} fm_verifier;

/* From now on fm_store_ingest() (and so a session's ingest and a bundle
 * import) takes the verdicts of |v| (copied; NULL: checks inline, the
 * default).  |v->ctx| must outlive its use by the store. */
void fm_store_set_verifier(fm_store *s, const fm_verifier *v);

/* Says that the caller is about to ingest the |n| |entries|, in order,
 * in batches that are runs of this very array (fm_store_ingest(s,
 * entries + k, m, ...)): the store's verifier, when it has an |ahead|
 * callback, starts checking them all now.  The array must stay valid and
 * unchanged until fm_store_verify_ahead(s, NULL, 0), which the caller
 * makes on every path before it frees the array (it waits for checks
 * under way).  Outcomes are the same with or without: it only changes
 * when the signatures are checked.  Returns 0 (also when the store has
 * no such verifier: nothing to do) or -ENOMEM (nothing was handed over;
 * the import may go on, checked batch by batch). */
int fm_store_verify_ahead(fm_store *s, const fm_slice *entries, size_t n);

/* Records that a peer (or a bundle) showed |seq| for |author| at |now|:
 * when |author| is one of ours and |seq| is past our head, appends fail
 * with FM_ERR_BEHIND until our log has caught up.  A claim is only a
 * claim, though: if our own entries up to |seq| have not arrived within
 * FM_SEEN_TRUST_MS of the latest such claim, it lapses and appends work
 * again, so a lying peer or a forged bundle header cannot stop a laptop
 * from writing for good. */
#define FM_SEEN_TRUST_MS (10 * 60 * 1000)
/* Returns 0, or a store error (FM_ERR_NOSPACE, FM_ERR_DAMAGED ...): a
 * session may go on (a claim not noted costs nothing lasting); a bundle
 * import stops, as for any store error. */
int fm_store_note_seen(fm_store *s, const uint8_t author[static FM_KEY_LEN],
                       uint64_t seq, fm_time now);

/* ---- reading the log ----------------------------------------------------- */

/* The store's vector. |out| is owned by the caller: fm_vector_free(). */
int fm_store_vector(fm_store *s, fm_vector *out);

/* Calls |cb| for each entry of |author| with seq > |after|, in seq order,
 * until |cb| returns non-zero (that value is returned), |max_bytes| have
 * been passed (0: no limit; at least one entry is always passed) or the log
 * ends.  The bytes are valid only during the call. */
int fm_store_read_after(fm_store *s, const uint8_t author[static FM_KEY_LEN],
                        uint64_t after, size_t max_bytes, fm_entry_cb cb,
                        void *ctx);

/* A malloc'd copy (caller frees) of |author|'s entry |seq| into |*out|,
 * |*len|: for instance an enrollment just appended, to hand on as a
 * certificate.  FM_ERR_NOTFOUND when the store does not hold it. */
int fm_store_entry_copy(fm_store *s, const uint8_t author[static FM_KEY_LEN], uint64_t seq,
                        uint8_t **out, size_t *len);

/* Calls |cb| for every entry the holder of |theirs| lacks (NULL: every
 * entry): the authority's log first, then each author's, oldest first.
 * An author whose head in |theirs| is not our entry at that seq (its log
 * forked from ours, as a restored backup's own log does) is sent whole. */
int fm_store_each_missing(fm_store *s, const fm_vector *theirs, fm_entry_cb cb,
                          void *ctx);

/* ---- views ----------------------------------------------------------------- */

typedef int (*fm_record_cb)(void *ctx, const char *id, size_t id_len,
                            const uint8_t *rec, size_t len);

/* Calls |cb| for every record of kind |k| (FM_VIEW_DOSSIER or
 * FM_VIEW_VISIT) in id order, until it returns non-zero.  The bytes are
 * valid only during the call. */
int fm_store_each_record(fm_store *s, fm_view_kind k, fm_record_cb cb, void *ctx);

/* Calls |cb| once for the record whose id is |id|, or whose id starts with
 * |id| when that prefix (4 characters or more) names exactly one record.
 * FM_ERR_NOTFOUND, or FM_ERR_EXISTS when the prefix is ambiguous. */
int fm_store_find_record(fm_store *s, fm_view_kind k, const char *id,
                         fm_record_cb cb, void *ctx);

/* BLAKE2b-256 over every view record in key order (dossiers, then visits):
 * two stores holding the same entries have the same digest. */
int fm_store_view_digest(fm_store *s, uint8_t out[static 32]);

/* ---- bookkeeping ------------------------------------------------------------- */

typedef struct fm_store_stats {
  uint64_t entries, bytes, authors;
  uint64_t dossiers, visits;
  uint64_t held, quarantined;
  uint64_t clock_ahead;    /* entries stamped too far ahead, all authors */
  uint64_t self_seq;       /* own head; 0 when none or no identity */
  uint64_t self_seen;      /* highest own seq any peer has claimed (a claim,
                            * not a copy: see copies.h) */
} fm_store_stats;

/* Counts of the whole store into |out|, from one read transaction.  0,
 * or FM_ERR_DAMAGED or another read error, and then |out| is untouched. */
int fm_store_stats_get(fm_store *s, fm_store_stats *out);

typedef int (*fm_quarantine_cb)(void *ctx, const uint8_t author[FM_KEY_LEN],
                                uint64_t seq, int reason, fm_time when,
                                const uint8_t *bytes, size_t len);
/* Every quarantined entry, by author and seq. */
int fm_store_each_quarantined(fm_store *s, fm_quarantine_cb cb, void *ctx);

typedef int (*fm_clock_cb)(void *ctx, const uint8_t author[FM_KEY_LEN],
                           uint64_t entries, uint64_t ahead_ms);
/* Every author whose entries were stamped over a day ahead of our clock
 * when they arrived: how many, and by how much the last one was ahead. */
int fm_store_each_clock_ahead(fm_store *s, fm_clock_cb cb, void *ctx);

/* Re-checks everything from scratch: every entry's structure, signature and
 * chain link, every head, and every view record and materialized receipt
 * (rebuilt from the log in a scratch store).  The scratch folder is a new
 * one made by mkdtemp as |scratch_dir|-XXXXXX (NULL: $TMPDIR, else /tmp,
 * /fieldmesh-verify-XXXXXX), without a lock file, and removed afterwards:
 * nothing already there is followed or removed, nothing is left behind,
 * and the store's own folder needs no free space.  Returns 0;
 * FM_ERR_CORRUPT when the log itself is damaged; FM_ERR_STALE when the
 * log is sound but the views or receipts disagree with it (fm_store_rebuild
 * mends that); FM_ERR_NOSPACE or FM_ERR_IO when the scratch store could
 * not be made or filled (the message names its folder); a one-line
 * description in |err| every time. */
int fm_store_verify(fm_store *s, const char *scratch_dir, char *err, size_t errcap);

/* The quick check `fieldmesh doctor` runs: every entry decodes, links to
 * the one before it by id and ends at its head record (a hash per entry:
 * any changed byte shows), and the signatures of a spread sample of about
 * |sample| entries verify (0: all of them).  The file's structure was
 * checked when the store was opened.  Returns 0 with the counts (each may
 * be NULL), FM_ERR_DAMAGED with a one-line reason in |err|, or another
 * read error. */
int fm_store_check(fm_store *s, uint64_t sample, uint64_t *entries, uint64_t *signatures,
                   char *err, size_t errcap);

/* Rebuilds the views and the materialized receipts from the log, in one
 * write transaction (all or nothing). */
int fm_store_rebuild(fm_store *s);

/* ---- a restored backup (store/restore.c) ------------------------------------ */

/* A laptop restored from an old backup and written to before it met the
 * mesh holds a branch of its own log that nobody else has.  When an entry
 * of the mesh's branch arrives (fm_store_ingest), that branch wins: ours
 * is kept as evidence in quarantine (FM_ERR_ROLLEDBACK) and in a restore
 * table, and once our log has caught up with what the mesh showed, each
 * of its records is written again as a new entry at the head -- same
 * record ids and content, signed anew, its body marked "restored_from"
 * with the old seq -- exactly once.  fm_store_append() does so first; a
 * syncing node (fm_node) and `bundle import` call fm_store_restore_flush().
 * |*n| (may be NULL) counts the entries written. */
int fm_store_restore_flush(fm_store *s, const fm_identity *id, fm_time now, unsigned *n);

typedef struct fm_restore_info {
  uint64_t pending;     /* set aside, waiting for our log to catch up */
  uint64_t rewritten;   /* written again at the head, all told */
  uint64_t set_aside;   /* own entries ever set aside */
  fm_time last;         /* when the last was set aside or written; 0 never */
} fm_restore_info;
/* Fills |out| from the restore table (read-only).  0 or a store error. */
int fm_store_restore_info(fm_store *s, fm_restore_info *out);

/* ---- salvage (store/salvage.c) ---------------------------------------------- */

/* One author's log, before and after a salvage. */
typedef struct fm_salvage_author {
  uint8_t author[FM_KEY_LEN];
  uint64_t claimed;   /* the highest seq the damaged store showed signs of */
  uint64_t saved;     /* the fresh store's head: entries 1..saved were saved */
  uint64_t head;      /* the seq of the head record found (0: none survived):
                       * when below |claimed| the log may have gone further */
} fm_salvage_author;

typedef struct fm_salvage {
  uint64_t found;         /* signed entries found on the pages (copies counted) */
  uint64_t unreadable;    /* log records that no longer decode or verify */
  uint64_t saved;         /* entries in the fresh store */
  size_t certs;           /* enrollment certificates found */
  int have_authority;     /* the commune's authority was found */
  fm_salvage_author *authors;   /* owned: fm_salvage_free() */
  size_t nauthors;
} fm_salvage;

/* Makes a fresh store in |to| (an existing, empty folder) from what can be
 * read of the store in |from|, which is only read, never through LMDB and
 * never changed: every record of every page that looks like a leaf, kept
 * when it is a signed entry that verifies (or the meta records, head
 * records and enrollment certificates).  The entries go through
 * fm_store_ingest (authority first), the views are rebuilt, and our own
 * logs are marked as seen up to where they had reached, so the fresh store
 * refuses to write them until sync has brought the missing entries back.
 * Returns 0 with |out| filled (free it with fm_salvage_free), or a negative
 * code (FM_ERR_NOSPACE, FM_ERR_NOTREG, -ENOENT: no data.mdb); what was
 * written to |to| is then the caller's to remove.  |self| (borrowed, may be
 * NULL) is this laptop's key from its device key file: the store's own
 * record naming it may be on a lost page, and without it the fresh store
 * would not know which log is ours and would let it fork. */
int fm_store_salvage(const char *from, const char *to, const uint8_t *self, fm_time now,
                     fm_salvage *out);
void fm_salvage_free(fm_salvage *s);

#endif
