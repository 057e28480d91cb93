#include "fieldmesh/msg.h"

#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "fieldmesh/error.h"

void fm_msg_hello(fm_wr *w, const uint8_t node_id[static FM_KEY_LEN],
                  const uint8_t *cert, size_t cert_len, uint64_t features,
                  const uint8_t vdigest[static 32]) {
  fm_wr_array(w, 6);
  fm_wr_uint(w, FM_MSG_HELLO);
  fm_wr_uint(w, FM_PROTO_VERSION);
  fm_wr_bin(w, node_id, FM_KEY_LEN);
  fm_wr_bin(w, cert, cert_len);
  fm_wr_uint(w, features);
  fm_wr_bin(w, vdigest, 32);
}

void fm_msg_vector(fm_wr *w, const fm_vec_item *items, size_t n, int more) {
  FM_ASSERT(n <= FM_VECTOR_PAGE);
  fm_wr_array(w, 3);
  fm_wr_uint(w, FM_MSG_VECTOR);
  fm_wr_array(w, (uint32_t)n);
  for (size_t i = 0; i < n; i++) {
    fm_wr_array(w, 3);
    fm_wr_bin(w, items[i].author, FM_KEY_LEN);
    fm_wr_uint(w, items[i].seq);
    fm_wr_bin(w, items[i].head, 8);
  }
  fm_wr_bool(w, more);
}

void fm_msg_entries_begin(fm_wr *w, uint32_t n) {
  FM_ASSERT(n <= FM_BATCH_MAX);
  fm_wr_array(w, 2);
  fm_wr_uint(w, FM_MSG_ENTRIES);
  fm_wr_array(w, n);
}

void fm_msg_ack(fm_wr *w, uint64_t bytes, uint64_t entries, const fm_msg_vitem *stored,
                size_t nstored, const fm_msg_refusal *refused, size_t nrefused) {
  FM_ASSERT(nstored <= FM_ACK_STORED_MAX && nrefused <= FM_ACK_REFUSED_MAX);
  fm_wr_array(w, 5);
  fm_wr_uint(w, FM_MSG_ACK);
  fm_wr_uint(w, bytes);
  fm_wr_uint(w, entries);
  fm_wr_array(w, (uint32_t)nstored);
  for (size_t i = 0; i < nstored; i++) {
    fm_wr_array(w, 2);
    fm_wr_bin(w, stored[i].author, FM_KEY_LEN);
    fm_wr_uint(w, stored[i].seq);
  }
  fm_wr_array(w, (uint32_t)nrefused);
  for (size_t i = 0; i < nrefused; i++) {
    fm_wr_array(w, 4);
    fm_wr_bin(w, refused[i].author, FM_KEY_LEN);
    fm_wr_uint(w, refused[i].from);
    fm_wr_uint(w, refused[i].to);
    fm_wr_int(w, refused[i].code);
  }
}

void fm_msg_ping(fm_wr *w, fm_msg_type type, uint64_t nonce) {
  fm_wr_array(w, 2);
  fm_wr_uint(w, type);
  fm_wr_uint(w, nonce);
}

static void text(fm_wr *w, const char *t) {
  size_t n = strlen(t);
  if (n > FM_TEXT_MSG_MAX) n = FM_TEXT_MSG_MAX;
  /* Never cut a UTF-8 sequence in half. */
  while (n > 0 && n < strlen(t) && ((uint8_t)t[n] & 0xc0) == 0x80) n--;
  fm_wr_str(w, t, n);
}

void fm_msg_bye(fm_wr *w, const char *reason) {
  fm_wr_array(w, 2);
  fm_wr_uint(w, FM_MSG_BYE);
  text(w, reason);
}

void fm_msg_error(fm_wr *w, int code, const char *t) {
  fm_wr_array(w, 3);
  fm_wr_uint(w, FM_MSG_ERROR);
  fm_wr_int(w, code);
  text(w, t);
}

void fm_msg_caughtup(fm_wr *w, uint64_t sent) {
  fm_wr_array(w, 2);
  fm_wr_uint(w, FM_MSG_CAUGHTUP);
  fm_wr_uint(w, sent);
}

void fm_msg_cert(fm_wr *w, const uint8_t *cert, size_t len) {
  fm_wr_array(w, 2);
  fm_wr_uint(w, FM_MSG_CERT);
  fm_wr_bin(w, cert, len);
}

void fm_msg_presence(fm_wr *w, uint32_t n, const uint8_t *bins, size_t len) {
  fm_wr_array(w, 2);
  fm_wr_uint(w, FM_MSG_PRESENCE);
  fm_wr_array(w, n);
  fm_wr_raw(w, bins, len);
}

void fm_msg_presence_sum(fm_wr *w, const uint8_t digest[static 32], uint64_t wall) {
  fm_wr_array(w, 3);
  fm_wr_uint(w, FM_MSG_PRESENCE_SUM);
  fm_wr_bin(w, digest, 32);
  fm_wr_uint(w, wall);
}

