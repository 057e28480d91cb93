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

/* Whether |cp| has no place in a document: a control character (C0, DEL,
 * C1), or a noncharacter (U+FDD0..U+FDEF, and the last two of every
 * plane), which XML and spreadsheets refuse. */
static int unfit(utf8proc_int32_t cp) {
  return cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || (cp >= 0xfdd0 && cp <= 0xfdef) ||
         (cp & 0xfffe) == 0xfffe;
}

int fm_text_clean(fm_buf *out, const char *s, size_t n, size_t max_chars) {
  static const char bad[] = "\xef\xbf\xbd", cut[] = "\xe2\x80\xa6";
  fm_buf fit, nfc;
  size_t start = out->len, i = 0, chars = 0;
  int rv;
  /* Every unfit or undecodable piece one U+FFFD (three bytes at most per
   * byte of input). */
  fm_buf_init(&fit, n * 3 + 1);
  fm_buf_init(&nfc, n * 3 + 1);
  while (i < n) {
    utf8proc_int32_t cp;
    utf8proc_ssize_t k = utf8proc_iterate((const uint8_t *)s + i, (utf8proc_ssize_t)(n - i), &cp);
    if (k <= 0 || unfit(cp)) fm_buf_put(&fit, bad, 3);
    else fm_buf_put(&fit, s + i, (size_t)k);
    i += k > 0 ? (size_t)k : 1;
  }
  rv = fm_buf_error(&fit);
  if (rv == 0) rv = fm_text_norm(&nfc, fit.p ? (const char *)fit.p : "", fit.len);
  /* Character by character up to the last one that fits: an ellipsis
   * there when more than one is left. */
  for (i = 0; rv == 0 && i < nfc.len; chars++) {
    size_t k = 1;
    while (i + k < nfc.len && (nfc.p[i + k] & 0xc0) == 0x80) k++;
    if (max_chars >= 2 && chars == max_chars - 1 &&
        fm_text_chars((const char *)nfc.p + i, nfc.len - i) > 1) {
      fm_buf_put(out, cut, 3);
      break;
    }
    fm_buf_put(out, nfc.p + i, k);
    i += k;
  }
  if (rv == 0) rv = fm_buf_error(out);
  if (rv) out->len = start;
  fm_buf_free(&fit);
  fm_buf_free(&nfc);
  return rv;
}
