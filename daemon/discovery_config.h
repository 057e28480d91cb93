/* The [discovery] section of fieldmeshd's settings (docs/config.md):
 * whether the daemon looks for laptops of its commune on the local
 * networks by UDP beacons, on which port, how often, and to which
 * multicast groups.  Kept apart from config.c so that discovery's
 * settings, defaults and checks live in one place. */
#ifndef FMD_DISCOVERY_CONFIG_H
#define FMD_DISCOVERY_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define FMD_DISC_DEFAULT_PORT 7412
#define FMD_DISC_DEFAULT_INTERVAL 5
#define FMD_DISC_DEFAULT_GROUP "239.255.74.12"  /* IPv4, organisation-local scope */
#define FMD_DISC_DEFAULT_GROUP6 "ff02::7412"    /* IPv6, link-local scope */
#define FMD_DISC_GROUP_MAX 48                   /* an address as text, with its NUL */

typedef struct fmd_disc_config {
  int enabled;                       /* 0: no beacons sent or heard */
  uint16_t port;                     /* UDP port of the beacons */
  uint32_t interval_seconds;         /* between beacons, before jitter */
  char group[FMD_DISC_GROUP_MAX];    /* IPv4 multicast group; "" for none */
  char group6[FMD_DISC_GROUP_MAX];   /* IPv6 multicast group; "" for none */
} fmd_disc_config;

void fmd_disc_config_defaults(fmd_disc_config *c);

/* Sets [discovery] |key| to |value|.  Returns 0; 1 when the value is bad,
 * with the fix for a person in |fix| (|cap| bytes); -1 for a key that
 * discovery does not have (the caller warns). */
int fmd_disc_config_set(fmd_disc_config *c, const char *key, const char *value, char *fix,
                        size_t cap);

#endif
