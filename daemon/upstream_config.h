/* The [upstream] section of fieldmeshd's settings (docs/config.md): where
 * a gateway forwards every entry (a spool folder, a PostgreSQL database,
 * an HTTP endpoint; each enabled by its key) and how.  Kept apart from
 * config.c so that the gateway's settings, defaults and checks live in
 * one place. */
#ifndef FMD_UPSTREAM_CONFIG_H
#define FMD_UPSTREAM_CONFIG_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#define FMD_UP_CONNINFO_MAX 1024     /* a PostgreSQL conninfo or URL, with its NUL */
#define FMD_UP_TOKEN_MAX 512

typedef struct fmd_upstream_config {
  char spool[PATH_MAX - 256];        /* spool = DIR; "" when off */
  char postgres[FMD_UP_CONNINFO_MAX];/* postgres = CONNINFO; "" when off */
  char http[FMD_UP_CONNINFO_MAX];    /* http = URL; "" when off */
  uint32_t batch_entries;            /* entries per batch */
  uint32_t batch_kib;                /* entry bytes per batch */
  uint32_t linger_ms;                /* wait for more entries before a small batch */
  uint32_t seal_hold_seconds;        /* a batch with sealed fields the gateway has no key
                                      * for waits this long for it (FMD_SEAL_HOLD_MS) */
  uint32_t scan_wait_hours;          /* a scan waits this long for its chunks (from its
                                      * stamp), then goes without its file */
  uint32_t retry_min_ms, retry_max_ms;
  uint32_t timeout_seconds;          /* one delivery: HTTP request, PostgreSQL connect and statements */
  int tls_verify;                    /* HTTPS: check the server's certificate and name */
  char ca_file[PATH_MAX];            /* HTTPS: trust these CAs instead of the system's */
  char http_token[FMD_UP_TOKEN_MAX]; /* sent as "Authorization: Bearer TOKEN"; "" for none */
} fmd_upstream_config;

void fmd_upstream_config_defaults(fmd_upstream_config *c);

/* True when a sink is configured: the daemon is a gateway. */
int fmd_upstream_enabled(const fmd_upstream_config *c);

/* Sets [upstream] |key| to |value|.  Returns 0; 1 when the value is bad,
 * with the fix for a person in |fix| (|cap| bytes); -1 for a key that
 * [upstream] does not have (the caller warns). */
int fmd_upstream_config_set(fmd_upstream_config *c, const char *key, const char *value,
                            char *fix, size_t cap);

/* The settings that only make sense together: 0, or 1 with the fix in
 * |fix|. */
int fmd_upstream_config_check(const fmd_upstream_config *c, char *fix, size_t cap);

#endif
