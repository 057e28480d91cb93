/* Identity keys, signatures and the hash, against public vectors:
 * RFC 8032 (Ed25519), Wycheproof ed25519_test.json, the BLAKE2 reference
 * KAT and RFC 7693.  Every count is asserted, so a vector file that fails
 * to load or shrinks cannot make a test pass by doing nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "fieldmesh/error.h"
#include "fieldmesh/identity.h"
#include "json.h"

#define MSG_MAX 2048

static json *load(const char *name) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", FM_VECTORS_DIR, name);
  json *doc = json_load_file(path);
  assert_non_null(doc);
  return doc;
}

/* Decodes the hex member |key| of |obj| into |out|, which must take
 * exactly |want| bytes (SIZE_MAX: any length up to |cap|). */
static size_t hex_member(const json *obj, const char *key, uint8_t *out,
                         size_t cap, size_t want) {
  size_t n = 0;
  if (json_hex(json_get(obj, key), out, cap, &n) != 0)
    fail_msg("member \"%s\" is not hex of at most %zu bytes", key, cap);
  if (want != SIZE_MAX && n != want)
    fail_msg("member \"%s\" has %zu bytes, want %zu", key, n, want);
  return n;
}

/* Copies |n| bytes to the heap, exactly sized, so ASan sees over-reads. */
static uint8_t *heap_copy(const uint8_t *p, size_t n) {
  uint8_t *h = malloc(n ? n : 1);
  assert_non_null(h);
  if (n) memcpy(h, p, n);
  return h;
}

/* ---- Ed25519 ------------------------------------------------------------- */

static void test_crypto_ed25519_rfc8032_vectors(void **state) {
  json *doc = load("ed25519-rfc8032.json");
  const json *vs = json_get(doc, "vectors");
  size_t checked = 0;
  assert_int_equal(json_len(vs), 5);
  for (size_t i = 0; i < json_len(vs); i++) {
    const json *v = json_at(vs, i);
    uint8_t seed[32], pk[32], sig[64], got[64], msg[MSG_MAX];
    fm_identity id;
    hex_member(v, "secret_key", seed, sizeof seed, 32);
    hex_member(v, "public_key", pk, sizeof pk, 32);
    hex_member(v, "signature", sig, sizeof sig, 64);
    size_t n = hex_member(v, "message", msg, sizeof msg, SIZE_MAX);
    uint8_t *m = heap_copy(msg, n);

    assert_int_equal(fm_identity_from_seed(&id, seed), 0);
    assert_memory_equal(id.pk, pk, 32);
    /* libsodium keeps seed || pk as the secret key. */
    assert_memory_equal(id.sk, seed, 32);
    assert_memory_equal(id.sk + 32, pk, 32);
    assert_int_equal(fm_identity_sign(&id, NULL, m, n, got), 0);
    assert_memory_equal(got, sig, 64);
    assert_int_equal(fm_sig_verify(pk, NULL, m, n, sig), 0);
    /* Any change to key, message or signature is refused. */
    sig[0] ^= 0x01;
    assert_int_equal(fm_sig_verify(pk, NULL, m, n, sig), FM_ERR_BADSIG);
    sig[0] ^= 0x01;
    sig[63] ^= 0x10;
    assert_int_equal(fm_sig_verify(pk, NULL, m, n, sig), FM_ERR_BADSIG);
    sig[63] ^= 0x10;
    if (n) {
      m[n - 1] ^= 0x01;
      assert_int_equal(fm_sig_verify(pk, NULL, m, n, sig), FM_ERR_BADSIG);
      m[n - 1] ^= 0x01;
    }
    pk[5] ^= 0x01;
    assert_int_equal(fm_sig_verify(pk, NULL, m, n, sig), FM_ERR_BADSIG);
    free(m);
    fm_identity_wipe(&id);
    checked++;
  }
  assert_int_equal(checked, 5);
  json_free(doc);
}

