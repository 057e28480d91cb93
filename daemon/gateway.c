#include "gateway.h"

#include "batch_json.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fieldmesh/error.h"
#include "node.h"
#include "unseal.h"

static void plan_next(fmd_sink *k);
static void after_work(uv_work_t *w, int status);
static void drop_batch(fmd_sink *k);

static const char *kind_name(const fmd_sink *k) { return fm_sink_kind_name(k->conf.kind); }

/* ---- timers ------------------------------------------------------------------------- */

static void on_timer(uv_timer_t *t) {
  fmd_sink *k = t->data;
  if (k->state == FMD_S_BUSY || k->g->stopping) return;
  plan_next(k);
}

static void arm(fmd_sink *k, fmd_sink_state st, uint64_t ms) {
  k->state = st;
  k->resend_wait = 0;
  uv_timer_start(&k->timer, on_timer, ms, 0);
}

/* After a failure: double the pause, from retry_min_ms to retry_max_ms,
 * then pick it at random in its upper half, so a commune's gateways do not
 * all knock at once when the server comes back. */
static uint32_t next_backoff(fmd_sink *k) {
  const fmd_upstream_config *c = k->g->env.cfg;
  uint64_t b = k->backoff_ms ? (uint64_t)k->backoff_ms * 2 : c->retry_min_ms;
  if (b > c->retry_max_ms) b = c->retry_max_ms;
  k->backoff_ms = (uint32_t)b;
  return (uint32_t)(b / 2 + randombytes_uniform((uint32_t)(b - b / 2) + 1));
}

/* Whether a whole batch waits already: then there is no point lingering. */
static int full_batch_waits(fmd_sink *k) {
  uint64_t pending = 0;
  fm_forward_pending(k->g->d->store, k->conf.id, &pending);
  return pending >= k->g->env.cfg->batch_entries;
}

static void linger(fmd_sink *k) {
  arm(k, FMD_S_LINGER, full_batch_waits(k) ? 0 : k->g->env.cfg->linger_ms);
}

void fmd_gateway_kick(fmd_gateway *g) {
  if (!g || g->stopping) return;
  for (size_t i = 0; i < g->nsinks; i++) {
    fmd_sink *k = &g->sinks[i];
    /* A grant or an extension may be among them: look for corrections. */
    k->resend_kick = 1;
    /* Busy or pausing: the next plan takes the new entries anyway. */
    if (k->state == FMD_S_IDLE || (k->state == FMD_S_LINGER && k->resend_wait)) linger(k);
  }
}

/* ---- one delivery ------------------------------------------------------------------------ */

static void work(uv_work_t *w) {
  fmd_sink *k = w->data;
  /* Opened here, not on the loop: up to FM_FWD_SCAN_BYTES to decrypt. */
  fmd_scans_open(&k->scans);
  k->ops->deliver(k->impl, &k->batch, &k->result);
}

static void result_free(fmd_sink *k) {
  if (k->result.refs)
    for (size_t i = 0; i < k->batch.n; i++) free(k->result.refs[i]);
  free(k->result.refs);
  free(k->result.accepted);
  memset(&k->result, 0, sizeof k->result);
}

static void failed(fmd_sink *k, const char *error) {
  fmd_log *log = &k->g->d->log;
  int rv = fm_forward_failed(k->g->d->store, k->conf.id, fmd_now(), error);
  uint32_t pause = next_backoff(k);
  /* The same failure at every pause is noise: once at warn, then debug. */
  int news = strcmp(k->last_error, error) != 0;
  fmd_logf(log, news ? FMD_WARN : FMD_DEBUG, "upstream %s: %s; %zu entries wait; next attempt "
           "in %.1f s", kind_name(k), error, k->batch.n, pause / 1000.0);
  if (rv < 0) fmd_logf(log, FMD_WARN, "upstream %s: cannot note the failure in the store: %s",
                       kind_name(k), fm_strerror(rv));
  snprintf(k->last_error, sizeof k->last_error, "%s", error);
  if (!k->g->stopping) arm(k, FMD_S_BACKOFF, pause);
  else k->state = FMD_S_IDLE;
}

