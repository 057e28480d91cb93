#include "ctl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fieldmesh/error.h"
#include "node.h"

/* One reply being written; the bytes live until the callback. */
typedef struct creq {
  uv_write_t req;
  fmd_ctl_client *c;
  uint8_t *bytes;
} creq;

static void process(fmd_ctl_client *c);

/* ---- the socket file ----------------------------------------------------------- */

/* Whether a daemon answers on |path|: 1 yes, 0 no (absent, or a stale file
 * left by a crash), -errno when the path is something else. */
static int someone_answers(const char *path) {
  struct sockaddr_un sun;
  struct stat st;
  int fd, rv;
  if (lstat(path, &st) != 0) return errno == ENOENT ? 0 : -errno;
  if (!S_ISSOCK(st.st_mode)) return -ENOTSOCK;
  memset(&sun, 0, sizeof sun);
  sun.sun_family = AF_UNIX;
  memcpy(sun.sun_path, path, strlen(path) + 1);
  if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) return -errno;
  rv = connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0;
  close(fd);
  return rv;
}

static void on_client(uv_stream_t *server, int status);

int fmd_ctl_start(fmd_ctl *ctl, fmd_node *d, uv_loop_t *loop, const char *path,
                  char *err, size_t cap) {
  int rv;
  memset(ctl, 0, sizeof *ctl);
  ctl->d = d;
  if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
    snprintf(err, cap, "the control socket path %s is too long for a Unix socket (at most "
             "107 bytes): use a shorter --state path", path);
    return -ENAMETOOLONG;
  }
  snprintf(ctl->path, sizeof ctl->path, "%s", path);
  if ((rv = someone_answers(path)) == 1) {
    snprintf(err, cap, "another fieldmeshd is running on this state folder (it answers "
             "on %s): stop it first", path);
    return -EADDRINUSE;
  }
  if (rv < 0) {
    snprintf(err, cap, "%s is in the way of the control socket (%s): move it aside",
             path, strerror(-rv));
    return rv;
  }
  unlink(path); /* a stale socket from a crash */
  FM_ASSERT(uv_pipe_init(loop, &ctl->server, 0) == 0);
  ctl->open = 1;
  ctl->server.data = ctl;
  if ((rv = uv_pipe_bind(&ctl->server, path)) < 0) {
    snprintf(err, cap, "cannot create the control socket %s: %s", path, uv_strerror(rv));
    return rv;
  }
  ctl->bound = 1;
  /* The daemon runs with umask 077; say it again here in case it did not. */
  if (chmod(path, 0600) != 0) {
    rv = -errno;
    snprintf(err, cap, "cannot make %s private (chmod 600): %s", path, strerror(errno));
    return rv;
  }
  if ((rv = uv_listen((uv_stream_t *)&ctl->server, 16, on_client)) < 0) {
    snprintf(err, cap, "cannot listen on the control socket %s: %s", path, uv_strerror(rv));
    return rv;
  }
  return 0;
}

void fmd_ctl_stop_listening(fmd_ctl *ctl) {
  if (ctl->open) uv_close((uv_handle_t *)&ctl->server, NULL);
  ctl->open = 0;
  if (ctl->bound) unlink(ctl->path);
  ctl->bound = 0;
}

/* ---- clients ---------------------------------------------------------------------- */

/* Both handles of a client (pipe, idle timer) point to it; the last close
 * frees it. */
static void on_client_close(uv_handle_t *h) {
  fmd_ctl_client *c = h->data;
  if (--c->handles == 0) free(c);
}

static void close_client(fmd_ctl_client *c) {
  fmd_ctl *ctl = c->ctl;
  if (c->closing) return;
  c->closing = 1;
  for (fmd_ctl_client **pp = &ctl->clients; *pp; pp = &(*pp)->next) {
    if (*pp == c) {
      *pp = c->next;
      ctl->nclients--;
      break;
    }
  }
  uv_close((uv_handle_t *)&c->pipe, on_client_close);
  uv_close((uv_handle_t *)&c->idle, on_client_close);
}

static void on_idle(uv_timer_t *t);

/* The client did something: it has FMD_CTL_IDLE_MS again before the next
 * request. */
static void touch(fmd_ctl_client *c) {
  c->last_active = uv_now(c->idle.loop);
  uv_timer_start(&c->idle, on_idle, FMD_CTL_IDLE_MS, 0);
}

