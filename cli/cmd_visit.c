/* visit add, visit list, visit void. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cmd.h"
#include "date.h"
#include "fieldmesh/error.h"
#include "fieldmesh/record.h"
#include "out.h"
#include "records.h"
#include "seal.h"
#include "roster.h"
#include "timeline.h"
#include "upstream.h"
#include "vocab.h"

#define PLACE_MAX 255
#define NOTE_MAX 2000

static int check_services(fmc_ctx *c, const char *v, uint32_t *mask) {
  char all[256] = "";
  const char *item;
  size_t n;
  for (int i = 0; i < FM_SERVICE_COUNT; i++) {
    size_t k = strlen(all);
    snprintf(all + k, sizeof all - k, "%s%s", i ? ", " : "", fm_service_name(i));
  }
  int rv = fm_services_parse_list(v, mask, &item, &n);
  if (rv == 0) return 0;
  if (n > 60) n = 60;
  if (rv == FM_ERR_EXISTS)
    return fmc_usage(c, "--services lists \"%.*s\" twice: give each service once", (int)n, item);
  if (n == 0)
    return fmc_usage(c, "--services has an empty item: give a comma-separated list of: %s", all);
  return fmc_usage(c, "--services must be a comma-separated list of: %s; \"%.*s\" is not "
                      "one of them", all, (int)n, item);
}

enum {
  V_VILLAGE, V_MODE, V_SERVICES, V_CITIZENS, V_DATE, V_PLACE, V_NOTE, V_NOTE_FILE, V_NEW_VILLAGE,
  V_COUNT
};

/* Checks everything but the village into |in|. */
static int visit_fields(fmc_ctx *c, const fmc_opt *o, fm_visit_in *in, char date[16]) {
  int rv, y, m, d;
  if ((rv = fmc_need(c, &o[V_MODE], "one of: home, village_point, one_stop"))) return rv;
  in->mode = fm_mode_parse(o[V_MODE].value, strlen(o[V_MODE].value));
  if (in->mode < 0)
    return fmc_usage(c, "--mode must be one of: home, village_point, one_stop; got "
                        "\"%.40s\"", o[V_MODE].value);
  if ((rv = fmc_need(c, &o[V_SERVICES], "e.g. account_created,eid_activated"))) return rv;
  if ((rv = check_services(c, o[V_SERVICES].value, &in->services))) return rv;
  if ((rv = fmc_need(c, &o[V_CITIZENS], "how many citizens were helped, 1 to 1000"))) return rv;
  if ((rv = fmc_check_uint(c, "--citizens", o[V_CITIZENS].value, 1, 1000, &in->citizens)))
    return rv;
  if (o[V_DATE].value) {
    if ((rv = fmc_check_date(c, "--date", o[V_DATE].value, &y, &m, &d))) return rv;
    char today[16];
    fm_time day = fmc_date_start(y, m, d), day_ms = 24LL * 3600 * 1000;
    fmc_date_of(c->now, today);
    /* A visit is recorded on the day or soon after; a date past tomorrow
     * or over a year back is a typo in the day or the year. */
    if (day > c->now + day_ms)
      return fmc_usage(c, "--date %s is in the future (today is %s): give the day the visit "
                          "happened", o[V_DATE].value, today);
    if (day < c->now - 366 * day_ms)
      return fmc_usage(c, "--date %s is more than a year ago (today is %s): check the year",
                       o[V_DATE].value, today);
    snprintf(date, 16, "%s", o[V_DATE].value); /* checked: YYYY-MM-DD */
  } else {
    fmc_date_of(c->now, date);
  }
  in->date = date;
  if ((rv = fmc_check_text(c, "--place", o[V_PLACE].value, PLACE_MAX, 0)) ||
      (rv = fmc_check_text(c, "--note", o[V_NOTE].value, NOTE_MAX, 1)))
    return rv;
  in->place = o[V_PLACE].value;
  in->note = o[V_NOTE].value;
  return 0;
}

/* A place of the commune's list in the list's spelling into |out|; any
 * other place (a household) as typed. */
