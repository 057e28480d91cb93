#include "peer.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <sodium.h>

#include "fieldmesh/dirs.h"
#include "fieldmesh/error.h"
#include "hostport.h"
#include "mesh.h"
#include "node.h"
#include "shun.h"

/* One uv_write: the bytes live until its callback. */
typedef struct wreq {
  uv_write_t req;
  fmd_peer *p;
  size_t len;
  uint8_t buf[];
} wreq;

static void on_close(uv_handle_t *h);
static void on_timer(uv_timer_t *t);

static void rng_fill(void *ctx, uint8_t *out, size_t len) {
  (void)ctx;
  randombytes_buf(out, len);
}

static fmd_peer *peer_new(fmd_node *d, fmd_addr *a, int initiator) {
  fmd_peer *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  p->d = d;
  p->addr = a;
  p->initiator = initiator;
  p->phase = FMD_P_CONNECTING;
  if (a) snprintf(p->remote, sizeof p->remote, "%s", a->text);
  /* Neither init can fail on a live loop (they only fill the struct). */
  FM_ASSERT(uv_tcp_init(d->loop, &p->tcp) == 0);
  FM_ASSERT(uv_timer_init(d->loop, &p->timer) == 0);
  p->tcp.data = p;
  p->timer.data = p;
  p->handles = 2;
  p->next = d->peers;
  d->peers = p;
  d->npeers++;
  return p;
}

const char *fmd_peer_label(const fmd_peer *p, char *buf, size_t cap) {
  if (p->who[0]) snprintf(buf, cap, "%s (%s)", p->remote, p->who);
  else snprintf(buf, cap, "%s", p->remote);
  return buf;
}

void fmd_peer_stats(const fmd_peer *p, fm_session_stats *out) {
  if (p->session) {
    fm_session_get_stats(p->session, out);
  } else {
    memset(out, 0, sizeof *out);
    out->state = FM_SS_HANDSHAKE;
  }
}

int fmd_peer_live(const fmd_peer *p) {
  return p->phase == FMD_P_OPEN && p->admitted &&
         fm_session_get_state(p->session) < FM_SS_CLOSING;
}

/* ---- the end of a connection ------------------------------------------------ */

/* The one place a connection ends: tells the node, closes both handles. */
static void finish(fmd_peer *p) {
  fm_session_stats st;
  const char *reason;
  int failed = p->failed;
  if (p->phase == FMD_P_CLOSED) return;
  fmd_peer_stats(p, &st);
  /* The session's own account (a BYE, an ERROR, a timeout) says more than
   * the socket's. */
  reason = st.reason[0] ? st.reason : p->why[0] ? p->why : "closed";
  if (st.error) failed = 1;
  /* This laptop's own trouble, not the peer's: say it in the words the
   * command line uses, once per session that hit it. */
  if (st.error == FM_ERR_NOSPACE) {
    char msg[PATH_MAX + 128];
    fmd_logf(&p->d->log, FMD_ERROR, "%s", fm_disk_full_message(p->d->cfg->state, msg, sizeof msg));
  } else if (st.error == FM_ERR_DAMAGED) {
    fmd_logf(&p->d->log, FMD_ERROR, "this laptop's store is damaged (%s): run fieldmesh recover",
             reason);
  }
  if (p->duplicate) failed = 0;
  p->d->sessions_ended++;
  p->d->sessions_failed += (uint64_t)(failed != 0);
  p->d->ended_bytes_in += st.bytes_in;
  p->d->ended_bytes_out += st.bytes_out;
  p->phase = FMD_P_CLOSED;
  uv_timer_stop(&p->timer);
  if (!p->initiator && !p->admitted && fmd_shun_counts(st.error))
    fmd_mesh_misbehaved(p->d, p, reason);
  fmd_mesh_closed(p->d, p, reason, failed);
  p->addr = NULL;
  uv_close((uv_handle_t *)&p->tcp, on_close);
  uv_close((uv_handle_t *)&p->timer, on_close);
}

static void on_close(uv_handle_t *h) {
  fmd_peer *p = h->data;
  if (--p->handles > 0) return;
  fmd_mesh_gone(p->d, p);
  fm_session_del(p->session);
  free(p);
}

/* The socket broke while the session still needed it. */
static void broken(fmd_peer *p, const char *what, int err) {
  if (!p->why[0]) snprintf(p->why, sizeof p->why, "%s: %s", what, uv_strerror(err));
  if (p->phase <= FMD_P_OPEN) p->failed = 1;
  finish(p);
}

