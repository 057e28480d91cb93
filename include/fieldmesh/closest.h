/* The closest of a few known words to a mistyped one, for "did you mean"
 * lines ([upsteam] → [upstream], listn → listen).
 *
 * Distances count single-byte edits (insert, delete, replace, or swap two
 * neighbours), so they suit the ASCII names of settings and commands. */
#ifndef FIELDMESH_CLOSEST_H
#define FIELDMESH_CLOSEST_H

#include <stddef.h>

/* The edit distance between |a| and |b|, capped at 255 (and at that for
 * words over 64 bytes, which are never close). */
unsigned fm_edit_distance(const char *a, const char *b);

/* Of the |n| words in |known|, the one closest to |word| that a typo can
 * explain (a distance of at most 1 for words up to 4 bytes, 2 up to 8, 3
 * beyond), or NULL.  The first wins a tie.  Returns a pointer into
 * |known|. */
const char *fm_closest(const char *word, const char *const *known, size_t n);

#endif