static void test_crypto_ed25519_wycheproof(void **state) {
  json *doc = load("wycheproof/ed25519_test.json");
  const json *groups = json_get(doc, "testGroups");
  size_t valid = 0, invalid_by_verify = 0, invalid_by_length = 0, total = 0;
  int64_t declared = -1;
  assert_int_equal(json_int(json_get(doc, "numberOfTests"), &declared), 0);
  assert_int_equal(json_len(groups), 78);
  for (size_t g = 0; g < json_len(groups); g++) {
    const json *grp = json_at(groups, g);
    const json *tests = json_get(grp, "tests");
    uint8_t pk[32];
    hex_member(json_get(grp, "publicKey"), "pk", pk, sizeof pk, 32);
    assert_true(json_len(tests) > 0);
    for (size_t i = 0; i < json_len(tests); i++) {
      const json *t = json_at(tests, i);
      const char *result = json_str(json_get(t, "result"));
      int64_t tc = -1;
      uint8_t msg[MSG_MAX], sig[128];
      assert_non_null(result);
      assert_int_equal(json_int(json_get(t, "tcId"), &tc), 0);
      size_t n = hex_member(t, "msg", msg, sizeof msg, SIZE_MAX);
      size_t sn = hex_member(t, "sig", sig, sizeof sig, SIZE_MAX);
      total++;
      if (strcmp(result, "valid") == 0) {
        uint8_t *m = heap_copy(msg, n);
        assert_int_equal(sn, 64);
        int rv = fm_sig_verify(pk, NULL, m, n, sig);
        if (rv != 0) fail_msg("tcId %lld: valid signature refused (%d)", (long long)tc, rv);
        valid++;
        free(m);
      } else {
        assert_string_equal(result, "invalid");
        if (sn != FM_SIG_LEN) {
          /* fm_sig_verify takes exactly 64 bytes: a caller holding any
           * other length has a malformed signature, refused before it. */
          invalid_by_length++;
          continue;
        }
        uint8_t *m = heap_copy(msg, n);
        int rv = fm_sig_verify(pk, NULL, m, n, sig);
        if (rv != FM_ERR_BADSIG)
          fail_msg("tcId %lld: invalid signature got %d", (long long)tc, rv);
        invalid_by_verify++;
        free(m);
      }
    }
  }
  assert_int_equal(total, 151);
  assert_int_equal(declared, 151);
  assert_int_equal(valid, 88);
  assert_int_equal(invalid_by_verify + invalid_by_length, 63);
  assert_int_equal(invalid_by_verify, 51);
  assert_int_equal(invalid_by_length, 12);
  json_free(doc);
}

static void test_crypto_sign_with_context_needs_that_context(void **state) {
  static const uint8_t msg[] = "a visit, signed";
  const size_t n = sizeof msg - 1;
  uint8_t seed[32], sig[64], framed[64];
  fm_identity id, other;
  memset(seed, 7, sizeof seed);
  assert_int_equal(fm_identity_from_seed(&id, seed), 0);
  seed[0] = 8;
  assert_int_equal(fm_identity_from_seed(&other, seed), 0);

  assert_int_equal(fm_identity_sign(&id, FM_CTX_ENTRY, msg, n, sig), 0);
  assert_int_equal(fm_sig_verify(id.pk, FM_CTX_ENTRY, msg, n, sig), 0);
  /* Without the context, or under another one, it does not verify. */
  assert_int_equal(fm_sig_verify(id.pk, NULL, msg, n, sig), FM_ERR_BADSIG);
  assert_int_equal(fm_sig_verify(id.pk, "fieldmesh entry v2", msg, n, sig), FM_ERR_BADSIG);
  assert_int_equal(fm_sig_verify(id.pk, "fieldmesh entry v", msg, n, sig), FM_ERR_BADSIG);
  assert_int_equal(fm_sig_verify(id.pk, "", msg, n, sig), FM_ERR_BADSIG);
  assert_int_equal(fm_sig_verify(other.pk, FM_CTX_ENTRY, msg, n, sig), FM_ERR_BADSIG);
  /* And a raw signature is no context signature either. */
  assert_int_equal(fm_identity_sign(&id, NULL, msg, n, sig), 0);
  assert_int_equal(fm_sig_verify(id.pk, NULL, msg, n, sig), 0);
  assert_int_equal(fm_sig_verify(id.pk, FM_CTX_ENTRY, msg, n, sig), FM_ERR_BADSIG);

  /* The NUL after the context keeps (ctx "a", msg "b") apart from
   * (ctx "ab", msg ""). */
  assert_int_equal(fm_identity_sign(&id, "a", (const uint8_t *)"b", 1, sig), 0);
  assert_int_equal(fm_sig_verify(id.pk, "a", (const uint8_t *)"b", 1, sig), 0);
  assert_int_equal(fm_sig_verify(id.pk, "ab", (const uint8_t *)"", 0, sig), FM_ERR_BADSIG);
  assert_int_equal(fm_sig_verify(id.pk, NULL, (const uint8_t *)"ab", 2, sig), FM_ERR_BADSIG);
  /* What is signed is exactly ctx || 0x00 || msg, as the header says. */
  memcpy(framed, "a\0b", 3);
  assert_int_equal(fm_sig_verify(id.pk, NULL, framed, 3, sig), 0);

  fm_identity_wipe(&id);
  fm_identity_wipe(&other);
}

