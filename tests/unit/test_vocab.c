/* The commune's lists (proto/vocab.c): bodies, the order of changes, how a
 * record's text resolves after a rename, and bodies that do not read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fieldmesh/error.h"
#include "fieldmesh/identity.h"
#include "fieldmesh/vocab.h"

static fm_identity AUTH;
static uint64_t SEQ;

/* An entry of kind |kind| with |body| into |out| (its own buffer). */
static void entry_of(fm_buf *out, const char *kind, const fm_buf *body, fm_entry *e) {
  uint8_t prev[FM_ID_LEN] = {0};
  SEQ++;
  fm_buf_init(out, FM_ENTRY_MAX);
  assert_int_equal(fm_entry_build(out, &AUTH, SEQ, SEQ > 1 ? prev : NULL,
                                  (fm_hlc)SEQ << 16, kind, body->p, body->len), 0);
  assert_int_equal(fm_entry_decode(out->p, out->len, NULL, e), 0);
}

/* Applies one change to |v|. */
static void change(fm_vocab *v, fm_vocab_list l, fm_vocab_op op, const char *name,
                   const char *to) {
  fm_buf body, e;
  fm_entry en;
  fm_buf_init(&body, FM_ENTRY_MAX);
  assert_int_equal(fm_vocab_body(&body, l, op, name, to), 0);
  entry_of(&e, FM_KIND_VOCAB, &body, &en);
  fm_vocab_apply(v, &en);
  fm_buf_free(&body);
  fm_buf_free(&e);
}

static const char *resolve(const fm_vocab *v, const char *s) {
  return fm_vocab_resolve(v, FM_VOCAB_VILLAGE, s, strlen(s));
}

static int setup(void **state) {
  uint8_t seed[32];
  (void)state;
  memset(seed, 0x11, sizeof seed);
  SEQ = 0;
  return fm_identity_from_seed(&AUTH, seed);
}

static void test_lists_match_without_case_or_marks(void **state) {
  fm_vocab *v = malloc(sizeof *v);
  (void)state;
  fm_vocab_init(v);
  assert_int_equal(fm_vocab_active(v, FM_VOCAB_VILLAGE), 0);
  assert_null(resolve(v, "Nghĩa Tân"));
  change(v, FM_VOCAB_VILLAGE, FM_VOCAB_ADD, "Nghĩa Tân", NULL);
  change(v, FM_VOCAB_PLACE, FM_VOCAB_ADD, "Trà Kiểm", NULL);
  change(v, FM_VOCAB_VILLAGE, FM_VOCAB_ADD, "NGHIA TAN", NULL); /* the same, respelled */
  assert_int_equal(fm_vocab_active(v, FM_VOCAB_VILLAGE), 1);
  assert_int_equal(fm_vocab_active(v, FM_VOCAB_PLACE), 1);
  assert_string_equal(resolve(v, "nghĩa tân"), "NGHIA TAN");
  assert_string_equal(resolve(v, "Nghi\xcc\x83" "a Ta\xcc\x82n"), "NGHIA TAN");
  assert_null(resolve(v, "Trà Kiểm"));   /* a place, not a village */
  assert_string_equal(fm_vocab_closest(v, FM_VOCAB_VILLAGE, "Ngia Tan", 8), "NGHIA TAN");
  assert_null(fm_vocab_closest(v, FM_VOCAB_VILLAGE, "Mục Lạn", strlen("Mục Lạn")));
  free(v);
}

