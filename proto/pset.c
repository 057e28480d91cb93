/* Presence sets.  See include/fieldmesh/pset.h. */
#include "fieldmesh/pset.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fieldmesh/error.h"

void fm_pset_init(fm_pset *s) { memset(s, 0, sizeof *s); }

void fm_pset_free(fm_pset *s) {
  free(s->items);
  fm_pset_init(s);
}

/* Where |device| is, or would go. */
static size_t find(const fm_pset *s, const uint8_t device[FM_KEY_LEN], int *found) {
  size_t lo = 0, hi = s->n;
  *found = 0;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = memcmp(s->items[mid].device, device, FM_KEY_LEN);
    if (c == 0) {
      *found = 1;
      return mid;
    }
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

int fm_pset_raise(fm_pset *s, const uint8_t device[static FM_KEY_LEN], uint64_t wall) {
  int found;
  size_t i = find(s, device, &found);
  if (found) {
    if (wall > s->items[i].wall) s->items[i].wall = wall;
    return 0;
  }
  if (s->n == FM_PSET_MAX) return FM_ERR_TOOBIG;
  if (s->n == s->cap) {
    size_t cap = s->cap ? 2 * s->cap : 32;
    fm_pset_item *p = realloc(s->items, cap * sizeof *p);
    if (!p) return -ENOMEM;
    s->items = p;
    s->cap = cap;
  }
  memmove(&s->items[i + 1], &s->items[i], (s->n - i) * sizeof s->items[0]);
  memcpy(s->items[i].device, device, FM_KEY_LEN);
  s->items[i].wall = wall;
  s->n++;
  return 0;
}

int fm_pset_covers(const fm_pset *s, const uint8_t device[static FM_KEY_LEN], uint64_t wall) {
  int found;
  size_t i = find(s, device, &found);
  return found && s->items[i].wall >= wall;
}

void fm_pset_digest(const fm_pset *s, uint8_t out[static 32]) {
  crypto_generichash_state h;
  uint8_t be[8];
  crypto_generichash_init(&h, NULL, 0, 32);
  for (size_t i = 0; i < s->n; i++) {
    for (int b = 0; b < 8; b++) be[b] = (uint8_t)(s->items[i].wall >> (56 - 8 * b));
    crypto_generichash_update(&h, s->items[i].device, FM_KEY_LEN);
    crypto_generichash_update(&h, be, 8);
  }
  crypto_generichash_final(&h, out, 32);
}
