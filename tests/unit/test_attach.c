/* Attachments (include/fieldmesh/attach.h): the `dossier.attach` body read
 * as hostile bytes, chunks that open only under their key and in their
 * place, and the dossier view's list, the same bytes in every arrival
 * order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fieldmesh/attach.h"
#include "fieldmesh/error.h"
#include "fieldmesh/record.h"
#include "fieldmesh/view.h"
#include "signed.h"

#define NOW 1764900000000LL
#define ID "D-06DERF70M2G9MCSK"
#define BUF_MAX (64 * 1024)

static fm_identity A, B;
static uint8_t KEY[FM_ATTACH_KEY];
static uint8_t IDS[3 * FM_BLOB_ID];

static int setup(void **state) {
  uint8_t seed[32];
  (void)state;
  memset(seed, 0xa1, sizeof seed);
  if (fm_identity_from_seed(&A, seed)) return -1;
  memset(seed, 0xb2, sizeof seed);
  memset(KEY, 0x5c, sizeof KEY);
  for (size_t i = 0; i < sizeof IDS; i++) IDS[i] = (uint8_t)i;
  return fm_identity_from_seed(&B, seed);
}

static fm_attach sample(void) {
  fm_attach a;
  memset(&a, 0, sizeof a);
  a.dossier = ID;
  a.dossier_len = strlen(ID);
  a.kind = FM_ATT_ID_CARD;
  a.name = "cccd.jpg";
  a.name_len = 8;
  a.size = 2 * FM_ATTACH_CHUNK + 10;   /* three chunks */
  a.chunks = IDS;
  a.nchunks = 3;
  a.key = KEY;
  return a;
}

static void body_roundtrip(void **state) {
  fm_attach a = sample(), b;
  fm_buf buf;
  (void)state;
  fm_buf_init(&buf, BUF_MAX);
  assert_int_equal(fm_attach_body(&buf, &a), 0);
  assert_int_equal(fm_attach_parse(buf.p, buf.len, &b), 0);
  assert_int_equal(b.kind, FM_ATT_ID_CARD);
  assert_int_equal(b.size, a.size);
  assert_int_equal(b.nchunks, 3);
  assert_memory_equal(b.chunks, IDS, sizeof IDS);
  assert_memory_equal(b.key, KEY, sizeof KEY);
  assert_int_equal(b.name_len, 8);
  assert_memory_equal(b.name, "cccd.jpg", 8);
  fm_buf_free(&buf);
}

/* The builder refuses what the parser would refuse. */
static void body_refuses_bad_input(void **state) {
  fm_buf buf;
  fm_attach a;
  (void)state;
  fm_buf_init(&buf, BUF_MAX);
  a = sample(), a.nchunks = 2;
  assert_int_equal(fm_attach_body(&buf, &a), FM_ERR_INVAL);
  a = sample(), a.size = 0;
  assert_int_equal(fm_attach_body(&buf, &a), FM_ERR_INVAL);
  a = sample(), a.size = FM_ATTACH_FILE_MAX + 1;
  assert_int_equal(fm_attach_body(&buf, &a), FM_ERR_INVAL);
  a = sample(), a.name = "a/b.jpg", a.name_len = 7;
  assert_int_equal(fm_attach_body(&buf, &a), FM_ERR_INVAL);
  a = sample(), a.name_len = 0;
  assert_int_equal(fm_attach_body(&buf, &a), FM_ERR_INVAL);
  a = sample(), a.kind = FM_ATT_KIND_COUNT;
  assert_int_equal(fm_attach_body(&buf, &a), FM_ERR_INVAL);
  fm_buf_free(&buf);
}

