/* fieldmeshd's parsers: "host:port" addresses, the config file and the
 * flags over it (daemon/config.c, hostport.c, discovery_config.c,
 * upstream_config.c).  Every refusal is one line naming what to fix. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "discovery_config.h"
#include "hostport.h"
#include "upstream_config.h"

static void test_hostport_takes_names_v4_and_bracketed_v6(void **state) {
  fmd_hostport hp;
  char why[128];
  (void)state;
  assert_int_equal(fmd_hostport_parse("gateway.local:7411", &hp, why, sizeof why), 0);
  assert_string_equal(hp.host, "gateway.local");
  assert_int_equal(hp.port, 7411);
  assert_int_equal(fmd_hostport_parse("10.0.0.2:1", &hp, why, sizeof why), 0);
  assert_int_equal(hp.port, 1);
  assert_int_equal(fmd_hostport_parse("[fe80::1]:65535", &hp, why, sizeof why), 0);
  assert_string_equal(hp.host, "fe80::1");
  assert_int_equal(hp.port, 65535);
}

static void test_hostport_refuses_what_is_not_an_address(void **state) {
  static const char *const bad[] = {"", "gateway", "gateway:", ":7411", "gateway:0",
                                    "gateway:65536", "gateway:74x1", "[::1", "[::1]7411",
                                    "::1:7411", "gateway:-1", "gate way:7411"};
  fmd_hostport hp;
  char why[128];
  (void)state;
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    why[0] = 0;
    assert_int_equal(fmd_hostport_parse(bad[i], &hp, why, sizeof why), -1);
    assert_true(why[0] != 0);
    assert_null(strchr(why, '\n'));
  }
}

static void test_hostport_numeric_only_for_ip_addresses(void **state) {
  fmd_hostport hp;
  struct sockaddr_storage ss;
  char why[128], text[64];
  (void)state;
  assert_int_equal(fmd_hostport_parse("127.0.0.1:7411", &hp, why, sizeof why), 0);
  assert_int_equal(fmd_hostport_numeric(&hp, &ss), 0);
  fmd_hostport_format((struct sockaddr *)&ss, text, sizeof text);
  assert_string_equal(text, "127.0.0.1:7411");
  assert_int_equal(fmd_hostport_parse("[::1]:9", &hp, why, sizeof why), 0);
  assert_int_equal(fmd_hostport_numeric(&hp, &ss), 0);
  fmd_hostport_format((struct sockaddr *)&ss, text, sizeof text);
  assert_string_equal(text, "[::1]:9");
  assert_int_equal(fmd_hostport_parse("gateway:9", &hp, why, sizeof why), 0);
  assert_int_equal(fmd_hostport_numeric(&hp, &ss), -1);
}

/* ---- the config file and the flags ------------------------------------------ */

typedef struct run {
  char dir[64];
  fmd_config c;
  char *err;      /* what fieldmeshd would print on stderr */
  size_t errlen;
  int rv;
} run;

/* Writes |text| as DIR/fieldmeshd.conf and parses "--state DIR" plus
 * |extra| flags (NULL-terminated). */
static void parse(run *r, const char *text, const char *const *extra) {
  char path[128];
  char *argv[16] = {"fieldmeshd", "--state", r->dir};
  int argc = 3;
  snprintf(r->dir, sizeof r->dir, "/tmp/fm-test-config-XXXXXX");
  assert_non_null(mkdtemp(r->dir));
  snprintf(path, sizeof path, "%s/fieldmeshd.conf", r->dir);
  if (text) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
  }
  for (; extra && *extra && argc < 15; extra++) argv[argc++] = (char *)*extra;
  FILE *err = open_memstream(&r->err, &r->errlen);
  assert_non_null(err);
  unsetenv("FIELDMESH_STATE");
  r->rv = fmd_config_from_args(&r->c, argc, argv, err);
  fclose(err);
  unlink(path);
  rmdir(r->dir);
}

static void done(run *r) { free(r->err); }

