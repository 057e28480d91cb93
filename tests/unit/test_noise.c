/* The Noise handshake and transport cipher: the public test vectors, then
 * tampering, replay, truncation, order, limits and fresh-key handshakes. */
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
#include "fieldmesh/noise.h"
#include "json.h"

#define BIG FM_NOISE_MAX_MSG
#define PROLOGUE "fieldmesh test prologue"

/* ---- helpers ---------------------------------------------------------- */

static size_t hexv(const json *v, uint8_t *out, size_t cap) {
  size_t n = 0;
  assert_int_equal(json_hex(v, out, cap, &n), 0);
  return n;
}

static void hex32(const json *v, uint8_t out[32]) {
  assert_int_equal(hexv(v, out, 32), 32);
}

static void pub_of(const uint8_t sk[32], uint8_t pk[32]) {
  assert_int_equal(crypto_scalarmult_base(pk, sk), 0);
}

/* Two sides of one handshake.  Keys come from |seed|, so a failure can be
 * replayed. */
typedef struct peers {
  uint8_t is[32], ie[32], rs[32], re[32]; /* private keys */
  fm_noise_hs i, r;
} peers;

static void peers_init(peers *p, const uint8_t seed[32]) {
  uint8_t k[128];
  randombytes_buf_deterministic(k, sizeof k, seed);
  memcpy(p->is, k, 32);
  memcpy(p->ie, k + 32, 32);
  memcpy(p->rs, k + 64, 32);
  memcpy(p->re, k + 96, 32);
  sodium_memzero(k, sizeof k);
  assert_int_equal(fm_noise_hs_init(&p->i, 1, (const uint8_t *)PROLOGUE,
                                    strlen(PROLOGUE), p->is, p->ie), 0);
  assert_int_equal(fm_noise_hs_init(&p->r, 0, (const uint8_t *)PROLOGUE,
                                    strlen(PROLOGUE), p->rs, p->re), 0);
}

static void peers_fixed(peers *p, uint8_t n) {
  uint8_t seed[32] = {n};
  peers_init(p, seed);
}

static void peers_wipe(peers *p) { sodium_memzero(p, sizeof *p); }

/* |from| writes a message with payload |text|, into |msg|. */
static size_t put(fm_noise_hs *from, const char *text, uint8_t msg[BIG]) {
  size_t n = 0;
  assert_int_equal(fm_noise_hs_write(from, (const uint8_t *)text,
                                     strlen(text), msg, BIG, &n), 0);
  return n;
}

/* |to| reads |msg| and must find |text| in it. */
static void take(fm_noise_hs *to, const uint8_t *msg, size_t len,
                 const char *text) {
  uint8_t pt[BIG];
  size_t n = 0;
  assert_int_equal(fm_noise_hs_read(to, msg, len, pt, sizeof pt, &n), 0);
  assert_int_equal(n, strlen(text));
  assert_memory_equal(pt, text, n);
}

static int read_rv(fm_noise_hs *to, const uint8_t *msg, size_t len) {
  uint8_t pt[BIG];
  size_t n = 0;
  return fm_noise_hs_read(to, msg, len, pt, sizeof pt, &n);
}

static void handshake(peers *p) {
  uint8_t m[BIG];
  take(&p->r, m, put(&p->i, "one", m), "one");
  take(&p->i, m, put(&p->r, "two", m), "two");
  take(&p->r, m, put(&p->i, "three", m), "three");
  assert_true(fm_noise_hs_done(&p->i));
  assert_true(fm_noise_hs_done(&p->r));
}

static void expect_failed(fm_noise_hs *hs) {
  uint8_t out[BIG], h[64], rs[32];
  size_t n;
  fm_noise_cs a, b;
  assert_false(fm_noise_hs_done(hs));
  assert_int_equal(fm_noise_hs_write(hs, NULL, 0, out, sizeof out, &n),
                   FM_ERR_HANDSHAKE);
  assert_int_equal(read_rv(hs, out, 96), FM_ERR_HANDSHAKE);
  assert_int_equal(fm_noise_hs_hash(hs, h), FM_ERR_HANDSHAKE);
  assert_int_equal(fm_noise_hs_remote_static(hs, rs), FM_ERR_HANDSHAKE);
  assert_int_equal(fm_noise_hs_split(hs, &a, &b), FM_ERR_HANDSHAKE);
}

/* Sends |len| bytes of |pt| through |send| and back out of |recv|. */
static void roundtrip(fm_noise_cs *send, fm_noise_cs *recv, const uint8_t *ad,
                      size_t adlen, const uint8_t *pt, size_t len) {
  static uint8_t ct[BIG], back[BIG];
  size_t n = 0, m = 0;
  assert_int_equal(fm_noise_cs_encrypt(send, ad, adlen, pt, len, ct,
                                       sizeof ct, &n), 0);
  assert_int_equal(n, len + FM_NOISE_TAG_LEN);
  assert_int_equal(fm_noise_cs_decrypt(recv, ad, adlen, ct, n, back,
                                       sizeof back, &m), 0);
  assert_int_equal(m, len);
  if (len) assert_memory_equal(back, pt, len);
}

