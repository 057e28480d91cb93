/* The dashboard's password (daemon/web_auth.c): the Basic header, the
 * hash file, the verdicts on a real libuv loop (a right password, a
 * wrong one only after the delay, none), and the rate limit on wrong
 * passwords -- loopback included, forgiven by a right password. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <netinet/in.h>

#include "web_auth.h"

static char dir[] = "/tmp/fm-web-auth-XXXXXX";
static char hashfile[64];

static struct sockaddr_in v4(const char *ip) {
  struct sockaddr_in in;
  memset(&in, 0, sizeof in);
  in.sin_family = AF_INET;
  assert_int_equal(inet_pton(AF_INET, ip, &in.sin_addr), 1);
  return in;
}

static void write_file(const char *path, const char *text, mode_t mode) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
  chmod(path, mode);
}

static int setup(void **state) {
  char hash[crypto_pwhash_STRBYTES], line[crypto_pwhash_STRBYTES + 2];
  (void)state;
  if (sodium_init() < 0 || !mkdtemp(dir)) return -1;
  snprintf(hashfile, sizeof hashfile, "%s/web.pass", dir);
  if (crypto_pwhash_str(hash, "mật khẩu", strlen("mật khẩu"), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
    return -1;
  snprintf(line, sizeof line, "%s\n", hash);
  write_file(hashfile, line, 0600);
  return 0;
}

static int teardown(void **state) {
  char cmd[128];
  (void)state;
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  return system(cmd);
}

static void test_basic_header(void **state) {
  char pw[64];
  (void)state;
  const char *h = "Basic YWRtaW46beG6rXQga2jhuql1"; /* admin:mật khẩu */
  assert_int_equal(fmd_web_basic_password(h, strlen(h), pw, sizeof pw), 0);
  assert_string_equal(pw, "mật khẩu");
  assert_int_equal(fmd_web_basic_password("Bearer abc", 10, pw, sizeof pw), -1);
  assert_int_equal(fmd_web_basic_password("Basic !!!!", 10, pw, sizeof pw), -1);
  assert_int_equal(fmd_web_basic_password("Basic bm9jb2xvbg==", 18, pw, sizeof pw), -1);
  assert_int_equal(fmd_web_basic_password(NULL, 0, pw, sizeof pw), -1);
}

static void test_hash_file(void **state) {
  fmd_web_auth a;
  char err[512], bad[96];
  uv_loop_t *loop = uv_default_loop();
  (void)state;
  assert_int_equal(fmd_web_auth_init(&a, loop, "", err, sizeof err), 0);
  assert_false(a.required);
  assert_int_equal(fmd_web_auth_init(&a, loop, hashfile, err, sizeof err), 0);
  assert_true(a.required);
  snprintf(bad, sizeof bad, "%s/missing", dir);
  assert_int_equal(fmd_web_auth_init(&a, loop, bad, err, sizeof err), -1);
  assert_non_null(strstr(err, "web-password"));
  snprintf(bad, sizeof bad, "%s/plain", dir);
  write_file(bad, "hunter2\n", 0600);
  assert_int_equal(fmd_web_auth_init(&a, loop, bad, err, sizeof err), -1);
  assert_non_null(strstr(err, "does not hold a password hash"));
  chmod(hashfile, 0644);
  assert_int_equal(fmd_web_auth_init(&a, loop, hashfile, err, sizeof err), -1);
  assert_non_null(strstr(err, "chmod 600"));
  chmod(hashfile, 0600);
}

