/* Scans (--scans, `scan_kb`): a sealed file attached to each dossier
 * filed, written as `fieldmesh dossier attach` writes one -- chunks into
 * the store's blobs first, then the `dossier.attach` entry -- and watched
 * as its chunks travel: when the gateway holds all of them, and whether
 * every honest node still wants some.
 *
 * The file's bytes and key come from the run's one generator, so a run
 * stays the same for a seed.
 */
#ifndef SIM_SCAN_H
#define SIM_SCAN_H

#include "fieldmesh/seal.h"
#include "world.h"

/* Writes the scan of dossier |dossier| on node |n|: w->opt.scan_kb KiB of
 * random bytes, sealed chunk by chunk under a random key, kept in |n|'s
 * blobs; the body of the `dossier.attach` entry into |body| (its `name`
 * and `key` sealed by |seal|, which may be NULL), and the chunk ids into
 * |*ids| (the caller's to free, |*nchunks| of them).  0 or a negative
 * code (the store's, FM_ERR_INVAL, -ENOMEM). */
int sim_scan_make(sim_world *w, sim_node *n, const char *dossier, const fm_sealer *seal,
                  fm_buf *body, uint8_t **ids, size_t *nchunks);

/* The gateway kept the chunk |id|: the scans it completes are whole there
 * from now. */
void sim_scan_gateway_took(sim_world *w, const uint8_t id[32]);

/* Whether no honest node that is up still wants a chunk: the run may end
 * (asked only once the entries agree; the answer is kept until another
 * chunk arrives somewhere).  1 when the run writes no scans. */
int sim_scan_settled(sim_world *w);

#endif
