/* MessagePack to JSON (one converter for every sink) and the HTTP
 * upstream's reply parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fieldmesh/error.h"
#include "fieldmesh/http_reply.h"
#include "fieldmesh/json.h"

static char *convert(const fm_buf *in, unsigned flags) {
  fm_buf out;
  fm_buf_init(&out, 1 << 16);
  assert_int_equal(fm_json_msgpack(&out, in->p, in->len, flags), 0);
  fm_buf_put(&out, "", 1);
  return (char *)out.p;
}

static void test_json_escapes_strings_and_writes_bins_as_hex(void **state) {
  fm_buf b;
  fm_wr w;
  const char s[] = "q\"b\\n\nt\tc\x01z\0end";
  const uint8_t bin[3] = {0x00, 0xab, 0xff};
  (void)state;
  fm_buf_init(&b, 4096);
  fm_wr_init(&w, &b);
  fm_wr_map(&w, 5);
  fm_wr_cstr(&w, "s");
  fm_wr_str(&w, s, sizeof s - 1);
  fm_wr_cstr(&w, "bin");
  fm_wr_bin(&w, bin, 3);
  fm_wr_cstr(&w, "n");
  fm_wr_array(&w, 3);
  fm_wr_int(&w, -5);
  fm_wr_uint(&w, UINT64_MAX);
  fm_wr_nil(&w);
  fm_wr_cstr(&w, "t");
  fm_wr_bool(&w, 1);
  fm_wr_cstr(&w, "vi");
  fm_wr_cstr(&w, "Nghĩa Tân");
  char *j = convert(&b, 0);
  assert_string_equal(j, "{\"s\":\"q\\\"b\\\\n\\nt\\tc\\u0001z\\u0000end\",\"bin\":\"00abff\","
                         "\"n\":[-5,18446744073709551615,null],\"t\":true,\"vi\":\"Nghĩa Tân\"}");
  free(j);
  j = convert(&b, FM_JSON_NO_NUL);
  assert_non_null(strstr(j, "z\xef\xbf\xbd" "end"));
  free(j);
  /* Bytes that are not UTF-8 (possible only unchecked) become U+FFFD;
   * an integer key is quoted. */
  const uint8_t raw[] = {0x81, 0x07, 0xa2, 0xc3, 0x28};
  fm_buf_reset(&b);
  fm_buf_put(&b, raw, sizeof raw);
  j = convert(&b, 0);
  assert_string_equal(j, "{\"7\":\"\xef\xbf\xbd(\"}");
  free(j);
  /* Truncated input and trailing bytes leave nothing behind. */
  fm_buf out;
  fm_buf_init(&out, 4096);
  assert_int_equal(fm_json_msgpack(&out, raw, sizeof raw - 1, 0), FM_ERR_MALFORMED);
  const uint8_t two[] = {0xc0, 0xc0};
  assert_int_equal(fm_json_msgpack(&out, two, 2, 0), FM_ERR_MALFORMED);
  assert_int_equal(out.len, 0);
  fm_buf_free(&out);
  fm_buf_free(&b);
}

static void test_json_time_formats_and_bounds(void **state) {
  fm_buf b;
  (void)state;
  fm_buf_init(&b, 256);
  fm_json_time(&b, 1700000000123LL);
  fm_json_time(&b, -1);
  fm_json_time(&b, 253402300800000LL);
  fm_buf_put(&b, "", 1);
  assert_string_equal((char *)b.p, "\"2023-11-14T22:13:20.123Z\"nullnull");
  fm_buf_free(&b);
}

/* A dossier's created_at is its own date when the stamp, made by a wrong
 * clock, falls on another day; the stamp when it agrees. */