static void committed(fmd_sink *k, const fm_fwd_done *done) {
  fmd_gateway *g = k->g;
  char hex[17];
  uint64_t pending = 0;
  fm_hex(k->batch.id, 8, hex);
  k->since_start += done->acked;
  fm_forward_pending(g->d->store, k->conf.id, &pending);
  if (k->last_error[0])
    fmd_logf(&g->d->log, FMD_INFO, "upstream %s: delivering again after %u failed attempts",
             kind_name(k), (unsigned)k->batch.attempts);
  k->last_error[0] = 0;
  k->backoff_ms = 0;
  fmd_logf(&g->d->log, FMD_DEBUG, "upstream %s: batch %s: %u of %zu entries acknowledged in "
           "%lld ms (%s); %u receipts; %llu entries wait", kind_name(k), hex, done->acked,
           k->batch.n, (long long)(fmd_now() - k->started), k->result.batch_ref, done->receipts,
           (unsigned long long)pending);
  if (k->result.note[0])
    fmd_logf(&g->d->log, FMD_INFO, "upstream %s: %s", kind_name(k), k->result.note);
  if (pending == 0)
    fmd_logf(&g->d->log, FMD_INFO, "upstream %s: caught up: %llu entries acknowledged since "
             "start", kind_name(k), (unsigned long long)k->since_start);
  /* The receipts are entries: offer them to the laptops now. */
  if (done->receipts) fmd_node_poke(g->d);
}

/* A correction came back: the entries the sink took are forgotten (no
 * receipt: they have theirs). */
static void after_resend(fmd_sink *k, size_t acked) {
  fmd_gateway *g = k->g;
  if (!k->result.ok || acked == 0) {
    char why[FMD_SINK_ERROR_MAX];
    snprintf(why, sizeof why, "correction: %.200s",
             k->result.ok ? (k->result.note[0] ? k->result.note : "it accepted no entry")
                          : (k->result.error[0] ? k->result.error : "failed"));
    k->resend_kick = 1;   /* after the pause, at once */
    k->resend_last = 0;
    failed(k, why);
    return;
  }
  int rv = fm_forward_resend_done(g->d->store, &k->batch, k->result.accepted);
  if (rv < 0) {
    fmd_logf(&g->d->log, FMD_WARN, "upstream %s: corrections delivered, but cannot record it "
             "in the store (%s): they will be delivered again", kind_name(k), fm_strerror(rv));
  } else {
    fmd_logf(&g->d->log, FMD_INFO, "upstream %s: %zu entries sent again as corrections, their "
             "sealed fields opened (they went with placeholders before)", kind_name(k), acked);
  }
  k->last_error[0] = 0;
  k->backoff_ms = 0;
  k->resend_kick = 1;     /* more may wait: look again at once */
  k->resend_last = 0;
  if (!g->stopping) linger(k);
}

static void after_work(uv_work_t *w, int status) {
  fmd_sink *k = w->data;
  fmd_gateway *g = k->g;
  fm_fwd_done done;
  size_t acked = 0;
  (void)status;
  k->state = FMD_S_IDLE;
  for (size_t i = 0; k->result.ok && i < k->batch.n; i++) acked += k->result.accepted[i] != 0;
  if (k->batch.resent) {
    after_resend(k, acked);
  } else if (!k->result.ok || acked == 0) {
    char why[FMD_SINK_ERROR_MAX];
    if (k->result.ok) {
      /* Answered, accepting nothing: the same id would get the same
       * answer (Idempotency-Key), so the batch is forgotten and its
       * entries go in a new one after the pause. */
      snprintf(why, sizeof why, "%s", k->result.note[0] ? k->result.note : "it accepted no entry");
      fm_fwd_ack none = {kind_name(k), k->result.accepted, NULL, NULL, NULL};
      fm_forward_commit(g->d->store, &g->d->node.id, &k->batch, &none, fmd_now(), &done);
    } else {
      snprintf(why, sizeof why, "%s", k->result.error[0] ? k->result.error : "failed");
    }
    failed(k, why);
  } else {
    fm_fwd_ack ack = {kind_name(k), k->result.accepted, (const char *const *)k->result.refs,
                      k->result.batch_ref, k->placeholders};
    int rv = fm_forward_commit(g->d->store, &g->d->node.id, &k->batch, &ack, fmd_now(), &done);
    if (rv < 0) {
      char why[FMD_SINK_ERROR_MAX];
      snprintf(why, sizeof why, "delivered, but cannot record it in the store (%s): it will be "
               "delivered again", fm_strerror(rv));
      failed(k, why);
    } else {
      committed(k, &done);
      if (!g->stopping) linger(k);
    }
  }
  result_free(k);
  drop_batch(k);
}

