/* The dashboard's shared frame: query parameters, language, head and
 * navigation, times. */
#include "web_page.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fieldmesh/error.h"
#include "fieldmesh/record.h"
#include "node.h"

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Decodes |n| bytes of a query value ('+' is a space, %XX a byte). */
static void decode(const char *s, size_t n, char *out, size_t cap) {
  size_t o = 0;
  for (size_t i = 0; i < n && o + 1 < cap; i++) {
    int hi, lo;
    if (s[i] == '+') out[o++] = ' ';
    else if (s[i] == '%' && i + 2 < n &&
             (hi = hexval(s[i + 1])) >= 0 && (lo = hexval(s[i + 2])) >= 0) {
      out[o++] = (char)(hi << 4 | lo);
      i += 2;
    } else out[o++] = s[i];
  }
  out[o] = 0;
}

int fmd_web_param(const fmd_web_page *p, const char *name, char *out, size_t cap) {
  size_t nl = strlen(name);
  out[0] = 0;
  for (const char *s = p->query; *s;) {
    const char *end = strchr(s, '&');
    size_t len = end ? (size_t)(end - s) : strlen(s);
    if (len > nl && !strncmp(s, name, nl) && s[nl] == '=') {
      decode(s + nl + 1, len - nl - 1, out, cap);
      return 1;
    }
    s += len + (end ? 1 : 0);
  }
  return 0;
}

void fmd_web_lang(fmd_web_page *p, int more) {
  if (p->en) fmd_html_raw(&p->out, more ? "&amp;lang=en" : "?lang=en");
}

static const char STYLE[] =
    "body{font-family:'DejaVu Sans',system-ui,sans-serif;margin:0;color:#1d2430;"
    "background:#f6f7f9;font-size:14px}"
    "header{background:#17426b;color:#fff;padding:8px 16px;display:flex;flex-wrap:wrap;"
    "align-items:baseline;gap:16px}"
    "header b{font-size:16px}nav a{color:#dce8f5;margin-right:14px;text-decoration:none}"
    "nav a.on{color:#fff;font-weight:bold;border-bottom:2px solid #fff}"
    "header .lang{margin-left:auto;color:#dce8f5}"
    "main{padding:12px 16px}h1{font-size:18px;margin:4px 0 10px}"
    "h2{font-size:15px;margin:18px 0 6px}"
    "table{border-collapse:collapse;background:#fff;width:100%;font-size:13px}"
    "th,td{border-bottom:1px solid #e1e4e8;padding:4px 6px;text-align:left;"
    "vertical-align:top}th{background:#eef1f4;position:sticky;top:0}"
    "td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}"
    "tr.warn td{background:#fff4e0}tr.bad td{background:#fde8e8}"
    ".tag{display:inline-block;border-radius:3px;padding:0 5px;margin:1px 2px 1px 0;"
    "font-size:12px;background:#e9ecef}.tag.bad{background:#f8c9c9}"
    ".tag.warn{background:#ffe2a8}.tag.ok{background:#cfeccf}"
    ".muted{color:#6a7380}.box{background:#fff;padding:8px 12px;margin:8px 0;"
    "border:1px solid #e1e4e8}"
    "form.filter{display:flex;flex-wrap:wrap;gap:8px;align-items:end;margin-bottom:10px}"
    "form.filter label{display:flex;flex-direction:column;font-size:12px}"
    "input,select{font:inherit;padding:2px 4px}"
    ".wrap{overflow-x:auto}ul.problems{background:#fff;border:1px solid #e1e4e8;"
    "padding:8px 12px 8px 28px}ul.problems li{margin:4px 0}svg text{font-family:'DejaVu Sans',sans-serif;font-size:12px}";

static void nav_link(fmd_web_page *p, const char *path, const char *vi, const char *en,
                     const char *active) {
  fmd_html_rawf(&p->out, "<a href=\"%s", path);
  fmd_web_lang(p, 0);
  fmd_html_rawf(&p->out, "\"%s>", strcmp(path, active) ? "" : " class=\"on\"");
  fmd_html_text(&p->out, fmd_web_t(p, vi, en));
  fmd_html_raw(&p->out, "</a>");
}

