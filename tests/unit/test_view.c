/* Merge rules of the views (include/fieldmesh/view.h) and the clock
 * (include/fieldmesh/hlc.h): causality before clocks.  A change made after seeing another wins over it whatever the
 * two clocks said; the hlc decides only between changes made without
 * seeing each other; and every arrival order gives the same bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fieldmesh/error.h"
#include "fieldmesh/record.h"
#include "fieldmesh/view.h"
#include "signed.h"

#define NOW 1764900000000LL                         /* 2025-12-05 */
#define YEAR_MS (365LL * 24 * 3600 * 1000)
#define FUTURE (NOW + 10 * YEAR_MS)                 /* a clock 10 years ahead */
#define ID "D-06DERF70M2G9MCSK"
#define BUF_MAX (64 * 1024)

static fm_identity A, B;

static int setup(void **state) {
  uint8_t seed[32];
  (void)state;
  memset(seed, 0xa1, sizeof seed);
  if (fm_identity_from_seed(&A, seed)) return -1;
  memset(seed, 0xb2, sizeof seed);
  return fm_identity_from_seed(&B, seed);
}

static void dossier(signed_entry *s, const fm_identity *id, uint64_t seq, fm_time ms) {
  fm_buf b;
  fm_dossier_in in = {ID, "khai_sinh", "Lò Văn Pó", "", "", "Vinh Quang", "Team 1",
                      "portal", "", "", "2025-12-05"};
  fm_buf_init(&b, BUF_MAX);
  assert_int_equal(fm_dossier_body(&b, &in), 0);
  signed_entry_make(s, id, seq, ms, FM_KIND_DOSSIER, &b);
}

static void status(signed_entry *s, const fm_identity *id, uint64_t seq, fm_time ms, int st,
                   const char *ref, uint64_t after) {
  fm_buf b;
  fm_buf_init(&b, BUF_MAX);
  assert_int_equal(fm_dossier_status_body_after(&b, ID, st, ref, ref, after), 0);
  signed_entry_make(s, id, seq, ms, FM_KIND_DOSSIER_STATUS, &b);
}

static void status_on(signed_entry *s, const fm_identity *id, uint64_t seq, fm_time ms,
                      int st, uint64_t after, uint64_t level) {
  fm_buf b;
  fm_buf_init(&b, BUF_MAX);
  assert_int_equal(fm_dossier_status_body_level(&b, ID, st, "", "", after, level), 0);
  signed_entry_make(s, id, seq, ms, FM_KIND_DOSSIER_STATUS, &b);
}

static void correct(signed_entry *s, const fm_identity *id, uint64_t seq, fm_time ms, int st,
                    const char *reason, uint64_t after) {
  fm_buf b;
  fm_buf_init(&b, BUF_MAX);
  assert_int_equal(fm_dossier_correct_body(&b, ID, st, reason, after), 0);
  signed_entry_make(s, id, seq, ms, FM_KIND_DOSSIER_CORRECT, &b);
}

/* Merges |n| entries in the order |ord| into |out| (a record). */
static void merge(signed_entry **es, const int *ord, int n, fm_buf *out) {
  fm_buf cur, next;
  fm_buf_init(&cur, 1 << 16);
  for (int i = 0; i < n; i++) {
    fm_buf_init(&next, 1 << 16);
    assert_int_equal(fm_view_apply(FM_VIEW_DOSSIER, i ? cur.p : NULL, i ? cur.len : 0,
                                   &es[ord[i]]->e, &next),
                     0);
    fm_buf_free(&cur);
    cur = next;
  }
  *out = cur;
}

/* Every order of |n| (at most 4) entries gives |want|'s bytes. */
static void same_in_every_order(signed_entry **es, int n, const fm_buf *want) {
  int ord[4], count = 0;
  for (int p = 0; p < 256; p++) {
    int used = 0, ok = 1;
    for (int i = 0; i < n; i++) {
      ord[i] = (p >> (2 * i)) & 3;
      if (ord[i] >= n || (used & (1 << ord[i]))) ok = 0;
      used |= 1 << (ord[i] & 3);
    }
    if (!ok || p >= (1 << (2 * n))) continue;
    fm_buf got;
    merge(es, ord, n, &got);
    assert_int_equal(got.len, want->len);
    assert_memory_equal(got.p, want->p, want->len);
    fm_buf_free(&got);
    count++;
  }
  assert_int_equal(count, n == 3 ? 6 : 24);
}

static fm_dossier_view decoded(const fm_buf *rec) {
  fm_dossier_view d;
  assert_int_equal(fm_dossier_view_decode(rec->p, rec->len, &d), 0);
  return d;
}

