/* Bundles, vector files and join files: one container, three uses.
 *
 * Reading trusts nothing until the trailer's checksum matches every byte
 * before it; only then is the header parsed, strictly, every length
 * checked against what is left before anything is allocated.  Writing goes
 * through fm_fsfile (a temporary file in the destination's folder, never
 * through a link, fsync'ed and renamed into place), so a USB stick pulled
 * out mid-write never holds a file that looks complete.
 */
#include "fieldmesh/bundle.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "fieldmesh/attach.h"
#include "fieldmesh/blob_store.h"
#include "fieldmesh/copies.h"
#include "fieldmesh/error.h"
#include "fieldmesh/fsfile.h"
#include "fieldmesh/presence_store.h"
#include "fieldmesh/scan_copies.h"
#include "fieldmesh/zpack.h"

#define MAGIC_LEN 8
#define HASH_LEN 32
#define TRAILER_HASH_LEN (2 + HASH_LEN)   /* bin 8 header, then the hash */
/* The smallest stored entry that can exist: [1, bin 32, seq, nil, hlc,
 * kind of 1 byte, {}] (42 bytes) and its bin 64 signature (66).  Smaller
 * items cannot be entries; refusing them bounds what a hostile count can
 * make us allocate. */
#define ENTRY_MIN 108
#define ITEM_MIN (ENTRY_MIN + 2)
#define VEC_ITEM_MIN (1 + 2 + FM_KEY_LEN + 1 + 2 + FM_ID_LEN)
#define HEADER_KEYS_MAX 64
#define SCANS_ITEM_MIN (1 + 2 + FM_KEY_LEN + 1)
#define HEADER_MAX ((size_t)64 << 20)
#define IMPORT_BATCH 1000

/* ---- reading ------------------------------------------------------------- */

static const char *const magics[] = {FM_BUNDLE_MAGIC, FM_VECTOR_MAGIC, FM_JOIN_MAGIC};

void fm_bundle_free(fm_bundle *b) {
  free(b->data);
  free(b->plain);
  fm_vector_free(&b->vector);
  free(b->certs);
  free(b->presence);
  free(b->scans);
  free(b->items);
  memset(b, 0, sizeof *b);
}

/* |out| is the magic this release writes for the kind: a bundle of any
 * format this release reads ("FMBNDL1" .. "FMBNDL4") reads as a bundle,
 * its digit in |*format| (0 for a vector or join file).  A known name
 * with another version digit is another release's format. */
static int check_magic(const uint8_t *data, size_t len, char out[9], unsigned *format) {
  static const char *const bundles[] = {FM_BUNDLE_MAGIC_V1, FM_BUNDLE_MAGIC_V2,
                                        FM_BUNDLE_MAGIC_V3, FM_BUNDLE_MAGIC};
  size_t n = len < MAGIC_LEN ? len : MAGIC_LEN;
  *format = 0;
  for (size_t i = 0; i < sizeof bundles / sizeof bundles[0]; i++) {
    if (memcmp(data, bundles[i], n) != 0) continue;
    if (len < MAGIC_LEN) return FM_ERR_TRUNCATED;
    memcpy(out, FM_BUNDLE_MAGIC, MAGIC_LEN + 1);
    *format = (unsigned)(bundles[i][6] - '0');
    return 0;
  }
  for (size_t i = 0; i < sizeof magics / sizeof magics[0]; i++) {
    if (memcmp(data, magics[i], n) != 0) {
      if (len >= MAGIC_LEN && memcmp(data, magics[i], 6) == 0 && data[6] >= '0' &&
          data[6] <= '9' && data[7] == '\n')
        return FM_ERR_VERSION;
      continue;
    }
    if (len < MAGIC_LEN) return FM_ERR_TRUNCATED;
    memcpy(out, magics[i], MAGIC_LEN + 1);
    return 0;
  }
  return FM_ERR_MALFORMED;
}

/* Finds the trailer [n, bin 32] at the end of |data| whose hash matches
 * every byte before it.  n's encoding has one of five widths; a hostile
 * file could make more than one of them look like a trailer, so each
 * candidate is tried and only a matching hash is believed.  No candidate
 * of the right shape: the file was cut short.  A shape but no match: it
 * was changed. */
static int find_trailer(const uint8_t *data, size_t len, size_t *start,
                        uint64_t *count) {
  static const size_t widths[] = {1, 2, 3, 5, 9};
  uint8_t hash[HASH_LEN];
  int shaped = 0;
  if (len < MAGIC_LEN + 1 + 1 + TRAILER_HASH_LEN) return FM_ERR_TRUNCATED;
  const uint8_t *th = data + len - TRAILER_HASH_LEN;
  if (th[0] != 0xc4 || th[1] != HASH_LEN) return FM_ERR_TRUNCATED;
  for (size_t i = 0; i < sizeof widths / sizeof widths[0]; i++) {
    size_t w = widths[i];
    if (len < MAGIC_LEN + 1 + w + TRAILER_HASH_LEN) break;
    size_t t = len - TRAILER_HASH_LEN - w - 1;
    fm_rd c;
    uint64_t n;
    if (data[t] != 0x92) continue;
    fm_rd_init(&c, data + t + 1, w, 1);
    if (fm_rd_uint(&c, &n) < 0 || !fm_rd_done(&c)) continue;
    shaped = 1;
    crypto_generichash(hash, HASH_LEN, data, t, NULL, 0);
    if (sodium_memcmp(hash, th + 2, HASH_LEN) == 0) {
      *start = t;
      *count = n;
      return 0;
    }
  }
  return shaped ? FM_ERR_CHECKSUM : FM_ERR_TRUNCATED;
}

