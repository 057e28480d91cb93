/* Presence notes.  See include/fieldmesh/presence.h. */
#include "fieldmesh/presence.h"

#include <string.h>

#include "fieldmesh/error.h"

#define BODY_FIELDS 12

/* ---- building ---------------------------------------------------------------- */

static int check_fields(const fm_presence *p) {
  size_t vlen = strnlen(p->version, sizeof p->version);
  if (p->nheads > FM_PRESENCE_HEADS_MAX || p->nmet > FM_PRESENCE_MET_MAX ||
      vlen > FM_PRESENCE_VERSION_MAX || !fm_utf8_valid(p->version, vlen) ||
      p->wall < 0 || p->authors < p->nheads || p->only_here > p->head_seq)
    return FM_ERR_INVAL;
  for (uint32_t i = 1; i < p->nheads; i++)
    if (memcmp(p->heads[i - 1].prefix, p->heads[i].prefix, FM_PRESENCE_PREFIX_LEN) >= 0)
      return FM_ERR_INVAL;
  for (uint32_t i = 0; i < p->nmet; i++)
    if (p->met[i].when < 0) return FM_ERR_INVAL;
  return 0;
}

static void wr_body(fm_wr *w, const fm_presence *p) {
  fm_wr_array(w, BODY_FIELDS);
  fm_wr_uint(w, FM_PRESENCE_FORMAT);
  fm_wr_bin(w, p->device, FM_KEY_LEN);
  fm_wr_uint(w, (uint64_t)p->wall);
  fm_wr_uint(w, p->head_seq);
  fm_wr_uint(w, p->only_here);
  fm_wr_bin(w, p->vdigest, sizeof p->vdigest);
  fm_wr_uint(w, p->authors);
  fm_wr_array(w, p->nheads);
  for (uint32_t i = 0; i < p->nheads; i++) {
    fm_wr_array(w, 2);
    fm_wr_bin(w, p->heads[i].prefix, FM_PRESENCE_PREFIX_LEN);
    fm_wr_uint(w, p->heads[i].seq);
  }
  fm_wr_cstr(w, p->version);
  fm_wr_int(w, p->clock_offset);
  fm_wr_uint(w, p->free_kib);
  fm_wr_array(w, p->nmet);
  for (uint32_t i = 0; i < p->nmet; i++) {
    fm_wr_array(w, 2);
    fm_wr_bin(w, p->met[i].device, FM_KEY_LEN);
    fm_wr_uint(w, (uint64_t)p->met[i].when);
  }
}

int fm_presence_sign(const fm_presence *p, const fm_identity *id, fm_buf *out) {
  fm_buf body;
  fm_wr w;
  uint8_t sig[FM_SIG_LEN];
  int rv;
  if (check_fields(p) < 0 || memcmp(p->device, id->pk, FM_KEY_LEN)) return FM_ERR_INVAL;
  fm_buf_init(&body, FM_PRESENCE_MAX);
  fm_wr_init(&w, &body);
  wr_body(&w, p);
  if ((rv = fm_buf_error(&body)) == 0 &&
      (rv = fm_identity_sign(id, FM_CTX_PRESENCE, body.p, body.len, sig)) == 0) {
    size_t start = out->len;
    fm_wr_init(&w, out);
    fm_wr_array(&w, 2);
    fm_wr_bin(&w, body.p, body.len);
    fm_wr_bin(&w, sig, sizeof sig);
    rv = fm_buf_error(out);
    if (rv == 0 && out->len - start > FM_PRESENCE_MAX) rv = FM_ERR_TOOBIG;
  }
  fm_buf_free(&body);
  return rv;
}

/* ---- parsing ------------------------------------------------------------------ */

static int rd_time(fm_rd *c, fm_time *t) {
  uint64_t v;
  if (fm_rd_uint(c, &v) < 0 || v > (uint64_t)INT64_MAX) return FM_ERR_MALFORMED;
  *t = (fm_time)v;
  return 0;
}

static int rd_heads(fm_rd *c, fm_presence *p) {
  uint32_t n, k;
  if (fm_rd_array(c, &n) < 0) return FM_ERR_MALFORMED;
  if (n > FM_PRESENCE_HEADS_MAX) return FM_ERR_TOOBIG;
  for (uint32_t i = 0; i < n; i++) {
    fm_presence_head *h = &p->heads[i];
    if (fm_rd_array(c, &k) < 0 || k != 2 ||
        fm_rd_bin_fixed(c, h->prefix, FM_PRESENCE_PREFIX_LEN) < 0 || fm_rd_uint(c, &h->seq) < 0)
      return FM_ERR_MALFORMED;
    if (i > 0 && memcmp(p->heads[i - 1].prefix, h->prefix, FM_PRESENCE_PREFIX_LEN) >= 0)
      return FM_ERR_MALFORMED;
  }
  p->nheads = n;
  return 0;
}

