/* The Mesh page: every enrolled device as this gateway's store knows it,
 * what needs attention first.
 *
 * Without presence notes (issue 12 item 1) the gateway knows a device
 * only by what reached it: the device's entries (last record, entries
 * here), the copies table (when the device last told this gateway, in
 * a session or a signed bundle, what it holds: "last synced"), the
 * receipts, the quarantine and the clock check.  A device's software
 * version and clock offset (how far its clock is from its direct peers',
 * skew.h) come from its presence note. */
#include <stdlib.h>
#include <string.h>

#include "fieldmesh/copies.h"
#include "fieldmesh/error.h"
#include "fieldmesh/roster.h"
#include "fieldmesh/skew.h"
#include "node.h"
#include "web_mesh.h"
#include "web_page.h"


static fmd_mesh_row *find_row(fmd_mesh *ms, const uint8_t device[FM_KEY_LEN]) {
  for (size_t i = 0; i < ms->n; i++)
    if (!memcmp(ms->rows[i].m->en.device, device, FM_KEY_LEN)) return &ms->rows[i];
  return NULL;
}

static int on_holder(void *ctx, const uint8_t device[FM_KEY_LEN], uint64_t seq, fm_time when) {
  fmd_mesh_row *r = find_row(ctx, device);
  (void)seq;
  if (r && when > r->last_synced) r->last_synced = when;
  return 0;
}

static int on_clock(void *ctx, const uint8_t author[FM_KEY_LEN], uint64_t entries,
                    uint64_t ahead_ms) {
  fmd_mesh_row *r = find_row(ctx, author);
  (void)ahead_ms;
  if (r) r->clock_ahead = entries;
  return 0;
}

static void judge(fmd_web_page *p, fmd_mesh_row *r, fm_time now) {
  const fm_roster_member *m = r->m;
  r->self = !memcmp(m->en.device, p->d->node.id.pk, FM_KEY_LEN);
  if (r->self) r->last_synced = now;
  r->revoked = m->revoked_after != UINT64_MAX;
  r->expired = m->en.expires && m->en.expires < now;
  r->silent = !r->revoked && !r->self &&
              (!r->last_synced || now - r->last_synced > (fm_time)p->cfg->silent_days * DAY_MS);
  r->clock_off = m->has_presence && (m->presence.clock_offset > FM_SKEW_WRONG_MS ||
                                     m->presence.clock_offset < -FM_SKEW_WRONG_MS);
  r->score = r->silent * 8 + (m->quarantined ? 4 : 0) + (r->expired ? 4 : 0) +
             (r->clock_ahead || r->clock_off ? 2 : 0);
  if (r->revoked) r->score = -1;
}

static int by_attention(const void *pa, const void *pb) {
  const fmd_mesh_row *a = pa, *b = pb;
  if (a->score != b->score) return b->score - a->score;
  if (a->last_synced != b->last_synced) return a->last_synced < b->last_synced ? -1 : 1;
  return strcmp(a->m->en.name, b->m->en.name);
}

int fmd_web_mesh_gather(fmd_web_page *p, const fm_roster *r, fmd_mesh *ms) {
  fm_store *s = p->d->store;
  unsigned need = FM_SAFE_COPIES_DEFAULT;
  fm_time now = fmd_now();
  int rv = 0;
  if (!(ms->rows = calloc(r->n ? r->n : 1, sizeof *ms->rows))) return -12;
  ms->n = r->n;
  fm_store_safe_copies(s, &need);
  for (size_t i = 0; i < r->n; i++) ms->rows[i].m = &r->m[i];
  for (size_t i = 0; rv == 0 && i < r->n; i++) {
    rv = fm_store_copies(s, r->m[i].en.device, need, &ms->rows[i].copies);
    if (rv == 0) rv = fm_store_each_holder(s, r->m[i].en.device, on_holder, ms);
  }
  if (rv == 0) rv = fm_store_each_clock_ahead(s, on_clock, ms);
  for (size_t i = 0; i < ms->n; i++) judge(p, &ms->rows[i], now);
  qsort(ms->rows, ms->n, sizeof *ms->rows, by_attention);
  return rv;
}

