/* The "did you mean" of settings: edit distances and the closest word. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fieldmesh/closest.h"

static void test_edit_distance_counts_typos(void **state) {
  (void)state;
  assert_int_equal(fm_edit_distance("listen", "listen"), 0);
  assert_int_equal(fm_edit_distance("listn", "listen"), 1);        /* a letter left out */
  assert_int_equal(fm_edit_distance("upsteram", "upstream"), 1);   /* two swapped */
  assert_int_equal(fm_edit_distance("upsteam", "upstream"), 1);
  assert_int_equal(fm_edit_distance("", "node"), 4);
  assert_int_equal(fm_edit_distance("kitten", "sitting"), 3);
  char big[100];
  for (size_t i = 0; i < sizeof big - 1; i++) big[i] = 'a';
  big[sizeof big - 1] = 0;
  assert_int_equal(fm_edit_distance(big, "a"), 255);
}

static void test_closest_picks_only_what_a_typo_explains(void **state) {
  static const char *const keys[] = {"state", "listen", "log_level", "safe_copies"};
  (void)state;
  assert_string_equal(fm_closest("listn", keys, 4), "listen");
  assert_string_equal(fm_closest("log-level", keys, 4), "log_level");
  assert_string_equal(fm_closest("safecopies", keys, 4), "safe_copies");
  assert_string_equal(fm_closest("stat", keys, 4), "state");
  assert_null(fm_closest("port", keys, 4));        /* nothing like it */
  assert_null(fm_closest("xy", keys, 4));
  assert_null(fm_closest("listen_address_v6", keys, 4));
  assert_null(fm_closest("listn", keys, 0));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_edit_distance_counts_typos),
      cmocka_unit_test(test_closest_picks_only_what_a_typo_explains),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
