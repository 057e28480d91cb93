/* report and procedures: the figures the commune hall asks for.
 *
 * The counting is store/report.c's (fieldmesh/report.h), shared with the
 * gateway's dashboard; this file reads the options and prints.  Filters
 * narrow it to the figures a field report quotes:
 * --procedure (dossiers of one procedure: a campaign's count per village)
 * and --from/--to (months, inclusive: "Aug-Dec 2023, dossiers per team").
 */
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cmd.h"
#include "date.h"
#include "fieldmesh/error.h"
#include "fieldmesh/procedure.h"
#include "fieldmesh/record.h"
#include "fieldmesh/report.h"
#include "out.h"
#include "records.h"
#include "report_xlsx.h"

typedef enum fmt { FMT_TABLE, FMT_CSV, FMT_JSON, FMT_XLSX } fmt;
typedef fm_report_row row;
typedef fm_report report;

static const char *proc_title(const char *code) {
  const fm_procedure *p = fm_procedure_find(code, strlen(code));
  return p ? p->name_vi : "";
}

static void print_table(const report *r, const char *head) {
  fmc_table t;
  char h[256], line[512];
  int proc = r->by == FM_REPORT_PROCEDURE;
  snprintf(h, sizeof h, "%s%s", head, proc ? "|NAME" : "");
  for (int k = 0; k < FM_REPORT_COLS; k++)
    if (fm_report_shown(r, k)) {
      size_t n = strlen(h);
      snprintf(h + n, sizeof h - n, "|#%s", fm_report_col_name(k));
    }
  for (char *p = h; *p; p++)
    if (*p >= 'a' && *p <= 'z') *p = (char)(*p - 'a' + 'A');
  fmc_table_init(&t, h);
  for (size_t i = 0; i <= r->n; i++) {
    const row *w = i < r->n ? &r->rows[i] : &r->total;
    const char *key = i < r->n ? w->key : "TOTAL";
    snprintf(line, sizeof line, "%s", key);
    if (proc) {
      size_t n = strlen(line);
      snprintf(line + n, sizeof line - n, "\x1f%s", i < r->n ? proc_title(key) : "");
    }
    for (int k = 0; k < FM_REPORT_COLS; k++)
      if (fm_report_shown(r, k)) {
        size_t n = strlen(line);
        snprintf(line + n, sizeof line - n, "\x1f%llu", (unsigned long long)fm_report_figure(w, k));
      }
    fmc_table_rowf(&t, "%s", line);
  }
  fmc_table_print(&t, stdout);
  fmc_table_free(&t);
}

/* CSV; |excel|: a UTF-8 byte order mark first, so a spreadsheet on
 * Windows reads "Mục Lạn" as written. */
static void print_csv(const report *r, const char *head, int excel) {
  char n[24];
  int proc = r->by == FM_REPORT_PROCEDURE, last = FM_REPORT_COLS - 1;
  while (!fm_report_shown(r, last)) last--;
  if (excel) fputs("\xef\xbb\xbf", stdout);
  fmc_csv_field(stdout, head, 0);
  if (proc) fmc_csv_field(stdout, "name", 0);
  for (int k = 0; k < FM_REPORT_COLS; k++)
    if (fm_report_shown(r, k)) fmc_csv_field(stdout, fm_report_col_name(k), k == last);
  for (size_t i = 0; i < r->n; i++) {
    const row *w = &r->rows[i];
    fmc_csv_field(stdout, w->key, 0);
    if (proc) fmc_csv_field(stdout, proc_title(w->key), 0);
    for (int k = 0; k < FM_REPORT_COLS; k++)
      if (fm_report_shown(r, k)) {
        snprintf(n, sizeof n, "%llu", (unsigned long long)fm_report_figure(w, k));
        fmc_csv_field(stdout, n, k == last);
      }
  }
}

