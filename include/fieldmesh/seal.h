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
 *                      to: [[device: bin 32, box: bin 80], ...
 *                           or [device, box, inbox: bin 32], ...],
 *                      of: uint (optional)}
 *   seal.extend body: {writer: bin 32, of: uint, period, to} (items as a
 *                      grant's)
 *   seal.inbox  body: {keys: [[period: str "YYYY-MM", inbox: bin 32], ...]}
 *
 * `of` names an earlier grant of the same author (its seq) whose key this
 * one carries to more readers: an extension, written when the writer
 * learns of readers its grant lacked (a new member, the gateway).
 *
 * A `seal.extend` entry is the same written by another holder of the key
 * (a reader of |writer|'s grant |of|, e.g. a teammate of a lost laptop):
 * it names the writer and the grant, since its own log holds neither.
 *
 * Each box is crypto_box_seal of the 32-byte data key to the X25519 form of
 * |device|'s Ed25519 key, or, in a three-element item (version 6), to the
 * X25519 key |inbox| that |device| published in a `seal.inbox` entry for
 * the grant's period: a key the device can forget (keep_months,
 * docs/privacy.md P4).  The grant is the |grant seq| entry of the
 * writer's own log.
 *
 * Sans-I/O: randomness comes from the caller's fm_rng.  Decoders treat
 * their bytes as hostile.  Functions are reentrant.
 */
#ifndef FIELDMESH_SEAL_H
#define FIELDMESH_SEAL_H

#include "fieldmesh/entry.h"

#define FM_KIND_SEAL_GRANT "seal.grant"
#define FM_KIND_SEAL_INBOX "seal.inbox"
#define FM_KIND_SEAL_EXTEND "seal.extend"

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
#define FM_SEAL_INBOX_PK_LEN 32    /* an X25519 inbox key, public or secret */
#define FM_SEAL_INBOX_MAX 12       /* keys in one seal.inbox entry */

/* A reader of a grant: its device and, when |has_inbox|, the inbox key it
 * published for the grant's period (the box is wrapped to that). */
typedef struct fm_seal_reader {
  uint8_t device[FM_KEY_LEN];
  uint8_t inbox[FM_SEAL_INBOX_PK_LEN];
  int has_inbox;
} fm_seal_reader;

/* One inbox key of this device: the month it serves and its X25519 pair. */
typedef struct fm_seal_inbox_key {
  char period[8];
  uint8_t pk[FM_SEAL_INBOX_PK_LEN];
  uint8_t sk[FM_SEAL_INBOX_PK_LEN];
} fm_seal_inbox_key;

/* One published inbox key: the month and the public key. */
typedef struct fm_seal_inbox_pub {
  char period[8];
  uint8_t pk[FM_SEAL_INBOX_PK_LEN];
} fm_seal_inbox_pub;

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

/* The same to |readers| (|n|, 1 .. FM_SEAL_READERS_MAX): a reader with an
 * inbox key gets the three-element item wrapped to it, the others the
 * two-element item wrapped to their device key.  FM_ERR_INVAL as above. */
int fm_seal_grant_body_to(fm_buf *out, const char *period, const fm_seal_reader *readers,
                          size_t n, const uint8_t key[static FM_SEAL_KEY_LEN], const fm_rng *rng,
                          uint64_t of);

/* An extension of |writer|'s grant |of| (>= 1) written by another holder
 * of its key: a `seal.extend` body wrapping |key| to |readers| (|n|) as
 * fm_seal_grant_body_to() does.  FM_ERR_INVAL as above. */
int fm_seal_extend_body(fm_buf *out, const uint8_t writer[static FM_KEY_LEN], uint64_t of,
                        const char *period, const fm_seal_reader *readers, size_t n,
                        const uint8_t key[static FM_SEAL_KEY_LEN], const fm_rng *rng);

/* The writer and grant seq a `seal.extend` entry |e| extends into
 * |writer| and |*of|.  0 or FM_ERR_MALFORMED (another kind, a key missing
 * or of the wrong type, of 0). */
int fm_seal_extend_of(const fm_entry *e, uint8_t writer[static FM_KEY_LEN], uint64_t *of);

/* The readers and opening functions below read a `seal.extend` entry as
 * they read a grant (the same `period` and `to`).
 *
 * Reads grant |e|: its period into |period| (8 bytes) and its readers, in
 * order, into |readers| (room for FM_SEAL_READERS_MAX), with the inbox key
 * an item names, |*n| set (at least 1).  0 or FM_ERR_MALFORMED (also a
 * grant whose every item is of a later version). */
int fm_seal_grant_readers(const fm_entry *e, char period[static 8], fm_seal_reader *readers,
                          size_t *n);

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

/* The same, also trying the inbox keys this device holds (|inbox|, |n|;
 * secrets, not copied): an item wrapped to an inbox key opens only with
 * that key's secret, FM_ERR_NOTFOUND when this device does not hold it
 * (never had it, or forgot it). */
int fm_seal_grant_open_inbox(const fm_entry *e, const uint8_t self[static FM_KEY_LEN],
                             const uint8_t sk[static 64], const fm_seal_inbox_key *inbox,
                             size_t n, uint8_t key[static FM_SEAL_KEY_LEN]);

/* The X25519 public key |pk| of inbox secret |sk|. */
void fm_seal_inbox_public(const uint8_t sk[static FM_SEAL_INBOX_PK_LEN],
                          uint8_t pk[static FM_SEAL_INBOX_PK_LEN]);

/* A `seal.inbox` body publishing the public halves of |keys| (|n|, 1 ..
 * FM_SEAL_INBOX_MAX).  FM_ERR_INVAL for a bad count or period, else the
 * buffer's error. */
int fm_seal_inbox_body(fm_buf *out, const fm_seal_inbox_key *keys, size_t n);

/* Reads inbox entry |e| into |out| (room for FM_SEAL_INBOX_MAX), |*n|
 * set.  0 or FM_ERR_MALFORMED (then it names no key). */
int fm_seal_inbox_read(const fm_entry *e, fm_seal_inbox_pub *out, size_t *n);

/* "YYYY-MM" of |ms| (UTC) into |out| (8 bytes). */
void fm_seal_period(fm_time ms, char out[static 8]);

/* The month |months| (may be negative) after |period| ("YYYY-MM") into
 * |out| (8 bytes), clamped to years 0000 .. 9999. */
void fm_seal_period_add(const char *period, int months, char out[static 8]);

#endif
