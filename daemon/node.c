#include "node.h"
#include "regrant.h"

#include "fieldmesh/copies.h"
#include "fieldmesh/blob_store.h"
#include "fieldmesh/scan_copies.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "fieldmesh/dirs.h"
#include "fieldmesh/error.h"
#include "fieldmesh/keyfile.h"

fm_time fmd_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (fm_time)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

fm_time fmd_mono(void) { return (fm_time)(uv_hrtime() / 1000000); }

fm_time fmd_wall_of(fm_time mono) { return mono ? fmd_now() - (fmd_mono() - mono) : 0; }

static fm_time node_wall(void *ctx) {
  (void)ctx;
  return fmd_now();
}

static void on_new_entries(void *ctx, uint32_t accepted);

/* ---- opening the state folder ----------------------------------------------- */

/* The one line saying why the daemon will not start. */
__attribute__((format(printf, 2, 3))) static int refuse(fmd_node *d, const char *fmt, ...) {
  char line[PATH_MAX * 2 + 256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  fmd_logf(&d->log, FMD_ERROR, "%s", line);
  return FMD_EXIT_FAIL;
}

static int load_key(fmd_node *d, fm_identity *id) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/device.key", d->cfg->state);
  int rv = fm_keyfile_read(path, id);
  if (rv == FM_ERR_NOTFOUND)
    return refuse(d, "no device key %s: run `fieldmesh --state %s init` first, then "
                  "`fieldmesh join FILE`", path, d->cfg->state);
  if (rv == FM_ERR_MALFORMED)
    return refuse(d, "%s is not a fieldmesh key file: restore it from the backup", path);
  if (rv == FM_ERR_NOTREG)
    return refuse(d, "%s is not a regular file (a pipe, device or folder): put the key "
                  "file back from the backup", path);
  if (rv < 0)
    return refuse(d, "cannot use %s: unreadable, or readable by other users (run "
                  "`chmod 600 %s`)", path, path);
  return 0;
}

/* The refusal for a store error: the same words the command line uses. */
static int store_refusal(fmd_node *d, const char *dir, int rv, const char *why) {
  char msg[PATH_MAX + 128];
  if (rv == FM_ERR_DAMAGED || rv == FM_ERR_CORRUPT)
    return refuse(d, "this laptop's store is damaged (%s): run fieldmesh recover",
                  why && why[0] ? why : fm_strerror(rv));
  if (rv == FM_ERR_NOSPACE) return refuse(d, "%s", fm_disk_full_message(d->cfg->state, msg, sizeof msg));
  return refuse(d, "cannot open the store in %s: %s", dir, fm_strerror(rv));
}

static int open_store(fmd_node *d, const fm_identity *id) {
  char dir[PATH_MAX];
  uint8_t self[FM_KEY_LEN];
  struct stat st;
  int rv;
  snprintf(dir, sizeof dir, "%s/store", d->cfg->state);
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
    return refuse(d, "no store in %s: run `fieldmesh --state %s init` first", dir,
                  d->cfg->state);
  char why[256] = "";
  fm_store_opts o;
  memset(&o, 0, sizeof o);
  o.why = why;
  o.why_cap = sizeof why;
  if ((rv = fm_store_open(dir, &o, &d->store)) < 0) return store_refusal(d, dir, rv, why);
  rv = fm_store_self(d->store, self);
  /* `fieldmesh init` writes the key, then the store: finish its job. */
  if (rv == FM_ERR_NOTFOUND) rv = fm_store_set_self(d->store, id->pk);
  else if (rv == 0 && memcmp(self, id->pk, FM_KEY_LEN))
    return refuse(d, "%s/device.key is not the key of this store: the key file was "
                  "replaced; restore the original key", d->cfg->state);
  if (rv < 0) return store_refusal(d, dir, rv, NULL);
  int64_t ahead = fm_store_clock_ahead(d->store, fmd_now());
  /* Said once: the next stamp (ours or a peer's) brings the clock back. */
  long long days = (ahead + 43200000) / 86400000;
  if (ahead > 0)
    fmd_logf(&d->log, FMD_WARN, "this laptop's last stamp is %lld day%s ahead of its clock; "
             "new records use the clock", days, days == 1 ? "" : "s");
  return 0;
}

/* The device must be enrolled, and neither revoked nor expired: peers would
 * refuse it anyway, and saying so here is kinder than a log of refusals. */
