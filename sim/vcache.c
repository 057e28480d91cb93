#include "vcache.h"

#include <stdlib.h>
#include <string.h>

/* Open addressing with linear probing over a power-of-two table of slots;
 * a slot holds a copy of the verified bytes (NULL: empty).  The table is
 * at most half full. */
typedef struct slot {
  uint8_t *bytes;
  size_t len;
  uint64_t hash;
} slot;

struct sim_vcache {
  slot *t;
  size_t cap, n;
  uint64_t verified, reused;
};

sim_vcache *sim_vcache_new(void) {
  sim_vcache *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->cap = 1 << 12;
  if (!(c->t = calloc(c->cap, sizeof *c->t))) {
    free(c);
    return NULL;
  }
  return c;
}

void sim_vcache_del(sim_vcache *c) {
  if (!c) return;
  for (size_t i = 0; i < c->cap; i++) free(c->t[i].bytes);
  free(c->t);
  free(c);
}

/* Where to look: FNV-1a over the signature, which is what differs most
 * between entries (a hostile node can collide it; it then only costs
 * probes, never a wrong answer: matches compare every byte). */
static uint64_t hash_of(const fm_entry *e) {
  uint64_t h = 14695981039346656037ull;
  for (size_t i = 0; i < FM_SIG_LEN; i++) h = (h ^ e->sig[i]) * 1099511628211ull;
  return h;
}

static int grow(sim_vcache *c) {
  size_t cap = c->cap * 2;
  slot *t = calloc(cap, sizeof *t);
  if (!t) return -1;
  for (size_t i = 0; i < c->cap; i++) {
    if (!c->t[i].bytes) continue;
    size_t j = c->t[i].hash & (cap - 1);
    while (t[j].bytes) j = (j + 1) & (cap - 1);
    t[j] = c->t[i];
  }
  free(c->t);
  c->t = t;
  c->cap = cap;
  return 0;
}

static void remember(sim_vcache *c, const fm_entry *e, uint64_t h, size_t at) {
  uint8_t *copy = malloc(e->len);
  if (!copy) return;
  memcpy(copy, e->bytes, e->len);
  slot s = {copy, e->len, h};
  c->t[at] = s;
  c->n++;
  if (2 * c->n > c->cap) (void)grow(c); /* still correct if it fails, only fuller */
}

int sim_vcache_verify(void *ctx, const fm_entry *e) {
  sim_vcache *c = ctx;
  uint64_t h = hash_of(e);
  size_t i = h & (c->cap - 1);
  for (; c->t[i].bytes; i = (i + 1) & (c->cap - 1)) {
    const slot *s = &c->t[i];
    if (s->hash == h && s->len == e->len && !memcmp(s->bytes, e->bytes, e->len)) {
      c->reused++;
      return 0;
    }
  }
  int rv = fm_entry_verify(e);
  c->verified++;
  if (rv == 0 && c->n + 1 < c->cap) remember(c, e, h, i);
  return rv;
}

void sim_vcache_counts(const sim_vcache *c, uint64_t *verified, uint64_t *reused) {
  *verified = c ? c->verified : 0;
  *reused = c ? c->reused : 0;
}
