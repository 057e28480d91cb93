/* GET /metrics: the gateway's figures in Prometheus' text exposition
 * format (version 0.0.4), for the district's monitoring.  Same listener
 * and password as the pages.  Every family has its HELP and TYPE lines;
 * label values are escaped as the format says (backslash, quote,
 * newline). */
#include <stdlib.h>
#include <string.h>

#include "fieldmesh/forward.h"
#include "fieldmesh/roster.h"
#include "fieldmesh/store.h"
#include "node.h"
#include "web_mesh.h"
#include "web_page.h"

static void family(fmd_html *h, const char *name, const char *type, const char *help) {
  fmd_html_rawf(h, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample(fmd_html *h, const char *name, unsigned long long v) {
  fmd_html_rawf(h, "%s %llu\n", name, v);
}

/* A label value: \, " and newline escaped; nothing else changes. */
static void label_value(fmd_html *h, const char *v) {
  for (; *v; v++) {
    if (*v == '\\') fmd_html_raw(h, "\\\\");
    else if (*v == '"') fmd_html_raw(h, "\\\"");
    else if (*v == '\n') fmd_html_raw(h, "\\n");
    else fmd_html_rawf(h, "%c", *v);
  }
}

static void store_figures(fmd_web_page *p) {
  fmd_html *h = &p->out;
  fm_store_stats st;
  if (fm_store_stats_get(p->d->store, &st) < 0) return;
  family(h, "fieldmesh_entries", "gauge", "Entries this node holds, all authors.");
  sample(h, "fieldmesh_entries", st.entries);
  family(h, "fieldmesh_authors", "gauge", "Authors whose entries this node holds.");
  sample(h, "fieldmesh_authors", st.authors);
  family(h, "fieldmesh_quarantined_entries", "gauge", "Entries kept as evidence, not applied.");
  sample(h, "fieldmesh_quarantined_entries", st.quarantined);
  family(h, "fieldmesh_held_entries", "gauge", "Entries of authors not known yet.");
  sample(h, "fieldmesh_held_entries", st.held);
}

static void session_figures(fmd_web_page *p) {
  fmd_html *h = &p->out;
  fmd_node *d = p->d;
  uint64_t live = 0, in = d->ended_bytes_in, out = d->ended_bytes_out;
  for (const fmd_peer *q = d->peers; q; q = q->next) {
    fm_session_stats st;
    if (q->phase == FMD_P_CLOSED) continue;   /* counted among the ended */
    fmd_peer_stats(q, &st);
    in += st.bytes_in;
    out += st.bytes_out;
    live += (uint64_t)(st.state == FM_SS_SYNC || st.state == FM_SS_LIVE);
  }
  family(h, "fieldmesh_peers_live", "gauge", "Sync sessions open and past their HELLO.");
  sample(h, "fieldmesh_peers_live", live);
  family(h, "fieldmesh_received_bytes_total", "counter", "Bytes received from peers.");
  sample(h, "fieldmesh_received_bytes_total", in);
  family(h, "fieldmesh_sent_bytes_total", "counter", "Bytes sent to peers.");
  sample(h, "fieldmesh_sent_bytes_total", out);
  family(h, "fieldmesh_sessions_ended_total", "counter", "Sync sessions that ended.");
  sample(h, "fieldmesh_sessions_ended_total", d->sessions_ended);
  family(h, "fieldmesh_sessions_failed_total", "counter",
         "Sync sessions that ended in a failure (refused, broken, timed out).");
  sample(h, "fieldmesh_sessions_failed_total", d->sessions_failed);
}

static void ingest_figures(fmd_web_page *p) {
  fmd_html *h = &p->out;
  const fm_ingest_result *r = &p->d->node.received;
  static const char *const name[] = {"accepted", "duplicate", "held", "quarantined", "refused",
                                     "invalid"};
  const uint64_t v[] = {r->accepted, r->duplicate, r->held, r->quarantined, r->refused,
                        r->invalid};
  family(h, "fieldmesh_received_entries_total", "counter",
         "Entries received from peers, by outcome (invalid: refused as malformed or "
         "badly signed).");
  for (size_t i = 0; i < sizeof v / sizeof *v; i++)
    fmd_html_rawf(h, "fieldmesh_received_entries_total{outcome=\"%s\"} %llu\n", name[i],
                  (unsigned long long)v[i]);
}

static int sink_line(void *ctx, const fm_fwd_status *st) {
  fmd_web_page *p = ctx;
  fmd_html *h = &p->out;
  const char *fams[] = {"fieldmesh_sink_pending_entries", "fieldmesh_sink_forwarded_entries",
                        "fieldmesh_sink_failures"};
  const uint64_t v[] = {st->pending, st->forwarded, st->failures};
  for (int i = 0; i < 3; i++) {
    fmd_html_rawf(h, "%s{sink=\"%s\",target=\"", fams[i], fm_sink_kind_name(st->kind));
    label_value(h, st->target);
    fmd_html_rawf(h, "\"} %llu\n", (unsigned long long)v[i]);
  }
  return 0;
}

/* The sinks, and the oldest entry no receipt names (the lag a district
 * alerts on). */
static void sink_figures(fmd_web_page *p) {
  fmd_html *h = &p->out;
  uint8_t who[FM_KEY_LEN];
  uint64_t seq = 0;
  fm_time at = 0;
  fmd_html_raw(h, "# HELP fieldmesh_sink_pending_entries Entries waiting for this sink.\n"
                  "# TYPE fieldmesh_sink_pending_entries gauge\n"
                  "# HELP fieldmesh_sink_forwarded_entries Entries this sink acknowledged.\n"
                  "# TYPE fieldmesh_sink_forwarded_entries gauge\n"
                  "# HELP fieldmesh_sink_failures Failed deliveries in a row.\n"
                  "# TYPE fieldmesh_sink_failures gauge\n");
  fm_forward_each_status(p->d->store, sink_line, p);
  int found = fmd_web_oldest_unreceipted(p->d, who, &seq, &at);
  fm_time now = fmd_now();
  family(h, "fieldmesh_oldest_unreceipted_seconds", "gauge",
         "Age of the oldest entry of the commune no receipt names; 0 when every one has one.");
  sample(h, "fieldmesh_oldest_unreceipted_seconds",
         found > 0 && now > at ? (unsigned long long)((now - at) / 1000) : 0);
}

static void device_figures(fmd_web_page *p) {
  fmd_html *h = &p->out;
  fm_roster r = {NULL, 0};
  fmd_mesh ms = {NULL, 0};
  uint64_t silent = 0, enrolled = 0;
  fm_time now = fmd_now();
  if (fm_roster_load(p->d->store, &r) == 0 && fmd_web_mesh_gather(p, &r, &ms) == 0)
    for (size_t i = 0; i < ms.n; i++) {
      const fmd_mesh_row *w = &ms.rows[i];
      if (w->revoked || w->self) continue;
      enrolled++;
      silent += (uint64_t)(!w->last_synced || now - w->last_synced > DAY_MS);
    }
  family(h, "fieldmesh_devices", "gauge", "Enrolled devices, not revoked, this node aside.");
  sample(h, "fieldmesh_devices", enrolled);
  family(h, "fieldmesh_devices_silent", "gauge",
         "Devices that have not synced with this node for more than a day.");
  sample(h, "fieldmesh_devices_silent", silent);
  free(ms.rows);
  fm_roster_free(&r);
}

int fmd_web_metrics(fmd_web_page *p) {
  store_figures(p);
  session_figures(p);
  ingest_figures(p);
  sink_figures(p);
  device_figures(p);
  p->content_type = "text/plain; version=0.0.4; charset=utf-8";
  return 0;
}
