/* HTML made in one place: a growing buffer where markup the dashboard
 * writes itself goes in raw, and every value from records, enrollments,
 * receipts or the request goes in escaped.
 *
 * Every value is hostile: <, >, &, both quotes, control characters and
 * invalid UTF-8 (a byte sequence that does not decode is replaced by
 * U+FFFD, so a browser never guesses an encoding).  Escaped text is safe
 * both between tags and inside a quoted attribute.  Running out of
 * memory marks the buffer (|oom|) and drops further writes: the page is
 * then answered 500 instead. */
#ifndef FMD_HTML_H
#define FMD_HTML_H

#include <stddef.h>

typedef struct fmd_html {
  char *p;       /* owned: fmd_html_free(); NUL-terminated when len > 0 */
  size_t len, cap;
  int oom;
} fmd_html;

/* Markup the caller wrote (never a value from outside). */
void fmd_html_raw(fmd_html *h, const char *markup);
/* printf into the page, unescaped: only for numbers and the caller's own
 * markup.  Values from outside go through fmd_html_text. */
void fmd_html_rawf(fmd_html *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* |n| bytes of |s| as text, escaped. */
void fmd_html_textn(fmd_html *h, const char *s, size_t n);
void fmd_html_text(fmd_html *h, const char *s);
/* |s| percent-encoded for a URL's path or query (every byte but
 * A-Z a-z 0-9 - . _ ~), which is also safe inside a quoted attribute. */
void fmd_html_url(fmd_html *h, const char *s);
void fmd_html_free(fmd_html *h);

/* The length of the valid UTF-8 sequence at |s| (|n| bytes left), or 0
 * when it is not one (overlong, a surrogate, past U+10FFFF, cut). */
size_t fmd_utf8_len(const unsigned char *s, size_t n);

#endif
