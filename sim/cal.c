#include "cal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Howard Hinnant's civil-from-days and days-from-civil. */
static int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

int sim_cal_parse_date(const char *s, int64_t *day) {
  int y, m, d, n = 0;
  /* Exactly YYYY-MM-DD: a person's "2023-8-1" is refused, not guessed at. */
  for (int i = 0; i < 10; i++)
    if (i == 4 || i == 7 ? s[i] != '-' : !(s[i] >= '0' && s[i] <= '9')) return -1;
  if (sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10 || s[n] != 0) return -1;
  if (y < 1971 || y > 2200 || m < 1 || m > 12 || d < 1 || d > 31) return -1;
  int64_t z = days_from_civil(y, m, d);
  int64_t yy;
  int mm, dd;
  civil_from_days(z, &yy, &mm, &dd);
  if (mm != m || dd != d) return -1; /* 2023-02-30 */
  *day = z;
  return 0;
}

void sim_cal_date(int64_t day, char *out) {
  int64_t y;
  int m, d;
  civil_from_days(day, &y, &m, &d);
  /* Years 0..9999 keep the form at ten characters. */
  snprintf(out, 11, "%04u-%02u-%02u", (unsigned)(y % 10000), (unsigned)m % 100u, (unsigned)d % 100u);
}

int sim_cal_weekday(int64_t day) {
  /* 1970-01-01 was a Thursday. */
  int64_t w = (day + 3) % 7;
  return (int)(w < 0 ? w + 7 : w);
}

static const char *const wdays[7] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

static int wday_index(const char *s, size_t n) {
  for (int i = 0; i < 7; i++)
    if (n == 3 && strncmp(s, wdays[i], 3) == 0) return i;
  return -1;
}

/* One token: "mon", "mon-fri", "daily", "weekdays". */
static int days_token(const char *s, size_t n, sim_days *set) {
  if (n == 5 && !strncmp(s, "daily", 5)) return *set |= 0x7f, 0;
  if (n == 8 && !strncmp(s, "weekdays", 8)) return *set |= 0x1f, 0;
  const char *dash = memchr(s, '-', n);
  int a = wday_index(s, dash ? (size_t)(dash - s) : n), b = a;
  if (dash) b = wday_index(dash + 1, n - (size_t)(dash - s) - 1);
  if (a < 0 || b < 0 || b < a) return -1;
  for (int i = a; i <= b; i++) *set |= (sim_days)(1u << i);
  return 0;
}

int sim_cal_parse_days(const char *s, sim_days *out) {
  sim_days set = 0;
  while (*s) {
    while (*s == ' ' || *s == ',' || *s == '\t') s++;
    if (!*s) break;
    size_t n = strcspn(s, " ,\t");
    if (days_token(s, n, &set) < 0) return -1;
    s += n;
  }
  if (!set) return -1;
  *out = set;
  return 0;
}

int sim_cal_parse_clock(const char *s, int *minute) {
  int h, m, n = 0;
  if (sscanf(s, "%2d:%2d%n", &h, &m, &n) != 2 || n != 5) return -1;
  if (h < 0 || h > 24 || m < 0 || m > 59 || (h == 24 && m != 0)) return -1;
  *minute = h * 60 + m;
  return 0;
}

int sim_cal_parse_hours(const char *s, sim_hours *out) {
  sim_hours h;
  memset(&h, 0, sizeof h);
  while (*s) {
    while (*s == ' ' || *s == ',' || *s == '\t') s++;
    if (!*s) break;
    char a[6], b[6];
    size_t n = strcspn(s, " ,\t");
    if (n != 11 || s[5] != '-' || h.n == SIM_SPANS_MAX) return -1;
    memcpy(a, s, 5);
    a[5] = 0;
    memcpy(b, s + 6, 5);
    b[5] = 0;
    sim_span sp;
    if (sim_cal_parse_clock(a, &sp.from) < 0 || sim_cal_parse_clock(b, &sp.to) < 0 ||
        sp.to <= sp.from || sp.from >= 1440)
      return -1;
    if (h.n > 0 && sp.from < h.s[h.n - 1].to) return -1; /* in order, apart */
    h.s[h.n++] = sp;
    s += n;
  }
  if (!h.n) return -1;
  *out = h;
  return 0;
}

fm_time sim_cal_at(int64_t day, int minute, int tz_min) {
  return day * SIM_DAY_MS + (fm_time)(minute - tz_min) * SIM_MIN_MS;
}

void sim_cal_split(fm_time t, int tz_min, int64_t *day, int *minute) {
  fm_time local = t + (fm_time)tz_min * SIM_MIN_MS;
  int64_t d = local / SIM_DAY_MS;
  if (local < 0 && local % SIM_DAY_MS) d--;
  *day = d;
  *minute = (int)((local - d * SIM_DAY_MS) / SIM_MIN_MS);
}

void sim_cal_format(fm_time t, int tz_min, char *out) {
  int64_t day;
  int minute;
  char date[11];
  sim_cal_split(t, tz_min, &day, &minute);
  sim_cal_date(day, date);
  snprintf(out, 17, "%.10s %02u:%02u", date, (unsigned)(minute / 60) % 24u, (unsigned)minute % 60u);
}

int sim_cal_within(sim_days days, const sim_hours *hours, int64_t day, int minute) {
  if (!(days & (1u << sim_cal_weekday(day)))) return 0;
  for (int i = 0; i < hours->n; i++)
    if (minute >= hours->s[i].from && minute < hours->s[i].to) return 1;
  return 0;
}
