#include "ledger.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

const char *sim_kind_name(sim_kind k) {
  static const char *const names[SIM_K_COUNT] = {"enroll", "revoke", "visit", "dossier",
                                                 "dossier.status", "seal.grant",
                                                 "dossier.attach"};
  return (unsigned)k < SIM_K_COUNT ? names[k] : "unknown";
}

int sim_ledger_init(sim_ledger *l, size_t n) {
  memset(l, 0, sizeof *l);
  if (!(l->a = calloc(n ? n : 1, sizeof *l->a))) return -ENOMEM;
  if (!(l->order = calloc(n ? n : 1, sizeof *l->order))) {
    free(l->a);
    return -ENOMEM;
  }
  l->n = n;
  for (size_t i = 0; i < n; i++) {
    l->a[i].node = -2;
    l->a[i].revoked_after = l->a[i].fork_base = UINT64_MAX;
  }
  return 0;
}

void sim_ledger_free(sim_ledger *l) {
  for (size_t i = 0; i < l->n; i++) free(l->a[i].e);
  free(l->a);
  free(l->order);
  free(l->r);
  for (size_t i = 0; i < l->nscans; i++) free(l->scans[i].ids);
  free(l->scans);
  memset(l, 0, sizeof *l);
}

void sim_ledger_name(sim_ledger *l, size_t i, const uint8_t pk[FM_KEY_LEN], int node) {
  memcpy(l->a[i].pk, pk, FM_KEY_LEN);
  l->a[i].node = node;
}

/* A sorter needs a context to compare indexes by key; insertion sort keeps
 * it simple, and it runs once for a few hundred authors. */
int sim_ledger_index(sim_ledger *l) {
  l->norder = 0;
  for (size_t i = 0; i < l->n; i++) {
    if (l->a[i].node == -2) continue;
    size_t k = l->norder++;
    while (k > 0 && memcmp(l->a[l->order[k - 1]].pk, l->a[i].pk, FM_KEY_LEN) > 0) {
      l->order[k] = l->order[k - 1];
      k--;
    }
    l->order[k] = (uint32_t)i;
  }
  for (size_t k = 1; k < l->norder; k++)
    if (!memcmp(l->a[l->order[k - 1]].pk, l->a[l->order[k]].pk, FM_KEY_LEN)) return -EINVAL;
  return 0;
}

int sim_ledger_find(const sim_ledger *l, const uint8_t pk[FM_KEY_LEN]) {
  size_t lo = 0, hi = l->norder;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    int c = memcmp(l->a[l->order[mid]].pk, pk, FM_KEY_LEN);
    if (c == 0) return (int)l->order[mid];
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return -1;
}

int sim_ledger_add(sim_ledger *l, size_t i, uint64_t seq, const uint8_t id[FM_ID_LEN],
                   fm_time now, uint32_t size, sim_kind kind) {
  sim_author *a = &l->a[i];
  if (seq != a->n + 1) return -EINVAL;
  if (a->n == a->cap) {
    uint64_t cap = a->cap ? a->cap * 2 : 64;
    sim_lentry *e = realloc(a->e, cap * sizeof *e);
    if (!e) return -ENOMEM;
    a->e = e;
    a->cap = cap;
  }
  sim_lentry *e = &a->e[a->n++];
  memset(e, 0, sizeof *e);
  memcpy(e->id, id, FM_ID_LEN);
  e->created = now;
  e->size = size;
  e->kind = (uint8_t)kind;
  sim_ledger_recount(l, i);
  return 0;
}

int sim_ledger_restored(sim_ledger *l, size_t author, uint64_t seq) {
  if (l->nr == l->capr) {
    size_t cap = l->capr ? l->capr * 2 : 16;
    sim_restored *r = realloc(l->r, cap * sizeof *r);
    if (!r) return -ENOMEM;
    l->r = r;
    l->capr = cap;
  }
  l->r[l->nr].author = author;
  l->r[l->nr++].seq = seq;
  return 0;
}

void sim_ledger_recount(sim_ledger *l, size_t i) {
  sim_author *a = &l->a[i];
  uint64_t x = a->n;
  if (a->revoked_after < x) x = a->revoked_after;
  if (a->fork_base < x) x = a->fork_base;
  a->expect = a->hostile ? 0 : x;
}

int sim_ledger_is_field(const sim_ledger *l, size_t i) { return l->a[i].node >= 0; }

int sim_ledger_scan(sim_ledger *l, size_t author, uint64_t seq, const uint8_t *ids, size_t n,
                    fm_time now) {
  if (l->nscans == l->capscans) {
    size_t cap = l->capscans ? 2 * l->capscans : 64;
    sim_lscan *p = realloc(l->scans, cap * sizeof *p);
    if (!p) return -ENOMEM;
    l->scans = p;
    l->capscans = cap;
  }
  sim_lscan *sc = &l->scans[l->nscans];
  memset(sc, 0, sizeof *sc);
  if (!(sc->ids = malloc(n * 32))) return -ENOMEM;
  memcpy(sc->ids, ids, n * 32);
  sc->nchunks = n;
  sc->author = author;
  sc->seq = seq;
  sc->created = now;
  l->nscans++;
  return 0;
}
