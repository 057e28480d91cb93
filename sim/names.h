/* Vietnamese names for generated members and for the citizens in records:
 * family, middle and given names combined by index, so a generated member
 * keeps her name whatever the seed. */
#ifndef SIM_NAMES_H
#define SIM_NAMES_H

#include <stddef.h>
#include <stdint.h>

/* Writes the |i|th name of the pool into |out| (|cap| bytes). */
void sim_name(uint64_t i, char *out, size_t cap);

#endif
