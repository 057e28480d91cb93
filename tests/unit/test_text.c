/* One form for every text (proto/text.c): NFC, trimmed, and a folded key
 * for matching names without case or marks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fieldmesh/error.h"
#include "fieldmesh/text.h"

/* "Nghĩa Tân": composed, and decomposed (i + U+0303, a + U+0302). */
#define NGHIA_NFC "Ngh\xc4\xa9" "a T\xc3\xa2n"
#define NGHIA_NFD "Nghi\xcc\x83" "a Ta\xcc\x82n"

static char *norm(const char *s) {
  fm_buf b;
  fm_buf_init(&b, 1 << 20);
  assert_int_equal(fm_text_norm(&b, s, strlen(s)), 0);
  fm_buf_put(&b, "", 1);
  return (char *)b.p;
}

static char *fold(const char *s) {
  fm_buf b;
  fm_buf_init(&b, 1 << 20);
  assert_int_equal(fm_text_fold(&b, s, strlen(s)), 0);
  fm_buf_put(&b, "", 1);
  return (char *)b.p;
}

static void check_norm(const char *in, const char *want) {
  char *got = norm(in);
  assert_string_equal(got, want);
  free(got);
}

static void check_fold(const char *in, const char *want) {
  char *got = fold(in);
  assert_string_equal(got, want);
  free(got);
}

static void test_text_norm_composes_and_trims(void **state) {
  (void)state;
  check_norm(NGHIA_NFD, NGHIA_NFC);
  check_norm(NGHIA_NFC, NGHIA_NFC);
  check_norm("  \t" NGHIA_NFD " \n", NGHIA_NFC);
  check_norm("\xe3\x80\x80" "M\xe1\xbb\xa5" "c L\xe1\xba\xa1n\xc2\xa0", "M\xe1\xbb\xa5" "c L\xe1\xba\xa1n");
  check_norm("   ", "");
  check_norm("", "");
  check_norm("a  b", "a  b");   /* inner space is kept as typed */
  assert_true(fm_text_is_norm(NGHIA_NFC, strlen(NGHIA_NFC)));
  assert_false(fm_text_is_norm(NGHIA_NFD, strlen(NGHIA_NFD)));
  assert_false(fm_text_is_norm(" x", 2));
  assert_false(fm_text_is_norm("\xff", 1));
}

static void test_text_fold_matches_without_case_marks_or_extra_space(void **state) {
  (void)state;
  check_fold(NGHIA_NFC, "nghia tan");
  check_fold(NGHIA_NFD, "nghia tan");
  check_fold("NGHIA  TAN ", "nghia tan");
  check_fold("\xc4\x90\xc3\xb4ng H\xc3\xa0", "dong ha");   /* "Đông Hà": đ reads as d */
  check_fold("\xc4\x91\xe1\xbb\x93i", "doi");              /* "đồi" */
}

static void test_text_refuses_what_is_not_utf8_and_survives_hostile_text(void **state) {
  fm_buf b;
  (void)state;
  fm_buf_init(&b, 1 << 20);
  assert_int_equal(fm_text_norm(&b, "a\xff", 2), FM_ERR_MALFORMED);
  assert_int_equal(fm_text_fold(&b, "\xc3", 1), FM_ERR_MALFORMED);
  assert_int_equal(b.len, 0);
  /* 10,000 combining marks on one letter. */
  size_t n = 1 + 2 * 10000;
  char *marks = malloc(n + 1);
  assert_non_null(marks);
  marks[0] = 'a';
  for (size_t i = 0; i < 10000; i++) memcpy(marks + 1 + 2 * i, "\xcc\x81", 2);
  marks[n] = 0;
  assert_int_equal(fm_text_norm(&b, marks, n), 0);
  assert_true(b.len > 0 && b.len <= n);
  fm_buf_reset(&b);
  assert_int_equal(fm_text_fold(&b, marks, n), 0);
  assert_int_equal(b.len, 1);   /* every mark stripped */
  free(marks);
  fm_buf_free(&b);
}

