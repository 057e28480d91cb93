/* The scans of one dossier, on its page: each file's kind, name and size,
 * how many of its chunks the commune hall holds, who attached it and
 * when, and whether it reached the commune's system (its receipt).
 * Nothing here serves a scan's bytes: the dashboard lists, the commune's
 * own system (the gateway's sinks) holds the files. */
#include <stdlib.h>
#include <string.h>

#include "fieldmesh/blob_store.h"
#include "fieldmesh/delivery.h"
#include "fieldmesh/error.h"
#include "fieldmesh/hlc.h"
#include "node.h"
#include "web_page.h"

static void scan_row(fmd_web_page *p, size_t i, const fm_entry *e, const fm_attach *a,
                     fm_str id, fm_str team) {
  char name[FM_SEAL_TEXT_MAX], sinks[64];
  size_t held = 0;
  fm_delivery dl;
  fmd_web_scan_name(p, e->author, id, team, a, name);
  (void)fm_store_blob_count(p->d->store, a->chunks, a->nchunks, &held);
  fmd_html_rawf(&p->out, "<tr><td>%zu</td><td>", i + 1);
  fmd_html_text(&p->out, fm_attach_kind_name(a->kind));
  fmd_html_raw(&p->out, "</td><td>");
  fmd_html_text(&p->out, name);
  fmd_html_rawf(&p->out, "</td><td class=\"num\">%llu</td><td class=\"num\">",
                (unsigned long long)a->size);
  fmd_html_rawf(&p->out, held == a->nchunks ? "%zu/%zu" : "<span class=\"tag warn\">%zu/%zu</span>",
                held, a->nchunks);
  fmd_html_raw(&p->out, "</td><td>");
  fmd_web_time(p, (long long)fm_hlc_ms(e->hlc));
  fmd_html_raw(&p->out, "</td><td>");
  fmd_web_member(p, e->author);
  fmd_html_raw(&p->out, "</td><td>");
  if (fm_delivery_get(p->d->store, e->author, e->seq, &dl) == 0) {
    fmd_html_raw(&p->out, "<span class=\"tag ok\">");
    fmd_html_text(&p->out, fm_sink_bits_str(dl.sinks, sinks, sizeof sinks));
    fmd_html_raw(&p->out, "</span>");
  } else {
    fmd_html_rawf(&p->out, "<span class=\"tag warn\">%s</span>",
                  held == a->nchunks ? fmd_web_t(p, "chờ biên nhận", "awaiting receipt")
                                     : fmd_web_t(p, "chờ đủ các phần", "awaiting its chunks"));
  }
  fmd_html_raw(&p->out, "</td></tr>\n");
}

int fmd_web_scans(fmd_web_page *p, const fm_dossier_view *d, const char *id) {
  fm_stamp list[FM_VIEW_ATTACH_MAX];
  size_t n = fm_dossier_view_attachments(d, list);
  fm_str rid = {id, strlen(id)};
  fmd_html_rawf(&p->out, "<h2>%s</h2>", fmd_web_t(p, "Giấy tờ đính kèm", "Scans"));
  if (n == 0) {
    fmd_html_rawf(&p->out, "<p>%s</p>", fmd_web_t(p, "Chưa có bản quét nào.", "No scans attached."));
    return 0;
  }
  fmd_html_rawf(&p->out, "<div class=\"wrap\"><table><thead><tr><th>#</th><th>%s</th><th>%s</th>"
                "<th>%s</th><th>%s</th><th>%s</th><th>%s</th><th>%s</th></tr></thead><tbody>",
                fmd_web_t(p, "Loại", "Kind"), fmd_web_t(p, "Tệp", "File"),
                fmd_web_t(p, "Byte", "Bytes"), fmd_web_t(p, "Phần ở trạm", "Chunks here"),
                fmd_web_t(p, "Lúc", "When"), fmd_web_t(p, "Ai", "Who"),
                fmd_web_t(p, "Đã chuyển lên hệ thống xã", "Reached the commune's system"));
  for (size_t i = 0; i < n; i++) {
    uint8_t *bytes;
    size_t len;
    fm_entry e;
    fm_attach a;
    int rv = fm_store_entry_copy(p->d->store, list[i].author, list[i].seq, &bytes, &len);
    if (rv == FM_ERR_NOTFOUND) continue;
    if (rv < 0) return rv;
    if (fm_attach_of_entry(bytes, len, &e, &a) == 0)
      scan_row(p, i, &e, &a, rid, d->team);
    free(bytes);
  }
  fmd_html_raw(&p->out, "</tbody></table></div>");
  return 0;
}
