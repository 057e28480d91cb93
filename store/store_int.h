/* Internals shared by the files of the store module.  Not public. */
#ifndef FIELDMESH_STORE_INT_H
#define FIELDMESH_STORE_INT_H

#include <lmdb.h>

#include "fieldmesh/store.h"

struct fm_store {
  MDB_env *env;
  MDB_dbi entries, heads, dossiers, visits, enrollments, held, quarantine,
      clock, meta;
  /* The gateway's forwarding state and every node's materialized receipts
   * (forward.c, delivery.c; layouts in docs/architecture.md).  A store
   * opened read-only from before they existed has none of them:
   * |gw_tables| is 0 and those modules read nothing. */
  MDB_dbi forward, receipts, delivered, receipt_wait;
  int gw_tables;
  /* Other devices' copies of own entries (copies.c), added with protocol
   * version 2: 0 in an older store opened read-only. */
  MDB_dbi copies;
  int has_copies;
  /* Own entries of a losing branch waiting to be written again at the
   * head (restore.c): 0 in an older store opened read-only. */
  MDB_dbi restore;
  int has_restore;
  /* Presence notes (presence.c): 0 in an older store opened read-only. */
  MDB_dbi presence;
  MDB_dbi record_wait;   /* kind | len | record id | author: a change waiting for its record */
  int has_record_wait;
  int has_presence;
  /* Attachment chunks (blob.c): 0 in an older store opened read-only. */
  MDB_dbi blobs;
  MDB_dbi blob_wanted;
  int has_blobs;
  /* Chunks' copies on other devices (scan_copies.c): 0 in an older store
   * opened read-only. */
  MDB_dbi blob_copies;
  int has_blob_copies;
  fm_limits limits;
  size_t held_max;   /* FM__HELD_MAX unless the opener chose another */
  size_t held_per_author; /* FM__HELD_PER_AUTHOR or less, never over held_max */
  int nosync, read_only;
  int (*verify)(void *ctx, const fm_entry *e); /* NULL: fm_entry_verify */
  void *verify_ctx;
  fm_buf rec;        /* scratch for view records during a write */
  /* The last author's enrollment, as read in the current write
   * transaction: a batch is mostly one author's entries, and parsing the
   * certificate per entry showed in profiles.  Cleared when a write
   * transaction starts and whenever enrollments change. */
  struct {
    int valid;
    uint8_t author[FM_KEY_LEN];
    int known;               /* 0: unknown author (revoked_after may apply) */
    fm_role role;
    char team[FM_NAME_MAX];  /* the enrollment's team */
    uint64_t revoked_after;
    fm_time expires;
  } trust_cache;
  fm_buf build;      /* scratch for entries built by fm_store_append */
  fm_verifier verifier;   /* fm_store_set_verifier; .verdict NULL: inline */
  /* The verifier of the batch being ingested: its entry |vi|'s verdict
   * is asked for instead of fm_entry_verify() (ingest.c).  NULL outside
   * fm_store_ingest, and for entries that are not the batch's own. */
  const fm_verifier *batch_v;
  size_t vi;
};

/* Bounds that keep every queue finite. */
#define FM__HELD_MAX 100000        /* entries kept aside for unknown authors (default) */
#define FM__HELD_PER_AUTHOR 4096   /* of those, per author: one key cannot fill the table */

/* Head record: seq, head id, count, bytes (big-endian integers). */
#define FM__HEAD_LEN (8 + FM_ID_LEN + 8 + 8)
typedef struct fm__head {
  uint64_t seq;
  uint8_t id[FM_ID_LEN];
  uint64_t count, bytes;
} fm__head;

void fm__be64_put(uint8_t *p, uint64_t v);
uint64_t fm__be64_get(const uint8_t *p);
/* author | seq key of the entries and held tables: |key| holds 40 bytes. */
void fm__store_entry_key(uint8_t key[40], const uint8_t author[FM_KEY_LEN],
                         uint64_t seq);

