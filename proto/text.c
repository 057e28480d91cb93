#include "fieldmesh/text.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "fieldmesh/error.h"

/* Blank space: what trimming removes and folding squeezes. */
static int blank(utf8proc_int32_t cp) {
  return cp == '\t' || cp == '\n' || cp == '\r' || cp == '\v' || cp == '\f' ||
         utf8proc_category(cp) == UTF8PROC_CATEGORY_ZS;
}

/* |s| mapped by utf8proc with |opts| into a malloc'd string (caller
 * frees) of |*len| bytes; NULL when |s| is not UTF-8 or memory ran out
 * (|*err| says which). */
static uint8_t *map(const char *s, size_t n, utf8proc_option_t opts, size_t *len, int *err) {
  uint8_t *dst = NULL;
  utf8proc_ssize_t r = utf8proc_map((const uint8_t *)s, (utf8proc_ssize_t)n, &dst, opts);
  if (r < 0) {
    *err = r == UTF8PROC_ERROR_NOMEM ? -ENOMEM : FM_ERR_MALFORMED;
    return NULL;
  }
  *len = (size_t)r;
  return dst;
}

/* The bytes of |p| (|n|) without blank space at either end. */
static void trim(const uint8_t *p, size_t n, size_t *from, size_t *to) {
  utf8proc_int32_t cp;
  size_t a = 0, b = n;
  while (a < n) {
    utf8proc_ssize_t k = utf8proc_iterate(p + a, (utf8proc_ssize_t)(n - a), &cp);
    if (k <= 0 || !blank(cp)) break;
    a += (size_t)k;
  }
  while (b > a) {
    size_t start = b - 1;
    while (start > a && (p[start] & 0xc0) == 0x80) start--;
    if (utf8proc_iterate(p + start, (utf8proc_ssize_t)(b - start), &cp) <= 0 || !blank(cp))
      break;
    b = start;
  }
  *from = a;
  *to = b;
}

int fm_text_norm(fm_buf *out, const char *s, size_t n) {
  size_t len, a, b;
  int err = 0;
  uint8_t *nfc = map(s, n, UTF8PROC_STABLE | UTF8PROC_COMPOSE, &len, &err);
  if (!nfc) return err;
  trim(nfc, len, &a, &b);
  int rv = fm_buf_put(out, nfc + a, b - a);
  free(nfc);
  return rv;
}

int fm_text_fold(fm_buf *out, const char *s, size_t n) {
  size_t len, a, b;
  int err = 0, space = 0;
  uint8_t *f = map(s, n, UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_STRIPMARK |
                             UTF8PROC_CASEFOLD, &len, &err);
  if (!f) return err;
  trim(f, len, &a, &b);
  size_t start = out->len;
  for (size_t i = a; i < b;) {
    utf8proc_int32_t cp;
    utf8proc_ssize_t k = utf8proc_iterate(f + i, (utf8proc_ssize_t)(b - i), &cp);
    if (k <= 0) break; /* cannot happen: utf8proc wrote it */
    if (blank(cp)) {
      space = 1;
    } else {
      if (space) fm_buf_put(out, " ", 1);
      space = 0;
      /* đ has no mark to strip (it is a letter of its own): read it as d. */
      if (cp == 0x0111) fm_buf_put(out, "d", 1);
      else fm_buf_put(out, f + i, (size_t)k);
    }
    i += (size_t)k;
  }
  free(f);
  if (fm_buf_error(out)) {
    out->len = start;
    return fm_buf_error(out);
  }
  return 0;
}

int fm_text_same(const char *a, size_t an, const char *b, size_t bn, int fold) {
  fm_buf x, y;
  if (!fold && an == bn && (!an || !memcmp(a, b, an))) return 1;
  fm_buf_init(&x, (size_t)1 << 20);
  fm_buf_init(&y, (size_t)1 << 20);
  int ok = fold ? fm_text_fold(&x, a, an) == 0 && fm_text_fold(&y, b, bn) == 0
                : fm_text_norm(&x, a, an) == 0 && fm_text_norm(&y, b, bn) == 0;
  ok = ok && x.len == y.len && (!x.len || !memcmp(x.p, y.p, x.len));
  fm_buf_free(&x);
  fm_buf_free(&y);
  return ok;
}

int fm_text_is_norm(const char *s, size_t n) {
  size_t len, a, b;
  int err = 0;
  uint8_t *nfc = map(s, n, UTF8PROC_STABLE | UTF8PROC_COMPOSE, &len, &err);
  if (!nfc) return 0;
  trim(nfc, len, &a, &b);
  int same = b - a == n && !memcmp(nfc + a, s, n);
  free(nfc);
  return same;
}

size_t fm_text_chars(const char *s, size_t n) {
  size_t c = 0;
  for (size_t i = 0; i < n; i++)
    if (((uint8_t)s[i] & 0xc0) != 0x80) c++;
  return c;
}
