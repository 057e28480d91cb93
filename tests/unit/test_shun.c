/* The daemon's table of callers to ignore (daemon/shun.c): when an
 * address starts being ignored and for how long, what forgives it, that
 * loopback is never ignored, that IPv4 over a dual-stack socket is the
 * same caller, which failures count, and that a flood of addresses
 * cannot push out one being ignored. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <netinet/in.h>

#include "fieldmesh/error.h"
#include "shun.h"

#define T0 ((fm_time)1700000000000LL)

static struct sockaddr_storage v4(const char *ip, uint16_t port) {
  struct sockaddr_storage ss;
  struct sockaddr_in *in = (struct sockaddr_in *)&ss;
  memset(&ss, 0, sizeof ss);
  in->sin_family = AF_INET;
  in->sin_port = htons(port);
  assert_int_equal(inet_pton(AF_INET, ip, &in->sin_addr), 1);
  return ss;
}

static struct sockaddr_storage v6(const char *ip, uint16_t port) {
  struct sockaddr_storage ss;
  struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
  memset(&ss, 0, sizeof ss);
  in6->sin6_family = AF_INET6;
  in6->sin6_port = htons(port);
  assert_int_equal(inet_pton(AF_INET6, ip, &in6->sin6_addr), 1);
  return ss;
}

#define SA(ss) ((const struct sockaddr *)&(ss))

static fmd_shun *fresh(void) {
  static fmd_shun t;
  memset(&t, 0, sizeof t);
  return &t;
}

/* Fails |sa| |n| times at |now|; returns the last span. */
static fm_time fail_n(fmd_shun *t, struct sockaddr_storage sa, int n, fm_time now) {
  fm_time span = 0;
  for (int i = 0; i < n; i++) span = fmd_shun_failed(t, SA(sa), "handshake failed", now, NULL);
  return span;
}

static void test_free_failures_then_doubling(void **state) {
  (void)state;
  fmd_shun *t = fresh();
  struct sockaddr_storage a = v4("10.77.9.5", 40001);
  uint32_t failures = 0;
  assert_int_equal(fail_n(t, a, FMD_SHUN_FREE, T0), 0);
  assert_false(fmd_shun_refuses(t, SA(a), T0));
  assert_int_equal(fmd_shun_failed(t, SA(a), "garbage", T0, &failures), FMD_SHUN_FIRST_MS);
  assert_int_equal(failures, FMD_SHUN_FREE + 1);
  /* Another port, same address: still the same caller. */
  struct sockaddr_storage a2 = v4("10.77.9.5", 40999);
  assert_true(fmd_shun_refuses(t, SA(a2), T0 + 1));
  assert_true(fmd_shun_refuses(t, SA(a2), T0 + FMD_SHUN_FIRST_MS - 1));
  assert_false(fmd_shun_refuses(t, SA(a2), T0 + FMD_SHUN_FIRST_MS));
  assert_int_equal(t->refused, 2);
  /* Each further failure doubles the period, up to the cap. */
  fm_time now = T0 + FMD_SHUN_FIRST_MS;
  assert_int_equal(fmd_shun_failed(t, SA(a), "garbage", now, NULL), 2 * FMD_SHUN_FIRST_MS);
  fm_time last = 0;
  for (int i = 0; i < 40; i++) last = fmd_shun_failed(t, SA(a), "garbage", now + i, NULL);
  assert_int_equal(last, FMD_SHUN_MAX_MS);
}

static void test_admission_forgives(void **state) {
  (void)state;
  fmd_shun *t = fresh();
  struct sockaddr_storage a = v4("192.168.1.20", 5000);
  fail_n(t, a, FMD_SHUN_FREE, T0);
  fmd_shun_admitted(t, SA(a));
  /* Forgiven: as many free failures again. */
  assert_int_equal(fail_n(t, a, FMD_SHUN_FREE, T0 + 1), 0);
  assert_false(fmd_shun_refuses(t, SA(a), T0 + 2));
}

static void test_window_forgets(void **state) {
  (void)state;
  fmd_shun *t = fresh();
  struct sockaddr_storage a = v4("192.168.1.21", 5000);
  fail_n(t, a, FMD_SHUN_FREE, T0);
  /* A failure long after the others starts counting again. */
  assert_int_equal(fail_n(t, a, 1, T0 + FMD_SHUN_WINDOW_MS + 1), 0);
  assert_int_equal(fail_n(t, a, FMD_SHUN_FREE - 1, T0 + FMD_SHUN_WINDOW_MS + 2), 0);
  assert_int_not_equal(fail_n(t, a, 1, T0 + FMD_SHUN_WINDOW_MS + 3), 0);
}

