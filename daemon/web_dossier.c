/* One dossier's page: its fields, with the citizen's identity number and
 * phone masked; its timeline -- who (member name), when, what -- from the
 * entries its view names and those a gateway receipt names; and where
 * and when each reached the commune's system, with the receipt's
 * reference. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "fieldmesh/delivery.h"
#include "fieldmesh/error.h"
#include "fieldmesh/hlc.h"
#include "fieldmesh/procedure.h"
#include "fieldmesh/view.h"
#include "node.h"
#include "web_page.h"

#define TIMELINE_MAX 64

typedef struct step {
  uint8_t author[FM_KEY_LEN];
  uint64_t seq;
  fm_time at;                       /* the entry's stamp; 0: not held here */
  char kind[FM_KIND_MAX + 1];
  char status[24];                  /* of a dossier.status entry */
  int delivered;
  fm_delivery d;
} step;

typedef struct timeline {
  step s[TIMELINE_MAX];
  size_t n;
} timeline;

static void add(timeline *t, const uint8_t author[FM_KEY_LEN], uint64_t seq) {
  for (size_t i = 0; i < t->n; i++)
    if (t->s[i].seq == seq && !memcmp(t->s[i].author, author, FM_KEY_LEN)) return;
  if (t->n == TIMELINE_MAX) return;
  memset(&t->s[t->n], 0, sizeof t->s[0]);
  memcpy(t->s[t->n].author, author, FM_KEY_LEN);
  t->s[t->n++].seq = seq;
}

static int on_delivered(void *ctx, const fm_delivery *d) {
  add(ctx, d->author, d->seq);
  return 0;
}

static int read_step(void *ctx, const uint8_t *bytes, size_t len) {
  step *s = ctx;
  fm_entry e;
  const char *st;
  size_t n;
  if (fm_entry_decode(bytes, len, NULL, &e) < 0 || e.seq != s->seq) return 1;
  s->at = (fm_time)fm_hlc_ms(e.hlc);
  n = e.kind_len < FM_KIND_MAX ? e.kind_len : FM_KIND_MAX;
  memcpy(s->kind, e.kind, n);
  s->kind[n] = 0;
  if (fm_body_str(e.body, e.body_len, "status", &st, &n) == 0 && n < sizeof s->status) {
    memcpy(s->status, st, n);
    s->status[n] = 0;
  }
  return 1;
}

static int by_time(const void *pa, const void *pb) {
  const step *a = pa, *b = pb;
  return a->at < b->at ? -1 : a->at > b->at;
}

static int gather(fmd_web_page *p, const char *id, const fm_dossier_view *d, timeline *t) {
  const fm_stamp *st[] = {&d->created, &d->base, &d->status_stamp, &d->ref_stamp};
  fm_stamp scans[FM_VIEW_ATTACH_MAX];
  size_t nscans = fm_dossier_view_attachments(d, scans);
  for (size_t i = 0; i < 4; i++)
    if (st[i]->set) add(t, st[i]->author, st[i]->seq);
  for (size_t i = 0; i < nscans; i++) add(t, scans[i].author, scans[i].seq);
  int rv = fm_delivery_each_of_record(p->d->store, FM_VIEW_DOSSIER, id, strlen(id),
                                      on_delivered, t);
  if (rv < 0) return rv;
  for (size_t i = 0; i < t->n; i++) {
    step *s = &t->s[i];
    fm_store_read_after(p->d->store, s->author, s->seq - 1, 1, read_step, s);
    s->delivered = fm_delivery_get(p->d->store, s->author, s->seq, &s->d) == 0;
  }
  qsort(t->s, t->n, sizeof t->s[0], by_time);
  return 0;
}

/* All but the last three characters hidden: enough to tell two apart. */
static void masked(fmd_web_page *p, fm_str s, int locked) {
  size_t chars = 0, hidden = 0, i;
  if (locked) return fmd_html_textn(&p->out, s.p, s.n); /* "(sealed: Team 1)" */
  for (i = 0; i < s.n; i++) chars += ((unsigned char)s.p[i] & 0xc0) != 0x80;
  if (!chars) return fmd_html_raw(&p->out, "-");
  size_t keep_from = chars > 6 ? chars - 3 : chars; /* a short one: all of it */
  for (i = 0; i < s.n; i++) {
    if (((unsigned char)s.p[i] & 0xc0) == 0x80) continue;
    if (hidden == keep_from) break;
    hidden++;
    fmd_html_raw(&p->out, "•");
  }
  fmd_html_textn(&p->out, s.p + i, s.n - i);
}

static void field(fmd_web_page *p, const char *vi, const char *en, fm_str v) {
  fmd_html_rawf(&p->out, "<tr><th>%s</th><td>", fmd_web_t(p, vi, en));
  fmd_html_textn(&p->out, v.p, v.n);
  fmd_html_raw(&p->out, "</td></tr>");
}