/* Maps an LMDB or system code to ours (MDB_MAP_FULL is kept: the write
 * loop grows the map and retries).  One convention inside store/: LMDB
 * returns positive errno values and negative MDB_* codes, so every mdb_*
 * result passes through this function at the call site before it is
 * returned; a code compared with MDB_NOTFOUND is compared before.  Our
 * functions return 0 or a negative code (ingest's outcomes are >= 0 and
 * its errors negative).  Idempotent on our own codes. */
int fm__store_err(int rc);

/* The signature of an entry the store is given (received, or a
 * certificate): fm_entry_verify, or the opener's fm_store_opts.verify
 * when it set one.  0 or FM_ERR_BADSIG. */
int fm__store_verify_entry(const fm_store *s, const fm_entry *e);

/* Runs |fn| in a write transaction and commits, growing the map and
 * retrying the whole of |fn| when it fills up: |fn| must start from
 * scratch each time it is called, and return 0 or a negative code (a
 * positive one is a programming error, asserted). */
typedef int (*fm__write_fn)(fm_store *s, MDB_txn *t, void *ctx);
int fm__store_write(fm_store *s, fm__write_fn fn, void *ctx);
/* Begins a read-only transaction, following a map grown by another
 * process. */
int fm__store_read_begin(fm_store *s, MDB_txn **t);

int fm__store_head_get(fm_store *s, MDB_txn *t, const uint8_t author[FM_KEY_LEN],
                       fm__head *h);
int fm__store_head_put(fm_store *s, MDB_txn *t, const uint8_t author[FM_KEY_LEN],
                       const fm__head *h);

int fm__store_meta_get(fm_store *s, MDB_txn *t, const char *name, MDB_val *v);
/* Rebuilds the views when they were built by another view format (or the
 * store is new); 0 when they are current (store/verify.c). */
int fm__store_views_current(fm_store *s);
int fm__store_meta_put(fm_store *s, MDB_txn *t, const char *name,
                       const void *p, size_t n);
/* A setting the daemon records for the CLI to judge alike (safe_copies,
 * scans_max): a be64 under |name| in meta.  The getter gives |dflt| when
 * none is recorded or it is over |max|; the setter writes only a change. */
int fm__store_setting_get(fm_store *s, const char *name, uint64_t dflt, uint64_t max,
                          uint64_t *out);
int fm__store_setting_set(fm_store *s, const char *name, uint64_t v);

/* Trust state of an author for entry |seq| stamped |hlc|. */
typedef enum fm__trust {
  FM__TRUST_AUTHORITY, FM__TRUST_OK, FM__TRUST_UNKNOWN, FM__TRUST_REVOKED,
  FM__TRUST_EXPIRED
} fm__trust;
int fm__store_trust(fm_store *s, MDB_txn *t, const uint8_t author[FM_KEY_LEN],
                    uint64_t seq, fm_hlc hlc, fm__trust *trust, fm_role *role);

/* Who may change what (team.c).  For an entry |e| of a trusted author
 * (|trust|, |role|, the team of its enrollment |author_team|): 0 when it
 * may be applied, FM_ERR_ROLE when its author may not write it (a record
 * under another author's id, a change of another team's record), or
 * FM__WAIT_RECORD when it changes a record this store does not hold yet;
 * or a negative LMDB code. */
#define FM__WAIT_RECORD 1
int fm__store_team_rule(fm_store *s, MDB_txn *t, const fm_entry *e, fm__trust trust,
                        fm_role role, const char *author_team);
/* Notes that |e|, held, waits for its record. */
int fm__store_wait_record(fm_store *s, MDB_txn *t, const fm_entry *e);
/* After |e| was applied: when it is a record (`visit`, `dossier`) that
 * changes wait for, their authors' held entries are released.  One
 * mdb_stat() when none waits. */
int fm__store_record_arrived(fm_store *s, MDB_txn *t, const fm_entry *e, fm_time now,
                             fm_ingest_result *res);

