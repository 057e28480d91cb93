#include "fieldmesh/seal.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fieldmesh/error.h"
#include "fieldmesh/record.h"

#define AD_CTX "fieldmesh seal 1"
#define AD_MAX (sizeof AD_CTX + 9 + FM_KEY_LEN + FM_RECORD_ID_MAX + 1 + 32)
#define FIELD_MAX 32

/* The associated data: context, the value's format byte and grant seq
 * (|head|, 9 bytes), author, record id, field name.  0 or FM_ERR_INVAL
 * when the id or the field name is too long. */
static int make_ad(uint8_t ad[AD_MAX], size_t *len, const uint8_t *head, const uint8_t *author,
                   const char *id, size_t id_n, const char *field) {
  size_t fn = strlen(field), o = 0;
  if (id_n > FM_RECORD_ID_MAX || fn > FIELD_MAX) return FM_ERR_INVAL;
  memcpy(ad, AD_CTX, sizeof AD_CTX); /* with its NUL */
  o = sizeof AD_CTX;
  memcpy(ad + o, head, 9);
  o += 9;
  memcpy(ad + o, author, FM_KEY_LEN);
  o += FM_KEY_LEN;
  memcpy(ad + o, id, id_n);
  o += id_n;
  ad[o++] = 0;
  memcpy(ad + o, field, fn);
  *len = o + fn;
  return 0;
}

static void put_be64(uint8_t *p, uint64_t v) {
  for (int i = 7; i >= 0; i--, v >>= 8) p[i] = (uint8_t)v;
}

static uint64_t get_be64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = v << 8 | p[i];
  return v;
}

void fm_seal_write(fm_wr *w, const fm_sealer *s, const char *id, size_t id_n,
                   const char *field, const char *text, size_t n) {
  uint8_t ad[AD_MAX];
  size_t adn;
  unsigned long long cn;
  if (w->buf->err) return;
  uint8_t head[9];
  head[0] = FM_SEAL_FORMAT;
  put_be64(head + 1, s->grant_seq);
  if (n > FM_ENTRY_MAX || make_ad(ad, &adn, head, s->author, id, id_n, field)) {
    w->buf->err = FM_ERR_INVAL;
    return;
  }
  /* Ciphertext only: not secret, no need for locked memory. */
  size_t total = FM_SEAL_OVERHEAD + n;
  uint8_t small[512], *v = total <= sizeof small ? small : malloc(total);
  if (!v) {
    w->buf->err = -ENOMEM;
    return;
  }
  memcpy(v, head, sizeof head);
  s->rng.fill(s->rng.ctx, v + 9, FM_SEAL_NONCE_LEN);
  crypto_aead_xchacha20poly1305_ietf_encrypt(v + FM_SEAL_HEAD_LEN, &cn, (const uint8_t *)text, n,
                                             ad, adn, NULL, v + 9, s->key);
  fm_wr_bin(w, v, total);
  if (v != small) free(v);
}

int fm_seal_grant_of(const uint8_t *p, size_t n, uint64_t *grant_seq) {
  if (n < FM_SEAL_OVERHEAD || p[0] != FM_SEAL_FORMAT) return FM_ERR_MALFORMED;
  uint64_t seq = get_be64(p + 1);
  if (seq == 0) return FM_ERR_MALFORMED;
  *grant_seq = seq;
  return 0;
}

int fm_seal_open(const uint8_t key[static FM_SEAL_KEY_LEN], const uint8_t author[static FM_KEY_LEN],
                 const char *id, size_t id_n, const char *field, const uint8_t *p, size_t n,
                 char *out, size_t cap, size_t *out_n) {
  uint8_t ad[AD_MAX];
  size_t adn;
  uint64_t seq;
  unsigned long long mn;
  if (fm_seal_grant_of(p, n, &seq) || make_ad(ad, &adn, p, author, id, id_n, field))
    return FM_ERR_MALFORMED;
  if (n - FM_SEAL_OVERHEAD > cap) return FM_ERR_TOOBIG;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt((uint8_t *)out, &mn, NULL, p + FM_SEAL_HEAD_LEN,
                                                 n - FM_SEAL_HEAD_LEN, ad, adn, p + 9, key) != 0 ||
      !fm_utf8_valid(out, (size_t)mn)) {
    sodium_memzero(out, cap);
    return FM_ERR_BADSIG;
  }
  *out_n = (size_t)mn;
  return 0;
}

