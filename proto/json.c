/* MessagePack to JSON.  See include/fieldmesh/json.h. */
#include "fieldmesh/json.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "fieldmesh/entry.h"
#include "fieldmesh/error.h"
#include "fieldmesh/procedure.h"
#include "fieldmesh/record.h"
#include "fieldmesh/text.h"

static void put(fm_buf *out, const char *s) { fm_buf_put(out, s, strlen(s)); }

/* ---- strings ------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at |s| (|n| bytes left), or 0. */
static size_t utf8_seq(const uint8_t *s, size_t n) {
  size_t len = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
  if (s[0] < 0xc2 || s[0] > 0xf4 || n < len) return 0;
  return fm_utf8_valid((const char *)s, len) ? len : 0;
}

int fm_json_string(fm_buf *out, const char *str, size_t n, unsigned flags) {
  static const char hex[] = "0123456789abcdef";
  static const char fffd[] = "\xef\xbf\xbd";
  const uint8_t *s = (const uint8_t *)str;
  size_t i = 0, run = 0;
  fm_buf_put(out, "\"", 1);
  while (i < n) {
    uint8_t b = s[i];
    size_t len = 1;
    const char *esc = NULL;
    char u[7];
    if (b >= 0x80 && (len = utf8_seq(s + i, n - i)) == 0) {
      esc = fffd;   /* not UTF-8: one replacement per bad byte */
      len = 1;
    } else if (b == '"') {
      esc = "\\\"";
    } else if (b == '\\') {
      esc = "\\\\";
    } else if (b == 0 && (flags & FM_JSON_NO_NUL)) {
      esc = fffd;
    } else if (b < 0x20) {
      switch (b) {
      case '\n': esc = "\\n"; break;
      case '\r': esc = "\\r"; break;
      case '\t': esc = "\\t"; break;
      case '\b': esc = "\\b"; break;
      case '\f': esc = "\\f"; break;
      default:
        memcpy(u, "\\u00", 4);
        u[4] = hex[b >> 4];
        u[5] = hex[b & 15];
        u[6] = 0;
        esc = u;
      }
    }
    if (esc) {
      /* Copy the plain run before this character in one go. */
      fm_buf_put(out, s + i - run, run);
      run = 0;
      put(out, esc);
    } else {
      run += len;
    }
    i += len;
  }
  fm_buf_put(out, s + n - run, run);
  fm_buf_put(out, "\"", 1);
  return fm_buf_error(out);
}

static void hex_string(fm_buf *out, const uint8_t *p, size_t n) {
  char chunk[2 * 64 + 1];
  fm_buf_put(out, "\"", 1);
  while (n) {
    size_t k = n < 64 ? n : 64;
    fm_hex(p, k, chunk);
    fm_buf_put(out, chunk, 2 * k);
    p += k;
    n -= k;
  }
  fm_buf_put(out, "\"", 1);
}

/* ---- values -------------------------------------------------------------------------- */

static uint64_t be_n(const uint8_t *p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; i++) v = v << 8 | p[i];
  return v;
}

static int number(fm_buf *out, fm_rd *c) {
  char num[32];
  uint64_t u;
  int64_t i;
  if (fm_rd_uint(c, &u) == 0) snprintf(num, sizeof num, "%llu", (unsigned long long)u);
  else if (fm_rd_int(c, &i) == 0) snprintf(num, sizeof num, "%lld", (long long)i);
  else return FM_ERR_MALFORMED;
  put(out, num);
  return 0;
}

static int floating(fm_buf *out, fm_rd *c) {
  char num[40];
  double d;
  size_t w = *c->p == 0xca ? 4 : 8;
  if (fm_rd_left(c) < w + 1) return FM_ERR_MALFORMED;
  uint64_t raw = be_n(c->p + 1, (int)w);
  if (w == 4) {
    uint32_t r32 = (uint32_t)raw;
    float f;
    memcpy(&f, &r32, 4);
    d = f;
  } else {
    memcpy(&d, &raw, 8);
  }
  c->p += w + 1;
  if (isnan(d) || isinf(d)) put(out, "null");
  else {
    snprintf(num, sizeof num, "%.17g", d);
    put(out, num);
  }
  return 0;
}

static int value(fm_buf *out, fm_rd *c, int depth, unsigned flags);

/* A key that is not a string: its JSON text, quoted. */
static int odd_key(fm_buf *out, fm_rd *c, int depth, unsigned flags) {
  fm_buf tmp;
  int rv;
  fm_buf_init(&tmp, out->max);
  if ((rv = value(&tmp, c, depth, flags)) == 0)
    rv = fm_json_string(out, (const char *)tmp.p, tmp.len, flags);
  fm_buf_free(&tmp);
  return rv;
}

