/* Entries: the canonical encoding, strict decoding of hostile bytes, the
 * limits (include/fieldmesh/entry.h), the signature and the id.
 *
 * Every input handed to fm_entry_decode() is copied into a heap buffer of
 * its exact length, so that AddressSanitizer catches any read past it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "fieldmesh/entry.h"
#include "fieldmesh/error.h"

#define HLC0 fm_hlc_make(1700000000000ULL, 7) /* a fixed stamp: 2023-11-14 */
#define BUF_MAX (64 * 1024)

static void ident(fm_identity *id, uint8_t n) {
  uint8_t seed[32];
  memset(seed, n, sizeof seed);
  assert_int_equal(fm_identity_from_seed(id, seed), 0);
}

static uint8_t *heap_copy(const uint8_t *p, size_t n) {
  uint8_t *h = malloc(n ? n : 1);
  assert_non_null(h);
  if (n) memcpy(h, p, n);
  return h;
}

/* Decodes a heap copy of |n| bytes of |p|; on success also verifies.
 * Returns the first error, or 0 when the entry is accepted. */
static int decode_verify(const uint8_t *p, size_t n, const fm_limits *lim) {
  fm_entry e;
  uint8_t *h = heap_copy(p, n);
  int rv = fm_entry_decode(h, n, lim, &e);
  if (rv == 0) rv = fm_entry_verify(&e);
  free(h);
  return rv;
}

static int decode_only(const uint8_t *p, size_t n, const fm_limits *lim) {
  fm_entry e;
  uint8_t *h = heap_copy(p, n);
  int rv = fm_entry_decode(h, n, lim, &e);
  free(h);
  return rv;
}

/* A visit as a field worker records it: nine keys, Vietnamese text. */
static void visit_body(fm_buf *b) {
  fm_wr w;
  fm_buf_init(b, BUF_MAX);
  fm_wr_init(&w, b);
  fm_wr_map(&w, 9);
  fm_wr_cstr(&w, "id");
  fm_wr_cstr(&w, "V-01HF7K2M3N4P5Q6R");
  fm_wr_cstr(&w, "team");
  fm_wr_cstr(&w, "Team 1");
  fm_wr_cstr(&w, "village");
  fm_wr_cstr(&w, "Nghĩa Tân");
  fm_wr_cstr(&w, "place");
  fm_wr_cstr(&w, "Nhà bà Lan, xóm 3");
  fm_wr_cstr(&w, "date");
  fm_wr_cstr(&w, "2023-11-14");
  fm_wr_cstr(&w, "mode");
  fm_wr_cstr(&w, "home");
  fm_wr_cstr(&w, "services");
  fm_wr_array(&w, 2);
  fm_wr_cstr(&w, "account_created");
  fm_wr_cstr(&w, "eid_activated");
  fm_wr_cstr(&w, "citizens");
  fm_wr_uint(&w, 3);
  fm_wr_cstr(&w, "note");
  fm_wr_cstr(&w, "Hướng dẫn cài ứng dụng VNeID cho hai cụ.");
  assert_int_equal(fm_buf_error(b), 0);
}

/* The entry every test starts from: author 1, seq 1, kind visit. */
static void valid_entry(fm_buf *out, fm_identity *id) {
  fm_buf body;
  ident(id, 1);
  visit_body(&body);
  fm_buf_init(out, BUF_MAX);
  assert_int_equal(fm_entry_build(out, id, 1, NULL, HLC0, "visit", body.p, body.len), 0);
  fm_buf_free(&body);
}

/* Encodes U by hand, with fields fm_entry_build() would refuse, and signs
 * it properly: a refusal then comes from the structure, not the signature.
 * |prev| NULL writes nil. */
static void raw_entry(fm_buf *out, const fm_identity *id, uint64_t version,
                      uint64_t seq, const uint8_t *prev, const char *kind,
                      const uint8_t *body, size_t body_len) {
  fm_wr w;
  uint8_t sig[FM_SIG_LEN];
  fm_buf_init(out, BUF_MAX);
  fm_wr_init(&w, out);
  fm_wr_array(&w, 7);
  fm_wr_uint(&w, version);
  fm_wr_bin(&w, id->pk, FM_KEY_LEN);
  fm_wr_uint(&w, seq);
  if (prev) fm_wr_bin(&w, prev, FM_ID_LEN);
  else fm_wr_nil(&w);
  fm_wr_uint(&w, HLC0);
  fm_wr_cstr(&w, kind);
  fm_wr_raw(&w, body, body_len);
  assert_int_equal(fm_buf_error(out), 0);
  assert_int_equal(fm_identity_sign(id, FM_CTX_ENTRY, out->p, out->len, sig), 0);
  fm_wr_bin(&w, sig, FM_SIG_LEN);
  assert_int_equal(fm_buf_error(out), 0);
}

/* Builds (through fm_entry_build) an entry around |body| and returns its
 * code; also checks that a hand-signed copy decodes to the same code. */
static int build_with_body(const uint8_t *body, size_t len) {
  fm_identity id;
  fm_buf out, raw;
  ident(&id, 1);
  fm_buf_init(&out, BUF_MAX);
  int rv = fm_entry_build(&out, &id, 1, NULL, HLC0, "visit", body, len);
  raw_entry(&raw, &id, FM_ENTRY_VERSION, 1, NULL, "visit", body, len);
  assert_int_equal(decode_verify(raw.p, raw.len, NULL), rv);
  fm_buf_free(&out);
  fm_buf_free(&raw);
  return rv;
}

