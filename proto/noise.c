/* Noise_XX_25519_ChaChaPoly_BLAKE2b on libsodium.  Section numbers refer
 * to the Noise Protocol Framework, revision 34. */
#include "fieldmesh/noise.h"

#include <string.h>

#include <sodium.h>

#include "fieldmesh/error.h"

#define HASHLEN FM_NOISE_HASH_LEN
#define BLOCKLEN 128 /* BLAKE2b's block, used by HMAC (§4.3) */
#define KEYLEN 32
#define TAGLEN FM_NOISE_TAG_LEN
#define NONCE_MAX UINT64_MAX /* reserved (§5.1): never used to encrypt */

/* hs->state: ST_MSGn names the next message.  Zero is no state at all, so
 * a zeroed or wiped struct can never pass for a fresh handshake. */
enum { ST_NONE = 0, ST_MSG1, ST_MSG2, ST_MSG3, ST_DONE, ST_SPLIT, ST_FAILED };

/* The XX pattern (§7.5), one token string per message. */
enum { T_END = 0, T_E, T_S, T_EE, T_ES, T_SE };
static const uint8_t XX[3][5] = { /* indexed by state - ST_MSG1 */
    {T_E, T_END},
    {T_E, T_EE, T_S, T_ES, T_END},
    {T_S, T_SE, T_END},
};
static const size_t OVERHEAD[3] = {FM_NOISE_MSG1_OVERHEAD,
                                   FM_NOISE_MSG2_OVERHEAD,
                                   FM_NOISE_MSG3_OVERHEAD};

_Static_assert(sizeof FM_NOISE_PROTOCOL - 1 <= FM_NOISE_HASH_LEN,
               "the protocol name is padded into h, not hashed");

/* ---- hash, HMAC, HKDF (§4.3) ---------------------------------------- */

/* BLAKE2b-512 of a || b || c (b, c may be empty). */
static void hash3(uint8_t out[HASHLEN], const uint8_t *a, size_t alen,
                  const uint8_t *b, size_t blen, const uint8_t *c,
                  size_t clen) {
  crypto_generichash_state st;
  crypto_generichash_init(&st, NULL, 0, HASHLEN);
  crypto_generichash_update(&st, a, alen);
  if (blen) crypto_generichash_update(&st, b, blen);
  if (clen) crypto_generichash_update(&st, c, clen);
  crypto_generichash_final(&st, out, HASHLEN);
  /* The state has absorbed keys (HMAC pads): it is a secret too. */
  sodium_memzero(&st, sizeof st);
}

/* HMAC-BLAKE2b (RFC 2104) with a HASHLEN-byte key, over d1 || d2.  Noise
 * requires this construction, not BLAKE2b's own keyed mode. */
static void hmac(uint8_t out[HASHLEN], const uint8_t key[HASHLEN],
                 const uint8_t *d1, size_t l1, const uint8_t *d2, size_t l2) {
  uint8_t pad[BLOCKLEN], inner[HASHLEN];
  memset(pad, 0x36, sizeof pad);
  for (size_t i = 0; i < HASHLEN; i++) pad[i] ^= key[i];
  hash3(inner, pad, sizeof pad, d1, l1, d2, l2);
  memset(pad, 0x5c, sizeof pad);
  for (size_t i = 0; i < HASHLEN; i++) pad[i] ^= key[i];
  hash3(out, pad, sizeof pad, inner, sizeof inner, NULL, 0);
  sodium_memzero(pad, sizeof pad);
  sodium_memzero(inner, sizeof inner);
}

/* HKDF with two outputs, the only count XX needs. */
static void hkdf2(const uint8_t ck[HASHLEN], const uint8_t *ikm, size_t len,
                  uint8_t out1[HASHLEN], uint8_t out2[HASHLEN]) {
  static const uint8_t one = 0x01, two = 0x02;
  uint8_t temp[HASHLEN];
  hmac(temp, ck, ikm, len, NULL, 0);
  hmac(out1, temp, &one, 1, NULL, 0);
  hmac(out2, temp, out1, HASHLEN, &two, 1);
  sodium_memzero(temp, sizeof temp);
}

/* ---- CipherState (§5.1) --------------------------------------------- */

static void cs_init(fm_noise_cs *cs, const uint8_t k[KEYLEN]) {
  memcpy(cs->k, k, KEYLEN);
  cs->n = 0;
  cs->has_key = 1;
}

static void nonce96(uint8_t out[12], uint64_t n) {
  memset(out, 0, 4);
  for (int i = 0; i < 8; i++) out[4 + i] = (uint8_t)(n >> (8 * i));
}

