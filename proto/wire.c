#include "fieldmesh/wire.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fieldmesh/error.h"

/* ---- fm_buf ------------------------------------------------------------- */

void fm_buf_init(fm_buf *b, size_t max) {
  memset(b, 0, sizeof *b);
  b->max = max;
}

void fm_buf_free(fm_buf *b) {
  free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
}

void fm_buf_reset(fm_buf *b) {
  b->len = 0;
  b->err = 0;
}

int fm_buf_put(fm_buf *b, const void *src, size_t n) {
  if (b->err) return b->err;
  if (n > b->max - b->len) return b->err = FM_ERR_TOOBIG;
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n) cap *= 2;
    if (cap > b->max) cap = b->max;
    uint8_t *p = realloc(b->p, cap);
    if (!p) return b->err = -ENOMEM;
    b->p = p;
    b->cap = cap;
  }
  if (n) memcpy(b->p + b->len, src, n);
  b->len += n;
  return 0;
}

uint8_t *fm_buf_take(fm_buf *b, size_t *len) {
  uint8_t *p = b->p;
  *len = b->len;
  b->p = NULL;
  b->len = b->cap = 0;
  return p;
}

/* ---- writer ------------------------------------------------------------- */

static int wr_sink(void *data, const char *buf, size_t len) {
  /* Errors stay sticky in the buffer; msgpack-c's return value is ignored
   * by its callers anyway. */
  fm_buf_put((fm_buf *)data, buf, len);
  return 0;
}

void fm_wr_init(fm_wr *w, fm_buf *buf) {
  w->buf = buf;
  msgpack_packer_init(&w->pk, buf, wr_sink);
}

void fm_wr_array(fm_wr *w, uint32_t n) { msgpack_pack_array(&w->pk, n); }
void fm_wr_map(fm_wr *w, uint32_t n) { msgpack_pack_map(&w->pk, n); }
void fm_wr_uint(fm_wr *w, uint64_t v) { msgpack_pack_uint64(&w->pk, v); }
void fm_wr_int(fm_wr *w, int64_t v) { msgpack_pack_int64(&w->pk, v); }
void fm_wr_nil(fm_wr *w) { msgpack_pack_nil(&w->pk); }
void fm_wr_raw(fm_wr *w, const void *p, size_t n) { fm_buf_put(w->buf, p, n); }

void fm_wr_bool(fm_wr *w, int v) {
  if (v) msgpack_pack_true(&w->pk);
  else msgpack_pack_false(&w->pk);
}

void fm_wr_str(fm_wr *w, const char *s, size_t n) {
  if (n > UINT32_MAX) { w->buf->err = FM_ERR_TOOBIG; return; }
  msgpack_pack_str(&w->pk, n);
  msgpack_pack_str_body(&w->pk, s, n);
}

void fm_wr_cstr(fm_wr *w, const char *s) { fm_wr_str(w, s, strlen(s)); }

void fm_wr_bin(fm_wr *w, const void *p, size_t n) {
  if (n > UINT32_MAX) { w->buf->err = FM_ERR_TOOBIG; return; }
  msgpack_pack_bin(&w->pk, n);
  msgpack_pack_bin_body(&w->pk, p, n);
}

/* ---- reader ------------------------------------------------------------- */

void fm_rd_init(fm_rd *c, const uint8_t *buf, size_t len, int strict) {
  c->p = buf;
  c->end = buf + len;
  c->strict = strict;
}

static uint64_t be(const uint8_t *p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; i++) v = (v << 8) | p[i];
  return v;
}

