#include "timeline.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "date.h"
#include "fieldmesh/attach.h"
#include "fieldmesh/delivery.h"
#include "fieldmesh/error.h"
#include "fieldmesh/record.h"
#include "fieldmesh/store.h"
#include "roster.h"

/* One entry of the record, kept whole until the replay. */
typedef struct tl_entry {
  uint8_t *bytes;   /* owned */
  size_t len;
  fm_entry e;       /* points into bytes */
  fm_stamp order;
} tl_entry;

typedef struct tl_walk {
  fm_view_kind k;
  const char *id;
  size_t idn;
  tl_entry *es;     /* owned */
  size_t n, cap;
} tl_walk;

static int collect(void *ctx, const uint8_t *p, size_t len) {
  tl_walk *w = ctx;
  fm_limits lim = fm_limits_default();
  fm_entry e;
  const char *id;
  size_t n;
  if (fm_entry_decode(p, len, &lim, &e) < 0 || fm_view_target(&e, &id, &n) != w->k ||
      n != w->idn || memcmp(id, w->id, n) != 0)
    return 0;
  if (w->n == w->cap) {
    size_t cap = w->cap ? w->cap * 2 : 16;
    tl_entry *es = realloc(w->es, cap * sizeof *es);
    if (!es) return -ENOMEM;
    w->es = es;
    w->cap = cap;
  }
  tl_entry *t = &w->es[w->n];
  if (!(t->bytes = malloc(len))) return -ENOMEM;
  memcpy(t->bytes, p, len);
  t->len = len;
  if (fm_entry_decode(t->bytes, len, &lim, &t->e) < 0) {
    free(t->bytes);
    return 0;
  }
  w->n++;
  return 0;
}

/* Oldest first by the writer's clock, then author and seq: the order a
 * person reads a story in (the merge itself does not depend on it). */
static int by_time(const void *x, const void *y) {
  const tl_entry *a = x, *b = y;
  if (a->e.hlc != b->e.hlc) return a->e.hlc > b->e.hlc ? 1 : -1;
  int c = memcmp(a->e.author, b->e.author, FM_KEY_LEN);
  if (c) return c;
  return a->e.seq > b->e.seq ? 1 : a->e.seq < b->e.seq ? -1 : 0;
}

static void str_of(const fm_entry *e, const char *key, char *out, size_t cap) {
  const char *p;
  size_t n;
  out[0] = 0;
  if (fm_body_str(e->body, e->body_len, key, &p, &n) == 0)
    snprintf(out, cap, "%.*s", (int)(n < cap ? n : cap - 1), p);
}

/* What |e| changed, from the record before (|had|, 0: none) to after. */
static void describe_dossier(fmc_tl_row *r, const fm_entry *e, int had,
                             const fm_dossier_view *before, const fm_dossier_view *after) {
  char ref[64];
  const char *from = had ? fm_status_name(before->status) : "";
  str_of(e, "ref", ref, sizeof ref);
  if (fm_entry_is(e, FM_KIND_DOSSIER_ATTACH)) {
    fm_attach a;
    if (fm_attach_parse(e->body, e->body_len, &a) < 0)
      snprintf(r->what, sizeof r->what, "attached a scan that does not read");
    else
      snprintf(r->what, sizeof r->what, "attached %s %.*s (%llu bytes)",
               fm_attach_kind_name(a.kind), (int)(a.name_len < 80 ? a.name_len : 80), a.name,
               (unsigned long long)a.size);
    return;
  }
  if (fm_entry_is(e, FM_KIND_DOSSIER)) {
    snprintf(r->what, sizeof r->what, "%s", had && before->created.set ? "edited" : "created");
    str_of(e, "note", r->reason, sizeof r->reason);
    return;
  }
  int corr = fm_entry_is(e, FM_KIND_DOSSIER_CORRECT);
  char st[32];
  str_of(e, "status", st, sizeof st);
  if (before->status != after->status || !had)
    snprintf(r->what, sizeof r->what, "%sstatus %s -> %s", corr ? "corrected " : "",
             from[0] ? from : "-", fm_status_name(after->status));
  else if (fm_stamp_cmp(&after->status_stamp, &before->status_stamp) != 0)
    snprintf(r->what, sizeof r->what, "%sstatus %s", corr ? "corrected " : "", st);
  else
    snprintf(r->what, sizeof r->what, "status %s (did not win: status stays %s)", st,
             fm_status_name(after->status));
  if (!corr && ref[0]) {
    size_t n = strlen(r->what);
    snprintf(r->what + n, sizeof r->what - n, ", ref %s", ref);
  }
  str_of(e, corr ? "reason" : "note", r->reason, sizeof r->reason);
}

static void describe_visit(fmc_tl_row *r, const fm_entry *e, int had) {
  if (fm_entry_is(e, FM_KIND_VISIT_VOID)) {
    snprintf(r->what, sizeof r->what, "voided");
    str_of(e, "reason", r->reason, sizeof r->reason);
  } else {
    snprintf(r->what, sizeof r->what, "%s", had ? "recorded again" : "recorded");
    str_of(e, "note", r->reason, sizeof r->reason);
  }
}

