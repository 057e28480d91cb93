/* Bundles: FMBNDL4 (packed sections) against FMBNDL3, decompression
 * bombs and altered sections, and an import checked on every core
 * (fm_vpool, ahead) against one checked inline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <errno.h>

#include <cmocka.h>
#include <zstd.h>

#include "fieldmesh/bundle.h"
#include "fieldmesh/dirs.h"
#include "fieldmesh/error.h"
#include "fieldmesh/record.h"
#include "fieldmesh/store.h"
#include "fieldmesh/vpool.h"
#include "fieldmesh/zpack.h"

#define T0 1700000000000LL /* a fixed "now": 2023-11-14 */
#define PER_MEMBER 700     /* x 4 members: 2,800 entries, three import batches */

typedef struct fx {
  char dir[64];
  fm_store *s;
} fx;

static fm_identity AUTH, M[6];

static void ident(fm_identity *id, uint8_t n) {
  uint8_t seed[32];
  memset(seed, n, sizeof seed);
  assert_int_equal(fm_identity_from_seed(id, seed), 0);
}

static int setup_ids(void **state) {
  ident(&AUTH, 1);
  for (int i = 2; i < 6; i++) ident(&M[i], (uint8_t)i);
  (void)state;
  return 0;
}

/* A store that knows the authority, and nothing else. */
static void fx_open(fx *f) {
  fm_store_opts o;
  memset(&o, 0, sizeof o);
  o.nosync = 1;
  strcpy(f->dir, "/tmp/fm-test-bundle-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  assert_int_equal(fm_store_open(f->dir, &o, &f->s), 0);
  assert_int_equal(fm_store_set_authority(f->s, AUTH.pk, "Tân Quang"), 0);
}

/* Closes the store and removes its folder, with the bundles the test
 * wrote there. */
static void fx_close(fx *f) {
  DIR *d = opendir(f->dir);
  struct dirent *de;
  char path[320];
  fm_store_close(f->s);
  assert_non_null(d);
  while ((de = readdir(d))) {
    size_t n = strlen(de->d_name);
    if (n > 7 && !strcmp(de->d_name + n - 7, ".bundle")) {
      snprintf(path, sizeof path, "%s/%s", f->dir, de->d_name);
      unlink(path);
    }
  }
  closedir(d);
  assert_int_equal(fm_store_remove_dir(f->dir), 0);
}

static void path_in(const fx *f, const char *name, char *out, size_t cap) {
  snprintf(out, cap, "%s/%s", f->dir, name);
}

/* Members 2..5 enrolled, each with PER_MEMBER visits whose notes differ
 * (about 600 bytes each: more than one section in all). */
static void fx_commune(fx *f) {
  fm_buf b;
  char vid[32], note[600];
  fx_open(f);
  fm_buf_init(&b, 8192);
  for (int i = 2; i <= 5; i++) {
    fm_enrollment en;
    memset(&en, 0, sizeof en);
    memcpy(en.device, M[i].pk, 32);
    strcpy(en.name, "Member");
    strcpy(en.team, "Team 1");
    strcpy(en.commune, "Tân Quang");
    en.role = FM_ROLE_MEMBER;
    en.nvillages = 1;
    strcpy(en.villages[0], "Nghĩa Tân");
    fm_buf_reset(&b);
    assert_int_equal(fm_enroll_body(&b, &en), 0);
    assert_int_equal(fm_store_append(f->s, &AUTH, FM_KIND_ENROLL, b.p, b.len, T0, NULL, NULL), 0);
  }
  for (int k = 0; k < PER_MEMBER; k++) {
    for (int i = 2; i <= 5; i++) {
      snprintf(vid, sizeof vid, "V-%d-%04d", i, k);
      int n = snprintf(note, sizeof note, "visit %d of member %d: ", k, i);
      for (; n < (int)sizeof note - 1; n++) note[n] = "huong dan cong dan "[(n * 7 + k) % 19];
      note[sizeof note - 1] = 0;
      fm_visit_in v = {vid, "Team 1", "Nghĩa Tân", "", "2023-11-14", note, FM_MODE_HOME, 1, 2};
      fm_buf_reset(&b);
      assert_int_equal(fm_visit_body(&b, &v), 0);
      assert_int_equal(fm_store_append(f->s, &M[i], FM_KIND_VISIT, b.p, b.len, T0 + k, NULL,
                                       NULL), 0);
    }
  }
  fm_buf_free(&b);
}

static uint8_t *slurp(const char *path, size_t *len) {
  struct stat sb;
  assert_int_equal(stat(path, &sb), 0);
  uint8_t *p = malloc((size_t)sb.st_size + 1);
  assert_non_null(p);
  FILE *fp = fopen(path, "rb");
  assert_non_null(fp);
  assert_int_equal(fread(p, 1, (size_t)sb.st_size, fp), (size_t)sb.st_size);
  fclose(fp);
  *len = (size_t)sb.st_size;
  return p;
}

static void spill(const char *path, const uint8_t *p, size_t len) {
  FILE *fp = fopen(path, "wb");
  assert_non_null(fp);
  assert_int_equal(fwrite(p, 1, len, fp), len);
  fclose(fp);
}

/* What two stores hold is the same when their FMBNDL3 exports, unsigned
 * and at one time, are the same bytes (every entry, the vector, the
 * certificates) and their view digests agree. */
static void assert_same_store(fx *a, fx *b) {
  char pa[128], pb[128];
  uint8_t da[32], db[32];
  size_t la, lb;
  path_in(a, "same.bundle", pa, sizeof pa);
  path_in(b, "same.bundle", pb, sizeof pb);
  assert_int_equal(fm_bundle_export_format(a->s, NULL, NULL, pa, T0, 3, 0, NULL, NULL, NULL), 0);
  assert_int_equal(fm_bundle_export_format(b->s, NULL, NULL, pb, T0, 3, 0, NULL, NULL, NULL), 0);
  uint8_t *fa = slurp(pa, &la), *fb = slurp(pb, &lb);
  assert_int_equal(la, lb);
  assert_memory_equal(fa, fb, la);
  free(fa);
  free(fb);
  unlink(pa);
  unlink(pb);
  assert_int_equal(fm_store_view_digest(a->s, da), 0);
  assert_int_equal(fm_store_view_digest(b->s, db), 0);
  assert_memory_equal(da, db, 32);
}

static void import_file(fx *f, const char *path, fm_ingest_result *r) {
  fm_bundle b;
  assert_int_equal(fm_bundle_read(path, &b), 0);
  assert_int_equal(fm_bundle_import(f->s, &b, T0 + 1000, r), 0);
  fm_bundle_free(&b);
}

/* The same export as FMBNDL4 and FMBNDL3: the same entries, byte for
 * byte, in the same order, the packed file much smaller; imported, each
 * makes the store it came from. */
static void test_bundle_v4_round_trip_matches_v3(void **state) {
  fx a, b, c;
  char p4[128], p3[128];
  size_t n4 = 0, n3 = 0, l4, l3;
  fm_bundle b4, b3;
  fm_ingest_result r;
  (void)state;
  fx_commune(&a);
  path_in(&a, "a.4.bundle", p4, sizeof p4);
  path_in(&a, "a.3.bundle", p3, sizeof p3);
  assert_int_equal(fm_bundle_export_format(a.s, NULL, NULL, p4, T0, 0, 0, &n4, NULL, NULL), 0);
  assert_int_equal(fm_bundle_export_format(a.s, NULL, NULL, p3, T0, 3, 0, &n3, NULL, NULL), 0);
  assert_int_equal(fm_bundle_export_format(a.s, NULL, NULL, p3, T0, 2, 0, NULL, NULL, NULL),
                   FM_ERR_INVAL);
  assert_int_equal(n4, 4 + 4 * PER_MEMBER);
  assert_int_equal(n3, n4);
  free(slurp(p4, &l4));
  free(slurp(p3, &l3));
  assert_true(l4 * 2 < l3);
  assert_int_equal(fm_bundle_read(p4, &b4), 0);
  assert_int_equal(fm_bundle_read(p3, &b3), 0);
  assert_int_equal(b4.format, 4);
  assert_int_equal(b3.format, 3);
  assert_string_equal(b4.magic, FM_BUNDLE_MAGIC);
  assert_string_equal(b3.magic, FM_BUNDLE_MAGIC);
  /* 2,804 entries of ~700 bytes: more than one section. */
  assert_true(b4.plain_len > FM_ZPACK_SECTION_MAX);
  assert_int_equal(b4.nitems, b3.nitems);
  for (size_t i = 0; i < b4.nitems; i++) {
    assert_int_equal(b4.items[i].len, b3.items[i].len);
    assert_memory_equal(b4.items[i].p, b3.items[i].p, b3.items[i].len);
  }
  fm_bundle_free(&b4);
  fm_bundle_free(&b3);
  fx_open(&b);
  fx_open(&c);
  import_file(&b, p4, &r);
  assert_int_equal(r.accepted, n4);
  assert_int_equal(r.refused + r.held + r.quarantined, 0);
  import_file(&c, p3, &r);
  assert_int_equal(r.accepted, n3);
  assert_same_store(&a, &b);
  assert_same_store(&b, &c);
  /* Again: every entry a duplicate, nothing changes. */
  import_file(&b, p4, &r);
  assert_int_equal(r.duplicate, n4);
  assert_same_store(&a, &b);
  fx_close(&c);
  fx_close(&b);
  fx_close(&a);
}

/* ---- hand-made FMBNDL4 files ---------------------------------------------- */

/* magic, a header of the six keys, the |nbins| bins, and the trailer
 * [count, BLAKE2b-256]: a file whose checksum matches, so only what the
 * sections say can refuse it. */
static void handmade(fm_buf *out, const fm_slice *bins, size_t nbins, uint64_t count) {
  uint8_t hash[32];
  fm_wr w;
  fm_buf_init(out, SIZE_MAX);
  fm_wr_init(&w, out);
  fm_wr_raw(&w, FM_BUNDLE_MAGIC, 8);
  fm_wr_map(&w, 6);
  fm_wr_cstr(&w, "from");
  fm_wr_bin(&w, AUTH.pk, 32);
  fm_wr_cstr(&w, "authority");
  fm_wr_bin(&w, AUTH.pk, 32);
  fm_wr_cstr(&w, "commune");
  fm_wr_cstr(&w, "Tân Quang");
  fm_wr_cstr(&w, "created");
  fm_wr_uint(&w, (uint64_t)T0);
  fm_wr_cstr(&w, "vector");
  fm_wr_array(&w, 0);
  fm_wr_cstr(&w, "certs");
  fm_wr_array(&w, 0);
  for (size_t i = 0; i < nbins; i++) fm_wr_bin(&w, bins[i].p, bins[i].len);
  assert_int_equal(fm_buf_error(out), 0);
  fm_blake2b(hash, 32, out->p, out->len, NULL, 0);
  fm_wr_array(&w, 2);
  fm_wr_uint(&w, count);
  fm_wr_bin(&w, hash, 32);
  assert_int_equal(fm_buf_error(out), 0);
}

static int parse_handmade(const fm_slice *bins, size_t nbins, uint64_t count) {
  fm_buf f;
  fm_bundle b;
  size_t len;
  handmade(&f, bins, nbins, count);
  uint8_t *data = fm_buf_take(&f, &len);
  int rv = fm_bundle_parse(data, len, &b);
  if (rv == 0) fm_bundle_free(&b);
  return rv;
}

/* One real section: the first |n| entries of |a|'s log as bins. */
static size_t real_section(fx *a, uint8_t *frame, size_t cap, size_t n) {
  char p3[128];
  fm_bundle b;
  fm_buf plain;
  fm_wr w;
  path_in(a, "s.bundle", p3, sizeof p3);
  assert_int_equal(fm_bundle_export_format(a->s, NULL, NULL, p3, T0, 3, 0, NULL, NULL, NULL), 0);
  assert_int_equal(fm_bundle_read(p3, &b), 0);
  assert_true(b.nitems >= n);
  fm_buf_init(&plain, SIZE_MAX);
  fm_wr_init(&w, &plain);
  for (size_t i = 0; i < n; i++) fm_wr_bin(&w, b.items[i].p, b.items[i].len);
  fm_bundle_free(&b);
  unlink(p3);
  size_t z = ZSTD_compress(frame, cap, plain.p, plain.len, 3);
  assert_false(ZSTD_isError(z));
  fm_buf_free(&plain);
  return z;
}

/* Frames that claim more than a section may unpack to are refused from
 * their headers alone: nothing is allocated for them or unpacked. */
static void test_bundle_refuses_decompression_bombs(void **state) {
  uint8_t *zeros = calloc(1, 4 * FM_ZPACK_SECTION_MAX);
  uint8_t small[512];
  uint8_t *big = malloc(ZSTD_compressBound(4 * FM_ZPACK_SECTION_MAX));
  (void)state;
  assert_non_null(zeros);
  assert_non_null(big);
  /* A section of zeros: 1 MiB from a few dozen bytes, over 256-fold. */
  size_t n = ZSTD_compress(small, sizeof small, zeros, FM_ZPACK_SECTION_MAX, 19);
  assert_false(ZSTD_isError(n));
  assert_true(n * FM_ZPACK_SECTION_RATIO < FM_ZPACK_SECTION_MAX);
  fm_slice one = {small, n};
  assert_int_equal(parse_handmade(&one, 1, 1), FM_ERR_BOMB);
  /* Over the section's size, however well it packs. */
  n = ZSTD_compress(big, ZSTD_compressBound(4 * FM_ZPACK_SECTION_MAX), zeros,
                    FM_ZPACK_SECTION_MAX + 1, 1);
  assert_false(ZSTD_isError(n));
  one = (fm_slice){big, n};
  assert_int_equal(parse_handmade(&one, 1, 1), FM_ERR_BOMB);
  /* A size not declared (a streamed frame): refused, not guessed. */
  ZSTD_CCtx *cc = ZSTD_createCCtx();
  assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_contentSizeFlag, 0)));
  n = ZSTD_compress2(cc, small, sizeof small, zeros, 4096);
  ZSTD_freeCCtx(cc);
  assert_false(ZSTD_isError(n));
  assert_true(ZSTD_getFrameContentSize(small, n) == ZSTD_CONTENTSIZE_UNKNOWN);
  one = (fm_slice){small, n};
  assert_int_equal(parse_handmade(&one, 1, 1), FM_ERR_BOMB);
  free(big);
  free(zeros);
}

