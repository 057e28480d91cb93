/* Sealed personal fields and the grants of their keys (docs/privacy.md).
 *
 * A sealed field is a MessagePack bin in place of a str:
 *
 *   0x01 | grant seq (8 bytes, big-endian) | nonce (24) | ciphertext + tag
 *
 * XChaCha20-Poly1305 (IETF) under the writer's data key; associated data
 * "fieldmesh seal 1" 0x00 | 0x01 | grant seq (8) | author (32) | record id |
 * 0x00 | field name.
 *
 *   seal.grant  body: {period: str "YYYY-MM",
 *                      to: [[device: bin 32, box: bin 80], ...],
 *                      of: uint (optional)}
 *
 * `of` names an earlier grant of the same author (its seq) whose key this
 * one carries to more readers: an extension, written when the writer
 * learns of readers its grant lacked (a new member, the gateway).
 *
 * Each box is crypto_box_seal of the 32-byte data key to the X25519 form of
 * |device|'s Ed25519 key.  The grant is the |grant seq| entry of the
 * writer's own log.
 *
 * Sans-I/O: randomness comes from the caller's fm_rng.  Decoders treat
 * their bytes as hostile.  Functions are reentrant.
 */
#ifndef FIELDMESH_SEAL_H
#define FIELDMESH_SEAL_H

#include "fieldmesh/entry.h"

#define FM_KIND_SEAL_GRANT "seal.grant"

#define FM_SEAL_KEY_LEN 32
#define FM_SEAL_FORMAT 0x01
#define FM_SEAL_NONCE_LEN 24
#define FM_SEAL_HEAD_LEN (1 + 8 + FM_SEAL_NONCE_LEN)
#define FM_SEAL_OVERHEAD (FM_SEAL_HEAD_LEN + 16)
#define FM_SEAL_BOX_LEN (FM_SEAL_KEY_LEN + 48)
#define FM_SEAL_READERS_MAX 100    /* recipients of one grant */
#define FM_SEAL_PERIOD_LEN 7       /* "YYYY-MM" */
#define FM_SEAL_TEXT_MAX 4097      /* an opened field, with its NUL */
#define FM_SEAL_REGRANT_DAYS 366   /* how far back a writer extends its grants */

/* What a writer needs to seal a record's fields: the data key (not owned;
 * kept by the keyring), the seq of its grant, the writer's device id and
 * the RNG for nonces. */
typedef struct fm_sealer {
  const uint8_t *key;
  uint64_t grant_seq;
  uint8_t author[FM_KEY_LEN];
  fm_rng rng;
} fm_sealer;

/* Writes |text| (|n| bytes, already in its one text form) sealed for
 * record |id| (|id_n| bytes) and field |field|, as a bin, to |w|.
 * Errors land in the writer's buffer. */
void fm_seal_write(fm_wr *w, const fm_sealer *s, const char *id, size_t id_n,
                   const char *field, const char *text, size_t n);

/* The grant seq a sealed value |p| (|n| bytes) names.  0 or
 * FM_ERR_MALFORMED (wrong format byte, too short, seq 0). */
int fm_seal_grant_of(const uint8_t *p, size_t n, uint64_t *grant_seq);

/* Opens a sealed value written by |author| for record |id| and field
 * |field| with |key| into |out| (|cap| bytes; |*out_n| set).  0,
 * FM_ERR_MALFORMED (not a sealed value), FM_ERR_TOOBIG (|cap| too small)
 * or FM_ERR_BADSIG (does not open: wrong key, tampered, truncated, or the
 * plaintext is not UTF-8).  |out| is wiped on failure. */
int fm_seal_open(const uint8_t key[static FM_SEAL_KEY_LEN], const uint8_t author[static FM_KEY_LEN],
                 const char *id, size_t id_n, const char *field, const uint8_t *p, size_t n,
                 char *out, size_t cap, size_t *out_n);

/* A grant's body: |key| wrapped to each of |devices| (|n|, 1 ..
 * FM_SEAL_READERS_MAX) for |period| ("YYYY-MM").  FM_ERR_INVAL for a bad
 * count, period or device key (not a point), else the buffer's error. */
int fm_seal_grant_body(fm_buf *out, const char *period, const uint8_t (*devices)[FM_KEY_LEN],
                       size_t n, const uint8_t key[static FM_SEAL_KEY_LEN], const fm_rng *rng);

/* The same with `of` (0: none, as above): an extension of grant |of|. */
int fm_seal_grant_body_of(fm_buf *out, const char *period, const uint8_t (*devices)[FM_KEY_LEN],
                          size_t n, const uint8_t key[static FM_SEAL_KEY_LEN], const fm_rng *rng,
                          uint64_t of);

/* Reads grant |e|: its period into |period| (8 bytes, NUL-terminated) and
 * its recipients, in order, into |devices| (room for FM_SEAL_READERS_MAX),
 * |*n| set (at least 1).  0 or FM_ERR_MALFORMED (also a grant whose every
 * item is of a later version: it names no reader this version knows). */
int fm_seal_grant_read(const fm_entry *e, char period[static 8],
                       uint8_t (*devices)[FM_KEY_LEN], size_t *n);

/* Opens the copy of grant |e|'s key wrapped to |self| (its Ed25519 secret
 * key |sk|, libsodium form) into |key|.  0, FM_ERR_NOTFOUND (|self| is
 * not a recipient), FM_ERR_MALFORMED or FM_ERR_BADSIG (the box does not
 * open).  |key| is written only on success. */
int fm_seal_grant_open(const fm_entry *e, const uint8_t self[static FM_KEY_LEN],
                       const uint8_t sk[static 64], uint8_t key[static FM_SEAL_KEY_LEN]);

/* "YYYY-MM" of |ms| (UTC) into |out| (8 bytes). */
void fm_seal_period(fm_time ms, char out[static 8]);

#endif
