/* fuzz_seal: the decoders of sealed personal fields (docs/privacy.md).
 * The first byte picks what the rest is:
 *
 *   0  a sealed value (a field's bin): fm_seal_grant_of, then
 *      fm_seal_open with the fixture's data key FZ_SEAL_KEY, as written by
 *      device 2 for record FZ_SEAL_RECORD, field "id_number";
 *   1  a `seal.grant` body: fm_seal_grant_read, fm_seal_grant_readers, and
 *      fm_seal_grant_open(_inbox) with device 2's key and an inbox key;
 *      the same bytes as a `seal.inbox` body: fm_seal_inbox_read; and as
 *      a `seal.extend` body: fm_seal_extend_of, fm_seal_grant_readers and
 *      fm_seal_grant_open;
 *   2  a dossier view record: fm_dossier_view_decode, then opened with no
 *      keyring (every sealed field becomes a placeholder).
 *
 * Properties: only named codes come back; an opened value is UTF-8 and no
 * longer than the ciphertext; a grant lists at most FM_SEAL_READERS_MAX
 * readers; a view opened with no key has no sealed field left, each
 * shown as a placeholder. */
#include <string.h>

#include "fieldmesh/error.h"
#include "fieldmesh/keys.h"
#include "fieldmesh/seal.h"
#include "fuzz.h"

static void value(const uint8_t *p, size_t n) {
  const fz_world *w = fz_world_get();
  uint8_t key[FM_SEAL_KEY_LEN];
  char out[512];
  size_t on = 0;
  uint64_t seq;
  int rv = fm_seal_grant_of(p, n, &seq);
  FZ_CHECK(rv == 0 || rv == FM_ERR_MALFORMED, "fm_seal_grant_of returns an unnamed code");
  FZ_CHECK(rv < 0 || seq >= 1, "a sealed value names grant 0");
  memset(key, FZ_SEAL_KEY, sizeof key);
  rv = fm_seal_open(key, w->dev[2].pk, FZ_SEAL_RECORD, strlen(FZ_SEAL_RECORD), "id_number", p, n,
                    out, sizeof out, &on);
  FZ_CHECK(rv == 0 || rv == FM_ERR_MALFORMED || rv == FM_ERR_TOOBIG || rv == FM_ERR_BADSIG,
           "fm_seal_open returns an unnamed code");
  if (rv == 0) {
    FZ_CHECK(on + FM_SEAL_OVERHEAD == n, "an opened value is not its ciphertext's length");
    FZ_CHECK(fm_utf8_valid(out, on), "an opened value is not UTF-8");
  }
}

