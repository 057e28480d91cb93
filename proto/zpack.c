/* Packed messages.  See include/fieldmesh/zpack.h. */
#include "fieldmesh/zpack.h"

#include <errno.h>
#include <stdlib.h>

#include <zstd.h>
#include <zstd_errors.h>

#include "fieldmesh/error.h"
#include "fieldmesh/msg.h"

/* Level 3 (zstd's default) packs a 64 KiB batch of records in well under
 * a millisecond; higher levels gain little on so small a message. */
#define ZPACK_LEVEL 3
/* The largest window a packed frame may ask for: a message is at most
 * FM_MSG_MAX bytes, so 2^17 is more than any honest frame needs. */
#define ZPACK_WINDOW_LOG 17
/* The same for a bundle section: 2^20 bytes at most. */
#define SECTION_WINDOW_LOG 20

struct fm_zpack {
  ZSTD_CCtx *c;       /* messages */
  ZSTD_CCtx *cs;      /* bundle sections: with a checksum */
  ZSTD_DCtx *d;       /* messages: a window of 2^17 at most */
  ZSTD_DCtx *ds;      /* bundle sections: 2^20 */
  uint8_t *scratch;   /* one packed frame on its way out */
};

int fm_zpack_new(fm_zpack **out) {
  fm_zpack *z = calloc(1, sizeof *z);
  if (!z) return -ENOMEM;
  *out = z;
  return 0;
}

void fm_zpack_free(fm_zpack *z) {
  if (!z) return;
  ZSTD_freeCCtx(z->c);
  ZSTD_freeCCtx(z->cs);
  ZSTD_freeDCtx(z->d);
  ZSTD_freeDCtx(z->ds);
  free(z->scratch);
  free(z);
}

/* A compression context at ZPACK_LEVEL that declares the content size;
 * |checksum|: with zstd's own checksum of the content. */
static int cctx_ready(ZSTD_CCtx **c, int checksum) {
  if (!*c && (*c = ZSTD_createCCtx())) {
    if (ZSTD_isError(ZSTD_CCtx_setParameter(*c, ZSTD_c_compressionLevel, ZPACK_LEVEL)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(*c, ZSTD_c_contentSizeFlag, 1)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(*c, ZSTD_c_checksumFlag, checksum))) {
      ZSTD_freeCCtx(*c);
      *c = NULL;
    }
  }
  return *c ? 0 : -ENOMEM;
}

static int pack_ready(fm_zpack *z) {
  /* A message needs no checksum: the transport authenticates it. */
  int rv = cctx_ready(&z->c, 0);
  if (rv < 0) return rv;
  if (!z->scratch) z->scratch = malloc(ZSTD_COMPRESSBOUND(FM_MSG_MAX));
  return z->scratch ? 0 : -ENOMEM;
}

int fm_zpack_pack(fm_zpack *z, const uint8_t *msg, size_t len, fm_wr *w) {
  int rv;
  FM_ASSERT(len <= FM_MSG_MAX);
  if ((rv = pack_ready(z)) < 0) return rv;
  size_t n = ZSTD_compress2(z->c, z->scratch, ZSTD_COMPRESSBOUND(FM_MSG_MAX), msg, len);
  if (ZSTD_isError(n)) return -ENOMEM;  /* the one failure left: an allocation */
  /* The PACKED header (array, type, bin header) costs at most 5 bytes. */
  if (n + 5 >= len) return 0;
  fm_wr_array(w, 2);
  fm_wr_uint(w, FM_MSG_PACKED);
  fm_wr_bin(w, z->scratch, n);
  return 1;
}

/* A decompression context that refuses windows past 2^|wlog|. */
static int dctx_ready(ZSTD_DCtx **d, int wlog) {
  if (*d) return 0;
  if (!(*d = ZSTD_createDCtx())) return -ENOMEM;
  if (ZSTD_isError(ZSTD_DCtx_setParameter(*d, ZSTD_d_windowLogMax, wlog))) {
    ZSTD_freeDCtx(*d);
    *d = NULL;
    return -ENOMEM;
  }
  return 0;
}

