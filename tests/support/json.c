/* A recursive-descent JSON reader: a cursor moves over (p, end) and every
 * read checks what is left. */
#include "json.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct json {
  json_type type;
  int b;        /* JSON_BOOL */
  double num;   /* JSON_NUMBER */
  char *str;    /* JSON_STRING: decoded bytes; JSON_NUMBER: the literal */
  size_t len;   /* JSON_STRING: bytes in str; ARRAY, OBJECT: count */
  size_t cap;   /* ARRAY, OBJECT: slots in items (and keys) */
  json **items; /* ARRAY, OBJECT */
  char **keys;  /* OBJECT: parallel to items */
};

typedef struct jp {
  const char *start, *p, *end;
  const char *err; /* the first error wins: it is nearest the cause */
  int depth;
} jp;

static json *value(jp *j);

static void *fail(jp *j, const char *msg) {
  if (!j->err) j->err = msg;
  return NULL;
}

static json *new_value(jp *j, json_type t) {
  json *v = calloc(1, sizeof *v);
  if (!v) return fail(j, "out of memory");
  v->type = t;
  return v;
}

static void skip_ws(jp *j) {
  while (j->p < j->end &&
         (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
    j->p++;
}

/* Consumes |word| if the input continues with it. */
static int eat(jp *j, const char *word) {
  size_t n = strlen(word);
  if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n) != 0) return 0;
  j->p += n;
  return 1;
}

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Reads the 4 hex digits of a \u escape (the cursor is after the 'u'). */
static long hex4(jp *j) {
  long cp = 0;
  if (j->end - j->p < 4) return -1;
  for (int i = 0; i < 4; i++) {
    int d = hexval((unsigned char)j->p[i]);
    if (d < 0) return -1;
    cp = cp * 16 + d;
  }
  j->p += 4;
  return cp;
}