static void on_idle(uv_timer_t *t) {
  fmd_ctl_client *c = t->data;
  /* Being answered, or waiting on a sync: not idle, whatever the time. */
  if (c->busy) {
    touch(c);
    return;
  }
  fmd_logf(&c->ctl->d->log, FMD_DEBUG, "control: closed a client silent for %d s",
           FMD_CTL_IDLE_MS / 1000);
  close_client(c);
}

void fmd_ctl_close_clients(fmd_ctl *ctl) {
  while (ctl->clients) close_client(ctl->clients);
}

static void on_written(uv_write_t *req, int status) {
  creq *w = (creq *)req;
  fmd_ctl_client *c = w->c;
  free(w->bytes);
  free(w);
  if (c->closing) return;
  if (status < 0 || c->close_after) {
    close_client(c);
    return;
  }
  c->busy = 0;
  touch(c);
  process(c);
}

/* Sends the frame in |b| (or, when building it failed with |rv|, an error
 * saying so); the client stays busy until it is written. */
static void reply(fmd_ctl_client *c, fm_buf *b, int rv) {
  creq *w;
  size_t len;
  if (rv < 0) {
    fm_buf_reset(b);
    fm_control_write_error(b, "the reply does not fit in one frame");
  }
  if (fm_buf_error(b) < 0 || !(w = malloc(sizeof *w))) {
    fm_buf_free(b);
    close_client(c);
    return;
  }
  w->c = c;
  w->bytes = fm_buf_take(b, &len);
  c->busy = 1;
  uv_buf_t ub = uv_buf_init((char *)w->bytes, (unsigned)len);
  if (uv_write(&w->req, (uv_stream_t *)&c->pipe, &ub, 1, on_written) < 0) {
    free(w->bytes);
    free(w);
    close_client(c);
  }
}

static void reply_error(fmd_ctl_client *c, const char *msg) {
  fm_buf b;
  fm_buf_init(&b, FM_CONTROL_HDR + FM_CONTROL_FRAME_MAX);
  reply(c, &b, fm_control_write_error(&b, msg));
}

static void reply_ok(fmd_ctl_client *c, const fm_control_peer *peer) {
  fm_buf b;
  fm_buf_init(&b, FM_CONTROL_HDR + FM_CONTROL_FRAME_MAX);
  reply(c, &b, fm_control_write_ok(&b, peer));
}

void fmd_ctl_sync_done(fmd_ctl *ctl, const fmd_addr *a, const fm_control_peer *peer,
                       const char *error) {
  char msg[FM_CONTROL_TEXT_MAX * 2];
  for (fmd_ctl_client *c = ctl->clients, *next; c; c = next) {
    next = c->next;
    if (c->waiting != a) continue;
    c->waiting = NULL;
    if (peer) {
      reply_ok(c, peer);
    } else {
      snprintf(msg, sizeof msg, "cannot sync with %s: %s", a->text, error);
      reply_error(c, msg);
    }
  }
}

/* ---- requests ------------------------------------------------------------------------ */

static void do_sync(fmd_ctl_client *c, const char *text) {
  fmd_node *d = c->ctl->d;
  char err[FM_CONTROL_TEXT_MAX * 2];
  fm_control_peer r;
  fmd_addr *a;
  fmd_peer *q;
  if (fmd_node_sync(d, text, &a, err, sizeof err) < 0) {
    reply_error(c, err);
    return;
  }
  if ((q = fmd_node_connected_to(d, a)) != NULL) {
    fmd_node_report(d, q->addr ? q->addr : a, &r);
    reply_ok(c, &r);
    return;
  }
  /* Answered by fmd_ctl_sync_done() once the dial is decided, which may be
   * at once (an address that does not resolve). */
  c->waiting = a;
  c->busy = 1;
  fmd_addr_dial(a);
}

static void do_peers(fmd_ctl_client *c) {
  fm_control_peer *all = calloc(FM_CONTROL_PEERS_MAX, sizeof *all);
  fm_buf b;
  if (!all) {
    reply_error(c, "out of memory");
    return;
  }
  size_t n = fmd_node_peers(c->ctl->d, all, FM_CONTROL_PEERS_MAX);
  fm_buf_init(&b, FM_CONTROL_HDR + FM_CONTROL_FRAME_MAX);
  /* |n| may exceed what |all| holds: the rest is counted as omitted. */
  reply(c, &b, fm_control_write_peers(&b, all, n));
  free(all);
}

