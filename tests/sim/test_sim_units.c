/* The simulator's own building blocks: the event queue's tie-breaking,
 * the seeded random numbers, the calendar, the value parsers, and scenario
 * files (presets load; mistakes are named with their line), and the
 * shared signature results (only byte-identical entries share one). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cal.h"
#include "heap.h"
#include "ini_file.h"
#include "json.h"
#include "rng.h"
#include "scenario.h"
#include "value.h"
#include "vcache.h"
#include "fieldmesh/error.h"

static void test_sim_heap_pops_by_time_then_push_order(void **state) {
  sim_heap h;
  sim_event e, out;
  sim_heap_init(&h);
  memset(&e, 0, sizeof e);
  /* Ten events at one millisecond and a few at others, mixed. */
  for (int i = 0; i < 10; i++) {
    e.at = 1000;
    e.a = i;
    assert_int_equal(sim_heap_push(&h, &e), 0);
    e.at = 5000 - i;
    e.a = 100 + i;
    if (i % 3 == 0) assert_int_equal(sim_heap_push(&h, &e), 0);
  }
  for (int i = 0; i < 10; i++) {
    assert_true(sim_heap_pop(&h, &out));
    assert_int_equal(out.at, 1000);
    assert_int_equal(out.a, i);
  }
  fm_time last = 0;
  int n = 0;
  while (sim_heap_pop(&h, &out)) {
    assert_true(out.at >= last);
    last = out.at;
    n++;
  }
  assert_int_equal(n, 4);
  assert_int_equal(sim_heap_next_at(&h), FM_TIME_NEVER);
  sim_heap_free(&h);
}

static void test_sim_rng_repeats_its_stream_for_one_seed(void **state) {
  sim_rng a, b, c;
  sim_rng_seed(&a, 42);
  sim_rng_seed(&b, 42);
  sim_rng_seed(&c, 43);
  int differ = 0;
  for (int i = 0; i < 1000; i++) {
    uint64_t x = sim_rng_next(&a);
    assert_true(x == sim_rng_next(&b));
    differ += x != sim_rng_next(&c);
  }
  assert_true(differ > 990);
  uint8_t k1[32], k2[32];
  sim_rng_fill(&a, k1, sizeof k1);
  sim_rng_fill(&b, k2, sizeof k2);
  assert_memory_equal(k1, k2, sizeof k1);
  double sum = 0;
  for (int i = 0; i < 20000; i++) {
    assert_true(sim_rng_below(&a, 7) < 7);
    sum += (double)sim_rng_poisson(&a, 0.8);
  }
  assert_true(sum / 20000 > 0.75 && sum / 20000 < 0.85);
}

static void test_sim_cal_knows_the_days_of_the_week(void **state) {
  int64_t day;
  int minute;
  char s[17];
  assert_int_equal(sim_cal_parse_date("2023-08-01", &day), 0);
  assert_int_equal(sim_cal_weekday(day), 1); /* a Tuesday */
  assert_int_equal(sim_cal_parse_date("2023-02-30", &day), -1);
  assert_int_equal(sim_cal_parse_date("2023-8-1", &day), -1);
  assert_int_equal(sim_cal_parse_date("2019-03-04", &day), 0);
  fm_time t = sim_cal_at(day, 7 * 60 + 30, 7 * 60);
  assert_int_equal(t, 1551659400000LL); /* 2019-03-04 00:30 UTC */
  sim_cal_format(t, 7 * 60, s);
  assert_string_equal(s, "2019-03-04 07:30");
  sim_cal_split(t - 8 * SIM_HOUR_MS, 7 * 60, &day, &minute);
  assert_int_equal(minute, 23 * 60 + 30);
  sim_days d;
  assert_int_equal(sim_cal_parse_days("mon wed fri", &d), 0);
  assert_int_equal(d, 0x15);
  assert_int_equal(sim_cal_parse_days("mon-sat", &d), 0);
  assert_int_equal(d, 0x3f);
  assert_int_equal(sim_cal_parse_days("fri-mon", &d), -1);
  assert_int_equal(sim_cal_parse_days("funday", &d), -1);
  sim_hours h;
  assert_int_equal(sim_cal_parse_hours("07:30-11:30 13:30-17:00", &h), 0);
  assert_int_equal(h.n, 2);
  assert_int_equal(h.s[1].to, 17 * 60);
  assert_int_equal(sim_cal_parse_hours("00:00-24:00", &h), 0);
  assert_int_equal(sim_cal_parse_hours("13:00-12:00", &h), -1);
  assert_int_equal(sim_cal_parse_hours("08:00-12:00 11:00-13:00", &h), -1);
}