/* ---- the public vectors ---------------------------------------------- */

/* One vector: every handshake message byte-exact from the side that writes
 * it and readable by the other, then the transport messages, the sender
 * alternating (initiator on even index). */
static void run_vector(const json *v) {
  uint8_t pro[2][256], s[2][32], e[2][32], spub[2][32], h[2][64], want[64];
  uint8_t pt[1024], ct[1024], out[1024];
  size_t plen[2], ptl, ctl, n;
  fm_noise_hs hs[2];
  fm_noise_cs send[2], recv[2];
  const json *msgs = json_get(v, "messages");

  plen[0] = hexv(json_get(v, "init_prologue"), pro[0], sizeof pro[0]);
  plen[1] = hexv(json_get(v, "resp_prologue"), pro[1], sizeof pro[1]);
  hex32(json_get(v, "init_static"), s[0]);
  hex32(json_get(v, "init_ephemeral"), e[0]);
  hex32(json_get(v, "resp_static"), s[1]);
  hex32(json_get(v, "resp_ephemeral"), e[1]);
  for (int k = 0; k < 2; k++) {
    pub_of(s[k], spub[k]);
    assert_int_equal(fm_noise_hs_init(&hs[k], k == 0, pro[k], plen[k], s[k],
                                      e[k]), 0);
  }
  assert_true(json_len(msgs) > 3);
  for (size_t k = 0; k < json_len(msgs); k++) {
    int from = (int)(k % 2);
    ptl = hexv(json_get(json_at(msgs, k), "payload"), pt, sizeof pt);
    ctl = hexv(json_get(json_at(msgs, k), "ciphertext"), ct, sizeof ct);
    if (k < 3) {
      assert_int_equal(fm_noise_hs_write(&hs[from], pt, ptl, out, sizeof out,
                                         &n), 0);
      assert_int_equal(n, ctl);
      assert_memory_equal(out, ct, ctl);
      assert_int_equal(fm_noise_hs_read(&hs[!from], ct, ctl, out, sizeof out,
                                        &n), 0);
    } else {
      if (k == 3) {
        assert_int_equal(fm_noise_hs_split(&hs[0], &send[0], &recv[0]), 0);
        assert_int_equal(fm_noise_hs_split(&hs[1], &send[1], &recv[1]), 0);
      }
      assert_int_equal(fm_noise_cs_encrypt(&send[from], NULL, 0, pt, ptl, out,
                                           sizeof out, &n), 0);
      assert_int_equal(n, ctl);
      assert_memory_equal(out, ct, ctl);
      assert_int_equal(fm_noise_cs_decrypt(&recv[!from], NULL, 0, ct, ctl,
                                           out, sizeof out, &n), 0);
    }
    assert_int_equal(n, ptl);
    if (ptl) assert_memory_equal(out, pt, ptl);
    if (k == 2) {
      for (int j = 0; j < 2; j++) {
        assert_true(fm_noise_hs_done(&hs[j]));
        assert_int_equal(fm_noise_hs_hash(&hs[j], h[j]), 0);
        assert_int_equal(fm_noise_hs_remote_static(&hs[j], out), 0);
        assert_memory_equal(out, spub[!j], 32);
      }
      assert_memory_equal(h[0], h[1], 64);
      if (json_get(v, "handshake_hash")) {
        assert_int_equal(hexv(json_get(v, "handshake_hash"), want,
                              sizeof want), 64);
        assert_memory_equal(h[0], want, 64);
      }
    }
  }
  for (int k = 0; k < 2; k++) {
    fm_noise_hs_wipe(&hs[k]);
    fm_noise_cs_wipe(&send[k]);
    fm_noise_cs_wipe(&recv[k]);
  }
}

static void test_noise_matches_every_xx_blake2b_vector(void **state) {
  static const char *const files[] = {
      FM_VECTORS_DIR "/noise/cacophony-selected.json",
      FM_VECTORS_DIR "/noise/snow-selected.json",
      FM_VECTORS_DIR "/noise/noise-c-basic-selected.json",
  };
  size_t run = 0, with_hash = 0;
  for (size_t f = 0; f < sizeof files / sizeof *files; f++) {
    json *doc = json_load_file(files[f]);
    const json *vs = json_get(doc, "vectors");
    size_t in_file = 0;
    assert_non_null(doc);
    assert_true(json_len(vs) > 0);
    for (size_t i = 0; i < json_len(vs); i++) {
      const json *v = json_at(vs, i);
      const char *name = json_str(json_get(v, "protocol_name"));
      if (!name) name = json_str(json_get(v, "name")); /* noise-c format */
      assert_non_null(name);
      if (strcmp(name, FM_NOISE_PROTOCOL) != 0) continue;
      run_vector(v);
      in_file++;
      with_hash += json_get(v, "handshake_hash") != NULL;
    }
    assert_int_equal(in_file, 1);
    run += in_file;
    json_free(doc);
  }
  assert_int_equal(run, 3);
  assert_int_equal(with_hash, 2); /* snow's vectors carry no hash */
}

