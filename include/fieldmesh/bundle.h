/* Bundles: the sneakernet link.  A file carried on a USB stick holds the
 * entries that a peer lacks; importing it validates and applies them like
 * a sync session would.  The same container carries a vector file (what a
 * node holds, sent the other way so the next bundle can be small) and a
 * join file (one enrollment certificate for a new device).
 *
 * Container, byte by byte:
 *   magic    8 bytes: "FMBNDL4\n" (bundle), "FMVECT1\n" (vector), "FMJOIN1\n" (join)
 *            A bundle's entries travel zstd-compressed in sections
 *            ("FMBNDL4"), which older releases refuse with "a bundle of
 *            another fieldmesh release"; on request (format 3) the same
 *            bundle is written uncompressed as "FMBNDL3", which they read.
 *            "FMBNDL3" (entries that may carry sealed fields, sync
 *            protocol version 5), "FMBNDL2" and "FMBNDL1" bundles are
 *            read as bundles.  Another digit after a known name is a
 *            format of another release: FM_ERR_VERSION.  Only an FMBNDL3
 *            or FMBNDL4 bundle may carry attachment chunks (header key
 *            `chunks`).
 *   header   MessagePack map {from: bin 32 (device, or the authority for a
 *            join file), authority: bin 32, commune: str, created: uint ms,
 *            vector: [[author bin 32, seq uint, head bin 32] ...],
 *            certs: [enroll entry bytes as bin ...],
 *            presence: [note bin ...] (optional, bundles only; older
 *                      readers skip it as an unknown key),
 *            chunks: uint (optional, FMBNDL3 only: the last |chunks| items
 *                    are attachment chunks, not entries),
 *            sig: bin 64 (optional; when present, the last key)}
 *   items    0..n MessagePack bins, each one stored entry (then, in an
 *            FMBNDL3 bundle, each one sealed attachment chunk).  In an
 *            FMBNDL4 bundle the entries' bins, back to back, are cut into
 *            sections of at most FM_ZPACK_SECTION_MAX bytes, each of
 *            whole entries, and each section is one bin holding one zstd
 *            frame (zpack.h); the chunks follow as they are (ciphertext
 *            does not compress).  The bins left after the header's
 *            `chunks` are the sections.  The entries are never
 *            re-encoded: unpacked, they are the very bytes signed.
 *   trailer  MessagePack array [n, bin 32] where n counts the entries and
 *            chunks (packed or not) and the bin is BLAKE2b-256 of every
 *            byte before the trailer, as written (packed)
 * sig is the exporting device's signature (fm_identity_sign, context
 * FM_CTX_BUNDLE) over BLAKE2b-256 of every byte from the magic up to the
 * "sig" key: only a signed header's vector counts as the word of |from|
 * about which of our entries it holds (copies.h).  The checksum only
 * catches damage; anyone can write one.
 * Nothing may follow the trailer.  A reader checks the trailer before it
 * believes anything else, so a flipped byte or a truncated file is refused
 * whole and changes nothing.  Sections are unpacked only once every
 * section's declared size has been checked (each at most
 * FM_ZPACK_SECTION_MAX and FM_ZPACK_SECTION_RATIO times its packed size,
 * all together at most FM_BUNDLE_FILE_MAX): a decompression bomb is
 * refused (FM_ERR_BOMB) before anything is allocated for it.
 */
#ifndef FIELDMESH_BUNDLE_H
#define FIELDMESH_BUNDLE_H

#include "fieldmesh/blob_store.h"
#include "fieldmesh/identity.h"
#include "fieldmesh/store.h"

#define FM_BUNDLE_MAGIC "FMBNDL4\n"
#define FM_BUNDLE_FORMAT 4               /* the digit of FM_BUNDLE_MAGIC */
#define FM_BUNDLE_MAGIC_V3 "FMBNDL3\n"   /* read; written on request (format 3) */
#define FM_BUNDLE_MAGIC_V1 "FMBNDL1\n"   /* read, never written */
#define FM_BUNDLE_MAGIC_V2 "FMBNDL2\n"   /* read, never written */
#define FM_VECTOR_MAGIC "FMVECT1\n"
#define FM_JOIN_MAGIC "FMJOIN1\n"
#define FM_BUNDLE_FILE_MAX ((size_t)2 << 30)   /* 2 GiB, and the most its sections unpack to */
#define FM_CTX_BUNDLE "fieldmesh bundle header v1"
/* Presence notes in a bundle header's optional `presence` key. */
#define FM_BUNDLE_PRESENCE_MAX 256

/* A parsed container.  All pointers point into |data| or, for the
 * entries of an FMBNDL4 bundle, into |plain|; it owns both. */
/* A signed header's word about scans: its writer holds every chunk of
 * every scan of |author| up to |upto| (header key `scans`, protocol.md
 * 7.2; scan_copies.h). */
typedef struct fm_bundle_scans {
  uint8_t author[FM_KEY_LEN];
  uint64_t upto;
} fm_bundle_scans;

