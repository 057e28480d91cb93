#define _GNU_SOURCE /* memmem */
/* Inbox keys (docs/privacy.md, P4): a grant item wrapped to an inbox key
 * opens with that key's secret and not with the device key; inbox secrets
 * live in 0600 files that forgetting overwrites and removes; a writer
 * with inbox keys wraps its own copy and its readers' to them, and once
 * it forgets a month, its own store no longer opens that month's records
 * while the gateway's copy still does. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "enrolled.h"
#include "fieldmesh/dirs.h"
#include "fieldmesh/enroll.h"
#include "fieldmesh/error.h"
#include "fieldmesh/inbox.h"
#include "fieldmesh/keys.h"
#include "fieldmesh/record.h"
#include "fieldmesh/seal.h"
#include "fieldmesh/store.h"

#define T0 1700000000000LL              /* 2023-11-14 */
#define LATER (T0 + 70LL * 86400000)    /* 2024-01-23 */

static uint64_t rng_counter;

static void test_fill(void *ctx, uint8_t *out, size_t len) {
  uint8_t seed[randombytes_SEEDBYTES] = {0};
  (void)ctx;
  memcpy(seed, &rng_counter, sizeof rng_counter);
  rng_counter++;
  randombytes_buf_deterministic(out, len, seed);
}

static const fm_rng RNG = {test_fill, NULL};

static fm_identity AUTH, W1, R1, GW;

static void ident(fm_identity *id, uint8_t n) {
  uint8_t seed[32];
  memset(seed, n, sizeof seed);
  assert_int_equal(fm_identity_from_seed(id, seed), 0);
}

static int setup_ids(void **state) {
  (void)state;
  ident(&AUTH, 1);
  ident(&W1, 2); /* Team 1, writes, keep_months */
  ident(&R1, 3); /* Team 1, keeps everything */
  ident(&GW, 5); /* the gateway */
  return 0;
}

static void inbox_key(fm_seal_inbox_key *k, const char *period, uint8_t fill) {
  memset(k, 0, sizeof *k);
  memcpy(k->period, period, 8);
  memset(k->sk, fill, sizeof k->sk);
  fm_seal_inbox_public(k->sk, k->pk);
}

static void test_item_wrapped_to_an_inbox_key(void **state) {
  uint8_t key[32], got[32];
  fm_seal_reader rd[2], back[FM_SEAL_READERS_MAX];
  fm_seal_inbox_key ik, other;
  fm_buf body, e;
  fm_entry en;
  char period[8];
  size_t n;
  (void)state;
  memset(key, 7, sizeof key);
  inbox_key(&ik, "2023-11", 0x41);
  inbox_key(&other, "2023-11", 0x42);
  memset(rd, 0, sizeof rd);
  memcpy(rd[0].device, W1.pk, 32);
  memcpy(rd[0].inbox, ik.pk, 32);
  rd[0].has_inbox = 1;
  memcpy(rd[1].device, R1.pk, 32);
  fm_buf_init(&body, 4096);
  fm_buf_init(&e, 16384);
  assert_int_equal(fm_seal_grant_body_to(&body, "2023-11", rd, 2, key, &RNG, 0), 0);
  assert_int_equal(fm_entry_build(&e, &W1, 1, NULL, (fm_hlc)T0 << 16, FM_KIND_SEAL_GRANT, body.p,
                                  body.len), 0);
  assert_int_equal(fm_entry_decode(e.p, e.len, NULL, &en), 0);
  assert_int_equal(fm_seal_grant_readers(&en, period, back, &n), 0);
  assert_int_equal(n, 2);
  assert_true(back[0].has_inbox);
  assert_memory_equal(back[0].inbox, ik.pk, 32);
  assert_false(back[1].has_inbox);
  /* The device key alone does not open an inbox item; the inbox secret
   * does; another inbox secret does not. */
  assert_int_equal(fm_seal_grant_open(&en, W1.pk, W1.sk, got), FM_ERR_NOTFOUND);
  assert_int_equal(fm_seal_grant_open_inbox(&en, W1.pk, W1.sk, &other, 1, got), FM_ERR_NOTFOUND);
  assert_int_equal(fm_seal_grant_open_inbox(&en, W1.pk, W1.sk, &ik, 1, got), 0);
  assert_memory_equal(got, key, 32);
  /* A two-element item still opens with the device key. */
  assert_int_equal(fm_seal_grant_open(&en, R1.pk, R1.sk, got), 0);
  assert_memory_equal(got, key, 32);

  /* seal.inbox: written and read back. */
  fm_seal_inbox_key two[2];
  fm_seal_inbox_pub pubs[FM_SEAL_INBOX_MAX];
  inbox_key(&two[0], "2023-11", 1);
  inbox_key(&two[1], "2023-12", 2);
  fm_buf_reset(&body);
  assert_int_equal(fm_seal_inbox_body(&body, two, 2), 0);
  assert_null(memmem(body.p, body.len, two[0].sk, 32)); /* never the secret */
  assert_int_equal(fm_entry_build(&e, &W1, 1, NULL, (fm_hlc)T0 << 16, FM_KIND_SEAL_INBOX, body.p,
                                  body.len), 0);
  assert_int_equal(fm_entry_decode(e.p, e.len, NULL, &en), 0);
  assert_int_equal(fm_seal_inbox_read(&en, pubs, &n), 0);
  assert_int_equal(n, 2);
  assert_string_equal(pubs[1].period, "2023-12");
  assert_memory_equal(pubs[1].pk, two[1].pk, 32);
  assert_int_equal(fm_seal_inbox_body(&body, two, 0), FM_ERR_INVAL);

  char p[8];
  fm_seal_period_add("2023-11", 1, p);
  assert_string_equal(p, "2023-12");
  fm_seal_period_add("2023-12", 1, p);
  assert_string_equal(p, "2024-01");
  fm_seal_period_add("2024-01", -2, p);
  assert_string_equal(p, "2023-11");
  fm_seal_period_add("2024-01", -25, p);
  assert_string_equal(p, "2021-12");
  fm_buf_free(&body);
  fm_buf_free(&e);
}