static void drop_batch(fmd_sink *k) {
  free(k->placeholders);
  k->placeholders = NULL;
  fmd_scans_reset(&k->scans);
  fm_fwd_batch_free(&k->batch);
}

/* Hands |k->batch|, opened, to a worker. */
static void start_delivery(fmd_sink *k) {
  fmd_gateway *g = k->g;
  int rv;
  memset(&k->result, 0, sizeof k->result);
  k->result.scans = &k->scans;
  /* The roster as this store knows it now: the worker must not read the
   * store.  (A few dozen members: cheap next to a batch.) */
  fm_buf_free(&k->roster);
  fm_buf_init(&k->roster, (size_t)4 << 20);
  k->result.roster = fmd_batch_roster(&k->roster, g->d->store) == 0 ? (const char *)k->roster.p
                                                                     : "[]";
  if (!(k->result.accepted = calloc(k->batch.n, 1))) {
    drop_batch(k);
    arm(k, FMD_S_BACKOFF, next_backoff(k));
    return;
  }
  k->state = FMD_S_BUSY;
  k->started = fmd_now();
  k->work.data = k;
  if ((rv = uv_queue_work(g->d->loop, &k->work, work, after_work)) < 0) {
    result_free(k);
    drop_batch(k);
    fmd_logf(&g->d->log, FMD_WARN, "upstream %s: cannot start a delivery: %s", kind_name(k),
             uv_strerror(rv));
    arm(k, FMD_S_BACKOFF, next_backoff(k));
  }
}

/* Opens |k->batch|'s sealed fields and loads its scans; |rec_locked|
 * (one per record, may be NULL) says which records kept a field. */
static int open_batch(fmd_sink *k, uint8_t *rec_locked, uint64_t *locked) {
  fmd_gateway *g = k->g;
  uint64_t scans_locked = 0;
  int rv;
  if (!k->opened.max) fm_buf_init(&k->opened, (size_t)1 << 30);
  if (!k->scans.ct.max) fmd_scans_init(&k->scans);
  if ((rv = fmd_unseal_batch_each(g->keys, &k->batch, &k->opened, locked, rec_locked)) < 0 ||
      (rv = fmd_scans_load(&k->scans, g->d->store, g->keys, &k->batch, &scans_locked)) < 0) {
    fmd_logf(&g->d->log, FMD_WARN, "upstream %s: cannot open the batch's sealed fields or read "
             "its scans: %s",
             kind_name(k), fm_strerror(rv));
    return rv;
  }
  *locked += scans_locked;
  return 0;
}

/* Waits for the next look for corrections. */
static void resend_later(fmd_sink *k, fm_time now) {
  fm_time at = k->resend_at;
  if (k->resend_kick && k->resend_last + FMD_RESEND_KICK_MS < at)
    at = k->resend_last + FMD_RESEND_KICK_MS;
  arm(k, FMD_S_LINGER, at > now ? (uint64_t)(at - now) : 0);
  k->resend_wait = 1;
}

/* Nothing new to forward: sends again, opened, the entries that went
 * with placeholders and whose key came since.  1 when the sink has
 * something to do (a delivery, a timer), 0 when it can stay idle. */