static void handle(fmd_ctl_client *c, const uint8_t *body, size_t len) {
  fmd_node *d = c->ctl->d;
  fm_control_req req;
  fm_control_status st;
  fm_buf b;
  int rv = fm_control_parse_request(body, len, &req);
  if (rv < 0) {
    reply_error(c, rv == FM_ERR_INVAL || rv == FM_ERR_TOOBIG
                       ? "unknown command or bad address: the commands are status, peers, "
                         "poke, stop and sync (with addr HOST:PORT)"
                       : "malformed request: send one MessagePack map {cmd, addr}");
    return;
  }
  fmd_logf(&d->log, FMD_DEBUG, "control: %s%s%s", fm_control_cmd_name(req.cmd),
           req.addr[0] ? " " : "", req.addr);
  switch (req.cmd) {
  case FM_CTL_STATUS:
    fmd_node_status(d, &st);
    fm_buf_init(&b, FM_CONTROL_HDR + FM_CONTROL_FRAME_MAX);
    reply(c, &b, fm_control_write_status(&b, &st));
    return;
  case FM_CTL_PEERS: do_peers(c); return;
  case FM_CTL_SYNC: do_sync(c, req.addr); return;
  case FM_CTL_POKE:
    fmd_node_poke(d);
    reply_ok(c, NULL);
    return;
  case FM_CTL_STOP:
    reply_ok(c, NULL);
    fmd_node_stop(d, "asked over the control socket");
    return;
  }
}

/* Answers the requests that have fully arrived, one at a time. */
static void process(fmd_ctl_client *c) {
  while (!c->busy && !c->closing) {
    const uint8_t *body;
    size_t len;
    int rv = fm_control_frame(c->in, c->in_len, &body, &len);
    if (rv == 0) return;
    if (rv < 0) {
      /* The stream has lost its framing: answer, then hang up. */
      c->in_len = 0;
      c->close_after = 1;
      reply_error(c, "bad frame: a 4-byte length from 1 to 65536, then the request");
      return;
    }
    handle(c, body, len);
    if (c->closing) return;
    size_t used = FM_CONTROL_HDR + len;
    memmove(c->in, c->in + used, c->in_len - used);
    c->in_len -= used;
  }
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  fmd_ctl_client *c = h->data;
  (void)hint;
  /* Full (a client sending ahead of its replies) gives UV_ENOBUFS below. */
  *buf = uv_buf_init((char *)c->in + c->in_len, (unsigned)(sizeof c->in - c->in_len));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  fmd_ctl_client *c = s->data;
  (void)buf;
  if (n < 0) {
    close_client(c);
    return;
  }
  c->in_len += (size_t)n;
  if (n > 0) touch(c);
  process(c);
}

/* The client other than |except| that has been silent longest and is not
 * being answered, to make room for a new one; NULL when all are busy. */
static fmd_ctl_client *idlest(fmd_ctl *ctl, const fmd_ctl_client *except) {
  fmd_ctl_client *best = NULL;
  for (fmd_ctl_client *c = ctl->clients; c; c = c->next)
    if (c != except && !c->busy && !c->closing &&
        (!best || c->last_active < best->last_active))
      best = c;
  return best;
}

static void on_client(uv_stream_t *server, int status) {
  fmd_ctl *ctl = server->data;
  fmd_ctl_client *c, *old;
  if (status < 0 || !(c = calloc(1, sizeof *c))) return;
  c->ctl = ctl;
  FM_ASSERT(uv_pipe_init(server->loop, &c->pipe, 0) == 0);
  FM_ASSERT(uv_timer_init(server->loop, &c->idle) == 0);
  c->pipe.data = c;
  c->idle.data = c;
  c->handles = 2;
  if (uv_accept(server, (uv_stream_t *)&c->pipe) < 0) {
    c->closing = 1;
    uv_close((uv_handle_t *)&c->pipe, on_client_close);
    uv_close((uv_handle_t *)&c->idle, on_client_close);
    return;
  }
  c->next = ctl->clients;
  ctl->clients = c;
  ctl->nclients++;
  /* Full: the newcomer (usually the `fieldmesh` command, about to ask)
   * takes the place of the client silent longest; only when every client
   * is being answered is it turned away. */
  if (ctl->nclients > FMD_CTL_CLIENTS_MAX) {
    if ((old = idlest(ctl, c)) != NULL) {
      fmd_logf(&ctl->d->log, FMD_DEBUG, "control: %d clients, closed the one silent longest",
               FMD_CTL_CLIENTS_MAX);
      close_client(old);
    } else {
      close_client(c);
      return;
    }
  }
  touch(c);
  if (uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read) < 0) close_client(c);
}