static int str_is(fm_str s, const char *want) {
  return s.n == strlen(want) && memcmp(s.p, want, s.n) == 0;
}

/* A's clock is 10 years ahead; B saw A's status and corrects it. */
static void test_causally_later_wins_over_future_clock(void **state) {
  signed_entry d1, s1, s2;
  signed_entry *es[] = {&d1, &s1, &s2};
  int ord[] = {0, 1};
  fm_buf seen, rec;
  (void)state;
  dossier(&d1, &A, 1, FUTURE);
  status(&s1, &A, 2, FUTURE + 1000, FM_ST_SUBMITTED, "A-REF", 0);
  merge(es, ord, 2, &seen);
  fm_dossier_view v = decoded(&seen);
  assert_true(str_is(v.portal_ref, "A-REF"));
  uint64_t after = fm_dossier_view_seen(&v);
  assert_int_equal(after, fm_hlc_make((uint64_t)FUTURE + 1000, 0));
  status(&s2, &B, 1, NOW, FM_ST_SUBMITTED, "B-REF", after);
  int all[] = {0, 1, 2};
  merge(es, all, 3, &rec);
  v = decoded(&rec);
  assert_int_equal(v.status, FM_ST_SUBMITTED);
  assert_true(str_is(v.portal_ref, "B-REF"));
  assert_true(str_is(v.status_note, "B-REF"));
  assert_memory_equal(v.status_stamp.author, B.pk, FM_KEY_LEN);
  /* B's own clock is kept as it was; only the order moved past A's. */
  assert_int_equal(v.status_stamp.hlc, fm_hlc_make((uint64_t)NOW, 0));
  assert_int_equal(v.status_stamp.order, after + 1);
  assert_true(str_is(v.date, "2025-12-05"));
  same_in_every_order(es, 3, &rec);
  fm_buf_free(&seen);
  fm_buf_free(&rec);
  fm_buf_free(&d1.bytes);
  fm_buf_free(&s1.bytes);
  fm_buf_free(&s2.bytes);
}

/* Neither saw the other's status: the clocks decide, as before. */
static void test_concurrent_changes_go_by_hlc(void **state) {
  signed_entry d1, s1, s2, s3;
  signed_entry *es[] = {&d1, &s1, &s2, &s3};
  int ord[] = {0};
  fm_buf seen, rec;
  (void)state;
  dossier(&d1, &A, 1, FUTURE);
  merge(es, ord, 1, &seen);
  fm_dossier_view v = decoded(&seen);
  uint64_t after = fm_dossier_view_seen(&v); /* B saw the dossier only */
  status(&s1, &A, 2, FUTURE + 5000, FM_ST_SUBMITTED, "A-REF", 0);
  status(&s2, &B, 1, NOW, FM_ST_SUBMITTED, "B-REF", after);
  /* Two laptops with right clocks, concurrent: the later hlc wins. */
  status(&s3, &B, 2, FUTURE + 4000, FM_ST_SUBMITTED, "B2-REF", after);
  int all[] = {0, 1, 2, 3};
  merge(es, all, 4, &rec);
  v = decoded(&rec);
  assert_true(str_is(v.portal_ref, "A-REF"));
  assert_memory_equal(v.status_stamp.author, A.pk, FM_KEY_LEN);
  assert_int_equal(v.status_stamp.order, v.status_stamp.hlc);
  same_in_every_order(es, 4, &rec);
  fm_buf_free(&seen);
  fm_buf_free(&rec);
  fm_buf_free(&d1.bytes);
  fm_buf_free(&s1.bytes);
  fm_buf_free(&s2.bytes);
  fm_buf_free(&s3.bytes);
}

/* The ladder goes first: a lower status does not replace a higher one,
 * `after` or not; between the two final states (a tie) `after` decides. */
static void test_ladder_then_causality(void **state) {
  signed_entry d1, s1, s2, s3;
  signed_entry *es[] = {&d1, &s1, &s2, &s3};
  int ord[] = {0, 1};
  fm_buf seen, rec;
  (void)state;
  dossier(&d1, &A, 1, FUTURE);
  status(&s1, &A, 2, FUTURE + 1000, FM_ST_REJECTED, "", 0);
  merge(es, ord, 2, &seen);
  fm_dossier_view v = decoded(&seen);
  uint64_t after = fm_dossier_view_seen(&v);
  status(&s2, &B, 1, NOW, FM_ST_PROCESSING, "", after);
  int three[] = {0, 1, 2};
  merge(es, three, 3, &rec);
  assert_int_equal(decoded(&rec).status, FM_ST_REJECTED);
  same_in_every_order(es, 3, &rec);
  fm_buf_free(&rec);
  status(&s3, &B, 2, NOW + 1, FM_ST_WITHDRAWN, "", after);
  int all[] = {0, 1, 2, 3};
  merge(es, all, 4, &rec);
  v = decoded(&rec);
  assert_int_equal(v.status, FM_ST_WITHDRAWN);
  same_in_every_order(es, 4, &rec);
  fm_buf_free(&seen);
  fm_buf_free(&rec);
  fm_buf_free(&d1.bytes);
  fm_buf_free(&s1.bytes);
  fm_buf_free(&s2.bytes);
  fm_buf_free(&s3.bytes);
}

