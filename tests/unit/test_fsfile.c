/* fm_fsfile: the one way files are read and written.  Links planted where
 * the program writes are never written through, FIFOs and devices are
 * refused without blocking, nothing half-written or temporary is left. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "fieldmesh/bundle.h"
#include "fieldmesh/dirs.h"
#include "fieldmesh/error.h"
#include "fieldmesh/fsfile.h"
#include "fieldmesh/keyfile.h"

/* ---- a predictable RNG, so the temporary names can be planted ---------- */

static int RNG_FIXED;      /* 1: every draw is zeros (one name, always) */
static uint32_t RNG_NEXT;  /* otherwise a counter */

static const char *rng_name(void) { return "test"; }
static uint32_t rng_random(void) { return RNG_FIXED ? 0 : RNG_NEXT++; }
static void rng_stir(void) {}
static void rng_buf(void *const p, const size_t n) {
  uint8_t *b = p;
  for (size_t i = 0; i < n; i++) b[i] = RNG_FIXED ? 0 : (uint8_t)(RNG_NEXT + i);
  if (!RNG_FIXED) RNG_NEXT++;
}
static randombytes_implementation RNG = {rng_name, rng_random, rng_stir, NULL, rng_buf, NULL};

/* The temporary name fm_fsfile will try first for |name| under draw |k|. */
static void tmp_name(const char *dir, const char *name, uint32_t k, char *out, size_t cap) {
  uint8_t r[6];
  char hex[13];
  for (size_t i = 0; i < sizeof r; i++) r[i] = RNG_FIXED ? 0 : (uint8_t)(k + i);
  fm_hex(r, sizeof r, hex);
  snprintf(out, cap, "%s/" FM_FSFILE_TMP_PREFIX "%s.%s", dir, name, hex);
}

/* ---- helpers ------------------------------------------------------------- */

static void mkdir_tmp(char dir[64]) {
  strcpy(dir, "/tmp/fm-test-fsfile-XXXXXX");
  assert_non_null(mkdtemp(dir));
}

static void rm_rf(const char *dir) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
}

static void put(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  assert_int_equal(fclose(f), 0);
}

static void assert_content(const char *path, const char *text) {
  char buf[256];
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  assert_string_equal(buf, text);
}

/* Names in |dir| starting with the temporary prefix. */
static int count_tmp(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *e;
  int n = 0;
  assert_non_null(d);
  while ((e = readdir(d)) != NULL)
    n += !strncmp(e->d_name, FM_FSFILE_TMP_PREFIX, strlen(FM_FSFILE_TMP_PREFIX));
  closedir(d);
  return n;
}

static int is_link(const char *path) {
  struct stat st;
  return lstat(path, &st) == 0 && S_ISLNK(st.st_mode);
}

/* ---- tests ----------------------------------------------------------------- */

static void test_fsfile_writes_whole_file_with_its_mode_and_no_leftover(void **state) {
  char dir[64], path[128];
  struct stat st;
  fm_fsfile f;
  (void)state;
  mkdir_tmp(dir);
  snprintf(path, sizeof path, "%s/out.ndjson", dir);
  mode_t old = umask(0077);
  assert_int_equal(fm_fsfile_begin(&f, path, 0640), 0);
  assert_int_equal(fm_fsfile_write(&f, "hello ", 6), 0);
  /* Not under its name before commit. */
  assert_int_not_equal(access(path, F_OK), 0);
  assert_int_equal(fm_fsfile_write(&f, "world", 5), 0);
  assert_int_equal(fm_fsfile_commit(&f, FM_FSFILE_REPLACE), 0);
  umask(old);
  assert_content(path, "hello world");
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0640); /* whatever the umask */
  assert_int_equal(count_tmp(dir), 0);
  /* Replaced whole by a second write of the same name. */
  assert_int_equal(fm_fsfile_begin(&f, path, 0640), 0);
  assert_int_equal(fm_fsfile_write(&f, "again", 5), 0);
  assert_int_equal(fm_fsfile_commit(&f, FM_FSFILE_REPLACE), 0);
  assert_content(path, "again");
  /* An aborted write leaves the old file and no temporary one. */
  assert_int_equal(fm_fsfile_begin(&f, path, 0640), 0);
  assert_int_equal(fm_fsfile_write(&f, "half", 4), 0);
  fm_fsfile_abort(&f);
  assert_content(path, "again");
  assert_int_equal(count_tmp(dir), 0);
  /* The longest name a folder takes still gets a temporary name. */
  char longname[300];
  memset(longname, 'n', 255);
  longname[255] = 0;
  snprintf(path, sizeof path, "%s/", dir);
  char longpath[400];
  snprintf(longpath, sizeof longpath, "%s/%s", dir, longname);
  assert_int_equal(fm_fsfile_begin(&f, longpath, 0600), 0);
  assert_int_equal(fm_fsfile_write(&f, "x", 1), 0);
  assert_int_equal(fm_fsfile_commit(&f, FM_FSFILE_REPLACE), 0);
  assert_content(longpath, "x");
  assert_int_equal(count_tmp(dir), 0);
  /* A folder that does not exist, or no file name at all. */
  snprintf(path, sizeof path, "%s/nope/out", dir);
  assert_int_equal(fm_fsfile_begin(&f, path, 0600), FM_ERR_IO);
  snprintf(path, sizeof path, "%s/", dir);
  assert_int_equal(fm_fsfile_begin(&f, path, 0600), FM_ERR_INVAL);
  rm_rf(dir);
}

