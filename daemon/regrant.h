/* The daemon extends this laptop's key grants to readers it learns of
 * (docs/privacy.md): when the roster changes (a member joins, the gateway
 * is enrolled), what this laptop sealed in the last year becomes readable
 * to them without waiting for its next record.  It also extends the
 * grants of other laptops that are gone (revoked, expired, silent for a
 * day) whose keys it holds, in its turn among their holders.  Loop thread
 * only. */
#ifndef FMD_REGRANT_H
#define FMD_REGRANT_H

#include "fieldmesh/keys.h"

struct fmd_node;

/* Writes the extensions |d|'s grants, and gone writers' grants, need
 * now, if any, and offers them to the peers; logs a store error once per call.  Cheap when the
 * roster did not change.  |*keys| is the node's keyring (made on first
 * use; freed with fm_keyring_free). */
void fmd_regrant(struct fmd_node *d, fm_keyring **keys);

#endif