/* crypto_box_seal to the X25519 key |xpk|, with the ephemeral key from
 * |rng| instead of the library's own randomness: the same bytes, opened by
 * crypto_box_seal_open. */
static int box_seal_x(uint8_t out[FM_SEAL_BOX_LEN], const uint8_t key[FM_SEAL_KEY_LEN],
                      const uint8_t xpk[32], const fm_rng *rng) {
  uint8_t esk[32], seed[32], nonce[crypto_box_NONCEBYTES];
  crypto_generichash_state h;
  int rc = FM_ERR_INVAL;
  rng->fill(rng->ctx, seed, sizeof seed);
  crypto_box_seed_keypair(out, esk, seed);
  crypto_generichash_init(&h, NULL, 0, sizeof nonce);
  crypto_generichash_update(&h, out, 32);
  crypto_generichash_update(&h, xpk, 32);
  crypto_generichash_final(&h, nonce, sizeof nonce);
  if (crypto_box_easy(out + 32, key, FM_SEAL_KEY_LEN, nonce, xpk, esk) == 0) rc = 0;
  sodium_memzero(esk, sizeof esk);
  sodium_memzero(seed, sizeof seed);
  return rc;
}

/* The same to the X25519 form of the Ed25519 key |device|. */
static int box_seal(uint8_t out[FM_SEAL_BOX_LEN], const uint8_t key[FM_SEAL_KEY_LEN],
                    const uint8_t device[FM_KEY_LEN], const fm_rng *rng) {
  uint8_t xpk[32];
  if (crypto_sign_ed25519_pk_to_curve25519(xpk, device) != 0) return FM_ERR_INVAL;
  return box_seal_x(out, key, xpk, rng);
}

static int period_ok(const char *p) {
  if (!p || strlen(p) != FM_SEAL_PERIOD_LEN || p[4] != '-') return 0;
  for (int i = 0; i < FM_SEAL_PERIOD_LEN; i++)
    if (i != 4 && (p[i] < '0' || p[i] > '9')) return 0;
  return 1;
}

int fm_seal_grant_body(fm_buf *out, const char *period, const uint8_t (*devices)[FM_KEY_LEN],
                       size_t n, const uint8_t key[static FM_SEAL_KEY_LEN], const fm_rng *rng) {
  return fm_seal_grant_body_of(out, period, devices, n, key, rng, 0);
}

int fm_seal_grant_body_of(fm_buf *out, const char *period, const uint8_t (*devices)[FM_KEY_LEN],
                          size_t n, const uint8_t key[static FM_SEAL_KEY_LEN], const fm_rng *rng,
                          uint64_t of) {
  fm_seal_reader r[FM_SEAL_READERS_MAX];
  if (n == 0 || n > FM_SEAL_READERS_MAX) return FM_ERR_INVAL;
  for (size_t i = 0; i < n; i++) {
    memcpy(r[i].device, devices[i], FM_KEY_LEN);
    r[i].has_inbox = 0;
  }
  return fm_seal_grant_body_to(out, period, r, n, key, rng, of);
}

/* A grant's body, or with |writer| an extension's (`writer` and `of`
 * first). */