/* Removes folder |inbox| after forgetting every month in it. */
static void inbox_remove(const char *inbox) {
  assert_int_equal(fm_inbox_forget(inbox, "9999-12", NULL), 0);
  assert_int_equal(rmdir(inbox), 0);
}

static void test_inbox_files_are_made_kept_and_forgotten(void **state) {
  char dir[64], inbox[128], path[160];
  fm_seal_inbox_key keys[FM_INBOX_HELD_MAX];
  uint8_t first[32];
  size_t n;
  unsigned forgot;
  struct stat st;
  (void)state;
  strcpy(dir, "/tmp/fm-test-inbox-XXXXXX");
  assert_non_null(mkdtemp(dir));
  snprintf(inbox, sizeof inbox, "%s/inbox", dir);
  /* No folder: nothing held, nothing to forget. */
  assert_int_equal(fm_inbox_load(inbox, keys, FM_INBOX_HELD_MAX, &n), 0);
  assert_int_equal(n, 0);
  assert_int_equal(fm_inbox_forget(inbox, "2024-01", &forgot), 0);
  assert_int_equal(fm_inbox_ensure(inbox, "2023-11", &RNG), 0);
  assert_int_equal(fm_inbox_ensure(inbox, "2023-12", &RNG), 0);
  assert_int_equal(fm_inbox_ensure(inbox, "2024-01", &RNG), 0);
  assert_int_equal(fm_inbox_ensure(inbox, "2023-1", &RNG), FM_ERR_INVAL);
  assert_int_equal(stat(inbox, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0700);
  snprintf(path, sizeof path, "%s/2023-11", inbox);
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  assert_int_equal(st.st_size, 32);
  assert_int_equal(fm_inbox_load(inbox, keys, FM_INBOX_HELD_MAX, &n), 0);
  assert_int_equal(n, 3);
  assert_string_equal(keys[0].period, "2023-11");
  assert_string_equal(keys[2].period, "2024-01");
  memcpy(first, keys[0].sk, 32);
  /* Ensuring again keeps the secret it has. */
  assert_int_equal(fm_inbox_ensure(inbox, "2023-11", &RNG), 0);
  assert_int_equal(fm_inbox_load(inbox, keys, FM_INBOX_HELD_MAX, &n), 0);
  assert_memory_equal(keys[0].sk, first, 32);
  /* Forgetting before December removes November only. */
  assert_int_equal(fm_inbox_forget(inbox, "2023-12", &forgot), 0);
  assert_int_equal(forgot, 1);
  assert_int_equal(stat(path, &st), -1);
  assert_int_equal(fm_inbox_load(inbox, keys, FM_INBOX_HELD_MAX, &n), 0);
  assert_int_equal(n, 2);
  assert_string_equal(keys[0].period, "2023-12");
  /* A secret others may read is refused. */
  snprintf(path, sizeof path, "%s/2023-12", inbox);
  assert_int_equal(chmod(path, 0644), 0);
  assert_int_equal(fm_inbox_load(inbox, keys, FM_INBOX_HELD_MAX, &n), FM_ERR_IO);
  assert_int_equal(n, 0);
  inbox_remove(inbox);
  assert_int_equal(rmdir(dir), 0);
}

/* ---- on a real store ------------------------------------------------------ */

/* W1 publishes what fm_keyring_inbox_publish asks for, then writes
 * dossier |id| at |now|. */
static void write_dossier(fm_store *s, fm_keyring *k, const char *id, fm_time now) {
  fm_buf grant, body;
  fm_sealer sl;
  uint64_t seq;
  int rv;
  fm_dossier_in d = {id, "khai_sinh", "Lò Thị Lan", "002190012345", "0912345678",
                     "Nghĩa Tân", "Team 1", "portal", "", "", "2023-11-14"};
  fm_buf_init(&grant, 16384);
  fm_buf_init(&body, 16384);
  if ((rv = fm_keyring_inbox_publish(k, now, &body)) == 1)
    assert_int_equal(fm_store_append(s, &W1, FM_KIND_SEAL_INBOX, body.p, body.len, now, NULL, NULL),
                     0);
  assert_true(rv >= 0);
  /* Published once: the next call has nothing to add. */
  assert_int_equal(fm_keyring_inbox_publish(k, now, &body), 0);
  while ((rv = fm_keyring_sealer(k, now, &RNG, &grant, &sl)) == 1) {
    assert_int_equal(fm_store_append(s, &W1, FM_KIND_SEAL_GRANT, grant.p, grant.len, now, NULL,
                                     &seq), 0);
    fm_keyring_granted(k, seq, &sl);
  }
  assert_int_equal(rv, 0);
  fm_buf_reset(&body);
  assert_int_equal(fm_dossier_body_sealed(&body, &d, &sl), 0);
  assert_int_equal(fm_store_append(s, &W1, FM_KIND_DOSSIER, body.p, body.len, now, NULL, NULL), 0);
  fm_buf_free(&grant);
  fm_buf_free(&body);
}

typedef struct shown {
  fm_keyring *k;
  char id_number[64];
} shown;

static int on_dossier(void *ctx, const char *id, size_t n, const uint8_t *rec, size_t len) {
  shown *sh = ctx;
  fm_dossier_view d;
  fm_opened o;
  assert_int_equal(fm_dossier_view_decode(rec, len, &d), 0);
  fm_keyring_open_dossier(sh->k, &d, &o, (fm_str){id, n});
  snprintf(sh->id_number, sizeof sh->id_number, "%.*s", (int)d.applicant_id.n, d.applicant_id.p);
  return 0;
}

/* What |who| (with the inbox folder |inbox|, or NULL) shows as the id
 * number of dossier |id|. */
static void show_as(fm_store *s, const fm_identity *who, const char *inbox, const char *id,
                    char out[64]) {
  shown sh;
  memset(&sh, 0, sizeof sh);
  assert_int_equal(fm_keyring_new(s, who, &sh.k), 0);
  if (inbox) assert_int_equal(fm_keyring_load_inbox(sh.k, inbox), 0);
  assert_int_equal(fm_store_find_record(s, FM_VIEW_DOSSIER, id, on_dossier, &sh), 0);
  fm_keyring_free(sh.k);
  snprintf(out, 64, "%s", sh.id_number);
}

typedef struct count_ctx {
  int inbox_items, grants;
} count_ctx;

static int count_item(void *arg, const uint8_t *bytes, size_t len) {
  count_ctx *c = arg;
  fm_entry e;
  char period[8];
  fm_seal_reader rd[FM_SEAL_READERS_MAX];
  size_t n;
  assert_true(fm_entry_decode(bytes, len, NULL, &e) >= 0);
  if (!fm_entry_is(&e, FM_KIND_SEAL_GRANT)) return 0;
  assert_int_equal(fm_seal_grant_readers(&e, period, rd, &n), 0);
  c->grants++;
  for (size_t i = 0; i < n; i++) {
    if (!rd[i].has_inbox) continue;
    assert_memory_equal(rd[i].device, W1.pk, 32); /* only W1 published */
    c->inbox_items++;
  }
  return 0;
}

static void test_writer_forgets_its_month_gateway_keeps_it(void **state) {
  char dir[64], inbox[128], got[64];
  fm_store *s;
  fm_store_opts o;
  fm_keyring *k;
  unsigned forgot;
  (void)state;
  memset(&o, 0, sizeof o);
  o.nosync = 1;
  strcpy(dir, "/tmp/fm-test-inbox-XXXXXX");
  assert_non_null(mkdtemp(dir));
  snprintf(inbox, sizeof inbox, "%s/inbox", dir);
  assert_int_equal(fm_store_open(dir, &o, &s), 0);
  assert_int_equal(fm_store_set_authority(s, AUTH.pk, "Tân Quang"), 0);
  enrolled_append(s, &AUTH, &W1, FM_ROLE_MEMBER, "Lò Thị Lan", "Team 1", T0);
  enrolled_append(s, &AUTH, &R1, FM_ROLE_MEMBER, "Hoàng Văn Minh", "Team 1", T0);
  enrolled_append(s, &AUTH, &GW, FM_ROLE_GATEWAY, "Cổng xã", "Commune hall", T0);

  /* November: W1 holds inbox keys for November and December. */
  assert_int_equal(fm_inbox_ensure(inbox, "2023-11", &RNG), 0);
  assert_int_equal(fm_inbox_ensure(inbox, "2023-12", &RNG), 0);
  assert_int_equal(fm_keyring_new(s, &W1, &k), 0);
  assert_int_equal(fm_keyring_load_inbox(k, inbox), 0);
  write_dossier(s, k, "D-0001", T0);
  fm_keyring_free(k);
  count_ctx c = {0, 0};
  assert_int_equal(fm_store_read_after(s, W1.pk, 0, 0, count_item, &c), 0);
  assert_int_equal(c.grants, 1);
  assert_int_equal(c.inbox_items, 1); /* W1's own copy; R1 and GW by device key */

  show_as(s, &W1, inbox, "D-0001", got);
  assert_string_equal(got, "002190012345");
  /* Its device key alone no longer opens its own record. */
  show_as(s, &W1, NULL, "D-0001", got);
  assert_string_equal(got, "(sealed: Team 1)");

  /* January, keep_months = 1: November goes. */
  assert_int_equal(fm_inbox_forget(inbox, "2023-12", &forgot), 0);
  assert_int_equal(forgot, 1);
  show_as(s, &W1, inbox, "D-0001", got);
  assert_string_equal(got, "(sealed: Team 1)");
  show_as(s, &GW, NULL, "D-0001", got);
  assert_string_equal(got, "002190012345");
  show_as(s, &R1, NULL, "D-0001", got);
  assert_string_equal(got, "002190012345");

  /* A record of January: new inbox keys published, a new grant, readable. */
  assert_int_equal(fm_inbox_ensure(inbox, "2024-01", &RNG), 0);
  assert_int_equal(fm_inbox_ensure(inbox, "2024-02", &RNG), 0);
  assert_int_equal(fm_keyring_new(s, &W1, &k), 0);
  assert_int_equal(fm_keyring_load_inbox(k, inbox), 0);
  write_dossier(s, k, "D-0002", LATER);
  fm_keyring_free(k);
  show_as(s, &W1, inbox, "D-0002", got);
  assert_string_equal(got, "002190012345");
  show_as(s, &W1, inbox, "D-0001", got);
  assert_string_equal(got, "(sealed: Team 1)");
  fm_store_close(s);
  inbox_remove(inbox);
  assert_int_equal(fm_store_remove_dir(dir), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_item_wrapped_to_an_inbox_key),
      cmocka_unit_test(test_inbox_files_are_made_kept_and_forgotten),
      cmocka_unit_test(test_writer_forgets_its_month_gateway_keeps_it),
  };
  if (sodium_init() < 0) return 1;
  return cmocka_run_group_tests(tests, setup_ids, NULL);
}
