#include "fieldmesh/report.h"

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fieldmesh/entry.h"
#include "fieldmesh/hlc.h"
#include "fieldmesh/text.h"
#include "fieldmesh/view.h"

#define VIETNAM_OFFSET_S (7 * 3600)   /* UTC+7 all year */

typedef struct counting {
  fm_report *r;
  int err;
} counting;

void fm_report_day(fm_time ms, char *out) {
  time_t t = (time_t)(ms / 1000) + VIETNAM_OFFSET_S;
  struct tm tm;
  if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0) {
    strcpy(out, "0000-00-00");
    return;
  }
  strftime(out, 11, "%Y-%m-%d", &tm);
}

/* A "YYYY-MM-DD" whose month and day can be. */
static int is_date(const char *p, size_t n) {
  if (n != 10 || p[4] != '-' || p[7] != '-') return 0;
  for (int i = 0; i < 10; i++)
    if (i != 4 && i != 7 && (p[i] < '0' || p[i] > '9')) return 0;
  int m = (p[5] - '0') * 10 + (p[6] - '0'), d = (p[8] - '0') * 10 + (p[9] - '0');
  return m >= 1 && m <= 12 && d >= 1 && d <= 31;
}

void fm_report_dossier_day(const fm_dossier_view *d, char out[16]) {
  if (is_date(d->date.p, d->date.n)) {
    memcpy(out, d->date.p, 10);
    out[10] = 0;
  } else {
    fm_report_day((fm_time)fm_hlc_ms(d->created.hlc), out);
  }
}

/* The row for |key| (|n| bytes), in its one form (fieldmesh/text.h) so a
 * village written decomposed counts with the composed one; keys are few
 * (villages, teams, months), so a linear search is plenty. */
static fm_report_row *row_for(counting *c, const char *key, size_t n) {
  fm_report *r = c->r;
  char k[FM_NAME_MAX];
  fm_buf t;
  fm_buf_init(&t, FM_ENTRY_MAX);
  if (fm_text_norm(&t, key, n) == 0) {
    key = t.p ? (const char *)t.p : "";
    n = t.len;
  }
  size_t full = n;
  if (n >= sizeof k) n = sizeof k - 1;
  /* Never cut a multi-byte character in half. */
  while (n < full && n > 0 && ((unsigned char)key[n] & 0xc0) == 0x80) n--;
  if (n) memcpy(k, key, n);
  k[n] = 0;
  fm_buf_free(&t);
  if (!k[0]) snprintf(k, sizeof k, "(none)");
  for (size_t i = 0; i < r->n; i++)
    if (!strcmp(r->rows[i].key, k)) return &r->rows[i];
  if (r->n == r->cap) {
    size_t cap = r->cap ? r->cap * 2 : 32;
    fm_report_row *nr = realloc(r->rows, cap * sizeof *nr);
    if (!nr) {
      c->err = -ENOMEM;
      return NULL;
    }
    r->rows = nr;
    r->cap = cap;
  }
  fm_report_row *w = &r->rows[r->n++];
  memset(w, 0, sizeof *w);
  memcpy(w->key, k, sizeof w->key);
  return w;
}

/* Whether the month |m| ("YYYY-MM", 7 bytes) is inside the report's bounds. */
static int in_months(const fm_report *r, const char *m) {
  return (!r->from[0] || memcmp(m, r->from, 7) >= 0) && (!r->to[0] || memcmp(m, r->to, 7) <= 0);
}

static int on_visit(void *ctx, const char *id, size_t idn, const uint8_t *rec, size_t len) {
  counting *c = ctx;
  fm_report *r = c->r;
  fm_visit_view v;
  char day[16];
  fm_str key;
  (void)id, (void)idn;
  if (r->procedure || r->by == FM_REPORT_PROCEDURE || fm_visit_view_decode(rec, len, &v) < 0 ||
      v.void_stamp.set)
    return 0;
  if (v.date.n == 10) memcpy(day, v.date.p, 10);
  else fm_report_day((fm_time)fm_hlc_ms(v.base.hlc), day);
  if (!in_months(r, day)) return 0;
  if (r->by == FM_REPORT_VILLAGE) key = v.village;
  else if (r->by == FM_REPORT_TEAM) key = v.team;
  else key = (fm_str){day, 7};
  fm_report_row *w = row_for(c, key.p, key.n);
  if (!w) return -1;
  w->visits++;
  w->citizens += v.citizens;
  r->total.visits++;
  r->total.citizens += v.citizens;
  return 0;
}

static int on_dossier(void *ctx, const char *id, size_t idn, const uint8_t *rec, size_t len) {
  counting *c = ctx;
  fm_report *r = c->r;
  fm_dossier_view d;
  char day[16];
  fm_str key;
  (void)id, (void)idn;
  if (fm_dossier_view_decode(rec, len, &d) < 0) return 0;
  if (r->procedure && (d.procedure.n != strlen(r->procedure) ||
                       memcmp(d.procedure.p, r->procedure, d.procedure.n)))
    return 0;
  fm_report_dossier_day(&d, day);
  if (!in_months(r, day)) return 0;
  if (r->by == FM_REPORT_VILLAGE) key = d.village;
  else if (r->by == FM_REPORT_TEAM) key = d.team;
  else if (r->by == FM_REPORT_PROCEDURE) key = d.procedure;
  else key = (fm_str){day, 7};
  fm_report_row *w = row_for(c, key.p, key.n);
  if (!w) return -1;
  int sub = d.status != FM_ST_DRAFT && d.status != FM_ST_WITHDRAWN;
  int del = d.status == FM_ST_DELIVERED;
  w->dossiers++;
  w->submitted += (uint64_t)sub;
  w->delivered += (uint64_t)del;
  r->total.dossiers++;
  r->total.submitted += (uint64_t)sub;
  r->total.delivered += (uint64_t)del;
  return 0;
}

static int by_key(const void *a, const void *b) {
  return strcmp(((const fm_report_row *)a)->key, ((const fm_report_row *)b)->key);
}

int fm_report_count(fm_store *s, fm_report *r) {
  counting c = {r, 0};
  int rv = fm_store_each_record(s, FM_VIEW_VISIT, on_visit, &c);
  if (rv == 0) rv = fm_store_each_record(s, FM_VIEW_DOSSIER, on_dossier, &c);
  if (c.err) return c.err;
  if (rv < 0) return rv;
  if (r->n) qsort(r->rows, r->n, sizeof *r->rows, by_key);
  return 0;
}

void fm_report_free(fm_report *r) {
  free(r->rows);
  r->rows = NULL;
  r->n = r->cap = 0;
}
