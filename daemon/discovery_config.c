#include "discovery_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "setting.h"

void fmd_disc_config_defaults(fmd_disc_config *c) {
  memset(c, 0, sizeof *c);
  c->enabled = 1;
  c->port = FMD_DISC_DEFAULT_PORT;
  c->interval_seconds = FMD_DISC_DEFAULT_INTERVAL;
  snprintf(c->group, sizeof c->group, "%s", FMD_DISC_DEFAULT_GROUP);
  snprintf(c->group6, sizeof c->group6, "%s", FMD_DISC_DEFAULT_GROUP6);
}

/* A multicast group of |family|, or "off".  IPv4 groups are 224.0.0.0/4,
 * IPv6 ones ff00::/8. */
static int group(const char *v, int family, char *out, size_t cap) {
  unsigned char a[16];
  if (!strcmp(v, "off")) {
    out[0] = 0;
    return 0;
  }
  if (strlen(v) >= cap || uv_inet_pton(family, v, a) != 0) return -1;
  if (family == AF_INET ? (a[0] & 0xf0) != 0xe0 : a[0] != 0xff) return -1;
  snprintf(out, cap, "%s", v);
  return 0;
}

int fmd_disc_config_set(fmd_disc_config *c, const char *key, const char *value, char *fix,
                        size_t cap) {
  uint32_t n;
  if (!strcmp(key, "enabled")) {
    if (fmd_setting_bool(value, &c->enabled) == 0) return 0;
    snprintf(fix, cap, "yes or no");
    return 1;
  }
  if (!strcmp(key, "port")) {
    if (fmd_setting_uint(value, 1, 65535, &n) == 0) {
      c->port = (uint16_t)n;
      return 0;
    }
    snprintf(fix, cap, "give a UDP port from 1 to 65535 (default %d), the same on every "
             "laptop of the commune", FMD_DISC_DEFAULT_PORT);
    return 1;
  }
  if (!strcmp(key, "interval_seconds")) {
    if (fmd_setting_uint(value, 1, 3600, &n) == 0) {
      c->interval_seconds = n;
      return 0;
    }
    snprintf(fix, cap, "give a whole number of seconds from 1 to 3600 (default %d)",
             FMD_DISC_DEFAULT_INTERVAL);
    return 1;
  }
  if (!strcmp(key, "group")) {
    if (group(value, AF_INET, c->group, sizeof c->group) == 0) return 0;
    snprintf(fix, cap, "give an IPv4 multicast address (224.0.0.0 to 239.255.255.255, "
             "default " FMD_DISC_DEFAULT_GROUP ") or off");
    return 1;
  }
  if (!strcmp(key, "group6")) {
    if (group(value, AF_INET6, c->group6, sizeof c->group6) == 0) return 0;
    snprintf(fix, cap, "give an IPv6 multicast address (ff02::... for the local network, "
             "default " FMD_DISC_DEFAULT_GROUP6 ") or off");
    return 1;
  }
  return -1;
}
