/* fieldmesh doctor: one screen that tells a member what is wrong with this
 * laptop's fieldmesh and what to do about it, in plain words.
 *
 * Each finding has a level: "problem" (something to act on) or "note"
 * (worth knowing).  The exit code is 0 when there is no problem, 1 when
 * there is at least one, so a script can ask too. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "args.h"
#include "cmd.h"
#include "cmd_net.h"
#include "fieldmesh/blob_store.h"
#include "fieldmesh/scan_copies.h"
#include "fieldmesh/error.h"
#include "fieldmesh/presence_store.h"
#include "fieldmesh/skew.h"
#include "out.h"
#include "roster.h"
#include "upstream.h"

#define DOCTOR_FINDINGS_MAX 64      /* more are counted, not listed */
#define DISK_LOW_BYTES (512ULL << 20)
#define DISK_LOW_PERCENT 5
#define PEER_FAILS 3                /* failures before a peer is a problem */
#define DOCTOR_SIGNATURES 2000      /* signatures the store check verifies (about 0.1 s) */

typedef struct finding {
  int problem;
  char what[160];                   /* the short name of the finding */
  char text[768];                   /* what it means and what to do */
} finding;

typedef struct doctor {
  fmc_ctx *c;
  finding f[DOCTOR_FINDINGS_MAX];
  int n, more, problems;
  uint64_t forks, revoked, expired, other_q;
  uint64_t fork_seq;                /* a seq of the last fork seen */
  uint8_t fork_author[FM_KEY_LEN];
  int have_self, q_rv;              /* our key is known; the quarantine scan's code */
  uint8_t self[FM_KEY_LEN];
  uint64_t self_forks;              /* quarantined entries of our own key that fork it */
  uint64_t self_fork_seq;           /* the lowest of their seqs */
  uint64_t rolled_back;             /* own entries set aside after a restored backup */
  uint64_t role_q;                  /* entries of a kind their writer's role may not write */
  uint8_t role_author[FM_KEY_LEN];  /* the last one's writer and kind */
  char role_kind[FM_KIND_MAX + 1];
  fm_restore_info ri;
} doctor;

