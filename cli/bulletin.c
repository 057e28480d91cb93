/* report bulletin: the period's figures as the paragraph a commune's news
 * report prints ("Từ ngày … đến ngày …, các tổ công tác lưu động đã hỗ
 * trợ … lượt người dân, tạo … tài khoản, …").
 *
 * The figures are fm_report_count's (fieldmesh/report.h), the same as
 * `report --by village` and `report --by service` over the period:
 * citizens helped (visits not voided), the villages reached, accounts
 * created and electronic IDs activated (visits that gave the service),
 * dossiers submitted online (dossier records submitted or further along)
 * of which delivered and rejected, the withdrawn apart, and the other
 * services when any was given. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "args.h"
#include "cmd.h"
#include "date.h"
#include "fieldmesh/error.h"
#include "fieldmesh/record.h"
#include "fieldmesh/report.h"
#include "out.h"

typedef struct figures {
  uint64_t visits, citizens, villages, dossiers, submitted, delivered, rejected, withdrawn;
  uint64_t service[FM_SERVICE_COUNT];   /* visits that gave each service */
} figures;

/* The services of the second sentence, in its order. */
static const int extra[] = {3, 4, 5, 6};   /* payment, feedback, result, app */
static const char *const extra_vi[] = {"hướng dẫn thanh toán trực tuyến",
                                       "hướng dẫn phản ánh, kiến nghị",
                                       "hỗ trợ nhận kết quả", "cài đặt ứng dụng"};
static const char *const extra_en[] = {"online payment guidance", "feedback guidance",
                                       "help receiving results", "app installation"};
#define NEXTRA (sizeof extra / sizeof extra[0])

/* |v| with thousands apart ("1.234" in Vietnamese, "1,234" in English). */
static const char *num(uint64_t v, char sep, char out[32]) {
  char d[24];
  int n = snprintf(d, sizeof d, "%llu", (unsigned long long)v), o = 0;
  for (int i = 0; i < n; i++) {
    if (i && (n - i) % 3 == 0) out[o++] = sep;
    out[o++] = d[i];
  }
  out[o] = 0;
  return out;
}

/* --from/--to: a day, or a month (its first day for --from, its last for
 * --to), as "YYYY-MM-DD" into |out|. */
static int bound(fmc_ctx *c, const fmc_opt *o, int last, char out[11]) {
  int y, m, d;
  char day[16];
  size_t n = strlen(o->value);
  snprintf(day, sizeof day, n == 7 ? "%.7s-01" : "%.10s", o->value);
  if ((n != 7 && n != 10) || fmc_date_parse(day, &y, &m, &d) < 0)
    return fmc_usage(c, "%s must be a day YYYY-MM-DD or a month YYYY-MM, got \"%.40s\"",
                     o->name, o->value);
  if (n == 7 && last) {
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    d = days[m - 1] + (m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0));
  }
  snprintf(out, 11, "%04d-%02d-%02d", y, m, d);
  return 0;
}

/* Counts the period [from, to] by |by| into |r|. */
static int count(fmc_ctx *c, fm_report_by by, const char *from, const char *to, fm_report *r) {
  memset(r, 0, sizeof *r);
  r->by = by;
  memcpy(r->from, from, 11);
  memcpy(r->to, to, 11);
  int rv = fm_report_count(c->store, r);
  if (rv < 0) {
    fm_report_free(r);
    return fmc_fail(c, "cannot read the records: %s", fm_strerror(rv));
  }
  return 0;
}

static int gather(fmc_ctx *c, const char *from, const char *to, figures *f) {
  fm_report r;
  int rv;
  memset(f, 0, sizeof *f);
  if ((rv = count(c, FM_REPORT_VILLAGE, from, to, &r)) != 0) return rv;
  f->visits = r.total.visits;
  f->citizens = r.total.citizens;
  f->dossiers = r.total.dossiers;
  f->submitted = r.total.submitted;
  f->delivered = r.total.delivered;
  f->rejected = r.total.rejected;
  f->withdrawn = r.total.withdrawn;
  for (size_t i = 0; i < r.n; i++) f->villages += strcmp(r.rows[i].key, "(none)") != 0;
  fm_report_free(&r);
  if ((rv = count(c, FM_REPORT_SERVICE, from, to, &r)) != 0) return rv;
  for (size_t i = 0; i < r.n; i++)
    for (int s = 0; s < FM_SERVICE_COUNT; s++)
      if (!strcmp(r.rows[i].key, fm_service_name(s))) f->service[s] = r.rows[i].visits;
  fm_report_free(&r);
  return 0;
}