void fmd_peer_abort(fmd_peer *p, const char *reason) {
  if (!p->why[0]) snprintf(p->why, sizeof p->why, "%s", reason);
  finish(p);
}

void fmd_peer_close(fmd_peer *p, const char *reason, int duplicate) {
  if (p->phase == FMD_P_CLOSED) return;
  if (duplicate) p->duplicate = 1;
  if (p->phase != FMD_P_OPEN) {
    /* Dialling, or already past the session: nothing to say. */
    if (p->phase == FMD_P_CONNECTING) fmd_peer_abort(p, reason);
    return;
  }
  fm_session_close(p->session, reason);
  fmd_peer_service(p);
}

static void on_shutdown(uv_shutdown_t *req, int status) {
  fmd_peer *p = req->data;
  if (status == UV_ECANCELED || p->phase == FMD_P_CLOSED) return;
  if (status < 0) finish(p);
  /* Otherwise wait for the other side's EOF (or the linger deadline). */
}

/* Everything is written: send FIN and let the other side close first, so
 * our last bytes are not lost to a reset. */
static void begin_shutdown(fmd_peer *p) {
  p->phase = FMD_P_SHUTDOWN;
  p->shutdown.data = p;
  if (uv_shutdown(&p->shutdown, (uv_stream_t *)&p->tcp, on_shutdown) < 0) finish(p);
}

/* ---- writing ------------------------------------------------------------------ */

static void on_write(uv_write_t *req, int status) {
  wreq *w = (wreq *)req;
  fmd_peer *p = w->p;
  p->wq_bytes -= w->len;
  free(w);
  if (status == UV_ECANCELED || p->phase == FMD_P_CLOSED) return;
  if (status < 0) {
    broken(p, "cannot send", status);
    return;
  }
  fmd_peer_service(p);
}

/* Moves what the session has to say into uv_write while the queue has
 * room; the write callback calls back here as the queue drains. */
static void pump(fmd_peer *p, fm_time now) {
  while (p->phase == FMD_P_OPEN && p->wq_bytes < FMD_WQ_MAX) {
    ssize_t n = fm_session_send(p->session, p->sbuf, sizeof p->sbuf, now);
    if (n <= 0) return; /* nothing now; a failure shows in the session's state */
    wreq *w = malloc(sizeof *w + (size_t)n);
    if (!w) {
      fmd_peer_abort(p, "out of memory");
      return;
    }
    memcpy(w->buf, p->sbuf, (size_t)n);
    w->p = p;
    w->len = (size_t)n;
    uv_buf_t b = uv_buf_init((char *)w->buf, (unsigned)n);
    int rv = uv_write(&w->req, (uv_stream_t *)&p->tcp, &b, 1, on_write);
    if (rv < 0) {
      free(w);
      broken(p, "cannot send", rv);
      return;
    }
    p->wq_bytes += (size_t)n;
  }
}

/* ---- noticing what the session did ------------------------------------------------ */

static void observe(fmd_peer *p) {
  fm_session_stats st;
  char label[512];
  if (p->phase != FMD_P_OPEN) return;
  fm_session_get_stats(p->session, &st);
  if (st.admitted && !p->admitted) {
    p->admitted = 1;
    memcpy(p->peer_id, st.peer_id, FM_KEY_LEN);
    snprintf(p->who, sizeof p->who, "%s, %s", st.peer.name, st.peer.team);
    fmd_mesh_admitted(p->d, p, &st);
    if (!fmd_peer_live(p)) return;
  }
  if (!p->admitted) return;
  if (st.refused_out != p->refused_seen) {
    /* Once per new range: a peer refusing every batch of a gap says the
     * same thing each time. */
    const fm_msg_refusal *r = &st.last_refused, *o = &p->refused_said;
    if (!p->refused_seen || memcmp(r->author, o->author, FM_KEY_LEN) || r->code != o->code ||
        r->from != o->to + 1)
      fmd_mesh_refused(p->d, p, r, st.refused_out);
    p->refused_seen = st.refused_out;
    p->refused_said = *r;
  }
  if (st.chunks_bad != p->chunks_bad_seen) {
    fmd_logf(&p->d->log, FMD_WARN,
             "peer %s sent %llu chunk%s that %s not the chunk asked for: dropped, and asked "
             "again (of another laptop first: a damaged disk there, or a laptop that lies)",
             fmd_peer_label(p, label, sizeof label),
             (unsigned long long)(st.chunks_bad - p->chunks_bad_seen),
             st.chunks_bad - p->chunks_bad_seen == 1 ? "" : "s",
             st.chunks_bad - p->chunks_bad_seen == 1 ? "is" : "are");
    p->chunks_bad_seen = st.chunks_bad;
  }
  if (st.caught_up_at && st.caught_up_at != p->caught_up_seen) {
    p->caught_up_seen = st.caught_up_at;
    p->caught_up_count++;
    fmd_mesh_caught_up(p->d, p, &st);
  }
  if (st.stalled != p->stalled_seen) {
    p->stalled_seen = st.stalled;
    fmd_peer_label(p, label, sizeof label);
    if (st.stalled)
      fmd_logf(&p->d->log, FMD_WARN,
               "peer %s stalled: entries sent over %u s ago are not acknowledged (%llu "
               "still to send); the link is saturated or dead",
               label, 2 * p->d->cfg->ping_seconds, (unsigned long long)st.to_send);
    else
      fmd_logf(&p->d->log, FMD_INFO, "peer %s moving again", label);
  }
}

