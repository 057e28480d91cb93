#include "fieldmesh/beacon.h"

#include <string.h>

#include "fieldmesh/error.h"
#include "fieldmesh/identity.h"
#include "fieldmesh/msg.h"

static const uint8_t MAGIC[4] = {'F', 'M', 'B', 'C'};

void fm_beacon_mesh_id(const uint8_t authority[static FM_KEY_LEN],
                       uint8_t out[static FM_BEACON_MESH_LEN]) {
  fm_blake2b(out, FM_BEACON_MESH_LEN, authority, FM_KEY_LEN, NULL, 0);
}

void fm_beacon_digest(const fm_vector *v, uint8_t out[static FM_BEACON_DIGEST_LEN]) {
  uint8_t full[32];
  fm_vector_digest(v, full);
  memcpy(out, full, FM_BEACON_DIGEST_LEN);
}

size_t fm_beacon_encode(const fm_beacon *b, uint8_t out[static FM_BEACON_LEN]) {
  FM_ASSERT(b->port != 0);
  memcpy(out, MAGIC, 4);
  out[4] = FM_BEACON_VERSION;
  out[5] = 0;
  out[6] = (uint8_t)(b->port >> 8);
  out[7] = (uint8_t)b->port;
  memcpy(out + 8, b->mesh, FM_BEACON_MESH_LEN);
  memcpy(out + 40, b->node, FM_KEY_LEN);
  memcpy(out + 72, b->digest, FM_BEACON_DIGEST_LEN);
  return FM_BEACON_LEN;
}

/* A cursor over the datagram: each take checks what is left first. */
typedef struct cur {
  const uint8_t *p, *end;
} cur;

static const uint8_t *take(cur *c, size_t n) {
  if ((size_t)(c->end - c->p) < n) return NULL;
  const uint8_t *at = c->p;
  c->p += n;
  return at;
}

int fm_beacon_parse(const uint8_t *p, size_t len, fm_beacon *out) {
  cur c = {p, p + len};
  const uint8_t *magic, *ver, *flags, *port, *mesh, *node, *digest;
  fm_beacon b;
  if (!(magic = take(&c, 4)) || !(ver = take(&c, 1))) return FM_ERR_MALFORMED;
  if (memcmp(magic, MAGIC, 4) != 0) return FM_ERR_MALFORMED;
  /* The version is judged before the length: a later version may well be
   * longer, and saying "version" rather than "malformed" keeps a newer
   * laptop from looking like an attacker in the log. */
  if (*ver != FM_BEACON_VERSION) return FM_ERR_VERSION;
  if (!(flags = take(&c, 1)) || !(port = take(&c, 2)) ||
      !(mesh = take(&c, FM_BEACON_MESH_LEN)) || !(node = take(&c, FM_KEY_LEN)) ||
      !(digest = take(&c, FM_BEACON_DIGEST_LEN)))
    return FM_ERR_MALFORMED;
  if (c.p != c.end) return FM_ERR_MALFORMED;
  /* No flag is defined in version 1: a set bit is not ours to guess at. */
  if (*flags != 0) return FM_ERR_MALFORMED;
  b.port = (uint16_t)(port[0] << 8 | port[1]);
  if (b.port == 0) return FM_ERR_MALFORMED;
  memcpy(b.mesh, mesh, FM_BEACON_MESH_LEN);
  memcpy(b.node, node, FM_KEY_LEN);
  memcpy(b.digest, digest, FM_BEACON_DIGEST_LEN);
  *out = b;
  return 0;
}