/* A section altered under a good trailer: its frame's checksum, or its
 * shape, refuses it; a section that is not whole entries, or more
 * entries than the trailer counts, is malformed. */
static void test_bundle_refuses_altered_sections(void **state) {
  fx a;
  uint8_t frame[16384], plain[16384];
  fm_zpack *z;
  size_t n, zn;
  (void)state;
  fx_commune(&a);
  /* The first 4 entries (the enrollments), packed as the writer does. */
  size_t fn = real_section(&a, frame, sizeof frame, 4);
  unsigned long long psize = ZSTD_getFrameContentSize(frame, fn);
  assert_true(psize < sizeof plain);
  assert_int_equal(ZSTD_decompress(plain, sizeof plain, frame, fn), psize);
  assert_int_equal(fm_zpack_new(&z), 0);
  assert_int_equal(fm_zpack_section_pack(z, plain, (size_t)psize, frame, sizeof frame, &zn), 0);
  fm_zpack_free(z);
  fm_slice one = {frame, zn};
  assert_int_equal(parse_handmade(&one, 1, 4), 0);
  /* The trailer counts 3 or 5 entries: malformed. */
  assert_int_equal(parse_handmade(&one, 1, 3), FM_ERR_MALFORMED);
  assert_int_equal(parse_handmade(&one, 1, 5), FM_ERR_MALFORMED);
  /* Every byte past the frame's header flipped in turn: never read as
   * other entries. */
  for (size_t i = 6; i < zn; i++) {
    frame[i] ^= 0x20;
    int rv = parse_handmade(&one, 1, 4);
    assert_true(rv == FM_ERR_MALFORMED || rv == FM_ERR_BOMB);
    frame[i] ^= 0x20;
  }
  /* Cut short by one byte: not one whole frame. */
  one.len = zn - 1;
  assert_int_equal(parse_handmade(&one, 1, 4), FM_ERR_MALFORMED);
  /* A section that ends inside an entry. */
  n = (size_t)psize - 10;
  n = ZSTD_compress(frame, sizeof frame, plain, n, 3);
  one = (fm_slice){frame, n};
  assert_int_equal(parse_handmade(&one, 1, 4), FM_ERR_MALFORMED);
  /* No section at all but entries counted. */
  assert_int_equal(parse_handmade(NULL, 0, 1), FM_ERR_MALFORMED);
  fx_close(&a);
}

