/* The closest known word.  See include/fieldmesh/closest.h. */
#include "fieldmesh/closest.h"

#include <string.h>

#define WORD_MAX 64
#define FAR 255u

static unsigned min3(unsigned a, unsigned b, unsigned c) {
  unsigned m = a < b ? a : b;
  return m < c ? m : c;
}

/* Optimal string alignment: Levenshtein plus the swap of two neighbours,
 * the commonest slip of a hand on a keyboard. */
unsigned fm_edit_distance(const char *a, const char *b) {
  size_t n = strlen(a), m = strlen(b);
  unsigned d[WORD_MAX + 1][WORD_MAX + 1];
  if (n > WORD_MAX || m > WORD_MAX) return FAR;
  for (size_t i = 0; i <= n; i++) d[i][0] = (unsigned)i;
  for (size_t j = 0; j <= m; j++) d[0][j] = (unsigned)j;
  for (size_t i = 1; i <= n; i++)
    for (size_t j = 1; j <= m; j++) {
      unsigned cost = a[i - 1] != b[j - 1];
      d[i][j] = min3(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
          d[i - 2][j - 2] + 1 < d[i][j])
        d[i][j] = d[i - 2][j - 2] + 1;
    }
  return d[n][m] < FAR ? d[n][m] : FAR;
}

const char *fm_closest(const char *word, const char *const *known, size_t n) {
  size_t len = strlen(word);
  unsigned limit = len <= 4 ? 1 : len <= 8 ? 2 : 3, best = FAR;
  const char *pick = NULL;
  for (size_t i = 0; i < n; i++) {
    unsigned dist = fm_edit_distance(word, known[i]);
    if (dist <= limit && dist < best) {
      best = dist;
      pick = known[i];
    }
  }
  return pick;
}
