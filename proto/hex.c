#include "fieldmesh/types.h"
#include "fieldmesh/error.h"

void fm_hex(const uint8_t *p, size_t n, char *out) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = digits[p[i] >> 4];
    out[2 * i + 1] = digits[p[i] & 15];
  }
  out[2 * n] = 0;
}

static int nibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int fm_unhex(const char *s, uint8_t *out, size_t n) {
  for (size_t i = 0; i < 2 * n; i++)
    if (nibble(s[i]) < 0) return FM_ERR_INVAL;
  if (s[2 * n] != 0) return FM_ERR_INVAL;
  for (size_t i = 0; i < n; i++)
    out[i] = (uint8_t)(nibble(s[2 * i]) << 4 | nibble(s[2 * i + 1]));
  return 0;
}