static void test_sim_values_parse_and_refuse(void **state) {
  fm_time t;
  uint64_t u;
  double p;
  sim_dist d;
  sim_weights w;
  sim_range r;
  assert_int_equal(sim_parse_duration("150ms", &t), 0);
  assert_int_equal(t, 150);
  assert_int_equal(sim_parse_duration("1.5h", &t), 0);
  assert_int_equal(t, 5400000);
  assert_int_equal(sim_parse_duration("0", &t), 0);
  assert_int_equal(sim_parse_duration("5", &t), -1); /* a unit is needed */
  assert_int_equal(sim_parse_offset("-2d", &t), 0);
  assert_int_equal(t, -2 * SIM_DAY_MS);
  assert_int_equal(sim_parse_range("1d-3d", &r), 0);
  assert_int_equal(r.hi, 3 * SIM_DAY_MS);
  assert_int_equal(sim_parse_range("3d-1d", &r), -1);
  assert_int_equal(sim_parse_rate("10MB/s", &u), 0);
  assert_int_equal(u, 10000000);
  assert_int_equal(sim_parse_rate("384kbit/s", &u), 0);
  assert_int_equal(u, 48000);
  assert_int_equal(sim_parse_rate("fast", &u), -1);
  assert_int_equal(sim_parse_prob("2%", &p), 0);
  assert_true(p > 0.0199 && p < 0.0201);
  assert_int_equal(sim_parse_prob("1.5", &p), -1);
  assert_int_equal(sim_parse_dist("poisson(0.8)", &d), 0);
  assert_int_equal(d.kind, SIM_DIST_POISSON);
  assert_int_equal(sim_parse_dist("uniform(1,4)", &d), 0);
  assert_int_equal(sim_parse_dist("uniform(4,1)", &d), -1);
  assert_int_equal(sim_parse_dist("poisson(x)", &d), -1);
  assert_int_equal(sim_parse_weights("home:5 village_point:3 one_stop", &w), 0);
  assert_int_equal(w.n, 3);
  assert_int_equal(w.total, 9);
  assert_int_equal(sim_parse_weights("home:x", &w), -1);
}

/* ---- scenario files ------------------------------------------------------------ */

static const char *GOOD =
    "[scenario]\nname = t\ncommune = Tân Quang\nstart = 2023-08-07\ndays = 2\n"
    "[node gw]\nname = Máy chủ\nrole = gateway\n"
    "[rhythm r]\ndays = mon-fri\nhours = 08:00-12:00\nvisits = 1\n"
    "[team t1]\nname = Tổ 1\nvillages = Nghĩa Tân, Vinh Quang\nrhythm = r\n"
    "member = a | Nguyễn Văn A | leader | Nghĩa Tân\nmembers = 3\n";

static int load_text(const char *tail, char *err, size_t cap, sim_scenario *sc) {
  char path[] = "/tmp/fm-sim-scenario-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  FILE *f = fdopen(fd, "w");
  fputs(GOOD, f);
  fputs(tail, f);
  fclose(f);
  int rv = sim_scenario_load(path, sc, err, cap);
  unlink(path);
  return rv;
}