/* ---- tampered, foreign, replayed, truncated handshake messages -------- */

static void test_noise_rejects_message2_made_for_another_ephemeral(void **state) {
  peers p, q;
  uint8_t m1[BIG], m1q[BIG], m2q[BIG];
  size_t l1, l1q, l2q;
  peers_fixed(&p, 1);
  peers_fixed(&q, 2);
  /* Same responder, same static keys on both sides; only the initiator's
   * ephemeral differs between the two handshakes. */
  memcpy(q.is, p.is, 32);
  memcpy(q.rs, p.rs, 32);
  memcpy(q.re, p.re, 32);
  assert_int_equal(fm_noise_hs_init(&q.i, 1, (const uint8_t *)PROLOGUE,
                                    strlen(PROLOGUE), q.is, q.ie), 0);
  assert_int_equal(fm_noise_hs_init(&q.r, 0, (const uint8_t *)PROLOGUE,
                                    strlen(PROLOGUE), q.rs, q.re), 0);
  l1 = put(&p.i, "one", m1);
  l1q = put(&q.i, "one", m1q);
  assert_int_equal(l1, l1q);
  assert_memory_not_equal(m1, m1q, l1);
  take(&q.r, m1q, l1q, "one");
  l2q = put(&q.r, "two", m2q);
  assert_int_equal(read_rv(&p.i, m2q, l2q), FM_ERR_HANDSHAKE);
  expect_failed(&p.i);
  peers_wipe(&p);
  peers_wipe(&q);
}

static void test_noise_rejects_every_flipped_byte_of_message2(void **state) {
  static const uint8_t masks[] = {0x01, 0x80};
  peers p;
  fm_noise_hs after_m1, i;
  uint8_t m1[BIG], m2[BIG];
  size_t l2, tried = 0;
  peers_fixed(&p, 3);
  take(&p.r, m1, put(&p.i, "one", m1), "one");
  after_m1 = p.i;
  l2 = put(&p.r, "two", m2);
  assert_int_equal(l2, FM_NOISE_MSG2_OVERHEAD + 3);
  /* 0x80 in byte 31 is the bit X25519 ignores: the DH result is the same,
   * the hash is not, so the message must still fail. */
  for (size_t pos = 0; pos < l2; pos++) {
    for (size_t k = 0; k < sizeof masks; k++) {
      i = after_m1;
      m2[pos] ^= masks[k];
      assert_int_equal(read_rv(&i, m2, l2), FM_ERR_HANDSHAKE);
      m2[pos] ^= masks[k];
      assert_false(fm_noise_hs_done(&i));
      tried++;
    }
  }
  assert_int_equal(tried, 2 * l2);
  i = after_m1; /* the unflipped message still goes through */
  take(&i, m2, l2, "two");
  fm_noise_hs_wipe(&i);
  fm_noise_hs_wipe(&after_m1);
  peers_wipe(&p);
}

static void test_noise_rejects_every_flipped_byte_of_message3(void **state) {
  static const uint8_t masks[] = {0x01, 0x80};
  peers p;
  fm_noise_hs after_m2, r;
  uint8_t m[2][BIG], m3[BIG];
  size_t l3, tried = 0;
  peers_fixed(&p, 4);
  take(&p.r, m[0], put(&p.i, "one", m[0]), "one");
  take(&p.i, m[1], put(&p.r, "two", m[1]), "two");
  after_m2 = p.r;
  l3 = put(&p.i, "three", m3);
  assert_int_equal(l3, FM_NOISE_MSG3_OVERHEAD + 5);
  for (size_t pos = 0; pos < l3; pos++) {
    for (size_t k = 0; k < sizeof masks; k++) {
      r = after_m2;
      m3[pos] ^= masks[k];
      assert_int_equal(read_rv(&r, m3, l3), FM_ERR_HANDSHAKE);
      m3[pos] ^= masks[k];
      expect_failed(&r);
      tried++;
    }
  }
  assert_int_equal(tried, 2 * l3);
  r = after_m2;
  take(&r, m3, l3, "three");
  assert_true(fm_noise_hs_done(&r));
  fm_noise_hs_wipe(&r);
  fm_noise_hs_wipe(&after_m2);
  peers_wipe(&p);
}

/* Message 1 is not authenticated when read, but it is hashed: any change
 * makes the initiator reject the answer. */
