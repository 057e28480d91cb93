/* fuzz_bundle: the input is a file found on a USB stick.
 *
 *   byte 0    bit 0 clear: the rest is the file as it is.
 *             bit 0 set: byte 1 is the item count and the rest is the file
 *             without its trailer; the target appends a trailer whose
 *             checksum matches, so mutations reach the header and items
 *             instead of stopping at the checksum.
 *
 * fm_bundle_parse() takes a copy; when it parses, fm_bundle_import() puts
 * it into a real store of device 2 (made once per process under TMPDIR,
 * its files unlinked at once), which keeps what earlier inputs made it
 * accept.
 *
 * Properties: the parsed container points inside its data (or, for the
 * entries of an FMBNDL4 bundle, inside its unpacked sections, which are
 * at most FM_ZPACK_SECTION_RATIO times the file) and counts no more items
 * than the trailer says; an import sums to at most one outcome per
 * certificate and item. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fieldmesh/bundle.h"
#include "fieldmesh/error.h"
#include "fieldmesh/zpack.h"
#include "fuzz.h"

static fm_store *store_get(void) {
  static fm_store *s;
  if (!s) s = fz_store_new(2);
  return s;
}

/* |body| followed by the trailer [count, bin 32 BLAKE2b-256 of |body|]. */
static uint8_t *with_trailer(const uint8_t *body, size_t n, uint8_t count, size_t *len) {
  uint8_t *p = malloc(n + 2 + 2 + 2 + 32);
  size_t at = n;
  FZ_CHECK(p != NULL, "out of memory");
  if (n) memcpy(p, body, n);
  p[at++] = 0x92;
  if (count >= 0x80) p[at++] = 0xcc;
  p[at++] = count;
  p[at++] = 0xc4;
  p[at++] = 32;
  crypto_generichash(p + at, 32, body, n, NULL, 0);
  *len = at + 32;
  return p;
}

/* Every slice lies in the file, or (the entries of an FMBNDL4 bundle) in
 * the unpacked sections. */
static void check_slices(const fm_bundle *b, const fm_slice *sl, size_t n) {
  for (size_t i = 0; i < n; i++)
    FZ_CHECK((sl[i].p >= b->data && sl[i].p + sl[i].len <= b->data + b->len) ||
                 (b->plain && sl[i].p >= b->plain && sl[i].p + sl[i].len <= b->plain + b->plain_len),
             "a bundle slice points outside its data");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fm_bundle b;
  fm_ingest_result res;
  uint8_t *copy;
  size_t len;
  if (size < 1) return 0;
  if (data[0] & 1) {
    if (size < 2) return 0;
    copy = with_trailer(data + 2, size - 2, data[1], &len);
  } else {
    len = size - 1;
    copy = malloc(len ? len : 1);
    FZ_CHECK(copy != NULL, "out of memory");
    if (len) memcpy(copy, data + 1, len);
  }
  /* The parser takes |copy| over, even when it fails. */
  int rv = fm_bundle_parse(copy, len, &b);
  if (rv < 0) return 0;
  FZ_CHECK(b.data == copy && b.len == len, "the bundle does not own its data");
  check_slices(&b, b.items, b.nitems + b.nchunks);
  check_slices(&b, b.certs, b.ncerts);
  /* Packed sections unpack within their bounds: 256 times the file at
   * most, whatever it claims (a decompression bomb is refused). */
  FZ_CHECK(b.plain_len <= (size_t)FM_ZPACK_SECTION_RATIO * len && b.plain_len <= FM_BUNDLE_FILE_MAX,
           "the sections unpacked past their bound");
  FZ_CHECK(b.commune[FM_NAME_MAX - 1] == 0 && memchr(b.commune, 0, FM_NAME_MAX),
           "the commune name is not terminated");
  rv = fm_bundle_import(store_get(), &b, FZ_T0 + 60000, &res);
  if (getenv("FM_FUZZ_VERBOSE"))
    fprintf(stderr, "bundle: %.7s, %zu certs %zu items: import %d, accepted %u duplicate %u "
            "held %u quarantined %u refused %u\n", b.magic,
            b.ncerts, b.nitems, rv, res.accepted, res.duplicate, res.held, res.quarantined,
            res.refused);
  if (rv == 0) {
    uint64_t outcomes = (uint64_t)res.accepted + res.duplicate + res.held +
                        res.quarantined + res.refused;
    FZ_CHECK(outcomes <= b.nitems + b.ncerts, "an import counts more outcomes than it had items");
  } else {
    /* Anything else says the store failed: a file must not do that. */
    FZ_CHECK(rv == FM_ERR_MESH, "a hostile bundle makes the store fail");
  }
  fm_bundle_free(&b);
  return 0;
}
