/* The gateway's forwarding state and every node's receipts, in the store:
 * a batch recorded is the batch delivered again, a commit moves the
 * cursors and writes receipts once, partial acknowledgements are never
 * sent again, an entry the sink keeps leaving out is named in the
 * status, a receipt that arrives before its entries is applied
 * when they come, without touching the view digest; a revoked gateway's
 * later receipts stop counting; verify rebuilds the receipts and catches
 * a table that disagrees with the log, and --repair's rebuild mends it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <lmdb.h>

#include "fieldmesh/attach.h"
#include "fieldmesh/blob_store.h"
#include "fieldmesh/delivery.h"
#include "fieldmesh/dirs.h"
#include "fieldmesh/enroll.h"
#include "fieldmesh/error.h"
#include "fieldmesh/forward.h"
#include "fieldmesh/wire.h"

#define T0 1700000000000LL

static fm_identity AUTH, MEM, GW, GW2;

typedef struct fx {
  char dir[64];
  fm_store *s;
} fx;

static void fx_open(fx *f) {
  fm_store_opts o;
  memset(&o, 0, sizeof o);
  o.nosync = 1;
  strcpy(f->dir, "/tmp/fm-test-forward-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  assert_int_equal(fm_store_open(f->dir, &o, &f->s), 0);
  assert_int_equal(fm_store_set_authority(f->s, AUTH.pk, "Tân Quang"), 0);
}

static void fx_close(fx *f) {
  fm_store_close(f->s);
  assert_int_equal(fm_store_remove_dir(f->dir), 0);
}

static void append(fm_store *s, const fm_identity *id, const char *kind, const fm_buf *b) {
  assert_int_equal(fm_store_append(s, id, kind, b->p, b->len, T0, NULL, NULL), 0);
}

static void enroll(fm_store *s, const fm_identity *dev, fm_role role) {
  fm_enrollment en;
  fm_buf b;
  memset(&en, 0, sizeof en);
  memcpy(en.device, dev->pk, 32);
  strcpy(en.name, "Máy");
  strcpy(en.team, "Team 1");
  strcpy(en.commune, "Tân Quang");
  en.role = role;
  fm_buf_init(&b, 4096);
  assert_int_equal(fm_enroll_body(&b, &en), 0);
  append(s, &AUTH, FM_KIND_ENROLL, &b);
  fm_buf_free(&b);
}

/* A gateway's store: the member wrote one dossier and |visits| visits. */
static void gateway_store(fx *f, int visits) {
  fm_buf b;
  char id[24];
  fx_open(f);
  enroll(f->s, &MEM, FM_ROLE_MEMBER);
  enroll(f->s, &GW, FM_ROLE_GATEWAY);
  fm_buf_init(&b, 4096);
  fm_dossier_in d = {"D-0001", "chung_thuc", "Sùng A Páo", "", "", "Nghĩa Tân", "Team 1",
                     "portal", "", "", NULL};
  assert_int_equal(fm_dossier_body(&b, &d), 0);
  append(f->s, &MEM, FM_KIND_DOSSIER, &b);
  for (int i = 0; i < visits; i++) {
    snprintf(id, sizeof id, "V-%04d", i);
    fm_visit_in v = {id, "Team 1", "Nghĩa Tân", "", "2023-11-14", "", FM_MODE_HOME, 1, 2};
    fm_buf_reset(&b);
    assert_int_equal(fm_visit_body(&b, &v), 0);
    append(f->s, &MEM, FM_KIND_VISIT, &b);
  }
  fm_buf_free(&b);
}

static fm_fwd_sink SINK;

static uint64_t pending(fx *f) {
  uint64_t n;
  assert_int_equal(fm_forward_pending(f->s, SINK.id, &n), 0);
  return n;
}

/* Acknowledges the items of |b| for which |keep| says so. */
static void ack(fx *f, const fm_fwd_batch *b, int (*keep)(size_t i, const fm_fwd_item *it),
                fm_fwd_done *done) {
  uint8_t *acc = calloc(b->n, 1);
  for (size_t i = 0; i < b->n; i++) acc[i] = (uint8_t)keep(i, &b->items[i]);
  fm_fwd_ack a = {"spool", acc, NULL, "file.ndjson", NULL};
  assert_int_equal(fm_forward_commit(f->s, &GW, b, &a, T0 + 1000, done), 0);
  free(acc);
}

static int all(size_t i, const fm_fwd_item *it) { (void)i; (void)it; return 1; }
static int odd_seqs(size_t i, const fm_fwd_item *it) { (void)i; return it->seq % 2 == 1; }
/* An endpoint that never takes the member's seq 2. */
static int not_mem2(size_t i, const fm_fwd_item *it) {
  (void)i;
  return !(it->seq == 2 && !memcmp(it->author, MEM.pk, 32));
}

static fm_fwd_status STATUS;
static int keep_status(void *ctx, const fm_fwd_status *st) {
  (void)ctx;
  if (!memcmp(st->sink, SINK.id, sizeof st->sink)) STATUS = *st;
  return 0;
}
static fm_fwd_status sink_status(fx *f) {
  memset(&STATUS, 0, sizeof STATUS);
  assert_int_equal(fm_forward_each_status(f->s, keep_status, NULL), 0);
  return STATUS;
}

