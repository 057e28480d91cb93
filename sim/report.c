#include "report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "work.h"

static int cmp_time(const void *x, const void *y) {
  fm_time a = *(const fm_time *)x, b = *(const fm_time *)y;
  return a < b ? -1 : a > b;
}

/* Nearest rank: the smallest value with at least |p| percent at or below. */
static double pct_hours(const fm_time *v, size_t n, int p) {
  if (!n) return 0;
  size_t k = (n * (size_t)p + 99) / 100;
  return (double)v[k ? k - 1 : 0] / 3600000.0;
}

static int delays(const sim_world *w, sim_figures *f) {
  const sim_ledger *l = &w->ledger;
  size_t cap = 0;
  for (size_t a = 0; a < l->n; a++)
    if (sim_ledger_is_field(l, a)) cap += l->a[a].expect;
  fm_time *v = malloc((cap + 1) * sizeof *v);
  if (!v) return -ENOMEM;
  size_t n = 0;
  for (size_t a = 0; a < l->n; a++) {
    if (!sim_ledger_is_field(l, a)) continue;
    for (uint64_t s = 0; s < l->a[a].expect; s++) {
      const sim_lentry *e = &l->a[a].e[s];
      if (e->at_gateway) v[n++] = e->at_gateway - e->created;
      else f->missing++;
    }
  }
  qsort(v, n, sizeof *v, cmp_time);
  f->to_gw = n;
  f->p50_h = pct_hours(v, n, 50);
  f->p95_h = pct_hours(v, n, 95);
  f->max_h = n ? (double)v[n - 1] / 3600000.0 : 0;
  free(v);
  return 0;
}

static int scan_delays(const sim_world *w, sim_figures *f) {
  const sim_ledger *l = &w->ledger;
  fm_time *v = malloc((l->nscans + 1) * sizeof *v);
  size_t n = 0;
  if (!v) return -ENOMEM;
  for (size_t i = 0; i < l->nscans; i++) {
    if (l->scans[i].whole_at_gateway) v[n++] = l->scans[i].whole_at_gateway - l->scans[i].created;
    else f->scans_never++;
  }
  qsort(v, n, sizeof *v, cmp_time);
  f->scans_whole = n;
  f->scan_p50_h = pct_hours(v, n, 50);
  f->scan_p95_h = pct_hours(v, n, 95);
  f->scan_max_h = n ? (double)v[n - 1] / 3600000.0 : 0;
  free(v);
  return 0;
}

/* Bytes the sessions sent of the message types |types| (0-terminated). */
static uint64_t sent_of(const sim_metrics *m, const int *types) {
  uint64_t s = 0;
  for (; *types; types++) s += m->msg_out[*types];
  return s;
}

static const int T_SCANS[] = {FM_MSG_WANT, FM_MSG_CHUNK, FM_MSG_NOCHUNK, 0};

/* The wire by what it carried, for the summary and the JSON. */
typedef struct wire_part {
  const char *name;
  int types[4];
} wire_part;

static const wire_part PARTS[] = {
    {"hello", {FM_MSG_HELLO, 0}},
    {"vector", {FM_MSG_VECTOR, 0}},
    {"entries", {FM_MSG_ENTRIES, FM_MSG_PACKED, 0}},
    {"ack", {FM_MSG_ACK, 0}},
    {"caughtup", {FM_MSG_CAUGHTUP, 0}},
    {"cert", {FM_MSG_CERT, 0}},
    {"ping", {FM_MSG_PING, FM_MSG_PONG, 0}},
    {"presence", {FM_MSG_PRESENCE, FM_MSG_PRESENCE_SUM, FM_MSG_PRESENCE_OFFER, 0}},
    {"scan", {FM_MSG_WANT, FM_MSG_CHUNK, FM_MSG_NOCHUNK, 0}},
    {"bye", {FM_MSG_BYE, FM_MSG_ERROR, 0}},
};
#define NPARTS (sizeof PARTS / sizeof PARTS[0])

/* The wire without the scans' chunks, over the entry bytes received. */
static double entry_ratio(const sim_metrics *m) {
  uint64_t scan = sent_of(m, T_SCANS);
  uint64_t wire = m->wire_bytes > scan ? m->wire_bytes - scan : 0;
  return m->entry_bytes_in ? (double)wire / (double)m->entry_bytes_in : 0;
}

/* ---- sealing --------------------------------------------------------------------------- */

