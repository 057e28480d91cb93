/* The Records page: dossiers or visits, filtered by village, team,
 * status, procedure and day, newest first (at most SHOWN rows, with the
 * count of all that match); and one dossier's page: its fields (identity
 * number and phone masked), its timeline -- who, by member name, when,
 * what -- and where and when each entry reached the commune's system,
 * with the reference from the receipt. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "fieldmesh/delivery.h"
#include "fieldmesh/entry.h"
#include "fieldmesh/error.h"
#include "fieldmesh/hlc.h"
#include "fieldmesh/procedure.h"
#include "fieldmesh/report.h"
#include "fieldmesh/text.h"
#include "fieldmesh/view.h"
#include "node.h"
#include "web_page.h"

#define SHOWN 200
#define FIELD_MAX 64

typedef struct filter {
  int visits;                       /* 1: visits, else dossiers */
  char village[FIELD_MAX], team[FIELD_MAX], procedure[FIELD_MAX];
  char status[FIELD_MAX];           /* a status name, or "" */
  char from[FIELD_MAX], to[FIELD_MAX]; /* "YYYY-MM-DD" days, inclusive, or "" */
} filter;

/* The ids of the newest SHOWN matches (a ring), and how many matched. */
typedef struct listing {
  fmd_web_page *p;
  const filter *f;
  char ids[SHOWN][FM_RECORD_ID_MAX + 1];
  size_t matched;
} listing;

/* The filter |want| (empty: any) against |s|, both in their one form
 * (fieldmesh/text.h), so a village an older laptop wrote decomposed is
 * found by the one typed composed. */
static int is(fm_str s, const char *want) {
  return !want[0] || fm_text_same(s.p, s.n, want, strlen(want), 0);
}

static int in_days(const filter *f, const char *day) {
  return (!f->from[0] || strncmp(day, f->from, 10) >= 0) &&
         (!f->to[0] || strncmp(day, f->to, 10) <= 0);
}

static void keep(listing *l, const char *id, size_t n) {
  char *slot = l->ids[l->matched++ % SHOWN];
  if (n > FM_RECORD_ID_MAX) n = FM_RECORD_ID_MAX;
  memcpy(slot, id, n);
  slot[n] = 0;
}

static int match_dossier(void *ctx, const char *id, size_t n, const uint8_t *rec, size_t len) {
  listing *l = ctx;
  const filter *f = l->f;
  fm_dossier_view d;
  char day[16];
  if (fm_dossier_view_decode(rec, len, &d) < 0) return 0;
  fm_report_dossier_day(&d, day);
  if (!is(d.village, f->village) || !is(d.team, f->team) || !is(d.procedure, f->procedure) ||
      (f->status[0] && strcmp(fm_status_name(d.status), f->status)) || !in_days(f, day))
    return 0;
  keep(l, id, n);
  return 0;
}

static int match_visit(void *ctx, const char *id, size_t n, const uint8_t *rec, size_t len) {
  listing *l = ctx;
  const filter *f = l->f;
  fm_visit_view v;
  char day[16];
  if (fm_visit_view_decode(rec, len, &v) < 0) return 0;
  if (v.date.n == 10) memcpy(day, v.date.p, 10), day[10] = 0;
  else fm_report_day((fm_time)fm_hlc_ms(v.base.hlc), day);
  if (!is(v.village, f->village) || !is(v.team, f->team) || f->procedure[0] ||
      (f->status[0] && strcmp(f->status, v.void_stamp.set ? "voided" : "recorded")) ||
      !in_days(f, day))
    return 0;
  keep(l, id, n);
  return 0;
}

static void str(fmd_web_page *p, fm_str s) { fmd_html_textn(&p->out, s.p, s.n); }

