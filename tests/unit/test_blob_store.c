/* The blobs table (include/fieldmesh/blob_store.h): a chunk is kept under
 * the hash of its bytes; from another laptop only when an accepted
 * `dossier.attach` entry names it; never when nothing names it or its
 * size is no chunk's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fieldmesh/attach.h"
#include "fieldmesh/blob_store.h"
#include "fieldmesh/dirs.h"
#include "fieldmesh/error.h"
#include "fieldmesh/record.h"
#include "fieldmesh/scan_copies.h"

#define T0 1700000000000LL
#define ID "D-06DERF70M2G9MCSK"

static fm_identity AUTH, LAN;
static char DIR_[64];

static int setup(void **state) {
  uint8_t seed[32];
  (void)state;
  memset(seed, 1, sizeof seed);
  if (fm_identity_from_seed(&AUTH, seed)) return -1;
  memset(seed, 2, sizeof seed);
  return fm_identity_from_seed(&LAN, seed);
}

static fm_store *commune(void) {
  fm_store *s;
  fm_store_opts o = {.nosync = 1};
  fm_enrollment en;
  fm_buf b;
  strcpy(DIR_, "/tmp/fm-test-blob-XXXXXX");
  assert_non_null(mkdtemp(DIR_));
  assert_int_equal(fm_store_open(DIR_, &o, &s), 0);
  assert_int_equal(fm_store_set_authority(s, AUTH.pk, "Tân Quang"), 0);
  memset(&en, 0, sizeof en);
  memcpy(en.device, LAN.pk, 32);
  strcpy(en.name, "Lò Thị Lan");
  strcpy(en.team, "Team 1");
  strcpy(en.commune, "Tân Quang");
  en.role = FM_ROLE_MEMBER;
  fm_buf_init(&b, 4096);
  assert_int_equal(fm_enroll_body(&b, &en), 0);
  assert_int_equal(fm_store_append(s, &AUTH, FM_KIND_ENROLL, b.p, b.len, T0, NULL, NULL), 0);
  /* The dossier of Lan's team the scans go to: an attachment is a change
   * of it, which waits for the dossier where there is none (the team
   * rule). */
  fm_dossier_in d = {ID, "khai_sinh", "Lò Văn Pó", "", "", "Nghĩa Tân", "Team 1", "portal",
                     "", "", NULL};
  fm_buf_reset(&b);
  assert_int_equal(fm_dossier_body(&b, &d), 0);
  assert_int_equal(fm_store_append(s, &AUTH, FM_KIND_DOSSIER, b.p, b.len, T0, NULL, NULL), 0);
  fm_buf_free(&b);
  return s;
}

static void done(fm_store *s) {
  fm_store_close(s);
  assert_int_equal(fm_store_remove_dir(DIR_), 0);
}

/* Two sealed chunks of a file of FM_ATTACH_CHUNK + 100 bytes. */
static uint8_t C0[FM_ATTACH_CHUNK + FM_ATTACH_TAG], C1[100 + FM_ATTACH_TAG];
static uint8_t IDS[2 * FM_BLOB_ID], KEY[FM_ATTACH_KEY];

static void seal_file(void) {
  static uint8_t plain[FM_ATTACH_CHUNK + 100];
  memset(plain, 0x42, sizeof plain);
  memset(KEY, 7, sizeof KEY);
  fm_attach_chunk_seal(KEY, 0, plain, FM_ATTACH_CHUNK, C0, IDS);
  fm_attach_chunk_seal(KEY, 1, plain + FM_ATTACH_CHUNK, 100, C1, IDS + FM_BLOB_ID);
}

static void append_attach(fm_store *s) {
  fm_attach a = {ID, strlen(ID), FM_ATT_PHOTO, "a.jpg", 5, FM_ATTACH_CHUNK + 100, IDS, 2, KEY,
                 NULL, 0, NULL, 0};
  fm_buf b;
  fm_buf_init(&b, 8192);
  assert_int_equal(fm_attach_body(&b, &a), 0);
  assert_int_equal(fm_store_append(s, &LAN, FM_KIND_DOSSIER_ATTACH, b.p, b.len, T0 + 1000,
                                   NULL, NULL), 0);
  fm_buf_free(&b);
}

static void unnamed_chunks_are_not_kept(void **state) {
  fm_store *s = commune();
  fm_slice c[3] = {{C0, sizeof C0}, {C1, sizeof C1}, {C1, FM_ATTACH_TAG}};
  fm_blob_tally t;
  size_t held;
  uint64_t n, bytes;
  (void)state;
  seal_file();
  assert_int_equal(fm_store_blob_offer(s, c, 3, &t), 0);
  assert_int_equal(t.kept, 0);
  assert_int_equal(t.unwanted, 3);
  assert_int_equal(fm_store_blob_count(s, IDS, 2, &held), 0);
  assert_int_equal(held, 0);
  assert_int_equal(fm_store_blob_stats(s, &n, &bytes), 0);
  assert_int_equal(n, 0);
  done(s);
}