static int parse_vector(fm_rd *c, fm_vector *v) {
  uint32_t n;
  if (fm_rd_array(c, &n) < 0) return FM_ERR_MALFORMED;
  if (n > fm_rd_left(c) / VEC_ITEM_MIN) return FM_ERR_MALFORMED;
  if (v->items) return FM_ERR_MALFORMED;
  if (n && !(v->items = calloc(n, sizeof *v->items))) return -ENOMEM;
  for (uint32_t i = 0; i < n; i++) {
    fm_vec_item *it = &v->items[i];
    uint32_t k;
    if (fm_rd_array(c, &k) < 0 || k != 3 ||
        fm_rd_bin_fixed(c, it->author, FM_KEY_LEN) < 0 ||
        fm_rd_uint(c, &it->seq) < 0 || fm_rd_bin_fixed(c, it->head, FM_ID_LEN) < 0)
      return FM_ERR_MALFORMED;
    v->n = i + 1;
  }
  return 0;
}

/* Reads one item or certificate: a bin the size an entry can have. */
static int read_item(fm_rd *c, fm_slice *out) {
  const uint8_t *p;
  size_t n;
  if (fm_rd_bin(c, &p, &n) < 0) return FM_ERR_MALFORMED;
  if (n < ENTRY_MIN || n > FM_ENTRY_MAX) return FM_ERR_MALFORMED;
  out->p = p;
  out->len = n;
  return 0;
}

static int parse_certs(fm_rd *c, fm_bundle *b) {
  uint32_t n;
  if (fm_rd_array(c, &n) < 0) return FM_ERR_MALFORMED;
  if (n > fm_rd_left(c) / ITEM_MIN || b->certs) return FM_ERR_MALFORMED;
  if (n && !(b->certs = calloc(n, sizeof *b->certs))) return -ENOMEM;
  for (uint32_t i = 0; i < n; i++) {
    if (read_item(c, &b->certs[i]) < 0) return FM_ERR_MALFORMED;
    b->ncerts = i + 1;
  }
  return 0;
}

static int parse_commune(fm_rd *c, char out[FM_NAME_MAX]) {
  const char *s;
  size_t n;
  if (fm_rd_str(c, &s, &n) < 0) return FM_ERR_MALFORMED;
  if (n >= FM_NAME_MAX || memchr(s, 0, n)) return FM_ERR_MALFORMED;
  memcpy(out, s, n);
  out[n] = 0;
  return 0;
}

/* Presence notes (presence.h): bins checked only when imported, so that
 * a bad note is dropped and counted there, never a reason to refuse the
 * file. */
static int parse_presence(fm_rd *c, fm_bundle *b) {
  uint32_t n;
  if (fm_rd_array(c, &n) < 0 || n > FM_BUNDLE_PRESENCE_MAX || b->presence)
    return FM_ERR_MALFORMED;
  if (n && !(b->presence = calloc(n, sizeof *b->presence))) return -ENOMEM;
  for (uint32_t i = 0; i < n; i++) {
    if (fm_rd_bin(c, &b->presence[i].p, &b->presence[i].len) < 0) return FM_ERR_MALFORMED;
    b->npresence = i + 1;
  }
  return 0;
}

/* `scans`: [[author bin 32, upto uint] ...]. */
static int parse_scans(fm_rd *c, fm_bundle *b) {
  uint32_t n;
  if (fm_rd_array(c, &n) < 0 || n > fm_rd_left(c) / SCANS_ITEM_MIN || b->scans)
    return FM_ERR_MALFORMED;
  if (n && !(b->scans = calloc(n, sizeof *b->scans))) return -ENOMEM;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t k;
    if (fm_rd_array(c, &k) < 0 || k != 2 ||
        fm_rd_bin_fixed(c, b->scans[i].author, FM_KEY_LEN) < 0 ||
        fm_rd_uint(c, &b->scans[i].upto) < 0)
      return FM_ERR_MALFORMED;
    b->nscans = i + 1;
  }
  return 0;
}

static int key_is(const char *k, size_t n, const char *name) {
  return strlen(name) == n && memcmp(k, name, n) == 0;
}

/* The header map: the six known keys, each exactly once, in any order;
 * unknown keys (a later version's additions) are skipped. */
