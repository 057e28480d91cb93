/* What becomes of received entries: the types the sync session and the
 * store share, so that proto/ can hand entries to whatever stores them
 * (fm_session_io) without knowing the store.
 *
 * Threads: plain values.
 */
#ifndef FIELDMESH_INGEST_H
#define FIELDMESH_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "fieldmesh/hlc.h"

/* Visits one stored entry (or certificate): the bytes are valid only
 * during the call.  Returning non-zero stops the walk. */
typedef int (*fm_entry_cb)(void *ctx, const uint8_t *bytes, size_t len);

/* What happened to each entry of a batch. */
typedef enum fm_outcome {
  FM_IN_ACCEPTED,     /* appended to its author's log */
  FM_IN_DUPLICATE,    /* the same entry was already held */
  FM_IN_HELD,         /* author not yet known: kept aside, retried on enrollment */
  FM_IN_QUARANTINED,  /* kept as evidence, not applied: fork, revoked, expired, role */
  FM_IN_REFUSED,      /* not stored: malformed, too big, bad signature, gap, bad prev */
} fm_outcome;

typedef struct fm_ingest_result {
  uint32_t accepted, duplicate, held, quarantined, refused;
  uint32_t clock_ahead;   /* accepted, but stamped > 24 h ahead of |now| */
  uint32_t released;      /* held entries accepted because of this batch */
  uint32_t invalid;       /* refused as malformed, too big or badly signed:
                           * the sender broke the protocol */
  uint32_t rolled_back;   /* own entries of the mesh's branch that replaced a
                           * branch of ours (a restored backup): see
                           * fm_store_restore_flush() */
  int first_error;        /* code of the first refused or quarantined entry */
  fm_hlc max_hlc;         /* latest believable stamp accepted */
} fm_ingest_result;

typedef struct fm_slice {
  const uint8_t *p;
  size_t len;
} fm_slice;

/* One entry's fate: |outcome| is an fm_outcome, |code| the reason
 * (FM_ERR_GAP, FM_ERR_FORK ...) for a held, quarantined or refused one. */
typedef struct fm_ingest_outcome {
  uint8_t outcome;
  int code;
} fm_ingest_outcome;

#endif
