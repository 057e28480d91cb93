/* Discovery beacons (proto/beacon.c): the exact bytes of the format in
 * docs/protocol.md section 8, and the parser against hostile datagrams.
 *
 * Every input is copied into a heap buffer of its exact length, so that
 * AddressSanitizer catches a read one byte past the end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fieldmesh/beacon.h"
#include "fieldmesh/error.h"
#include "fieldmesh/msg.h"

static uint8_t *heap_copy(const uint8_t *p, size_t n) {
  uint8_t *h = malloc(n ? n : 1);
  assert_non_null(h);
  if (n) memcpy(h, p, n);
  return h;
}

static int parse_exact(const uint8_t *p, size_t n, fm_beacon *out) {
  uint8_t *h = heap_copy(p, n);
  int rv = fm_beacon_parse(h, n, out);
  free(h);
  return rv;
}

/* mesh 0x10.., node 0x40.., digest 0xd0.., port 7411 */
static fm_beacon sample(void) {
  fm_beacon b;
  for (int i = 0; i < 32; i++) b.mesh[i] = (uint8_t)(0x10 + i);
  for (int i = 0; i < 32; i++) b.node[i] = (uint8_t)(0x40 + i);
  for (int i = 0; i < 8; i++) b.digest[i] = (uint8_t)(0xd0 + i);
  b.port = 7411;
  return b;
}

static void test_beacon_encodes_the_documented_layout(void **state) {
  (void)state;
  fm_beacon b = sample();
  uint8_t out[FM_BEACON_LEN];
  assert_int_equal(fm_beacon_encode(&b, out), 80);
  static const uint8_t head[8] = {'F', 'M', 'B', 'C', 1, 0, 0x1c, 0xf3};
  assert_memory_equal(out, head, 8);
  assert_memory_equal(out + 8, b.mesh, 32);
  assert_memory_equal(out + 40, b.node, 32);
  assert_memory_equal(out + 72, b.digest, 8);
}

static void test_beacon_round_trips(void **state) {
  (void)state;
  fm_beacon b = sample(), got;
  uint8_t out[FM_BEACON_LEN];
  const uint16_t ports[] = {1, 7411, 7412, 65535};
  for (size_t i = 0; i < sizeof ports / sizeof ports[0]; i++) {
    b.port = ports[i];
    fm_beacon_encode(&b, out);
    memset(&got, 0, sizeof got);
    assert_int_equal(parse_exact(out, sizeof out, &got), 0);
    assert_int_equal(got.port, ports[i]);
    assert_memory_equal(got.mesh, b.mesh, 32);
    assert_memory_equal(got.node, b.node, 32);
    assert_memory_equal(got.digest, b.digest, 8);
  }
}

/* BLAKE2b-256 of the bytes 00 01 .. 1f (Python's hashlib.blake2b). */
static void test_beacon_mesh_id_is_blake2b_256_of_the_authority_key(void **state) {
  (void)state;
  static const uint8_t want[32] = {
      0xcb, 0x2f, 0x51, 0x60, 0xfc, 0x1f, 0x7e, 0x05, 0xa5, 0x5e, 0xf4,
      0x9d, 0x34, 0x0b, 0x48, 0xda, 0x2e, 0x5a, 0x78, 0x09, 0x9d, 0x53,
      0x39, 0x33, 0x51, 0xcd, 0x57, 0x9d, 0xd4, 0x25, 0x03, 0xd6};
  uint8_t key[32], got[32];
  for (int i = 0; i < 32; i++) key[i] = (uint8_t)i;
  fm_beacon_mesh_id(key, got);
  assert_memory_equal(got, want, 32);
}

