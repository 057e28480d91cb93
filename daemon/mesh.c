#include "mesh.h"

#include <stdio.h>
#include <string.h>

#include "fieldmesh/error.h"
#include "node.h"

#define LABEL_MAX 512
#define FMD_CAUGHT_UP_LOG_MS 10000

/* "3 min", "2 h 5 min": how long a connection lasted, for the log. */
static const char *span(fm_time ms, char *buf, size_t cap) {
  long long s = ms > 0 ? ms / 1000 : 0;
  if (s < 120) snprintf(buf, cap, "%lld s", s);
  else if (s < 7200) snprintf(buf, cap, "%lld min", s / 60);
  else snprintf(buf, cap, "%lld h %lld min", s / 3600, s / 60 % 60);
  return buf;
}

void fmd_mesh_caught_up(fmd_node *d, fmd_peer *p, const fm_session_stats *st) {
  char label[LABEL_MAX];
  if (p->addr) {
    p->addr->caught_up_at = fmd_wall_of(st->caught_up_at);
    p->addr->streak = 0; /* a completed exchange ends a run of failures */
  }
  /* Every live push ends in "caught up" again: at info level once, then
   * at most every FMD_CAUGHT_UP_LOG_MS, so a busy relay stays readable. */
  fmd_level lv = FMD_DEBUG;
  if (p->caught_up_count == 1 || st->caught_up_at - p->caught_up_logged >= FMD_CAUGHT_UP_LOG_MS) {
    lv = FMD_INFO;
    p->caught_up_logged = st->caught_up_at;
  }
  fmd_logf(&d->log, lv, "peer %s caught up: %llu in, %llu out",
           fmd_peer_label(p, label, sizeof label), (unsigned long long)st->entries_in,
           (unsigned long long)st->entries_out);
  /* Copies are counted by the node as ACKs arrive (fm_node's held
   * callback), never from "caught up": what was sent may still be lost. */
}

void fmd_mesh_refused(fmd_node *d, fmd_peer *p, const fm_msg_refusal *r, uint64_t total) {
  char label[LABEL_MAX], who[16];
  fm_hex(r->author, 4, who);
  fmd_logf(&d->log, FMD_WARN,
           "peer %s refused entries %llu-%llu of %s that we sent: %s (%llu refused in all); "
           "they are not counted as copies there",
           fmd_peer_label(p, label, sizeof label), (unsigned long long)r->from,
           (unsigned long long)r->to, who, fm_strerror((int)r->code), (unsigned long long)total);
}

/* ---- admission and duplicates ----------------------------------------------------- */

/* Two live connections to one node: the one dialled by the node with the
 * smaller id stays.  When the same node dialled both, the dialler's port
 * (which both ends see) settles it, so both ends close the same one. */
static fmd_peer *loser_of(fmd_node *d, fmd_peer *p, fmd_peer *q) {
  int self_smaller = memcmp(d->node.id.pk, p->peer_id, FM_KEY_LEN) < 0;
  int p_good = p->initiator == self_smaller;
  int q_good = q->initiator == self_smaller;
  if (p_good != q_good) return p_good ? q : p;
  return p->tie_port > q->tie_port ? p : q;
}

/* A device that connects again replaces its older incoming records: one
 * row per laptop in `fieldmesh peers`, history kept. */
static void merge_incoming(fmd_node *d, fmd_addr *a) {
  fmd_addr *o = d->addrs, *next;
  for (; o; o = next) {
    next = o->next;
    if (o == a || o->origin != FMD_INCOMING || o->conn || o->resolving || !o->has_id ||
        memcmp(o->id, a->id, FM_KEY_LEN))
      continue;
    a->failures += o->failures;
    if (!a->caught_up_at) a->caught_up_at = o->caught_up_at;
    if (!a->last_error[0]) snprintf(a->last_error, sizeof a->last_error, "%s", o->last_error);
    fmd_addr_close(o);
  }
}

static void answer_sync(fmd_node *d, fmd_addr *a, fmd_peer *via) {
  fm_control_peer r;
  fmd_node_report(d, via->addr ? via->addr : a, &r);
  fmd_ctl_sync_done(&d->ctl, a, &r, NULL);
}

void fmd_mesh_admitted(fmd_node *d, fmd_peer *p, const fm_session_stats *st) {
  char label[LABEL_MAX], other[LABEL_MAX];
  fmd_addr *a = p->addr;
  fmd_peer *q, *loser;
  fmd_peer_label(p, label, sizeof label);
  if (!memcmp(st->peer_id, d->node.id.pk, FM_KEY_LEN)) {
    if (a) a->is_self = 1;
    fmd_logf(&d->log, FMD_WARN, "%s is this laptop itself: not dialling it again", label);
    fmd_peer_close(p, "connected to itself", 1);
    if (a) fmd_ctl_sync_done(&d->ctl, a, NULL, "that address leads back to this laptop");
    return;
  }
  if (a) {
    a->has_id = 1;
    memcpy(a->id, st->peer_id, FM_KEY_LEN);
    snprintf(a->name, sizeof a->name, "%s", st->peer.name);
    snprintf(a->team, sizeof a->team, "%s", st->peer.team);
    a->last_connected = fmd_now();
    a->covered = 0;
    merge_incoming(d, a);
  }
  if (!p->initiator) fmd_shun_admitted(&d->shun, (const struct sockaddr *)&p->caller);
  fmd_logf(&d->log, FMD_INFO, "peer %s connected (%s)", label,
           p->initiator ? "we dialled" : "it dialled");
  if ((q = fmd_node_find_live(d, p->peer_id, p)) != NULL) {
    loser = loser_of(d, p, q);
    fmd_logf(&d->log, FMD_INFO, "peer %s: connected twice; closing the connection via %s",
             label, fmd_peer_label(loser, other, sizeof other));
    fmd_peer_close(loser, "duplicate connection", 1);
    if (loser == p) {
      if (a) answer_sync(d, a, q);
      return;
    }
  }
  if (a) answer_sync(d, a, p);
}

