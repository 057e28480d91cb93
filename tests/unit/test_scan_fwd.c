/* The scans of a batch on their way upstream (daemon/scan_fwd.h): loaded
 * from a real store, opened into the file's own bytes and named by their
 * BLAKE2b-256; a scan whose key does not open its chunks, or whose chunk
 * is gone, is said so and yields no bytes; other entries are not scans. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "../support/signed.h"
#include "fieldmesh/attach.h"
#include "fieldmesh/blob_store.h"
#include "fieldmesh/dirs.h"
#include "fieldmesh/error.h"
#include "fieldmesh/receipt.h"
#include "fieldmesh/record.h"
#include "scan_fwd.h"

#define T0 1700000000000LL
#define SIZE (2 * FM_ATTACH_CHUNK + 1234)   /* three chunks */

static fm_identity LAN;
static uint8_t PLAIN[SIZE];

static int setup(void **state) {
  uint8_t seed[32];
  (void)state;
  memset(seed, 2, sizeof seed);
  for (size_t i = 0; i < SIZE; i++) PLAIN[i] = (uint8_t)(i * 7 + (i >> 9));
  return fm_identity_from_seed(&LAN, seed);
}

typedef struct fx {
  char dir[64];
  fm_store *s;
  signed_entry att, visit;
  fm_fwd_item items[2];
  fm_fwd_batch b;
  fmd_scans sc;
} fx;

/* A store holding chunks |keep| (bit i: chunk i) of the file sealed under
 * |key|, and a batch of a visit and an attach entry that gives |entry_key|. */
