#include "upstream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "date.h"
#include "fieldmesh/error.h"
#include "fieldmesh/record.h"
#include "roster.h"

/* "2026-11-28 09:41" in Vietnam time. */
static const char *when(fm_time ms, char out[32]) {
  struct tm tm;
  time_t t = (time_t)((ms + FMC_TZ_OFFSET_MS) / 1000);
  gmtime_r(&t, &tm);
  strftime(out, 32, "%Y-%m-%d %H:%M", &tm);
  return out;
}

static int find_row(const fmc_upstream *u, const uint8_t author[FM_KEY_LEN], uint64_t seq) {
  for (size_t i = 0; i < u->n; i++)
    if (u->rows[i].seq == seq && !memcmp(u->rows[i].author, author, FM_KEY_LEN)) return (int)i;
  return -1;
}

static void add_row(fmc_upstream *u, const uint8_t author[FM_KEY_LEN], uint64_t seq) {
  if (u->n == FMC_UPSTREAM_ROWS || find_row(u, author, seq) >= 0) return;
  fmc_up_row *r = &u->rows[u->n++];
  memset(r, 0, sizeof *r);
  memcpy(r->author, author, FM_KEY_LEN);
  r->seq = seq;
}

static int on_delivered(void *ctx, const fm_delivery *d) {
  add_row(ctx, d->author, d->seq);
  return 0;
}

static int first_entry(void *ctx, const uint8_t *bytes, size_t len) {
  fmc_up_row *r = ctx;
  fm_entry e;
  if (fm_entry_decode(bytes, len, NULL, &e) == 0 && e.seq == r->seq) {
    size_t n = e.kind_len < FM_KIND_MAX ? e.kind_len : FM_KIND_MAX;
    memcpy(r->kind, e.kind, n);
    r->kind[n] = 0;
  }
  return 1;
}

static int by_key(const void *x, const void *y) {
  const fmc_up_row *a = x, *b = y;
  int c = memcmp(a->author, b->author, FM_KEY_LEN);
  if (c) return c;
  return a->seq < b->seq ? -1 : a->seq > b->seq;
}

int fmc_upstream_of(fmc_ctx *c, fm_view_kind k, const char *id, const fm_stamp *stamps,
                    size_t nstamps, fmc_upstream *out) {
  int rv;
  memset(out, 0, sizeof *out);
  for (size_t i = 0; i < nstamps; i++)
    if (stamps[i].set) add_row(out, stamps[i].author, stamps[i].seq);
  rv = fm_delivery_each_of_record(c->store, k, id, strlen(id), on_delivered, out);
  if (rv < 0) return rv;
  qsort(out->rows, out->n, sizeof *out->rows, by_key);
  for (size_t i = 0; i < out->n; i++) {
    fmc_up_row *r = &out->rows[i];
    fm_store_read_after(c->store, r->author, r->seq - 1, 1, first_entry, r);
    if (fm_delivery_get(c->store, r->author, r->seq, &r->d) == 0) {
      r->receipted = 1;
      out->receipted++;
    }
  }
  return 0;
}

void fmc_upstream_rows(fmc_ctx *c, const fmc_upstream *u, fmc_table *t) {
  char a[FM_NAME_MAX * 2 + 8], at[32], sinks[64];
  if (u->n == 0) return;
  if (u->receipted == u->n)
    fmc_table_rowf(t, "upstream\x1f" "delivered: a gateway's receipt names each of its %zu entr%s",
                   u->n, u->n == 1 ? "y" : "ies");
  else if (u->receipted)
    fmc_table_rowf(t, "upstream\x1fpartly delivered: %zu of its %zu entries receipted",
                   u->receipted, u->n);
  else
    fmc_table_rowf(t, "upstream\x1fnot delivered yet: no receipt for its %zu entr%s", u->n,
                   u->n == 1 ? "y" : "ies");
  for (size_t i = 0; i < u->n; i++) {
    const fmc_up_row *r = &u->rows[i];
    const char *kind = r->kind[0] ? r->kind : "entry";
    if (r->receipted)
      fmc_table_rowf(t, "  %s\x1f%s, entry %llu: %s, %s (%s)", kind,
                     fmc_author_label(c, r->author, a, sizeof a),
                     (unsigned long long)r->seq, fm_sink_bits_str(r->d.sinks, sinks, sizeof sinks),
                     when((fm_time)fm_hlc_ms(r->d.at), at), r->d.ref[0] ? r->d.ref : r->d.sink);
    else
      fmc_table_rowf(t, "  %s\x1f%s, entry %llu: waiting for a receipt", kind,
                     fmc_author_label(c, r->author, a, sizeof a),
                     (unsigned long long)r->seq);
  }
}

