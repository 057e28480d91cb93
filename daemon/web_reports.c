/* The Reports page: the numbers of `fieldmesh report` (store/report.c
 * counts them for both), by village, team, procedure or month, with a
 * bar chart the server draws as SVG and the same table as CSV. */
#include <stdlib.h>
#include <string.h>

#include "fieldmesh/procedure.h"
#include "fieldmesh/report.h"
#include "node.h"
#include "web_page.h"

#define CHART_W 640
#define LABEL_W 170
#define BAR_H 18


typedef struct question {
  fm_report r;
  char procedure[40];
  int bad;                    /* a filter that does not parse: said on the page */
} question;

static int month_ok(const char *m) {
  return strlen(m) == 7 && m[4] == '-' && m[0] >= '0' && m[0] <= '9' && m[5] >= '0' &&
         m[5] <= '1' && m[6] >= '0' && m[6] <= '9';
}

static void ask(fmd_web_page *p, question *q) {
  char by[16], m[16];
  memset(q, 0, sizeof *q);
  fmd_web_param(p, "by", by, sizeof by);
  for (int i = 0; i < FM_REPORT_BY_COUNT; i++)
    if (!strcmp(by, fm_report_by_name((fm_report_by)i))) q->r.by = (fm_report_by)i;
  if (fmd_web_param(p, "procedure", q->procedure, sizeof q->procedure) && q->procedure[0]) {
    if (fm_procedure_find(q->procedure, strlen(q->procedure))) q->r.procedure = q->procedure;
    else q->bad = 1;
  }
  if (fmd_web_param(p, "from", m, sizeof m) && m[0]) {
    if (month_ok(m)) memcpy(q->r.from, m, 8);
    else q->bad = 1;
  }
  if (fmd_web_param(p, "to", m, sizeof m) && m[0]) {
    if (month_ok(m)) memcpy(q->r.to, m, 8);
    else q->bad = 1;
  }
}

/* ---- CSV --------------------------------------------------------------------------- */

/* One field: quoted when it holds a comma, quote or line break; a
 * leading = + - @ is prefixed with ' so a spreadsheet never runs it. */
static void csv_field(fmd_html *h, const char *s, int last) {
  int quote = strpbrk(s, ",\"\r\n") != NULL;
  if (quote) fmd_html_raw(h, "\"");
  if (strchr("=+-@", s[0]) && s[0]) fmd_html_raw(h, "'");
  for (const char *q = s; *q; q++) {
    char c[3] = {*q, 0, 0};
    if (*q == '"') c[1] = '"';
    fmd_html_raw(h, c);
  }
  if (quote) fmd_html_raw(h, "\"");
  fmd_html_raw(h, last ? "\r\n" : ",");
}

/* The same bytes as `fieldmesh report --format csv` (cli/cmd_report.c),
 * but for the leading-character guard of csv_field. */
static void csv(fmd_web_page *p, const fm_report *r) {
  int proc = r->by == FM_REPORT_PROCEDURE, last = FM_REPORT_COLS - 1;
  char n[24];
  while (!fm_report_shown(r, last)) last--;
  csv_field(&p->out, fm_report_by_name(r->by), 0);
  if (proc) csv_field(&p->out, "name", 0);
  for (int k = 0; k < FM_REPORT_COLS; k++)
    if (fm_report_shown(r, k)) csv_field(&p->out, fm_report_col_name(k), k == last);
  for (size_t i = 0; i < r->n; i++) {
    const fm_report_row *w = &r->rows[i];
    const fm_procedure *pr = proc ? fm_procedure_find(w->key, strlen(w->key)) : NULL;
    csv_field(&p->out, w->key, 0);
    if (proc) csv_field(&p->out, pr ? pr->name_vi : "", 0);
    for (int k = 0; k < FM_REPORT_COLS; k++)
      if (fm_report_shown(r, k)) {
        snprintf(n, sizeof n, "%llu", (unsigned long long)fm_report_figure(w, k));
        csv_field(&p->out, n, k == last);
      }
  }
  p->content_type = "text/csv; charset=utf-8";
  p->filename = "fieldmesh-report.csv";
}

/* ---- the page ------------------------------------------------------------------------ */