static int listed_place(fmc_ctx *c, const char *place, char out[PLACE_MAX + 1]) {
  fm_vocab *v = NULL;
  const char *name = NULL;
  int rv;
  snprintf(out, PLACE_MAX + 1, "%s", place ? place : "");
  if (!place || !place[0]) return 0;
  if ((rv = fmc_vocab_load(c, &v)) != 0) return rv;
  if (fm_vocab_find(v, FM_VOCAB_PLACE, place, strlen(place), &name) == FM_VOCAB_CURRENT)
    snprintf(out, PLACE_MAX + 1, "%s", name);
  free(v);
  return 0;
}

/* Checks the fields, then writes the visit; the note is already read. */
static int visit_add(fmc_ctx *c, const fmc_opt *o, const fm_enrollment *en, fm_visit_in *in) {
  fm_buf body;
  char id[FM_RECORD_ID_MAX + 1], date[16], summary[512], village[FM_NAME_MAX],
      place[PLACE_MAX + 1];
  uint64_t seq = 0;
  int rv;
  if ((rv = fmc_check_village(c, &o[V_VILLAGE], &o[V_NEW_VILLAGE], en, village)) ||
      (rv = visit_fields(c, o, in, date)) || (rv = listed_place(c, in->place, place)))
    return rv;
  in->place = place;
  fmc_record_new_id(c, 'V', id);
  in->id = id;
  in->team = en->team;
  in->village = village;
  const fm_sealer *seal;
  if ((rv = fmc_sealer(c, &seal)) != 0) return rv;
  fm_buf_init(&body, FM_ENTRY_MAX);
  if ((rv = fm_visit_body_sealed(&body, in, seal)) < 0)
    rv = fmc_usage(c, "the visit is over the entry size limit: shorten --note or --place");
  else
    rv = fmc_append(c, &c->device, FM_KIND_VISIT, &body, &seq);
  fm_buf_free(&body);
  if (rv) return rv;
  snprintf(summary, sizeof summary, "recorded visit to %s on %s: %llu citizen%s helped (%s)",
           in->village, date, (unsigned long long)in->citizens, in->citizens == 1 ? "" : "s",
           fm_mode_name(in->mode));
  fmc_record_added(c, FM_KIND_VISIT, id, seq, summary);
  return 0;
}

int fmc_cmd_visit_add(fmc_ctx *c, int argc, char **argv) {
  fmc_opt o[] = {{"--village", NULL, 0, NULL}, {"--mode", NULL, 0, NULL},
                 {"--services", NULL, 0, NULL}, {"--citizens", NULL, 0, NULL},
                 {"--date", NULL, 0, NULL},    {"--place", NULL, 0, NULL},
                 {"--note", NULL, 0, NULL},    {"--note-file", NULL, 0, NULL},
                 {"--new-village", NULL, 1, NULL}, {NULL, NULL, 0, NULL}};
  fmc_spec spec = {
      "usage: fieldmesh visit add --village V [--new-village] --mode "
      "home|village_point|one_stop --services LIST --citizens N [--date YYYY-MM-DD] "
      "[--place P] [--note T | --note-file FILE]\n"
      "Records a visit. LIST is comma-separated: account_created, eid_activated,\n"
      "dossier_submitted, payment_guided, feedback_guided, result_received,\n"
      "app_installed. --date defaults to today (Vietnam time), at most a year\n"
      "back. When the commune keeps a list of villages, V is one of it (a leader\n"
      "records one not listed yet with --new-village); a --place of the\n"
      "commune's places is written in the list's spelling. Prints the new\n"
      "visit's id on the last line.\n",
      o, 0, 0, {0}, 0};
  fm_enrollment en;
  fm_visit_in in;
  char *note = NULL;
  int rv;
  memset(&in, 0, sizeof in);
  if ((rv = fmc_args_parse(c, &spec, argc, argv)) != 0) return rv;
  if ((rv = fmc_open(c, 0)) || (rv = fmc_load_device(c)) ||
      (rv = fmc_self_enrollment(c, &en, NULL)))
    return rv;
  if ((rv = fmc_note_file(c, &o[V_NOTE], &o[V_NOTE_FILE], NOTE_MAX, &note)) == 0)
    rv = visit_add(c, o, &en, &in);
  free(note);
  return rv;
}

/* ---- visit list ------------------------------------------------------------ */

