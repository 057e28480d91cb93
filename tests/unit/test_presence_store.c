/* The presence table: newest note per device kept; forged, oversized,
 * stale, future-dated and unenrolled notes dropped and counted, never
 * stored; a node's own note at most once a minute, from its store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fieldmesh/bundle.h"
#include "fieldmesh/copies.h"
#include "fieldmesh/dirs.h"
#include "fieldmesh/error.h"
#include "fieldmesh/hlc.h"
#include "fieldmesh/presence_store.h"
#include "fieldmesh/record.h"

#define T0 1700000000000LL

typedef struct fx {
  char dir[64];
  fm_store *s;
} fx;

/* The commune: authority 1, members 2..4; 5 is never enrolled. */
static fm_identity AUTH, M[6];

static void ident(fm_identity *id, uint8_t n) {
  uint8_t seed[32];
  memset(seed, n, sizeof seed);
  assert_int_equal(fm_identity_from_seed(id, seed), 0);
}

static void append_enroll(fm_store *s, const uint8_t dev[32]) {
  fm_enrollment en;
  fm_buf b;
  memset(&en, 0, sizeof en);
  memcpy(en.device, dev, 32);
  strcpy(en.name, "Member");
  strcpy(en.team, "Team 1");
  strcpy(en.commune, "Tân Quang");
  en.role = FM_ROLE_MEMBER;
  en.nvillages = 1;
  strcpy(en.villages[0], "Nghĩa Tân");
  fm_buf_init(&b, 4096);
  assert_int_equal(fm_enroll_body(&b, &en), 0);
  assert_int_equal(fm_store_append(s, &AUTH, FM_KIND_ENROLL, b.p, b.len, T0, NULL, NULL), 0);
  fm_buf_free(&b);
}