/* |n| chunks of |size| bytes each, told apart by |tag|: their ids into
 * |ids|; kept in the store when |keep|. */
static void chunks(fx *f, size_t n, size_t size, uint8_t tag, uint8_t *ids, int keep) {
  uint8_t *mem = calloc(n, size);
  fm_slice *c = calloc(n, sizeof *c);
  for (size_t i = 0; i < n; i++) {
    mem[i * size] = tag;
    mem[i * size + 1] = (uint8_t)i;
    c[i].p = mem + i * size;
    c[i].len = size;
    fm_blob_id(c[i].p, size, ids + i * FM_BLOB_ID);
  }
  if (keep) assert_int_equal(fm_store_blob_put(f->s, c, n), 0);
  free(mem);
  free(c);
}

/* The member attaches a scan of |size| bytes (its chunks |ids|) to D-0001. */
static void attach(fx *f, uint64_t size, const uint8_t *ids) {
  static const uint8_t key[FM_ATTACH_KEY] = {7};
  fm_buf b;
  fm_attach a = {"D-0001", 6, FM_ATT_ID_CARD, "cccd.jpg", 8, size, ids,
                 fm_attach_nchunks(size), key, NULL, 0, NULL, 0};
  fm_buf_init(&b, 8192);
  assert_int_equal(fm_attach_body(&b, &a), 0);
  append(f->s, &MEM, FM_KIND_DOSSIER_ATTACH, &b);
  fm_buf_free(&b);
}

static int has_item(const fm_fwd_batch *b, const fm_identity *who, uint64_t seq) {
  for (size_t i = 0; i < b->n; i++)
    if (b->items[i].seq == seq && !memcmp(b->items[i].author, who->pk, 32)) return 1;
  return 0;
}

/* A scan goes with its file: while its chunks are not here, its author's
 * entries stop at it (the others go), the batch and the status say so;
 * once they come it goes, with what waited behind it.  A batch carries at
 * most FM_FWD_SCAN_BYTES of scans, unless one alone is larger. */
static void test_scan_waits_for_its_chunks(void **state) {
  fx f;
  fm_fwd_batch b;
  fm_fwd_done done;
  fm_fwd_status st;
  fm_fwd_limits lim = {100, 1 << 20, 0, 0};
  uint8_t ids[2 * FM_BLOB_ID], big1[82 * FM_BLOB_ID], big2[82 * FM_BLOB_ID];
  fm_buf vb;
  (void)state;
  gateway_store(&f, 0);
  assert_int_equal(fm_forward_configure(f.s, &SINK, 1), 0);
  chunks(&f, 2, 1000, 1, ids, 0);
  attach(&f, 2 * FM_ATTACH_CHUNK - 100, ids);   /* the member's seq 2 */
  fm_buf_init(&vb, 4096);
  fm_visit_in v = {"V-9", "Team 1", "Nghĩa Tân", "", "2023-11-14", "", FM_MODE_HOME, 1, 2};
  assert_int_equal(fm_visit_body(&vb, &v), 0);
  append(f.s, &MEM, FM_KIND_VISIT, &vb);      /* seq 3, behind the scan */
  fm_buf_free(&vb);

  memset(&b, 0, sizeof b);
  assert_int_equal(fm_forward_next(f.s, SINK.id, &lim, T0, &b), 0);
  assert_true(has_item(&b, &AUTH, 1));
  assert_true(has_item(&b, &MEM, 1));
  assert_false(has_item(&b, &MEM, 2));
  assert_false(has_item(&b, &MEM, 3));
  assert_int_equal(b.scans_waiting, 1);
  ack(&f, &b, all, &done);
  fm_fwd_batch_free(&b);
  /* The member's next entry to forward is the scan. */
  st = sink_status(&f);
  assert_int_equal(st.scans_waiting, 1);
  assert_memory_equal(st.scan_author, MEM.pk, 32);
  assert_int_equal(st.scan_seq, 2);
  assert_int_equal(st.scan_missing, 2);
  /* The gateway's receipts go; the member's entries still wait. */
  assert_int_equal(fm_forward_next(f.s, SINK.id, &lim, T0 + 1, &b), 0);
  assert_false(has_item(&b, &MEM, 2));
  assert_int_equal(b.scans_waiting, 1);
  ack(&f, &b, all, &done);
  fm_fwd_batch_free(&b);
  assert_int_equal(fm_forward_next(f.s, SINK.id, &lim, T0 + 1, &b), 0);
  assert_int_equal(b.n, 0);
  assert_int_equal(b.scans_waiting, 1);
  fm_fwd_batch_free(&b);
  assert_int_equal(pending(&f) >= 2, 1);

  /* One chunk is not enough; both are. */
  chunks(&f, 1, 1000, 1, ids, 1);
  assert_int_equal(sink_status(&f).scan_missing, 1);
  chunks(&f, 2, 1000, 1, ids, 1);
  assert_int_equal(sink_status(&f).scans_waiting, 0);
  assert_int_equal(fm_forward_next(f.s, SINK.id, &lim, T0 + 2, &b), 0);
  assert_true(has_item(&b, &MEM, 2));
  assert_true(has_item(&b, &MEM, 3));
  assert_int_equal(b.scans_waiting, 0);
  ack(&f, &b, all, &done);
  fm_fwd_batch_free(&b);

  /* Two 4.9 MB scans: one per batch. */
  uint64_t size = 82 * (uint64_t)FM_ATTACH_CHUNK - 1000;
  chunks(&f, 82, 2000, 2, big1, 1);
  chunks(&f, 82, 2000, 3, big2, 1);
  attach(&f, size, big1);
  attach(&f, size, big2);
  assert_int_equal(fm_forward_next(f.s, SINK.id, &lim, T0 + 3, &b), 0);
  assert_true(has_item(&b, &MEM, 4));
  assert_false(has_item(&b, &MEM, 5));
  ack(&f, &b, all, &done);
  fm_fwd_batch_free(&b);
  assert_int_equal(fm_forward_next(f.s, SINK.id, &lim, T0 + 4, &b), 0);
  assert_true(has_item(&b, &MEM, 5));
  ack(&f, &b, all, &done);
  fm_fwd_batch_free(&b);
  fx_close(&f);
}