/* ---- the happy path ------------------------------------------------------ */

static void test_entry_build_decodes_and_verifies(void **state) {
  fm_identity id;
  fm_buf b, body, second;
  fm_entry e;
  uint8_t id1[FM_ID_LEN];
  valid_entry(&b, &id);
  visit_body(&body);

  assert_int_equal(fm_entry_decode(b.p, b.len, NULL, &e), 0);
  assert_int_equal(fm_entry_verify(&e), 0);
  assert_ptr_equal(e.bytes, b.p);
  assert_int_equal(e.len, b.len);
  /* The signature is the last value: bin 8 header (2 bytes) + 64. */
  assert_int_equal(e.signed_len + 2 + FM_SIG_LEN, b.len);
  assert_ptr_equal(e.sig, b.p + b.len - FM_SIG_LEN);
  assert_memory_equal(e.author, id.pk, FM_KEY_LEN);
  assert_int_equal(e.seq, 1);
  assert_int_equal(e.has_prev, 0);
  assert_int_equal(e.hlc, HLC0);
  assert_true(fm_entry_is(&e, "visit"));
  assert_false(fm_entry_is(&e, "visi"));
  assert_false(fm_entry_is(&e, "visit.void"));
  /* The body is stored exactly as given. */
  assert_int_equal(e.body_len, body.len);
  assert_memory_equal(e.body, body.p, body.len);
  /* The signature is over the context, a NUL, then U. */
  assert_int_equal(fm_sig_verify(id.pk, FM_CTX_ENTRY, b.p, e.signed_len, e.sig), 0);
  assert_int_equal(fm_sig_verify(id.pk, NULL, b.p, e.signed_len, e.sig), FM_ERR_BADSIG);

  /* The next entry chains on the id of this one. */
  fm_entry_id(b.p, b.len, id1);
  fm_buf_init(&second, BUF_MAX);
  assert_int_equal(fm_entry_build(&second, &id, 2, id1, HLC0 + 1, "visit",
                                  body.p, body.len), 0);
  assert_int_equal(fm_entry_decode(second.p, second.len, NULL, &e), 0);
  assert_int_equal(fm_entry_verify(&e), 0);
  assert_int_equal(e.seq, 2);
  assert_int_equal(e.has_prev, 1);
  assert_memory_equal(e.prev, id1, FM_ID_LEN);
  assert_int_equal(e.hlc, HLC0 + 1);

  /* Building is deterministic (Ed25519 signatures are). */
  fm_buf again;
  fm_buf_init(&again, BUF_MAX);
  assert_int_equal(fm_entry_build(&again, &id, 1, NULL, HLC0, "visit", body.p, body.len), 0);
  assert_int_equal(again.len, b.len);
  assert_memory_equal(again.p, b.p, b.len);

  fm_buf_free(&again);
  fm_buf_free(&second);
  fm_buf_free(&body);
  fm_buf_free(&b);
}

static void test_entry_build_refuses_bad_arguments(void **state) {
  fm_identity id;
  fm_buf out, body;
  uint8_t prev[FM_ID_LEN] = {1};
  ident(&id, 1);
  visit_body(&body);
  fm_buf_init(&out, BUF_MAX);
  assert_int_equal(fm_entry_build(&out, &id, 1, prev, HLC0, "visit", body.p, body.len),
                   FM_ERR_INVAL);
  assert_int_equal(fm_entry_build(&out, &id, 2, NULL, HLC0, "visit", body.p, body.len),
                   FM_ERR_INVAL);
  assert_int_equal(fm_entry_build(&out, &id, 0, NULL, HLC0, "visit", body.p, body.len),
                   FM_ERR_INVAL);
  /* An empty kind, or one over FM_KIND_MAX, would not decode. */
  assert_int_equal(fm_entry_build(&out, &id, 1, NULL, HLC0, "", body.p, body.len),
                   FM_ERR_MALFORMED);
  char kind[FM_KIND_MAX + 2];
  memset(kind, 'k', sizeof kind - 1);
  kind[sizeof kind - 1] = 0;
  assert_int_equal(fm_entry_build(&out, &id, 1, NULL, HLC0, kind, body.p, body.len),
                   FM_ERR_MALFORMED);
  kind[FM_KIND_MAX] = 0;
  assert_int_equal(fm_entry_build(&out, &id, 1, NULL, HLC0, kind, body.p, body.len), 0);
  /* A body that is not a map. */
  static const uint8_t arr[] = {0x90};
  assert_int_equal(fm_entry_build(&out, &id, 1, NULL, HLC0, "visit", arr, 1),
                   FM_ERR_MALFORMED);
  fm_buf_free(&out);
  fm_buf_free(&body);
}

/* ---- hostile bytes ------------------------------------------------------- */

