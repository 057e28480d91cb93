#include "fieldmesh/attach.h"

#include <string.h>

#include <sodium.h>

#include "fieldmesh/error.h"

static const char *const kinds[FM_ATT_KIND_COUNT] = {
    "id_card", "household_book", "application_form", "photo", "other"};

static const char AD_PREFIX[] = "fieldmesh attachment";

const char *fm_attach_kind_name(int k) {
  return k >= 0 && k < FM_ATT_KIND_COUNT ? kinds[k] : "unknown";
}

int fm_attach_kind_parse(const char *s, size_t n) {
  for (int i = 0; i < FM_ATT_KIND_COUNT; i++)
    if (strlen(kinds[i]) == n && memcmp(kinds[i], s, n) == 0) return i;
  return -1;
}

size_t fm_attach_nchunks(uint64_t size) {
  return size == 0 ? 1 : (size_t)((size + FM_ATTACH_CHUNK - 1) / FM_ATTACH_CHUNK);
}

size_t fm_attach_chunk_len(uint64_t size, size_t i) {
  uint64_t from = (uint64_t)i * FM_ATTACH_CHUNK;
  if (from >= size) return 0;
  return size - from < FM_ATTACH_CHUNK ? (size_t)(size - from) : FM_ATTACH_CHUNK;
}

/* Chunk |i|'s nonce (i little-endian) and associated data. */
static void chunk_params(size_t i, uint8_t nonce[24], uint8_t ad[sizeof AD_PREFIX + 3]) {
  uint64_t x = i;
  memset(nonce, 0, 24);
  for (int k = 0; k < 8; k++) nonce[k] = (uint8_t)(x >> (8 * k));
  memcpy(ad, AD_PREFIX, sizeof AD_PREFIX - 1);
  for (int k = 0; k < 4; k++) ad[sizeof AD_PREFIX - 1 + k] = (uint8_t)(x >> (24 - 8 * k));
}

void fm_attach_chunk_seal(const uint8_t key[static FM_ATTACH_KEY], size_t i,
                          const uint8_t *plain, size_t n, uint8_t *out,
                          uint8_t id[static FM_BLOB_ID]) {
  uint8_t nonce[24], ad[sizeof AD_PREFIX + 3];
  unsigned long long clen;
  FM_ASSERT(n <= FM_ATTACH_CHUNK);
  chunk_params(i, nonce, ad);
  crypto_aead_xchacha20poly1305_ietf_encrypt(out, &clen, plain, n, ad, sizeof ad, NULL,
                                             nonce, key);
  fm_blob_id(out, (size_t)clen, id);
}

int fm_attach_chunk_open(const uint8_t key[static FM_ATTACH_KEY], size_t i,
                         const uint8_t *ct, size_t n, uint8_t *out) {
  uint8_t nonce[24], ad[sizeof AD_PREFIX + 3];
  unsigned long long plen;
  if (n < FM_ATTACH_TAG || n > FM_ATTACH_CHUNK + FM_ATTACH_TAG) return FM_ERR_DECRYPT;
  chunk_params(i, nonce, ad);
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(out, &plen, NULL, ct, n, ad, sizeof ad,
                                                 nonce, key) != 0)
    return FM_ERR_DECRYPT;
  return 0;
}

void fm_blob_id(const uint8_t *p, size_t n, uint8_t id[static FM_BLOB_ID]) {
  crypto_generichash(id, FM_BLOB_ID, p, n, NULL, 0);
}

static int name_ok(const char *s, size_t n) {
  return n > 0 && n <= FM_ATTACH_NAME_MAX && !memchr(s, '/', n) && !memchr(s, 0, n);
}

static int attach_ok(const fm_attach *a) {
  return a->dossier_len > 0 && a->dossier_len <= 64 && a->kind >= 0 &&
         a->kind < FM_ATT_KIND_COUNT && (a->name_sealed || name_ok(a->name, a->name_len)) &&
         a->size > 0 && a->size <= FM_ATTACH_FILE_MAX &&
         a->nchunks == fm_attach_nchunks(a->size);
}

