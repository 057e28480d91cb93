#include "batch_json.h"

#include <stdio.h>
#include <string.h>

#include "fieldmesh/enroll.h"
#include "fieldmesh/error.h"

void fmd_batch_hex(const fm_fwd_batch *b, char out[33]) { fm_hex(b->id, FM_RECEIPT_BATCH_LEN, out); }

static void put(fm_buf *out, const char *s) { fm_buf_put(out, s, strlen(s)); }

/* One record of the batch as JSON; 0 when it does not decode (a store
 * that `fieldmesh verify` would report), which writes nothing. */
static int record(fm_buf *out, const fm_fwd_record *r, unsigned flags, int *written) {
  fm_dossier_view d;
  fm_visit_view v;
  *written = 0;
  if (r->kind == FM_VIEW_DOSSIER) {
    if (fm_dossier_view_decode(r->rec, r->len, &d) < 0) return 0;
    *written = 1;
    return fm_json_dossier(out, r->id, r->id_len, &d, flags);
  }
  if (fm_visit_view_decode(r->rec, r->len, &v) < 0) return 0;
  *written = 1;
  return fm_json_visit(out, r->id, r->id_len, &v, flags);
}

/* Entry |i| of |b| as fm_json_entry writes it, and what became of its
 * scan when it is an attach entry: a member added inside its object. */
static int entry(fm_buf *out, const fm_fwd_batch *b, size_t i, const fmd_batch_meta *m,
                 unsigned flags) {
  int rv = fm_json_entry(out, b->items[i].bytes, b->items[i].len, flags);
  const fmd_scan *sc = m ? fmd_scans_of_item(m->scans, i) : NULL;
  if (rv < 0 || (!sc && !b->resent)) return rv;
  FM_ASSERT(out->len > 0 && out->p[out->len - 1] == '}');
  out->len--;
  if (sc && (rv = fmd_scan_json(out, sc, m->scan_suffix)) < 0) return rv;
  /* A correction: sent before with placeholders, now opened. */
  if (b->resent) put(out, ",\"resent\":true");
  put(out, "}");
  return fm_buf_error(out);
}

static void head_fields(fm_buf *out, const fm_fwd_batch *b, const fmd_batch_meta *m) {
  char hex[33];
  fmd_batch_hex(b, hex);
  put(out, "\"batch\":\"");
  put(out, hex);
  put(out, "\",\"gateway\":\"");
  put(out, m->gateway);
  put(out, "\",\"commune\":");
  fm_json_string(out, m->commune, strlen(m->commune), 0);
  put(out, ",\"sink\":\"");
  put(out, m->sink);
  put(out, "\",\"created\":");
  fm_json_time(out, b->created);
  /* A correction: entries sent before with placeholders, now opened. */
  if (b->resent) put(out, ",\"resent\":true");
}

int fmd_batch_ndjson(fm_buf *out, const fm_fwd_batch *b, const fmd_batch_meta *m) {
  char num[64];
  int rv, w;
  put(out, "{\"type\":\"batch\",");
  head_fields(out, b, m);
  snprintf(num, sizeof num, ",\"entries\":%zu,\"records\":%zu}\n", b->n, b->nrecords);
  put(out, num);
  for (size_t i = 0; i < b->n; i++) {
    if ((rv = entry(out, b, i, m, 0)) < 0) return rv;
    put(out, "\n");
  }
  for (size_t i = 0; i < b->nrecords; i++) {
    if ((rv = record(out, &b->records[i], 0, &w)) < 0) return rv;
    if (w) put(out, "\n");
  }
  return fm_buf_error(out);
}

int fmd_batch_json(fm_buf *out, const fm_fwd_batch *b, const fmd_batch_meta *m) {
  char hex[33];
  int rv, w, first = 1;
  fmd_batch_hex(b, hex);
  put(out, "{");
  head_fields(out, b, m);
  put(out, ",\"idempotency_key\":\"");
  put(out, hex);
  put(out, "\",\"entries\":[");
  for (size_t i = 0; i < b->n; i++) {
    if (i) put(out, ",");
    if ((rv = entry(out, b, i, m, 0)) < 0) return rv;
  }
  put(out, "],\"records\":[");
  for (size_t i = 0; i < b->nrecords; i++) {
    size_t at = out->len;
    if (!first) put(out, ",");
    if ((rv = record(out, &b->records[i], 0, &w)) < 0) return rv;
    if (!w) out->len = at;
    else first = 0;
  }
  put(out, "]}");
  return fm_buf_error(out);
}

int fmd_batch_pg(fm_buf *entries, fm_buf *dossiers, fm_buf *visits, const fm_fwd_batch *b) {
  int rv, w, first[2] = {1, 1};
  put(entries, "[");
  for (size_t i = 0; i < b->n; i++) {
    if (i) put(entries, ",");
    if ((rv = fm_json_entry(entries, b->items[i].bytes, b->items[i].len, FM_JSON_NO_NUL)) < 0)
      return rv;
  }
  put(entries, "]");
  put(dossiers, "[");
  put(visits, "[");
  for (size_t i = 0; i < b->nrecords; i++) {
    int d = b->records[i].kind == FM_VIEW_DOSSIER;
    fm_buf *out = d ? dossiers : visits;
    size_t at = out->len;
    if (!first[d]) put(out, ",");
    if ((rv = record(out, &b->records[i], FM_JSON_NO_NUL, &w)) < 0) return rv;
    if (!w) out->len = at;
    else first[d] = 0;
  }
  put(dossiers, "]");
  put(visits, "]");
  if ((rv = fm_buf_error(entries)) < 0 || (rv = fm_buf_error(dossiers)) < 0) return rv;
  return fm_buf_error(visits);
}

typedef struct roster_ctx {
  fm_buf *out;
  int first;
} roster_ctx;

static void roster_field(fm_buf *out, const char *k, const char *v) {
  fm_json_string(out, k, strlen(k), 0);
  put(out, ":");
  fm_json_text(out, v, strlen(v), FM_JSON_NO_NUL);
}

static int on_member(void *arg, const uint8_t *bytes, size_t len) {
  roster_ctx *r = arg;
  fm_entry e;
  fm_enrollment en;
  char hex[2 * FM_KEY_LEN + 1];
  if (fm_entry_decode(bytes, len, NULL, &e) < 0 || fm_enroll_parse(&e, &en) < 0) return 0;
  fm_hex(en.device, FM_KEY_LEN, hex);
  put(r->out, r->first ? "{" : ",{");
  r->first = 0;
  roster_field(r->out, "device", hex);
  put(r->out, ",");
  roster_field(r->out, "name", en.name);
  put(r->out, ",");
  roster_field(r->out, "team", en.team);
  put(r->out, ",");
  roster_field(r->out, "role", fm_role_name(en.role));
  put(r->out, "}");
  return 0;
}

int fmd_batch_roster(fm_buf *out, fm_store *s) {
  roster_ctx r = {out, 1};
  put(out, "[");
  int rv = fm_store_each_cert(s, on_member, &r);
  put(out, "]");
  fm_buf_put(out, "", 1);
  return rv < 0 ? rv : fm_buf_error(out);
}