static void test_entry_rejects_every_flipped_byte(void **state) {
  static const uint8_t masks[3] = {0x01, 0x80, 0xff};
  fm_identity id;
  fm_buf b;
  size_t tried = 0, by_decode = 0, by_verify = 0;
  valid_entry(&b, &id);
  uint8_t *h = heap_copy(b.p, b.len);
  for (size_t i = 0; i < b.len; i++) {
    for (int m = 0; m < 3; m++) {
      fm_entry e;
      h[i] ^= masks[m];
      int rv = fm_entry_decode(h, b.len, NULL, &e);
      tried++;
      if (rv < 0) {
        by_decode++;
      } else {
        int vr = fm_entry_verify(&e);
        if (vr != FM_ERR_BADSIG)
          fail_msg("byte %zu ^ 0x%02x accepted (verify %d)", i, masks[m], vr);
        by_verify++;
      }
      h[i] ^= masks[m];
    }
  }
  assert_int_equal(tried, 3 * b.len);
  assert_int_equal(by_decode + by_verify, 3 * b.len);
  /* Flips inside the 64 signature bytes leave the structure intact and must
   * be caught by the signature itself. */
  assert_true(by_verify >= 3 * FM_SIG_LEN);
  /* The untouched copy still passes: the loop restored every byte. */
  assert_int_equal(decode_verify(h, b.len, NULL), 0);
  free(h);
  fm_buf_free(&b);
}

static void test_entry_rejects_every_truncation(void **state) {
  fm_identity id;
  fm_buf b;
  size_t refused = 0;
  valid_entry(&b, &id);
  for (size_t n = 0; n < b.len; n++) {
    int rv = decode_only(b.p, n, NULL);
    if (rv == 0) fail_msg("prefix of %zu of %zu bytes accepted", n, b.len);
    assert_int_equal(rv, FM_ERR_MALFORMED);
    refused++;
  }
  assert_int_equal(refused, b.len);
  assert_int_equal(decode_verify(b.p, b.len, NULL), 0);
  fm_buf_free(&b);
}

static void test_entry_rejects_trailing_bytes(void **state) {
  static const uint8_t tails[][2] = {{0xc0}, {0x00}, {0x90}, {0xc4, 0x00}};
  static const size_t tail_len[] = {1, 1, 1, 2};
  fm_identity id;
  fm_buf b;
  valid_entry(&b, &id);
  for (size_t t = 0; t < 4; t++) {
    uint8_t *h = malloc(b.len + tail_len[t]);
    assert_non_null(h);
    memcpy(h, b.p, b.len);
    memcpy(h + b.len, tails[t], tail_len[t]);
    assert_int_equal(decode_only(h, b.len + tail_len[t], NULL), FM_ERR_MALFORMED);
    free(h);
  }
  /* A second signature after the first is trailing bytes too. */
  uint8_t *two = malloc(b.len + 2 + FM_SIG_LEN);
  assert_non_null(two);
  memcpy(two, b.p, b.len);
  memcpy(two + b.len, b.p + b.len - 2 - FM_SIG_LEN, 2 + FM_SIG_LEN);
  assert_int_equal(decode_only(two, b.len + 2 + FM_SIG_LEN, NULL), FM_ERR_MALFORMED);
  free(two);
  fm_buf_free(&b);
}

static void test_entry_refuses_bad_header_fields(void **state) {
  fm_identity id;
  fm_buf body, b;
  uint8_t prev[FM_ID_LEN];
  ident(&id, 1);
  visit_body(&body);
  memset(prev, 0xab, sizeof prev);

  /* The well-formed baselines, signed by the same hand-encoder. */
  raw_entry(&b, &id, FM_ENTRY_VERSION, 1, NULL, "visit", body.p, body.len);
  assert_int_equal(decode_verify(b.p, b.len, NULL), 0);
  fm_buf_free(&b);
  raw_entry(&b, &id, FM_ENTRY_VERSION, 2, prev, "visit", body.p, body.len);
  assert_int_equal(decode_verify(b.p, b.len, NULL), 0);
  fm_buf_free(&b);

  /* seq 1 has no predecessor; seq 2 must name one. */
  raw_entry(&b, &id, FM_ENTRY_VERSION, 1, prev, "visit", body.p, body.len);
  assert_int_equal(decode_verify(b.p, b.len, NULL), FM_ERR_MALFORMED);
  fm_buf_free(&b);
  raw_entry(&b, &id, FM_ENTRY_VERSION, 2, NULL, "visit", body.p, body.len);
  assert_int_equal(decode_verify(b.p, b.len, NULL), FM_ERR_MALFORMED);
  fm_buf_free(&b);
  raw_entry(&b, &id, FM_ENTRY_VERSION, 0, NULL, "visit", body.p, body.len);
  assert_int_equal(decode_verify(b.p, b.len, NULL), FM_ERR_MALFORMED);
  fm_buf_free(&b);

  /* A format we do not know is its own error, so a peer can say so. */
  raw_entry(&b, &id, 2, 1, NULL, "visit", body.p, body.len);
  assert_int_equal(decode_verify(b.p, b.len, NULL), FM_ERR_VERSION);
  fm_buf_free(&b);
  raw_entry(&b, &id, 0, 1, NULL, "visit", body.p, body.len);
  assert_int_equal(decode_verify(b.p, b.len, NULL), FM_ERR_VERSION);
  fm_buf_free(&b);

  /* Kind: 1 to FM_KIND_MAX bytes of UTF-8. */
  raw_entry(&b, &id, FM_ENTRY_VERSION, 1, NULL, "", body.p, body.len);
  assert_int_equal(decode_verify(b.p, b.len, NULL), FM_ERR_MALFORMED);
  fm_buf_free(&b);
  raw_entry(&b, &id, FM_ENTRY_VERSION, 1, NULL, "\xc0\x80", body.p, body.len);
  assert_int_equal(decode_verify(b.p, b.len, NULL), FM_ERR_MALFORMED);
  fm_buf_free(&b);

  /* The body must be a map. */
  static const uint8_t not_map[] = {0x91, 0x01};
  raw_entry(&b, &id, FM_ENTRY_VERSION, 1, NULL, "visit", not_map, sizeof not_map);
  assert_int_equal(decode_verify(b.p, b.len, NULL), FM_ERR_MALFORMED);
  fm_buf_free(&b);
  fm_buf_free(&body);
}

