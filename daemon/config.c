#include "config.h"

#include "fieldmesh/copies.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <ini.h>

#include "fieldmesh/closest.h"
#include "fieldmesh/error.h"
#include "fieldmesh/fsfile.h"
#include "fieldmesh/inbox.h"
#include "setting.h"

#define CONFIG_FILE_MAX ((size_t)1 << 20) /* a config is a few KiB */

#define USAGE                                                                   \
  "usage: fieldmeshd --state DIR [--config FILE] [--listen HOST:PORT|off]\n"    \
  "                  [--peer HOST:PORT]... [--log-level debug|info|warn|error]\n"

static const char HELP[] =
    USAGE
    "\nSyncs this laptop's fieldmesh store with every laptop it can reach.\n\n"
    "  --state DIR        the state folder made by `fieldmesh init` (or [node] state)\n"
    "  --config FILE      settings (default: DIR/" FMD_CONFIG_NAME " when present)\n"
    "  --listen HOST:PORT accept peers here (default " FMD_DEFAULT_LISTEN "); off: dial out only\n"
    "  --peer HOST:PORT   a peer to keep connected; repeat for more; replaces [peers]\n"
    "  --log-level LEVEL  debug, info (default), warn or error\n\n"
    "Every setting and its default: docs/config.md.  Stop with SIGTERM or\n"
    "SIGINT; `fieldmesh peers` and `fieldmesh status` talk to the daemon over\n"
    "DIR/" FM_CONTROL_SOCKET ".\n";

/* The flags, kept apart so they can be applied over the file. */
typedef struct flags {
  const char *state, *config, *listen, *log_level;
  size_t npeers;
  const char *peers[FMD_STATIC_PEERS_MAX];
} flags;

/* Where a value came from, for messages: a flag or a key of the file. */
typedef struct origin {
  const char *flag;              /* "--listen", or NULL for the file */
  const char *file, *section, *key;
} origin;

static int bad(FILE *err, const origin *o, const char *value, const char *fix) {
  if (o->flag)
    fprintf(err, "fieldmeshd: %s \"%.80s\": %s\n", o->flag, value, fix);
  else
    fprintf(err, "fieldmeshd: %s: [%s] %s = \"%.80s\": %s\n", o->file, o->section, o->key,
            value, fix);
  return FMD_EXIT_USAGE;
}

static int set_uint(FILE *err, const origin *o, const char *v, uint32_t lo, uint32_t hi,
                    const char *unit, uint32_t *out) {
  char fix[128];
  if (fmd_setting_uint_fix(v, lo, hi, unit, out, fix, sizeof fix)) return bad(err, o, v, fix);
  return 0;
}

static int set_listen(FILE *err, const origin *o, fmd_config *c, const char *v) {
  char why[128], fix[192];
  struct sockaddr_storage ss;
  if (!strcmp(v, "off")) {
    c->listen_off = 1;
    snprintf(c->listen, sizeof c->listen, "off");
    return 0;
  }
  if (strlen(v) >= sizeof c->listen || fmd_hostport_parse(v, &c->listen_hp, why, sizeof why) < 0) {
    snprintf(fix, sizeof fix, "%s (or off to accept no peers)",
             strlen(v) >= sizeof c->listen ? "too long" : why);
    return bad(err, o, v, fix);
  }
  if (fmd_hostport_numeric(&c->listen_hp, &ss) < 0)
    return bad(err, o, v, "listen on an IP address, e.g. 0.0.0.0:7411 (all) or 127.0.0.1:7411");
  c->listen_off = 0;
  snprintf(c->listen, sizeof c->listen, "%s", v);
  return 0;
}

static int add_peer(FILE *err, const origin *o, fmd_config *c, const char *v) {
  char why[128];
  fmd_hostport hp;
  if (strlen(v) >= sizeof c->peers[0]) return bad(err, o, v, "the address is too long");
  if (fmd_hostport_parse(v, &hp, why, sizeof why) < 0) return bad(err, o, v, why);
  if (c->npeers == FMD_STATIC_PEERS_MAX)
    return bad(err, o, v, "at most 32 static peers: keep the ones that matter (the gateway)");
  for (size_t i = 0; i < c->npeers; i++)
    if (!strcmp(c->peers[i], v)) return 0; /* given twice: once is enough */
  snprintf(c->peers[c->npeers++], sizeof c->peers[0], "%s", v);
  return 0;
}

