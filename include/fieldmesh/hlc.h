/* Hybrid logical clock: 48 bits of milliseconds and a 16-bit counter in one
 * uint64, so that comparing two stamps as integers orders them.
 *
 * Clocks in the field are often wrong.  A stamp from another device more
 * than FM_HLC_MAX_AHEAD_MS ahead of our wall clock is never allowed to drag
 * our clock forward: the entry is kept, but flagged.
 */
#ifndef FIELDMESH_HLC_H
#define FIELDMESH_HLC_H

#include "fieldmesh/types.h"

typedef uint64_t fm_hlc;

#define FM_HLC_MAX_AHEAD_MS (24LL * 3600 * 1000)

/* A stamp is 48 bits of Unix milliseconds and a 16-bit counter: its
 * milliseconds, and a stamp made of both (|ms| below 2^48). */
static inline uint64_t fm_hlc_ms(fm_hlc h) { return h >> 16; }
static inline fm_hlc fm_hlc_make(uint64_t ms, uint16_t counter) {
  return (ms << 16) | counter;
}

/* |last| as a clock to go on from: 0 when it is more than
 * FM_HLC_MAX_AHEAD_MS ahead of |now| -- a laptop whose wrong clock was
 * fixed does not keep stamping the future it once believed. */
fm_hlc fm_hlc_believable(fm_hlc last, fm_time now);

/* The stamp for a new local event: later than fm_hlc_believable(|last|)
 * and not earlier than |now|.  When the counter overflows, the
 * millisecond part moves on.  (Stamped from the clock after a far-ahead
 * |last|, an author's stamps may go back; its log stays ordered by seq,
 * and merges go by causality first: include/fieldmesh/view.h.) */
fm_hlc fm_hlc_tick(fm_hlc last, fm_time now);

/* Folds a stamp |seen| on a received entry into our clock |last|.  A stamp
 * more than FM_HLC_MAX_AHEAD_MS ahead of |now| is ignored. */
fm_hlc fm_hlc_observe(fm_hlc last, fm_hlc seen, fm_time now);

/* True when |seen| is more than FM_HLC_MAX_AHEAD_MS ahead of |now|. */
int fm_hlc_too_far_ahead(fm_hlc seen, fm_time now);

#endif
