#include "heap.h"

#include <errno.h>
#include <stdlib.h>

static int before(const sim_event *x, const sim_event *y) {
  return x->at < y->at || (x->at == y->at && x->seq < y->seq);
}

void sim_heap_init(sim_heap *h) {
  h->ev = NULL;
  h->n = h->cap = 0;
  h->next_seq = 0;
}

void sim_heap_free(sim_heap *h) {
  for (size_t i = 0; i < h->n; i++) free(h->ev[i].p);
  free(h->ev);
  sim_heap_init(h);
}

int sim_heap_push(sim_heap *h, const sim_event *e) {
  if (h->n == h->cap) {
    size_t cap = h->cap ? h->cap * 2 : 1024;
    sim_event *ev = realloc(h->ev, cap * sizeof *ev);
    if (!ev) return -ENOMEM;
    h->ev = ev;
    h->cap = cap;
  }
  size_t i = h->n++;
  sim_event x = *e;
  x.seq = h->next_seq++;
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!before(&x, &h->ev[parent])) break;
    h->ev[i] = h->ev[parent];
    i = parent;
  }
  h->ev[i] = x;
  return 0;
}

int sim_heap_pop(sim_heap *h, sim_event *out) {
  if (h->n == 0) return 0;
  *out = h->ev[0];
  sim_event last = h->ev[--h->n];
  size_t i = 0;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= h->n) break;
    if (c + 1 < h->n && before(&h->ev[c + 1], &h->ev[c])) c++;
    if (!before(&h->ev[c], &last)) break;
    h->ev[i] = h->ev[c];
    i = c;
  }
  if (h->n > 0) h->ev[i] = last;
  return 1;
}

fm_time sim_heap_next_at(const sim_heap *h) {
  return h->n ? h->ev[0].at : FM_TIME_NEVER;
}
