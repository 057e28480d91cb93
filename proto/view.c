#include "fieldmesh/view.h"

#include <string.h>

#include "fieldmesh/attach.h"
#include "fieldmesh/error.h"

/* A dossier record has 16 fields, and a 17th, its date, only when that is
 * not empty: records of entries without a date are the same bytes as
 * before dates existed. */
#define DOSSIER_FIELDS 17
#define DOSSIER_FIELDS_NO_DATE 16
/* ...and an 18th, the status level, only when a correction set one; then
 * the 17th is there too, empty when the dossier has no date. */
#define DOSSIER_FIELDS_LEVEL 18
#define VISIT_FIELDS 11

static const uint8_t empty_array[1] = {0x90};

int fm_stamp_cmp(const fm_stamp *a, const fm_stamp *b) {
  if (a->set != b->set) return a->set ? 1 : -1;
  if (!a->set) return 0;
  if (a->order != b->order) return a->order > b->order ? 1 : -1;
  int c = memcmp(a->author, b->author, FM_KEY_LEN);
  if (c) return c > 0 ? 1 : -1;
  if (a->seq != b->seq) return a->seq > b->seq ? 1 : -1;
  return 0;
}

/* A change names in `after` the latest order its writer had seen on the
 * record: it sorts after that, whatever its own clock said. */
static fm_stamp entry_stamp(const fm_entry *e) {
  fm_stamp s;
  uint64_t after;
  s.set = 1;
  s.hlc = e->hlc;
  s.order = e->hlc;
  if (fm_body_uint(e->body, e->body_len, "after", &after) == 0 && after >= e->hlc &&
      after < UINT64_MAX)
    s.order = after + 1;
  memcpy(s.author, e->author, FM_KEY_LEN);
  s.seq = e->seq;
  return s;
}

/* ---- reading entry bodies (signed but otherwise arbitrary) -------------- */

/* A field of the wrong type reads as empty: materialization must be total
 * and deterministic, whatever an enrolled device chose to sign. */
static fm_str body_str(const fm_entry *e, const char *key) {
  fm_str s = {"", 0};
  if (fm_body_str(e->body, e->body_len, key, &s.p, &s.n) < 0) {
    s.p = "";
    s.n = 0;
  }
  return s;
}

/* A personal field of the map |body|: a str, or a bin kept as an opaque
 * sealed value (include/fieldmesh/seal.h): then |bit| goes into |*sealed|.
 * Anything else reads as empty. */
static fm_str personal(const uint8_t *body, size_t len, const char *key, unsigned *sealed,
                       unsigned bit) {
  fm_str s = {"", 0};
  fm_rd v;
  const uint8_t *p;
  size_t n;
  *sealed &= ~bit;
  if (fm_body_find(body, len, key, &v) < 0) return s;
  if (fm_rd_str(&v, &s.p, &s.n) == 0) return s;
  if (fm_rd_bin(&v, &p, &n) == 0 && n > 0) {
    s.p = (const char *)p;
    s.n = n;
    *sealed |= bit;
    return s;
  }
  s.p = "";
  s.n = 0;
  return s;
}

static fm_str sub_str(const fm_entry *e, const char *map_key, const char *key,
                      unsigned *sealed, unsigned bit) {
  fm_str s = {"", 0};
  fm_rd v;
  const uint8_t *start;
  *sealed &= ~bit;
  if (fm_body_find(e->body, e->body_len, map_key, &v) < 0) return s;
  start = v.p;
  if (fm_rd_peek(&v) != FM_MT_MAP || fm_rd_skip(&v, 64, UINT32_MAX) < 0) return s;
  return personal(start, (size_t)(v.p - start), key, sealed, bit);
}

fm_view_kind fm_view_target(const fm_entry *e, const char **id, size_t *n) {
  fm_view_kind k;
  const char *id_key = "id";
  if (fm_entry_is(e, FM_KIND_DOSSIER) || fm_entry_is(e, FM_KIND_DOSSIER_STATUS) ||
      fm_entry_is(e, FM_KIND_DOSSIER_CORRECT))
    k = FM_VIEW_DOSSIER;
  else if (fm_entry_is(e, FM_KIND_DOSSIER_ATTACH))
    k = FM_VIEW_DOSSIER, id_key = "dossier";
  else if (fm_entry_is(e, FM_KIND_VISIT) || fm_entry_is(e, FM_KIND_VISIT_VOID))
    k = FM_VIEW_VISIT;
  else
    return FM_VIEW_NONE;
  fm_str s = body_str(e, id_key);
  if (s.n == 0 || s.n > FM_RECORD_ID_MAX) return FM_VIEW_NONE;
  *id = s.p;
  *n = s.n;
  return k;
}

