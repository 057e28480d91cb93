/* Key files (store/keyfile.c): the one line they hold, and every way a
 * file that is not a good key is refused rather than used.  Links, FIFOs
 * and planted temporary names: test_fsfile.c. */
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
#include <sodium.h>

#include "fieldmesh/error.h"
#include "fieldmesh/keyfile.h"

typedef struct dir {
  char path[64], key[128];
} dir;

static void make_dir(dir *d) {
  snprintf(d->path, sizeof d->path, "/tmp/fm-test-keyfile-XXXXXX");
  assert_non_null(mkdtemp(d->path));
  snprintf(d->key, sizeof d->key, "%s/device.key", d->path);
}

static void put(const char *path, const char *text, mode_t mode) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
  assert_int_equal(chmod(path, mode), 0);
}

static void remove_dir(dir *d) {
  unlink(d->key);
  assert_int_equal(rmdir(d->path), 0);
}

static void test_keyfile_is_one_line_of_tag_and_hex_mode_0600(void **state) {
  dir d;
  fm_identity id, back;
  uint8_t seed[32];
  char text[128];
  struct stat st;
  (void)state;
  for (int i = 0; i < 32; i++) seed[i] = (uint8_t)i;
  assert_int_equal(fm_identity_from_seed(&id, seed), 0);
  make_dir(&d);
  assert_int_equal(fm_keyfile_write(d.key, &id), 0);
  assert_int_equal(stat(d.key, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  FILE *f = fopen(d.key, "r");
  assert_non_null(f);
  assert_non_null(fgets(text, sizeof text, f));
  fclose(f);
  assert_string_equal(text, "fieldmesh-key-v1 000102030405060708090a0b0c0d0e0f"
                            "101112131415161718191a1b1c1d1e1f\n");
  assert_int_equal(fm_keyfile_read(d.key, &back), 0);
  assert_memory_equal(back.pk, id.pk, sizeof id.pk);
  remove_dir(&d);
}

static void test_keyfile_refuses_what_is_not_a_key(void **state) {
  static const char *const bad[] = {
      "",
      "\n",
      "fieldmesh-key-v1 \n",
      "fieldmesh-key-v2 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n",
      "fieldmesh-key-v1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1\n",
      "fieldmesh-key-v1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1g\n",
      "fieldmesh-key-v1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f00\n",
      "fieldmesh-key-v1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\nx\n",
      "FIELDMESH-KEY-V1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"};
  dir d;
  fm_identity id;
  (void)state;
  make_dir(&d);
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    unlink(d.key);
    put(d.key, bad[i], 0600);
    assert_int_equal(fm_keyfile_read(d.key, &id), FM_ERR_MALFORMED);
  }
  remove_dir(&d);
}

static void test_keyfile_others_can_read_is_refused_and_absent_is_notfound(void **state) {
  dir d;
  fm_identity id;
  (void)state;
  make_dir(&d);
  assert_int_equal(fm_keyfile_read(d.key, &id), FM_ERR_NOTFOUND);
  put(d.key, "fieldmesh-key-v1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n",
      0640);
  assert_int_equal(fm_keyfile_read(d.key, &id), FM_ERR_IO);
  assert_int_equal(chmod(d.key, 0604), 0);
  assert_int_equal(fm_keyfile_read(d.key, &id), FM_ERR_IO);
  assert_int_equal(chmod(d.key, 0400), 0);
  assert_int_equal(fm_keyfile_read(d.key, &id), 0);
  remove_dir(&d);
}

int main(void) {
  if (sodium_init() < 0) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_keyfile_is_one_line_of_tag_and_hex_mode_0600),
      cmocka_unit_test(test_keyfile_refuses_what_is_not_a_key),
      cmocka_unit_test(test_keyfile_others_can_read_is_refused_and_absent_is_notfound),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
