/* Clock offset from direct peers.  See include/fieldmesh/skew.h. */
#include "fieldmesh/skew.h"

#include <stdio.h>
#include <string.h>

void fm_skew_add(fm_skew *k, const uint8_t peer[static FM_KEY_LEN], int64_t ahead, fm_time when) {
  size_t at = k->n;
  for (size_t i = 0; i < k->n; i++)
    if (!memcmp(k->p[i].peer, peer, FM_KEY_LEN)) at = i;
  if (at == FM_SKEW_PEERS) {
    at = 0;
    for (size_t i = 1; i < k->n; i++)
      if (k->p[i].when < k->p[at].when) at = i;
  }
  if (at == k->n) k->n++;
  memcpy(k->p[at].peer, peer, FM_KEY_LEN);
  k->p[at].ahead = ahead;
  k->p[at].when = when;
}

int64_t fm_skew_median(const fm_skew *k) {
  int64_t v[FM_SKEW_PEERS];
  size_t n = k->n;
  if (n == 0) return 0;
  for (size_t i = 0; i < n; i++) {  /* insertion sort: at most 8 */
    int64_t x = k->p[i].ahead;
    size_t j = i;
    for (; j > 0 && v[j - 1] > x; j--) v[j] = v[j - 1];
    v[j] = x;
  }
  if (n % 2) return v[n / 2];
  return v[n / 2 - 1] / 2 + v[n / 2] / 2 + (v[n / 2 - 1] % 2 + v[n / 2] % 2) / 2;
}

void fm_skew_text(int64_t ms, char out[static FM_SKEW_TEXT]) {
  char sign = ms < 0 ? '-' : '+';
  uint64_t s = (ms < 0 ? 0 - (uint64_t)ms : (uint64_t)ms) / 1000;
  if (s == 0) snprintf(out, FM_SKEW_TEXT, "0s");
  else if (s < 60) snprintf(out, FM_SKEW_TEXT, "%c%llus", sign, (unsigned long long)s);
  else if (s < 3600)
    snprintf(out, FM_SKEW_TEXT, "%c%llum%02llus", sign, (unsigned long long)(s / 60),
             (unsigned long long)(s % 60));
  else if (s < 86400)
    snprintf(out, FM_SKEW_TEXT, "%c%lluh%02llum", sign, (unsigned long long)(s / 3600),
             (unsigned long long)(s / 60 % 60));
  else
    snprintf(out, FM_SKEW_TEXT, "%c%llud%02lluh", sign, (unsigned long long)(s / 86400),
             (unsigned long long)(s / 3600 % 24));
}