static void test_config_defaults_without_a_file(void **state) {
  run r;
  (void)state;
  parse(&r, NULL, NULL);
  assert_int_equal(r.rv, 0);
  assert_string_equal(r.c.listen, FMD_DEFAULT_LISTEN);
  assert_int_equal(r.c.window_kib, 4096);
  assert_int_equal(r.c.idle_timeout_seconds, 60);
  assert_int_equal(r.c.verify_threads, 0);   /* the cores */
  assert_int_equal(r.c.compress, 1);
  assert_int_equal(r.c.disc.enabled, 1);
  assert_int_equal(r.c.disc.port, FMD_DISC_DEFAULT_PORT);
  assert_int_equal(r.c.keep_months, 0);                 /* never forgets */
  assert_int_equal(fmd_upstream_enabled(&r.c.upstream), 0);
  assert_int_equal(r.errlen, 0);
  done(&r);
}

static void test_config_file_values_and_flags_over_them(void **state) {
  static const char *const flags[] = {"--listen", "127.0.0.1:9000", "--peer", "10.0.0.9:7411",
                                      NULL};
  run r;
  (void)state;
  parse(&r,
        "[node]\nlisten = 0.0.0.0:7500\nlog_level = debug\nsafe_copies = 2\n"
        "verify_threads = 3\n"
        "[peers]\npeer = 10.0.0.2:7411\npeer = 10.0.0.3:7411\n"
        "[sync]\nwindow_kib = 512\nping_seconds = 5\ncompress = no\n"
        "[discovery]\nenabled = no\n"
        "[upstream]\nspool = /srv/fieldmesh/spool\n"
        "[privacy]\nseal = yes\nkeep_months = 6\n",
        flags);
  assert_int_equal(r.rv, 0);
  assert_string_equal(r.c.listen, "127.0.0.1:9000");   /* the flag wins */
  assert_int_equal(r.c.log_level, FMD_DEBUG);
  assert_int_equal(r.c.safe_copies, 2);
  assert_int_equal(r.c.verify_threads, 3);
  assert_int_equal(r.c.compress, 0);
  assert_int_equal(r.c.npeers, 1);                      /* --peer replaces [peers] */
  assert_string_equal(r.c.peers[0], "10.0.0.9:7411");
  assert_int_equal(r.c.window_kib, 512);
  assert_int_equal(r.c.ping_seconds, 5);
  assert_int_equal(r.c.disc.enabled, 0);
  assert_string_equal(r.c.upstream.spool, "/srv/fieldmesh/spool");
  assert_int_equal(fmd_upstream_enabled(&r.c.upstream), 1);
  assert_int_equal(r.c.seal, 1);
  assert_int_equal(r.c.keep_months, 6);
  done(&r);
}

/* One refusal: exit 2 and exactly one line on stderr holding |want|. */
static void refused(const char *text, const char *const *flags, const char *want) {
  run r;
  parse(&r, text, flags);
  assert_int_equal(r.rv, FMD_EXIT_USAGE);
  assert_non_null(r.err);
  if (!strstr(r.err, want)) fail_msg("\"%s\" not in: %s", want, r.err);
  assert_non_null(strchr(r.err, '\n'));
  assert_int_equal(strchr(r.err, '\n') - r.err + 1, (long)r.errlen);
  done(&r);
}