typedef struct seal_scan {
  fm_keyring *k;
  const char *team;       /* the node's team; NULL for the commune hall */
  fm_view_kind kind;
  uint64_t foreign;       /* fields of another team's records it opened */
} seal_scan;

static int seal_row(void *ctx, const char *id, size_t n, const uint8_t *rec, size_t len) {
  seal_scan *sc = ctx;
  fm_dossier_view d;
  fm_visit_view v;
  static fm_opened o;
  fm_str team;
  uint64_t before = fm_keyring_counts(sc->k).opened;
  if (sc->kind == FM_VIEW_DOSSIER) {
    if (fm_dossier_view_decode(rec, len, &d) < 0) return 0;
    fm_keyring_open_dossier(sc->k, &d, &o, (fm_str){id, n});
    team = d.team;
  } else {
    if (fm_visit_view_decode(rec, len, &v) < 0) return 0;
    fm_keyring_open_visit(sc->k, &v, &o, (fm_str){id, n});
    team = v.team;
  }
  uint64_t opened = fm_keyring_counts(sc->k).opened - before;
  if (sc->team && (team.n != strlen(sc->team) || memcmp(team.p, sc->team, team.n)))
    sc->foreign += opened;
  return 0;
}

/* Opens every record of |n| with its own key. */
static int seal_node(sim_world *w, sim_node *n, sim_figures *f) {
  const sim_node_spec *sp = n->spec;
  int hall = sp->role == FM_ROLE_GATEWAY || sp->role == FM_ROLE_OFFICER || sp->role == FM_ROLE_ADMIN;
  seal_scan sc = {NULL, hall || sp->team < 0 ? NULL : w->sc->teams[sp->team].name, FM_VIEW_DOSSIER, 0};
  int rv = fm_keyring_new(n->store, &n->id, &sc.k);
  if (rv == 0) rv = fm_store_each_record(n->store, FM_VIEW_DOSSIER, seal_row, &sc);
  sc.kind = FM_VIEW_VISIT;
  if (rv == 0) rv = fm_store_each_record(n->store, FM_VIEW_VISIT, seal_row, &sc);
  fm_seal_counts c = fm_keyring_counts(sc.k);
  fm_keyring_free(sc.k);
  f->foreign_opened += sc.foreign;
  f->unreadable += c.unreadable;
  if (n->idx == w->sc->gateway) f->gw_seal = c;
  return rv;
}

int sim_report_figures(sim_world *w, sim_figures *f) {
  memset(f, 0, sizeof *f);
  for (size_t i = 0; w->opt.seal && i < w->nnodes; i++) {
    sim_node *n = &w->nodes[i];
    int rv;
    if (n->store && n->spec->hostile == SIM_HOSTILE_NONE && (rv = seal_node(w, n, f)) < 0)
      return rv;
  }
  for (size_t i = 0; i < w->nnodes; i++) {
    const sim_node *n = &w->nodes[i];
    fm_store_stats st;
    f->members += n->spec->role == FM_ROLE_MEMBER && n->spec->twin_of < 0;
    f->leaders += n->spec->role == FM_ROLE_LEADER;
    f->hostile += n->spec->hostile != SIM_HOSTILE_NONE;
    f->twins += n->spec->twin_of >= 0;
    f->honest += w->m.t[i].honest;
    if (!n->store || fm_store_stats_get(n->store, &st) < 0) continue;
    f->quarantined += st.quarantined;
    f->held += st.held;
    f->clock_ahead += st.clock_ahead;
  }
  f->converged = sim_metrics_converged(&w->m);
  if (f->converged && w->m.all_synced_at >= w->m.last_write_at)
    f->converge_h = (double)(w->m.all_synced_at - w->m.last_write_at) / 3600000.0;
  int rv = delays(w, f);
  return rv < 0 ? rv : scan_delays(w, f);
}

static const char *first_failure(const sim_check_report *r) {
  for (size_t i = 0; i < r->n; i++)
    if (!r->items[i].ok) return r->items[i].name;
  return NULL;
}

/* "42 ms", "12 s", "7.5 min", "3.2 h", "2.4 d". */
static void human(double hours, char *out, size_t cap) {
  double s = hours * 3600;
  if (s < 1) snprintf(out, cap, "%.0f ms", s * 1000);
  else if (s < 120) snprintf(out, cap, "%.1f s", s);
  else if (hours < 2) snprintf(out, cap, "%.1f min", s / 60);
  else if (hours < 72) snprintf(out, cap, "%.1f h", hours);
  else snprintf(out, cap, "%.1f d", hours / 24);
}

