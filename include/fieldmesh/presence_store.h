/* The presence table: the newest note of each device (presence.h).
 *
 *   presence   device -> received (be64, ms) | note bytes
 *
 * Notes are not log entries: nothing here touches the logs, the vector or
 * the views.  A note is kept only when it is signed by an enrolled device
 * that is not revoked, is not more than FM_HLC_MAX_AHEAD_MS ahead of the
 * receiver's clock, and is newer (fm_presence_cmp) than the one held.
 * Every other note is dropped and counted by reason, in the store (meta
 * "presence_drops"), so `fieldmesh members` can say so.
 */
#ifndef FIELDMESH_PRESENCE_STORE_H
#define FIELDMESH_PRESENCE_STORE_H

#include "fieldmesh/presence.h"
#include "fieldmesh/store.h"

typedef enum fm_presence_drop {
  FM_PDROP_FORGED,      /* does not decode or verify */
  FM_PDROP_OVERSIZE,    /* past FM_PRESENCE_MAX or a count limit */
  FM_PDROP_STALE,       /* older than the note held */
  FM_PDROP_FUTURE,      /* wall time too far ahead of ours */
  FM_PDROP_UNENROLLED,  /* device not enrolled here, or revoked */
  FM_PDROP_TOO_SOON,    /* newer, but less than FM_PRESENCE_INTERVAL_MS after the
                         * note held: at most one new note per device per minute */
  FM_PDROP_N
} fm_presence_drop;

/* "forged", "oversize", ...: for logs and --json. */
const char *fm_presence_drop_name(fm_presence_drop d);

typedef struct fm_presence_tally {
  unsigned kept;                 /* newer than what was held: stored */
  unsigned same;                 /* the very note held already */
  unsigned dropped[FM_PDROP_N];
} fm_presence_tally;

/* Offers |n| hostile notes received at |now|, in one write transaction.
 * |tally| (may be NULL) says what became of them; the store's drop
 * counters rise by the same.  Returns 0 or a store error (then nothing
 * was kept). */
int fm_store_presence_put(fm_store *s, const fm_slice *notes, size_t n, fm_time now,
                          fm_presence_tally *tally);

/* Calls |cb| (presence.h) with every note held, in device order: |p|
 * verified and decoded, |bytes| valid during the call, |received| when it
 * came.  A non-zero return stops the walk and is returned. */
int fm_store_presence_each(fm_store *s, fm_presence_cb cb, void *ctx);

/* Calls |cb| as fm_store_presence_each does with the note held for
 * |device| alone (one lookup): |cb|'s return, or FM_ERR_NOTFOUND. */
int fm_store_presence_one(fm_store *s, const uint8_t device[static FM_KEY_LEN],
                          fm_presence_cb cb, void *ctx);

/* The note held for |device|: |out| and |received| (either may be NULL).
 * FM_ERR_NOTFOUND when none. */
int fm_store_presence_get(fm_store *s, const uint8_t device[static FM_KEY_LEN],
                          fm_presence *out, fm_time *received);

/* The drops counted since the store was made, by reason. */
int fm_store_presence_drops(fm_store *s, uint64_t out[FM_PDROP_N]);

/* What only the running program knows about itself. */
typedef struct fm_presence_local {
  const char *version;      /* software version */
  int64_t clock_offset;     /* ms our clock was seen ahead of peers' */
  uint64_t free_kib;        /* free disk in the state folder */
} fm_presence_local;

/* Makes and keeps a new note of |id| (this store's device) from the store
 * -- head, own entries on no other device, vector digest and heads, the
 * devices last known to hold our entries -- and |local|, unless the held
 * own note is less than FM_PRESENCE_INTERVAL_MS old: then nothing is made
 * and 1 is returned.  0 when a note was made. */
int fm_store_presence_make(fm_store *s, const fm_identity *id, const fm_presence_local *local,
                           fm_time now);

/* The own note of a node in a live session, which must cost the link
 * nothing while nothing happens: made afresh (as fm_store_presence_make)
 * only when the held one is FM_PRESENCE_INTERVAL_MS old and the store's
 * figures in it (head, only-here, vector digest, authors) changed or the
 * clock offset moved by FM_PRESENCE_CLOCK_STEP_MS, or it is
 * FM_PRESENCE_RENEW_MS old (or in the future: a clock set back).
 * 0 when a note was made, 1 when not, or a store error. */
/* A day: on a quiet link an unchanged note would otherwise be made anew
 * and passed to every node of the commune each hour, for nothing but
 * its time (the simulator measured it: most of the bytes of a quiet
 * year).  A node's note is made afresh at each session's start anyway. */
#define FM_PRESENCE_RENEW_MS (24LL * 60 * 60 * 1000)
#define FM_PRESENCE_CLOCK_STEP_MS (30LL * 1000)
int fm_store_presence_renew(fm_store *s, const fm_identity *id, const fm_presence_local *local,
                            fm_time now);

#endif
