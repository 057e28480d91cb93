/* The Problems page: what `fieldmesh doctor` would say, for the whole
 * mesh as far as the gateway's store tells -- forks and other records in
 * quarantine, clocks ahead, silent devices, expired enrollments, records
 * waiting for enrollments, sinks failing or refusing an entry, and the
 * gateway's own disk.  Each item says what to do.  (What only presence
 * notes would tell -- a laptop's own disk, its version -- is not here.) */
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "fieldmesh/error.h"
#include "fieldmesh/forward.h"
#include "node.h"
#include "web_mesh.h"
#include "web_page.h"

#define DISK_LOW_BYTES (512ULL << 20)   /* as `fieldmesh doctor` */
#define DISK_LOW_PERCENT 5
#define SINK_FAILURES 3
#define REFUSED_BATCHES 3

typedef struct problems {
  fmd_web_page *p;
  const fmd_mesh *ms;
  size_t count;
  uint64_t forks, revoked, other;        /* quarantined entries */
  const fm_roster_member *fork_of;
  uint64_t fork_seq;
} problems;

/* Opens an item: a red or orange tag with its title, then the text. */
static void item(problems *pr, int bad, const char *vi, const char *en) {
  pr->count++;
  fmd_html_rawf(&pr->p->out, "<li><span class=\"tag %s\">", bad ? "bad" : "warn");
  fmd_html_text(&pr->p->out, fmd_web_t(pr->p, vi, en));
  fmd_html_raw(&pr->p->out, "</span> ");
}

static void text(problems *pr, const char *vi, const char *en) {
  fmd_html_text(&pr->p->out, fmd_web_t(pr->p, vi, en));
}

static void name(problems *pr, const fm_roster_member *m) {
  fmd_html_raw(&pr->p->out, "<b>");
  fmd_html_text(&pr->p->out, m->en.name);
  fmd_html_raw(&pr->p->out, "</b> (");
  fmd_html_text(&pr->p->out, m->en.team);
  fmd_html_raw(&pr->p->out, ")");
}

static const fm_roster_member *member_of(problems *pr, const uint8_t *device) {
  for (size_t i = 0; i < pr->ms->n; i++)
    if (!memcmp(pr->ms->rows[i].m->en.device, device, FM_KEY_LEN)) return pr->ms->rows[i].m;
  return NULL;
}

static int on_quarantined(void *ctx, const uint8_t author[FM_KEY_LEN], uint64_t seq,
                          int reason, fm_time when, const uint8_t *bytes, size_t len) {
  problems *pr = ctx;
  (void)when, (void)bytes, (void)len;
  if (reason == FM_ERR_FORK || reason == FM_ERR_BADPREV) {
    pr->forks++;
    pr->fork_of = member_of(pr, author);
    pr->fork_seq = seq;
  } else if (reason == FM_ERR_REVOKED) {
    pr->revoked++;
  } else if (reason != FM_ERR_EXPIRED) {
    pr->other++;
  }
  return 0;
}

static void quarantine(problems *pr) {
  fmd_web_page *p = pr->p;
  fm_store_each_quarantined(p->d->store, on_quarantined, pr);
  if (pr->forks) {
    item(pr, 1, "hai bản ghi cùng số", "fork");
    if (pr->fork_of) name(pr, pr->fork_of);
    fmd_html_rawf(&p->out, p->en ? " signed two different records with number %llu (%llu entries "
                                   "kept as evidence): the same key is on two laptops, or a "
                                   "backup was restored and used. Revoke that key and enroll "
                                   "the laptop again.</li>"
                                 : " đã ký hai bản ghi khác nhau cùng số %llu (%llu mục giữ làm "
                                   "bằng chứng): cùng một khoá ở hai máy, hoặc máy được khôi "
                                   "phục từ bản sao rồi dùng ngay. Hãy thu hồi khoá đó và đăng "
                                   "ký lại máy.</li>",
                  (unsigned long long)pr->fork_seq, (unsigned long long)pr->forks);
  }
  if (pr->revoked) {
    item(pr, 0, "từ máy đã thu hồi", "from revoked laptops");
    fmd_html_rawf(&p->out, p->en ? "%llu records written after a revocation are kept apart as "
                                   "evidence. Nothing to do.</li>"
                                 : "%llu bản ghi viết sau khi thu hồi được để riêng làm bằng "
                                   "chứng. Không cần làm gì.</li>",
                  (unsigned long long)pr->revoked);
  }
  if (pr->other) {
    item(pr, 1, "bản ghi bị từ chối", "refused records");
    fmd_html_rawf(&p->out, p->en ? "%llu records broke the rules of their kind and are kept "
                                   "apart: run `fieldmesh doctor` on the gateway.</li>"
                                 : "%llu bản ghi sai quy tắc được để riêng: chạy `fieldmesh "
                                   "doctor` trên máy trạm.</li>",
                  (unsigned long long)pr->other);
  }
}