void fmc_upstream_json(const fmc_upstream *u, fmc_json *j) {
  char sinks[64];
  fmc_json_key(j, "upstream");
  fmc_json_obj(j);
  fmc_json_key(j, "delivered");
  fmc_json_bool(j, u->n > 0 && u->receipted == u->n);
  fmc_json_key(j, "entries");
  fmc_json_arr(j);
  for (size_t i = 0; i < u->n; i++) {
    const fmc_up_row *r = &u->rows[i];
    fmc_json_obj(j);
    fmc_json_key(j, "author");
    fmc_json_hex(j, r->author, FM_KEY_LEN);
    fmc_json_key(j, "seq");
    fmc_json_uint(j, r->seq);
    fmc_json_key(j, "kind");
    fmc_json_str(j, r->kind);
    fmc_json_key(j, "receipted");
    fmc_json_bool(j, r->receipted);
    if (r->receipted) {
      fmc_json_key(j, "sinks");
      fmc_json_str(j, fm_sink_bits_str(r->d.sinks, sinks, sizeof sinks));
      fmc_json_key(j, "at");
      fmc_json_uint(j, fm_hlc_ms(r->d.at));
      fmc_json_key(j, "gateway");
      fmc_json_hex(j, r->d.gateway, FM_KEY_LEN);
      fmc_json_key(j, "ref");
      fmc_json_str(j, r->d.ref);
    }
    fmc_json_obj_end(j);
  }
  fmc_json_arr_end(j);
  fmc_json_obj_end(j);
}

/* ---- status -------------------------------------------------------------------------- */

int fmc_upstream_status(fmc_ctx *c, const uint8_t self[FM_KEY_LEN], uint64_t self_seq,
                        int gateway, fmc_up_status *out) {
  memset(out, 0, sizeof *out);
  out->gateway = gateway;
  out->own = self_seq;
  return self_seq ? fm_delivery_count(c->store, self, self_seq, &out->receipted) : 0;
}

int fmc_upstream_refused(fmc_ctx *c, const fm_fwd_status *st, char *out, size_t cap) {
  char who[2 * FM_NAME_MAX + 8];
  out[0] = 0;
  if (st->refused_batches < FMC_REFUSED_BATCHES) return 0;
  snprintf(out, cap, "seq %llu of %s, left out of %u answered batches in a row",
           (unsigned long long)st->refused_seq,
           fmc_device_label(c, st->refused_author, who, sizeof who), st->refused_batches);
  return 1;
}

int fmc_upstream_scans_waiting(fmc_ctx *c, const fm_fwd_status *st, char *out, size_t cap) {
  char who[2 * FM_NAME_MAX + 8];
  out[0] = 0;
  if (!st->scans_waiting) return 0;
  snprintf(out, cap, "%llu scan%s not on this gateway in full yet (%s: seq %llu of %s, %u "
           "chunk%s missing); each author's later entries wait behind it (sync with a laptop "
           "that holds the chunks)",
           (unsigned long long)st->scans_waiting, st->scans_waiting == 1 ? "" : "s",
           st->scans_waiting == 1 ? "it" : "the first", (unsigned long long)st->scan_seq,
           fmc_device_label(c, st->scan_author, who, sizeof who), st->scan_missing,
           st->scan_missing == 1 ? "" : "s");
  return 1;
}

