/* One TCP connection to another laptop, driving one sync session.
 *
 * The peer owns its uv_tcp_t and uv_timer_t (embedded) and is freed only
 * in their close callbacks.  After every event (bytes read, a write done,
 * the timer, a notify) it pumps fm_session_send() into uv_write() while
 * fewer than FMD_WQ_MAX bytes wait to be written, and re-arms the timer
 * from fm_session_next_timer().  A session that is CLOSING is drained,
 * then the socket is shut down and closed when the other side has
 * closed too (or after FMD_LINGER_MS), so the BYE or ERROR reaches it.
 *
 * The peer tells its node what happens through fmd_mesh_*()
 * (mesh.h): admitted, caught up, closed.
 */
#ifndef FMD_PEER_H
#define FMD_PEER_H

#include <uv.h>

#include "fieldmesh/control.h"
#include "fieldmesh/session.h"

#define FMD_WQ_MAX (256 * 1024)          /* bytes queued to uv_write per peer */
#define FMD_CHUNK (FM_FRAME_HDR + FM_FRAME_MAX) /* bytes per uv_write */
#define FMD_CONNECT_TIMEOUT_MS 10000
#define FMD_LINGER_MS 2000               /* wait for the other side's close */
#define FMD_RATE_SAMPLES 6               /* one a second: rates over 5 s */

typedef struct fmd_node fmd_node;
typedef struct fmd_addr fmd_addr;

typedef enum fmd_phase {
  FMD_P_CONNECTING, /* dialling */
  FMD_P_OPEN,       /* the session runs */
  FMD_P_DRAIN,      /* the session is over: writing what is queued */
  FMD_P_SHUTDOWN,   /* FIN sent: waiting for the other side's */
  FMD_P_CLOSED,     /* uv_close called: freed in the close callback */
} fmd_phase;

typedef struct fmd_rate_sample {
  fm_time t;
  uint64_t in, out;
} fmd_rate_sample;

typedef struct fmd_peer {
  fmd_node *d;
  fmd_addr *addr;        /* its address record; NULL once closed */
  struct fmd_peer *next; /* in d->peers */
  uv_tcp_t tcp;
  uv_timer_t timer;      /* the session's timer, the connect timeout, the linger */
  uv_connect_t connect;
  uv_shutdown_t shutdown;
  int handles;           /* embedded handles not yet closed */
  int initiator;         /* we dialled */
  fmd_phase phase;
  fm_session *session;   /* owned; NULL until connected */
  size_t wq_bytes;       /* handed to uv_write, not yet written: <= FMD_WQ_MAX + FMD_CHUNK */
  char remote[FM_CONTROL_ADDR_MAX]; /* the address as dialled, or the caller's ip:port */
  struct sockaddr_storage caller;   /* the caller's address (accepted connections) */
  char who[2 * FM_NAME_MAX + 2];    /* "Lan, Team 1" once admitted */
  fm_time since;         /* TCP connected */
  int admitted;          /* fmd_mesh_admitted() was called */
  uint8_t peer_id[FM_KEY_LEN];      /* the admitted node */
  uint16_t tie_port;     /* the dialler's port: names this connection on both ends */
  fm_time caught_up_seen;
  int caught_up_count;
  fm_time caught_up_logged;          /* last "caught up" at info level */
  int stalled_seen;
  uint64_t refused_seen;             /* session's refused_out when last said */
  fm_msg_refusal refused_said;       /* the range last said in the log */
  uint64_t chunks_bad_seen;          /* session's chunks_bad when last said */
  int kick;              /* notified while another session was receiving */
  int duplicate;         /* closed because another connection to the node won */
  int failed;            /* counts as a failed attempt */
  char why[FM_CONTROL_TEXT_MAX]; /* our reason, when the session has none */
  int lingering;         /* the linger deadline is armed */
  fmd_rate_sample rate[FMD_RATE_SAMPLES];
  int rate_n, rate_head;
  uint8_t rbuf[64 * 1024];  /* one read at a time */
  uint8_t sbuf[FMD_CHUNK];  /* fm_session_send() writes here; copied per write */
} fmd_peer;

/* Dials |sa| for |addr| (setting |addr->conn|).  0: the outcome comes
 * through the node's hooks, failures included.  -ENOMEM: nothing was
 * made. */
int fmd_peer_dial(fmd_node *d, fmd_addr *addr, const struct sockaddr *sa);

/* Accepts a connection waiting on |server|; |(*out)->remote| names the
 * other end.  The caller gives it an address record (|addr|, and
 * |addr->conn|) and calls fmd_peer_open(), or fmd_peer_abort().  0 or a
 * libuv code (nothing is left behind). */
int fmd_peer_accept(fmd_node *d, uv_stream_t *server, fmd_peer **out);

/* Starts the session on an accepted connection. */
void fmd_peer_open(fmd_peer *p);

/* Says BYE with |reason| and closes once it is written.  |duplicate|: the
 * node is connected through another connection (not a failure). */
void fmd_peer_close(fmd_peer *p, const char *reason, int duplicate);

/* Closes now, without waiting for anything (shutdown deadline). */
void fmd_peer_abort(fmd_peer *p, const char *reason);

/* The store has new entries: offer them.  |later|: only mark the peer,
 * fmd_peer_service() runs when the node kicks it. */
void fmd_peer_notify(fmd_peer *p, int later);

/* Pumps writes, notices admission and catching up, closes when done. */
void fmd_peer_service(fmd_peer *p);

/* Takes a rate sample (once a second); |now| is fmd_mono(). */
void fmd_peer_sample(fmd_peer *p, fm_time now);

/* Fills the live fields of |out|: state, since, traffic, progress, rates,
 * what the peer refused.  |now| is fmd_mono(). */
void fmd_peer_report(const fmd_peer *p, fm_time now, fm_control_peer *out);

/* "127.0.0.1:7412 (Lan, Team 1)", or the address alone before admission. */
const char *fmd_peer_label(const fmd_peer *p, char *buf, size_t cap);

/* True while the session runs and has admitted the other node. */
int fmd_peer_live(const fmd_peer *p);

/* The session's stats (zero before it exists). */
void fmd_peer_stats(const fmd_peer *p, fm_session_stats *out);

#endif
