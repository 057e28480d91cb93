/* A strict little JSON reader for an HTTP upstream's reply.  See
 * include/fieldmesh/http_reply.h. */
#include "fieldmesh/http_reply.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fieldmesh/error.h"

typedef struct jr {
  const char *p, *end;
} jr;

static void ws(jr *r) {
  while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
    r->p++;
}

static int eat(jr *r, char ch) {
  ws(r);
  if (r->p >= r->end || *r->p != ch) return 0;
  r->p++;
  return 1;
}

static int hex4(const char *p, unsigned *v) {
  *v = 0;
  for (int i = 0; i < 4; i++) {
    char c = p[i];
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
            : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (d < 0) return -1;
    *v = *v << 4 | (unsigned)d;
  }
  return 0;
}

/* Appends code point |cp| as UTF-8 to |out| (|*n| of |cap| used); past
 * |cap| the string is "too long" but still read to its end. */
static void put_cp(char *out, size_t cap, size_t *n, unsigned cp, int *too_long) {
  char b[4];
  size_t k;
  if (cp < 0x80) { b[0] = (char)cp; k = 1; }
  else if (cp < 0x800) { b[0] = (char)(0xc0 | cp >> 6); b[1] = (char)(0x80 | (cp & 63)); k = 2; }
  else if (cp < 0x10000) {
    b[0] = (char)(0xe0 | cp >> 12); b[1] = (char)(0x80 | (cp >> 6 & 63));
    b[2] = (char)(0x80 | (cp & 63)); k = 3;
  } else {
    b[0] = (char)(0xf0 | cp >> 18); b[1] = (char)(0x80 | (cp >> 12 & 63));
    b[2] = (char)(0x80 | (cp >> 6 & 63)); b[3] = (char)(0x80 | (cp & 63)); k = 4;
  }
  if (!out || *n + k > cap) {
    *too_long = 1;
    return;
  }
  memcpy(out + *n, b, k);
  *n += k;
}

/* One escape after the backslash; |*cp| the code point. */
static int escape(jr *r, unsigned *cp) {
  static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
  unsigned lo;
  if (r->p >= r->end) return FM_ERR_MALFORMED;
  const char *at = strchr(from, *r->p);
  if (at && *r->p) {
    *cp = (unsigned char)to[at - from];
    r->p++;
    return 0;
  }
  if (*r->p != 'u' || r->end - r->p < 5 || hex4(r->p + 1, cp) < 0) return FM_ERR_MALFORMED;
  r->p += 5;
  /* A NUL would cut a ref short; a lone low surrogate is no character. */
  if (*cp == 0 || (*cp >= 0xdc00 && *cp <= 0xdfff)) return FM_ERR_MALFORMED;
  if (*cp < 0xd800 || *cp > 0xdbff) return 0;
  /* A high surrogate must be followed by its low half. */
  if (r->end - r->p < 6 || r->p[0] != '\\' || r->p[1] != 'u' || hex4(r->p + 2, &lo) < 0 ||
      lo < 0xdc00 || lo > 0xdfff)
    return FM_ERR_MALFORMED;
  r->p += 6;
  *cp = 0x10000 + ((*cp - 0xd800) << 10) + (lo - 0xdc00);
  return 0;
}

/* A string into |out| (|cap| bytes plus a NUL; NULL to skip it). */
static int string(jr *r, char *out, size_t cap, size_t *len, int *too_long) {
  size_t n = 0;
  int rv;
  *too_long = 0;
  if (!eat(r, '"')) return FM_ERR_MALFORMED;
  while (r->p < r->end && *r->p != '"') {
    unsigned char ch = (unsigned char)*r->p;
    unsigned cp;
    if (ch < 0x20) return FM_ERR_MALFORMED;
    if (ch == '\\') {
      r->p++;
      if ((rv = escape(r, &cp)) < 0) return rv;
      put_cp(out, cap, &n, cp, too_long);
      continue;
    }
    /* Raw UTF-8 is copied through whole sequences at a time. */
    size_t k = ch < 0x80 ? 1 : ch >= 0xf0 ? 4 : ch >= 0xe0 ? 3 : 2;
    if ((size_t)(r->end - r->p) < k || !fm_utf8_valid(r->p, k)) return FM_ERR_MALFORMED;
    if (out && n + k <= cap) {
      memcpy(out + n, r->p, k);
      n += k;
    } else {
      *too_long = 1;
    }
    r->p += k;
  }
  if (r->p >= r->end) return FM_ERR_MALFORMED;
  r->p++;
  if (out) out[n < cap ? n : cap] = 0;
  if (len) *len = n;
  return 0;
}

static int skip_value(jr *r, int depth);

static int skip_container(jr *r, int depth, char close, int is_obj) {
  int too_long;
  if (depth >= FM_HTTP_REPLY_DEPTH) return FM_ERR_TOOBIG;
  if (eat(r, close)) return 0;
  do {
    int rv;
    if (is_obj && ((rv = string(r, NULL, 0, NULL, &too_long)) < 0 || !eat(r, ':')))
      return FM_ERR_MALFORMED;
    if ((rv = skip_value(r, depth + 1)) < 0) return rv;
  } while (eat(r, ','));
  return eat(r, close) ? 0 : FM_ERR_MALFORMED;
}