static void test_text_same_compares_one_form(void **state) {
  (void)state;
  assert_true(fm_text_same(NGHIA_NFC, strlen(NGHIA_NFC), NGHIA_NFD, strlen(NGHIA_NFD), 0));
  assert_true(fm_text_same(" " NGHIA_NFC, strlen(NGHIA_NFC) + 1, NGHIA_NFC, strlen(NGHIA_NFC), 0));
  assert_false(fm_text_same("nghia tan", 9, NGHIA_NFC, strlen(NGHIA_NFC), 0));
  assert_true(fm_text_same("nghia tan", 9, NGHIA_NFC, strlen(NGHIA_NFC), 1));
  assert_false(fm_text_same("a\xff", 2, "a\xff ", 3, 0));   /* not UTF-8: never the same */
  assert_true(fm_text_same("a\xff", 2, "a\xff", 2, 0));    /* but equal bytes are */
}

static void test_text_counts_characters(void **state) {
  (void)state;
  assert_int_equal(fm_text_chars(NGHIA_NFC, strlen(NGHIA_NFC)), 9);
  assert_int_equal(fm_text_chars(NGHIA_NFD, strlen(NGHIA_NFD)), 11);
  assert_int_equal(fm_text_chars("", 0), 0);
}

/* fm_text_clean: what a spreadsheet or a printed line can hold, whatever
 * bytes a received entry carried. */
static void test_text_clean_makes_hostile_text_fit(void **state) {
  fm_buf b;
  (void)state;
  fm_buf_init(&b, 1 << 20);
  assert_int_equal(fm_text_clean(&b, NGHIA_NFD, strlen(NGHIA_NFD), 100), 0);
  assert_int_equal(b.len, strlen(NGHIA_NFC));
  assert_memory_equal(b.p, NGHIA_NFC, b.len);
  fm_buf_reset(&b);
  /* A bad byte, a control character, DEL, a noncharacter, a surrogate. */
  const char hostile[] = "a\xff\x01\x7f\xef\xbf\xbe\xed\xa0\x80z";
  assert_int_equal(fm_text_clean(&b, hostile, sizeof hostile - 1, 100), 0);
  assert_int_equal(fm_text_chars((const char *)b.p, b.len), 2 + 4 + 3);
  assert_int_equal(b.p[0], 'a');
  assert_int_equal(b.p[b.len - 1], 'z');
  assert_memory_equal(b.p + 1, "\xef\xbf\xbd\xef\xbf\xbd", 6);
  fm_buf_reset(&b);
  /* 10,000 combining marks: cut to the limit, ending with an ellipsis. */
  size_t n = 1 + 2 * 10000;
  char *marks = malloc(n);
  assert_non_null(marks);
  marks[0] = 'a';
  for (size_t i = 0; i < 10000; i++) memcpy(marks + 1 + 2 * i, "\xcc\x81", 2);
  assert_int_equal(fm_text_clean(&b, marks, n, 50), 0);
  assert_int_equal(fm_text_chars((const char *)b.p, b.len), 50);
  assert_memory_equal(b.p + b.len - 3, "\xe2\x80\xa6", 3);
  free(marks);
  fm_buf_reset(&b);
  /* Exactly the limit: kept whole. */
  assert_int_equal(fm_text_clean(&b, "abc", 3, 3), 0);
  assert_int_equal(b.len, 3);
  fm_buf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_text_norm_composes_and_trims),
      cmocka_unit_test(test_text_fold_matches_without_case_marks_or_extra_space),
      cmocka_unit_test(test_text_refuses_what_is_not_utf8_and_survives_hostile_text),
      cmocka_unit_test(test_text_same_compares_one_form),
      cmocka_unit_test(test_text_counts_characters),
      cmocka_unit_test(test_text_clean_makes_hostile_text_fit),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