static void test_noise_catches_every_flipped_byte_of_message1_at_message2(void **state) {
  peers p;
  fm_noise_hs after_m1, r;
  uint8_t m1[BIG], m2[BIG];
  size_t l1, l2, tried = 0;
  peers_fixed(&p, 5);
  l1 = put(&p.i, "one", m1);
  assert_int_equal(l1, FM_NOISE_MSG1_OVERHEAD + 3);
  after_m1 = p.i;
  for (size_t pos = 0; pos < l1; pos++) {
    fm_noise_hs i = after_m1;
    uint8_t pt[BIG];
    size_t n;
    assert_int_equal(fm_noise_hs_init(&r, 0, (const uint8_t *)PROLOGUE,
                                      strlen(PROLOGUE), p.rs, p.re), 0);
    m1[pos] ^= 0x80;
    assert_int_equal(fm_noise_hs_read(&r, m1, l1, pt, sizeof pt, &n), 0);
    m1[pos] ^= 0x80;
    l2 = put(&r, "two", m2);
    assert_int_equal(read_rv(&i, m2, l2), FM_ERR_HANDSHAKE);
    tried++;
  }
  assert_int_equal(tried, l1);
  fm_noise_hs_wipe(&r);
  fm_noise_hs_wipe(&after_m1);
  peers_wipe(&p);
}

static void test_noise_rejects_replayed_message1(void **state) {
  peers p;
  uint8_t m1[BIG];
  size_t l1;
  peers_fixed(&p, 6);
  l1 = put(&p.i, "one", m1);
  take(&p.r, m1, l1, "one");
  assert_int_equal(read_rv(&p.r, m1, l1), FM_ERR_HANDSHAKE);
  expect_failed(&p.r);
  peers_wipe(&p);
}

static void test_noise_rejects_message2_fed_twice(void **state) {
  peers p;
  uint8_t m1[BIG], m2[BIG];
  size_t l2;
  peers_fixed(&p, 7);
  take(&p.r, m1, put(&p.i, "one", m1), "one");
  l2 = put(&p.r, "two", m2);
  take(&p.i, m2, l2, "two");
  assert_int_equal(read_rv(&p.i, m2, l2), FM_ERR_HANDSHAKE);
  expect_failed(&p.i);
  peers_wipe(&p);
}

static void test_noise_rejects_every_truncation_of_each_message(void **state) {
  peers p;
  fm_noise_hs before[3], hs;
  uint8_t m[3][BIG];
  size_t l[3], tried = 0;
  peers_fixed(&p, 8);
  before[0] = p.r;
  take(&p.r, m[0], l[0] = put(&p.i, "one", m[0]), "one");
  before[1] = p.i;
  take(&p.i, m[1], l[1] = put(&p.r, "two", m[1]), "two");
  before[2] = p.r;
  take(&p.r, m[2], l[2] = put(&p.i, "three", m[2]), "three");
  /* Message 1 carries its payload in clear, so only a cut into the key
   * is visible at once; messages 2 and 3 fail at every length. */
  for (size_t len = 0; len < FM_NOISE_MSG1_OVERHEAD; len++, tried++) {
    hs = before[0];
    assert_int_equal(read_rv(&hs, m[0], len), FM_ERR_HANDSHAKE);
    expect_failed(&hs);
  }
  for (int k = 1; k < 3; k++) {
    for (size_t len = 0; len < l[k]; len++, tried++) {
      hs = before[k];
      assert_int_equal(read_rv(&hs, m[k], len), FM_ERR_HANDSHAKE);
      expect_failed(&hs);
    }
  }
  assert_int_equal(tried, FM_NOISE_MSG1_OVERHEAD + l[1] + l[2]);
  for (int k = 0; k < 3; k++) fm_noise_hs_wipe(&before[k]);
  fm_noise_hs_wipe(&hs);
  peers_wipe(&p);
}

static void test_noise_handshake_that_failed_stays_failed(void **state) {
  peers p;
  uint8_t m1[BIG], m2[BIG];
  size_t l2;
  peers_fixed(&p, 9);
  take(&p.r, m1, put(&p.i, "one", m1), "one");
  l2 = put(&p.r, "two", m2);
  m2[40] ^= 1;
  assert_int_equal(read_rv(&p.i, m2, l2), FM_ERR_HANDSHAKE);
  m2[40] ^= 1;
  assert_int_equal(read_rv(&p.i, m2, l2), FM_ERR_HANDSHAKE);
  expect_failed(&p.i);
  peers_wipe(&p);
}

static void test_noise_refuses_calls_out_of_turn(void **state) {
  peers p;
  uint8_t m[BIG], h[64];
  size_t n;
  fm_noise_cs a, b;

  peers_fixed(&p, 10); /* the responder may not speak first */
  assert_int_equal(fm_noise_hs_write(&p.r, NULL, 0, m, sizeof m, &n),
                   FM_ERR_HANDSHAKE);
  expect_failed(&p.r);
  peers_fixed(&p, 10); /* nor may the initiator listen first */
  memset(m, 0, FM_NOISE_MSG2_OVERHEAD);
  assert_int_equal(read_rv(&p.i, m, FM_NOISE_MSG2_OVERHEAD), FM_ERR_HANDSHAKE);
  expect_failed(&p.i);

  peers_fixed(&p, 10); /* no hash, key or split before the end */
  assert_int_equal(fm_noise_hs_hash(&p.i, h), FM_ERR_HANDSHAKE);
  assert_int_equal(fm_noise_hs_split(&p.i, &a, &b), FM_ERR_HANDSHAKE);
  take(&p.r, m, put(&p.i, "", m), "");
  assert_int_equal(fm_noise_hs_remote_static(&p.r, h), FM_ERR_HANDSHAKE);
  assert_int_equal(fm_noise_hs_hash(&p.r, h), FM_ERR_HANDSHAKE);

  peers_fixed(&p, 10); /* nothing after the end but split, once */
  handshake(&p);
  assert_int_equal(fm_noise_hs_write(&p.i, NULL, 0, m, sizeof m, &n),
                   FM_ERR_HANDSHAKE);
  assert_int_equal(read_rv(&p.r, m, 64), FM_ERR_HANDSHAKE);
  peers_wipe(&p);
}