static int set_level(FILE *err, const origin *o, fmd_config *c, const char *v) {
  if (fmd_log_level_parse(v, &c->log_level) < 0)
    return bad(err, o, v, "one of: debug, info, warn, error");
  return 0;
}

static int set_state(FILE *err, const origin *o, fmd_config *c, const char *v) {
  if (!*v) return bad(err, o, v, "give the state folder, e.g. /var/lib/fieldmesh");
  if (strlen(v) >= sizeof c->state) return bad(err, o, v, "the path is too long");
  snprintf(c->state, sizeof c->state, "%s", v);
  return 0;
}

/* ---- the file --------------------------------------------------------------- */

typedef struct loader {
  fmd_config *c;
  FILE *err;
  const char *file;
  int failed;        /* a bad value was reported: stop at the first */
  int peers_from_flags;
} loader;

/* [discovery]: its keys, defaults and checks live in discovery_config.c. */
static int disc_key(FILE *err, const origin *o, fmd_disc_config *c, const char *key,
                    const char *value) {
  char fix[192];
  int rv = fmd_disc_config_set(c, key, value, fix, sizeof fix);
  return rv > 0 ? bad(err, o, value, fix) : rv;
}

/* [upstream]: its keys, defaults and checks live in upstream_config.c. */
static int upstream_key(FILE *err, const origin *o, fmd_upstream_config *c, const char *key,
                        const char *value) {
  char fix[256];
  int rv = fmd_upstream_config_set(c, key, value, fix, sizeof fix);
  /* A token is a secret: never echo it in a message. */
  return rv > 0 ? bad(err, o, strcmp(key, "http_token") ? value : "...", fix) : rv;
}

/* [web]: its keys, defaults and checks live in web_config.c. */
static int web_key(FILE *err, const origin *o, fmd_web_config *c, const char *key,
                   const char *value) {
  char fix[256];
  int rv = fmd_web_config_set(c, key, value, fix, sizeof fix);
  return rv > 0 ? bad(err, o, value, fix) : rv;
}

/* Every section and key on_key knows, for the "did you mean" of a typo
 * (docs/config.md lists them all). */
static const char *const node_keys[] = {"state", "listen", "log_level", "safe_copies",
                                        "ignore_failing_callers", "verify_threads",
                                        "scans_max_mb"};
static const char *const peers_keys[] = {"peer"};
static const char *const sync_keys[] = {"window_kib", "ping_seconds", "ping_max_seconds",
                                        "idle_timeout_seconds", "reconnect_min_ms",
                                        "reconnect_max_ms", "compress"};
static const char *const discovery_keys[] = {"enabled", "port", "interval_seconds", "group",
                                             "group6"};
static const char *const web_keys[] = {"listen", "password_file", "silent_days"};
static const char *const privacy_keys[] = {"seal", "keep_months"};
static const char *const upstream_keys[] = {
    "spool", "postgres", "http", "batch_entries", "batch_kib", "linger_ms", "scan_wait_hours",
    "seal_hold_seconds",
    "retry_min_ms", "retry_max_ms", "timeout_seconds", "tls_verify", "ca_file", "http_token"};
#define KEYS(a) a, sizeof a / sizeof *a
static const struct {
  const char *name;
  const char *const *keys;
  size_t n;
} sections[] = {{"node", KEYS(node_keys)},           {"peers", KEYS(peers_keys)},
                {"sync", KEYS(sync_keys)},           {"discovery", KEYS(discovery_keys)},
                {"upstream", KEYS(upstream_keys)},   {"web", KEYS(web_keys)},
                {"privacy", KEYS(privacy_keys)}};
#define NSECTIONS (sizeof sections / sizeof *sections)

/* A section or key on_key does not know: a typo is refused with the
 * closest known name, so a setting never goes silently unused. */