/* Replaces |from_len| bytes at |at| in U of |b| (which must hold |from|)
 * by |to|, re-signs, and returns the decode-and-verify code. */
static int resigned_with(const fm_buf *b, const fm_identity *id, size_t at,
                         const uint8_t *from, size_t from_len,
                         const uint8_t *to, size_t to_len) {
  fm_entry e;
  fm_buf out;
  fm_wr w;
  uint8_t sig[FM_SIG_LEN];
  assert_int_equal(fm_entry_decode(b->p, b->len, NULL, &e), 0);
  assert_true(at + from_len <= e.signed_len);
  assert_memory_equal(b->p + at, from, from_len);
  fm_buf_init(&out, BUF_MAX);
  fm_wr_init(&w, &out);
  fm_wr_raw(&w, b->p, at);
  fm_wr_raw(&w, to, to_len);
  fm_wr_raw(&w, b->p + at + from_len, e.signed_len - at - from_len);
  assert_int_equal(fm_identity_sign(id, FM_CTX_ENTRY, out.p, out.len, sig), 0);
  fm_wr_bin(&w, sig, FM_SIG_LEN);
  assert_int_equal(fm_buf_error(&out), 0);
  int rv = decode_verify(out.p, out.len, NULL);
  fm_buf_free(&out);
  return rv;
}

static size_t find(const fm_buf *b, const void *needle, size_t n) {
  for (size_t at = 0; at + n <= b->len; at++)
    if (memcmp(b->p + at, needle, n) == 0) return at;
  fail_msg("pattern not found");
  return 0;
}

/* One entry, one encoding: a longer form of the same value is refused even
 * when properly signed. */
static void test_entry_refuses_noncanonical_encoding(void **state) {
  fm_identity id;
  fm_buf b;
  fm_entry e;
  valid_entry(&b, &id);
  assert_int_equal(fm_entry_decode(b.p, b.len, NULL, &e), 0);
  /* U = 97 | version 01 | c4 20 author(32) | seq 01 | c0 | hlc | kind | body */
  static const uint8_t arr7[] = {0x97}, arr7_long[] = {0xdc, 0x00, 0x07};
  assert_int_equal(resigned_with(&b, &id, 0, arr7, 1, arr7_long, 3), FM_ERR_MALFORMED);
  static const uint8_t one[] = {0x01}, one_cc[] = {0xcc, 0x01}, one_cd[] = {0xcd, 0x00, 0x01};
  static const uint8_t one_d0[] = {0xd0, 0x01};
  assert_int_equal(resigned_with(&b, &id, 1, one, 1, one_cc, 2), FM_ERR_MALFORMED);
  assert_int_equal(resigned_with(&b, &id, 1, one, 1, one_d0, 2), FM_ERR_MALFORMED);
  assert_int_equal(resigned_with(&b, &id, 36, one, 1, one_cd, 3), FM_ERR_MALFORMED);
  assert_int_equal(resigned_with(&b, &id, 36, one, 1, one_d0, 2), FM_ERR_MALFORMED);
  /* The author as bin 16. */
  static const uint8_t bin32[] = {0xc4, 0x20}, bin32_long[] = {0xc5, 0x00, 0x20};
  assert_int_equal(resigned_with(&b, &id, 2, bin32, 2, bin32_long, 3), FM_ERR_MALFORMED);
  /* Kind "visit" as str 8. */
  size_t kind_at = (size_t)((const uint8_t *)e.kind - b.p) - 1;
  static const uint8_t kind[] = {0xa5, 'v', 'i', 's', 'i', 't'};
  static const uint8_t kind_long[] = {0xd9, 0x05, 'v', 'i', 's', 'i', 't'};
  assert_int_equal(resigned_with(&b, &id, kind_at, kind, 6, kind_long, 7), FM_ERR_MALFORMED);
  /* The body map (9 keys) as map 16. */
  size_t body_at = (size_t)(e.body - b.p);
  static const uint8_t map9[] = {0x89}, map9_long[] = {0xde, 0x00, 0x09};
  assert_int_equal(resigned_with(&b, &id, body_at, map9, 1, map9_long, 3), FM_ERR_MALFORMED);
  /* Citizens 3 as cc 03, inside the body. */
  static const uint8_t cit[] = {'c', 'i', 't', 'i', 'z', 'e', 'n', 's', 0x03};
  static const uint8_t cit_long[] = {'c', 'i', 't', 'i', 'z', 'e', 'n', 's', 0xcc, 0x03};
  size_t cit_at = find(&b, cit, sizeof cit);
  assert_int_equal(resigned_with(&b, &id, cit_at, cit, 9, cit_long, 10), FM_ERR_MALFORMED);
  /* Control: the same surgery with identical bytes is accepted. */
  assert_int_equal(resigned_with(&b, &id, cit_at, cit, 9, cit, 9), 0);
  assert_int_equal(resigned_with(&b, &id, 36, one, 1, one, 1), 0);
  fm_buf_free(&b);
}

