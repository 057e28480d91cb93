/* Sealed personal fields: a sealed value opens with its key, record,
 * field and writer and with nothing else; grants open for their readers
 * only; the keyring picks readers from the roster, rotates the key when
 * they change, and shows what it cannot open as a placeholder; a holder
 * of a lost writer's key extends its grant (seal.extend), and wrong or
 * foreign extensions hide nothing and open nothing. */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "enrolled.h"
#include "fieldmesh/dirs.h"
#include "fieldmesh/enroll.h"
#include "fieldmesh/error.h"
#include "fieldmesh/keys.h"
#include "fieldmesh/record.h"
#include "fieldmesh/seal.h"
#include "fieldmesh/store.h"

#define T0 1700000000000LL /* 2023-11-14 */

static uint64_t rng_counter;

static void test_fill(void *ctx, uint8_t *out, size_t len) {
  uint8_t seed[randombytes_SEEDBYTES] = {0};
  (void)ctx;
  memcpy(seed, &rng_counter, sizeof rng_counter);
  rng_counter++;
  randombytes_buf_deterministic(out, len, seed);
}

static const fm_rng RNG = {test_fill, NULL};

static fm_identity AUTH, W1, R1, O2, GW, OFF;

static void ident(fm_identity *id, uint8_t n) {
  uint8_t seed[32];
  memset(seed, n, sizeof seed);
  assert_int_equal(fm_identity_from_seed(id, seed), 0);
}

static int setup_ids(void **state) {
  (void)state;
  ident(&AUTH, 1);
  ident(&W1, 2);   /* Team 1, writes */
  ident(&R1, 3);   /* Team 1, reads */
  ident(&O2, 4);   /* Team 2 */
  ident(&GW, 5);   /* the gateway */
  ident(&OFF, 6);  /* an officer of the commune hall */
  return 0;
}

static void sealer_of(fm_sealer *s, const uint8_t key[32], const fm_identity *author) {
  s->key = key;
  s->grant_seq = 7;
  memcpy(s->author, author->pk, FM_KEY_LEN);
  s->rng = RNG;
}

/* The value of the only key of a one-key map |b|. */
static void bin_of(const fm_buf *b, const uint8_t **p, size_t *n) {
  fm_rd r;
  uint32_t m;
  const char *k;
  size_t kn;
  fm_rd_init(&r, b->p, b->len, 1);
  assert_int_equal(fm_rd_map(&r, &m), 0);
  assert_int_equal(fm_rd_str(&r, &k, &kn), 0);
  assert_int_equal(fm_rd_bin(&r, p, n), 0);
}

static void test_seal_opens_only_in_its_place(void **state) {
  uint8_t key[32], other[32];
  fm_sealer s;
  fm_buf b;
  fm_wr w;
  const uint8_t *p;
  size_t n, on;
  uint64_t seq;
  char out[64];
  (void)state;
  memset(key, 9, sizeof key);
  memset(other, 8, sizeof other);
  sealer_of(&s, key, &W1);
  fm_buf_init(&b, 4096);
  fm_wr_init(&w, &b);
  fm_wr_map(&w, 1);
  fm_wr_cstr(&w, "id_number");
  fm_seal_write(&w, &s, "D-1", 3, "id_number", "002190012345", 12);
  assert_int_equal(fm_buf_error(&b), 0);
  bin_of(&b, &p, &n);
  assert_int_equal(n, FM_SEAL_OVERHEAD + 12);
  assert_null(memmem(b.p, b.len, "002190012345", 12));
  assert_int_equal(fm_seal_grant_of(p, n, &seq), 0);
  assert_int_equal(seq, 7);
  assert_int_equal(fm_seal_open(key, W1.pk, "D-1", 3, "id_number", p, n, out, sizeof out, &on), 0);
  assert_int_equal(on, 12);
  assert_memory_equal(out, "002190012345", 12);
  /* Another key, record, field or writer: it does not open. */
  assert_int_equal(fm_seal_open(other, W1.pk, "D-1", 3, "id_number", p, n, out, sizeof out, &on),
                   FM_ERR_BADSIG);
  assert_int_equal(fm_seal_open(key, W1.pk, "D-2", 3, "id_number", p, n, out, sizeof out, &on),
                   FM_ERR_BADSIG);
  assert_int_equal(fm_seal_open(key, W1.pk, "D-1", 3, "phone", p, n, out, sizeof out, &on),
                   FM_ERR_BADSIG);
  assert_int_equal(fm_seal_open(key, O2.pk, "D-1", 3, "id_number", p, n, out, sizeof out, &on),
                   FM_ERR_BADSIG);
  /* Every flipped byte and every cut length fails cleanly. */
  uint8_t t[FM_SEAL_OVERHEAD + 12];
  for (size_t i = 0; i < n; i++) {
    memcpy(t, p, n);
    t[i] ^= 0x20;
    assert_true(fm_seal_open(key, W1.pk, "D-1", 3, "id_number", t, n, out, sizeof out, &on) < 0);
  }
  for (size_t cut = 0; cut < n; cut++)
    assert_true(fm_seal_open(key, W1.pk, "D-1", 3, "id_number", p, cut, out, sizeof out, &on) < 0);
  assert_int_equal(fm_seal_open(key, W1.pk, "D-1", 3, "id_number", p, n, out, 4, &on),
                   FM_ERR_TOOBIG);
  fm_buf_free(&b);
}