/* An older release's file still reads: FMBNDL3 as written before, and a
 * digit this release does not know is another release's format. */
static void test_bundle_reads_v3_and_names_other_versions(void **state) {
  fx a, b;
  char p3[128], p9[128];
  fm_ingest_result r;
  size_t len;
  fm_bundle x;
  (void)state;
  fx_commune(&a);
  fx_open(&b);
  path_in(&a, "old.bundle", p3, sizeof p3);
  path_in(&a, "nine.bundle", p9, sizeof p9);
  assert_int_equal(fm_bundle_export_format(a.s, NULL, NULL, p3, T0, 3, 0, NULL, NULL, NULL), 0);
  uint8_t *data = slurp(p3, &len);
  assert_memory_equal(data, "FMBNDL3\n", 8);
  data[6] = '9';
  spill(p9, data, len);
  free(data);
  assert_int_equal(fm_bundle_read(p9, &x), FM_ERR_VERSION);
  import_file(&b, p3, &r);
  assert_int_equal(r.accepted, 4 + 4 * PER_MEMBER);
  assert_same_store(&a, &b);
  fx_close(&b);
  fx_close(&a);
}

/* Damages the signature of entry |at| of the FMBNDL3 file |path| and
 * mends the trailer, so only the signature check can tell. */
static void damage_entry_sig(const char *path, size_t at) {
  fm_bundle b;
  size_t len;
  assert_int_equal(fm_bundle_read(path, &b), 0);
  size_t off = (size_t)(b.items[at].p - b.data) + b.items[at].len - 20;
  size_t n = b.nitems;
  fm_bundle_free(&b);
  /* The trailer: 92, n in its shortest form, c4 20, the hash. */
  size_t w = n < 128 ? 1 : n < 256 ? 2 : n < 65536 ? 3 : 5;
  uint8_t *data = slurp(path, &len);
  data[off] ^= 0x01;
  fm_blake2b(data + len - 32, 32, data, len - 34 - w - 1, NULL, 0);
  spill(path, data, len);
  free(data);
}