/* ---- limits -------------------------------------------------------------- */

/* A body {"id": "x", "pad": str} whose entry is exactly |target| bytes,
 * made of padding strings within the text limit. */
static void padded_body(fm_buf *body, size_t pad_len) {
  fm_wr w;
  char *pad = malloc(4000);
  assert_non_null(pad);
  memset(pad, 'p', 4000);
  fm_buf_init(body, BUF_MAX);
  fm_wr_init(&w, body);
  fm_wr_map(&w, 6);
  fm_wr_cstr(&w, "id");
  fm_wr_cstr(&w, "V-PAD");
  for (int i = 0; i < 4; i++) {
    char k[3] = {'p', (char)('0' + i), 0};
    fm_wr_cstr(&w, k);
    fm_wr_str(&w, pad, 3900);
  }
  fm_wr_cstr(&w, "tail");
  fm_wr_str(&w, pad, pad_len);
  assert_int_equal(fm_buf_error(body), 0);
  free(pad);
}

/* Hand-signs an entry of exactly |target| bytes. */
static void entry_of_size(fm_buf *out, const fm_identity *id, size_t target) {
  fm_buf body;
  padded_body(&body, 256);
  raw_entry(out, id, FM_ENTRY_VERSION, 1, NULL, "visit", body.p, body.len);
  size_t base = out->len;
  fm_buf_free(&body);
  fm_buf_free(out);
  /* From 256 bytes on the padding string has a 3-byte header, so every
   * extra byte of padding is one extra byte of entry. */
  assert_true(target >= base && target - base + 256 <= 4096);
  padded_body(&body, 256 + (target - base));
  raw_entry(out, id, FM_ENTRY_VERSION, 1, NULL, "visit", body.p, body.len);
  assert_int_equal(out->len, target);
  fm_buf_free(&body);
}

static void test_entry_refuses_over_16k_before_signature(void **state) {
  fm_identity id;
  fm_buf b;
  fm_limits big = fm_limits_default();
  big.entry_max = 32 * 1024;
  ident(&id, 1);
  assert_int_equal(fm_limits_default().entry_max, 16 * 1024);

  entry_of_size(&b, &id, 16 * 1024);
  assert_int_equal(decode_verify(b.p, b.len, NULL), 0);
  fm_buf_free(&b);

  entry_of_size(&b, &id, 16 * 1024 + 1);
  assert_int_equal(decode_verify(b.p, b.len, NULL), FM_ERR_TOOBIG);
  /* Only the size is wrong: with a larger limit it is a good entry. */
  assert_int_equal(decode_verify(b.p, b.len, &big), 0);
  /* Size comes before everything: a broken signature or garbage of the
   * same length are refused as too big, not looked at. */
  b.p[b.len - 1] ^= 0x01;
  assert_int_equal(decode_verify(b.p, b.len, &big), FM_ERR_BADSIG);
  assert_int_equal(decode_only(b.p, b.len, NULL), FM_ERR_TOOBIG);
  memset(b.p, 0xc1, b.len);
  assert_int_equal(decode_only(b.p, b.len, NULL), FM_ERR_TOOBIG);
  assert_int_equal(decode_only(b.p, b.len, &big), FM_ERR_MALFORMED);
  fm_buf_free(&b);

  /* fm_entry_build will not produce what nobody would accept. */
  fm_buf body, out;
  padded_body(&body, 1000);
  fm_buf_init(&out, BUF_MAX);
  assert_int_equal(fm_entry_build(&out, &id, 1, NULL, HLC0, "visit", body.p, body.len),
                   FM_ERR_TOOBIG);
  fm_buf_free(&out);
  fm_buf_free(&body);
}

/* A body {"id": "x", "n": v} where v is |inner| nested containers
 * (alternating arrays and maps, the innermost empty): |inner| + 1 deep. */
static void nested_body(fm_buf *body, int inner) {
  fm_wr w;
  fm_buf_init(body, BUF_MAX);
  fm_wr_init(&w, body);
  fm_wr_map(&w, 2);
  fm_wr_cstr(&w, "id");
  fm_wr_cstr(&w, "V-NEST");
  fm_wr_cstr(&w, "n");
  for (int i = 0; i < inner; i++) {
    int last = i == inner - 1;
    if (i % 2 == 0) {
      fm_wr_array(&w, last ? 0 : 1);
    } else {
      fm_wr_map(&w, last ? 0 : 1);
      if (!last) fm_wr_cstr(&w, "k");
    }
  }
  if (inner == 0) fm_wr_nil(&w);
  assert_int_equal(fm_buf_error(body), 0);
}

