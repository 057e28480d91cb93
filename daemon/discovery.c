#include "discovery.h"

#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "addr.h"
#include "fieldmesh/blob_store.h"
#include "fieldmesh/error.h"
#include "node.h"

static void on_beacon_timer(uv_timer_t *t);

static uint64_t interval_ms(const fmd_disc *s) {
  return (uint64_t)s->cfg->interval_seconds * 1000;
}

/* "1a2b3c4d5e6f": the first 6 bytes of a device id, as `fieldmesh` shows them. */
static const char *short_id(const uint8_t id[FM_KEY_LEN], char out[13]) {
  fm_hex(id, 6, out);
  return out;
}

/* ---- token buckets ------------------------------------------------------------ */

static void bucket_fill(fmd_disc_bucket *b, int burst, uint64_t now) {
  b->milli = (int64_t)burst * 1000;
  b->t = now;
}

/* Takes one beacon's worth, refilling |per_s| a second up to |burst|. */
static int bucket_take(fmd_disc_bucket *b, int burst, int per_s, uint64_t now) {
  if (now > b->t) {
    b->milli += (int64_t)(now - b->t) * per_s;
    if (b->milli > (int64_t)burst * 1000) b->milli = (int64_t)burst * 1000;
  }
  b->t = now;
  if (b->milli < 1000) return 0;
  b->milli -= 1000;
  return 1;
}

/* ---- our own digest ------------------------------------------------------------- */

/* Reading the heads is as cheap as reading the counts that could tell
 * whether they changed, so the digest is simply read again each time. */
static void refresh_digest(fmd_disc *s) {
  fm_vector v;
  int rv = fm_store_vector(s->d->store, &v);
  if (rv < 0) {
    if (s->digest_ok)
      fmd_logf(&s->d->log, FMD_WARN, "discovery: cannot read the store's vector: %s",
               fm_strerror(rv));
    s->digest_ok = 0;
    return;
  }
  fm_beacon_digest(&v, s->digest);
  fm_vector_free(&v);
  s->digest_ok = 1;
}

/* ---- the networks ------------------------------------------------------------------ */

/* At the quota of scans this laptop asks for no chunk: no dial for them. */
static int scans_full(fmd_node *d) {
  int full = 0;
  return fm_store_blob_full(d->store, d->node.scans_max, &full) == 0 && full;
}

static int is_link_local6(const uint8_t a[16]) { return a[0] == 0xfe && (a[1] & 0xc0) == 0x80; }

/* The addresses beacons go out from: every IPv4 address and every IPv6
 * link-local one of the interfaces that are up, loopback aside. */
static size_t read_ifaces(fmd_disc *s, fmd_disc_iface *out, size_t cap) {
  uv_interface_address_t *ia;
  int n, rv;
  size_t k = 0;
  if ((rv = uv_interface_addresses(&ia, &n)) < 0) {
    /* Polled every few seconds: said once at warn (no beacons will go
     * out), then at debug while it lasts. */
    fmd_logf(&s->d->log, rv == s->ifaces_err ? FMD_DEBUG : FMD_WARN,
             "discovery: cannot list the networks (%s): no beacons go out; a service "
             "sandbox must allow AF_NETLINK", uv_strerror(rv));
    s->ifaces_err = rv;
    return 0;
  }
  s->ifaces_err = 0;
  for (int i = 0; i < n && k < cap; i++) {
    fmd_disc_iface f;
    if (ia[i].is_internal) continue;
    memset(&f, 0, sizeof f);
    snprintf(f.name, sizeof f.name, "%s", ia[i].name);
    f.family = ia[i].address.address4.sin_family;
    if (f.family == AF_INET) {
      memcpy(f.addr, &ia[i].address.address4.sin_addr, 4);
      memcpy(f.mask, &ia[i].netmask.netmask4.sin_addr, 4);
      if (!f.addr[0] && !f.addr[1] && !f.addr[2] && !f.addr[3]) continue;
    } else if (f.family == AF_INET6) {
      memcpy(f.addr, &ia[i].address.address6.sin6_addr, 16);
      if (!is_link_local6(f.addr)) continue;
    } else {
      continue;
    }
    f.index = if_nametoindex(f.name);
    out[k++] = f;
  }
  uv_free_interface_addresses(ia, n);
  return k;
}

