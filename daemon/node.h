/* fmd_node: the daemon.  One store, this laptop's identity, the TCP
 * listener, the address records and connections, the control socket,
 * the signals.  Everything the daemon holds hangs off it; main() owns it.
 *
 * Life: fmd_node_start() -> uv_run() -> fmd_node_free().  Shutdown
 * (SIGTERM, SIGINT, `stop`) says BYE "shutting down" to every peer, waits
 * at most FMD_STOP_GRACE_MS for them to be flushed, closes every handle so
 * that uv_run() returns, and fmd_node_free() closes the store.
 */
#ifndef FMD_NODE_H
#define FMD_NODE_H

#include <uv.h>

#include "addr.h"
#include "config.h"
#include "ctl.h"
#include "discovery.h"
#include "fieldmesh/node.h"
#include "gateway.h"
#include "log.h"
#include "peer.h"
#include "shun.h"
#include "fieldmesh/vpool.h"
#include "web.h"

#define FMD_STOP_GRACE_MS 2000
#define FMD_PEERS_MAX 64           /* connections at once, both ways */
#define FMD_TICK_MS 1000           /* rate samples; store watch every 2nd tick */
#define FMD_REGRANT_TICKS 10       /* key grants extended to new readers (regrant.h) */

struct fmd_node {
  uv_loop_t *loop;
  const fmd_config *cfg;      /* main's; outlives the node */
  fmd_log log;
  fm_store *store;
  fm_node node;               /* the session adapter (identity, own certificate) */
  fm_vpool vpool;            /* signature checkers beside the loop thread (vpool.h) */
  int node_ok;
  fm_enrollment self;         /* our own enrollment: name and team for logs */
  uv_tcp_t listener;
  int listener_open;
  char listen_text[FM_CONTROL_ADDR_MAX];
  uv_signal_t sigterm, sigint;
  uv_timer_t tick, stop_timer;
  int handles_open;           /* sigterm .. stop_timer initialised */
  uint64_t ticks;
  fmd_ctl ctl;
  fmd_disc disc;              /* LAN beacons (discovery.h) */
  fmd_shun shun;              /* callers ignored for a while (shun.h) */
  fmd_gateway *gw;            /* the forwarder when [upstream] is set (gateway.h); else NULL */
  fmd_web *web;               /* the dashboard (web.h); NULL when none */
  struct fm_keyring *seal_keys; /* extends this laptop's key grants (regrant.h); NULL until used */
  int64_t inbox_day;          /* the UTC day keep_months last ran (regrant.h); 0: not yet */
  fmd_peer *peers;
  size_t npeers;
  fmd_addr *addrs;
  size_t naddrs;
  fmd_peer *in_recv;          /* whose fm_session_recv() is running */
  int kick;                   /* some peers were notified while it ran */
  uint64_t watch_entries, watch_self;  /* the store as last seen */
  uint64_t told_rewritten;    /* node.rewritten when last logged */
  uint64_t clock_logged;      /* entries stamped too far ahead, last logged */
  /* Sessions that ended since the start (metrics): how many, how many
   * failed, and the bytes they moved; live ones are added when asked. */
  uint64_t sessions_ended, sessions_failed, ended_bytes_in, ended_bytes_out;
  fm_time started;
  int stopping;
  int finished;               /* every handle closed or closing */
};

/* Wall-clock milliseconds since 1970: what people read, stamps, expiry.
 * It jumps when someone sets the clock. */
fm_time fmd_now(void);
/* Monotonic milliseconds (any origin): the time every session is fed, so
 * a clock set a day forward or back neither kills nor stalls a link. */
fm_time fmd_mono(void);
/* The wall-clock time of the monotonic instant |mono| (0 stays 0). */
fm_time fmd_wall_of(fm_time mono);

/* Opens the state folder and starts everything.  Returns 0, or FMD_EXIT_FAIL
 * after logging one line (no device key, not enrolled, the port taken,
 * another daemon running...); then uv_run() still has to run to close what
 * was opened, and fmd_node_free() after it. */
int fmd_node_start(fmd_node *d, uv_loop_t *loop, const fmd_config *cfg);

/* Starts a clean shutdown (idempotent). */
void fmd_node_stop(fmd_node *d, const char *why);
/* Once stopping and every peer is gone, closes the node's own handles. */
void fmd_node_check_stopped(fmd_node *d);

/* After uv_run() returned: closes the store, removes the socket file. */
void fmd_node_free(fmd_node *d);

/* ---- what the control socket asks ------------------------------------------- */

void fmd_node_status(fmd_node *d, fm_control_status *out);
/* Fills at most |cap| reports: the callers ignored now (shun.h), then
 * the address records.  Returns how many there are (may exceed |cap|). */
size_t fmd_node_peers(fmd_node *d, fm_control_peer *out, size_t cap);
/* The CLI wrote entries: offer them to every peer. */
void fmd_node_poke(fmd_node *d);
/* Connects now to |text|.  Returns 0 with |*a| (connected already when
 * fmd_node_connected_to() says so), or -1 with a message in |err|. */
int fmd_node_sync(fmd_node *d, const char *text, fmd_addr **a, char *err, size_t cap);
/* The live, admitted connection to the node behind |a|, or NULL. */
fmd_peer *fmd_node_connected_to(fmd_node *d, const fmd_addr *a);
/* A full report on |a| (and its connection). */
void fmd_node_report(fmd_node *d, const fmd_addr *a, fm_control_peer *out);

/* The live peer whose admitted node is |id|, other than |except|. */
fmd_peer *fmd_node_find_live(fmd_node *d, const uint8_t id[FM_KEY_LEN], const fmd_peer *except);
/* Services the peers notified during another session's receive. */
void fmd_node_kick(fmd_node *d);

#endif