/* A `delivered` set by mistake (A's clock 10 years ahead) is corrected to
 * `processing` by B, who saw it; a `result_ready` A wrote without seeing
 * the correction does not undo it, whatever the ladder and the clocks. */
static void test_correction_wins_over_ladder(void **state) {
  signed_entry d1, s1, c1, s2;
  signed_entry *es[] = {&d1, &s1, &c1, &s2};
  int two[] = {0, 1}, all[] = {0, 1, 2, 3};
  fm_buf seen, rec;
  (void)state;
  dossier(&d1, &A, 1, FUTURE);
  status(&s1, &A, 2, FUTURE + 1000, FM_ST_DELIVERED, "", 0);
  merge(es, two, 2, &seen);
  fm_dossier_view v = decoded(&seen);
  correct(&c1, &B, 1, NOW, FM_ST_PROCESSING, "giao nhầm hồ sơ", fm_dossier_view_seen(&v));
  status_on(&s2, &A, 3, FUTURE + 2000, FM_ST_RESULT_READY, fm_dossier_view_seen(&v), 0);
  merge(es, all, 4, &rec);
  v = decoded(&rec);
  assert_int_equal(v.status, FM_ST_PROCESSING);
  assert_true(str_is(v.status_note, "giao nhầm hồ sơ"));
  assert_true(v.status_level > 0);
  assert_memory_equal(v.status_stamp.author, B.pk, FM_KEY_LEN);
  same_in_every_order(es, 4, &rec);
  /* Encoded and decoded again, the level is kept. */
  assert_int_equal(fm_dossier_view_decode(rec.p, rec.len, &v), 0);
  fm_buf_free(&seen);
  fm_buf_free(&rec);
  fm_buf_free(&d1.bytes);
  fm_buf_free(&s1.bytes);
  fm_buf_free(&c1.bytes);
  fm_buf_free(&s2.bytes);
}

/* After a correction, statuses written after seeing it climb the ladder
 * from it: higher wins, lower does not. */
static void test_ladder_after_correction(void **state) {
  signed_entry d1, s1, c1, up, down;
  signed_entry *es[] = {&d1, &s1, &c1, &up};
  signed_entry *es2[] = {&d1, &s1, &c1, &down};
  int two[] = {0, 1}, three[] = {0, 1, 2}, all[] = {0, 1, 2, 3};
  fm_buf seen, fixed, rec;
  (void)state;
  dossier(&d1, &A, 1, NOW);
  status(&s1, &A, 2, NOW + 1000, FM_ST_DELIVERED, "", 0);
  merge(es, two, 2, &seen);
  fm_dossier_view v = decoded(&seen);
  correct(&c1, &B, 1, NOW + 2000, FM_ST_PROCESSING, "chưa trả kết quả",
          fm_dossier_view_seen(&v));
  merge(es, three, 3, &fixed);
  v = decoded(&fixed);
  assert_int_equal(v.status, FM_ST_PROCESSING);
  status_on(&up, &A, 3, NOW + 3000, FM_ST_RESULT_READY, fm_dossier_view_seen(&v),
            v.status_level);
  status_on(&down, &A, 3, NOW + 3000, FM_ST_SUBMITTED, fm_dossier_view_seen(&v),
            v.status_level);
  merge(es, all, 4, &rec);
  assert_int_equal(decoded(&rec).status, FM_ST_RESULT_READY);
  same_in_every_order(es, 4, &rec);
  fm_buf_free(&rec);
  merge(es2, all, 4, &rec);
  assert_int_equal(decoded(&rec).status, FM_ST_PROCESSING);
  same_in_every_order(es2, 4, &rec);
  fm_buf_free(&rec);
  fm_buf_free(&seen);
  fm_buf_free(&fixed);
  fm_buf_free(&d1.bytes);
  fm_buf_free(&s1.bytes);
  fm_buf_free(&c1.bytes);
  fm_buf_free(&up.bytes);
  fm_buf_free(&down.bytes);
}