static void add(doctor *d, int problem, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void add(doctor *d, int problem, const char *what, const char *fmt, ...) {
  va_list ap;
  d->problems += problem;
  if (d->n == DOCTOR_FINDINGS_MAX) {
    d->more++;
    return;
  }
  finding *f = &d->f[d->n++];
  f->problem = problem;
  snprintf(f->what, sizeof f->what, "%s", what);
  va_start(ap, fmt);
  vsnprintf(f->text, sizeof f->text, fmt, ap);
  va_end(ap);
}

static int on_quarantined(void *ctx, const uint8_t author[FM_KEY_LEN], uint64_t seq,
                          int reason, fm_time when, const uint8_t *bytes, size_t len) {
  doctor *d = ctx;
  (void)when, (void)bytes, (void)len;
  if ((reason == FM_ERR_FORK || reason == FM_ERR_BADPREV) && d->have_self &&
      memcmp(author, d->self, FM_KEY_LEN) == 0) {
    /* Our own log forked: a restored backup (or a copied key) wrote
     * numbers the mesh already held with other records. */
    if (!d->self_forks || seq < d->self_fork_seq) d->self_fork_seq = seq;
    d->self_forks++;
  } else if (reason == FM_ERR_ROLLEDBACK) {
    d->rolled_back++;
  } else if (reason == FM_ERR_FORK || reason == FM_ERR_BADPREV) {
    d->forks++;
    d->fork_seq = seq;
    memcpy(d->fork_author, author, FM_KEY_LEN);
  } else if (reason == FM_ERR_REVOKED) {
    d->revoked++;
  } else if (reason == FM_ERR_EXPIRED) {
    d->expired++;
  } else if (reason == FM_ERR_ROLE) {
    fm_limits lim = fm_limits_default();
    fm_entry e;
    d->role_q++;
    memcpy(d->role_author, author, FM_KEY_LEN);
    snprintf(d->role_kind, sizeof d->role_kind, "entry");
    if (fm_entry_decode(bytes, len, &lim, &e) == 0)
      snprintf(d->role_kind, sizeof d->role_kind, "%.*s", (int)e.kind_len, e.kind);
  } else {
    d->other_q++;
  }
  return 0;
}

/* Read the quarantine before anything is said: whether our own log forked
 * changes what the other findings may promise. */
static void scan_quarantine(doctor *d) {
  d->have_self = fm_store_self(d->c->store, d->self) == 0;
  d->q_rv = fm_store_each_quarantined(d->c->store, on_quarantined, d);
  if (fm_store_restore_info(d->c->store, &d->ri) < 0) memset(&d->ri, 0, sizeof d->ri);
}

/* A restored backup whose own log forked, and what became of the records
 * written on it (store/restore.c). */
static void check_restored(doctor *d) {
  if (d->ri.pending)
    add(d, 1, "restored from a backup",
        "this laptop was restored from an older copy and %llu record%s written on it since "
        "then had numbers the other laptops already used for other records of this laptop. "
        "%s kept aside and will be recorded again as new records as soon as this laptop "
        "has its own records back: connect to the mesh (or import a bundle from a laptop "
        "that has them). Nothing written here is lost.",
        (unsigned long long)d->ri.pending, d->ri.pending == 1 ? "" : "s",
        d->ri.pending == 1 ? "It is" : "They are");
  else if (d->ri.rewritten)
    add(d, 0, "restored from a backup",
        "this laptop was restored from an older copy: %llu record%s written on it after the "
        "restore %s recorded again as new records (same visit and dossier ids, marked "
        "restored) and reach%s the commune at the next sync. The first copies are kept "
        "as evidence (%llu entries in quarantine). Nothing to do.",
        (unsigned long long)d->ri.rewritten, d->ri.rewritten == 1 ? "" : "s",
        d->ri.rewritten == 1 ? "was" : "were", d->ri.rewritten == 1 ? "es" : "",
        (unsigned long long)d->rolled_back);
}

static void check_quarantine(doctor *d) {
  char name[300];
  int rv = d->q_rv;
  if (rv < 0) {
    add(d, 1, "store unreadable", "the quarantine table cannot be read (%s): run "
        "`fieldmesh verify`", fm_strerror(rv));
    return;
  }
  if (d->self_forks)
    add(d, 1, "own records forked",
        "this laptop wrote records numbered from %llu on while other laptops already held "
        "different records of this laptop with those numbers (it was restored from an older "
        "copy, or its key is on another laptop, and was used before it synced). Both are "
        "kept as evidence (%llu entries in quarantine), but it will not catch up by itself: "
        "do not record anything more on it, keep a bundle of what was written here "
        "(`fieldmesh bundle export -o FILE`) and tell the commune administrator.",
        (unsigned long long)d->self_fork_seq, (unsigned long long)d->self_forks);
  if (d->forks)
    add(d, 1, "fork",
        "the laptop of %s signed two different records with the same number (%llu): the same key is on "
        "two laptops, or a laptop restored from a backup was used. Both copies are kept "
        "(%llu entries in quarantine). Tell the commune administrator: that laptop's key "
        "should be revoked and the laptop enrolled again.",
        fmc_device_label(d->c, d->fork_author, name, sizeof name), (unsigned long long)d->fork_seq,
        (unsigned long long)d->forks);
  if (d->revoked)
    add(d, 0, "from revoked laptops",
        "%llu record%s written by laptops after they were revoked (lost or stolen) %s "
        "refused and kept apart as evidence. Nothing to do.", (unsigned long long)d->revoked,
        d->revoked == 1 ? "" : "s", d->revoked == 1 ? "was" : "were");
  if (d->expired)
    add(d, 1, "expired enrollment",
        "%llu record%s came from laptops whose enrollment had expired. Ask the commune "
        "administrator to renew those enrollments.", (unsigned long long)d->expired,
        d->expired == 1 ? "" : "s");
  if (d->role_q) {
    char who[FM_NAME_MAX * 2 + 8];
    add(d, 1, "changes not allowed to their writer",
        "%llu record%s came from laptops whose role may not write %s (the last: a %s by "
        "%s): kept apart, on every laptop alike. Tell the commune administrator.",
        (unsigned long long)d->role_q, d->role_q == 1 ? "" : "s",
        d->role_q == 1 ? "it" : "them", d->role_kind,
        fmc_author_label(d->c, d->role_author, who, sizeof who));
  }
  if (d->other_q)
    add(d, 1, "refused records",
        "%llu record%s broke the rules for %s kind and %s kept apart. Tell the "
        "commune administrator.", (unsigned long long)d->other_q, d->other_q == 1 ? "" : "s",
        d->other_q == 1 ? "its" : "their", d->other_q == 1 ? "was" : "were");
}

static int on_clock(void *ctx, const uint8_t author[FM_KEY_LEN], uint64_t entries,
                    uint64_t ahead_ms) {
  doctor *d = ctx;
  char name[300];
  uint8_t self[FM_KEY_LEN];
  double days = (double)ahead_ms / 86400000.0;
  /* Only this laptop's own clock is this laptop's problem; another
   * member's is told, with whose it is, and does not fail the check. */
  if (fm_store_self(d->c->store, self) == 0 && !memcmp(self, author, FM_KEY_LEN))
    add(d, 1, "wrong clock",
        "this laptop's clock was about %.1f days ahead when it wrote %llu record%s: set the "
        "date and time (the records are kept).", days, (unsigned long long)entries,
        entries == 1 ? "" : "s");
  else
    add(d, 0, "another laptop's clock",
        "the clock of the laptop of %s was about %.1f days ahead when its records arrived "
        "(%llu record%s). Their records are kept; nothing to do on this laptop, but tell "
        "them to set the date and time.",
        fmc_device_label(d->c, author, name, sizeof name), days, (unsigned long long)entries,
        entries == 1 ? "" : "s");
  return 0;
}

/* A clock off by minutes, as the devices' presence notes say (the median
 * offset from the devices each met directly, skew.h). */
static int on_note_clock(void *ctx, const fm_presence *p, const uint8_t *bytes, size_t len,
                         fm_time received) {
  doctor *d = ctx;
  char name[300], off[FM_SKEW_TEXT];
  uint8_t self[FM_KEY_LEN];
  (void)bytes, (void)len, (void)received;
  if (p->clock_offset <= FM_SKEW_WRONG_MS && p->clock_offset >= -FM_SKEW_WRONG_MS) return 0;
  fm_skew_text(p->clock_offset, off);
  if (fm_store_self(d->c->store, self) == 0 && !memcmp(self, p->device, FM_KEY_LEN))
    add(d, 0, "clock off",
        "this laptop's clock is %s from the laptops it met lately (+ ahead, - behind): "
        "set the date and time.", off);
  else
    add(d, 0, "another laptop's clock",
        "the clock of the laptop of %s is %s from the laptops it met lately (+ ahead, "
        "- behind), as its last presence note says: tell them to set the date and time.",
        fmc_device_label(d->c, p->device, name, sizeof name), off);
  return 0;
}

static void check_self(doctor *d, const fm_store_stats *st) {
  uint8_t self[FM_KEY_LEN];
  fm_enrollment en;
  uint64_t revoked_after;
  if (fm_store_self(d->c->store, self) != 0) {
    add(d, 1, "no device key", "this state folder has no device key: run `fieldmesh init`");
    return;
  }
  if (fm_store_enrollment(d->c->store, self, &en, &revoked_after, NULL, NULL) != 0) {
    add(d, 1, "not enrolled",
        "this laptop has not joined a commune: ask the administrator for a join file, then "
        "run `fieldmesh join FILE`");
    return;
  }
  if (revoked_after != UINT64_MAX)
    add(d, 1, "revoked",
        "this laptop was revoked by the commune administrator (lost or stolen?): records "
        "written after number %llu are refused everywhere, and this key is never trusted "
        "again. To record again, run `fieldmesh init` in a fresh state folder and have "
        "the new id enrolled (docs/operations.md, \"Re-enrolling a revoked laptop\").",
        (unsigned long long)revoked_after);
  else if (!fm_enroll_valid_at(&en, d->c->now))
    add(d, 1, "enrollment expired",
        "this laptop's enrollment has expired: ask the administrator to renew it");
  if (st->self_seen > st->self_seq && !d->self_forks && !d->ri.pending)
    add(d, 1, "behind its own records",
        "other laptops hold %llu records of this laptop but it has only %llu (restored from "
        "a backup?). Do not record anything yet: connect to the mesh or import a bundle, "
        "and it will fetch its own records back first.",
        (unsigned long long)st->self_seen, (unsigned long long)st->self_seq);
}

static void check_store(doctor *d, const fm_store_stats *st) {
  uint8_t self[FM_KEY_LEN];
  fm_copies cp;
  if (st->held)
    add(d, 0, "waiting for enrollments or records",
        "%llu record%s from laptops not enrolled here yet, or changing records this laptop "
        "has not received yet, %s kept aside; %s applied as soon as those enrollments or "
        "records arrive (sync with the commune hall).",
        (unsigned long long)st->held, st->held == 1 ? "" : "s",
        st->held == 1 ? "is" : "are", st->held == 1 ? "it is" : "they are");
  if (fm_store_self(d->c->store, self) == 0 && fmc_own_copies(d->c, self, &cp) == 0 &&
      cp.unsafe)
    add(d, 0, "only on this laptop",
        "%llu of this laptop's records %s on fewer than %u other laptop%s (as they "
        "confirmed) and not receipted: sync before you leave the village, or carry a bundle.",
        (unsigned long long)cp.unsafe, cp.unsafe == 1 ? "is" : "are", cp.need,
        cp.need == 1 ? "" : "s");
  fm_scan_copies sc;
  if (fm_store_self(d->c->store, self) == 0 && fmc_own_copies(d->c, self, &cp) == 0 &&
      fm_store_scan_copies(d->c->store, self, cp.need, &sc) == 0 && sc.unsafe)
    add(d, 0, "scans only on this laptop",
        "%llu scan%s attached here (%llu bytes) %s on fewer than %u other laptop%s (as they "
        "confirmed) and not receipted: stay in reach of another laptop until the sync has "
        "sent %s.",
        (unsigned long long)sc.unsafe, sc.unsafe == 1 ? "" : "s",
        (unsigned long long)sc.unsafe_bytes, sc.unsafe == 1 ? "is" : "are", cp.need,
        cp.need == 1 ? "" : "s", sc.unsafe == 1 ? "it" : "them");
  uint64_t wanted = 0, max = 0;
  int full = 0;
  if (fm_store_blob_wanted_count(d->c->store, &wanted) == 0 && wanted &&
      fm_store_scans_max(d->c->store, &max) == 0 &&
      fm_store_blob_full(d->c->store, max, &full) == 0 && full)
    add(d, 0, "scan quota reached",
        "this laptop holds the %llu MiB of scans its quota allows ([node] scans_max_mb), so "
        "it fetches none of the %llu chunk%s still named by records here; the commune hall "
        "keeps every scan. Raise the quota if the disk has room.",
        (unsigned long long)(max >> 20), (unsigned long long)wanted, wanted == 1 ? "" : "s");
  else if (wanted)
    add(d, 0, "scans not here yet",
        "%llu chunk%s of scans attached to dossiers here %s not reached this laptop: they "
        "come with the next sync, or carry a bundle made with --with-attachments.",
        (unsigned long long)wanted, wanted == 1 ? "" : "s", wanted == 1 ? "has" : "have");
  int rv = fm_store_each_clock_ahead(d->c->store, on_clock, d);
  if (rv < 0) add(d, 1, "store unreadable", "the clock table cannot be read (%s)", fm_strerror(rv));
  if (rv >= 0 && (rv = fm_store_presence_each(d->c->store, on_note_clock, d)) < 0)
    add(d, 1, "store unreadable", "the presence notes cannot be read (%s)", fm_strerror(rv));
}

static void check_disk(doctor *d) {
  struct statvfs v;
  if (statvfs(d->c->state, &v) != 0) return;
  unsigned long long avail = (unsigned long long)v.f_bavail * v.f_frsize;
  unsigned long long total = (unsigned long long)v.f_blocks * v.f_frsize;
  if (avail < DISK_LOW_BYTES || (total && avail * 100 / total < DISK_LOW_PERCENT))
    add(d, 1, "disk nearly full",
        "only %llu MB free on the disk that holds %s: free some space, or records and sync "
        "will stop (nothing already saved is lost).", avail >> 20, d->c->state);
}

static void check_peers(doctor *d) {
  fm_control_resp r;
  int rv = fmc_net_peer_list(d->c, &r);
  if (rv == 1) {
    add(d, 0, "daemon not running",
        "fieldmeshd is not running: this laptop syncs only by bundles. Start it with "
        "`fieldmeshd --state %s` (or the fieldmeshd service).", d->c->state);
    return;
  }
  if (rv < 0) {
    add(d, 1, "daemon not answering", "fieldmeshd does not answer properly: restart it");
    return;
  }
  for (size_t i = 0; i < r.npeers; i++) {
    const fm_control_peer *p = &r.peers[i];
    if (!strcmp(p->state, "ignored")) {
      long long s = (p->next_attempt - d->c->now + 999) / 1000;
      add(d, 1, "device ignored",
          "a device at %s made %llu connections that broke the fieldmesh protocol (last: "
          "%s), so it is ignored for %lld s more. If it is one of your laptops, update its "
          "fieldmesh; if not, it can neither read nor change anything here.",
          p->addr, (unsigned long long)p->failures, p->last_error[0] ? p->last_error : "?",
          s > 0 ? s : 0);
      continue;
    }
    if (p->failures < PEER_FAILS || !strcmp(p->state, "live")) continue;
    char name[2 * FM_NAME_MAX + FM_CONTROL_ADDR_MAX + 16];
    if (p->has_id) snprintf(name, sizeof name, "%s (%s) at %s", p->name, p->team, p->addr);
    else snprintf(name, sizeof name, "%s", p->addr);
    add(d, 1, "peer keeps failing",
        "%s failed %llu times, last: %s. If it is out of reach that is normal; if it is "
        "near, check the address and that its laptop is enrolled in this commune.",
        name, (unsigned long long)p->failures, p->last_error[0] ? p->last_error : "no answer");
  }
  fm_control_resp_free(&r);
}

/* A gateway's sinks: deliveries failing, or one entry refused again and
 * again while the others go through. */
static int on_sink(void *ctx, const fm_fwd_status *st) {
  doctor *d = ctx;
  char refused[384];
  if (!st->active) return 0;
  if (st->failures >= FMC_SINK_FAILURES)
    add(d, 1, "delivery failing",
        "%s %s has failed %u times in a row (last: %s). Entries wait in the store and go "
        "out when it works again; check that the commune's system is up and reachable "
        "from this machine.",
        fm_sink_kind_name(st->kind), st->target, st->failures, st->last_error);
  if (fmc_upstream_refused(d->c, st, refused, sizeof refused))
    add(d, 1, "entry refused upstream",
        "%s %s accepts the other entries but not %s. It is offered again with every "
        "batch; ask the commune's system why it refuses it.",
        fm_sink_kind_name(st->kind), st->target, refused);
  if (fmc_upstream_scans_waiting(d->c, st, refused, sizeof refused))
    add(d, 0, "scans waiting for chunks",
        "%s %s: %s. A scan goes upstream with its file only; the gateway fetches the chunks "
        "from the laptops it syncs with.", fm_sink_kind_name(st->kind), st->target, refused);
  if (st->active && st->placeholders)
    add(d, 0, "records upstream with placeholders",
        "%s %s received %llu entr%s with placeholders (\"(sealed: TEAM)\") for sealed fields "
        "this gateway could not open in time (%llu corrected so far). Each goes again, opened, "
        "as a correction once the writer's grant or a teammate's extension reaches the "
        "gateway: sync it with the writer's team.",
        fm_sink_kind_name(st->kind), st->target, (unsigned long long)st->placeholders,
        st->placeholders == 1 ? "y" : "ies", (unsigned long long)st->corrected);
  return 0;
}

static void check_sinks(doctor *d) {
  int rv = fm_forward_each_status(d->c->store, on_sink, d);
  if (rv < 0)
    add(d, 1, "forwarding unreadable",
        "the gateway's forwarding state cannot be read (%s): run `fieldmesh verify`.",
        fm_strerror(rv));
}

static void print_json(doctor *d) {
  fmc_json j;
  fmc_json_init(&j, stdout);
  fmc_json_obj(&j);
  fmc_json_key(&j, "problems");
  fmc_json_uint(&j, (uint64_t)d->problems);
  fmc_json_key(&j, "findings");
  fmc_json_arr(&j);
  for (int i = 0; i < d->n; i++) {
    fmc_json_obj(&j);
    fmc_json_key(&j, "level");
    fmc_json_str(&j, d->f[i].problem ? "problem" : "note");
    fmc_json_key(&j, "what");
    fmc_json_str(&j, d->f[i].what);
    fmc_json_key(&j, "text");
    fmc_json_str(&j, d->f[i].text);
    fmc_json_obj_end(&j);
  }
  fmc_json_arr_end(&j);
  fmc_json_key(&j, "not_listed");
  fmc_json_uint(&j, (uint64_t)d->more);
  fmc_json_obj_end(&j);
  fmc_json_end(&j);
}

static void print_text(doctor *d) {
  if (d->problems == 0) printf("No problems found.\n");
  else printf("%d problem%s found.\n", d->problems, d->problems == 1 ? "" : "s");
  for (int pass = 1; pass >= 0; pass--)
    for (int i = 0; i < d->n; i++)
      if (d->f[i].problem == pass)
        printf("\n%s %s\n  %s\n", pass ? "PROBLEM" : "note   ", d->f[i].what, d->f[i].text);
  if (d->more) printf("\n(%d more not listed)\n", d->more);
}

int fmc_cmd_doctor(fmc_ctx *c, int argc, char **argv) {
  fmc_spec spec = {"usage: fieldmesh doctor [--json]\n"
                   "What is wrong with this laptop's fieldmesh, and what to do about it:\n"
                   "a damaged store (its structure, every entry's hash, sampled signatures),\n"
                   "forks, refused records, wrong clocks, peers that keep failing, a\n"
                   "nearly full disk, records that are only on this laptop; on a gateway,\n"
                   "deliveries that fail and entries the commune's system keeps refusing.\n"
                   "Exit 0 when there is no problem, 1 when there is.\n",
                   NULL, 0, 0, {0}, 0};
  static doctor d;
  fm_store_stats st;
  int rv;
  if ((rv = fmc_args_parse(c, &spec, argc, argv)) != 0) return rv;
  if ((rv = fmc_open(c, 0)) != 0) return rv;
  /* The store itself first: its structure was checked as it opened; a
   * hash of every entry along its chain and a sample of signatures find
   * what changed inside an entry, on a stopped laptop too. */
  if ((rv = fm_store_check(c->store, DOCTOR_SIGNATURES, NULL, NULL, c->damage,
                           sizeof c->damage)) < 0)
    return fmc_store_fail(c, rv, "cannot read the store");
  if ((rv = fm_store_stats_get(c->store, &st)) < 0)
    return fmc_fail(c, "cannot read the store: %s; run `fieldmesh verify`", fm_strerror(rv));
  memset(&d, 0, sizeof d);
  d.c = c;
  scan_quarantine(&d);
  check_self(&d, &st);
  check_quarantine(&d);
  check_restored(&d);
  check_store(&d, &st);
  check_disk(&d);
  check_peers(&d);
  check_sinks(&d);
  if (c->json) print_json(&d);
  else print_text(&d);
  return d.problems ? FMC_FAIL : FMC_OK;
}