static int parse_header(fm_rd *c, fm_bundle *b) {
  uint32_t n;
  unsigned seen = 0, bit;
  uint64_t created;
  int rv;
  if (fm_rd_map(c, &n) < 0 || n > HEADER_KEYS_MAX) return FM_ERR_MALFORMED;
  for (uint32_t i = 0; i < n; i++) {
    const uint8_t *key_at = c->p;
    const char *k;
    size_t kn;
    if (fm_rd_str(c, &k, &kn) < 0) return FM_ERR_MALFORMED;
    if (key_is(k, kn, "sig")) {
      /* Last, so that it covers every other byte of the header. */
      if (i != n - 1 || fm_rd_bin_fixed(c, b->sig, 64) < 0) return FM_ERR_MALFORMED;
      b->has_sig = 1;
      b->signed_len = (size_t)(key_at - b->data);
      continue;
    } else if (key_is(k, kn, "from")) {
      bit = 1;
      rv = fm_rd_bin_fixed(c, b->from, FM_KEY_LEN);
    } else if (key_is(k, kn, "authority")) {
      bit = 2;
      rv = fm_rd_bin_fixed(c, b->authority, FM_KEY_LEN);
    } else if (key_is(k, kn, "commune")) {
      bit = 4;
      rv = parse_commune(c, b->commune);
    } else if (key_is(k, kn, "created")) {
      bit = 8;
      rv = fm_rd_uint(c, &created) < 0 || created > INT64_MAX ? FM_ERR_MALFORMED : 0;
      b->created = (fm_time)created;
    } else if (key_is(k, kn, "vector")) {
      bit = 16;
      rv = parse_vector(c, &b->vector);
    } else if (key_is(k, kn, "certs")) {
      bit = 32;
      rv = parse_certs(c, b);
    } else if (key_is(k, kn, "presence")) {
      bit = 64;   /* optional */
      rv = parse_presence(c, b);
    } else if (key_is(k, kn, "chunks")) {
      uint64_t nc;
      bit = 128;  /* optional, FMBNDL3 and FMBNDL4 */
      rv = fm_rd_uint(c, &nc) < 0 || nc > SIZE_MAX / 2 ? FM_ERR_MALFORMED : 0;
      b->nchunks = (size_t)nc;
    } else if (key_is(k, kn, "scans")) {
      bit = 256;  /* optional */
      rv = parse_scans(c, b);
    } else {
      bit = 0;
      rv = fm_rd_skip(c, 8, 1u << 16) < 0 ? FM_ERR_MALFORMED : 0;
    }
    if (rv < 0) return rv;
    if (seen & bit) return FM_ERR_MALFORMED;
    seen |= bit;
  }
  return (seen & 63) == 63 ? 0 : FM_ERR_MALFORMED;
}

/* An attachment chunk: a bin of a size a sealed chunk can have. */
static int read_chunk(fm_rd *c, fm_slice *out) {
  const uint8_t *p;
  size_t n;
  if (fm_rd_bin(c, &p, &n) < 0) return FM_ERR_MALFORMED;
  if (n <= FM_ATTACH_TAG || n > FM_ATTACH_CHUNK + FM_ATTACH_TAG) return FM_ERR_MALFORMED;
  out->p = p;
  out->len = n;
  return 0;
}

/* Reads exactly |count| items from |c|, which ends where the trailer
 * starts: entries, then the |b->nchunks| chunks the header announced
 * (FMBNDL3 only). */
static int parse_items(fm_rd *c, uint64_t count, int chunky, fm_bundle *b) {
  size_t nchunks = b->nchunks;
  size_t min = chunky ? 2 + FM_ATTACH_TAG + 1 : ITEM_MIN;
  if (count > fm_rd_left(c) / min || nchunks > count || (nchunks && !chunky))
    return FM_ERR_MALFORMED;
  if (count && !(b->items = calloc((size_t)count, sizeof *b->items))) return -ENOMEM;
  b->nchunks = 0;
  for (uint64_t i = 0; i < count; i++) {
    int chunk = i >= count - nchunks;
    if ((chunk ? read_chunk(c, &b->items[i]) : read_item(c, &b->items[i])) < 0)
      return FM_ERR_MALFORMED;
    if (chunk) b->nchunks++;
    else b->nitems = (size_t)i + 1;
  }
  b->chunks = b->items ? b->items + b->nitems : NULL;
  return fm_rd_done(c) ? 0 : FM_ERR_MALFORMED;
}

/* What the |nsec| sections at |c| unpack to, from their headers alone:
 * each within its bounds (fm_zpack_section_size), all together at most
 * FM_BUNDLE_FILE_MAX -- an FMBNDL4 bundle holds no more entry bytes than
 * an FMBNDL3 one can.  Leaves |c| after the sections. */
static int sections_size(fm_rd *c, size_t nsec, size_t *total) {
  size_t sum = 0;
  for (size_t i = 0; i < nsec; i++) {
    const uint8_t *p;
    size_t n, size;
    int rv;
    if (fm_rd_bin(c, &p, &n) < 0) return FM_ERR_MALFORMED;
    if ((rv = fm_zpack_section_size(p, n, &size)) < 0) return rv;
    if (size < ITEM_MIN) return FM_ERR_MALFORMED;
    if (size > FM_BUNDLE_FILE_MAX - sum) return FM_ERR_BOMB;
    sum += size;
  }
  *total = sum;
  return 0;
}

/* Unpacks the |nsec| sections at |c| into |b->plain| and reads their
 * entries: each section whole entries, |nentries| in all. */
static int unpack_sections(fm_rd *c, size_t nsec, uint64_t nentries, fm_bundle *b) {
  fm_zpack *z;
  size_t off = 0;
  int rv = fm_zpack_new(&z);
  for (size_t i = 0; rv == 0 && i < nsec; i++) {
    const uint8_t *p;
    size_t n, size;
    fm_rd s;
    if (fm_rd_bin(c, &p, &n) < 0 || fm_zpack_section_size(p, n, &size) < 0 ||
        size > b->plain_len - off) {
      rv = FM_ERR_MALFORMED;   /* checked by sections_size(): cannot happen */
      break;
    }
    if ((rv = fm_zpack_section_unpack(z, p, n, b->plain + off, size)) < 0) break;
    fm_rd_init(&s, b->plain + off, size, 1);
    while (rv == 0 && !fm_rd_done(&s)) {
      if (b->nitems == nentries) rv = FM_ERR_MALFORMED;
      else rv = read_item(&s, &b->items[b->nitems++]);
    }
    off += size;
  }
  fm_zpack_free(z);
  if (rv == 0 && (b->nitems != nentries || off != b->plain_len)) rv = FM_ERR_MALFORMED;
  return rv;
}

/* FMBNDL4: sections of packed entries, then the chunks as in FMBNDL3.
 * Every bound is checked before anything is allocated or unpacked. */