/* A scan whose chunks never come does not hold its author back for good:
 * past the wait (from its stamp, on the planner's clock) it goes without
 * its file, and what waited behind it goes too; a revoked author's scan
 * (a laptop lost before it synced) does not wait at all. */
static void test_scan_without_its_file_after_the_wait(void **state) {
  fx f;
  fm_fwd_batch b;
  fm_fwd_done done;
  fm_fwd_limits lim = {100, 1 << 20, 0, 3600 * 1000};
  uint8_t ids[2 * FM_BLOB_ID];
  fm_buf vb;
  (void)state;
  gateway_store(&f, 0);
  assert_int_equal(fm_forward_configure(f.s, &SINK, 1), 0);
  chunks(&f, 2, 1000, 1, ids, 0);
  attach(&f, 2 * FM_ATTACH_CHUNK - 100, ids);   /* the member's seq 2, no chunk here */
  fm_buf_init(&vb, 4096);
  fm_visit_in v = {"V-9", "Team 1", "Nghĩa Tân", "", "2023-11-14", "", FM_MODE_HOME, 1, 2};
  assert_int_equal(fm_visit_body(&vb, &v), 0);
  append(f.s, &MEM, FM_KIND_VISIT, &vb);      /* seq 3 */
  fm_buf_free(&vb);
  memset(&b, 0, sizeof b);
  assert_int_equal(fm_forward_next(f.s, SINK.id, &lim, T0 + 3599 * 1000, &b), 0);
  assert_false(has_item(&b, &MEM, 2));
  assert_int_equal(b.scans_waiting, 1);
  ack(&f, &b, all, &done);
  fm_fwd_batch_free(&b);
  assert_int_equal(fm_forward_next(f.s, SINK.id, &lim, T0 + 3601 * 1000, &b), 0);
  assert_true(has_item(&b, &MEM, 2));
  assert_true(has_item(&b, &MEM, 3));
  assert_int_equal(b.scans_waiting, 0);
  ack(&f, &b, all, &done);
  fm_fwd_batch_free(&b);

  /* Another scan without chunks, then its author revoked: it goes now. */
  uint8_t ids2[2 * FM_BLOB_ID];
  chunks(&f, 2, 1000, 9, ids2, 0);
  attach(&f, 2 * FM_ATTACH_CHUNK - 100, ids2);  /* seq 4 */
  /* (planned a little after its stamp: well within the wait) */
  assert_int_equal(fm_forward_next(f.s, SINK.id, &lim, T0 + 1000, &b), 0);
  assert_false(has_item(&b, &MEM, 4));
  ack(&f, &b, all, &done);
  fm_fwd_batch_free(&b);
  fm_buf rb;
  fm_buf_init(&rb, 256);
  assert_int_equal(fm_revoke_body(&rb, MEM.pk, 4), 0);
  append(f.s, &AUTH, FM_KIND_REVOKE, &rb);
  fm_buf_free(&rb);
  assert_int_equal(fm_forward_next(f.s, SINK.id, &lim, T0 + 2000, &b), 0);
  assert_true(has_item(&b, &MEM, 4));
  assert_int_equal(b.scans_waiting, 0);
  ack(&f, &b, all, &done);
  fm_fwd_batch_free(&b);
  fx_close(&f);
}

/* The sink takes every entry but one, batch after batch: the status names
 * that entry and counts the batches, and forgets it once it is taken. */