static size_t put_utf8(char *o, unsigned long cp) {
  if (cp < 0x80) {
    o[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    o[0] = (char)(0xc0 | (cp >> 6));
    o[1] = (char)(0x80 | (cp & 0x3f));
    return 2;
  }
  if (cp < 0x10000) {
    o[0] = (char)(0xe0 | (cp >> 12));
    o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[2] = (char)(0x80 | (cp & 0x3f));
    return 3;
  }
  o[0] = (char)(0xf0 | (cp >> 18));
  o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
  o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
  o[3] = (char)(0x80 | (cp & 0x3f));
  return 4;
}

/* Decodes a \u escape, joining a surrogate pair (the cursor is after the
 * 'u').  Returns the code point or -1. */
static long unicode_escape(jp *j) {
  long hi = hex4(j), lo;
  if (hi < 0) return -1;
  if (hi >= 0xdc00 && hi <= 0xdfff) return -1; /* a lone low surrogate */
  if (hi < 0xd800 || hi > 0xdbff) return hi;
  if (!eat(j, "\\u") || (lo = hex4(j)) < 0 || lo < 0xdc00 || lo > 0xdfff)
    return -1;
  return 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
}

/* Decodes the string whose opening quote is at the cursor.  Escapes only
 * shrink, so the raw length bounds the decoded one. */
static char *string(jp *j, size_t *len) {
  const char *q = ++j->p;
  while (q < j->end && *q != '"') q += (*q == '\\' && j->end - q > 1) ? 2 : 1;
  if (q >= j->end) return fail(j, "unterminated string");
  char *s = malloc((size_t)(q - j->p) + 1), *o = s;
  if (!s) return fail(j, "out of memory");
  while (j->p < q) {
    unsigned char c = (unsigned char)*j->p++;
    long cp;
    if (c < 0x20) goto bad;
    if (c != '\\') {
      *o++ = (char)c;
      continue;
    }
    c = (unsigned char)*j->p++;
    switch (c) {
    case '"': case '\\': case '/': *o++ = (char)c; break;
    case 'b': *o++ = '\b'; break;
    case 'f': *o++ = '\f'; break;
    case 'n': *o++ = '\n'; break;
    case 'r': *o++ = '\r'; break;
    case 't': *o++ = '\t'; break;
    case 'u':
      if ((cp = unicode_escape(j)) < 0 || j->p > q) goto bad;
      o += put_utf8(o, (unsigned long)cp);
      break;
    default: goto bad;
    }
  }
  j->p = q + 1;
  *o = 0;
  *len = (size_t)(o - s);
  return s;
bad:
  free(s);
  return fail(j, "bad character or escape in string");
}

static size_t digits(jp *j) {
  const char *s = j->p;
  while (j->p < j->end && *j->p >= '0' && *j->p <= '9') j->p++;
  return (size_t)(j->p - s);
}

/* -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static json *number(jp *j) {
  const char *s = j->p;
  eat(j, "-");
  if (eat(j, "0")) {
    if (j->p < j->end && *j->p >= '0' && *j->p <= '9')
      return fail(j, "leading zero in number");
  } else if (digits(j) == 0) {
    return fail(j, "bad number");
  }
  if (eat(j, ".") && digits(j) == 0) return fail(j, "bad fraction");
  if (eat(j, "e") || eat(j, "E")) {
    if (!eat(j, "+")) eat(j, "-");
    if (digits(j) == 0) return fail(j, "bad exponent");
  }
  json *v = new_value(j, JSON_NUMBER);
  if (!v) return NULL;
  size_t n = (size_t)(j->p - s);
  if (!(v->str = malloc(n + 1))) {
    free(v);
    return fail(j, "out of memory");
  }
  memcpy(v->str, s, n);
  v->str[n] = 0;
  v->num = strtod(v->str, NULL);
  return v;
}

/* Appends |item| (and |key| for an object); takes both on success. */
static int push(jp *j, json *v, json *item, char *key) {
  if (v->len == v->cap) {
    size_t cap = v->cap ? 2 * v->cap : 8;
    json **items = realloc(v->items, cap * sizeof *items);
    if (!items) goto oom;
    v->items = items;
    if (v->type == JSON_OBJECT) {
      char **keys = realloc(v->keys, cap * sizeof *keys);
      if (!keys) goto oom;
      v->keys = keys;
    }
    v->cap = cap;
  }
  v->items[v->len] = item;
  if (key) v->keys[v->len] = key;
  v->len++;
  return 0;
oom:
  fail(j, "out of memory");
  return -1;
}

/* An array or object; the cursor is on its opening bracket. */
static json *container(jp *j, json_type t) {
  const char *close = t == JSON_ARRAY ? "]" : "}";
  json *v = new_value(j, t);
  if (!v) return NULL;
  j->p++;
  skip_ws(j);
  if (eat(j, close)) return v;
  for (;;) {
    char *key = NULL;
    size_t klen;
    json *item;
    skip_ws(j);
    if (t == JSON_OBJECT) {
      if (j->p >= j->end || *j->p != '"') goto bad_key;
      if (!(key = string(j, &klen))) goto err;
      skip_ws(j);
      if (!eat(j, ":")) {
        free(key);
        fail(j, "expected ':'");
        goto err;
      }
    }
    if (!(item = value(j)) || push(j, v, item, key) != 0) {
      free(key);
      json_free(item);
      goto err;
    }
    skip_ws(j);
    if (eat(j, close)) return v;
    if (!eat(j, ",")) {
      fail(j, t == JSON_ARRAY ? "expected ',' or ']'" : "expected ',' or '}'");
      goto err;
    }
  }
bad_key:
  fail(j, "expected a string key");
err:
  json_free(v);
  return NULL;
}

static json *value(jp *j) {
  json *v = NULL;
  skip_ws(j);
  if (j->p >= j->end) return fail(j, "unexpected end of input");
  if (++j->depth > JSON_MAX_DEPTH) return fail(j, "nested too deeply");
  char c = *j->p;
  if (c == '{') {
    v = container(j, JSON_OBJECT);
  } else if (c == '[') {
    v = container(j, JSON_ARRAY);
  } else if (c == '"') {
    size_t len;
    char *s = string(j, &len);
    if (s && !(v = new_value(j, JSON_STRING))) free(s);
    if (v) v->str = s, v->len = len;
  } else if (c == '-' || (c >= '0' && c <= '9')) {
    v = number(j);
  } else if (eat(j, "true")) {
    if ((v = new_value(j, JSON_BOOL))) v->b = 1;
  } else if (eat(j, "false")) {
    v = new_value(j, JSON_BOOL);
  } else if (eat(j, "null")) {
    v = new_value(j, JSON_NULL);
  } else {
    fail(j, "unexpected character");
  }
  j->depth--;
  return v;
}

json *json_parse(const char *text, size_t len, char *err, size_t errcap) {
  jp j = {text, text, text + len, NULL, 0};
  json *v = value(&j);
  skip_ws(&j);
  if (v && j.p != j.end) {
    json_free(v);
    v = fail(&j, "trailing characters after the value");
  }
  if (!v && errcap) {
    int line = 1, col = 1;
    for (const char *p = text; p < j.p && p < j.end; p++, col++)
      if (*p == '\n') line++, col = 0;
    snprintf(err, errcap, "line %d, column %d: %s", line, col, j.err);
  }
  return v;
}

json *json_load_file(const char *path) {
  FILE *f = fopen(path, "rb");
  char *buf = NULL, err[128];
  size_t len = 0, cap = 0, n;
  json *v = NULL;
  if (!f) {
    fprintf(stderr, "%s: %s\n", path, strerror(errno));
    return NULL;
  }
  do {
    if (cap - len < 65536) {
      char *b = realloc(buf, cap = 2 * cap + 65536);
      if (!b) {
        fprintf(stderr, "%s: out of memory\n", path);
        goto out;
      }
      buf = b;
    }
    len += (n = fread(buf + len, 1, cap - len, f));
  } while (n > 0);
  if (ferror(f)) {
    fprintf(stderr, "%s: read error\n", path);
    goto out;
  }
  if (!(v = json_parse(buf, len, err, sizeof err)))
    fprintf(stderr, "%s: %s\n", path, err);
out:
  free(buf);
  fclose(f);
  return v;
}

void json_free(json *v) {
  if (!v) return;
  for (size_t i = 0; v->items && i < v->len; i++) {
    json_free(v->items[i]);
    if (v->keys) free(v->keys[i]);
  }
  free(v->items);
  free(v->keys);
  free(v->str);
  free(v);
}

json_type json_type_of(const json *v) { return v ? v->type : JSON_NONE; }

const json *json_get(const json *obj, const char *key) {
  if (json_type_of(obj) != JSON_OBJECT) return NULL;
  for (size_t i = 0; i < obj->len; i++)
    if (strcmp(obj->keys[i], key) == 0) return obj->items[i];
  return NULL;
}

const json *json_at(const json *v, size_t i) {
  json_type t = json_type_of(v);
  if ((t != JSON_ARRAY && t != JSON_OBJECT) || i >= v->len) return NULL;
  return v->items[i];
}

const char *json_key(const json *obj, size_t i) {
  if (json_type_of(obj) != JSON_OBJECT || i >= obj->len) return NULL;
  return obj->keys[i];
}

size_t json_len(const json *v) {
  json_type t = json_type_of(v);
  return (t == JSON_ARRAY || t == JSON_OBJECT || t == JSON_STRING) ? v->len : 0;
}

const char *json_str(const json *v) {
  return json_type_of(v) == JSON_STRING ? v->str : NULL;
}

double json_num(const json *v) {
  return json_type_of(v) == JSON_NUMBER ? v->num : NAN;
}

int json_int(const json *v, int64_t *out) {
  if (json_type_of(v) != JSON_NUMBER || strpbrk(v->str, ".eE")) return -1;
  char *end;
  errno = 0;
  long long x = strtoll(v->str, &end, 10);
  if (errno != 0 || *end != 0) return -1;
  *out = (int64_t)x;
  return 0;
}

int json_bool(const json *v) {
  return json_type_of(v) == JSON_BOOL ? v->b : -1;
}

int json_hex_sep(const json *v, char sep, uint8_t *out, size_t cap,
                 size_t *len) {
  const char *s = json_str(v);
  size_t n = 0;
  if (!s) return -1;
  for (size_t i = 0; i < v->len; n++) {
    if (n > 0 && sep) {
      if (s[i] != sep) return -1;
      i++;
    }
    if (v->len - i < 2 || n == cap) return -1;
    int hi = hexval((unsigned char)s[i]), lo = hexval((unsigned char)s[i + 1]);
    if (hi < 0 || lo < 0) return -1;
    out[n] = (uint8_t)(hi << 4 | lo);
    i += 2;
  }
  *len = n;
  return 0;
}

int json_hex(const json *v, uint8_t *out, size_t cap, size_t *len) {
  return json_hex_sep(v, 0, out, cap, len);
}