static void form(fmd_web_page *p, const question *q) {
  static const char *const vi[FM_REPORT_BY_COUNT] = {
      "thôn/bản", "tổ", "thủ tục", "tháng", "ngày", "tuần", "địa điểm", "cán bộ", "dịch vụ"};
  fmd_html *h = &p->out;
  fmd_html_raw(h, "<form class=\"filter\" method=\"get\" action=\"/reports\">");
  if (p->en) fmd_html_raw(h, "<input type=\"hidden\" name=\"lang\" value=\"en\">");
  fmd_html_rawf(h, "<label>%s<select name=\"by\">", fmd_web_t(p, "Theo", "By"));
  for (int i = 0; i < FM_REPORT_BY_COUNT; i++) {
    const char *name = fm_report_by_name((fm_report_by)i);
    fmd_html_rawf(h, "<option value=\"%s\"%s>%s</option>", name,
                  (int)q->r.by == i ? " selected" : "", p->en ? name : vi[i]);
  }
  fmd_html_rawf(h, "</select></label><label>%s<select name=\"procedure\"><option value=\"\">%s"
                "</option>", fmd_web_t(p, "Thủ tục", "Procedure"), fmd_web_t(p, "tất cả", "all"));
  for (size_t i = 0; i < fm_procedure_count(); i++) {
    const fm_procedure *pr = fm_procedure_at(i);
    fmd_html_rawf(h, "<option value=\"%s\"%s>", pr->code,
                  q->r.procedure && !strcmp(q->r.procedure, pr->code) ? " selected" : "");
    fmd_html_text(h, p->en ? pr->name_en : pr->name_vi);
    fmd_html_raw(h, "</option>");
  }
  fmd_html_rawf(h, "</select></label><label>%s<input type=\"month\" name=\"from\" value=\"%s\">"
                "</label><label>%s<input type=\"month\" name=\"to\" value=\"%s\"></label>"
                "<button>%s</button></form>", fmd_web_t(p, "Từ tháng", "From month"), q->r.from,
                fmd_web_t(p, "Đến tháng", "To month"), q->r.to, fmd_web_t(p, "Xem", "Show"));
}

static void table(fmd_web_page *p, const fm_report *r) {
  static const char *const vi[FM_REPORT_COLS] = {"Lượt đi bản", "Người dân", "Hồ sơ", "Đã nộp",
                                                 "Đã trả", "Bị từ chối", "Rút hồ sơ"};
  static const char *const en[FM_REPORT_COLS] = {"Visits", "Citizens", "Dossiers", "Submitted",
                                                 "Delivered", "Rejected", "Withdrawn"};
  static const char *const key_vi[FM_REPORT_BY_COUNT] = {
      "Thôn/bản", "Tổ", "Thủ tục", "Tháng", "Ngày", "Tuần", "Địa điểm", "Cán bộ", "Dịch vụ"};
  static const char *const key_en[FM_REPORT_BY_COUNT] = {
      "Village", "Team", "Procedure", "Month", "Day", "Week", "Place", "Member", "Service"};
  fmd_html *h = &p->out;
  fmd_html_rawf(h, "<div class=\"wrap\"><table><thead><tr><th>%s</th>",
                p->en ? key_en[r->by] : key_vi[r->by]);
  for (int k = 0; k < FM_REPORT_COLS; k++)
    if (fm_report_shown(r, k))
      fmd_html_rawf(h, "<th class=\"n\">%s</th>", p->en ? en[k] : vi[k]);
  fmd_html_raw(h, "</tr></thead><tbody>\n");
  for (size_t i = 0; i <= r->n; i++) {
    const fm_report_row *w = i < r->n ? &r->rows[i] : &r->total;
    fmd_html_raw(h, i < r->n ? "<tr><td>" : "<tr><td><b>");
    fmd_html_text(h, i < r->n ? w->key : fmd_web_t(p, "Tổng", "Total"));
    fmd_html_raw(h, i < r->n ? "</td>" : "</b></td>");
    for (int k = 0; k < FM_REPORT_COLS; k++)
      if (fm_report_shown(r, k))
        fmd_html_rawf(h, "<td class=\"n\">%llu</td>",
                      (unsigned long long)fm_report_figure(w, k));
    fmd_html_raw(h, "</tr>\n");
  }
  fmd_html_raw(h, "</tbody></table></div>");
}

/* Horizontal bars: dossiers (light), of which delivered (dark), and
 * visits, per key, scaled to the largest. */