/* Hand-made bodies an enrolled device could sign: each is malformed. */
static void parse_refuses_hostile_bodies(void **state) {
  static const char *const bad[] = {"kind", "size", "chunk", "chunks", "key", "short_key"};
  (void)state;
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    fm_buf buf;
    fm_wr w;
    fm_attach out;
    fm_buf_init(&buf, BUF_MAX);
    fm_wr_init(&w, &buf);
    fm_wr_map(&w, 7);
    fm_wr_cstr(&w, "dossier");
    fm_wr_cstr(&w, ID);
    fm_wr_cstr(&w, "kind");
    fm_wr_cstr(&w, strcmp(bad[k], "kind") ? "photo" : "selfie");
    fm_wr_cstr(&w, "name");
    fm_wr_cstr(&w, "x.png");
    fm_wr_cstr(&w, "size");
    fm_wr_uint(&w, strcmp(bad[k], "size") ? 100 : 0);
    fm_wr_cstr(&w, "chunk");
    fm_wr_uint(&w, strcmp(bad[k], "chunk") ? FM_ATTACH_CHUNK : 1024);
    fm_wr_cstr(&w, "chunks");
    fm_wr_bin(&w, IDS, strcmp(bad[k], "chunks") ? FM_BLOB_ID : 2 * FM_BLOB_ID);
    fm_wr_cstr(&w, "key");
    if (!strcmp(bad[k], "key")) fm_wr_cstr(&w, "not a key");
    else fm_wr_bin(&w, KEY, strcmp(bad[k], "short_key") ? FM_ATTACH_KEY : 31);
    assert_int_equal(fm_buf_error(&buf), 0);
    assert_int_equal(fm_attach_parse(buf.p, buf.len, &out), FM_ERR_MALFORMED);
    fm_buf_free(&buf);
  }
}

static void chunks_open_only_in_their_place(void **state) {
  uint8_t plain[1000], ct[1000 + FM_ATTACH_TAG], out[1000], id[FM_BLOB_ID], id2[FM_BLOB_ID];
  uint8_t other[FM_ATTACH_KEY];
  (void)state;
  for (size_t i = 0; i < sizeof plain; i++) plain[i] = (uint8_t)(i * 7);
  fm_attach_chunk_seal(KEY, 4, plain, sizeof plain, ct, id);
  fm_blob_id(ct, sizeof ct, id2);
  assert_memory_equal(id, id2, FM_BLOB_ID);
  assert_int_equal(fm_attach_chunk_open(KEY, 4, ct, sizeof ct, out), 0);
  assert_memory_equal(out, plain, sizeof plain);
  /* Another place in the file, another key, a flipped bit, a cut chunk. */
  assert_int_equal(fm_attach_chunk_open(KEY, 5, ct, sizeof ct, out), FM_ERR_DECRYPT);
  memset(other, 0x11, sizeof other);
  assert_int_equal(fm_attach_chunk_open(other, 4, ct, sizeof ct, out), FM_ERR_DECRYPT);
  ct[10] ^= 1;
  assert_int_equal(fm_attach_chunk_open(KEY, 4, ct, sizeof ct, out), FM_ERR_DECRYPT);
  ct[10] ^= 1;
  assert_int_equal(fm_attach_chunk_open(KEY, 4, ct, sizeof ct - 1, out), FM_ERR_DECRYPT);
  assert_int_equal(fm_attach_chunk_open(KEY, 4, ct, FM_ATTACH_TAG - 1, out), FM_ERR_DECRYPT);
  /* The same bytes under the same key in the same place: the same chunk
   * (a file attached twice is kept once). */
  uint8_t ct2[sizeof ct];
  fm_attach_chunk_seal(KEY, 4, plain, sizeof plain, ct2, id2);
  assert_memory_equal(ct, ct2, sizeof ct);
}