static void test_grant_opens_for_its_readers_only(void **state) {
  uint8_t key[32], got[32], devs[3][FM_KEY_LEN], back[FM_SEAL_READERS_MAX][FM_KEY_LEN];
  fm_buf body, e;
  fm_entry en;
  char period[8];
  size_t n;
  (void)state;
  memset(key, 3, sizeof key);
  memcpy(devs[0], W1.pk, 32);
  memcpy(devs[1], R1.pk, 32);
  memcpy(devs[2], GW.pk, 32);
  fm_buf_init(&body, 16384);
  fm_buf_init(&e, 16384);
  assert_int_equal(fm_seal_grant_body(&body, "2023-11", (const uint8_t(*)[32])devs, 3, key, &RNG), 0);
  assert_null(memmem(body.p, body.len, key, sizeof key));
  assert_int_equal(fm_entry_build(&e, &W1, 1, NULL, (fm_hlc)T0 << 16, FM_KIND_SEAL_GRANT, body.p,
                                  body.len), 0);
  assert_int_equal(fm_entry_decode(e.p, e.len, NULL, &en), 0);
  assert_int_equal(fm_seal_grant_read(&en, period, back, &n), 0);
  assert_string_equal(period, "2023-11");
  assert_int_equal(n, 3);
  assert_memory_equal(back, devs, sizeof devs);
  const fm_identity *readers[] = {&W1, &R1, &GW};
  for (int i = 0; i < 3; i++) {
    memset(got, 0, sizeof got);
    assert_int_equal(fm_seal_grant_open(&en, readers[i]->pk, readers[i]->sk, got), 0);
    assert_memory_equal(got, key, sizeof key);
  }
  assert_int_equal(fm_seal_grant_open(&en, O2.pk, O2.sk, got), FM_ERR_NOTFOUND);
  /* A reader's key claimed by another device's secret does not open. */
  assert_int_equal(fm_seal_grant_open(&en, R1.pk, O2.sk, got), FM_ERR_BADSIG);
  /* Bad counts and periods are refused. */
  fm_buf_reset(&body);
  assert_int_equal(fm_seal_grant_body(&body, "2023-1", (const uint8_t(*)[32])devs, 3, key, &RNG),
                   FM_ERR_INVAL);
  assert_int_equal(fm_seal_grant_body(&body, "2023-11", (const uint8_t(*)[32])devs, 0, key, &RNG),
                   FM_ERR_INVAL);
  fm_buf_free(&body);
  fm_buf_free(&e);
}

/* An item with more than [device, box] is for a later version (a box
 * wrapped to a key the device can forget): skipped, not an error. */
