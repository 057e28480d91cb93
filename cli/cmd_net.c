/* peers, sync, the daemon part of status, and the poke after writes: the
 * client side of the control socket (include/fieldmesh/control.h). */
#include "cmd_net.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "fieldmesh/control.h"
#include "fieldmesh/error.h"

#define NET_ABSENT 1              /* no daemon answers: not an error for poke/status */
#define TIMEOUT_MS 5000           /* status, peers */
#define SYNC_TIMEOUT_MS 45000     /* the daemon's connect (10 s) and handshake (20 s) */
#define POKE_TIMEOUT_MS 2000
#define RETRY_MS 3000             /* turned away by a daemon busy with other clients */
#define NET_BUSY 2                /* dial: the daemon's queue of connections is full */

/* ---- one request, one response ------------------------------------------------ */

static fm_time wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (fm_time)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int dial(const char *state, int *fd_out, char *err, size_t cap) {
  struct sockaddr_un sun;
  int n, fd;
  memset(&sun, 0, sizeof sun);
  sun.sun_family = AF_UNIX;
  n = snprintf(sun.sun_path, sizeof sun.sun_path, "%s/%s", state, FM_CONTROL_SOCKET);
  if (n < 0 || (size_t)n >= sizeof sun.sun_path) {
    snprintf(err, cap, "the state folder path is too long for the control socket");
    return -1;
  }
  if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
    snprintf(err, cap, "cannot make a socket: %s", strerror(errno));
    return -1;
  }
  if (connect(fd, (struct sockaddr *)&sun, sizeof sun) != 0) {
    int e = errno;
    close(fd);
    if (e == ENOENT || e == ECONNREFUSED) {
      snprintf(err, cap, "daemon not running");
      return NET_ABSENT;
    }
    if (e == EAGAIN) {
      snprintf(err, cap, "the daemon is busy answering other commands: try again in a moment");
      return NET_BUSY;
    }
    snprintf(err, cap, "cannot reach the daemon at %s: %s", sun.sun_path, strerror(e));
    return -1;
  }
  *fd_out = fd;
  return 0;
}

/* Reads exactly |n| bytes before |deadline|. */
static int read_full(int fd, uint8_t *p, size_t n, fm_time deadline) {
  while (n > 0) {
    struct pollfd pf = {fd, POLLIN, 0};
    fm_time left = deadline - wall_ms();
    if (left <= 0) return -ETIMEDOUT;
    int rv = poll(&pf, 1, (int)left);
    if (rv < 0 && errno == EINTR) continue;
    if (rv <= 0) return rv < 0 ? -errno : -ETIMEDOUT;
    ssize_t got = read(fd, p, n);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return got < 0 ? -errno : -ECONNRESET;
    p += got;
    n -= (size_t)got;
  }
  return 0;
}

static int send_all(int fd, const uint8_t *p, size_t n) {
  while (n > 0) {
    ssize_t put = send(fd, p, n, MSG_NOSIGNAL);
    if (put < 0 && errno == EINTR) continue;
    if (put <= 0) return -errno;
    p += put;
    n -= (size_t)put;
  }
  return 0;
}

static int exchange(int fd, const fm_control_req *req, int timeout_ms, fm_control_resp *out,
                    char *err, size_t cap) {
  uint8_t hdr[FM_CONTROL_HDR], *body = NULL;
  size_t blen = 0;
  fm_buf wb;
  fm_time deadline = wall_ms() + timeout_ms;
  int rv;
  fm_buf_init(&wb, FM_CONTROL_HDR + FM_CONTROL_FRAME_MAX);
  rv = fm_control_write_request(&wb, req);
  if (rv == 0) rv = send_all(fd, wb.p, wb.len);
  fm_buf_free(&wb);
  if (rv == 0) rv = read_full(fd, hdr, sizeof hdr, deadline);
  if (rv == 0) {
    blen = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | hdr[3];
    if (blen == 0 || blen > FM_CONTROL_FRAME_MAX) rv = FM_ERR_FRAME;
    else if (!(body = malloc(blen))) rv = -ENOMEM;
  }
  if (rv == 0) rv = read_full(fd, body, blen, deadline);
  if (rv == 0) rv = fm_control_parse_response(body, blen, out);
  free(body);
  if (rv == -ETIMEDOUT)
    snprintf(err, cap, "the daemon did not answer within %d s", timeout_ms / 1000);
  else if (rv == -ECONNRESET || rv == -EPIPE)
    snprintf(err, cap, "the daemon is busy answering other commands: try again in a moment");
  else if (rv < 0)
    snprintf(err, cap, "the daemon's answer is unreadable (%s)", fm_strerror(rv));
  return rv;
}

