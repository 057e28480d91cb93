/* The dashboard's HTML escaping (daemon/html.c): every value from a
 * record is hostile -- markup, both quotes, ampersands, control
 * characters and bytes that are not UTF-8 come out inert, and
 * Vietnamese text comes out as it went in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "html.h"

static void expect_text(const char *in, size_t n, const char *want) {
  fmd_html h = {0};
  fmd_html_textn(&h, in, n);
  assert_false(h.oom);
  assert_string_equal(h.len ? h.p : "", want);
  fmd_html_free(&h);
}

static void test_markup(void **state) {
  (void)state;
  const char *s = "<script>alert('x')</script> & \"q\"";
  expect_text(s, strlen(s),
              "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;");
}

static void test_attribute_breakout(void **state) {
  (void)state;
  const char *s = "\" onmouseover=\"alert(1)";
  expect_text(s, strlen(s), "&quot; onmouseover=&quot;alert(1)");
}

static void test_vietnamese_kept(void **state) {
  (void)state;
  const char *s = "Lò Thị Lan, Bản Đồng Tâm — Lạc Sơn";
  expect_text(s, strlen(s), s);
}

static void test_invalid_utf8(void **state) {
  (void)state;
  /* A lone continuation byte, a cut sequence, an overlong '<', a
   * surrogate, and a byte past U+10FFFF. */
  expect_text("a\x80" "b", 3, "a\xef\xbf\xbd" "b");
  expect_text("x\xe1\xba", 3, "x\xef\xbf\xbd\xef\xbf\xbd");
  expect_text("\xc0\xbc", 2, "\xef\xbf\xbd\xef\xbf\xbd");
  expect_text("\xed\xa0\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
  expect_text("\xf4\x90\x80\x80", 4,
              "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
}

static void test_controls_and_nul(void **state) {
  (void)state;
  expect_text("a\0b\x1b[31m", 8, "a\xef\xbf\xbd" "b\xef\xbf\xbd[31m");
  expect_text("tab\there\nline", 13, "tab\there\nline");
}

static void test_url(void **state) {
  (void)state;
  fmd_html h = {0};
  fmd_html_url(&h, "D-1 \"<x>&y=Đ");
  assert_string_equal(h.p, "D-1%20%22%3Cx%3E%26y%3D%C4%90");
  fmd_html_free(&h);
}

static void test_raw_and_growth(void **state) {
  (void)state;
  fmd_html h = {0};
  for (int i = 0; i < 5000; i++) fmd_html_rawf(&h, "<td>%d</td>", i);
  assert_false(h.oom);
  assert_non_null(strstr(h.p, "<td>4999</td>"));
  assert_int_equal(h.len, strlen(h.p));
  fmd_html_free(&h);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_markup),           cmocka_unit_test(test_attribute_breakout),
      cmocka_unit_test(test_vietnamese_kept),  cmocka_unit_test(test_invalid_utf8),
      cmocka_unit_test(test_controls_and_nul), cmocka_unit_test(test_url),
      cmocka_unit_test(test_raw_and_growth),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