static int parse_packed(fm_rd *c, uint64_t count, fm_bundle *b) {
  size_t nchunks = b->nchunks, nbins = 0, nsec, total = 0;
  fm_rd w = *c;
  int rv;
  while (!fm_rd_done(&w)) {
    const uint8_t *p;
    size_t n;
    if (fm_rd_bin(&w, &p, &n) < 0) return FM_ERR_MALFORMED;
    nbins++;
  }
  if (nchunks > nbins || nchunks > count) return FM_ERR_MALFORMED;
  nsec = nbins - nchunks;
  uint64_t nentries = count - nchunks;
  w = *c;
  if ((rv = sections_size(&w, nsec, &total)) < 0) return rv;
  /* Every section holds an entry at least; every entry takes ITEM_MIN. */
  if (nsec > nentries || nentries > total / ITEM_MIN) return FM_ERR_MALFORMED;
  if (total && !(b->plain = malloc(total))) return -ENOMEM;
  b->plain_len = total;
  if (count && !(b->items = calloc((size_t)count, sizeof *b->items))) return -ENOMEM;
  if ((rv = unpack_sections(c, nsec, nentries, b)) < 0) return rv;
  b->nchunks = 0;
  for (size_t i = 0; i < nchunks; i++) {
    if (read_chunk(c, &b->items[b->nitems + i]) < 0) return FM_ERR_MALFORMED;
    b->nchunks++;
  }
  b->chunks = b->items ? b->items + b->nitems : NULL;
  return fm_rd_done(c) ? 0 : FM_ERR_MALFORMED;
}

int fm_bundle_parse(uint8_t *data, size_t len, fm_bundle *b) {
  fm_bundle nb;
  size_t tstart;
  uint64_t count;
  fm_rd c;
  int rv;
  memset(&nb, 0, sizeof nb);
  nb.data = data;
  nb.len = len;
  if (len > FM_BUNDLE_FILE_MAX) rv = FM_ERR_TOOBIG;
  else if ((rv = check_magic(data, len, nb.magic, &nb.format)) == 0 &&
           (rv = find_trailer(data, len, &tstart, &count)) == 0) {
    fm_rd_init(&c, data + MAGIC_LEN, tstart - MAGIC_LEN, 1);
    if ((rv = parse_header(&c, &nb)) == 0)
      rv = nb.format == 4 ? parse_packed(&c, count, &nb)
                          : parse_items(&c, count, nb.format == 3, &nb);
  }
  if (rv < 0) {
    fm_bundle_free(&nb);
    return rv;
  }
  *b = nb;
  return 0;
}

int fm_bundle_read(const char *path, fm_bundle *b) {
  uint8_t *data;
  size_t len;
  /* A FIFO or device (a named pipe on a stick) is refused at once. */
  int rv = fm_fsfile_read(path, FM_BUNDLE_FILE_MAX, &data, &len);
  if (rv < 0) return rv;
  return fm_bundle_parse(data, len, b);
}

/* ---- writing ------------------------------------------------------------- */

typedef struct bundle_out {
  fm_fsfile f;
  crypto_generichash_state hash;
  uint64_t count;   /* items written (entries and chunks, packed or not) */
  int err;          /* first error, sticky */
  /* FMBNDL4: entries gather in |sec| until the next would pass
   * FM_ZPACK_SECTION_MAX, then go out packed as one section. */
  fm_zpack *z;      /* NULL: entries go out as they are */
  fm_buf sec;
  uint8_t *packed;  /* fm_zpack_section_bound(FM_ZPACK_SECTION_MAX) bytes */
} bundle_out;

/* |pack|: the entries go out in packed sections (FMBNDL4). */
static int out_open(bundle_out *o, const char *path, int pack) {
  int rv;
  memset(o, 0, sizeof *o);
  fm_buf_init(&o->sec, FM_ZPACK_SECTION_MAX);
  if (pack) {
    if ((rv = fm_zpack_new(&o->z)) < 0) return rv;
    if (!(o->packed = malloc(fm_zpack_section_bound(FM_ZPACK_SECTION_MAX)))) {
      fm_zpack_free(o->z);
      return -ENOMEM;
    }
  }
  /* 0600: bundles carry applicants' names, id numbers and phones. */
  if ((rv = fm_fsfile_begin(&o->f, path, 0600)) < 0) {
    fm_zpack_free(o->z);
    free(o->packed);
    return rv;
  }
  crypto_generichash_init(&o->hash, NULL, 0, HASH_LEN);
  return 0;
}

/* What out_open() took, whether the file was committed or not. */
static void out_release(bundle_out *o) {
  fm_zpack_free(o->z);
  free(o->packed);
  fm_buf_free(&o->sec);
  o->z = NULL;
  o->packed = NULL;
}

static void out_put(bundle_out *o, const void *p, size_t n) {
  if (o->err) return;
  if ((o->err = fm_fsfile_write(&o->f, p, n)) < 0) return;
  crypto_generichash_update(&o->hash, p, n);
}

static void out_abort(bundle_out *o) {
  fm_fsfile_abort(&o->f);
  out_release(o);
}

/* Appends the trailer, makes the file durable and gives it its name. */
static int out_commit(bundle_out *o) {
  uint8_t hash[HASH_LEN];
  fm_buf tb;
  fm_wr w;
  int rv = o->err;
  crypto_generichash_final(&o->hash, hash, HASH_LEN);
  fm_buf_init(&tb, 64);
  fm_wr_init(&w, &tb);
  fm_wr_array(&w, 2);
  fm_wr_uint(&w, o->count);
  fm_wr_bin(&w, hash, HASH_LEN);
  if (rv == 0) rv = fm_buf_error(&tb);
  if (rv == 0) rv = fm_fsfile_write(&o->f, tb.p, tb.len);
  fm_buf_free(&tb);
  out_release(o);
  if (rv < 0) {
    fm_fsfile_abort(&o->f);
    return rv;
  }
  /* Replaces an older bundle of that name (or a link there, not what it
   * points to). */
  return fm_fsfile_commit(&o->f, FM_FSFILE_REPLACE);
}