static int row_dossier(void *ctx, const char *id, size_t n, const uint8_t *rec, size_t len) {
  fmd_web_page *p = ctx;
  fm_dossier_view d;
  char day[16];
  if (fm_dossier_view_decode(rec, len, &d) < 0) return 0;
  fm_opened *o = d.sealed ? malloc(sizeof *o) : NULL;
  if (o) fmd_web_open_dossier(p, &d, o, id, n);
  else if (d.sealed) d.applicant_name = (fm_str){"", 0};
  fm_report_dossier_day(&d, day);
  fmd_html_raw(&p->out, "<tr><td><a href=\"/records/");
  fmd_html_url(&p->out, id);
  fmd_web_lang(p, 0);
  fmd_html_raw(&p->out, "\">");
  fmd_html_textn(&p->out, id, n);
  fmd_html_rawf(&p->out, "</a></td><td>%s</td><td>", day);
  str(p, d.procedure);
  fmd_html_raw(&p->out, "</td><td>");
  str(p, d.applicant_name);
  fmd_html_raw(&p->out, "</td><td>");
  str(p, d.village);
  fmd_html_raw(&p->out, "</td><td>");
  fmd_web_member(p, d.created.author);
  fmd_html_raw(&p->out, "</td><td>");
  fmd_web_status(p, d.status);
  fmd_html_raw(&p->out, "</td><td>");
  str(p, d.portal_ref);
  fmd_html_raw(&p->out, "</td></tr>\n");
  if (o) sodium_memzero(o, sizeof *o);
  free(o);
  return 0;
}

static int row_visit(void *ctx, const char *id, size_t n, const uint8_t *rec, size_t len) {
  fmd_web_page *p = ctx;
  fm_visit_view v;
  if (fm_visit_view_decode(rec, len, &v) < 0) return 0;
  fmd_html_raw(&p->out, "<tr><td>");
  fmd_html_textn(&p->out, id, n);
  fmd_html_raw(&p->out, "</td><td>");
  str(p, v.date);
  fmd_html_raw(&p->out, "</td><td>");
  str(p, v.village);
  fmd_html_raw(&p->out, "</td><td>");
  fmd_web_member(p, v.base.author);
  fmd_html_raw(&p->out, "</td><td>");
  str(p, v.mode);
  fmd_html_rawf(&p->out, "</td><td class=\"n\">%llu</td><td>", (unsigned long long)v.citizens);
  if (v.void_stamp.set) {
    fmd_html_text(&p->out, fmd_web_t(p, "đã huỷ: ", "voided: "));
    str(p, v.void_reason);
  }
  fmd_html_raw(&p->out, "</td></tr>\n");
  return 0;
}

static void input(fmd_web_page *p, const char *name, const char *vi, const char *en,
                  const char *value, const char *type) {
  fmd_html_rawf(&p->out, "<label>%s<input type=\"%s\" name=\"%s\" value=\"",
                fmd_web_t(p, vi, en), type, name);
  fmd_html_text(&p->out, value);
  fmd_html_raw(&p->out, "\"></label>");
}

static void kind_select(fmd_web_page *p, const filter *f) {
  fmd_html_rawf(&p->out, "<label>%s<select name=\"kind\"><option value=\"dossiers\"%s>%s"
                "</option><option value=\"visits\"%s>%s</option></select></label>",
                fmd_web_t(p, "Loại", "Kind"), f->visits ? "" : " selected",
                fmd_web_t(p, "Hồ sơ", "Dossiers"), f->visits ? " selected" : "",
                fmd_web_t(p, "Lượt đi bản", "Visits"));
}

/* The dossier statuses, then a visit's two. */
static void status_select(fmd_web_page *p, const filter *f) {
  fmd_html_rawf(&p->out, "<label>%s<select name=\"status\"><option value=\"\">%s</option>",
                fmd_web_t(p, "Trạng thái", "Status"), fmd_web_t(p, "tất cả", "any"));
  for (int st = 0; st < FM_STATUS_COUNT; st++) {
    fmd_html_rawf(&p->out, "<option value=\"%s\"%s>", fm_status_name(st),
                  strcmp(f->status, fm_status_name(st)) ? "" : " selected");
    fmd_web_status(p, st);
    fmd_html_raw(&p->out, "</option>");
  }
  fmd_html_rawf(&p->out, "<option value=\"recorded\"%s>%s</option><option value=\"voided\"%s>"
                "%s</option></select></label>", strcmp(f->status, "recorded") ? "" : " selected",
                fmd_web_t(p, "lượt đi bản: còn hiệu lực", "visit: standing"),
                strcmp(f->status, "voided") ? "" : " selected",
                fmd_web_t(p, "lượt đi bản: đã huỷ", "visit: voided"));
}

