/* Entries: the unit of replication and of signing.
 *
 * Stored bytes of an entry are two MessagePack values back to back:
 *
 *   U   = [version, author(bin 32), seq, prev(bin 32 | nil), hlc, kind(str), body(map)]
 *   sig = bin 64: Ed25519 by |author| over FM_CTX_ENTRY, 0x00, U
 *
 * U is produced by one canonical encoder; the decoder is strict (shortest
 * forms, UTF-8 text, unique top-level body keys), so one entry has exactly
 * one encoding.  A received entry is stored as received and never
 * re-encoded; its id is BLAKE2b-256 of the stored bytes.
 */
#ifndef FIELDMESH_ENTRY_H
#define FIELDMESH_ENTRY_H

#include "fieldmesh/hlc.h"
#include "fieldmesh/identity.h"
#include "fieldmesh/types.h"
#include "fieldmesh/wire.h"

#define FM_ENTRY_VERSION 1

/* Limits, checked before anything else.  Each can be configured downwards. */
typedef struct fm_limits {
  size_t entry_max;   /* whole stored entry, bytes (16 KiB) */
  int depth_max;      /* nesting of containers in the body, the body map counting 1 (8) */
  uint32_t keys_max;  /* keys per map and items per array (256) */
  size_t text_max;    /* bytes per string (4 KiB) */
} fm_limits;

#define FM_ENTRY_MAX (16 * 1024)
#define FM_KIND_MAX 32

/* The defaults above. */
fm_limits fm_limits_default(void);

/* A decoded entry.  Every pointer points into the bytes that were decoded
 * and is valid as long as they are. */
typedef struct fm_entry {
  const uint8_t *bytes;    /* the whole stored entry */
  size_t len;
  size_t signed_len;       /* U is bytes[0 .. signed_len) */
  uint8_t author[FM_KEY_LEN];
  uint64_t seq;            /* 1, 2, 3 ... */
  int has_prev;            /* 0 exactly when seq == 1 */
  uint8_t prev[FM_ID_LEN];
  fm_hlc hlc;
  const char *kind;        /* not NUL-terminated */
  size_t kind_len;
  const uint8_t *body;     /* encoded map */
  size_t body_len;
  const uint8_t *sig;      /* FM_SIG_LEN bytes */
} fm_entry;

/* Decodes and checks the structure and limits of |len| bytes at |buf|
 * (hostile).  Does not check the signature.  |lim| may be NULL for the
 * defaults.  Returns 0, FM_ERR_TOOBIG (a limit), FM_ERR_VERSION or
 * FM_ERR_MALFORMED; |out| is written only on success. */
int fm_entry_decode(const uint8_t *buf, size_t len, const fm_limits *lim,
                    fm_entry *out);

/* Checks |e|'s signature against its author.  0 or FM_ERR_BADSIG. */
int fm_entry_verify(const fm_entry *e);

/* BLAKE2b-256 of the stored bytes. */
void fm_entry_id(const uint8_t *bytes, size_t len, uint8_t id[static FM_ID_LEN]);

/* True when the kind of |e| is |kind|. */
int fm_entry_is(const fm_entry *e, const char *kind);

/* Encodes and signs a new entry by |id| into |out| (reset first).  |prev|
 * is NULL exactly when |seq| is 1.  |body| is an encoded map (hostile rules
 * apply: it is checked by decoding the result).  Returns 0, FM_ERR_TOOBIG,
 * FM_ERR_MALFORMED or FM_ERR_INVAL. */
int fm_entry_build(fm_buf *out, const fm_identity *id, uint64_t seq,
                   const uint8_t *prev, fm_hlc hlc, const char *kind,
                   const uint8_t *body, size_t body_len);

/* ---- reading bodies ----------------------------------------------------- */

/* Finds |key| among the top-level keys of the map |body| (already checked by
 * fm_entry_decode) and points |val| at its value.  0 or FM_ERR_NOTFOUND. */
int fm_body_find(const uint8_t *body, size_t len, const char *key, fm_rd *val);
/* Convenience readers: 0, FM_ERR_NOTFOUND (absent) or FM_ERR_MALFORMED
 * (present with another type). */
int fm_body_str(const uint8_t *body, size_t len, const char *key,
                const char **s, size_t *n);
int fm_body_uint(const uint8_t *body, size_t len, const char *key, uint64_t *v);
int fm_body_key(const uint8_t *body, size_t len, const char *key,
                uint8_t out[static FM_KEY_LEN]);

#endif