void fm_msg_presence_offer(fm_wr *w, const fm_pset_item *items, size_t n, int more) {
  fm_wr_array(w, 3);
  fm_wr_uint(w, FM_MSG_PRESENCE_OFFER);
  fm_wr_array(w, (uint32_t)n);
  for (size_t i = 0; i < n; i++) {
    fm_wr_array(w, 2);
    fm_wr_bin(w, items[i].device, FM_KEY_LEN);
    fm_wr_uint(w, items[i].wall);
  }
  fm_wr_bool(w, more);
}

void fm_msg_ids(fm_wr *w, fm_msg_type type, const uint8_t *ids, size_t n) {
  FM_ASSERT(n >= 1 && n <= FM_WANT_MAX);
  fm_wr_array(w, 2);
  fm_wr_uint(w, type);
  fm_wr_bin(w, ids, n * 32);
}

void fm_msg_chunk(fm_wr *w, const uint8_t id[static 32], const uint8_t *chunk, size_t len) {
  fm_wr_array(w, 3);
  fm_wr_uint(w, FM_MSG_CHUNK);
  fm_wr_bin(w, id, 32);
  fm_wr_bin(w, chunk, len);
}

/* ---- decoding ----------------------------------------------------------- */

static int dec_vector(fm_rd *c, fm_msg *m) {
  uint32_t n, k;
  if (fm_rd_array(c, &n) < 0 || n > FM_VECTOR_PAGE) return FM_ERR_MALFORMED;
  for (uint32_t i = 0; i < n; i++) {
    fm_msg_vitem *it = &m->items[i];
    if (fm_rd_array(c, &k) < 0 || k != 3 ||
        fm_rd_bin_fixed(c, it->author, FM_KEY_LEN) < 0 ||
        fm_rd_uint(c, &it->seq) < 0 || fm_rd_bin_fixed(c, it->head8, 8) < 0)
      return FM_ERR_MALFORMED;
  }
  m->nitems = n;
  return fm_rd_bool(c, &m->more) < 0 ? FM_ERR_MALFORMED : 0;
}

/* Each author once in |stored|, seqs from 1, ranges that are ranges: a
 * sloppy ACK is a broken peer, not something to guess about. */
static int dec_ack(fm_rd *c, fm_msg *m) {
  uint32_t n, k;
  if (fm_rd_uint(c, &m->u1) < 0 || fm_rd_uint(c, &m->u2) < 0) return FM_ERR_MALFORMED;
  if (fm_rd_array(c, &n) < 0 || n > FM_ACK_STORED_MAX) return FM_ERR_MALFORMED;
  for (uint32_t i = 0; i < n; i++) {
    fm_msg_vitem *it = &m->items[i];
    if (fm_rd_array(c, &k) < 0 || k != 2 ||
        fm_rd_bin_fixed(c, it->author, FM_KEY_LEN) < 0 || fm_rd_uint(c, &it->seq) < 0 ||
        it->seq == 0)
      return FM_ERR_MALFORMED;
    memset(it->head8, 0, sizeof it->head8);
    for (uint32_t j = 0; j < i; j++)
      if (!memcmp(m->items[j].author, it->author, FM_KEY_LEN)) return FM_ERR_MALFORMED;
  }
  m->nitems = n;
  if (fm_rd_array(c, &n) < 0 || n > FM_ACK_REFUSED_MAX) return FM_ERR_MALFORMED;
  for (uint32_t i = 0; i < n; i++) {
    fm_msg_refusal *r = &m->refused[i];
    if (fm_rd_array(c, &k) < 0 || k != 4 ||
        fm_rd_bin_fixed(c, r->author, FM_KEY_LEN) < 0 || fm_rd_uint(c, &r->from) < 0 ||
        fm_rd_uint(c, &r->to) < 0 || fm_rd_int(c, &r->code) < 0 || r->from == 0 ||
        r->to < r->from || r->code >= 0 || r->code < INT32_MIN)
      return FM_ERR_MALFORMED;
  }
  m->nrefused = n;
  return 0;
}

static int dec_entries(fm_rd *c, fm_msg *m) {
  uint32_t n;
  if (fm_rd_array(c, &n) < 0 || n > FM_BATCH_MAX) return FM_ERR_MALFORMED;
  for (uint32_t i = 0; i < n; i++)
    if (fm_rd_bin(c, &m->entries[i].p, &m->entries[i].len) < 0)
      return FM_ERR_MALFORMED;
  m->nentries = n;
  return 0;
}

static int dec_presence(fm_rd *c, fm_msg *m) {
  uint32_t n;
  if (fm_rd_array(c, &n) < 0 || n > FM_PRESENCE_BATCH) return FM_ERR_MALFORMED;
  for (uint32_t i = 0; i < n; i++)
    if (fm_rd_bin(c, &m->entries[i].p, &m->entries[i].len) < 0) return FM_ERR_MALFORMED;
  m->nentries = n;
  return 0;
}