fm_mtype fm_rd_peek(const fm_rd *c) {
  if (c->p >= c->end) return FM_MT_INVALID;
  uint8_t b = *c->p;
  if (b <= 0x7f) return FM_MT_UINT;
  if (b <= 0x8f) return FM_MT_MAP;
  if (b <= 0x9f) return FM_MT_ARRAY;
  if (b <= 0xbf) return FM_MT_STR;
  if (b >= 0xe0) return FM_MT_INT;
  switch (b) {
  case 0xc0: return FM_MT_NIL;
  case 0xc2: case 0xc3: return FM_MT_BOOL;
  case 0xc4: case 0xc5: case 0xc6: return FM_MT_BIN;
  case 0xc7: case 0xc8: case 0xc9: return FM_MT_EXT;
  case 0xca: case 0xcb: return FM_MT_FLOAT;
  case 0xcc: case 0xcd: case 0xce: case 0xcf: return FM_MT_UINT;
  case 0xd0: case 0xd1: case 0xd2: case 0xd3: return FM_MT_INT;
  case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8: return FM_MT_EXT;
  case 0xd9: case 0xda: case 0xdb: return FM_MT_STR;
  case 0xdc: case 0xdd: return FM_MT_ARRAY;
  case 0xde: case 0xdf: return FM_MT_MAP;
  default: return FM_MT_INVALID; /* 0xc1 is reserved */
  }
}

/* Reads a length-prefixed header whose fix form is |fixbase| (mask |fixmask|)
 * and whose 8/16/32-bit forms start at |b8| (b8 == 0: no 8-bit form).
 * In strict mode the length must use the shortest form available. */
static int rd_len(fm_rd *c, uint8_t fixbase, uint8_t fixmask, uint8_t b8,
                  uint8_t b16, uint8_t b32, uint32_t *n) {
  if (c->p >= c->end) return FM_ERR_MALFORMED;
  uint8_t b = *c->p;
  size_t hdr;
  uint64_t v;
  uint64_t fixmax = (uint64_t)fixmask;
  if (fixmask && (b & (uint8_t)~fixmask) == fixbase) {
    hdr = 1;
    v = b & fixmask;
  } else if (b8 && b == b8) {
    hdr = 2;
  } else if (b == b16) {
    hdr = 3;
  } else if (b == b32) {
    hdr = 5;
  } else {
    return FM_ERR_MALFORMED;
  }
  if ((size_t)(c->end - c->p) < hdr) return FM_ERR_MALFORMED;
  if (hdr > 1) {
    v = be(c->p + 1, (int)hdr - 1);
    if (c->strict) {
      uint64_t lo = hdr == 2 ? (fixmask ? fixmax + 1 : 0)
                  : hdr == 3 ? (b8 ? 256 : (fixmask ? fixmax + 1 : 0))
                             : 65536;
      if (v < lo) return FM_ERR_MALFORMED;
    }
  }
  *n = (uint32_t)v;
  c->p += hdr;
  return 0;
}

int fm_rd_array(fm_rd *c, uint32_t *n) {
  return rd_len(c, 0x90, 0x0f, 0, 0xdc, 0xdd, n);
}

int fm_rd_map(fm_rd *c, uint32_t *n) {
  return rd_len(c, 0x80, 0x0f, 0, 0xde, 0xdf, n);
}

/* Reads a string or bin body of |n| bytes after its header was consumed at
 * |start|; rewinds on failure. */
static int rd_body(fm_rd *c, const uint8_t *start, uint32_t n,
                   const uint8_t **p) {
  if ((size_t)(c->end - c->p) < n) {
    c->p = start;
    return FM_ERR_MALFORMED;
  }
  *p = c->p;
  c->p += n;
  return 0;
}

int fm_rd_str(fm_rd *c, const char **s, size_t *n) {
  const uint8_t *start = c->p, *p;
  uint32_t len;
  int rv;
  if ((rv = rd_len(c, 0xa0, 0x1f, 0xd9, 0xda, 0xdb, &len)) < 0) return rv;
  if ((rv = rd_body(c, start, len, &p)) < 0) return rv;
  if (c->strict && !fm_utf8_valid((const char *)p, len)) {
    c->p = start;
    return FM_ERR_MALFORMED;
  }
  *s = (const char *)p;
  *n = len;
  return 0;
}

int fm_rd_bin(fm_rd *c, const uint8_t **p, size_t *n) {
  const uint8_t *start = c->p;
  uint32_t len;
  int rv;
  if ((rv = rd_len(c, 0, 0, 0xc4, 0xc5, 0xc6, &len)) < 0) return rv;
  if ((rv = rd_body(c, start, len, p)) < 0) return rv;
  *n = len;
  return 0;
}