static void arm_timer(fmd_peer *p, fm_time now) {
  fm_time at;
  switch (p->phase) {
  case FMD_P_OPEN:
    at = fm_session_next_timer(p->session);
    if (at == FM_TIME_NEVER) {
      uv_timer_stop(&p->timer);
      return;
    }
    /* +1: the loop's clock is whole milliseconds; never fire a hair early. */
    uv_timer_start(&p->timer, on_timer, at > now ? (uint64_t)(at - now) + 1 : 1, 0);
    return;
  case FMD_P_DRAIN:
  case FMD_P_SHUTDOWN:
    if (!p->lingering) uv_timer_start(&p->timer, on_timer, FMD_LINGER_MS, 0);
    p->lingering = 1;
    return;
  default:
    return;
  }
}

void fmd_peer_service(fmd_peer *p) {
  fm_time now = fmd_mono();
  p->kick = 0;
  if (p->phase == FMD_P_OPEN) {
    observe(p);
    pump(p, now);
    observe(p);
    if (p->phase == FMD_P_OPEN && fm_session_get_state(p->session) == FM_SS_CLOSED)
      p->phase = FMD_P_DRAIN;
  }
  if (p->phase == FMD_P_DRAIN && p->wq_bytes == 0) begin_shutdown(p);
  arm_timer(p, now);
}

void fmd_peer_notify(fmd_peer *p, int later) {
  if (p->phase != FMD_P_OPEN) return;
  fm_session_notify(p->session);
  if (!later) {
    fmd_peer_service(p);
    return;
  }
  p->kick = 1;
  p->d->kick = 1;
}

/* ---- events ------------------------------------------------------------------------ */

static void on_timer(uv_timer_t *t) {
  fmd_peer *p = t->data;
  switch (p->phase) {
  case FMD_P_CONNECTING:
    snprintf(p->why, sizeof p->why, "no answer after %d s", FMD_CONNECT_TIMEOUT_MS / 1000);
    p->failed = 1;
    finish(p);
    return;
  case FMD_P_OPEN:
    fm_session_on_timer(p->session, fmd_mono()); /* a failure shows in its state */
    fmd_peer_service(p);
    return;
  case FMD_P_DRAIN:
  case FMD_P_SHUTDOWN:
    finish(p); /* the other side did not close in time */
    return;
  case FMD_P_CLOSED:
    return;
  }
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  fmd_peer *p = h->data;
  (void)hint;
  *buf = uv_buf_init((char *)p->rbuf, sizeof p->rbuf);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  fmd_peer *p = s->data;
  (void)buf;
  if (n == 0 || p->phase == FMD_P_CLOSED) return;
  if (n < 0) {
    /* Past the session an EOF is the polite end; before, the other side
     * vanished without a word. */
    if (p->phase == FMD_P_OPEN && !p->why[0]) {
      if (n == UV_EOF) snprintf(p->why, sizeof p->why, "the other side closed the connection");
      else snprintf(p->why, sizeof p->why, "connection lost: %s", uv_strerror((int)n));
      p->failed = 1;
    }
    finish(p);
    return;
  }
  if (p->phase != FMD_P_OPEN) return; /* draining: the session takes no more */
  /* Reading never pauses, even with the write queue full: what a read
   * makes the session say (ACKs, PONGs) is bounded by the peer's own
   * window, while pausing both ends at once with full socket buffers would
   * deadlock them. */
  p->d->in_recv = p;
  fm_session_recv(p->session, p->rbuf, (size_t)n, fmd_mono()); /* failures show in its state */
  p->d->in_recv = NULL;
  fmd_peer_service(p);
  fmd_node_kick(p->d);
}

