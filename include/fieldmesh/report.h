/* The figures the commune hall asks for: `fieldmesh report` and the
 * gateway dashboard's Reports page count them here, the same way.
 *
 * A report counts, per key (village, team, procedure or month): visits and
 * citizens helped (voided visits excluded), dossiers, dossiers submitted or
 * further along (submitted, processing, result_ready, delivered, and
 * rejected, which only a submitted dossier can be), and dossiers
 * delivered.  Months are in Vietnam time (UTC+7): a visit's own date, a
 * dossier's creation stamp.  Filters: one procedure (its dossiers only, no
 * visits) and a range of months, inclusive. */
#ifndef FIELDMESH_REPORT_H
#define FIELDMESH_REPORT_H

#include "fieldmesh/enroll.h"
#include "fieldmesh/store.h"

typedef enum fm_report_by {
  FM_REPORT_VILLAGE, FM_REPORT_TEAM, FM_REPORT_PROCEDURE, FM_REPORT_MONTH
} fm_report_by;

typedef struct fm_report_row {
  char key[FM_NAME_MAX];       /* "(none)" for an empty one */
  uint64_t visits, citizens, dossiers, submitted, delivered;
} fm_report_row;

typedef struct fm_report {
  /* asked */
  fm_report_by by;
  const char *procedure;       /* only dossiers of this procedure (and no visits); NULL: all */
  char from[8], to[8];         /* "YYYY-MM" bounds, inclusive; "" for none */
  /* answered */
  fm_report_row *rows;         /* owned: fm_report_free(); sorted by key */
  size_t n, cap;
  fm_report_row total;
} fm_report;

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
