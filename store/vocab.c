/* The commune's vocabularies, read from the authority's log.  See
 * include/fieldmesh/vocab.h. */
#include "fieldmesh/vocab.h"

#include "fieldmesh/error.h"
#include "fieldmesh/store.h"

static int apply_one(void *ctx, const uint8_t *bytes, size_t len) {
  fm_entry e;
  /* Entries of the log passed validation when they came in; one that no
   * longer decodes (a damaged store) is for verify and doctor to report. */
  if (fm_entry_decode(bytes, len, NULL, &e) == 0) fm_vocab_apply(ctx, &e);
  return 0;
}

int fm_store_vocab(struct fm_store *s, fm_vocab *out) {
  uint8_t auth[FM_KEY_LEN];
  fm_vocab_init(out);
  int rv = fm_store_authority(s, auth, NULL);
  if (rv == FM_ERR_NOTFOUND) return 0;
  if (rv < 0) return rv;
  rv = fm_store_read_after(s, auth, 0, 0, apply_one, out);
  return rv < 0 ? rv : 0;
}