int fm_rd_bin_fixed(fm_rd *c, uint8_t *out, size_t n) {
  const uint8_t *start = c->p, *p;
  size_t len;
  int rv;
  if ((rv = fm_rd_bin(c, &p, &len)) < 0) return rv;
  if (len != n) {
    c->p = start;
    return FM_ERR_MALFORMED;
  }
  memcpy(out, p, n);
  return 0;
}

int fm_rd_nil(fm_rd *c) {
  if (c->p >= c->end || *c->p != 0xc0) return FM_ERR_MALFORMED;
  c->p++;
  return 0;
}

int fm_rd_bool(fm_rd *c, int *v) {
  if (c->p >= c->end || (*c->p != 0xc2 && *c->p != 0xc3))
    return FM_ERR_MALFORMED;
  *v = *c->p == 0xc3;
  c->p++;
  return 0;
}

/* Reads any integer as a sign and magnitude; strict mode insists on the
 * form msgpack-c's packer would have chosen. */
static int rd_integer(fm_rd *c, int *neg, uint64_t *mag) {
  if (c->p >= c->end) return FM_ERR_MALFORMED;
  uint8_t b = *c->p;
  if (b <= 0x7f) { *neg = 0; *mag = b; c->p++; return 0; }
  if (b >= 0xe0) { *neg = 1; *mag = (uint64_t)(256 - b); c->p++; return 0; }
  int width, is_signed;
  if (b >= 0xcc && b <= 0xcf) { width = 1 << (b - 0xcc); is_signed = 0; }
  else if (b >= 0xd0 && b <= 0xd3) { width = 1 << (b - 0xd0); is_signed = 1; }
  else return FM_ERR_MALFORMED;
  if ((size_t)(c->end - c->p) < (size_t)width + 1) return FM_ERR_MALFORMED;
  uint64_t raw = be(c->p + 1, width);
  if (!is_signed) {
    *neg = 0;
    *mag = raw;
    if (c->strict) {
      uint64_t lo = width == 1 ? 0x80 : (1ULL << (width * 4)); /* 8,16,32 bits */
      if (raw < lo) return FM_ERR_MALFORMED;
    }
  } else {
    int64_t sv;
    int bits = width * 8;
    if (bits == 64) sv = (int64_t)raw;
    else if (raw & (1ULL << (bits - 1))) sv = (int64_t)(raw | (~0ULL << bits));
    else sv = (int64_t)raw;
    *neg = sv < 0;
    *mag = sv < 0 ? (uint64_t)0 - (uint64_t)sv : (uint64_t)sv;
    if (c->strict) {
      /* Non-negative values are packed unsigned; negative ones in the
       * narrowest signed form that holds them. */
      if (!*neg) return FM_ERR_MALFORMED;
      uint64_t lo = width == 1 ? 33 : (1ULL << (width * 4 - 1)) + 1;
      if (*mag < lo) return FM_ERR_MALFORMED;
    }
  }
  c->p += width + 1;
  return 0;
}

int fm_rd_uint(fm_rd *c, uint64_t *v) {
  const uint8_t *start = c->p;
  int neg, rv;
  uint64_t mag;
  if ((rv = rd_integer(c, &neg, &mag)) < 0) return rv;
  if (neg && mag) { c->p = start; return FM_ERR_MALFORMED; }
  *v = mag;
  return 0;
}

int fm_rd_int(fm_rd *c, int64_t *v) {
  const uint8_t *start = c->p;
  int neg, rv;
  uint64_t mag;
  if ((rv = rd_integer(c, &neg, &mag)) < 0) return rv;
  if ((!neg && mag > (uint64_t)INT64_MAX) ||
      (neg && mag > (uint64_t)INT64_MAX + 1)) {
    c->p = start;
    return FM_ERR_MALFORMED;
  }
  *v = neg ? (int64_t)(0 - mag) : (int64_t)mag;
  return 0;
}