/* ---- for people ----------------------------------------------------------------------------- */

static void text_head(FILE *o, sim_world *w, const sim_figures *f) {
  const sim_scenario *sc = w->sc;
  const sim_metrics *m = &w->m;
  char start[11], last[17], end[17];
  sim_cal_date(sc->start_day, start);
  sim_cal_format(m->last_write_at ? m->last_write_at : w->t0, sc->tz_min, last);
  sim_cal_format(w->now, sc->tz_min, end);
  if (sc->title[0]) fprintf(o, "  %s\n", sc->title);
  fprintf(o, "  %d days of work from %s, run ended %s (%.1f simulated days, %llu events)\n",
          (int)((w->work_end - w->t0) / SIM_DAY_MS), start, end,
          (double)(w->now - w->t0) / SIM_DAY_MS, (unsigned long long)m->events);
  fprintf(o, "nodes        %zu: %zu members, %zu leaders, 1 gateway, %zu hostile, %zu twins; %zu honest at the end\n",
          w->nnodes, f->members, f->leaders, f->hostile, f->twins, f->honest);
  fprintf(o, "entries      %llu field entries (%llu visits, %llu dossiers, %llu status updates",
          (unsigned long long)sim_metrics_field_created(m), (unsigned long long)m->created[SIM_K_VISIT],
          (unsigned long long)m->created[SIM_K_DOSSIER], (unsigned long long)m->created[SIM_K_STATUS]);
  if (m->created[SIM_K_ATTACH])
    fprintf(o, ", %llu scans attached", (unsigned long long)m->created[SIM_K_ATTACH]);
  fprintf(o, "), %llu authority entries\n",
          (unsigned long long)(m->created[SIM_K_ENROLL] + m->created[SIM_K_REVOKE]));
  if (w->opt.seal)
    fprintf(o, "sealing      %llu grants; the gateway opens %llu sealed fields, %llu it holds no "
               "key for; %llu opened by another team's laptop, %llu unreadable\n",
            (unsigned long long)m->created[SIM_K_GRANT], (unsigned long long)f->gw_seal.opened,
            (unsigned long long)f->gw_seal.locked, (unsigned long long)f->foreign_opened,
            (unsigned long long)f->unreadable);
  char a[32], b[32], c[32], d[32];
  human(f->converge_h, a, sizeof a);
  if (f->converged)
    fprintf(o, "convergence  all %zu honest nodes agreed %s after the last write (%s)\n",
            f->honest, a, last);
  else
    fprintf(o, "convergence  NOT reached: %zu of %zu honest nodes agree at the end\n",
            m->n_synced, m->n_honest);
  human(f->p50_h, b, sizeof b);
  human(f->p95_h, c, sizeof c);
  human(f->max_h, d, sizeof d);
  fprintf(o, "to gateway   p50 %s, p95 %s, max %s over %llu entries; %llu never arrived\n", b, c, d,
          (unsigned long long)f->to_gw, (unsigned long long)f->missing);
}

