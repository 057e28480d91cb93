/* Damaged stores: the checks at open (store/check.c), the quick check
 * behind `fieldmesh doctor` (fm_store_check) and the salvage behind
 * `fieldmesh recover` (store/salvage.c). */
#include <fcntl.h>
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

#include "fieldmesh/dirs.h"
#include "fieldmesh/error.h"
#include "fieldmesh/record.h"
#include "fieldmesh/store.h"

#define T0 1700000000000LL /* a fixed "now": 2023-11-14 */
#define VISITS 50

static fm_identity AUTH, MEMBER;
static char DIR_[64], PATH[96];

static void ident(fm_identity *id, uint8_t n) {
  uint8_t seed[32];
  memset(seed, n, sizeof seed);
  assert_int_equal(fm_identity_from_seed(id, seed), 0);
}

static fm_store *open_store(const char *dir) {
  fm_store *s = NULL;
  fm_store_opts o;
  memset(&o, 0, sizeof o);
  o.nosync = 1;
  assert_int_equal(fm_store_open(dir, &o, &s), 0);
  return s;
}

/* A store of the authority's one enrollment and VISITS visits by MEMBER,
 * closed; returns the bytes of MEMBER's entry |keep| (caller frees). */
static uint8_t *make_store(uint64_t keep, size_t *len) {
  fm_enrollment en;
  fm_buf b;
  uint8_t *copy;
  strcpy(DIR_, "/tmp/fm-test-check-XXXXXX");
  assert_non_null(mkdtemp(DIR_));
  snprintf(PATH, sizeof PATH, "%s/data.mdb", DIR_);
  fm_store *s = open_store(DIR_);
  assert_int_equal(fm_store_set_authority(s, AUTH.pk, "Tân Quang"), 0);
  assert_int_equal(fm_store_set_self(s, MEMBER.pk), 0);
  memset(&en, 0, sizeof en);
  memcpy(en.device, MEMBER.pk, 32);
  strcpy(en.name, "Lò Thị Lan");
  strcpy(en.team, "Team 1");
  strcpy(en.commune, "Tân Quang");
  en.role = FM_ROLE_MEMBER;
  en.nvillages = 1;
  strcpy(en.villages[0], "Nghĩa Tân");
  fm_buf_init(&b, 4096);
  assert_int_equal(fm_enroll_body(&b, &en), 0);
  assert_int_equal(fm_store_append(s, &AUTH, FM_KIND_ENROLL, b.p, b.len, T0, NULL, NULL), 0);
  for (int i = 0; i < VISITS; i++) {
    fm_visit_in v;
    char id[32];
    memset(&v, 0, sizeof v);
    snprintf(id, sizeof id, "v%04d", i);
    v.id = id;
    v.team = "Team 1";
    v.village = "Nghĩa Tân";
    v.date = "2023-11-14";
    v.mode = 0;
    v.citizens = 1;
    fm_buf_reset(&b);
    assert_int_equal(fm_visit_body(&b, &v), 0);
    assert_int_equal(fm_store_append(s, &MEMBER, FM_KIND_VISIT, b.p, b.len, T0 + i, NULL, NULL), 0);
  }
  fm_buf_free(&b);
  assert_int_equal(fm_store_entry_copy(s, MEMBER.pk, keep, &copy, len), 0);
  fm_store_close(s);
  return copy;
}

static uint8_t *find(uint8_t *hay, size_t n, const uint8_t *needle, size_t len) {
  for (size_t i = 0; i + len <= n; i++)
    if (!memcmp(hay + i, needle, len)) return hay + i;
  return NULL;
}

/* Flips the last byte (inside the signature) of every copy of |entry| in
 * data.mdb: LMDB copies a page on write, so stale copies of it may lie in
 * pages it has freed. */
static void flip_entry(const uint8_t *entry, size_t len) {
  int fd = open(PATH, O_RDWR);
  struct stat st;
  int copies = 0;
  assert_true(fd >= 0);
  assert_int_equal(fstat(fd, &st), 0);
  uint8_t *all = malloc((size_t)st.st_size), *end = all + st.st_size;
  assert_int_equal(pread(fd, all, (size_t)st.st_size, 0), st.st_size);
  for (uint8_t *at = all; (at = find(at, (size_t)(end - at), entry, len)) != NULL; at += len) {
    uint8_t x = at[len - 1] ^ 0x40;
    assert_int_equal(pwrite(fd, &x, 1, (off_t)(at - all) + (off_t)len - 1), 1);
    copies++;
  }
  assert_true(copies >= 1);
  free(all);
  close(fd);
}

static int setup(void **state) {
  (void)state;
  ident(&AUTH, 1);
  ident(&MEMBER, 2);
  return 0;
}