static void test_noise_aborts_on_low_order_ephemeral(void **state) {
  peers p;
  uint8_t m1[BIG], m2[BIG], pt[BIG], epub[32];
  size_t l1, l2, n;

  /* An all-zero e in message 1: read, but the responder cannot answer. */
  peers_fixed(&p, 11);
  l1 = put(&p.i, "", m1);
  memset(m1, 0, 32);
  assert_int_equal(fm_noise_hs_read(&p.r, m1, l1, pt, sizeof pt, &n), 0);
  pub_of(p.re, epub);
  assert_int_equal(fm_noise_hs_write(&p.r, NULL, 0, m2, sizeof m2, &n),
                   FM_ERR_HANDSHAKE);
  /* e was written before ee failed: no half message is left behind. */
  assert_memory_not_equal(m2, epub, 32);
  expect_failed(&p.r);

  /* The same in message 2: the initiator stops at ee. */
  peers_fixed(&p, 11);
  take(&p.r, m1, put(&p.i, "", m1), "");
  l2 = put(&p.r, "", m2);
  memset(m2, 0, 32);
  assert_int_equal(read_rv(&p.i, m2, l2), FM_ERR_HANDSHAKE);
  expect_failed(&p.i);
  peers_wipe(&p);
}

static void test_noise_rejects_prologue_mismatch(void **state) {
  peers p;
  uint8_t m1[BIG], m2[BIG];
  size_t l2;
  peers_fixed(&p, 12);
  assert_int_equal(fm_noise_hs_init(&p.r, 0, (const uint8_t *)"other", 5,
                                    p.rs, p.re), 0);
  take(&p.r, m1, put(&p.i, "one", m1), "one");
  l2 = put(&p.r, "two", m2);
  assert_int_equal(read_rv(&p.i, m2, l2), FM_ERR_HANDSHAKE);
  peers_wipe(&p);
}

static void test_noise_small_buffer_leaves_handshake_intact(void **state) {
  peers p;
  uint8_t m[3][BIG], pt[BIG];
  size_t l1, n = 7;
  peers_fixed(&p, 13);
  assert_int_equal(fm_noise_hs_write(&p.i, (const uint8_t *)"one", 3, m[0],
                                     FM_NOISE_MSG1_OVERHEAD + 2, &n),
                   FM_ERR_TOOBIG);
  assert_int_equal(n, 7);
  assert_int_equal(fm_noise_hs_write(&p.i, pt, BIG - FM_NOISE_MSG1_OVERHEAD + 1,
                                     m[0], sizeof m[0], &n), FM_ERR_TOOBIG);
  l1 = put(&p.i, "one", m[0]);
  assert_int_equal(fm_noise_hs_read(&p.r, m[0], l1, pt, 2, &n), FM_ERR_TOOBIG);
  assert_int_equal(n, 7);
  take(&p.r, m[0], l1, "one");
  take(&p.i, m[1], put(&p.r, "two", m[1]), "two");
  take(&p.r, m[2], put(&p.i, "three", m[2]), "three");
  assert_true(fm_noise_hs_done(&p.i) && fm_noise_hs_done(&p.r));

  /* A message over the Noise limit is the peer's fault: fatal. */
  peers_fixed(&p, 13);
  static uint8_t huge[BIG + 1];
  assert_int_equal(fm_noise_hs_read(&p.r, huge, sizeof huge, pt, sizeof pt,
                                    &n), FM_ERR_TOOBIG);
  expect_failed(&p.r);
  peers_wipe(&p);
}

/* ---- transport ------------------------------------------------------- */

typedef struct session {
  peers p;
  fm_noise_cs is, ir, rs, rr; /* initiator send/recv, responder send/recv */
} session;

static void session_open(session *s, const uint8_t seed[32]) {
  peers_init(&s->p, seed);
  handshake(&s->p);
  assert_int_equal(fm_noise_hs_split(&s->p.i, &s->is, &s->ir), 0);
  assert_int_equal(fm_noise_hs_split(&s->p.r, &s->rs, &s->rr), 0);
}

static void session_fixed(session *s, uint8_t n) {
  uint8_t seed[32] = {n};
  session_open(s, seed);
}

