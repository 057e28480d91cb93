/* fuzz_presence: the input is one presence note (hostile bytes from a
 * session's PRESENCE message or a bundle).
 *
 * Parses it with fm_presence_parse.  Properties: only named codes come
 * back; a note that parses is within every limit and compares equal to
 * itself.  (Re-encoding needs the device's key: the round trip is a unit
 * test, tests/unit/test_presence.c.) */
#include <string.h>

#include "fieldmesh/error.h"
#include "fieldmesh/presence.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fm_presence p;
  int rv = fm_presence_parse(data, size, &p);
  FZ_CHECK(rv == 0 || rv == FM_ERR_MALFORMED || rv == FM_ERR_TOOBIG || rv == FM_ERR_VERSION ||
               rv == FM_ERR_BADSIG,
           "fm_presence_parse returns an unnamed code");
  if (rv < 0) return 0;
  FZ_CHECK(size <= FM_PRESENCE_MAX, "a note over FM_PRESENCE_MAX parses");
  FZ_CHECK(p.nheads <= FM_PRESENCE_HEADS_MAX && p.nmet <= FM_PRESENCE_MET_MAX,
           "a note over its count limits parses");
  FZ_CHECK(strlen(p.version) <= FM_PRESENCE_VERSION_MAX, "a version over its limit parses");
  FZ_CHECK(p.only_here <= p.head_seq, "a note with more only-here entries than its head");
  FZ_CHECK(fm_presence_cmp(&p, data, size, &p, data, size) == 0, "a note differs from itself");
  return 0;
}