/* Installs an enrollment from a verified `enroll` entry of the authority,
 * keeping the newer (higher authority seq) of two certificates. */
int fm__store_put_cert(fm_store *s, MDB_txn *t, const fm_entry *e,
                       fm_enrollment *en);
int fm__store_put_revocation(fm_store *s, MDB_txn *t,
                             const uint8_t device[FM_KEY_LEN], uint64_t after);

/* The per-author bound of the held table: |asked| (0: the default) lowered
 * to FM__HELD_PER_AUTHOR and to |held_max|. */
size_t fm__store_held_per_author(size_t asked, size_t held_max);

/* Retries the held entries of |device| after it became known. */
int fm__store_release_held(fm_store *s, MDB_txn *t,
                           const uint8_t device[FM_KEY_LEN], fm_time now,
                           fm_ingest_result *res);

/* Applies a decoded entry to the view tables. */
int fm__store_apply_views(fm_store *s, MDB_txn *t, MDB_dbi dossiers,
                          MDB_dbi visits, const fm_entry *e);

/* Receipts (delivery.c): called by the write path for every entry it
 * appends to a log.  A `receipt` (its author's role already checked) is
 * materialized; an ordinary entry costs one mdb_stat() unless a receipt
 * named it before it arrived. */
int fm__store_receipts_on_entry(fm_store *s, MDB_txn *t, const fm_entry *e);
/* An accepted `dossier.attach` entry: its chunks not held yet become
 * wanted (blob.c). */
int fm__store_blobs_on_entry(fm_store *s, MDB_txn *t, const fm_entry *e);

/* Empties the receipt tables |receipts|, |delivered| and |wait| of |wt|
 * and rebuilds them from the receipts in the log, read through |rt| (which
 * may be |wt|).  Only with s->gw_tables. */
int fm__store_replay_receipts(fm_store *s, MDB_txn *rt, MDB_txn *wt, MDB_dbi receipts,
                              MDB_dbi delivered, MDB_dbi wait);

/* fm_store_append() inside the caller's write transaction |t| (the
 * gateway commits a batch's cursors and its receipts together).  On
 * success |entry_id| and |seq| (both may be NULL) are set. */
int fm__store_append_txn(fm_store *s, MDB_txn *t, const fm_identity *id, const char *kind,
                         const uint8_t *body, size_t body_len, fm_time now,
                         uint8_t entry_id[FM_ID_LEN], uint64_t *seq);

/* The body of fm__store_append_txn() without the re-recording of a
 * restored backup's entries first (restore.c calls it for those). */
int fm__store_append_one(fm_store *s, MDB_txn *t, const fm_identity *id, const char *kind,
                         const uint8_t *body, size_t body_len, fm_time now,
                         uint8_t entry_id[FM_ID_LEN], uint64_t *seq);

/* Puts |len| entry bytes in quarantine under |key| (author|seq|id) for
 * |reason| (an FM_ERR_* code). */
int fm__store_quarantine_bytes(fm_store *s, MDB_txn *t, const uint8_t key[40 + FM_ID_LEN],
                               const uint8_t *bytes, size_t len, int reason, fm_time now);

/* The highest seq of our log |pk| the mesh has shown (0: none) and when it
 * last did (either may be NULL). */
void fm__store_seen_get(fm_store *s, MDB_txn *t, const uint8_t pk[FM_KEY_LEN],
                        uint64_t *seq, fm_time *when);

/* True when the mesh has shown an entry of our log |pk| past |head| and
 * that claim is younger than FM_SEEN_TRUST_MS at |now| (appends wait). */
int fm__store_own_behind(fm_store *s, MDB_txn *t, const uint8_t pk[FM_KEY_LEN],
                         uint64_t head, fm_time now);

/* ---- a restored backup (restore.c) ------------------------------------------ */

