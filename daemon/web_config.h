/* The [web] section of fieldmeshd's settings (docs/config.md): where a
 * gateway serves its read-only dashboard (web.h), the password file that
 * guards it off loopback, and after how many silent days a device is
 * flagged.  Kept apart from config.c so that the dashboard's settings,
 * defaults and checks live in one place. */
#ifndef FMD_WEB_CONFIG_H
#define FMD_WEB_CONFIG_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "hostport.h"

#define FMD_WEB_DEFAULT_LISTEN "127.0.0.1:7480"
#define FMD_WEB_DEFAULT_SILENT_DAYS 3

typedef struct fmd_web_config {
  int off;                        /* listen = off: no dashboard */
  int listen_given;               /* listen set in the file: failing to bind is fatal */
  char listen[FM_CONTROL_ADDR_MAX];
  fmd_hostport listen_hp;
  int loopback;                   /* the listen address is 127.0.0.0/8 or ::1 */
  char password_file[PATH_MAX];   /* "" when none */
  uint32_t silent_days;           /* a device unheard of for longer is flagged */
} fmd_web_config;

void fmd_web_config_defaults(fmd_web_config *c);

/* Sets [web] |key| to |value|.  Returns 0; 1 when the value is bad, with
 * the fix for a person in |fix| (|cap| bytes); -1 for a key that [web]
 * does not have. */
int fmd_web_config_set(fmd_web_config *c, const char *key, const char *value, char *fix,
                       size_t cap);

/* The settings that only make sense together: a listen address other
 * machines can reach needs a password file.  0, or 1 with the fix. */
int fmd_web_config_check(const fmd_web_config *c, char *fix, size_t cap);

#endif