static void chart(fmd_web_page *p, const fm_report *r) {
  fmd_html *h = &p->out;
  uint64_t max = 1;
  for (size_t i = 0; i < r->n; i++) {
    if (r->rows[i].dossiers > max) max = r->rows[i].dossiers;
    if (r->rows[i].visits > max) max = r->rows[i].visits;
  }
  double scale = (double)(CHART_W - LABEL_W - 50) / (double)max;
  size_t height = r->n * (2 * BAR_H + 8) + 30;
  fmd_html_rawf(h, "<svg role=\"img\" width=\"%d\" height=\"%zu\" viewBox=\"0 0 %d %zu\" "
                "style=\"max-width:100%%;background:#fff;border:1px solid #e1e4e8\">",
                CHART_W, height, CHART_W, height);
  fmd_html_rawf(h, "<rect x=\"%d\" y=\"6\" width=\"12\" height=\"10\" fill=\"#9cc3e6\"/>"
                "<text x=\"%d\" y=\"15\">%s</text><rect x=\"%d\" y=\"6\" width=\"12\" "
                "height=\"10\" fill=\"#17426b\"/><text x=\"%d\" y=\"15\">%s</text>"
                "<rect x=\"%d\" y=\"6\" width=\"12\" height=\"10\" fill=\"#e0a040\"/>"
                "<text x=\"%d\" y=\"15\">%s</text>", LABEL_W, LABEL_W + 16,
                fmd_web_t(p, "hồ sơ", "dossiers"), LABEL_W + 90, LABEL_W + 106,
                fmd_web_t(p, "đã trả", "delivered"), LABEL_W + 190, LABEL_W + 206,
                fmd_web_t(p, "lượt đi bản", "visits"));
  for (size_t i = 0; i < r->n; i++) {
    const fm_report_row *w = &r->rows[i];
    size_t y = 26 + i * (2 * BAR_H + 8);
    fmd_html_rawf(h, "<text x=\"%d\" y=\"%zu\" text-anchor=\"end\">", LABEL_W - 6, y + BAR_H);
    fmd_html_text(h, w->key);
    fmd_html_rawf(h, "</text><rect x=\"%d\" y=\"%zu\" width=\"%.1f\" height=\"%d\" fill=\"#9cc3e6\"/>"
                  "<rect x=\"%d\" y=\"%zu\" width=\"%.1f\" height=\"%d\" fill=\"#17426b\"/>"
                  "<text x=\"%.1f\" y=\"%zu\">%llu</text>"
                  "<rect x=\"%d\" y=\"%zu\" width=\"%.1f\" height=\"%d\" fill=\"#e0a040\"/>"
                  "<text x=\"%.1f\" y=\"%zu\">%llu</text>",
                  LABEL_W, y, (double)w->dossiers * scale, BAR_H - 4, LABEL_W, y,
                  (double)w->delivered * scale, BAR_H - 4, LABEL_W + (double)w->dossiers * scale + 4,
                  y + BAR_H - 6, (unsigned long long)w->dossiers, LABEL_W, y + BAR_H,
                  (double)w->visits * scale, BAR_H - 4, LABEL_W + (double)w->visits * scale + 4,
                  y + 2 * BAR_H - 6, (unsigned long long)w->visits);
  }
  fmd_html_raw(h, "</svg>");
}

static void page(fmd_web_page *p, const question *q) {
  fmd_web_head(p, fmd_web_t(p, "Báo cáo", "Reports"), "/reports");
  form(p, q);
  if (q->bad)
    fmd_html_rawf(&p->out, "<p class=\"box\">%s</p>",
                  fmd_web_t(p, "Một bộ lọc không hợp lệ đã bị bỏ qua (tháng: YYYY-MM; thủ tục: "
                               "một mã trong danh mục).",
                            "A filter that does not parse was left out (months: YYYY-MM; "
                            "procedure: a code of the catalogue)."));
  chart(p, &q->r);
  table(p, &q->r);
  fmd_html_raw(&p->out, "<p><a href=\"/reports.csv?");
  fmd_html_text(&p->out, p->query);
  fmd_html_rawf(&p->out, "\">%s</a></p>", fmd_web_t(p, "Tải về CSV", "Download CSV"));
  fmd_web_foot(p);
}

int fmd_web_reports(fmd_web_page *p, int as_csv) {
  question *q = calloc(1, sizeof *q);
  int rv;
  if (!q) return -12;
  ask(p, q);
  if ((rv = fm_report_count(p->d->store, &q->r)) == 0) {
    if (as_csv) csv(p, &q->r);
    else page(p, q);
  }
  fm_report_free(&q->r);
  free(q);
  return rv;
}
