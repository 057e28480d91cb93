#include "log.h"

#include <stdarg.h>
#include <string.h>
#include <time.h>

static const char *const NAMES[] = {"debug", "info", "warn", "error"};

int fmd_log_level_parse(const char *s, fmd_level *out) {
  for (int i = 0; i < 4; i++) {
    if (!strcmp(s, NAMES[i])) {
      *out = (fmd_level)i;
      return 0;
    }
  }
  if (!strcmp(s, "warning")) {
    *out = FMD_WARN;
    return 0;
  }
  return -1;
}

const char *fmd_log_level_name(fmd_level lv) {
  return lv >= FMD_DEBUG && lv <= FMD_ERROR ? NAMES[lv] : "?";
}

void fmd_logf(const fmd_log *l, fmd_level lv, const char *fmt, ...) {
  char line[1024], stamp[32];
  struct timespec ts;
  struct tm tm;
  va_list ap;
  if (lv < l->level) return;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  for (char *p = line; *p; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = '?';
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
  fprintf(l->f, "%s %s %s\n", stamp, NAMES[lv], line);
  fflush(l->f);
}