/* ENCRYPT(k, n, ad, pt) into ct (len + TAGLEN bytes). */
static void seal(const fm_noise_cs *cs, const uint8_t *ad, size_t adlen,
                 const uint8_t *pt, size_t len, uint8_t *ct) {
  uint8_t nonce[12];
  nonce96(nonce, cs->n);
  crypto_aead_chacha20poly1305_ietf_encrypt_detached(
      ct, ct + len, NULL, pt, len, ad, adlen, NULL, nonce, cs->k);
}

/* DECRYPT(k, n, ad, ct) of a ciphertext of len >= TAGLEN bytes into pt.
 * The tag is checked before anything is decrypted, so on failure |pt| is
 * untouched (libsodium would zero it): outputs are written only on
 * success, and an in-place caller keeps its frame for the log. */
static int unseal(const fm_noise_cs *cs, const uint8_t *ad, size_t adlen,
                  const uint8_t *ct, size_t len, uint8_t *pt) {
  uint8_t nonce[12];
  size_t mlen = len - TAGLEN;
  nonce96(nonce, cs->n);
  if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(
          NULL, NULL, ct, mlen, ct + mlen, ad, adlen, nonce, cs->k) != 0)
    return -1;
  if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(
          pt, NULL, ct, mlen, ct + mlen, ad, adlen, nonce, cs->k) != 0)
    return -1;
  return 0;
}

/* ---- SymmetricState (§5.2) ------------------------------------------ */

static void mix_hash(fm_noise_hs *hs, const uint8_t *data, size_t len) {
  hash3(hs->h, hs->h, HASHLEN, data, len, NULL, 0);
}

static void mix_key(fm_noise_hs *hs, const uint8_t ikm[32]) {
  uint8_t ck[HASHLEN], k[HASHLEN];
  hkdf2(hs->ck, ikm, 32, ck, k);
  memcpy(hs->ck, ck, HASHLEN);
  cs_init(&hs->cs, k); /* HASHLEN 64: the key is the first 32 bytes */
  sodium_memzero(ck, sizeof ck);
  sodium_memzero(k, sizeof k);
}

/* EncryptAndHash: |out| gets len (+ TAGLEN once a key is set) bytes. */
static size_t encrypt_and_hash(fm_noise_hs *hs, const uint8_t *pt, size_t len,
                               uint8_t *out) {
  size_t n = len;
  if (hs->cs.has_key) {
    seal(&hs->cs, hs->h, HASHLEN, pt, len, out);
    hs->cs.n++; /* at most 3 per handshake: never near NONCE_MAX */
    n += TAGLEN;
  } else if (len) {
    memcpy(out, pt, len);
  }
  mix_hash(hs, out, n);
  return n;
}

/* DecryptAndHash of the |len| bytes at |in| into |pt|. */
static int decrypt_and_hash(fm_noise_hs *hs, const uint8_t *in, size_t len,
                            uint8_t *pt) {
  if (hs->cs.has_key) {
    if (len < TAGLEN || unseal(&hs->cs, hs->h, HASHLEN, in, len, pt) != 0)
      return FM_ERR_HANDSHAKE;
    hs->cs.n++;
  } else if (len) {
    memcpy(pt, in, len);
  }
  mix_hash(hs, in, len);
  return 0;
}

/* ---- HandshakeState (§5.3) ------------------------------------------ */

int fm_noise_hs_init(fm_noise_hs *hs, int initiator, const uint8_t *prologue,
                     size_t prologue_len, const uint8_t static_sk[static 32],
                     const uint8_t ephemeral_sk[static 32]) {
  FM_ASSERT(prologue || prologue_len == 0);
  sodium_memzero(hs, sizeof *hs);
  memcpy(hs->s_sk, static_sk, 32);
  memcpy(hs->e_sk, ephemeral_sk, 32);
  if (crypto_scalarmult_base(hs->s_pk, hs->s_sk) != 0 ||
      crypto_scalarmult_base(hs->e_pk, hs->e_sk) != 0) {
    fm_noise_hs_wipe(hs);
    return FM_ERR_INVAL;
  }
  /* InitializeSymmetric: the name is shorter than HASHLEN, so h is the
   * name padded with zeros, and ck starts equal to h. */
  memcpy(hs->h, FM_NOISE_PROTOCOL, sizeof FM_NOISE_PROTOCOL - 1);
  memcpy(hs->ck, hs->h, HASHLEN);
  mix_hash(hs, prologue, prologue_len);
  hs->initiator = initiator ? 1 : 0;
  hs->state = ST_MSG1;
  return 0;
}

