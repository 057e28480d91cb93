#include "fieldmesh/report.h"

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fieldmesh/entry.h"
#include "fieldmesh/hlc.h"
#include "fieldmesh/keys.h"
#include "fieldmesh/text.h"
#include "fieldmesh/view.h"
#include "fieldmesh/vocab.h"

#define VIETNAM_OFFSET_S (7 * 3600)   /* UTC+7 all year */

typedef struct counting {
  fm_report *r;
  fm_store *s;
  int err;
  uint8_t member_pk[FM_KEY_LEN];   /* the last author named (member_name) */
  char member[FM_NAME_MAX];
  int member_known;
  fm_vocab *vocab;                 /* the commune's lists (fieldmesh/vocab.h) */
  char listed[FM_NAME_MAX + 16];   /* the last key vocab_key made */
} counting;

void fm_report_day(fm_time ms, char *out) {
  time_t t = (time_t)(ms / 1000) + VIETNAM_OFFSET_S;
  struct tm tm;
  if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0) {
    memcpy(out, "0000-00-00", 11);
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

static const char *const BY_NAMES[FM_REPORT_BY_COUNT] = {
    "village", "team", "procedure", "month", "day", "week", "place", "member", "service"};

const char *fm_report_by_name(fm_report_by by) {
  return (unsigned)by < FM_REPORT_BY_COUNT ? BY_NAMES[by] : NULL;
}

const char *fm_report_col_name(int col) {
  static const char *const names[FM_REPORT_COLS] = {
      "visits", "citizens", "dossiers", "submitted", "delivered", "rejected", "withdrawn"};
  return col >= 0 && col < FM_REPORT_COLS ? names[col] : NULL;
}

int fm_report_shown(const fm_report *r, int col) {
  if (col <= FM_REPORT_CITIZENS)
    return r->by != FM_REPORT_PROCEDURE && !r->procedure && !r->status;
  return !fm_report_visits_only(r->by);
}

uint64_t fm_report_figure(const fm_report_row *w, int col) {
  const uint64_t v[FM_REPORT_COLS] = {w->visits,    w->citizens, w->dossiers, w->submitted,
                                      w->delivered, w->rejected, w->withdrawn};
  return col >= 0 && col < FM_REPORT_COLS ? v[col] : 0;
}

int fm_report_visits_only(fm_report_by by) {
  return by == FM_REPORT_PLACE || by == FM_REPORT_SERVICE;
}

/* Whether the day |d| ("YYYY-MM-DD") is inside the report's bounds, each
 * a day or a month (compared on its own length: a month holds its days). */
static int in_range(const fm_report *r, const char *d) {
  return (!r->from[0] || strncmp(d, r->from, strlen(r->from)) >= 0) &&
         (!r->to[0] || strncmp(d, r->to, strlen(r->to)) <= 0);
}

/* The ISO week of the day |d| ("YYYY-MM-DD"), "2026-W49", into |out|. */
static void iso_week(const char *d, char out[16]) {
  struct tm tm;
  memset(&tm, 0, sizeof tm);
  tm.tm_year = atoi(d) - 1900;
  tm.tm_mon = atoi(d + 5) - 1;
  tm.tm_mday = atoi(d + 8);
  tm.tm_hour = 12;
  time_t t = timegm(&tm);
  if (t == (time_t)-1 || !gmtime_r(&t, &tm) || !strftime(out, 16, "%G-W%V", &tm))
    snprintf(out, 16, "0000-W00");
}

/* The member who wrote |author|'s records, as enrolled ("" when the store
 * does not know): few members, so the last one found is kept. */
static const char *member_name(counting *c, const uint8_t author[FM_KEY_LEN]) {
  fm_enrollment en;
  if (c->member_known && !memcmp(c->member_pk, author, FM_KEY_LEN)) return c->member;
  c->member[0] = 0;
  if (fm_store_enrollment(c->s, author, &en, NULL, NULL, NULL) == 0)
    snprintf(c->member, sizeof c->member, "%s", en.name);
  memcpy(c->member_pk, author, FM_KEY_LEN);
  c->member_known = 1;
  return c->member;
}

/* The key of a record by a time, a member or its text field |text|. */
static fm_str time_or_member_key(counting *c, const char *day, char week[16],
                                 const uint8_t *author, fm_str text) {
  switch (c->r->by) {
  case FM_REPORT_MONTH: return (fm_str){day, 7};
  case FM_REPORT_DAY: return (fm_str){day, 10};
  case FM_REPORT_WEEK: iso_week(day, week); return (fm_str){week, strlen(week)};
  case FM_REPORT_MEMBER: {
    const char *m = member_name(c, author);
    return (fm_str){m, strlen(m)};
  }
  default: return text;
  }
}

/* A village, place or team |text| under the name the commune's list gives
 * it now (a renamed village's records count under the new name); a
 * village the list does not hold, while it holds some, is flagged "(not
 * listed)" until the administrator adds it.  Other keys as they are. */
static fm_str vocab_key(counting *c, fm_str text) {
  fm_vocab_list l = c->r->by == FM_REPORT_VILLAGE ? FM_VOCAB_VILLAGE
                    : c->r->by == FM_REPORT_PLACE ? FM_VOCAB_PLACE
                                                  : FM_VOCAB_TEAM;
  if (c->r->by != FM_REPORT_VILLAGE && c->r->by != FM_REPORT_PLACE &&
      c->r->by != FM_REPORT_TEAM)
    return text;
  const char *name = fm_vocab_resolve(c->vocab, l, text.p, text.n);
  if (name) return (fm_str){name, strlen(name)};
  if (l != FM_VOCAB_VILLAGE || !fm_vocab_active(c->vocab, l) || !text.n) return text;
  int n = text.n < FM_NAME_MAX ? (int)text.n : FM_NAME_MAX - 1;
  snprintf(c->listed, sizeof c->listed, "%.*s (not listed)", n, text.p);
  return (fm_str){c->listed, strlen(c->listed)};
}

static int count_visit(counting *c, fm_str key, const fm_visit_view *v) {
  fm_report_row *w = row_for(c, key.p, key.n);
  if (!w) return -1;
  w->visits++;
  w->citizens += v->citizens;
  return 0;
}

static int on_visit(void *ctx, const char *id, size_t idn, const uint8_t *rec, size_t len) {
  counting *c = ctx;
  fm_report *r = c->r;
  fm_visit_view v;
  char day[16], week[16];
  fm_str key;
  (void)id, (void)idn;
  if (r->procedure || r->status || r->by == FM_REPORT_PROCEDURE ||
      fm_visit_view_decode(rec, len, &v) < 0 ||
      v.void_stamp.set)
    return 0;
  if (v.date.n == 10) memcpy(day, v.date.p, 10);
  else fm_report_day((fm_time)fm_hlc_ms(v.base.hlc), day);
  day[10] = 0;
  if (!in_range(r, day)) return 0;
  r->total.visits++;
  r->total.citizens += v.citizens;
  if (r->by == FM_REPORT_SERVICE) {
    /* Once under each service the visit gave. */
    for (int i = 0; i < FM_SERVICE_COUNT; i++) {
      const char *name = fm_service_name(i);
      if (((v.services >> i) & 1) && count_visit(c, (fm_str){name, strlen(name)}, &v) < 0)
        return -1;
    }
    return 0;
  }
  fm_str text = r->by == FM_REPORT_VILLAGE ? v.village
                : r->by == FM_REPORT_TEAM  ? v.team
                                           : v.place;
  /* A report never opens a sealed place: it counts under its team
   * (docs/privacy.md), the same on every laptop. */
  char locked[FM_SEAL_TEXT_MAX];
  if (r->by == FM_REPORT_PLACE && (v.sealed & FM_SEALED_PLACE)) {
    fm_keyring_locked_text(v.team, locked);
    text = (fm_str){locked, strlen(locked)};
  }
  key = time_or_member_key(c, day, week, v.base.author, vocab_key(c, text));
  return count_visit(c, key, &v);
}

static int on_dossier(void *ctx, const char *id, size_t idn, const uint8_t *rec, size_t len) {
  counting *c = ctx;
  fm_report *r = c->r;
  fm_dossier_view d;
  char day[16], week[16];
  fm_str key;
  (void)id, (void)idn;
  if (fm_dossier_view_decode(rec, len, &d) < 0) return 0;
  if (r->procedure && (d.procedure.n != strlen(r->procedure) ||
                       memcmp(d.procedure.p, r->procedure, d.procedure.n)))
    return 0;
  if (r->status && d.status != r->status - 1) return 0;
  fm_report_dossier_day(&d, day);
  if (!in_range(r, day) || fm_report_visits_only(r->by)) return 0;
  fm_str text = r->by == FM_REPORT_VILLAGE ? d.village
                : r->by == FM_REPORT_TEAM  ? d.team
                                           : d.procedure;
  key = time_or_member_key(c, day, week, d.created.author, vocab_key(c, text));
  fm_report_row *w = row_for(c, key.p, key.n);
  if (!w) return -1;
  int sub = d.status != FM_ST_DRAFT && d.status != FM_ST_WITHDRAWN;
  int del = d.status == FM_ST_DELIVERED, rej = d.status == FM_ST_REJECTED,
      wd = d.status == FM_ST_WITHDRAWN;
  fm_report_row *rows[2] = {w, &r->total};
  for (int i = 0; i < 2; i++) {
    rows[i]->dossiers++;
    rows[i]->submitted += (uint64_t)sub;
    rows[i]->delivered += (uint64_t)del;
    rows[i]->rejected += (uint64_t)rej;
    rows[i]->withdrawn += (uint64_t)wd;
  }
  return 0;
}

static int by_key(const void *a, const void *b) {
  return strcmp(((const fm_report_row *)a)->key, ((const fm_report_row *)b)->key);
}

int fm_report_count(fm_store *s, fm_report *r) {
  counting c;
  memset(&c, 0, sizeof c);
  c.r = r;
  c.s = s;
  if (!(c.vocab = malloc(sizeof *c.vocab))) return -ENOMEM;
  int rv = fm_store_vocab(s, c.vocab);
  if (rv == 0) rv = fm_store_each_record(s, FM_VIEW_VISIT, on_visit, &c);
  if (rv == 0) rv = fm_store_each_record(s, FM_VIEW_DOSSIER, on_dossier, &c);
  free(c.vocab);
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