static int try_resend(fmd_sink *k) {
  fmd_gateway *g = k->g;
  fm_time now = fmd_now();
  uint64_t waiting = 0, locked = 0;
  uint8_t *rec_locked = NULL;
  if (fm_forward_placeholders(g->d->store, k->conf.id, &waiting) < 0 || waiting == 0) return 0;
  if (now < k->resend_at && !(k->resend_kick && now - k->resend_last >= FMD_RESEND_KICK_MS)) {
    resend_later(k, now);
    return 1;
  }
  k->resend_kick = 0;
  k->resend_last = now;
  k->resend_at = now + FMD_RESEND_POLL_MS;
  int rv = fm_forward_resend_next(g->d->store, k->conf.id, g->env.cfg->batch_entries, &k->batch);
  if (rv == 0 && !(rec_locked = calloc(k->batch.nrecords + 1, 1))) rv = -ENOMEM;
  if (rv == 0 && k->batch.n && !(k->placeholders = calloc(k->batch.n, 1))) rv = -ENOMEM;
  if (rv == 0 && k->batch.n && (rv = open_batch(k, rec_locked, &locked)) == 0 && locked)
    fmd_unseal_mark_items(&k->batch, rec_locked, &k->scans, k->placeholders);
  if (rv < 0 || k->batch.n == 0) {
    if (rv < 0)
      fmd_logf(&g->d->log, FMD_WARN, "upstream %s: cannot read the entries to send again: %s",
               kind_name(k), fm_strerror(rv));
    free(rec_locked);
    drop_batch(k);
    resend_later(k, now);
    return 1;
  }
  /* Only what opens now goes: the rest waits for its key. */
  size_t keep = 0, nrec = 0;
  fm_fwd_batch *b = &k->batch;
  for (size_t i = 0; i < b->n; i++)
    if (!k->placeholders[i]) b->items[keep++] = b->items[i];
  for (size_t i = 0; i < b->nrecords; i++)
    if (!rec_locked[i]) b->records[nrec++] = b->records[i];
  free(rec_locked);
  fmd_logf(&g->d->log, FMD_DEBUG, "upstream %s: %llu entries went with placeholders; %zu open "
           "now", kind_name(k), (unsigned long long)waiting, keep);
  if (keep == 0) {
    drop_batch(k);
    resend_later(k, now);
    return 1;
  }
  if (keep < b->n) {
    /* Scans point at items by index: load them again for those kept. */
    b->n = keep;
    b->nrecords = nrec;
    fmd_scans_reset(&k->scans);
    locked = 0;
    if ((rv = fmd_scans_load(&k->scans, g->d->store, g->keys, b, &locked)) < 0) {
      drop_batch(k);
      resend_later(k, now);
      return 1;
    }
  }
  free(k->placeholders);
  k->placeholders = NULL;
  start_delivery(k);
  return 1;
}

