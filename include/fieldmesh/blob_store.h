/* The blobs table: attachment chunks by their id (attach.h).
 *
 *   blobs         blob id (32) -> sealed chunk bytes
 *   blob_wanted   blob id (32) -> (empty): named by an accepted
 *                 `dossier.attach` entry, not held yet
 *
 * A chunk is kept only under the BLAKE2b-256 of its bytes, computed here:
 * whoever hands a chunk in cannot name it falsely.  A chunk from another
 * laptop (a bundle, a session) is kept only when wanted, so nobody can
 * fill a disk with chunks no entry names.  Chunks are not log entries:
 * nothing here touches the logs, the vector or the views, and a laptop
 * may hold an entry whose chunks have not reached it yet.
 *
 * Threads: as the store (store.h).
 */
#ifndef FIELDMESH_BLOB_STORE_H
#define FIELDMESH_BLOB_STORE_H

#include "fieldmesh/attach.h"
#include "fieldmesh/store.h"

/* Keeps this laptop's own |n| chunks (each more than FM_ATTACH_TAG and at
 * most FM_ATTACH_CHUNK + FM_ATTACH_TAG bytes) in one write transaction,
 * wanted or not; chunks already held are left as they are.  Returns 0,
 * FM_ERR_TOOBIG (a chunk of another size; nothing kept), FM_ERR_NOSPACE
 * (disk or map full: nothing kept) or another store error; -EROFS on a
 * store opened read-only. */
int fm_store_blob_put(fm_store *s, const fm_slice *chunks, size_t n);

typedef struct fm_blob_tally {
  unsigned kept;       /* wanted: kept, and wanted no more */
  unsigned same;       /* held already */
  unsigned unwanted;   /* no entry here names it (or a size no chunk has): dropped */
} fm_blob_tally;

/* Seals |len| bytes of a file (1 .. FM_ATTACH_FILE_MAX) chunk by chunk
 * under |key| (fm_attach_chunk_seal) and keeps this laptop's chunks as
 * fm_store_blob_put does; their ids, in order, into |ids| (the caller's,
 * fm_attach_nchunks(len) * FM_BLOB_ID bytes).  0, -ENOMEM or
 * fm_store_blob_put()'s errors. */
int fm_store_blob_seal_file(fm_store *s, const uint8_t *plain, size_t len,
                            const uint8_t key[static FM_ATTACH_KEY], uint8_t *ids);

/* Offers |n| chunks from another laptop (hostile bytes) in one write
 * transaction: only wanted ones are kept.  |tally| (may be NULL) says what
 * became of them.  Errors as fm_store_blob_put (never FM_ERR_TOOBIG: a
 * chunk of a wrong size is unwanted). */
int fm_store_blob_offer(fm_store *s, const fm_slice *chunks, size_t n, fm_blob_tally *tally);
/* The same for one chunk whose |id| the caller has already checked is the
 * BLAKE2b-256 of its bytes (a sync session does, to tell a peer's wrong
 * bytes from the chunk it asked for): not hashed a second time. */
int fm_store_blob_offer_checked(fm_store *s, const fm_slice *chunk,
                                const uint8_t id[static FM_BLOB_ID], fm_blob_tally *tally);

/* Calls |cb| with each wanted id (valid during the call), in id order,
 * until it returns non-zero (returned).  0 or a store error. */
typedef int (*fm_blob_cb)(void *ctx, const uint8_t id[FM_BLOB_ID]);
int fm_store_blob_each_wanted(fm_store *s, fm_blob_cb cb, void *ctx);
/* How many chunks are wanted.  0 or a store error. */
int fm_store_blob_wanted_count(fm_store *s, uint64_t *n);

/* Copies the chunk |id| into |out| (|cap| bytes, FM_ATTACH_CHUNK +
 * FM_ATTACH_TAG is always enough) and its size into |*len|.  0,
 * FM_ERR_NOTFOUND (not here), FM_ERR_TOOBIG (|cap| too small) or a store
 * error. */
int fm_store_blob_get(fm_store *s, const uint8_t id[static FM_BLOB_ID], uint8_t *out,
                      size_t cap, size_t *len);

/* Appends the chunk |id| names to |out|, straight from the store (no copy
 * in between): a sync session serving a chunk.  0, FM_ERR_NOTFOUND, a
 * store error, or fm_buf_put()'s error (|out| too small: nothing added). */
int fm_store_blob_append(fm_store *s, const uint8_t id[static FM_BLOB_ID], fm_buf *out);

/* How many of the |n| ids (|ids|, 32 bytes each) are held: into |*held|.
 * 0 or a store error. */
int fm_store_blob_count(fm_store *s, const uint8_t *ids, size_t n, size_t *held);

/* All chunks held: how many and their bytes.  0 or a store error. */
int fm_store_blob_stats(fm_store *s, uint64_t *count, uint64_t *bytes);

/* ---- the quota of scans ----------------------------------------------------
 *
 * A laptop keeps others' chunks up to a quota ([node] scans_max_mb), then
 * stops asking for more: its own scans are always kept, and it still
 * serves what it holds.  Chunks are counted at FM_ATTACH_CHUNK +
 * FM_ATTACH_TAG bytes each (an upper bound, read in constant time). */

/* Whether the chunks held reach |max| bytes (0: no limit): 1 or 0 into
 * |*full|.  0 or a store error. */
int fm_store_blob_full(fm_store *s, uint64_t max, int *full);
/* The quota the daemon runs with, recorded so that `fieldmesh status` and
 * `doctor` judge as it does: bytes, 0 for no limit (the default until a
 * daemon records one).  0 or a store error. */
int fm_store_set_scans_max(fm_store *s, uint64_t bytes);
int fm_store_scans_max(fm_store *s, uint64_t *bytes);

#endif
