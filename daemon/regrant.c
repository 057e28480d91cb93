#include "regrant.h"

#include <sodium.h>

#include "fieldmesh/error.h"
#include "node.h"

static void fill(void *ctx, uint8_t *out, size_t len) {
  (void)ctx;
  randombytes_buf(out, len);
}

void fmd_regrant(fmd_node *d, fm_keyring **keys) {
  fm_rng rng = {fill, NULL};
  fm_buf grant;
  int rv, n = 0;
  if (!*keys && fm_keyring_new(d->store, &d->node.id, keys) < 0) return;
  fm_buf_init(&grant, FM_ENTRY_MAX);
  while (n < 64 && (rv = fm_keyring_extend(*keys, fmd_now(), &rng, &grant)) == 1) {
    rv = fm_store_append(d->store, &d->node.id, FM_KIND_SEAL_GRANT, grant.p, grant.len,
                         fmd_now(), NULL, NULL);
    if (rv < 0) break;
    n++;
  }
  fm_buf_free(&grant);
  if (rv < 0 && rv != FM_ERR_AUTH && rv != FM_ERR_BEHIND)
    fmd_logf(&d->log, FMD_WARN, "cannot extend this laptop's sealed-field keys to new readers: "
             "%s", fm_strerror(rv));
  if (n) {
    fmd_logf(&d->log, FMD_INFO, "extended %d key grant%s of this laptop's sealed fields to "
             "readers it learned of", n, n == 1 ? "" : "s");
    fmd_node_poke(d);
  }
}