static void test_check_passes_a_sound_store_and_counts(void **state) {
  (void)state;
  size_t len;
  uint64_t n = 0, sigs = 0;
  char err[256];
  free(make_store(1, &len));
  fm_store *s = open_store(DIR_);
  assert_int_equal(fm_store_check(s, 10, &n, &sigs, err, sizeof err), 0);
  assert_int_equal(n, VISITS + 1);
  /* One in every ceil(51 / 10) = 6: entries 0, 6, ... 48. */
  assert_int_equal(sigs, 9);
  fm_store_close(s);
  assert_int_equal(fm_store_remove_dir(DIR_), 0);
}

static void test_check_finds_a_changed_entry_by_its_chain(void **state) {
  (void)state;
  size_t len;
  char err[256];
  uint8_t *e = make_store(20, &len);
  flip_entry(e, len);
  free(e);
  /* The file's structure is sound: it opens. */
  fm_store *s = open_store(DIR_);
  /* One signature in 51 is checked (the authority's entry): the changed
   * entry's id no longer matches what entry 21 names as prev. */
  assert_int_equal(fm_store_check(s, 1, NULL, NULL, err, sizeof err), FM_ERR_DAMAGED);
  assert_non_null(strstr(err, "/21 does not link"));
  fm_store_close(s);
  assert_int_equal(fm_store_remove_dir(DIR_), 0);
}

static void test_check_finds_a_changed_last_entry_by_its_head(void **state) {
  (void)state;
  size_t len;
  char err[256];
  uint8_t *e = make_store(VISITS, &len);
  flip_entry(e, len);
  free(e);
  fm_store *s = open_store(DIR_);
  assert_int_equal(fm_store_check(s, 1, NULL, NULL, err, sizeof err), FM_ERR_DAMAGED);
  assert_non_null(strstr(err, "does not match its head"));
  fm_store_close(s);
  assert_int_equal(fm_store_remove_dir(DIR_), 0);
}

static void test_open_refuses_a_cut_file_with_a_reason(void **state) {
  (void)state;
  size_t len;
  struct stat st;
  char why[256] = "";
  fm_store *s = NULL;
  fm_store_opts o;
  free(make_store(1, &len));
  assert_int_equal(stat(PATH, &st), 0);
  assert_int_equal(truncate(PATH, st.st_size / 2), 0);
  memset(&o, 0, sizeof o);
  o.why = why;
  o.why_cap = sizeof why;
  assert_int_equal(fm_store_open(DIR_, &o, &s), FM_ERR_DAMAGED);
  assert_null(s);
  assert_non_null(strstr(why, "cut short"));
  /* Shorter than its meta pages. */
  assert_int_equal(truncate(PATH, 100), 0);
  assert_int_equal(fm_store_open(DIR_, &o, &s), FM_ERR_DAMAGED);
  assert_non_null(strstr(why, "meta page"));
  assert_int_equal(fm_store_remove_dir(DIR_), 0);
}

static void test_salvage_saves_what_verifies_and_refuses_to_fork(void **state) {
  (void)state;
  size_t len;
  char to[64], err[256];
  fm_salvage sv;
  uint8_t *e = make_store(20, &len);
  flip_entry(e, len);
  free(e);
  strcpy(to, "/tmp/fm-test-salvage-XXXXXX");
  assert_non_null(mkdtemp(to));
  assert_int_equal(fm_store_salvage(DIR_, to, NULL, T0, &sv), 0);
  assert_true(sv.unreadable >= 1);
  assert_true(sv.have_authority);
  /* The authority's entry and the member's 1..19; 21..50 wait for sync. */
  assert_int_equal(sv.saved, 1 + 19);
  int found = 0;
  for (size_t i = 0; i < sv.nauthors; i++) {
    if (memcmp(sv.authors[i].author, MEMBER.pk, 32)) continue;
    found = 1;
    assert_int_equal(sv.authors[i].saved, 19);
    assert_int_equal(sv.authors[i].claimed, VISITS);
    assert_int_equal(sv.authors[i].head, VISITS);
  }
  assert_true(found);
  fm_salvage_free(&sv);
  fm_store *s = open_store(to);
  assert_int_equal(fm_store_check(s, 0, NULL, NULL, err, sizeof err), 0);
  /* Its own log reached 50 elsewhere: writing 20 now would fork it. */
  assert_int_equal(fm_store_append(s, &MEMBER, FM_KIND_VISIT, (const uint8_t *)"\x80", 1, T0,
                                   NULL, NULL), FM_ERR_BEHIND);
  fm_store_close(s);
  /* The damaged store is left as it was. */
  struct stat st;
  assert_int_equal(stat(PATH, &st), 0);
  assert_int_equal(fm_store_remove_dir(to), 0);
  assert_int_equal(fm_store_remove_dir(DIR_), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_check_passes_a_sound_store_and_counts),
      cmocka_unit_test(test_check_finds_a_changed_entry_by_its_chain),
      cmocka_unit_test(test_check_finds_a_changed_last_entry_by_its_head),
      cmocka_unit_test(test_open_refuses_a_cut_file_with_a_reason),
      cmocka_unit_test(test_salvage_saves_what_verifies_and_refuses_to_fork),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