static const char *iface_text(const fmd_disc_iface *f, char *buf, size_t cap) {
  char ip[64] = "?";
  int bits = 0;
  uv_inet_ntop(f->family, f->addr, ip, sizeof ip);
  if (f->family == AF_INET) {
    for (int i = 0; i < 4; i++)
      for (int b = 0; b < 8; b++) bits += (f->mask[i] >> b) & 1;
    snprintf(buf, cap, "%s %s/%d", f->name, ip, bits);
  } else {
    snprintf(buf, cap, "%s %s", f->name, ip);
  }
  return buf;
}

/* Joins the multicast groups on every network (again: joining twice is
 * refused by the kernel, harmlessly).  Memberships of an interface that
 * went away go with it. */
static void join_groups(fmd_disc *s) {
  char ip[64], where[96];
  int rv;
  for (size_t i = 0; i < s->nifaces; i++) {
    const fmd_disc_iface *f = &s->ifaces[i];
    uv_inet_ntop(f->family, f->addr, ip, sizeof ip);
    if (f->family == AF_INET && s->udp4_open && s->cfg->group[0]) {
      rv = uv_udp_set_membership(&s->udp4, s->cfg->group, ip, UV_JOIN_GROUP);
    } else if (f->family == AF_INET6 && s->udp6_open && s->cfg->group6[0]) {
      snprintf(where, sizeof where, "%s%%%s", ip, f->name);
      rv = uv_udp_set_membership(&s->udp6, s->cfg->group6, where, UV_JOIN_GROUP);
    } else {
      continue;
    }
    if (rv < 0 && rv != UV_EADDRINUSE)
      fmd_logf(&s->d->log, FMD_DEBUG, "discovery: cannot join the multicast group on %s: %s",
               iface_text(f, where, sizeof where), uv_strerror(rv));
  }
}

/* Reads the addresses again; 1 when they changed. */
static int poll_ifaces(fmd_disc *s) {
  fmd_disc_iface now[FMD_DISC_IFACES_MAX];
  memset(now, 0, sizeof now);
  size_t n = read_ifaces(s, now, FMD_DISC_IFACES_MAX);
  if (n == s->nifaces && !memcmp(now, s->ifaces, n * sizeof now[0])) return 0;
  memcpy(s->ifaces, now, sizeof now);
  s->nifaces = n;
  return 1;
}

static void ifaces_text(const fmd_disc *s, char *buf, size_t cap) {
  char one[128];
  size_t len = 0;
  buf[0] = 0;
  for (size_t i = 0; i < s->nifaces && len + 1 < cap; i++)
    len += (size_t)snprintf(buf + len, cap - len, "%s%s", i ? ", " : "",
                            iface_text(&s->ifaces[i], one, sizeof one));
  if (!s->nifaces) snprintf(buf, cap, "none");
}

/* ---- sending ------------------------------------------------------------------------ */

static void send_one(fmd_disc *s, uv_udp_t *h, const struct sockaddr *dst, const uint8_t *pkt) {
  char to[FM_CONTROL_ADDR_MAX];
  uv_buf_t b = uv_buf_init((char *)pkt, FM_BEACON_LEN);
  /* try_send: a beacon that cannot go now is simply not sent; the next
   * one comes soon, so there is no queue to bound. */
  int rv = uv_udp_try_send(h, &b, 1, dst);
  if (rv >= 0) {
    s->sent++;
    return;
  }
  s->send_failed++;
  fmd_hostport_format(dst, to, sizeof to);
  fmd_logf(&s->d->log, FMD_DEBUG, "discovery: cannot send a beacon to %s: %s", to,
           uv_strerror(rv));
}

static void send_v4(fmd_disc *s, const fmd_disc_iface *f, const uint8_t *pkt) {
  struct sockaddr_in dst;
  char ip[INET_ADDRSTRLEN];
  uint32_t a, m;
  if (s->only4 && memcmp(f->addr, s->only, 4)) return;
  memcpy(&a, f->addr, 4);
  memcpy(&m, f->mask, 4);
  /* The network's own broadcast address routes out of this interface
   * (255.255.255.255 would follow the default route only).  A /32 has
   * no broadcast address. */
  if (m != 0xffffffffu) {
    memset(&dst, 0, sizeof dst);
    dst.sin_family = AF_INET;
    dst.sin_port = htons(s->cfg->port);
    dst.sin_addr.s_addr = a | ~m;
    send_one(s, &s->udp4, (struct sockaddr *)&dst, pkt);
  }
  if (!s->cfg->group[0]) return;
  uv_inet_ntop(AF_INET, f->addr, ip, sizeof ip);
  if (uv_udp_set_multicast_interface(&s->udp4, ip) < 0) return;
  FM_ASSERT(uv_ip4_addr(s->cfg->group, s->cfg->port, &dst) == 0);
  send_one(s, &s->udp4, (struct sockaddr *)&dst, pkt);
}

