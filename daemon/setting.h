/* Values of fieldmeshd's settings, as the config file and flags give
 * them: the one reading of "yes" and of a number for every section. */
#ifndef FMD_SETTING_H
#define FMD_SETTING_H

#include <stddef.h>
#include <stdint.h>

/* yes, true, on, 1 or no, false, off, 0 into |*out| (1 or 0).  Returns 0,
 * or -1 for anything else (|*out| untouched). */
int fmd_setting_bool(const char *v, int *out);

/* A whole number from |lo| to |hi|: digits only, no sign, nothing after.
 * Returns 0, or -1 (|*out| untouched). */
int fmd_setting_uint(const char *v, uint32_t lo, uint32_t hi, uint32_t *out);

/* fmd_setting_uint, or 1 with "give a whole number of UNIT from LO to HI"
 * in |fix| (|cap| bytes). */
int fmd_setting_uint_fix(const char *v, uint32_t lo, uint32_t hi, const char *unit,
                         uint32_t *out, char *fix, size_t cap);

#endif
