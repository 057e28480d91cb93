/* Sealed personal fields (docs/privacy.md): what sealing costs.
 *
 * Prints, for this machine: fields sealed and opened per second; grants
 * written (8 readers) and opened per second; the bytes of a dossier's
 * body clear and sealed; and, over a real store of 10,000 sealed dossiers,
 * records listed per second with their fields opened against decoded
 * only.  Figures only: speed is never a pass/fail condition. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "fieldmesh/dirs.h"
#include "fieldmesh/enroll.h"
#include "fieldmesh/error.h"
#include "fieldmesh/keys.h"
#include "fieldmesh/record.h"
#include "fieldmesh/store.h"

#define T0 1700000000000LL
#define RECORDS 10000

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void fill(void *ctx, uint8_t *out, size_t len) {
  (void)ctx;
  randombytes_buf(out, len);
}

static const fm_rng RNG = {fill, NULL};

static void die(const char *what, int rv) {
  fprintf(stderr, "fieldmesh-bench-seal: %s: %s\n", what, fm_strerror(rv));
  exit(1);
}

static void fields(void) {
  uint8_t key[32], devs[8][32], got[32];
  fm_identity ids[8];
  fm_sealer s = {key, 1, {0}, RNG};
  fm_buf b;
  char out[64];
  size_t on;
  int n = 200000;
  randombytes_buf(key, sizeof key);
  fm_buf_init(&b, 1 << 16);
  double t = now_s();
  for (int i = 0; i < n; i++) {
    fm_wr w;
    fm_buf_reset(&b);
    fm_wr_init(&w, &b);
    fm_seal_write(&w, &s, "D-06DERF6WQ2G9MCSK", 18, "id_number", "002190012345", 12);
  }
  double seal = n / (now_s() - t);
  t = now_s();
  for (int i = 0; i < n; i++)
    if (fm_seal_open(key, s.author, "D-06DERF6WQ2G9MCSK", 18, "id_number", b.p + 2, b.len - 2, out,
                     sizeof out, &on) < 0)
      die("opening", -1);
  double open = n / (now_s() - t);
  printf("fields       %.0f sealed/s, %.0f opened/s (12-byte id number, %zu bytes sealed)\n", seal,
         open, b.len - 2);
  for (int i = 0; i < 8; i++) {
    uint8_t seed[32];
    randombytes_buf(seed, sizeof seed);
    fm_identity_from_seed(&ids[i], seed);
    memcpy(devs[i], ids[i].pk, 32);
  }
  n = 2000;
  t = now_s();
  for (int i = 0; i < n; i++) {
    fm_buf_reset(&b);
    if (fm_seal_grant_body(&b, "2023-11", (const uint8_t(*)[32])devs, 8, key, &RNG) < 0) die("grant", -1);
  }
  double grant = n / (now_s() - t);
  fm_buf e;
  fm_entry en;
  fm_buf_init(&e, 1 << 16);
  if (fm_entry_build(&e, &ids[0], 1, NULL, (fm_hlc)T0 << 16, FM_KIND_SEAL_GRANT, b.p, b.len) < 0 ||
      fm_entry_decode(e.p, e.len, NULL, &en) < 0)
    die("grant entry", -1);
  t = now_s();
  for (int i = 0; i < n; i++)
    if (fm_seal_grant_open(&en, ids[7].pk, ids[7].sk, got) < 0) die("grant open", -1);
  printf("grants       %.0f written/s (8 readers, %zu bytes), %.0f opened/s (the last reader)\n",
         grant, b.len, n / (now_s() - t));
  /* The same grant with every reader on an inbox key (keep_months). */
  size_t plain = b.len;
  fm_seal_reader rd[8];
  fm_seal_inbox_key ik[8];
  for (int i = 0; i < 8; i++) {
    memset(&rd[i], 0, sizeof rd[i]);
    memcpy(rd[i].device, devs[i], 32);
    memcpy(ik[i].period, "2023-11", 8);
    randombytes_buf(ik[i].sk, sizeof ik[i].sk);
    fm_seal_inbox_public(ik[i].sk, ik[i].pk);
    memcpy(rd[i].inbox, ik[i].pk, 32);
    rd[i].has_inbox = 1;
  }
  t = now_s();
  for (int i = 0; i < n; i++) {
    fm_buf_reset(&b);
    if (fm_seal_grant_body_to(&b, "2023-11", rd, 8, key, &RNG, 0) < 0) die("inbox grant", -1);
  }
  grant = n / (now_s() - t);
  fm_buf_reset(&e);
  if (fm_entry_build(&e, &ids[0], 1, NULL, (fm_hlc)T0 << 16, FM_KIND_SEAL_GRANT, b.p, b.len) < 0 ||
      fm_entry_decode(e.p, e.len, NULL, &en) < 0)
    die("inbox grant entry", -1);
  t = now_s();
  for (int i = 0; i < n; i++)
    if (fm_seal_grant_open_inbox(&en, ids[7].pk, ids[7].sk, &ik[7], 1, got) < 0)
      die("inbox grant open", -1);
  printf("inbox grants %.0f written/s (8 readers on inbox keys, %zu bytes: %+zd), %.0f opened/s\n",
         grant, b.len, (ssize_t)(b.len - plain), n / (now_s() - t));
  fm_buf_reset(&b);
  if (fm_seal_inbox_body(&b, ik, 2) < 0) die("inbox body", -1);
  fm_buf_reset(&e);
  if (fm_entry_build(&e, &ids[0], 1, NULL, (fm_hlc)T0 << 16, FM_KIND_SEAL_INBOX, b.p, b.len) < 0)
    die("inbox entry", -1);
  printf("seal.inbox   %zu bytes of body, %zu bytes signed entry (this month and the next)\n",
         b.len, e.len);
  /* Another holder's extension of a gone writer's grant to one reader
   * (the gateway, on its device key) and to one on an inbox key. */
  fm_buf_reset(&b);
  if (fm_seal_extend_body(&b, ids[0].pk, 1, "2023-11", &rd[1], 1, key, &RNG) < 0)
    die("extension", -1);
  size_t inbox_body = b.len;
  rd[1].has_inbox = 0;
  fm_buf_reset(&b);
  if (fm_seal_extend_body(&b, ids[0].pk, 1, "2023-11", &rd[1], 1, key, &RNG) < 0)
    die("extension", -1);
  fm_buf_reset(&e);
  if (fm_entry_build(&e, &ids[1], 1, NULL, (fm_hlc)T0 << 16, FM_KIND_SEAL_EXTEND, b.p, b.len) < 0)
    die("extension entry", -1);
  printf("seal.extend  %zu bytes of body, %zu bytes signed entry (one reader; %zu of body on an "
         "inbox key)\n", b.len, e.len, inbox_body);
  fm_buf_free(&b);
  fm_buf_free(&e);
}