static void test_status_names_an_entry_refused_again_and_again(void **state) {
  fx f;
  fm_fwd_batch b;
  fm_fwd_done done;
  fm_fwd_limits lim = {100, 1 << 20, 0, 0};
  (void)state;
  gateway_store(&f, 3);
  assert_int_equal(fm_forward_configure(f.s, &SINK, 1), 0);
  for (uint32_t round = 1; round <= 3; round++) {
    memset(&b, 0, sizeof b);
    assert_int_equal(fm_forward_next(f.s, SINK.id, &lim, T0, &b), 0);
    assert_true(b.n >= 2);
    ack(&f, &b, not_mem2, &done);
    fm_fwd_batch_free(&b);
    fm_fwd_status st = sink_status(&f);
    assert_int_equal(st.refused_batches, round);
    assert_int_equal(st.refused_seq, 2);
    assert_memory_equal(st.refused_author, MEM.pk, 32);
    /* More work, so that the next batch has something to take too. */
    fm_buf v;
    char id[16];
    snprintf(id, sizeof id, "V-90%02u", round);
    fm_visit_in in = {id, "Team 1", "Nghĩa Tân", "", "2023-11-14", "", FM_MODE_HOME, 1, 2};
    fm_buf_init(&v, 4096);
    assert_int_equal(fm_visit_body(&v, &in), 0);
    append(f.s, &MEM, FM_KIND_VISIT, &v);
    fm_buf_free(&v);
  }
  memset(&b, 0, sizeof b);
  assert_int_equal(fm_forward_next(f.s, SINK.id, &lim, T0, &b), 0);
  ack(&f, &b, all, &done);
  fm_fwd_batch_free(&b);
  fm_fwd_status st = sink_status(&f);
  assert_int_equal(st.refused_batches, 0);
  fx_close(&f);
}

static void test_forward_resumes_commits_and_never_resends(void **state) {
  fx f;
  fm_fwd_batch b, again;
  fm_fwd_done done;
  fm_fwd_limits lim = {10, 1 << 20, 0, 0};
  uint64_t n;
  (void)state;
  memset(&b, 0, sizeof b);
  memset(&again, 0, sizeof again);
  gateway_store(&f, 24);                     /* 2 enrollments + 25 member entries */
  assert_int_equal(fm_forward_configure(f.s, &SINK, 1), 0);
  assert_int_equal(pending(&f), 27);
  /* The authority's log first; the recorded batch comes back unchanged. */
  assert_int_equal(fm_forward_next(f.s, SINK.id, &lim, T0, &b), 0);
  assert_int_equal(b.n, 10);
  assert_memory_equal(b.items[0].author, AUTH.pk, 32);
  assert_int_equal(fm_forward_next(f.s, SINK.id, &lim, T0 + 5, &again), 0);
  assert_true(again.resumed && again.n == 10 && !memcmp(again.id, b.id, 16));
  assert_int_equal(fm_forward_failed(f.s, SINK.id, T0 + 6, "spool full"), 0);
  ack(&f, &b, all, &done);
  assert_int_equal(done.acked, 10);
  assert_int_equal(done.receipts, 1);
  /* A commit for a batch no longer recorded changes nothing. */
  uint8_t one = 1;
  fm_fwd_ack a = {"spool", &one, NULL, NULL, NULL};
  assert_int_equal(fm_forward_commit(f.s, &GW, &b, &a, T0, NULL), FM_ERR_NOTFOUND);
  assert_int_equal(pending(&f), 17 + 1);    /* the receipt is an entry too */
  /* Half acknowledged: those are not sent again, the others are. */
  fm_fwd_batch_free(&b);
  assert_int_equal(fm_forward_next(f.s, SINK.id, &lim, T0 + 10, &b), 0);
  ack(&f, &b, odd_seqs, &done);
  assert_true(done.acked >= 4 && done.acked <= 6);
  uint8_t sent[64] = {0};
  for (size_t i = 0; i < b.n; i++)
    if (b.items[i].seq % 2 == 1 && !memcmp(b.items[i].author, MEM.pk, 32)) sent[b.items[i].seq] = 1;
  for (int round = 0; round < 10; round++) {
    fm_fwd_batch_free(&b);
    assert_int_equal(fm_forward_next(f.s, SINK.id, &lim, T0 + 20 + round, &b), 0);
    if (!b.n) break;
    for (size_t i = 0; i < b.n; i++)
      if (!memcmp(b.items[i].author, MEM.pk, 32)) {
        assert_false(sent[b.items[i].seq]);  /* acknowledged: never again */
        sent[b.items[i].seq] = 1;
      }
    ack(&f, &b, all, &done);
  }
  assert_int_equal(pending(&f), 0);
  /* Every member entry receipted exactly once, none of the receipts. */
  assert_int_equal(fm_delivery_count(f.s, MEM.pk, 25, &n), 0);
  assert_int_equal(n, 25);
  fm_delivery d;
  assert_int_equal(fm_delivery_get(f.s, MEM.pk, 1, &d), 0);
  assert_true(d.sinks == FM_SINK_BIT_SPOOL && !memcmp(d.gateway, GW.pk, 32));
  assert_string_equal(d.ref, "file.ndjson");
  assert_int_equal(fm_delivery_count(f.s, GW.pk, 100, &n), 0);
  assert_int_equal(n, 0);
  fm_fwd_batch_free(&b);
  fm_fwd_batch_free(&again);
  fx_close(&f);
}

static int count_cb(void *ctx, const fm_delivery *d) {
  (*(int *)ctx)++;
  (void)d;
  return 0;
}

static int collect(void *ctx, const uint8_t *p, size_t len) {
  fm_buf *all = ctx;
  uint8_t hdr[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len};
  fm_buf_put(all, hdr, 4);
  fm_buf_put(all, p, len);
  return 0;
}