static int body_to(fm_buf *out, const uint8_t *writer, const char *period,
                   const fm_seal_reader *readers, size_t n, const uint8_t *key, const fm_rng *rng,
                   uint64_t of) {
  uint8_t box[FM_SEAL_BOX_LEN];
  fm_wr w;
  if (n == 0 || n > FM_SEAL_READERS_MAX || !period_ok(period) || (writer && !of))
    return FM_ERR_INVAL;
  fm_wr_init(&w, out);
  fm_wr_map(&w, writer ? 4 : of ? 3 : 2);
  if (writer) {
    fm_wr_cstr(&w, "writer");
    fm_wr_bin(&w, writer, FM_KEY_LEN);
    fm_wr_cstr(&w, "of");
    fm_wr_uint(&w, of);
  }
  fm_wr_cstr(&w, "period");
  fm_wr_cstr(&w, period);
  fm_wr_cstr(&w, "to");
  fm_wr_array(&w, (uint32_t)n);
  for (size_t i = 0; i < n; i++) {
    const fm_seal_reader *r = &readers[i];
    if (r->has_inbox ? box_seal_x(box, key, r->inbox, rng) : box_seal(box, key, r->device, rng))
      return FM_ERR_INVAL;
    fm_wr_array(&w, r->has_inbox ? 3 : 2);
    fm_wr_bin(&w, r->device, FM_KEY_LEN);
    fm_wr_bin(&w, box, sizeof box);
    if (r->has_inbox) fm_wr_bin(&w, r->inbox, FM_SEAL_INBOX_PK_LEN);
  }
  if (of && !writer) {
    fm_wr_cstr(&w, "of");
    fm_wr_uint(&w, of);
  }
  return fm_buf_error(out);
}

int fm_seal_grant_body_to(fm_buf *out, const char *period, const fm_seal_reader *readers,
                          size_t n, const uint8_t key[static FM_SEAL_KEY_LEN], const fm_rng *rng,
                          uint64_t of) {
  return body_to(out, NULL, period, readers, n, key, rng, of);
}

int fm_seal_extend_body(fm_buf *out, const uint8_t writer[static FM_KEY_LEN], uint64_t of,
                        const char *period, const fm_seal_reader *readers, size_t n,
                        const uint8_t key[static FM_SEAL_KEY_LEN], const fm_rng *rng) {
  if (of == 0) return FM_ERR_INVAL;
  return body_to(out, writer, period, readers, n, key, rng, of);
}

int fm_seal_extend_of(const fm_entry *e, uint8_t writer[static FM_KEY_LEN], uint64_t *of) {
  fm_rd v;
  uint64_t o;
  if (!fm_entry_is(e, FM_KIND_SEAL_EXTEND) || fm_body_find(e->body, e->body_len, "writer", &v) ||
      fm_rd_bin_fixed(&v, writer, FM_KEY_LEN) || fm_body_uint(e->body, e->body_len, "of", &o) ||
      o == 0)
    return FM_ERR_MALFORMED;
  *of = o;
  return 0;
}

/* Calls |each| for every item of grant |e| this version reads ([device,
 * box] or [device, box, inbox]; |inbox| NULL for the first) until it
 * returns non-zero.  0, that value, or FM_ERR_MALFORMED (then |each| may
 * have run for the items before the bad one). */
typedef int (*grant_item_fn)(void *ctx, const uint8_t *device, const uint8_t *box,
                             const uint8_t *inbox);

static int grant_each(const fm_entry *e, char period[8], grant_item_fn each, void *ctx) {
  fm_rd v;
  const char *ps;
  size_t pn;
  uint32_t n, two;
  uint8_t dev[FM_KEY_LEN], box[FM_SEAL_BOX_LEN], inbox[FM_SEAL_INBOX_PK_LEN];
  if ((!fm_entry_is(e, FM_KIND_SEAL_GRANT) && !fm_entry_is(e, FM_KIND_SEAL_EXTEND)) ||
      fm_body_str(e->body, e->body_len, "period", &ps, &pn) || pn != FM_SEAL_PERIOD_LEN)
    return FM_ERR_MALFORMED;
  memcpy(period, ps, pn);
  period[pn] = 0;
  if (!period_ok(period) || fm_body_find(e->body, e->body_len, "to", &v) ||
      fm_rd_array(&v, &n) || n == 0 || n > FM_SEAL_READERS_MAX)
    return FM_ERR_MALFORMED;
  for (uint32_t i = 0; i < n; i++) {
    if (fm_rd_array(&v, &two) || two < 2 || two > 8 || fm_rd_bin_fixed(&v, dev, sizeof dev) ||
        fm_rd_bin_fixed(&v, box, sizeof box))
      return FM_ERR_MALFORMED;
    /* Three with a bin 32: the box is wrapped to the device's inbox key
     * for the period (version 6).  Anything else: a later version's item,
     * skipped. */
    const uint8_t *ib;
    size_t ibn;
    int known = two == 2;
    uint32_t j = 2;
    if (two == 3 && fm_rd_peek(&v) == FM_MT_BIN) {
      if (fm_rd_bin(&v, &ib, &ibn)) return FM_ERR_MALFORMED;
      j = 3;
      if (ibn == sizeof inbox) {
        memcpy(inbox, ib, sizeof inbox);
        known = 1;
      }
    }
    for (; j < two; j++)
      if (fm_rd_skip(&v, 4, 64) < 0) return FM_ERR_MALFORMED;
    int rc = each && known ? each(ctx, dev, box, two == 3 ? inbox : NULL) : 0;
    if (rc) return rc;
  }
  return 0;
}