static void json_row(fmc_json *j, const report *r, const row *w, const char *key_name) {
  fmc_json_obj(j);
  if (key_name) {
    fmc_json_key(j, key_name);
    fmc_json_str(j, w->key);
  }
  if (r->by == FM_REPORT_PROCEDURE && key_name) {
    fmc_json_key(j, "name");
    fmc_json_str(j, proc_title(w->key));
  }
  for (int k = 0; k < FM_REPORT_COLS; k++)
    if (fm_report_shown(r, k)) {
      fmc_json_key(j, fm_report_col_name(k));
      fmc_json_uint(j, fm_report_figure(w, k));
    }
  fmc_json_obj_end(j);
}

static void print_json(const report *r, const char *by_name) {
  fmc_json j;
  fmc_json_init(&j, stdout);
  fmc_json_obj(&j);
  fmc_json_key(&j, "by");
  fmc_json_str(&j, by_name);
  fmc_json_key(&j, "rows");
  fmc_json_arr(&j);
  for (size_t i = 0; i < r->n; i++) json_row(&j, r, &r->rows[i], by_name);
  fmc_json_arr_end(&j);
  fmc_json_key(&j, "total");
  json_row(&j, r, &r->total, NULL);
  fmc_json_obj_end(&j);
  fmc_json_end(&j);
}

static const char *const fmt_names[] = {"table", "csv", "json", "xlsx"};

static int pick(const char *v, const char *const *names, int n) {
  for (int i = 0; i < n; i++)
    if (names[i] && !strcmp(v, names[i])) return i;
  return -1;
}

/* --from/--to: a day "YYYY-MM-DD" or a month "YYYY-MM" into |out| (11
 * bytes); a month bound holds all its days. */
static int bound_opt(fmc_ctx *c, const fmc_opt *o, char *out) {
  const char *v = o->value;
  int y, m, d;
  char day[16];
  if (!v) return 0;
  if (strlen(v) == 7) snprintf(day, sizeof day, "%.7s-01", v);
  else snprintf(day, sizeof day, "%.10s", v);
  if ((strlen(v) != 7 && strlen(v) != 10) || fmc_date_parse(day, &y, &m, &d) < 0)
    return fmc_usage(c, "%s must be a day YYYY-MM-DD or a month YYYY-MM (e.g. 2023-08), got "
                        "\"%.40s\"", o->name, v);
  memcpy(out, v, strlen(v) + 1);
  return 0;
}

static int filters(fmc_ctx *c, const fmc_opt *o, report *r) {
  int rv;
  if (o[2].value && !fm_procedure_find(o[2].value, strlen(o[2].value)))
    return fmc_usage(c, "--procedure must be a code from `fieldmesh procedures`, got \"%.40s\"",
                     o[2].value);
  r->procedure = o[2].value;
  if ((rv = bound_opt(c, &o[3], r->from)) || (rv = bound_opt(c, &o[4], r->to))) return rv;
  if (r->from[0] && r->to[0] && strncmp(r->from, r->to, 7) > 0)
    return fmc_usage(c, "--from %s is after --to %s: swap them", r->from, r->to);
  if (r->from[0] && r->to[0] && strlen(r->from) == 10 && strlen(r->to) == 10 &&
      strcmp(r->from, r->to) > 0)
    return fmc_usage(c, "--from %s is after --to %s: swap them", r->from, r->to);
  return 0;
}