static void fx_open(fx *f, const uint8_t key[FM_ATTACH_KEY], const uint8_t entry_key[FM_ATTACH_KEY],
                    unsigned keep) {
  static uint8_t ct[3][FM_ATTACH_CHUNK + FM_ATTACH_TAG];
  uint8_t ids[3 * FM_BLOB_ID];
  fm_slice c[3];
  size_t n = 0;
  fm_store_opts o = {.nosync = 1};
  memset(f, 0, sizeof *f);
  strcpy(f->dir, "/tmp/fm-test-scanfwd-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  assert_int_equal(fm_store_open(f->dir, &o, &f->s), 0);
  for (size_t i = 0; i < 3; i++) {
    size_t len = fm_attach_chunk_len(SIZE, i);
    fm_attach_chunk_seal(key, i, PLAIN + i * FM_ATTACH_CHUNK, len, ct[i], ids + i * FM_BLOB_ID);
    if (keep & (1u << i)) c[n++] = (fm_slice){ct[i], len + FM_ATTACH_TAG};
  }
  if (n) assert_int_equal(fm_store_blob_put(f->s, c, n), 0);
  fm_buf body;
  fm_buf_init(&body, 8192);
  fm_visit_in v = {"V-1", "Team 1", "Nghĩa Tân", "", "2023-11-14", "", FM_MODE_HOME, 1, 2};
  assert_int_equal(fm_visit_body(&body, &v), 0);
  signed_entry_make(&f->visit, &LAN, 1, T0, FM_KIND_VISIT, &body);
  fm_buf_init(&body, 8192);
  fm_attach a = {"D-1", 3, FM_ATT_ID_CARD, "cccd.jpg", 8, SIZE, ids, 3, entry_key,
                 NULL, 0, NULL, 0};
  assert_int_equal(fm_attach_body(&body, &a), 0);
  signed_entry_make(&f->att, &LAN, 2, T0 + 1, FM_KIND_DOSSIER_ATTACH, &body);
  f->items[0].bytes = f->visit.bytes.p;
  f->items[0].len = f->visit.bytes.len;
  f->items[1].bytes = f->att.bytes.p;
  f->items[1].len = f->att.bytes.len;
  f->b.items = f->items;
  f->b.n = 2;
  fmd_scans_init(&f->sc);
}

static void fx_close(fx *f) {
  fmd_scans_free(&f->sc);
  fm_buf_free(&f->visit.bytes);
  fm_buf_free(&f->att.bytes);
  fm_store_close(f->s);
  assert_int_equal(fm_store_remove_dir(f->dir), 0);
}

static const uint8_t KEY[FM_ATTACH_KEY] = {1, 2, 3};
static const uint8_t OTHER[FM_ATTACH_KEY] = {9};

static void test_scan_opens_into_the_file_named_by_its_hash(void **state) {
  fx f;
  uint64_t locked = 9;
  uint8_t h[FM_BLOB_ID];
  char hex[FMD_SCAN_HASH_HEX];
  fm_buf j;
  (void)state;
  fx_open(&f, KEY, KEY, 7);
  assert_int_equal(fmd_scans_load(&f.sc, f.s, NULL, &f.b, &locked), 0);
  assert_int_equal(locked, 0);
  assert_int_equal(f.sc.n, 1);
  assert_null(fmd_scans_of_item(&f.sc, 0));
  const fmd_scan *x = fmd_scans_of_item(&f.sc, 1);
  assert_non_null(x);
  assert_int_equal(x->state, FMD_SCAN_OK);
  assert_string_equal(x->name, "cccd.jpg");
  assert_string_equal(x->dossier, "D-1");
  fmd_scans_open(&f.sc);
  assert_int_equal(x->state, FMD_SCAN_OK);
  assert_int_equal(x->size, SIZE);
  assert_memory_equal(fmd_scan_file(&f.sc, x), PLAIN, SIZE);
  crypto_generichash(h, sizeof h, PLAIN, SIZE, NULL, 0);
  fm_hex(h, sizeof h, hex);
  assert_string_equal(x->hash, hex);
  fm_buf_init(&j, 4096);
  assert_int_equal(fmd_scan_json(&j, x, ".scan"), 0);
  fm_buf_put(&j, "", 1);
  char want[512];
  snprintf(want, sizeof want, ",\"scan\":{\"hash\":\"%s\",\"size\":%d,\"kind\":\"id_card\","
           "\"name\":\"cccd.jpg\",\"dossier\":\"D-1\",\"file\":\"%s.scan\"}", hex, SIZE, hex);
  assert_string_equal((const char *)j.p, want);
  fm_buf_free(&j);
  /* Reset wipes the opened bytes and forgets the scans. */
  fmd_scans_reset(&f.sc);
  assert_int_equal(f.sc.n, 0);
  assert_null(fmd_scans_of_item(&f.sc, 1));
  fx_close(&f);
}

static void test_scan_that_does_not_open_yields_no_bytes(void **state) {
  fx f;
  fm_buf j;
  (void)state;
  fx_open(&f, KEY, OTHER, 7);
  assert_int_equal(fmd_scans_load(&f.sc, f.s, NULL, &f.b, NULL), 0);
  fmd_scans_open(&f.sc);
  const fmd_scan *x = fmd_scans_of_item(&f.sc, 1);
  assert_int_equal(x->state, FMD_SCAN_DAMAGED);
  assert_int_equal(f.sc.plain_len, 0);
  fm_buf_init(&j, 4096);
  assert_int_equal(fmd_scan_json(&j, x, ".scan"), 0);
  fm_buf_put(&j, "", 1);
  assert_non_null(strstr((const char *)j.p, "\"hash\":null"));
  assert_non_null(strstr((const char *)j.p, "\"error\":\"its key or a chunk does not open\""));
  assert_null(strstr((const char *)j.p, "\"file\""));
  fm_buf_free(&j);
  fx_close(&f);
}

static void test_scan_missing_a_chunk_is_said_so(void **state) {
  fx f;
  (void)state;
  fx_open(&f, KEY, KEY, 5);   /* chunk 1 is not here */
  assert_int_equal(fmd_scans_load(&f.sc, f.s, NULL, &f.b, NULL), 0);
  fmd_scans_open(&f.sc);
  assert_int_equal(fmd_scans_of_item(&f.sc, 1)->state, FMD_SCAN_MISSING);
  assert_int_equal(f.sc.plain_len, 0);
  fx_close(&f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_scan_opens_into_the_file_named_by_its_hash),
      cmocka_unit_test(test_scan_that_does_not_open_yields_no_bytes),
      cmocka_unit_test(test_scan_missing_a_chunk_is_said_so),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