static int container(fm_buf *out, fm_rd *c, int depth, unsigned flags, int is_map) {
  uint32_t n;
  int rv = is_map ? fm_rd_map(c, &n) : fm_rd_array(c, &n);
  if (rv < 0) return rv;
  if (depth >= FM_JSON_DEPTH_MAX) return FM_ERR_TOOBIG;
  /* Every item takes at least a byte: a larger count is a lie. */
  if ((uint64_t)n * (is_map ? 2 : 1) > fm_rd_left(c)) return FM_ERR_MALFORMED;
  fm_buf_put(out, is_map ? "{" : "[", 1);
  for (uint32_t i = 0; i < n; i++) {
    if (i) fm_buf_put(out, ",", 1);
    if (is_map) {
      const char *k;
      size_t kn;
      if (fm_rd_peek(c) == FM_MT_STR) {
        if ((rv = fm_rd_str(c, &k, &kn)) < 0) return rv;
        fm_json_string(out, k, kn, flags);
      } else if ((rv = odd_key(out, c, depth + 1, flags)) < 0) {
        return rv;
      }
      fm_buf_put(out, ":", 1);
    }
    if ((rv = value(out, c, depth + 1, flags)) < 0) return rv;
  }
  fm_buf_put(out, is_map ? "}" : "]", 1);
  return fm_buf_error(out);
}

static int value(fm_buf *out, fm_rd *c, int depth, unsigned flags) {
  const char *s;
  const uint8_t *p;
  size_t n;
  int b;
  switch (fm_rd_peek(c)) {
  case FM_MT_NIL:
    put(out, "null");
    return fm_rd_nil(c);
  case FM_MT_BOOL:
    if (fm_rd_bool(c, &b) < 0) return FM_ERR_MALFORMED;
    put(out, b ? "true" : "false");
    return 0;
  case FM_MT_UINT: case FM_MT_INT: return number(out, c);
  case FM_MT_FLOAT: return floating(out, c);
  case FM_MT_STR:
    if (fm_rd_str(c, &s, &n) < 0) return FM_ERR_MALFORMED;
    return fm_json_string(out, s, n, flags);
  case FM_MT_BIN:
    if (fm_rd_bin(c, &p, &n) < 0) return FM_ERR_MALFORMED;
    hex_string(out, p, n);
    return 0;
  case FM_MT_ARRAY: return container(out, c, depth, flags, 0);
  case FM_MT_MAP: return container(out, c, depth, flags, 1);
  case FM_MT_EXT:
    if (fm_rd_skip(c, 1, 0) < 0) return FM_ERR_MALFORMED;
    put(out, "null");
    return 0;
  default: return FM_ERR_MALFORMED;
  }
}

int fm_json_msgpack(fm_buf *out, const uint8_t *p, size_t len, unsigned flags) {
  fm_rd c;
  size_t at = out->len;
  fm_rd_init(&c, p, len, 0);
  int rv = value(out, &c, 0, flags);
  if (rv == 0 && !fm_rd_done(&c)) rv = FM_ERR_MALFORMED;
  if (rv == 0) rv = fm_buf_error(out);
  if (rv < 0) out->len = at;   /* leave nothing half-written */
  return rv;
}

/* ---- times -------------------------------------------------------------------------------- */