/* --format and --excel and --json, which must agree: a fmt. */
static int format_opt(fmc_ctx *c, const fmc_opt *o, int *f) {
  *f = c->json ? FMT_JSON : o[6].value ? FMT_CSV : FMT_TABLE;
  if (o[1].value && (*f = pick(o[1].value, fmt_names, 4)) < 0)
    return fmc_usage(c, "--format must be one of: table, csv, json, xlsx; got \"%.40s\"",
                     o[1].value);
  if (c->json && *f != FMT_JSON)
    return fmc_usage(c, "--json and --format %s disagree: give one of them", o[1].value);
  if (o[6].value && *f != FMT_CSV)
    return fmc_usage(c, "--excel writes CSV for a spreadsheet: leave out --format %s",
                     fmt_names[*f]);
  if (*f == FMT_XLSX && !o[7].value)
    return fmc_usage(c, "--format xlsx writes a file: add -o FILE, e.g. -o report.xlsx");
  if (*f != FMT_XLSX && o[7].value)
    return fmc_usage(c, "-o goes with --format xlsx; the other formats print (redirect them "
                        "with >)");
  if (o[8].value && !o[7].value)
    return fmc_usage(c, "--force replaces the file of -o: give -o FILE too");
  return 0;
}

/* The spreadsheet's first row: "Tân Quang: report by village, 2026-12-01
 * to 2026-12-05, procedure khai_sinh". */
static void xlsx_title(fmc_ctx *c, const report *r, const char *by, char *out, size_t cap) {
  uint8_t pk[FM_KEY_LEN];
  char commune[FM_NAME_MAX] = "";
  size_t n;
  if (fm_store_authority(c->store, pk, commune) < 0) commune[0] = 0;
  snprintf(out, cap, "%s%sreport by %s", commune, commune[0] ? ": " : "", by);
  if (r->from[0] || r->to[0]) {
    n = strlen(out);
    snprintf(out + n, cap - n, ", %s to %s", r->from[0] ? r->from : "the first day",
             r->to[0] ? r->to : "today");
  }
  n = strlen(out);
  if (r->procedure) snprintf(out + n, cap - n, ", procedure %s", r->procedure);
  n = strlen(out);
  if (r->status) snprintf(out + n, cap - n, ", status %s", fm_status_name(r->status - 1));
}

