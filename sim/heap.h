/* The event queue: a binary min-heap of events ordered by (time, seq).
 *
 * |seq| is the order in which events were pushed, so two events due at
 * the same millisecond always pop in the order they were scheduled: the
 * tie-break that makes a run reproducible.  The heap grows as needed; the
 * number of pending events is bounded by the scenario (one write event per
 * record, a few per open connection), not by the run's length.
 */
#ifndef SIM_HEAP_H
#define SIM_HEAP_H

#include <stddef.h>
#include <stdint.h>

#include "fieldmesh/types.h"

typedef struct sim_event {
  fm_time at;
  uint64_t seq;
  int type;
  int a, b;        /* meaning depends on |type| */
  uint32_t gen;    /* generation of the object |a| names, to drop stale events */
  void *p;         /* owned payload (bytes on the wire), or NULL */
  size_t len;
} sim_event;

typedef struct sim_heap {
  sim_event *ev;
  size_t n, cap;
  uint64_t next_seq;
} sim_heap;

void sim_heap_init(sim_heap *h);
/* Frees the heap and every payload still queued. */
void sim_heap_free(sim_heap *h);
/* Queues a copy of |e| (its |seq| is assigned here).  0 or -ENOMEM. */
int sim_heap_push(sim_heap *h, const sim_event *e);
/* Takes the earliest event into |out|; 0 when the queue is empty. */
int sim_heap_pop(sim_heap *h, sim_event *out);
/* The time of the earliest event, FM_TIME_NEVER when empty. */
fm_time sim_heap_next_at(const sim_heap *h);

#endif