void fmd_web_head(fmd_web_page *p, const char *title, const char *nav) {
  fmd_html *h = &p->out;
  fmd_html_rawf(h, "<!DOCTYPE html>\n<html lang=\"%s\"><head><meta charset=\"utf-8\">"
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                "<title>", p->en ? "en" : "vi");
  fmd_html_text(h, title);
  fmd_html_raw(h, " · fieldmesh</title><style>");
  fmd_html_raw(h, STYLE);
  fmd_html_raw(h, "</style></head><body><header><b>fieldmesh · ");
  fmd_html_text(h, p->d->self.commune);
  fmd_html_raw(h, "</b><nav>");
  nav_link(p, "/", "Mạng lưới", "Mesh", nav);
  nav_link(p, "/records", "Hồ sơ", "Records", nav);
  nav_link(p, "/reports", "Báo cáo", "Reports", nav);
  nav_link(p, "/upstream", "Chuyển lên", "Upstream", nav);
  nav_link(p, "/problems", "Vấn đề", "Problems", nav);
  fmd_html_rawf(h, "</nav><a class=\"lang\" href=\"%s?lang=%s\">%s</a></header><main><h1>",
                nav, p->en ? "vi" : "en", p->en ? "Tiếng Việt" : "English");
  fmd_html_text(h, title);
  fmd_html_raw(h, "</h1>");
}

void fmd_web_foot(fmd_web_page *p) {
  fmd_html_raw(&p->out, "<p class=\"muted\">");
  fmd_html_text(&p->out, fmd_web_t(p, "Trang chỉ để xem, lúc ", "Read-only page, made at "));
  fmd_web_time(p, (long long)fmd_now());
  fmd_html_raw(&p->out, ".</p></main></body></html>\n");
}

void fmd_web_time(fmd_web_page *p, long long ms) {
  char buf[32];
  struct tm tm;
  /* Vietnam time (UTC+7 all year), as the command line prints it. */
  time_t t = (time_t)(ms / 1000) + 7 * 3600;
  if (ms <= 0 || !gmtime_r(&t, &tm)) {
    fmd_html_raw(&p->out, "-");
    return;
  }
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm);
  fmd_html_text(&p->out, buf);
}

void fmd_web_status(fmd_web_page *p, int st) {
  static const char *const vi[FM_STATUS_COUNT] = {"nháp", "đã nộp", "đang xử lý",
                                                  "có kết quả", "đã trả kết quả",
                                                  "bị từ chối", "đã rút"};
  if (p->en || st < 0 || st >= FM_STATUS_COUNT) fmd_html_text(&p->out, fm_status_name(st));
  else fmd_html_text(&p->out, vi[st]);
}

void fmd_web_member(fmd_web_page *p, const uint8_t author[FM_KEY_LEN]) {
  fm_enrollment en;
  char hex[2 * FM_KEY_LEN + 1];
  if (fm_store_enrollment(p->d->store, author, &en, NULL, NULL, NULL) == 0) {
    fmd_html_text(&p->out, en.name);
    fmd_html_raw(&p->out, " <span class=\"muted\">(");
    fmd_html_text(&p->out, en.team);
    fmd_html_raw(&p->out, ")</span>");
    return;
  }
  fm_hex(author, FM_KEY_LEN, hex);
  hex[12] = 0;
  fmd_html_rawf(&p->out, "%s…", hex);
}

/* ---- sealed fields ------------------------------------------------------------ */

/* The dashboard's keyring: made on the first sealed record, for the
 * node's store and device key; loop thread only. */
static fm_keyring *web_keys;
static fm_store *web_keys_store;

static fm_keyring *keyring(fmd_web_page *p) {
  if (web_keys && web_keys_store == p->d->store) return web_keys;
  fmd_web_seal_close();
  if (fm_keyring_new(p->d->store, &p->d->node.id, &web_keys) == 0) web_keys_store = p->d->store;
  return web_keys;
}

void fmd_web_seal_close(void) {
  fm_keyring_free(web_keys);
  web_keys = NULL;
  web_keys_store = NULL;
}

void fmd_web_open_dossier(fmd_web_page *p, fm_dossier_view *d, fm_opened *o, const char *id,
                          size_t n) {
  if (d->sealed) fm_keyring_open_dossier(keyring(p), d, o, (fm_str){id, n});
}

void fmd_web_scan_name(fmd_web_page *p, const uint8_t author[FM_KEY_LEN], fm_str id,
                       fm_str team, const fm_attach *a, char *out) {
  size_t n;
  int rv;
  if (a->name) {
    snprintf(out, FM_SEAL_TEXT_MAX, "%.*s", (int)a->name_len, a->name);
    return;
  }
  rv = fm_keyring_open_value(keyring(p), author, id, FM_ATTACH_FIELD_NAME, a->name_sealed,
                             a->name_sealed_len, out, FM_SEAL_TEXT_MAX, &n);
  if (rv == FM_ERR_NOTFOUND) fm_keyring_locked_text(team, out);
  else if (rv < 0) snprintf(out, FM_SEAL_TEXT_MAX, "(unreadable)");
}

void fmd_web_open_visit(fmd_web_page *p, fm_visit_view *v, fm_opened *o, const char *id,
                        size_t n) {
  if (v->sealed) fm_keyring_open_visit(keyring(p), v, o, (fm_str){id, n});
}