static void text_body(FILE *o, sim_world *w, const sim_figures *f) {
  const sim_metrics *m = &w->m;
  uint64_t scan_wire = sent_of(m, T_SCANS);
  if (scan_wire)
    fprintf(o, "wire         %llu bytes on the wire, %llu of them scans; %llu for %llu entry bytes "
               "received (%.3f x); %llu bytes of entries written\n",
            (unsigned long long)m->wire_bytes, (unsigned long long)scan_wire,
            (unsigned long long)(m->wire_bytes - scan_wire), (unsigned long long)m->entry_bytes_in,
            entry_ratio(m), (unsigned long long)m->created_bytes);
  else
    fprintf(o, "wire         %llu bytes on the wire for %llu entry bytes received (%.3f x); "
               "%llu bytes of entries written\n",
            (unsigned long long)m->wire_bytes, (unsigned long long)m->entry_bytes_in,
            entry_ratio(m), (unsigned long long)m->created_bytes);
  fprintf(o, "             by message: handshake %llu", (unsigned long long)m->handshake_out);
  for (size_t i = 0; i < NPARTS; i++)
    fprintf(o, ", %s %llu", PARTS[i].name, (unsigned long long)sent_of(m, PARTS[i].types));
  fputc('\n', o);
  fprintf(o, "             %llu entries received, %llu accepted, %llu duplicates, %llu held "
             "for a while, in %llu batches\n",
          (unsigned long long)m->entries_in, (unsigned long long)m->entries_accepted,
          (unsigned long long)m->entries_dup, (unsigned long long)m->entries_held,
          (unsigned long long)m->batches);
  fprintf(o, "sessions     %llu opened: %llu completed, %llu ended with the window, %llu cut "
             "(%llu loss, %llu fault, %llu crash), %llu failed, %llu refused\n",
          (unsigned long long)m->sess_opened, (unsigned long long)m->sess_completed,
          (unsigned long long)m->sess_link_down, (unsigned long long)m->sess_cut,
          (unsigned long long)m->cut_loss, (unsigned long long)m->cut_fault,
          (unsigned long long)m->cut_crash, (unsigned long long)m->sess_failed,
          (unsigned long long)m->sess_refused);
  if (w->opt.scan_kb) {
    char a[32], b[32], c[32];
    human(f->scan_p50_h, a, sizeof a);
    human(f->scan_p95_h, b, sizeof b);
    human(f->scan_max_h, c, sizeof c);
    fprintf(o, "scans        %llu of %u KiB (%llu bytes, %llu sealed); %llu chunks taken in by the "
               "nodes, %llu bytes, for %llu on the wire (%.3f x)\n",
            (unsigned long long)m->scans, w->opt.scan_kb, (unsigned long long)m->scan_bytes,
            (unsigned long long)m->scan_chunk_bytes, (unsigned long long)m->chunks_in,
            (unsigned long long)m->chunk_bytes_in, (unsigned long long)scan_wire,
            m->chunk_bytes_in ? (double)scan_wire / (double)m->chunk_bytes_in : 0);
    fprintf(o, "             whole at the gateway: p50 %s, p95 %s, max %s over %llu scans; %llu "
               "never\n", a, b, c, (unsigned long long)f->scans_whole,
            (unsigned long long)f->scans_never);
  }
  if (m->bundles)
    fprintf(o, "bundles      %llu carried, %llu bytes, %llu entries\n", (unsigned long long)m->bundles,
            (unsigned long long)m->bundle_bytes, (unsigned long long)m->bundle_entries);
  fprintf(o, "faults       %llu crashes, %llu clock faults, %llu revocations, %llu forks, "
             "%llu hostile sessions (%llu dropped); %llu writes while down, %llu refused\n",
          (unsigned long long)m->crashes, (unsigned long long)m->clock_faults,
          (unsigned long long)m->revocations, (unsigned long long)m->forks,
          (unsigned long long)m->hostile_sessions, (unsigned long long)m->hostile_dropped,
          (unsigned long long)m->writes_down, (unsigned long long)m->writes_refused);
  if (m->corrections)
    fprintf(o, "corrections  %llu statuses corrected by a team-mate after seeing them\n",
            (unsigned long long)m->corrections);
  if (m->restores)
    fprintf(o, "restores     %llu laptops put back to an older copy; %llu records written on "
               "them under used numbers, %llu written again\n",
            (unsigned long long)m->restores, (unsigned long long)m->restored_writes,
            (unsigned long long)m->rewritten);
  fprintf(o, "stores       %llu entries quarantined, %llu held, %llu stamped too far ahead\n",
          (unsigned long long)f->quarantined, (unsigned long long)f->held,
          (unsigned long long)f->clock_ahead);
}

void sim_report_text(FILE *o, sim_world *w, const sim_figures *f, const sim_check_report *r) {
  text_head(o, w, f);
  text_body(o, w, f);
  fprintf(o, "invariants\n");
  for (size_t i = 0; i < r->n; i++) {
    const sim_check_item *it = &r->items[i];
    fprintf(o, "  %-6s %-18s %llu checked%s%s", it->ok ? "ok" : "FAILED", it->name,
            (unsigned long long)it->checked, it->detail[0] ? ": " : "", it->detail);
    if (it->failures > 1) fprintf(o, " (and %llu more)", (unsigned long long)(it->failures - 1));
    fputc('\n', o);
  }
  const char *bad = first_failure(r);
  if (bad) fprintf(o, "result       FAILED: %s (exit %d)\n", bad, r->exit_code);
  else fprintf(o, "result       all %zu invariants hold\n", r->n);
}

/* ---- for programs ------------------------------------------------------------------------------ */