static void test_rename_keeps_history_and_retire_keeps_records(void **state) {
  fm_vocab *v = malloc(sizeof *v);
  const char *name = NULL;
  (void)state;
  fm_vocab_init(v);
  change(v, FM_VOCAB_VILLAGE, FM_VOCAB_ADD, "Nghĩa Tân", NULL);
  change(v, FM_VOCAB_VILLAGE, FM_VOCAB_ADD, "Vinh Quang", NULL);
  change(v, FM_VOCAB_VILLAGE, FM_VOCAB_RENAME, "nghia tan", "Nghĩa Tân Mới");
  assert_string_equal(resolve(v, "Nghĩa Tân"), "Nghĩa Tân Mới");
  assert_int_equal(fm_vocab_find(v, FM_VOCAB_VILLAGE, "Nghia Tan", 9, &name),
                   FM_VOCAB_FORMER_OF);
  assert_string_equal(name, "Nghĩa Tân Mới");
  /* A rename onto another name's current key changes nothing. */
  change(v, FM_VOCAB_VILLAGE, FM_VOCAB_RENAME, "Nghĩa Tân Mới", "vinh quang");
  assert_string_equal(resolve(v, "Nghĩa Tân"), "Nghĩa Tân Mới");
  /* Twice renamed: both former names resolve to the latest. */
  change(v, FM_VOCAB_VILLAGE, FM_VOCAB_RENAME, "Nghĩa Tân Mới", "Tân Lập");
  assert_string_equal(resolve(v, "Nghĩa Tân"), "Tân Lập");
  assert_string_equal(resolve(v, "Nghĩa Tân Mới"), "Tân Lập");
  /* Renamed back: its own name again, not a former one. */
  change(v, FM_VOCAB_VILLAGE, FM_VOCAB_RENAME, "Tân Lập", "Nghĩa Tân");
  assert_int_equal(fm_vocab_find(v, FM_VOCAB_VILLAGE, "nghia tan", 9, NULL), FM_VOCAB_CURRENT);
  assert_int_equal(v->list[FM_VOCAB_VILLAGE].nformer, 2);
  change(v, FM_VOCAB_VILLAGE, FM_VOCAB_RETIRE, "VINH QUANG", NULL);
  assert_int_equal(fm_vocab_find(v, FM_VOCAB_VILLAGE, "Vinh Quang", 10, NULL),
                   FM_VOCAB_RETIRED);
  assert_string_equal(resolve(v, "Vinh Quang"), "Vinh Quang");
  assert_int_equal(fm_vocab_active(v, FM_VOCAB_VILLAGE), 1);
  change(v, FM_VOCAB_VILLAGE, FM_VOCAB_ADD, "Vinh Quang", NULL);
  assert_int_equal(fm_vocab_active(v, FM_VOCAB_VILLAGE), 2);
  free(v);
}

/* Bodies that do not read, and other kinds, change nothing. */
static void test_bodies_that_do_not_read_change_nothing(void **state) {
  fm_vocab *v = malloc(sizeof *v);
  fm_buf body, e;
  fm_entry en;
  fm_wr w;
  (void)state;
  fm_vocab_init(v);
  assert_int_equal(fm_vocab_body(&body, FM_VOCAB_VILLAGE, FM_VOCAB_ADD, "", NULL),
                   FM_ERR_INVAL);
  assert_int_equal(fm_vocab_body(&body, FM_VOCAB_VILLAGE, FM_VOCAB_RENAME, "A", NULL),
                   FM_ERR_INVAL);
  /* Decomposed text is not written. */
  assert_int_equal(fm_vocab_body(&body, FM_VOCAB_VILLAGE, FM_VOCAB_ADD, "Nghi\xcc\x83" "a", NULL),
                   FM_ERR_INVAL);
  const char *bad[][3] = {{"village", "merge", "A"}, {"hamlet", "add", "A"}, {"village", "add", ""}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    fm_buf_init(&body, FM_ENTRY_MAX);
    fm_wr_init(&w, &body);
    fm_wr_map(&w, 3);
    fm_wr_cstr(&w, "list");
    fm_wr_cstr(&w, bad[i][0]);
    fm_wr_cstr(&w, "op");
    fm_wr_cstr(&w, bad[i][1]);
    fm_wr_cstr(&w, "name");
    fm_wr_cstr(&w, bad[i][2]);
    entry_of(&e, FM_KIND_VOCAB, &body, &en);
    fm_vocab_apply(v, &en);
    fm_buf_free(&e);
    fm_buf_free(&body);
  }
  /* A body that reads, under another kind. */
  fm_buf_init(&body, FM_ENTRY_MAX);
  assert_int_equal(fm_vocab_body(&body, FM_VOCAB_VILLAGE, FM_VOCAB_ADD, "A", NULL), 0);
  entry_of(&e, "visit", &body, &en);
  fm_vocab_apply(v, &en);
  fm_buf_free(&e);
  fm_buf_free(&body);
  for (int l = 0; l < FM_VOCAB_LISTS; l++) assert_int_equal(v->list[l].n, 0);
  free(v);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(test_lists_match_without_case_or_marks, setup),
      cmocka_unit_test_setup(test_rename_keeps_history_and_retire_keeps_records, setup),
      cmocka_unit_test_setup(test_bodies_that_do_not_read_change_nothing, setup),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