typedef struct lister {
  fm_keyring *k;
  uint64_t n;
} lister;

static int row(void *ctx, const char *id, size_t n, const uint8_t *rec, size_t len) {
  lister *l = ctx;
  fm_dossier_view d;
  static fm_opened o;
  if (fm_dossier_view_decode(rec, len, &d) < 0) return FM_ERR_CORRUPT;
  if (l->k) fm_keyring_open_dossier(l->k, &d, &o, (fm_str){id, n});
  l->n++;
  return 0;
}

static void enroll(fm_store *s, const fm_identity *auth, const fm_identity *dev, fm_role role) {
  fm_enrollment en;
  fm_buf b;
  int rv;
  memset(&en, 0, sizeof en);
  memcpy(en.device, dev->pk, 32);
  strcpy(en.name, "Thành viên");
  strcpy(en.team, "Team 1");
  strcpy(en.commune, "Tân Quang");
  en.role = role;
  fm_buf_init(&b, 4096);
  if ((rv = fm_enroll_body(&b, &en)) < 0 ||
      (rv = fm_store_append(s, auth, FM_KIND_ENROLL, b.p, b.len, T0, NULL, NULL)) < 0)
    die("enrolling", rv);
  fm_buf_free(&b);
}

/* Writes RECORDS sealed dossiers; prints a dossier body's bytes when
 * |say|. */