static int check_enrollment(fmd_node *d) {
  uint64_t revoked_after;
  char n[32];
  int rv = fm_store_enrollment(d->store, d->node.id.pk, &d->self, &revoked_after, NULL, NULL);
  if (rv < 0)
    return refuse(d, "cannot read this laptop's enrollment: %s", fm_strerror(rv));
  if (revoked_after != UINT64_MAX) {
    snprintf(n, sizeof n, "%llu", (unsigned long long)revoked_after);
    return refuse(d, "this laptop was revoked by the commune authority (after entry %s): "
                  "it cannot sync; ask the administrator to enroll a new device", n);
  }
  if (!fm_enroll_valid_at(&d->self, fmd_now()))
    return refuse(d, "this laptop's enrollment has expired: ask the commune "
                  "administrator to enroll it again");
  return 0;
}

/* What this daemon's presence notes say besides the store's figures: its
 * version, and the free disk of the state folder as of start. */
static void set_presence(fmd_node *d) {
  struct statvfs sv;
  d->node.presence.version = "fieldmesh 0.1.0";
  if (statvfs(d->cfg->state, &sv) == 0)
    d->node.presence.free_kib = (uint64_t)sv.f_bavail * sv.f_frsize / 1024;
}

/* Received entries are checked on every core the setting allows: the
 * loop thread is one checker, the pool's workers the others.  Without
 * workers the store checks inline, as it does in the simulator. */
static void start_verifiers(fmd_node *d) {
  unsigned n = d->cfg->verify_threads ? d->cfg->verify_threads : fm_vpool_cores();
  int rv;
  if (n <= 1) return;
  if ((rv = fm_vpool_start(&d->vpool, n - 1)) < 0) {
    fmd_logf(&d->log, FMD_WARN, "cannot start %u signature checkers (%s): checking on one "
             "thread", n - 1, fm_strerror(rv));
    return;
  }
  fm_verifier v = fm_vpool_verifier(&d->vpool);
  fm_store_set_verifier(d->store, &v);
}

static int open_state(fmd_node *d) {
  fm_identity id;
  fm_store_stats st;
  struct stat sb;
  int rv;
  if (stat(d->cfg->state, &sb) != 0 || !S_ISDIR(sb.st_mode))
    return refuse(d, "no state folder %s: run `fieldmesh --state %s init` first",
                  d->cfg->state, d->cfg->state);
  if ((rv = load_key(d, &id)) != 0) return rv;
  if ((rv = open_store(d, &id)) == 0) {
    rv = fm_node_init(&d->node, d->store, &id);
    if (rv == FM_ERR_AUTH)
      rv = refuse(d, "not enrolled: run `fieldmesh join FILE` first (with the join file "
                  "the commune administrator made for this laptop)");
    else if (rv < 0)
      rv = refuse(d, "cannot read this laptop's enrollment: %s", fm_strerror(rv));
    else
      d->node_ok = 1;
  }
  fm_identity_wipe(&id);
  if (rv != 0 || (rv = check_enrollment(d)) != 0) return rv;
  d->node.on_new_entries = on_new_entries;
  d->node.on_new_ctx = d;
  d->node.wall = node_wall;
  set_presence(d);
  start_verifiers(d);
  if (fm_store_stats_get(d->store, &st) == 0) {
    d->watch_entries = st.entries;
    d->watch_self = st.self_seq;
  }
  /* A gateway forwards every scan: it keeps them all unless told. */
  uint32_t mb = d->cfg->scans_max_mb;
  if (mb == FMD_SCANS_MAX_UNSET)
    mb = fmd_upstream_enabled(&d->cfg->upstream) ? 0 : FMD_SCANS_MAX_DEFAULT_MB;
  d->node.scans_max = (uint64_t)mb << 20;
  if ((rv = fm_store_set_scans_max(d->store, d->node.scans_max)) < 0)
    fmd_logf(&d->log, FMD_WARN, "cannot record scans_max_mb in the store: %s", fm_strerror(rv));
  /* So that `fieldmesh status` judges "safe" as this daemon does. */
  if ((rv = fm_store_set_safe_copies(d->store, d->cfg->safe_copies)) < 0)
    fmd_logf(&d->log, FMD_WARN, "cannot record safe_copies in the store: %s", fm_strerror(rv));
  return 0;
}

/* ---- closing ---------------------------------------------------------------------- */

/* Closes every handle the node itself owns; uv_run() returns once their
 * callbacks (and the peers' and records') have run. */