static void visit_json(fmc_ctx *c, fmc_json *j, const char *id, size_t idn,
                       const fm_visit_view *v, const fmc_upstream *u,
                       const fmc_timeline *tl) {
  char name[FM_NAME_MAX], team[FM_NAME_MAX];
  fmc_json_obj(j);
  fmc_json_key(j, "id");
  fmc_json_strn(j, id, idn);
  fmc_json_key(j, "date");
  fmc_json_strn(j, v->date.p, v->date.n);
  fmc_json_key(j, "village");
  fmc_json_strn(j, v->village.p, v->village.n);
  fmc_json_key(j, "team");
  fmc_json_strn(j, v->team.p, v->team.n);
  fmc_json_key(j, "place");
  fmc_json_strn(j, v->place.p, v->place.n);
  fmc_json_key(j, "mode");
  fmc_json_strn(j, v->mode.p, v->mode.n);
  fmc_json_key(j, "services");
  fmc_json_arr(j);
  for (int i = 0; i < FM_SERVICE_COUNT; i++)
    if ((v->services >> i) & 1) fmc_json_str(j, fm_service_name(i));
  fmc_json_arr_end(j);
  fmc_json_key(j, "citizens");
  fmc_json_uint(j, v->citizens);
  fmc_json_key(j, "note");
  fmc_json_strn(j, v->note.p, v->note.n);
  fmc_json_key(j, "voided");
  fmc_json_bool(j, v->void_stamp.set);
  fmc_json_key(j, "void_reason");
  fmc_json_strn(j, v->void_reason.p, v->void_reason.n);
  if (v->void_stamp.set) {
    fmc_author_parts(c, v->void_stamp.author, name, team);
    fmc_json_key(j, "voided_by_name");
    fmc_json_str(j, name);
    fmc_json_key(j, "voided_by_team");
    fmc_json_str(j, team);
  }
  fmc_json_key(j, "author");
  fmc_json_hex(j, v->base.author, FM_KEY_LEN);
  fmc_author_parts(c, v->base.author, name, team);
  fmc_json_key(j, "author_name");
  fmc_json_str(j, name);
  fmc_json_key(j, "author_team");
  fmc_json_str(j, team);
  if (u) fmc_upstream_json(u, j);
  if (tl) fmc_timeline_json(c, tl, u, j);
  fmc_json_obj_end(j);
}

/* The filter of `visit list`. */
typedef struct list_filter {
  const char *village; /* NULL: any */
  fm_vocab *vocab;     /* the commune's lists, for a renamed village */
} list_filter;

/* One row of `visit list`. */
static int list_one(fmc_listing *l, void *arg, const char *id, size_t idn,
                    const uint8_t *rec, size_t len) {
  const list_filter *f = arg;
  fm_visit_view v;
  char idb[48], date[16], village[FM_NAME_MAX], team[FM_NAME_MAX], mode[32],
      services[256], citizens[24], voided[FM_NAME_MAX * 2 + 24], by[FM_NAME_MAX * 2 + 8];
  if (fm_visit_view_decode(rec, len, &v) < 0) return 0; /* verify reports it */
  if (f->village &&
      !fmc_vocab_is(f->vocab, FM_VOCAB_VILLAGE, v.village.p, v.village.n, f->village))
    return 0;
  l->shown++;
  if (l->c->json) {
    fm_opened *op = malloc(sizeof *op);
    if (op) fmc_open_visit(l->c, &v, op, id, idn);
    visit_json(l->c, &l->j, id, idn, &v, NULL, NULL);
    if (op) sodium_memzero(op, sizeof *op);
    free(op);
    return 0;
  }
  fmc_services_str(v.services, services, sizeof services);
  snprintf(citizens, sizeof citizens, "%llu", (unsigned long long)v.citizens);
  voided[0] = 0;
  if (v.void_stamp.set)
    snprintf(voided, sizeof voided, "voided by %s",
             fmc_author_label(l->c, v.void_stamp.author, by, sizeof by));
  const char *cells[] = {fmc_str((fm_str){id, idn}, idb, sizeof idb),
                         fmc_str(v.date, date, sizeof date),
                         fmc_str(v.village, village, sizeof village),
                         fmc_str(v.team, team, sizeof team),
                         fmc_str(v.mode, mode, sizeof mode), citizens, services,
                         voided};
  fmc_table_row(&l->t, cells);
  return 0;
}

