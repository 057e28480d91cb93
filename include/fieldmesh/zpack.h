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

#endif