static void fx_commune(fx *f) {
  fm_store_opts o;
  memset(&o, 0, sizeof o);
  o.nosync = 1;
  strcpy(f->dir, "/tmp/fm-test-presence-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  assert_int_equal(fm_store_open(f->dir, &o, &f->s), 0);
  assert_int_equal(fm_store_set_authority(f->s, AUTH.pk, "Tân Quang"), 0);
  for (int i = 2; i <= 4; i++) append_enroll(f->s, M[i].pk);
}

static void fx_close(fx *f) {
  fm_store_close(f->s);
  assert_int_equal(fm_store_remove_dir(f->dir), 0);
}

static int setup_ids(void **state) {
  (void)state;
  ident(&AUTH, 1);
  for (int i = 2; i < 6; i++) ident(&M[i], (uint8_t)i);
  return 0;
}

/* A signed note of |id| at |wall| saying |only_here|, into |b| (reset). */
static void note(fm_buf *b, const fm_identity *id, fm_time wall, uint64_t only_here) {
  fm_presence p;
  memset(&p, 0, sizeof p);
  memcpy(p.device, id->pk, 32);
  p.wall = wall;
  p.head_seq = 20;
  p.only_here = only_here;
  strcpy(p.version, "test");
  fm_buf_reset(b);
  assert_int_equal(fm_presence_sign(&p, id, b), 0);
}

static fm_presence_tally offer(fm_store *s, const fm_buf *b, fm_time now) {
  fm_presence_tally t;
  fm_slice one = {b->p, b->len};
  assert_int_equal(fm_store_presence_put(s, &one, 1, now, &t), 0);
  return t;
}

static void assert_held(fm_store *s, const fm_identity *id, fm_time wall, uint64_t only_here) {
  fm_presence p;
  fm_time got;
  assert_int_equal(fm_store_presence_get(s, id->pk, &p, &got), 0);
  assert_int_equal(p.wall, wall);
  assert_int_equal(p.only_here, only_here);
}

static void test_presence_newest_kept_stale_dropped(void **state) {
  fx f;
  fm_buf b;
  uint64_t drops[FM_PDROP_N];
  (void)state;
  fx_commune(&f);
  fm_buf_init(&b, 4096);
  note(&b, &M[2], T0, 5);
  assert_int_equal(offer(f.s, &b, T0).kept, 1);
  assert_int_equal(offer(f.s, &b, T0).same, 1);
  note(&b, &M[2], T0 + 60000, 3);
  assert_int_equal(offer(f.s, &b, T0 + 60000).kept, 1);
  note(&b, &M[2], T0 + 1000, 9);   /* older than the one held */
  assert_int_equal(offer(f.s, &b, T0 + 60000).dropped[FM_PDROP_STALE], 1);
  assert_held(f.s, &M[2], T0 + 60000, 3);
  /* Newer, but within a minute of the one held: a device may not flood
   * the mesh with notes. */
  note(&b, &M[2], T0 + 60000 + 59999, 2);
  assert_int_equal(offer(f.s, &b, T0 + 120000).dropped[FM_PDROP_TOO_SOON], 1);
  assert_held(f.s, &M[2], T0 + 60000, 3);
  note(&b, &M[2], T0 + 120000, 2);
  assert_int_equal(offer(f.s, &b, T0 + 120000).kept, 1);
  assert_int_equal(fm_store_presence_drops(f.s, drops), 0);
  assert_int_equal(drops[FM_PDROP_STALE], 1);
  assert_int_equal(drops[FM_PDROP_TOO_SOON], 1);
  fm_buf_free(&b);
  fx_close(&f);
}

static void test_presence_forged_future_unenrolled_dropped(void **state) {
  fx f;
  fm_buf b;
  uint64_t drops[FM_PDROP_N];
  fm_presence_tally t;
  (void)state;
  fx_commune(&f);
  fm_buf_init(&b, 4096);
  note(&b, &M[3], T0, 1);
  b.p[b.len - 1] ^= 1;                       /* forged */
  assert_int_equal(offer(f.s, &b, T0).dropped[FM_PDROP_FORGED], 1);
  note(&b, &M[3], T0 + FM_HLC_MAX_AHEAD_MS + 1, 1);  /* future-dated */
  assert_int_equal(offer(f.s, &b, T0).dropped[FM_PDROP_FUTURE], 1);
  note(&b, &M[5], T0, 1);                    /* never enrolled */
  assert_int_equal(offer(f.s, &b, T0).dropped[FM_PDROP_UNENROLLED], 1);
  uint8_t *big = calloc(1, FM_PRESENCE_MAX + 1);
  fm_slice s = {big, FM_PRESENCE_MAX + 1};
  assert_int_equal(fm_store_presence_put(f.s, &s, 1, T0, &t), 0);
  assert_int_equal(t.dropped[FM_PDROP_OVERSIZE], 1);
  free(big);
  assert_int_equal(fm_store_presence_get(f.s, M[3].pk, NULL, NULL), FM_ERR_NOTFOUND);
  assert_int_equal(fm_store_presence_get(f.s, M[5].pk, NULL, NULL), FM_ERR_NOTFOUND);
  assert_int_equal(fm_store_presence_drops(f.s, drops), 0);
  assert_int_equal(drops[FM_PDROP_FORGED], 1);
  assert_int_equal(drops[FM_PDROP_FUTURE], 1);
  assert_int_equal(drops[FM_PDROP_UNENROLLED], 1);
  assert_int_equal(drops[FM_PDROP_OVERSIZE], 1);
  fm_buf_free(&b);
  fx_close(&f);
}

static void test_presence_revoked_dropped(void **state) {
  fx f;
  fm_buf b;
  (void)state;
  fx_commune(&f);
  fm_buf_init(&b, 4096);
  assert_int_equal(fm_revoke_body(&b, M[4].pk, 0), 0);
  assert_int_equal(fm_store_append(f.s, &AUTH, FM_KIND_REVOKE, b.p, b.len, T0, NULL, NULL), 0);
  note(&b, &M[4], T0, 0);
  assert_int_equal(offer(f.s, &b, T0).dropped[FM_PDROP_UNENROLLED], 1);
  assert_int_equal(fm_store_presence_get(f.s, M[4].pk, NULL, NULL), FM_ERR_NOTFOUND);
  fm_buf_free(&b);
  fx_close(&f);
}

/* The own note counts own entries on no other device, and is made at
 * most once a minute. */
static void test_presence_own_note_rate_limited(void **state) {
  fx f;
  fm_buf b;
  fm_presence p;
  fm_presence_local local = {"0.9-test", 1500, 4096};
  (void)state;
  fx_commune(&f);
  assert_int_equal(fm_store_set_self(f.s, M[2].pk), 0);
  fm_buf_init(&b, 4096);
  fm_visit_in v = {"V-1", "Team 1", "Nghĩa Tân", "", "2023-11-14", "", FM_MODE_HOME, 1, 2};
  assert_int_equal(fm_visit_body(&b, &v), 0);
  for (int i = 0; i < 3; i++)
    assert_int_equal(fm_store_append(f.s, &M[2], FM_KIND_VISIT, b.p, b.len, T0, NULL, NULL), 0);
  assert_int_equal(fm_store_note_held(f.s, M[3].pk, M[2].pk, 1, T0 + 5), 0);
  assert_int_equal(fm_store_presence_make(f.s, &M[2], &local, T0 + 10), 0);
  assert_int_equal(fm_store_presence_get(f.s, M[2].pk, &p, NULL), 0);
  assert_int_equal(p.head_seq, 3);
  assert_int_equal(p.only_here, 2);
  assert_int_equal(p.authors, 2);   /* the authority and member 2 */
  assert_int_equal(p.nheads, 2);
  assert_string_equal(p.version, "0.9-test");
  assert_int_equal(p.clock_offset, 1500);
  assert_int_equal(p.nmet, 1);
  assert_memory_equal(p.met[0].device, M[3].pk, 32);
  assert_int_equal(p.met[0].when, T0 + 5);
  assert_int_equal(fm_store_presence_make(f.s, &M[2], &local, T0 + 59000), 1);
  assert_held(f.s, &M[2], T0 + 10, 2);
  assert_int_equal(fm_store_presence_make(f.s, &M[2], &local, T0 + 60010), 0);
  assert_held(f.s, &M[2], T0 + 60010, 2);
  fm_buf_free(&b);
  fx_close(&f);
}

/* A bundle carries the notes its writer holds (its own made fresh), and
 * an importer keeps them by the same rules as from a session. */
static void test_presence_travels_in_a_bundle(void **state) {
  fx a, b;
  fm_buf n;
  fm_bundle bd;
  char path[128];
  fm_presence p;
  (void)state;
  fx_commune(&a);
  fx_commune(&b);
  assert_int_equal(fm_store_set_self(a.s, M[2].pk), 0);
  fm_buf_init(&n, 4096);
  note(&n, &M[3], T0 - 5000, 7);          /* a note a holds of member 3 */
  assert_int_equal(offer(a.s, &n, T0).kept, 1);
  note(&n, &M[3], T0 - 1000, 1);          /* b holds a newer one */
  assert_int_equal(offer(b.s, &n, T0).kept, 1);
  snprintf(path, sizeof path, "%s.fmb", a.dir);   /* beside the store */
  assert_int_equal(fm_bundle_export(a.s, &M[2], NULL, path, T0, NULL), 0);
  assert_int_equal(fm_bundle_read(path, &bd), 0);
  assert_int_equal(bd.npresence, 2);
  assert_int_equal(fm_bundle_import(b.s, &bd, T0 + 10, NULL), 0);
  fm_bundle_free(&bd);
  unlink(path);
  assert_int_equal(fm_store_presence_get(b.s, M[2].pk, &p, NULL), 0);
  assert_int_equal(p.wall, T0);
  assert_held(b.s, &M[3], T0 - 1000, 1);  /* the older note was dropped */
  uint64_t drops[FM_PDROP_N];
  assert_int_equal(fm_store_presence_drops(b.s, drops), 0);
  assert_int_equal(drops[FM_PDROP_STALE], 1);
  fm_buf_free(&n);
  fx_close(&a);
  fx_close(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_presence_newest_kept_stale_dropped),
      cmocka_unit_test(test_presence_forged_future_unenrolled_dropped),
      cmocka_unit_test(test_presence_revoked_dropped),
      cmocka_unit_test(test_presence_own_note_rate_limited),
      cmocka_unit_test(test_presence_travels_in_a_bundle),
  };
  return cmocka_run_group_tests(tests, setup_ids, NULL);
}
