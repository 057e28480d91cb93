/* dossier add, dossier status, dossier show, dossier list. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cmd.h"
#include "date.h"
#include "fieldmesh/error.h"
#include "fieldmesh/procedure.h"
#include "fieldmesh/record.h"
#include "fieldmesh/text.h"
#include "out.h"
#include "records.h"
#include "seal.h"
#include "roster.h"
#include "timeline.h"
#include "upstream.h"
#include "vocab.h"

#define NOTE_MAX 2000
#define REF_MAX 64

static const char *const channels[] = {"portal", "provincial_portal", "one_stop", "post"};
#define NCHANNELS (sizeof channels / sizeof channels[0])

static void codes_list(char *out, size_t cap) {
  size_t n = 0;
  out[0] = 0;
  for (size_t i = 0; i < fm_procedure_count() && n < cap; i++) {
    int w = snprintf(out + n, cap - n, "%s%s", i ? ", " : "", fm_procedure_at(i)->code);
    if (w < 0) break;
    n += (size_t)w;
  }
}

static void statuses_list(char *out, size_t cap) {
  size_t n = 0;
  out[0] = 0;
  for (int i = 0; i < FM_STATUS_COUNT && n < cap; i++) {
    int w = snprintf(out + n, cap - n, "%s%s", i ? ", " : "", fm_status_name(i));
    if (w < 0) break;
    n += (size_t)w;
  }
}

/* Letters and digits (and, for phones, a leading + and separators). */
static int id_like(const char *s, int phone, size_t min, size_t max) {
  size_t digits = 0, n = strlen(s);
  for (size_t i = 0; i < n; i++) {
    char ch = s[i];
    if (ch >= '0' && ch <= '9') digits++;
    else if (phone && (ch == ' ' || ch == '.' || ch == '-' || (ch == '+' && i == 0))) continue;
    else if (!phone && ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z'))) digits++;
    else return 0;
  }
  return digits >= min && digits <= max;
}

enum {
  D_PROC, D_NAME, D_IDNUM, D_PHONE, D_VILLAGE, D_CHANNEL, D_NOTE, D_NOTE_FILE, D_NEW_VILLAGE,
  D_COUNT
};

static int dossier_fields(fmc_ctx *c, const fmc_opt *o, fm_dossier_in *in) {
  char codes[1024];
  int rv;
  codes_list(codes, sizeof codes);
  if ((rv = fmc_need(c, &o[D_PROC], codes))) return rv;
  if (!fm_procedure_find(o[D_PROC].value, strlen(o[D_PROC].value)))
    return fmc_usage(c, "--procedure must be a code from the catalogue (one of: %s; see "
                        "`fieldmesh procedures`), got \"%.40s\"", codes, o[D_PROC].value);
  if ((rv = fmc_need(c, &o[D_NAME], "the citizen's full name"))) return rv;
  if ((rv = fmc_check_text(c, "--applicant-name", o[D_NAME].value, FM_NAME_MAX - 1, 0)))
    return rv;
  if (!o[D_NAME].value[0]) return fmc_usage(c, "--applicant-name must not be empty");
  if (o[D_IDNUM].value && !id_like(o[D_IDNUM].value, 0, 6, 20))
    return fmc_usage(c, "--applicant-id must be the citizen's id number (12 digits on a "
                        "CCCD card, 9 on an old CMND), got \"%.40s\"", o[D_IDNUM].value);
  if (o[D_PHONE].value && !id_like(o[D_PHONE].value, 1, 8, 15))
    return fmc_usage(c, "--phone must be a phone number of 8 to 15 digits (e.g. "
                        "0912345678), got \"%.40s\"", o[D_PHONE].value);
  in->channel = channels[0];
  if (o[D_CHANNEL].value) {
    size_t i;
    for (i = 0; i < NCHANNELS && strcmp(channels[i], o[D_CHANNEL].value); i++) {}
    if (i == NCHANNELS)
      return fmc_usage(c, "--channel must be one of: portal, provincial_portal, one_stop, "
                          "post; got \"%.40s\"", o[D_CHANNEL].value);
    in->channel = channels[i];
  }
  if ((rv = fmc_check_text(c, "--note", o[D_NOTE].value, NOTE_MAX, 1))) return rv;
  in->procedure = o[D_PROC].value;
  in->name = o[D_NAME].value;
  in->id_number = o[D_IDNUM].value;
  in->phone = o[D_PHONE].value;
  in->note = o[D_NOTE].value;
  return 0;
}

int fmc_cmd_dossier_add(fmc_ctx *c, int argc, char **argv) {
  fmc_opt o[] = {{"--procedure", NULL, 0, NULL}, {"--applicant-name", NULL, 0, NULL},
                 {"--applicant-id", NULL, 0, NULL}, {"--phone", NULL, 0, NULL},
                 {"--village", NULL, 0, NULL}, {"--channel", NULL, 0, NULL},
                 {"--note", NULL, 0, NULL}, {"--note-file", NULL, 0, NULL},
                 {"--new-village", NULL, 1, NULL}, {NULL, NULL, 0, NULL}};
  fmc_spec spec = {
      "usage: fieldmesh dossier add --procedure CODE --applicant-name N [--applicant-id X] "
      "[--phone P] --village V [--new-village] [--channel C] [--note T | --note-file FILE]\n"
      "Records a dossier (status draft). CODE is from `fieldmesh procedures`;\n"
      "C is portal (default), provincial_portal, one_stop or post. When the\n"
      "commune keeps a list of villages, V is one of it (a leader records one\n"
      "not listed yet with --new-village). Prints the new dossier's id on the\n"
      "last line.\n",
      o, 0, 0, {0}, 0};
  fm_enrollment en;
  fm_dossier_in in;
  fm_buf body;
  char id[FM_RECORD_ID_MAX + 1], summary[512], day[16], village[FM_NAME_MAX], *note = NULL;
  uint64_t seq = 0;
  int rv;
  memset(&in, 0, sizeof in);
  if ((rv = fmc_args_parse(c, &spec, argc, argv)) != 0) return rv;
  if ((rv = fmc_open(c, 0)) || (rv = fmc_load_device(c)) ||
      (rv = fmc_self_enrollment(c, &en, NULL)))
    return rv;
  if ((rv = fmc_note_file(c, &o[D_NOTE], &o[D_NOTE_FILE], NOTE_MAX, &note)) ||
      (rv = dossier_fields(c, o, &in)) ||
      (rv = fmc_check_village(c, &o[D_VILLAGE], &o[D_NEW_VILLAGE], &en, village))) {
    free(note);
    return rv;
  }
  fmc_record_new_id(c, 'D', id);
  in.id = id;
  in.village = village;
  in.team = en.team;
  fmc_date_of(c->now, day);
  in.date = day;
  const fm_sealer *seal;
  if ((rv = fmc_sealer(c, &seal)) != 0) {
    free(note);
    return rv;
  }
  fm_buf_init(&body, FM_ENTRY_MAX);
  if ((rv = fm_dossier_body_sealed(&body, &in, seal)) < 0)
    rv = fmc_usage(c, "the dossier is over the entry size limit: shorten --note");
  else
    rv = fmc_append(c, &c->device, FM_KIND_DOSSIER, &body, &seq);
  fm_buf_free(&body);
  free(note);
  if (rv) return rv;
  snprintf(summary, sizeof summary, "recorded dossier \"%s\" for %s (%s)",
           fm_procedure_find(in.procedure, strlen(in.procedure))->name_vi, in.name,
           in.village);
  fmc_record_added(c, FM_KIND_DOSSIER, id, seq, summary);
  return 0;
}

/* ---- dossier status --------------------------------------------------------- */

/* Checks the texts and writes the status entry; the note is already read. */
/* A status that could never replace the current one (lower on the
 * ladder: the ladder goes before causality, docs/architecture.md) is
 * refused: a signed entry that can never win would only mislead.  One of
 * the same rank wins, having seen the current one (`after`).  Leaving
 * "delivered" for a final status is allowed, with a word. */
static int status_can_win(const fmc_ctx *c, const char *id, const fm_dossier_view *d, int st) {
  const char *now = fm_status_name(d->status), *want = fm_status_name(st);
  if (fm_status_rank(st) < fm_status_rank(d->status))
    return fmc_fail(c, "dossier %s is already %s; \"%s\" ranks lower on the ladder and "
                       "could never replace it: nothing was written (a leader or officer "
                       "sets it back with `fieldmesh dossier correct %s --status %s "
                       "--reason TEXT`)", id, now, want, id, want);
  if (d->status == FM_ST_DELIVERED && st >= FM_ST_REJECTED)
    fmc_warn(c, "dossier %s was delivered; marking it %s", id, want);
  return 0;
}

static int status_append(fmc_ctx *c, const char *which, int st, const fmc_opt *o) {
  fm_enrollment en;
  fm_dossier_view d;
  fmc_found f;
  fm_buf body;
  int rv;
  if ((rv = fmc_check_text(c, "--ref", o[0].value, REF_MAX, 0)) ||
      (rv = fmc_check_text(c, "--note", o[1].value, NOTE_MAX, 1)))
    return rv;
  if ((rv = fmc_open(c, 0)) || (rv = fmc_load_device(c)) ||
      (rv = fmc_self_enrollment(c, &en, NULL)))
    return rv;
  if ((rv = fmc_record_find(c, FM_VIEW_DOSSIER, which, &f)) != 0) return rv;
  if (fm_dossier_view_decode(f.rec, f.len, &d) < 0) memset(&d, 0, sizeof d);
  if ((rv = fmc_may_change(c, &en, d.team, "dossier", f.id)) != 0 ||
      (rv = status_can_win(c, f.id, &d, st)) != 0) {
    fmc_found_free(&f);
    return rv;
  }
  fm_buf_init(&body, FM_ENTRY_MAX);
  /* `after`: this change wins over all this laptop has seen of the dossier,
   * whatever the clocks say (same rank; the ladder still goes first). */
  if ((rv = fm_dossier_status_body_level(&body, f.id, st, o[0].value, o[1].value,
                                         fm_dossier_view_seen(&d), d.status_level)) < 0)
    rv = fmc_usage(c, "the status note is too long: shorten --note");
  else
    rv = fmc_append(c, &c->device, FM_KIND_DOSSIER_STATUS, &body, NULL);
  fm_buf_free(&body);
  fmc_found_free(&f);
  if (rv == 0 && c->json) {
    fmc_json j;
    fmc_json_init(&j, stdout);
    fmc_json_obj(&j);
    fmc_json_key(&j, "id");
    fmc_json_str(&j, f.id);
    fmc_json_key(&j, "status");
    fmc_json_str(&j, fm_status_name(st));
    fmc_json_obj_end(&j);
    fmc_json_end(&j);
  } else if (rv == 0)
    printf("%s: %s\n", f.id, fm_status_name(st));
  return rv;
}

int fmc_cmd_dossier_status(fmc_ctx *c, int argc, char **argv) {
  fmc_opt o[] = {{"--ref", NULL, 0, NULL}, {"--note", NULL, 0, NULL},
                 {"--note-file", NULL, 0, NULL}, {NULL, NULL, 0, NULL}};
  fmc_spec spec = {"usage: fieldmesh dossier status ID STATUS [--ref R] [--note T | "
                   "--note-file FILE]\n"
                   "Moves a dossier along the ladder draft < submitted < processing <\n"
                   "result_ready < delivered (rejected and withdrawn are final). --ref is\n"
                   "the portal's reference once submitted.\n",
                   o, 2, 2, {0}, 0};
  char names[256], *note = NULL;
  int rv, st;
  if ((rv = fmc_args_parse(c, &spec, argc, argv)) != 0) return rv;
  statuses_list(names, sizeof names);
  st = fm_status_parse(spec.pos[1], strlen(spec.pos[1]));
  if (st < 0)
    return fmc_usage(c, "STATUS must be one of: %s; got \"%.40s\"", names, spec.pos[1]);
  if ((rv = fmc_note_file(c, &o[1], &o[2], NOTE_MAX, &note))) return rv;
  rv = status_append(c, spec.pos[0], st, o);
  free(note);
  return rv;
}

/* ---- dossier correct ------------------------------------------------------------ */

static int may_correct(const fmc_ctx *c, const fm_enrollment *en) {
  if (en->role == FM_ROLE_LEADER || en->role == FM_ROLE_OFFICER || en->role == FM_ROLE_ADMIN)
    return 0;
  return fmc_fail(c, "only a team leader or the commune hall's officer may correct a "
                     "dossier; this laptop is enrolled as %s: ask your leader",
                  fm_role_name(en->role));
}

static void correct_done(const fmc_ctx *c, const char *id, int from, int st) {
  if (c->json) {
    fmc_json j;
    fmc_json_init(&j, stdout);
    fmc_json_obj(&j);
    fmc_json_key(&j, "id");
    fmc_json_str(&j, id);
    fmc_json_key(&j, "from");
    fmc_json_str(&j, fm_status_name(from));
    fmc_json_key(&j, "status");
    fmc_json_str(&j, fm_status_name(st));
    fmc_json_obj_end(&j);
    fmc_json_end(&j);
  } else {
    printf("%s: %s -> %s (corrected)\n", id, fm_status_name(from), fm_status_name(st));
  }
}

static int correct_append(fmc_ctx *c, const char *which, int st, const char *reason) {
  fm_enrollment en;
  fm_dossier_view d;
  fmc_found f;
  fm_buf body;
  int rv;
  if ((rv = fmc_open(c, 0)) || (rv = fmc_load_device(c)) ||
      (rv = fmc_self_enrollment(c, &en, NULL)) || (rv = may_correct(c, &en)))
    return rv;
  if ((rv = fmc_record_find(c, FM_VIEW_DOSSIER, which, &f)) != 0) return rv;
  if (fm_dossier_view_decode(f.rec, f.len, &d) < 0) memset(&d, 0, sizeof d);
  int from = d.status;
  if ((rv = fmc_may_change(c, &en, d.team, "dossier", f.id)) != 0) {
    fmc_found_free(&f);
    return rv;
  }
  if (from == st) {
    rv = fmc_fail(c, "dossier %s is already %s: nothing to correct", f.id, fm_status_name(st));
    fmc_found_free(&f);
    return rv;
  }
  fm_buf_init(&body, FM_ENTRY_MAX);
  if (fm_dossier_correct_body(&body, f.id, st, reason, fm_dossier_view_seen(&d)) < 0)
    rv = fmc_usage(c, "the reason is too long: shorten --reason");
  else
    rv = fmc_append(c, &c->device, FM_KIND_DOSSIER_CORRECT, &body, NULL);
  fm_buf_free(&body);
  if (rv == 0) correct_done(c, f.id, from, st);
  fmc_found_free(&f);
  return rv;
}

int fmc_cmd_dossier_correct(fmc_ctx *c, int argc, char **argv) {
  fmc_opt o[] = {{"--status", NULL, 0, NULL}, {"--reason", NULL, 0, NULL},
                 {NULL, NULL, 0, NULL}};
  fmc_spec spec = {"usage: fieldmesh dossier correct ID --status STATUS --reason TEXT\n"
                   "Sets a dossier's status whatever the ladder (a `delivered` marked by\n"
                   "mistake back to `processing`), keeping the reason. Leaders and the\n"
                   "commune hall's officer only. Statuses written after seeing the\n"
                   "correction climb the ladder again from it.\n",
                   o, 1, 1, {0}, 0};
  char names[256];
  int rv, st;
  if ((rv = fmc_args_parse(c, &spec, argc, argv)) != 0) return rv;
  statuses_list(names, sizeof names);
  if (!o[0].value) return fmc_usage(c, "--status is required (one of: %s)", names);
  st = fm_status_parse(o[0].value, strlen(o[0].value));
  if (st < 0)
    return fmc_usage(c, "--status must be one of: %s; got \"%.40s\"", names, o[0].value);
  if (!o[1].value) return fmc_usage(c, "--reason is required: say why the status was wrong");
  if ((rv = fmc_check_text(c, "--reason", o[1].value, NOTE_MAX, 0))) return rv;
  return correct_append(c, spec.pos[0], st, o[1].value);
}

/* ---- dossier show / list ------------------------------------------------------ */

static const char *proc_name(fm_str code) {
  const fm_procedure *p = fm_procedure_find(code.p, code.n);
  return p ? p->name_vi : "";
}

/* "KEY_name", "KEY_team": the enrolled member behind |device|. */
static void author_json(fmc_ctx *c, fmc_json *j, const char *key, const uint8_t *device) {
  char name[FM_NAME_MAX], team[FM_NAME_MAX], k[32];
  fmc_author_parts(c, device, name, team);
  snprintf(k, sizeof k, "%s_name", key);
  fmc_json_key(j, k);
  fmc_json_str(j, name);
  snprintf(k, sizeof k, "%s_team", key);
  fmc_json_key(j, k);
  fmc_json_str(j, team);
}

static void dossier_json(fmc_ctx *c, fmc_json *j, const char *id, size_t idn,
                         const fm_dossier_view *d, const fmc_upstream *u,
                         const fmc_timeline *tl) {
  char day[16];
  fmc_json_obj(j);
  fmc_json_key(j, "id");
  fmc_json_strn(j, id, idn);
  fmc_json_key(j, "procedure");
  fmc_json_strn(j, d->procedure.p, d->procedure.n);
  fmc_json_key(j, "procedure_name");
  fmc_json_str(j, proc_name(d->procedure));
  fmc_json_key(j, "applicant");
  fmc_json_obj(j);
  fmc_json_key(j, "name");
  fmc_json_strn(j, d->applicant_name.p, d->applicant_name.n);
  fmc_json_key(j, "id_number");
  fmc_json_strn(j, d->applicant_id.p, d->applicant_id.n);
  fmc_json_key(j, "phone");
  fmc_json_strn(j, d->phone.p, d->phone.n);
  fmc_json_obj_end(j);
  fmc_json_key(j, "village");
  fmc_json_strn(j, d->village.p, d->village.n);
  fmc_json_key(j, "team");
  fmc_json_strn(j, d->team.p, d->team.n);
  fmc_json_key(j, "channel");
  fmc_json_strn(j, d->channel.p, d->channel.n);
  fmc_json_key(j, "status");
  fmc_json_str(j, fm_status_name(d->status));
  fmc_json_key(j, "status_note");
  fmc_json_strn(j, d->status_note.p, d->status_note.n);
  fmc_json_key(j, "portal_ref");
  fmc_json_strn(j, d->portal_ref.p, d->portal_ref.n);
  fmc_json_key(j, "note");
  fmc_json_strn(j, d->note.p, d->note.n);
  fm_stamp atts[FM_VIEW_ATTACH_MAX];
  fmc_json_key(j, "attachments");
  fmc_json_uint(j, fm_dossier_view_attachments(d, atts));
  fmc_dossier_date(d, day);
  fmc_json_key(j, "created");
  fmc_json_str(j, day);
  fmc_json_key(j, "created_by");
  fmc_json_hex(j, d->created.author, FM_KEY_LEN);
  author_json(c, j, "created_by", d->created.author);
  if (d->status_stamp.set) author_json(c, j, "status_by", d->status_stamp.author);
  if (u) fmc_upstream_json(u, j);
  if (tl) fmc_timeline_json(c, tl, u, j);
  fmc_json_obj_end(j);
}

/* The entries the view names: who created it, the last edit, the status,
 * the portal reference. */
static int dossier_upstream(fmc_ctx *c, const char *id, const fm_dossier_view *d,
                            fmc_upstream *u) {
  fm_stamp st[4] = {d->created, d->base, d->status_stamp, d->ref_stamp};
  return fmc_upstream_of(c, FM_VIEW_DOSSIER, id, st, 4, u);
}

static void show_text(fmc_ctx *c, const char *id, const fm_dossier_view *d,
                      const fmc_upstream *u, const fmc_timeline *tl) {
  char day[16], a[FM_NAME_MAX * 2 + 8], b[FM_NAME_MAX * 2];
  fmc_table t;
  fmc_table_init(&t, "FIELD|VALUE");
  fmc_table_rowf(&t, "id\x1f%s", id);
  fmc_table_rowf(&t, "procedure\x1f%.*s — %s", (int)d->procedure.n, d->procedure.p,
                 proc_name(d->procedure));
  fmc_table_rowf(&t, "applicant\x1f%s", fmc_str(d->applicant_name, b, sizeof b));
  fmc_table_rowf(&t, "id number\x1f%s", fmc_str(d->applicant_id, b, sizeof b));
  fmc_table_rowf(&t, "phone\x1f%s", fmc_str(d->phone, b, sizeof b));
  fmc_table_rowf(&t, "village\x1f%s", fmc_vocab_village(c, d->village.p, d->village.n, a,
                                                           sizeof a));
  fmc_table_rowf(&t, "team\x1f%s", fmc_str(d->team, b, sizeof b));
  fmc_table_rowf(&t, "channel\x1f%s", fmc_str(d->channel, b, sizeof b));
  fmc_table_rowf(&t, "status\x1f%s%s%s", fm_status_name(d->status),
                 d->status_note.n ? " — " : "", fmc_str(d->status_note, b, sizeof b));
  if (d->status_stamp.set)
    fmc_table_rowf(&t, "status by\x1f%s",
                   fmc_author_label(c, d->status_stamp.author, a, sizeof a));
  fmc_table_rowf(&t, "portal ref\x1f%s", fmc_str(d->portal_ref, b, sizeof b));
  fmc_dossier_date(d, day);
  fmc_table_rowf(&t, "created\x1f%s by %s", day,
                 fmc_author_label(c, d->created.author, a, sizeof a));
  fmc_table_rowf(&t, "note\x1f%s", fmc_str(d->note, b, sizeof b));
  fm_stamp atts[FM_VIEW_ATTACH_MAX];
  size_t natt = fm_dossier_view_attachments(d, atts);
  if (natt)
    fmc_table_rowf(&t, "scans\x1f%zu (see `fieldmesh dossier attachments %s`)", natt, id);
  fmc_upstream_rows(c, u, &t);
  fmc_timeline_rows(c, tl, u, &t);
  fmc_table_print(&t, stdout);
  fmc_table_free(&t);
}

int fmc_cmd_dossier_show(fmc_ctx *c, int argc, char **argv) {
  fmc_spec spec = {"usage: fieldmesh dossier show ID [--json]\n"
                   "Shows one dossier; ID may be a unique prefix (4 characters or more).\n",
                   NULL, 1, 1, {0}, 0};
  fm_dossier_view d;
  fmc_upstream *u = NULL;
  fmc_timeline *tl = NULL;
  fmc_found f;
  int rv;
  if ((rv = fmc_args_parse(c, &spec, argc, argv)) != 0) return rv;
  if ((rv = fmc_open(c, 0)) != 0) return rv;
  if ((rv = fmc_record_find(c, FM_VIEW_DOSSIER, spec.pos[0], &f)) != 0) return rv;
  fm_opened *op = malloc(sizeof *op);
  int bad = fm_dossier_view_decode(f.rec, f.len, &d) < 0;
  if (!bad && op) fmc_open_dossier(c, &d, op, f.id, strlen(f.id));
  if (!op) {
    rv = fmc_fail(c, "out of memory");
  } else if (bad) {
    rv = fmc_fail(c, "dossier %s is unreadable in this store: run `fieldmesh verify`", f.id);
  } else if (!(u = malloc(sizeof *u)) || (rv = dossier_upstream(c, f.id, &d, u)) < 0) {
    rv = fmc_fail(c, "cannot read the receipts of dossier %s: %s", f.id,
                  u ? fm_strerror(rv) : "out of memory");
  } else if (!(tl = malloc(sizeof *tl))) {
    rv = fmc_fail(c, "cannot read the history of dossier %s: out of memory", f.id);
  } else if ((rv = fmc_timeline_of(c, FM_VIEW_DOSSIER, f.id, tl)) != 0) {
    /* said */
  } else if (c->json) {
    fmc_json j;
    fmc_json_init(&j, stdout);
    dossier_json(c, &j, f.id, strlen(f.id), &d, u, tl);
    fmc_json_end(&j);
  } else {
    show_text(c, f.id, &d, u, tl);
  }
  free(tl);
  free(u);
  if (op) sodium_memzero(op, sizeof *op);
  free(op);
  fmc_found_free(&f);
  return rv;
}

/* The filters of `dossier list`. */
typedef struct list_filter {
  const char *village;   /* NULL: any */
  int status;            /* -1: any */
  fm_vocab *vocab;       /* the commune's lists, for a renamed village */
  const char *applicant; /* NULL: any; else a part of a name this laptop can read */
  fm_opened *op;
} list_filter;

/* Whether the readable name |name| holds |want| (both compared by their
 * matching keys, fm_text_fold). */
static int name_has(fm_str name, const char *want) {
  fm_buf a, b;
  int has = 0;
  fm_buf_init(&a, FM_ENTRY_MAX);
  fm_buf_init(&b, FM_ENTRY_MAX);
  if (fm_text_fold(&a, name.p, name.n) == 0 && fm_text_fold(&b, want, strlen(want)) == 0 &&
      b.len > 0 && a.len >= b.len && a.p && b.p)
    for (size_t i = 0; !has && i + b.len <= a.len; i++) has = !memcmp(a.p + i, b.p, b.len);
  fm_buf_free(&a);
  fm_buf_free(&b);
  return has;
}

static int list_one(fmc_listing *l, void *arg, const char *id, size_t idn,
                    const uint8_t *rec, size_t len) {
  const list_filter *f = arg;
  fm_dossier_view d;
  char idb[48], day[16], proc[40], name[FM_NAME_MAX], village[FM_NAME_MAX],
      team[FM_NAME_MAX], ref[REF_MAX + 1];
  if (fm_dossier_view_decode(rec, len, &d) < 0) return 0; /* verify reports it */
  if (f->village && !fmc_vocab_is(f->vocab, FM_VOCAB_VILLAGE, d.village.p, d.village.n,
                                  f->village))
    return 0;
  if (f->status >= 0 && d.status != f->status) return 0;
  fmc_open_dossier(l->c, &d, f->op, id, idn);
  if (f->applicant && ((d.locked & FM_SEALED_NAME) || !name_has(d.applicant_name, f->applicant)))
    return 0;
  l->shown++;
  if (l->c->json) {
    dossier_json(l->c, &l->j, id, idn, &d, NULL, NULL);
    return 0;
  }
  fmc_dossier_date(&d, day);
  const char *cells[] = {fmc_str((fm_str){id, idn}, idb, sizeof idb), day,
                         fmc_str(d.procedure, proc, sizeof proc),
                         fmc_str(d.applicant_name, name, sizeof name),
                         fmc_str(d.village, village, sizeof village),
                         fmc_str(d.team, team, sizeof team), fm_status_name(d.status),
                         fmc_str(d.portal_ref, ref, sizeof ref)};
  fmc_table_row(&l->t, cells);
  return 0;
}

int fmc_cmd_dossier_list(fmc_ctx *c, int argc, char **argv) {
  fmc_opt o[] = {{"--village", NULL, 0, NULL}, {"--status", NULL, 0, NULL},
                 {"--applicant", NULL, 0, NULL}, {NULL, NULL, 0, NULL}};
  fmc_spec spec = {"usage: fieldmesh dossier list [--village V] [--status S] [--applicant NAME] "
                   "[--json]\n"
                   "Lists the dossiers this laptop holds, oldest first. --applicant keeps\n"
                   "those whose applicant's name holds NAME, among the names this laptop\n"
                   "can read (sealed ones it cannot open are left out).\n",
                   o, 0, 0, {0}, 0};
  char names[256];
  list_filter f = {NULL, -1, NULL, NULL, NULL};
  int rv;
  if ((rv = fmc_args_parse(c, &spec, argc, argv)) != 0) return rv;
  if ((rv = fmc_check_text(c, "--village", o[0].value, FM_NAME_MAX - 1, 0))) return rv;
  if (o[1].value && (f.status = fm_status_parse(o[1].value, strlen(o[1].value))) < 0) {
    statuses_list(names, sizeof names);
    return fmc_usage(c, "--status must be one of: %s; got \"%.40s\"", names, o[1].value);
  }
  if ((rv = fmc_open(c, 0)) != 0 || (rv = fmc_vocab_load(c, &f.vocab)) != 0) return rv;
  if ((rv = fmc_check_text(c, "--applicant", o[2].value, FM_NAME_MAX - 1, 0))) {
    free(f.vocab);
    return rv;
  }
  f.village = o[0].value;
  f.applicant = o[2].value;
  if (!(f.op = malloc(sizeof *f.op))) {
    free(f.vocab);
    return fmc_fail(c, "out of memory");
  }
  rv = fmc_records_list(c, FM_VIEW_DOSSIER,
                        "ID|CREATED|PROCEDURE|APPLICANT|VILLAGE|TEAM|STATUS|REF",
                        "no dossiers", list_one, &f);
  sodium_memzero(f.op, sizeof *f.op);
  free(f.op);
  free(f.vocab);
  return rv;
}