/* ---- record encoding ---------------------------------------------------- */

static void wr_stamp(fm_wr *w, const fm_stamp *s) {
  if (!s->set) {
    fm_wr_nil(w);
    return;
  }
  /* The order is written only when `after` moved it past the hlc. */
  fm_wr_array(w, s->order > s->hlc ? 4 : 3);
  fm_wr_uint(w, s->hlc);
  fm_wr_bin(w, s->author, FM_KEY_LEN);
  fm_wr_uint(w, s->seq);
  if (s->order > s->hlc) fm_wr_uint(w, s->order);
}

static void wr_s(fm_wr *w, fm_str s) { fm_wr_str(w, s.p ? s.p : "", s.n); }

/* A personal field: a sealed value stays a bin, as written. */
static void wr_p(fm_wr *w, fm_str s, unsigned sealed, unsigned bit) {
  if (sealed & bit)
    fm_wr_bin(w, s.p, s.n);
  else
    wr_s(w, s);
}

static int rd_stamp(fm_rd *c, fm_stamp *s) {
  uint32_t n;
  memset(s, 0, sizeof *s);
  if (fm_rd_nil(c) == 0) return 0;
  if (fm_rd_array(c, &n) < 0 || (n != 3 && n != 4) || fm_rd_uint(c, &s->hlc) < 0 ||
      fm_rd_bin_fixed(c, s->author, FM_KEY_LEN) < 0 || fm_rd_uint(c, &s->seq) < 0)
    return FM_ERR_CORRUPT;
  s->order = s->hlc;
  if (n == 4 && (fm_rd_uint(c, &s->order) < 0 || s->order <= s->hlc)) return FM_ERR_CORRUPT;
  s->set = 1;
  return 0;
}

static int rd_s(fm_rd *c, fm_str *s) {
  return fm_rd_str(c, &s->p, &s->n) < 0 ? FM_ERR_CORRUPT : 0;
}

/* A personal field: a str, or a sealed value's bin (not empty). */
static int rd_p(fm_rd *c, fm_str *s, unsigned *sealed, unsigned bit) {
  const uint8_t *p;
  if (fm_rd_str(c, &s->p, &s->n) == 0) return 0;
  if (fm_rd_bin(c, &p, &s->n) < 0 || s->n == 0) return FM_ERR_CORRUPT;
  s->p = (const char *)p;
  *sealed |= bit;
  return 0;
}

static void dossier_encode(fm_wr *w, const fm_dossier_view *d) {
  fm_wr_array(w, d->status_level   ? DOSSIER_FIELDS_LEVEL
                 : d->date.n        ? DOSSIER_FIELDS
                                    : DOSSIER_FIELDS_NO_DATE);
  wr_stamp(w, &d->base);
  wr_stamp(w, &d->created);
  wr_s(w, d->procedure);
  wr_p(w, d->applicant_name, d->sealed, FM_SEALED_NAME);
  wr_p(w, d->applicant_id, d->sealed, FM_SEALED_ID);
  wr_p(w, d->phone, d->sealed, FM_SEALED_PHONE);
  wr_s(w, d->village);
  wr_s(w, d->team);
  wr_s(w, d->channel);
  wr_p(w, d->note, d->sealed, FM_SEALED_NOTE);
  fm_wr_raw(w, d->attachments, d->attachments_len);
  wr_stamp(w, &d->ref_stamp);
  wr_s(w, d->portal_ref);
  fm_wr_uint(w, (uint64_t)d->status);
  wr_stamp(w, &d->status_stamp);
  wr_s(w, d->status_note);
  if (d->date.n || d->status_level) wr_s(w, d->date);
  if (d->status_level) fm_wr_uint(w, d->status_level);
}

