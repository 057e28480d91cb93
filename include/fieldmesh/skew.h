/* How far this node's wall clock is from its direct peers' clocks.
 *
 * Each session measures, from the wall clock the peer sends in
 * PRESENCE_SUM, |ahead| = our wall clock when it arrives - the peer's
 * wall clock when it was sent: positive when our clock is ahead of the
 * peer's.  The message's time on the way adds to it, so a measure errs
 * by at most that (milliseconds on a LAN, under a second on any link
 * that syncs).  The estimate is the median over the FM_SKEW_PEERS direct
 * peers measured last: a laptop whose clock is wrong sees every peer off
 * by the same amount, and one peer with a wrong clock moves the median
 * of three or more peers little.  With one peer it cannot tell whose
 * clock is wrong.  Single thread, no allocation.
 */
#ifndef FIELDMESH_SKEW_H
#define FIELDMESH_SKEW_H

#include <stddef.h>
#include <stdint.h>

#include "fieldmesh/types.h"

#define FM_SKEW_PEERS 8

typedef struct fm_skew_peer {
  uint8_t peer[FM_KEY_LEN];
  int64_t ahead;   /* ms our clock was ahead of the peer's */
  fm_time when;    /* our wall clock at the measure */
} fm_skew_peer;

typedef struct fm_skew {
  fm_skew_peer p[FM_SKEW_PEERS];
  size_t n;
} fm_skew;

/* Records a measure of |peer| at |when|: replaces that peer's earlier
 * one, else takes a free row, else the row measured longest ago. */
void fm_skew_add(fm_skew *k, const uint8_t peer[static FM_KEY_LEN], int64_t ahead, fm_time when);

/* The median of the held measures (the mean of the two middle ones when
 * their number is even); 0 with none. */
int64_t fm_skew_median(const fm_skew *k);

/* An offset said shortly, sign first: "+2h00m", "-45s", "+3d04h", "0s".
 * Writes at most FM_SKEW_TEXT bytes, NUL included. */
#define FM_SKEW_TEXT 24
void fm_skew_text(int64_t ms, char out[static FM_SKEW_TEXT]);

/* Beyond this (5 minutes) an offset is worth telling people about. */
#define FM_SKEW_WRONG_MS (5LL * 60 * 1000)

#endif
