/* A node: one store, the device identity and its enrollment, wired to the
 * sync session.  The daemon and the simulator both drive sessions through
 * this adapter, so they exercise the same code paths.
 */
#ifndef FIELDMESH_NODE_H
#define FIELDMESH_NODE_H

#include "fieldmesh/presence_store.h"
#include "fieldmesh/session.h"
#include "fieldmesh/skew.h"
#include "fieldmesh/store.h"

typedef struct fm_node {
  fm_store *store;            /* not owned */
  fm_identity id;             /* the device's identity: locked in memory
                                 (sodium_mlock), wiped by fm_node_free */
  int id_locked;
  uint8_t *cert;              /* own enrollment certificate, owned */
  size_t cert_len;
  uint64_t ingested;          /* entries accepted from peers, all sessions */
  fm_ingest_result received;  /* every outcome of every batch from peers,
                                 summed (max_hlc, first_error: the last) */
  uint64_t rewritten;         /* records of a restored backup written again
                               * at the head of our log (store/restore.c) */
  /* Called after entries from a peer were accepted (may be NULL), so the
   * driver can offer them to its other sessions. */
  void (*on_new_entries)(void *ctx, uint32_t accepted);
  void *on_new_ctx;
  /* The wall clock, ms since 1970 (the daemon's real one, the simulator's
   * virtual one with this node's skew): stamps, expiry, claim lapses.
   * Sessions run on a monotonic clock of their own; this one may jump.
   * Set by the driver before the first session. */
  fm_time (*wall)(void *ctx);
  void *wall_ctx;
  /* What goes in this node's own presence note besides the store's
   * figures (presence_store.h): the driver sets it and keeps it current;
   * |version| must outlive the node.  Each session offers the node's own
   * note (made at most once a minute) and the notes it holds. */
  fm_presence_local presence;
  /* How far our clock is from the direct peers' (skew.h): its median is
   * presence.clock_offset, kept current by the sessions. */
  fm_skew skew;
  /* Bytes of chunks held past which the node asks peers for no more
   * (blob_store.h, "the quota of scans"); 0: no limit.  Set by the
   * driver. */
  uint64_t scans_max;
  /* Changes whenever the notes held change (fm_session_io.presence_gen). */
  uint64_t presence_gen;
  /* The commune hall's devices (gateways, officers, admins), whose notes
   * go to members too: with them go their enrollments, which a member
   * needs to seal for the hall.  Owned; re-read once a minute. */
  uint8_t (*hall)[FM_KEY_LEN];
  size_t nhall;
  fm_time hall_at;
} fm_node;

/* Sets up |n| on an open |store| for |id|, loading its own certificate.
 * FM_ERR_AUTH when the store holds no enrollment for |id| (not joined). */
int fm_node_init(fm_node *n, fm_store *store, const fm_identity *id);
void fm_node_free(fm_node *n);

/* The session callbacks for |n| (ctx = n). */
fm_session_io fm_node_io(fm_node *n);

/* The session settings every driver of |n| shares, in |cfg| (zeroed
 * first): our identity and certificate (pointers into |n|, which must
 * outlive the session), fm_node_io(n), deferred ingest so the
 * entries of one read burst commit as one batch, and compression offered
 * (ENTRIES go PACKED to a peer that offers it too).  The driver then sets
 * what is its own: rng, window, ping and idle timings, and may wrap io.
 * The daemon, the simulator and the tests build sessions through it, so
 * they cannot drift apart. */
void fm_node_session_cfg(fm_node *n, int initiator, fm_session_cfg *cfg);

/* The wall clock of |n| (FM_ASSERTs that the driver set one). */
fm_time fm_node_wall(const fm_node *n);

/* The admission rule, usable on its own: |cert| must be an enrollment by
 * this commune's authority (FM_ERR_MESH), for |node_id| (FM_ERR_AUTH), not
 * expired at |now| (FM_ERR_EXPIRED) and not revoked (FM_ERR_REVOKED).
 * Installs the certificate so the peer's entries are accepted. */
int fm_node_admit(fm_node *n, const uint8_t node_id[FM_KEY_LEN],
                  const uint8_t *cert, size_t cert_len, fm_time now,
                  fm_enrollment *who);

#endif