static void session_wipe(session *s) {
  fm_noise_cs_wipe(&s->is);
  fm_noise_cs_wipe(&s->ir);
  fm_noise_cs_wipe(&s->rs);
  fm_noise_cs_wipe(&s->rr);
  peers_wipe(&s->p);
}

static void test_noise_transport_rejects_flipped_frame_then_takes_the_genuine_one(void **state) {
  session s;
  uint8_t f0[64], f1[64], out[64], sentinel[64];
  size_t l0, l1, n = 99;
  session_fixed(&s, 20);
  assert_int_equal(fm_noise_cs_encrypt(&s.is, (const uint8_t *)"ad", 2,
                                       (const uint8_t *)"first", 5, f0,
                                       sizeof f0, &l0), 0);
  assert_int_equal(fm_noise_cs_encrypt(&s.is, (const uint8_t *)"ad", 2,
                                       (const uint8_t *)"second", 6, f1,
                                       sizeof f1, &l1), 0);
  memset(sentinel, 0x5a, sizeof sentinel);
  for (size_t pos = 0; pos < l0; pos++) {
    memcpy(out, sentinel, sizeof out);
    f0[pos] ^= 0x01;
    assert_int_equal(fm_noise_cs_decrypt(&s.rr, (const uint8_t *)"ad", 2, f0,
                                         l0, out, sizeof out, &n),
                     FM_ERR_DECRYPT);
    f0[pos] ^= 0x01;
    assert_memory_equal(out, sentinel, sizeof out); /* nothing written */
    assert_int_equal(n, 99);
  }
  /* The wrong associated data fails too. */
  assert_int_equal(fm_noise_cs_decrypt(&s.rr, (const uint8_t *)"AD", 2, f0, l0,
                                       out, sizeof out, &n), FM_ERR_DECRYPT);
  assert_true(fm_err_is_fatal(FM_ERR_DECRYPT));
  /* Documented: a failure does not advance the nonce, so the genuine
   * frames still decrypt, in order. */
  assert_int_equal(fm_noise_cs_decrypt(&s.rr, (const uint8_t *)"ad", 2, f0, l0,
                                       out, sizeof out, &n), 0);
  assert_int_equal(n, 5);
  assert_memory_equal(out, "first", 5);
  assert_int_equal(fm_noise_cs_decrypt(&s.rr, (const uint8_t *)"ad", 2, f1, l1,
                                       out, sizeof out, &n), 0);
  assert_memory_equal(out, "second", 6);
  session_wipe(&s);
}

static void test_noise_transport_rejects_replayed_reordered_and_reflected_frames(void **state) {
  session s;
  uint8_t f[3][64], out[64];
  size_t l[3], n;
  session_fixed(&s, 21);
  for (int k = 0; k < 3; k++)
    assert_int_equal(fm_noise_cs_encrypt(&s.rs, NULL, 0, (const uint8_t *)"x",
                                         1, f[k], sizeof f[k], &l[k]), 0);
  assert_int_equal(fm_noise_cs_decrypt(&s.ir, NULL, 0, f[1], l[1], out,
                                       sizeof out, &n), FM_ERR_DECRYPT);
  assert_int_equal(fm_noise_cs_decrypt(&s.ir, NULL, 0, f[0], l[0], out,
                                       sizeof out, &n), 0);
  assert_int_equal(fm_noise_cs_decrypt(&s.ir, NULL, 0, f[0], l[0], out,
                                       sizeof out, &n), FM_ERR_DECRYPT);
  assert_int_equal(fm_noise_cs_decrypt(&s.ir, NULL, 0, f[1], l[1], out,
                                       sizeof out, &n), 0);
  /* A frame sent back to its own sender does not authenticate: the two
   * directions have different keys. */
  assert_int_equal(fm_noise_cs_decrypt(&s.rr, NULL, 0, f[2], l[2], out,
                                       sizeof out, &n), FM_ERR_DECRYPT);
  assert_int_equal(fm_noise_cs_decrypt(&s.ir, NULL, 0, f[2], l[2], out,
                                       sizeof out, &n), 0);
  session_wipe(&s);
}

