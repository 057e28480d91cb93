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
#include "fieldmesh/report.h"
#include "out.h"
#include "records.h"

typedef enum fmt { FMT_TABLE, FMT_CSV, FMT_JSON } fmt;
typedef fm_report_row row;
typedef fm_report report;

static const char *proc_title(const char *code) {
  const fm_procedure *p = fm_procedure_find(code, strlen(code));
  return p ? p->name_vi : "";
}

static void print_table(const report *r, const char *head) {
  fmc_table t;
  char h[160];
  int proc = r->by == FM_REPORT_PROCEDURE;
  if (proc) snprintf(h, sizeof h, "%s|NAME|#DOSSIERS|#SUBMITTED|#DELIVERED", head);
  else snprintf(h, sizeof h, "%s|#VISITS|#CITIZENS|#DOSSIERS|#SUBMITTED|#DELIVERED", head);
  fmc_table_init(&t, h);
  for (size_t i = 0; i <= r->n; i++) {
    const row *w = i < r->n ? &r->rows[i] : &r->total;
    const char *key = i < r->n ? w->key : "TOTAL";
    if (proc)
      fmc_table_rowf(&t, "%s\x1f%s\x1f%llu\x1f%llu\x1f%llu", key,
                     i < r->n ? proc_title(key) : "", (unsigned long long)w->dossiers,
                     (unsigned long long)w->submitted, (unsigned long long)w->delivered);
    else
      fmc_table_rowf(&t, "%s\x1f%llu\x1f%llu\x1f%llu\x1f%llu\x1f%llu", key,
                     (unsigned long long)w->visits, (unsigned long long)w->citizens,
                     (unsigned long long)w->dossiers, (unsigned long long)w->submitted,
                     (unsigned long long)w->delivered);
  }
  fmc_table_print(&t, stdout);
  fmc_table_free(&t);
}

static void print_csv(const report *r, const char *head) {
  char n[5][24];
  int proc = r->by == FM_REPORT_PROCEDURE;
  fmc_csv_field(stdout, head, 0);
  if (proc) fmc_csv_field(stdout, "name", 0);
  else {
    fmc_csv_field(stdout, "visits", 0);
    fmc_csv_field(stdout, "citizens", 0);
  }
  fmc_csv_field(stdout, "dossiers", 0);
  fmc_csv_field(stdout, "submitted", 0);
  fmc_csv_field(stdout, "delivered", 1);
  for (size_t i = 0; i < r->n; i++) {
    const row *w = &r->rows[i];
    uint64_t v[5] = {w->visits, w->citizens, w->dossiers, w->submitted, w->delivered};
    for (int k = 0; k < 5; k++) snprintf(n[k], sizeof n[k], "%llu", (unsigned long long)v[k]);
    fmc_csv_field(stdout, w->key, 0);
    if (proc) fmc_csv_field(stdout, proc_title(w->key), 0);
    for (int k = proc ? 2 : 0; k < 5; k++) fmc_csv_field(stdout, n[k], k == 4);
  }
}

static void json_row(fmc_json *j, const row *w, int proc, const char *key_name) {
  fmc_json_obj(j);
  if (key_name) {
    fmc_json_key(j, key_name);
    fmc_json_str(j, w->key);
  }
  if (proc && key_name) {
    fmc_json_key(j, "name");
    fmc_json_str(j, proc_title(w->key));
  }
  if (!proc) {
    fmc_json_key(j, "visits");
    fmc_json_uint(j, w->visits);
    fmc_json_key(j, "citizens");
    fmc_json_uint(j, w->citizens);
  }
  fmc_json_key(j, "dossiers");
  fmc_json_uint(j, w->dossiers);
  fmc_json_key(j, "submitted");
  fmc_json_uint(j, w->submitted);
  fmc_json_key(j, "delivered");
  fmc_json_uint(j, w->delivered);
  fmc_json_obj_end(j);
}

static void print_json(const report *r, const char *by_name) {
  fmc_json j;
  int proc = r->by == FM_REPORT_PROCEDURE;
  fmc_json_init(&j, stdout);
  fmc_json_obj(&j);
  fmc_json_key(&j, "by");
  fmc_json_str(&j, by_name);
  fmc_json_key(&j, "rows");
  fmc_json_arr(&j);
  for (size_t i = 0; i < r->n; i++) json_row(&j, &r->rows[i], proc, by_name);
  fmc_json_arr_end(&j);
  fmc_json_key(&j, "total");
  json_row(&j, &r->total, proc, NULL);
  fmc_json_obj_end(&j);
  fmc_json_end(&j);
}

