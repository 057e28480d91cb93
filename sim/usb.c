#include "usb.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fieldmesh/bundle.h"
#include "fieldmesh/error.h"
#include "net.h"
#include "node.h"

/* Side 0 is the carrier's laptop (|from|), side 1 the other end. */
static sim_node *end_node(sim_world *w, const sim_linkrt *l, int side) {
  return &w->nodes[side ? l->spec->pairs[0].b : l->spec->pairs[0].a];
}

static int export_side(sim_world *w, int link, int side) {
  sim_linkrt *l = &w->links[link];
  sim_node *n = end_node(w, l, side);
  size_t count = 0;
  struct stat st;
  snprintf(l->pending[side], sizeof l->pending[side], "%s/usb-%d-%llu.fmb", n->dir, link,
           (unsigned long long)++n->usb_serial);
  int rv = fm_bundle_export(n->store, &n->id, l->has_seen[side] ? &l->seen[side] : NULL,
                            l->pending[side], sim_net_node_now(w, n), &count);
  if (rv < 0) return rv;
  w->m.bundles++;
  w->m.bundle_entries += count;
  if (stat(l->pending[side], &st) == 0) w->m.bundle_bytes += (uint64_t)st.st_size;
  return 0;
}

static int copy_vector(fm_vector *dst, const fm_vector *src) {
  fm_vector v = {src->n, NULL};
  if (src->n && !(v.items = malloc(src->n * sizeof *v.items))) return -ENOMEM;
  if (src->n) memcpy(v.items, src->items, src->n * sizeof *v.items);
  fm_vector_free(dst);
  *dst = v;
  return 0;
}

/* The stick from side 1 - |side| arrives at |side|. */
static int import_side(sim_world *w, int link, int side) {
  sim_linkrt *l = &w->links[link];
  sim_node *n = end_node(w, l, side);
  const char *path = l->pending[1 - side];
  fm_bundle b;
  fm_ingest_result res;
  int rv = fm_bundle_read(path, &b);
  if (rv < 0) return rv;
  rv = fm_bundle_import(n->store, &b, sim_net_node_now(w, n), &res);
  /* What the other end holds, as of its departure: the next trip's base. */
  if (rv == 0) rv = copy_vector(&l->seen[side], &b.vector);
  if (rv == 0) l->has_seen[side] = 1;
  fm_bundle_free(&b);
  unlink(path);
  l->pending[1 - side][0] = 0;
  if (rv < 0) return rv;
  if ((rv = sim_node_reload(w, n)) < 0) return rv;
  sim_net_notify(w, n);
  return 0;
}

void sim_usb_on_leg(sim_world *w, const sim_event *ev) {
  sim_linkrt *l = &w->links[ev->a];
  int rv = 0;
  if (ev->b == 0) {
    /* A laptop that is off, or a stick still out, makes no trip today. */
    if (!end_node(w, l, 0)->up || l->pending[0][0] || l->pending[1][0]) return;
    if ((rv = export_side(w, ev->a, 0)) == 0)
      sim_world_at(w, w->now + l->spec->carry, SIM_EV_USB, ev->a, 1, 0, NULL, 0);
  } else {
    int side = ev->b == 1 ? 1 : 0;
    if (!end_node(w, l, side)->up) {
      /* The stick waits by the laptop until it is back on. */
      sim_world_at(w, w->now + SIM_HOUR_MS, SIM_EV_USB, ev->a, ev->b, 0, NULL, 0);
      return;
    }
    rv = import_side(w, ev->a, side);
    if (rv == 0 && side == 1 && (rv = export_side(w, ev->a, 1)) == 0)
      sim_world_at(w, w->now + l->spec->carry, SIM_EV_USB, ev->a, 2, 0, NULL, 0);
  }
  if (rv < 0) sim_world_fatal(w, "carrying a bundle", rv);
}
