/* The gateway forwards plaintext upstream (docs/privacy.md): before a
 * batch goes to a sink's worker, its records' sealed fields are opened
 * with the gateway's keyring, on the loop thread (the keyring reads the
 * store), into a copy the batch's records then point at. */
#ifndef FMD_UNSEAL_H
#define FMD_UNSEAL_H

#include "fieldmesh/forward.h"
#include "fieldmesh/keys.h"

struct fmd_scans;

/* The default of [upstream] seal_hold_seconds: how long the gateway
 * holds a batch with sealed fields it holds no key
 * for yet: the writer's extension of its grant is usually on the way
 * (docs/privacy.md); past this the batch goes with placeholders. */
#define FMD_SEAL_HOLD_MS (10 * 60 * 1000)

/* Rewrites every record of |b| that holds sealed fields as an opened copy
 * in |mem| (reset first; the caller keeps it until the batch is done and
 * frees it).  A field the keyring cannot open goes as its placeholder
 * ("(sealed: TEAM)", "(unreadable)"); |*locked| (may be NULL) counts the
 * fields it holds no key for.  Returns 0, or -ENOMEM / FM_ERR_TOOBIG
 * with |b| unchanged. */
int fmd_unseal_batch(fm_keyring *k, fm_fwd_batch *b, fm_buf *mem, uint64_t *locked);

/* Marks in |out| (one per item of |b|, zeroed first) the items that go
 * with placeholders: the record the item changes kept a field |k| has no
 * key for (|rec_locked|: one per record, from fmd_unseal_batch_each), or
 * its scan is FMD_SCAN_LOCKED in |sc| (may be NULL).  Returns how many. */
size_t fmd_unseal_mark_items(const fm_fwd_batch *b, const uint8_t *rec_locked,
                             const struct fmd_scans *sc, uint8_t *out);

/* fmd_unseal_batch, and |rec_locked| (one per record, may be NULL) set
 * for the records that kept a field it holds no key for. */
int fmd_unseal_batch_each(fm_keyring *k, fm_fwd_batch *b, fm_buf *mem, uint64_t *locked,
                          uint8_t *rec_locked);

#endif