static void send_v6(fmd_disc *s, const fmd_disc_iface *f, const uint8_t *pkt) {
  struct sockaddr_in6 dst;
  /* One beacon per interface, however many link-local addresses it has. */
  for (const fmd_disc_iface *g = s->ifaces; g < f; g++)
    if (g->family == AF_INET6 && g->index == f->index) return;
  if (!s->cfg->group6[0] || !f->index) return;
  FM_ASSERT(uv_ip6_addr(s->cfg->group6, s->cfg->port, &dst) == 0);
  dst.sin6_scope_id = f->index; /* a link-local group: say which link */
  send_one(s, &s->udp6, (struct sockaddr *)&dst, pkt);
}

static void send_beacons(fmd_disc *s) {
  fm_beacon b;
  uint8_t pkt[FM_BEACON_LEN];
  if (!s->send4 && !s->send6) return;
  refresh_digest(s);
  if (!s->digest_ok) return;
  memcpy(b.mesh, s->mesh, sizeof b.mesh);
  memcpy(b.node, s->d->node.id.pk, FM_KEY_LEN);
  b.port = s->port;
  memcpy(b.digest, s->digest, sizeof b.digest);
  fm_beacon_encode(&b, pkt);
  for (size_t i = 0; i < s->nifaces; i++) {
    const fmd_disc_iface *f = &s->ifaces[i];
    if (f->family == AF_INET && s->send4 && s->udp4_open) send_v4(s, f, pkt);
    else if (f->family == AF_INET6 && s->send6 && s->udp6_open) send_v6(s, f, pkt);
  }
}

/* The next beacon in interval ±25 %: laptops switched on together drift
 * apart instead of beaconing in step. */
static void arm_beacon(fmd_disc *s) {
  uint64_t base = interval_ms(s);
  uint64_t ms = base * 3 / 4 + randombytes_uniform((uint32_t)(base / 2 + 1));
  uv_timer_start(&s->beacon_timer, on_beacon_timer, ms, 0);
}

/* Reads the addresses again and, when they changed, joins the groups on
 * the new networks.  1 when they changed. */
static int renew_ifaces(fmd_disc *s) {
  char list[512];
  if (!poll_ifaces(s)) return 0;
  ifaces_text(s, list, sizeof list);
  fmd_logf(&s->d->log, FMD_INFO, "discovery: the networks changed (now: %s)", list);
  join_groups(s);
  return 1;
}

static void on_beacon_timer(uv_timer_t *t) {
  fmd_disc *s = t->data;
  /* Looked at before every beacon too: a Wi-Fi that came back must not
   * wait for the next poll to be beaconed on. */
  renew_ifaces(s);
  send_beacons(s);
  arm_beacon(s);
}

static void on_poll(uv_timer_t *t) {
  fmd_disc *s = t->data;
  if (!renew_ifaces(s)) return;
  send_beacons(s); /* at once, and the next one a whole interval later */
  arm_beacon(s);
}

/* ---- what is heard ------------------------------------------------------------------------ */

static fmd_disc_source *source_of(fmd_disc *s, const struct sockaddr *from, uint64_t now) {
  uint8_t ip[16] = {0};
  fmd_disc_source *slot = NULL;
  if (from->sa_family == AF_INET) memcpy(ip, &((const struct sockaddr_in *)from)->sin_addr, 4);
  else memcpy(ip, &((const struct sockaddr_in6 *)from)->sin6_addr, 16);
  for (size_t i = 0; i < FMD_DISC_SOURCES_MAX; i++) {
    fmd_disc_source *o = &s->sources[i];
    if (o->used && o->family == from->sa_family && !memcmp(o->ip, ip, 16)) {
      o->seen = now;
      return o;
    }
    if (!slot || !o->used || (slot->used && o->seen < slot->seen)) slot = o;
  }
  /* A new source takes a free slot, or the one heard from longest ago. */
  memset(slot, 0, sizeof *slot);
  slot->used = 1;
  slot->family = from->sa_family;
  memcpy(slot->ip, ip, 16);
  slot->seen = now;
  bucket_fill(&slot->bucket, FMD_DISC_SRC_BURST, now);
  return slot;
}