/* A link planted at the temporary name (the old spool bug: it pointed at
 * device.key) is never opened; the write uses another name or fails. */
static void test_fsfile_never_writes_through_a_planted_temporary_link(void **state) {
  char dir[64], path[128], victim[128], link[192];
  fm_fsfile f;
  (void)state;
  mkdir_tmp(dir);
  snprintf(victim, sizeof victim, "%s/device.key", dir);
  put(victim, "the key\n");
  snprintf(path, sizeof path, "%s/batch.ndjson", dir);

  /* Every name it can try is taken by a link: refused, victim untouched. */
  RNG_FIXED = 1;
  tmp_name(dir, "batch.ndjson", 0, link, sizeof link);
  assert_int_equal(symlink(victim, link), 0);
  assert_int_equal(fm_fsfile_begin(&f, path, 0640), FM_ERR_IO);
  assert_int_equal(errno, EEXIST);
  assert_content(victim, "the key\n");
  assert_true(is_link(link));
  /* A dangling link too (O_CREAT would otherwise create its target). */
  char ghost[128];
  snprintf(ghost, sizeof ghost, "%s/ghost", dir);
  assert_int_equal(unlink(link), 0);
  assert_int_equal(symlink(ghost, link), 0);
  assert_int_equal(fm_fsfile_begin(&f, path, 0640), FM_ERR_IO);
  assert_int_not_equal(access(ghost, F_OK), 0);
  assert_int_equal(unlink(link), 0);

  /* Only the first name is taken: the next one is used, and the link and
   * its target are left as they were. */
  RNG_FIXED = 0;
  RNG_NEXT = 100;
  tmp_name(dir, "batch.ndjson", 100, link, sizeof link);
  assert_int_equal(symlink(victim, link), 0);
  assert_int_equal(fm_fsfile_begin(&f, path, 0640), 0);
  assert_int_equal(fm_fsfile_write(&f, "{}\n", 3), 0);
  assert_int_equal(fm_fsfile_commit(&f, FM_FSFILE_REPLACE), 0);
  assert_content(path, "{}\n");
  assert_content(victim, "the key\n");
  assert_true(is_link(link));
  assert_int_equal(count_tmp(dir), 1); /* the planted link, nothing of ours */
  rm_rf(dir);
}

/* A link at the final name is replaced (REPLACE) or refused (NOREPLACE),
 * never written through. */
static void test_fsfile_final_name_link_is_replaced_or_refused_not_followed(void **state) {
  char dir[64], path[128], victim[128];
  fm_fsfile f;
  (void)state;
  mkdir_tmp(dir);
  snprintf(victim, sizeof victim, "%s/victim", dir);
  put(victim, "precious\n");
  snprintf(path, sizeof path, "%s/out.bundle", dir);
  assert_int_equal(symlink(victim, path), 0);
  assert_int_equal(fm_fsfile_begin(&f, path, 0600), 0);
  assert_int_equal(fm_fsfile_write(&f, "x", 1), 0);
  assert_int_equal(fm_fsfile_commit(&f, FM_FSFILE_NOREPLACE), FM_ERR_EXISTS);
  assert_true(is_link(path));
  assert_content(victim, "precious\n");
  assert_int_equal(count_tmp(dir), 0);
  assert_int_equal(fm_fsfile_begin(&f, path, 0600), 0);
  assert_int_equal(fm_fsfile_write(&f, "x", 1), 0);
  assert_int_equal(fm_fsfile_commit(&f, FM_FSFILE_REPLACE), 0);
  assert_false(is_link(path));
  assert_content(path, "x");
  assert_content(victim, "precious\n");
  assert_int_equal(count_tmp(dir), 0);
  rm_rf(dir);
}

/* The key file: never over a key, a link (even a dangling one) or
 * through a planted temporary link. */