static void close_all(fmd_node *d) {
  if (d->finished) return;
  d->finished = 1;
  if (d->listener_open) uv_close((uv_handle_t *)&d->listener, NULL);
  d->listener_open = 0;
  fmd_ctl_stop_listening(&d->ctl);
  fmd_disc_close(&d->disc); /* before the records: beacons dial through them */
  if (d->shun.refused)
    fmd_logf(&d->log, FMD_INFO, "closed %llu connections at once from callers being ignored",
             (unsigned long long)d->shun.refused);
  fmd_gateway_stop(d->gw);
  fmd_web_stop(d->web);
  /* Records first: closing one answers a `sync` still waiting on it. */
  while (d->addrs) fmd_addr_close(d->addrs);
  fmd_ctl_close_clients(&d->ctl);
  if (d->handles_open) {
    uv_close((uv_handle_t *)&d->sigterm, NULL);
    uv_close((uv_handle_t *)&d->sigint, NULL);
    uv_close((uv_handle_t *)&d->tick, NULL);
    uv_close((uv_handle_t *)&d->stop_timer, NULL);
    d->handles_open = 0;
  }
}

void fmd_node_check_stopped(fmd_node *d) {
  if (d->stopping && d->npeers == 0) close_all(d);
}

static void on_stop_timer(uv_timer_t *t) {
  fmd_node *d = t->data;
  for (fmd_peer *p = d->peers; p; p = p->next) {
    if (p->phase != FMD_P_CLOSED)
      fmd_peer_abort(p, "shutting down: not flushed in time, closed anyway");
  }
}

void fmd_node_stop(fmd_node *d, const char *why) {
  if (d->stopping) return;
  d->stopping = 1;
  fmd_logf(&d->log, FMD_INFO, "shutting down (%s): saying bye to %zu peer%s", why,
           d->npeers, d->npeers == 1 ? "" : "s");
  if (d->listener_open) uv_close((uv_handle_t *)&d->listener, NULL);
  d->listener_open = 0;
  fmd_ctl_stop_listening(&d->ctl);
  for (fmd_addr *a = d->addrs; a; a = a->next) {
    uv_timer_stop(&a->retry);
    a->next_attempt = 0;
  }
  for (fmd_peer *p = d->peers; p; p = p->next) fmd_peer_close(p, "shutting down", 0);
  /* A delivery in flight is asked to give up; uv_run() waits for it. */
  fmd_gateway_stop(d->gw);
  fmd_web_stop(d->web);
  if (d->handles_open) uv_timer_start(&d->stop_timer, on_stop_timer, FMD_STOP_GRACE_MS, 0);
  fmd_node_check_stopped(d);
}

static void on_signal(uv_signal_t *h, int signum) {
  fmd_node *d = h->data;
  if (d->stopping) {
    /* Asked twice: do not wait for slow peers. */
    on_stop_timer(&d->stop_timer);
    return;
  }
  fmd_node_stop(d, signum == SIGTERM ? "SIGTERM" : "SIGINT");
}

void fmd_node_free(fmd_node *d) {
  fmd_ctl_stop_listening(&d->ctl); /* removes the socket file if still there */
  /* Before the store: the sinks hold batches read from it. */
  fmd_gateway_free(d->gw);
  d->gw = NULL;
  fmd_web_free(d->web); /* after uv_run(): H2O's context closes its handles */
  d->web = NULL;
  if (d->node_ok) fm_node_free(&d->node);
  d->node_ok = 0;
  fm_keyring_free(d->seal_keys);
  d->seal_keys = NULL;
  fm_store_close(d->store);
  d->store = NULL;
  fm_vpool_stop(&d->vpool);
}

/* ---- the store and the sessions --------------------------------------------------------- */

static int log_clock(void *ctx, const uint8_t author[FM_KEY_LEN], uint64_t entries,
                     uint64_t ahead_ms) {
  fmd_node *d = ctx;
  fm_enrollment en;
  char hex[2 * FM_KEY_LEN + 1], who[2 * FM_NAME_MAX + 8];
  fm_hex(author, FM_KEY_LEN, hex);
  if (fm_store_enrollment(d->store, author, &en, NULL, NULL, NULL) == 0)
    snprintf(who, sizeof who, "%s, %s", en.name, en.team);
  else
    snprintf(who, sizeof who, "not enrolled here");
  fmd_logf(&d->log, FMD_WARN,
           "the clock of device %.12s (%s) is about %.1f days ahead: %llu of its entries "
           "are kept but flagged; ask its member to set the date and time", hex, who,
           (double)ahead_ms / 86400000.0, (unsigned long long)entries);
  return 0;
}