typedef struct cert_list {
  fm_buf buf;   /* encoded bins */
  uint32_t n;
} cert_list;

static int collect_cert(void *ctx, const uint8_t *bytes, size_t len) {
  cert_list *cl = ctx;
  fm_wr w;
  fm_wr_init(&w, &cl->buf);
  fm_wr_bin(&w, bytes, len);
  cl->n++;
  return fm_buf_error(&cl->buf);
}

/* Who a container is from: the device, or the authority on an
 * administrator's machine that has no device key of its own. */
static int header_ids(fm_store *s, uint8_t from[FM_KEY_LEN],
                      uint8_t auth[FM_KEY_LEN], char commune[FM_NAME_MAX]) {
  int rv = fm_store_authority(s, auth, commune);
  if (rv < 0) return rv;
  if (fm_store_self(s, from) < 0) memcpy(from, auth, FM_KEY_LEN);
  return 0;
}

/* Writes magic and header.  |cert| NULL: every certificate the store
 * holds; otherwise just that one.  |vec| NULL: an empty vector. */
/* The `scans` items for the authors of |vec|: up to where this store
 * holds every chunk of each one's scans (none when it holds no chunk).
 * Into |out|, encoded; their number in |*n|. */
static int collect_scans(fm_store *s, const fm_vector *vec, fm_buf *out, uint32_t *n) {
  fm_wr w;
  int full = 0, rv;
  *n = 0;
  /* A store with no chunk holds no scan whole: nothing to walk. */
  if (!vec || (rv = fm_store_blob_full(s, 1, &full)) < 0 || !full) return 0;
  fm_wr_init(&w, out);
  for (size_t i = 0; i < vec->n; i++) {
    uint64_t upto;
    if ((rv = fm_store_scans_held_upto(s, vec->items[i].author, &upto)) < 0) return rv;
    if (upto == 0) continue;
    fm_wr_array(&w, 2);
    fm_wr_bin(&w, vec->items[i].author, FM_KEY_LEN);
    fm_wr_uint(&w, upto);
    (*n)++;
  }
  return fm_buf_error(out);
}

static int write_header(bundle_out *o, fm_store *s, const fm_identity *id,
                        const char *magic, const fm_vector *vec, const uint8_t *cert,
                        size_t cert_len, const cert_list *notes, size_t nchunks,
                        fm_time now) {
  uint8_t from[FM_KEY_LEN], auth[FM_KEY_LEN];
  char commune[FM_NAME_MAX];
  cert_list cl;
  fm_buf hb;
  fm_wr w;
  int rv;
  if ((rv = header_ids(s, from, auth, commune)) < 0) return rv;
  /* Only the device the header names can sign it. */
  int sign = id && !memcmp(id->pk, from, FM_KEY_LEN);
  fm_buf_init(&cl.buf, HEADER_MAX);
  cl.n = 0;
  if (cert) rv = collect_cert(&cl, cert, cert_len);
  else rv = fm_store_each_cert(s, collect_cert, &cl);
  fm_buf scans;
  uint32_t nscans = 0;
  fm_buf_init(&scans, HEADER_MAX);
  if (rv == 0 && sign) rv = collect_scans(s, vec, &scans, &nscans);
  fm_buf_init(&hb, HEADER_MAX);
  fm_wr_init(&w, &hb);
  fm_wr_raw(&w, magic, MAGIC_LEN);
  fm_wr_map(&w, (sign ? 7 : 6) + (notes ? 1 : 0) + (nchunks ? 1 : 0) + (nscans ? 1 : 0));
  fm_wr_cstr(&w, "from");
  fm_wr_bin(&w, from, FM_KEY_LEN);
  fm_wr_cstr(&w, "authority");
  fm_wr_bin(&w, auth, FM_KEY_LEN);
  fm_wr_cstr(&w, "commune");
  fm_wr_cstr(&w, commune);
  fm_wr_cstr(&w, "created");
  fm_wr_uint(&w, now > 0 ? (uint64_t)now : 0);
  fm_wr_cstr(&w, "vector");
  fm_wr_array(&w, vec ? (uint32_t)vec->n : 0);
  for (size_t i = 0; vec && i < vec->n; i++) {
    fm_wr_array(&w, 3);
    fm_wr_bin(&w, vec->items[i].author, FM_KEY_LEN);
    fm_wr_uint(&w, vec->items[i].seq);
    fm_wr_bin(&w, vec->items[i].head, FM_ID_LEN);
  }
  fm_wr_cstr(&w, "certs");
  fm_wr_array(&w, cl.n);
  if (rv == 0 && cl.buf.len) fm_wr_raw(&w, cl.buf.p, cl.buf.len);
  if (notes) {
    fm_wr_cstr(&w, "presence");
    fm_wr_array(&w, notes->n);
    if (notes->buf.len) fm_wr_raw(&w, notes->buf.p, notes->buf.len);
  }
  if (nchunks) {
    fm_wr_cstr(&w, "chunks");
    fm_wr_uint(&w, nchunks);
  }
  if (nscans) {
    fm_wr_cstr(&w, "scans");
    fm_wr_array(&w, nscans);
    fm_wr_raw(&w, scans.p, scans.len);
  }
  if (rv == 0) rv = fm_buf_error(&hb);
  if (rv == 0 && sign) {
    uint8_t h[HASH_LEN], sig[64];
    fm_blake2b(h, sizeof h, hb.p, hb.len, NULL, 0);
    if ((rv = fm_identity_sign(id, FM_CTX_BUNDLE, h, sizeof h, sig)) == 0) {
      fm_wr_cstr(&w, "sig");
      fm_wr_bin(&w, sig, sizeof sig);
      rv = fm_buf_error(&hb);
    }
  }
  if (rv == 0) out_put(o, hb.p, hb.len);
  fm_buf_free(&hb);
  fm_buf_free(&scans);
  fm_buf_free(&cl.buf);
  return rv < 0 ? rv : o->err;
}