/* Reads the next batch (or the one that failed) and hands it to a worker. */
static void plan_next(fmd_sink *k) {
  fmd_gateway *g = k->g;
  fm_fwd_limits lim = {g->env.cfg->batch_entries, (size_t)g->env.cfg->batch_kib * 1024, 0,
                       (fm_time)g->env.cfg->scan_wait_hours * 3600 * 1000};
  int rv = fm_forward_next(g->d->store, k->conf.id, &lim, fmd_now(), &k->batch);
  if (rv < 0) {
    fm_fwd_batch_free(&k->batch);
    fmd_logf(&g->d->log, FMD_WARN, "upstream %s: cannot read the next batch from the store: "
             "%s", kind_name(k), fm_strerror(rv));
    arm(k, FMD_S_BACKOFF, next_backoff(k));
    return;
  }
  if (k->batch.n == 0) {
    uint32_t scans = k->batch.scans_waiting;
    fm_fwd_batch_free(&k->batch);
    k->state = FMD_S_IDLE;
    /* Chunks come without new entries (a session's CHUNKs, a bundle):
     * nothing else kicks the sink when they do. */
    if (scans && !g->stopping) {
      if (!k->scans_said)
        fmd_logf(&g->d->log, FMD_INFO, "upstream %s: %u scan%s wait%s for chunks not yet on "
                 "the gateway: their authors' entries go once they come", kind_name(k),
                 (unsigned)scans, scans == 1 ? "" : "s", scans == 1 ? "s" : "");
      k->scans_said = 1;
      arm(k, FMD_S_LINGER, FMD_SCAN_POLL_MS);
    }
    if (!g->stopping && k->state == FMD_S_IDLE) try_resend(k);
    return;
  }
  k->scans_said = 0;
  if (k->batch.resumed && k->batch.attempts == 0) {
    char hex[17];
    fm_hex(k->batch.id, 8, hex);
    /* Planned, perhaps delivered, never recorded as acknowledged: the
     * sink's idempotency makes this second delivery harmless. */
    fmd_logf(&g->d->log, FMD_INFO, "upstream %s: delivering batch %s (%zu entries) again: "
             "planned before the daemon stopped", kind_name(k), hex, k->batch.n);
  }
  /* Upstream gets the citizens' data in the clear (docs/privacy.md). */
  uint64_t locked = 0;
  uint8_t *rec_locked = calloc(k->batch.nrecords + 1, 1);
  if (!rec_locked || open_batch(k, rec_locked, &locked) < 0) {
    free(rec_locked);
    drop_batch(k);
    arm(k, FMD_S_BACKOFF, next_backoff(k));
    return;
  }
  fm_time hold = (fm_time)g->env.cfg->seal_hold_seconds * 1000;
  if (locked && fmd_now() - k->batch.created < hold && !g->stopping) {
    /* The writer's extension is probably on the way: wait for it. */
    fmd_logf(&g->d->log, FMD_DEBUG, "upstream %s: %llu sealed fields of the batch wait for "
             "their key", kind_name(k), (unsigned long long)locked);
    free(rec_locked);
    drop_batch(k);
    arm(k, FMD_S_LINGER, hold < 2000 ? (uint64_t)hold + 1 : 2000);
    return;
  }
  if (locked && (k->placeholders = calloc(k->batch.n, 1)) != NULL) {
    size_t n = fmd_unseal_mark_items(&k->batch, rec_locked, &k->scans, k->placeholders);
    fmd_logf(&g->d->log, FMD_WARN, "upstream %s: %zu entries go with placeholders for sealed "
             "fields this gateway holds no key for (waited %u s); they go again, opened, as "
             "corrections when the key comes", kind_name(k), n,
             (unsigned)g->env.cfg->seal_hold_seconds);
  }
  free(rec_locked);
  start_delivery(k);
}

/* ---- starting and stopping ------------------------------------------------------------------ */

__attribute__((format(printf, 2, 3))) static int refuse(fmd_gateway *g, const char *fmt, ...);
static int refuse(fmd_gateway *g, const char *fmt, ...) {
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  fmd_logf(&g->d->log, FMD_ERROR, "%s", line);
  return FMD_EXIT_FAIL;
}

static int add_sink(fmd_gateway *g, const fmd_sink_ops *ops, const char *arg) {
  fmd_sink *k = &g->sinks[g->nsinks];
  char err[768];
  int rv;
  memset(k, 0, sizeof *k);
  k->g = g;
  k->ops = ops;
  if (ops == &fmd_spool_ops)
    rv = fmd_spool_new(&g->env, arg, &k->impl, k->target, sizeof k->target, err, sizeof err);
  else if (ops == &fmd_pg_ops)
    rv = fmd_pg_new(&g->env, arg, &k->impl, k->target, sizeof k->target, err, sizeof err);
  else
    rv = fmd_http_new(&g->env, arg, &k->impl, k->target, sizeof k->target, err, sizeof err);
  if (rv < 0) return refuse(g, "%s", err);
  k->conf.kind = ops->kind;
  k->conf.target = k->target;
  fm_forward_sink_id(ops->kind, k->target, k->conf.id);
  g->nsinks++;
  return 0;
}

