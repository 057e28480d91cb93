/* A record's timeline: every entry this laptop holds that changes one
 * dossier or visit, oldest first, with who wrote it (the member's name and
 * team from the enrollment), what it changed, the reason, and the upstream
 * delivery a gateway's receipt names (`dossier show`, `visit show`). */
#ifndef FIELDMESH_CLI_TIMELINE_H
#define FIELDMESH_CLI_TIMELINE_H

#include "cli.h"
#include "out.h"
#include "upstream.h"

#define FMC_TIMELINE_MAX 64     /* entries of one record shown, at most */

typedef struct fmc_tl_row {
  uint8_t author[FM_KEY_LEN];
  uint64_t seq;
  fm_hlc hlc;
  char kind[FM_KIND_MAX + 1];
  char what[160];               /* "status delivered -> processing", "voided", ... */
  char reason[512];             /* the note or reason, "" when none */
} fmc_tl_row;

typedef struct fmc_timeline {
  size_t n, more;               /* rows, and entries past FMC_TIMELINE_MAX */
  fmc_tl_row rows[FMC_TIMELINE_MAX];
} fmc_timeline;

/* Walks the whole log (a store of a commune holds some ten thousand
 * entries: a show command can afford it) for the entries of record |id|
 * of kind |k|, and replays them in merge order through the view to say
 * what each changed.  0, or prints the error and returns FMC_FAIL. */
int fmc_timeline_of(fmc_ctx *c, fm_view_kind k, const char *id, fmc_timeline *out);

/* Rows "timeline" and one per entry for the FIELD|VALUE table of `show`. */
void fmc_timeline_rows(fmc_ctx *c, const fmc_timeline *tl, const fmc_upstream *u,
                       fmc_table *t);
/* "timeline": [...] inside an open object. */
void fmc_timeline_json(fmc_ctx *c, const fmc_timeline *tl, const fmc_upstream *u,
                       fmc_json *j);

#endif
