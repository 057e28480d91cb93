/* Presence notes: what is signed reads back the same; any changed,
 * truncated, oversized or wrongly signed note is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fieldmesh/error.h"
#include "fieldmesh/presence.h"
#include "fieldmesh/pset.h"
#include "fieldmesh/skew.h"

static void make_id(fm_identity *id, uint8_t seed_byte) {
  uint8_t seed[32];
  memset(seed, seed_byte, sizeof seed);
  assert_int_equal(fm_identity_from_seed(id, seed), 0);
}

/* A note with every field in use, heads and met full. */
static void make_note(fm_presence *p, const fm_identity *id) {
  memset(p, 0, sizeof *p);
  memcpy(p->device, id->pk, FM_KEY_LEN);
  p->wall = 1796000000000LL;
  p->head_seq = 412;
  p->only_here = 12;
  memset(p->vdigest, 0xab, sizeof p->vdigest);
  p->authors = 40;
  p->nheads = FM_PRESENCE_HEADS_MAX;
  for (uint32_t i = 0; i < p->nheads; i++) {
    memset(p->heads[i].prefix, (int)(i * 9 + 1), FM_PRESENCE_PREFIX_LEN);
    p->heads[i].seq = 100000 + i;
  }
  strcpy(p->version, "fieldmesh 0.9.0-rc.1+abcdef0123");
  p->clock_offset = -3500;
  p->free_kib = 12ULL * 1024 * 1024;
  p->nmet = FM_PRESENCE_MET_MAX;
  for (uint32_t i = 0; i < p->nmet; i++) {
    memset(p->met[i].device, (int)(0x40 + i), FM_KEY_LEN);
    p->met[i].when = p->wall - 60000 * (int64_t)i;
  }
}

static void test_presence_roundtrip_fits(void **state) {
  fm_identity id;
  fm_presence p, q;
  fm_buf b;
  (void)state;
  make_id(&id, 7);
  make_note(&p, &id);
  fm_buf_init(&b, 1 << 16);
  assert_int_equal(fm_presence_sign(&p, &id, &b), 0);
  assert_true(b.len <= FM_PRESENCE_MAX);
  assert_int_equal(fm_presence_parse(b.p, b.len, &q), 0);
  assert_memory_equal(&p, &q, sizeof p);
  /* The same note signs to the same bytes: one encoding. */
  fm_buf c;
  fm_buf_init(&c, 1 << 16);
  assert_int_equal(fm_presence_sign(&q, &id, &c), 0);
  assert_int_equal(c.len, b.len);
  assert_memory_equal(c.p, b.p, b.len);
  fm_buf_free(&b);
  fm_buf_free(&c);
}

static void test_presence_every_mutation_refused(void **state) {
  fm_identity id;
  fm_presence p, q;
  fm_buf b;
  (void)state;
  make_id(&id, 8);
  make_note(&p, &id);
  p.nheads = 3;
  p.nmet = 1;
  fm_buf_init(&b, 1 << 16);
  assert_int_equal(fm_presence_sign(&p, &id, &b), 0);
  for (size_t i = 0; i < b.len; i++)
    for (int bit = 0; bit < 8; bit++) {
      b.p[i] ^= (uint8_t)(1u << bit);
      assert_true(fm_presence_parse(b.p, b.len, &q) < 0);
      b.p[i] ^= (uint8_t)(1u << bit);
    }
  for (size_t n = 0; n < b.len; n++) assert_true(fm_presence_parse(b.p, n, &q) < 0);
  assert_int_equal(fm_presence_parse(b.p, b.len, &q), 0);
  fm_buf_free(&b);
}

/* A note signed by another key, or under another context, is forged. */
static void test_presence_wrong_key_refused(void **state) {
  fm_identity id, other;
  fm_presence p, q;
  fm_buf b;
  (void)state;
  make_id(&id, 9);
  make_id(&other, 10);
  make_note(&p, &id);
  fm_buf_init(&b, 1 << 16);
  assert_int_equal(fm_presence_sign(&p, &other, &b), FM_ERR_INVAL);
  assert_int_equal(fm_presence_sign(&p, &id, &b), 0);
  /* Replace the signature with one by |other| over the same body. */
  fm_rd c;
  uint32_t n;
  const uint8_t *body;
  size_t body_len;
  fm_rd_init(&c, b.p, b.len, 1);
  assert_int_equal(fm_rd_array(&c, &n), 0);
  assert_int_equal(fm_rd_bin(&c, &body, &body_len), 0);
  uint8_t sig[64];
  assert_int_equal(fm_identity_sign(&other, FM_CTX_PRESENCE, body, body_len, sig), 0);
  memcpy(b.p + b.len - 64, sig, 64);
  assert_int_equal(fm_presence_parse(b.p, b.len, &q), FM_ERR_BADSIG);
  assert_int_equal(fm_identity_sign(&id, "fieldmesh entry v1", body, body_len, sig), 0);
  memcpy(b.p + b.len - 64, sig, 64);
  assert_int_equal(fm_presence_parse(b.p, b.len, &q), FM_ERR_BADSIG);
  fm_buf_free(&b);
}

