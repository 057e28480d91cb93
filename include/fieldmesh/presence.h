/* Presence notes: what a node says about itself, signed with its key.
 *
 * A note is not a log entry.  It is never part of a vector, a view or the
 * view digest, and never goes upstream: nodes pass the newest note of
 * each device on to the peers they sync with, so the commune hall learns
 * two hops away when a laptop last met anyone and what it lacks.  The
 * wire form (docs/protocol.md, "Presence notes"):
 *
 *   note = [body bin, sig bin64]
 *   body = [1, device bin32, wall uint, head_seq uint, only_here uint,
 *           vdigest bin32, authors uint, heads [[prefix bin8, seq uint], ...],
 *           version str, clock_offset int, free_kib uint,
 *           met [[device bin32, when uint], ...]]
 *   sig  = Ed25519 over "fieldmesh presence v1" 0x00 body, by |device|
 *
 * heads holds at most FM_PRESENCE_HEADS_MAX authors in key order (the
 * first 8 bytes of each key and its head seq); |authors| says how many the
 * node holds in all, and vdigest is fm_vector_digest() of its whole vector,
 * so a reader can tell "same entries" exactly and "lacks what" as far as
 * the heads go.  met holds at most FM_PRESENCE_MET_MAX devices, newest
 * first.  The whole note is at most FM_PRESENCE_MAX bytes.  Strict
 * MessagePack: one note has exactly one encoding.
 */
#ifndef FIELDMESH_PRESENCE_H
#define FIELDMESH_PRESENCE_H

#include "fieldmesh/identity.h"
#include "fieldmesh/types.h"
#include "fieldmesh/wire.h"

#define FM_CTX_PRESENCE "fieldmesh presence v1"
#define FM_PRESENCE_FORMAT 1
#define FM_PRESENCE_MAX 1024        /* bytes of a whole signed note */
#define FM_PRESENCE_HEADS_MAX 24    /* authors named in heads */
#define FM_PRESENCE_MET_MAX 4       /* devices in met */
#define FM_PRESENCE_VERSION_MAX 32  /* bytes of the software version */
#define FM_PRESENCE_PREFIX_LEN 8
/* A node makes at most one new note of its own per this many ms. */
#define FM_PRESENCE_INTERVAL_MS (60LL * 1000)

typedef struct fm_presence_head {
  uint8_t prefix[FM_PRESENCE_PREFIX_LEN];
  uint64_t seq;
} fm_presence_head;

typedef struct fm_presence_met {
  uint8_t device[FM_KEY_LEN];
  fm_time when;
} fm_presence_met;

typedef struct fm_presence {
  uint8_t device[FM_KEY_LEN];
  fm_time wall;             /* the node's wall clock when it made the note */
  uint64_t head_seq;        /* its own log's head */
  uint64_t only_here;       /* own entries on no other device it knows of */
  uint8_t vdigest[32];      /* fm_vector_digest() of its vector */
  uint64_t authors;         /* authors in its vector */
  uint32_t nheads;
  fm_presence_head heads[FM_PRESENCE_HEADS_MAX];
  char version[FM_PRESENCE_VERSION_MAX + 1];  /* NUL-terminated */
  int64_t clock_offset;     /* ms its clock was seen ahead (+) of peers' */
  uint64_t free_kib;        /* free disk in its state folder */
  uint32_t nmet;
  fm_presence_met met[FM_PRESENCE_MET_MAX];
} fm_presence;

/* Encodes and signs |p| with |id| (whose key must be p->device) into
 * |out|.  FM_ERR_INVAL when a field is out of range (too many heads or
 * met devices, heads out of order, a version too long or not UTF-8),
 * FM_ERR_TOOBIG past FM_PRESENCE_MAX, -ENOMEM. */
int fm_presence_sign(const fm_presence *p, const fm_identity *id, fm_buf *out);

/* Decodes hostile |bytes| and checks the signature by the device named
 * inside.  |out| is written only on success.  FM_ERR_TOOBIG past
 * FM_PRESENCE_MAX, FM_ERR_MALFORMED, FM_ERR_VERSION (another format),
 * FM_ERR_BADSIG. */
int fm_presence_parse(const uint8_t *bytes, size_t len, fm_presence *out);

/* fm_presence_parse without the signature check: what a hostile note
 * claims, for bookkeeping only (which device and wall a peer says it
 * holds), never to keep or show.  Same errors but FM_ERR_BADSIG. */
int fm_presence_peek(const uint8_t *bytes, size_t len, fm_presence *out);

/* Which of two verified notes of one device wins: the later wall time,
 * then the greater bytes.  >0 when |a| wins, <0 when |b| does, 0 equal. */
int fm_presence_cmp(const fm_presence *a, const uint8_t *abytes, size_t alen,
                    const fm_presence *b, const uint8_t *bbytes, size_t blen);

/* One note handed over by whoever holds notes (the store, a session's
 * node): |p| verified and decoded, |bytes| valid during the call,
 * |received| when it came.  A non-zero return stops the walk. */
typedef int (*fm_presence_cb)(void *ctx, const fm_presence *p, const uint8_t *bytes,
                              size_t len, fm_time received);

#endif