static int start_session(fmd_peer *p, fm_time now) {
  const fmd_config *c = p->d->cfg;
  fm_session_cfg cfg;
  /* Deferred ingest (fm_node_session_cfg): the session's timer, due at
   * once, flushes after the loop has read every socket that was ready, so
   * there is one durable commit per burst. */
  fm_node_session_cfg(&p->d->node, p->initiator, &cfg);
  cfg.rng.fill = rng_fill;
  cfg.window = (size_t)c->window_kib * 1024;
  cfg.ping_every = (fm_time)c->ping_seconds * 1000;
  cfg.ping_max = (fm_time)c->ping_max_seconds * 1000;
  cfg.idle_timeout = (fm_time)c->idle_timeout_seconds * 1000;
  cfg.compress = c->compress;
  return fm_session_new(&cfg, now, &p->session);
}

/* While the session's pings back off on an idle link, the kernel notices a
 * peer that is gone (machine off, link cut) within the idle timeout, with
 * keepalive probes that carry no session bytes: the first after half the
 * timeout without traffic, then 5 a tenth apart; unacknowledged data
 * fails after the timeout too.  Best effort: without them a gone peer is
 * noticed at the next ping. */
static void keepalive(fmd_peer *p) {
  uv_os_fd_t fd;
  int idle = (int)p->d->cfg->idle_timeout_seconds, on = 1, cnt = 5;
  int first = idle / 2 > 0 ? idle / 2 : 1, intvl = idle / 10 > 0 ? idle / 10 : 1;
  unsigned user_ms = (unsigned)idle * 1000;
  if (uv_fileno((uv_handle_t *)&p->tcp, &fd) < 0) return;
  (void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
  (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &first, sizeof first);
  (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
  (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
  (void)setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_ms, sizeof user_ms);
}

/* The dialler's local port, which the other end sees as our remote port:
 * both ends name the connection alike (to settle duplicates). */
static uint16_t dialler_port(fmd_peer *p) {
  struct sockaddr_storage ss;
  int len = sizeof ss;
  int rv = p->initiator ? uv_tcp_getsockname(&p->tcp, (struct sockaddr *)&ss, &len)
                        : uv_tcp_getpeername(&p->tcp, (struct sockaddr *)&ss, &len);
  if (rv < 0) return 0;
  if (ss.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&ss)->sin_port);
  if (ss.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
  return 0;
}

void fmd_peer_open(fmd_peer *p) {
  fm_time now = fmd_mono();
  int rv;
  uv_timer_stop(&p->timer);
  p->since = fmd_now();
  uv_tcp_nodelay(&p->tcp, 1);
  keepalive(p);
  p->tie_port = dialler_port(p);
  if ((rv = start_session(p, now)) < 0) {
    snprintf(p->why, sizeof p->why, "cannot start a session: %s", fm_strerror(rv));
    p->failed = 1;
    finish(p);
    return;
  }
  if ((rv = uv_read_start((uv_stream_t *)&p->tcp, on_alloc, on_read)) < 0) {
    broken(p, "cannot read", rv);
    return;
  }
  p->phase = FMD_P_OPEN;
  /* Nothing moved yet: the first rates count from here. */
  p->rate[0] = (fmd_rate_sample){now, 0, 0};
  p->rate_n = 1;
  p->rate_head = 1;
  fmd_peer_service(p);
}

static void on_connect(uv_connect_t *req, int status) {
  fmd_peer *p = req->data;
  if (status == UV_ECANCELED || p->phase != FMD_P_CONNECTING) return;
  if (status < 0) {
    broken(p, "cannot connect", status);
    return;
  }
  fmd_peer_open(p);
}

int fmd_peer_dial(fmd_node *d, fmd_addr *a, const struct sockaddr *sa) {
  fmd_peer *p = peer_new(d, a, 1);
  int rv;
  if (!p) return -ENOMEM;
  a->conn = p;
  p->connect.data = p;
  uv_timer_start(&p->timer, on_timer, FMD_CONNECT_TIMEOUT_MS, 0);
  if ((rv = uv_tcp_connect(&p->connect, &p->tcp, sa, on_connect)) < 0)
    broken(p, "cannot connect", rv);
  return 0;
}

int fmd_peer_accept(fmd_node *d, uv_stream_t *server, fmd_peer **out) {
  struct sockaddr_storage ss;
  int len = sizeof ss, rv;
  fmd_peer *p = peer_new(d, NULL, 0);
  if (!p) return -ENOMEM;
  if ((rv = uv_accept(server, (uv_stream_t *)&p->tcp)) < 0 ||
      (rv = uv_tcp_getpeername(&p->tcp, (struct sockaddr *)&ss, &len)) < 0) {
    snprintf(p->why, sizeof p->why, "cannot accept: %s", uv_strerror(rv));
    finish(p);
    return rv;
  }
  fmd_hostport_format((struct sockaddr *)&ss, p->remote, sizeof p->remote);
  p->caller = ss;
  *out = p;
  return 0;
}

/* ---- reporting ------------------------------------------------------------------------ */

void fmd_peer_sample(fmd_peer *p, fm_time now) {
  fm_session_stats st;
  if (p->phase != FMD_P_OPEN) return;
  fm_session_get_stats(p->session, &st);
  p->rate[p->rate_head] = (fmd_rate_sample){now, st.bytes_in, st.bytes_out};
  p->rate_head = (p->rate_head + 1) % FMD_RATE_SAMPLES;
  if (p->rate_n < FMD_RATE_SAMPLES) p->rate_n++;
}

static const char *state_word(const fmd_peer *p, const fm_session_stats *st) {
  if (p->phase == FMD_P_CONNECTING) return "connecting";
  if (p->phase != FMD_P_OPEN) return "closing";
  switch (st->state) {
  case FM_SS_HANDSHAKE:
  case FM_SS_HELLO: return "handshake";
  case FM_SS_SYNC: return st->stalled ? "stalled" : "syncing";
  case FM_SS_LIVE: return "live";
  default: return "closing";
  }
}

void fmd_peer_report(const fmd_peer *p, fm_time now, fm_control_peer *out) {
  fm_session_stats st;
  fmd_peer_stats(p, &st);
  snprintf(out->state, sizeof out->state, "%s", state_word(p, &st));
  out->since = p->phase == FMD_P_CONNECTING ? 0 : p->since;
  if (st.admitted) {
    out->has_id = 1;
    memcpy(out->id, st.peer_id, FM_KEY_LEN);
    snprintf(out->name, sizeof out->name, "%s", st.peer.name);
    snprintf(out->team, sizeof out->team, "%s", st.peer.team);
  }
  out->bytes_in = st.bytes_in;
  out->bytes_out = st.bytes_out;
  out->entries_in = st.entries_in;
  out->entries_out = st.entries_out;
  out->to_send = st.to_send;
  out->to_recv = st.to_recv;
  out->to_send_bytes = st.to_send_bytes;
  out->to_recv_bytes = st.to_recv_bytes;
  fm_time caught_up = fmd_wall_of(st.caught_up_at);
  if (caught_up > out->caught_up_at) out->caught_up_at = caught_up;
  out->chunks_in = st.chunks_in;
  out->chunks_out = st.chunks_out;
  out->chunks_bad = st.chunks_bad;
  out->refused = st.refused_out;
  if (st.refused_out) {
    char who[9];
    fm_hex(st.last_refused.author, 4, who);
    snprintf(out->last_refused, sizeof out->last_refused, "seq %llu-%llu of %s: %s",
             (unsigned long long)st.last_refused.from, (unsigned long long)st.last_refused.to,
             who, fm_strerror((int)st.last_refused.code));
  }
  if (p->rate_n > 0) {
    /* The oldest sample in the ring against the counters now. */
    int oldest = p->rate_n < FMD_RATE_SAMPLES ? 0 : p->rate_head;
    const fmd_rate_sample *o = &p->rate[oldest];
    if (now - o->t >= 500) {
      out->rate_in = (st.bytes_in - o->in) * 1000 / (uint64_t)(now - o->t);
      out->rate_out = (st.bytes_out - o->out) * 1000 / (uint64_t)(now - o->t);
    }
  }
}
