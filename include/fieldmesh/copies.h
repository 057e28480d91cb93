/* Copies: which other devices hold this laptop's own entries.
 *
 * "Safe to leave the village" rests on this table and on gateway receipts,
 * nothing else.  A row says: device D, in its own authenticated word,
 * holds author A's entries 1 .. seq in its log (a prefix: a log is a hash
 * chain), learned at |when|.  Rows come only from what D said inside an
 * admitted session -- its HELLO's vector digest, a VECTOR item whose head
 * matches ours, an ACK of entries it stored (fm_session_io.held) -- or
 * from a bundle header signed with D's key; never from what was sent to
 * D.  A row only rises: a restored backup that later shows less never
 * lowers what an earlier word proved.
 *
 *   copies   author | device  ->  seq (be64) | when (be64, ms since 1970)
 *
 * Functions return 0 or a negative code (as fm_store_*).
 */
#ifndef FIELDMESH_COPIES_H
#define FIELDMESH_COPIES_H

#include "fieldmesh/store.h"

/* The default of [node] safe_copies: one other holder is enough. */
#define FM_SAFE_COPIES_DEFAULT 1u
#define FM_SAFE_COPIES_MAX 16u

/* Records that |device| holds |author|'s entries 1 .. |seq|, as of |now|
 * (wall clock).  Only raises; the store's own device is never recorded. */
int fm_store_note_held(fm_store *s, const uint8_t device[static FM_KEY_LEN],
                       const uint8_t author[static FM_KEY_LEN], uint64_t seq, fm_time now);

typedef struct fm_copies {
  uint64_t own;        /* |author|'s entries here (its head seq) */
  uint64_t none;       /* of those, on no other device */
  uint64_t one;        /* on exactly one other device */
  uint64_t more;       /* on two or more */
  uint64_t receipted;  /* named by a gateway receipt, whatever their copies */
  uint64_t unsafe;     /* with fewer than |need| other holders and no receipt */
  unsigned need;       /* the safe_copies asked for */
  uint32_t holders;    /* other devices known to hold any (revoked ones aside) */
} fm_copies;

/* Counts |author|'s entries by their copies on other devices that are
 * not revoked.  |need| is the number of other holders that makes an
 * entry safe (a receipt makes it safe too): every own entry is safe when
 * |out->unsafe| is 0. */
int fm_store_copies(fm_store *s, const uint8_t author[static FM_KEY_LEN], unsigned need,
                    fm_copies *out);

typedef int (*fm_holder_cb)(void *ctx, const uint8_t device[FM_KEY_LEN], uint64_t seq,
                            fm_time when);
/* Calls |cb| for every device recorded as holding |author|'s entries, in
 * device order, until it returns non-zero (returned). */
int fm_store_each_holder(fm_store *s, const uint8_t author[static FM_KEY_LEN],
                         fm_holder_cb cb, void *ctx);

/* The safe_copies this laptop was told to want ([node] safe_copies,
 * recorded by the daemon so that `fieldmesh status` agrees with it):
 * FM_SAFE_COPIES_DEFAULT until set. */
int fm_store_safe_copies(fm_store *s, unsigned *out);
int fm_store_set_safe_copies(fm_store *s, unsigned n);

#endif