/* Names, in the log, every device whose entries arrived stamped over a
 * day ahead (docs/architecture.md, "Hybrid logical clock"), each time more of them arrive. */
static void watch_clocks(fmd_node *d, const fm_store_stats *st) {
  if (st->clock_ahead <= d->clock_logged) return;
  d->clock_logged = st->clock_ahead;
  fm_store_each_clock_ahead(d->store, log_clock, d);
}

/* Offers whatever the store gained to every session.  |force|: even when
 * the counts did not move (a poke). */
static void watch_store(fmd_node *d, int force) {
  fm_store_stats st;
  if (fm_store_stats_get(d->store, &st) < 0) return;
  watch_clocks(d, &st);
  if (!force && st.entries == d->watch_entries && st.self_seq == d->watch_self) return;
  if (!force)
    fmd_logf(&d->log, FMD_DEBUG, "the store gained %lld entries outside the daemon: "
             "offering them", (long long)(st.entries - d->watch_entries));
  d->watch_entries = st.entries;
  d->watch_self = st.self_seq;
  for (fmd_peer *p = d->peers; p; p = p->next) fmd_peer_notify(p, 0);
  fmd_gateway_kick(d->gw);
}

static void on_new_entries(void *ctx, uint32_t accepted) {
  fmd_node *d = ctx;
  d->watch_entries += accepted;
  if (d->node.rewritten > d->told_rewritten) {
    uint64_t n = d->node.rewritten - d->told_rewritten;
    fmd_logf(&d->log, FMD_INFO, "this laptop was restored from a backup: its own records came "
             "back from the mesh, and %llu record%s written after the restore %s written again "
             "at the end of its log", (unsigned long long)n, n == 1 ? "" : "s",
             n == 1 ? "was" : "were");
    d->told_rewritten = d->node.rewritten;
  }
  /* Called from inside one session's receive: the others are only marked
   * here and pumped by fmd_node_kick() once it returns. */
  for (fmd_peer *p = d->peers; p; p = p->next)
    if (p != d->in_recv) fmd_peer_notify(p, 1);
  fmd_gateway_kick(d->gw);
}

void fmd_node_kick(fmd_node *d) {
  if (!d->kick) return;
  d->kick = 0;
  for (fmd_peer *p = d->peers; p; p = p->next)
    if (p->kick) fmd_peer_service(p);
}

void fmd_node_poke(fmd_node *d) { watch_store(d, 1); }

static void on_tick(uv_timer_t *t) {
  fmd_node *d = t->data;
  fm_time now = fmd_mono();
  for (fmd_peer *p = d->peers; p; p = p->next) fmd_peer_sample(p, now);
  /* A write by the CLI that could not poke us (or by `bundle import`)
   * still goes out within two ticks. */
  if (++d->ticks % 2 == 0) watch_store(d, 0);
  /* Readers learned of since (a new member, the gateway) get the keys of
   * what this laptop sealed (docs/privacy.md). */
  if (d->ticks % FMD_REGRANT_TICKS == 1) fmd_regrant(d, &d->seal_keys);
}

/* ---- listening ------------------------------------------------------------------------------ */

static void on_connection(uv_stream_t *server, int status) {
  fmd_node *d = server->data;
  fmd_peer *p;
  fmd_addr *a;
  char why[FM_CONTROL_TEXT_MAX];
  if (status < 0) {
    fmd_logf(&d->log, FMD_WARN, "cannot accept a connection: %s", uv_strerror(status));
    return;
  }
  if (fmd_peer_accept(d, server, &p) < 0) return;
  if (d->stopping) {
    fmd_peer_abort(p, "shutting down");
    return;
  }
  if (d->cfg->ignore_failing &&
      fmd_shun_refuses(&d->shun, (const struct sockaddr *)&p->caller, (fm_time)uv_now(d->loop))) {
    fmd_peer_abort(p, "ignored for a while: its connections kept failing");
    return;
  }
  if (d->npeers > FMD_PEERS_MAX) {
    snprintf(why, sizeof why, "refused: already %d connections", FMD_PEERS_MAX);
    fmd_peer_abort(p, why);
    return;
  }
  if (fmd_addr_new(d, p->remote, FMD_INCOMING, &a, why, sizeof why) < 0) {
    fmd_peer_abort(p, why);
    return;
  }
  p->addr = a;
  a->conn = p;
  fmd_logf(&d->log, FMD_DEBUG, "connection from %s", p->remote);
  fmd_peer_open(p);
}