/* Called with a verified entry |e| of our own log (the store's "self")
 * at a seq we hold with other bytes.  When |e| continues our log below
 * that seq and was written before our entry there (a restored backup
 * written to: the mesh's entry is the older), our entries from |e->seq| on
 * go to quarantine (FM_ERR_ROLLEDBACK) and to the restore table, our head
 * goes back to |e->seq| - 1 and the views are rebuilt, so |e| can be
 * applied.  |*rolled| says whether it happened. */
int fm__store_own_fork(fm_store *s, MDB_txn *t, const fm_entry *e, fm_time now,
                       int *rolled);
/* Writes the entries of the restore table again at the head of |id|'s
 * log, oldest first, when the log has caught up (as the append guard
 * says); |*n| (may be NULL) counts them. */
int fm__store_restore_flush(fm_store *s, MDB_txn *t, const fm_identity *id, fm_time now,
                            unsigned *n);
/* The views and the receipts rebuilt from the log, in place (verify.c). */
int fm__store_replay_derived(fm_store *s, MDB_txn *t);

/* BLAKE2b-256 over the two view tables, as fm_store_view_digest(). */
int fm__store_digest_txn(MDB_txn *t, MDB_dbi dossiers, MDB_dbi visits,
                         uint8_t out[32]);

/* Calls |fn| with every entry of the log read through |t|, in key order,
 * until it returns non-zero (returned).  FM_ERR_CORRUPT for an entry that
 * does not decode. */
typedef int (*fm__entry_fn)(void *ctx, const fm_entry *e);
int fm__store_each_logged(fm_store *s, MDB_txn *t, fm__entry_fn fn, void *ctx);

/* Empties the view tables |dossiers| and |visits| of |wt| and rebuilds them
 * from every entry of the log, read through |rt| (which may be |wt|). */
int fm__store_replay_views(fm_store *s, MDB_txn *rt, MDB_txn *wt,
                           MDB_dbi dossiers, MDB_dbi visits);

/* Takes |device|'s entries past |after| out of its log (into quarantine)
 * and, when any were there, rebuilds the views and the receipts (a
 * revoked gateway's later receipts no longer count; receipts of purged
 * entries wait again). */
int fm__store_purge_revoked(fm_store *s, MDB_txn *t,
                            const uint8_t device[FM_KEY_LEN], uint64_t after,
                            fm_time now);

/* ---- the files themselves (check.c, salvage.c) ------------------------------- */

/* An LMDB tree record and meta page, as stored (layout in check.c). */
typedef struct fm__tree {
  uint16_t flags, depth;
  uint64_t branch, leaf, overflow, entries, root;   /* root: UINT64_MAX when empty */
} fm__tree;
typedef struct fm__meta {
  uint32_t psize;
  fm__tree free, main;
  uint64_t last_pg, txnid;
} fm__meta;

void fm__store_tree_read(const uint8_t *p, fm__tree *t);
/* Parses meta page |which| (0 or 1) from |p| (|len| bytes): 0 or
 * FM_ERR_DAMAGED with the reason in |why|. */
int fm__store_meta_read(const uint8_t *p, size_t len, int which, fm__meta *m,
                        char *why, size_t cap);
/* Before LMDB maps |dir|/data.mdb: its meta pages, read with pread.  0 (a
 * missing or empty file too), FM_ERR_DAMAGED with the reason in |why|, or
 * a negated errno. */
int fm__store_precheck(const char *dir, char *why, size_t cap);
/* Every page of every tree reached from |m|, in the |file_size| bytes at
 * |base|: 0, FM_ERR_DAMAGED with the reason, or -ENOMEM.  Never reads
 * outside those bytes. */
int fm__store_walk_pages(const uint8_t *base, uint64_t file_size, const fm__meta *m,
                         char *why, size_t cap);
/* fm__store_walk_pages over the snapshot of a new read transaction of |s|,
 * through LMDB's own map. */
int fm__store_walk(fm_store *s, char *why, size_t cap);

#endif