/* Where to dial the sender: its address as the datagram came, and the
 * port its beacon names.  A link-local IPv6 address needs its interface. */
static int dial_text(const struct sockaddr *from, uint16_t port, char *out, size_t cap, int *v6) {
  char ip[64], ifname[IF_NAMESIZE];
  if (from->sa_family == AF_INET) {
    uv_ip4_name((const struct sockaddr_in *)from, ip, sizeof ip);
    snprintf(out, cap, "%s:%u", ip, (unsigned)port);
    *v6 = 0;
    return 0;
  }
  const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)from;
  uv_ip6_name(in6, ip, sizeof ip);
  *v6 = 1;
  if (!is_link_local6(in6->sin6_addr.s6_addr)) {
    snprintf(out, cap, "[%s]:%u", ip, (unsigned)port);
    return 0;
  }
  if (!in6->sin6_scope_id || !if_indextoname(in6->sin6_scope_id, ifname)) return -1;
  snprintf(out, cap, "[%s%%%s]:%u", ip, ifname, (unsigned)port);
  return 0;
}

static fmd_disc_node *node_of(fmd_disc *s, const uint8_t id[FM_KEY_LEN]) {
  fmd_disc_node *slot = NULL;
  for (size_t i = 0; i < FMD_DISC_NODES_MAX; i++) {
    fmd_disc_node *n = &s->nodes[i];
    if (n->used && !memcmp(n->id, id, FM_KEY_LEN)) return n;
    if (!slot || !n->used || (slot->used && n->heard < slot->heard)) slot = n;
  }
  memset(slot, 0, sizeof *slot);
  slot->used = 1;
  memcpy(slot->id, id, FM_KEY_LEN);
  return slot;
}

/* Dials |n| through its address record (a new one has origin "beacon").
 * A static peer's record keeps its own schedule; a record that failed
 * waits out the same backoff as a static peer. */
static void dial(fmd_disc *s, fmd_disc_node *n, int ours, uint64_t now) {
  fmd_node *d = s->d;
  fmd_addr *a = fmd_addr_find(d, n->addr);
  char why[FM_CONTROL_TEXT_MAX], hex[13];
  if (a) {
    if (a->origin == FMD_STATIC || a->conn || a->resolving || a->is_self) return;
    if (a->streak) {
      uint32_t r;
      memcpy(&r, n->id, sizeof r); /* a fixed jitter per laptop */
      uint64_t wait = fmd_backoff_ms(d->cfg->reconnect_min_ms, d->cfg->reconnect_max_ms,
                                     a->streak, r);
      if (fmd_now() - a->dial_started < (fm_time)wait) return;
    }
  }
  if (!bucket_take(&s->dials, FMD_DISC_DIAL_BURST, FMD_DISC_DIAL_PER_S, now)) return;
  if (!a && fmd_addr_new(d, n->addr, FMD_BEACON, &a, why, sizeof why) < 0) {
    fmd_logf(&d->log, FMD_DEBUG, "discovery: cannot dial %s: %s", n->addr, why);
    return;
  }
  fmd_logf(&d->log, n->dialled ? FMD_DEBUG : FMD_INFO,
           "discovery: dialling %s (device %s…, found by beacon): %s", n->addr,
           short_id(n->id, hex),
           ours == 2 ? "this laptop waits for chunks of scans"
           : ours    ? "one of us holds entries the other lacks"
                     : "one of us lacks entries of the other, and it has not dialled");
  n->dialled = 1;
  s->dialled++;
  fmd_addr_dial(a);
}