static void devices(problems *pr) {
  fmd_web_page *p = pr->p;
  for (size_t i = 0; i < pr->ms->n; i++) {
    const fmd_mesh_row *r = &pr->ms->rows[i];
    if (r->silent) {
      item(pr, 1, "im lặng", "silent");
      name(pr, r->m);
      if (r->last_synced)
        fmd_html_rawf(&p->out, p->en ? " has not synced with the gateway for %lld days: what it "
                                       "recorded since may be on that laptop only. Call the "
                                       "member, or send a bundle with the team leader.</li>"
                                     : " chưa đồng bộ với trạm %lld ngày: những gì ghi từ đó có "
                                       "thể chỉ nằm trên máy đó. Hãy gọi cho người dùng, hoặc "
                                       "gửi gói USB qua tổ trưởng.</li>",
                      (long long)((fmd_now() - r->last_synced) / DAY_MS));
      else
        text(pr, " chưa từng đồng bộ trực tiếp với trạm (bản ghi của máy đến qua máy khác).",
             " never synced with the gateway itself (its records came through other laptops).");
      fmd_html_raw(&p->out, "</li>");
    }
    if (r->expired) {
      item(pr, 1, "hết hạn đăng ký", "enrollment expired");
      name(pr, r->m);
      text(pr, ": gia hạn đăng ký cho máy này.", ": renew this laptop's enrollment.");
      fmd_html_raw(&p->out, "</li>");
    }
    if (r->clock_ahead) {
      item(pr, 0, "đồng hồ chạy nhanh", "clock ahead");
      name(pr, r->m);
      text(pr, ": đồng hồ của máy nhanh hơn một ngày khi ghi; bản ghi vẫn được giữ. Nhắc người "
               "dùng chỉnh ngày giờ.",
           ": its clock was over a day ahead when it wrote; the records are kept. Ask the "
           "member to set the date and time.");
      fmd_html_raw(&p->out, "</li>");
    }
  }
}

static int on_sink(void *ctx, const fm_fwd_status *st) {
  problems *pr = ctx;
  fmd_web_page *p = pr->p;
  if (!st->active) return 0;
  if (st->failures >= SINK_FAILURES) {
    item(pr, 1, "chuyển lên bị lỗi", "delivery failing");
    fmd_html_text(&p->out, fm_sink_kind_name(st->kind));
    fmd_html_raw(&p->out, " ");
    fmd_html_text(&p->out, st->target);
    fmd_html_rawf(&p->out, p->en ? " failed %u times in a row (last: " : " lỗi %u lần liên tiếp "
                                                                        "(lần cuối: ",
                  st->failures);
    fmd_html_text(&p->out, st->last_error);
    text(pr, "). Kiểm tra hệ thống của xã có chạy và kết nối được không.",
         "). Check that the commune's system is up and reachable.");
    fmd_html_raw(&p->out, "</li>");
  }
  if (st->refused_batches >= REFUSED_BATCHES) {
    item(pr, 1, "một mục bị từ chối", "entry refused upstream");
    fmd_html_text(&p->out, fm_sink_kind_name(st->kind));
    fmd_html_rawf(&p->out, p->en ? " keeps leaving out seq %llu of " : " cứ bỏ qua mục %llu của ",
                  (unsigned long long)st->refused_seq);
    const fm_roster_member *m = member_of(pr, st->refused_author);
    if (m) name(pr, m);
    text(pr, ". Hỏi bên quản lý hệ thống của xã vì sao.", ". Ask the commune's system why.");
    fmd_html_raw(&p->out, "</li>");
  }
  return 0;
}

static void gateway(problems *pr) {
  fmd_web_page *p = pr->p;
  fm_store_stats st;
  struct statvfs v;
  if (fm_store_stats_get(p->d->store, &st) == 0 && st.held) {
    item(pr, 0, "chờ đăng ký", "waiting for enrollments");
    fmd_html_rawf(&p->out, p->en ? "%llu records from laptops not enrolled here yet wait; they "
                                   "apply when the enrollments arrive.</li>"
                                 : "%llu bản ghi của máy chưa đăng ký ở đây đang chờ; sẽ áp dụng "
                                   "khi đăng ký đến.</li>",
                  (unsigned long long)st.held);
  }
  fm_forward_each_status(p->d->store, on_sink, pr);
  if (statvfs(p->d->cfg->state, &v) == 0) {
    unsigned long long avail = (unsigned long long)v.f_bavail * v.f_frsize;
    unsigned long long total = (unsigned long long)v.f_blocks * v.f_frsize;
    if (avail < DISK_LOW_BYTES || (total && avail * 100 / total < DISK_LOW_PERCENT)) {
      item(pr, 1, "sắp hết đĩa", "disk nearly full");
      fmd_html_rawf(&p->out, p->en ? "only %llu MB free for the gateway's store.</li>"
                                   : "chỉ còn %llu MB cho kho dữ liệu của trạm.</li>",
                    avail >> 20);
    }
  }
}

int fmd_web_problems(fmd_web_page *p) {
  fm_roster r = {NULL, 0};
  fmd_mesh ms = {NULL, 0};
  problems pr;
  int rv = fm_roster_load(p->d->store, &r);
  if (rv == 0) rv = fmd_web_mesh_gather(p, &r, &ms);
  if (rv == 0) {
    memset(&pr, 0, sizeof pr);
    pr.p = p;
    pr.ms = &ms;
    fmd_web_head(p, fmd_web_t(p, "Vấn đề", "Problems"), "/problems");
    fmd_html_raw(&p->out, "<ul class=\"problems\">");
    quarantine(&pr);
    devices(&pr);
    gateway(&pr);
    fmd_html_raw(&p->out, "</ul>");
    if (!pr.count)
      fmd_html_rawf(&p->out, "<p class=\"box\">%s</p>",
                    fmd_web_t(p, "Không thấy vấn đề nào.", "No problems found."));
    fmd_web_foot(p);
  }
  free(ms.rows);
  fm_roster_free(&r);
  return rv;
}