/* "01/12/2026" of "2026-12-01". */
static const char *day_vi(const char *d, char out[16]) {
  snprintf(out, 16, "%.2s/%.2s/%.4s", d + 8, d + 5, d);
  return out;
}

static void print_vi(FILE *o, const char *from, const char *to, const figures *f) {
  char a[16], b[16], n1[32], n2[32], n3[32];
  fprintf(o, "Từ ngày %s đến ngày %s, ", day_vi(from, a), day_vi(to, b));
  if (!f->visits && !f->dossiers) {
    fputs("các tổ công tác lưu động chưa ghi nhận lượt hỗ trợ hay hồ sơ nào.\n", o);
    return;
  }
  fprintf(o, "các tổ công tác lưu động đã hỗ trợ %s lượt người dân tại %s thôn, "
             "tạo %s tài khoản, ",
          num(f->citizens, '.', n1), num(f->villages, '.', n2), num(f->service[0], '.', n3));
  fprintf(o, "kích hoạt %s tài khoản định danh điện tử, hướng dẫn nộp %s hồ sơ trực tuyến, "
             "trong đó %s hồ sơ đã trả kết quả",
          num(f->service[1], '.', n1), num(f->submitted, '.', n2), num(f->delivered, '.', n3));
  if (f->rejected) fprintf(o, " và %s hồ sơ bị từ chối", num(f->rejected, '.', n1));
  if (f->withdrawn) fprintf(o, " (%s hồ sơ khác đã rút)", num(f->withdrawn, '.', n1));
  fputc('.', o);
  /* Items apart with semicolons: "phản ánh, kiến nghị" holds a comma. */
  const char *lead = " Ngoài ra, các tổ đã ";
  for (size_t i = 0; i < NEXTRA; i++)
    if (f->service[extra[i]]) {
      fprintf(o, "%s%s %s lượt", lead, extra_vi[i], num(f->service[extra[i]], '.', n1));
      lead = "; ";
    }
  fputs(lead[1] == 'N' ? "\n" : ".\n", o);
}

/* "1 account" or "2 accounts" (|many| NULL: |one| + "s"). */
static void count_of(FILE *o, uint64_t v, const char *one, const char *many) {
  char n[32];
  fprintf(o, "%s %s%s", num(v, ',', n), v == 1 || !many ? one : many,
          v != 1 && !many ? "s" : "");
}

static void print_en(FILE *o, const char *from, const char *to, const figures *f) {
  fprintf(o, "From %s to %s, ", from, to);
  if (!f->visits && !f->dossiers) {
    fputs("the mobile teams recorded no visit and no dossier.\n", o);
    return;
  }
  fputs("the mobile teams helped ", o);
  count_of(o, f->citizens, "citizen", NULL);
  fputs(" in ", o);
  count_of(o, f->villages, "village", NULL);
  fputs(", created ", o);
  count_of(o, f->service[0], "account", NULL);
  fputs(", activated ", o);
  count_of(o, f->service[1], "electronic ID", NULL);
  fputs(" and helped submit ", o);
  count_of(o, f->submitted, "dossier", NULL);
  fputs(" online, of which ", o);
  count_of(o, f->delivered, "has its result delivered", "have their result delivered");
  if (f->rejected) {
    fputs(" and ", o);
    count_of(o, f->rejected, "was rejected", "were rejected");
  }
  if (f->withdrawn) {
    fputs(" (", o);
    count_of(o, f->withdrawn, "more was withdrawn", "more were withdrawn");
    fputs(")", o);
  }
  fputc('.', o);
  size_t left = 0;
  for (size_t i = 0; i < NEXTRA; i++) left += f->service[extra[i]] != 0;
  const char *lead = " They also gave ";
  for (size_t i = 0; i < NEXTRA; i++)
    if (f->service[extra[i]]) {
      char n[32];
      fprintf(o, "%s%s (%s)", lead, extra_en[i], num(f->service[extra[i]], ',', n));
      lead = --left == 1 ? " and " : ", ";
    }
  fputs(lead[1] == 'T' ? "\n" : ".\n", o);
}