static void test_presence_oversize_refused(void **state) {
  fm_identity id;
  fm_presence p, q;
  fm_buf b;
  (void)state;
  make_id(&id, 11);
  make_note(&p, &id);
  fm_buf_init(&b, 1 << 16);
  p.nheads = FM_PRESENCE_HEADS_MAX + 1;
  assert_int_equal(fm_presence_sign(&p, &id, &b), FM_ERR_INVAL);
  make_note(&p, &id);
  p.heads[2] = p.heads[1];   /* out of key order */
  assert_int_equal(fm_presence_sign(&p, &id, &b), FM_ERR_INVAL);
  make_note(&p, &id);
  assert_int_equal(fm_presence_sign(&p, &id, &b), 0);
  /* Padded past the limit: refused before anything is read. */
  uint8_t *big = calloc(1, FM_PRESENCE_MAX + 1);
  memcpy(big, b.p, b.len);
  assert_int_equal(fm_presence_parse(big, FM_PRESENCE_MAX + 1, &q), FM_ERR_TOOBIG);
  /* Trailing bytes after a good note: malformed. */
  assert_int_equal(fm_presence_parse(big, b.len + 1, &q), FM_ERR_MALFORMED);
  free(big);
  fm_buf_free(&b);
}

static void test_presence_newest_wins(void **state) {
  fm_identity id;
  fm_presence p, q;
  fm_buf a, b;
  (void)state;
  make_id(&id, 12);
  make_note(&p, &id);
  q = p;
  q.wall += 1;
  fm_buf_init(&a, 1 << 16);
  fm_buf_init(&b, 1 << 16);
  assert_int_equal(fm_presence_sign(&p, &id, &a), 0);
  assert_int_equal(fm_presence_sign(&q, &id, &b), 0);
  assert_true(fm_presence_cmp(&q, b.p, b.len, &p, a.p, a.len) > 0);
  assert_true(fm_presence_cmp(&p, a.p, a.len, &q, b.p, b.len) < 0);
  assert_int_equal(fm_presence_cmp(&p, a.p, a.len, &p, a.p, a.len), 0);
  fm_buf_free(&a);
  fm_buf_free(&b);
}

/* A presence set keeps one row per device, in key order, walls only
 * rising; its digest depends on the rows only, not on how they came. */
static void test_pset_rows_and_digest(void **state) {
  fm_pset a, b;
  uint8_t d1[FM_KEY_LEN], d2[FM_KEY_LEN], da[32], db[32];
  static const uint8_t empty[32] = {0x0e, 0x57, 0x51, 0xc0, 0x26, 0xe5, 0x43, 0xb2};
  (void)state;
  memset(d1, 1, sizeof d1);
  memset(d2, 2, sizeof d2);
  fm_pset_init(&a);
  fm_pset_init(&b);
  fm_pset_digest(&a, da);
  assert_memory_equal(da, empty, 8);  /* BLAKE2b-256 of no bytes */
  assert_int_equal(fm_pset_raise(&a, d2, 5), 0);
  assert_int_equal(fm_pset_raise(&a, d1, 7), 0);
  assert_int_equal(fm_pset_raise(&a, d2, 3), 0);  /* lower: no change */
  assert_int_equal(fm_pset_raise(&b, d1, 7), 0);
  assert_int_equal(fm_pset_raise(&b, d2, 5), 0);
  assert_int_equal(a.n, 2);
  assert_memory_equal(a.items[0].device, d1, FM_KEY_LEN);
  assert_true(fm_pset_covers(&a, d2, 5));
  assert_false(fm_pset_covers(&a, d2, 6));
  fm_pset_digest(&a, da);
  fm_pset_digest(&b, db);
  assert_memory_equal(da, db, 32);
  assert_int_equal(fm_pset_raise(&b, d2, 6), 0);
  fm_pset_digest(&b, db);
  assert_memory_not_equal(da, db, 32);
  fm_pset_free(&a);
  fm_pset_free(&b);
}

/* The clock offset is the median over the direct peers measured last:
 * one peer with a wrong clock among three moves it little; a peer
 * measured again replaces its measure; past FM_SKEW_PEERS the oldest
 * measure goes. */
static void test_skew_median_of_recent_peers(void **state) {
  fm_skew k;
  uint8_t peer[FM_KEY_LEN];
  char t[FM_SKEW_TEXT];
  (void)state;
  memset(&k, 0, sizeof k);
  assert_int_equal(fm_skew_median(&k), 0);
  memset(peer, 1, sizeof peer);
  fm_skew_add(&k, peer, 7200000, 10);
  assert_int_equal(fm_skew_median(&k), 7200000);
  peer[0] = 2;
  fm_skew_add(&k, peer, 7200400, 11);
  peer[0] = 3;
  fm_skew_add(&k, peer, -50000000, 12);  /* that peer's clock is wrong */
  assert_int_equal(fm_skew_median(&k), 7200000);
  fm_skew_add(&k, peer, 7200100, 13);    /* measured again: replaced */
  assert_int_equal(k.n, 3);
  assert_int_equal(fm_skew_median(&k), 7200100);
  for (int i = 0; i < FM_SKEW_PEERS; i++) {
    peer[0] = (uint8_t)(10 + i);
    fm_skew_add(&k, peer, -1000, 20 + i);
  }
  assert_int_equal(k.n, FM_SKEW_PEERS);
  assert_int_equal(fm_skew_median(&k), -1000);
  fm_skew_text(7200000, t);
  assert_string_equal(t, "+2h00m");
  fm_skew_text(-45999, t);
  assert_string_equal(t, "-45s");
  fm_skew_text(200000, t);
  assert_string_equal(t, "+3m20s");
  fm_skew_text(-(3 * 86400000LL + 4 * 3600000LL), t);
  assert_string_equal(t, "-3d04h");
  fm_skew_text(999, t);
  assert_string_equal(t, "0s");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_presence_roundtrip_fits),
      cmocka_unit_test(test_presence_every_mutation_refused),
      cmocka_unit_test(test_presence_wrong_key_refused),
      cmocka_unit_test(test_presence_oversize_refused),
      cmocka_unit_test(test_presence_newest_wins),
      cmocka_unit_test(test_pset_rows_and_digest),
      cmocka_unit_test(test_skew_median_of_recent_peers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
