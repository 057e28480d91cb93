#include "records.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "date.h"
#include "fieldmesh/entry.h"
#include "fieldmesh/error.h"
#include "fieldmesh/record.h"
#include "fieldmesh/report.h"
#include "fieldmesh/text.h"
#include "vocab.h"

static int copy_record(void *ctx, const char *id, size_t id_len, const uint8_t *rec,
                       size_t len) {
  fmc_found *f = ctx;
  if (id_len > FM_RECORD_ID_MAX) return FM_ERR_CORRUPT;
  if (!(f->rec = malloc(len ? len : 1))) return -1;
  memcpy(f->rec, rec, len);
  f->len = len;
  memcpy(f->id, id, id_len);
  f->id[id_len] = 0;
  return 1;
}

int fmc_record_find(fmc_ctx *c, fm_view_kind k, const char *arg, fmc_found *out) {
  const char *what = k == FM_VIEW_DOSSIER ? "dossier" : "visit";
  memset(out, 0, sizeof *out);
  int rv = fm_store_find_record(c->store, k, arg, copy_record, out);
  if (rv == 1) return 0;
  free(out->rec);
  out->rec = NULL;
  if (rv == FM_ERR_NOTFOUND)
    return fmc_fail(c, "no %s with id \"%.50s\"%s (see `fieldmesh %s list`)", what, arg,
                    strlen(arg) < 4 ? " (a prefix needs at least 4 characters)" : "", what);
  if (rv == FM_ERR_EXISTS)
    return fmc_fail(c, "\"%.50s\" matches more than one %s: give more of the id", arg, what);
  return fmc_fail(c, "cannot read the %ss: %s", what, fm_strerror(rv));
}

void fmc_found_free(fmc_found *f) {
  free(f->rec);
  f->rec = NULL;
}

typedef struct listing_walk {
  fmc_listing *l;
  fmc_list_row row;
  void *arg;
} listing_walk;

static int listing_one(void *ctx, const char *id, size_t idn, const uint8_t *rec,
                       size_t len) {
  listing_walk *w = ctx;
  return w->row(w->l, w->arg, id, idn, rec, len);
}

int fmc_records_list(fmc_ctx *c, fm_view_kind k, const char *heads, const char *none,
                     fmc_list_row row, void *arg) {
  const char *what = k == FM_VIEW_DOSSIER ? "dossier" : "visit";
  fmc_listing l;
  listing_walk w = {&l, row, arg};
  memset(&l, 0, sizeof l);
  l.c = c;
  fmc_table_init(&l.t, heads);
  fmc_json_init(&l.j, stdout);
  if (c->json) fmc_json_arr(&l.j);
  int rv = fm_store_each_record(c->store, k, listing_one, &w);
  if (c->json) {
    fmc_json_arr_end(&l.j);
    fmc_json_end(&l.j);
  } else if (rv == 0) {
    if (l.shown) fmc_table_print(&l.t, stdout);
    else printf("%s\n", none);
  }
  fmc_table_free(&l.t);
  if (rv < 0) return fmc_fail(c, "cannot read the %ss: %s", what, fm_strerror(rv));
  return 0;
}

void fmc_record_new_id(fmc_ctx *c, char letter, char id[FM_RECORD_ID_MAX + 1]) {
  uint8_t rnd[2];
  fmc_random(rnd, sizeof rnd);
  fm_record_id(letter, (uint64_t)c->now, c->device.pk, rnd, id);
}

void fmc_record_added(fmc_ctx *c, const char *kind, const char *id, uint64_t seq,
                      const char *summary) {
  if (!c->json) {
    printf("%s\n%s\n", summary, id);
    return;
  }
  fmc_json j;
  fmc_json_init(&j, stdout);
  fmc_json_obj(&j);
  fmc_json_key(&j, "id");
  fmc_json_str(&j, id);
  fmc_json_key(&j, "kind");
  fmc_json_str(&j, kind);
  fmc_json_key(&j, "seq");
  fmc_json_uint(&j, seq);
  fmc_json_obj_end(&j);
  fmc_json_end(&j);
}

int fmc_str_is(fm_str s, const char *want) {
  /* The same text in another form (decomposed, blank space around) too. */
  return fm_text_same(s.p, s.n, want, strlen(want), 0);
}

void fmc_services_str(uint32_t mask, char *out, size_t cap) {
  size_t n = 0;
  out[0] = 0;
  for (int i = 0; i < FM_SERVICE_COUNT; i++) {
    if (!((mask >> i) & 1)) continue;
    int w = snprintf(out + n, cap - n, "%s%s", n ? "," : "", fm_service_name(i));
    if (w < 0 || (size_t)w >= cap - n) break;
    n += (size_t)w;
  }
}

const char *fmc_str(fm_str s, char *out, size_t cap) {
  /* Text recorded before records were normalized (or by another program)
   * may be decomposed: shown, grouped and compared in its one form. */
  fm_buf t;
  fm_buf_init(&t, FM_ENTRY_MAX);
  const char *p = s.p;
  size_t len = s.n;
  if (fm_text_norm(&t, s.p, s.n) == 0) {
    p = t.p ? (const char *)t.p : "";
    len = t.len;
  }
  size_t n = len < cap - 1 ? len : cap - 1;
  /* Never cut a multi-byte character in half. */
  while (n < len && n > 0 && ((unsigned char)p[n] & 0xc0) == 0x80) n--;
  if (n) memcpy(out, p, n);
  out[n] = 0;
  fm_buf_free(&t);
  return out;
}

