#include "fieldmesh/entry.h"

#include <string.h>

#include "fieldmesh/error.h"

fm_limits fm_limits_default(void) {
  fm_limits l = {FM_ENTRY_MAX, 8, 256, 4096};
  return l;
}

/* Bodies hold nil, bool, integers, UTF-8 strings, bins, arrays and maps
 * whose keys are strings.  Floats and extension types have no use in a
 * record and no canonical form we rely on, so they are refused. */
static int check_value(fm_rd *c, int depth, const fm_limits *lim);

/* True when the key just read, keys[i], is one of keys[0 .. i). */
static int seen_key(const char **keys, const size_t *klen, uint32_t i) {
  for (uint32_t j = 0; j < i; j++)
    if (klen[j] == klen[i] && memcmp(keys[j], keys[i], klen[i]) == 0) return 1;
  return 0;
}

/* Checks the |n| items (pairs when |is_map|) of a container at |depth|.
 * For the body map, |keys| and |klen| (room for 256) collect its keys:
 * they must be unique, since records are materialized from them and a
 * duplicate would make the view ambiguous.  A duplicate is reported only
 * once the whole body has passed the other checks, so the body is read
 * once and a body that is also too big still says FM_ERR_TOOBIG.  NULL
 * for every other container. */
static int check_container(fm_rd *c, int is_map, uint32_t n, int depth,
                           const fm_limits *lim, const char **keys, size_t *klen) {
  int dup = 0;
  if (depth > lim->depth_max) return FM_ERR_TOOBIG;
  if (n > lim->keys_max || (keys && n > 256)) return FM_ERR_TOOBIG;
  if (n > fm_rd_left(c)) return FM_ERR_MALFORMED;
  for (uint32_t i = 0; i < n; i++) {
    int rv;
    if (is_map) {
      const char *k;
      size_t kn;
      if ((rv = fm_rd_str(c, &k, &kn)) < 0) return rv;
      if (kn > lim->text_max) return FM_ERR_TOOBIG;
      if (keys) {
        keys[i] = k;
        klen[i] = kn;
        dup = dup || seen_key(keys, klen, i);
      }
    }
    if ((rv = check_value(c, depth, lim)) < 0) return rv;
  }
  return dup ? FM_ERR_MALFORMED : 0;
}

static int check_value(fm_rd *c, int depth, const fm_limits *lim) {
  const char *s;
  const uint8_t *p;
  size_t n;
  uint32_t items;
  int64_t iv;
  int bv, rv;
  switch (fm_rd_peek(c)) {
  case FM_MT_NIL: return fm_rd_nil(c);
  case FM_MT_BOOL: return fm_rd_bool(c, &bv);
  case FM_MT_UINT: {
    uint64_t uv;
    return fm_rd_uint(c, &uv);
  }
  case FM_MT_INT: return fm_rd_int(c, &iv);
  case FM_MT_STR:
    if ((rv = fm_rd_str(c, &s, &n)) < 0) return rv;
    return n > lim->text_max ? FM_ERR_TOOBIG : 0;
  case FM_MT_BIN:
    if ((rv = fm_rd_bin(c, &p, &n)) < 0) return rv;
    return n > lim->text_max ? FM_ERR_TOOBIG : 0;
  case FM_MT_ARRAY:
    if ((rv = fm_rd_array(c, &items)) < 0) return rv;
    return check_container(c, 0, items, depth + 1, lim, NULL, NULL);
  case FM_MT_MAP:
    if ((rv = fm_rd_map(c, &items)) < 0) return rv;
    return check_container(c, 1, items, depth + 1, lim, NULL, NULL);
  default: return FM_ERR_MALFORMED;
  }
}

static int decode_unsigned(fm_rd *c, const fm_limits *lim, fm_entry *e) {
  uint32_t n;
  uint64_t ver;
  const uint8_t *body_start;
  if (fm_rd_array(c, &n) < 0 || n != 7) return FM_ERR_MALFORMED;
  if (fm_rd_uint(c, &ver) < 0) return FM_ERR_MALFORMED;
  if (ver != FM_ENTRY_VERSION) return FM_ERR_VERSION;
  if (fm_rd_bin_fixed(c, e->author, FM_KEY_LEN) < 0) return FM_ERR_MALFORMED;
  if (fm_rd_uint(c, &e->seq) < 0 || e->seq == 0) return FM_ERR_MALFORMED;
  e->has_prev = fm_rd_nil(c) != 0;
  if (e->has_prev && fm_rd_bin_fixed(c, e->prev, FM_ID_LEN) < 0)
    return FM_ERR_MALFORMED;
  if (e->has_prev != (e->seq > 1)) return FM_ERR_MALFORMED;
  if (fm_rd_uint(c, &e->hlc) < 0) return FM_ERR_MALFORMED;
  if (fm_rd_str(c, &e->kind, &e->kind_len) < 0) return FM_ERR_MALFORMED;
  if (e->kind_len == 0 || e->kind_len > FM_KIND_MAX) return FM_ERR_MALFORMED;
  body_start = c->p;
  if (fm_rd_peek(c) != FM_MT_MAP) return FM_ERR_MALFORMED;
  const char *keys[256];
  size_t klen[256];
  int rv = fm_rd_map(c, &n);
  if (rv < 0 || (rv = check_container(c, 1, n, 1, lim, keys, klen)) < 0) return rv;
  e->body = body_start;
  e->body_len = (size_t)(c->p - body_start);
  return 0;
}

