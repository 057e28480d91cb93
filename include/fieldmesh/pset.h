/* A presence set: which note (device, wall) a node holds, or knows a peer
 * holds, of each device -- what two nodes compare so that a session sends
 * only the presence notes the peer lacks (docs/protocol.md, 9.4).
 *
 * Sorted by device, one row per device, walls only rise.  Bounded by
 * FM_PSET_MAX devices (far beyond a commune's enrollments).  Single
 * thread; the set owns its rows.
 */
#ifndef FIELDMESH_PSET_H
#define FIELDMESH_PSET_H

#include <stddef.h>
#include <stdint.h>

#include "fieldmesh/types.h"

#define FM_PSET_MAX 65536

typedef struct fm_pset_item {
  uint8_t device[FM_KEY_LEN];
  uint64_t wall;
} fm_pset_item;

typedef struct fm_pset {
  fm_pset_item *items;
  size_t n, cap;
} fm_pset;

void fm_pset_init(fm_pset *s);
void fm_pset_free(fm_pset *s);  /* back to empty; |s| may be reused */

/* Records that |device|'s note of |wall| is held: adds the row, or raises
 * its wall (a lower wall changes nothing).  0, -ENOMEM, or FM_ERR_TOOBIG
 * when FM_PSET_MAX devices are held already (nothing changed). */
int fm_pset_raise(fm_pset *s, const uint8_t device[static FM_KEY_LEN], uint64_t wall);

/* 1 when the set holds a note of |device| at least as new as |wall|. */
int fm_pset_covers(const fm_pset *s, const uint8_t device[static FM_KEY_LEN], uint64_t wall);

/* BLAKE2b-256 over each row in device order: device (32 bytes) then wall
 * (8 bytes big-endian).  The empty set hashes no bytes. */
void fm_pset_digest(const fm_pset *s, uint8_t out[static 32]);

#endif
