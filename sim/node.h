/* A simulated laptop: its folder, its real store, its identity, and the
 * session callbacks that wrap fm_node's so the simulator can see what each
 * batch did (for the metrics) and relay new entries to its other sessions.
 */
#ifndef SIM_NODE_H
#define SIM_NODE_H

#include "world.h"

/* Creates the folder and the store of |n| and joins it to the commune with
 * its enrollment certificate (the holder of the authority key already has
 * it).  0 or a negative code. */
int sim_node_create(sim_world *w, sim_node *n, const uint8_t *cert, size_t cert_len);
/* Opens the store again after a crash, or for the first time once
 * created.  0 or a negative code. */
int sim_node_start(sim_world *w, sim_node *n);
/* Closes the store (the caller has ended its connections). */
void sim_node_stop(sim_node *n);
/* Reads the node's vector into the metrics. */
int sim_node_reload(sim_world *w, sim_node *n);
/* Appends an entry as |as| (the device, or the authority on its holder),
 * records it in the ledger and offers it to every session.  0 or the
 * store's code (FM_ERR_BEHIND when the mesh showed a later own entry). */
int sim_node_append(sim_world *w, sim_node *n, const fm_identity *as, size_t author,
                    const char *kind, sim_kind k, const uint8_t *body, size_t len);
/* The session callbacks of |n| (ctx = n). */
fm_session_io sim_node_io(sim_node *n);
/* Stored entries of |n|, 0 when down. */
uint64_t sim_node_entries(sim_node *n);
/* A laptop put back to an older copy (a restore fault) writes the records
 * of its lost branch again at the head of its log, inside a sync: the
 * ledger learns those entries from its store.  0 or a negative code. */
int sim_node_absorb(sim_world *w, sim_node *n);

#endif
