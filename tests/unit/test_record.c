/* Record ids and the enumerations of proto/record.c: ids sort by time
 * (the view tables rely on it), lists of services parse strictly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fieldmesh/error.h"
#include "fieldmesh/record.h"

static void test_record_ids_sort_by_time_whatever_the_author(void **state) {
  static const uint64_t ms[] = {0, 1, 255, 256, 65535, 1700000000000ull, 1700000000001ull,
                                1800000000000ull, (1ull << 48) - 1};
  const uint8_t hi[2] = {0xff, 0xff}, lo[2] = {0, 0};
  char prev[FM_RECORD_ID_MAX], id[FM_RECORD_ID_MAX];
  (void)state;
  fm_record_id('V', ms[0], hi, hi, prev);
  for (size_t i = 1; i < sizeof ms / sizeof *ms; i++) {
    /* The earlier id has the largest author and random bytes, the later
     * one the smallest: time still decides. */
    fm_record_id('V', ms[i], lo, lo, id);
    assert_int_equal(strlen(id), 18);
    assert_true(strcmp(prev, id) < 0);
    fm_record_id('V', ms[i], hi, hi, prev);
  }
}

static void test_record_id_spells_its_bits_in_crockford_base32(void **state) {
  const uint8_t author[2] = {0x12, 0x34}, rnd[2] = {0xab, 0xcd};
  char id[FM_RECORD_ID_MAX];
  (void)state;
  fm_record_id('D', 0, (const uint8_t[2]){0, 0}, (const uint8_t[2]){0, 0}, id);
  assert_string_equal(id, "D-0000000000000000");
  /* 80 bits: 48 of time (1), 0x1234, 0xabcd. */
  fm_record_id('V', 1, author, rnd, id);
  assert_string_equal(id, "V-0000000004939AYD");
  for (const char *p = id + 2; *p; p++) assert_null(strchr("ILOU", *p));
}

static void test_services_list_trims_and_refuses_unknown_and_twice(void **state) {
  uint32_t mask = 0;
  const char *item;
  size_t len;
  (void)state;
  const char *first = fm_service_name(0), *second = fm_service_name(1);
  char list[128];
  snprintf(list, sizeof list, "  %s ,%s", first, second);
  assert_int_equal(fm_services_parse_list(list, &mask, &item, &len), 0);
  assert_int_equal(mask, 3u);
  snprintf(list, sizeof list, "%s, nonsense", first);
  assert_int_equal(fm_services_parse_list(list, &mask, &item, &len), FM_ERR_INVAL);
  assert_int_equal(len, strlen("nonsense"));
  assert_memory_equal(item, "nonsense", len);
  snprintf(list, sizeof list, "%s,%s", second, second);
  assert_int_equal(fm_services_parse_list(list, &mask, &item, &len), FM_ERR_EXISTS);
  assert_memory_equal(item, second, len);
  assert_int_equal(fm_services_parse_list("", &mask, NULL, NULL), FM_ERR_INVAL);
  snprintf(list, sizeof list, "%s,,%s", first, second);
  assert_int_equal(fm_services_parse_list(list, &mask, NULL, NULL), FM_ERR_INVAL);
}

static void test_status_ladder_ranks_final_states_alike(void **state) {
  (void)state;
  assert_true(fm_status_rank(FM_ST_DRAFT) < fm_status_rank(FM_ST_SUBMITTED));
  assert_true(fm_status_rank(FM_ST_RESULT_READY) < fm_status_rank(FM_ST_DELIVERED));
  assert_true(fm_status_rank(FM_ST_DELIVERED) < fm_status_rank(FM_ST_REJECTED));
  assert_int_equal(fm_status_rank(FM_ST_REJECTED), fm_status_rank(FM_ST_WITHDRAWN));
  assert_int_equal(fm_status_parse("processing", 10), FM_ST_PROCESSING);
  assert_int_equal(fm_status_parse("processin", 9), -1);
  assert_string_equal(fm_status_name(99), "unknown");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_record_ids_sort_by_time_whatever_the_author),
      cmocka_unit_test(test_record_id_spells_its_bits_in_crockford_base32),
      cmocka_unit_test(test_services_list_trims_and_refuses_unknown_and_twice),
      cmocka_unit_test(test_status_ladder_ranks_final_states_alike),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