static void unknown(FILE *err, const char *file, const char *section, const char *key) {
  const char *names[NSECTIONS], *near;
  for (size_t i = 0; i < NSECTIONS; i++) {
    names[i] = sections[i].name;
    if (strcmp(section, sections[i].name)) continue;
    if ((near = fm_closest(key, sections[i].keys, sections[i].n)))
      fprintf(err, "fieldmeshd: %s: unknown key \"%.60s\" in [%s]: did you mean \"%s\"? "
              "(the settings are listed in docs/config.md)\n", file, key, section, near);
    else
      fprintf(err, "fieldmeshd: %s: unknown key \"%.60s\" in [%s]: remove it (the settings "
              "are listed in docs/config.md)\n", file, key, section);
    return;
  }
  if ((near = fm_closest(section, names, NSECTIONS)))
    fprintf(err, "fieldmeshd: %s: unknown section [%.60s]: did you mean [%s]? (the settings "
            "are listed in docs/config.md)\n", file, section, near);
  else
    fprintf(err, "fieldmeshd: %s: unknown section [%.60s]: the sections are [node], [peers], "
            "[sync], [discovery], [upstream], [web] and [privacy] (see docs/config.md)\n", file, section);
}

static int on_key(void *user, const char *section, const char *key, const char *value) {
  loader *ld = user;
  fmd_config *c = ld->c;
  origin o = {NULL, ld->file, section, key};
  int rv = -1;
  if (ld->failed) return 1;
  if (!strcmp(section, "discovery")) {
    rv = disc_key(ld->err, &o, &c->disc, key, value);
  } else if (!strcmp(section, "upstream")) {
    rv = upstream_key(ld->err, &o, &c->upstream, key, value);
  } else if (!strcmp(section, "web")) {
    rv = web_key(ld->err, &o, &c->web, key, value);
  } else if (!strcmp(section, "node")) {
    if (!strcmp(key, "state")) rv = set_state(ld->err, &o, c, value);
    else if (!strcmp(key, "listen")) rv = set_listen(ld->err, &o, c, value);
    else if (!strcmp(key, "log_level")) rv = set_level(ld->err, &o, c, value);
    else if (!strcmp(key, "safe_copies"))
      rv = set_uint(ld->err, &o, value, 0, FM_SAFE_COPIES_MAX, "other laptops",
                    &c->safe_copies);
    else if (!strcmp(key, "scans_max_mb"))
      rv = set_uint(ld->err, &o, value, 0, 1u << 20, "MiB (0: no limit)", &c->scans_max_mb);
    else if (!strcmp(key, "verify_threads"))
      rv = set_uint(ld->err, &o, value, 1, 64, "threads", &c->verify_threads);
    else if (!strcmp(key, "ignore_failing_callers"))
      rv = fmd_setting_bool(value, &c->ignore_failing) == 0
               ? 0
               : bad(ld->err, &o, value, "yes (the default) or no");
  } else if (!strcmp(section, "privacy")) {
    /* Read by the fieldmesh command, which writes the records
     * (docs/privacy.md); checked here so a typo is named. */
    if (!strcmp(key, "seal"))
      rv = fmd_setting_bool(value, &c->seal) == 0 ? 0 : bad(ld->err, &o, value, "yes or no (the default)");
    else if (!strcmp(key, "keep_months"))
      rv = set_uint(ld->err, &o, value, 1, FM_INBOX_KEEP_MAX, "months", &c->keep_months);
  } else if (!strcmp(section, "peers")) {
    if (!strcmp(key, "peer")) rv = ld->peers_from_flags ? 0 : add_peer(ld->err, &o, c, value);
  } else if (!strcmp(section, "sync")) {
    if (!strcmp(key, "window_kib"))
      rv = set_uint(ld->err, &o, value, 16, 65536, "KiB", &c->window_kib);
    else if (!strcmp(key, "ping_seconds"))
      rv = set_uint(ld->err, &o, value, 1, 3600, "seconds", &c->ping_seconds);
    else if (!strcmp(key, "ping_max_seconds"))
      rv = set_uint(ld->err, &o, value, 1, 86400, "seconds", &c->ping_max_seconds);
    else if (!strcmp(key, "idle_timeout_seconds"))
      rv = set_uint(ld->err, &o, value, 5, 86400, "seconds", &c->idle_timeout_seconds);
    else if (!strcmp(key, "reconnect_min_ms"))
      rv = set_uint(ld->err, &o, value, 10, 3600000, "milliseconds", &c->reconnect_min_ms);
    else if (!strcmp(key, "reconnect_max_ms"))
      rv = set_uint(ld->err, &o, value, 10, 86400000, "milliseconds", &c->reconnect_max_ms);
    else if (!strcmp(key, "compress"))
      rv = fmd_setting_bool(value, &c->compress) == 0 ? 0
                                                        : bad(ld->err, &o, value, "yes (the default) or no");
  }
  if (rv < 0) {
    unknown(ld->err, ld->file, section, key);
    ld->failed = 1;
    return 0;
  }
  if (rv > 0) ld->failed = 1;
  return rv == 0;
}