static int literal(jr *r, const char *word) {
  size_t n = strlen(word);
  if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n)) return FM_ERR_MALFORMED;
  r->p += n;
  return 0;
}

static int number(jr *r) {
  const char *start = r->p;
  if (r->p < r->end && *r->p == '-') r->p++;
  while (r->p < r->end && ((*r->p >= '0' && *r->p <= '9') || *r->p == '.' || *r->p == 'e' ||
                           *r->p == 'E' || *r->p == '+' || *r->p == '-'))
    r->p++;
  return r->p > start && (r->p[-1] >= '0' && r->p[-1] <= '9') ? 0 : FM_ERR_MALFORMED;
}

static int skip_value(jr *r, int depth) {
  int too_long;
  ws(r);
  if (r->p >= r->end) return FM_ERR_MALFORMED;
  switch (*r->p) {
  case '{': r->p++; return skip_container(r, depth, '}', 1);
  case '[': r->p++; return skip_container(r, depth, ']', 0);
  case '"': return string(r, NULL, 0, NULL, &too_long);
  case 't': return literal(r, "true");
  case 'f': return literal(r, "false");
  case 'n': return literal(r, "null");
  default: return number(r);
  }
}

/* A ref: a string of at most FM_RECEIPT_REF_MAX bytes. */
static int ref_string(jr *r, char out[FM_RECEIPT_REF_MAX + 1]) {
  int too_long, rv = string(r, out, FM_RECEIPT_REF_MAX, NULL, &too_long);
  if (rv < 0) return rv;
  return too_long ? FM_ERR_MALFORMED : 0;
}

static int id_string(jr *r, uint8_t id[FM_ID_LEN]) {
  char hex[2 * FM_ID_LEN + 1];
  size_t n;
  int too_long, rv = string(r, hex, sizeof hex - 1, &n, &too_long);
  if (rv < 0) return rv;
  if (too_long || n != 2 * FM_ID_LEN || fm_unhex(hex, id, FM_ID_LEN) < 0) return FM_ERR_MALFORMED;
  return 0;
}

/* One item of "accepted": an id, or {"id": ID, "ref": STR, ...}. */
static int accepted_item(jr *r, fm_http_accepted *a) {
  int have_id = 0, too_long, rv;
  char k[8];
  memset(a, 0, sizeof *a);
  ws(r);
  if (r->p < r->end && *r->p == '"') return id_string(r, a->id);
  if (!eat(r, '{')) return FM_ERR_MALFORMED;
  if (eat(r, '}')) return FM_ERR_MALFORMED;
  do {
    if ((rv = string(r, k, sizeof k - 1, NULL, &too_long)) < 0 || !eat(r, ':')) return FM_ERR_MALFORMED;
    if (!too_long && !strcmp(k, "id")) {
      if (have_id++ || (rv = id_string(r, a->id)) < 0) return FM_ERR_MALFORMED;
    } else if (!too_long && !strcmp(k, "ref")) {
      if ((rv = ref_string(r, a->ref)) < 0) return rv;
    } else if ((rv = skip_value(r, 2)) < 0) {
      return rv;
    }
  } while (eat(r, ','));
  return eat(r, '}') && have_id ? 0 : FM_ERR_MALFORMED;
}

static int accepted_list(jr *r, size_t max, fm_http_reply *out) {
  if (!eat(r, '[')) return FM_ERR_MALFORMED;
  if (eat(r, ']')) return 0;
  do {
    if (out->n == max) return FM_ERR_TOOBIG;
    if (!out->accepted && !(out->accepted = calloc(max, sizeof *out->accepted))) return -ENOMEM;
    int rv = accepted_item(r, &out->accepted[out->n]);
    if (rv < 0) return rv;
    out->n++;
  } while (eat(r, ','));
  return eat(r, ']') ? 0 : FM_ERR_MALFORMED;
}

static int top(jr *r, size_t max, fm_http_reply *out) {
  int have = 0, too_long, rv;
  char k[16];
  if (!eat(r, '{')) return FM_ERR_MALFORMED;
  if (eat(r, '}')) return FM_ERR_MALFORMED;
  do {
    if ((rv = string(r, k, sizeof k - 1, NULL, &too_long)) < 0 || !eat(r, ':')) return FM_ERR_MALFORMED;
    if (!too_long && !strcmp(k, "accepted")) {
      if (have++) return FM_ERR_MALFORMED;
      rv = accepted_list(r, max, out);
    } else if (!too_long && !strcmp(k, "ref")) {
      rv = ref_string(r, out->ref);
    } else {
      rv = skip_value(r, 1);
    }
    if (rv < 0) return rv;
  } while (eat(r, ','));
  if (!eat(r, '}') || !have) return FM_ERR_MALFORMED;
  ws(r);
  return r->p == r->end ? 0 : FM_ERR_MALFORMED;
}

int fm_http_reply_parse(const char *p, size_t len, size_t max, fm_http_reply *out) {
  fm_http_reply rep;
  jr r = {p, p + len};
  memset(&rep, 0, sizeof rep);
  int rv = top(&r, max, &rep);
  if (rv < 0) {
    fm_http_reply_free(&rep);
    return rv;
  }
  *out = rep;
  return 0;
}

void fm_http_reply_free(fm_http_reply *r) {
  free(r->accepted);
  r->accepted = NULL;
  r->n = 0;
}
