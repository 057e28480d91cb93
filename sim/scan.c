/* Scans attached to dossiers.  See scan.h. */
#include "scan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fieldmesh/attach.h"
#include "fieldmesh/blob_store.h"
#include "fieldmesh/error.h"

int sim_scan_make(sim_world *w, sim_node *n, const char *dossier, const fm_sealer *seal,
                  fm_buf *body, uint8_t **ids, size_t *nchunks) {
  static const int kinds[] = {FM_ATT_ID_CARD, FM_ATT_HOUSEHOLD_BOOK, FM_ATT_APPLICATION_FORM};
  size_t len = (size_t)w->opt.scan_kb * 1024;
  uint8_t key[FM_ATTACH_KEY], *plain = malloc(len);
  uint8_t *list = malloc(fm_attach_nchunks(len) * FM_BLOB_ID);
  char name[96];
  fm_attach a;
  int rv = plain && list ? 0 : -ENOMEM;
  if (rv == 0) {
    sim_rng_fill(&w->rng, plain, len);
    sim_rng_fill(&w->rng, key, sizeof key);
    /* Chunks first: a laptop never holds an attachment entry whose
     * chunks it lacks itself. */
    rv = fm_store_blob_seal_file(n->store, plain, len, key, list);
  }
  if (rv == 0) {
    int kind = kinds[sim_rng_below(&w->rng, sizeof kinds / sizeof kinds[0])];
    snprintf(name, sizeof name, "%s-%s.pdf", fm_attach_kind_name(kind), dossier);
    memset(&a, 0, sizeof a);
    a.dossier = dossier;
    a.dossier_len = strlen(dossier);
    a.kind = kind;
    a.name = name;
    a.name_len = strlen(name);
    a.size = len;
    a.chunks = list;
    a.nchunks = fm_attach_nchunks(len);
    a.key = key;
    fm_buf_reset(body);
    rv = fm_attach_body_sealed(body, &a, seal);
  }
  sodium_memzero(key, sizeof key);
  free(plain);
  if (rv < 0) {
    free(list);
    return rv;
  }
  w->m.scans++;
  w->m.scan_bytes += len;
  w->m.scan_chunk_bytes += len + fm_attach_nchunks(len) * FM_ATTACH_TAG;
  *ids = list;
  *nchunks = fm_attach_nchunks(len);
  return 0;
}

static int names(const sim_lscan *s, const uint8_t id[32]) {
  for (size_t i = 0; i < s->nchunks; i++)
    if (!memcmp(s->ids + 32 * i, id, 32)) return 1;
  return 0;
}

void sim_scan_gateway_took(sim_world *w, const uint8_t id[32]) {
  sim_ledger *l = &w->ledger;
  fm_store *gw = w->nodes[w->sc->gateway].store;
  for (size_t i = w->scan_open; i < l->nscans && gw; i++) {
    sim_lscan *s = &l->scans[i];
    size_t held;
    if (s->whole_at_gateway || !names(s, id)) continue;
    if (fm_store_blob_count(gw, s->ids, s->nchunks, &held) == 0 && held == s->nchunks)
      s->whole_at_gateway = w->now;
  }
  while (w->scan_open < l->nscans && l->scans[w->scan_open].whole_at_gateway) w->scan_open++;
}

int sim_scan_settled(sim_world *w) {
  if (!w->opt.scan_kb) return 1;
  /* Only a chunk kept or an entry taken in changes the answer. */
  if (w->scan_seen_chunks == w->m.chunks_in + 1 && w->scan_seen_entries == w->m.entries_accepted)
    return w->scan_settled;
  int settled = 1;
  for (size_t i = 0; i < w->nnodes && settled; i++) {
    uint64_t wanted;
    if (!w->m.t[i].honest || !w->nodes[i].store) continue;
    if (fm_store_blob_wanted_count(w->nodes[i].store, &wanted) < 0 || wanted) settled = 0;
  }
  w->scan_seen_chunks = w->m.chunks_in + 1;  /* +1: 0 is "never asked" */
  w->scan_seen_entries = w->m.entries_accepted;
  w->scan_settled = settled;
  return settled;
}