static void test_sim_scenario_names_the_line_of_a_mistake(void **state) {
  sim_scenario sc;
  char err[1024];
  assert_int_equal(load_text("", err, sizeof err, &sc), 0);
  assert_int_equal(sc.nnodes, 5);
  /* Team members first, in order, then the nodes of their own. */
  assert_string_equal(sc.nodes[1].id, "t1-1");
  assert_string_equal(sc.nodes[2].village, "Vinh Quang");
  assert_string_equal(sc.nodes[4].id, "gw");
  assert_int_equal(sc.gateway, 4);
  sim_scenario_free(&sc);
  /* GOOD has 18 lines: line 19 is the link section, 20 its misspelt key. */
  assert_int_equal(load_text("[link l]\nlatncy = 5ms\n", err, sizeof err, &sc), -1);
  assert_non_null(strstr(err, ":20: [link l] has no key 'latncy'"));
  assert_int_equal(load_text("[link l]\npeers = mesh a zz\ndays = mon\nhours = 08:00-09:00\n",
                             err, sizeof err, &sc), -1);
  assert_non_null(strstr(err, ":20: peers: no node 'zz'"));
  assert_int_equal(load_text("[fault f]\nkind = crash\nnode = a\nat = day 1 25:00\n", err,
                             sizeof err, &sc), -1);
  assert_non_null(strstr(err, ":22: at:"));
  assert_int_equal(load_text("[rhythm q]\ndays = mon\nhours = 08:00-09:00\nprocedures = xyz\n",
                             err, sizeof err, &sc), -1);
  assert_non_null(strstr(err, "'xyz' is not known"));
}

/* Loads |text| as a scenario file's INI; 0 or -1 with |err|. */
static int ini_text(const char *text, sim_ini *ini, char *err, size_t cap) {
  char path[] = "/tmp/fm-sim-ini-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  FILE *f = fdopen(fd, "w");
  fputs(text, f);
  fclose(f);
  int rv = sim_ini_load(path, ini, err, cap);
  unlink(path);
  return rv;
}

static void test_sim_ini_reads_sections_keys_and_lines(void **state) {
  sim_ini ini;
  char err[512];
  int line = 0;
  (void)state;
  assert_int_equal(ini_text("\xef\xbb\xbf# top\n[scenario]\nname = a # note\n"
                            "; said\n[team t1]\nvillages = Nghĩa Tân, Mục Lạn,\n"
                            "  Xuân Hòa ; more\nvillages = Đông\n",
                            &ini, err, sizeof err), 0);
  assert_int_equal(ini.n, 2);
  assert_string_equal(ini.sec[0].type, "scenario");
  assert_string_equal(ini.sec[0].name, "");
  assert_string_equal(sim_ini_get(&ini.sec[0], "name", &line), "a");
  assert_int_equal(line, 3);
  assert_string_equal(ini.sec[1].type, "team");
  assert_string_equal(ini.sec[1].name, "t1");
  assert_int_equal(ini.sec[1].line, 5);
  /* An indented line continues its key; a repeated key is kept, in order. */
  assert_int_equal(ini.sec[1].n, 2);
  assert_string_equal(ini.sec[1].items[0].value, "Nghĩa Tân, Mục Lạn, Xuân Hòa");
  assert_string_equal(sim_ini_get(&ini.sec[1], "villages", &line), "Đông");
  assert_int_equal(line, 8);
  sim_ini_free(&ini);
}

