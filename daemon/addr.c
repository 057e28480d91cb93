#include "addr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fieldmesh/error.h"
#include "mesh.h"
#include "node.h"

static const char *const ORIGINS[] = {"static", "incoming", "manual", "beacon"};

const char *fmd_origin_name(fmd_origin o) {
  return o >= FMD_STATIC && o <= FMD_BEACON ? ORIGINS[o] : "?";
}

uint64_t fmd_backoff_ms(uint32_t min, uint32_t max, uint32_t streak, uint32_t r) {
  uint64_t base = min;
  for (uint32_t i = 0; i < streak && base < max; i++) base *= 2;
  if (base > max) base = max;
  uint64_t half = base / 2;
  /* "Equal jitter": never sooner than half the step, never later than it. */
  return base - half + (half ? (uint64_t)r % (half + 1) : 0);
}

fmd_addr *fmd_addr_find(fmd_node *d, const char *text) {
  for (fmd_addr *a = d->addrs; a; a = a->next)
    if (!strcmp(a->text, text)) return a;
  return NULL;
}

static void on_addr_close(uv_handle_t *h) {
  free(h->data);
}

void fmd_addr_close(fmd_addr *a) {
  fmd_node *d = a->d;
  if (a->closing) return;
  FM_ASSERT(a->conn == NULL);
  a->closing = 1;
  for (fmd_addr **pp = &d->addrs; *pp; pp = &(*pp)->next) {
    if (*pp == a) {
      *pp = a->next;
      break;
    }
  }
  d->naddrs--;
  fmd_ctl_sync_done(&d->ctl, a, NULL, d->stopping ? "the daemon is shutting down"
                                                  : "the address was forgotten");
  uv_timer_stop(&a->retry);
  /* A resolution in flight still points at |a|: close once it returns. */
  if (a->resolving) uv_cancel((uv_req_t *)&a->gai);
  else uv_close((uv_handle_t *)&a->retry, on_addr_close);
}

/* Makes room by forgetting the oldest record nobody uses: incoming and
 * manual ones that are not connected.  Static peers are never forgotten. */
static int evict_one(fmd_node *d) {
  for (fmd_addr *a = d->addrs; a; a = a->next) {
    if (a->origin == FMD_STATIC || a->conn || a->resolving) continue;
    fmd_addr_close(a);
    return 0;
  }
  return -1;
}

int fmd_addr_new(fmd_node *d, const char *text, fmd_origin origin, fmd_addr **out,
                 char *why, size_t cap) {
  fmd_hostport hp;
  fmd_addr *a, **tail;
  if (strlen(text) >= sizeof a->text) {
    snprintf(why, cap, "the address is too long");
    return -1;
  }
  if (fmd_hostport_parse(text, &hp, why, cap) < 0) return -1;
  if (d->naddrs >= FMD_ADDRS_MAX && evict_one(d) < 0) {
    snprintf(why, cap, "already %d addresses in use", FMD_ADDRS_MAX);
    return -1;
  }
  if (!(a = calloc(1, sizeof *a))) {
    snprintf(why, cap, "out of memory");
    return -1;
  }
  a->d = d;
  snprintf(a->text, sizeof a->text, "%s", text);
  a->hp = hp;
  a->origin = origin;
  FM_ASSERT(uv_timer_init(d->loop, &a->retry) == 0);
  a->retry.data = a;
  a->gai.data = a;
  for (tail = &d->addrs; *tail; tail = &(*tail)->next) {
  }
  *tail = a;
  d->naddrs++;
  *out = a;
  return 0;
}

void fmd_addr_note_failure(fmd_addr *a, const char *reason) {
  if (!reason) return;
  a->failures++;
  a->streak++;
  snprintf(a->last_error, sizeof a->last_error, "%s", reason);
}

static void connect_to(fmd_addr *a, const struct sockaddr *sa) {
  if (fmd_peer_dial(a->d, a, sa) < 0) fmd_mesh_dial_failed(a->d, a, "out of memory");
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
  fmd_addr *a = req->data;
  char why[FM_CONTROL_TEXT_MAX];
  a->resolving = 0;
  if (a->closing) {
    uv_freeaddrinfo(res);
    uv_close((uv_handle_t *)&a->retry, on_addr_close);
    return;
  }
  if (a->d->stopping) {
    uv_freeaddrinfo(res);
    return;
  }
  if (status < 0 || !res) {
    snprintf(why, sizeof why, "cannot find %s: %s", a->hp.host, uv_strerror(status));
    fmd_mesh_dial_failed(a->d, a, why);
    return;
  }
  connect_to(a, res->ai_addr);
  uv_freeaddrinfo(res);
}

static void on_retry(uv_timer_t *t) {
  fmd_addr *a = t->data;
  a->next_attempt = 0;
  fmd_addr_dial(a);
}

void fmd_addr_dial(fmd_addr *a) {
  fmd_node *d = a->d;
  struct sockaddr_storage ss;
  struct addrinfo hints;
  char port[8], why[FM_CONTROL_TEXT_MAX];
  int rv;
  if (d->stopping || a->closing || a->conn || a->resolving || a->is_self) return;
  uv_timer_stop(&a->retry);
  a->next_attempt = 0;
  /* Connected to the same node through another address (it dialled us):
   * one connection is enough. */
  if (a->has_id && fmd_node_find_live(d, a->id, NULL)) {
    a->covered = 1;
    return;
  }
  a->covered = 0;
  a->dial_started = fmd_now();
  if (fmd_hostport_numeric(&a->hp, &ss) == 0) {
    connect_to(a, (struct sockaddr *)&ss);
    return;
  }
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  snprintf(port, sizeof port, "%u", (unsigned)a->hp.port);
  if ((rv = uv_getaddrinfo(d->loop, &a->gai, on_resolved, a->hp.host, port, &hints)) < 0) {
    snprintf(why, sizeof why, "cannot look up %s: %s", a->hp.host, uv_strerror(rv));
    fmd_mesh_dial_failed(d, a, why);
    return;
  }
  a->resolving = 1;
}

void fmd_addr_schedule(fmd_addr *a) {
  fmd_node *d = a->d;
  if (a->origin != FMD_STATIC || d->stopping || a->closing || a->conn || a->resolving ||
      a->is_self || a->covered)
    return;
  uint64_t ms = fmd_backoff_ms(d->cfg->reconnect_min_ms, d->cfg->reconnect_max_ms,
                               a->streak, randombytes_random());
  a->next_attempt = fmd_now() + (fm_time)ms;
  uv_timer_start(&a->retry, on_retry, ms, 0);
}

void fmd_addr_report(const fmd_addr *a, fm_control_peer *out) {
  memset(out, 0, sizeof *out);
  snprintf(out->addr, sizeof out->addr, "%s", a->text);
  snprintf(out->origin, sizeof out->origin, "%s", fmd_origin_name(a->origin));
  if (a->has_id) {
    out->has_id = 1;
    memcpy(out->id, a->id, FM_KEY_LEN);
    snprintf(out->name, sizeof out->name, "%s", a->name);
    snprintf(out->team, sizeof out->team, "%s", a->team);
  }
  const char *state = a->is_self ? "self"
                      : a->covered ? "duplicate"
                      : a->resolving ? "connecting"
                      : a->next_attempt ? "waiting"
                                        : "disconnected";
  snprintf(out->state, sizeof out->state, "%s", state);
  out->last_connected = a->last_connected;
  out->caught_up_at = a->caught_up_at;
  snprintf(out->last_error, sizeof out->last_error, "%s", a->last_error);
  out->failures = a->failures;
  out->next_attempt = a->next_attempt;
}