/* The bin header MessagePack gives |len| bytes (shortest form). */
static size_t bin_header(size_t len, uint8_t out[5]) {
  if (len < 256) {
    out[0] = 0xc4;
    out[1] = (uint8_t)len;
    return 2;
  }
  if (len < 65536) {
    out[0] = 0xc5;
    out[1] = (uint8_t)(len >> 8);
    out[2] = (uint8_t)len;
    return 3;
  }
  out[0] = 0xc6;
  for (int i = 0; i < 4; i++) out[1 + i] = (uint8_t)(len >> (24 - 8 * i));
  return 5;
}

/* An entry goes out as stored, never re-encoded: only its bin header is
 * made here. */
static int write_item(void *ctx, const uint8_t *bytes, size_t len) {
  bundle_out *o = ctx;
  uint8_t hdr[5];
  out_put(o, hdr, bin_header(len, hdr));
  out_put(o, bytes, len);
  o->count++;
  return o->err;
}

/* The entries gathered so far go out as one packed section. */
static int flush_section(bundle_out *o) {
  uint8_t hdr[5];
  size_t n;
  int rv;
  if (o->err || !o->sec.len) return o->err;
  rv = fm_zpack_section_pack(o->z, o->sec.p, o->sec.len, o->packed,
                             fm_zpack_section_bound(FM_ZPACK_SECTION_MAX), &n);
  if (rv < 0) return o->err = rv;
  out_put(o, hdr, bin_header(n, hdr));
  out_put(o, o->packed, n);
  fm_buf_reset(&o->sec);
  return o->err;
}

/* An entry: as it is, or (FMBNDL4) into the section being gathered, as
 * the same bin an FMBNDL3 bundle would hold. */
static int write_entry(void *ctx, const uint8_t *bytes, size_t len) {
  bundle_out *o = ctx;
  uint8_t hdr[5];
  size_t h;
  if (!o->z) return write_item(ctx, bytes, len);
  h = bin_header(len, hdr);
  if (o->sec.len + h + len > FM_ZPACK_SECTION_MAX && flush_section(o) < 0) return o->err;
  if (fm_buf_put(&o->sec, hdr, h) < 0 || fm_buf_put(&o->sec, bytes, len) < 0)
    return o->err = fm_buf_error(&o->sec);
  o->count++;
  return 0;
}

static int collect_note(void *ctx, const fm_presence *p, const uint8_t *bytes, size_t len,
                        fm_time received) {
  cert_list *cl = ctx;
  (void)p, (void)received;
  if (cl->n == FM_BUNDLE_PRESENCE_MAX) return 1;
  return collect_cert(ctx, bytes, len);
}

/* A bundle carries the notes its writer holds, its own made fresh when a
 * minute old (presence_store.h). */
static int collect_notes(fm_store *s, const fm_identity *id, fm_time now, cert_list *cl) {
  int rv;
  cl->n = 0;
  /* A store opened read-only makes no note: it still passes on those held. */
  if (id) (void)fm_store_presence_make(s, id, NULL, now);
  rv = fm_store_presence_each(s, collect_note, cl);
  return rv < 0 ? rv : fm_buf_error(&cl->buf);
}

/* The chunks a bundle carries: ids of those held, in the order their
 * entries go out, within a byte budget. */
typedef struct chunk_plan {
  fm_store *s;
  fm_buf ids;          /* 32 bytes each */
  uint64_t budget;     /* bytes of chunks still allowed */
  size_t skipped;      /* held, but over the budget */
} chunk_plan;

static int plan_entry(void *ctx, const uint8_t *bytes, size_t len) {
  chunk_plan *cp = ctx;
  fm_entry e;
  fm_attach a;
  if (fm_attach_of_entry(bytes, len, &e, &a) < 0) return 0;
  for (size_t i = 0; i < a.nchunks; i++) {
    const uint8_t *id = a.chunks + i * FM_BLOB_ID;
    size_t held, clen = fm_attach_chunk_len(a.size, i) + FM_ATTACH_TAG;
    int rv = fm_store_blob_count(cp->s, id, 1, &held);
    if (rv < 0) return rv;
    if (!held) continue;
    if (clen > cp->budget) {
      cp->skipped++;
      continue;
    }
    cp->budget -= clen;
    fm_buf_put(&cp->ids, id, FM_BLOB_ID);
  }
  return fm_buf_error(&cp->ids);
}

static int write_chunks(bundle_out *o, fm_store *s, const chunk_plan *cp) {
  uint8_t *ct = malloc(FM_ATTACH_CHUNK + FM_ATTACH_TAG);
  int rv = ct ? 0 : -ENOMEM;
  for (size_t i = 0; rv == 0 && i < cp->ids.len / FM_BLOB_ID; i++) {
    size_t n;
    rv = fm_store_blob_get(s, cp->ids.p + i * FM_BLOB_ID, ct, FM_ATTACH_CHUNK + FM_ATTACH_TAG,
                           &n);
    if (rv == 0) rv = write_item(o, ct, n);
  }
  free(ct);
  return rv;
}

