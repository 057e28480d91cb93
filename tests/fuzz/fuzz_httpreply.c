/* fuzz_httpreply: the input is the body of an upstream's 2xx reply.
 *
 * Parses it with fm_http_reply_parse for a batch of 64 entries.
 * Properties: only named codes come back, never more accepted ids than
 * the batch held, every ref NUL-terminated within its field. */
#include <errno.h>
#include <string.h>

#include "fieldmesh/error.h"
#include "fieldmesh/http_reply.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fm_http_reply r;
  int rv = fm_http_reply_parse((const char *)data, size, 64, &r);
  FZ_CHECK(rv == 0 || rv == FM_ERR_MALFORMED || rv == FM_ERR_TOOBIG || rv == -ENOMEM,
           "fm_http_reply_parse returns an unnamed code");
  if (rv < 0) return 0;
  FZ_CHECK(r.n <= 64, "a reply accepts more ids than were sent");
  FZ_CHECK(memchr(r.ref, 0, sizeof r.ref) != NULL, "the batch ref is not terminated");
  for (size_t i = 0; i < r.n; i++)
    FZ_CHECK(memchr(r.accepted[i].ref, 0, sizeof r.accepted[i].ref) != NULL,
             "an entry ref is not terminated");
  fm_http_reply_free(&r);
  return 0;
}