static int start_listener(fmd_node *d) {
  struct sockaddr_storage ss;
  int len = sizeof ss, rv;
  if (d->cfg->listen_off) return 0;
  FM_ASSERT(fmd_hostport_numeric(&d->cfg->listen_hp, &ss) == 0);
  FM_ASSERT(uv_tcp_init(d->loop, &d->listener) == 0);
  d->listener_open = 1;
  d->listener.data = d;
  if ((rv = uv_tcp_bind(&d->listener, (struct sockaddr *)&ss, 0)) < 0 ||
      (rv = uv_listen((uv_stream_t *)&d->listener, 64, on_connection)) < 0) {
    fmd_logf(&d->log, FMD_ERROR, "cannot listen on %s: %s: another program holds the "
             "port, or choose another with --listen or [node] listen", d->cfg->listen,
             uv_strerror(rv));
    return FMD_EXIT_FAIL;
  }
  if (uv_tcp_getsockname(&d->listener, (struct sockaddr *)&ss, &len) == 0)
    fmd_hostport_format((struct sockaddr *)&ss, d->listen_text, sizeof d->listen_text);
  return 0;
}

/* ---- starting ---------------------------------------------------------------------------------- */

/* The node's own handles.  Only the first signal handle can fail (libuv
 * makes the loop's signal pipe then: out of file descriptors). */
static int init_handles(fmd_node *d) {
  int rv = uv_signal_init(d->loop, &d->sigterm);
  if (rv < 0) {
    fmd_logf(&d->log, FMD_ERROR, "cannot watch for signals: %s", uv_strerror(rv));
    return FMD_EXIT_FAIL;
  }
  FM_ASSERT(uv_signal_init(d->loop, &d->sigint) == 0);
  FM_ASSERT(uv_timer_init(d->loop, &d->tick) == 0);
  FM_ASSERT(uv_timer_init(d->loop, &d->stop_timer) == 0);
  d->sigterm.data = d->sigint.data = d->tick.data = d->stop_timer.data = d;
  d->handles_open = 1;
  return 0;
}

static void start_peers(fmd_node *d) {
  char why[FM_CONTROL_TEXT_MAX];
  fmd_addr *a;
  for (size_t i = 0; i < d->cfg->npeers; i++) {
    if (fmd_addr_new(d, d->cfg->peers[i], FMD_STATIC, &a, why, sizeof why) < 0) {
      fmd_logf(&d->log, FMD_WARN, "static peer %s skipped: %s", d->cfg->peers[i], why);
      continue;
    }
    fmd_addr_dial(a);
  }
}

int fmd_node_start(fmd_node *d, uv_loop_t *loop, const fmd_config *cfg) {
  char path[PATH_MAX], err[PATH_MAX + 256], hex[2 * FM_KEY_LEN + 1];
  int rv;
  memset(d, 0, sizeof *d);
  d->loop = loop;
  d->cfg = cfg;
  d->log.level = cfg->log_level;
  d->log.f = stderr;
  d->started = fmd_now();
  if ((rv = init_handles(d)) != 0 || (rv = open_state(d)) != 0) goto fail;
  snprintf(path, sizeof path, "%s/%s", cfg->state, FM_CONTROL_SOCKET);
  if (fmd_ctl_start(&d->ctl, d, loop, path, err, sizeof err) < 0) {
    fmd_logf(&d->log, FMD_ERROR, "%s", err);
    rv = FMD_EXIT_FAIL;
    goto fail;
  }
  if ((rv = start_listener(d)) != 0) goto fail;
  if (fmd_upstream_enabled(&cfg->upstream) && (rv = fmd_gateway_start(d, &d->gw)) != 0) goto fail;
  if ((rv = fmd_web_start(d, &d->web)) != 0) goto fail;
  uv_signal_start(&d->sigterm, on_signal, SIGTERM);
  uv_signal_start(&d->sigint, on_signal, SIGINT);
  uv_timer_start(&d->tick, on_tick, FMD_TICK_MS, FMD_TICK_MS);
  fm_hex(d->node.id.pk, FM_KEY_LEN, hex);
  fmd_logf(&d->log, FMD_INFO, "fieldmeshd started: %s (%s, %s) of %s; listening on %s; "
           "%zu static peer%s; control socket %s", hex, d->self.name, d->self.team,
           d->self.commune, cfg->listen_off ? "nothing (listen = off)" : d->listen_text,
           cfg->npeers, cfg->npeers == 1 ? "" : "s", path);
  if (cfg->config_path[0]) fmd_logf(&d->log, FMD_DEBUG, "settings from %s", cfg->config_path);
  start_peers(d);
  fmd_disc_start(&d->disc, d); /* after the static peers: a beacon may name one */
  return 0;
fail:
  d->stopping = 1;
  close_all(d);
  return rv;
}

