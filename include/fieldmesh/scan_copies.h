/* Copies of scans' chunks on other devices: "safe to leave the village"
 * for the attachments a laptop wrote, as copies.h is for its entries.
 *
 * An entry that travelled does not carry its scan: the chunks follow on
 * their own (blob_store.h).  So a laptop counts a chunk of its own scan as
 * held by device D only on D's word that it keeps it -- D's HELD in an
 * admitted session (msg.h) -- never from having sent it.  A scan whose
 * entry a gateway receipted is safe too: the gateway forwards a scan only
 * once it holds all of it.
 *
 *   blob_copies   chunk id (32) | device (32)  ->  when (be64, ms since 1970)
 *
 * Functions return 0 or a negative code (as fm_store_*).
 */
#ifndef FIELDMESH_SCAN_COPIES_H
#define FIELDMESH_SCAN_COPIES_H

#include "fieldmesh/attach.h"
#include "fieldmesh/store.h"

/* Records that |device| keeps the chunk |id|, as of |now|, when this
 * store holds that chunk (a chunk it does not hold is none of its
 * concern); the store's own device is never recorded.  -EROFS on a store
 * opened read-only. */
int fm_store_blob_note_held(fm_store *s, const uint8_t device[static FM_KEY_LEN],
                            const uint8_t id[static FM_BLOB_ID], fm_time now);

typedef struct fm_scan_copies {
  uint64_t scans;          /* |author|'s scans (dossier.attach entries) here */
  uint64_t bytes;          /* their chunks' bytes held here */
  uint64_t unsafe;         /* scans with a chunk on fewer than |need| other
                            * devices and no gateway receipt */
  uint64_t unsafe_bytes;   /* the bytes of those chunks: waiting to travel */
  uint64_t absent;         /* scans with a chunk not held here (not ours to
                            * count: a restored backup, or a chunk lost) */
} fm_scan_copies;

/* Counts |author|'s scans by the copies of their chunks on other devices
 * not revoked now; |need| as fm_store_copies().  Every own scan is safe
 * when |out->unsafe| is 0. */
int fm_store_scan_copies(fm_store *s, const uint8_t author[static FM_KEY_LEN], unsigned need,
                         fm_scan_copies *out);

/* ---- by USB stick -----------------------------------------------------------
 *
 * A bundle or vector file whose header the exporter signed says, per
 * author, up to which seq the exporter holds every chunk of every scan of
 * that author (protocol.md 7.2, `scans`): the importer counts the
 * exporter as holding the chunks of its own scans up to there, as a
 * signed vector counts for its entries. */

/* The highest seq s of |author| such that this store holds every chunk
 * of every scan (dossier.attach) of |author| up to s: the author's head
 * when it holds them all; 0 when the author has no scan here or this
 * store lacks a chunk of its first.  Into |*seq|. */
int fm_store_scans_held_upto(fm_store *s, const uint8_t author[static FM_KEY_LEN],
                             uint64_t *seq);

/* Records that |device| holds every chunk of this store's own scans up to
 * its seq |upto| (as fm_store_blob_note_held, for each chunk held here),
 * as of |now|, in one write transaction.  |*noted| (may be NULL) counts
 * the chunks newly recorded. */
int fm_store_scans_note_held(fm_store *s, const uint8_t device[static FM_KEY_LEN],
                             uint64_t upto, fm_time now, uint64_t *noted);

#endif