static void write_all(fm_store *s, const fm_identity *w, int say) {
  fm_keyring *k;
  fm_sealer sl;
  fm_buf body, grant;
  char id[FM_RECORD_ID_MAX + 1];
  uint64_t seq;
  int rv;
  fm_buf_init(&body, FM_ENTRY_MAX);
  fm_buf_init(&grant, FM_ENTRY_MAX);
  if (fm_keyring_new(s, w, &k) < 0) die("keyring", -1);
  for (int i = 0; i < RECORDS; i++) {
    /* An id of the writer's own (the team rule refuses others). */
    uint8_t rnd[2] = {(uint8_t)(i >> 8), (uint8_t)i};
    fm_record_id('D', (uint64_t)(T0 + i), w->pk, rnd, id);
    fm_dossier_in d = {id, "khai_sinh", "Vàng Thị Mỷ", "002190012345", "0912345678", "Nghĩa Tân",
                       "Team 1", "portal", "", "hộ nghèo", "2023-11-14"};
    while ((rv = fm_keyring_sealer(k, T0 + i, &RNG, &grant, &sl)) == 1) {
      if ((rv = fm_store_append(s, w, FM_KIND_SEAL_GRANT, grant.p, grant.len, T0 + i, NULL, &seq)) < 0)
        die("grant", rv);
      fm_keyring_granted(k, seq, &sl);
    }
    if (rv < 0) die("sealer", rv);
    if (i == 0 && say) {
      fm_buf_reset(&body);
      fm_dossier_body(&body, &d);
      printf("dossier body %zu bytes clear, ", body.len);
    }
    fm_buf_reset(&body);
    if ((rv = fm_dossier_body_sealed(&body, &d, &sl)) < 0 ||
        (rv = fm_store_append(s, w, FM_KIND_DOSSIER, body.p, body.len, T0 + i, NULL, NULL)) < 0)
      die("dossier", rv);
    if (i == 0 && say) printf("%zu sealed (4 fields)\n", body.len);
  }
  fm_keyring_free(k);
  fm_buf_free(&body);
  fm_buf_free(&grant);
}

static void listing(void) {
  char dir[] = "/tmp/fm-bench-seal-XXXXXX";
  fm_identity auth, w, gw;
  fm_store_opts o;
  fm_store *s;
  uint8_t seed[32];
  int rv;
  if (!mkdtemp(dir)) die("mkdtemp", -1);
  memset(&o, 0, sizeof o);
  o.nosync = 1;
  randombytes_buf(seed, 32), fm_identity_from_seed(&auth, seed);
  randombytes_buf(seed, 32), fm_identity_from_seed(&w, seed);
  randombytes_buf(seed, 32), fm_identity_from_seed(&gw, seed);
  if ((rv = fm_store_open(dir, &o, &s)) < 0 ||
      (rv = fm_store_set_authority(s, auth.pk, "Tân Quang")) < 0)
    die("store", rv);
  enroll(s, &auth, &w, FM_ROLE_MEMBER);
  enroll(s, &auth, &gw, FM_ROLE_GATEWAY);
  write_all(s, &w, 1);
  lister plain = {NULL, 0}, opened = {NULL, 0};
  double t = now_s();
  if ((rv = fm_store_each_record(s, FM_VIEW_DOSSIER, row, &plain)) < 0) die("listing", rv);
  double t_plain = now_s() - t;
  if (fm_keyring_new(s, &gw, &opened.k) < 0) die("keyring", -1);
  t = now_s();
  if ((rv = fm_store_each_record(s, FM_VIEW_DOSSIER, row, &opened)) < 0) die("listing", rv);
  double t_open = now_s() - t;
  fm_seal_counts c = fm_keyring_counts(opened.k);
  fm_keyring_free(opened.k);
  printf("listing      %llu dossiers: %.0f/s decoded, %.0f/s decoded and opened (%llu fields opened, "
         "%llu locked) by the gateway's keyring\n",
         (unsigned long long)plain.n, plain.n / t_plain, opened.n / t_open,
         (unsigned long long)c.opened, (unsigned long long)c.locked);
  fm_store_close(s);
  fm_store_remove_dir(dir);
}