static void test_json_dossier_created_is_its_own_date(void **state) {
  fm_dossier_view d;
  fm_buf b;
  static const fm_str none = {"", 0};
  (void)state;
  memset(&d, 0, sizeof d);
  d.procedure = d.applicant_name = d.applicant_id = d.phone = d.village = none;
  d.team = d.channel = d.note = d.portal_ref = d.status_note = none;
  d.created.set = 1;
  /* 2036-12-04 (10 years ahead) against its date 2026-12-05. */
  d.created.hlc = fm_hlc_make(2111961600000ULL, 0);
  d.date = (fm_str){"2026-12-05", 10};
  fm_buf_init(&b, 4096);
  assert_int_equal(fm_json_dossier(&b, "D-1", 3, &d, 0), 0);
  fm_buf_put(&b, "", 1);
  assert_non_null(strstr((char *)b.p, "\"created_at\":\"2026-12-04T17:00:00.000Z\""));
  fm_buf_reset(&b);
  d.created.hlc = fm_hlc_make(1764903600000ULL, 0); /* 2025-12-05 03:00 UTC */
  d.date = (fm_str){"2025-12-05", 10};
  assert_int_equal(fm_json_dossier(&b, "D-1", 3, &d, 0), 0);
  fm_buf_put(&b, "", 1);
  assert_non_null(strstr((char *)b.p, "\"created_at\":\"2025-12-05T03:00:00.000Z\""));
  fm_buf_reset(&b);
  d.date = none; /* an older dossier without a date: its stamp */
  d.created.hlc = fm_hlc_make(2111961600000ULL, 0);
  assert_int_equal(fm_json_dossier(&b, "D-1", 3, &d, 0), 0);
  fm_buf_put(&b, "", 1);
  assert_non_null(strstr((char *)b.p, "\"created_at\":\"2036-12-04T00:00:00.000Z\""));
  fm_buf_free(&b);
}

static const char ID1[] = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";

static void test_http_reply_reads_ids_and_refs(void **state) {
  fm_http_reply r;
  char text[512];
  (void)state;
  snprintf(text, sizeof text, " {\"note\": [1, {\"x\": null}], \"accepted\": [\"%s\", "
           "{\"ref\": \"HCC-\\u0110-1\", \"id\": \"%s\", \"more\": true}], \"ref\": \"b-1\"} ",
           ID1, ID1);
  assert_int_equal(fm_http_reply_parse(text, strlen(text), 4, &r), 0);
  assert_int_equal(r.n, 2);
  assert_int_equal(r.accepted[0].id[0], 0xa1);
  assert_string_equal(r.accepted[0].ref, "");
  assert_string_equal(r.accepted[1].ref, "HCC-\xc4\x90-1");
  assert_string_equal(r.ref, "b-1");
  fm_http_reply_free(&r);
  assert_int_equal(fm_http_reply_parse("{\"accepted\":[]}", 15, 4, &r), 0);
  assert_int_equal(r.n, 0);
  fm_http_reply_free(&r);
}

static void test_http_reply_refuses_what_is_not_the_format(void **state) {
  fm_http_reply r;
  char text[512];
  (void)state;
  const char *bad[] = {"", "[]", "{}", "{\"accepted\": \"x\"}", "{\"accepted\": [\"abc\"]}",
                       "{\"accepted\": []} x", "{\"accepted\": [], \"ref\": 5}",
                       "{\"accepted\": [], \"ref\": \"\\ud800\"}", "{\"accepted\": [],}",
                       "{\"accepted\": [], \"x\": [[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]}",
                       ("{\"accepted\": [], \"ref\": \"0123456789012345678901234567890123456789"
                        "01234567890123456789012345\"}")};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_true(fm_http_reply_parse(bad[i], strlen(bad[i]), 4, &r) < 0);
  snprintf(text, sizeof text, "{\"accepted\": [\"%s\", \"%s\"]}", ID1, ID1);
  assert_int_equal(fm_http_reply_parse(text, strlen(text), 1, &r), FM_ERR_TOOBIG);
}

/* The upstream (PostgreSQL's GROUP BY village) sees one form of a
 * village, whatever form an older laptop wrote it in. */
static void test_json_visit_view_text_is_in_one_form(void **state) {
  fm_visit_view v;
  fm_buf out;
  (void)state;
  memset(&v, 0, sizeof v);
  v.village = (fm_str){"Nghi\xcc\x83" "a Ta\xcc\x82n ", 14};
  v.team = (fm_str){"Team 1", 6};
  fm_buf_init(&out, 1 << 16);
  assert_int_equal(fm_json_visit(&out, "V-1", 3, &v, 0), 0);
  fm_buf_put(&out, "", 1);
  assert_non_null(strstr((char *)out.p, "\"village\":\"Ngh\xc4\xa9" "a T\xc3\xa2n\""));
  fm_buf_free(&out);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_json_escapes_strings_and_writes_bins_as_hex),
      cmocka_unit_test(test_json_time_formats_and_bounds),
      cmocka_unit_test(test_json_dossier_created_is_its_own_date),
      cmocka_unit_test(test_http_reply_reads_ids_and_refs),
      cmocka_unit_test(test_http_reply_refuses_what_is_not_the_format),
      cmocka_unit_test(test_json_visit_view_text_is_in_one_form),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