static void test_sim_ini_names_the_line_of_a_mistake(void **state) {
  static const struct { const char *text, *says; } bad[] = {
      {"[scenario]\nname = a\nno equals here\n", ":3: not a [section]"},
      {"name = a\n[scenario]\n", ":1: 'name' comes before any [section]"},
      {"[scenario]\nName = a\n", ":2: not a [section]"},
      {"[scenario]\nname = a\n[team t1]\n[team t2]\nname = b\n", ":3: a [section] with no keys"},
      {"[scenario]\nname = a\n[team t1]\n", ":3: a [section] with no keys"},
      {"[Team t1]\nname = b\n", ":1: a [section]'s type"},
      {"[scenario\nname = a\n", ":1: not a [section]"},
  };
  char err[512], text[600];
  sim_ini ini;
  (void)state;
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    assert_int_equal(ini_text(bad[i].text, &ini, err, sizeof err), -1);
    if (!strstr(err, bad[i].says)) fail_msg("case %zu: %s", i, err);
  }
  /* Over inih's line limit: said, with the way around it. */
  memset(text, 'x', sizeof text);
  memcpy(text, "[scenario]\nnote = ", 18);
  memcpy(text + sizeof text - 2, "\n", 2);
  assert_int_equal(ini_text(text, &ini, err, sizeof err), -1);
  assert_non_null(strstr(err, ":2: line longer than"));
  assert_non_null(strstr(err, "indented lines"));
}

/* A FIFO given as the scenario is refused at once, not waited on (the
 * alarm fails the test if the load blocks). */
static void test_sim_scenario_refuses_a_fifo_at_once(void **state) {
  char dir[] = "/tmp/fm-sim-fifo-XXXXXX", path[64], err[512];
  sim_scenario sc;
  (void)state;
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/s.ini", dir);
  assert_int_equal(mkfifo(path, 0600), 0);
  alarm(5);
  assert_int_equal(sim_scenario_load(path, &sc, err, sizeof err), -1);
  alarm(0);
  assert_non_null(strstr(err, "not a regular file"));
  unlink(path);
  rmdir(dir);
}

/* The report stays valid JSON whatever a name holds: quotes, control
 * characters and bytes that are not UTF-8 (written as U+FFFD). */
static void test_sim_json_report_escapes_every_string(void **state) {
  char *text = NULL;
  size_t len = 0;
  sim_json j;
  (void)state;
  FILE *f = open_memstream(&text, &len);
  assert_non_null(f);
  sim_json_init(&j, f);
  sim_json_obj(&j, NULL);
  sim_json_str(&j, "na\"me", "x\xff\x01\n\"y");
  sim_json_end(&j, '}');
  fclose(f);
  assert_string_equal(text, "{\n  \"na\\\"me\": \"x\xef\xbf\xbd\\u0001\\n\\\"y\"\n}\n");
  free(text);
}

static void test_sim_presets_load(void **state) {
  static const struct { const char *name; size_t nodes, teams; } presets[] = {
      {"tan-quang", 13, 2}, {"truc-bach", 33, 8}, {"hoa-phuoc", 26, 1}, {"binh-tan", 141, 10}};
  for (size_t i = 0; i < 4; i++) {
    char path[1024], err[1024];
    sim_scenario sc;
    snprintf(path, sizeof path, "%s/%s.ini", SIM_SCENARIO_DIR, presets[i].name);
    if (sim_scenario_load(path, &sc, err, sizeof err) < 0) fail_msg("%s", err);
    assert_int_equal(sc.nnodes, presets[i].nodes);
    assert_int_equal(sc.nteams, presets[i].teams);
    assert_true(sc.gateway >= 0);
    assert_true(sc.nlinks > 0);
    sim_scenario_free(&sc);
  }
}

/* A signed visit by a key from |seed|, with |text| in its body. */
static void signed_entry(fm_buf *out, uint8_t seed, const char *text) {
  fm_identity id;
  uint8_t s[32];
  fm_buf body;
  fm_wr w;
  memset(s, seed, sizeof s);
  assert_int_equal(fm_identity_from_seed(&id, s), 0);
  fm_buf_init(&body, 1024);
  fm_wr_init(&w, &body);
  fm_wr_map(&w, 1);
  fm_wr_str(&w, "note", 4);
  fm_wr_str(&w, text, strlen(text));
  fm_buf_init(out, FM_ENTRY_MAX);
  assert_int_equal(fm_entry_build(out, &id, 1, NULL, 1, "visit", body.p, body.len), 0);
  fm_buf_free(&body);
  fm_identity_wipe(&id);
}

