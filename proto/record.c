#include "fieldmesh/record.h"

#include <sodium.h>
#include <string.h>

#include "fieldmesh/entry.h"
#include "fieldmesh/error.h"
#include "fieldmesh/seal.h"
#include "fieldmesh/text.h"

static const char *const modes[FM_MODE_COUNT] = {"home", "village_point", "one_stop"};
static const char *const services[FM_SERVICE_COUNT] = {
    "account_created", "eid_activated",   "dossier_submitted", "payment_guided",
    "feedback_guided", "result_received", "app_installed"};
static const char *const statuses[FM_STATUS_COUNT] = {
    "draft", "submitted", "processing", "result_ready",
    "delivered", "rejected", "withdrawn"};

static int lookup(const char *const *names, int count, const char *s, size_t n) {
  for (int i = 0; i < count; i++)
    if (strlen(names[i]) == n && memcmp(names[i], s, n) == 0) return i;
  return -1;
}

const char *fm_mode_name(int m) {
  return m >= 0 && m < FM_MODE_COUNT ? modes[m] : "unknown";
}
int fm_mode_parse(const char *s, size_t n) { return lookup(modes, FM_MODE_COUNT, s, n); }

const char *fm_service_name(int i) {
  return i >= 0 && i < FM_SERVICE_COUNT ? services[i] : "unknown";
}
int fm_service_parse(const char *s, size_t n) {
  return lookup(services, FM_SERVICE_COUNT, s, n);
}

int fm_services_parse_list(const char *list, uint32_t *mask, const char **item,
                           size_t *item_len) {
  uint32_t m = 0;
  const char *p = list;
  int rv = 0;
  if (item) *item = list;
  if (item_len) *item_len = 0;
  do {
    const char *comma = strchr(p, ',');
    size_t n = comma ? (size_t)(comma - p) : strlen(p);
    const char *next = p + n + (comma ? 1 : 0);
    while (n && (*p == ' ' || *p == '\t')) p++, n--;
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t')) n--;
    int i = fm_service_parse(p, n);
    if (i < 0) rv = FM_ERR_INVAL;
    else if (m & (1u << i)) rv = FM_ERR_EXISTS;
    if (rv < 0) {
      if (item) *item = p;
      if (item_len) *item_len = n;
      return rv;
    }
    m |= 1u << i;
    p = next;
  } while (*p || p[-1] == ',');
  *mask = m;
  return 0;
}

const char *fm_status_name(int st) {
  return st >= 0 && st < FM_STATUS_COUNT ? statuses[st] : "unknown";
}
int fm_status_parse(const char *s, size_t n) {
  return lookup(statuses, FM_STATUS_COUNT, s, n);
}
int fm_status_rank(int st) {
  /* The two final states tie above the ladder; hlc then author decide. */
  return st >= FM_ST_REJECTED ? FM_ST_REJECTED : st;
}

void fm_record_id(char prefix, uint64_t ms, const uint8_t author[static 2],
                  const uint8_t rnd[static 2], char *out) {
  static const char b32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  uint8_t raw[10];
  for (int i = 0; i < 6; i++) raw[i] = (uint8_t)(ms >> (40 - 8 * i));
  raw[6] = author[0];
  raw[7] = author[1];
  raw[8] = rnd[0];
  raw[9] = rnd[1];
  out[0] = prefix;
  out[1] = '-';
  /* 80 bits, 16 digits of 5 bits, most significant first. */
  for (int d = 0; d < 16; d++) {
    int bit = d * 5, v = 0;
    for (int k = 0; k < 5; k++, bit++)
      v = (v << 1) | ((raw[bit / 8] >> (7 - bit % 8)) & 1);
    out[2 + d] = b32[v];
  }
  out[18] = 0;
}

/* A text field, written in its one form (fm_text_norm: NFC, trimmed), so
 * every laptop records a village typed composed or decomposed alike.
 * Text that is not UTF-8 fails the body (FM_ERR_MALFORMED). */
static void kv(fm_wr *w, const char *k, const char *v) {
  fm_buf t;
  fm_wr_cstr(w, k);
  fm_buf_init(&t, FM_ENTRY_MAX);
  int rv = v ? fm_text_norm(&t, v, strlen(v)) : 0;
  if (rv && !w->buf->err) w->buf->err = rv;
  fm_wr_str(w, t.p ? (const char *)t.p : "", t.len);
  fm_buf_free(&t);
}

/* A personal field: sealed when the writer seals (|s|) and the text is
 * not empty, else as kv (docs/privacy.md). */
static void pkv(fm_wr *w, const fm_sealer *s, const char *id, const char *k, const char *v) {
  fm_buf t;
  if (!s || !v || !v[0]) {
    kv(w, k, v);
    return;
  }
  fm_wr_cstr(w, k);
  fm_buf_init(&t, FM_ENTRY_MAX);
  int rv = fm_text_norm(&t, v, strlen(v));
  if (rv && !w->buf->err) w->buf->err = rv;
  fm_seal_write(w, s, id ? id : "", id ? strlen(id) : 0, k, t.p ? (const char *)t.p : "",
                t.len);
  if (t.p) sodium_memzero(t.p, t.len);
  fm_buf_free(&t);
}