/* Ingests into |to| every entry of |author| that |from| holds. */
static void feed(fx *from, fx *to, const uint8_t author[32]) {
  fm_buf all;
  fm_buf_init(&all, 1 << 24);
  assert_int_equal(fm_store_each_missing(from->s, NULL, collect, &all), 0);
  for (size_t at = 0; at < all.len;) {
    size_t len = (size_t)all.p[at] << 24 | (size_t)all.p[at + 1] << 16 |
                 (size_t)all.p[at + 2] << 8 | all.p[at + 3];
    fm_entry e;
    assert_int_equal(fm_entry_decode(all.p + at + 4, len, NULL, &e), 0);
    if (!memcmp(e.author, author, 32)) {
      fm_slice sl = {all.p + at + 4, len};
      fm_ingest_result r;
      assert_int_equal(fm_store_ingest(to->s, &sl, 1, T0, &r, NULL), 0);
      assert_int_equal(r.accepted, 1);
    }
    at += 4 + len;
  }
  fm_buf_free(&all);
}

/* Feeds |g|'s entries to |l|: the authority's and the gateway's logs first
 * (so the receipts come before the entries they name), then the member's. */
static void feed_receipts_first(fx *g, fx *l) {
  feed(g, l, AUTH.pk);
  feed(g, l, GW.pk);
  feed(g, l, MEM.pk);
}

/* A gateway's store whose entries were all forwarded to SINK and
 * receipted. */
static int verify(fx *f, char *err, size_t cap) {
  char scratch[96];
  snprintf(scratch, sizeof scratch, "%s/verify.tmp", f->dir);
  return fm_store_verify(f->s, scratch, err, cap);
}

/* |gw| forwards everything |g| holds to SINK (one batch) and receipts it. */
static void forward_all(fx *g, const fm_identity *gw) {
  fm_fwd_batch b;
  fm_fwd_done done;
  fm_fwd_limits lim = {100, 1 << 20, 0, 0};
  memset(&b, 0, sizeof b);
  assert_int_equal(fm_forward_configure(g->s, &SINK, 1), 0);
  assert_int_equal(fm_forward_next(g->s, SINK.id, &lim, T0, &b), 0);
  uint8_t *acc = calloc(b.n, 1);
  memset(acc, 1, b.n);
  fm_fwd_ack a = {"spool", acc, NULL, "file.ndjson", NULL};
  assert_int_equal(fm_forward_commit(g->s, gw, &b, &a, T0 + 1000, &done), 0);
  free(acc);
  fm_fwd_batch_free(&b);
}

static void forwarded_store(fx *g, int visits) {
  gateway_store(g, visits);
  forward_all(g, &GW);
}

static void dossier_by(fm_store *s, const char *applicant) {
  fm_buf b;
  fm_dossier_in d = {"D-0001", "chung_thuc", applicant, "", "", "Nghĩa Tân", "Team 1",
                     "portal", "", "", NULL};
  fm_buf_init(&b, 4096);
  assert_int_equal(fm_dossier_body(&b, &d), 0);
  append(s, &MEM, FM_KIND_DOSSIER, &b);
  fm_buf_free(&b);
}

/* Two gateways took different sides of a fork of the member's seq 1 and
 * each receipted its side.  Two laptops holding the same entries, hearing
 * the receipts in opposite orders, end with the same receipts (verify's
 * rebuild agrees on both) and the same answer for the dossier. */
static void test_fork_receipts_agree_in_any_order(void **state) {
  fx g1, g2, l1, l2;
  fm_delivery d1, d2;
  char err[256];
  int n1 = 0, n2 = 0;
  (void)state;
  fx_open(&g1);
  enroll(g1.s, &MEM, FM_ROLE_MEMBER);
  enroll(g1.s, &GW, FM_ROLE_GATEWAY);
  enroll(g1.s, &GW2, FM_ROLE_GATEWAY);
  dossier_by(g1.s, "Sùng A Páo");
  fx_open(&g2);
  feed(&g1, &g2, AUTH.pk);
  dossier_by(g2.s, "Sùng A Pao"); /* the other side of the fork */
  forward_all(&g1, &GW);
  forward_all(&g2, &GW2);
  fx_open(&l1);
  fx_open(&l2);
  fx *order[2][2] = {{&g1, &g2}, {&g2, &g1}};
  fx *laptops[2] = {&l1, &l2};
  for (int i = 0; i < 2; i++) {
    feed(&g1, laptops[i], AUTH.pk);
    feed(&g1, laptops[i], MEM.pk);
    for (int j = 0; j < 2; j++)
      feed(order[i][j], laptops[i], order[i][j] == &g1 ? GW.pk : GW2.pk);
    assert_int_equal(verify(laptops[i], err, sizeof err), 0);
  }
  assert_int_equal(fm_delivery_get(l1.s, MEM.pk, 1, &d1), 0);
  assert_int_equal(fm_delivery_get(l2.s, MEM.pk, 1, &d2), 0);
  assert_memory_equal(d1.id8, d2.id8, sizeof d1.id8);
  assert_memory_equal(d1.gateway, d2.gateway, 32);
  assert_int_equal(fm_delivery_each_of_record(l1.s, FM_VIEW_DOSSIER, "D-0001", 6, count_cb, &n1), 0);
  assert_int_equal(fm_delivery_each_of_record(l2.s, FM_VIEW_DOSSIER, "D-0001", 6, count_cb, &n2), 0);
  assert_int_equal(n1, n2);
  fx_close(&g1);
  fx_close(&g2);
  fx_close(&l1);
  fx_close(&l2);
}

