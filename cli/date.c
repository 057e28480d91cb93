#include "date.h"

#include <string.h>

#define DAY_MS (24LL * 3600 * 1000)

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil). */
static long long days_from_civil(int y, int m, int d) {
  y -= m <= 2;
  long long era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = (unsigned)(y - era * 400);
  unsigned doy = (unsigned)((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1);
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (long long)doe - 719468;
}

static void civil_from_days(long long z, int *y, int *m, int *d) {
  z += 719468;
  long long era = (z >= 0 ? z : z - 146096) / 146097;
  unsigned doe = (unsigned)(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = (int)((long long)yoe + era * 400 + (*m <= 2));
}

static int days_in_month(int y, int m) {
  static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : dm[m - 1];
}

int fmc_date_parse(const char *s, int *y, int *m, int *d) {
  int yy, mm, dd;
  if (strlen(s) != 10 || s[4] != '-' || s[7] != '-') return -1;
  for (int i = 0; i < 10; i++)
    if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9')) return -1;
  yy = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
  mm = (s[5] - '0') * 10 + (s[6] - '0');
  dd = (s[8] - '0') * 10 + (s[9] - '0');
  if (yy < 2000 || yy > 2199 || mm < 1 || mm > 12 || dd < 1 ||
      dd > days_in_month(yy, mm))
    return -1;
  *y = yy;
  *m = mm;
  *d = dd;
  return 0;
}

void fmc_date_of(fm_time ms, char out[16]) {
  long long local = (long long)ms + FMC_TZ_OFFSET_MS;
  long long days = local >= 0 ? local / DAY_MS : -((-local + DAY_MS - 1) / DAY_MS);
  int y, m, d;
  civil_from_days(days, &y, &m, &d);
  unsigned yy = (unsigned)(y < 0 ? 0 : y % 10000);
  out[0] = (char)('0' + yy / 1000);
  out[1] = (char)('0' + yy / 100 % 10);
  out[2] = (char)('0' + yy / 10 % 10);
  out[3] = (char)('0' + yy % 10);
  out[4] = '-';
  out[5] = (char)('0' + m / 10);
  out[6] = (char)('0' + m % 10);
  out[7] = '-';
  out[8] = (char)('0' + d / 10);
  out[9] = (char)('0' + d % 10);
  out[10] = 0;
}

void fmc_time_of(fm_time ms, char out[24]) {
  long long local = (long long)ms + FMC_TZ_OFFSET_MS;
  long long in_day = local % DAY_MS;
  if (in_day < 0) in_day += DAY_MS;
  int minutes = (int)(in_day / 60000);
  fmc_date_of(ms, out);
  out[10] = ' ';
  out[11] = (char)('0' + minutes / 60 / 10);
  out[12] = (char)('0' + minutes / 60 % 10);
  out[13] = ':';
  out[14] = (char)('0' + minutes % 60 / 10);
  out[15] = (char)('0' + minutes % 60 % 10);
  out[16] = 0;
}

fm_time fmc_date_start(int y, int m, int d) {
  return (fm_time)(days_from_civil(y, m, d) * DAY_MS - FMC_TZ_OFFSET_MS);
}
