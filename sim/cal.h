/* Calendar arithmetic for the virtual clock.
 *
 * The simulator's clock is fm_time: milliseconds since the Unix epoch, in
 * UTC, like the protocol's.  Scenarios speak local time (Vietnam is UTC+7,
 * no daylight saving), so a scenario carries its offset and everything a
 * person reads (work hours, link windows, CSV rows) is local.
 */
#ifndef SIM_CAL_H
#define SIM_CAL_H

#include <stdint.h>

#include "fieldmesh/types.h"

#define SIM_DAY_MS (24LL * 3600 * 1000)
#define SIM_HOUR_MS (3600LL * 1000)
#define SIM_MIN_MS (60LL * 1000)
#define SIM_SPANS_MAX 6

/* Days of the week as a bit set: bit 0 is Monday ... bit 6 Sunday. */
typedef uint8_t sim_days;

/* Minutes of the local day: [from, to), to may be 1440 (midnight). */
typedef struct sim_span {
  int from, to;
} sim_span;

typedef struct sim_hours {
  int n;
  sim_span s[SIM_SPANS_MAX];
} sim_hours;

/* "2023-08-01" -> days since 1970-01-01.  0 or -1. */
int sim_cal_parse_date(const char *s, int64_t *day);
/* Day number -> "YYYY-MM-DD" (|out| holds 11 bytes). */
void sim_cal_date(int64_t day, char *out);
/* 0 = Monday ... 6 = Sunday. */
int sim_cal_weekday(int64_t day);
/* "mon wed fri", "mon-fri", "daily", "weekdays", "sat,sun".  0 or -1. */
int sim_cal_parse_days(const char *s, sim_days *out);
/* "07:30-11:30 13:30-17:00" (end may be 24:00).  0 or -1. */
int sim_cal_parse_hours(const char *s, sim_hours *out);
/* "07:30" -> minutes of the day.  0 or -1. */
int sim_cal_parse_clock(const char *s, int *minute);
/* The UTC instant of local |day| at |minute| for a zone |tz_min| minutes
 * east of UTC. */
fm_time sim_cal_at(int64_t day, int minute, int tz_min);
/* The local day and minute of instant |t|. */
void sim_cal_split(fm_time t, int tz_min, int64_t *day, int *minute);
/* "YYYY-MM-DD HH:MM" of instant |t| in local time (|out| holds 17 bytes). */
void sim_cal_format(fm_time t, int tz_min, char *out);
/* True when local |day| is one of |days| and |minute| lies in |hours|. */
int sim_cal_within(sim_days days, const sim_hours *hours, int64_t day, int minute);

#endif