static int load_file(fmd_config *c, const char *path, int peers_from_flags, FILE *err) {
  loader ld = {c, err, path, 0, peers_from_flags};
  uint8_t *text;
  size_t len;
  /* Read whole through fm_fsfile first: a FIFO or device given as the
   * config is refused at once instead of hanging the start. */
  int line = fm_fsfile_read(path, CONFIG_FILE_MAX, &text, &len);
  if (line < 0) {
    fprintf(err, "fieldmeshd: cannot read the config file %s: %s; fix the path given "
            "to --config\n", path,
            line == FM_ERR_IO ? strerror(errno) : line == FM_ERR_NOTFOUND ? "no such file"
            : line == FM_ERR_TOOBIG ? "over 1 MiB, not a config file" : fm_strerror(line));
    return FMD_EXIT_USAGE;
  }
  line = ini_parse_string((const char *)text, on_key, &ld);
  free(text);
  if (ld.failed) return FMD_EXIT_USAGE;
  if (line != 0) {
    fprintf(err, "fieldmeshd: %s line %d: not a \"[section]\" or \"key = value\" line: "
            "fix it (see docs/config.md)\n", path, line);
    return FMD_EXIT_USAGE;
  }
  snprintf(c->config_path, sizeof c->config_path, "%s", path);
  return 0;
}

/* ---- the flags ----------------------------------------------------------------- */

static int flag_value(FILE *err, int argc, char **argv, int *i, const char *name,
                      const char **out) {
  const char *a = argv[*i];
  size_t n = strlen(name);
  if (!strncmp(a, name, n) && a[n] == '=') {
    *out = a + n + 1;
    return 1;
  }
  if (strcmp(a, name)) return 0;
  if (*i + 1 >= argc) {
    fprintf(err, "fieldmeshd: %s needs a value (see fieldmeshd --help)\n", name);
    return -1;
  }
  *out = argv[++*i];
  return 1;
}

static int parse_flags(int argc, char **argv, flags *f, FILE *err) {
  static const char *const names[] = {"--state", "--config", "--listen", "--log-level", "--peer"};
  memset(f, 0, sizeof *f);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = NULL;
    int k, r = 0;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      fputs(HELP, stdout);
      return FMD_CONFIG_HELP;
    }
    if (!strcmp(a, "--version")) {
      puts("fieldmeshd 0.1.0");
      return FMD_CONFIG_HELP;
    }
    for (k = 0; k < 5 && (r = flag_value(err, argc, argv, &i, names[k], &v)) == 0; k++) {
    }
    if (r < 0) return FMD_EXIT_USAGE;
    if (k == 5) {
      fprintf(err, "fieldmeshd: unknown argument \"%.60s\" (see fieldmeshd --help)\n", a);
      return FMD_EXIT_USAGE;
    }
    const char **slot[] = {&f->state, &f->config, &f->listen, &f->log_level};
    if (k < 4) {
      if (*slot[k]) {
        fprintf(err, "fieldmeshd: %s is given twice: give it once\n", names[k]);
        return FMD_EXIT_USAGE;
      }
      *slot[k] = v;
    } else if (f->npeers == FMD_STATIC_PEERS_MAX) {
      fprintf(err, "fieldmeshd: --peer: at most %d static peers\n", FMD_STATIC_PEERS_MAX);
      return FMD_EXIT_USAGE;
    } else {
      f->peers[f->npeers++] = v;
    }
  }
  return 0;
}