static void test_grant_items_of_a_later_version_are_skipped(void **state) {
  uint8_t key[32], got[32], devs[1][FM_KEY_LEN], back[FM_SEAL_READERS_MAX][FM_KEY_LEN];
  fm_buf one, body, e;
  fm_entry en;
  fm_wr w;
  fm_rd r;
  char period[8];
  size_t n;
  uint32_t m, items;
  const char *k;
  size_t kn;
  (void)state;
  memset(key, 4, sizeof key);
  memcpy(devs[0], R1.pk, 32);
  fm_buf_init(&one, 4096);
  fm_buf_init(&body, 4096);
  fm_buf_init(&e, 16384);
  assert_int_equal(fm_seal_grant_body(&one, "2023-11", (const uint8_t(*)[32])devs, 1, key, &RNG), 0);
  /* Copy R1's item, and add one for GW with a third element. */
  fm_rd_init(&r, one.p, one.len, 1);
  assert_int_equal(fm_rd_map(&r, &m), 0);
  assert_int_equal(fm_rd_str(&r, &k, &kn), 0);
  assert_int_equal(fm_rd_str(&r, &k, &kn), 0);
  assert_int_equal(fm_rd_str(&r, &k, &kn), 0);
  assert_int_equal(fm_rd_array(&r, &items), 0);
  const uint8_t *item = r.p;
  assert_int_equal(fm_rd_skip(&r, 4, 8), 0);
  fm_wr_init(&w, &body);
  fm_wr_map(&w, 2);
  fm_wr_cstr(&w, "period");
  fm_wr_cstr(&w, "2023-11");
  fm_wr_cstr(&w, "to");
  fm_wr_array(&w, 2);
  fm_wr_raw(&w, item, (size_t)(r.p - item));
  fm_wr_array(&w, 3);
  fm_wr_bin(&w, GW.pk, 32);
  fm_wr_bin(&w, item + 37, FM_SEAL_BOX_LEN);  /* R1's box: any 80 bytes */
  fm_wr_bin(&w, "inbox-key-id", 12);
  assert_int_equal(fm_entry_build(&e, &W1, 1, NULL, (fm_hlc)T0 << 16, FM_KIND_SEAL_GRANT, body.p,
                                  body.len), 0);
  assert_int_equal(fm_entry_decode(e.p, e.len, NULL, &en), 0);
  assert_int_equal(fm_seal_grant_read(&en, period, back, &n), 0);
  assert_int_equal(n, 1);
  assert_int_equal(fm_seal_grant_open(&en, R1.pk, R1.sk, got), 0);
  assert_memory_equal(got, key, 32);
  assert_int_equal(fm_seal_grant_open(&en, GW.pk, GW.sk, got), FM_ERR_NOTFOUND);
  fm_buf_free(&one);
  fm_buf_free(&body);
  fm_buf_free(&e);
}

/* ---- the keyring on a real store ---------------------------------------- */

typedef struct fx {
  char dir[64];
  fm_store *s;
} fx;

static void enroll(fm_store *s, const fm_identity *dev, fm_role role, const char *team) {
  enrolled_append(s, &AUTH, dev, role, "Thành viên", team, T0);
}