/* 0 with |*out| (the caller frees it), NET_ABSENT, or -1; |err| says why.
 * A daemon with every control slot taken turns a newcomer away (it closes
 * the connection before reading, or the connection queue is full): that
 * is retried for up to |retry_ms|.  Every request is safe to send twice
 * (status, peers and poke change nothing; sync and stop again are no-ops). */
static int ctl_call(const char *state, const fm_control_req *req, int timeout_ms,
                    int retry_ms, fm_control_resp *out, char *err, size_t cap) {
  fm_time give_up = wall_ms() + retry_ms;
  int pause_ms = 50;
  for (;;) {
    int fd = -1;
    int rv = dial(state, &fd, err, cap);
    if (rv == 0) {
      rv = exchange(fd, req, timeout_ms, out, err, cap);
      close(fd);
      if (rv == 0) return 0;
      if (rv != -ECONNRESET && rv != -EPIPE) return -1;
    } else if (rv != NET_BUSY) {
      return rv;
    }
    if (wall_ms() + pause_ms > give_up) return -1;
    struct timespec ts = {0, (long)pause_ms * 1000000L};
    nanosleep(&ts, NULL);
    if (pause_ms < 400) pause_ms *= 2;
  }
}

int fmc_net_peer_list(fmc_ctx *c, fm_control_resp *out) {
  fm_control_req req;
  char err[256];
  memset(&req, 0, sizeof req);
  req.cmd = FM_CTL_PEERS;
  int rv = ctl_call(c->state, &req, 2000, RETRY_MS, out, err, sizeof err);
  if (rv == 0 && !out->ok) {
    fm_control_resp_free(out);
    return -1;
  }
  return rv == 0 ? 0 : rv == NET_ABSENT ? 1 : -1;
}

static int not_running(fmc_ctx *c) {
  return fmc_fail(c, "the daemon is not running (no answer on %s/%s): start it with "
                     "`fieldmeshd --state %s`", c->state, FM_CONTROL_SOCKET, c->state);
}

/* ---- formatting ------------------------------------------------------------------- */

static const char *ago(fm_time t, fm_time now, char *buf, size_t cap) {
  long long s = t > 0 && now > t ? (now - t) / 1000 : 0;
  if (t <= 0) snprintf(buf, cap, "never");
  else if (s < 120) snprintf(buf, cap, "%lld s ago", s);
  else if (s < 7200) snprintf(buf, cap, "%lld min ago", s / 60);
  else if (s < 172800) snprintf(buf, cap, "%lld h ago", s / 3600);
  else snprintf(buf, cap, "%lld days ago", s / 86400);
  return buf;
}

static const char *bytes(uint64_t n, char *buf, size_t cap) {
  if (n < 1024) snprintf(buf, cap, "%llu B", (unsigned long long)n);
  else if (n < 1024 * 1024) snprintf(buf, cap, "%.1f KiB", (double)n / 1024);
  else snprintf(buf, cap, "%.1f MiB", (double)n / (1024 * 1024));
  return buf;
}

static void json_time(fmc_json *j, const char *key, fm_time t) {
  fmc_json_key(j, key);
  if (t > 0) fmc_json_uint(j, (uint64_t)t);
  else fmc_json_null(j);
}