static int write_container(fm_store *s, const fm_identity *id, const char *magic,
                           const fm_vector *theirs, int with_items, const uint8_t *cert,
                           size_t cert_len, const char *path, fm_time now, size_t *count,
                           chunk_plan *cp) {
  bundle_out o;
  fm_vector mine = {0, NULL};
  int rv;
  if (cp && cp->budget && (rv = fm_store_each_missing(s, theirs, plan_entry, cp)) < 0)
    return rv;
  size_t nchunks = cp ? cp->ids.len / FM_BLOB_ID : 0;
  if (!cert && (rv = fm_store_vector(s, &mine)) < 0) return rv;
  if ((rv = out_open(&o, path, !strcmp(magic, FM_BUNDLE_MAGIC))) < 0) {
    fm_vector_free(&mine);
    return rv;
  }
  cert_list notes;
  fm_buf_init(&notes.buf, HEADER_MAX);
  rv = with_items ? collect_notes(s, id, now, &notes) : 0;
  if (rv == 0)
    rv = write_header(&o, s, id, magic, cert ? NULL : &mine, cert, cert_len,
                      with_items ? &notes : NULL, nchunks, now);
  fm_buf_free(&notes.buf);
  fm_vector_free(&mine);
  if (rv == 0 && with_items) rv = fm_store_each_missing(s, theirs, write_entry, &o);
  if (rv == 0 && o.z) rv = flush_section(&o);
  if (rv == 0 && nchunks) rv = write_chunks(&o, s, cp);
  if (rv == 0 && o.err) rv = o.err;
  if (rv < 0) {
    out_abort(&o);
    return rv;
  }
  if ((rv = out_commit(&o)) < 0) return rv;
  if (count) *count = (size_t)o.count - nchunks;
  return 0;
}

int fm_bundle_export(fm_store *s, const fm_identity *id, const fm_vector *theirs,
                     const char *path, fm_time now, size_t *count) {
  return write_container(s, id, FM_BUNDLE_MAGIC, theirs, 1, NULL, 0, path, now, count, NULL);
}

int fm_bundle_export_chunks(fm_store *s, const fm_identity *id, const fm_vector *theirs,
                            const char *path, fm_time now, uint64_t chunk_bytes,
                            size_t *count, size_t *chunks, size_t *skipped) {
  return fm_bundle_export_format(s, id, theirs, path, now, FM_BUNDLE_FORMAT, chunk_bytes,
                                 count, chunks, skipped);
}

int fm_bundle_export_format(fm_store *s, const fm_identity *id, const fm_vector *theirs,
                            const char *path, fm_time now, unsigned format,
                            uint64_t chunk_bytes, size_t *count, size_t *chunks,
                            size_t *skipped) {
  const char *magic = format == 0 || format == FM_BUNDLE_FORMAT ? FM_BUNDLE_MAGIC
                      : format == 3                             ? FM_BUNDLE_MAGIC_V3
                                                                : NULL;
  if (!magic) return FM_ERR_INVAL;
  chunk_plan cp = {s, {0}, chunk_bytes, 0};
  fm_buf_init(&cp.ids, SIZE_MAX);
  int rv = write_container(s, id, magic, theirs, 1, NULL, 0, path, now, count, &cp);
  if (rv == 0 && chunks) *chunks = cp.ids.len / FM_BLOB_ID;
  if (rv == 0 && skipped) *skipped = cp.skipped;
  fm_buf_free(&cp.ids);
  return rv;
}

int fm_vector_export(fm_store *s, const fm_identity *id, const char *path, fm_time now) {
  return write_container(s, id, FM_VECTOR_MAGIC, NULL, 0, NULL, 0, path, now, NULL, NULL);
}

int fm_join_export(fm_store *s, const uint8_t *cert, size_t cert_len,
                   const char *path, fm_time now) {
  if (!cert || !cert_len) return FM_ERR_INVAL;
  return write_container(s, NULL, FM_JOIN_MAGIC, NULL, 0, cert, cert_len, path, now, NULL,
                         NULL);
}

/* ---- importing ------------------------------------------------------------ */

static void add_result(fm_ingest_result *sum, const fm_ingest_result *r) {
  sum->accepted += r->accepted;
  sum->duplicate += r->duplicate;
  sum->held += r->held;
  sum->quarantined += r->quarantined;
  sum->refused += r->refused;
  sum->clock_ahead += r->clock_ahead;
  sum->released += r->released;
  sum->rolled_back += r->rolled_back;
  if (!sum->first_error) sum->first_error = r->first_error;
  if (r->max_hlc > sum->max_hlc) sum->max_hlc = r->max_hlc;
}

/* A certificate that does not install is the certificate's fault (bad
 * bytes, bad signature, another authority): it is counted as refused and
 * the rest of the bundle still goes in.  Anything else is the store's. */
static int install_certs(fm_store *s, const fm_bundle *b, fm_time now,
                         fm_ingest_result *sum) {
  for (size_t i = 0; i < b->ncerts; i++) {
    int rv = fm_store_add_cert(s, b->certs[i].p, b->certs[i].len, now, NULL);
    if (rv == FM_ERR_MALFORMED || rv == FM_ERR_BADSIG || rv == FM_ERR_MESH ||
        rv == FM_ERR_TOOBIG || rv == FM_ERR_VERSION) {
      sum->refused++;
      if (!sum->first_error) sum->first_error = rv;
    } else if (rv < 0) {
      return rv;
    }
  }
  return 0;
}

