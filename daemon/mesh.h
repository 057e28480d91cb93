/* The mesh as the node sees it: what each connection and dial tells it,
 * and what follows.
 *
 *  - admitted: the device behind an address is known; a second
 *    connection to the same device is settled (the one dialled by the
 *    device with the smaller id stays, the other is closed with BYE
 *    "duplicate connection"); a waiting `fieldmesh sync` is answered.
 *  - caught up: logged (copies of our own log are noted by the node as
 *    the peer's ACKs arrive, not here: see copies.h).
 *  - refused: entries the peer would not store are logged once.
 *  - closed: the disconnect is logged with its reason, the address record
 *    keeps the error and counts the failure, static peers are dialled
 *    again after their backoff.
 */
#ifndef FMD_MESH_H
#define FMD_MESH_H

#include "fieldmesh/session.h"

typedef struct fmd_node fmd_node;
typedef struct fmd_peer fmd_peer;
typedef struct fmd_addr fmd_addr;

void fmd_mesh_admitted(fmd_node *d, fmd_peer *p, const fm_session_stats *st);
void fmd_mesh_caught_up(fmd_node *d, fmd_peer *p, const fm_session_stats *st);
/* The peer refused or quarantined entries we sent (range |r|, |total|
 * entries so far in this session): said once per new range. */
void fmd_mesh_refused(fmd_node *d, fmd_peer *p, const fm_msg_refusal *r, uint64_t total);
/* |p|, a caller, failed before admission in a way that counts against
 * its address (shun.h): logs when the address is now ignored. */
void fmd_mesh_misbehaved(fmd_node *d, fmd_peer *p, const char *reason);
/* |p| is closing; |reason| for the log, |failed| whether it counts. */
void fmd_mesh_closed(fmd_node *d, fmd_peer *p, const char *reason, int failed);
/* |p| is being freed: forget it. */
void fmd_mesh_gone(fmd_node *d, fmd_peer *p);
/* A dial of |a| failed before any connection existed. */
void fmd_mesh_dial_failed(fmd_node *d, fmd_addr *a, const char *reason);

#endif