static void test_loopback_never(void **state) {
  (void)state;
  fmd_shun *t = fresh();
  struct sockaddr_storage lo4 = v4("127.0.0.1", 1), lo4b = v4("127.3.2.1", 1);
  struct sockaddr_storage lo6 = v6("::1", 1), mapped = v6("::ffff:127.0.0.1", 1);
  struct sockaddr_storage *all[] = {&lo4, &lo4b, &lo6, &mapped};
  for (size_t i = 0; i < 4; i++) {
    assert_int_equal(fail_n(t, *all[i], 50, T0), 0);
    assert_false(fmd_shun_refuses(t, SA(*all[i]), T0 + 1));
  }
  fm_control_peer out[4];
  assert_int_equal(fmd_shun_report(t, T0 + 1, T0 + 1, out, 4), 0);
}

static void test_dual_stack_is_one_caller(void **state) {
  (void)state;
  fmd_shun *t = fresh();
  struct sockaddr_storage plain = v4("10.0.0.7", 1), mapped = v6("::ffff:10.0.0.7", 2);
  fail_n(t, plain, FMD_SHUN_FREE, T0);
  assert_int_not_equal(fail_n(t, mapped, 1, T0), 0);
  assert_true(fmd_shun_refuses(t, SA(plain), T0 + 1));
  char ip[64];
  assert_string_equal(fmd_shun_ip(SA(mapped), ip, sizeof ip), "10.0.0.7");
  struct sockaddr_storage ll = v6("fe80::1:2", 3);
  assert_string_equal(fmd_shun_ip(SA(ll), ip, sizeof ip), "fe80::1:2");
}

static void test_report(void **state) {
  (void)state;
  fmd_shun *t = fresh();
  struct sockaddr_storage a = v4("10.1.1.1", 9), b = v6("fe80::9", 9), c = v4("10.1.1.3", 9);
  fail_n(t, a, FMD_SHUN_FREE + 1, T0);
  fail_n(t, b, FMD_SHUN_FREE + 1, T0);
  fail_n(t, c, FMD_SHUN_FREE, T0); /* not ignored: not listed */
  fm_control_peer out[2];
  assert_int_equal(fmd_shun_report(t, T0 + 1, T0 + 1, out, 1), 2); /* counts past |cap| */
  assert_int_equal(fmd_shun_report(t, T0 + 1, 5000, out, 2), 2);
  assert_string_equal(out[0].addr, "10.1.1.1");
  assert_string_equal(out[0].origin, "incoming");
  assert_string_equal(out[0].state, "ignored");
  assert_string_equal(out[0].last_error, "handshake failed");
  assert_int_equal(out[0].failures, FMD_SHUN_FREE + 1);
  /* The end of the period on the wall clock given for now. */
  assert_int_equal(out[0].next_attempt, 5000 + FMD_SHUN_FIRST_MS - 1);
  assert_string_equal(out[1].addr, "fe80::9");
  assert_int_equal(fmd_shun_report(t, T0 + FMD_SHUN_FIRST_MS, 0, out, 2), 0);
}

static void test_counts(void **state) {
  (void)state;
  int yes[] = {FM_ERR_HANDSHAKE, FM_ERR_DECRYPT, FM_ERR_FRAME, FM_ERR_PROTO, FM_ERR_MALFORMED,
               FM_ERR_BADSIG, FM_ERR_TOOBIG};
  /* Refusals of honest devices, the network, our own trouble. */
  int no[] = {0, FM_ERR_AUTH, FM_ERR_REVOKED, FM_ERR_EXPIRED, FM_ERR_MESH, FM_ERR_VERSION,
              FM_ERR_ROLE, -110 /* -ETIMEDOUT */, FM_ERR_NOSPACE, FM_ERR_IO, FM_ERR_CORRUPT,
              FM_ERR_BEHIND, -12 /* -ENOMEM */};
  for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) assert_true(fmd_shun_counts(yes[i]));
  for (size_t i = 0; i < sizeof no / sizeof *no; i++) assert_false(fmd_shun_counts(no[i]));
}

/* A caller with many addresses fills the table: an address being ignored
 * keeps its place while others make room. */
static void test_flood_keeps_the_ignored(void **state) {
  (void)state;
  fmd_shun *t = fresh();
  struct sockaddr_storage bad = v4("10.9.9.9", 1);
  fail_n(t, bad, FMD_SHUN_FREE + 1, T0);
  char ip[32];
  for (int i = 0; i < 10 * FMD_SHUN_SOURCES; i++) {
    snprintf(ip, sizeof ip, "10.8.%d.%d", i / 250, i % 250 + 1);
    fail_n(t, v4(ip, 1), 1, T0 + 1 + i);
  }
  assert_true(fmd_shun_refuses(t, SA(bad), T0 + 5000));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_free_failures_then_doubling),
      cmocka_unit_test(test_admission_forgives),
      cmocka_unit_test(test_window_forgets),
      cmocka_unit_test(test_loopback_never),
      cmocka_unit_test(test_dual_stack_is_one_caller),
      cmocka_unit_test(test_report),
      cmocka_unit_test(test_counts),
      cmocka_unit_test(test_flood_keeps_the_ignored),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