typedef struct list_ctx {
  fm_seal_reader *readers;
  size_t n;
} list_ctx;

static int list_one(void *ctx, const uint8_t *device, const uint8_t *box, const uint8_t *inbox) {
  list_ctx *l = ctx;
  fm_seal_reader *r = &l->readers[l->n++];
  (void)box;
  memcpy(r->device, device, FM_KEY_LEN);
  r->has_inbox = inbox != NULL;
  if (inbox) memcpy(r->inbox, inbox, FM_SEAL_INBOX_PK_LEN);
  return 0;
}

int fm_seal_grant_readers(const fm_entry *e, char period[static 8], fm_seal_reader *readers,
                          size_t *n) {
  list_ctx l = {readers, 0};
  int rc = grant_each(e, period, list_one, &l);
  /* A grant whose every item is of a later version names no reader this
   * version knows: nothing to read here. */
  if (rc || l.n == 0) return FM_ERR_MALFORMED;
  *n = l.n;
  return 0;
}

int fm_seal_grant_read(const fm_entry *e, char period[static 8],
                       uint8_t (*devices)[FM_KEY_LEN], size_t *n) {
  fm_seal_reader r[FM_SEAL_READERS_MAX];
  int rc = fm_seal_grant_readers(e, period, r, n);
  for (size_t i = 0; rc == 0 && i < *n; i++) memcpy(devices[i], r[i].device, FM_KEY_LEN);
  return rc;
}

typedef struct open_ctx {
  const uint8_t *self, *sk;
  const fm_seal_inbox_key *inbox;
  size_t ninbox;
  uint8_t *key;
} open_ctx;

static int open_one(void *ctx, const uint8_t *device, const uint8_t *box, const uint8_t *inbox) {
  open_ctx *o = ctx;
  uint8_t xpk[32], xsk[32], k[FM_SEAL_KEY_LEN];
  int rc = FM_ERR_BADSIG;
  if (memcmp(device, o->self, FM_KEY_LEN) != 0) return 0;
  if (inbox) {
    /* Wrapped to an inbox key: only its secret, if this device still
     * holds it, opens the box (the device key does not). */
    const fm_seal_inbox_key *ik = NULL;
    for (size_t i = 0; i < o->ninbox && !ik; i++)
      if (!memcmp(o->inbox[i].pk, inbox, FM_SEAL_INBOX_PK_LEN)) ik = &o->inbox[i];
    if (!ik) return FM_ERR_NOTFOUND;
    if (crypto_box_seal_open(k, box, FM_SEAL_BOX_LEN, ik->pk, ik->sk) == 0) {
      memcpy(o->key, k, sizeof k);
      rc = 1;
    }
  } else if (crypto_sign_ed25519_pk_to_curve25519(xpk, o->self) == 0 &&
             crypto_sign_ed25519_sk_to_curve25519(xsk, o->sk) == 0 &&
             crypto_box_seal_open(k, box, FM_SEAL_BOX_LEN, xpk, xsk) == 0) {
    memcpy(o->key, k, sizeof k);
    rc = 1;
  }
  sodium_memzero(xsk, sizeof xsk);
  sodium_memzero(k, sizeof k);
  return rc;
}

int fm_seal_grant_open_inbox(const fm_entry *e, const uint8_t self[static FM_KEY_LEN],
                             const uint8_t sk[static 64], const fm_seal_inbox_key *inbox,
                             size_t ninbox, uint8_t key[static FM_SEAL_KEY_LEN]) {
  char period[8];
  open_ctx o = {self, sk, inbox, ninbox, key};
  int rc = grant_each(e, period, open_one, &o);
  if (rc == 1) return 0;
  if (rc == FM_ERR_BADSIG || rc == FM_ERR_NOTFOUND) return rc;
  return rc ? FM_ERR_MALFORMED : FM_ERR_NOTFOUND;
}