static void tag(fmd_web_page *p, const char *cls, const char *vi, const char *en) {
  fmd_html_rawf(&p->out, "<span class=\"tag %s\">", cls);
  fmd_html_text(&p->out, fmd_web_t(p, vi, en));
  fmd_html_raw(&p->out, "</span>");
}

static void problems(fmd_web_page *p, const fmd_mesh_row *r) {
  fmd_html *h = &p->out;
  if (r->self) tag(p, "ok", "trạm này", "this gateway");
  if (r->revoked) tag(p, "", "đã thu hồi", "revoked");
  if (r->silent) {
    fmd_html_rawf(h, "<span class=\"tag bad\">");
    if (r->last_synced)
      fmd_html_rawf(h, p->en ? "silent %lld days" : "im lặng %lld ngày",
                    (long long)((fmd_now() - r->last_synced) / DAY_MS));
    else
      fmd_html_text(h, fmd_web_t(p, "chưa từng đồng bộ với trạm", "never synced here"));
    fmd_html_raw(h, "</span>");
  }
  if (r->expired) tag(p, "bad", "hết hạn đăng ký", "enrollment expired");
  if (r->m->quarantined)
    fmd_html_rawf(h, p->en ? "<span class=\"tag bad\">%llu quarantined</span>"
                           : "<span class=\"tag bad\">%llu mục bị cách ly</span>",
                  (unsigned long long)r->m->quarantined);
  if (r->clock_ahead) tag(p, "warn", "đồng hồ chạy nhanh", "clock ahead");
  if (r->clock_off) {
    char off[FM_SKEW_TEXT];
    fm_skew_text(r->m->presence.clock_offset, off);
    fmd_html_rawf(h, p->en ? "<span class=\"tag warn\">clock off by %s</span>"
                           : "<span class=\"tag warn\">đồng hồ lệch %s</span>", off);
  }
}

static void mesh_row(fmd_web_page *p, const fmd_mesh_row *r) {
  fmd_html *h = &p->out;
  char id[2 * FM_KEY_LEN + 1];
  const fm_roster_member *m = r->m;
  fm_hex(m->en.device, FM_KEY_LEN, id);
  id[12] = 0;
  fmd_html_rawf(h, "<tr class=\"%s\"><td>", r->score >= 4 ? "bad" : r->score > 0 ? "warn" : "");
  fmd_html_text(h, m->en.name);
  fmd_html_rawf(h, "<br><span class=\"muted\">%s</span></td><td>", id);
  fmd_html_text(h, m->en.team);
  fmd_html_raw(h, "</td><td>");
  fmd_html_text(h, fm_role_name(m->en.role));
  fmd_html_raw(h, "</td><td>");
  fmd_web_time(p, r->self ? 0 : r->last_synced);
  fmd_html_raw(h, "</td><td>");
  /* What the device last said of itself (its presence note), which may
   * have come through other laptops. */
  fmd_web_time(p, m->has_presence ? m->presence.wall : 0);
  if (m->has_presence && m->presence.version[0]) {
    fmd_html_raw(h, "<br><span class=\"muted\">");
    fmd_html_text(h, m->presence.version);
    fmd_html_raw(h, "</span>");
  }
  if (m->has_presence) {
    char off[FM_SKEW_TEXT];
    fm_skew_text(m->presence.clock_offset, off);
    fmd_html_rawf(h, p->en ? "<br><span class=\"muted\">clock %s</span>"
                           : "<br><span class=\"muted\">đồng hồ %s</span>", off);
  }
  fmd_html_raw(h, "</td><td>");
  fmd_web_time(p, m->last_written);
  fmd_html_rawf(h, "</td><td class=\"n\">%llu</td><td class=\"n\">%llu</td>",
                (unsigned long long)m->last_seq, (unsigned long long)r->copies.none);
  /* The gateway's own entries are receipts: never forwarded, never receipted. */
  if (r->self) fmd_html_raw(h, "<td class=\"n\">-</td><td>");
  else
    fmd_html_rawf(h, "<td class=\"n\">%llu</td><td>",
                  (unsigned long long)(r->copies.own - r->copies.receipted));
  problems(p, r);
  fmd_html_raw(h, "</td></tr>\n");
}

