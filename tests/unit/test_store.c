/* The store: validation order, quarantine, held entries, revocation,
 * merge determinism, map growth and verify. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "enrolled.h"
#include "fieldmesh/bundle.h"
#include "fieldmesh/copies.h"
#include "fieldmesh/dirs.h"
#include "fieldmesh/error.h"
#include "fieldmesh/store.h"

#define T0 1700000000000LL /* a fixed "now": 2023-11-14 */

typedef struct fx {
  char dir[64];
  fm_store *s;
} fx;

static void ident(fm_identity *id, uint8_t n) {
  uint8_t seed[32];
  memset(seed, n, sizeof seed);
  assert_int_equal(fm_identity_from_seed(id, seed), 0);
}

static size_t HELD_MAX; /* 0: the store's default */
static size_t HELD_PER_AUTHOR; /* 0: the store's default */

static void fx_open(fx *f, size_t map_size) {
  fm_store_opts o;
  memset(&o, 0, sizeof o);
  o.nosync = 1;
  o.map_size = map_size;
  o.held_max = HELD_MAX;
  o.held_per_author = HELD_PER_AUTHOR;
  strcpy(f->dir, "/tmp/fm-test-store-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  assert_int_equal(fm_store_open(f->dir, &o, &f->s), 0);
}

static void fx_close(fx *f) {
  fm_store_close(f->s);
  assert_int_equal(fm_store_remove_dir(f->dir), 0);
}

/* The commune: authority 1, members 2..5. */
static fm_identity AUTH, M[6];

static void enroll_body(fm_buf *b, const uint8_t dev[32], const char *team) {
  fm_enrollment en;
  memset(&en, 0, sizeof en);
  memcpy(en.device, dev, 32);
  strcpy(en.name, "Member");
  strcpy(en.team, team);
  strcpy(en.commune, "Tân Quang");
  en.role = FM_ROLE_MEMBER;
  en.nvillages = 1;
  strcpy(en.villages[0], "Nghĩa Tân");
  fm_buf_reset(b);
  assert_int_equal(fm_enroll_body(b, &en), 0);
}

/* A store that knows the authority and has enrolled members 2..|upto|. */
static void fx_commune(fx *f, int upto) {
  fm_buf b;
  fx_open(f, 0);
  assert_int_equal(fm_store_set_authority(f->s, AUTH.pk, "Tân Quang"), 0);
  fm_buf_init(&b, 4096);
  for (int i = 2; i <= upto; i++) {
    enroll_body(&b, M[i].pk, i % 2 ? "Team 2" : "Team 1");
    assert_int_equal(fm_store_append(f->s, &AUTH, FM_KIND_ENROLL, b.p, b.len, T0, NULL, NULL), 0);
  }
  fm_buf_free(&b);
}

static int setup_ids(void **state) {
  ident(&AUTH, 1);
  for (int i = 2; i < 6; i++) ident(&M[i], (uint8_t)i);
  (void)state;
  return 0;
}

/* Collects entries from a store in the order given. */
typedef struct bag {
  uint8_t *buf[4096];
  size_t len[4096];
  size_t n;
} bag;

static int bag_cb(void *ctx, const uint8_t *p, size_t len) {
  bag *b = ctx;
  assert_true(b->n < 4096);
  b->buf[b->n] = malloc(len);
  memcpy(b->buf[b->n], p, len);
  b->len[b->n++] = len;
  return 0;
}

static void bag_free(bag *b) {
  for (size_t i = 0; i < b->n; i++) free(b->buf[i]);
  b->n = 0;
}

static void visit(fm_store *s, const fm_identity *id, const char *vid, fm_time now) {
  fm_buf b;
  fm_visit_in v = {vid, "Team 1", "Nghĩa Tân", "", "2023-11-14", "", FM_MODE_HOME, 1, 2};
  fm_buf_init(&b, 4096);
  assert_int_equal(fm_visit_body(&b, &v), 0);
  assert_int_equal(fm_store_append(s, id, FM_KIND_VISIT, b.p, b.len, now, NULL, NULL), 0);
  fm_buf_free(&b);
}

static int ingest1(fm_store *s, const uint8_t *p, size_t len, fm_ingest_result *r) {
  fm_slice sl = {p, len};
  fm_ingest_outcome out;
  assert_int_equal(fm_store_ingest(s, &sl, 1, T0, r, &out), 0);
  return out.outcome;
}

static void verify_ok(fx *f) {
  char err[256], scratch[128];
  snprintf(scratch, sizeof scratch, "%s/verify.tmp", f->dir);
  int rv = fm_store_verify(f->s, scratch, err, sizeof err);
  if (rv) fail_msg("verify: %s", err);
}

/* Builds, signs and returns an entry by |id| with arbitrary fields. */
static void make_entry(fm_buf *out, const fm_identity *id, uint64_t seq,
                       const uint8_t *prev, const char *vid) {
  fm_buf body;
  fm_visit_in v = {vid, "Team 1", "Vinh Quang", "", "2023-11-14", "", FM_MODE_HOME, 1, 1};
  fm_buf_init(&body, 4096);
  assert_int_equal(fm_visit_body(&body, &v), 0);
  assert_int_equal(fm_entry_build(out, id, seq, prev, fm_hlc_make((uint64_t)T0, 0),
                                  FM_KIND_VISIT, body.p, body.len), 0);
  fm_buf_free(&body);
}

static void test_store_quarantines_both_sides_of_a_fork(void **state) {
  fx a, b;
  bag g = {0};
  fm_buf e;
  fm_ingest_result r;
  uint8_t d1[32], d2[32];
  fx_commune(&a, 3);
  fx_commune(&b, 3);
  visit(a.s, &M[2], "V-1", T0);
  assert_int_equal(fm_store_read_after(a.s, M[2].pk, 0, 0, bag_cb, &g), 0);
  assert_int_equal(g.n, 1);
  /* The same key signs another seq 1: a copied key file, a restored backup. */
  fm_buf_init(&e, FM_ENTRY_MAX);
  make_entry(&e, &M[2], 1, NULL, "V-2");
  assert_int_equal(ingest1(b.s, e.p, e.len, &r), FM_IN_ACCEPTED);
  assert_int_equal(fm_store_view_digest(b.s, d1), 0);
  assert_int_equal(ingest1(b.s, g.buf[0], g.len[0], &r), FM_IN_QUARANTINED);
  assert_int_equal(r.first_error, FM_ERR_FORK);
  assert_int_equal(fm_store_view_digest(b.s, d2), 0);
  assert_memory_equal(d1, d2, 32);
  fm_store_stats st;
  assert_int_equal(fm_store_stats_get(b.s, &st), 0);
  assert_int_equal(st.quarantined, 2);
  assert_int_equal(st.visits, 1);
  /* The same entry again is a duplicate, not a second fork. */
  assert_int_equal(ingest1(b.s, e.p, e.len, &r), FM_IN_DUPLICATE);
  verify_ok(&b);
  fm_buf_free(&e);
  bag_free(&g);
  fx_close(&a);
  fx_close(&b);
}

static void test_store_refuses_gap_and_quarantines_wrong_prev(void **state) {
  fx a;
  fm_buf e;
  fm_ingest_result r;
  uint8_t bogus[32];
  fx_commune(&a, 3);
  visit(a.s, &M[2], "V-1", T0);
  fm_buf_init(&e, FM_ENTRY_MAX);
  memset(bogus, 7, 32);
  make_entry(&e, &M[2], 3, bogus, "V-3");
  assert_int_equal(ingest1(a.s, e.p, e.len, &r), FM_IN_REFUSED);
  assert_int_equal(r.first_error, FM_ERR_GAP);
  make_entry(&e, &M[2], 2, bogus, "V-2");
  assert_int_equal(ingest1(a.s, e.p, e.len, &r), FM_IN_QUARANTINED);
  assert_int_equal(r.first_error, FM_ERR_BADPREV);
  fm_store_stats st;
  assert_int_equal(fm_store_stats_get(a.s, &st), 0);
  assert_int_equal(st.visits, 1);
  verify_ok(&a);
  fm_buf_free(&e);
  fx_close(&a);
}

static void test_store_holds_unknown_author_until_enrolled(void **state) {
  fx a, b;
  bag g = {0}, auth = {0};
  fm_ingest_result r;
  fx_commune(&a, 4);
  fx_commune(&b, 3); /* knows 2 and 3, not 4 */
  visit(a.s, &M[4], "V-41", T0);
  visit(a.s, &M[4], "V-42", T0 + 1);
  assert_int_equal(fm_store_read_after(a.s, M[4].pk, 0, 0, bag_cb, &g), 0);
  fm_slice sl[2] = {{g.buf[0], g.len[0]}, {g.buf[1], g.len[1]}};
  assert_int_equal(fm_store_ingest(b.s, sl, 2, T0, &r, NULL), 0);
  assert_int_equal(r.held, 2);
  assert_int_equal(r.accepted, 0);
  /* The enrollment arrives: the held entries are applied in seq order. */
  assert_int_equal(fm_store_read_after(a.s, AUTH.pk, 2, 0, bag_cb, &auth), 0);
  assert_int_equal(auth.n, 1);
  assert_int_equal(ingest1(b.s, auth.buf[0], auth.len[0], &r), FM_IN_ACCEPTED);
  assert_int_equal(r.released, 2);
  fm_store_stats st;
  assert_int_equal(fm_store_stats_get(b.s, &st), 0);
  assert_int_equal(st.held, 0);
  assert_int_equal(st.visits, 2);
  verify_ok(&b);
  bag_free(&g);
  bag_free(&auth);
  fx_close(&a);
  fx_close(&b);
}

/* With no room left to hold entries of unknown authors, more of them are
 * refused for now, never counted as invalid (which would make a session
 * drop an honest peer); they come again with the next sync. */
static void test_store_full_held_table_refuses_without_blame(void **state) {
  fx a, b;
  bag g = {0};
  fm_ingest_result r;
  (void)state;
  fx_commune(&a, 4);
  HELD_MAX = 3;
  fx_commune(&b, 3); /* knows 2 and 3, not 4; holds at most 3 aside */
  HELD_MAX = 0;
  char vid[16];
  for (int i = 0; i < 5; i++) {
    snprintf(vid, sizeof vid, "V-4%d", i);
    visit(a.s, &M[4], vid, T0 + i);
  }
  assert_int_equal(fm_store_read_after(a.s, M[4].pk, 0, 0, bag_cb, &g), 0);
  assert_int_equal(g.n, 5);
  fm_slice sl[5];
  for (int i = 0; i < 5; i++) sl[i] = (fm_slice){g.buf[i], g.len[i]};
  assert_int_equal(fm_store_ingest(b.s, sl, 5, T0, &r, NULL), 0);
  assert_int_equal(r.held, 3);
  assert_int_equal(r.refused, 2);
  assert_int_equal(r.invalid, 0);
  assert_int_equal(r.first_error, FM_ERR_HELDFULL); /* not "disk full" */
  verify_ok(&b);
  bag_free(&g);
  fx_close(&a);
  fx_close(&b);
}

/* Signs |n| chained entries of |id| from seq 1 into |out| (a contiguous
 * run of bins is not needed: each is its own buffer). */
static void chain(const fm_identity *id, size_t n, fm_buf *out) {
  uint8_t prev[FM_ID_LEN];
  fm_buf e;
  char vid[24];
  fm_buf_init(&e, FM_ENTRY_MAX);
  for (size_t i = 0; i < n; i++) {
    fm_buf_reset(&e);
    snprintf(vid, sizeof vid, "J-%zu", i);
    make_entry(&e, id, i + 1, i ? prev : NULL, vid);
    fm_entry_id(e.p, e.len, prev);
    out[i].p = NULL;
    fm_buf_init(&out[i], e.len);
    fm_wr w;
    fm_wr_init(&w, &out[i]);
    fm_wr_raw(&w, e.p, e.len);
    assert_int_equal(fm_buf_error(&out[i]), 0);
  }
  fm_buf_free(&e);
}

/* A never-enrolled key floods more signed entries than its share of the
 * held table: it keeps at most 4,096 aside (its lowest seqs), the rest is
 * refused as "held table full", never as invalid; a real laptop whose
 * entries arrive before its enrollment is then still held, and released
 * when the enrollment comes. */
static void test_store_held_flood_of_one_key_does_not_block_another(void **state) {
  enum { FLOOD = 5000, PER = 4096 };
  fx a, b;
  fm_identity junk;
  fm_ingest_result r, sum;
  bag g = {0}, auth = {0};
  fm_buf *e = calloc(FLOOD, sizeof *e);
  fm_slice *sl = calloc(FLOOD, sizeof *sl);
  (void)state;
  assert_non_null(e);
  assert_non_null(sl);
  ident(&junk, 99);
  chain(&junk, FLOOD, e);
  for (size_t i = 0; i < FLOOD; i++) sl[i] = (fm_slice){e[i].p, e[i].len};
  fx_commune(&a, 4);
  fx_commune(&b, 3); /* knows 2 and 3, not 4, never the junk key */
  memset(&sum, 0, sizeof sum);
  for (size_t i = 0; i < FLOOD; i += 1000) {
    assert_int_equal(fm_store_ingest(b.s, sl + i, FLOOD - i < 1000 ? FLOOD - i : 1000, T0,
                                     &r, NULL), 0);
    sum.held += r.held;
    sum.refused += r.refused;
    sum.invalid += r.invalid;
    if (r.refused) assert_int_equal(r.first_error, FM_ERR_HELDFULL);
  }
  assert_int_equal(sum.held, PER);
  assert_int_equal(sum.refused, FLOOD - PER);
  assert_int_equal(sum.invalid, 0);
  fm_store_stats st;
  assert_int_equal(fm_store_stats_get(b.s, &st), 0);
  assert_int_equal(st.held, PER);
  /* The flood again changes nothing (held ones are duplicates of what is
   * aside, the rest still outside the window). */
  assert_int_equal(fm_store_ingest(b.s, sl + PER - 10, 20, T0, &r, NULL), 0);
  assert_int_equal(r.held, 10);
  assert_int_equal(r.refused, 10);
  assert_int_equal(fm_store_stats_get(b.s, &st), 0);
  assert_int_equal(st.held, PER);

  /* Member 4 records before b learns of its enrollment. */
  visit(a.s, &M[4], "V-41", T0);
  visit(a.s, &M[4], "V-42", T0 + 1);
  assert_int_equal(fm_store_read_after(a.s, M[4].pk, 0, 0, bag_cb, &g), 0);
  fm_slice two[2] = {{g.buf[0], g.len[0]}, {g.buf[1], g.len[1]}};
  assert_int_equal(fm_store_ingest(b.s, two, 2, T0, &r, NULL), 0);
  assert_int_equal(r.held, 2);
  assert_int_equal(r.refused, 0);
  assert_int_equal(fm_store_read_after(a.s, AUTH.pk, 2, 0, bag_cb, &auth), 0);
  assert_int_equal(auth.n, 1);
  assert_int_equal(ingest1(b.s, auth.buf[0], auth.len[0], &r), FM_IN_ACCEPTED);
  assert_int_equal(r.released, 2);
  assert_int_equal(fm_store_stats_get(b.s, &st), 0);
  assert_int_equal(st.visits, 2);
  assert_int_equal(st.held, PER); /* the junk stays aside, bounded */
  verify_ok(&b);
  for (size_t i = 0; i < FLOOD; i++) fm_buf_free(&e[i]);
  free(e);
  free(sl);
  bag_free(&g);
  bag_free(&auth);
  fx_close(&a);
  fx_close(&b);
}

/* The per-author bound can be set lower; a lower seq arriving late moves
 * the author's window down, evicting its highest seqs, so the release
 * can start from the first. */
static void test_store_held_window_keeps_lowest_seqs(void **state) {
  fx b;
  fm_identity late;
  fm_ingest_result r;
  fm_buf e[6];
  fm_slice sl[6];
  (void)state;
  ident(&late, 98);
  chain(&late, 6, e);
  for (int i = 0; i < 6; i++) sl[i] = (fm_slice){e[i].p, e[i].len};
  HELD_PER_AUTHOR = 3;
  fx_commune(&b, 3);
  HELD_PER_AUTHOR = 0;
  /* seqs 4, 5, 6 fill the window [4, 7) */
  assert_int_equal(fm_store_ingest(b.s, sl + 3, 3, T0, &r, NULL), 0);
  assert_int_equal(r.held, 3);
  /* seq 2 moves it to [2, 5): 5 and 6 go, 2 comes */
  assert_int_equal(fm_store_ingest(b.s, sl + 1, 1, T0, &r, NULL), 0);
  assert_int_equal(r.held, 1);
  fm_store_stats st;
  assert_int_equal(fm_store_stats_get(b.s, &st), 0);
  assert_int_equal(st.held, 2);
  /* seq 5 is outside now; seq 3 fits */
  assert_int_equal(ingest1(b.s, e[4].p, e[4].len, &r), FM_IN_REFUSED);
  assert_int_equal(r.first_error, FM_ERR_HELDFULL);
  assert_int_equal(r.invalid, 0);
  assert_int_equal(ingest1(b.s, e[2].p, e[2].len, &r), FM_IN_HELD);
  assert_int_equal(fm_store_stats_get(b.s, &st), 0);
  assert_int_equal(st.held, 3);
  for (int i = 0; i < 6; i++) fm_buf_free(&e[i]);
  fx_close(&b);
}

static void revoke_dev(fm_store *s, const uint8_t dev[32], uint64_t after) {
  fm_buf b;
  fm_buf_init(&b, 256);
  assert_int_equal(fm_revoke_body(&b, dev, after), 0);
  assert_int_equal(fm_store_append(s, &AUTH, FM_KIND_REVOKE, b.p, b.len, T0, NULL, NULL), 0);
  fm_buf_free(&b);
}

static void test_store_revocation_keeps_entries_up_to_cutoff(void **state) {
  fx a, b, c;
  bag g = {0}, rv = {0};
  fm_ingest_result r;
  uint8_t db[32], dc[32];
  fx_commune(&a, 3);
  fx_commune(&b, 3);
  fx_commune(&c, 3);
  for (int i = 0; i < 3; i++) {
    char id[8];
    snprintf(id, sizeof id, "V-%d", i);
    visit(a.s, &M[2], id, T0 + i);
  }
  assert_int_equal(fm_store_read_after(a.s, M[2].pk, 0, 0, bag_cb, &g), 0);
  assert_int_equal(g.n, 3);
  /* b hears of the revocation first: seq 3 is quarantined. */
  revoke_dev(b.s, M[2].pk, 2);
  fm_slice sl[3] = {{g.buf[0], g.len[0]}, {g.buf[1], g.len[1]}, {g.buf[2], g.len[2]}};
  assert_int_equal(fm_store_ingest(b.s, sl, 3, T0, &r, NULL), 0);
  assert_int_equal(r.accepted, 2);
  assert_int_equal(r.quarantined, 1);
  assert_int_equal(r.first_error, FM_ERR_REVOKED);
  /* c takes all three first, then the revocation: seq 3 leaves its log. */
  assert_int_equal(fm_store_ingest(c.s, sl, 3, T0, &r, NULL), 0);
  assert_int_equal(r.accepted, 3);
  assert_int_equal(fm_store_read_after(b.s, AUTH.pk, 2, 0, bag_cb, &rv), 0);
  assert_int_equal(rv.n, 1);
  assert_int_equal(ingest1(c.s, rv.buf[0], rv.len[0], &r), FM_IN_ACCEPTED);
  fm_store_stats sb, sc;
  assert_int_equal(fm_store_stats_get(b.s, &sb), 0);
  assert_int_equal(fm_store_stats_get(c.s, &sc), 0);
  assert_int_equal(sb.visits, 2);
  assert_int_equal(sc.visits, 2);
  assert_int_equal(sb.entries, sc.entries);
  assert_int_equal(fm_store_view_digest(b.s, db), 0);
  assert_int_equal(fm_store_view_digest(c.s, dc), 0);
  assert_memory_equal(db, dc, 32);
  verify_ok(&b);
  verify_ok(&c);
  bag_free(&g);
  bag_free(&rv);
  fx_close(&a);
  fx_close(&b);
  fx_close(&c);
}

static void enroll_as(fm_store *s, const fm_identity *dev, fm_role role, const char *team) {
  enrolled_append(s, &AUTH, dev, role, "Trưởng tổ", team, T0);
}

static int sum_quarantined(void *ctx, const uint8_t author[FM_KEY_LEN], uint64_t seq,
                           int reason, fm_time when, const uint8_t *bytes, size_t len) {
  (void)author, (void)seq, (void)when, (void)bytes, (void)len;
  if (reason == FM_ERR_ROLE) ++*(int *)ctx;
  return 0;
}

/* A correction is a leader's, an officer's or an administrator's: a
 * member's store refuses to write one, and one her key signed anyway is
 * quarantined (ROLE) on every other store and never changes the view. */
static void test_store_correction_needs_a_leader_or_officer(void **state) {
  fx a;
  fm_buf body, forged;
  fm_ingest_result r;
  int role_quarantined = 0;
  (void)state;
  fx_commune(&a, 2);                               /* M2: a member */
  enroll_as(a.s, &M[3], FM_ROLE_LEADER, "Team 1");
  enroll_as(a.s, &M[4], FM_ROLE_OFFICER, "Xã");
  fm_buf_init(&body, 4096);
  fm_dossier_in d = {"D-1", "khai_sinh", "Lò Văn Pó", "", "", "Nghĩa Tân", "Team 1", "portal",
                     "", "", NULL};
  assert_int_equal(fm_dossier_body(&body, &d), 0);
  assert_int_equal(fm_store_append(a.s, &AUTH, FM_KIND_DOSSIER, body.p, body.len, T0, NULL, NULL),
                   0);
  fm_buf_reset(&body);
  assert_int_equal(fm_dossier_correct_body(&body, "D-1", FM_ST_PROCESSING, "nhầm", 0), 0);
  assert_int_equal(fm_store_append(a.s, &M[2], FM_KIND_DOSSIER_CORRECT, body.p, body.len, T0,
                                   NULL, NULL),
                   FM_ERR_ROLE);
  uint8_t before[32], after[32];
  assert_int_equal(fm_store_view_digest(a.s, before), 0);
  fm_buf_init(&forged, 4096);
  assert_int_equal(fm_entry_build(&forged, &M[2], 1, NULL, fm_hlc_make((uint64_t)T0, 0),
                                  FM_KIND_DOSSIER_CORRECT, body.p, body.len), 0);
  assert_int_equal(ingest1(a.s, forged.p, forged.len, &r), FM_IN_QUARANTINED);
  assert_int_equal(r.first_error, FM_ERR_ROLE);
  assert_int_equal(fm_store_each_quarantined(a.s, sum_quarantined, &role_quarantined), 0);
  assert_int_equal(role_quarantined, 1);
  assert_int_equal(fm_store_view_digest(a.s, after), 0);
  assert_memory_equal(before, after, 32);
  fm_store_stats st;
  assert_int_equal(fm_store_append(a.s, &M[3], FM_KIND_DOSSIER_CORRECT, body.p, body.len, T0,
                                   NULL, NULL),
                   0);
  assert_int_equal(fm_store_append(a.s, &M[4], FM_KIND_DOSSIER_CORRECT, body.p, body.len, T0,
                                   NULL, NULL),
                   0);
  assert_int_equal(fm_store_stats_get(a.s, &st), 0);
  assert_int_equal(st.dossiers, 1);
  fm_buf_free(&body);
  fm_buf_free(&forged);
  fx_close(&a);
}

/* |src|'s entry |seq| of |who| into |dst|: the outcome. */
static int carry1(fm_store *src, fm_store *dst, const fm_identity *who, uint64_t seq) {
  uint8_t *p;
  size_t n;
  fm_ingest_result r;
  assert_int_equal(fm_store_entry_copy(src, who->pk, seq, &p, &n), 0);
  int out = ingest1(dst, p, n, &r);
  free(p);
  return out;
}

/* Who may change what: a member changes only her team's records, and
 * writes records only under ids of her own; one her key signed anyway is
 * quarantined.  A change that comes before its record waits for it, and
 * is then judged as everywhere else. */
static void test_store_team_rule(void **state) {
  fx a, b;
  fm_buf body, forged;
  fm_ingest_result r;
  fm_store_stats st;
  char vid[FM_RECORD_ID_MAX + 1];
  uint8_t rnd2[2] = {1, 2};
  (void)state;
  fx_commune(&a, 5);                        /* M2, M4: Team 1; M3, M5: Team 2 */
  enroll_as(a.s, &M[5], FM_ROLE_OFFICER, "Xã");
  fm_record_id('V', (uint64_t)T0, M[2].pk, rnd2, vid);
  visit(a.s, &M[2], vid, T0);                                        /* M2 seq 1 */
  fm_buf_init(&body, 4096);
  assert_int_equal(fm_visit_void_body(&body, vid, "nhầm"), 0);
  /* Team 2's member: refused at the source, quarantined when forged. */
  assert_int_equal(fm_store_append(a.s, &M[3], FM_KIND_VISIT_VOID, body.p, body.len, T0,
                                   NULL, NULL), FM_ERR_ROLE);
  fm_buf_init(&forged, 4096);
  assert_int_equal(fm_entry_build(&forged, &M[3], 1, NULL, fm_hlc_make((uint64_t)T0, 0),
                                  FM_KIND_VISIT_VOID, body.p, body.len), 0);
  assert_int_equal(ingest1(a.s, forged.p, forged.len, &r), FM_IN_QUARANTINED);
  assert_int_equal(r.first_error, FM_ERR_ROLE);
  /* A record under M2's id, written by M3, is a change of M2's record. */
  {
    fm_buf v;
    fm_visit_in in = {vid, "Team 2", "Nghĩa Tân", "", "2023-11-14", "", FM_MODE_HOME, 1, 2};
    fm_buf_init(&v, 4096);
    assert_int_equal(fm_visit_body(&v, &in), 0);
    assert_int_equal(fm_store_append(a.s, &M[3], FM_KIND_VISIT, v.p, v.len, T0, NULL, NULL),
                     FM_ERR_ROLE);
    fm_buf_free(&v);
  }
  /* Team 1's member M4 voids it; the officer M5 changes nothing more. */
  assert_int_equal(fm_store_append(a.s, &M[4], FM_KIND_VISIT_VOID, body.p, body.len, T0 + 1,
                                   NULL, NULL), 0);                  /* M4 seq 1 */
  assert_int_equal(fm_store_append(a.s, &M[5], FM_KIND_VISIT_VOID, body.p, body.len, T0 + 2,
                                   NULL, NULL), 0);                  /* M5 seq 1 */
  /* Another laptop gets the voids first: they wait for the visit. */
  fx_commune(&b, 5);
  enroll_as(b.s, &M[5], FM_ROLE_OFFICER, "Xã");
  assert_int_equal(carry1(a.s, b.s, &M[4], 1), FM_IN_HELD);
  assert_int_equal(ingest1(b.s, forged.p, forged.len, &r), FM_IN_HELD);
  assert_int_equal(carry1(a.s, b.s, &M[5], 1), FM_IN_ACCEPTED);     /* the officer's: any */
  assert_int_equal(fm_store_stats_get(b.s, &st), 0);
  assert_int_equal(st.held, 2);
  assert_int_equal(carry1(a.s, b.s, &M[2], 1), FM_IN_ACCEPTED);     /* the visit */
  assert_int_equal(fm_store_stats_get(b.s, &st), 0);
  assert_int_equal(st.held, 0);
  assert_int_equal(st.quarantined, 1);                               /* the forged void */
  uint8_t da[32], db[32];
  assert_int_equal(fm_store_view_digest(a.s, da), 0);
  assert_int_equal(fm_store_view_digest(b.s, db), 0);
  assert_memory_equal(da, db, 32);
  fm_buf_free(&body);
  fm_buf_free(&forged);
  fx_close(&a);
  fx_close(&b);
}

static void test_store_refuses_oversized_and_too_deep(void **state) {
  fx a;
  fm_ingest_result r;
  uint8_t *big = calloc(1, FM_ENTRY_MAX + 1);
  fx_commune(&a, 3);
  assert_int_equal(ingest1(a.s, big, FM_ENTRY_MAX + 1, &r), FM_IN_REFUSED);
  assert_int_equal(r.first_error, FM_ERR_TOOBIG);
  /* A signed entry whose body nests 9 maps deep. */
  fm_buf b;
  fm_wr w;
  uint8_t sig[64];
  fm_buf_init(&b, FM_ENTRY_MAX);
  fm_wr_init(&w, &b);
  fm_wr_array(&w, 7);
  fm_wr_uint(&w, FM_ENTRY_VERSION);
  fm_wr_bin(&w, M[2].pk, 32);
  fm_wr_uint(&w, 1);
  fm_wr_nil(&w);
  fm_wr_uint(&w, fm_hlc_make((uint64_t)T0, 0));
  fm_wr_cstr(&w, "visit");
  for (int i = 0; i < 9; i++) {
    fm_wr_map(&w, 1);
    fm_wr_cstr(&w, "k");
  }
  fm_wr_uint(&w, 1);
  assert_int_equal(fm_identity_sign(&M[2], FM_CTX_ENTRY, b.p, b.len, sig), 0);
  fm_wr_bin(&w, sig, 64);
  assert_int_equal(ingest1(a.s, b.p, b.len, &r), FM_IN_REFUSED);
  assert_int_equal(r.first_error, FM_ERR_TOOBIG);
  fm_store_stats st;
  assert_int_equal(fm_store_stats_get(a.s, &st), 0);
  assert_int_equal(st.entries, 2); /* the two enrollments */
  fm_buf_free(&b);
  free(big);
  fx_close(&a);
}

static void test_store_refuses_to_fork_own_log_when_behind(void **state) {
  fx a;
  uint8_t pk[32];
  fx_commune(&a, 3);
  assert_int_equal(fm_store_set_self(a.s, M[2].pk), 0);
  visit(a.s, &M[2], "V-1", T0);
  /* A peer shows seq 5 of our own key: a restored backup. */
  assert_int_equal(fm_store_note_seen(a.s, M[2].pk, 5, T0), 0);
  fm_buf b;
  fm_visit_in v = {"V-2", "Team 1", "Nghĩa Tân", "", "2023-11-14", "", FM_MODE_HOME, 1, 2};
  fm_buf_init(&b, 4096);
  assert_int_equal(fm_visit_body(&b, &v), 0);
  assert_int_equal(fm_store_append(a.s, &M[2], FM_KIND_VISIT, b.p, b.len, T0, NULL, NULL),
                   FM_ERR_BEHIND);
  assert_int_equal(fm_store_self(a.s, pk), 0);
  fm_store_stats st;
  assert_int_equal(fm_store_stats_get(a.s, &st), 0);
  assert_int_equal(st.self_seq, 1);
  assert_int_equal(st.self_seen, 5);
  /* A claim never backed by our entries lapses: a lying peer or a forged
   * bundle header cannot stop this laptop from writing for good. */
  assert_int_equal(fm_store_append(a.s, &M[2], FM_KIND_VISIT, b.p, b.len,
                                   T0 + FM_SEEN_TRUST_MS - 1, NULL, NULL), FM_ERR_BEHIND);
  assert_int_equal(fm_store_append(a.s, &M[2], FM_KIND_VISIT, b.p, b.len,
                                   T0 + FM_SEEN_TRUST_MS, NULL, NULL), 0);
  fm_buf_free(&b);
  fx_close(&a);
}

static fm_hlc stamp_of(fm_store *s, const fm_identity *id, uint64_t seq) {
  uint8_t *p;
  size_t n;
  fm_entry e;
  fm_limits lim = fm_limits_default();
  assert_int_equal(fm_store_entry_copy(s, id->pk, seq, &p, &n), 0);
  assert_int_equal(fm_entry_decode(p, n, &lim, &e), 0);
  fm_hlc h = e.hlc;
  free(p);
  return h;
}

/* A laptop that stamped 10 years ahead, its clock fixed since: the next
 * entries are stamped from the clock, in seq order, and the store's
 * clock comes back with them (so the member is told once). */
static void test_store_fixed_clock_stamps_the_present(void **state) {
  const fm_time future = T0 + 10LL * 365 * 24 * 3600 * 1000;
  fx a;
  (void)state;
  fx_commune(&a, 2);
  visit(a.s, &M[2], "V-1", future);
  assert_int_equal(fm_hlc_ms(stamp_of(a.s, &M[2], 1)), (uint64_t)future);
  assert_int_equal(fm_store_clock_ahead(a.s, future), 0);
  assert_int_equal(fm_store_clock_ahead(a.s, T0), future - T0);
  visit(a.s, &M[2], "V-2", T0);
  visit(a.s, &M[2], "V-3", T0);
  assert_int_equal(stamp_of(a.s, &M[2], 2), fm_hlc_make((uint64_t)T0, 0));
  assert_int_equal(stamp_of(a.s, &M[2], 3), fm_hlc_make((uint64_t)T0, 1));
  assert_int_equal(fm_store_clock_ahead(a.s, T0), 0);
  /* A day ahead or less is an ordinary clock: it goes on from there. */
  visit(a.s, &M[2], "V-4", T0 - 3600 * 1000);
  assert_int_equal(stamp_of(a.s, &M[2], 4), fm_hlc_make((uint64_t)T0, 2));
  verify_ok(&a);
  fx_close(&a);
}

/* ---- a restored backup written to before it met the mesh ----------------------- */

static int ingest_bag(fm_store *s, const bag *b, fm_time now, fm_ingest_result *r) {
  fm_slice sl[64];
  assert_true(b->n <= 64);
  for (size_t i = 0; i < b->n; i++) {
    sl[i].p = b->buf[i];
    sl[i].len = b->len[i];
  }
  return fm_store_ingest(s, sl, b->n, now, r, NULL);
}

static int found_cb(void *ctx, const char *id, size_t n, const uint8_t *rec, size_t len) {
  (void)id; (void)n; (void)rec; (void)len;
  (*(int *)ctx)++;
  return 0;
}

static int has_visit(fm_store *s, const char *vid) {
  int n = 0;
  fm_store_find_record(s, FM_VIEW_VISIT, vid, found_cb, &n);
  return n;
}

static int count_reason(void *ctx, const uint8_t author[FM_KEY_LEN], uint64_t seq, int reason,
                        fm_time when, const uint8_t *bytes, size_t len) {
  (void)author; (void)seq; (void)when; (void)bytes; (void)len;
  if (reason == FM_ERR_ROLLEDBACK) (*(int *)ctx)++;
  return 0;
}

static void reopen(fx *f) {
  fm_store_opts o;
  memset(&o, 0, sizeof o);
  o.nosync = 1;
  fm_store_close(f->s);
  assert_int_equal(fm_store_open(f->dir, &o, &f->s), 0);
}

/* Laptop A wrote 15 visits that reached the mesh (b); A is restored from a
 * backup holding 5 and a member writes V-new offline, as seq 6. */
static void restored_laptop(fx *a, fx *b, bag *own) {
  char vid[16];
  fx_commune(a, 3);
  fx_commune(b, 3);
  assert_int_equal(fm_store_set_self(a->s, M[2].pk), 0);
  for (int i = 1; i <= 15; i++) {
    snprintf(vid, sizeof vid, "V-%d", i);
    visit(a->s, &M[2], vid, T0 + i);
  }
  own->n = 0;
  assert_int_equal(fm_store_read_after(a->s, M[2].pk, 0, 0, bag_cb, own), 0);
  assert_int_equal(own->n, 15);
  fm_ingest_result r;
  assert_int_equal(ingest_bag(b->s, own, T0, &r), 0);
  assert_int_equal(r.accepted, 15);
  fx_close(a);
  fx_commune(a, 3);
  assert_int_equal(fm_store_set_self(a->s, M[2].pk), 0);
  bag first = *own;
  first.n = 5;
  assert_int_equal(ingest_bag(a->s, &first, T0, &r), 0);
  visit(a->s, &M[2], "V-new", T0 + 100);
}

static void test_store_restored_backup_takes_the_mesh_log_and_rewrites_its_own(void **state) {
  fx a, b;
  bag own;
  fm_ingest_result r;
  fm_restore_info ri;
  unsigned n;
  uint8_t da[32], db[32], *bytes;
  size_t len;
  (void)state;
  restored_laptop(&a, &b, &own);
  /* Meeting the mesh: its vector shows 15 of our log, then its entries. */
  assert_int_equal(fm_store_note_seen(a.s, M[2].pk, 15, T0 + 200), 0);
  assert_int_equal(ingest_bag(a.s, &own, T0 + 200, &r), 0);
  assert_int_equal(r.rolled_back, 1);
  assert_int_equal(r.accepted, 10);
  assert_int_equal(r.duplicate, 5);
  assert_int_equal(has_visit(a.s, "V-15"), 1);
  assert_int_equal(has_visit(a.s, "V-new"), 0); /* set aside, not yet back */
  assert_int_equal(fm_store_restore_info(a.s, &ri), 0);
  assert_int_equal(ri.pending, 1);
  assert_int_equal(ri.set_aside, 1);
  /* Survives a restart, and goes back exactly once. */
  reopen(&a);
  assert_int_equal(fm_store_restore_flush(a.s, &M[2], T0 + 300, &n), 0);
  assert_int_equal(n, 1);
  assert_int_equal(fm_store_restore_flush(a.s, &M[2], T0 + 301, &n), 0);
  assert_int_equal(n, 0);
  reopen(&a);
  assert_int_equal(fm_store_restore_info(a.s, &ri), 0);
  assert_int_equal(ri.pending, 0);
  assert_int_equal(ri.rewritten, 1);
  assert_int_equal(has_visit(a.s, "V-new"), 1);
  /* Seq 16, signed anew, marked with the seq it had on the lost branch. */
  assert_int_equal(fm_store_entry_copy(a.s, M[2].pk, 16, &bytes, &len), 0);
  fm_entry e;
  uint64_t from = 0;
  assert_int_equal(fm_entry_decode(bytes, len, NULL, &e), 0);
  assert_int_equal(fm_entry_verify(&e), 0);
  assert_int_equal(fm_body_uint(e.body, e.body_len, "restored_from", &from), 0);
  assert_int_equal(from, 6);
  /* The mesh takes it, and both hold the same records. */
  assert_int_equal(ingest1(b.s, bytes, len, &r), FM_IN_ACCEPTED);
  assert_int_equal(fm_store_view_digest(a.s, da), 0);
  assert_int_equal(fm_store_view_digest(b.s, db), 0);
  assert_memory_equal(da, db, 32);
  free(bytes);
  /* Our lost branch is evidence, never a winner again. */
  int rolled = 0;
  assert_int_equal(fm_store_each_quarantined(a.s, count_reason, &rolled), 0);
  assert_int_equal(rolled, 1);
  verify_ok(&a);
  verify_ok(&b);
  bag_free(&own);
  fx_close(&a);
  fx_close(&b);
}

static void test_store_restored_backup_waits_for_the_mesh_log(void **state) {
  fx a, b;
  bag own, part;
  fm_ingest_result r;
  fm_restore_info ri;
  unsigned n;
  fm_buf body;
  (void)state;
  uint8_t *lost;
  size_t lost_len;
  restored_laptop(&a, &b, &own);
  assert_int_equal(fm_store_entry_copy(a.s, M[2].pk, 6, &lost, &lost_len), 0);
  /* The mesh's entries come in two batches: nothing is written again
   * before the log has caught up with what the mesh showed. */
  assert_int_equal(fm_store_note_seen(a.s, M[2].pk, 15, T0 + 200), 0);
  part = own;
  part.n = 8;
  assert_int_equal(ingest_bag(a.s, &part, T0 + 200, &r), 0);
  assert_int_equal(r.rolled_back, 1);
  assert_int_equal(fm_store_restore_flush(a.s, &M[2], T0 + 201, &n), 0);
  assert_int_equal(n, 0);
  fm_store_stats st;
  assert_int_equal(ingest_bag(a.s, &own, T0 + 202, &r), 0);
  assert_int_equal(r.rolled_back, 0);
  assert_int_equal(fm_store_stats_get(a.s, &st), 0);
  assert_int_equal(st.self_seq, 15);
  /* The next append by the member writes the set-aside record first. */
  fm_visit_in v = {"V-later", "Team 1", "Nghĩa Tân", "", "2023-11-14", "", FM_MODE_HOME, 1, 2};
  fm_buf_init(&body, 4096);
  assert_int_equal(fm_visit_body(&body, &v), 0);
  uint64_t seq = 0;
  assert_int_equal(fm_store_append(a.s, &M[2], FM_KIND_VISIT, body.p, body.len, T0 + 300,
                                   NULL, &seq), 0);
  assert_int_equal(seq, 17);
  assert_int_equal(fm_store_restore_info(a.s, &ri), 0);
  assert_int_equal(ri.pending, 0);
  assert_int_equal(ri.rewritten, 1);
  assert_int_equal(has_visit(a.s, "V-new"), 1);
  /* Our lost entry 6 arriving again (from a laptop that took it before
   * the mesh's) is fork evidence, not a rollback. */
  assert_int_equal(ingest1(a.s, lost, lost_len, &r), FM_IN_QUARANTINED);
  assert_int_equal(r.rolled_back, 0);
  assert_int_equal(fm_store_stats_get(a.s, &st), 0);
  assert_int_equal(st.self_seq, 17);
  verify_ok(&a);
  fm_buf_free(&body);
  free(lost);
  bag_free(&own);
  fx_close(&a);
  fx_close(&b);
}

/* After the claim lapsed: the laptop was shown its later records, did not
 * get them within FM_SEEN_TRUST_MS, wrote anyway; the mesh's branch still
 * wins when it comes, and the record is written again. */
static void test_store_restored_backup_heals_after_the_claim_lapsed(void **state) {
  fx a, b;
  bag own;
  fm_ingest_result r;
  unsigned n;
  char vid[16];
  (void)state;
  fx_commune(&a, 3);
  fx_commune(&b, 3);
  assert_int_equal(fm_store_set_self(a.s, M[2].pk), 0);
  for (int i = 1; i <= 15; i++) {
    snprintf(vid, sizeof vid, "V-%d", i);
    visit(a.s, &M[2], vid, T0 + i);
  }
  own.n = 0;
  assert_int_equal(fm_store_read_after(a.s, M[2].pk, 0, 0, bag_cb, &own), 0);
  assert_int_equal(ingest_bag(b.s, &own, T0, &r), 0);
  fx_close(&a);
  fx_commune(&a, 3);
  assert_int_equal(fm_store_set_self(a.s, M[2].pk), 0);
  bag first = own;
  first.n = 5;
  assert_int_equal(ingest_bag(a.s, &first, T0, &r), 0);
  assert_int_equal(fm_store_note_seen(a.s, M[2].pk, 15, T0), 0);
  fm_time later = T0 + FM_SEEN_TRUST_MS;
  visit(a.s, &M[2], "V-new", later);   /* the claim lapsed: allowed */
  assert_int_equal(ingest_bag(a.s, &own, later + 1, &r), 0);
  assert_int_equal(r.rolled_back, 1);
  assert_int_equal(fm_store_restore_flush(a.s, &M[2], later + 2, &n), 0);
  assert_int_equal(n, 1);
  assert_int_equal(has_visit(a.s, "V-new"), 1);
  assert_int_equal(has_visit(a.s, "V-15"), 1);
  verify_ok(&a);
  bag_free(&own);
  fx_close(&a);
  fx_close(&b);
}

static void test_store_refuses_writes_from_unenrolled_self(void **state) {
  fx a;
  fx_commune(&a, 3);
  fm_buf b;
  fm_visit_in v = {"V-9", "Team 1", "Nghĩa Tân", "", "2023-11-14", "", FM_MODE_HOME, 1, 2};
  fm_buf_init(&b, 4096);
  assert_int_equal(fm_visit_body(&b, &v), 0);
  assert_int_equal(fm_store_append(a.s, &M[5], FM_KIND_VISIT, b.p, b.len, T0, NULL, NULL),
                   FM_ERR_AUTH);
  fm_store_stats st;
  assert_int_equal(fm_store_stats_get(a.s, &st), 0);
  assert_int_equal(st.held, 0);
  fm_buf_free(&b);
  fx_close(&a);
}

static void test_store_grows_a_full_map(void **state) {
  fx a;
  fm_store_opts o;
  memset(&o, 0, sizeof o);
  (void)o;
  fm_buf b;
  fm_buf_init(&b, 4096);
  fx_open(&a, 64 * 1024); /* far too small for what follows */
  assert_int_equal(fm_store_set_authority(a.s, AUTH.pk, "Tân Quang"), 0);
  enroll_body(&b, M[2].pk, "Team 1");
  assert_int_equal(fm_store_append(a.s, &AUTH, FM_KIND_ENROLL, b.p, b.len, T0, NULL, NULL), 0);
  for (int i = 0; i < 600; i++) {
    char id[16];
    snprintf(id, sizeof id, "V-%04d", i);
    visit(a.s, &M[2], id, T0 + i);
  }
  fm_store_stats st;
  assert_int_equal(fm_store_stats_get(a.s, &st), 0);
  assert_int_equal(st.visits, 600);
  assert_int_equal(st.entries, 601);
  verify_ok(&a);
  fm_buf_free(&b);
  fx_close(&a);
}

/* ---- merge determinism ------------------------------------------------- */

static uint64_t rng_state = 42;
static uint32_t rnd(void) {
  rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
  return (uint32_t)(rng_state >> 33);
}

/* Four members of two teams write dossiers, status changes on each
 * other's dossiers, visits and voids, in one shared store (which orders
 * them per author).  A change of the other team's record is refused at
 * the source (the team rule), so only allowed changes enter the logs --
 * and those of them whose record comes later wait for it elsewhere. */
static void write_history(fm_store *s) {
  fm_buf b;
  char ids[64][24];
  int nd = 0, nv = 0, rv;
  fm_buf_init(&b, 4096);
  for (int step = 0; step < 160; step++) {
    int wi = 2 + (int)(rnd() % 4);
    const fm_identity *who = &M[wi];
    fm_time now = T0 + (fm_time)(rnd() % 5000); /* clocks disagree */
    int op = (int)(rnd() % 5);
    fm_buf_reset(&b);
    if (op == 0 || nd == 0) {
      snprintf(ids[nd % 64], 24, "D-%03d", nd);
      fm_dossier_in d = {ids[nd % 64], "chung_thuc", "Nguyễn Văn A", "", "", "Nghĩa Tân",
                         wi % 2 ? "Team 2" : "Team 1", "portal", "", "", NULL};
      assert_int_equal(fm_dossier_body(&b, &d), 0);
      assert_int_equal(fm_store_append(s, who, FM_KIND_DOSSIER, b.p, b.len, now, NULL, NULL), 0);
      nd++;
    } else if (op <= 2) {
      char ref[16];
      snprintf(ref, sizeof ref, "REF-%d", step);
      assert_int_equal(fm_dossier_status_body(&b, ids[rnd() % (unsigned)(nd < 64 ? nd : 64)],
                                              (int)(rnd() % FM_STATUS_COUNT), ref, "n"), 0);
      rv = fm_store_append(s, who, FM_KIND_DOSSIER_STATUS, b.p, b.len, now, NULL, NULL);
      assert_true(rv == 0 || rv == FM_ERR_ROLE);
    } else if (op == 3 || nv == 0) {
      char id[16];
      snprintf(id, sizeof id, "V-%03d", nv++);
      visit(s, who, id, now);
    } else {
      char id[16];
      snprintf(id, sizeof id, "V-%03d", (int)(rnd() % (unsigned)nv));
      assert_int_equal(fm_visit_void_body(&b, id, "recorded twice"), 0);
      rv = fm_store_append(s, who, FM_KIND_VISIT_VOID, b.p, b.len, now, NULL, NULL);
      assert_true(rv == 0 || (rv == FM_ERR_ROLE && wi % 2));  /* visits are Team 1's */
    }
  }
  fm_buf_free(&b);
}

typedef struct dump {
  fm_buf b;
} dump;

static int dump_cb(void *ctx, const char *id, size_t n, const uint8_t *rec, size_t len) {
  dump *d = ctx;
  fm_buf_put(&d->b, id, n);
  fm_buf_put(&d->b, rec, len);
  return 0;
}

static void test_store_views_do_not_depend_on_arrival_order(void **state) {
  fx src;
  bag per[6];
  uint8_t first[32];
  dump d0;
  memset(per, 0, sizeof per);
  fx_commune(&src, 5);
  write_history(src.s);
  for (int a = 2; a < 6; a++)
    assert_int_equal(fm_store_read_after(src.s, M[a].pk, 0, 0, bag_cb, &per[a]), 0);
  bag auth = {0};
  assert_int_equal(fm_store_read_after(src.s, AUTH.pk, 0, 0, bag_cb, &auth), 0);
  assert_int_equal(fm_store_view_digest(src.s, first), 0);
  fm_buf_init(&d0.b, 1 << 24);
  fm_store_each_record(src.s, FM_VIEW_DOSSIER, dump_cb, &d0);
  fm_store_each_record(src.s, FM_VIEW_VISIT, dump_cb, &d0);
  for (int round = 0; round < 100; round++) {
    fx f;
    size_t pos[6] = {0};
    fm_slice order[4096];
    size_t n = 0, total = 0;
    for (int a = 2; a < 6; a++) total += per[a].n;
    fx_open(&f, 0);
    assert_int_equal(fm_store_set_authority(f.s, AUTH.pk, "Tân Quang"), 0);
    /* Enrollments may come after the entries they govern: held, then released. */
    while (n < total) {
      int a = 2 + (int)(rnd() % 4);
      if (pos[a] < per[a].n) {
        order[n].p = per[a].buf[pos[a]];
        order[n].len = per[a].len[pos[a]++];
        n++;
      }
    }
    fm_slice auth_sl[8];
    for (size_t i = 0; i < auth.n; i++) auth_sl[i] = (fm_slice){auth.buf[i], auth.len[i]};
    fm_ingest_result r;
    size_t cut = rnd() % (n + 1), done = 0;
    while (done < cut) {
      size_t k = 1 + rnd() % 50;
      if (k > cut - done) k = cut - done;
      assert_int_equal(fm_store_ingest(f.s, order + done, k, T0, &r, NULL), 0);
      done += k;
    }
    assert_int_equal(fm_store_ingest(f.s, auth_sl, auth.n, T0, &r, NULL), 0);
    if (done < n) assert_int_equal(fm_store_ingest(f.s, order + done, n - done, T0, &r, NULL), 0);
    uint8_t dg[32];
    dump d;
    assert_int_equal(fm_store_view_digest(f.s, dg), 0);
    fm_buf_init(&d.b, 1 << 24);
    fm_store_each_record(f.s, FM_VIEW_DOSSIER, dump_cb, &d);
    fm_store_each_record(f.s, FM_VIEW_VISIT, dump_cb, &d);
    assert_int_equal(d.b.len, d0.b.len);
    assert_memory_equal(d.b.p, d0.b.p, d0.b.len);
    assert_memory_equal(dg, first, 32);
    fm_buf_free(&d.b);
    if (round == 0) verify_ok(&f);
    fx_close(&f);
  }
  fm_buf_free(&d0.b);
  for (int a = 2; a < 6; a++) bag_free(&per[a]);
  bag_free(&auth);
  fx_close(&src);
}

/* ---- copies of own entries ------------------------------------------------------ */

static void assert_copies(fm_store *s, unsigned need, uint64_t none, uint64_t one,
                          uint64_t more, uint64_t unsafe) {
  fm_copies c;
  assert_int_equal(fm_store_copies(s, M[2].pk, need, &c), 0);
  assert_int_equal(c.none, none);
  assert_int_equal(c.one, one);
  assert_int_equal(c.more, more);
  assert_int_equal(c.unsafe, unsafe);
  assert_int_equal(c.none + c.one + c.more, c.own);
}

/* Holders are counted per device, by the prefix each holds; a device
 * that later says less (a restored backup) lowers nothing; a revoked
 * device carries nothing anyone can count on. */
static void test_copies_count_holders_per_device(void **state) {
  fx f;
  char vid[16];
  fx_commune(&f, 5);
  assert_int_equal(fm_store_set_self(f.s, M[2].pk), 0);
  for (int i = 0; i < 12; i++) {
    snprintf(vid, sizeof vid, "V-%02d", i);
    visit(f.s, &M[2], vid, T0 + i);
  }
  assert_copies(f.s, 1, 12, 0, 0, 12);
  assert_int_equal(fm_store_note_held(f.s, M[3].pk, M[2].pk, 10, T0), 0);
  assert_int_equal(fm_store_note_held(f.s, M[4].pk, M[2].pk, 6, T0), 0);
  assert_copies(f.s, 1, 2, 4, 6, 2);
  assert_copies(f.s, 2, 2, 4, 6, 6);
  assert_copies(f.s, 3, 2, 4, 6, 12);
  assert_copies(f.s, 0, 2, 4, 6, 0);
  /* Less than before proves nothing new; our own word is not a copy. */
  assert_int_equal(fm_store_note_held(f.s, M[3].pk, M[2].pk, 5, T0 + 1), 0);
  assert_int_equal(fm_store_note_held(f.s, M[2].pk, M[2].pk, 12, T0 + 1), 0);
  assert_copies(f.s, 1, 2, 4, 6, 2);
  /* Member 3's laptop is lost and revoked: its copies no longer count. */
  fm_buf b;
  fm_buf_init(&b, 256);
  assert_int_equal(fm_revoke_body(&b, M[3].pk, 0), 0);
  assert_int_equal(fm_store_append(f.s, &AUTH, FM_KIND_REVOKE, b.p, b.len, T0 + 2, NULL, NULL), 0);
  fm_buf_free(&b);
  assert_copies(f.s, 1, 6, 6, 0, 6);
  unsigned need;
  assert_int_equal(fm_store_safe_copies(f.s, &need), 0);
  assert_int_equal(need, FM_SAFE_COPIES_DEFAULT);
  assert_int_equal(fm_store_set_safe_copies(f.s, 2), 0);
  assert_int_equal(fm_store_safe_copies(f.s, &need), 0);
  assert_int_equal(need, 2);
  assert_int_equal(fm_store_set_safe_copies(f.s, FM_SAFE_COPIES_MAX + 1), FM_ERR_INVAL);
  fx_close(&f);
}

/* Rewrites the trailer's checksum after an edit, so the container still
 * reads and only its signature can tell. */
static void rehash(const char *path) {
  FILE *fp = fopen(path, "r+b");
  assert_non_null(fp);
  uint8_t data[65536];
  size_t n = fread(data, 1, sizeof data, fp);
  assert_true(n > 36 && n < sizeof data);
  /* A vector file has no items: its trailer is 92 00 c4 20 and the hash. */
  fm_blake2b(data + n - 32, 32, data, n - 36, NULL, 0);
  assert_int_equal(fseek(fp, 0, SEEK_SET), 0);
  assert_int_equal(fwrite(data, 1, n, fp), n);
  fclose(fp);
}

static void flip_sig_byte(const char *path) {
  fm_bundle b;
  assert_int_equal(fm_bundle_read(path, &b), 0);
  assert_true(b.has_sig);
  size_t at = b.signed_len + 4 + 2 + 10; /* "sig" key, bin 64 header, into the signature */
  fm_bundle_free(&b);
  FILE *fp = fopen(path, "r+b");
  assert_non_null(fp);
  assert_int_equal(fseek(fp, (long)at, SEEK_SET), 0);
  int ch = fgetc(fp);
  assert_int_equal(fseek(fp, (long)at, SEEK_SET), 0);
  fputc(ch ^ 0x01, fp);
  fclose(fp);
  rehash(path);
}

/* A vector file counts as the other laptop's word about our entries only
 * when that laptop signed it: a checksum anyone can write. */
static void test_copies_from_a_vector_file_need_its_signature(void **state) {
  fx a, b;
  bag all = {0};
  char path[128], vid[16];
  fm_bundle v;
  fx_commune(&a, 5);
  fx_commune(&b, 5);
  assert_int_equal(fm_store_set_self(a.s, M[2].pk), 0);
  assert_int_equal(fm_store_set_self(b.s, M[3].pk), 0);
  for (int i = 0; i < 5; i++) {
    snprintf(vid, sizeof vid, "V-%02d", i);
    visit(a.s, &M[2], vid, T0 + i);
  }
  assert_int_equal(fm_store_read_after(a.s, M[2].pk, 0, 0, bag_cb, &all), 0);
  for (size_t i = 0; i < all.n; i++) {
    fm_ingest_result r;
    assert_int_equal(ingest1(b.s, all.buf[i], all.len[i], &r), FM_IN_ACCEPTED);
  }
  snprintf(path, sizeof path, "%s/b.vector", b.dir);
  /* Unsigned (as from a machine with no device key): no copies. */
  assert_int_equal(fm_vector_export(b.s, NULL, path, T0), 0);
  assert_int_equal(fm_bundle_read(path, &v), 0);
  assert_false(v.has_sig);
  assert_int_equal(fm_bundle_note_copies(a.s, &v, T0), 0);
  fm_bundle_free(&v);
  assert_copies(a.s, 1, 5, 0, 0, 5);
  /* Signed, then one bit of the signature changed: no copies. */
  assert_int_equal(fm_vector_export(b.s, &M[3], path, T0), 0);
  flip_sig_byte(path);
  assert_int_equal(fm_bundle_read(path, &v), 0);
  assert_int_equal(fm_bundle_note_copies(a.s, &v, T0), 0);
  fm_bundle_free(&v);
  assert_copies(a.s, 1, 5, 0, 0, 5);
  /* Signed by a key that is not |from|'s: the writer signs only as itself. */
  assert_int_equal(fm_vector_export(b.s, &M[4], path, T0), 0);
  assert_int_equal(fm_bundle_read(path, &v), 0);
  assert_false(v.has_sig);
  fm_bundle_free(&v);
  /* Signed by member 3 as itself: its word counts. */
  assert_int_equal(fm_vector_export(b.s, &M[3], path, T0), 0);
  assert_int_equal(fm_bundle_read(path, &v), 0);
  assert_true(v.has_sig);
  assert_int_equal(fm_bundle_note_copies(a.s, &v, T0), 0);
  fm_bundle_free(&v);
  assert_copies(a.s, 1, 0, 5, 0, 0);
  /* Our own signed file says nothing about copies elsewhere. */
  fx c;
  fx_commune(&c, 5);
  assert_int_equal(fm_store_set_self(c.s, M[2].pk), 0);
  snprintf(path, sizeof path, "%s/a.vector", a.dir);
  assert_int_equal(fm_vector_export(a.s, &M[2], path, T0), 0);
  assert_int_equal(fm_bundle_read(path, &v), 0);
  assert_int_equal(fm_bundle_note_copies(a.s, &v, T0), 0);
  fm_bundle_free(&v);
  assert_copies(a.s, 1, 0, 5, 0, 0);
  unlink(path);
  snprintf(path, sizeof path, "%s/b.vector", b.dir);
  unlink(path);
  bag_free(&all);
  fx_close(&a);
  fx_close(&b);
  fx_close(&c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_store_quarantines_both_sides_of_a_fork),
      cmocka_unit_test(test_store_refuses_gap_and_quarantines_wrong_prev),
      cmocka_unit_test(test_store_holds_unknown_author_until_enrolled),
      cmocka_unit_test(test_store_full_held_table_refuses_without_blame),
      cmocka_unit_test(test_store_revocation_keeps_entries_up_to_cutoff),
      cmocka_unit_test(test_store_held_flood_of_one_key_does_not_block_another),
      cmocka_unit_test(test_store_held_window_keeps_lowest_seqs),
      cmocka_unit_test(test_store_correction_needs_a_leader_or_officer),
      cmocka_unit_test(test_store_team_rule),
      cmocka_unit_test(test_store_refuses_oversized_and_too_deep),
      cmocka_unit_test(test_store_refuses_to_fork_own_log_when_behind),
      cmocka_unit_test(test_store_refuses_writes_from_unenrolled_self),
      cmocka_unit_test(test_store_fixed_clock_stamps_the_present),
      cmocka_unit_test(test_store_restored_backup_takes_the_mesh_log_and_rewrites_its_own),
      cmocka_unit_test(test_store_restored_backup_waits_for_the_mesh_log),
      cmocka_unit_test(test_store_restored_backup_heals_after_the_claim_lapsed),
      cmocka_unit_test(test_store_grows_a_full_map),
      cmocka_unit_test(test_store_views_do_not_depend_on_arrival_order),
      cmocka_unit_test(test_copies_count_holders_per_device),
      cmocka_unit_test(test_copies_from_a_vector_file_need_its_signature),
  };
  return cmocka_run_group_tests(tests, setup_ids, NULL);
}
