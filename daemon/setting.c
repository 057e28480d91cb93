#include "setting.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int fmd_setting_bool(const char *v, int *out) {
  static const char *const yes[] = {"yes", "true", "on", "1"};
  static const char *const no[] = {"no", "false", "off", "0"};
  for (int i = 0; i < 4; i++) {
    if (!strcmp(v, yes[i]) || !strcmp(v, no[i])) {
      *out = !strcmp(v, yes[i]);
      return 0;
    }
  }
  return -1;
}

int fmd_setting_uint(const char *v, uint32_t lo, uint32_t hi, uint32_t *out) {
  char *end;
  if (v[0] < '0' || v[0] > '9') return -1; /* strtoull takes " 5" and "-5" */
  errno = 0;
  unsigned long long n = strtoull(v, &end, 10);
  if (errno || *end || n < lo || n > hi) return -1;
  *out = (uint32_t)n;
  return 0;
}

int fmd_setting_uint_fix(const char *v, uint32_t lo, uint32_t hi, const char *unit,
                         uint32_t *out, char *fix, size_t cap) {
  if (fmd_setting_uint(v, lo, hi, out) == 0) return 0;
  snprintf(fix, cap, "give a whole number of %s from %u to %u", unit, lo, hi);
  return 1;
}