static void test_receipt_before_its_entries_applies_when_they_come(void **state) {
  fx g, l;
  uint8_t dg[32], dl[32];
  int n = 0;
  (void)state;
  forwarded_store(&g, 3);
  fx_open(&l);
  feed_receipts_first(&g, &l);
  assert_int_equal(fm_delivery_each_of_record(l.s, FM_VIEW_DOSSIER, "D-0001", 6, count_cb, &n), 0);
  assert_int_equal(n, 1);
  assert_int_equal(fm_delivery_each_of_record(l.s, FM_VIEW_VISIT, "V-0002", 6, count_cb, &n), 0);
  assert_int_equal(n, 2);
  /* Receipts are no part of the views. */
  assert_int_equal(fm_store_view_digest(g.s, dg), 0);
  assert_int_equal(fm_store_view_digest(l.s, dl), 0);
  assert_memory_equal(dg, dl, 32);
  fx_close(&g);
  fx_close(&l);
}

static void test_revoked_gateway_receipts_stop_counting(void **state) {
  fx g, l;
  fm_delivery d;
  fm_buf rev;
  uint64_t n;
  int seen = 0;
  char err[256];
  (void)state;
  forwarded_store(&g, 3);
  fx_open(&l);
  feed_receipts_first(&g, &l);
  assert_int_equal(fm_delivery_get(l.s, MEM.pk, 1, &d), 0);
  assert_int_equal(verify(&l, err, sizeof err), 0);
  /* The gateway's key is revoked from before its first receipt: on a
   * laptop that already applied them, they stop counting. */
  fm_buf_init(&rev, 256);
  assert_int_equal(fm_revoke_body(&rev, GW.pk, 0), 0);
  append(l.s, &AUTH, FM_KIND_REVOKE, &rev);
  fm_buf_free(&rev);
  assert_int_equal(fm_delivery_get(l.s, MEM.pk, 1, &d), FM_ERR_NOTFOUND);
  assert_int_equal(fm_delivery_count(l.s, MEM.pk, 100, &n), 0);
  assert_int_equal(n, 0);
  assert_int_equal(fm_delivery_each_of_record(l.s, FM_VIEW_DOSSIER, "D-0001", 6, count_cb, &seen), 0);
  assert_int_equal(seen, 0);
  assert_int_equal(verify(&l, err, sizeof err), 0);
  fx_close(&g);
  fx_close(&l);
}

/* Writes one row no receipt entry explains into table |name| of the
 * closed store in |dir|. */
static void tamper(const char *dir, const char *name) {
  MDB_env *env;
  MDB_txn *t;
  MDB_dbi dbi;
  uint8_t key[40], val[64];
  MDB_val k = {sizeof key, key}, v = {sizeof val, val};
  memset(key, 0x5a, sizeof key);
  memset(val, 0, sizeof val);
  assert_int_equal(mdb_env_create(&env), 0);
  assert_int_equal(mdb_env_set_maxdbs(env, 16), 0);
  assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
  assert_int_equal(mdb_txn_begin(env, NULL, 0, &t), 0);
  assert_int_equal(mdb_dbi_open(t, name, 0, &dbi), 0);
  assert_int_equal(mdb_put(t, dbi, &k, &v, 0), 0);
  assert_int_equal(mdb_txn_commit(t), 0);
  mdb_env_close(env);
}

static void test_verify_catches_and_rebuild_mends_receipts(void **state) {
  static const char *const tables[] = {"receipts", "delivered", "receipt_wait"};
  fm_store_opts o;
  char err[256];
  (void)state;
  memset(&o, 0, sizeof o);
  o.nosync = 1;
  for (int i = 0; i < 3; i++) {
    fx g;
    forwarded_store(&g, 2);
    assert_int_equal(verify(&g, err, sizeof err), 0);
    fm_store_close(g.s);
    tamper(g.dir, tables[i]);
    assert_int_equal(fm_store_open(g.dir, &o, &g.s), 0);
    assert_int_equal(verify(&g, err, sizeof err), FM_ERR_STALE);
    assert_non_null(strstr(err, "receipts do not match the log"));
    assert_int_equal(fm_store_rebuild(g.s), 0);
    assert_int_equal(verify(&g, err, sizeof err), 0);
    fm_delivery d;
    assert_int_equal(fm_delivery_get(g.s, MEM.pk, 1, &d), 0);
    fx_close(&g);
  }
}

/* A sink's state record as stores wrote it before refusals were tracked
 * (10 fields) still reads, and the next commit rewrites it whole. */