static const char *const by_names[] = {"village", "team", "procedure", "month"};
static const char *const fmt_names[] = {"table", "csv", "json"};

static int pick(const char *v, const char *const *names, int n) {
  for (int i = 0; i < n; i++)
    if (!strcmp(v, names[i])) return i;
  return -1;
}

/* --from/--to: "YYYY-MM" into |out| (8 bytes). */
static int month_opt(fmc_ctx *c, const fmc_opt *o, char *out) {
  const char *v = o->value;
  int y, m, d;
  char day[16];
  if (!v) return 0;
  snprintf(day, sizeof day, "%.7s-01", v);
  if (strlen(v) != 7 || fmc_date_parse(day, &y, &m, &d) < 0)
    return fmc_usage(c, "%s must be a month YYYY-MM (e.g. 2023-08), got \"%.40s\"", o->name, v);
  memcpy(out, v, 8);
  return 0;
}

static int filters(fmc_ctx *c, const fmc_opt *o, report *r) {
  int rv;
  if (o[2].value && !fm_procedure_find(o[2].value, strlen(o[2].value)))
    return fmc_usage(c, "--procedure must be a code from `fieldmesh procedures`, got \"%.40s\"",
                     o[2].value);
  r->procedure = o[2].value;
  if ((rv = month_opt(c, &o[3], r->from)) || (rv = month_opt(c, &o[4], r->to))) return rv;
  if (r->from[0] && r->to[0] && strcmp(r->from, r->to) > 0)
    return fmc_usage(c, "--from %s is after --to %s: swap them", r->from, r->to);
  return 0;
}

int fmc_cmd_report(fmc_ctx *c, int argc, char **argv) {
  fmc_opt o[] = {{"--by", NULL, 0, NULL},        {"--format", NULL, 0, NULL},
                 {"--procedure", NULL, 0, NULL}, {"--from", NULL, 0, NULL},
                 {"--to", NULL, 0, NULL},        {NULL, NULL, 0, NULL}};
  fmc_spec spec = {"usage: fieldmesh report --by village|team|procedure|month "
                   "[--procedure CODE] [--from YYYY-MM] [--to YYYY-MM] [--format table|csv|json]\n"
                   "Per key: visits, citizens helped, dossiers, dossiers submitted or\n"
                   "further along, dossiers delivered. Voided visits are not counted;\n"
                   "months are in Vietnam time. --procedure counts that procedure's\n"
                   "dossiers only (no visits); --from and --to keep the months between\n"
                   "them, inclusive. On the gateway the report covers the whole commune.\n",
                   o, 0, 0, {0}, 0};
  static const char *const heads[] = {"VILLAGE", "TEAM", "PROCEDURE", "MONTH"};
  report r;
  int rv, b, f = FMT_TABLE;
  if ((rv = fmc_args_parse(c, &spec, argc, argv)) != 0) return rv;
  if ((rv = fmc_need(c, &o[0], "one of: village, team, procedure, month"))) return rv;
  if ((b = pick(o[0].value, by_names, 4)) < 0)
    return fmc_usage(c, "--by must be one of: village, team, procedure, month; got "
                        "\"%.40s\"", o[0].value);
  if (o[1].value && (f = pick(o[1].value, fmt_names, 3)) < 0)
    return fmc_usage(c, "--format must be one of: table, csv, json; got \"%.40s\"",
                     o[1].value);
  if (c->json && o[1].value && f != FMT_JSON)
    return fmc_usage(c, "--json and --format %s disagree: give one of them", o[1].value);
  if (c->json) f = FMT_JSON;
  memset(&r, 0, sizeof r);
  if ((rv = filters(c, o, &r)) != 0) return rv;
  if ((rv = fmc_open(c, 0)) != 0) return rv;
  r.by = (fm_report_by)b;
  if ((rv = fm_report_count(c->store, &r)) != 0) {
    fm_report_free(&r);
    return fmc_fail(c, "cannot read the records: %s", fm_strerror(rv));
  }
  if (f == FMT_JSON) print_json(&r, by_names[b]);
  else if (f == FMT_CSV) print_csv(&r, by_names[b]);
  else print_table(&r, heads[b]);
  fm_report_free(&r);
  return 0;
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