static void test_entry_refuses_body_deeper_than_8(void **state) {
  fm_buf body;
  int accepted = 0, refused = 0;
  assert_int_equal(fm_limits_default().depth_max, 8);
  for (int depth = 1; depth <= 12; depth++) {
    nested_body(&body, depth - 1);
    int rv = build_with_body(body.p, body.len);
    if (depth <= 8) {
      assert_int_equal(rv, 0);
      accepted++;
    } else {
      assert_int_equal(rv, FM_ERR_TOOBIG);
      refused++;
    }
    fm_buf_free(&body);
  }
  assert_int_equal(accepted, 8);
  assert_int_equal(refused, 4);

  /* Far too deep (the whole entry allowance of nested arrays) is refused
   * without exhausting the stack. */
  static uint8_t deep[16000];
  static const uint8_t head[] = {0x81, 0xa1, 'n'};
  memcpy(deep, head, sizeof head);
  memset(deep + sizeof head, 0x91, sizeof deep - sizeof head - 1);
  deep[sizeof deep - 1] = 0xc0;
  assert_int_equal(build_with_body(deep, sizeof deep), FM_ERR_TOOBIG);
}

/* {"id": "x", "k0000": 0, ...} with |n| keys in all. */
static void wide_body(fm_buf *body, uint32_t n) {
  fm_wr w;
  fm_buf_init(body, BUF_MAX);
  fm_wr_init(&w, body);
  fm_wr_map(&w, n);
  fm_wr_cstr(&w, "id");
  fm_wr_cstr(&w, "V-WIDE");
  for (uint32_t i = 1; i < n; i++) {
    char k[16];
    snprintf(k, sizeof k, "k%04u", (unsigned)i);
    fm_wr_cstr(&w, k);
    fm_wr_uint(&w, i);
  }
  assert_int_equal(fm_buf_error(body), 0);
}

static void test_entry_refuses_more_than_256_keys(void **state) {
  fm_buf body;
  fm_wr w;
  assert_int_equal(fm_limits_default().keys_max, 256);
  wide_body(&body, 256);
  assert_int_equal(build_with_body(body.p, body.len), 0);
  fm_buf_free(&body);
  wide_body(&body, 257);
  assert_int_equal(build_with_body(body.p, body.len), FM_ERR_TOOBIG);
  fm_buf_free(&body);

  /* The same limit holds for nested maps and for arrays. */
  for (uint32_t n = 256; n <= 257; n++) {
    fm_buf_init(&body, BUF_MAX);
    fm_wr_init(&w, &body);
    fm_wr_map(&w, 2);
    fm_wr_cstr(&w, "id");
    fm_wr_cstr(&w, "V-ARR");
    fm_wr_cstr(&w, "a");
    fm_wr_array(&w, n);
    for (uint32_t i = 0; i < n; i++) fm_wr_uint(&w, i);
    assert_int_equal(build_with_body(body.p, body.len), n == 256 ? 0 : FM_ERR_TOOBIG);
    fm_buf_free(&body);

    fm_buf_init(&body, BUF_MAX);
    fm_wr_init(&w, &body);
    fm_wr_map(&w, 1);
    fm_wr_cstr(&w, "m");
    fm_wr_map(&w, n);
    for (uint32_t i = 0; i < n; i++) {
      char k[16];
      snprintf(k, sizeof k, "k%04u", (unsigned)i);
      fm_wr_cstr(&w, k);
      fm_wr_nil(&w);
    }
    assert_int_equal(build_with_body(body.p, body.len), n == 256 ? 0 : FM_ERR_TOOBIG);
    fm_buf_free(&body);
  }
}

/* {"id": "x", "note": <|n| bytes, as str or bin>} */
static void text_body(fm_buf *body, size_t n, int bin, int as_key) {
  fm_wr w;
  char *s = malloc(n);
  assert_non_null(s);
  memset(s, 'a', n);
  fm_buf_init(body, BUF_MAX);
  fm_wr_init(&w, body);
  fm_wr_map(&w, 2);
  fm_wr_cstr(&w, "id");
  fm_wr_cstr(&w, "V-TEXT");
  if (as_key) {
    fm_wr_str(&w, s, n);
    fm_wr_nil(&w);
  } else {
    fm_wr_cstr(&w, "note");
    if (bin) fm_wr_bin(&w, s, n);
    else fm_wr_str(&w, s, n);
  }
  assert_int_equal(fm_buf_error(body), 0);
  free(s);
}

static void test_entry_refuses_text_over_4k(void **state) {
  fm_buf body;
  assert_int_equal(fm_limits_default().text_max, 4096);
  for (int mode = 0; mode < 3; mode++) { /* str value, bin value, key */
    text_body(&body, 4096, mode == 1, mode == 2);
    assert_int_equal(build_with_body(body.p, body.len), 0);
    fm_buf_free(&body);
    text_body(&body, 4097, mode == 1, mode == 2);
    assert_int_equal(build_with_body(body.p, body.len), FM_ERR_TOOBIG);
    fm_buf_free(&body);
  }
}

