/* Entries signed on the spot for the unit tests of the merge rules: a
 * body, a device, a seq and a time make one decoded entry. */
#ifndef FM_TEST_SIGNED_H
#define FM_TEST_SIGNED_H

#include "fieldmesh/entry.h"

typedef struct signed_entry {
  fm_buf bytes;   /* the entry; fm_buf_free() it */
  fm_entry e;     /* decoded, pointing into |bytes| */
} signed_entry;

/* Signs |body| (taken: it is freed) as entry |seq| of |id| at |ms|, with
 * a made-up prev (the views do not check it), and decodes it into |s|.
 * Fails the running cmocka test on any error. */
void signed_entry_make(signed_entry *s, const fm_identity *id, uint64_t seq, fm_time ms,
                       const char *kind, fm_buf *body);

#endif
