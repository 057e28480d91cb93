/* The verified-entries cache: one result shared by every simulated store.
 *
 * Every laptop of a run holds and checks every entry, so a 141-node run
 * would verify each signature 141 times, in one process, over the same
 * bytes.  The stores of a run are opened with sim_vcache_verify as their
 * fm_store_opts.verify: the first time given bytes are checked, libsodium
 * checks them (fm_entry_verify); when byte-for-byte the same entry comes
 * again, to any store, the answer is the one already found.  Only
 * successes are kept: a bad signature is checked again every time.
 *
 * The cache is found by the entry's signature and matches only on the
 * whole stored bytes (author, seq, prev, hlc, kind, body and signature):
 * a copy that differs in one bit -- a forged or flipped entry claiming a
 * held one's author and seq, or even its signature -- is not found and is
 * verified like any other.  Identical bytes verify identically, so a store
 * sees exactly the outcome it would have computed itself.
 *
 * Single-threaded, like the world that owns it.  The daemon never uses it.
 */
#ifndef SIM_VCACHE_H
#define SIM_VCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "fieldmesh/entry.h"

typedef struct sim_vcache sim_vcache;

/* A new, empty cache; NULL when out of memory.  Freed by sim_vcache_del. */
sim_vcache *sim_vcache_new(void);
void sim_vcache_del(sim_vcache *c);

/* fm_store_opts.verify: |ctx| is a sim_vcache.  0 or FM_ERR_BADSIG, as
 * fm_entry_verify says for |e|.  Out of memory only stops remembering:
 * the entry is still verified. */
int sim_vcache_verify(void *ctx, const fm_entry *e);

/* Signatures checked by libsodium, and answers given from the cache. */
void sim_vcache_counts(const sim_vcache *c, uint64_t *verified, uint64_t *reused);

#endif