/* The same bundle, with one bad signature in the middle of a member's
 * log, imported with the signatures checked inline and on a pool of
 * checkers working ahead (as `fieldmesh bundle import` does): the same
 * outcomes, the same store -- that member's entries before it stored, it
 * refused and the rest of that log not applied, everyone else's
 * applied. */
static void test_bundle_pool_import_matches_inline(void **state) {
  fx a, inl, pooled;
  char p4[128], p3[128];
  fm_ingest_result ri, rp;
  fm_vpool pool;
  (void)state;
  fx_commune(&a);
  path_in(&a, "bad.bundle", p3, sizeof p3);
  path_in(&a, "bad.4.bundle", p4, sizeof p4);
  assert_int_equal(fm_bundle_export_format(a.s, NULL, NULL, p3, T0, 3, 0, NULL, NULL, NULL), 0);
  /* Entry 1,500, in the second import batch, whoever wrote it. */
  fm_bundle b;
  fm_entry e;
  uint8_t who[32], other[32];
  const size_t bad = 1500;
  assert_int_equal(fm_bundle_read(p3, &b), 0);
  assert_int_equal(fm_entry_decode(b.items[bad].p, b.items[bad].len, NULL, &e), 0);
  memcpy(who, e.author, 32);
  uint64_t bad_seq = e.seq;
  assert_true(bad_seq > 1);
  /* The last entry of the file is someone else's. */
  assert_int_equal(fm_entry_decode(b.items[b.nitems - 1].p, b.items[b.nitems - 1].len, NULL,
                                   &e), 0);
  memcpy(other, e.author, 32);
  uint64_t other_seq = e.seq;
  assert_memory_not_equal(who, other, 32);
  fm_bundle_free(&b);
  damage_entry_sig(p3, bad);

  fx_open(&inl);
  fx_open(&pooled);
  import_file(&inl, p3, &ri);
  assert_int_equal(fm_vpool_start(&pool, 2), 0);
  fm_verifier v = fm_vpool_verifier(&pool);
  fm_store_set_verifier(pooled.s, &v);
  import_file(&pooled, p3, &rp);
  fm_store_set_verifier(pooled.s, NULL);
  assert_int_equal(ri.accepted, rp.accepted);
  assert_int_equal(ri.refused, rp.refused);
  assert_int_equal(ri.held, rp.held);
  assert_int_equal(ri.quarantined, rp.quarantined);
  assert_int_equal(ri.duplicate, rp.duplicate);
  assert_int_equal(ri.first_error, FM_ERR_BADSIG);
  assert_int_equal(rp.first_error, FM_ERR_BADSIG);
  /* It and every later entry of its author refused (a gap follows it). */
  assert_int_equal(ri.refused, PER_MEMBER - bad_seq + 1);
  assert_int_equal(ri.held + ri.quarantined, 0);
  assert_int_equal(ri.accepted, 4 + 4 * PER_MEMBER - ri.refused);
  uint8_t *bytes;
  size_t blen;
  assert_int_equal(fm_store_entry_copy(inl.s, who, bad_seq - 1, &bytes, &blen), 0);
  free(bytes);
  assert_int_equal(fm_store_entry_copy(inl.s, who, bad_seq, &bytes, &blen), FM_ERR_NOTFOUND);
  assert_int_equal(fm_store_entry_copy(inl.s, who, bad_seq + 1, &bytes, &blen),
                   FM_ERR_NOTFOUND);
  assert_int_equal(fm_store_entry_copy(inl.s, other, other_seq, &bytes, &blen), 0);
  free(bytes);
  assert_same_store(&inl, &pooled);

  /* The same as FMBNDL4, from a store that holds the damaged entry as
   * it came (a store never exports what it refused: write the FMBNDL4
   * file from the FMBNDL3 one's items). */
  fx fresh_i, fresh_p;
  fx_open(&fresh_i);
  fx_open(&fresh_p);
  assert_int_equal(fm_bundle_read(p3, &b), 0);
  fm_buf plain;
  fm_wr w;
  fm_buf_init(&plain, SIZE_MAX);
  fm_wr_init(&w, &plain);
  fm_zpack *z;
  assert_int_equal(fm_zpack_new(&z), 0);
  fm_slice secs[8];
  uint8_t *packed[8];
  size_t nsec = 0;
  for (size_t i = 0; i <= b.nitems; i++) {
    if (i == b.nitems || plain.len + b.items[i].len + 3 > FM_ZPACK_SECTION_MAX) {
      size_t cap = fm_zpack_section_bound(plain.len), zn;
      assert_true(nsec < 8);
      packed[nsec] = malloc(cap);
      assert_int_equal(fm_zpack_section_pack(z, plain.p, plain.len, packed[nsec], cap, &zn), 0);
      secs[nsec] = (fm_slice){packed[nsec], zn};
      nsec++;
      fm_buf_reset(&plain);
    }
    if (i < b.nitems) fm_wr_bin(&w, b.items[i].p, b.items[i].len);
  }
  fm_zpack_free(z);
  fm_buf_free(&plain);
  fm_buf f;
  handmade(&f, secs, nsec, b.nitems);
  for (size_t i = 0; i < nsec; i++) free(packed[i]);
  fm_bundle_free(&b);
  spill(p4, f.p, f.len);
  fm_buf_free(&f);
  import_file(&fresh_i, p4, &ri);
  fm_store_set_verifier(fresh_p.s, &v);
  import_file(&fresh_p, p4, &rp);
  fm_store_set_verifier(fresh_p.s, NULL);
  fm_vpool_stop(&pool);
  assert_int_equal(ri.accepted, rp.accepted);
  assert_int_equal(ri.refused, PER_MEMBER - bad_seq + 1);
  assert_int_equal(rp.refused, ri.refused);
  assert_same_store(&fresh_i, &fresh_p);
  assert_same_store(&fresh_i, &inl);

  fx_close(&fresh_p);
  fx_close(&fresh_i);
  fx_close(&pooled);
  fx_close(&inl);
  fx_close(&a);
}

