#include "web_config.h"

#include <stdio.h>
#include <string.h>

#include "setting.h"

/* Whether |ss| is a loopback address: only this machine can reach it. */
static int is_loopback(const struct sockaddr_storage *ss) {
  if (ss->ss_family == AF_INET)
    return ((const uint8_t *)&((const struct sockaddr_in *)ss)->sin_addr)[0] == 127;
  if (ss->ss_family == AF_INET6)
    return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
  return 0;
}

static int set_listen(fmd_web_config *c, const char *v, char *fix, size_t cap) {
  char why[128];
  struct sockaddr_storage ss;
  fmd_hostport hp;
  c->listen_given = 1;
  if (!strcmp(v, "off")) {
    c->off = 1;
    snprintf(c->listen, sizeof c->listen, "off");
    return 0;
  }
  if (strlen(v) >= sizeof c->listen || fmd_hostport_parse(v, &hp, why, sizeof why) < 0) {
    snprintf(fix, cap, "%s (e.g. " FMD_WEB_DEFAULT_LISTEN ", or off for no dashboard)",
             strlen(v) >= sizeof c->listen ? "too long" : why);
    return 1;
  }
  if (fmd_hostport_numeric(&hp, &ss) < 0) {
    snprintf(fix, cap, "listen on an IP address, e.g. " FMD_WEB_DEFAULT_LISTEN
             " (this machine only) or 0.0.0.0:7480 (the hall's network)");
    return 1;
  }
  c->off = 0;
  c->listen_hp = hp;
  c->loopback = is_loopback(&ss);
  snprintf(c->listen, sizeof c->listen, "%s", v);
  return 0;
}

void fmd_web_config_defaults(fmd_web_config *c) {
  char fix[192];
  memset(c, 0, sizeof *c);
  c->silent_days = FMD_WEB_DEFAULT_SILENT_DAYS;
  if (set_listen(c, FMD_WEB_DEFAULT_LISTEN, fix, sizeof fix) != 0) c->off = 1;
  c->listen_given = 0;
}

int fmd_web_config_set(fmd_web_config *c, const char *key, const char *value, char *fix,
                       size_t cap) {
  if (!strcmp(key, "listen")) return set_listen(c, value, fix, cap);
  if (!strcmp(key, "password_file")) {
    if (!*value || strlen(value) >= sizeof c->password_file) {
      snprintf(fix, cap, "give the path of the file `fieldmesh web-password FILE` wrote");
      return 1;
    }
    snprintf(c->password_file, sizeof c->password_file, "%s", value);
    return 0;
  }
  if (!strcmp(key, "silent_days"))
    return fmd_setting_uint_fix(value, 1, 365, "days", &c->silent_days, fix, cap);
  return -1;
}

int fmd_web_config_check(const fmd_web_config *c, char *fix, size_t cap) {
  if (c->off || c->loopback || c->password_file[0]) return 0;
  snprintf(fix, cap, "[web] listen = %s can be reached from other machines: set [web] "
           "password_file (make it with `fieldmesh web-password FILE`), or listen on "
           FMD_WEB_DEFAULT_LISTEN, c->listen);
  return 1;
}
