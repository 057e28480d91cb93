/* The figures the commune hall asks for: `fieldmesh report` and the
 * gateway dashboard's Reports page count them here, the same way.
 *
 * A report counts, per key (village, team, procedure, month, day, ISO
 * week, place, member or service): visits and citizens helped (voided
 * visits excluded), dossiers, dossiers submitted or further along
 * (submitted, processing, result_ready, delivered, and rejected, which
 * only a submitted dossier can be), dossiers delivered, and apart the
 * rejected and the withdrawn.  Days are in Vietnam time (UTC+7): a
 * visit's own date, a dossier's own date.  By place and by service only
 * visits count (a dossier has neither); by service a visit counts once
 * under each service it gave.  Filters: one procedure (its dossiers only,
 * no visits) and a range of days or months, inclusive.  Text keys are in
 * their one form (fieldmesh/text.h); a member is named as enrolled. */
#ifndef FIELDMESH_REPORT_H
#define FIELDMESH_REPORT_H

#include "fieldmesh/enroll.h"
#include "fieldmesh/store.h"

typedef enum fm_report_by {
  FM_REPORT_VILLAGE, FM_REPORT_TEAM, FM_REPORT_PROCEDURE, FM_REPORT_MONTH,
  FM_REPORT_DAY, FM_REPORT_WEEK, FM_REPORT_PLACE, FM_REPORT_MEMBER, FM_REPORT_SERVICE
} fm_report_by;
#define FM_REPORT_BY_COUNT 9

/* "village", "team", ... (the --by words), or NULL past the last. */
const char *fm_report_by_name(fm_report_by by);
/* Whether |by| counts visits only (place, service): no dossier column. */
int fm_report_visits_only(fm_report_by by);

typedef struct fm_report_row {
  char key[FM_NAME_MAX];       /* "(none)" for an empty one */
  uint64_t visits, citizens, dossiers, submitted, delivered, rejected, withdrawn;
} fm_report_row;

typedef struct fm_report {
  /* asked */
  fm_report_by by;
  const char *procedure;       /* only dossiers of this procedure (and no visits); NULL: all */
  int status;                  /* 1 + fm_status: only dossiers in it (and no visits); 0: all */
  char from[11], to[11];       /* "YYYY-MM-DD" or "YYYY-MM" bounds, inclusive; "" for none */
  /* answered */
  fm_report_row *rows;         /* owned: fm_report_free(); sorted by key */
  size_t n, cap;
  fm_report_row total;
} fm_report;

/* The figures of a row, in the order reports show them. */
enum {
  FM_REPORT_VISITS, FM_REPORT_CITIZENS, FM_REPORT_DOSSIERS, FM_REPORT_SUBMITTED,
  FM_REPORT_DELIVERED, FM_REPORT_REJECTED, FM_REPORT_WITHDRAWN, FM_REPORT_COLS
};
/* "visits", "citizens", ... (CSV and JSON names) of figure |col|. */
const char *fm_report_col_name(int col);
/* Whether |r| shows figure |col|: visits and citizens unless it counts
 * dossiers only (by procedure, or filtered by procedure or status), the
 * dossier figures unless it counts visits only (by place or service). */
int fm_report_shown(const fm_report *r, int col);
uint64_t fm_report_figure(const fm_report_row *w, int col);

/* Counts every record of |s| into |r| (whose question is set and whose
 * answer is zero).  0, -ENOMEM, or the store's error. */
int fm_report_count(fm_store *s, fm_report *r);
void fm_report_free(fm_report *r);

/* "YYYY-MM-DD" of |ms| in Vietnam time, into |out| (11 bytes or more). */
void fm_report_day(fm_time ms, char *out);

/* The day a dossier was made, "YYYY-MM-DD" into |out|: its own `date`
 * field when it has a well-formed one, else the day (Vietnam time) of
 * its creating entry's stamp (dossiers written before dossiers carried
 * a date).  Never from a later stamp a wrong clock made up. */
void fm_report_dossier_day(const fm_dossier_view *d, char out[16]);

#endif
