/* Faults, injected at the times a scenario names: a link cut in the middle
 * of a transfer, a laptop that crashes and restarts, a clock off by days,
 * a device revoked by the authority, and a twin laptop carrying a copied
 * key (a fork of that key's log).  Garbage-sending nodes are set up in the
 * network (net.c) from the node's |hostile| setting.
 */
#ifndef SIM_FAULT_H
#define SIM_FAULT_H

#include "world.h"

/* Queues every fault and twin of the scenario that falls inside the work. */
void sim_fault_init(sim_world *w);
void sim_fault_on(sim_world *w, const sim_event *ev);
void sim_fault_on_twin(sim_world *w, const sim_event *ev);

#endif