/* Whether to dial the laptop behind a beacon just heard (discovery.h). */
static void consider(fmd_disc *s, fmd_disc_node *n, uint64_t now) {
  fmd_node *d = s->d;
  if (d->stopping) return;
  if (fmd_node_find_live(d, n->id, NULL)) {
    n->differs_since = 0;
    return;
  }
  refresh_digest(s);
  if (s->digest_ok && !memcmp(n->digest, s->digest, FM_BEACON_DIGEST_LEN)) {
    n->differs_since = 0; /* the same entries: nothing to exchange ... */
    /* ... but scans' chunks travel beside the entries, and the beacon
     * does not tell who holds them: ask now and then. */
    uint64_t wanted = 0;
    if ((!n->chunks_tried || now - n->chunks_tried >= FMD_DISC_CHUNK_RETRY_MS) &&
        fm_store_blob_wanted_count(d->store, &wanted) == 0 && wanted > 0 &&
        !scans_full(d)) {
      n->chunks_tried = now;
      dial(s, n, 2, now);
    }
    return;
  }
  if (!n->differs_since) n->differs_since = now;
  /* One connection per pair: the smaller id dials.  The other steps in
   * when that has not happened for a while (it may not hear our beacons),
   * and always when it sends no beacons itself (listen = off, or one IPv6
   * address): nobody would know where to dial it. */
  int ours = memcmp(d->node.id.pk, n->id, FM_KEY_LEN) < 0 || (!s->send4 && !s->send6);
  uint64_t step_in = FMD_DISC_STEP_IN_INTERVALS * interval_ms(s);
  if (step_in < FMD_DISC_STEP_IN_MIN_MS) step_in = FMD_DISC_STEP_IN_MIN_MS;
  if (!ours && now - n->differs_since < step_in) return;
  dial(s, n, ours, now);
}

static void heard(fmd_disc *s, const fm_beacon *b, const struct sockaddr *from, uint64_t now) {
  char text[FM_CONTROL_ADDR_MAX], hex[13];
  int v6;
  if (dial_text(from, b->port, text, sizeof text, &v6) < 0) return;
  fmd_disc_node *n = node_of(s, b->node);
  /* One address per laptop: the first heard, IPv4 rather than IPv6 (most
   * laptops listen on 0.0.0.0), another once it has gone quiet. */
  if (!strcmp(n->addr, text)) {
    n->heard = now;
  } else if (!n->addr[0] || (n->v6 && !v6) ||
             now - n->heard > FMD_DISC_STALE_INTERVALS * interval_ms(s)) {
    fmd_logf(&s->d->log, FMD_DEBUG, "discovery: device %s… is at %s", short_id(b->node, hex),
             text);
    snprintf(n->addr, sizeof n->addr, "%s", text);
    n->v6 = v6;
    n->heard = now;
  }
  memcpy(n->digest, b->digest, FM_BEACON_DIGEST_LEN);
  consider(s, n, now);
}

static void dropped(fmd_disc *s, fmd_disc_source *src, const struct sockaddr *from,
                    ssize_t len, int rv, uint64_t now) {
  char who[FM_CONTROL_ADDR_MAX];
  if (rv == FM_ERR_VERSION) {
    s->other_version++;
  } else {
    s->malformed++;
    src->bad++;
  }
  if (now < src->quiet_bad) return;
  src->quiet_bad = now + FMD_DISC_WARN_MS;
  fmd_hostport_format(from, who, sizeof who);
  if (rv == FM_ERR_VERSION)
    fmd_logf(&s->d->log, FMD_INFO, "discovery: ignoring beacons of another version from %s "
             "(a newer fieldmesh there?)", who);
  else
    fmd_logf(&s->d->log, FMD_WARN, "discovery: dropped a malformed beacon (%zd bytes) from %s; "
             "%llu from it, %llu in all", len, who, (unsigned long long)src->bad,
             (unsigned long long)s->malformed);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  fmd_disc *s = h->data;
  (void)hint;
  *buf = uv_buf_init((char *)s->rbuf, sizeof s->rbuf);
}

