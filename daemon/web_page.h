/* What the dashboard's pages share: the request as a page sees it, the
 * language, and the page's frame (head, navigation, stylesheet).  Each
 * page is one function in its own file; it writes into |out| through
 * html.h only and returns 0, FMD_WEB_NOTFOUND, or a negative store code
 * (answered 500). */
#ifndef FMD_WEB_PAGE_H
#define FMD_WEB_PAGE_H

#include <stddef.h>

#include "fieldmesh/attach.h"
#include "fieldmesh/keys.h"
#include "fieldmesh/types.h"
#include "html.h"
#include "web_config.h"

#define FMD_WEB_NOTFOUND 1

typedef struct fmd_node fmd_node;

typedef struct fmd_web_page {
  fmd_node *d;
  const fmd_web_config *cfg;
  fmd_html out;               /* the body; owned by web.c */
  int en;                     /* English (?lang=en or Accept-Language), else Vietnamese */
  const char *path;           /* the normalized path, NUL-terminated */
  const char *query;          /* after '?', NUL-terminated; "" when none */
  const char *content_type;   /* NULL: text/html; charset=utf-8 */
  const char *filename;       /* a download's name (Content-Disposition), or NULL */
} fmd_web_page;

/* The text of |p|'s language. */
static inline const char *fmd_web_t(const fmd_web_page *p, const char *vi, const char *en) {
  return p->en ? en : vi;
}

/* The query parameter |name| decoded into |out| (|cap| bytes): 1 when
 * present, 0 when not (|out| = ""). */
int fmd_web_param(const fmd_web_page *p, const char *name, char *out, size_t cap);

/* "?lang=en" or "&lang=en" (|more|: the link has a query already) when
 * the page is in English, else nothing. */
void fmd_web_lang(fmd_web_page *p, int more);

/* The page's head, stylesheet, title and navigation (|nav|: the path of
 * the active tab); then fmd_web_foot() closes it. */
void fmd_web_head(fmd_web_page *p, const char *title, const char *nav);
void fmd_web_foot(fmd_web_page *p);

/* "2026-12-03 10:12" (Vietnam time) of |ms|, "-" for 0, as text. */
void fmd_web_time(fmd_web_page *p, long long ms);

/* A dossier status (fm_status) in the page's language. */
void fmd_web_status(fmd_web_page *p, int st);

/* The pages. */
int fmd_web_mesh(fmd_web_page *p);
int fmd_web_records(fmd_web_page *p);
int fmd_web_dossier(fmd_web_page *p, const char *id);
int fmd_web_reports(fmd_web_page *p, int csv);
int fmd_web_upstream(fmd_web_page *p);
int fmd_web_problems(fmd_web_page *p);
int fmd_web_metrics(fmd_web_page *p);

/* "Lò Thị Lan (Tổ 1)" for |author| from the enrollment this store holds,
 * else the start of its id: how every page names a member. */
void fmd_web_member(fmd_web_page *p, const uint8_t author[FM_KEY_LEN]);

/* The oldest entry of the commune without a receipt (the gateway's own
 * aside): 1 with its author, seq and stamp time; 0 when every entry has
 * one; a negative store code. */
int fmd_web_oldest_unreceipted(fmd_node *d, uint8_t who[FM_KEY_LEN], uint64_t *seq,
                               fm_time *at);

/* Opens the sealed fields of a record about to be shown with this
 * node's device key (docs/privacy.md); what it cannot open shows as
 * "(sealed: TEAM)" or "(unreadable)".  |o| holds the texts.  Loop
 * thread only (the keyring reads the store). */
void fmd_web_open_dossier(fmd_web_page *p, fm_dossier_view *d, fm_opened *o, const char *id,
                          size_t n);
void fmd_web_open_visit(fmd_web_page *p, fm_visit_view *v, fm_opened *o, const char *id, size_t n);
/* The name of a scan (an attachment's `name`, fm_attach) that |author|
 * attached to dossier |id|, into |out| (FM_SEAL_TEXT_MAX bytes): opened
 * when sealed, else "(sealed: TEAM)" or "(unreadable)". */
void fmd_web_scan_name(fmd_web_page *p, const uint8_t author[FM_KEY_LEN], fm_str id,
                       fm_str team, const fm_attach *a, char *out);
/* The scans section of dossier |id|'s page (web_scans.c). */
int fmd_web_scans(fmd_web_page *p, const fm_dossier_view *d, const char *id);
/* Frees the dashboard's keyring, wiping its keys (fmd_web_free). */
void fmd_web_seal_close(void);

#endif
