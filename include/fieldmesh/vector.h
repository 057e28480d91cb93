/* A node's vector: for each author it holds, the highest seq and the id
 * of the entry at that seq.  The session exchanges vectors to learn what
 * each side lacks; the store builds them from its heads.
 *
 * Threads: plain values; any thread may use its own.
 */
#ifndef FIELDMESH_VECTOR_H
#define FIELDMESH_VECTOR_H

#include <stddef.h>
#include <stdint.h>

#include "fieldmesh/types.h"

typedef struct fm_vec_item {
  uint8_t author[FM_KEY_LEN];
  uint64_t seq;
  uint8_t head[FM_ID_LEN];
} fm_vec_item;

typedef struct fm_vector {
  size_t n;
  fm_vec_item *items;   /* owned; authority first, then by author */
} fm_vector;

/* Frees |v|'s items and leaves it empty; |v| itself is the caller's. */
void fm_vector_free(fm_vector *v);

/* The seq |v| holds for |author|, 0 when none. */
uint64_t fm_vector_seq(const fm_vector *v, const uint8_t author[static FM_KEY_LEN]);

/* BLAKE2b-256 over the vector's items in their order (authority first,
 * then by author): author, seq (big-endian) and head of each. */
void fm_vector_digest(const fm_vector *v, uint8_t out[static 32]);

#endif