static void named_chunks_are_wanted_then_kept(void **state) {
  fm_store *s = commune();
  fm_slice c[2] = {{C0, sizeof C0}, {C1, sizeof C1}};
  fm_blob_tally t;
  uint8_t out[FM_ATTACH_CHUNK + FM_ATTACH_TAG];
  size_t held, len;
  uint64_t wanted;
  (void)state;
  seal_file();
  append_attach(s);
  assert_int_equal(fm_store_blob_wanted_count(s, &wanted), 0);
  assert_int_equal(wanted, 2);
  /* One flipped byte: another hash, named by nothing. */
  C1[3] ^= 1;
  assert_int_equal(fm_store_blob_offer(s, &c[1], 1, &t), 0);
  assert_int_equal(t.unwanted, 1);
  C1[3] ^= 1;
  assert_int_equal(fm_store_blob_offer(s, c, 2, &t), 0);
  assert_int_equal(t.kept, 2);
  assert_int_equal(fm_store_blob_wanted_count(s, &wanted), 0);
  assert_int_equal(wanted, 0);
  assert_int_equal(fm_store_blob_offer(s, c, 2, &t), 0);
  assert_int_equal(t.same, 2);
  assert_int_equal(fm_store_blob_count(s, IDS, 2, &held), 0);
  assert_int_equal(held, 2);
  assert_int_equal(fm_store_blob_get(s, IDS + FM_BLOB_ID, out, sizeof out, &len), 0);
  assert_int_equal(len, sizeof C1);
  assert_memory_equal(out, C1, len);
  assert_int_equal(fm_store_blob_get(s, IDS, out, 10, &len), FM_ERR_TOOBIG);
  /* Served straight into a message: the same bytes, or nothing added. */
  fm_buf b;
  uint8_t none[FM_BLOB_ID] = {0};
  fm_buf_init(&b, sizeof C1);
  assert_int_equal(fm_store_blob_append(s, IDS + FM_BLOB_ID, &b), 0);
  assert_int_equal(b.len, sizeof C1);
  assert_memory_equal(b.p, C1, b.len);
  assert_int_equal(fm_store_blob_append(s, none, &b), FM_ERR_NOTFOUND);
  assert_int_equal(fm_store_blob_append(s, IDS, &b), FM_ERR_TOOBIG);
  assert_int_equal(b.len, sizeof C1);
  fm_buf_free(&b);
  done(s);
}

/* A laptop's own chunks go in before its entry: nothing is wanted. */
static void own_chunks_first(void **state) {
  fm_store *s = commune();
  fm_slice c[2] = {{C0, sizeof C0}, {C1, sizeof C1}};
  uint64_t wanted;
  (void)state;
  seal_file();
  assert_int_equal(fm_store_blob_put(s, c, 2), 0);
  append_attach(s);
  assert_int_equal(fm_store_blob_wanted_count(s, &wanted), 0);
  assert_int_equal(wanted, 0);
  fm_slice bad = {C1, FM_ATTACH_TAG};
  assert_int_equal(fm_store_blob_put(s, &bad, 1), FM_ERR_TOOBIG);
  done(s);
}

/* A vector file's word for scans (scan_copies.h, "by USB stick"): up to
 * which seq a store holds every chunk of an author's scans, and the
 * importer's own scans up to there counted as held by the exporter. */
static void scans_held_by_stick(void **state) {
  fm_store *s = commune();
  fm_slice c[2] = {{C0, sizeof C0}, {C1, sizeof C1}};
  fm_scan_copies sc;
  uint64_t upto, noted;
  uint8_t other[32];
  (void)state;
  memset(other, 9, sizeof other);
  assert_int_equal(fm_store_set_self(s, LAN.pk), 0);
  assert_int_equal(fm_store_scans_held_upto(s, LAN.pk, &upto), 0);
  assert_int_equal(upto, 0);                       /* no scan: says nothing */
  seal_file();
  assert_int_equal(fm_store_blob_put(s, c, 2), 0);
  append_attach(s);                                /* Lan's seq 1 */
  assert_int_equal(fm_store_scans_held_upto(s, LAN.pk, &upto), 0);
  assert_int_equal(upto, 1);
  /* A second scan whose last chunk is not here: the word stops before it. */
  uint8_t ids2[2 * FM_BLOB_ID];
  memcpy(ids2, IDS, FM_BLOB_ID);
  memset(ids2 + FM_BLOB_ID, 0x33, FM_BLOB_ID);
  fm_attach a = {ID, strlen(ID), FM_ATT_PHOTO, "b.jpg", 5, FM_ATTACH_CHUNK + 100, ids2, 2, KEY,
                 NULL, 0, NULL, 0};
  fm_buf b;
  fm_buf_init(&b, 8192);
  assert_int_equal(fm_attach_body(&b, &a), 0);
  assert_int_equal(fm_store_append(s, &LAN, FM_KIND_DOSSIER_ATTACH, b.p, b.len, T0 + 2000,
                                   NULL, NULL), 0);
  fm_buf_free(&b);
  assert_int_equal(fm_store_scans_held_upto(s, LAN.pk, &upto), 0);
  assert_int_equal(upto, 1);
  assert_int_equal(fm_store_scan_copies(s, LAN.pk, 1, &sc), 0);
  assert_int_equal(sc.scans, 2);
  assert_int_equal(sc.unsafe, 2);
  assert_int_equal(sc.absent, 1);
  /* Another laptop's signed word that it holds them up to seq 1. */
  assert_int_equal(fm_store_scans_note_held(s, other, 1, T0, &noted), 0);
  assert_int_equal(noted, 2);
  assert_int_equal(fm_store_scans_note_held(s, other, 1, T0, &noted), 0);
  assert_int_equal(noted, 0);                      /* nothing new */
  assert_int_equal(fm_store_scans_note_held(s, LAN.pk, 2, T0, &noted), 0);
  assert_int_equal(noted, 0);                      /* never our own word */
  assert_int_equal(fm_store_scan_copies(s, LAN.pk, 1, &sc), 0);
  assert_int_equal(sc.unsafe, 0);                  /* its one held chunk is the first's */
  assert_int_equal(fm_store_scan_copies(s, LAN.pk, 2, &sc), 0);
  assert_int_equal(sc.unsafe, 2);
  done(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(unnamed_chunks_are_not_kept),
      cmocka_unit_test(named_chunks_are_wanted_then_kept),
      cmocka_unit_test(own_chunks_first),
      cmocka_unit_test(scans_held_by_stick),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