static void test_crypto_sign_refuses_oversize(void **state) {
  uint8_t seed[32] = {1}, sig[64];
  fm_identity id;
  uint8_t *big = calloc(1, FM_SIGN_MAX + 1);
  assert_non_null(big);
  assert_int_equal(fm_identity_from_seed(&id, seed), 0);
  assert_int_equal(fm_identity_sign(&id, FM_CTX_ENTRY, big, FM_SIGN_MAX, sig), 0);
  assert_int_equal(fm_sig_verify(id.pk, FM_CTX_ENTRY, big, FM_SIGN_MAX, sig), 0);
  assert_int_equal(fm_identity_sign(&id, FM_CTX_ENTRY, big, FM_SIGN_MAX + 1, sig),
                   FM_ERR_TOOBIG);
  assert_int_equal(fm_sig_verify(id.pk, FM_CTX_ENTRY, big, FM_SIGN_MAX + 1, sig),
                   FM_ERR_TOOBIG);
  assert_int_equal(fm_identity_sign(&id, NULL, big, FM_SIGN_MAX + 1, sig), FM_ERR_TOOBIG);
  free(big);
  fm_identity_wipe(&id);
  /* Wiping leaves no key behind. */
  static const uint8_t zero[sizeof id] = {0};
  assert_memory_equal(&id, zero, sizeof id);
}

/* ---- BLAKE2b ------------------------------------------------------------- */

static void test_crypto_blake2b_reference_kat(void **state) {
  json *doc = load("blake2b-kat.json");
  size_t keyed = 0, unkeyed = 0;
  assert_int_equal(json_len(doc), 512);
  for (size_t i = 0; i < json_len(doc); i++) {
    const json *v = json_at(doc, i);
    uint8_t in[256], key[64], want[64], got[64];
    assert_string_equal(json_str(json_get(v, "hash")), "blake2b");
    size_t n = hex_member(v, "in", in, sizeof in, SIZE_MAX);
    size_t kn = hex_member(v, "key", key, sizeof key, SIZE_MAX);
    hex_member(v, "out", want, sizeof want, 64);
    uint8_t *m = heap_copy(in, n);
    fm_blake2b(got, sizeof got, m, n, kn ? key : NULL, kn);
    if (memcmp(got, want, 64) != 0) fail_msg("KAT %zu (in %zu bytes, key %zu) differs", i, n, kn);
    free(m);
    if (kn) {
      assert_int_equal(kn, 64);
      keyed++;
    } else {
      unkeyed++;
    }
  }
  assert_int_equal(unkeyed, 256);
  assert_int_equal(keyed, 256);
  json_free(doc);
}

static void test_crypto_blake2b_rfc7693(void **state) {
  json *doc = load("blake2b-rfc7693.json");
  const json *vs = json_get(doc, "vectors");
  size_t checked = 0;
  assert_int_equal(json_len(vs), 1);
  for (size_t i = 0; i < json_len(vs); i++) {
    const json *v = json_at(vs, i);
    uint8_t in[64], want[64], got[64];
    int64_t outlen = 0;
    size_t n = hex_member(v, "in", in, sizeof in, SIZE_MAX);
    assert_int_equal(json_int(json_get(v, "outlen"), &outlen), 0);
    assert_int_equal(outlen, 64);
    hex_member(v, "out", want, sizeof want, 64);
    assert_int_equal(json_len(json_get(v, "key")), 0);
    fm_blake2b(got, (size_t)outlen, in, n, NULL, 0);
    assert_memory_equal(got, want, 64);
    checked++;
  }
  assert_int_equal(checked, 1);
  /* The digest length is a parameter of BLAKE2b, not a truncation: the
   * 256-bit digest of "abc" (our entry ids) is not a prefix of the above. */
  static const uint8_t abc_256[32] = {
      0xbd, 0xdd, 0x81, 0x3c, 0x63, 0x42, 0x39, 0x72, 0x31, 0x71, 0xef,
      0x3f, 0xee, 0x98, 0x57, 0x9b, 0x94, 0x96, 0x4e, 0x3b, 0xb1, 0xcb,
      0x3e, 0x42, 0x72, 0x62, 0xc8, 0xc0, 0x68, 0xd5, 0x23, 0x19};
  uint8_t got[32], full[64];
  fm_blake2b(got, 32, (const uint8_t *)"abc", 3, NULL, 0);
  assert_memory_equal(got, abc_256, 32);
  fm_blake2b(full, 64, (const uint8_t *)"abc", 3, NULL, 0);
  assert_memory_not_equal(got, full, 32);
  json_free(doc);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_crypto_ed25519_rfc8032_vectors),
      cmocka_unit_test(test_crypto_ed25519_wycheproof),
      cmocka_unit_test(test_crypto_sign_with_context_needs_that_context),
      cmocka_unit_test(test_crypto_sign_refuses_oversize),
      cmocka_unit_test(test_crypto_blake2b_reference_kat),
      cmocka_unit_test(test_crypto_blake2b_rfc7693),
  };
  if (sodium_init() < 0) return 1;
  return cmocka_run_group_tests(tests, NULL, NULL);
}
