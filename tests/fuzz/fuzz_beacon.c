/* fuzz_beacon: the input is one UDP datagram on the discovery port.
 *
 * Parses it with fm_beacon_parse; when it parses, encodes the beacon again.
 * Properties: only the codes the contract names come back, and a beacon
 * that parses is exactly FM_BEACON_LEN bytes that re-encode to themselves. */
#include <string.h>

#include "fieldmesh/beacon.h"
#include "fieldmesh/error.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fm_beacon b;
  uint8_t out[FM_BEACON_LEN];
  int rv = fm_beacon_parse(data, size, &b);
  FZ_CHECK(rv == 0 || rv == FM_ERR_MALFORMED || rv == FM_ERR_VERSION,
           "fm_beacon_parse returns a code its contract does not name");
  if (rv < 0) return 0;
  FZ_CHECK(size == FM_BEACON_LEN && b.port != 0, "a beacon of the wrong size or port 0 parses");
  FZ_CHECK(fm_beacon_encode(&b, out) == FM_BEACON_LEN && memcmp(out, data, size) == 0,
           "a beacon parses and encodes to other bytes");
  return 0;
}
