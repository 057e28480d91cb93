/* The Upstream page: each sink the gateway forwards to -- its state, how
 * many entries wait (the lag), the last success and failure, an entry it
 * keeps leaving out, scans waiting for their chunks -- and the oldest entry of the commune that no
 * receipt names yet. */
#include <string.h>

#include "fieldmesh/delivery.h"
#include "fieldmesh/forward.h"
#include "fieldmesh/hlc.h"
#include "fieldmesh/roster.h"
#include "node.h"
#include "web_page.h"

#define REFUSED_BATCHES 3   /* as `fieldmesh status` (cli/upstream.h) */

static void state(fmd_web_page *p, const fm_fwd_status *st) {
  if (!st->active)
    fmd_html_rawf(&p->out, "<span class=\"tag\">%s</span>", fmd_web_t(p, "không dùng nữa", "no longer configured"));
  else if (st->failures)
    fmd_html_rawf(&p->out, p->en ? "<span class=\"tag bad\">failing (%u in a row)</span>"
                                 : "<span class=\"tag bad\">lỗi (%u lần liên tiếp)</span>",
                  st->failures);
  else if (st->pending)
    fmd_html_rawf(&p->out, "<span class=\"tag warn\">%s</span>",
                  fmd_web_t(p, "đang chuyển", "forwarding"));
  else
    fmd_html_rawf(&p->out, "<span class=\"tag ok\">%s</span>", fmd_web_t(p, "đã xong", "caught up"));
  if (st->active && st->scans_waiting)
    fmd_html_rawf(&p->out, p->en ? "<br><span class=\"tag warn\">%llu scan(s) waiting for "
                                   "chunks</span>"
                                 : "<br><span class=\"tag warn\">%llu bản quét chờ các phần "
                                   "dữ liệu</span>",
                  (unsigned long long)st->scans_waiting);
  if (st->active && st->placeholders)
    fmd_html_rawf(&p->out, p->en ? "<br><span class=\"tag warn\">%llu sent with placeholders, "
                                   "waiting for their key</span>"
                                 : "<br><span class=\"tag warn\">%llu bản ghi gửi kèm chỗ "
                                   "niêm phong, chờ khóa</span>",
                  (unsigned long long)st->placeholders);
  if (st->corrected)
    fmd_html_rawf(&p->out, p->en ? "<br><span class=\"muted\">%llu corrected</span>"
                                 : "<br><span class=\"muted\">%llu đã gửi lại</span>",
                  (unsigned long long)st->corrected);
}

static int sink_row(void *ctx, const fm_fwd_status *st) {
  fmd_web_page *p = ctx;
  fmd_html *h = &p->out;
  fmd_html_raw(h, "<tr><td>");
  fmd_html_text(h, fm_sink_kind_name(st->kind));
  fmd_html_raw(h, "<br><span class=\"muted\">");
  fmd_html_text(h, st->target);
  fmd_html_raw(h, "</span></td><td>");
  state(p, st);
  fmd_html_rawf(h, "</td><td class=\"n\">%llu</td><td class=\"n\">%llu</td><td class=\"n\">%llu"
                "</td><td>", (unsigned long long)st->pending, (unsigned long long)st->forwarded,
                (unsigned long long)st->batches);
  fmd_web_time(p, st->last_ok);
  fmd_html_raw(h, "</td><td>");
  fmd_web_time(p, st->last_failure);
  if (st->last_error[0] && st->failures) {
    fmd_html_raw(h, "<br>");
    fmd_html_text(h, st->last_error);
  }
  fmd_html_raw(h, "</td><td>");
  if (st->refused_batches >= REFUSED_BATCHES) {
    fmd_html_rawf(h, p->en ? "seq %llu of " : "mục %llu của ", (unsigned long long)st->refused_seq);
    fmd_web_member(p, st->refused_author);
    fmd_html_rawf(h, p->en ? ", left out of %u batches in a row" : ", bị bỏ qua %u lô liên tiếp",
                  st->refused_batches);
  } else {
    fmd_html_raw(h, "-");
  }
  fmd_html_raw(h, "</td></tr>\n");
  return 0;
}

/* The first seq of |author| up to |head| that no receipt names, or 0:
 * "all of 1 .. s receipted" holds up to some s and never after, so a
 * binary search over fm_delivery_count finds it. */