static void json_head(sim_json *j, sim_world *w, const sim_figures *f) {
  const sim_scenario *sc = w->sc;
  const sim_metrics *m = &w->m;
  char date[11], end[17];
  sim_cal_date(sc->start_day, date);
  sim_cal_format(w->now, sc->tz_min, end);
  sim_json_obj(j, "scenario");
  sim_json_str(j, "name", sc->name);
  sim_json_str(j, "title", sc->title);
  sim_json_str(j, "commune", sc->commune);
  sim_json_str(j, "start", date);
  sim_json_i64(j, "days", (w->work_end - w->t0) / SIM_DAY_MS);
  sim_json_u64(j, "seed", w->opt.seed);
  sim_json_str(j, "ended", end);
  sim_json_num(j, "simulated_hours", (double)(w->now - w->t0) / 3600000.0, 2);
  sim_json_u64(j, "events", m->events);
  sim_json_end(j, '}');
  sim_json_obj(j, "nodes");
  sim_json_u64(j, "total", w->nnodes);
  sim_json_u64(j, "members", f->members);
  sim_json_u64(j, "leaders", f->leaders);
  sim_json_u64(j, "hostile", f->hostile);
  sim_json_u64(j, "twins", f->twins);
  sim_json_u64(j, "honest_at_end", f->honest);
  sim_json_end(j, '}');
  sim_json_obj(j, "entries");
  sim_json_u64(j, "field", sim_metrics_field_created(m));
  sim_json_u64(j, "visits", m->created[SIM_K_VISIT]);
  sim_json_u64(j, "dossiers", m->created[SIM_K_DOSSIER]);
  sim_json_u64(j, "status_updates", m->created[SIM_K_STATUS]);
  sim_json_u64(j, "authority", m->created[SIM_K_ENROLL] + m->created[SIM_K_REVOKE]);
  sim_json_u64(j, "field_bytes", m->created_bytes);
  sim_json_u64(j, "contested", m->twin_writes);
  sim_json_u64(j, "writes_while_down", m->writes_down);
  sim_json_u64(j, "writes_refused", m->writes_refused);
  sim_json_u64(j, "corrections", m->corrections);
  sim_json_end(j, '}');
  if (w->opt.seal) {
    sim_json_obj(j, "sealing");
    sim_json_u64(j, "grants", m->created[SIM_K_GRANT]);
    sim_json_u64(j, "gateway_opened", f->gw_seal.opened);
    sim_json_u64(j, "gateway_locked", f->gw_seal.locked);
    sim_json_u64(j, "foreign_opened", f->foreign_opened);
    sim_json_u64(j, "unreadable", f->unreadable);
    sim_json_end(j, '}');
  }
}

static void json_flow(sim_json *j, sim_world *w, const sim_figures *f) {
  const sim_metrics *m = &w->m;
  sim_json_obj(j, "convergence");
  sim_json_bool(j, "converged", f->converged);
  if (f->converged) sim_json_num(j, "hours_after_last_write", f->converge_h, 4);
  else sim_json_null(j, "hours_after_last_write");
  sim_json_u64(j, "honest_nodes", m->n_honest);
  sim_json_u64(j, "nodes_in_agreement", m->n_synced);
  sim_json_end(j, '}');
  sim_json_obj(j, "to_gateway");
  sim_json_u64(j, "entries", f->to_gw);
  sim_json_u64(j, "never_arrived", f->missing);
  sim_json_num(j, "p50_hours", f->p50_h, 4);
  sim_json_num(j, "p95_hours", f->p95_h, 4);
  sim_json_num(j, "max_hours", f->max_h, 4);
  sim_json_end(j, '}');
  sim_json_obj(j, "wire");
  sim_json_u64(j, "bytes", m->wire_bytes);
  sim_json_u64(j, "entry_bytes_received", m->entry_bytes_in);
  sim_json_num(j, "bytes_per_entry_byte", entry_ratio(m), 4);
  sim_json_u64(j, "entries_received", m->entries_in);
  sim_json_u64(j, "entries_accepted", m->entries_accepted);
  sim_json_u64(j, "duplicates", m->entries_dup);
  sim_json_u64(j, "held_on_arrival", m->entries_held);
  sim_json_u64(j, "batches", m->batches);
  sim_json_u64(j, "bundles", m->bundles);
  sim_json_u64(j, "bundle_bytes", m->bundle_bytes);
  sim_json_u64(j, "bundle_entries", m->bundle_entries);
  sim_json_obj(j, "by_message");
  sim_json_u64(j, "handshake", m->handshake_out);
  for (size_t i = 0; i < NPARTS; i++) sim_json_u64(j, PARTS[i].name, sent_of(m, PARTS[i].types));
  sim_json_end(j, '}');
  sim_json_end(j, '}');
  if (w->opt.scan_kb) {
    uint64_t scan_wire = sent_of(m, T_SCANS);
    sim_json_obj(j, "scans");
    sim_json_u64(j, "kib_each", w->opt.scan_kb);
    sim_json_u64(j, "attached", m->scans);
    sim_json_u64(j, "scan_bytes", m->scan_bytes);
    sim_json_u64(j, "sealed_bytes", m->scan_chunk_bytes);
    sim_json_u64(j, "chunks_received", m->chunks_in);
    sim_json_u64(j, "chunk_bytes_received", m->chunk_bytes_in);
    sim_json_u64(j, "scan_wire_bytes", scan_wire);
    sim_json_num(j, "scan_wire_ratio",
                 m->chunk_bytes_in ? (double)scan_wire / (double)m->chunk_bytes_in : 0, 4);
    sim_json_u64(j, "whole_at_gateway", f->scans_whole);
    sim_json_u64(j, "never_whole_at_gateway", f->scans_never);
    sim_json_num(j, "gateway_p50_hours", f->scan_p50_h, 4);
    sim_json_num(j, "gateway_p95_hours", f->scan_p95_h, 4);
    sim_json_num(j, "gateway_max_hours", f->scan_max_h, 4);
    sim_json_end(j, '}');
  }
}