/* ---- what the control socket asks ----------------------------------------------------------------- */

void fmd_node_status(fmd_node *d, fm_control_status *out) {
  fm_store_stats st;
  memset(out, 0, sizeof *out);
  snprintf(out->listen, sizeof out->listen, "%s", d->listener_open ? d->listen_text : "");
  memcpy(out->id, d->node.id.pk, FM_KEY_LEN);
  snprintf(out->name, sizeof out->name, "%s", d->self.name);
  snprintf(out->team, sizeof out->team, "%s", d->self.team);
  out->pid = (uint64_t)getpid();
  out->started = d->started;
  for (fmd_peer *p = d->peers; p; p = p->next) out->connected += fmd_peer_live(p) ? 1 : 0;
  out->known = d->naddrs;
  out->ingested = d->node.ingested;
  if (fm_store_stats_get(d->store, &st) < 0) return;
  out->entries = st.entries;
  /* Read from the store, which every ACK updates: the line changes the
   * moment a copy is confirmed. */
  fm_copies cp;
  if (fm_store_copies(d->store, d->node.id.pk, d->cfg->safe_copies, &cp) < 0) return;
  out->own_seq = cp.own;
  out->only_here = cp.none;
  out->copies_one = cp.one;
  out->copies_more = cp.more;
  out->receipted = cp.receipted;
  out->unsafe = cp.unsafe;
  out->safe_copies = cp.need;
  /* A scan whose chunks no other laptop keeps yet is not safe either. */
  fm_scan_copies sc = {0};
  if (fm_store_scan_copies(d->store, d->node.id.pk, d->cfg->safe_copies, &sc) < 0) return;
  out->safe = cp.unsafe == 0 && sc.unsafe == 0;
}

void fmd_node_report(fmd_node *d, const fmd_addr *a, fm_control_peer *out) {
  fmd_addr_report(a, out);
  if (a->conn) fmd_peer_report(a->conn, fmd_mono(), out);
  (void)d;
}

size_t fmd_node_peers(fmd_node *d, fm_control_peer *out, size_t cap) {
  /* The callers being ignored first: a flood of failed connections fills
   * the address records, and must not hide who is flooding. */
  size_t n = fmd_shun_report(&d->shun, (fm_time)uv_now(d->loop), fmd_now(), out, cap);
  for (fmd_addr *a = d->addrs; a; a = a->next, n++)
    if (n < cap) fmd_node_report(d, a, &out[n]);
  return n;
}

int fmd_node_sync(fmd_node *d, const char *text, fmd_addr **out, char *err, size_t cap) {
  char why[FM_CONTROL_TEXT_MAX];
  fmd_addr *a;
  if (d->stopping) {
    snprintf(err, cap, "the daemon is shutting down");
    return -1;
  }
  if (!(a = fmd_addr_find(d, text)) &&
      fmd_addr_new(d, text, FMD_MANUAL, &a, why, sizeof why) < 0) {
    snprintf(err, cap, "cannot sync with \"%s\": %s", text, why);
    return -1;
  }
  if (a->is_self) {
    snprintf(err, cap, "%s is this laptop itself", text);
    return -1;
  }
  a->streak = 0; /* a person asked: no backoff */
  *out = a;
  return 0;
}

fmd_peer *fmd_node_connected_to(fmd_node *d, const fmd_addr *a) {
  if (a->conn && fmd_peer_live(a->conn)) return a->conn;
  return a->has_id ? fmd_node_find_live(d, a->id, NULL) : NULL;
}

fmd_peer *fmd_node_find_live(fmd_node *d, const uint8_t id[FM_KEY_LEN], const fmd_peer *except) {
  for (fmd_peer *p = d->peers; p; p = p->next)
    if (p != except && fmd_peer_live(p) && !memcmp(p->peer_id, id, FM_KEY_LEN)) return p;
  return NULL;
}
