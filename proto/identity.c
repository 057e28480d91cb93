#include "fieldmesh/identity.h"

#include <string.h>

#include <sodium.h>

#include "fieldmesh/error.h"

int fm_identity_from_seed(fm_identity *id, const uint8_t seed[static 32]) {
  if (crypto_sign_seed_keypair(id->pk, id->sk, seed) != 0) return FM_ERR_INVAL;
  return 0;
}

/* The signed message is ctx || 0x00 || msg: the NUL keeps a context from
 * being the prefix of another context's message. */
static size_t framed(uint8_t *dst, const char *ctx, const uint8_t *msg,
                     size_t len) {
  if (!ctx) {
    memcpy(dst, msg, len);
    return len;
  }
  size_t cl = strlen(ctx);
  memcpy(dst, ctx, cl);
  dst[cl] = 0;
  memcpy(dst + cl + 1, msg, len);
  return cl + 1 + len;
}

static size_t framed_len(const char *ctx, size_t len) {
  return ctx ? strlen(ctx) + 1 + len : len;
}

int fm_identity_sign(const fm_identity *id, const char *ctx,
                     const uint8_t *msg, size_t len, uint8_t sig[static 64]) {
  uint8_t scratch[FM_SIGN_MAX + 64];
  if (len > FM_SIGN_MAX || framed_len(ctx, len) > sizeof scratch) return FM_ERR_TOOBIG;
  size_t n = framed(scratch, ctx, msg, len);
  crypto_sign_detached(sig, NULL, scratch, n, id->sk);
  return 0;
}

int fm_sig_verify(const uint8_t pk[static 32], const char *ctx,
                  const uint8_t *msg, size_t len, const uint8_t sig[static 64]) {
  uint8_t scratch[FM_SIGN_MAX + 64];
  if (len > FM_SIGN_MAX || framed_len(ctx, len) > sizeof scratch) return FM_ERR_TOOBIG;
  size_t n = framed(scratch, ctx, msg, len);
  if (crypto_sign_verify_detached(sig, scratch, n, pk) != 0) return FM_ERR_BADSIG;
  return 0;
}

void fm_identity_wipe(fm_identity *id) { sodium_memzero(id, sizeof *id); }

void fm_blake2b(uint8_t *out, size_t outlen, const uint8_t *in, size_t inlen,
                const uint8_t *key, size_t keylen) {
  FM_ASSERT(outlen >= 1 && outlen <= 64 && keylen <= 64);
  crypto_generichash(out, outlen, in, inlen, key, keylen);
}