int fm_visit_body(fm_buf *out, const fm_visit_in *v) {
  return fm_visit_body_sealed(out, v, NULL);
}

int fm_visit_body_sealed(fm_buf *out, const fm_visit_in *v, const fm_sealer *seal) {
  fm_wr w;
  int n = 0;
  if (v->mode < 0 || v->mode >= FM_MODE_COUNT) return FM_ERR_INVAL;
  fm_wr_init(&w, out);
  fm_wr_map(&w, 9);
  kv(&w, "id", v->id);
  kv(&w, "team", v->team);
  kv(&w, "village", v->village);
  pkv(&w, seal, v->id, "place", v->place);
  kv(&w, "date", v->date);
  kv(&w, "mode", fm_mode_name(v->mode));
  fm_wr_cstr(&w, "services");
  for (int i = 0; i < FM_SERVICE_COUNT; i++) n += (v->services >> i) & 1;
  fm_wr_array(&w, (uint32_t)n);
  for (int i = 0; i < FM_SERVICE_COUNT; i++)
    if ((v->services >> i) & 1) fm_wr_cstr(&w, fm_service_name(i));
  fm_wr_cstr(&w, "citizens");
  fm_wr_uint(&w, v->citizens);
  pkv(&w, seal, v->id, "note", v->note);
  return fm_buf_error(out);
}

/* `after`, last, only when the writer had seen a change of the record. */
static void after_kv(fm_wr *w, uint64_t after) {
  if (!after) return;
  fm_wr_cstr(w, "after");
  fm_wr_uint(w, after);
}

int fm_visit_void_body(fm_buf *out, const char *id, const char *reason) {
  return fm_visit_void_body_after(out, id, reason, 0);
}

int fm_visit_void_body_after(fm_buf *out, const char *id, const char *reason,
                             uint64_t after) {
  fm_wr w;
  fm_wr_init(&w, out);
  fm_wr_map(&w, after ? 3 : 2);
  kv(&w, "id", id);
  kv(&w, "reason", reason);
  after_kv(&w, after);
  return fm_buf_error(out);
}

int fm_dossier_body(fm_buf *out, const fm_dossier_in *d) {
  return fm_dossier_body_sealed(out, d, NULL);
}

int fm_dossier_body_sealed(fm_buf *out, const fm_dossier_in *d, const fm_sealer *seal) {
  fm_wr w;
  fm_wr_init(&w, out);
  fm_wr_map(&w, d->date ? 10 : 9);
  kv(&w, "id", d->id);
  kv(&w, "procedure", d->procedure);
  fm_wr_cstr(&w, "applicant");
  fm_wr_map(&w, 3);
  pkv(&w, seal, d->id, "name", d->name);
  pkv(&w, seal, d->id, "id_number", d->id_number);
  pkv(&w, seal, d->id, "phone", d->phone);
  kv(&w, "village", d->village);
  kv(&w, "team", d->team);
  kv(&w, "channel", d->channel);
  kv(&w, "portal_ref", d->portal_ref);
  fm_wr_cstr(&w, "attachments");
  fm_wr_array(&w, 0);
  pkv(&w, seal, d->id, "note", d->note);
  if (d->date) kv(&w, "date", d->date);
  return fm_buf_error(out);
}

int fm_dossier_status_body(fm_buf *out, const char *id, int status,
                           const char *ref, const char *note) {
  return fm_dossier_status_body_after(out, id, status, ref, note, 0);
}

int fm_dossier_status_body_after(fm_buf *out, const char *id, int status,
                                 const char *ref, const char *note, uint64_t after) {
  return fm_dossier_status_body_level(out, id, status, ref, note, after, 0);
}

int fm_dossier_status_body_level(fm_buf *out, const char *id, int status,
                                 const char *ref, const char *note, uint64_t after,
                                 uint64_t correction) {
  fm_wr w;
  if (status < 0 || status >= FM_STATUS_COUNT) return FM_ERR_INVAL;
  fm_wr_init(&w, out);
  fm_wr_map(&w, 4 + (after != 0) + (correction != 0));
  kv(&w, "id", id);
  kv(&w, "status", fm_status_name(status));
  kv(&w, "ref", ref);
  kv(&w, "note", note);
  after_kv(&w, after);
  if (correction) {
    fm_wr_cstr(&w, "correction");
    fm_wr_uint(&w, correction);
  }
  return fm_buf_error(out);
}

int fm_dossier_correct_body(fm_buf *out, const char *id, int status, const char *reason,
                            uint64_t after) {
  fm_wr w;
  if (status < 0 || status >= FM_STATUS_COUNT || !reason || !reason[0]) return FM_ERR_INVAL;
  fm_wr_init(&w, out);
  fm_wr_map(&w, after ? 4 : 3);
  kv(&w, "id", id);
  kv(&w, "status", fm_status_name(status));
  kv(&w, "reason", reason);
  after_kv(&w, after);
  return fm_buf_error(out);
}