static void test_noise_transport_enforces_size_limits(void **state) {
  session s;
  static uint8_t pt[BIG + 1], ct[BIG + 1];
  size_t n = 99;
  session_fixed(&s, 22);
  assert_int_equal(fm_noise_cs_encrypt(&s.is, NULL, 0, pt,
                                       FM_NOISE_MAX_PLAINTEXT + 1, ct,
                                       sizeof ct, &n), FM_ERR_TOOBIG);
  assert_int_equal(fm_noise_cs_encrypt(&s.is, NULL, 0, pt, 10, ct,
                                       10 + FM_NOISE_TAG_LEN - 1, &n),
                   FM_ERR_TOOBIG);
  assert_int_equal(n, 99);
  /* Neither failure used a nonce: the largest frame still goes through. */
  roundtrip(&s.is, &s.rr, NULL, 0, pt, FM_NOISE_MAX_PLAINTEXT);
  assert_int_equal(fm_noise_cs_decrypt(&s.rr, NULL, 0, ct, BIG + 1, pt,
                                       sizeof pt, &n), FM_ERR_TOOBIG);
  for (size_t len = 0; len < FM_NOISE_TAG_LEN; len++)
    assert_int_equal(fm_noise_cs_decrypt(&s.rr, NULL, 0, ct, len, pt,
                                         sizeof pt, &n), FM_ERR_DECRYPT);
  assert_int_equal(fm_noise_cs_encrypt(&s.is, NULL, 0, pt, 10, ct, sizeof ct,
                                       &n), 0);
  assert_int_equal(fm_noise_cs_decrypt(&s.rr, NULL, 0, ct, n, pt, 9, &n),
                   FM_ERR_TOOBIG);
  assert_int_equal(fm_noise_cs_decrypt(&s.rr, NULL, 0, ct, 26, pt, 10, &n), 0);
  /* In place. */
  memcpy(pt, "in place", 8);
  assert_int_equal(fm_noise_cs_encrypt(&s.rs, NULL, 0, pt, 8, pt, sizeof pt,
                                       &n), 0);
  assert_int_equal(fm_noise_cs_decrypt(&s.ir, NULL, 0, pt, n, pt, sizeof pt,
                                       &n), 0);
  assert_memory_equal(pt, "in place", 8);
  session_wipe(&s);
}

static void test_noise_transport_refuses_exhausted_nonce(void **state) {
  session s;
  uint8_t ct[64], pt[64];
  size_t n, m;
  session_fixed(&s, 23);
  /* Reach into the private counters: 2^64 messages take too long. */
  s.is.n = UINT64_MAX - 1;
  s.rr.n = UINT64_MAX - 1;
  assert_int_equal(fm_noise_cs_encrypt(&s.is, NULL, 0, (const uint8_t *)"z", 1,
                                       ct, sizeof ct, &n), 0);
  assert_int_equal(fm_noise_cs_decrypt(&s.rr, NULL, 0, ct, n, pt, sizeof pt,
                                       &m), 0);
  assert_int_equal(fm_noise_cs_encrypt(&s.is, NULL, 0, (const uint8_t *)"z", 1,
                                       ct, sizeof ct, &n), FM_ERR_TOOBIG);
  assert_int_equal(fm_noise_cs_decrypt(&s.rr, NULL, 0, ct, n, pt, sizeof pt,
                                       &m), FM_ERR_TOOBIG);
  session_wipe(&s);
}

/* ---- fresh keys and identities --------------------------------------- */

static void test_noise_fresh_keys_agree_and_exchange_both_ways(void **state) {
  uint8_t seed[32], h[2][2][64], rs[32], pk[32], msg[3000], ad[8];
  char hex[65];
  randombytes_buf(seed, sizeof seed);
  sodium_bin2hex(hex, sizeof hex, seed, sizeof seed);
  print_message("fresh-key seed %s\n", hex);
  for (int run = 0; run < 2; run++) {
    session s;
    seed[0] ^= (uint8_t)(run + 1); /* two different handshakes */
    session_open(&s, seed);
    for (int k = 0; k < 2; k++) {
      fm_noise_hs *hs = k ? &s.p.r : &s.p.i;
      assert_int_equal(fm_noise_hs_hash(hs, h[run][k]), 0);
      assert_int_equal(fm_noise_hs_remote_static(hs, rs), 0);
      pub_of(k ? s.p.is : s.p.rs, pk);
      assert_memory_equal(rs, pk, 32);
    }
    assert_memory_equal(h[run][0], h[run][1], 64);
    randombytes_buf(msg, sizeof msg);
    for (size_t k = 0; k < 40; k++) {
      memcpy(ad, &k, sizeof k < sizeof ad ? sizeof k : sizeof ad);
      roundtrip(&s.is, &s.rr, ad, sizeof ad, msg, k * 70);
      roundtrip(&s.rs, &s.ir, NULL, 0, msg + k, 3 * k);
    }
    session_wipe(&s);
  }
  assert_memory_not_equal(h[0][0], h[1][0], 64);
  sodium_memzero(seed, sizeof seed);
}