static void defaults(fmd_config *c) {
  char why[128];
  memset(c, 0, sizeof *c);
  snprintf(c->listen, sizeof c->listen, "%s", FMD_DEFAULT_LISTEN);
  FM_ASSERT(fmd_hostport_parse(FMD_DEFAULT_LISTEN, &c->listen_hp, why, sizeof why) == 0);
  c->log_level = FMD_INFO;
  c->ignore_failing = 1;
  c->window_kib = 4096;
  c->ping_seconds = 15;
  c->ping_max_seconds = 1800;
  c->safe_copies = FM_SAFE_COPIES_DEFAULT;
  c->scans_max_mb = FMD_SCANS_MAX_UNSET;
  c->idle_timeout_seconds = 60;
  c->compress = 1;
  c->reconnect_min_ms = 500;
  c->reconnect_max_ms = 60000;
  fmd_disc_config_defaults(&c->disc);
  fmd_upstream_config_defaults(&c->upstream);
  fmd_web_config_defaults(&c->web);
}

/* The settings that only make sense together. */
static int check_whole(const fmd_config *c, FILE *err) {
  const char *where = c->config_path[0] ? c->config_path : "the defaults";
  char fix[256];
  if (fmd_upstream_config_check(&c->upstream, fix, sizeof fix)) {
    fprintf(err, "fieldmeshd: %s: %s\n", where, fix);
    return FMD_EXIT_USAGE;
  }
  if (fmd_web_config_check(&c->web, fix, sizeof fix)) {
    fprintf(err, "fieldmeshd: %s: %s\n", where, fix);
    return FMD_EXIT_USAGE;
  }
  if (c->idle_timeout_seconds <= c->ping_seconds) {
    fprintf(err, "fieldmeshd: %s: [sync] idle_timeout_seconds = %u must be more than "
            "ping_seconds = %u, or idle links drop between pings: raise it (default 60)\n",
            where, c->idle_timeout_seconds, c->ping_seconds);
    return FMD_EXIT_USAGE;
  }
  if (c->reconnect_max_ms < c->reconnect_min_ms) {
    fprintf(err, "fieldmeshd: %s: [sync] reconnect_max_ms = %u is below reconnect_min_ms "
            "= %u: make it at least as large (defaults 60000 and 500)\n",
            where, c->reconnect_max_ms, c->reconnect_min_ms);
    return FMD_EXIT_USAGE;
  }
  return 0;
}

/* The config file: --config, else STATE/fieldmeshd.conf when there. */
static int pick_file(fmd_config *c, const flags *f, FILE *err) {
  char path[PATH_MAX];
  struct stat st;
  if (f->config) return load_file(c, f->config, f->npeers > 0, err);
  if (!f->state) return 0;
  snprintf(path, sizeof path, "%s/%s", f->state, FMD_CONFIG_NAME);
  if (stat(path, &st) != 0) return 0;
  return load_file(c, path, f->npeers > 0, err);
}

int fmd_config_from_args(fmd_config *c, int argc, char **argv, FILE *err) {
  flags f;
  int rv;
  defaults(c);
  if ((rv = parse_flags(argc, argv, &f, err)) != 0) return rv;
  /* FIELDMESH_STATE, as for the fieldmesh command: the folder when neither
   * --state nor the config file names one (with no --config, its config
   * file is found there too). */
  const char *env = getenv("FIELDMESH_STATE");
  if (env && !*env) env = NULL;
  if (!f.state && !f.config && env) f.state = env;
  if ((rv = pick_file(c, &f, err)) != 0) return rv;
  const origin st = {"--state", 0, 0, 0}, li = {"--listen", 0, 0, 0},
               lv = {"--log-level", 0, 0, 0}, pe = {"--peer", 0, 0, 0},
               ev = {"FIELDMESH_STATE", 0, 0, 0};
  if (f.state && (rv = set_state(err, f.state == env ? &ev : &st, c, f.state)) != 0) return rv;
  if (!c->state[0] && env && (rv = set_state(err, &ev, c, env)) != 0) return rv;
  if (f.listen && (rv = set_listen(err, &li, c, f.listen)) != 0) return rv;
  if (f.log_level && (rv = set_level(err, &lv, c, f.log_level)) != 0) return rv;
  for (size_t i = 0; i < f.npeers; i++)
    if ((rv = add_peer(err, &pe, c, f.peers[i])) != 0) return rv;
  if (!c->state[0]) {
    fprintf(err, "fieldmeshd: no state folder: give --state DIR (the folder of "
            "`fieldmesh init`), [node] state in --config FILE, or set FIELDMESH_STATE\n");
    return FMD_EXIT_USAGE;
  }
  return check_whole(c, err);
}