static int dec_offer(fm_rd *c, fm_msg *m) {
  uint32_t n, k;
  if (fm_rd_array(c, &n) < 0 || n > FM_VECTOR_PAGE) return FM_ERR_MALFORMED;
  for (uint32_t i = 0; i < n; i++) {
    fm_msg_vitem *it = &m->items[i];
    if (fm_rd_array(c, &k) < 0 || k != 2 || fm_rd_bin_fixed(c, it->author, FM_KEY_LEN) < 0 ||
        fm_rd_uint(c, &it->seq) < 0)
      return FM_ERR_MALFORMED;
    memset(it->head8, 0, sizeof it->head8);
  }
  m->nitems = n;
  return fm_rd_bool(c, &m->more) < 0 ? FM_ERR_MALFORMED : 0;
}

static int dec_text(fm_rd *c, fm_msg *m) {
  if (fm_rd_str(c, &m->text, &m->text_len) < 0 || m->text_len > FM_TEXT_MSG_MAX)
    return FM_ERR_MALFORMED;
  return 0;
}

static int dec_ids(fm_rd *c, fm_msg *m) {
  size_t len;
  if (fm_rd_bin(c, &m->ids, &len) < 0 || len == 0 || len % 32 || len / 32 > FM_WANT_MAX)
    return FM_ERR_MALFORMED;
  m->nids = len / 32;
  return 0;
}

static int dec_chunk(fm_rd *c, fm_msg *m) {
  size_t len;
  if (fm_rd_bin(c, &m->ids, &len) < 0 || len != 32 ||
      fm_rd_bin(c, &m->chunk, &m->chunk_len) < 0)
    return FM_ERR_MALFORMED;
  m->nids = 1;
  return 0;
}

static int dec_body(fm_rd *c, uint32_t n, fm_msg *m) {
  switch (m->type) {
  case FM_MSG_HELLO:
    if (n != 6 || fm_rd_uint(c, &m->version) < 0 ||
        fm_rd_bin_fixed(c, m->node_id, FM_KEY_LEN) < 0 ||
        fm_rd_bin(c, &m->cert, &m->cert_len) < 0 || fm_rd_uint(c, &m->features) < 0 ||
        fm_rd_bin_fixed(c, m->vdigest, 32) < 0)
      return FM_ERR_MALFORMED;
    return 0;
  case FM_MSG_VECTOR: return n == 3 ? dec_vector(c, m) : FM_ERR_MALFORMED;
  case FM_MSG_ENTRIES: return n == 2 ? dec_entries(c, m) : FM_ERR_MALFORMED;
  case FM_MSG_ACK: return n == 5 ? dec_ack(c, m) : FM_ERR_MALFORMED;
  case FM_MSG_PING: case FM_MSG_PONG: case FM_MSG_CAUGHTUP:
    return n == 2 && fm_rd_uint(c, &m->u1) == 0 ? 0 : FM_ERR_MALFORMED;
  case FM_MSG_BYE: return n == 2 ? dec_text(c, m) : FM_ERR_MALFORMED;
  case FM_MSG_CERT:
    return n == 2 && fm_rd_bin(c, &m->cert, &m->cert_len) == 0 ? 0 : FM_ERR_MALFORMED;
  case FM_MSG_PRESENCE: return n == 2 ? dec_presence(c, m) : FM_ERR_MALFORMED;
  case FM_MSG_PRESENCE_SUM:
    return n == 3 && fm_rd_bin_fixed(c, m->vdigest, 32) == 0 && fm_rd_uint(c, &m->u1) == 0
               ? 0 : FM_ERR_MALFORMED;
  case FM_MSG_PRESENCE_OFFER: return n == 3 ? dec_offer(c, m) : FM_ERR_MALFORMED;
  case FM_MSG_PACKED:
    return n == 2 && fm_rd_bin(c, &m->packed, &m->packed_len) == 0 ? 0 : FM_ERR_MALFORMED;
  case FM_MSG_ERROR:
    if (n != 3 || fm_rd_int(c, &m->code) < 0) return FM_ERR_MALFORMED;
    return dec_text(c, m);
  case FM_MSG_WANT: case FM_MSG_NOCHUNK: case FM_MSG_HELD:
    return n == 2 ? dec_ids(c, m) : FM_ERR_MALFORMED;
  case FM_MSG_CHUNK: return n == 3 ? dec_chunk(c, m) : FM_ERR_MALFORMED;
  default: return FM_ERR_PROTO;
  }
}

int fm_msg_decode(const uint8_t *p, size_t len, fm_msg *m) {
  fm_rd c;
  uint32_t n;
  uint64_t type;
  int rv;
  fm_msg_vitem *items = m->items;
  fm_slice *entries = m->entries;
  fm_msg_refusal *refused = m->refused;
  memset(m, 0, sizeof *m);
  m->items = items;
  m->entries = entries;
  m->refused = refused;
  fm_rd_init(&c, p, len, 1);
  if (fm_rd_array(&c, &n) < 0 || n < 1 || fm_rd_uint(&c, &type) < 0)
    return FM_ERR_MALFORMED;
  if (type < FM_MSG_HELLO || type > FM_MSG_HELD) return FM_ERR_PROTO;
  m->type = (fm_msg_type)type;
  if ((rv = dec_body(&c, n, m)) < 0) return rv;
  return fm_rd_done(&c) ? 0 : FM_ERR_MALFORMED;
}