static void print_json(const char *from, const char *to, const char *lang, const char *text,
                       const figures *f) {
  fmc_json j;
  fmc_json_init(&j, stdout);
  fmc_json_obj(&j);
  fmc_json_key(&j, "from");
  fmc_json_str(&j, from);
  fmc_json_key(&j, "to");
  fmc_json_str(&j, to);
  fmc_json_key(&j, "lang");
  fmc_json_str(&j, lang);
  fmc_json_key(&j, "text");
  fmc_json_str(&j, text);
  const char *keys[] = {"visits", "citizens", "villages", "dossiers",
                        "submitted", "delivered", "rejected", "withdrawn"};
  const uint64_t vals[] = {f->visits, f->citizens, f->villages, f->dossiers,
                           f->submitted, f->delivered, f->rejected, f->withdrawn};
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    fmc_json_key(&j, keys[i]);
    fmc_json_uint(&j, vals[i]);
  }
  for (int s = 0; s < FM_SERVICE_COUNT; s++) {
    fmc_json_key(&j, fm_service_name(s));
    fmc_json_uint(&j, f->service[s]);
  }
  fmc_json_obj_end(&j);
  fmc_json_end(&j);
}

int fmc_cmd_report_bulletin(fmc_ctx *c, int argc, char **argv) {
  fmc_opt o[] = {{"--from", NULL, 0, NULL}, {"--to", NULL, 0, NULL},
                 {"--lang", NULL, 0, NULL}, {NULL, NULL, 0, NULL}};
  fmc_spec spec = {"usage: fieldmesh report bulletin --from DAY|MONTH --to DAY|MONTH "
                   "[--lang vi|en]\n"
                   "The period's figures as a paragraph for the commune's news report:\n"
                   "citizens helped, villages reached, accounts created, electronic IDs\n"
                   "activated, dossiers submitted online and of them delivered and\n"
                   "rejected, and the other services given. Vietnamese unless --lang en.\n",
                   o, 0, 0, {0}, 0};
  char from[11], to[11];
  figures f;
  int rv, en;
  if ((rv = fmc_args_parse(c, &spec, argc, argv)) != 0) return rv;
  if ((rv = fmc_need(c, &o[0], "the first day, e.g. --from 2026-12-01")) ||
      (rv = fmc_need(c, &o[1], "the last day, e.g. --to 2026-12-31")))
    return rv;
  if (o[2].value && strcmp(o[2].value, "vi") && strcmp(o[2].value, "en"))
    return fmc_usage(c, "--lang must be vi or en, got \"%.40s\"", o[2].value);
  en = o[2].value && !strcmp(o[2].value, "en");
  if ((rv = bound(c, &o[0], 0, from)) || (rv = bound(c, &o[1], 1, to))) return rv;
  if (strcmp(from, to) > 0)
    return fmc_usage(c, "--from %s is after --to %s: swap them", o[0].value, o[1].value);
  if ((rv = fmc_open(c, 0)) != 0 || (rv = gather(c, from, to, &f)) != 0) return rv;
  if (!c->json) {
    (en ? print_en : print_vi)(stdout, from, to, &f);
    return 0;
  }
  char *text = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&text, &len);
  if (!m) return fmc_fail(c, "out of memory");
  (en ? print_en : print_vi)(m, from, to, &f);
  fclose(m);
  if (len && text[len - 1] == '\n') text[len - 1] = 0;
  print_json(from, to, en ? "en" : "vi", text, &f);
  free(text);
  return 0;
}