/* MixKey(DH(...)) for ee, es, se.  Which keys meet depends on the role:
 * "es" is the initiator's ephemeral with the responder's static. */
static int dh_token(fm_noise_hs *hs, int tok) {
  uint8_t shared[32];
  const uint8_t *sk, *pk;
  int rv = 0;
  int i = hs->initiator;
  if (tok == T_EE) {
    sk = hs->e_sk, pk = hs->re;
  } else if (tok == T_ES) {
    sk = i ? hs->e_sk : hs->s_sk, pk = i ? hs->rs : hs->re;
  } else {
    sk = i ? hs->s_sk : hs->e_sk, pk = i ? hs->re : hs->rs;
  }
  /* -1 means an all-zero shared secret: a low-order public key that would
   * let the peer fix the key without knowing any secret. */
  if (crypto_scalarmult(shared, sk, pk) != 0) {
    rv = FM_ERR_HANDSHAKE;
    goto out;
  }
  mix_key(hs, shared);
out:
  sodium_memzero(shared, sizeof shared);
  return rv;
}

/* Whether it is this side's turn to write (1) or read (0): the initiator
 * writes messages 1 and 3. */
static int my_turn_to_write(const fm_noise_hs *hs) {
  return (hs->state == ST_MSG2) != hs->initiator;
}

static int in_handshake(const fm_noise_hs *hs) {
  return hs->state >= ST_MSG1 && hs->state <= ST_MSG3;
}

static void fail(fm_noise_hs *hs) {
  /* Keep nothing that a later call could misuse: only the state says why
   * every call now fails. */
  sodium_memzero(hs, sizeof *hs);
  hs->state = ST_FAILED;
}

int fm_noise_hs_write(fm_noise_hs *hs, const uint8_t *payload, size_t plen,
                      uint8_t *out, size_t cap, size_t *out_len) {
  size_t need, at = 0;
  int rv = 0;
  if (!in_handshake(hs) || !my_turn_to_write(hs)) {
    rv = FM_ERR_HANDSHAKE;
    goto out;
  }
  need = OVERHEAD[hs->state - ST_MSG1];
  if (plen > FM_NOISE_MAX_MSG - need || cap < need + plen)
    return FM_ERR_TOOBIG; /* checked before any change: |hs| is intact */
  for (const uint8_t *t = XX[hs->state - ST_MSG1]; *t != T_END && rv == 0;
       t++) {
    if (*t == T_E) {
      memcpy(out + at, hs->e_pk, 32);
      mix_hash(hs, hs->e_pk, 32);
      at += 32;
    } else if (*t == T_S) {
      at += encrypt_and_hash(hs, hs->s_pk, 32, out + at);
    } else {
      rv = dh_token(hs, *t);
    }
  }
  if (rv != 0) goto out;
  at += encrypt_and_hash(hs, payload, plen, out + at);
  FM_ASSERT(at == need + plen);
  hs->state++;
  *out_len = at;
out:
  if (rv != 0) {
    if (at) sodium_memzero(out, at);
    fail(hs);
  }
  return rv;
}

int fm_noise_hs_read(fm_noise_hs *hs, const uint8_t *msg, size_t len,
                     uint8_t *payload_out, size_t cap, size_t *payload_len) {
  size_t at = 0, plen;
  int rv = 0;
  if (len > FM_NOISE_MAX_MSG) {
    rv = FM_ERR_TOOBIG;
    goto out;
  }
  if (!in_handshake(hs) || my_turn_to_write(hs) ||
      len < OVERHEAD[hs->state - ST_MSG1]) {
    rv = FM_ERR_HANDSHAKE;
    goto out;
  }
  plen = len - OVERHEAD[hs->state - ST_MSG1];
  if (cap < plen) return FM_ERR_TOOBIG; /* before any change: retry */
  for (const uint8_t *t = XX[hs->state - ST_MSG1]; *t != T_END && rv == 0;
       t++) {
    if (*t == T_E) {
      memcpy(hs->re, msg + at, 32);
      mix_hash(hs, hs->re, 32);
      at += 32;
    } else if (*t == T_S) {
      /* XX sends s only after ee, so it is always encrypted. */
      rv = decrypt_and_hash(hs, msg + at, 32 + TAGLEN, hs->rs);
      at += 32 + TAGLEN;
    } else {
      rv = dh_token(hs, *t);
    }
  }
  if (rv == 0) rv = decrypt_and_hash(hs, msg + at, len - at, payload_out);
  if (rv != 0) goto out;
  hs->state++;
  *payload_len = plen;
out:
  if (rv != 0) fail(hs);
  return rv;
}