static void mesh_table(fmd_web_page *p, const fmd_mesh *ms) {
  static const char *const vi[] = {"Thành viên", "Tổ", "Vai trò", "Đồng bộ lần cuối với trạm",
                                   "Tin báo gần nhất của máy", "Mục mới nhất", "Mục ở trạm",
                                   "Chỉ ở máy đó và trạm", "Chờ biên nhận", "Cần chú ý"};
  static const char *const en[] = {"Member", "Team", "Role", "Last synced here",
                                   "Last seen (its own note)", "Last record", "Entries here",
                                   "Only on it and here", "Awaiting receipt", "Problems"};
  fmd_html *h = &p->out;
  fmd_html_raw(h, "<div class=\"wrap\"><table><thead><tr>");
  for (size_t i = 0; i < 10; i++) {
    fmd_html_raw(h, i >= 6 && i <= 8 ? "<th class=\"n\">" : "<th>");
    fmd_html_text(h, p->en ? en[i] : vi[i]);
    fmd_html_raw(h, "</th>");
  }
  fmd_html_raw(h, "</tr></thead><tbody>\n");
  for (size_t i = 0; i < ms->n; i++) mesh_row(p, &ms->rows[i]);
  fmd_html_raw(h, "</tbody></table></div>");
}

static void summary(fmd_web_page *p, const fmd_mesh *ms) {
  size_t silent = 0, attention = 0, revoked = 0;
  for (size_t i = 0; i < ms->n; i++) {
    silent += ms->rows[i].silent;
    attention += ms->rows[i].score > 0;
    revoked += ms->rows[i].revoked;
  }
  fmd_html_rawf(&p->out, p->en ? "<p class=\"box\">%zu devices enrolled, %zu revoked; "
                                 "<b>%zu need attention</b>; %zu silent for more than %u "
                                 "days.</p>"
                               : "<p class=\"box\">%zu thiết bị đã đăng ký, %zu đã thu hồi; "
                                 "<b>%zu cần chú ý</b>; %zu im lặng hơn %u ngày.</p>",
                ms->n, revoked, attention, silent, p->cfg->silent_days);
}

int fmd_web_mesh(fmd_web_page *p) {
  fm_roster r = {NULL, 0};
  fmd_mesh ms = {NULL, 0};
  int rv = fm_roster_load(p->d->store, &r);
  if (rv == 0) rv = fmd_web_mesh_gather(p, &r, &ms);
  if (rv == 0) {
    fmd_web_head(p, fmd_web_t(p, "Mạng lưới", "Mesh"), "/");
    summary(p, &ms);
    mesh_table(p, &ms);
    fmd_html_raw(&p->out, "<p class=\"muted\">");
    fmd_html_text(&p->out, fmd_web_t(p,
        "\"Đồng bộ lần cuối với trạm\": lần cuối thiết bị cho trạm này biết nó giữ những gì "
        "(qua phiên đồng bộ hoặc gói USB). \"Chỉ ở máy đó và trạm\": mục của thiết bị mà "
        "trạm không biết máy nào khác đang giữ. \"Đồng hồ\": đồng hồ của máy nhanh (+) hay "
        "chậm (-) bao nhiêu so với các máy nó gặp trực tiếp gần đây (trung vị).",
        "\"Last synced here\": when the device last told this gateway what it holds (in a "
        "sync session or a USB bundle). \"Only on it and here\": its entries this gateway "
        "knows no other laptop to hold. \"Clock\": how far the device's clock is ahead (+) "
        "or behind (-) the devices it met directly of late (their median)."));
    fmd_html_raw(&p->out, "</p>");
    fmd_web_foot(p);
  }
  free(ms.rows);
  fm_roster_free(&r);
  return rv;
}
