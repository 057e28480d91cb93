#include "upstream_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "setting.h"

void fmd_upstream_config_defaults(fmd_upstream_config *c) {
  memset(c, 0, sizeof *c);
  c->batch_entries = 500;
  c->batch_kib = 4096;
  c->linger_ms = 2000;
  c->scan_wait_hours = 7 * 24;
  c->seal_hold_seconds = 600;
  c->retry_min_ms = 1000;
  c->retry_max_ms = 300000;
  c->timeout_seconds = 30;
  c->tls_verify = 1;
}

int fmd_upstream_enabled(const fmd_upstream_config *c) {
  return c->spool[0] || c->postgres[0] || c->http[0];
}

/* A text setting: one line, fits |size|, not empty. */
static int text(const char *v, char *out, size_t size, const char *what, char *fix, size_t cap) {
  if (!*v) {
    snprintf(fix, cap, "give %s, or remove the line", what);
    return 1;
  }
  if (strlen(v) >= size || strpbrk(v, "\r\n")) {
    snprintf(fix, cap, "%s must be one line of at most %zu bytes", what, size - 1);
    return 1;
  }
  snprintf(out, size, "%s", v);
  return 0;
}

static int url(const char *v, char *out, char *fix, size_t cap) {
  if (strncmp(v, "http://", 7) && strncmp(v, "https://", 8)) {
    snprintf(fix, cap, "give an http:// or https:// URL, e.g. https://hcc.example.vn/fieldmesh/batches");
    return 1;
  }
  return text(v, out, FMD_UP_CONNINFO_MAX, "the URL", fix, cap);
}

int fmd_upstream_config_set(fmd_upstream_config *c, const char *key, const char *value,
                            char *fix, size_t cap) {
  if (!strcmp(key, "spool")) return text(value, c->spool, sizeof c->spool, "the spool folder", fix, cap);
  if (!strcmp(key, "postgres"))
    return text(value, c->postgres, sizeof c->postgres,
                "a PostgreSQL connection string (e.g. host=/run/postgresql dbname=fieldmesh)", fix, cap);
  if (!strcmp(key, "http")) return url(value, c->http, fix, cap);
  if (!strcmp(key, "batch_entries"))
    return fmd_setting_uint_fix(value, 1, 2000, "entries", &c->batch_entries, fix, cap);
  if (!strcmp(key, "batch_kib")) return fmd_setting_uint_fix(value, 16, 65536, "KiB", &c->batch_kib, fix, cap);
  if (!strcmp(key, "linger_ms")) return fmd_setting_uint_fix(value, 0, 600000, "milliseconds", &c->linger_ms, fix, cap);
  if (!strcmp(key, "seal_hold_seconds"))
    return fmd_setting_uint_fix(value, 0, 7 * 24 * 3600, "seconds", &c->seal_hold_seconds, fix, cap);
  if (!strcmp(key, "scan_wait_hours"))
    return fmd_setting_uint_fix(value, 1, 24 * 366, "hours", &c->scan_wait_hours, fix, cap);
  if (!strcmp(key, "retry_min_ms"))
    return fmd_setting_uint_fix(value, 10, 3600000, "milliseconds", &c->retry_min_ms, fix, cap);
  if (!strcmp(key, "retry_max_ms"))
    return fmd_setting_uint_fix(value, 10, 86400000, "milliseconds", &c->retry_max_ms, fix, cap);
  if (!strcmp(key, "timeout_seconds"))
    return fmd_setting_uint_fix(value, 1, 3600, "seconds", &c->timeout_seconds, fix, cap);
  if (!strcmp(key, "tls_verify")) {
    if (fmd_setting_bool(value, &c->tls_verify) == 0) return 0;
    snprintf(fix, cap, "yes (the default: check the server's certificate) or no");
    return 1;
  }
  if (!strcmp(key, "ca_file")) return text(value, c->ca_file, sizeof c->ca_file, "a CA file", fix, cap);
  if (!strcmp(key, "http_token"))
    return text(value, c->http_token, sizeof c->http_token, "the token", fix, cap);
  return -1;
}

int fmd_upstream_config_check(const fmd_upstream_config *c, char *fix, size_t cap) {
  if (c->retry_max_ms < c->retry_min_ms) {
    snprintf(fix, cap, "[upstream] retry_max_ms = %u is below retry_min_ms = %u: make it at "
             "least as large (defaults 300000 and 1000)", c->retry_max_ms, c->retry_min_ms);
    return 1;
  }
  if (!fmd_upstream_enabled(c) && (c->http_token[0] || c->ca_file[0])) {
    snprintf(fix, cap, "[upstream] has settings but no sink: add spool = DIR, postgres = "
             "CONNINFO or http = URL");
    return 1;
  }
  return 0;
}