/* The gateway reading a lost writer's dossiers through a teammate's
 * `seal.extend` (the writer wrote before the gateway was enrolled): the
 * first value reads the logs of the devices the grant reaches. */
static void listing_extended(void) {
  char dir[] = "/tmp/fm-bench-seal-XXXXXX";
  fm_identity auth, w, t, gw;
  fm_store_opts o;
  fm_store *s;
  fm_keyring *k;
  fm_buf g;
  uint8_t seed[32];
  int rv, n = 0;
  if (!mkdtemp(dir)) die("mkdtemp", -1);
  memset(&o, 0, sizeof o);
  o.nosync = 1;
  randombytes_buf(seed, 32), fm_identity_from_seed(&auth, seed);
  randombytes_buf(seed, 32), fm_identity_from_seed(&w, seed);
  randombytes_buf(seed, 32), fm_identity_from_seed(&t, seed);
  randombytes_buf(seed, 32), fm_identity_from_seed(&gw, seed);
  if ((rv = fm_store_open(dir, &o, &s)) < 0 ||
      (rv = fm_store_set_authority(s, auth.pk, "Tân Quang")) < 0)
    die("store", rv);
  enroll(s, &auth, &w, FM_ROLE_MEMBER);
  enroll(s, &auth, &t, FM_ROLE_MEMBER);
  write_all(s, &w, 0);
  enroll(s, &auth, &gw, FM_ROLE_GATEWAY);
  /* The writer is silent for two days: its teammate extends. */
  fm_time later = T0 + RECORDS + 2 * 86400000LL;
  fm_buf_init(&g, FM_ENTRY_MAX);
  if (fm_keyring_new(s, &t, &k) < 0) die("keyring", -1);
  double t0 = now_s();
  while ((rv = fm_keyring_extend_others(k, later, &RNG, &g)) == 1) {
    if ((rv = fm_store_append(s, &t, FM_KIND_SEAL_EXTEND, g.p, g.len, later, NULL, NULL)) < 0)
      die("extension", rv);
    n++;
  }
  double t_ext = now_s() - t0;
  if (rv < 0) die("extend", rv);
  fm_keyring_free(k);
  fm_buf_free(&g);
  lister opened = {NULL, 0};
  if (fm_keyring_new(s, &gw, &opened.k) < 0) die("keyring", -1);
  t0 = now_s();
  if ((rv = fm_store_each_record(s, FM_VIEW_DOSSIER, row, &opened)) < 0) die("listing", rv);
  double t_open = now_s() - t0;
  fm_seal_counts c = fm_keyring_counts(opened.k);
  fm_keyring_free(opened.k);
  printf("extended     %d extension%s written by the teammate in %.1f ms; the gateway lists %llu "
         "dossiers through it at %.0f/s (%llu fields opened, %llu locked)\n",
         n, n == 1 ? "" : "s", t_ext * 1000, (unsigned long long)opened.n, opened.n / t_open,
         (unsigned long long)c.opened, (unsigned long long)c.locked);
  fm_store_close(s);
  fm_store_remove_dir(dir);
}

int main(void) {
  if (sodium_init() < 0) return 1;
  fields();
  listing();
  listing_extended();
  return 0;
}
