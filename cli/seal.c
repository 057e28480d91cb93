#include "seal.h"

#include <errno.h>
#include <ini.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fieldmesh/error.h"
#include "fieldmesh/keyfile.h"

/* One keyring per command: the store it reads and the device it opens
 * for.  Its secrets are in sodium_malloc'd memory (store/keys.c). */
static fm_keyring *ring;
static fm_store *ring_store;
static fm_sealer sealer;

void fmc_seal_close(fmc_ctx *c) {
  fm_seal_counts n = fm_keyring_counts(ring);
  if (c && n.unreadable)
    fmc_warn(c, "%llu sealed field%s did not open (damaged or tampered with) and show as "
                "(unreadable): run `fieldmesh verify`",
             (unsigned long long)n.unreadable, n.unreadable == 1 ? "" : "s");
  fm_keyring_free(ring);
  ring = NULL;
  ring_store = NULL;
  sodium_memzero(&sealer, sizeof sealer);
}

fm_seal_counts fmc_seal_counts(void) { return fm_keyring_counts(ring); }

/* The keyring of this laptop, made on first use: with the device key
 * when the state folder has a readable one, else one that opens
 * nothing.  NULL only when out of memory (then fields show sealed). */
static fm_keyring *keyring(fmc_ctx *c) {
  char path[FMC_PATH_MAX];
  fm_identity id;
  const fm_identity *self = NULL;
  if (ring && ring_store == c->store) return ring;
  fmc_seal_close(c);
  if (c->have_device)
    self = &c->device;
  else if (fmc_path(c, "device.key", path) == 0 && fm_keyfile_read(path, &id) == 0)
    self = &id;
  if (fm_keyring_new(c->store, self, &ring) == 0) ring_store = c->store;
  if (self == &id) fm_identity_wipe(&id);
  return ring;
}

void fmc_open_dossier(fmc_ctx *c, fm_dossier_view *d, fm_opened *o, const char *id, size_t n) {
  if (d->sealed) fm_keyring_open_dossier(keyring(c), d, o, (fm_str){id, n});
}

void fmc_open_visit(fmc_ctx *c, fm_visit_view *v, fm_opened *o, const char *id, size_t n) {
  if (v->sealed) fm_keyring_open_visit(keyring(c), v, o, (fm_str){id, n});
}

int fmc_open_value(fmc_ctx *c, const uint8_t author[FM_KEY_LEN], fm_str id, const char *field,
                   const uint8_t *p, size_t n, char *out, size_t cap, size_t *out_n) {
  return fm_keyring_open_value(keyring(c), author, id, field, p, n, out, cap, out_n);
}

typedef struct seal_conf {
  int seal;       /* -1: a bad value */
  char bad[64];
} seal_conf;

static int on_key(void *user, const char *section, const char *key, const char *value) {
  seal_conf *sc = user;
  if (strcmp(section, "privacy") || strcmp(key, "seal")) return 1;
  if (!strcmp(value, "yes") || !strcmp(value, "true") || !strcmp(value, "on") ||
      !strcmp(value, "1"))
    sc->seal = 1;
  else if (!strcmp(value, "no") || !strcmp(value, "false") || !strcmp(value, "off") ||
           !strcmp(value, "0"))
    sc->seal = 0;
  else {
    sc->seal = -1;
    snprintf(sc->bad, sizeof sc->bad, "%s", value);
  }
  return 1;
}

/* [privacy] seal of STATE/fieldmeshd.conf: 0 or 1 into |*on|. */
static int seal_setting(fmc_ctx *c, int *on) {
  char path[FMC_PATH_MAX];
  seal_conf sc = {0, ""};
  struct stat st;
  *on = 0;
  if (fmc_path(c, "fieldmeshd.conf", path) < 0) return fmc_fail(c, "state path too long");
  if (stat(path, &st) != 0) return 0;
  /* The daemon reports the file's other mistakes; a file it cannot read
   * is its business too. */
  if (ini_parse(path, on_key, &sc) < 0) return 0;
  if (sc.seal < 0)
    return fmc_usage(c, "%s: [privacy] seal = \"%.40s\": write yes or no (docs/privacy.md)",
                     path, sc.bad);
  *on = sc.seal;
  return 0;
}

static void cli_fill(void *ctx, uint8_t *out, size_t len) {
  (void)ctx;
  fmc_random(out, len);
}

int fmc_sealer(fmc_ctx *c, const fm_sealer **out) {
  fm_rng rng = {cli_fill, NULL};
  fm_buf grant;
  fm_keyring *k;
  uint64_t seq;
  int on, rv;
  *out = NULL;
  if ((rv = seal_setting(c, &on)) != 0 || !on) return rv;
  if (!(k = keyring(c))) return fmc_fail(c, "out of memory");
  fm_buf_init(&grant, FM_ENTRY_MAX);
  /* Grants first: extensions of older ones to readers they lack, then a
   * new key when the month or the readers changed.  Each is a write. */
  for (int i = 0; (rv = fm_keyring_sealer(k, c->now, &rng, &grant, &sealer)) == 1; i++) {
    if (i == 64) {
      rv = fmc_fail(c, "cannot ready the key for sealed fields: the grants do not settle");
      break;
    }
    if (i == 0 && !fm_keyring_gateway_reads(k))
      fmc_warn(c, "this laptop knows no gateway yet, so the commune hall cannot read the "
                  "personal fields sealed now: sync with the commune hall once first");
    if ((rv = fmc_append(c, &c->device, FM_KIND_SEAL_GRANT, &grant, &seq)) != 0) break;
    fm_keyring_granted(k, seq, &sealer);
  }
  if (rv == FM_ERR_TOOBIG) {
    rv = fmc_fail(c, "more than %d devices would read this laptop's sealed records: the "
                     "commune is too large for [privacy] seal", FM_SEAL_READERS_MAX);
  } else if (rv < 0) {
    rv = fmc_store_fail(c, rv, "cannot ready the key for sealed fields");
  }
  fm_buf_free(&grant);
  if (rv == 0) *out = &sealer;
  return rv;
}