static void test_older_sink_state_still_reads(void **state) {
  fx f;
  fm_buf b;
  fm_wr w;
  fm_fwd_batch batch;
  fm_fwd_done done;
  fm_fwd_limits lim = {100, 1 << 20, 0, 0};
  MDB_env *env;
  MDB_txn *t;
  MDB_dbi dbi;
  uint8_t key[FM_FWD_SINK_ID_LEN + 1];
  fm_store_opts o;
  (void)state;
  gateway_store(&f, 2);
  assert_int_equal(fm_forward_configure(f.s, &SINK, 1), 0);
  fm_store_close(f.s);
  fm_buf_init(&b, 4096);
  fm_wr_init(&w, &b);
  fm_wr_array(&w, 10);
  fm_wr_uint(&w, (uint64_t)SINK.kind);
  fm_wr_uint(&w, 1);
  fm_wr_cstr(&w, SINK.target);
  fm_wr_uint(&w, 7);     /* forwarded */
  fm_wr_uint(&w, 2);     /* batches */
  fm_wr_uint(&w, 2);     /* receipts */
  fm_wr_uint(&w, 1000);  /* last_ok */
  fm_wr_uint(&w, 0);     /* last_failure */
  fm_wr_uint(&w, 0);     /* failures */
  fm_wr_cstr(&w, "");
  memcpy(key, SINK.id, FM_FWD_SINK_ID_LEN);
  key[FM_FWD_SINK_ID_LEN] = 's';
  MDB_val k = {sizeof key, key}, v = {b.len, b.p};
  assert_int_equal(mdb_env_create(&env), 0);
  assert_int_equal(mdb_env_set_maxdbs(env, 32), 0);
  assert_int_equal(mdb_env_open(env, f.dir, 0, 0600), 0);
  assert_int_equal(mdb_txn_begin(env, NULL, 0, &t), 0);
  assert_int_equal(mdb_dbi_open(t, "forward", 0, &dbi), 0);
  assert_int_equal(mdb_put(t, dbi, &k, &v, 0), 0);
  assert_int_equal(mdb_txn_commit(t), 0);
  mdb_env_close(env);
  fm_buf_free(&b);
  memset(&o, 0, sizeof o);
  o.nosync = 1;
  assert_int_equal(fm_store_open(f.dir, &o, &f.s), 0);
  fm_fwd_status st = sink_status(&f);
  assert_int_equal(st.forwarded, 7);
  assert_int_equal(st.refused_batches, 0);
  memset(&batch, 0, sizeof batch);
  assert_int_equal(fm_forward_next(f.s, SINK.id, &lim, T0, &batch), 0);
  ack(&f, &batch, not_mem2, &done);
  fm_fwd_batch_free(&batch);
  st = sink_status(&f);
  assert_int_equal(st.forwarded, 7 + done.acked);
  assert_int_equal(st.refused_batches, 1);
  assert_int_equal(st.refused_seq, 2);
  fx_close(&f);
}

/* Entries acknowledged with placeholders are remembered per sink, in the
 * commit's transaction; they come back as one correction with a stable
 * id of its own, survive a reopen, are forgotten once the correction is
 * acknowledged (only those it took), and never touch receipts or the
 * view digest. */