static void test_entry_refuses_duplicate_top_level_keys(void **state) {
  /* {"id": "a", "id": "b"} */
  static const uint8_t dup[] = {0x82, 0xa2, 'i', 'd', 0xa1, 'a', 0xa2, 'i', 'd', 0xa1, 'b'};
  assert_int_equal(build_with_body(dup, sizeof dup), FM_ERR_MALFORMED);
  /* {"id": "a", "x": 1, "id": "a"}: same value, still ambiguous. */
  static const uint8_t dup2[] = {0x83, 0xa2, 'i', 'd', 0xa1, 'a', 0xa1, 'x', 0x01,
                                 0xa2, 'i', 'd', 0xa1, 'a'};
  assert_int_equal(build_with_body(dup2, sizeof dup2), FM_ERR_MALFORMED);
  /* A duplicate in a body that also nests too deep is too big: the limits
   * are said first, whichever comes first in the bytes. */
  static const uint8_t dup_deep[] = {0x82, 0xa2, 'i', 'd', 0xa1, 'a', 0xa2, 'i', 'd',
                                     0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x90};
  assert_int_equal(build_with_body(dup_deep, sizeof dup_deep), FM_ERR_TOOBIG);
  /* Keys that share a prefix are different keys. */
  static const uint8_t prefix[] = {0x82, 0xa2, 'i', 'd', 0xa1, 'a', 0xa3, 'i', 'd', 'x', 0xa1, 'b'};
  assert_int_equal(build_with_body(prefix, sizeof prefix), 0);
  /* Only the top level is materialized; nested maps are kept as sent. */
  static const uint8_t nested[] = {0x81, 0xa1, 'm', 0x82, 0xa1, 'k', 0x01, 0xa1, 'k', 0x02};
  assert_int_equal(build_with_body(nested, sizeof nested), 0);
}

static void test_entry_refuses_float_ext_and_odd_keys(void **state) {
  /* {"x": 1.0} as float 32 and float 64. */
  static const uint8_t f32[] = {0x81, 0xa1, 'x', 0xca, 0x3f, 0x80, 0x00, 0x00};
  static const uint8_t f64[] = {0x81, 0xa1, 'x', 0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0};
  /* A float deep inside an array. */
  static const uint8_t f_in[] = {0x81, 0xa1, 'x', 0x92, 0x01, 0xca, 0x3f, 0x80, 0x00, 0x00};
  /* {"x": ext 1 (fixext 1)} and {"x": timestamp 32}. */
  static const uint8_t ext[] = {0x81, 0xa1, 'x', 0xd4, 0x01, 0x10};
  static const uint8_t ts[] = {0x81, 0xa1, 'x', 0xd6, 0xff, 0x5a, 0x4a, 0xf6, 0xa5};
  /* {1: "x"} and {nil: 1}: keys are strings. */
  static const uint8_t int_key[] = {0x81, 0x01, 0xa1, 'x'};
  static const uint8_t nil_key[] = {0x81, 0xc0, 0x01};
  /* {"x": "\xc0\x80"}: an overlong NUL is not UTF-8. */
  static const uint8_t bad_utf8[] = {0x81, 0xa1, 'x', 0xa2, 0xc0, 0x80};
  /* {"x": c1}: a reserved byte. */
  static const uint8_t reserved[] = {0x81, 0xa1, 'x', 0xc1};
  assert_int_equal(build_with_body(f32, sizeof f32), FM_ERR_MALFORMED);
  assert_int_equal(build_with_body(f64, sizeof f64), FM_ERR_MALFORMED);
  assert_int_equal(build_with_body(f_in, sizeof f_in), FM_ERR_MALFORMED);
  assert_int_equal(build_with_body(ext, sizeof ext), FM_ERR_MALFORMED);
  assert_int_equal(build_with_body(ts, sizeof ts), FM_ERR_MALFORMED);
  assert_int_equal(build_with_body(int_key, sizeof int_key), FM_ERR_MALFORMED);
  assert_int_equal(build_with_body(nil_key, sizeof nil_key), FM_ERR_MALFORMED);
  assert_int_equal(build_with_body(bad_utf8, sizeof bad_utf8), FM_ERR_MALFORMED);
  assert_int_equal(build_with_body(reserved, sizeof reserved), FM_ERR_MALFORMED);
  /* Everything a body may hold, together, is accepted:
   * {"n": nil, "t": true, "i": -5, "u": 2^40, "b": bin 2, "a": [], "m": {}} */
  static const uint8_t all[] = {0x87, 0xa1, 'n', 0xc0, 0xa1, 't', 0xc3, 0xa1, 'i', 0xfb,
                                0xa1, 'u', 0xcf, 0, 0, 0, 0x01, 0, 0, 0, 0,
                                0xa1, 'b', 0xc4, 0x02, 0x00, 0xff, 0xa1, 'a', 0x90,
                                0xa1, 'm', 0x80};
  assert_int_equal(build_with_body(all, sizeof all), 0);
}

