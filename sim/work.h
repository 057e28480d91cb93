/* The field work: what each member records and when.
 *
 * Every working day, each member's rhythm draws how many visits and
 * dossiers each work block brings; campaigns add an exact number of
 * dossiers spread over the blocks of their weeks.  Each dossier then
 * climbs the status ladder (submitted, processing, result ready or
 * rejected, delivered) on later working days of the member who filed it.
 */
#ifndef SIM_WORK_H
#define SIM_WORK_H

#include "check.h"
#include "world.h"

/* Plans the campaigns.  0 or -ENOMEM. */
int sim_work_init(sim_world *w);
void sim_work_free(sim_world *w);
/* Schedules day |day|'s writes (day 0 is the first day). */
void sim_work_day(sim_world *w, int day);
/* What the daemon does when its roster changes (daemon/regrant.c): the
 * grants of |n|, a node that sealed before, extended to readers it learned
 * of.  Called hourly for nodes that took entries in. */
void sim_work_regrant(sim_world *w, sim_node *n);

void sim_work_on_write(sim_world *w, const sim_event *ev);
void sim_work_on_status(sim_world *w, const sim_event *ev);
/* The statuses written after seeing another, for the checker (valid
 * until sim_work_free). */
void sim_work_corrections(const sim_world *w, const sim_correction **c, size_t *n);
/* Dossiers filed so far. */
size_t sim_work_dossiers(const sim_world *w);

#endif