/* Exactly one frame (no second frame, no trailing bytes, not cut) and the
 * content size its header declares. */
static int frame_size(const uint8_t *frame, size_t len, unsigned long long *size) {
  size_t whole = ZSTD_findFrameCompressedSize(frame, len);
  if (ZSTD_isError(whole) || whole != len) return FM_ERR_MALFORMED;
  *size = ZSTD_getFrameContentSize(frame, len);
  return *size == ZSTD_CONTENTSIZE_ERROR ? FM_ERR_MALFORMED : 0;
}

/* Decodes |frame| into exactly |size| bytes at |out|. */
static int frame_unpack(ZSTD_DCtx *d, const uint8_t *frame, size_t len, uint8_t *out,
                        size_t size) {
  size_t n = ZSTD_decompressDCtx(d, out, size, frame, len);
  if (ZSTD_isError(n))
    return ZSTD_getErrorCode(n) == ZSTD_error_memory_allocation ? -ENOMEM : FM_ERR_MALFORMED;
  return n == size ? 0 : FM_ERR_MALFORMED;
}

int fm_zpack_unpack(fm_zpack *z, const uint8_t *frame, size_t len, uint8_t *out,
                    size_t cap, size_t *outlen) {
  unsigned long long size;
  int rv;
  if (cap > FM_MSG_MAX) cap = FM_MSG_MAX;
  if ((rv = frame_size(frame, len, &size)) < 0) return rv;
  if (size == ZSTD_CONTENTSIZE_UNKNOWN || size > cap) return FM_ERR_TOOBIG;
  if ((rv = dctx_ready(&z->d, ZPACK_WINDOW_LOG)) < 0) return rv;
  if ((rv = frame_unpack(z->d, frame, len, out, (size_t)size)) < 0) return rv;
  *outlen = (size_t)size;
  return 0;
}

/* ---- bundle sections ------------------------------------------------------ */

size_t fm_zpack_section_bound(size_t len) { return ZSTD_compressBound(len); }

int fm_zpack_section_pack(fm_zpack *z, const uint8_t *src, size_t len, uint8_t *dst,
                          size_t cap, size_t *outlen) {
  int rv;
  FM_ASSERT(len >= 1 && len <= FM_ZPACK_SECTION_MAX && cap >= ZSTD_compressBound(len));
  /* A file has only its BLAKE2b trailer, which anyone can rewrite: with
   * zstd's checksum too, a section altered under a good trailer is
   * refused when unpacked, never read as other bytes. */
  if ((rv = cctx_ready(&z->cs, 1)) < 0) return rv;
  /* The content size is declared (contentSizeFlag), so the frame's
   * window is at most the section: 2^20, what readers accept. */
  size_t n = ZSTD_compress2(z->cs, dst, cap, src, len);
  if (ZSTD_isError(n)) return -ENOMEM;  /* the one failure left: an allocation */
  *outlen = n;
  return 0;
}

int fm_zpack_section_size(const uint8_t *frame, size_t len, size_t *size) {
  unsigned long long n;
  int rv = frame_size(frame, len, &n);
  if (rv < 0) return rv;
  if (n == ZSTD_CONTENTSIZE_UNKNOWN || n > FM_ZPACK_SECTION_MAX ||
      n > (unsigned long long)len * FM_ZPACK_SECTION_RATIO)
    return FM_ERR_BOMB;
  *size = (size_t)n;
  return 0;
}

int fm_zpack_section_unpack(fm_zpack *z, const uint8_t *frame, size_t len, uint8_t *out,
                            size_t size) {
  int rv;
  FM_ASSERT(size <= FM_ZPACK_SECTION_MAX);
  if ((rv = dctx_ready(&z->ds, SECTION_WINDOW_LOG)) < 0) return rv;
  return frame_unpack(z->ds, frame, len, out, size);
}