static void test_beacon_digest_is_the_vector_digest_prefix(void **state) {
  (void)state;
  fm_vec_item items[2];
  memset(items, 0, sizeof items);
  items[0].author[0] = 1;
  items[0].seq = 3;
  items[1].author[0] = 2;
  items[1].seq = 70000;
  items[1].head[5] = 9;
  fm_vector v = {2, items};
  uint8_t full[32], got[8], other[8];
  fm_vector_digest(&v, full);
  fm_beacon_digest(&v, got);
  assert_memory_equal(got, full, 8);
  items[1].seq = 70001;   /* one more entry: another digest */
  fm_beacon_digest(&v, other);
  assert_memory_not_equal(got, other, 8);
}

static void test_beacon_refuses_every_length_but_80(void **state) {
  (void)state;
  fm_beacon b = sample(), got;
  uint8_t buf[200];
  memset(buf, 0, sizeof buf);
  fm_beacon_encode(&b, buf);
  for (size_t n = 0; n <= sizeof buf; n++) {
    if (n == FM_BEACON_LEN) continue;
    memset(&got, 0xaa, sizeof got);
    assert_int_equal(parse_exact(buf, n, &got), FM_ERR_MALFORMED);
    assert_int_equal(got.port, 0xaaaa); /* written only on success */
  }
}

static void test_beacon_other_versions_are_version_errors_at_any_length(void **state) {
  (void)state;
  fm_beacon b = sample(), got;
  uint8_t buf[120];
  memset(buf, 0, sizeof buf);
  fm_beacon_encode(&b, buf);
  const uint8_t versions[] = {0, 2, 0x7f, 0xff};
  const size_t lens[] = {5, 6, 79, 80, 81, 120};
  for (size_t v = 0; v < sizeof versions; v++) {
    buf[4] = versions[v];
    for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++)
      assert_int_equal(parse_exact(buf, lens[l], &got), FM_ERR_VERSION);
  }
}

/* Every single-bit change lands in exactly one place: the header refuses
 * it, or the beacon parses with just that field changed. */
static void test_beacon_every_flipped_bit_is_refused_or_changes_one_field(void **state) {
  (void)state;
  fm_beacon b = sample(), got;
  uint8_t good[FM_BEACON_LEN], bad[FM_BEACON_LEN];
  fm_beacon_encode(&b, good);
  for (size_t i = 0; i < FM_BEACON_LEN; i++) {
    for (int bit = 0; bit < 8; bit++) {
      memcpy(bad, good, sizeof bad);
      bad[i] ^= (uint8_t)(1u << bit);
      int rv = parse_exact(bad, sizeof bad, &got);
      if (i < 4 || i == 5) {
        assert_int_equal(rv, FM_ERR_MALFORMED);
      } else if (i == 4) {
        assert_int_equal(rv, FM_ERR_VERSION);
      } else {
        assert_int_equal(rv, 0);
        int changed = (got.port != b.port) + !!memcmp(got.mesh, b.mesh, 32) +
                      !!memcmp(got.node, b.node, 32) + !!memcmp(got.digest, b.digest, 8);
        assert_int_equal(changed, 1);
      }
    }
  }
}

static void test_beacon_refuses_port_zero(void **state) {
  (void)state;
  fm_beacon b = sample(), got;
  uint8_t buf[FM_BEACON_LEN];
  fm_beacon_encode(&b, buf);
  buf[6] = buf[7] = 0;
  assert_int_equal(parse_exact(buf, sizeof buf, &got), FM_ERR_MALFORMED);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_beacon_encodes_the_documented_layout),
      cmocka_unit_test(test_beacon_round_trips),
      cmocka_unit_test(test_beacon_mesh_id_is_blake2b_256_of_the_authority_key),
      cmocka_unit_test(test_beacon_digest_is_the_vector_digest_prefix),
      cmocka_unit_test(test_beacon_refuses_every_length_but_80),
      cmocka_unit_test(test_beacon_other_versions_are_version_errors_at_any_length),
      cmocka_unit_test(test_beacon_every_flipped_bit_is_refused_or_changes_one_field),
      cmocka_unit_test(test_beacon_refuses_port_zero),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