int fm_attach_body_sealed(fm_buf *out, const fm_attach *a, const fm_sealer *s) {
  fm_wr w;
  char hex[2 * FM_ATTACH_KEY + 1];
  if (!attach_ok(a) || !a->key || !a->name) return FM_ERR_INVAL;
  fm_wr_init(&w, out);
  fm_wr_map(&w, 7);
  fm_wr_cstr(&w, "dossier");
  fm_wr_str(&w, a->dossier, a->dossier_len);
  fm_wr_cstr(&w, "kind");
  fm_wr_cstr(&w, fm_attach_kind_name(a->kind));
  fm_wr_cstr(&w, "name");
  if (s) fm_seal_write(&w, s, a->dossier, a->dossier_len, FM_ATTACH_FIELD_NAME, a->name,
                       a->name_len);
  else fm_wr_str(&w, a->name, a->name_len);
  fm_wr_cstr(&w, "size");
  fm_wr_uint(&w, a->size);
  fm_wr_cstr(&w, "chunk");
  fm_wr_uint(&w, FM_ATTACH_CHUNK);
  fm_wr_cstr(&w, "chunks");
  fm_wr_bin(&w, a->chunks, a->nchunks * FM_BLOB_ID);
  fm_wr_cstr(&w, "key");
  if (s) {
    fm_hex(a->key, FM_ATTACH_KEY, hex);
    fm_seal_write(&w, s, a->dossier, a->dossier_len, FM_ATTACH_FIELD_KEY, hex, 2 * FM_ATTACH_KEY);
    sodium_memzero(hex, sizeof hex);
  } else {
    fm_wr_bin(&w, a->key, FM_ATTACH_KEY);
  }
  return fm_buf_error(out);
}

int fm_attach_body(fm_buf *out, const fm_attach *a) { return fm_attach_body_sealed(out, a, NULL); }

static int bin_of(const uint8_t *body, size_t len, const char *key, const uint8_t **p,
                  size_t *n) {
  fm_rd v;
  if (fm_body_find(body, len, key, &v) < 0 || fm_rd_bin(&v, p, n) < 0) return -1;
  return 0;
}

int fm_attach_parse(const uint8_t *body, size_t len, fm_attach *out) {
  fm_attach a;
  const char *kind;
  size_t kind_len, chunks_len, key_len;
  uint64_t chunk;
  memset(&a, 0, sizeof a);
  if (fm_body_str(body, len, "dossier", &a.dossier, &a.dossier_len) < 0 ||
      fm_body_str(body, len, "kind", &kind, &kind_len) < 0 ||
      (fm_body_str(body, len, "name", &a.name, &a.name_len) < 0 &&
       (bin_of(body, len, "name", &a.name_sealed, &a.name_sealed_len) < 0 ||
        a.name_sealed_len <= FM_SEAL_OVERHEAD)) ||
      fm_body_uint(body, len, "size", &a.size) < 0 ||
      fm_body_uint(body, len, "chunk", &chunk) < 0 || chunk != FM_ATTACH_CHUNK ||
      bin_of(body, len, "chunks", &a.chunks, &chunks_len) < 0 ||
      bin_of(body, len, "key", &a.key, &key_len) < 0)
    return FM_ERR_MALFORMED;
  if (a.name_sealed) a.name = NULL, a.name_len = 0;
  if (key_len != FM_ATTACH_KEY) {
    /* A sealed key: 64 hex digits and the seal's overhead. */
    if (key_len != 2 * FM_ATTACH_KEY + FM_SEAL_OVERHEAD) return FM_ERR_MALFORMED;
    a.key_sealed = a.key;
    a.key_sealed_len = key_len;
    a.key = NULL;
  }
  a.kind = fm_attach_kind_parse(kind, kind_len);
  if (chunks_len % FM_BLOB_ID) return FM_ERR_MALFORMED;
  a.nchunks = chunks_len / FM_BLOB_ID;
  if (!attach_ok(&a)) return FM_ERR_MALFORMED;
  *out = a;
  return 0;
}

int fm_attach_of_entry(const uint8_t *bytes, size_t len, fm_entry *e, fm_attach *a) {
  if (fm_entry_decode(bytes, len, NULL, e) < 0 || !fm_entry_is(e, FM_KIND_DOSSIER_ATTACH) ||
      fm_attach_parse(e->body, e->body_len, a) < 0)
    return FM_ERR_NOTFOUND;
  return 0;
}
