#include "fieldmesh/vector.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

void fm_vector_free(fm_vector *v) {
  free(v->items);
  v->items = NULL;
  v->n = 0;
}

uint64_t fm_vector_seq(const fm_vector *v, const uint8_t author[static FM_KEY_LEN]) {
  for (size_t i = 0; i < v->n; i++)
    if (!memcmp(v->items[i].author, author, FM_KEY_LEN)) return v->items[i].seq;
  return 0;
}

void fm_vector_digest(const fm_vector *v, uint8_t out[static 32]) {
  crypto_generichash_state h;
  crypto_generichash_init(&h, NULL, 0, 32);
  for (size_t i = 0; i < v->n; i++) {
    uint8_t seq[8];
    for (int k = 0; k < 8; k++) seq[k] = (uint8_t)(v->items[i].seq >> (56 - 8 * k));
    crypto_generichash_update(&h, v->items[i].author, FM_KEY_LEN);
    crypto_generichash_update(&h, seq, 8);
    crypto_generichash_update(&h, v->items[i].head, FM_ID_LEN);
  }
  crypto_generichash_final(&h, out, 32);
}