static void json_sessions(sim_json *j, sim_world *w, const sim_figures *f) {
  const sim_metrics *m = &w->m;
  sim_json_obj(j, "sessions");
  sim_json_u64(j, "opened", m->sess_opened);
  sim_json_u64(j, "completed", m->sess_completed);
  sim_json_u64(j, "window_closed", m->sess_link_down);
  sim_json_u64(j, "cut", m->sess_cut);
  sim_json_u64(j, "cut_by_loss", m->cut_loss);
  sim_json_u64(j, "cut_by_fault", m->cut_fault);
  sim_json_u64(j, "cut_by_crash", m->cut_crash);
  sim_json_u64(j, "failed", m->sess_failed);
  sim_json_u64(j, "refused", m->sess_refused);
  sim_json_end(j, '}');
  sim_json_obj(j, "faults");
  sim_json_u64(j, "crashes", m->crashes);
  sim_json_u64(j, "restarts_checked", w->log.restarts);
  sim_json_u64(j, "clock", m->clock_faults);
  sim_json_u64(j, "revocations", m->revocations);
  sim_json_u64(j, "forks", m->forks);
  sim_json_u64(j, "hostile_sessions", m->hostile_sessions);
  sim_json_u64(j, "hostile_dropped", m->hostile_dropped);
  sim_json_u64(j, "restores", m->restores);
  sim_json_u64(j, "restored_writes", m->restored_writes);
  sim_json_u64(j, "rewritten", m->rewritten);
  sim_json_end(j, '}');
  sim_json_obj(j, "stores");
  sim_json_u64(j, "quarantined", f->quarantined);
  sim_json_u64(j, "held", f->held);
  sim_json_u64(j, "clock_ahead", f->clock_ahead);
  sim_json_u64(j, "dossiers_filed", sim_work_dossiers(w));
  sim_json_end(j, '}');
}

void sim_report_json(FILE *out, sim_world *w, const sim_figures *f, const sim_check_report *r) {
  sim_json j;
  sim_json_init(&j, out);
  sim_json_obj(&j, NULL);
  json_head(&j, w, f);
  json_flow(&j, w, f);
  json_sessions(&j, w, f);
  sim_json_arr(&j, "invariants");
  for (size_t i = 0; i < r->n; i++) {
    const sim_check_item *it = &r->items[i];
    sim_json_obj(&j, NULL);
    sim_json_str(&j, "name", it->name);
    sim_json_bool(&j, "ok", it->ok);
    sim_json_i64(&j, "exit_code", it->code);
    sim_json_u64(&j, "checked", it->checked);
    sim_json_u64(&j, "failures", it->failures);
    sim_json_str(&j, "detail", it->detail);
    sim_json_end(&j, '}');
  }
  sim_json_end(&j, ']');
  const char *bad = first_failure(r);
  sim_json_str(&j, "result", bad ? bad : "ok");
  sim_json_i64(&j, "exit_code", r->exit_code);
  sim_json_end(&j, '}');
}
