/* The reply of an HTTP upstream to a batch of entries (docs/config.md,
 * "The HTTP upstream").  A 2xx reply's body is one JSON object:
 *
 *   {"accepted": [ID | {"id": ID, "ref": STR}, ...], "ref": STR}
 *
 * ID is an entry id as the batch gave it (64 hex digits, either case).
 * Listed ids are acknowledged: they get receipts and are never sent to
 * this upstream again; the others of the batch are sent again later.
 * "ref" (optional, at most FM_RECEIPT_REF_MAX bytes of UTF-8, beside an
 * id or for the whole batch) is the upstream's own name, carried in the
 * receipt.  Other keys are ignored, so an upstream can say more.
 *
 * The parser takes hostile bytes: a cursor over (buf, len), nesting and
 * counts bounded before anything is allocated, strings decoded with their
 * escapes (surrogate pairs joined, lone surrogates refused), and the whole
 * input consumed (white space aside).
 */
#ifndef FIELDMESH_HTTP_REPLY_H
#define FIELDMESH_HTTP_REPLY_H

#include "fieldmesh/receipt.h"

#define FM_HTTP_REPLY_DEPTH 16

typedef struct fm_http_accepted {
  uint8_t id[FM_ID_LEN];
  char ref[FM_RECEIPT_REF_MAX + 1];   /* NUL-terminated, "" when none */
} fm_http_accepted;

typedef struct fm_http_reply {
  char ref[FM_RECEIPT_REF_MAX + 1];   /* the batch's ref, "" when none */
  size_t n;
  fm_http_accepted *accepted;         /* owned: fm_http_reply_free() */
} fm_http_reply;

/* Parses |len| bytes at |p|.  At most |max| accepted ids (the batch's
 * size: a reply can only acknowledge what was sent).  Returns 0 and fills
 * |*out|, or FM_ERR_MALFORMED (not JSON, not an object, no "accepted"
 * array, an id that is not 64 hex digits, a ref too long or not a
 * string), FM_ERR_TOOBIG (more than |max| ids, nesting past
 * FM_HTTP_REPLY_DEPTH) or -ENOMEM.  |*out| is written only on success. */
int fm_http_reply_parse(const char *p, size_t len, size_t max, fm_http_reply *out);
void fm_http_reply_free(fm_http_reply *r);

#endif
