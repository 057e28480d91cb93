#include "html.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int grow(fmd_html *h, size_t more) {
  if (h->oom) return -1;
  if (h->len + more + 1 <= h->cap) return 0;
  size_t cap = h->cap ? h->cap : 4096;
  while (cap < h->len + more + 1) cap *= 2;
  char *p = realloc(h->p, cap);
  if (!p) {
    h->oom = 1;
    return -1;
  }
  h->p = p;
  h->cap = cap;
  return 0;
}

static void put(fmd_html *h, const char *s, size_t n) {
  if (grow(h, n) < 0) return;
  memcpy(h->p + h->len, s, n);
  h->len += n;
  h->p[h->len] = 0;
}

void fmd_html_raw(fmd_html *h, const char *markup) { put(h, markup, strlen(markup)); }

void fmd_html_rawf(fmd_html *h, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0 || grow(h, (size_t)n) < 0) return;
  va_start(ap, fmt);
  vsnprintf(h->p + h->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  h->len += (size_t)n;
}

size_t fmd_utf8_len(const unsigned char *s, size_t n) {
  unsigned c = s[0];
  size_t len;
  unsigned cp;
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) len = 2, cp = c & 0x1f;
  else if (c >= 0xe0 && c <= 0xef) len = 3, cp = c & 0x0f;
  else if (c >= 0xf0 && c <= 0xf4) len = 4, cp = c & 0x07;
  else return 0;
  if (n < len) return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (s[i] & 0x3f);
  }
  if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
      (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return len;
}

/* The entity for |c|, or NULL when it goes in as it is. */
static const char *entity(unsigned char c) {
  switch (c) {
  case '&': return "&amp;";
  case '<': return "&lt;";
  case '>': return "&gt;";
  case '"': return "&quot;";
  case '\'': return "&#39;";
  default: return NULL;
  }
}

void fmd_html_textn(fmd_html *h, const char *s, size_t n) {
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0, run = 0;
  while (i < n) {
    size_t len = fmd_utf8_len(u + i, n - i);
    const char *ent = len == 1 ? entity(u[i]) : NULL;
    int control = len == 1 && ((u[i] < 0x20 && u[i] != '\t' && u[i] != '\n') || u[i] == 0x7f);
    if (len && !ent && !control) {
      i += len;
      run += len;
      continue;
    }
    put(h, s + i - run, run);
    run = 0;
    /* A control character or a byte that does not decode: U+FFFD. */
    put(h, ent ? ent : "\xef\xbf\xbd", ent ? strlen(ent) : 3);
    i += len ? len : 1;
  }
  put(h, s + n - run, run);
}

void fmd_html_text(fmd_html *h, const char *s) { fmd_html_textn(h, s, strlen(s)); }

void fmd_html_url(fmd_html *h, const char *s) {
  static const char hex[] = "0123456789ABCDEF";
  for (const unsigned char *u = (const unsigned char *)s; *u; u++) {
    char esc[3] = {'%', hex[*u >> 4], hex[*u & 15]};
    if ((*u >= 'A' && *u <= 'Z') || (*u >= 'a' && *u <= 'z') || (*u >= '0' && *u <= '9') ||
        *u == '-' || *u == '.' || *u == '_' || *u == '~')
      put(h, (const char *)u, 1);
    else
      put(h, esc, 3);
  }
}

void fmd_html_free(fmd_html *h) {
  free(h->p);
  memset(h, 0, sizeof *h);
}
