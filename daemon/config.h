/* fieldmeshd's settings: defaults, then the INI file (docs/config.md),
 * then the command-line flags, which win.
 *
 * Every problem is one line on stderr naming the flag, or the file,
 * section, key and value, and the fix.  An unknown section or key is an
 * error naming the closest known one: a misspelt setting never goes
 * silently unused. */
#ifndef FMD_CONFIG_H
#define FMD_CONFIG_H

#include <limits.h>
#include <stdint.h>
#include <stdio.h>

#include "discovery_config.h"
#include "hostport.h"
#include "log.h"
#include "upstream_config.h"
#include "web_config.h"

#define FMD_DEFAULT_LISTEN "0.0.0.0:7411"
#define FMD_CONFIG_NAME "fieldmeshd.conf"   /* default config, in the state folder */
#define FMD_STATIC_PEERS_MAX 32             /* [peers] peer lines */
/* [node] scans_max_mb not set: 4096 MiB, or no limit on a gateway. */
#define FMD_SCANS_MAX_UNSET UINT32_MAX
#define FMD_SCANS_MAX_DEFAULT_MB 4096u

/* What main() should return when fmd_config_from_args() did not give 0. */
#define FMD_EXIT_OK 0
#define FMD_EXIT_FAIL 1
#define FMD_EXIT_USAGE 2
#define FMD_CONFIG_HELP (-1)   /* --help or --version was printed */

typedef struct fmd_config {
  char state[PATH_MAX - 64];    /* room left for the names inside it */
  char config_path[PATH_MAX];   /* "" when no file was read */
  char listen[FM_CONTROL_ADDR_MAX];
  int listen_off;               /* listen = off: dial out only */
  fmd_hostport listen_hp;
  fmd_level log_level;
  int ignore_failing;           /* ignore callers whose connections keep failing (shun.h) */
  size_t npeers;
  char peers[FMD_STATIC_PEERS_MAX][FM_CONTROL_ADDR_MAX];
  uint32_t window_kib;          /* entry bytes in flight per session */
  uint32_t ping_seconds;
  uint32_t ping_max_seconds;     /* an idle link's pings back off to this */
  uint32_t safe_copies;      /* [node] safe_copies: other holders that make an entry safe */
  uint32_t scans_max_mb;     /* [node] scans_max_mb: MiB of scans' chunks kept before this
                              * laptop stops fetching more; 0: no limit;
                              * FMD_SCANS_MAX_UNSET: the default (4096, or no limit on a
                              * gateway, which forwards every scan) */
  uint32_t verify_threads;   /* [node] verify_threads: threads checking signatures, the
                              * loop thread counting as one (1: it alone); 0: the cores */
  uint32_t idle_timeout_seconds;
  int compress;                 /* [sync] compress: offer PACKED entries (zstd) */
  uint32_t reconnect_min_ms, reconnect_max_ms;
  fmd_disc_config disc;         /* [discovery] (discovery_config.h) */
  fmd_upstream_config upstream; /* [upstream]: a gateway's sinks (upstream_config.h) */
  fmd_web_config web;           /* [web]: a gateway's dashboard (web_config.h) */
  int seal;                     /* [privacy] seal: this laptop's records are sealed */
  uint32_t keep_months;         /* [privacy] keep_months: forget month keys older (0: never) */
} fmd_config;

/* Fills |c| from |argv| and the config file.  Returns 0,
 * FMD_CONFIG_HELP (exit 0), or FMD_EXIT_USAGE after printing one line to
 * |err|. */
int fmd_config_from_args(fmd_config *c, int argc, char **argv, FILE *err);

#endif