static void peer_json(fmc_json *j, const fm_control_peer *p) {
  const struct { const char *k; uint64_t v; } nums[] = {
      {"bytes_in", p->bytes_in},         {"bytes_out", p->bytes_out},
      {"entries_in", p->entries_in},     {"entries_out", p->entries_out},
      {"to_send", p->to_send},           {"to_recv", p->to_recv},
      {"to_send_bytes", p->to_send_bytes}, {"to_recv_bytes", p->to_recv_bytes},
      {"rate_in", p->rate_in},           {"rate_out", p->rate_out},
      {"failures", p->failures},         {"refused", p->refused},
      {"chunks_in", p->chunks_in},       {"chunks_out", p->chunks_out},
      {"chunks_bad", p->chunks_bad},
  };
  fmc_json_obj(j);
  fmc_json_key(j, "addr");
  fmc_json_str(j, p->addr);
  fmc_json_key(j, "origin");
  fmc_json_str(j, p->origin);
  fmc_json_key(j, "device_id");
  if (p->has_id) fmc_json_hex(j, p->id, FM_KEY_LEN);
  else fmc_json_null(j);
  fmc_json_key(j, "name");
  fmc_json_str(j, p->name);
  fmc_json_key(j, "team");
  fmc_json_str(j, p->team);
  fmc_json_key(j, "state");
  fmc_json_str(j, p->state);
  json_time(j, "since", p->since);
  json_time(j, "last_connected", p->last_connected);
  for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
    fmc_json_key(j, nums[i].k);
    fmc_json_uint(j, nums[i].v);
  }
  json_time(j, "caught_up_at", p->caught_up_at);
  fmc_json_key(j, "last_error");
  fmc_json_str(j, p->last_error);
  fmc_json_key(j, "last_refused");
  fmc_json_str(j, p->last_refused);
  json_time(j, "next_attempt", p->next_attempt);
  fmc_json_obj_end(j);
}

/* One table row; rates and progress only while there is something to move. */
static void peer_row(fmc_table *t, const fm_control_peer *p, fm_time now) {
  char who[2 * FM_NAME_MAX + 8] = "-", since[32] = "-", last[32], rin[24], rout[24];
  char rate[64] = "-", todo[48] = "-", state[64], bin[24], bout[24], traffic[64];
  char error[FM_CONTROL_TEXT_MAX + FM_CONTROL_REFUSAL_MAX + 16];
  if (p->has_id) snprintf(who, sizeof who, "%s (%s)", p->name, p->team);
  if (p->since) ago(p->since, now, since, sizeof since);
  if (p->to_send || p->to_recv)
    snprintf(todo, sizeof todo, "%llu / %llu", (unsigned long long)p->to_send,
             (unsigned long long)p->to_recv);
  if (p->rate_in >= 1024 || p->rate_out >= 1024 || p->to_send || p->to_recv)
    snprintf(rate, sizeof rate, "%s/s / %s/s", bytes(p->rate_in, rin, sizeof rin),
             bytes(p->rate_out, rout, sizeof rout));
  if (p->next_attempt && (!strcmp(p->state, "waiting") || !strcmp(p->state, "ignored"))) {
    long long s = (p->next_attempt - now + 999) / 1000;
    snprintf(state, sizeof state, "%s (%lld s)", p->state, s > 0 ? s : 0);
  } else {
    snprintf(state, sizeof state, "%s", p->state);
  }
  snprintf(traffic, sizeof traffic, "%s / %s", bytes(p->bytes_in, bin, sizeof bin),
           bytes(p->bytes_out, bout, sizeof bout));
  /* What it would not store says why entries stay "only here". */
  int n = snprintf(error, sizeof error, "%s%s%s%s", p->last_error,
                   p->last_error[0] && p->last_refused[0] ? "; " : "",
                   p->last_refused[0] ? "refused " : "", p->last_refused);
  if (p->chunks_bad && n >= 0 && (size_t)n < sizeof error)
    snprintf(error + n, sizeof error - (size_t)n, "%s%llu bad chunk%s", n ? "; " : "",
             (unsigned long long)p->chunks_bad, p->chunks_bad == 1 ? "" : "s");
  fmc_table_rowf(t, "%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%llu / %llu\x1f%s\x1f%s\x1f%s\x1f%s\x1f%llu\x1f%s",
                 p->addr, p->origin, who, state, since, (unsigned long long)p->entries_in,
                 (unsigned long long)p->entries_out, traffic, todo, rate,
                 ago(p->caught_up_at, now, last, sizeof last),
                 (unsigned long long)p->failures, error[0] ? error : "-");
}

/* ---- commands ------------------------------------------------------------------------ */