static int make_sinks(fmd_gateway *g) {
  const fmd_upstream_config *c = g->env.cfg;
  int rv = 0;
  if (c->spool[0]) rv = add_sink(g, &fmd_spool_ops, c->spool);
  if (rv == 0 && c->postgres[0]) rv = add_sink(g, &fmd_pg_ops, c->postgres);
  if (rv == 0 && c->http[0]) {
    if (fmd_http_global_init() < 0) return refuse(g, "cannot start libcurl");
    g->http_global = 1;
    rv = add_sink(g, &fmd_http_ops, c->http);
  }
  return rv;
}

int fmd_gateway_start(fmd_node *d, fmd_gateway **out) {
  fm_fwd_sink conf[FMD_SINKS_MAX];
  fmd_gateway *g = calloc(1, sizeof *g);
  int rv;
  *out = g;
  if (!g) {
    fmd_logf(&d->log, FMD_ERROR, "out of memory");
    return FMD_EXIT_FAIL;
  }
  g->d = d;
  g->env.cfg = &d->cfg->upstream;
  fm_hex(d->node.id.pk, FM_KEY_LEN, g->env.gateway);
  snprintf(g->env.commune, sizeof g->env.commune, "%s", d->self.commune);
  uint8_t authority[FM_KEY_LEN];
  if (fm_store_authority(d->store, authority, NULL) < 0)
    return refuse(g, "this laptop's store names no commune authority: run `fieldmesh join` "
                  "first");
  fm_hex(authority, FM_KEY_LEN, g->env.commune_id);
  if (d->self.role != FM_ROLE_GATEWAY)
    return refuse(g, "[upstream] is set, but this laptop is enrolled as %s, not gateway: its "
                  "receipts would be refused everywhere; enroll it with --role gateway, or "
                  "remove [upstream]", fm_role_name(d->self.role));
  if (fm_keyring_new(d->store, &d->node.id, &g->keys) < 0) return refuse(g, "out of memory");
  if ((rv = make_sinks(g)) != 0) return rv;
  for (size_t i = 0; i < g->nsinks; i++) {
    conf[i] = g->sinks[i].conf;
    FM_ASSERT(uv_timer_init(d->loop, &g->sinks[i].timer) == 0);
    g->sinks[i].timer.data = &g->sinks[i];
  }
  g->timers_open = 1;
  if ((rv = fm_forward_configure(d->store, conf, g->nsinks)) < 0)
    return refuse(g, "cannot record the gateway's sinks in the store: %s", fm_strerror(rv));
  for (size_t i = 0; i < g->nsinks; i++) {
    uint64_t pending = 0;
    fm_forward_pending(d->store, g->sinks[i].conf.id, &pending);
    fmd_logf(&d->log, FMD_INFO, "upstream %s %s: %llu entries to forward",
             kind_name(&g->sinks[i]), g->sinks[i].target, (unsigned long long)pending);
    /* A batch recorded before a crash or a failure goes first, at once. */
    arm(&g->sinks[i], FMD_S_LINGER, 0);
  }
  return 0;
}

void fmd_gateway_stop(fmd_gateway *g) {
  if (!g || g->stopping) return;
  g->stopping = 1;
  for (size_t i = 0; i < g->nsinks; i++) {
    fmd_sink *k = &g->sinks[i];
    if (k->state == FMD_S_BUSY) k->ops->cancel(k->impl);
    if (g->timers_open) uv_close((uv_handle_t *)&k->timer, NULL);
  }
  g->timers_open = 0;
}

void fmd_gateway_free(fmd_gateway *g) {
  if (!g) return;
  for (size_t i = 0; i < g->nsinks; i++) {
    fm_fwd_batch_free(&g->sinks[i].batch);
    free(g->sinks[i].placeholders);
    fm_buf_free(&g->sinks[i].roster);
    fm_buf_free(&g->sinks[i].opened);
    fmd_scans_free(&g->sinks[i].scans);
    g->sinks[i].ops->del(g->sinks[i].impl);
  }
  fm_keyring_free(g->keys);
  if (g->http_global) fmd_http_global_cleanup();
  free(g);
}