static void on_recv(uv_udp_t *h, ssize_t n, const uv_buf_t *buf, const struct sockaddr *from,
                    unsigned flags) {
  fmd_disc *s = h->data;
  fm_beacon b;
  char who[FM_CONTROL_ADDR_MAX];
  if (n < 0) {
    fmd_logf(&s->d->log, FMD_DEBUG, "discovery: cannot receive: %s", uv_strerror((int)n));
    return;
  }
  if (!from || !s->running) return; /* nothing (more) to read */
  uint64_t now = uv_now(s->d->loop);
  fmd_disc_source *src = source_of(s, from, now);
  if (!bucket_take(&s->all, FMD_DISC_ALL_BURST, FMD_DISC_ALL_PER_S, now) ||
      !bucket_take(&src->bucket, FMD_DISC_SRC_BURST, FMD_DISC_SRC_PER_S, now)) {
    s->limited++;
    return;
  }
  /* A datagram longer than the buffer arrives cut: not a beacon. */
  int rv = (flags & UV_UDP_PARTIAL) ? FM_ERR_MALFORMED
                                    : fm_beacon_parse((const uint8_t *)buf->base, (size_t)n, &b);
  if (rv < 0) {
    dropped(s, src, from, n, rv, now);
    return;
  }
  if (memcmp(b.mesh, s->mesh, sizeof b.mesh)) {
    s->foreign++;
    if (now >= src->quiet_foreign) {
      src->quiet_foreign = now + FMD_DISC_WARN_MS;
      fmd_hostport_format(from, who, sizeof who);
      fmd_logf(&s->d->log, FMD_DEBUG, "discovery: ignoring beacons of another commune from %s",
               who);
    }
    return;
  }
  if (!memcmp(b.node, s->d->node.id.pk, FM_KEY_LEN)) return; /* our own, looped back */
  s->heard++;
  heard(s, &b, from, now);
}

/* ---- starting and stopping ------------------------------------------------------------------- */

/* Which beacons the listen address allows: a laptop beacons only where it
 * can be dialled.  0 when discovery has no point at all (loopback only). */
static int plan(fmd_disc *s) {
  const fmd_config *c = s->d->cfg;
  struct sockaddr_storage ss;
  s->port = c->listen_hp.port;
  if (c->listen_off) return 1; /* listens for beacons, dials, sends none */
  FM_ASSERT(fmd_hostport_numeric(&c->listen_hp, &ss) == 0);
  if (ss.ss_family == AF_INET) {
    const uint8_t *a = (const uint8_t *)&((struct sockaddr_in *)&ss)->sin_addr;
    if (a[0] == 127) return 0;
    s->send4 = 1;
    s->only4 = a[0] || a[1] || a[2] || a[3];
    memcpy(s->only, a, 4);
    return 1;
  }
  const struct in6_addr *a6 = &((struct sockaddr_in6 *)&ss)->sin6_addr;
  static const uint8_t any[16], loop6[16] = {[15] = 1};
  if (!memcmp(a6->s6_addr, loop6, 16)) return 0;
  /* [::] takes IPv4 as well (libuv leaves IPV6_V6ONLY off); one IPv6
   * address alone is not announced: the beacon's source would be another. */
  s->send4 = s->send6 = !memcmp(a6->s6_addr, any, 16);
  return 1;
}

static int open_udp(fmd_disc *s, uv_udp_t *h, int v6) {
  struct sockaddr_storage a;
  int rv;
  if (v6) FM_ASSERT(uv_ip6_addr("::", s->cfg->port, (struct sockaddr_in6 *)&a) == 0);
  else FM_ASSERT(uv_ip4_addr("0.0.0.0", s->cfg->port, (struct sockaddr_in *)&a) == 0);
  FM_ASSERT(uv_udp_init(s->d->loop, h) == 0);
  h->data = s;
  /* REUSEADDR: several daemons on one machine (tests, a gateway next to a
   * laptop's daemon) all hear the broadcasts. */
  rv = uv_udp_bind(h, (struct sockaddr *)&a, UV_UDP_REUSEADDR | (v6 ? UV_UDP_IPV6ONLY : 0));
  if (rv == 0 && !v6) rv = uv_udp_set_broadcast(h, 1);
  if (rv == 0) rv = uv_udp_set_multicast_ttl(h, 1); /* beacons never leave the link */
  if (rv == 0) rv = uv_udp_recv_start(h, on_alloc, on_recv);
  if (rv < 0) {
    uv_close((uv_handle_t *)h, NULL);
    return rv;
  }
  return 1;
}

