/* LAN discovery: laptops of one commune find each other on the Wi-Fi of
 * the commune hall or a phone's hotspot, with no address in any config.
 *
 * Every interval_seconds (with ±25 % jitter, so laptops that woke
 * together do not beacon together), at start, and at once when the set of
 * network addresses changes (polled every FMD_DISC_POLL_MS), the daemon
 * sends a beacon (include/fieldmesh/beacon.h) on every network it listens
 * on: to the IPv4 broadcast address of each, to the IPv4 multicast group,
 * and, when it accepts IPv6, to the IPv6 link-local multicast group.
 *
 * A beacon heard from another laptop of the same commune is dialled when
 *   - no admitted connection to that laptop exists, and
 *   - its digest differs from ours: one of us lacks entries of the other;
 * and when this laptop is the one to dial: one connection per pair is
 * enough, so the laptop with the smaller device id dials.  The other one
 * steps in only when no connection came after FMD_DISC_STEP_IN_INTERVALS
 * intervals (at least FMD_DISC_STEP_IN_MIN_MS), or when it cannot be
 * dialled itself (listen = off).  Should both dial anyway, the node keeps
 * one connection and closes the other as a duplicate (mesh.c).  A laptop
 * whose dials fail is dialled again after the same backoff as a static
 * peer.
 *
 * Beacons are not trusted: a forged one can only make us dial an address,
 * where the Noise handshake and the enrollment check decide.  Beacons of
 * another commune are ignored, malformed ones dropped and counted, and
 * each source address may send at most FMD_DISC_SRC_BURST beacons at once
 * and FMD_DISC_SRC_PER_S a second after that.  Every table here is
 * bounded; when one is full the entry heard of longest ago makes room.
 *
 * The discovery owns its handles (embedded) and closes them in
 * fmd_disc_close(); they need no close callback because the fmd_node that
 * embeds this struct outlives the loop.
 */
#ifndef FMD_DISCOVERY_H
#define FMD_DISCOVERY_H

#include <uv.h>

#include "discovery_config.h"
#include "fieldmesh/beacon.h"
#include "fieldmesh/control.h"

#define FMD_DISC_POLL_MS 10000          /* network addresses looked at */
#define FMD_DISC_IFACES_MAX 32          /* addresses beaconed from */
#define FMD_DISC_NODES_MAX 64           /* laptops heard of */
#define FMD_DISC_SOURCES_MAX 64         /* source addresses rate-limited */
#define FMD_DISC_SRC_BURST 20
#define FMD_DISC_SRC_PER_S 5
#define FMD_DISC_ALL_BURST 200          /* all sources together */
#define FMD_DISC_ALL_PER_S 100
#define FMD_DISC_DIAL_BURST 8           /* dials started by beacons */
#define FMD_DISC_DIAL_PER_S 1
#define FMD_DISC_STEP_IN_INTERVALS 4
#define FMD_DISC_STEP_IN_MIN_MS 20000
#define FMD_DISC_STALE_INTERVALS 3      /* an address not heard this long is replaced */
/* A laptop that holds the same entries is dialled anyway, this often at
 * most, while this one waits for chunks of scans (they may be there). */
#define FMD_DISC_CHUNK_RETRY_MS 30000
#define FMD_DISC_WARN_MS 60000          /* one warning per source this often */

typedef struct fmd_node fmd_node;

typedef struct fmd_disc_iface {
  char name[32];
  int family;                    /* AF_INET or AF_INET6 */
  unsigned index;                /* the interface's index (the IPv6 scope) */
  uint8_t addr[16], mask[16];
} fmd_disc_iface;

/* A laptop heard of by beacon. */
typedef struct fmd_disc_node {
  int used;
  uint8_t id[FM_KEY_LEN];
  char addr[FM_CONTROL_ADDR_MAX]; /* where it is dialled: the beacon's source, its port */
  int v6;
  uint64_t heard;                /* loop time of its last beacon from |addr| */
  uint64_t differs_since;        /* first beacon with another digest, unconnected; 0 */
  uint8_t digest[FM_BEACON_DIGEST_LEN];
  int dialled;                   /* dialled once: later dials are logged at debug */
  uint64_t chunks_tried;         /* last dial for chunks of scans; 0 never */
} fmd_disc_node;

/* A token bucket, in thousandths of a beacon. */
typedef struct fmd_disc_bucket {
  int64_t milli;
  uint64_t t;
} fmd_disc_bucket;

typedef struct fmd_disc_source {
  int used;
  int family;
  uint8_t ip[16];
  fmd_disc_bucket bucket;
  uint64_t seen;                 /* loop time of its last datagram */
  uint64_t quiet_bad;            /* no warning of malformed beacons before this */
  uint64_t quiet_foreign;        /* no note of another commune before this */
  uint64_t bad;                  /* malformed datagrams from it */
} fmd_disc_source;

typedef struct fmd_disc {
  fmd_node *d;
  const fmd_disc_config *cfg;
  int running;
  int send4, send6;              /* beacons go out over IPv4, IPv6 */
  int ifaces_err;                /* the last error listing the networks, logged; 0 none */
  int only4;                     /* IPv4: only from the address |only| */
  uint8_t only[4];
  uint16_t port;                 /* our TCP port, in the beacon */
  uv_udp_t udp4, udp6;
  int udp4_open, udp6_open;
  uv_timer_t beacon_timer, poll_timer;
  int timers_open;
  uint8_t mesh[FM_BEACON_MESH_LEN];
  uint8_t digest[FM_BEACON_DIGEST_LEN];  /* ours, as last read from the store */
  int digest_ok;
  fmd_disc_iface ifaces[FMD_DISC_IFACES_MAX];
  size_t nifaces;
  fmd_disc_node nodes[FMD_DISC_NODES_MAX];
  fmd_disc_source sources[FMD_DISC_SOURCES_MAX];
  fmd_disc_bucket all, dials;
  uint64_t sent, send_failed, heard, malformed, other_version, foreign, limited, dialled;
  uint8_t rbuf[512];             /* one datagram; longer ones are malformed */
} fmd_disc;

/* Starts discovery for |d| as its settings say (d->cfg->disc).  Never
 * fatal: a port that is taken or a network without multicast is logged,
 * and the daemon runs on without beacons. */
void fmd_disc_start(fmd_disc *s, fmd_node *d);

/* Closes the handles (idempotent); logs what discovery counted. */
void fmd_disc_close(fmd_disc *s);

#endif
