/* The Noise handshake and transport cipher of a sync session.
 *
 * Exactly one protocol: Noise_XX_25519_ChaChaPoly_BLAKE2b, as defined by the
 * Noise Protocol Framework, revision 34 (noiseprotocol.org/noise.html):
 *
 *   -> e
 *   <- e, ee, s, es
 *   -> s, se
 *
 * Both sides learn each other's static X25519 key during the handshake;
 * deciding whether to trust it (is it the X25519 form of an enrolled device
 * key?) is the caller's business, see fm_noise_pub_from_ed25519().
 *
 * Sans-I/O: nothing here touches a socket, a clock or an RNG.  The caller
 * draws the ephemeral private key from its own RNG and passes it in, moves
 * the bytes, and frames them (each Noise message is at most FM_NOISE_MAX_MSG
 * bytes; the length prefix belongs to the session layer).
 *
 * Both structs are plain values that the caller embeds: no allocation, no
 * _free.  Their fields are private.  They hold secrets: wipe them with
 * fm_noise_hs_wipe() / fm_noise_cs_wipe() when done, on every path.
 */
#ifndef FIELDMESH_NOISE_H
#define FIELDMESH_NOISE_H

#include "fieldmesh/types.h"

#define FM_NOISE_PROTOCOL "Noise_XX_25519_ChaChaPoly_BLAKE2b"

#define FM_NOISE_HASH_LEN 64  /* BLAKE2b: the handshake hash */
#define FM_NOISE_TAG_LEN 16   /* Poly1305 */
#define FM_NOISE_MAX_MSG 65535 /* any Noise message, tag included */
#define FM_NOISE_MAX_PLAINTEXT (FM_NOISE_MAX_MSG - FM_NOISE_TAG_LEN)

/* Bytes a handshake message adds to its payload:
 * message 1 is e; message 2 is e, encrypted s, payload tag; message 3 is
 * encrypted s, payload tag. */
#define FM_NOISE_MSG1_OVERHEAD 32
#define FM_NOISE_MSG2_OVERHEAD (32 + 32 + 16 + 16)
#define FM_NOISE_MSG3_OVERHEAD (32 + 16 + 16)

/* A CipherState: one direction of the transport after the handshake.
 * Private fields. */
typedef struct fm_noise_cs {
  uint8_t k[32];
  uint64_t n;  /* next nonce; 2^64-1 is reserved and never used */
  int has_key; /* 0: no key yet (handshake) or wiped */
} fm_noise_cs;

/* A HandshakeState, with its SymmetricState.  Private fields. */
typedef struct fm_noise_hs {
  fm_noise_cs cs;
  uint8_t ck[FM_NOISE_HASH_LEN];
  uint8_t h[FM_NOISE_HASH_LEN];
  uint8_t s_sk[32], s_pk[32]; /* our static key */
  uint8_t e_sk[32], e_pk[32]; /* our ephemeral key */
  uint8_t rs[32], re[32];     /* the peer's static and ephemeral keys */
  int initiator;
  int state; /* the next message, or done, split, failed; 0: none */
} fm_noise_hs;

/* Sets up |hs| for one handshake, overwriting whatever it held.
 * |initiator|: nonzero for the side that sends message 1 (the one that
 * connected), 0 for the responder.
 * |prologue| (|prologue_len| bytes, NULL when 0): bytes both sides must agree
 * on without sending them, e.g. the protocol version and mesh id; a
 * mismatch makes the handshake fail.  Copied into the hash: not kept.
 * |static_sk|: our long-term X25519 private key (see
 * fm_noise_static_from_ed25519()).  |ephemeral_sk|: 32 fresh random bytes
 * from the caller's RNG, never reused for another handshake.  Both are
 * copied into |hs|; the caller may wipe its copies at once.
 * Returns 0, or FM_ERR_INVAL if a public key cannot be derived (|hs| is then
 * wiped). */
int fm_noise_hs_init(fm_noise_hs *hs, int initiator, const uint8_t *prologue,
                     size_t prologue_len, const uint8_t static_sk[static 32],
                     const uint8_t ephemeral_sk[static 32]);

/* Writes the next handshake message, carrying |payload| (|plen| bytes, NULL
 * when 0; encrypted in messages 2 and 3, in clear in message 1), into |out|
 * (|cap| bytes, must not overlap |payload|).  On success stores the message
 * length in |*out_len|: plen + FM_NOISE_MSGn_OVERHEAD.
 * Returns:
 *   0                 done; send |out| to the peer.
 *   FM_ERR_TOOBIG     |cap| is too small or the message would exceed
 *                     FM_NOISE_MAX_MSG.  |hs| is unchanged: retry.
 *   FM_ERR_HANDSHAKE  not our turn to write (or |hs| is done, split, wiped
 *                     or failed), or a Diffie-Hellman result was all zeros
 *                     (the peer sent a low-order ephemeral key).  |hs| is
 *                     now failed for good: drop the connection.
 * On error |*out_len| is not written and |out| holds no part of a message
 * (bytes already written are zeroed). */
int fm_noise_hs_write(fm_noise_hs *hs, const uint8_t *payload, size_t plen,
                      uint8_t *out, size_t cap, size_t *out_len);

/* Reads the next handshake message |msg| (|len| bytes) from the peer and
 * decrypts its payload into |payload_out| (|cap| bytes, may be NULL when 0;
 * must not overlap |msg|), storing the payload length in |*payload_len|:
 * len - FM_NOISE_MSGn_OVERHEAD.  The payload of message 1 is not
 * authenticated, and that of message 2 not yet tied to a verified peer:
 * treat both as claims until the handshake is done.
 * Returns:
 *   0                 done.
 *   FM_ERR_TOOBIG     |cap| is too small for the payload: |hs| is unchanged,
 *                     retry with a larger buffer.  Or |len| exceeds
 *                     FM_NOISE_MAX_MSG: |hs| is failed.
 *   FM_ERR_HANDSHAKE  not our turn to read (a replayed or unexpected
 *                     message), a message too short, a tag that does not
 *                     verify (tampering, another handshake's message, a
 *                     prologue mismatch) or an all-zero Diffie-Hellman
 *                     result.  |hs| is now failed for good: drop the peer.
 * On error |*payload_len| and |payload_out| are not written. */