/* "one of: Nghĩa Tân, Vinh Quang" from an enrollment, for messages. */
static void villages_hint(const fm_enrollment *en, char *out, size_t cap) {
  size_t n = 0;
  out[0] = 0;
  if (!en->nvillages) {
    snprintf(out, cap, "the village or residential group visited");
    return;
  }
  for (int i = 0; i < en->nvillages && n < cap; i++) {
    int w = snprintf(out + n, cap - n, "%s%s", i ? ", " : "one of: ", en->villages[i]);
    if (w < 0) break;
    n += (size_t)w;
  }
}

/* The enrollment's villages: a village not among them only warns, since
 * members help neighbouring villages.  One that differs only in case or
 * marks gets the enrolled spelling suggested. */
static void enrolled_village(fmc_ctx *c, const char *v, const fm_enrollment *en,
                             const char *hint) {
  size_t n = strlen(v);
  if (!en->nvillages) return;
  for (int i = 0; i < en->nvillages; i++)
    if (fm_text_same(v, n, en->villages[i], strlen(en->villages[i]), 0)) return;
  for (int i = 0; i < en->nvillages; i++)
    if (fm_text_same(v, n, en->villages[i], strlen(en->villages[i]), 1)) {
      fmc_warn(c, "\"%s\" is not among this laptop's villages: did you mean \"%s\"? "
               "Recording \"%s\" as typed", v, en->villages[i], v);
      return;
    }
  fmc_warn(c, "\"%s\" is not among this laptop's villages (%s); recording it anyway", v,
           hint);
}

/* The commune's list of villages, when it keeps one: the village is taken
 * only from it, in its spelling, or with --new-village from a leader. */
static int listed_village(fmc_ctx *c, const fmc_opt *o, const fmc_opt *new_village,
                          const fm_enrollment *en, const fm_vocab *v, char out[FM_NAME_MAX]) {
  int lead = en->role == FM_ROLE_LEADER || en->role == FM_ROLE_OFFICER ||
             en->role == FM_ROLE_ADMIN;
  int flag = new_village && new_village->value;
  if (flag && !lead &&
      fm_vocab_find(v, FM_VOCAB_VILLAGE, o->value, strlen(o->value), NULL) == FM_VOCAB_NONE)
    return fmc_fail(c, "--new-village is for a team leader or the commune hall, and this "
                       "laptop is a %s's: nothing was written; ask your leader to record "
                       "\"%s\", or give a village of the commune's list",
                    fm_role_name(en->role), o->value);
  int rv = fmc_vocab_pick(c, v, FM_VOCAB_VILLAGE, o->name, o->value, flag && lead,
                          "a team leader records a village not listed yet with --new-village",
                          out);
  if (rv == 1)
    fmc_warn(c, "\"%s\" is not among the commune's villages yet: recorded as a new "
             "village, flagged in reports until the administrator adds it", out);
  return rv < 0 || rv > 1 ? rv : 0;
}

int fmc_check_village(fmc_ctx *c, const fmc_opt *o, const fmc_opt *new_village,
                      const fm_enrollment *en, char out[FM_NAME_MAX]) {
  char hint[1024];
  fm_vocab *v = NULL;
  int rv;
  if ((rv = fmc_vocab_load(c, &v)) != 0) return rv;
  if (fm_vocab_active(v, FM_VOCAB_VILLAGE)) fmc_vocab_names(v, FM_VOCAB_VILLAGE, hint, sizeof hint);
  else villages_hint(en, hint, sizeof hint);
  if ((rv = fmc_need(c, o, hint)) == 0 &&
      (rv = fmc_check_text(c, o->name, o->value, FM_NAME_MAX - 1, 0)) == 0 && !o->value[0])
    rv = fmc_usage(c, "%s must not be empty (%s)", o->name, hint);
  if (rv == 0 && fm_vocab_active(v, FM_VOCAB_VILLAGE))
    rv = listed_village(c, o, new_village, en, v, out);
  else if (rv == 0)
    snprintf(out, FM_NAME_MAX, "%s", o->value);
  free(v);
  if (rv == 0) enrolled_village(c, out, en, hint);
  return rv;
}

void fmc_dossier_date(const fm_dossier_view *d, char out[16]) { fm_report_dossier_day(d, out); }

int fmc_may_change(fmc_ctx *c, const fm_enrollment *en, fm_str team, const char *what,
                   const char *id) {
  char b[FM_NAME_MAX * 2];
  if (en->role == FM_ROLE_OFFICER || en->role == FM_ROLE_ADMIN) return 0;
  if (team.n == 0 || fmc_str_is(team, en->team)) return 0;
  return fmc_fail(c, "%s %s belongs to %s and this laptop to %s: only %s's members, "
                     "its leader or the commune hall's officer may; nothing was written",
                  what, id, fmc_str(team, b, sizeof b), en->team, b);
}