static void test_entry_id_is_blake2b_256_of_bytes(void **state) {
  fm_identity id;
  fm_buf b;
  uint8_t got[FM_ID_LEN], want[FM_ID_LEN], other[FM_ID_LEN];
  valid_entry(&b, &id);
  fm_entry_id(b.p, b.len, got);
  /* Checked against libsodium directly, not through fm_blake2b. */
  assert_int_equal(crypto_generichash(want, sizeof want, b.p, b.len, NULL, 0), 0);
  assert_memory_equal(got, want, FM_ID_LEN);
  /* The id covers the signature too: it names the stored bytes. */
  b.p[b.len - 1] ^= 0x01;
  fm_entry_id(b.p, b.len, other);
  assert_memory_not_equal(got, other, FM_ID_LEN);
  /* And the known empty-input digest pins the output length to 32. */
  static const uint8_t empty_256[32] = {
      0x0e, 0x57, 0x51, 0xc0, 0x26, 0xe5, 0x43, 0xb2, 0xe8, 0xab, 0x2e,
      0xb0, 0x60, 0x99, 0xda, 0xa1, 0xd1, 0xe5, 0xdf, 0x47, 0x77, 0x8f,
      0x77, 0x87, 0xfa, 0xab, 0x45, 0xcd, 0xf1, 0x2f, 0xe3, 0xa8};
  fm_entry_id((const uint8_t *)"", 0, got);
  assert_memory_equal(got, empty_256, 32);
  fm_buf_free(&b);
}

static void test_entry_limits_can_be_lowered(void **state) {
  fm_identity id;
  fm_buf b, body;
  fm_limits lim;
  valid_entry(&b, &id);
  size_t len = b.len;

  lim = fm_limits_default();
  lim.entry_max = len;
  assert_int_equal(decode_verify(b.p, len, &lim), 0);
  lim.entry_max = len - 1;
  assert_int_equal(decode_verify(b.p, len, &lim), FM_ERR_TOOBIG);
  lim.entry_max = 100;
  assert_int_equal(decode_verify(b.p, len, &lim), FM_ERR_TOOBIG);
  fm_buf_free(&b);

  /* depth: the visit body is 2 deep (the services array). */
  valid_entry(&b, &id);
  lim = fm_limits_default();
  lim.depth_max = 2;
  assert_int_equal(decode_verify(b.p, b.len, &lim), 0);
  lim.depth_max = 1;
  assert_int_equal(decode_verify(b.p, b.len, &lim), FM_ERR_TOOBIG);
  /* keys: the visit body has 9. */
  lim = fm_limits_default();
  lim.keys_max = 9;
  assert_int_equal(decode_verify(b.p, b.len, &lim), 0);
  lim.keys_max = 8;
  assert_int_equal(decode_verify(b.p, b.len, &lim), FM_ERR_TOOBIG);
  /* text: the longest string is the note. */
  const char *note;
  size_t note_len;
  visit_body(&body);
  assert_int_equal(fm_body_str(body.p, body.len, "note", &note, &note_len), 0);
  lim = fm_limits_default();
  lim.text_max = note_len;
  assert_int_equal(decode_verify(b.p, b.len, &lim), 0);
  lim.text_max = note_len - 1;
  assert_int_equal(decode_verify(b.p, b.len, &lim), FM_ERR_TOOBIG);
  fm_buf_free(&body);
  fm_buf_free(&b);
}

static void test_entry_body_readers_find_fields(void **state) {
  fm_buf body;
  const char *s;
  size_t n;
  uint64_t v;
  visit_body(&body);
  assert_int_equal(fm_body_str(body.p, body.len, "village", &s, &n), 0);
  assert_int_equal(n, strlen("Nghĩa Tân"));
  assert_memory_equal(s, "Nghĩa Tân", n);
  assert_int_equal(fm_body_uint(body.p, body.len, "citizens", &v), 0);
  assert_int_equal(v, 3);
  assert_int_equal(fm_body_str(body.p, body.len, "citizens", &s, &n), FM_ERR_MALFORMED);
  assert_int_equal(fm_body_uint(body.p, body.len, "village", &v), FM_ERR_MALFORMED);
  assert_int_equal(fm_body_str(body.p, body.len, "absent", &s, &n), FM_ERR_NOTFOUND);
  /* "note" comes after the services array: the search skips it. */
  assert_int_equal(fm_body_str(body.p, body.len, "note", &s, &n), 0);
  assert_memory_equal(s, "Hướng dẫn", strlen("Hướng dẫn"));
  fm_buf_free(&body);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_entry_build_decodes_and_verifies),
      cmocka_unit_test(test_entry_build_refuses_bad_arguments),
      cmocka_unit_test(test_entry_rejects_every_flipped_byte),
      cmocka_unit_test(test_entry_rejects_every_truncation),
      cmocka_unit_test(test_entry_rejects_trailing_bytes),
      cmocka_unit_test(test_entry_refuses_bad_header_fields),
      cmocka_unit_test(test_entry_refuses_noncanonical_encoding),
      cmocka_unit_test(test_entry_refuses_over_16k_before_signature),
      cmocka_unit_test(test_entry_refuses_body_deeper_than_8),
      cmocka_unit_test(test_entry_refuses_more_than_256_keys),
      cmocka_unit_test(test_entry_refuses_text_over_4k),
      cmocka_unit_test(test_entry_refuses_duplicate_top_level_keys),
      cmocka_unit_test(test_entry_refuses_float_ext_and_odd_keys),
      cmocka_unit_test(test_entry_id_is_blake2b_256_of_bytes),
      cmocka_unit_test(test_entry_limits_can_be_lowered),
      cmocka_unit_test(test_entry_body_readers_find_fields),
  };
  if (sodium_init() < 0) return 1;
  return cmocka_run_group_tests(tests, NULL, NULL);
}
