/* fieldmeshd's log: one line per event on stderr (systemd collects it),
 * "2026-11-28T09:00:00Z info peer 127.0.0.1:7412 (Lan, Team 1) caught up: ...".
 *
 * Text that came from a peer (a BYE reason, a name) may hold anything;
 * control characters are replaced so one event stays one line. */
#ifndef FMD_LOG_H
#define FMD_LOG_H

#include <stdio.h>

typedef enum fmd_level { FMD_DEBUG, FMD_INFO, FMD_WARN, FMD_ERROR } fmd_level;

typedef struct fmd_log {
  fmd_level level;   /* lines below it are dropped */
  FILE *f;           /* not owned; stderr */
} fmd_log;

/* "debug", "info", "warn" (or "warning"), "error".  0 or -1. */
int fmd_log_level_parse(const char *s, fmd_level *out);
const char *fmd_log_level_name(fmd_level lv);

void fmd_logf(const fmd_log *l, fmd_level lv, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