/* ---- the end of a connection ------------------------------------------------------------ */

/* The node behind |id| is no longer connected: records that stood aside
 * for that connection dial again. */
static void uncover(fmd_node *d, const uint8_t id[FM_KEY_LEN]) {
  if (fmd_node_find_live(d, id, NULL)) return;
  for (fmd_addr *a = d->addrs; a; a = a->next) {
    if (!a->covered || memcmp(a->id, id, FM_KEY_LEN)) continue;
    a->covered = 0;
    fmd_addr_schedule(a);
  }
}

/* |news|: say it at info level; the same refusal at every backoff step
 * is noise, so a repeat goes to debug. */
static void log_closed(fmd_node *d, fmd_peer *p, const char *reason, int failed, int news) {
  char label[LABEL_MAX], len[32], next[48] = "";
  fmd_addr *a = p->addr;
  fmd_peer_label(p, label, sizeof label);
  if (a && a->next_attempt)
    snprintf(next, sizeof next, "; next attempt in %.1f s",
             (double)(a->next_attempt - fmd_now()) / 1000.0);
  if (p->admitted)
    fmd_logf(&d->log, failed ? FMD_WARN : FMD_INFO, "peer %s disconnected after %s: %s%s",
             label, span(fmd_now() - p->since, len, sizeof len), reason, next);
  else if (p->initiator)
    fmd_logf(&d->log, news ? FMD_INFO : FMD_DEBUG, "cannot sync with %s: %s%s", label,
             reason, next);
  else
    fmd_logf(&d->log, failed ? FMD_INFO : FMD_DEBUG,
             "connection from %s ended before admission: %s", label, reason);
}

void fmd_mesh_misbehaved(fmd_node *d, fmd_peer *p, const char *reason) {
  const struct sockaddr *sa = (const struct sockaddr *)&p->caller;
  char ip[64];
  uint32_t failures;
  if (!d->cfg->ignore_failing) return;
  fm_time span = fmd_shun_failed(&d->shun, sa, reason, (fm_time)uv_now(d->loop), &failures);
  if (!span) return;
  fmd_logf(&d->log, FMD_WARN,
           "ignoring connections from %s for %lld s: %u of its connections failed (last: %s)",
           fmd_shun_ip(sa, ip, sizeof ip), (long long)(span / 1000), failures, reason);
}

void fmd_mesh_closed(fmd_node *d, fmd_peer *p, const char *reason, int failed) {
  fmd_addr *a = p->addr;
  int news = 1;
  if (a) {
    FM_ASSERT(a->conn == p);
    a->conn = NULL;
    news = !failed || a->failures == 0 || strcmp(a->last_error, reason) != 0;
    if (failed) fmd_addr_note_failure(a, reason);
    if (p->duplicate && a->has_id && !a->is_self) a->covered = 1;
    fmd_addr_schedule(a);
    if (!p->admitted) fmd_ctl_sync_done(&d->ctl, a, NULL, reason);
  }
  log_closed(d, p, reason, failed, news);
  if (p->admitted && !p->duplicate && !d->stopping) uncover(d, p->peer_id);
  /* The caller's ephemeral address of a connection that lost to another
   * one (or led to ourselves) says nothing worth keeping. */
  if (a && a->origin == FMD_INCOMING && (p->duplicate || a->is_self) && !d->stopping)
    fmd_addr_close(a);
}

void fmd_mesh_dial_failed(fmd_node *d, fmd_addr *a, const char *reason) {
  char next[48] = "";
  int news = a->failures == 0 || strcmp(a->last_error, reason) != 0;
  fmd_addr_note_failure(a, reason);
  fmd_addr_schedule(a);
  if (a->next_attempt)
    snprintf(next, sizeof next, "; next attempt in %.1f s",
             (double)(a->next_attempt - fmd_now()) / 1000.0);
  fmd_logf(&d->log, news ? FMD_INFO : FMD_DEBUG, "cannot sync with %s: %s%s", a->text,
           reason, next);
  fmd_ctl_sync_done(&d->ctl, a, NULL, reason);
}

void fmd_mesh_gone(fmd_node *d, fmd_peer *p) {
  for (fmd_peer **pp = &d->peers; *pp; pp = &(*pp)->next) {
    if (*pp == p) {
      *pp = p->next;
      d->npeers--;
      break;
    }
  }
  fmd_node_check_stopped(d);
}
