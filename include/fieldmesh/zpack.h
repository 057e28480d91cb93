/* Packed messages: one sync message compressed as one zstd frame, for a
 * slow link paid by the megabyte (docs/protocol.md, "Compression").
 *
 * Only ENTRIES are packed, and only between two nodes whose HELLOs both
 * set FM_FEAT_ZSTD.  The entries inside are the very bytes that were
 * signed and stored: packing never re-encodes them.  Unpacking treats the
 * frame as hostile: exactly one frame, its content size declared in its
 * header and at most the message limit, decoded into a buffer of that
 * size, so a small frame can never make the receiver allocate or write
 * more (a "zip bomb" is a malformed message).
 *
 * Pure computation (no I/O, no threads): proto/ may use it.
 */
#ifndef FIELDMESH_ZPACK_H
#define FIELDMESH_ZPACK_H

#include <stddef.h>
#include <stdint.h>

#include "fieldmesh/wire.h"

typedef struct fm_zpack fm_zpack;

/* A packer and unpacker for one session (its compression and
 * decompression contexts, made on first use).  -ENOMEM or 0; |*out| is
 * the caller's: fm_zpack_free(). */
int fm_zpack_new(fm_zpack **out);
void fm_zpack_free(fm_zpack *z);

/* Appends to |w| the PACKED message holding the |len| bytes of message
 * |msg| (at most FM_MSG_MAX).  Returns 1 when it did, 0 when packing
 * would not make the message smaller (nothing appended: send |msg| as it
 * is), or -ENOMEM. */
int fm_zpack_pack(fm_zpack *z, const uint8_t *msg, size_t len, fm_wr *w);

/* Unpacks the zstd |frame| of a PACKED message into |out| (|cap| bytes,
 * at most FM_MSG_MAX are ever written) and sets |*outlen|.  Returns 0,
 * FM_ERR_TOOBIG (its content would pass |cap|, or its size is not
 * declared), FM_ERR_MALFORMED (not exactly one sound frame) or -ENOMEM. */
int fm_zpack_unpack(fm_zpack *z, const uint8_t *frame, size_t len, uint8_t *out,
                    size_t cap, size_t *outlen);

/* ---- bundle sections ------------------------------------------------------
 *
 * An FMBNDL4 bundle (docs/protocol.md 7.3) packs its entries in sections:
 * runs of whole stored entries, each run one zstd frame of at most
 * FM_ZPACK_SECTION_MAX bytes once unpacked, with zstd's checksum of its
 * content.  The same rules as for a message: one frame, its content size
 * declared, never more written than that size, a window no larger than
 * the section. */
#define FM_ZPACK_SECTION_MAX ((size_t)1 << 20)
/* A section's content is at most this many times its packed size.  Every
 * entry holds 96 bytes that do not compress (its signature and the id of
 * the entry before it) and at most 16 KiB, so no honest section comes
 * near it; a frame that claims more is a decompression bomb. */
#define FM_ZPACK_SECTION_RATIO 256

/* The most bytes fm_zpack_section_pack() can append for |len| bytes. */
size_t fm_zpack_section_bound(size_t len);

/* Packs the |len| bytes at |src| (1 .. FM_ZPACK_SECTION_MAX) as one zstd
 * frame into |dst| (|cap| bytes, at least fm_zpack_section_bound(len))
 * and sets |*outlen|.  0 or -ENOMEM. */
int fm_zpack_section_pack(fm_zpack *z, const uint8_t *src, size_t len, uint8_t *dst,
                          size_t cap, size_t *outlen);

/* What the section |frame| (|len| bytes) unpacks to, read from its
 * header alone (nothing is unpacked): 0 and |*size|, FM_ERR_MALFORMED
 * (not exactly one sound frame) or FM_ERR_BOMB (its size is not
 * declared, is over FM_ZPACK_SECTION_MAX, or over
 * FM_ZPACK_SECTION_RATIO times |len|). */
int fm_zpack_section_size(const uint8_t *frame, size_t len, size_t *size);

/* Unpacks the section |frame| into |out|, which has room for exactly the
 * |size| bytes fm_zpack_section_size() gave.  0, FM_ERR_MALFORMED (a
 * damaged frame, or not exactly |size| bytes) or -ENOMEM. */
int fm_zpack_section_unpack(fm_zpack *z, const uint8_t *frame, size_t len, uint8_t *out,
                            size_t size);

#endif
