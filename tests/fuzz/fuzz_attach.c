/* fuzz_attach: the input is the body of a `dossier.attach` entry (any map
 * an enrolled device could sign), and also a chunk from another laptop.
 *
 * Parses it with fm_attach_parse; properties: only named codes come back,
 * and a body that parses names exactly the chunks its size needs, with
 * every pointer inside the input and a name without '/'.  Then opens the
 * input as chunk i under a fixed key: 0 or FM_ERR_DECRYPT, never more
 * bytes than a chunk holds. */
#include <string.h>

#include "fieldmesh/attach.h"
#include "fieldmesh/error.h"
#include "fuzz.h"

static int inside(const void *p, size_t n, const uint8_t *data, size_t size) {
  return (const uint8_t *)p >= data && (const uint8_t *)p + n <= data + size;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static uint8_t out[FM_ATTACH_CHUNK];
  static const uint8_t key[FM_ATTACH_KEY] = {7};
  fm_attach a;
  int rv = fm_attach_parse(data, size, &a);
  FZ_CHECK(rv == 0 || rv == FM_ERR_MALFORMED, "fm_attach_parse returns an unnamed code");
  if (rv == 0) {
    FZ_CHECK(a.size >= 1 && a.size <= FM_ATTACH_FILE_MAX, "a size out of range parses");
    FZ_CHECK(a.nchunks == fm_attach_nchunks(a.size), "a chunk list of the wrong length parses");
    FZ_CHECK(inside(a.chunks, a.nchunks * FM_BLOB_ID, data, size) &&
                 inside(a.key, FM_ATTACH_KEY, data, size) &&
                 inside(a.name, a.name_len, data, size) &&
                 inside(a.dossier, a.dossier_len, data, size),
             "a field points outside the body");
    FZ_CHECK(a.name_len >= 1 && !memchr(a.name, '/', a.name_len), "a bad name parses");
    FZ_CHECK(a.kind >= 0 && a.kind < FM_ATT_KIND_COUNT, "an unknown kind parses");
  }
  if (size <= FM_ATTACH_CHUNK + FM_ATTACH_TAG) {
    rv = fm_attach_chunk_open(key, size % 7, data, size, out);
    FZ_CHECK(rv == 0 || rv == FM_ERR_DECRYPT, "fm_attach_chunk_open returns an unnamed code");
  } else {
    FZ_CHECK(fm_attach_chunk_open(key, 0, data, size, out) == FM_ERR_DECRYPT,
             "an over-long chunk opens");
  }
  return 0;
}
