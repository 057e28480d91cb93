/* Calendar dates in Vietnam time (UTC+7, no daylight saving), the zone
 * every commune works in, whatever the laptop's own zone says. */
#ifndef FIELDMESH_CLI_DATE_H
#define FIELDMESH_CLI_DATE_H

#include "fieldmesh/types.h"

#define FMC_TZ_OFFSET_MS (7LL * 3600 * 1000)

/* Parses "YYYY-MM-DD" (a real date, year 2000..2199).  0 or -1. */
int fmc_date_parse(const char *s, int *y, int *m, int *d);

/* The date of |ms| in Vietnam time, "YYYY-MM-DD" into |out| (11 bytes). */
void fmc_date_of(fm_time ms, char out[16]);

/* The date and minute of |ms| in Vietnam time, "YYYY-MM-DD HH:MM" into
 * |out| (17 bytes). */
void fmc_time_of(fm_time ms, char out[24]);

/* Milliseconds at 00:00 Vietnam time on the given date. */
fm_time fmc_date_start(int y, int m, int d);

#endif