typedef struct fm_bundle {
  uint8_t *data;
  size_t len;
  uint8_t *plain;         /* the unpacked sections (FMBNDL4), or NULL */
  size_t plain_len;
  char magic[9];          /* FM_BUNDLE_MAGIC for a bundle of any format */
  unsigned format;        /* a bundle's digit as in the file: 1 .. 4 (0: not a bundle) */
  uint8_t from[FM_KEY_LEN];
  uint8_t authority[FM_KEY_LEN];
  char commune[FM_NAME_MAX];
  fm_time created;
  fm_vector vector;       /* owned */
  size_t ncerts;
  fm_slice *certs;        /* owned array; bytes point into |data| */
  size_t nitems;
  fm_slice *items;        /* owned array; bytes point into |data| or |plain| */
  size_t nchunks;         /* attachment chunks (hostile: only wanted ones kept) */
  fm_slice *chunks;       /* points into |items|' array, past the entries */
  size_t npresence;       /* presence notes (hostile: checked on import) */
  fm_slice *presence;     /* owned array; bytes point into |data| */
  size_t nscans;          /* the exporter's word about scans (hostile: it counts only */
  fm_bundle_scans *scans; /* when signed, and only up to the vector's checked head); owned */
  int has_sig;            /* the header carries |sig| ... */
  uint8_t sig[64];
  size_t signed_len;      /* ... over data[0 .. signed_len) (not yet checked) */
} fm_bundle;

/* Reads and checks the container at |path|: FM_ERR_NOTFOUND, FM_ERR_IO,
 * FM_ERR_NOTREG (a FIFO, device or folder: refused without waiting),
 * FM_ERR_TRUNCATED, FM_ERR_CHECKSUM, FM_ERR_MALFORMED, FM_ERR_TOOBIG,
 * FM_ERR_VERSION (another release's format) or FM_ERR_BOMB (an FMBNDL4
 * section would unpack past its bound).  An FMBNDL4 bundle's sections
 * are unpacked here.
 * Entries inside are not validated here (fm_store_ingest does that).  On
 * success |b| is owned by the caller: fm_bundle_free(). */
int fm_bundle_read(const char *path, fm_bundle *b);
/* The same from memory; |data| (malloc'd) is taken over, even on error. */
int fm_bundle_parse(uint8_t *data, size_t len, fm_bundle *b);
void fm_bundle_free(fm_bundle *b);

/* Writes a bundle of every entry in |s| that the holder of |theirs| lacks
 * (NULL: everything), with our vector and our enrollment certificates in
 * the header, to |path| atomically (fm_fsfile: a file or link of that name
 * is replaced, never written through; FM_ERR_NOSPACE when the disk is
 * full, nothing left behind).  |id| (may be NULL: an administrator's
 * machine with no device key) is the device's identity: the header is
 * signed with it.  |count| (may be NULL) receives the number of entries
 * written. */
int fm_bundle_export(fm_store *s, const fm_identity *id, const fm_vector *theirs,
                     const char *path, fm_time now, size_t *count);

/* As fm_bundle_export_chunks, in bundle format |format|: 0 or
 * FM_BUNDLE_FORMAT (compressed, FMBNDL4), or 3 (FMBNDL3, uncompressed:
 * for laptops of an older release).  FM_ERR_INVAL for another. */
int fm_bundle_export_format(fm_store *s, const fm_identity *id, const fm_vector *theirs,
                            const char *path, fm_time now, unsigned format,
                            uint64_t chunk_bytes, size_t *count, size_t *chunks,
                            size_t *skipped);

/* As fm_bundle_export, with the chunks this store holds of the
 * attachments whose `dossier.attach` entries go in the bundle, up to
 * |chunk_bytes| bytes of chunks (0: none; the bundle is then the same as
 * fm_bundle_export's).  |chunks| and |skipped| (may be NULL) receive how
 * many chunks went in and how many were left out by the cap. */
int fm_bundle_export_chunks(fm_store *s, const fm_identity *id, const fm_vector *theirs,
                            const char *path, fm_time now, uint64_t chunk_bytes,
                            size_t *count, size_t *chunks, size_t *skipped);

/* Writes our vector to |path| (FM_VECTOR_MAGIC, no items), signed with
 * |id| as fm_bundle_export(). */
int fm_vector_export(fm_store *s, const fm_identity *id, const char *path, fm_time now);

/* What a signed container says of our own entries: when |b|'s header is
 * signed by |from|, an enrolled device of this commune that is not
 * revoked (and not us), each vector item of our own log whose head is our
 * entry at that seq is recorded as a copy held by |from| (copies.h).  An
 * unsigned or badly signed header, or a stranger's, counts for nothing:
 * returns 0 all the same.  Negative only when the store failed. */
int fm_bundle_note_copies(fm_store *s, const fm_bundle *b, fm_time now);

/* Writes a join file for one enrollment certificate |cert|. */
int fm_join_export(fm_store *s, const uint8_t *cert, size_t cert_len,
                   const char *path, fm_time now);

/* Imports a bundle: checks it belongs to our commune (FM_ERR_MESH, also
 * when the store has joined no commune yet),
 * installs its certificates, notes its vector, ingests its entries in
 * batches, then offers its chunks (fm_store_blob_offer).  |res| sums the
 * outcomes; |chunks| (may be NULL) what became of the chunks. */
int fm_bundle_import(fm_store *s, const fm_bundle *b, fm_time now,
                     fm_ingest_result *res);
int fm_bundle_import_chunks(fm_store *s, const fm_bundle *b, fm_time now,
                            fm_ingest_result *res, fm_blob_tally *chunks);

#endif