/* Days since 1970-01-01 to a civil date (proleptic Gregorian). */
static void civil(int64_t z, int *y, unsigned *m, unsigned *d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  unsigned doe = (unsigned)(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t yy = (int64_t)yoe + era * 400;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = (int)(yy + (*m <= 2));
}

#define MS_9999 253402300799999LL

int fm_json_time(fm_buf *out, fm_time ms) {
  char t[40];
  int y;
  unsigned mo, d;
  if (ms < 0 || ms > MS_9999) {
    put(out, "null");
    return fm_buf_error(out);
  }
  int64_t secs = ms / 1000, days = secs / 86400, rem = secs % 86400;
  civil(days, &y, &mo, &d);
  snprintf(t, sizeof t, "\"%04d-%02u-%02uT%02d:%02d:%02d.%03dZ\"", y, mo, d, (int)(rem / 3600),
           (int)(rem / 60 % 60), (int)(rem % 60), (int)(ms % 1000));
  put(out, t);
  return fm_buf_error(out);
}

/* ---- entries and views -------------------------------------------------------------------- */

static void key(fm_buf *out, const char *k, int first) {
  if (!first) fm_buf_put(out, ",", 1);
  fm_buf_put(out, "\"", 1);
  put(out, k);
  fm_buf_put(out, "\":", 2);
}

static void uint_val(fm_buf *out, uint64_t v) {
  char num[24];
  snprintf(num, sizeof num, "%llu", (unsigned long long)v);
  put(out, num);
}

static void base64(fm_buf *out, const uint8_t *p, size_t n) {
  char chunk[sodium_base64_ENCODED_LEN(3 * 256, sodium_base64_VARIANT_ORIGINAL)];
  fm_buf_put(out, "\"", 1);
  /* Whole groups of three bytes per chunk, so the pieces join cleanly. */
  while (n) {
    size_t k = n < 3 * 256 ? n : 3 * 256;
    sodium_bin2base64(chunk, sizeof chunk, p, k, sodium_base64_VARIANT_ORIGINAL);
    put(out, chunk);
    p += k;
    n -= k;
  }
  fm_buf_put(out, "\"", 1);
}

int fm_json_entry(fm_buf *out, const uint8_t *bytes, size_t len, unsigned flags) {
  fm_entry e;
  uint8_t id[FM_ID_LEN];
  size_t at = out->len;
  int rv = fm_entry_decode(bytes, len, NULL, &e);
  if (rv < 0) return rv;
  fm_entry_id(bytes, len, id);
  fm_buf_put(out, "{\"type\":\"entry\"", 15);
  key(out, "id", 0);
  hex_string(out, id, FM_ID_LEN);
  key(out, "idempotency_key", 0);
  hex_string(out, id, FM_ID_LEN);
  key(out, "author", 0);
  hex_string(out, e.author, FM_KEY_LEN);
  key(out, "seq", 0);
  uint_val(out, e.seq);
  key(out, "prev", 0);
  if (e.has_prev) hex_string(out, e.prev, FM_ID_LEN);
  else put(out, "null");
  key(out, "hlc", 0);
  uint_val(out, e.hlc);
  key(out, "time", 0);
  fm_json_time(out, (fm_time)fm_hlc_ms(e.hlc));
  key(out, "kind", 0);
  fm_json_string(out, e.kind, e.kind_len, flags);
  key(out, "body", 0);
  if ((rv = fm_json_msgpack(out, e.body, e.body_len, flags)) < 0) {
    out->len = at;
    return rv;
  }
  key(out, "raw", 0);
  base64(out, bytes, len);
  fm_buf_put(out, "}", 1);
  return fm_buf_error(out);
}

int fm_json_text(fm_buf *out, const char *s, size_t n, unsigned flags) {
  fm_buf t;
  int rv;
  fm_buf_init(&t, FM_ENTRY_MAX);
  if (fm_text_norm(&t, s, n) == 0)
    rv = fm_json_string(out, t.p ? (const char *)t.p : "", t.len, flags);
  else
    rv = fm_json_string(out, s, n, flags);
  fm_buf_free(&t);
  return rv;
}

/* A view's text field in its one form, so the upstream groups a village
 * written decomposed by an older laptop with the composed one. */
static void str_field(fm_buf *out, const char *k, fm_str s, unsigned flags) {
  key(out, k, 0);
  fm_json_text(out, s.p, s.n, flags);
}

static void stamp_time(fm_buf *out, const char *k, const fm_stamp *s) {
  key(out, k, 0);
  if (s->set) fm_json_time(out, (fm_time)fm_hlc_ms(s->hlc));
  else put(out, "null");
}

/* Milliseconds at 00:00 in Vietnam (UTC+7) on the date |s| "YYYY-MM-DD",
 * or -1 when |s| is not such a date (the day is checked against 1..31). */
static fm_time vn_day_start(fm_str s) {
  int v[3] = {0, 0, 0}, w[3] = {4, 2, 2}, at = 0;
  if (s.n != 10 || s.p[4] != '-' || s.p[7] != '-') return -1;
  for (int f = 0; f < 3; f++, at++)
    for (int i = 0; i < w[f]; i++, at++) {
      if (s.p[at] < '0' || s.p[at] > '9') return -1;
      v[f] = v[f] * 10 + (s.p[at] - '0');
    }
  if (v[0] < 1970 || v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31) return -1;
  int64_t y = v[0] - (v[1] <= 2), era = y / 400;
  unsigned yoe = (unsigned)(y - era * 400);
  unsigned doy = (unsigned)((153 * (v[1] + (v[1] > 2 ? -3 : 9)) + 2) / 5 + v[2] - 1);
  int64_t days = era * 146097 + (int64_t)(yoe * 365 + yoe / 4 - yoe / 100 + doy) - 719468;
  return (fm_time)(days * 86400000 - 7LL * 3600 * 1000);
}

/* When the dossier was made: its creating entry's stamp when that falls on
 * the dossier's own date (Vietnam time), else that date's first instant --
 * a stamp made by a wrong clock is not shown as a creation time. */
static void created_time(fm_buf *out, const fm_dossier_view *d) {
  fm_time day = vn_day_start(d->date), at = (fm_time)fm_hlc_ms(d->created.hlc);
  key(out, "created_at", 0);
  if (!d->created.set) put(out, "null");
  else if (day >= 0 && (at < day || at >= day + 86400000)) fm_json_time(out, day);
  else fm_json_time(out, at);
}

static void stamp_author(fm_buf *out, const char *k, const fm_stamp *s) {
  key(out, k, 0);
  if (s->set) hex_string(out, s->author, FM_KEY_LEN);
  else put(out, "null");
}

/* The attachments of a view: each `dossier.attach` entry as
 * "AUTHOR:SEQ" (its author in hex, its seq), oldest first -- strings, so
 * an upstream keeps them as text (PostgreSQL's text[] column). */
static void attachments(fm_buf *out, const fm_dossier_view *d) {
  fm_stamp list[FM_VIEW_ATTACH_MAX];
  size_t n = fm_dossier_view_attachments(d, list);
  char num[24];
  fm_buf_put(out, "[", 1);
  for (size_t i = 0; i < n; i++) {
    char hex[2 * FM_KEY_LEN + 1];
    fm_hex(list[i].author, FM_KEY_LEN, hex);
    snprintf(num, sizeof num, ":%llu\"", (unsigned long long)list[i].seq);
    put(out, i ? ",\"" : "\"");
    put(out, hex);
    put(out, num);
  }
  fm_buf_put(out, "]", 1);
}

int fm_json_dossier(fm_buf *out, const char *id, size_t id_len, const fm_dossier_view *d,
                    unsigned flags) {
  const fm_procedure *proc = fm_procedure_find(d->procedure.p, d->procedure.n);
  const char *pname = proc ? proc->name_vi : "";
  fm_buf_put(out, "{\"type\":\"dossier\"", 17);
  str_field(out, "id", (fm_str){id, id_len}, flags);
  str_field(out, "procedure", d->procedure, flags);
  str_field(out, "procedure_name", (fm_str){pname, strlen(pname)}, flags);
  str_field(out, "applicant_name", d->applicant_name, flags);
  str_field(out, "applicant_id", d->applicant_id, flags);
  str_field(out, "phone", d->phone, flags);
  str_field(out, "village", d->village, flags);
  str_field(out, "team", d->team, flags);
  str_field(out, "channel", d->channel, flags);
  key(out, "status", 0);
  put(out, "\"");
  put(out, fm_status_name(d->status));
  put(out, "\"");
  str_field(out, "status_note", d->status_note, flags);
  str_field(out, "portal_ref", d->portal_ref, flags);
  str_field(out, "note", d->note, flags);
  key(out, "attachments", 0);
  attachments(out, d);
  created_time(out, d);
  stamp_author(out, "created_by", &d->created);
  stamp_time(out, "updated_at", &d->base);
  stamp_time(out, "status_at", &d->status_stamp);
  fm_buf_put(out, "}", 1);
  return fm_buf_error(out);
}

int fm_json_visit(fm_buf *out, const char *id, size_t id_len, const fm_visit_view *v,
                  unsigned flags) {
  int first = 1;
  fm_buf_put(out, "{\"type\":\"visit\"", 15);
  str_field(out, "id", (fm_str){id, id_len}, flags);
  str_field(out, "team", v->team, flags);
  str_field(out, "village", v->village, flags);
  str_field(out, "place", v->place, flags);
  str_field(out, "visit_date", v->date, flags);
  str_field(out, "mode", v->mode, flags);
  key(out, "services", 0);
  fm_buf_put(out, "[", 1);
  for (int i = 0; i < FM_SERVICE_COUNT; i++) {
    if (!((v->services >> i) & 1)) continue;
    if (!first) fm_buf_put(out, ",", 1);
    put(out, "\"");
    put(out, fm_service_name(i));
    put(out, "\"");
    first = 0;
  }
  fm_buf_put(out, "]", 1);
  key(out, "citizens", 0);
  uint_val(out, v->citizens);
  str_field(out, "note", v->note, flags);
  stamp_time(out, "recorded_at", &v->base);
  stamp_author(out, "recorded_by", &v->base);
  key(out, "voided", 0);
  put(out, v->void_stamp.set ? "true" : "false");
  str_field(out, "void_reason", v->void_reason, flags);
  fm_buf_put(out, "}", 1);
  return fm_buf_error(out);
}