int fmc_cmd_visit_list(fmc_ctx *c, int argc, char **argv) {
  fmc_opt o[] = {{"--village", NULL, 0, NULL}, {NULL, NULL, 0, NULL}};
  fmc_spec spec = {"usage: fieldmesh visit list [--village V] [--json]\n"
                   "Lists every visit this laptop holds, oldest first; voided ones are\n"
                   "marked.\n",
                   o, 0, 0, {0}, 0};
  char none[FM_NAME_MAX + 16];
  int rv;
  if ((rv = fmc_args_parse(c, &spec, argc, argv)) != 0) return rv;
  if ((rv = fmc_check_text(c, "--village", o[0].value, FM_NAME_MAX - 1, 0))) return rv;
  list_filter f = {o[0].value, NULL};
  if ((rv = fmc_open(c, 0)) != 0 || (rv = fmc_vocab_load(c, &f.vocab)) != 0) return rv;
  snprintf(none, sizeof none, "no visits%s%s", o[0].value ? " in " : "",
           o[0].value ? o[0].value : "");
  rv = fmc_records_list(c, FM_VIEW_VISIT, "ID|DATE|VILLAGE|TEAM|MODE|#CITIZENS|SERVICES|STATE",
                        none, list_one, &f);
  free(f.vocab);
  return rv;
}

/* ---- visit show ------------------------------------------------------------ */

static void show_text(fmc_ctx *c, const char *id, const fm_visit_view *v,
                      const fmc_upstream *u, const fmc_timeline *tl) {
  char b[FM_NAME_MAX * 2], who[FM_NAME_MAX * 2 + 8], services[256];
  fmc_table t;
  fmc_table_init(&t, "FIELD|VALUE");
  fmc_table_rowf(&t, "id\x1f%s", id);
  fmc_table_rowf(&t, "date\x1f%s", fmc_str(v->date, b, sizeof b));
  fmc_table_rowf(&t, "village\x1f%s", fmc_vocab_village(c, v->village.p, v->village.n, who,
                                                           sizeof who));
  fmc_table_rowf(&t, "place\x1f%s", fmc_str(v->place, b, sizeof b));
  fmc_table_rowf(&t, "team\x1f%s", fmc_str(v->team, b, sizeof b));
  fmc_table_rowf(&t, "mode\x1f%s", fmc_str(v->mode, b, sizeof b));
  fmc_services_str(v->services, services, sizeof services);
  fmc_table_rowf(&t, "services\x1f%s", services);
  fmc_table_rowf(&t, "citizens\x1f%llu", (unsigned long long)v->citizens);
  fmc_table_rowf(&t, "note\x1f%s", fmc_str(v->note, b, sizeof b));
  if (v->base.set)
    fmc_table_rowf(&t, "recorded by\x1f%s", fmc_author_label(c, v->base.author, who, sizeof who));
  if (v->void_stamp.set)
    fmc_table_rowf(&t, "voided\x1f" "by %s — %s",
                   fmc_author_label(c, v->void_stamp.author, who, sizeof who),
                   fmc_str(v->void_reason, b, sizeof b));
  fmc_upstream_rows(c, u, &t);
  fmc_timeline_rows(c, tl, u, &t);
  fmc_table_print(&t, stdout);
  fmc_table_free(&t);
}

static int show_one(fmc_ctx *c, const fmc_found *f, const fm_visit_view *v) {
  fm_stamp st[2] = {v->base, v->void_stamp};
  fmc_upstream *u = malloc(sizeof *u);
  fmc_timeline *tl = malloc(sizeof *tl);
  fm_opened *op = malloc(sizeof *op);
  fm_visit_view shown = *v;
  int rv = 0;
  if (op) fmc_open_visit(c, &shown, op, f->id, strlen(f->id));
  v = &shown;
  if (!u || !tl || !op)
    rv = fmc_fail(c, "cannot show visit %s: out of memory", f->id);
  else if ((rv = fmc_upstream_of(c, FM_VIEW_VISIT, f->id, st, 2, u)) < 0)
    rv = fmc_fail(c, "cannot read the receipts of visit %s: %s", f->id, fm_strerror(rv));
  else if ((rv = fmc_timeline_of(c, FM_VIEW_VISIT, f->id, tl)) != 0) {
    /* said */
  } else if (c->json) {
    fmc_json j;
    fmc_json_init(&j, stdout);
    visit_json(c, &j, f->id, strlen(f->id), v, u, tl);
    fmc_json_end(&j);
  } else {
    show_text(c, f->id, v, u, tl);
  }
  free(u);
  free(tl);
  if (op) sodium_memzero(op, sizeof *op);
  free(op);
  return rv;
}