int fm_noise_hs_read(fm_noise_hs *hs, const uint8_t *msg, size_t len,
                     uint8_t *payload_out, size_t cap, size_t *payload_len);

/* 1 once all three messages have been written or read without error (and
 * until fm_noise_hs_wipe()), else 0. */
int fm_noise_hs_done(const fm_noise_hs *hs);

/* Splits a done handshake into the two transport directions: |send| encrypts
 * what we send, |recv| decrypts what the peer sends (the initiator sends
 * with c1, the responder with c2).  Both start at nonce 0; wipe them with
 * fm_noise_cs_wipe().  Then wipes the chaining key and our private keys in
 * |hs|: only the handshake hash and the remote static key remain readable.
 * Returns 0, or FM_ERR_HANDSHAKE if |hs| is not done or was already split
 * (|send| and |recv| are then not written). */
int fm_noise_hs_split(fm_noise_hs *hs, fm_noise_cs *send, fm_noise_cs *recv);

/* Copies the handshake hash into |h|: the same 64 bytes on both sides of one
 * handshake and different for every other, so it binds anything signed
 * with it (e.g. an identity proof in the first transport message) to this
 * session.  Returns 0, or FM_ERR_HANDSHAKE if |hs| is neither done nor
 * split (|h| not written). */
int fm_noise_hs_hash(const fm_noise_hs *hs,
                     uint8_t h[static FM_NOISE_HASH_LEN]);

/* Copies the peer's static X25519 public key into |rs|.  The initiator
 * knows it after reading message 2, the responder after reading message 3;
 * it is proven (the peer holds the private key) once the handshake is done.
 * Returns 0, or FM_ERR_HANDSHAKE if it is not known yet or |hs| failed. */
int fm_noise_hs_remote_static(const fm_noise_hs *hs, uint8_t rs[static 32]);

/* Zeroes |hs|; afterwards every call but fm_noise_hs_init() on it fails. */
void fm_noise_hs_wipe(fm_noise_hs *hs);

/* Encrypts |pt| (|len| bytes, NULL when 0) with associated data |ad|
 * (|adlen| bytes, NULL when 0) into |out| (|cap| bytes; |out| may equal |pt|
 * for in-place, but must not otherwise overlap it), storing
 * len + FM_NOISE_TAG_LEN in |*out_len|, and advances the nonce.
 * Returns:
 *   0               done.
 *   FM_ERR_TOOBIG   |len| exceeds FM_NOISE_MAX_PLAINTEXT, |cap| is too small,
 *                   or the nonce is exhausted (2^64-1 messages were sent:
 *                   reconnect for fresh keys).  |cs| is unchanged.
 * |cs| must come from fm_noise_hs_split() (asserted). */
int fm_noise_cs_encrypt(fm_noise_cs *cs, const uint8_t *ad, size_t adlen,
                        const uint8_t *pt, size_t len, uint8_t *out, size_t cap,
                        size_t *out_len);

/* Decrypts the frame |ct| (|len| bytes) made by the peer's
 * fm_noise_cs_encrypt() with the same |ad|, into |out| (|cap| bytes; may
 * equal |ct|), storing len - FM_NOISE_TAG_LEN in |*out_len|, and advances
 * the nonce.  Frames must arrive in order, each once.
 * Returns:
 *   0               done.
 *   FM_ERR_DECRYPT  the frame does not authenticate: tampered, replayed,
 *                   reordered, or shorter than a tag.  As the Noise spec
 *                   requires, |cs| is unchanged (the nonce does not
 *                   advance), so the next genuine frame would still
 *                   decrypt; but the code is fatal (fm_err_is_fatal):
 *                   the session drops the peer.
 *   FM_ERR_TOOBIG   |len| exceeds FM_NOISE_MAX_MSG, |cap| is too small, or
 *                   the nonce is exhausted.  |cs| is unchanged.
 * On error |out| and |*out_len| are not written.
 * |cs| must come from fm_noise_hs_split() (asserted). */
int fm_noise_cs_decrypt(fm_noise_cs *cs, const uint8_t *ad, size_t adlen,
                        const uint8_t *ct, size_t len, uint8_t *out, size_t cap,
                        size_t *out_len);

/* Zeroes |cs|; encrypting or decrypting with it afterwards asserts. */
void fm_noise_cs_wipe(fm_noise_cs *cs);

/* The X25519 static private key |x_sk| that belongs to the Ed25519 identity
 * secret key |ed_sk| (libsodium form: seed || pk), so one enrolled identity
 * serves for signing and for the handshake.  Wipe |x_sk| after use.
 * Returns 0, or FM_ERR_INVAL (|x_sk| not written). */
int fm_noise_static_from_ed25519(const uint8_t ed_sk[static 64],
                                 uint8_t x_sk[static 32]);

/* The X25519 public key |x_pk| of the Ed25519 public key |ed_pk|: compare
 * it (sodium_memcmp) with fm_noise_hs_remote_static() to learn which device
 * is on the other end.  Returns 0, or FM_ERR_MALFORMED if |ed_pk| is not a
 * valid Ed25519 point (|x_pk| not written). */
int fm_noise_pub_from_ed25519(const uint8_t ed_pk[static 32],
                              uint8_t x_pk[static 32]);

#endif
