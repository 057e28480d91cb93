/* Attachments: scans of a citizen's papers, sealed and split into chunks
 * that travel like the records.
 *
 * A file is encrypted under a fresh random 32-byte file key, chunk by
 * chunk (FM_ATTACH_CHUNK bytes of the file each, the last one shorter),
 * with XChaCha20-Poly1305 (IETF AEAD): chunk i's nonce is i as 24 bytes
 * little-endian -- safe because a key seals one file only -- and its
 * associated data "fieldmesh attachment" and i as 4 bytes big-endian, so a
 * chunk cannot be moved to another place of the file.  A chunk is named
 * by the BLAKE2b-256 of its ciphertext (its blob id): any laptop can
 * verify and relay a chunk it cannot read.
 *
 * The file is announced by a `dossier.attach` entry (docs/protocol.md):
 *
 *   {dossier: str, kind: str, name: str, size: uint, chunk: uint,
 *    chunks: bin (32 bytes per chunk, in order), key: bin 32}
 *
 * When the writer seals (seal.h), `name` and `key` are sealed values (a
 * bin) for the record id of the dossier and the fields "scan.name" and
 * "scan.key" (the key as 64 lowercase hex digits): only the readers of the
 * writer's grant can read the name or open the chunks.
 *
 * Threads: pure functions; any thread.
 */
#ifndef FIELDMESH_ATTACH_H
#define FIELDMESH_ATTACH_H

#include <stddef.h>
#include <stdint.h>

#include "fieldmesh/entry.h"
#include "fieldmesh/seal.h"
#include "fieldmesh/wire.h"

#define FM_KIND_DOSSIER_ATTACH "dossier.attach"

/* A chunk fits in one sync message (FM_MSG_MAX) with room to spare, and
 * the ids of a whole file fit in one bin of an entry (4 KiB: 128 ids). */
#define FM_ATTACH_CHUNK (60 * 1024)        /* file bytes per chunk */
#define FM_ATTACH_TAG 16                    /* AEAD tag per chunk */
#define FM_ATTACH_CHUNKS_MAX 128
#define FM_ATTACH_FILE_MAX (FM_ATTACH_CHUNKS_MAX * FM_ATTACH_CHUNK) /* 7.5 MiB */
#define FM_ATTACH_NAME_MAX 255              /* bytes of a file name */
/* What `fieldmesh dossier attach` adds to one dossier, at most (a
 * writer's rule, not validation: a dossier's view lists up to
 * FM_VIEW_ATTACH_MAX, so scans attached on two laptops at once still
 * fit): this many scans, and this many bytes of files in all. */
#define FM_ATTACH_PER_DOSSIER 32
#define FM_ATTACH_DOSSIER_BYTES ((uint64_t)64 << 20)
#define FM_ATTACH_KEY 32
#define FM_BLOB_ID 32

typedef enum fm_attach_kind {
  FM_ATT_ID_CARD, FM_ATT_HOUSEHOLD_BOOK, FM_ATT_APPLICATION_FORM, FM_ATT_PHOTO,
  FM_ATT_OTHER
} fm_attach_kind;
#define FM_ATT_KIND_COUNT 5

/* The kind's name as written ("id_card" ...; "unknown" outside the enum),
 * and back: its index, or -1 for an unknown |n|-byte name. */
const char *fm_attach_kind_name(int k);
int fm_attach_kind_parse(const char *s, size_t n);

/* What an attachment entry says.  Pointers point into the entry's bytes
 * (parse) or the caller's (body): never owned. */
typedef struct fm_attach {
  const char *dossier;
  size_t dossier_len;
  int kind;                      /* fm_attach_kind */
  const char *name;              /* the file's name, without folders */
  size_t name_len;
  uint64_t size;                 /* bytes of the file */
  const uint8_t *chunks;         /* nchunks blob ids of 32 bytes, in order */
  size_t nchunks;
  const uint8_t *key;            /* FM_ATTACH_KEY bytes; NULL when sealed */
  const uint8_t *name_sealed;    /* sealed name (NULL: |name| is clear) */
  size_t name_sealed_len;
  const uint8_t *key_sealed;     /* sealed key (NULL: |key| is clear) */
  size_t key_sealed_len;
} fm_attach;

#define FM_ATTACH_FIELD_NAME "scan.name"
#define FM_ATTACH_FIELD_KEY "scan.key"

/* Chunks a file of |size| bytes is cut into (at least 1). */
size_t fm_attach_nchunks(uint64_t size);
/* Bytes of chunk |i| of a |size|-byte file before sealing. */
size_t fm_attach_chunk_len(uint64_t size, size_t i);

/* Seals chunk |i| (|n| bytes of |plain|, at most FM_ATTACH_CHUNK) under
 * |key| into |out| (n + FM_ATTACH_TAG bytes) and names it in |id|. */
void fm_attach_chunk_seal(const uint8_t key[static FM_ATTACH_KEY], size_t i,
                          const uint8_t *plain, size_t n, uint8_t *out,
                          uint8_t id[static FM_BLOB_ID]);
/* Opens chunk |i| (|n| bytes of |ct|, hostile) into |out| (n -
 * FM_ATTACH_TAG bytes).  0, or FM_ERR_DECRYPT when it does not
 * authenticate (another key, place or tampered bytes) or is too short. */
int fm_attach_chunk_open(const uint8_t key[static FM_ATTACH_KEY], size_t i,
                         const uint8_t *ct, size_t n, uint8_t *out);
/* The blob id of |n| bytes: BLAKE2b-256. */
void fm_blob_id(const uint8_t *p, size_t n, uint8_t id[static FM_BLOB_ID]);

/* Writes the body of a `dossier.attach` entry.  Returns the buffer's
 * error, or FM_ERR_INVAL when |a| breaks the rules fm_attach_parse
 * checks. */
int fm_attach_body(fm_buf *out, const fm_attach *a);
/* The same with `name` and `key` sealed by |s| (NULL: as fm_attach_body). */
int fm_attach_body_sealed(fm_buf *out, const fm_attach *a, const fm_sealer *s);

/* Reads the body of a `dossier.attach` entry (hostile bytes, already
 * checked as an entry by fm_entry_decode) into |out|.  0, or
 * FM_ERR_MALFORMED: a key missing or of another type, an unknown kind, an
 * empty or over-long name or one holding '/', a size of 0 or over
 * FM_ATTACH_FILE_MAX, a chunk size other than FM_ATTACH_CHUNK, a chunk
 * list whose length is not 32 per chunk of that size, a key not 32
 * bytes.  A `name` or `key` that is a sealed value (a bin of another
 * size, seal.h) is taken as such, unread: |name| or |key| is then NULL
 * and the sealed bytes are given. */
int fm_attach_parse(const uint8_t *body, size_t len, fm_attach *out);

/* The stored entry |bytes| (hostile) decoded into |e| and, when it is a
 * well-formed `dossier.attach`, its body into |a| (both point into
 * |bytes|): 0, or FM_ERR_NOTFOUND for any other entry, one that does not
 * decode, or an attach body fm_attach_parse refuses. */
int fm_attach_of_entry(const uint8_t *bytes, size_t len, fm_entry *e, fm_attach *a);

#endif
