#include "unseal.h"

#include "scan_fwd.h"

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
  return fmd_unseal_batch_each(k, b, mem, locked, NULL);
}

int fmd_unseal_batch_each(fm_keyring *k, fm_fwd_batch *b, fm_buf *mem, uint64_t *locked,
                          uint8_t *rec_locked) {
  uint64_t before = fm_keyring_counts(k).locked;
  size_t *at = calloc(b->nrecords + 1, sizeof *at), *len = calloc(b->nrecords + 1, sizeof *len);
  int rv = 0, sealed;
  if (!at || !len) rv = -ENOMEM;
  fm_buf_reset(mem);
  for (size_t i = 0; rv == 0 && i < b->nrecords; i++) {
    uint64_t was = fm_keyring_counts(k).locked;
    at[i] = mem->len;
    rv = open_one(k, &b->records[i], mem, &sealed);
    if (rec_locked) rec_locked[i] = fm_keyring_counts(k).locked != was;
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

static int record_cmp(const fm_fwd_record *a, fm_view_kind kind, const char *id, size_t n) {
  if (a->kind != kind) return a->kind < kind ? -1 : 1;
  size_t m = a->id_len < n ? a->id_len : n;
  int c = memcmp(a->id, id, m);
  if (c) return c;
  return a->id_len < n ? -1 : a->id_len > n;
}

size_t fmd_unseal_mark_items(const fm_fwd_batch *b, const uint8_t *rec_locked,
                             const struct fmd_scans *sc, uint8_t *out) {
  size_t n = 0;
  memset(out, 0, b->n);
  for (size_t i = 0; i < b->n; i++) {
    const fmd_scan *x = sc ? fmd_scans_of_item(sc, i) : NULL;
    fm_entry e;
    const char *id;
    size_t idn;
    if (x && x->state == FMD_SCAN_LOCKED) out[i] = 1;
    if (!out[i] && rec_locked &&
        fm_entry_decode(b->items[i].bytes, b->items[i].len, NULL, &e) == 0) {
      fm_view_kind kind = fm_view_target(&e, &id, &idn);
      /* Records are sorted by kind and id (fm_forward_next). */
      size_t lo = 0, hi = b->nrecords;
      while (kind != FM_VIEW_NONE && lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = record_cmp(&b->records[mid], kind, id, idn);
        if (c == 0) {
          out[i] = rec_locked[mid] != 0;
          break;
        }
        if (c < 0) lo = mid + 1;
        else hi = mid;
      }
    }
    n += out[i];
  }
  return n;
}