static int skip_n(fm_rd *c, size_t n) {
  if ((size_t)(c->end - c->p) < n) return FM_ERR_MALFORMED;
  c->p += n;
  return 0;
}

static int skip_value(fm_rd *c, int depth, int max_depth, uint32_t max_items);

/* |values| is the number of values inside: items of an array, or keys and
 * values of a map. */
static int skip_container(fm_rd *c, uint64_t values, int depth, int max_depth,
                          uint32_t max_items) {
  if (depth >= max_depth) return FM_ERR_TOOBIG;
  /* Every item takes at least one byte: a count larger than what is left
   * cannot be honest, and refusing it early bounds the work. */
  if (values > fm_rd_left(c)) return FM_ERR_MALFORMED;
  for (uint64_t i = 0; i < values; i++) {
    int rv = skip_value(c, depth + 1, max_depth, max_items);
    if (rv < 0) return rv;
  }
  return 0;
}

static int skip_value(fm_rd *c, int depth, int max_depth, uint32_t max_items) {
  const uint8_t *p, *start = c->p;
  const char *s;
  size_t n;
  uint32_t items;
  int bv, rv = 0;
  switch (fm_rd_peek(c)) {
  case FM_MT_NIL: return fm_rd_nil(c);
  case FM_MT_BOOL: return fm_rd_bool(c, &bv);
  case FM_MT_UINT: case FM_MT_INT: {
    int neg;
    uint64_t mag;
    return rd_integer(c, &neg, &mag);
  }
  case FM_MT_FLOAT: return skip_n(c, *c->p == 0xca ? 5 : 9);
  case FM_MT_STR: return fm_rd_str(c, &s, &n);
  case FM_MT_BIN: return fm_rd_bin(c, &p, &n);
  case FM_MT_ARRAY:
    if ((rv = fm_rd_array(c, &items)) < 0) return rv;
    rv = items > max_items ? FM_ERR_TOOBIG
                           : skip_container(c, items, depth, max_depth, max_items);
    break;
  case FM_MT_MAP:
    if ((rv = fm_rd_map(c, &items)) < 0) return rv;
    if (items > max_items) rv = FM_ERR_TOOBIG;
    else rv = skip_container(c, (uint64_t)items * 2, depth, max_depth, max_items);
    break;
  case FM_MT_EXT: {
    uint8_t b = *c->p;
    if (b >= 0xd4 && b <= 0xd8) return skip_n(c, 2 + (1u << (b - 0xd4)));
    int w = b == 0xc7 ? 1 : b == 0xc8 ? 2 : 4;
    if (fm_rd_left(c) < (size_t)w + 2) return FM_ERR_MALFORMED;
    uint64_t len = be(c->p + 1, w);
    if (len > fm_rd_left(c) - (size_t)w - 2) return FM_ERR_MALFORMED;
    return skip_n(c, (size_t)len + (size_t)w + 2);
  }
  default: return FM_ERR_MALFORMED;
  }
  if (rv < 0) c->p = start;
  return rv;
}

int fm_rd_skip(fm_rd *c, int max_depth, uint32_t max_items) {
  const uint8_t *start = c->p;
  int rv = skip_value(c, 0, max_depth, max_items);
  if (rv < 0) c->p = start;
  return rv;
}

int fm_utf8_valid(const char *str, size_t n) {
  const uint8_t *s = (const uint8_t *)str, *end = s + n;
  while (s < end) {
    uint8_t b = *s;
    if (b < 0x80) { s++; continue; }
    int len;
    uint32_t cp, min;
    if ((b & 0xe0) == 0xc0) { len = 2; cp = b & 0x1f; min = 0x80; }
    else if ((b & 0xf0) == 0xe0) { len = 3; cp = b & 0x0f; min = 0x800; }
    else if ((b & 0xf8) == 0xf0) { len = 4; cp = b & 0x07; min = 0x10000; }
    else return 0;
    if (end - s < len) return 0;
    for (int i = 1; i < len; i++) {
      if ((s[i] & 0xc0) != 0x80) return 0;
      cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    s += len;
  }
  return 1;
}
