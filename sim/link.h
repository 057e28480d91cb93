/* Links: who can reach whom, and when.  A link opens windows on its days
 * (the hall on meeting days, a hotspot in the village at night, a 3G
 * signal in the evening); inside a window each pair connects after a
 * little jitter, reconnects after a cut with back-off, and in sync mode
 * says goodbye once caught up.  USB links are in usb.h.
 */
#ifndef SIM_LINK_H
#define SIM_LINK_H

#include "net.h"

int sim_link_init(sim_world *w);
void sim_link_free(sim_world *w);
/* Schedules the windows (and USB trips) of local day |day|. */
void sim_link_day(sim_world *w, int64_t day);
void sim_link_on_window(sim_world *w, const sim_event *ev);
void sim_link_on_contact(sim_world *w, const sim_event *ev);
/* A connection of pair |pair| ended: plan the next attempt. */
void sim_link_ended(sim_world *w, int link, size_t pair, sim_end why, int failed);
/* Node |node| came back: dial its pairs on links that are up. */
void sim_link_node_up(sim_world *w, int node);
/* True when link |link| is inside a window at instant |t|. */
int sim_link_up_at(const sim_world *w, int link, fm_time t);

#endif