/* The largest file an entry may announce: its entry fits the limits. */
static void largest_file_fits_an_entry(void **state) {
  static uint8_t ids[FM_ATTACH_CHUNKS_MAX * FM_BLOB_ID];
  fm_attach a = sample(), b;
  fm_buf body, e;
  fm_entry out;
  fm_limits lim = fm_limits_default();
  (void)state;
  a.size = FM_ATTACH_FILE_MAX;
  a.chunks = ids;
  a.nchunks = FM_ATTACH_CHUNKS_MAX;
  fm_buf_init(&body, BUF_MAX);
  fm_buf_init(&e, BUF_MAX);
  assert_int_equal(fm_attach_body(&body, &a), 0);
  assert_int_equal(fm_entry_build(&e, &A, 1, NULL, fm_hlc_make(NOW, 0), FM_KIND_DOSSIER_ATTACH,
                                  body.p, body.len), 0);
  assert_int_equal(fm_entry_decode(e.p, e.len, &lim, &out), 0);
  assert_int_equal(fm_attach_parse(out.body, out.body_len, &b), 0);
  assert_int_equal(b.nchunks, FM_ATTACH_CHUNKS_MAX);
  a.size++;
  assert_int_equal(fm_attach_body(&body, &a), FM_ERR_INVAL);
  fm_buf_free(&body);
  fm_buf_free(&e);
}

static void chunk_sizes(void **state) {
  (void)state;
  assert_int_equal(fm_attach_nchunks(1), 1);
  assert_int_equal(fm_attach_nchunks(FM_ATTACH_CHUNK), 1);
  assert_int_equal(fm_attach_nchunks(FM_ATTACH_CHUNK + 1), 2);
  assert_int_equal(fm_attach_chunk_len(FM_ATTACH_CHUNK + 1, 0), FM_ATTACH_CHUNK);
  assert_int_equal(fm_attach_chunk_len(FM_ATTACH_CHUNK + 1, 1), 1);
  assert_int_equal(fm_attach_chunk_len(FM_ATTACH_CHUNK + 1, 2), 0);
}

/* ---- the dossier view ---------------------------------------------------------- */


static void attach_entry(signed_entry *s, const fm_identity *id, uint64_t seq, fm_time ms) {
  fm_attach a = sample();
  fm_buf b;
  fm_buf_init(&b, BUF_MAX);
  assert_int_equal(fm_attach_body(&b, &a), 0);
  signed_entry_make(s, id, seq, ms, FM_KIND_DOSSIER_ATTACH, &b);
}

static void dossier_entry(signed_entry *s, const fm_identity *id, uint64_t seq, fm_time ms) {
  fm_buf b;
  fm_dossier_in in = {ID, "khai_sinh", "Lò Văn Pó", "", "", "Vinh Quang", "Team 1",
                      "portal", "", "", "2025-12-05"};
  fm_buf_init(&b, BUF_MAX);
  assert_int_equal(fm_dossier_body(&b, &in), 0);
  signed_entry_make(s, id, seq, ms, FM_KIND_DOSSIER, &b);
}

/* Applies |n| entries in the order |order| gives; the record's bytes into
 * |out| (the caller frees). */
static void fold(signed_entry *es, const size_t *order, size_t n, fm_buf *out) {
  fm_buf cur, next;
  fm_buf_init(&cur, BUF_MAX);
  for (size_t i = 0; i < n; i++) {
    const char *id;
    size_t idn;
    assert_int_equal(fm_view_target(&es[order[i]].e, &id, &idn), FM_VIEW_DOSSIER);
    assert_int_equal(idn, strlen(ID));
    fm_buf_init(&next, BUF_MAX);
    assert_int_equal(fm_view_apply(FM_VIEW_DOSSIER, cur.len ? cur.p : NULL, cur.len,
                                   &es[order[i]].e, &next), 0);
    fm_buf_free(&cur);
    cur = next;
  }
  *out = cur;
}