static void test_placeholders_remembered_resent_and_forgotten(void **state) {
  fx f;
  fm_fwd_batch b, r, again;
  fm_fwd_done done;
  fm_fwd_limits lim = {100, 1 << 20, 0, 0};
  fm_store_opts o;
  uint8_t digest[32], digest2[32];
  uint64_t n;
  (void)state;
  memset(&b, 0, sizeof b);
  memset(&r, 0, sizeof r);
  memset(&again, 0, sizeof again);
  memset(&o, 0, sizeof o);
  o.nosync = 1;
  gateway_store(&f, 3);                      /* dossier seq 1, visits seq 2..4 */
  assert_int_equal(fm_forward_configure(f.s, &SINK, 1), 0);
  assert_int_equal(fm_forward_next(f.s, SINK.id, &lim, T0, &b), 0);
  assert_int_equal(b.n, 6);
  /* The member's dossier and its second visit went with placeholders. */
  uint8_t acc[6], ph[6] = {0};
  memset(acc, 1, sizeof acc);
  for (size_t i = 0; i < b.n; i++)
    if (!memcmp(b.items[i].author, MEM.pk, 32) && (b.items[i].seq == 1 || b.items[i].seq == 3))
      ph[i] = 1;
  fm_fwd_ack a = {"spool", acc, NULL, "file.ndjson", ph};
  assert_int_equal(fm_forward_commit(f.s, &GW, &b, &a, T0 + 1000, &done), 0);
  assert_int_equal(done.acked, 6);
  assert_int_equal(fm_forward_placeholders(f.s, SINK.id, &n), 0);
  assert_int_equal(n, 2);
  fm_fwd_status st = sink_status(&f);
  assert_int_equal(st.placeholders, 2);
  assert_int_equal(st.corrected, 0);
  /* A receipt is never kept so (it has no sealed fields nor a receipt of
   * its own). */
  fm_fwd_batch_free(&b);
  assert_int_equal(fm_forward_next(f.s, SINK.id, &lim, T0 + 2000, &b), 0);
  assert_int_equal(b.n, 1);
  assert_true(b.items[0].is_receipt);
  fm_fwd_ack ra = {"spool", acc, NULL, NULL, ph + 0};
  ph[0] = 1;
  assert_int_equal(fm_forward_commit(f.s, &GW, &b, &ra, T0 + 2000, &done), 0);
  assert_int_equal(fm_forward_placeholders(f.s, SINK.id, &n), 0);
  assert_int_equal(n, 2);
  st = sink_status(&f);
  uint64_t receipts = st.receipts;
  assert_int_equal(fm_store_view_digest(f.s, digest), 0);

  /* Remembered across a restart. */
  fm_store_close(f.s);
  assert_int_equal(fm_store_open(f.dir, &o, &f.s), 0);
  assert_int_equal(fm_forward_placeholders(f.s, SINK.id, &n), 0);
  assert_int_equal(n, 2);

  /* The correction: both entries, their records, an id of its own that
   * is the same however often it is built. */
  assert_int_equal(fm_forward_resend_next(f.s, SINK.id, 100, &r), 0);
  assert_int_equal(r.n, 2);
  assert_true(r.resent);
  assert_int_equal(r.nranges, 0);
  assert_int_equal(r.nrecords, 2);
  assert_int_equal(r.items[0].seq, 1);
  assert_int_equal(r.items[1].seq, 3);
  assert_int_equal(r.created, T0 + 1000);
  assert_memory_not_equal(r.id, b.id, 16);
  assert_int_equal(fm_forward_resend_next(f.s, SINK.id, 100, &again), 0);
  assert_memory_equal(again.id, r.id, 16);
  fm_fwd_batch_free(&again);
  /* At most |max| at once. */
  assert_int_equal(fm_forward_resend_next(f.s, SINK.id, 1, &again), 0);
  assert_int_equal(again.n, 1);
  fm_fwd_batch_free(&again);

  /* The sink took only the first: the second waits still. */
  uint8_t took[2] = {1, 0};
  assert_int_equal(fm_forward_resend_done(f.s, &r, took), 0);
  assert_int_equal(fm_forward_placeholders(f.s, SINK.id, &n), 0);
  assert_int_equal(n, 1);
  /* Delivered twice: counted once. */
  assert_int_equal(fm_forward_resend_done(f.s, &r, took), 0);
  st = sink_status(&f);
  assert_int_equal(st.placeholders, 1);
  assert_int_equal(st.corrected, 1);
  fm_fwd_batch_free(&r);
  assert_int_equal(fm_forward_resend_next(f.s, SINK.id, 100, &r), 0);
  assert_int_equal(r.n, 1);
  assert_int_equal(r.items[0].seq, 3);
  assert_int_equal(fm_forward_resend_done(f.s, &r, NULL), 0);
  fm_fwd_batch_free(&r);
  assert_int_equal(fm_forward_resend_next(f.s, SINK.id, 100, &r), 0);
  assert_int_equal(r.n, 0);

  /* Forgotten for good, after a restart too; no receipt, no new entry to
   * forward, the same view digest. */
  fm_store_close(f.s);
  assert_int_equal(fm_store_open(f.dir, &o, &f.s), 0);
  st = sink_status(&f);
  assert_int_equal(st.placeholders, 0);
  assert_int_equal(st.corrected, 2);
  assert_int_equal(st.receipts, receipts);
  assert_int_equal(pending(&f), 0);
  assert_int_equal(fm_store_view_digest(f.s, digest2), 0);
  assert_memory_equal(digest, digest2, 32);
  fm_fwd_batch_free(&r);
  fm_fwd_batch_free(&b);
  fx_close(&f);

  /* An entry the sink did not take is not kept: it goes again anyway. */
  gateway_store(&f, 0);
  assert_int_equal(fm_forward_configure(f.s, &SINK, 1), 0);
  assert_int_equal(fm_forward_next(f.s, SINK.id, &lim, T0, &b), 0);
  assert_int_equal(b.n, 3);
  uint8_t acc2[3] = {1, 1, 0}, ph2[3] = {0, 1, 1};
  fm_fwd_ack a2 = {"spool", acc2, NULL, NULL, ph2};
  assert_int_equal(fm_forward_commit(f.s, &GW, &b, &a2, T0 + 1000, &done), 0);
  assert_int_equal(fm_forward_placeholders(f.s, SINK.id, &n), 0);
  assert_int_equal(n, 1);
  fm_fwd_batch_free(&b);
  fx_close(&f);
}

static int setup(void **state) {
  uint8_t seed[32];
  memset(seed, 1, 32);
  assert_int_equal(fm_identity_from_seed(&AUTH, seed), 0);
  memset(seed, 2, 32);
  assert_int_equal(fm_identity_from_seed(&MEM, seed), 0);
  memset(seed, 3, 32);
  assert_int_equal(fm_identity_from_seed(&GW, seed), 0);
  memset(seed, 4, 32);
  assert_int_equal(fm_identity_from_seed(&GW2, seed), 0);
  SINK.kind = FM_SINK_SPOOL;
  SINK.target = "/var/spool/fieldmesh";
  fm_forward_sink_id(SINK.kind, SINK.target, SINK.id);
  (void)state;
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_forward_resumes_commits_and_never_resends),
      cmocka_unit_test(test_receipt_before_its_entries_applies_when_they_come),
      cmocka_unit_test(test_revoked_gateway_receipts_stop_counting),
      cmocka_unit_test(test_verify_catches_and_rebuild_mends_receipts),
      cmocka_unit_test(test_fork_receipts_agree_in_any_order),
      cmocka_unit_test(test_status_names_an_entry_refused_again_and_again),
      cmocka_unit_test(test_older_sink_state_still_reads),
      cmocka_unit_test(test_scan_waits_for_its_chunks),
      cmocka_unit_test(test_scan_without_its_file_after_the_wait),
      cmocka_unit_test(test_placeholders_remembered_resent_and_forgotten),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