static void test_keyfile_write_refuses_links_and_keeps_their_targets(void **state) {
  char dir[64], path[128], victim[128], link[192];
  fm_identity id, back;
  uint8_t seed[32];
  (void)state;
  memset(seed, 7, sizeof seed);
  assert_int_equal(fm_identity_from_seed(&id, seed), 0);
  mkdir_tmp(dir);
  snprintf(victim, sizeof victim, "%s/victim", dir);
  put(victim, "precious\n");
  snprintf(path, sizeof path, "%s/device.key", dir);
  assert_int_equal(symlink(victim, path), 0);
  assert_int_equal(fm_keyfile_write(path, &id), FM_ERR_EXISTS);
  assert_content(victim, "precious\n");
  assert_int_equal(unlink(path), 0);
  char ghost[128];
  snprintf(ghost, sizeof ghost, "%s/ghost", dir);
  assert_int_equal(symlink(ghost, path), 0);
  assert_int_equal(fm_keyfile_write(path, &id), FM_ERR_EXISTS);
  assert_int_not_equal(access(ghost, F_OK), 0);
  assert_int_equal(unlink(path), 0);
  /* A link at the temporary name the writer tries first. */
  RNG_FIXED = 0;
  RNG_NEXT = 200;
  tmp_name(dir, "device.key", 200, link, sizeof link);
  assert_int_equal(symlink(victim, link), 0);
  assert_int_equal(fm_keyfile_write(path, &id), 0);
  assert_content(victim, "precious\n");
  assert_int_equal(fm_keyfile_read(path, &back), 0);
  assert_memory_equal(back.pk, id.pk, 32);
  assert_int_equal(count_tmp(dir), 1); /* the planted link only */
  assert_int_equal(fm_keyfile_write(path, &id), FM_ERR_EXISTS);
  rm_rf(dir);
}

/* A FIFO or a folder where a key, a bundle or any file is read: refused
 * at once (the alarm fails the test if anything waits). */
static void test_fsfile_refuses_fifo_and_folder_without_blocking(void **state) {
  char dir[64], fifo[128];
  fm_identity id;
  fm_bundle b;
  uint8_t *data;
  size_t len;
  (void)state;
  mkdir_tmp(dir);
  snprintf(fifo, sizeof fifo, "%s/device.key", dir);
  assert_int_equal(mkfifo(fifo, 0600), 0);
  alarm(5);
  assert_int_equal(fm_fsfile_read(fifo, 1024, &data, &len), FM_ERR_NOTREG);
  assert_int_equal(fm_keyfile_read(fifo, &id), FM_ERR_NOTREG);
  assert_int_equal(fm_bundle_read(fifo, &b), FM_ERR_NOTREG);
  assert_int_equal(fm_fsfile_read(dir, 1024, &data, &len), FM_ERR_NOTREG);
  assert_int_equal(fm_bundle_read("/dev/null", &b), FM_ERR_NOTREG);
  alarm(0);
  assert_int_equal(fm_bundle_read("/nonexistent/x.bundle", &b), FM_ERR_NOTFOUND);
  char reg[128];
  snprintf(reg, sizeof reg, "%s/small", dir);
  put(reg, "abc");
  assert_int_equal(fm_fsfile_read(reg, 2, &data, &len), FM_ERR_TOOBIG);
  assert_int_equal(fm_fsfile_read(reg, 3, &data, &len), 0);
  assert_int_equal(len, 3);
  assert_string_equal((char *)data, "abc");
  free(data);
  rm_rf(dir);
}

/* After a crash: our own temporary files go, a planted link (and what it
 * points to) and anything not ours stay. */
static void test_fsfile_remove_stale_removes_only_own_regular_files(void **state) {
  char dir[64], p[192], victim[128];
  (void)state;
  mkdir_tmp(dir);
  snprintf(victim, sizeof victim, "%s/victim", dir);
  put(victim, "precious\n");
  snprintf(p, sizeof p, "%s/" FM_FSFILE_TMP_PREFIX "a.ndjson.000000", dir);
  put(p, "half");
  snprintf(p, sizeof p, "%s/" FM_FSFILE_TMP_PREFIX "b.ndjson", dir);
  assert_int_equal(symlink(victim, p), 0);
  snprintf(p, sizeof p, "%s/" FM_FSFILE_TMP_PREFIX "dir", dir);
  assert_int_equal(mkdir(p, 0700), 0);
  snprintf(p, sizeof p, "%s/keep.ndjson", dir);
  put(p, "done");
  assert_int_equal(fm_fsfile_remove_stale(dir), 1);
  assert_int_equal(count_tmp(dir), 2);
  snprintf(p, sizeof p, "%s/" FM_FSFILE_TMP_PREFIX "b.ndjson", dir);
  assert_true(is_link(p));
  assert_content(victim, "precious\n");
  snprintf(p, sizeof p, "%s/keep.ndjson", dir);
  assert_content(p, "done");
  rm_rf(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fsfile_writes_whole_file_with_its_mode_and_no_leftover),
      cmocka_unit_test(test_fsfile_never_writes_through_a_planted_temporary_link),
      cmocka_unit_test(test_fsfile_final_name_link_is_replaced_or_refused_not_followed),
      cmocka_unit_test(test_keyfile_write_refuses_links_and_keeps_their_targets),
      cmocka_unit_test(test_fsfile_refuses_fifo_and_folder_without_blocking),
      cmocka_unit_test(test_fsfile_remove_stale_removes_only_own_regular_files),
  };
  randombytes_set_implementation(&RNG);
  if (sodium_init() < 0) return 1;
  return cmocka_run_group_tests(tests, NULL, NULL);
}
