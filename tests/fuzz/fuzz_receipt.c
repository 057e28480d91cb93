/* fuzz_receipt: the input is the body of a `receipt` entry (any map an
 * enrolled gateway could sign).
 *
 * Parses it with fm_receipt_parse and walks every item.  Properties: only
 * named codes come back, the walk yields exactly |count| items, each with
 * a seq of at least 1 and a ref inside the body. */
#include "fieldmesh/error.h"
#include "fieldmesh/receipt.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fm_receipt r;
  fm_receipt_item it;
  uint64_t n = 0;
  int rv = fm_receipt_parse(data, size, &r);
  FZ_CHECK(rv == 0 || rv == FM_ERR_MALFORMED, "fm_receipt_parse returns an unnamed code");
  if (rv < 0) return 0;
  while (fm_receipt_next(&r, &it)) {
    FZ_CHECK(n < r.count, "a receipt yields more items than it counts");
    FZ_CHECK(it.seq >= 1, "a receipt item with seq 0");
    FZ_CHECK(!it.ref_len || ((const uint8_t *)it.ref >= data &&
                             (const uint8_t *)it.ref + it.ref_len <= data + size),
             "a receipt item's ref points outside the body");
    n++;
  }
  FZ_CHECK(n == r.count, "a receipt yields fewer items than it counts");
  return 0;
}