int fm_noise_hs_done(const fm_noise_hs *hs) {
  return hs->state == ST_DONE || hs->state == ST_SPLIT;
}

int fm_noise_hs_split(fm_noise_hs *hs, fm_noise_cs *send, fm_noise_cs *recv) {
  uint8_t k1[HASHLEN], k2[HASHLEN];
  if (hs->state != ST_DONE) return FM_ERR_HANDSHAKE;
  hkdf2(hs->ck, NULL, 0, k1, k2);
  /* c1 carries initiator -> responder, c2 the other way. */
  cs_init(send, hs->initiator ? k1 : k2);
  cs_init(recv, hs->initiator ? k2 : k1);
  sodium_memzero(k1, sizeof k1);
  sodium_memzero(k2, sizeof k2);
  /* The handshake's secrets have done their work: a leak of |hs| from now
   * on must not expose the session keys or our private keys. */
  sodium_memzero(&hs->cs, sizeof hs->cs);
  sodium_memzero(hs->ck, sizeof hs->ck);
  sodium_memzero(hs->s_sk, sizeof hs->s_sk);
  sodium_memzero(hs->e_sk, sizeof hs->e_sk);
  hs->state = ST_SPLIT;
  return 0;
}

int fm_noise_hs_hash(const fm_noise_hs *hs,
                     uint8_t h[static FM_NOISE_HASH_LEN]) {
  if (hs->state != ST_DONE && hs->state != ST_SPLIT) return FM_ERR_HANDSHAKE;
  memcpy(h, hs->h, HASHLEN);
  return 0;
}

int fm_noise_hs_remote_static(const fm_noise_hs *hs, uint8_t rs[static 32]) {
  /* rs arrives in message 2 for the initiator, message 3 for the
   * responder: state counts the messages already handled. */
  int known = hs->initiator ? ST_MSG3 : ST_DONE;
  if (hs->state < known || hs->state > ST_SPLIT) return FM_ERR_HANDSHAKE;
  memcpy(rs, hs->rs, 32);
  return 0;
}

void fm_noise_hs_wipe(fm_noise_hs *hs) { sodium_memzero(hs, sizeof *hs); }

/* ---- transport ------------------------------------------------------ */

int fm_noise_cs_encrypt(fm_noise_cs *cs, const uint8_t *ad, size_t adlen,
                        const uint8_t *pt, size_t len, uint8_t *out, size_t cap,
                        size_t *out_len) {
  FM_ASSERT(cs->has_key);
  if (len > FM_NOISE_MAX_PLAINTEXT || cap < len + TAGLEN) return FM_ERR_TOOBIG;
  if (cs->n == NONCE_MAX) return FM_ERR_TOOBIG;
  seal(cs, ad, adlen, pt, len, out);
  cs->n++;
  *out_len = len + TAGLEN;
  return 0;
}

int fm_noise_cs_decrypt(fm_noise_cs *cs, const uint8_t *ad, size_t adlen,
                        const uint8_t *ct, size_t len, uint8_t *out, size_t cap,
                        size_t *out_len) {
  FM_ASSERT(cs->has_key);
  if (len > FM_NOISE_MAX_MSG) return FM_ERR_TOOBIG;
  if (len < TAGLEN) return FM_ERR_DECRYPT;
  if (cap < len - TAGLEN || cs->n == NONCE_MAX) return FM_ERR_TOOBIG;
  if (unseal(cs, ad, adlen, ct, len, out) != 0) return FM_ERR_DECRYPT;
  cs->n++;
  *out_len = len - TAGLEN;
  return 0;
}

void fm_noise_cs_wipe(fm_noise_cs *cs) { sodium_memzero(cs, sizeof *cs); }

/* ---- keys from the Ed25519 identity ---------------------------------- */

int fm_noise_static_from_ed25519(const uint8_t ed_sk[static 64],
                                 uint8_t x_sk[static 32]) {
  uint8_t tmp[32];
  int rv = 0;
  if (crypto_sign_ed25519_sk_to_curve25519(tmp, ed_sk) != 0) {
    rv = FM_ERR_INVAL;
    goto out;
  }
  memcpy(x_sk, tmp, 32);
out:
  sodium_memzero(tmp, sizeof tmp);
  return rv;
}

int fm_noise_pub_from_ed25519(const uint8_t ed_pk[static 32],
                              uint8_t x_pk[static 32]) {
  uint8_t tmp[32];
  if (crypto_sign_ed25519_pk_to_curve25519(tmp, ed_pk) != 0)
    return FM_ERR_MALFORMED;
  memcpy(x_pk, tmp, 32);
  return 0;
}