/* Replays |w|'s entries, in time order, through the view. */
static int replay(tl_walk *w, fmc_timeline *out) {
  fm_buf cur, next;
  int rv = 0, had = 0;
  fm_buf_init(&cur, 1 << 20);
  fm_buf_init(&next, 1 << 20);
  for (size_t i = 0; i < w->n && rv == 0; i++) {
    const fm_entry *e = &w->es[i].e;
    if ((rv = fm_view_apply(w->k, had ? cur.p : NULL, had ? cur.len : 0, e, &next)) < 0) break;
    if (out->n == FMC_TIMELINE_MAX) {
      out->more++;
    } else {
      fmc_tl_row *r = &out->rows[out->n++];
      memcpy(r->author, e->author, FM_KEY_LEN);
      r->seq = e->seq;
      r->hlc = e->hlc;
      snprintf(r->kind, sizeof r->kind, "%.*s", (int)e->kind_len, e->kind);
      if (w->k == FM_VIEW_DOSSIER) {
        fm_dossier_view b, a;
        memset(&b, 0, sizeof b);
        if (had) fm_dossier_view_decode(cur.p, cur.len, &b);
        if (fm_dossier_view_decode(next.p, next.len, &a) < 0) memset(&a, 0, sizeof a);
        describe_dossier(r, e, had, &b, &a);
      } else {
        fm_visit_view b;
        int base = had && fm_visit_view_decode(cur.p, cur.len, &b) == 0 && b.base.set;
        describe_visit(r, e, base);
      }
    }
    fm_buf tmp = cur;
    cur = next;
    next = tmp;
    had = 1;
  }
  fm_buf_free(&cur);
  fm_buf_free(&next);
  return rv;
}

int fmc_timeline_of(fmc_ctx *c, fm_view_kind k, const char *id, fmc_timeline *out) {
  tl_walk w = {k, id, strlen(id), NULL, 0, 0};
  int rv;
  memset(out, 0, sizeof *out);
  rv = fm_store_each_missing(c->store, NULL, collect, &w);
  if (rv == 0) {
    qsort(w.es, w.n, sizeof *w.es, by_time);
    rv = replay(&w, out);
  }
  for (size_t i = 0; i < w.n; i++) free(w.es[i].bytes);
  free(w.es);
  if (rv < 0) return fmc_fail(c, "cannot read the history of %s: %s", id, fm_strerror(rv));
  return 0;
}

/* True when a gateway's receipt names |r|'s entry; |d| then says where. */
static int delivered(fmc_ctx *c, const fmc_tl_row *r, fm_delivery *d) {
  return fm_delivery_get(c->store, r->author, r->seq, d) == 0;
}

void fmc_timeline_rows(fmc_ctx *c, const fmc_timeline *tl, const fmc_upstream *u,
                       fmc_table *t) {
  char at[24], who[FM_NAME_MAX * 2 + 8], up[160], sinks[64], dat[24];
  (void)u;
  if (tl->n == 0) return;
  fmc_table_rowf(t, "timeline\x1f%zu change%s%s", tl->n + tl->more,
                 tl->n + tl->more == 1 ? "" : "s", tl->more ? " (the first shown)" : "");
  for (size_t i = 0; i < tl->n; i++) {
    const fmc_tl_row *r = &tl->rows[i];
    fm_delivery d;
    fmc_time_of((fm_time)fm_hlc_ms(r->hlc), at);
    fmc_author_label(c, r->author, who, sizeof who);
    up[0] = 0;
    if (delivered(c, r, &d)) {
      fmc_time_of((fm_time)fm_hlc_ms(d.at), dat);
      snprintf(up, sizeof up, "; upstream: %s %s, ref %s",
               fm_sink_bits_str(d.sinks, sinks, sizeof sinks), dat, d.ref[0] ? d.ref : "-");
    }
    fmc_table_rowf(t, "  %s\x1f%s, %s%s%s%s", at, who, r->what, r->reason[0] ? " — " : "",
                   r->reason, up);
  }
}

void fmc_timeline_json(fmc_ctx *c, const fmc_timeline *tl, const fmc_upstream *u,
                       fmc_json *j) {
  char at[24], name[FM_NAME_MAX], team[FM_NAME_MAX], sinks[64];
  (void)u;
  fmc_json_key(j, "timeline");
  fmc_json_arr(j);
  for (size_t i = 0; i < tl->n; i++) {
    const fmc_tl_row *r = &tl->rows[i];
    fm_delivery d;
    fmc_json_obj(j);
    fmc_time_of((fm_time)fm_hlc_ms(r->hlc), at);
    fmc_json_key(j, "at");
    fmc_json_str(j, at);
    fmc_author_parts(c, r->author, name, team);
    fmc_json_key(j, "name");
    fmc_json_str(j, name);
    fmc_json_key(j, "team");
    fmc_json_str(j, team);
    fmc_json_key(j, "kind");
    fmc_json_str(j, r->kind);
    fmc_json_key(j, "change");
    fmc_json_str(j, r->what);
    fmc_json_key(j, "reason");
    fmc_json_str(j, r->reason);
    fmc_json_key(j, "upstream");
    if (delivered(c, r, &d)) {
      fmc_json_obj(j);
      fmc_json_key(j, "sinks");
      fmc_json_str(j, fm_sink_bits_str(d.sinks, sinks, sizeof sinks));
      fmc_time_of((fm_time)fm_hlc_ms(d.at), at);
      fmc_json_key(j, "at");
      fmc_json_str(j, at);
      fmc_json_key(j, "ref");
      fmc_json_str(j, d.ref);
      fmc_json_obj_end(j);
    } else {
      fmc_json_null(j);
    }
    fmc_json_obj_end(j);
  }
  fmc_json_arr_end(j);
}