static void log_started(fmd_disc *s) {
  char list[512], kinds[160] = "";
  const char *part[3] = {NULL, NULL, NULL};
  size_t n = 0, len = 0;
  if (!s->send4 && !s->send6) {
    fmd_logf(&s->d->log, FMD_INFO, "discovery: listening for beacons on UDP port %u; sending "
             "none (%s)", (unsigned)s->cfg->port,
             s->d->cfg->listen_off ? "listen = off: nobody could dial this laptop"
                                   : "the listen address is one IPv6 address");
    return;
  }
  if (s->send4 && s->udp4_open) part[n++] = "broadcast";
  if (s->send4 && s->udp4_open && s->cfg->group[0]) part[n++] = s->cfg->group;
  if (s->send6 && s->udp6_open && s->cfg->group6[0]) part[n++] = s->cfg->group6;
  for (size_t i = 0; i < n; i++)
    len += (size_t)snprintf(kinds + len, sizeof kinds - len, "%s%s", i ? ", " : "", part[i]);
  ifaces_text(s, list, sizeof list);
  fmd_logf(&s->d->log, FMD_INFO, "discovery: beacons every %u s on UDP port %u (%s) from: %s",
           s->cfg->interval_seconds, (unsigned)s->cfg->port, n ? kinds : "none", list);
}

void fmd_disc_start(fmd_disc *s, fmd_node *d) {
  uint8_t auth[FM_KEY_LEN];
  char commune[FM_NAME_MAX];
  int rv4, rv6;
  memset(s, 0, sizeof *s);
  s->d = d;
  s->cfg = &d->cfg->disc;
  if (!s->cfg->enabled) {
    fmd_logf(&d->log, FMD_INFO, "discovery off ([discovery] enabled = no): only static peers "
             "and laptops that dial this one");
    return;
  }
  if (!plan(s)) {
    fmd_logf(&d->log, FMD_INFO, "discovery off: listening on %s, this machine only",
             d->cfg->listen);
    return;
  }
  if ((rv4 = fm_store_authority(d->store, auth, commune)) < 0) {
    fmd_logf(&d->log, FMD_WARN, "discovery off: cannot read the commune's authority: %s",
             fm_strerror(rv4));
    return;
  }
  fm_beacon_mesh_id(auth, s->mesh);
  FM_ASSERT(uv_timer_init(d->loop, &s->beacon_timer) == 0);
  FM_ASSERT(uv_timer_init(d->loop, &s->poll_timer) == 0);
  s->beacon_timer.data = s->poll_timer.data = s;
  s->timers_open = 1;
  s->udp4_open = (rv4 = open_udp(s, &s->udp4, 0)) > 0;
  s->udp6_open = (rv6 = open_udp(s, &s->udp6, 1)) > 0;
  if (!s->udp4_open) {
    fmd_logf(&d->log, FMD_WARN, "discovery: cannot use UDP port %u for IPv4 beacons: %s; "
             "another program holds it, or choose another [discovery] port (the same on "
             "every laptop)", (unsigned)s->cfg->port, uv_strerror(rv4));
  }
  if (!s->udp6_open)
    fmd_logf(&d->log, FMD_DEBUG, "discovery: no IPv6 beacons: %s", uv_strerror(rv6));
  if (!s->udp4_open && !s->udp6_open) return;
  s->running = 1;
  uint64_t now = uv_now(d->loop);
  bucket_fill(&s->all, FMD_DISC_ALL_BURST, now);
  bucket_fill(&s->dials, FMD_DISC_DIAL_BURST, now);
  poll_ifaces(s);
  join_groups(s);
  log_started(s);
  send_beacons(s);
  arm_beacon(s);
  uv_timer_start(&s->poll_timer, on_poll, FMD_DISC_POLL_MS, FMD_DISC_POLL_MS);
}

void fmd_disc_close(fmd_disc *s) {
  if (s->running)
    fmd_logf(&s->d->log, FMD_INFO, "discovery: %llu beacons sent (%llu failed); heard %llu from "
             "this commune, %llu of another, %llu malformed, %llu of another version, %llu over "
             "the rate limit; %llu dials", (unsigned long long)s->sent,
             (unsigned long long)s->send_failed, (unsigned long long)s->heard,
             (unsigned long long)s->foreign, (unsigned long long)s->malformed,
             (unsigned long long)s->other_version, (unsigned long long)s->limited,
             (unsigned long long)s->dialled);
  s->running = 0;
  if (s->udp4_open) uv_close((uv_handle_t *)&s->udp4, NULL);
  if (s->udp6_open) uv_close((uv_handle_t *)&s->udp6, NULL);
  if (s->timers_open) {
    uv_close((uv_handle_t *)&s->beacon_timer, NULL);
    uv_close((uv_handle_t *)&s->poll_timer, NULL);
  }
  s->udp4_open = s->udp6_open = s->timers_open = 0;
}