/* A checker that cannot run (out of memory) mid-bundle fails the import
 * there: the batches before it stay, as inline, and importing again
 * finishes the job. */
static void test_bundle_pool_import_failure_keeps_whole_batches(void **state) {
  fx a, b;
  char p4[128];
  fm_ingest_result r;
  fm_vpool pool;
  fm_bundle x;
  (void)state;
  fx_commune(&a);
  fx_open(&b);
  path_in(&a, "a.bundle", p4, sizeof p4);
  assert_int_equal(fm_bundle_export(a.s, NULL, NULL, p4, T0, NULL), 0);
  assert_int_equal(fm_vpool_start(&pool, 2), 0);
  pool.fail_at = 1500;   /* entry 1,499 of the bundle: its second batch */
  fm_verifier v = fm_vpool_verifier(&pool);
  fm_store_set_verifier(b.s, &v);
  assert_int_equal(fm_bundle_read(p4, &x), 0);
  assert_int_equal(fm_bundle_import(b.s, &x, T0 + 1000, &r), -ENOMEM);
  fm_store_stats st;
  assert_int_equal(fm_store_stats_get(b.s, &st), 0);
  assert_int_equal(st.entries, 1000);
  pool.fail_at = 0;
  assert_int_equal(fm_bundle_import(b.s, &x, T0 + 1000, &r), 0);
  assert_int_equal(r.duplicate, 1000);
  assert_int_equal(r.accepted, x.nitems - 1000);
  fm_bundle_free(&x);
  fm_store_set_verifier(b.s, NULL);
  fm_vpool_stop(&pool);
  assert_same_store(&a, &b);
  fx_close(&b);
  fx_close(&a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bundle_v4_round_trip_matches_v3),
      cmocka_unit_test(test_bundle_refuses_decompression_bombs),
      cmocka_unit_test(test_bundle_refuses_altered_sections),
      cmocka_unit_test(test_bundle_reads_v3_and_names_other_versions),
      cmocka_unit_test(test_bundle_pool_import_matches_inline),
      cmocka_unit_test(test_bundle_pool_import_failure_keeps_whole_batches),
  };
  return cmocka_run_group_tests(tests, setup_ids, NULL);
}
