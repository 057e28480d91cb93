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

struct fm_zpack {
  ZSTD_CCtx *c;
  ZSTD_DCtx *d;
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
  ZSTD_freeDCtx(z->d);
  free(z->scratch);
  free(z);
}

static int pack_ready(fm_zpack *z) {
  if (!z->c && (z->c = ZSTD_createCCtx())) {
    if (ZSTD_isError(ZSTD_CCtx_setParameter(z->c, ZSTD_c_compressionLevel, ZPACK_LEVEL)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(z->c, ZSTD_c_contentSizeFlag, 1)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(z->c, ZSTD_c_checksumFlag, 0))) {
      ZSTD_freeCCtx(z->c);
      z->c = NULL;
    }
  }
  if (!z->scratch) z->scratch = malloc(ZSTD_COMPRESSBOUND(FM_MSG_MAX));
  return z->c && z->scratch ? 0 : -ENOMEM;
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

static int unpack_ready(fm_zpack *z) {
  if (z->d) return 0;
  if (!(z->d = ZSTD_createDCtx())) return -ENOMEM;
  if (ZSTD_isError(ZSTD_DCtx_setParameter(z->d, ZSTD_d_windowLogMax, ZPACK_WINDOW_LOG))) {
    ZSTD_freeDCtx(z->d);
    z->d = NULL;
    return -ENOMEM;
  }
  return 0;
}

int fm_zpack_unpack(fm_zpack *z, const uint8_t *frame, size_t len, uint8_t *out,
                    size_t cap, size_t *outlen) {
  int rv;
  if (cap > FM_MSG_MAX) cap = FM_MSG_MAX;
  /* Exactly one frame: no second frame, no trailing bytes, not cut. */
  size_t whole = ZSTD_findFrameCompressedSize(frame, len);
  if (ZSTD_isError(whole) || whole != len) return FM_ERR_MALFORMED;
  unsigned long long size = ZSTD_getFrameContentSize(frame, len);
  if (size == ZSTD_CONTENTSIZE_ERROR) return FM_ERR_MALFORMED;
  if (size == ZSTD_CONTENTSIZE_UNKNOWN || size > cap) return FM_ERR_TOOBIG;
  if ((rv = unpack_ready(z)) < 0) return rv;
  size_t n = ZSTD_decompressDCtx(z->d, out, (size_t)size, frame, len);
  if (ZSTD_isError(n))
    return ZSTD_getErrorCode(n) == ZSTD_error_memory_allocation ? -ENOMEM : FM_ERR_MALFORMED;
  if (n != size) return FM_ERR_MALFORMED;
  *outlen = n;
  return 0;
}
