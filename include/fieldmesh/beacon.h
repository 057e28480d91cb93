/* LAN discovery beacons: the UDP datagram a node sends to its local
 * networks every few seconds so that laptops of the same commune find each
 * other without any address in a config file (docs/protocol.md section 8).
 *
 * A beacon is 80 bytes, every field at a fixed place, integers big-endian:
 *
 *   offset  size  field
 *        0     4  magic "FMBC"
 *        4     1  version (1)
 *        5     1  flags (0: no flag is defined in version 1)
 *        6     2  TCP port where the node accepts sync connections (1..65535)
 *        8    32  mesh id: BLAKE2b-256 of the commune authority's public key
 *       40    32  node id: the node's Ed25519 public key
 *       72     8  vector digest: the first 8 bytes of fm_vector_digest() of
 *                 the node's vector when it sent the beacon
 *
 * Beacons are neither secret nor signed.  A forged one can at most make a
 * node dial an address, where the Noise handshake and the enrollment check
 * decide who is admitted; so a beacon carries only what helps choose whom
 * to dial.  The digest tells a listener whether the sender holds the same
 * entries as itself (equal vectors, equal digests) without a connection.
 *
 * The codec is sans-I/O: no sockets, no clock.  fm_beacon_parse() takes
 * hostile bytes (anything a LAN neighbour sends to the discovery port) and
 * is the entry point of the beacon fuzz target.
 */
#ifndef FIELDMESH_BEACON_H
#define FIELDMESH_BEACON_H

#include "fieldmesh/vector.h"
#include "fieldmesh/types.h"

#define FM_BEACON_LEN 80          /* every version-1 beacon, exactly */
#define FM_BEACON_VERSION 1
#define FM_BEACON_MESH_LEN 32
#define FM_BEACON_DIGEST_LEN 8

typedef struct fm_beacon {
  uint8_t mesh[FM_BEACON_MESH_LEN];      /* fm_beacon_mesh_id() of the authority */
  uint8_t node[FM_KEY_LEN];              /* the sender's device id */
  uint16_t port;                         /* its sync (TCP) port, never 0 */
  uint8_t digest[FM_BEACON_DIGEST_LEN];  /* fm_beacon_digest() of its vector */
} fm_beacon;

/* The mesh id of the commune whose authority key is |authority|:
 * BLAKE2b-256 of the 32 key bytes.  Beacons of another mesh are ignored. */
void fm_beacon_mesh_id(const uint8_t authority[static FM_KEY_LEN],
                       uint8_t out[static FM_BEACON_MESH_LEN]);

/* The first FM_BEACON_DIGEST_LEN bytes of fm_vector_digest(|v|).  Two
 * nodes holding the same entries have equal digests; different digests
 * mean one of them lacks something the other holds. */
void fm_beacon_digest(const fm_vector *v, uint8_t out[static FM_BEACON_DIGEST_LEN]);

/* Writes |b| as exactly FM_BEACON_LEN bytes into |out|.  |b->port| must not
 * be 0 (a programmer's mistake: FM_ASSERT).  Returns FM_BEACON_LEN. */
size_t fm_beacon_encode(const fm_beacon *b, uint8_t out[static FM_BEACON_LEN]);

/* Parses the |len| bytes at |p| (hostile: any datagram received on the
 * discovery port).  Reads nothing outside them and allocates nothing.
 * Returns 0 and fills |*out|, which is written only on success, or:
 *   FM_ERR_MALFORMED  shorter than magic and version, wrong magic, not
 *                     exactly FM_BEACON_LEN bytes, a flag set, port 0
 *   FM_ERR_VERSION    the magic is right but the version is not 1,
 *                     whatever the length (a newer node: not an attack)
 * The caller drops the datagram on any error and may count it. */
int fm_beacon_parse(const uint8_t *p, size_t len, fm_beacon *out);

#endif