static void test_limit_counts_loopback(void **state) {
  fmd_web_auth a;
  char err[256];
  unsigned retry;
  struct sockaddr_in lo = v4("127.0.0.1"), other = v4("10.0.0.7");
  (void)state;
  assert_int_equal(fmd_web_auth_init(&a, uv_default_loop(), hashfile, err, sizeof err), 0);
  uint64_t t = 1000000;
  for (int i = 0; i < FMD_SHUN_FREE; i++) {
    fmd_web_auth_wrong(&a, (struct sockaddr *)&lo, t + (uint64_t)i);
    assert_false(fmd_web_auth_limited(&a, (struct sockaddr *)&lo, t + (uint64_t)i, &retry));
  }
  fmd_web_auth_wrong(&a, (struct sockaddr *)&lo, t + 10);
  assert_true(fmd_web_auth_limited(&a, (struct sockaddr *)&lo, t + 10, &retry));
  assert_int_equal(retry, FMD_SHUN_FIRST_MS / 1000);
  /* Another address is not held back by this one. */
  assert_false(fmd_web_auth_limited(&a, (struct sockaddr *)&other, t + 10, &retry));
  /* The period ends; the next wrong password doubles it. */
  assert_false(fmd_web_auth_limited(&a, (struct sockaddr *)&lo, t + 10 + FMD_SHUN_FIRST_MS, &retry));
  fmd_web_auth_wrong(&a, (struct sockaddr *)&lo, t + 20 + FMD_SHUN_FIRST_MS);
  assert_true(fmd_web_auth_limited(&a, (struct sockaddr *)&lo, t + 20 + FMD_SHUN_FIRST_MS, &retry));
  assert_int_equal(retry, 2 * FMD_SHUN_FIRST_MS / 1000);
}

typedef struct got {
  int called;
  fmd_web_verdict v;
  uint64_t at;
} got;

static void on_verdict(void *arg, fmd_web_verdict v, unsigned retry_s) {
  got *g = arg;
  (void)retry_s;
  g->called++;
  g->v = v;
  g->at = uv_now(uv_default_loop());
}

static void check(fmd_web_auth *a, const char *header, got *g) {
  struct sockaddr_in lo = v4("127.0.0.1");
  memset(g, 0, sizeof *g);
  fmd_web_auth_check(a, (struct sockaddr *)&lo, header, header ? strlen(header) : 0,
                     on_verdict, g);
  uv_run(uv_default_loop(), UV_RUN_DEFAULT);
  assert_int_equal(g->called, 1);
}

static void test_verdicts_on_a_loop(void **state) {
  fmd_web_auth a;
  char err[256];
  got g;
  uv_loop_t *loop = uv_default_loop();
  (void)state;
  assert_int_equal(fmd_web_auth_init(&a, loop, hashfile, err, sizeof err), 0);
  check(&a, NULL, &g);
  assert_int_equal(g.v, FMD_AUTH_MISSING);
  uv_update_time(loop);
  uint64_t t0 = uv_now(loop);
  check(&a, "Basic YWRtaW46d3Jvbmc=", &g); /* admin:wrong */
  assert_int_equal(g.v, FMD_AUTH_WRONG);
  assert_true(g.at - t0 >= FMD_WEB_AUTH_DELAY_MS);
  check(&a, "Basic YWRtaW46beG6rXQga2jhuql1", &g);
  assert_int_equal(g.v, FMD_AUTH_OK);
  /* Remembered: the second time answers at once, without the worker. */
  struct sockaddr_in lo = v4("127.0.0.1");
  memset(&g, 0, sizeof g);
  fmd_web_auth_check(&a, (struct sockaddr *)&lo, "Basic YWRtaW46beG6rXQga2jhuql1", 30,
                     on_verdict, &g);
  assert_int_equal(g.called, 1);
  assert_int_equal(g.v, FMD_AUTH_OK);
  assert_int_equal(a.pending, 0);
  /* Guesses in parallel beyond the limit wait for nothing: 429 at once. */
  a.pending = FMD_WEB_AUTH_PENDING_MAX;
  memset(&g, 0, sizeof g);
  fmd_web_auth_check(&a, (struct sockaddr *)&lo, "Basic YWRtaW46Z3Vlc3M=", 22, on_verdict, &g);
  assert_int_equal(g.called, 1);
  assert_int_equal(g.v, FMD_AUTH_LIMITED);
  a.pending = 0;
  assert_int_equal(uv_loop_close(loop), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_basic_header),
      cmocka_unit_test(test_hash_file),
      cmocka_unit_test(test_limit_counts_loopback),
      cmocka_unit_test(test_verdicts_on_a_loop),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
