/* The roster: enrolled devices and what this store holds of each. */
#include "fieldmesh/roster.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fieldmesh/error.h"
#include "fieldmesh/hlc.h"
#include "fieldmesh/presence_store.h"

typedef struct load_ctx {
  fm_roster_member *m;
  size_t n, cap;
  int err;
} load_ctx;

static int on_cert(void *arg, const uint8_t *bytes, size_t len) {
  load_ctx *l = arg;
  fm_entry e;
  fm_enrollment en;
  /* The store installs only certificates that read; one that no longer
   * does is the store's damage, which `verify` and `doctor` report. */
  if (fm_entry_decode(bytes, len, NULL, &e) < 0 || fm_enroll_parse(&e, &en) < 0) return 0;
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 32;
    fm_roster_member *nm = realloc(l->m, cap * sizeof *nm);
    if (!nm) return l->err = -ENOMEM;
    l->m = nm;
    l->cap = cap;
  }
  fm_roster_member *m = &l->m[l->n++];
  memset(m, 0, sizeof *m);
  m->en = en;
  m->enrolled = 1;
  m->enroll_seq = e.seq;
  m->enrolled_at = (fm_time)fm_hlc_ms(e.hlc);
  m->revoked_after = UINT64_MAX;
  return 0;
}

typedef struct ids_ctx {
  unsigned roles;
  uint8_t (*v)[FM_KEY_LEN];
  size_t n, cap;
} ids_ctx;

static int on_id(void *arg, const uint8_t *bytes, size_t len) {
  ids_ctx *c = arg;
  fm_entry e;
  fm_enrollment en;
  if (fm_entry_decode(bytes, len, NULL, &e) < 0 || fm_enroll_parse(&e, &en) < 0) return 0;
  if (c->roles && !(c->roles & (1u << en.role))) return 0;
  if (c->n == c->cap) {
    size_t cap = c->cap ? c->cap * 2 : 32;
    uint8_t (*v)[FM_KEY_LEN] = realloc(c->v, cap * sizeof *v);
    if (!v) return -ENOMEM;
    c->v = v;
    c->cap = cap;
  }
  memcpy(c->v[c->n++], en.device, FM_KEY_LEN);
  return 0;
}

int fm_roster_devices(fm_store *s, unsigned roles, uint8_t (**out)[FM_KEY_LEN], size_t *n) {
  ids_ctx c = {roles, NULL, 0, 0};
  int rv = fm_store_each_cert(s, on_id, &c);
  if (rv < 0) {
    free(c.v);
    return rv;
  }
  *out = c.v;
  *n = c.n;
  return 0;
}

static int by_device(const void *a, const void *b) {
  return memcmp(((const fm_roster_member *)a)->en.device,
                ((const fm_roster_member *)b)->en.device, FM_KEY_LEN);
}

static int by_team_name(const void *pa, const void *pb) {
  const fm_roster_member *a = pa, *b = pb;
  int d = strcmp(a->en.team, b->en.team);
  if (!d) d = strcmp(a->en.name, b->en.name);
  return d ? d : by_device(a, b);
}

static int on_quarantined(void *arg, const uint8_t author[FM_KEY_LEN], uint64_t seq,
                          int reason, fm_time when, const uint8_t *bytes, size_t len) {
  fm_roster *r = arg;
  fm_roster_member key;
  (void)seq, (void)reason, (void)when, (void)bytes, (void)len;
  memcpy(key.en.device, author, FM_KEY_LEN);
  fm_roster_member *m = bsearch(&key, r->m, r->n, sizeof *r->m, by_device);
  if (m) m->quarantined++;
  return 0;
}

static int on_presence(void *arg, const fm_presence *p, const uint8_t *bytes, size_t len,
                       fm_time received) {
  fm_roster *r = arg;
  fm_roster_member key;
  (void)bytes, (void)len;
  memcpy(key.en.device, p->device, FM_KEY_LEN);
  fm_roster_member *m = bsearch(&key, r->m, r->n, sizeof *r->m, by_device);
  if (m) {
    m->has_presence = 1;
    m->presence = *p;
    m->presence_received = received;
  }
  return 0;
}

fm_time fm_roster_written_at(fm_store *s, const uint8_t device[FM_KEY_LEN], uint64_t seq) {
  uint8_t *bytes;
  size_t len;
  fm_entry e;
  fm_time t = 0;
  if (seq == 0 || fm_store_entry_copy(s, device, seq, &bytes, &len) < 0) return 0;
  if (fm_entry_decode(bytes, len, NULL, &e) == 0) t = (fm_time)fm_hlc_ms(e.hlc);
  free(bytes);
  return t;
}

int fm_roster_fill(fm_store *s, const fm_vector *v, fm_roster_member *m) {
  fm_enrollment en;
  int rv = fm_store_enrollment(s, m->en.device, &en, &m->revoked_after, NULL, NULL);
  if (rv < 0 && rv != FM_ERR_NOTFOUND) return rv;
  m->last_seq = fm_vector_seq(v, m->en.device);
  m->last_written = fm_roster_written_at(s, m->en.device, m->last_seq);
  return 0;
}

int fm_roster_load(fm_store *s, fm_roster *r) {
  load_ctx l = {NULL, 0, 0, 0};
  fm_vector v = {0, NULL};
  int rv = fm_store_each_cert(s, on_cert, &l);
  if (rv == 0) rv = l.err;
  if (rv == 0) rv = fm_store_vector(s, &v);
  for (size_t i = 0; rv == 0 && i < l.n; i++) rv = fm_roster_fill(s, &v, &l.m[i]);
  fm_vector_free(&v);
  r->m = l.m;
  r->n = l.n;
  if (rv == 0 && r->n) {
    qsort(r->m, r->n, sizeof *r->m, by_device);
    rv = fm_store_each_quarantined(s, on_quarantined, r);
    if (rv == 0) rv = fm_store_presence_each(s, on_presence, r);
    qsort(r->m, r->n, sizeof *r->m, by_team_name);
  }
  return rv;
}

void fm_roster_free(fm_roster *r) {
  free(r->m);
  r->m = NULL;
  r->n = 0;
}