int fm_dossier_view_decode(const uint8_t *rec, size_t len, fm_dossier_view *out) {
  fm_dossier_view d;
  fm_rd c;
  uint32_t n;
  uint64_t st;
  const uint8_t *att;
  memset(&d, 0, sizeof d);
  fm_rd_init(&c, rec, len, 0);
  if (fm_rd_array(&c, &n) < 0 ||
      (n != DOSSIER_FIELDS && n != DOSSIER_FIELDS_NO_DATE && n != DOSSIER_FIELDS_LEVEL))
    return FM_ERR_CORRUPT;
  if (rd_stamp(&c, &d.base) || rd_stamp(&c, &d.created) ||
      rd_s(&c, &d.procedure) || rd_p(&c, &d.applicant_name, &d.sealed, FM_SEALED_NAME) ||
      rd_p(&c, &d.applicant_id, &d.sealed, FM_SEALED_ID) ||
      rd_p(&c, &d.phone, &d.sealed, FM_SEALED_PHONE) || rd_s(&c, &d.village) ||
      rd_s(&c, &d.team) || rd_s(&c, &d.channel) || rd_p(&c, &d.note, &d.sealed, FM_SEALED_NOTE))
    return FM_ERR_CORRUPT;
  att = c.p;
  if (fm_rd_peek(&c) != FM_MT_ARRAY || fm_rd_skip(&c, 4, 1u << 16) < 0)
    return FM_ERR_CORRUPT;
  d.attachments = att;
  d.attachments_len = (size_t)(c.p - att);
  if (rd_stamp(&c, &d.ref_stamp) || rd_s(&c, &d.portal_ref) ||
      fm_rd_uint(&c, &st) < 0 || st >= FM_STATUS_COUNT ||
      rd_stamp(&c, &d.status_stamp) || rd_s(&c, &d.status_note))
    return FM_ERR_CORRUPT;
  d.date = (fm_str){"", 0};
  if (n == DOSSIER_FIELDS && (rd_s(&c, &d.date) || d.date.n == 0)) return FM_ERR_CORRUPT;
  if (n == DOSSIER_FIELDS_LEVEL &&
      (rd_s(&c, &d.date) || fm_rd_uint(&c, &d.status_level) < 0 || d.status_level == 0))
    return FM_ERR_CORRUPT;
  if (!fm_rd_done(&c)) return FM_ERR_CORRUPT;
  d.status = (int)st;
  *out = d;
  return 0;
}

static void visit_encode(fm_wr *w, const fm_visit_view *v) {
  fm_wr_array(w, VISIT_FIELDS);
  wr_stamp(w, &v->base);
  wr_s(w, v->team);
  wr_s(w, v->village);
  wr_p(w, v->place, v->sealed, FM_SEALED_PLACE);
  wr_s(w, v->date);
  wr_s(w, v->mode);
  fm_wr_uint(w, v->services);
  fm_wr_uint(w, v->citizens);
  wr_p(w, v->note, v->sealed, FM_SEALED_NOTE);
  wr_stamp(w, &v->void_stamp);
  wr_s(w, v->void_reason);
}

int fm_visit_view_decode(const uint8_t *rec, size_t len, fm_visit_view *out) {
  fm_visit_view v;
  fm_rd c;
  uint32_t n;
  uint64_t services;
  memset(&v, 0, sizeof v);
  fm_rd_init(&c, rec, len, 0);
  if (fm_rd_array(&c, &n) < 0 || n != VISIT_FIELDS) return FM_ERR_CORRUPT;
  if (rd_stamp(&c, &v.base) || rd_s(&c, &v.team) || rd_s(&c, &v.village) ||
      rd_p(&c, &v.place, &v.sealed, FM_SEALED_PLACE) || rd_s(&c, &v.date) || rd_s(&c, &v.mode) ||
      fm_rd_uint(&c, &services) < 0 || services > UINT32_MAX ||
      fm_rd_uint(&c, &v.citizens) < 0 || rd_p(&c, &v.note, &v.sealed, FM_SEALED_NOTE) ||
      rd_stamp(&c, &v.void_stamp) || rd_s(&c, &v.void_reason) ||
      !fm_rd_done(&c))
    return FM_ERR_CORRUPT;
  v.services = (uint32_t)services;
  *out = v;
  return 0;
}

/* ---- merge rules -------------------------------------------------------- */

static fm_hlc later_order(fm_hlc o, const fm_stamp *s) {
  return s->set && s->order > o ? s->order : o;
}

fm_hlc fm_dossier_view_seen(const fm_dossier_view *d) {
  fm_hlc o = later_order(0, &d->base);
  o = later_order(o, &d->created);
  o = later_order(o, &d->ref_stamp);
  return later_order(o, &d->status_stamp);
}

fm_hlc fm_visit_view_seen(const fm_visit_view *v) {
  return later_order(later_order(0, &v->base), &v->void_stamp);
}