int fm_seal_grant_open(const fm_entry *e, const uint8_t self[static FM_KEY_LEN],
                       const uint8_t sk[static 64], uint8_t key[static FM_SEAL_KEY_LEN]) {
  return fm_seal_grant_open_inbox(e, self, sk, NULL, 0, key);
}

/* ---- inbox keys ----------------------------------------------------------- */

void fm_seal_inbox_public(const uint8_t sk[static FM_SEAL_INBOX_PK_LEN],
                          uint8_t pk[static FM_SEAL_INBOX_PK_LEN]) {
  crypto_scalarmult_base(pk, sk);
}

int fm_seal_inbox_body(fm_buf *out, const fm_seal_inbox_key *keys, size_t n) {
  fm_wr w;
  if (n == 0 || n > FM_SEAL_INBOX_MAX) return FM_ERR_INVAL;
  for (size_t i = 0; i < n; i++)
    if (!period_ok(keys[i].period)) return FM_ERR_INVAL;
  fm_wr_init(&w, out);
  fm_wr_map(&w, 1);
  fm_wr_cstr(&w, "keys");
  fm_wr_array(&w, (uint32_t)n);
  for (size_t i = 0; i < n; i++) {
    fm_wr_array(&w, 2);
    fm_wr_cstr(&w, keys[i].period);
    fm_wr_bin(&w, keys[i].pk, FM_SEAL_INBOX_PK_LEN);
  }
  return fm_buf_error(out);
}

int fm_seal_inbox_read(const fm_entry *e, fm_seal_inbox_pub *out, size_t *n) {
  fm_rd v;
  uint32_t cnt, two;
  const char *ps;
  size_t pn;
  if (!fm_entry_is(e, FM_KIND_SEAL_INBOX) || fm_body_find(e->body, e->body_len, "keys", &v) ||
      fm_rd_array(&v, &cnt) || cnt == 0 || cnt > FM_SEAL_INBOX_MAX)
    return FM_ERR_MALFORMED;
  for (uint32_t i = 0; i < cnt; i++) {
    if (fm_rd_array(&v, &two) || two != 2 || fm_rd_str(&v, &ps, &pn) ||
        pn != FM_SEAL_PERIOD_LEN)
      return FM_ERR_MALFORMED;
    memcpy(out[i].period, ps, pn);
    out[i].period[pn] = 0;
    if (!period_ok(out[i].period) || fm_rd_bin_fixed(&v, out[i].pk, FM_SEAL_INBOX_PK_LEN))
      return FM_ERR_MALFORMED;
  }
  *n = cnt;
  return 0;
}

void fm_seal_period_add(const char *period, int months, char out[static 8]) {
  int y = (period[0] - '0') * 1000 + (period[1] - '0') * 100 + (period[2] - '0') * 10 +
          (period[3] - '0');
  int m = (period[5] - '0') * 10 + (period[6] - '0') - 1 + months;
  y += m >= 0 ? m / 12 : -((11 - m) / 12);
  m = ((m % 12) + 12) % 12 + 1;
  if (y < 0) y = 0, m = 1;
  if (y > 9999) y = 9999, m = 12;
  snprintf(out, 8, "%04d-%02d", y, m);
}

void fm_seal_period(fm_time ms, char out[static 8]) {
  time_t t = (time_t)(ms > 0 ? ms / 1000 : 0);
  struct tm tm;
  gmtime_r(&t, &tm);
  unsigned y = (unsigned)(tm.tm_year + 1900) % 10000, m = (unsigned)tm.tm_mon % 12 + 1;
  out[0] = (char)('0' + y / 1000);
  out[1] = (char)('0' + y / 100 % 10);
  out[2] = (char)('0' + y / 10 % 10);
  out[3] = (char)('0' + y % 10);
  out[4] = '-';
  out[5] = (char)('0' + m / 10);
  out[6] = (char)('0' + m % 10);
  out[7] = 0;
}