int fmc_cmd_visit_show(fmc_ctx *c, int argc, char **argv) {
  fmc_spec spec = {"usage: fieldmesh visit show ID [--json]\n"
                   "Shows one visit and its timeline: who recorded and voided it, when,\n"
                   "why, and what reached the commune's system; ID may be a unique prefix\n"
                   "(4 characters or more).\n",
                   NULL, 1, 1, {0}, 0};
  fm_visit_view v;
  fmc_found f;
  int rv;
  if ((rv = fmc_args_parse(c, &spec, argc, argv)) != 0) return rv;
  if ((rv = fmc_open(c, 0)) != 0) return rv;
  if ((rv = fmc_record_find(c, FM_VIEW_VISIT, spec.pos[0], &f)) != 0) return rv;
  if (fm_visit_view_decode(f.rec, f.len, &v) < 0)
    rv = fmc_fail(c, "visit %s is unreadable in this store: run `fieldmesh verify`", f.id);
  else
    rv = show_one(c, &f, &v);
  fmc_found_free(&f);
  return rv;
}

/* ---- visit void ------------------------------------------------------------ */

int fmc_cmd_visit_void(fmc_ctx *c, int argc, char **argv) {
  fmc_opt o[] = {{"--reason", NULL, 0, NULL}, {NULL, NULL, 0, NULL}};
  fmc_spec spec = {"usage: fieldmesh visit void ID [--reason T]\n"
                   "Withdraws a visit recorded in error (visits are never edited).\n"
                   "ID may be a unique prefix of at least 4 characters.\n",
                   o, 1, 1, {0}, 0};
  fmc_found f;
  fm_visit_view v;
  fm_enrollment en;
  fm_buf body;
  int rv;
  if ((rv = fmc_args_parse(c, &spec, argc, argv)) != 0) return rv;
  if ((rv = fmc_check_text(c, "--reason", o[0].value, NOTE_MAX, 1))) return rv;
  if ((rv = fmc_open(c, 0)) || (rv = fmc_load_device(c)) ||
      (rv = fmc_self_enrollment(c, &en, NULL)))
    return rv;
  if ((rv = fmc_record_find(c, FM_VIEW_VISIT, spec.pos[0], &f)) != 0) return rv;
  if (fm_visit_view_decode(f.rec, f.len, &v) < 0)
    rv = fmc_fail(c, "visit %s is unreadable in this store: run `fieldmesh verify`", f.id);
  else if (v.void_stamp.set)
    rv = fmc_fail(c, "visit %s is already voided; nothing to do", f.id);
  else
    rv = fmc_may_change(c, &en, v.team, "visit", f.id);
  fmc_found_free(&f);
  if (rv) return rv;
  fm_buf_init(&body, FM_ENTRY_MAX);
  /* `after`: the void wins over all this laptop has seen of the visit. */
  if ((rv = fm_visit_void_body_after(&body, f.id, o[0].value, fm_visit_view_seen(&v))) < 0)
    rv = fmc_usage(c, "--reason is too long: shorten it");
  else
    rv = fmc_append(c, &c->device, FM_KIND_VISIT_VOID, &body, NULL);
  fm_buf_free(&body);
  if (rv == 0 && c->json) {
    fmc_json j;
    fmc_json_init(&j, stdout);
    fmc_json_obj(&j);
    fmc_json_key(&j, "id");
    fmc_json_str(&j, f.id);
    fmc_json_key(&j, "voided");
    fmc_json_bool(&j, 1);
    fmc_json_obj_end(&j);
    fmc_json_end(&j);
  } else if (rv == 0) printf("voided visit %s\n", f.id);
  return rv;
}