int fmc_net_peers(fmc_ctx *c, int argc, char **argv) {
  fmc_spec spec = {"usage: fieldmesh peers [--json]\n"
                   "The laptops the daemon knows: how each was found (static, incoming,\n"
                   "manual, beacon), its state, entries in / out, still to send / to receive,\n"
                   "transfer rates, the last completed exchange, the last error and the\n"
                   "entries it refused to store (they do not count as copies there).\n"
                   "A caller whose connections keep breaking the protocol (a broken build,\n"
                   "a program sending garbage) is listed as \"ignored\" while the daemon\n"
                   "ignores it.\n",
                   NULL, 0, 0, {0}, 0};
  fm_control_req req = {FM_CTL_PEERS, ""};
  fm_control_resp r;
  char err[256];
  int rv;
  if ((rv = fmc_args_parse(c, &spec, argc, argv)) != 0) return rv;
  if ((rv = fmc_state(c, 0)) != 0) return rv;
  if ((rv = ctl_call(c->state, &req, TIMEOUT_MS, RETRY_MS, &r, err, sizeof err)) == NET_ABSENT)
    return not_running(c);
  if (rv < 0) return fmc_fail(c, "%s", err);
  if (!r.ok) {
    fm_control_resp_free(&r);
    return fmc_fail(c, "the daemon refused: %s", r.error);
  }
  fm_time now = wall_ms();
  if (c->json) {
    fmc_json j;
    fmc_json_init(&j, stdout);
    fmc_json_obj(&j);
    fmc_json_key(&j, "peers");
    fmc_json_arr(&j);
    for (size_t i = 0; i < r.npeers; i++) peer_json(&j, &r.peers[i]);
    fmc_json_arr_end(&j);
    fmc_json_key(&j, "omitted");
    fmc_json_uint(&j, r.omitted);
    fmc_json_obj_end(&j);
    fmc_json_end(&j);
  } else if (r.npeers == 0) {
    printf("no peers yet: add [peers] peer = HOST:PORT to fieldmeshd.conf, or run "
           "`fieldmesh sync HOST:PORT`\n");
  } else {
    fmc_table t;
    fmc_table_init(&t, "ADDRESS|FOUND|DEVICE|STATE|CONNECTED|#ENTRIES IN / OUT|#BYTES IN / OUT|"
                       "#TO SEND / RECV|RATE IN / OUT|LAST EXCHANGE|#FAILS|LAST ERROR");
    for (size_t i = 0; i < r.npeers; i++) peer_row(&t, &r.peers[i], now);
    fmc_table_print(&t, stdout);
    fmc_table_free(&t);
    if (r.omitted)
      printf("(%llu more addresses not shown: callers that came and went)\n",
             (unsigned long long)r.omitted);
  }
  fm_control_resp_free(&r);
  return 0;
}

/* The daemon checks the address too; this catches what is plainly not one. */
static int check_addr(fmc_ctx *c, const char *a) {
  size_t n = strlen(a);
  int ok = n > 0 && n < FM_CONTROL_ADDR_MAX && strchr(a, ':') && a[n - 1] != ':';
  for (size_t i = 0; ok && i < n; i++) ok = a[i] > 0x20 && a[i] < 0x7f;
  if (!ok)
    return fmc_usage(c, "HOST:PORT \"%.60s\" is not an address: give the other laptop's "
                        "address and port, e.g. 192.168.1.20:7411", a);
  return 0;
}