static void grant(const uint8_t *p, size_t n) {
  const fz_world *w = fz_world_get();
  static uint8_t devs[FM_SEAL_READERS_MAX][FM_KEY_LEN];
  uint8_t key[FM_SEAL_KEY_LEN];
  char period[8];
  size_t count = 0;
  fm_entry e;
  memset(&e, 0, sizeof e);
  e.kind = FM_KIND_SEAL_GRANT;
  e.kind_len = strlen(FM_KIND_SEAL_GRANT);
  e.body = p;
  e.body_len = n;
  int rv = fm_seal_grant_read(&e, period, devs, &count);
  FZ_CHECK(rv == 0 || rv == FM_ERR_MALFORMED, "fm_seal_grant_read returns an unnamed code");
  FZ_CHECK(rv < 0 || (count >= 1 && count <= FM_SEAL_READERS_MAX && strlen(period) == 7),
           "a grant read with a bad count or period");
  rv = fm_seal_grant_open(&e, w->dev[2].pk, w->dev[2].sk, key);
  FZ_CHECK(rv == 0 || rv == FM_ERR_MALFORMED || rv == FM_ERR_NOTFOUND || rv == FM_ERR_BADSIG,
           "fm_seal_grant_open returns an unnamed code");
  static fm_seal_reader rd[FM_SEAL_READERS_MAX];
  size_t rn = 0;
  int rr = fm_seal_grant_readers(&e, period, rd, &rn);
  FZ_CHECK(rr == 0 || rr == FM_ERR_MALFORMED, "fm_seal_grant_readers returns an unnamed code");
  FZ_CHECK(rr < 0 || (rn >= 1 && rn <= FM_SEAL_READERS_MAX), "a grant read with a bad count");
  fm_seal_inbox_key ik;
  memset(&ik, 0, sizeof ik);
  memcpy(ik.period, "2023-11", 8);
  memset(ik.sk, FZ_SEAL_KEY, sizeof ik.sk);
  fm_seal_inbox_public(ik.sk, ik.pk);
  rv = fm_seal_grant_open_inbox(&e, w->dev[2].pk, w->dev[2].sk, &ik, 1, key);
  FZ_CHECK(rv == 0 || rv == FM_ERR_MALFORMED || rv == FM_ERR_NOTFOUND || rv == FM_ERR_BADSIG,
           "fm_seal_grant_open_inbox returns an unnamed code");
  static fm_seal_inbox_pub pub[FM_SEAL_INBOX_MAX];
  e.kind = FM_KIND_SEAL_INBOX;
  e.kind_len = strlen(FM_KIND_SEAL_INBOX);
  rv = fm_seal_inbox_read(&e, pub, &count);
  FZ_CHECK(rv == 0 || rv == FM_ERR_MALFORMED, "fm_seal_inbox_read returns an unnamed code");
  FZ_CHECK(rv < 0 || (count >= 1 && count <= FM_SEAL_INBOX_MAX && strlen(pub[0].period) == 7),
           "an inbox entry read with a bad count or period");
  uint8_t writer[FM_KEY_LEN];
  uint64_t of = 0;
  e.kind = FM_KIND_SEAL_EXTEND;
  e.kind_len = strlen(FM_KIND_SEAL_EXTEND);
  rv = fm_seal_extend_of(&e, writer, &of);
  FZ_CHECK(rv == 0 || rv == FM_ERR_MALFORMED, "fm_seal_extend_of returns an unnamed code");
  FZ_CHECK(rv < 0 || of >= 1, "an extension of grant 0");
  rr = fm_seal_grant_readers(&e, period, rd, &rn);
  FZ_CHECK(rr == 0 || rr == FM_ERR_MALFORMED, "fm_seal_grant_readers returns an unnamed code");
  FZ_CHECK(rr < 0 || (rn >= 1 && rn <= FM_SEAL_READERS_MAX), "an extension read with a bad count");
  rv = fm_seal_grant_open(&e, w->dev[2].pk, w->dev[2].sk, key);
  FZ_CHECK(rv == 0 || rv == FM_ERR_MALFORMED || rv == FM_ERR_NOTFOUND || rv == FM_ERR_BADSIG,
           "fm_seal_grant_open returns an unnamed code on an extension");
}

static void view(const uint8_t *p, size_t n) {
  fm_dossier_view d;
  static fm_opened o;
  if (fm_dossier_view_decode(p, n, &d) < 0) return;
  unsigned had = d.sealed;
  fm_keyring_open_dossier(NULL, &d, &o, (fm_str){FZ_SEAL_RECORD, strlen(FZ_SEAL_RECORD)});
  FZ_CHECK(d.sealed == 0, "a sealed field left unopened");
  FZ_CHECK(d.locked == had, "a sealed field opened without a key");
  if (had & FM_SEALED_NAME)
    FZ_CHECK(fm_utf8_valid(d.applicant_name.p, d.applicant_name.n), "a placeholder not UTF-8");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  switch (data[0] % 3) {
  case 0: value(data + 1, size - 1); break;
  case 1: grant(data + 1, size - 1); break;
  default: view(data + 1, size - 1); break;
  }
  return 0;
}