static int sink_text(void *ctx, const fm_fwd_status *st) {
  fmc_ctx *c = ctx;
  char ok[32], fail[32], refused[512];
  if (!st->active) return 0;
  printf("%-12s %s %s: %llu entr%s waiting; %llu delivered in %llu batch%s", "forwarding",
         fm_sink_kind_name(st->kind), st->target, (unsigned long long)st->pending,
         st->pending == 1 ? "y" : "ies", (unsigned long long)st->forwarded,
         (unsigned long long)st->batches, st->batches == 1 ? "" : "es");
  if (st->last_ok) printf(", last at %s", when(st->last_ok, ok));
  if (st->failures)
    printf("; FAILING (%u attempts, last at %s): %s", st->failures, when(st->last_failure, fail),
           st->last_error);
  if (fmc_upstream_refused(c, st, refused, sizeof refused))
    printf("; REFUSING ONE ENTRY: %s (ask the commune's system why)", refused);
  if (fmc_upstream_scans_waiting(c, st, refused, sizeof refused))
    printf("; WAITING FOR CHUNKS: %s", refused);
  if (st->placeholders)
    printf("; %llu sent with placeholders for sealed fields, waiting for their key to go again",
           (unsigned long long)st->placeholders);
  if (st->corrected)
    printf("; %llu corrected (sent again opened)", (unsigned long long)st->corrected);
  putchar('\n');
  return 0;
}

void fmc_upstream_status_text(fmc_ctx *c, const fmc_up_status *s) {
  if (s->gateway) {
    fm_forward_each_status(c->store, sink_text, c);
    return;
  }
  uint64_t waiting = s->own > s->receipted ? s->own - s->receipted : 0;
  printf("%-12s %llu of this laptop's %llu entr%s %s a receipt from the commune's system\n",
         "upstream", (unsigned long long)waiting, (unsigned long long)s->own,
         s->own == 1 ? "y" : "ies", waiting == 1 ? "is still waiting for" : "are still waiting for");
}

static int sink_json(void *ctx, const fm_fwd_status *st) {
  fmc_json *j = ctx;
  fmc_json_obj(j);
  fmc_json_key(j, "sink");
  fmc_json_str(j, fm_sink_kind_name(st->kind));
  fmc_json_key(j, "target");
  fmc_json_str(j, st->target);
  fmc_json_key(j, "active");
  fmc_json_bool(j, st->active);
  const struct { const char *k; uint64_t v; } nums[] = {
      {"pending", st->pending},   {"forwarded", st->forwarded},
      {"batches", st->batches},   {"receipts", st->receipts},
      {"last_ok", (uint64_t)(st->last_ok > 0 ? st->last_ok : 0)},
      {"last_failure", (uint64_t)(st->last_failure > 0 ? st->last_failure : 0)},
      {"failures", st->failures},
  };
  for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
    fmc_json_key(j, nums[i].k);
    fmc_json_uint(j, nums[i].v);
  }
  fmc_json_key(j, "last_error");
  fmc_json_str(j, st->last_error);
  fmc_json_key(j, "in_flight");
  fmc_json_bool(j, st->in_flight);
  fmc_json_key(j, "refused_batches");
  fmc_json_uint(j, st->refused_batches);
  fmc_json_key(j, "refused_author");
  fmc_json_hex(j, st->refused_author, FM_KEY_LEN);
  fmc_json_key(j, "refused_seq");
  fmc_json_uint(j, st->refused_seq);
  fmc_json_key(j, "scans_waiting");
  fmc_json_uint(j, st->scans_waiting);
  fmc_json_key(j, "scan_author");
  fmc_json_hex(j, st->scan_author, FM_KEY_LEN);
  fmc_json_key(j, "scan_seq");
  fmc_json_uint(j, st->scan_seq);
  fmc_json_key(j, "scan_missing_chunks");
  fmc_json_uint(j, st->scan_missing);
  fmc_json_key(j, "placeholders");
  fmc_json_uint(j, st->placeholders);
  fmc_json_key(j, "corrected");
  fmc_json_uint(j, st->corrected);
  fmc_json_obj_end(j);
  return 0;
}

void fmc_upstream_status_json(fmc_ctx *c, const fmc_up_status *s, fmc_json *j) {
  fmc_json_key(j, "receipted");
  fmc_json_uint(j, s->receipted);
  fmc_json_key(j, "waiting_receipt");
  fmc_json_uint(j, s->gateway || s->own <= s->receipted ? 0 : s->own - s->receipted);
  fmc_json_key(j, "forwarding");
  fmc_json_arr(j);
  fm_forward_each_status(c->store, sink_json, j);
  fmc_json_arr_end(j);
}
