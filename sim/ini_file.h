/* The scenario file reader: INI, read with inih.
 *
 *   # a comment (also ";"), on its own line or after a value
 *   [section]            or   [section name]
 *   key = value          repeated keys are kept, in order
 *     more of the value  an indented line continues the value (joined by a space)
 *
 * Lines are at most 198 bytes (inih's limit); a [section] with no keys is
 * an error.  Sections and keys keep their line numbers so that every error
 * can say where to look.  Values are trimmed; text is UTF-8 and kept as
 * written.
 */
#ifndef SIM_INI_FILE_H
#define SIM_INI_FILE_H

#include <stddef.h>

typedef struct sim_ini_item {
  int line;
  char *key, *value;
} sim_ini_item;

typedef struct sim_ini_section {
  int line;
  char *type;     /* "node" in [node gw] */
  char *name;     /* "gw", or "" */
  sim_ini_item *items;
  size_t n, cap;
} sim_ini_section;

typedef struct sim_ini {
  sim_ini_section *sec;
  size_t n, cap;
} sim_ini;

/* Reads |path|.  0, or -1 with a one-line message in |err|. */
int sim_ini_load(const char *path, sim_ini *out, char *err, size_t cap);
void sim_ini_free(sim_ini *ini);

/* The last value of |key| in |s|, or NULL; |line| (may be NULL) gets its line. */
const char *sim_ini_get(const sim_ini_section *s, const char *key, int *line);

#endif