static uint64_t first_unreceipted(fm_store *s, const uint8_t *author, uint64_t head) {
  uint64_t lo = 0, hi = head, n;   /* 1 .. lo all receipted; hi is not */
  if (fm_delivery_count(s, author, head, &n) < 0 || n == head) return 0;
  while (hi - lo > 1) {
    uint64_t mid = lo + (hi - lo) / 2;
    if (fm_delivery_count(s, author, mid, &n) < 0) return 0;
    if (n == mid) lo = mid;
    else hi = mid;
  }
  return hi;
}

int fmd_web_oldest_unreceipted(fmd_node *d, uint8_t who[FM_KEY_LEN], uint64_t *seq,
                               fm_time *at) {
  fm_roster r = {NULL, 0};
  int found = 0, rv = fm_roster_load(d->store, &r);
  for (size_t i = 0; rv == 0 && i < r.n; i++) {
    const uint8_t *a = r.m[i].en.device;
    if (!memcmp(a, d->node.id.pk, FM_KEY_LEN) || !r.m[i].last_seq) continue;
    uint64_t s = first_unreceipted(d->store, a, r.m[i].last_seq);
    fm_time t = s ? fm_roster_written_at(d->store, a, s) : 0;
    if (s && (!found || t < *at)) {
      memcpy(who, a, FM_KEY_LEN);
      *seq = s;
      *at = t;
      found = 1;
    }
  }
  fm_roster_free(&r);
  return rv < 0 ? rv : found;
}

/* The oldest entry of the commune without a receipt (the gateway's own
 * receipts aside: they are not forwarded). */
static void oldest(fmd_web_page *p) {
  uint8_t who_oldest[FM_KEY_LEN];
  uint64_t seq_oldest = 0;
  fm_time at_oldest = 0;
  int found = fmd_web_oldest_unreceipted(p->d, who_oldest, &seq_oldest, &at_oldest) > 0;
  fmd_html_raw(&p->out, "<p class=\"box\">");
  if (!found) {
    fmd_html_text(&p->out, fmd_web_t(p, "Mọi mục của xã mà trạm giữ đã có biên nhận.",
                                     "Every entry of the commune this gateway holds has a receipt."));
  } else {
    fmd_html_text(&p->out, fmd_web_t(p, "Mục cũ nhất chưa có biên nhận: ",
                                     "Oldest entry without a receipt: "));
    fmd_html_rawf(&p->out, p->en ? "seq %llu of " : "mục %llu của ", (unsigned long long)seq_oldest);
    fmd_web_member(p, who_oldest);
    fmd_html_raw(&p->out, ", ");
    fmd_web_time(p, at_oldest);
    fmd_html_rawf(&p->out, p->en ? " (%.1f hours ago)" : " (%.1f giờ trước)",
                  (double)(fmd_now() - at_oldest) / 3600000.0);
  }
  fmd_html_raw(&p->out, "</p>");
}

int fmd_web_upstream(fmd_web_page *p) {
  static const char *const vi[] = {"Đích", "Tình trạng", "Chờ chuyển", "Đã chuyển", "Số lô",
                                   "Lần thành công cuối", "Lần lỗi cuối", "Mục bị từ chối"};
  static const char *const en[] = {"Sink", "State", "Waiting", "Forwarded", "Batches",
                                   "Last success", "Last failure", "Entry it keeps refusing"};
  fmd_web_head(p, fmd_web_t(p, "Chuyển lên hệ thống xã", "Upstream"), "/upstream");
  oldest(p);
  fmd_html_raw(&p->out, "<div class=\"wrap\"><table><thead><tr>");
  for (size_t i = 0; i < 8; i++) {
    fmd_html_raw(&p->out, i >= 2 && i <= 4 ? "<th class=\"n\">" : "<th>");
    fmd_html_text(&p->out, p->en ? en[i] : vi[i]);
    fmd_html_raw(&p->out, "</th>");
  }
  fmd_html_raw(&p->out, "</tr></thead><tbody>\n");
  int rv = fm_forward_each_status(p->d->store, sink_row, p);
  fmd_html_raw(&p->out, "</tbody></table></div>");
  fmd_web_foot(p);
  return rv < 0 ? rv : 0;
}
