/* Receipt bodies: what the builder writes the parser reads back, in
 * order; bodies stay under their limit; malformed ones are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fieldmesh/error.h"
#include "fieldmesh/receipt.h"

static void make_items(fm_receipt_item *it, size_t n) {
  for (size_t i = 0; i < n; i++) {
    memset(&it[i], 0, sizeof it[i]);
    memset(it[i].author, (int)(i / 300) + 1, FM_KEY_LEN);   /* 300 per author */
    it[i].seq = i % 300 + 1;
    for (int k = 0; k < FM_RECEIPT_ID8_LEN; k++) it[i].id8[k] = (uint8_t)(i * 7 + k);
    it[i].ref = i % 3 ? "" : "HCC-2023-0042";
    it[i].ref_len = strlen(it[i].ref);
  }
}

static void test_receipt_roundtrip_splits_and_keeps_order(void **state) {
  enum { N = 900 };
  static fm_receipt_item in[N];
  const uint8_t batch[16] = {9, 8, 7};
  fm_buf b;
  size_t at = 0, used, bodies = 0;
  (void)state;
  make_items(in, N);
  fm_buf_init(&b, 1 << 20);
  while (at < N) {
    fm_receipt r;
    fm_receipt_item out;
    fm_buf_reset(&b);
    assert_int_equal(fm_receipt_body(&b, "postgres", batch, "txid 77", 7, in + at, N - at, &used), 0);
    assert_true(used >= 1 && b.len <= FM_RECEIPT_BODY_MAX);
    assert_int_equal(fm_receipt_parse(b.p, b.len, &r), 0);
    assert_int_equal(r.count, used);
    assert_int_equal(r.sink_len, 8);
    assert_memory_equal(r.batch, batch, 16);
    for (size_t i = 0; i < used; i++) {
      assert_int_equal(fm_receipt_next(&r, &out), 1);
      assert_memory_equal(out.author, in[at + i].author, FM_KEY_LEN);
      assert_int_equal(out.seq, in[at + i].seq);
      assert_memory_equal(out.id8, in[at + i].id8, FM_RECEIPT_ID8_LEN);
      assert_int_equal(out.ref_len, in[at + i].ref_len);
    }
    assert_int_equal(fm_receipt_next(&r, &out), 0);
    at += used;
    bodies++;
  }
  /* About 17 bytes an entry: 900 entries need a few bodies, not dozens. */
  assert_true(bodies >= 2 && bodies <= 4);
  fm_buf_free(&b);
}

static void test_receipt_refuses_bad_input(void **state) {
  fm_receipt_item it[1];
  const uint8_t batch[16] = {0};
  fm_buf b;
  fm_wr w;
  fm_receipt r;
  size_t used;
  (void)state;
  make_items(it, 1);
  fm_buf_init(&b, 1 << 16);
  it[0].seq = 0;
  assert_int_equal(fm_receipt_body(&b, "spool", batch, "", 0, it, 1, &used), FM_ERR_INVAL);
  it[0].seq = 1;
  assert_int_equal(fm_receipt_body(&b, "", batch, "", 0, it, 1, &used), FM_ERR_INVAL);
  assert_int_equal(fm_receipt_body(&b, "a-sink-name-too-long", batch, "", 0, it, 1, &used), FM_ERR_INVAL);
  /* The corpus's old shape {id, portal_ref} is not a receipt. */
  fm_buf_reset(&b);
  fm_wr_init(&w, &b);
  fm_wr_map(&w, 2);
  fm_wr_cstr(&w, "id");
  fm_wr_cstr(&w, "D-FZ0001");
  fm_wr_cstr(&w, "portal_ref");
  fm_wr_cstr(&w, "x");
  assert_int_equal(fm_receipt_parse(b.p, b.len, &r), FM_ERR_MALFORMED);
  /* An empty group, and a seq of 0. */
  for (int bad = 0; bad < 2; bad++) {
    fm_buf_reset(&b);
    fm_wr_init(&w, &b);
    fm_wr_map(&w, 4);
    fm_wr_cstr(&w, "sink");
    fm_wr_cstr(&w, "spool");
    fm_wr_cstr(&w, "batch");
    fm_wr_bin(&w, batch, 16);
    fm_wr_cstr(&w, "ref");
    fm_wr_cstr(&w, "");
    fm_wr_cstr(&w, "items");
    fm_wr_array(&w, 1);
    fm_wr_array(&w, 2);
    fm_wr_bin(&w, it[0].author, 32);
    if (bad == 0) {
      fm_wr_array(&w, 0);
    } else {
      fm_wr_array(&w, 1);
      fm_wr_array(&w, 3);
      fm_wr_uint(&w, 0);
      fm_wr_bin(&w, it[0].id8, 8);
      fm_wr_cstr(&w, "");
    }
    assert_int_equal(fm_receipt_parse(b.p, b.len, &r), FM_ERR_MALFORMED);
  }
  fm_buf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_receipt_roundtrip_splits_and_keeps_order),
      cmocka_unit_test(test_receipt_refuses_bad_input),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