static void test_noise_remote_static_matches_converted_ed25519_identity(void **state) {
  uint8_t ed_pk[2][32], ed_sk[2][64], x_sk[2][32], x_pk[32], rs[32];
  uint8_t e[2][32] = {{1}, {2}}, bad[32] = {1}; /* bad: the neutral point */
  fm_noise_hs hs[2];
  uint8_t m[BIG];
  for (int k = 0; k < 2; k++) {
    uint8_t seed[32] = {(uint8_t)(30 + k)};
    assert_int_equal(crypto_sign_seed_keypair(ed_pk[k], ed_sk[k], seed), 0);
    assert_int_equal(fm_noise_static_from_ed25519(ed_sk[k], x_sk[k]), 0);
    assert_int_equal(fm_noise_hs_init(&hs[k], k == 0, NULL, 0, x_sk[k], e[k]),
                     0);
  }
  take(&hs[1], m, put(&hs[0], "a", m), "a");
  take(&hs[0], m, put(&hs[1], "b", m), "b");
  take(&hs[1], m, put(&hs[0], "c", m), "c");
  for (int k = 0; k < 2; k++) {
    assert_int_equal(fm_noise_hs_remote_static(&hs[k], rs), 0);
    assert_int_equal(fm_noise_pub_from_ed25519(ed_pk[!k], x_pk), 0);
    assert_int_equal(sodium_memcmp(rs, x_pk, 32), 0);
    assert_int_equal(fm_noise_pub_from_ed25519(ed_pk[k], x_pk), 0);
    assert_int_not_equal(sodium_memcmp(rs, x_pk, 32), 0);
    fm_noise_hs_wipe(&hs[k]);
  }
  memset(x_pk, 0xee, sizeof x_pk);
  assert_int_equal(fm_noise_pub_from_ed25519(bad, x_pk), FM_ERR_MALFORMED);
  for (size_t k = 0; k < 32; k++) assert_int_equal(x_pk[k], 0xee);
  sodium_memzero(ed_sk, sizeof ed_sk);
  sodium_memzero(x_sk, sizeof x_sk);
}

static void test_noise_split_keeps_hash_and_refuses_a_second_split(void **state) {
  peers p;
  fm_noise_cs a, b, c, d;
  uint8_t h1[64], h2[64], rs[32], pk[32];
  peers_fixed(&p, 40);
  handshake(&p);
  assert_int_equal(fm_noise_hs_hash(&p.i, h1), 0);
  assert_int_equal(fm_noise_hs_split(&p.i, &a, &b), 0);
  assert_int_equal(fm_noise_hs_split(&p.r, &c, &d), 0);
  assert_true(fm_noise_hs_done(&p.i));
  assert_int_equal(fm_noise_hs_hash(&p.i, h2), 0);
  assert_memory_equal(h1, h2, 64);
  assert_int_equal(fm_noise_hs_remote_static(&p.i, rs), 0);
  pub_of(p.rs, pk);
  assert_memory_equal(rs, pk, 32);
  assert_int_equal(fm_noise_hs_split(&p.i, &c, &d), FM_ERR_HANDSHAKE);
  roundtrip(&a, &d, NULL, 0, (const uint8_t *)"hi", 2);
  fm_noise_cs_wipe(&a);
  fm_noise_cs_wipe(&b);
  fm_noise_cs_wipe(&c);
  fm_noise_cs_wipe(&d);
  peers_wipe(&p);
}

static void test_noise_wiped_or_zeroed_state_refuses_use(void **state) {
  peers p;
  fm_noise_hs zero;
  peers_fixed(&p, 41);
  fm_noise_hs_wipe(&p.i);
  expect_failed(&p.i);
  memset(&zero, 0, sizeof zero); /* never initialised */
  expect_failed(&zero);
  peers_wipe(&p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_noise_matches_every_xx_blake2b_vector),
      cmocka_unit_test(test_noise_rejects_message2_made_for_another_ephemeral),
      cmocka_unit_test(test_noise_rejects_every_flipped_byte_of_message2),
      cmocka_unit_test(test_noise_rejects_every_flipped_byte_of_message3),
      cmocka_unit_test(test_noise_catches_every_flipped_byte_of_message1_at_message2),
      cmocka_unit_test(test_noise_rejects_replayed_message1),
      cmocka_unit_test(test_noise_rejects_message2_fed_twice),
      cmocka_unit_test(test_noise_rejects_every_truncation_of_each_message),
      cmocka_unit_test(test_noise_handshake_that_failed_stays_failed),
      cmocka_unit_test(test_noise_refuses_calls_out_of_turn),
      cmocka_unit_test(test_noise_aborts_on_low_order_ephemeral),
      cmocka_unit_test(test_noise_rejects_prologue_mismatch),
      cmocka_unit_test(test_noise_small_buffer_leaves_handshake_intact),
      cmocka_unit_test(test_noise_transport_rejects_flipped_frame_then_takes_the_genuine_one),
      cmocka_unit_test(test_noise_transport_rejects_replayed_reordered_and_reflected_frames),
      cmocka_unit_test(test_noise_transport_enforces_size_limits),
      cmocka_unit_test(test_noise_transport_refuses_exhausted_nonce),
      cmocka_unit_test(test_noise_fresh_keys_agree_and_exchange_both_ways),
      cmocka_unit_test(test_noise_remote_static_matches_converted_ed25519_identity),
      cmocka_unit_test(test_noise_split_keeps_hash_and_refuses_a_second_split),
      cmocka_unit_test(test_noise_wiped_or_zeroed_state_refuses_use),
  };
  if (sodium_init() < 0) return 1;
  return cmocka_run_group_tests(tests, NULL, NULL);
}