static void view_lists_attachments_in_any_order(void **state) {
  signed_entry es[4];
  static const size_t orders[][4] = {{0, 1, 2, 3}, {3, 2, 1, 0}, {2, 0, 3, 1}, {1, 3, 0, 2}};
  fm_buf first;
  (void)state;
  dossier_entry(&es[0], &A, 1, NOW);
  attach_entry(&es[1], &A, 2, NOW + 1000);
  attach_entry(&es[2], &B, 1, NOW + 500);
  attach_entry(&es[3], &A, 3, NOW + 2000);
  for (size_t o = 0; o < 4; o++) {
    fm_buf rec;
    fm_dossier_view d;
    fm_stamp list[FM_VIEW_ATTACH_MAX];
    fold(es, orders[o], 4, &rec);
    assert_int_equal(fm_dossier_view_decode(rec.p, rec.len, &d), 0);
    assert_int_equal(fm_dossier_view_attachments(&d, list), 3);
    /* Oldest first: B's at +500, then A's seq 2 and 3. */
    assert_memory_equal(list[0].author, B.pk, FM_KEY_LEN);
    assert_int_equal(list[1].seq, 2);
    assert_int_equal(list[2].seq, 3);
    if (o == 0) {
      first = rec;
    } else {
      assert_int_equal(rec.len, first.len);
      assert_memory_equal(rec.p, first.p, rec.len);
      fm_buf_free(&rec);
    }
  }
  /* The same entry twice is listed once. */
  fm_buf again, rec2;
  fm_dossier_view d;
  fm_stamp list[FM_VIEW_ATTACH_MAX];
  fm_buf_init(&again, BUF_MAX);
  assert_int_equal(fm_view_apply(FM_VIEW_DOSSIER, first.p, first.len, &es[1].e, &again), 0);
  assert_int_equal(fm_dossier_view_decode(again.p, again.len, &d), 0);
  assert_int_equal(fm_dossier_view_attachments(&d, list), 3);
  rec2 = again;
  fm_buf_free(&rec2);
  fm_buf_free(&first);
  for (size_t i = 0; i < 4; i++) fm_buf_free(&es[i].bytes);
}

/* Past FM_VIEW_ATTACH_MAX, the latest are left out whatever the arrival
 * order; a body that does not parse attaches nothing. */
static void view_keeps_the_oldest_and_ignores_bad_bodies(void **state) {
  enum { N = FM_VIEW_ATTACH_MAX + 2 };
  signed_entry *es = calloc(N + 1, sizeof *es);
  size_t fwd[N + 1], back[N + 1];
  fm_buf r1, r2;
  fm_dossier_view d;
  fm_stamp list[FM_VIEW_ATTACH_MAX];
  (void)state;
  for (size_t i = 0; i < N; i++) {
    attach_entry(&es[i], &A, i + 1, NOW + (fm_time)i * 1000);
    fwd[i] = i;
    back[i] = N - 1 - i;
  }
  fm_buf b;
  fm_buf_init(&b, BUF_MAX);
  fm_wr w;
  fm_wr_init(&w, &b);
  fm_wr_map(&w, 1);
  fm_wr_cstr(&w, "dossier");
  fm_wr_cstr(&w, ID);
  signed_entry_make(&es[N], &B, 1, NOW - 1000, FM_KIND_DOSSIER_ATTACH, &b);
  fwd[N] = back[N] = N;
  fold(es, fwd, N + 1, &r1);
  fold(es, back, N + 1, &r2);
  assert_int_equal(r1.len, r2.len);
  assert_memory_equal(r1.p, r2.p, r1.len);
  assert_int_equal(fm_dossier_view_decode(r1.p, r1.len, &d), 0);
  assert_int_equal(fm_dossier_view_attachments(&d, list), FM_VIEW_ATTACH_MAX);
  assert_int_equal(list[0].seq, 1);
  assert_int_equal(list[FM_VIEW_ATTACH_MAX - 1].seq, FM_VIEW_ATTACH_MAX);
  fm_buf_free(&r1);
  fm_buf_free(&r2);
  for (size_t i = 0; i <= N; i++) fm_buf_free(&es[i].bytes);
  free(es);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(body_roundtrip),
      cmocka_unit_test(body_refuses_bad_input),
      cmocka_unit_test(parse_refuses_hostile_bodies),
      cmocka_unit_test(chunks_open_only_in_their_place),
      cmocka_unit_test(chunk_sizes),
      cmocka_unit_test(largest_file_fits_an_entry),
      cmocka_unit_test(view_lists_attachments_in_any_order),
      cmocka_unit_test(view_keeps_the_oldest_and_ignores_bad_bodies),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