static int cached_verify(sim_vcache *c, const uint8_t *p, size_t len) {
  fm_entry e;
  assert_int_equal(fm_entry_decode(p, len, NULL, &e), 0);
  return sim_vcache_verify(c, &e);
}

static void test_sim_vcache_shares_only_identical_bytes(void **state) {
  fm_buf good, other;
  uint64_t verified, reused;
  (void)state;
  sim_vcache *c = sim_vcache_new();
  assert_non_null(c);
  signed_entry(&good, 7, "Nguyễn Thị Lan");
  signed_entry(&other, 8, "Trần Văn Minh");
  /* The first sight is checked by libsodium, the copies are not. */
  assert_int_equal(cached_verify(c, good.p, good.len), 0);
  for (int i = 0; i < 3; i++) assert_int_equal(cached_verify(c, good.p, good.len), 0);
  sim_vcache_counts(c, &verified, &reused);
  assert_int_equal(verified, 1);
  assert_int_equal(reused, 3);
  /* A copy with one letter changed keeps the author, seq and signature
   * it claims: it is verified, refused, and refused again next time. */
  uint8_t *forged = malloc(good.len);
  assert_non_null(forged);
  memcpy(forged, good.p, good.len);
  size_t at = 0;
  while (at + 3 <= good.len && memcmp(forged + at, "Lan", 3)) at++;
  assert_true(at + 3 <= good.len);
  forged[at] = 'M';
  for (int i = 0; i < 2; i++) assert_int_equal(cached_verify(c, forged, good.len), FM_ERR_BADSIG);
  /* The same signature on another author's bytes is not found either. */
  memcpy(other.p + other.len - FM_SIG_LEN, good.p + good.len - FM_SIG_LEN, FM_SIG_LEN);
  assert_int_equal(cached_verify(c, other.p, other.len), FM_ERR_BADSIG);
  sim_vcache_counts(c, &verified, &reused);
  assert_int_equal(verified, 4);
  assert_int_equal(reused, 3);
  /* Many entries: the table grows and still finds each one. */
  for (int i = 0; i < 3000; i++) {
    fm_buf b;
    char text[32];
    snprintf(text, sizeof text, "hộ số %d", i);
    signed_entry(&b, (uint8_t)(i % 5), text);
    assert_int_equal(cached_verify(c, b.p, b.len), 0);
    assert_int_equal(cached_verify(c, b.p, b.len), 0);
    fm_buf_free(&b);
  }
  assert_int_equal(cached_verify(c, good.p, good.len), 0);
  sim_vcache_counts(c, &verified, &reused);
  assert_int_equal(verified, 3004);
  assert_int_equal(reused, 3004);
  free(forged);
  fm_buf_free(&good);
  fm_buf_free(&other);
  sim_vcache_del(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sim_heap_pops_by_time_then_push_order),
      cmocka_unit_test(test_sim_rng_repeats_its_stream_for_one_seed),
      cmocka_unit_test(test_sim_cal_knows_the_days_of_the_week),
      cmocka_unit_test(test_sim_values_parse_and_refuse),
      cmocka_unit_test(test_sim_scenario_names_the_line_of_a_mistake),
      cmocka_unit_test(test_sim_presets_load),
      cmocka_unit_test(test_sim_json_report_escapes_every_string),
      cmocka_unit_test(test_sim_scenario_refuses_a_fifo_at_once),
      cmocka_unit_test(test_sim_ini_reads_sections_keys_and_lines),
      cmocka_unit_test(test_sim_ini_names_the_line_of_a_mistake),
      cmocka_unit_test(test_sim_vcache_shares_only_identical_bytes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
