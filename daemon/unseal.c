#include "unseal.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* Appends the opened copy of record |r| to |mem|; |*sealed| says whether
 * it had sealed fields (else nothing is appended). */
static int open_one(fm_keyring *k, const fm_fwd_record *r, fm_buf *mem, int *sealed) {
  fm_dossier_view d;
  fm_visit_view v;
  fm_opened *o;
  fm_str id = {r->id, r->id_len};
  int rv = 0;
  *sealed = 0;
  if (r->kind == FM_VIEW_DOSSIER ? fm_dossier_view_decode(r->rec, r->len, &d) < 0 || !d.sealed
                                 : fm_visit_view_decode(r->rec, r->len, &v) < 0 || !v.sealed)
    return 0;
  if (!(o = malloc(sizeof *o))) return -ENOMEM;
  *sealed = 1;
  if (r->kind == FM_VIEW_DOSSIER) {
    fm_keyring_open_dossier(k, &d, o, id);
    rv = fm_dossier_view_encode(mem, &d);
  } else {
    fm_keyring_open_visit(k, &v, o, id);
    rv = fm_visit_view_encode(mem, &v);
  }
  sodium_memzero(o, sizeof *o);
  free(o);
  return rv;
}

int fmd_unseal_batch(fm_keyring *k, fm_fwd_batch *b, fm_buf *mem, uint64_t *locked) {
  uint64_t before = fm_keyring_counts(k).locked;
  size_t *at = calloc(b->nrecords + 1, sizeof *at), *len = calloc(b->nrecords + 1, sizeof *len);
  int rv = 0, sealed;
  if (!at || !len) rv = -ENOMEM;
  fm_buf_reset(mem);
  for (size_t i = 0; rv == 0 && i < b->nrecords; i++) {
    at[i] = mem->len;
    rv = open_one(k, &b->records[i], mem, &sealed);
    len[i] = sealed ? mem->len - at[i] : 0;
  }
  /* |mem| is complete: only now can records point into it. */
  for (size_t i = 0; rv == 0 && i < b->nrecords; i++)
    if (len[i]) {
      b->records[i].rec = mem->p + at[i];
      b->records[i].len = len[i];
    }
  free(at);
  free(len);
  if (locked) *locked = fm_keyring_counts(k).locked - before;
  return rv;
}