static void empty_dossier(fm_dossier_view *d) {
  static const fm_str none = {"", 0};
  memset(d, 0, sizeof *d);
  d->procedure = d->applicant_name = d->applicant_id = d->phone = none;
  d->village = d->team = d->channel = d->note = none;
  d->portal_ref = d->status_note = d->date = none;
  d->attachments = empty_array;
  d->attachments_len = 1;
  d->status = FM_ST_DRAFT;
}

/* Status order: level (the correction it stands on), rank on the ladder,
 * then the write's stamp. */
static int status_wins(fm_hlc level, int st, const fm_stamp *s, const fm_dossier_view *d) {
  if (!d->status_stamp.set) return 1;
  if (level != d->status_level) return level > d->status_level;
  int ra = fm_status_rank(st), rb = fm_status_rank(d->status);
  if (ra != rb) return ra > rb;
  return fm_stamp_cmp(s, &d->status_stamp) > 0;
}

static void set_ref(fm_dossier_view *d, fm_str ref, const fm_stamp *s) {
  if (ref.n && fm_stamp_cmp(s, &d->ref_stamp) > 0) {
    d->portal_ref = ref;
    d->ref_stamp = *s;
  }
}

size_t fm_dossier_view_attachments(const fm_dossier_view *d,
                                   fm_stamp out[static FM_VIEW_ATTACH_MAX]) {
  fm_rd c;
  uint32_t n;
  size_t k = 0;
  fm_rd_init(&c, d->attachments, d->attachments_len, 0);
  if (!d->attachments || fm_rd_array(&c, &n) < 0) return 0;
  for (uint32_t i = 0; i < n && k < FM_VIEW_ATTACH_MAX; i++) {
    if (rd_stamp(&c, &out[k]) < 0) break;
    if (out[k].set) k++;
  }
  return k;
}

/* A `dossier.attach` entry joins the dossier's list in merge order; past
 * FM_VIEW_ATTACH_MAX the latest are left out, whatever the order they
 * arrived in.  A body that does not parse attaches nothing.  The list is
 * written into |scratch|, which must outlive |d|'s encoding. */
static void add_attachment(fm_dossier_view *d, const fm_entry *e, const fm_stamp *s,
                           fm_buf *scratch) {
  fm_stamp list[FM_VIEW_ATTACH_MAX + 1];
  fm_attach a;
  fm_wr w;
  size_t n, at;
  if (fm_attach_parse(e->body, e->body_len, &a) < 0) return;
  n = fm_dossier_view_attachments(d, list);
  for (at = 0; at < n && fm_stamp_cmp(&list[at], s) < 0; at++) {}
  if (at < n && fm_stamp_cmp(&list[at], s) == 0) return;
  if (at == FM_VIEW_ATTACH_MAX) return;
  memmove(&list[at + 1], &list[at], (n - at) * sizeof *list);
  list[at] = *s;
  if (n < FM_VIEW_ATTACH_MAX) n++;
  fm_buf_reset(scratch);
  fm_wr_init(&w, scratch);
  fm_wr_array(&w, (uint32_t)n);
  for (size_t i = 0; i < n; i++) wr_stamp(&w, &list[i]);
  if (fm_buf_error(scratch)) return;
  d->attachments = scratch->p;
  d->attachments_len = scratch->len;
}

/* A status stands on the correction its writer had seen; a claim of one
 * not before the status itself counts as none. */
static fm_hlc status_level_of(const fm_entry *e, const fm_stamp *s) {
  uint64_t level;
  if (fm_body_uint(e->body, e->body_len, "correction", &level) < 0 || level >= s->order)
    return 0;
  return level;
}