/* A stamp carries its order only when `after` moved it; a stored order
 * that is not past its hlc is not a record this code wrote. */
static void test_stamp_encoding(void **state) {
  signed_entry s1;
  fm_buf rec, again;
  uint8_t *bad;
  (void)state;
  status(&s1, &B, 1, NOW, FM_ST_SUBMITTED, "R", fm_hlc_make((uint64_t)FUTURE, 0));
  fm_buf_init(&rec, 1 << 16);
  assert_int_equal(fm_view_apply(FM_VIEW_DOSSIER, NULL, 0, &s1.e, &rec), 0);
  fm_dossier_view v = decoded(&rec);
  fm_buf_init(&again, 1 << 16);
  /* Re-applying the same entry changes nothing, byte for byte. */
  assert_int_equal(fm_view_apply(FM_VIEW_DOSSIER, rec.p, rec.len, &s1.e, &again), 0);
  assert_int_equal(again.len, rec.len);
  assert_memory_equal(again.p, rec.p, rec.len);
  assert_int_equal(v.status_stamp.order, fm_hlc_make((uint64_t)FUTURE, 0) + 1);
  /* The status stamp is the only 4-item array: make its order its hlc. */
  bad = malloc(rec.len);
  memcpy(bad, rec.p, rec.len);
  for (size_t i = 0; i + 10 < rec.len; i++) {
    if (bad[i] != 0x94 || bad[i + 1] != 0xcf) continue;
    size_t o = i + 2 + 8 + 2 + FM_KEY_LEN + 1; /* hlc, author, seq 1 */
    assert_int_equal(bad[o], 0xcf);
    memcpy(bad + o + 1, bad + i + 2, 8);
    assert_int_equal(fm_dossier_view_decode(bad, rec.len, &v), FM_ERR_CORRUPT);
  }
  free(bad);
  fm_buf_free(&rec);
  fm_buf_free(&again);
  fm_buf_free(&s1.bytes);
}

/* A record without a date has 16 fields (the bytes of before dates); a
 * 17th field that is empty is not a record this code wrote. */
static void test_old_record_reads(void **state) {
  static const uint8_t old[] = {0xdc, 0x00, 0x10, 0xc0, 0xc0, 0xa0, 0xa0, 0xa0, 0xa0,
                                0xa0, 0xa0, 0xa0, 0xa0, 0x90, 0xc0, 0xa0, 0x00, 0xc0, 0xa0};
  fm_dossier_view v;
  (void)state;
  assert_int_equal(fm_dossier_view_decode(old, sizeof old, &v), 0);
  assert_int_equal(v.date.n, 0);
  assert_int_equal(fm_dossier_view_seen(&v), 0);
  uint8_t empty_date[sizeof old + 1];
  memcpy(empty_date, old, sizeof old);
  empty_date[2] = 0x11;
  empty_date[sizeof old] = 0xa0;
  assert_int_equal(fm_dossier_view_decode(empty_date, sizeof empty_date, &v), FM_ERR_CORRUPT);
}

/* The clock: a stored stamp more than a day ahead of the wall clock (a
 * wrong clock, fixed since) is not gone on from; an hour ahead is. */
static void test_hlc_fixed_clock_stamps_the_present(void **state) {
  fm_hlc future = fm_hlc_make((uint64_t)FUTURE, 9), hour = fm_hlc_make(NOW + 3600000, 4);
  (void)state;
  assert_int_equal(fm_hlc_believable(future, NOW), 0);
  assert_int_equal(fm_hlc_tick(future, NOW), fm_hlc_make((uint64_t)NOW, 0));
  assert_int_equal(fm_hlc_tick(hour, NOW), hour + 1);
  assert_int_equal(fm_hlc_believable(hour, NOW), hour);
  /* A far-ahead stamp seen on another laptop's entry never drags ours. */
  assert_int_equal(fm_hlc_observe(hour, future, NOW), hour);
  assert_int_equal(fm_hlc_observe(0, hour, NOW), hour);
  /* Once the clock reaches it, the old stamp is an ordinary clock again. */
  assert_int_equal(fm_hlc_tick(future, FUTURE), future + 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_causally_later_wins_over_future_clock),
      cmocka_unit_test(test_concurrent_changes_go_by_hlc),
      cmocka_unit_test(test_ladder_then_causality),
      cmocka_unit_test(test_correction_wins_over_ladder),
      cmocka_unit_test(test_ladder_after_correction),
      cmocka_unit_test(test_stamp_encoding),
      cmocka_unit_test(test_old_record_reads),
      cmocka_unit_test(test_hlc_fixed_clock_stamps_the_present),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