static void filter_form(fmd_web_page *p, const filter *f) {
  fmd_html_raw(&p->out, "<form class=\"filter\" method=\"get\" action=\"/records\">");
  if (p->en) fmd_html_raw(&p->out, "<input type=\"hidden\" name=\"lang\" value=\"en\">");
  kind_select(p, f);
  input(p, "village", "Thôn/bản", "Village", f->village, "text");
  input(p, "team", "Tổ", "Team", f->team, "text");
  status_select(p, f);
  input(p, "procedure", "Thủ tục (mã)", "Procedure (code)", f->procedure, "text");
  input(p, "from", "Từ ngày", "From", f->from, "date");
  input(p, "to", "Đến ngày", "To", f->to, "date");
  fmd_html_rawf(&p->out, "<button>%s</button></form>", fmd_web_t(p, "Lọc", "Filter"));
}

static void read_filter(fmd_web_page *p, filter *f) {
  char kind[16];
  memset(f, 0, sizeof *f);
  fmd_web_param(p, "kind", kind, sizeof kind);
  f->visits = !strcmp(kind, "visits");
  fmd_web_param(p, "village", f->village, sizeof f->village);
  fmd_web_param(p, "team", f->team, sizeof f->team);
  fmd_web_param(p, "procedure", f->procedure, sizeof f->procedure);
  fmd_web_param(p, "status", f->status, sizeof f->status);
  fmd_web_param(p, "from", f->from, sizeof f->from);
  fmd_web_param(p, "to", f->to, sizeof f->to);
}

static void table_head(fmd_web_page *p, int visits) {
  static const char *const dvi[] = {"Mã", "Ngày tạo", "Thủ tục", "Người nộp", "Thôn/bản",
                                     "Người nhập", "Trạng thái", "Số hồ sơ trên cổng"};
  static const char *const den[] = {"Id", "Created", "Procedure", "Applicant", "Village",
                                     "Recorded by", "Status", "Portal reference"};
  static const char *const vvi[] = {"Mã", "Ngày", "Thôn/bản", "Người nhập", "Hình thức",
                                     "Số người dân", "Huỷ"};
  static const char *const ven[] = {"Id", "Date", "Village", "Recorded by", "Mode",
                                     "Citizens", "Voided"};
  const char *const *h = visits ? (p->en ? ven : vvi) : (p->en ? den : dvi);
  size_t n = visits ? 7 : 8;
  fmd_html_raw(&p->out, "<div class=\"wrap\"><table><thead><tr>");
  for (size_t i = 0; i < n; i++) {
    fmd_html_raw(&p->out, visits && i == 5 ? "<th class=\"n\">" : "<th>");
    fmd_html_text(&p->out, h[i]);
    fmd_html_raw(&p->out, "</th>");
  }
  fmd_html_raw(&p->out, "</tr></thead><tbody>\n");
}

int fmd_web_records(fmd_web_page *p) {
  fm_view_kind k;
  filter f;
  listing *l = calloc(1, sizeof *l);
  int rv;
  if (!l) return -12;
  read_filter(p, &f);
  k = f.visits ? FM_VIEW_VISIT : FM_VIEW_DOSSIER;
  l->p = p;
  l->f = &f;
  rv = fm_store_each_record(p->d->store, k, f.visits ? match_visit : match_dossier, l);
  if (rv == 0) {
    fmd_web_head(p, fmd_web_t(p, "Hồ sơ", "Records"), "/records");
    filter_form(p, &f);
    fmd_html_rawf(&p->out, p->en ? "<p>%zu match; the newest %zu are shown.</p>"
                                 : "<p>%zu kết quả; hiện %zu mới nhất.</p>",
                  l->matched, l->matched < SHOWN ? l->matched : (size_t)SHOWN);
    table_head(p, f.visits);
    for (size_t i = 0; i < l->matched && i < SHOWN && rv == 0; i++) {
      const char *id = l->ids[(l->matched - 1 - i) % SHOWN];
      rv = fm_store_find_record(p->d->store, k, id, f.visits ? row_visit : row_dossier, p);
      if (rv == FM_ERR_NOTFOUND || rv == FM_ERR_EXISTS) rv = 0;
    }
    fmd_html_raw(&p->out, "</tbody></table></div>");
    fmd_web_foot(p);
  }
  free(l);
  return rv;
}