static void fields(fmd_web_page *p, const fm_dossier_view *d) {
  const fm_procedure *pr = fm_procedure_find(d->procedure.p, d->procedure.n);
  fmd_html_raw(&p->out, "<table style=\"width:auto\">");
  field(p, "Thủ tục", "Procedure", d->procedure);
  if (pr) {
    fmd_html_raw(&p->out, "<tr><th></th><td>");
    fmd_html_text(&p->out, p->en ? pr->name_en : pr->name_vi);
    fmd_html_raw(&p->out, "</td></tr>");
  }
  field(p, "Người nộp", "Applicant", d->applicant_name);
  fmd_html_rawf(&p->out, "<tr><th>%s</th><td>", fmd_web_t(p, "Số định danh", "Identity number"));
  masked(p, d->applicant_id, (d->locked & FM_SEALED_ID) != 0);
  fmd_html_rawf(&p->out, "</td></tr><tr><th>%s</th><td>", fmd_web_t(p, "Điện thoại", "Phone"));
  masked(p, d->phone, (d->locked & FM_SEALED_PHONE) != 0);
  fmd_html_raw(&p->out, "</td></tr>");
  field(p, "Thôn/bản", "Village", d->village);
  field(p, "Tổ", "Team", d->team);
  field(p, "Kênh nộp", "Channel", d->channel);
  fmd_html_rawf(&p->out, "<tr><th>%s</th><td>", fmd_web_t(p, "Trạng thái", "Status"));
  fmd_web_status(p, d->status);
  fmd_html_raw(&p->out, "</td></tr>");
  field(p, "Số hồ sơ trên cổng", "Portal reference", d->portal_ref);
  field(p, "Ghi chú", "Note", d->note);
  fmd_html_raw(&p->out, "</table>");
}

static void delivery(fmd_web_page *p, const step *s) {
  char sinks[64];
  if (!s->delivered) {
    fmd_html_rawf(&p->out, "<span class=\"tag warn\">%s</span>",
                  fmd_web_t(p, "chờ biên nhận", "awaiting receipt"));
    return;
  }
  fmd_html_raw(&p->out, "<span class=\"tag ok\">");
  fmd_html_text(&p->out, fm_sink_bits_str(s->d.sinks, sinks, sizeof sinks));
  fmd_html_raw(&p->out, "</span> ");
  fmd_web_time(p, (long long)fm_hlc_ms(s->d.at));
  if (s->d.ref[0]) {
    fmd_html_raw(&p->out, " · ");
    fmd_html_text(&p->out, s->d.ref);
  }
}

/* "status → submitted", "created or edited", else the entry's kind. */
static void what(fmd_web_page *p, const step *s) {
  int st = s->status[0] ? fm_status_parse(s->status, strlen(s->status)) : -1;
  if (!strcmp(s->kind, FM_KIND_DOSSIER_STATUS)) {
    fmd_html_text(&p->out, fmd_web_t(p, "trạng thái → ", "status → "));
    if (st >= 0) fmd_web_status(p, st);
    else fmd_html_text(&p->out, s->status);
  } else if (!strcmp(s->kind, FM_KIND_DOSSIER_ATTACH)) {
    fmd_html_text(&p->out, fmd_web_t(p, "đính kèm bản quét", "attached a scan"));
  } else if (!strcmp(s->kind, FM_KIND_DOSSIER)) {
    fmd_html_text(&p->out, fmd_web_t(p, "tạo hoặc sửa hồ sơ", "created or edited"));
  } else {
    fmd_html_text(&p->out, s->kind[0] ? s->kind : "?");
  }
}

static void steps(fmd_web_page *p, const timeline *t) {
  fmd_html_rawf(&p->out, "<h2>%s</h2><div class=\"wrap\"><table><thead><tr><th>%s</th><th>%s"
                "</th><th>%s</th><th>%s</th></tr></thead><tbody>",
                fmd_web_t(p, "Diễn biến", "Timeline"), fmd_web_t(p, "Lúc", "When"),
                fmd_web_t(p, "Ai", "Who"), fmd_web_t(p, "Việc", "What"),
                fmd_web_t(p, "Đã chuyển lên hệ thống xã", "Reached the commune's system"));
  for (size_t i = 0; i < t->n; i++) {
    const step *s = &t->s[i];
    fmd_html_raw(&p->out, "<tr><td>");
    fmd_web_time(p, s->at);
    fmd_html_raw(&p->out, "</td><td>");
    fmd_web_member(p, s->author);
    fmd_html_raw(&p->out, "</td><td>");
    what(p, s);
    fmd_html_raw(&p->out, "</td><td>");
    delivery(p, s);
    fmd_html_raw(&p->out, "</td></tr>\n");
  }
  fmd_html_raw(&p->out, "</tbody></table></div>");
}

typedef struct found {
  fmd_web_page *p;
  int done;
  int rv;
} found;

static int show(void *ctx, const char *id, size_t n, const uint8_t *rec, size_t len) {
  found *f = ctx;
  fmd_web_page *p = f->p;
  fm_dossier_view d;
  char key[FM_RECORD_ID_MAX + 1];
  timeline *t;
  fm_opened *o;
  if (n > FM_RECORD_ID_MAX || fm_dossier_view_decode(rec, len, &d) < 0) return 1;
  memcpy(key, id, n);
  key[n] = 0;
  if (!(t = calloc(1, sizeof *t))) return f->rv = -12;
  if (!(o = malloc(sizeof *o))) {
    free(t);
    return f->rv = -12;
  }
  fmd_web_open_dossier(p, &d, o, id, n);
  if ((f->rv = gather(p, key, &d, t)) == 0) {
    fmd_web_head(p, key, "/records");
    fields(p, &d);
    f->rv = fmd_web_scans(p, &d, key);
    steps(p, t);
    fmd_web_foot(p);
    f->done = 1;
  }
  free(t);
  sodium_memzero(o, sizeof *o);
  free(o);
  return 1;
}

int fmd_web_dossier(fmd_web_page *p, const char *id) {
  found f = {p, 0, 0};
  int rv = fm_store_find_record(p->d->store, FM_VIEW_DOSSIER, id, show, &f);
  if (rv == FM_ERR_NOTFOUND || rv == FM_ERR_EXISTS) return FMD_WEB_NOTFOUND;
  if (f.rv < 0) return f.rv;
  if (rv < 0 && rv != 1) return rv;
  return f.done ? 0 : FMD_WEB_NOTFOUND;
}