/* The header's word, checked: signed by |from|, a device of this commune
 * that is still trusted. */
static int signed_by_peer(fm_store *s, const fm_bundle *b, const uint8_t self[FM_KEY_LEN]) {
  fm_enrollment en;
  uint64_t revoked_after = 0;
  uint8_t h[HASH_LEN];
  if (!b->has_sig || !memcmp(b->from, self, FM_KEY_LEN)) return 0;
  if (fm_store_enrollment(s, b->from, &en, &revoked_after, NULL, NULL) < 0 ||
      revoked_after != UINT64_MAX)
    return 0;
  fm_blake2b(h, sizeof h, b->data, b->signed_len, NULL, 0);
  return fm_sig_verify(b->from, FM_CTX_BUNDLE, h, sizeof h, b->sig) == 0;
}

int fm_bundle_note_copies(fm_store *s, const fm_bundle *b, fm_time now) {
  uint8_t self[FM_KEY_LEN], id[FM_ID_LEN];
  uint64_t checked = 0;   /* our log's seq up to which |from| holds our very entries */
  int rv;
  if (fm_store_self(s, self) < 0 || !signed_by_peer(s, b, self)) return 0;
  for (size_t i = 0; i < b->vector.n; i++) {
    const fm_vec_item *it = &b->vector.items[i];
    uint8_t *bytes;
    size_t len;
    if (memcmp(it->author, self, FM_KEY_LEN) || it->seq == 0) continue;
    /* Its head must be our entry at that seq: a restored backup's other
     * history is no copy of ours. */
    rv = fm_store_entry_copy(s, self, it->seq, &bytes, &len);
    if (rv == FM_ERR_NOTFOUND) continue;
    if (rv < 0) return rv;
    fm_entry_id(bytes, len, id);
    free(bytes);
    if (memcmp(id, it->head, FM_ID_LEN)) continue;
    if ((rv = fm_store_note_held(s, b->from, self, it->seq, now)) < 0) return rv;
    checked = it->seq;
  }
  /* Its word about our scans counts as far as its word about our log. */
  for (size_t i = 0; i < b->nscans && checked; i++) {
    const fm_bundle_scans *sc = &b->scans[i];
    if (memcmp(sc->author, self, FM_KEY_LEN)) continue;
    uint64_t upto = sc->upto < checked ? sc->upto : checked;
    if ((rv = fm_store_scans_note_held(s, b->from, upto, now, NULL)) < 0) return rv;
  }
  return 0;
}

int fm_bundle_import(fm_store *s, const fm_bundle *b, fm_time now,
                     fm_ingest_result *res) {
  return fm_bundle_import_chunks(s, b, now, res, NULL);
}

int fm_bundle_import_chunks(fm_store *s, const fm_bundle *b, fm_time now,
                            fm_ingest_result *res, fm_blob_tally *chunks) {
  uint8_t auth[FM_KEY_LEN];
  fm_ingest_result sum, r;
  int rv;
  memset(&sum, 0, sizeof sum);
  /* A store that belongs to no commune yet cannot judge anything. */
  rv = fm_store_authority(s, auth, NULL);
  if (rv == FM_ERR_NOTFOUND) return FM_ERR_MESH;
  if (rv < 0) return rv;
  if (sodium_memcmp(auth, b->authority, FM_KEY_LEN) != 0) return FM_ERR_MESH;
  if ((rv = install_certs(s, b, now, &sum)) < 0) return rv;
  for (size_t i = 0; i < b->vector.n; i++) {
    const fm_vec_item *it = &b->vector.items[i];
    if ((rv = fm_store_note_seen(s, it->author, it->seq, now)) < 0) return rv;
  }
  if ((rv = fm_bundle_note_copies(s, b, now)) < 0) return rv;
  /* After the certificates, so a note of a device they enrol counts. */
  if (b->npresence && (rv = fm_store_presence_put(s, b->presence, b->npresence, now, NULL)) < 0)
    return rv;
  /* Every entry is known before the first batch: a verifier with
   * threads checks batch k+1 while batch k commits and flushes.  Without
   * one (or out of memory here), the batches are checked one by one. */
  (void)fm_store_verify_ahead(s, b->items, b->nitems);
  rv = 0;
  for (size_t i = 0; i < b->nitems; i += IMPORT_BATCH) {
    size_t n = b->nitems - i < IMPORT_BATCH ? b->nitems - i : IMPORT_BATCH;
    /* Earlier batches stay committed; importing the file again finds
     * them as duplicates and goes on from there. */
    if ((rv = fm_store_ingest(s, b->items + i, n, now, &r, NULL)) < 0) break;
    add_result(&sum, &r);
  }
  /* On every path: |b->items| goes away with the bundle. */
  (void)fm_store_verify_ahead(s, NULL, 0);
  if (rv < 0) return rv;
  if (res) *res = sum;
  /* After the entries that make them wanted; a few at a time, so one
   * transaction never holds more than a few MiB. */
  fm_blob_tally t = {0}, bt;
  for (size_t i = 0; i < b->nchunks; i += 64) {
    size_t n = b->nchunks - i < 64 ? b->nchunks - i : 64;
    if ((rv = fm_store_blob_offer(s, b->chunks + i, n, &bt)) < 0) return rv;
    t.kept += bt.kept;
    t.same += bt.same;
    t.unwanted += bt.unwanted;
  }
  if (chunks) *chunks = t;
  return 0;
}