static void apply_dossier(fm_dossier_view *d, const fm_entry *e, fm_buf *scratch) {
  fm_stamp s = entry_stamp(e);
  if (fm_entry_is(e, FM_KIND_DOSSIER_ATTACH)) {
    add_attachment(d, e, &s, scratch);
    return;
  }
  if (fm_entry_is(e, FM_KIND_DOSSIER)) {
    if (fm_stamp_cmp(&s, &d->base) > 0) {
      d->base = s;
      d->procedure = body_str(e, "procedure");
      d->applicant_name = sub_str(e, "applicant", "name", &d->sealed, FM_SEALED_NAME);
      d->applicant_id = sub_str(e, "applicant", "id_number", &d->sealed, FM_SEALED_ID);
      d->phone = sub_str(e, "applicant", "phone", &d->sealed, FM_SEALED_PHONE);
      d->village = body_str(e, "village");
      d->team = body_str(e, "team");
      d->channel = body_str(e, "channel");
      d->note = personal(e->body, e->body_len, "note", &d->sealed, FM_SEALED_NOTE);
    }
    if (!d->created.set || fm_stamp_cmp(&s, &d->created) < 0) {
      d->created = s;
      d->date = body_str(e, "date");
    }
    set_ref(d, body_str(e, "portal_ref"), &s);
    if (status_wins(0, FM_ST_DRAFT, &s, d)) {
      d->status = FM_ST_DRAFT;
      d->status_stamp = s;
      d->status_note = (fm_str){"", 0};
    }
    return;
  }
  /* dossier.status and dossier.correct: an unknown status name changes
   * nothing. */
  fm_str name = body_str(e, "status");
  int st = fm_status_parse(name.p, name.n);
  if (st < 0) return;
  int correct = fm_entry_is(e, FM_KIND_DOSSIER_CORRECT);
  fm_hlc level = correct ? s.order : status_level_of(e, &s);
  if (status_wins(level, st, &s, d)) {
    d->status = st;
    d->status_stamp = s;
    d->status_level = level;
    d->status_note = body_str(e, correct ? "reason" : "note");
  }
  if (!correct) set_ref(d, body_str(e, "ref"), &s);
}

static uint32_t services_of(const fm_entry *e) {
  fm_rd v;
  uint32_t n, mask = 0;
  if (fm_body_find(e->body, e->body_len, "services", &v) < 0) return 0;
  if (fm_rd_array(&v, &n) < 0) return 0;
  for (uint32_t i = 0; i < n; i++) {
    const char *s;
    size_t sn;
    if (fm_rd_str(&v, &s, &sn) < 0) return mask;
    int k = fm_service_parse(s, sn);
    if (k >= 0) mask |= 1u << k;
  }
  return mask;
}

static void apply_visit(fm_visit_view *v, const fm_entry *e) {
  fm_stamp s = entry_stamp(e);
  if (fm_entry_is(e, FM_KIND_VISIT_VOID)) {
    if (fm_stamp_cmp(&s, &v->void_stamp) > 0) {
      v->void_stamp = s;
      v->void_reason = body_str(e, "reason");
    }
    return;
  }
  if (fm_stamp_cmp(&s, &v->base) <= 0) return;
  uint64_t citizens = 0;
  v->base = s;
  v->team = body_str(e, "team");
  v->village = body_str(e, "village");
  v->place = personal(e->body, e->body_len, "place", &v->sealed, FM_SEALED_PLACE);
  v->date = body_str(e, "date");
  v->mode = body_str(e, "mode");
  v->note = personal(e->body, e->body_len, "note", &v->sealed, FM_SEALED_NOTE);
  v->services = services_of(e);
  if (fm_body_uint(e->body, e->body_len, "citizens", &citizens) < 0) citizens = 0;
  v->citizens = citizens;
}

int fm_view_apply(fm_view_kind k, const uint8_t *old, size_t old_len,
                  const fm_entry *e, fm_buf *out) {
  fm_wr w;
  int rv;
  fm_buf_reset(out);
  fm_wr_init(&w, out);
  if (k == FM_VIEW_DOSSIER) {
    fm_dossier_view d;
    fm_buf scratch;
    if (old) {
      if ((rv = fm_dossier_view_decode(old, old_len, &d)) < 0) return rv;
    } else {
      empty_dossier(&d);
    }
    fm_buf_init(&scratch, FM_VIEW_ATTACH_MAX * 64 + 8);
    apply_dossier(&d, e, &scratch);
    dossier_encode(&w, &d);
    fm_buf_free(&scratch);
  } else {
    static const fm_str none = {"", 0};
    fm_visit_view v;
    if (old) {
      if ((rv = fm_visit_view_decode(old, old_len, &v)) < 0) return rv;
    } else {
      memset(&v, 0, sizeof v);
      v.team = v.village = v.place = v.date = v.mode = v.note = none;
      v.void_reason = none;
    }
    apply_visit(&v, e);
    visit_encode(&w, &v);
  }
  return fm_buf_error(out);
}

int fm_dossier_view_encode(fm_buf *out, const fm_dossier_view *d) {
  fm_wr w;
  fm_wr_init(&w, out);
  dossier_encode(&w, d);
  return fm_buf_error(out);
}

int fm_visit_view_encode(fm_buf *out, const fm_visit_view *v) {
  fm_wr w;
  fm_wr_init(&w, out);
  visit_encode(&w, v);
  return fm_buf_error(out);
}