static int rd_met(fm_rd *c, fm_presence *p) {
  uint32_t n, k;
  if (fm_rd_array(c, &n) < 0) return FM_ERR_MALFORMED;
  if (n > FM_PRESENCE_MET_MAX) return FM_ERR_TOOBIG;
  for (uint32_t i = 0; i < n; i++)
    if (fm_rd_array(c, &k) < 0 || k != 2 ||
        fm_rd_bin_fixed(c, p->met[i].device, FM_KEY_LEN) < 0 || rd_time(c, &p->met[i].when) < 0)
      return FM_ERR_MALFORMED;
  p->nmet = n;
  return 0;
}

static int rd_version(fm_rd *c, fm_presence *p) {
  const char *s;
  size_t n;
  if (fm_rd_str(c, &s, &n) < 0 || n > FM_PRESENCE_VERSION_MAX || memchr(s, 0, n))
    return FM_ERR_MALFORMED;
  memcpy(p->version, s, n);
  p->version[n] = 0;
  return 0;
}

static int rd_body(const uint8_t *b, size_t len, fm_presence *p) {
  fm_rd c;
  uint32_t n;
  uint64_t format;
  int rv;
  fm_rd_init(&c, b, len, 1);
  if (fm_rd_array(&c, &n) < 0 || n != BODY_FIELDS || fm_rd_uint(&c, &format) < 0)
    return FM_ERR_MALFORMED;
  if (format != FM_PRESENCE_FORMAT) return FM_ERR_VERSION;
  if (fm_rd_bin_fixed(&c, p->device, FM_KEY_LEN) < 0 || rd_time(&c, &p->wall) < 0 ||
      fm_rd_uint(&c, &p->head_seq) < 0 || fm_rd_uint(&c, &p->only_here) < 0 ||
      fm_rd_bin_fixed(&c, p->vdigest, sizeof p->vdigest) < 0 || fm_rd_uint(&c, &p->authors) < 0)
    return FM_ERR_MALFORMED;
  if ((rv = rd_heads(&c, p)) < 0 || (rv = rd_version(&c, p)) < 0) return rv;
  if (fm_rd_int(&c, &p->clock_offset) < 0 || fm_rd_uint(&c, &p->free_kib) < 0)
    return FM_ERR_MALFORMED;
  if ((rv = rd_met(&c, p)) < 0) return rv;
  if (!fm_rd_done(&c) || p->authors < p->nheads || p->only_here > p->head_seq)
    return FM_ERR_MALFORMED;
  return 0;
}

/* The note's parts; the body decoded into |p|, the signature not checked. */
static int split(const uint8_t *bytes, size_t len, fm_presence *p, const uint8_t **body,
                 size_t *body_len, uint8_t sig[FM_SIG_LEN]) {
  fm_rd c;
  uint32_t n;
  if (len > FM_PRESENCE_MAX) return FM_ERR_TOOBIG;
  fm_rd_init(&c, bytes, len, 1);
  if (fm_rd_array(&c, &n) < 0 || n != 2 || fm_rd_bin(&c, body, body_len) < 0 ||
      fm_rd_bin_fixed(&c, sig, FM_SIG_LEN) < 0 || !fm_rd_done(&c))
    return FM_ERR_MALFORMED;
  memset(p, 0, sizeof *p);
  return rd_body(*body, *body_len, p);
}

int fm_presence_parse(const uint8_t *bytes, size_t len, fm_presence *out) {
  fm_presence p;
  const uint8_t *body;
  size_t body_len;
  uint8_t sig[FM_SIG_LEN];
  int rv;
  if ((rv = split(bytes, len, &p, &body, &body_len, sig)) < 0) return rv;
  if ((rv = fm_sig_verify(p.device, FM_CTX_PRESENCE, body, body_len, sig)) < 0) return rv;
  *out = p;
  return 0;
}

int fm_presence_peek(const uint8_t *bytes, size_t len, fm_presence *out) {
  fm_presence p;
  const uint8_t *body;
  size_t body_len;
  uint8_t sig[FM_SIG_LEN];
  int rv;
  if ((rv = split(bytes, len, &p, &body, &body_len, sig)) < 0) return rv;
  *out = p;
  return 0;
}

int fm_presence_cmp(const fm_presence *a, const uint8_t *abytes, size_t alen,
                    const fm_presence *b, const uint8_t *bbytes, size_t blen) {
  if (a->wall != b->wall) return a->wall > b->wall ? 1 : -1;
  size_t n = alen < blen ? alen : blen;
  int c = memcmp(abytes, bbytes, n);
  if (c) return c > 0 ? 1 : -1;
  return alen == blen ? 0 : alen > blen ? 1 : -1;
}