static void fx_commune(fx *f) {
  fm_store_opts o;
  memset(&o, 0, sizeof o);
  o.nosync = 1;
  strcpy(f->dir, "/tmp/fm-test-seal-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  assert_int_equal(fm_store_open(f->dir, &o, &f->s), 0);
  assert_int_equal(fm_store_set_authority(f->s, AUTH.pk, "Tân Quang"), 0);
  enroll(f->s, &W1, FM_ROLE_MEMBER, "Team 1");
  enroll(f->s, &R1, FM_ROLE_MEMBER, "Team 1");
  enroll(f->s, &O2, FM_ROLE_MEMBER, "Team 2");
  enroll(f->s, &GW, FM_ROLE_GATEWAY, "Commune hall");
  enroll(f->s, &OFF, FM_ROLE_OFFICER, "Commune hall");
}

/* W1 writes a sealed dossier |id| at |now|; returns how many grants were
 * written first. */
static int write_dossier(fx *f, fm_keyring *k, const char *id, fm_time now) {
  fm_buf grant, body;
  fm_sealer s;
  uint64_t seq;
  int fresh, rv;
  fm_dossier_in d = {id, "khai_sinh", "Lò Thị Lan", "002190012345", "0912345678",
                     "Nghĩa Tân", "Team 1", "portal", "", "ghi chú riêng", "2023-11-14"};
  fm_buf_init(&grant, 16384);
  fm_buf_init(&body, 16384);
  fresh = 0;
  while ((rv = fm_keyring_sealer(k, now, &RNG, &grant, &s)) == 1) {
    assert_int_equal(fm_store_append(f->s, &W1, FM_KIND_SEAL_GRANT, grant.p, grant.len, now, NULL,
                                     &seq), 0);
    fm_keyring_granted(k, seq, &s);
    fresh++;
  }
  assert_int_equal(rv, 0);
  assert_int_equal(fm_dossier_body_sealed(&body, &d, &s), 0);
  assert_null(memmem(body.p, body.len, "002190012345", 12));
  assert_null(memmem(body.p, body.len, "0912345678", 10));
  assert_int_equal(fm_store_append(f->s, &W1, FM_KIND_DOSSIER, body.p, body.len, now, NULL, NULL),
                   0);
  fm_buf_free(&grant);
  fm_buf_free(&body);
  return fresh;
}

typedef struct shown {
  fm_keyring *k;
  char name[256], id_number[64], note[256];
  unsigned locked;
} shown;

static int on_dossier(void *ctx, const char *id, size_t n, const uint8_t *rec, size_t len) {
  shown *sh = ctx;
  fm_dossier_view d;
  fm_opened o;
  assert_int_equal(fm_dossier_view_decode(rec, len, &d), 0);
  assert_int_equal(d.sealed, FM_SEALED_NAME | FM_SEALED_ID | FM_SEALED_PHONE | FM_SEALED_NOTE);
  fm_keyring_open_dossier(sh->k, &d, &o, (fm_str){id, n});
  assert_int_equal(d.sealed, 0);
  snprintf(sh->name, sizeof sh->name, "%.*s", (int)d.applicant_name.n, d.applicant_name.p);
  snprintf(sh->id_number, sizeof sh->id_number, "%.*s", (int)d.applicant_id.n, d.applicant_id.p);
  snprintf(sh->note, sizeof sh->note, "%.*s", (int)d.note.n, d.note.p);
  sh->locked = d.locked;
  return 0;
}

static shown show_as(fx *f, const fm_identity *who, const char *id) {
  shown sh;
  memset(&sh, 0, sizeof sh);
  assert_int_equal(fm_keyring_new(f->s, who, &sh.k), 0);
  assert_int_equal(fm_store_find_record(f->s, FM_VIEW_DOSSIER, id, on_dossier, &sh), 0);
  fm_keyring_free(sh.k);
  sh.k = NULL;
  return sh;
}

static void test_keyring_team_and_hall_read_others_see_sealed(void **state) {
  fx f;
  fm_keyring *k;
  (void)state;
  fx_commune(&f);
  assert_int_equal(fm_keyring_new(f.s, &W1, &k), 0);
  assert_int_equal(write_dossier(&f, k, "D-0001", T0), 1);
  /* The key serves the month while the readers stay. */
  assert_int_equal(write_dossier(&f, k, "D-0002", T0 + 1000), 0);
  fm_keyring_free(k);
  /* A fresh keyring (the next command) finds the grant in its own log. */
  assert_int_equal(fm_keyring_new(f.s, &W1, &k), 0);
  assert_int_equal(write_dossier(&f, k, "D-0003", T0 + 2000), 0);
  fm_keyring_free(k);

  const fm_identity *readers[] = {&W1, &R1, &GW, &OFF};
  for (int i = 0; i < 4; i++) {
    shown sh = show_as(&f, readers[i], "D-0002");
    assert_string_equal(sh.name, "Lò Thị Lan");
    assert_string_equal(sh.id_number, "002190012345");
    assert_string_equal(sh.note, "ghi chú riêng");
    assert_int_equal(sh.locked, 0);
  }
  shown other = show_as(&f, &O2, "D-0002");
  assert_string_equal(other.name, "(sealed: Team 1)");
  assert_string_equal(other.id_number, "(sealed: Team 1)");
  assert_int_equal(other.locked, FM_SEALED_NAME | FM_SEALED_ID | FM_SEALED_PHONE | FM_SEALED_NOTE);
  shown nobody = show_as(&f, NULL, "D-0002");
  assert_string_equal(nobody.name, "(sealed: Team 1)");
  fm_store_close(f.s);
  assert_int_equal(fm_store_remove_dir(f.dir), 0);
}

/* P3: once a revocation reaches the writer, its next record is sealed
 * under a new key that the revoked device cannot open; a new month also
 * starts a new key. */
static void test_keyring_rotates_on_revocation_and_month(void **state) {
  fx f;
  fm_keyring *k;
  fm_buf b;
  (void)state;
  fx_commune(&f);
  assert_int_equal(fm_keyring_new(f.s, &W1, &k), 0);
  assert_int_equal(write_dossier(&f, k, "D-0001", T0), 1);
  fm_buf_init(&b, 256);
  assert_int_equal(fm_revoke_body(&b, R1.pk, 0), 0);
  assert_int_equal(fm_store_append(f.s, &AUTH, FM_KIND_REVOKE, b.p, b.len, T0 + 10, NULL, NULL), 0);
  fm_buf_free(&b);
  assert_int_equal(write_dossier(&f, k, "D-0002", T0 + 20), 1);
  /* 20 days later: a new month, a new key. */
  assert_int_equal(write_dossier(&f, k, "D-0003", T0 + 20LL * 86400000), 1);
  fm_keyring_free(k);
  assert_string_equal(show_as(&f, &R1, "D-0001").id_number, "002190012345");
  assert_string_equal(show_as(&f, &R1, "D-0002").id_number, "(sealed: Team 1)");
  assert_string_equal(show_as(&f, &GW, "D-0002").id_number, "002190012345");
  assert_string_equal(show_as(&f, &GW, "D-0003").id_number, "002190012345");
  fm_store_close(f.s);
  assert_int_equal(fm_store_remove_dir(f.dir), 0);
}

/* A writer that did not know the gateway yet: once it learns of it, its
 * next sealed record first extends the month's grant, and the gateway
 * then reads the earlier record too, with no new key. */
static void test_keyring_extends_grants_to_new_readers(void **state) {
  fx f;
  fm_keyring *k;
  fm_store_opts o;
  (void)state;
  memset(&o, 0, sizeof o);
  o.nosync = 1;
  strcpy(f.dir, "/tmp/fm-test-seal-XXXXXX");
  assert_non_null(mkdtemp(f.dir));
  assert_int_equal(fm_store_open(f.dir, &o, &f.s), 0);
  assert_int_equal(fm_store_set_authority(f.s, AUTH.pk, "Tân Quang"), 0);
  enroll(f.s, &W1, FM_ROLE_MEMBER, "Team 1");
  assert_int_equal(fm_keyring_new(f.s, &W1, &k), 0);
  assert_int_equal(write_dossier(&f, k, "D-0001", T0), 1);
  assert_string_equal(show_as(&f, &GW, "D-0001").id_number, "(sealed: Team 1)");
  enroll(f.s, &GW, FM_ROLE_GATEWAY, "Commune hall");
  enroll(f.s, &R1, FM_ROLE_MEMBER, "Team 1");
  /* The extension; the extended key then serves the readers as they are
   * now (nobody left), so no new key. */
  assert_int_equal(write_dossier(&f, k, "D-0002", T0 + 1000), 1);
  assert_int_equal(write_dossier(&f, k, "D-0003", T0 + 2000), 0);
  fm_keyring_free(k);
  assert_string_equal(show_as(&f, &GW, "D-0001").id_number, "002190012345");
  assert_string_equal(show_as(&f, &R1, "D-0001").id_number, "002190012345");
  assert_string_equal(show_as(&f, &GW, "D-0003").id_number, "002190012345");
  assert_string_equal(show_as(&f, &O2, "D-0001").id_number, "(sealed: Team 1)");
  fm_store_close(f.s);
  assert_int_equal(fm_store_remove_dir(f.dir), 0);
}


/* ---- extensions by other holders of a key (seal.extend) ----------------- */

static fm_identity R2;

/* A store where W1 wrote dossier D-0001 (grant seq 1) readable by W1, R1
 * and R2 only, and then the gateway and the officer were enrolled. */
static void fx_lost_writer(fx *f) {
  fm_store_opts o;
  fm_keyring *k;
  ident(&R2, 7);
  memset(&o, 0, sizeof o);
  o.nosync = 1;
  strcpy(f->dir, "/tmp/fm-test-seal-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  assert_int_equal(fm_store_open(f->dir, &o, &f->s), 0);
  assert_int_equal(fm_store_set_authority(f->s, AUTH.pk, "Tân Quang"), 0);
  enroll(f->s, &W1, FM_ROLE_MEMBER, "Team 1");
  enroll(f->s, &R1, FM_ROLE_MEMBER, "Team 1");
  enroll(f->s, &R2, FM_ROLE_MEMBER, "Team 1");
  enroll(f->s, &O2, FM_ROLE_MEMBER, "Team 2");
  assert_int_equal(fm_keyring_new(f->s, &W1, &k), 0);
  assert_int_equal(write_dossier(f, k, "D-0001", T0), 1);
  fm_keyring_free(k);
  enroll(f->s, &GW, FM_ROLE_GATEWAY, "Commune hall");
  enroll(f->s, &OFF, FM_ROLE_OFFICER, "Commune hall");
}

static void revoke(fx *f, const fm_identity *dev, uint64_t after, fm_time now) {
  fm_buf b;
  fm_buf_init(&b, 256);
  assert_int_equal(fm_revoke_body(&b, dev->pk, after), 0);
  assert_int_equal(fm_store_append(f->s, &AUTH, FM_KIND_REVOKE, b.p, b.len, now, NULL, NULL), 0);
  fm_buf_free(&b);
}

/* |who| extends what it may at |now|: how many extensions it wrote. */
static int extend_as(fx *f, const fm_identity *who, fm_time now) {
  fm_keyring *k;
  fm_buf g;
  int rv, n = 0;
  fm_buf_init(&g, 16384);
  assert_int_equal(fm_keyring_new(f->s, who, &k), 0);
  while ((rv = fm_keyring_extend_others(k, now, &RNG, &g)) == 1) {
    assert_int_equal(fm_store_append(f->s, who, FM_KIND_SEAL_EXTEND, g.p, g.len, now, NULL, NULL),
                     0);
    n++;
    assert_true(n < 10);
  }
  assert_int_equal(rv, 0);
  fm_keyring_free(k);
  fm_buf_free(&g);
  return n;
}

typedef struct last_ext {
  fm_seal_reader to[FM_SEAL_READERS_MAX];
  size_t n;
  uint8_t writer[FM_KEY_LEN];
  uint64_t of;
} last_ext;

static int on_last_ext(void *ctx, const uint8_t *bytes, size_t len) {
  last_ext *x = ctx;
  fm_entry e;
  char period[8];
  assert_int_equal(fm_entry_decode(bytes, len, NULL, &e), 0);
  if (!fm_entry_is(&e, FM_KIND_SEAL_EXTEND)) return 0;
  assert_int_equal(fm_seal_extend_of(&e, x->writer, &x->of), 0);
  assert_int_equal(fm_seal_grant_readers(&e, period, x->to, &x->n), 0);
  assert_string_equal(period, "2023-11");
  return 0;
}

/* A lost laptop's teammate extends its grant: the gateway and the officer
 * read its record; a revoked device gets no wrap; only one teammate writes
 * at once, the other waits its turn and then finds nothing missing; a
 * writer still heard from is left to extend its own grants. */
static void test_teammate_extends_a_lost_writers_grant(void **state) {
  fx f;
  (void)state;
  fx_lost_writer(&f);
  assert_string_equal(show_as(&f, &GW, "D-0001").id_number, "(sealed: Team 1)");
  /* W1 was heard from an hour ago: not gone, nobody extends for it. */
  assert_int_equal(extend_as(&f, &R1, T0 + 3600000), 0);
  assert_int_equal(extend_as(&f, &R2, T0 + 3600000), 0);
  /* W1 is lost and revoked (its entries so far stay); so is the officer. */
  revoke(&f, &W1, 2, T0 + 7200000);
  revoke(&f, &OFF, 0, T0 + 7200000);
  int n1 = extend_as(&f, &R1, T0 + 7300000), n2 = extend_as(&f, &R2, T0 + 7300000);
  assert_int_equal(n1 + n2, 1); /* one turn first; the other then sees the gateway reached */
  assert_int_equal(extend_as(&f, n1 ? &R2 : &R1, T0 + 86400000), 0);
  last_ext x;
  memset(&x, 0, sizeof x);
  assert_int_equal(fm_store_read_after(f.s, n1 ? R1.pk : R2.pk, 0, 0, on_last_ext, &x), 0);
  assert_memory_equal(x.writer, W1.pk, FM_KEY_LEN);
  assert_int_equal(x.of, 1);
  assert_int_equal(x.n, 1); /* the gateway only: not the revoked officer, not W1 */
  assert_memory_equal(x.to[0].device, GW.pk, FM_KEY_LEN);
  shown gw = show_as(&f, &GW, "D-0001");
  assert_string_equal(gw.name, "Lò Thị Lan");
  assert_string_equal(gw.id_number, "002190012345");
  assert_int_equal(gw.locked, 0);
  assert_string_equal(show_as(&f, &OFF, "D-0001").id_number, "(sealed: Team 1)");
  assert_string_equal(show_as(&f, &O2, "D-0001").id_number, "(sealed: Team 1)");
  fm_store_close(f.s);
  assert_int_equal(fm_store_remove_dir(f.dir), 0);
}

/* A writer silent for more than a day (not revoked) is taken for gone: a
 * teammate extends its grant to the gateway. */
static void test_teammate_extends_a_silent_writers_grant(void **state) {
  fx f;
  (void)state;
  fx_lost_writer(&f);
  int n = extend_as(&f, &R1, T0 + 2 * 86400000LL) + extend_as(&f, &R2, T0 + 2 * 86400000LL);
  assert_int_equal(n, 1);
  assert_string_equal(show_as(&f, &GW, "D-0001").id_number, "002190012345");
  assert_string_equal(show_as(&f, &OFF, "D-0001").id_number, "002190012345");
  fm_store_close(f.s);
  assert_int_equal(fm_store_remove_dir(f.dir), 0);
}

/* |by| writes a `seal.extend` of W1's grant 1 wrapping |key| to the
 * gateway. */
static void write_ext(fx *f, const fm_identity *by, const uint8_t key[32], fm_time now) {
  fm_buf b;
  fm_seal_reader r;
  memset(&r, 0, sizeof r);
  memcpy(r.device, GW.pk, FM_KEY_LEN);
  fm_buf_init(&b, 4096);
  assert_int_equal(fm_seal_extend_body(&b, W1.pk, 1, "2023-11", &r, 1, key, &RNG), 0);
  assert_int_equal(fm_store_append(f->s, by, FM_KIND_SEAL_EXTEND, b.p, b.len, now, NULL, NULL), 0);
  fm_buf_free(&b);
}

/* W1's data key of grant 1, as R1 opens it. */
static void w1_key(fx *f, uint8_t key[32]) {
  uint8_t *bytes;
  size_t len;
  fm_entry e;
  assert_int_equal(fm_store_entry_copy(f->s, W1.pk, 1, &bytes, &len), 0);
  assert_int_equal(fm_entry_decode(bytes, len, NULL, &e), 0);
  assert_int_equal(fm_seal_grant_open(&e, R1.pk, R1.sk, key), 0);
  free(bytes);
}

/* Extensions that wrap a wrong key (a hostile reader's) neither hide the
 * value nor open it wrongly: the right one still opens it and the wrong
 * ones are counted; an extension by a device the grant does not reach
 * opens nothing, even with the right key. */
static void test_wrong_and_foreign_extensions(void **state) {
  fx f;
  uint8_t key[32], bogus[32];
  fm_keyring *k;
  (void)state;
  fx_lost_writer(&f);
  w1_key(&f, key);
  /* A device of Team 2 (no reader of the grant) wraps the right key. */
  write_ext(&f, &O2, key, T0 + 1000);
  shown sh = show_as(&f, &GW, "D-0001");
  assert_string_equal(sh.id_number, "(sealed: Team 1)");
  /* A hostile reader wraps wrong keys, more than a grant's candidates. */
  const fm_identity *hostile = memcmp(R1.pk, R2.pk, FM_KEY_LEN) < 0 ? &R1 : &R2;
  const fm_identity *honest = hostile == &R1 ? &R2 : &R1;
  for (int i = 0; i < 5; i++) {
    memset(bogus, 0xa0 + i, sizeof bogus);
    write_ext(&f, hostile, bogus, T0 + 2000 + i);
  }
  assert_int_equal(fm_keyring_new(f.s, &GW, &k), 0);
  shown bad;
  memset(&bad, 0, sizeof bad);
  bad.k = k;
  assert_int_equal(fm_store_find_record(f.s, FM_VIEW_DOSSIER, "D-0001", on_dossier, &bad), 0);
  assert_string_equal(bad.id_number, "(unreadable)");
  assert_true(fm_keyring_counts(k).unreadable >= 1);
  assert_int_equal(fm_keyring_counts(k).opened, 0);
  fm_keyring_free(k);
  /* The honest teammate's extension comes after them. */
  write_ext(&f, honest, key, T0 + 3000);
  assert_int_equal(fm_keyring_new(f.s, &GW, &k), 0);
  shown good;
  memset(&good, 0, sizeof good);
  good.k = k;
  assert_int_equal(fm_store_find_record(f.s, FM_VIEW_DOSSIER, "D-0001", on_dossier, &good), 0);
  assert_string_equal(good.name, "Lò Thị Lan");
  assert_string_equal(good.id_number, "002190012345");
  assert_string_equal(good.note, "ghi chú riêng");
  fm_seal_counts c = fm_keyring_counts(k);
  assert_int_equal(c.opened, 4);
  assert_int_equal(c.unreadable, 0);
  assert_int_equal(c.wrong_keys, 4); /* the candidates the right key replaced */
  fm_keyring_free(k);
  fm_store_close(f.s);
  assert_int_equal(fm_store_remove_dir(f.dir), 0);
}

/* keep_months (P4): a teammate's extension to a newcomer that published an
 * inbox key for the grant's month wraps to that key, as the writer's own
 * grants do, and only that key's secret opens it. */
static void test_extension_wraps_to_inbox_keys(void **state) {
  fx f;
  fm_identity nw;
  fm_seal_inbox_key ik;
  fm_buf b;
  uint8_t *bytes, key[32], want[32];
  size_t len;
  fm_entry e;
  (void)state;
  fx_lost_writer(&f);
  ident(&nw, 8);
  enroll(f.s, &nw, FM_ROLE_MEMBER, "Team 1");
  memset(&ik, 0, sizeof ik);
  memcpy(ik.period, "2023-11", 8);
  memset(ik.sk, 0x5c, sizeof ik.sk);
  fm_seal_inbox_public(ik.sk, ik.pk);
  fm_buf_init(&b, 1024);
  assert_int_equal(fm_seal_inbox_body(&b, &ik, 1), 0);
  assert_int_equal(fm_store_append(f.s, &nw, FM_KIND_SEAL_INBOX, b.p, b.len, T0 + 100, NULL,
                                   NULL), 0);
  fm_buf_free(&b);
  revoke(&f, &W1, 2, T0 + 7200000);
  assert_int_equal(extend_as(&f, &R1, T0 + 7300000) + extend_as(&f, &R2, T0 + 7300000), 1);
  last_ext x;
  memset(&x, 0, sizeof x);
  if (fm_store_read_after(f.s, R1.pk, 0, 0, on_last_ext, &x) == 0 && x.n == 0)
    assert_int_equal(fm_store_read_after(f.s, R2.pk, 0, 0, on_last_ext, &x), 0);
  assert_int_equal(x.n, 3); /* the gateway, the officer, the newcomer */
  const fm_seal_reader *mine = NULL;
  for (size_t i = 0; i < x.n; i++)
    if (!memcmp(x.to[i].device, nw.pk, FM_KEY_LEN)) mine = &x.to[i];
    else assert_false(x.to[i].has_inbox);
  assert_non_null(mine);
  assert_true(mine->has_inbox);
  assert_memory_equal(mine->inbox, ik.pk, 32);
  /* The newcomer's box opens with the inbox secret, not the device key. */
  w1_key(&f, want);
  const fm_identity *ext_by = NULL;
  for (int who = 0; who < 2 && !ext_by; who++) {
    const fm_identity *id = who ? &R2 : &R1;
    if (fm_store_entry_copy(f.s, id->pk, 1, &bytes, &len) == 0) {
      assert_int_equal(fm_entry_decode(bytes, len, NULL, &e), 0);
      if (fm_entry_is(&e, FM_KIND_SEAL_EXTEND)) {
        ext_by = id;
        assert_int_equal(fm_seal_grant_open(&e, nw.pk, nw.sk, key), FM_ERR_NOTFOUND);
        assert_int_equal(fm_seal_grant_open_inbox(&e, nw.pk, nw.sk, &ik, 1, key), 0);
        assert_memory_equal(key, want, 32);
      }
      free(bytes);
    }
  }
  assert_non_null(ext_by);
  fm_store_close(f.s);
  assert_int_equal(fm_store_remove_dir(f.dir), 0);
}

/* The body of an extension: writer and grant named, read back. */
static void test_extend_body_reads_back(void **state) {
  fm_buf b, e;
  fm_entry en;
  uint8_t key[32], got[32], w[32];
  uint64_t of;
  fm_seal_reader r;
  (void)state;
  memset(key, 0x42, sizeof key);
  memset(&r, 0, sizeof r);
  memcpy(r.device, GW.pk, FM_KEY_LEN);
  fm_buf_init(&b, 4096);
  fm_buf_init(&e, 4096);
  assert_int_equal(fm_seal_extend_body(&b, W1.pk, 0, "2023-11", &r, 1, key, &RNG), FM_ERR_INVAL);
  fm_buf_reset(&b);
  assert_int_equal(fm_seal_extend_body(&b, W1.pk, 9, "2023-11", &r, 1, key, &RNG), 0);
  printf("# a seal.extend body to one reader: %zu bytes\n", b.len);
  assert_int_equal(fm_entry_build(&e, &R1, 1, NULL, (fm_hlc)T0 << 16, FM_KIND_SEAL_EXTEND, b.p,
                                  b.len), 0);
  printf("# a signed seal.extend entry to one reader: %zu bytes\n", e.len);
  assert_int_equal(fm_entry_decode(e.p, e.len, NULL, &en), 0);
  assert_int_equal(fm_seal_extend_of(&en, w, &of), 0);
  assert_memory_equal(w, W1.pk, 32);
  assert_int_equal(of, 9);
  assert_int_equal(fm_seal_grant_open(&en, GW.pk, GW.sk, got), 0);
  assert_memory_equal(got, key, 32);
  fm_buf_free(&b);
  fm_buf_free(&e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_seal_opens_only_in_its_place),
      cmocka_unit_test(test_grant_opens_for_its_readers_only),
      cmocka_unit_test(test_grant_items_of_a_later_version_are_skipped),
      cmocka_unit_test(test_keyring_team_and_hall_read_others_see_sealed),
      cmocka_unit_test(test_keyring_rotates_on_revocation_and_month),
      cmocka_unit_test(test_keyring_extends_grants_to_new_readers),
      cmocka_unit_test(test_teammate_extends_a_lost_writers_grant),
      cmocka_unit_test(test_teammate_extends_a_silent_writers_grant),
      cmocka_unit_test(test_wrong_and_foreign_extensions),
      cmocka_unit_test(test_extension_wraps_to_inbox_keys),
      cmocka_unit_test(test_extend_body_reads_back),
  };
  if (sodium_init() < 0) return 1;
  return cmocka_run_group_tests(tests, setup_ids, NULL);
}
