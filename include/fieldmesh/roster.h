/* The roster: every device this store holds an enrollment for, with what
 * the store knows of its log.  Shared by `fieldmesh members`, `revoke`
 * (cli/roster.c) and the gateway's dashboard (daemon/web_mesh.c).
 *
 * Functions return 0 or a negative code (as fm_store_*). */
#ifndef FIELDMESH_ROSTER_H
#define FIELDMESH_ROSTER_H

#include "fieldmesh/enroll.h"
#include "fieldmesh/presence.h"
#include "fieldmesh/store.h"

typedef struct fm_roster_member {
  fm_enrollment en;        /* en.name is empty for a device never enrolled */
  int enrolled;            /* 0: this store holds no enrollment for it */
  uint64_t enroll_seq;     /* the enrollment's seq in the authority's log */
  fm_time enrolled_at;     /* its stamp: when the authority signed it */
  uint64_t revoked_after;  /* the last seq still trusted; UINT64_MAX: not revoked */
  uint64_t last_seq;       /* the highest seq of the device held here; 0: none */
  fm_time last_written;    /* that entry's stamp (the device's own clock); 0: none */
  uint64_t quarantined;    /* its entries held here as evidence only */
  int has_presence;        /* 1: |presence| is its newest note held here */
  fm_presence presence;    /* its own word: last seen (wall), only-here, version */
  fm_time presence_received; /* when this store took that note in */
} fm_roster_member;

typedef struct fm_roster {
  fm_roster_member *m;     /* owned: fm_roster_free() */
  size_t n;
} fm_roster;

/* Every enrolled device, by team, then name, then id, into |r| (owned by
 * the caller: fm_roster_free(), also after an error). */
int fm_roster_load(fm_store *s, fm_roster *r);
void fm_roster_free(fm_roster *r);

/* The ids of the enrolled devices whose role is in |roles| (a set of
 * 1u << fm_role bits; 0: every role), in certificate order: a malloc'd
 * array (caller frees) in |*out|, their number in |*n|.  0, -ENOMEM or a
 * store error. */
int fm_roster_devices(fm_store *s, unsigned roles, uint8_t (**out)[FM_KEY_LEN], size_t *n);

/* Fills |m|'s log figures and revocation from |v| (the store's vector)
 * for a device whose en.device is set. */
int fm_roster_fill(fm_store *s, const fm_vector *v, fm_roster_member *m);

/* The stamp of |device|'s entry |seq| as held here (the writer's clock),
 * 0 when this store does not hold it. */
fm_time fm_roster_written_at(fm_store *s, const uint8_t device[FM_KEY_LEN], uint64_t seq);

#endif