int fmc_cmd_report(fmc_ctx *c, int argc, char **argv) {
  fmc_opt o[] = {{"--by", NULL, 0, NULL},   {"--format", NULL, 0, NULL},
                 {"--procedure", NULL, 0, NULL}, {"--from", NULL, 0, NULL},
                 {"--to", NULL, 0, NULL},   {"--status", NULL, 0, NULL},
                 {"--excel", NULL, 1, NULL}, {"--output", "-o", 0, NULL},
                 {"--force", NULL, 1, NULL}, {NULL, NULL, 0, NULL}};
  fmc_spec spec = {"usage: fieldmesh report --by village|team|procedure|month|day|week|place|"
                   "member|service [--procedure CODE] [--status S] [--from DAY|MONTH] "
                   "[--to DAY|MONTH] [--format table|csv|json | --excel | "
                   "--format xlsx -o FILE [--force]]\n"
                   "Per key: visits, citizens helped, dossiers, dossiers submitted or\n"
                   "further along, delivered, and apart the rejected and the withdrawn.\n"
                   "Voided visits are not counted; days are in Vietnam time. By place and\n"
                   "by service only visits count (by service, a visit counts once under\n"
                   "each service it gave). --procedure counts that procedure's dossiers\n"
                   "only (no visits), --status the dossiers in that status; --from and\n"
                   "--to (YYYY-MM-DD or YYYY-MM) keep the days between them, inclusive.\n"
                   "--excel writes CSV with a byte order mark for spreadsheets; --format\n"
                   "xlsx writes a workbook to FILE (--force replaces an existing one).\n"
                   "On the gateway the report covers the whole commune.\n",
                   o, 0, 0, {0}, 0};
  char names[160] = "", head[16];
  report r;
  int rv, b, f;
  if ((rv = fmc_args_parse(c, &spec, argc, argv)) != 0) return rv;
  for (int i = 0; i < FM_REPORT_BY_COUNT; i++) {
    size_t n = strlen(names);
    snprintf(names + n, sizeof names - n, "%s%s", i ? ", " : "", fm_report_by_name(i));
  }
  if ((rv = fmc_need(c, &o[0], names))) return rv;
  for (b = 0; b < FM_REPORT_BY_COUNT && strcmp(o[0].value, fm_report_by_name(b)); b++) {
  }
  if (b == FM_REPORT_BY_COUNT)
    return fmc_usage(c, "--by must be one of: %s; got \"%.40s\"", names, o[0].value);
  if ((rv = format_opt(c, o, &f)) != 0) return rv;
  memset(&r, 0, sizeof r);
  if ((rv = filters(c, o, &r)) != 0) return rv;
  if (o[5].value) {
    int st = fm_status_parse(o[5].value, strlen(o[5].value));
    if (st < 0)
      return fmc_usage(c, "--status must be one of: draft, submitted, processing, "
                          "result_ready, delivered, rejected, withdrawn; got \"%.40s\"",
                       o[5].value);
    r.status = st + 1;
  }
  if (fm_report_visits_only((fm_report_by)b) && (r.procedure || r.status))
    return fmc_usage(c, "--%s counts dossiers, and --by %s counts visits only: give one of "
                        "them", r.procedure ? "procedure" : "status", o[0].value);
  if (f == FMT_XLSX && (rv = fmc_report_xlsx_check(c, o[7].value, o[8].value != NULL)) != 0)
    return rv;
  if ((rv = fmc_open(c, 0)) != 0) return rv;
  r.by = (fm_report_by)b;
  if ((rv = fm_report_count(c->store, &r)) != 0) {
    fm_report_free(&r);
    return fmc_fail(c, "cannot read the records: %s", fm_strerror(rv));
  }
  snprintf(head, sizeof head, "%s", o[0].value);
  for (char *p = head; *p; p++) *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
  if (f == FMT_XLSX) {
    char title[512];
    xlsx_title(c, &r, o[0].value, title, sizeof title);
    rv = fmc_report_xlsx(c, &r, o[0].value, title, o[7].value, o[8].value != NULL);
    if (rv == 0 && !c->json) printf("wrote the report by %s to %s\n", o[0].value, o[7].value);
  } else if (f == FMT_JSON) print_json(&r, o[0].value);
  else if (f == FMT_CSV) print_csv(&r, o[0].value, o[6].value != NULL);
  else print_table(&r, head);
  fm_report_free(&r);
  return rv;
}

int fmc_cmd_procedures(fmc_ctx *c, int argc, char **argv) {
  fmc_spec spec = {"usage: fieldmesh procedures [--json]\n"
                   "The procedure catalogue: the codes `dossier add --procedure` takes.\n",
                   NULL, 0, 0, {0}, 0};
  int rv;
  if ((rv = fmc_args_parse(c, &spec, argc, argv)) != 0) return rv;
  if (c->json) {
    fmc_json j;
    fmc_json_init(&j, stdout);
    fmc_json_arr(&j);
    for (size_t i = 0; i < fm_procedure_count(); i++) {
      const fm_procedure *p = fm_procedure_at(i);
      fmc_json_obj(&j);
      fmc_json_key(&j, "code");
      fmc_json_str(&j, p->code);
      fmc_json_key(&j, "name_vi");
      fmc_json_str(&j, p->name_vi);
      fmc_json_key(&j, "name_en");
      fmc_json_str(&j, p->name_en);
      fmc_json_obj_end(&j);
    }
    fmc_json_arr_end(&j);
    fmc_json_end(&j);
    return 0;
  }
  fmc_table t;
  fmc_table_init(&t, "CODE|TÊN THỦ TỤC|PROCEDURE");
  for (size_t i = 0; i < fm_procedure_count(); i++) {
    const fm_procedure *p = fm_procedure_at(i);
    const char *cells[] = {p->code, p->name_vi, p->name_en};
    fmc_table_row(&t, cells);
  }
  fmc_table_print(&t, stdout);
  fmc_table_free(&t);
  return 0;
}