int fm_entry_decode(const uint8_t *buf, size_t len, const fm_limits *lim,
                    fm_entry *out) {
  fm_limits dl = fm_limits_default();
  fm_entry e;
  fm_rd c;
  const uint8_t *sig;
  size_t siglen;
  int rv;
  if (!lim) lim = &dl;
  if (len > lim->entry_max) return FM_ERR_TOOBIG;
  memset(&e, 0, sizeof e);
  fm_rd_init(&c, buf, len, 1);
  if ((rv = decode_unsigned(&c, lim, &e)) < 0) return rv;
  e.signed_len = (size_t)(c.p - buf);
  if (fm_rd_bin(&c, &sig, &siglen) < 0 || siglen != FM_SIG_LEN)
    return FM_ERR_MALFORMED;
  if (!fm_rd_done(&c)) return FM_ERR_MALFORMED;
  e.bytes = buf;
  e.len = len;
  e.sig = sig;
  *out = e;
  return 0;
}

int fm_entry_verify(const fm_entry *e) {
  return fm_sig_verify(e->author, FM_CTX_ENTRY, e->bytes, e->signed_len, e->sig);
}

void fm_entry_id(const uint8_t *bytes, size_t len, uint8_t id[static FM_ID_LEN]) {
  fm_blake2b(id, FM_ID_LEN, bytes, len, NULL, 0);
}

int fm_entry_is(const fm_entry *e, const char *kind) {
  size_t n = strlen(kind);
  return e->kind_len == n && memcmp(e->kind, kind, n) == 0;
}

int fm_entry_build(fm_buf *out, const fm_identity *id, uint64_t seq,
                   const uint8_t *prev, fm_hlc hlc, const char *kind,
                   const uint8_t *body, size_t body_len) {
  fm_wr w;
  uint8_t sig[FM_SIG_LEN];
  fm_entry e;
  int rv;
  if (seq == 0 || (prev == NULL) != (seq == 1)) return FM_ERR_INVAL;
  fm_buf_reset(out);
  fm_wr_init(&w, out);
  fm_wr_array(&w, 7);
  fm_wr_uint(&w, FM_ENTRY_VERSION);
  fm_wr_bin(&w, id->pk, FM_KEY_LEN);
  fm_wr_uint(&w, seq);
  if (prev) fm_wr_bin(&w, prev, FM_ID_LEN);
  else fm_wr_nil(&w);
  fm_wr_uint(&w, hlc);
  fm_wr_cstr(&w, kind);
  fm_wr_raw(&w, body, body_len);
  if ((rv = fm_buf_error(out)) < 0) return rv;
  if ((rv = fm_identity_sign(id, FM_CTX_ENTRY, out->p, out->len, sig)) < 0)
    return rv;
  fm_wr_bin(&w, sig, FM_SIG_LEN);
  if ((rv = fm_buf_error(out)) < 0) return rv;
  /* What we sign, every peer will decode with the same strict rules:
   * refuse here rather than publish an entry nobody accepts. */
  return fm_entry_decode(out->p, out->len, NULL, &e);
}

/* ---- bodies ------------------------------------------------------------- */

int fm_body_find(const uint8_t *body, size_t len, const char *key, fm_rd *val) {
  fm_rd c;
  uint32_t n;
  size_t kl = strlen(key);
  fm_rd_init(&c, body, len, 0);
  if (fm_rd_map(&c, &n) < 0) return FM_ERR_MALFORMED;
  for (uint32_t i = 0; i < n; i++) {
    const char *k;
    size_t kn;
    if (fm_rd_str(&c, &k, &kn) < 0) return FM_ERR_MALFORMED;
    if (kn == kl && memcmp(k, key, kl) == 0) {
      *val = c;
      return 0;
    }
    if (fm_rd_skip(&c, 64, UINT32_MAX) < 0) return FM_ERR_MALFORMED;
  }
  return FM_ERR_NOTFOUND;
}

int fm_body_str(const uint8_t *body, size_t len, const char *key,
                const char **s, size_t *n) {
  fm_rd v;
  int rv = fm_body_find(body, len, key, &v);
  if (rv < 0) return rv;
  return fm_rd_str(&v, s, n) < 0 ? FM_ERR_MALFORMED : 0;
}

int fm_body_uint(const uint8_t *body, size_t len, const char *key, uint64_t *out) {
  fm_rd v;
  int rv = fm_body_find(body, len, key, &v);
  if (rv < 0) return rv;
  return fm_rd_uint(&v, out) < 0 ? FM_ERR_MALFORMED : 0;
}

int fm_body_key(const uint8_t *body, size_t len, const char *key,
                uint8_t out[static FM_KEY_LEN]) {
  fm_rd v;
  int rv = fm_body_find(body, len, key, &v);
  if (rv < 0) return rv;
  return fm_rd_bin_fixed(&v, out, FM_KEY_LEN) < 0 ? FM_ERR_MALFORMED : 0;
}
