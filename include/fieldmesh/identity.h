/* A device's (or the commune authority's) Ed25519 identity.
 *
 * The device id is the public key, shown as 64 lowercase hex digits.  All
 * signing with an identity goes through fm_identity_sign(), which always
 * prefixes a context string, so a signature made for one purpose can never
 * be replayed for another.  Reading and writing the key file is the
 * store's business (store/keyfile.h): proto/ does no I/O.
 */
#ifndef FIELDMESH_IDENTITY_H
#define FIELDMESH_IDENTITY_H

#include "fieldmesh/types.h"

typedef struct fm_identity {
  uint8_t pk[FM_KEY_LEN];
  uint8_t sk[64]; /* libsodium form: seed || pk.  Wiped by fm_identity_wipe. */
} fm_identity;

/* Derives the key pair from a 32-byte |seed| (from the caller's RNG). */
int fm_identity_from_seed(fm_identity *id, const uint8_t seed[static 32]);

/* Signs |ctx| (a NUL-free context string), a 0x00 byte, then |msg|.
 * |ctx| NULL signs |msg| alone: only for checking public test vectors.
 * The whole must not exceed FM_SIGN_MAX bytes.  Returns 0 or FM_ERR_TOOBIG. */
#define FM_SIGN_MAX (20 * 1024)
int fm_identity_sign(const fm_identity *id, const char *ctx,
                     const uint8_t *msg, size_t len, uint8_t sig[static 64]);

/* Verifies a signature made by fm_identity_sign() with the same |ctx|
 * (NULL: none).  Returns 0, FM_ERR_BADSIG or FM_ERR_TOOBIG. */
int fm_sig_verify(const uint8_t pk[static 32], const char *ctx,
                  const uint8_t *msg, size_t len, const uint8_t sig[static 64]);

/* Zeroes the secret key (sodium_memzero); |id| stays the caller's.  Call
 * it before the memory holding an identity is freed or reused. */
void fm_identity_wipe(fm_identity *id);

/* BLAKE2b with an |outlen|-byte digest (1..64) and an optional |key|
 * (|keylen| 0..64): the one hash of fieldmesh. */
void fm_blake2b(uint8_t *out, size_t outlen, const uint8_t *in, size_t inlen,
                const uint8_t *key, size_t keylen);

/* Context strings: one per kind of signed object. */
#define FM_CTX_ENTRY "fieldmesh entry v1"

#endif