static void test_config_refusals_name_the_fix(void **state) {
  static const char *const twice[] = {"--listen", "127.0.0.1:1", "--listen", "127.0.0.1:2",
                                      NULL};
  static const char *const nonsense[] = {"--frobnicate", NULL};
  static const char *const name_listen[] = {"--listen", "gateway:7411", NULL};
  (void)state;
  refused("[node]\nlistn = 0.0.0.0:7411\n", NULL, "did you mean \"listen\"");
  refused("[upsteam]\nspool = /tmp/x\n", NULL, "did you mean [upstream]");
  refused("[weather]\nrain = yes\n", NULL, "unknown section [weather]");
  refused("[sync]\nwindow_kib = 8\n", NULL, "[sync] window_kib = \"8\"");
  refused("[sync]\nping_seconds = 60\nidle_timeout_seconds = 30\n", NULL,
          "idle_timeout_seconds = 30 must be more than ping_seconds = 60");
  refused("[node]\nlog_level = loud\n", NULL, "one of: debug, info, warn, error");
  refused("[node]\nverify_threads = 0\n", NULL, "[node] verify_threads = \"0\"");
  refused("[sync]\ncompress = maybe\n", NULL, "yes (the default) or no");
  refused("[discovery]\nport = 0\n", NULL, "[discovery] port");
  refused("[privacy]\nkeep_months = 0\n", NULL, "[privacy] keep_months = \"0\"");
  refused("[privacy]\nkeep_month = 3\n", NULL, "did you mean \"keep_months\"");
  refused("[node]\nthis line has no equals sign\n", NULL, "line 2");
  refused(NULL, twice, "--listen is given twice");
  refused(NULL, nonsense, "unknown argument \"--frobnicate\"");
  refused(NULL, name_listen, "listen on an IP address");
}

static void test_config_never_echoes_the_http_token(void **state) {
  run r;
  (void)state;
  parse(&r, "[upstream]\nhttp = ftp://x\nhttp_token = s3cr3t-t0ken\n", NULL);
  assert_int_equal(r.rv, FMD_EXIT_USAGE);
  assert_null(strstr(r.err, "s3cr3t-t0ken"));
  done(&r);
  char text[1024];
  snprintf(text, sizeof text, "[upstream]\nhttp = https://hall.example/api\nhttp_token = "
           "s3cr3t%0700d\n", 0);  /* too long */
  parse(&r, text, NULL);
  assert_int_equal(r.rv, FMD_EXIT_USAGE);
  assert_null(strstr(r.err, "s3cr3t"));
  done(&r);
}

static void test_discovery_and_upstream_setters(void **state) {
  fmd_disc_config d;
  fmd_upstream_config u;
  char fix[256];
  (void)state;
  fmd_disc_config_defaults(&d);
  assert_int_equal(fmd_disc_config_set(&d, "interval_seconds", "30", fix, sizeof fix), 0);
  assert_int_equal(d.interval_seconds, 30);
  assert_int_equal(fmd_disc_config_set(&d, "group", "10.0.0.1", fix, sizeof fix), 1);
  assert_int_equal(fmd_disc_config_set(&d, "colour", "blue", fix, sizeof fix), -1);
  fmd_upstream_config_defaults(&u);
  assert_int_equal(u.seal_hold_seconds, 600);
  assert_int_equal(fmd_upstream_config_set(&u, "seal_hold_seconds", "0", fix, sizeof fix), 0);
  assert_int_equal(u.seal_hold_seconds, 0);
  assert_int_equal(fmd_upstream_config_set(&u, "seal_hold_seconds", "604801", fix, sizeof fix), 1);
  assert_int_equal(fmd_upstream_config_set(&u, "batch_entries", "0", fix, sizeof fix), 1);
  assert_int_equal(fmd_upstream_config_set(&u, "retry_min_ms", "5000", fix, sizeof fix), 0);
  assert_int_equal(fmd_upstream_config_set(&u, "retry_max_ms", "1000", fix, sizeof fix), 0);
  assert_int_equal(fmd_upstream_config_check(&u, fix, sizeof fix), 1);
  assert_int_equal(fmd_upstream_config_set(&u, "colour", "blue", fix, sizeof fix), -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hostport_takes_names_v4_and_bracketed_v6),
      cmocka_unit_test(test_hostport_refuses_what_is_not_an_address),
      cmocka_unit_test(test_hostport_numeric_only_for_ip_addresses),
      cmocka_unit_test(test_config_defaults_without_a_file),
      cmocka_unit_test(test_config_file_values_and_flags_over_them),
      cmocka_unit_test(test_config_refusals_name_the_fix),
      cmocka_unit_test(test_config_never_echoes_the_http_token),
      cmocka_unit_test(test_discovery_and_upstream_setters),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