int fmc_net_sync(fmc_ctx *c, int argc, char **argv) {
  fmc_spec spec = {"usage: fieldmesh sync HOST:PORT [--json]\n"
                   "Asks the daemon to connect now to another laptop (e.g. on the same\n"
                   "Wi-Fi or hotspot) and returns once it is connected; the exchange goes\n"
                   "on in the background (see `fieldmesh peers`).\n",
                   NULL, 1, 1, {0}, 0};
  fm_control_req req;
  fm_control_resp r;
  char err[256], since[32];
  int rv;
  if ((rv = fmc_args_parse(c, &spec, argc, argv)) != 0) return rv;
  if ((rv = check_addr(c, spec.pos[0])) != 0) return rv;
  if ((rv = fmc_state(c, 0)) != 0) return rv;
  memset(&req, 0, sizeof req);
  req.cmd = FM_CTL_SYNC;
  snprintf(req.addr, sizeof req.addr, "%s", spec.pos[0]);
  if ((rv = ctl_call(c->state, &req, SYNC_TIMEOUT_MS, RETRY_MS, &r, err, sizeof err)) == NET_ABSENT)
    return not_running(c);
  if (rv < 0) return fmc_fail(c, "%s", err);
  if (!r.ok || !r.has_peer) {
    rv = fmc_fail(c, "%s", r.error[0] ? r.error : "the daemon gave no answer");
  } else if (c->json) {
    fmc_json j;
    fmc_json_init(&j, stdout);
    peer_json(&j, &r.peer);
    fmc_json_end(&j);
  } else {
    printf("connected to %s (%s) at %s (since %s): syncing in the background; see "
           "`fieldmesh peers`\n", r.peer.name, r.peer.team, r.peer.addr,
           ago(r.peer.since, wall_ms(), since, sizeof since));
  }
  fm_control_resp_free(&r);
  return rv;
}

/* ---- status and poke -------------------------------------------------------------------- */

static void status_json(fmc_json *j, int rv, const fm_control_resp *r, const char *err) {
  fmc_json_key(j, "daemon");
  fmc_json_obj(j);
  fmc_json_key(j, "running");
  fmc_json_bool(j, rv == 0 && r->ok && r->has_status);
  if (rv != 0 || !r->ok || !r->has_status) {
    fmc_json_key(j, "error");
    fmc_json_str(j, rv != 0 ? err : r->error);
    fmc_json_obj_end(j);
    return;
  }
  const fm_control_status *s = &r->status;
  fmc_json_key(j, "listen");
  fmc_json_str(j, s->listen);
  const struct { const char *k; uint64_t v; } nums[] = {
      {"pid", s->pid},         {"connected", s->connected}, {"known", s->known},
      {"own_seq", s->own_seq},         {"only_here", s->only_here},
      {"copies_one", s->copies_one},   {"copies_more", s->copies_more},
      {"receipted", s->receipted},     {"unsafe", s->unsafe},
      {"safe_copies", s->safe_copies}, {"ingested", s->ingested},
  };
  for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
    fmc_json_key(j, nums[i].k);
    fmc_json_uint(j, nums[i].v);
  }
  fmc_json_key(j, "safe_to_leave");
  fmc_json_bool(j, s->safe != 0);
  json_time(j, "started", s->started);
  fmc_json_obj_end(j);
}

void fmc_net_status(fmc_ctx *c, fmc_json *j) {
  fm_control_req req = {FM_CTL_STATUS, ""};
  fm_control_resp r;
  char err[256];
  memset(&r, 0, sizeof r);
  int rv = ctl_call(c->state, &req, TIMEOUT_MS, RETRY_MS, &r, err, sizeof err);
  if (j) {
    status_json(j, rv, &r, err);
  } else if (rv == NET_ABSENT) {
    printf("%-12s not running (start it with `fieldmeshd --state %s`)\n", "daemon", c->state);
  } else if (rv != 0 || !r.ok || !r.has_status) {
    printf("%-12s %s\n", "daemon", rv != 0 ? err : r.error);
  } else {
    const fm_control_status *s = &r.status;
    printf("%-12s running (pid %llu), listening on %s, %llu peer%s connected; %llu own "
           "entr%s on this laptop only, %s\n", "daemon", (unsigned long long)s->pid,
           s->listen[0] ? s->listen : "nothing", (unsigned long long)s->connected,
           s->connected == 1 ? "" : "s", (unsigned long long)s->only_here,
           s->only_here == 1 ? "y" : "ies",
           s->safe ? "safe to leave the village" : "NOT safe to leave the village");
  }
  if (rv == 0) fm_control_resp_free(&r);
}

void fmc_net_poke(const char *state_dir) {
  fm_control_req req = {FM_CTL_POKE, ""};
  fm_control_resp r;
  char err[256];
  /* Not retried: the daemon looks at the store every 2 s anyway. */
  if (ctl_call(state_dir, &req, POKE_TIMEOUT_MS, 0, &r, err, sizeof err) == 0)
    fm_control_resp_free(&r);
}
