#include "seal.h"

#include <errno.h>
#include <ini.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fieldmesh/enroll.h"
#include "fieldmesh/error.h"
#include "fieldmesh/inbox.h"
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
  if (c && n.wrong_keys)
    fmc_warn(c, "%llu key%s that another laptop's extension (seal.extend) carried here did not "
                "open what it claims to: that laptop wraps wrong keys (the right key was used)",
             (unsigned long long)n.wrong_keys, n.wrong_keys == 1 ? "" : "s");
  fm_keyring_free(ring);
  ring = NULL;
  ring_store = NULL;
  sodium_memzero(&sealer, sizeof sealer);
}

fm_seal_counts fmc_seal_counts(void) { return fm_keyring_counts(ring); }

typedef struct seal_conf {
  int seal;       /* -1: a bad value */
  int keep;       /* [privacy] keep_months, 0: none; -1: a bad value */
  char bad[64];
} seal_conf;

static int on_key(void *user, const char *section, const char *key, const char *value) {
  seal_conf *sc = user;
  if (strcmp(section, "privacy")) return 1;
  if (!strcmp(key, "keep_months")) {
    char *end;
    long v = strtol(value, &end, 10);
    sc->keep = *value && !*end && v >= 1 && v <= FM_INBOX_KEEP_MAX ? (int)v : -1;
    if (sc->keep < 0) snprintf(sc->bad, sizeof sc->bad, "%s", value);
    return 1;
  }
  if (strcmp(key, "seal")) return 1;
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

/* [privacy] seal and keep_months of STATE/fieldmeshd.conf into |*on| (0
 * or 1) and |*keep| (may be NULL; 0: none).  A bad value is refused in
 * one line, or, where |keep| is asked for by a command that only reads,
 * warned of (nothing is then forgotten). */
static int seal_setting(fmc_ctx *c, int *on, int *keep) {
  char path[FMC_PATH_MAX];
  seal_conf sc = {0, 0, ""};
  struct stat st;
  *on = 0;
  if (keep) *keep = 0;
  if (fmc_path(c, "fieldmeshd.conf", path) < 0) return fmc_fail(c, "state path too long");
  if (stat(path, &st) != 0) return 0;
  /* The daemon reports the file's other mistakes; a file it cannot read
   * is its business too. */
  if (ini_parse(path, on_key, &sc) < 0) return 0;
  if (sc.seal < 0 && !keep)
    return fmc_usage(c, "%s: [privacy] seal = \"%.40s\": write yes or no (docs/privacy.md)",
                     path, sc.bad);
  if (sc.keep < 0 && keep) {
    fmc_warn(c, "%s: [privacy] keep_months = \"%.40s\" is not a number of months from 1 to %d: "
                "nothing is forgotten until it is fixed (docs/privacy.md)", path, sc.bad,
             FM_INBOX_KEEP_MAX);
    sc.keep = 0;
  } else if (sc.keep < 0) {
    return fmc_usage(c, "%s: [privacy] keep_months = \"%.40s\": write a number of months from 1 "
                     "to %d (docs/privacy.md)", path, sc.bad, FM_INBOX_KEEP_MAX);
  }
  *on = sc.seal;
  if (keep) *keep = sc.keep;
  return 0;
}

/* keep_months of this laptop: 0 where it is not set or where the device
 * is a gateway (which keeps every month, docs/privacy.md P4). */
static int keep_months(fmc_ctx *c, const fm_identity *self) {
  fm_enrollment en;
  uint64_t revoked;
  int on, keep;
  if (seal_setting(c, &on, &keep) != 0 || keep == 0) return 0;
  if (fm_store_enrollment(c->store, self->pk, &en, &revoked, NULL, NULL) == 0 &&
      en.role == FM_ROLE_GATEWAY) {
    fmc_warn(c, "[privacy] keep_months is ignored on a gateway: the commune hall keeps every "
                "month (docs/privacy.md)");
    return 0;
  }
  return keep;
}

/* Forgets the inbox secrets of months older than keep_months, then loads
 * the rest into the keyring.  Never fails the command: a secret it cannot
 * load reads as sealed. */
static void inbox_open(fmc_ctx *c, int keep) {
  char dir[FMC_PATH_MAX], cur[8], oldest[8];
  unsigned forgot = 0;
  if (fmc_path(c, FM_INBOX_DIR, dir) < 0) return;
  if (keep > 0) {
    fm_seal_period(c->now, cur);
    fm_seal_period_add(cur, -keep, oldest);
    if (fm_inbox_forget(dir, oldest, &forgot) < 0)
      fmc_warn(c, "cannot forget the keys of months before %s in %s: %s", oldest, dir,
               strerror(errno));
  }
  if (fm_keyring_load_inbox(ring, dir) < 0)
    fmc_warn(c, "cannot read this laptop's month keys in %s (they must be this user's, mode "
                "0600): fields sealed to them show as sealed", dir);
}



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
  if (fm_keyring_new(c->store, self, &ring) == 0) {
    ring_store = c->store;
    if (self) inbox_open(c, keep_months(c, self));
  }
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

static void cli_fill(void *ctx, uint8_t *out, size_t len) {
  (void)ctx;
  fmc_random(out, len);
}

/* With keep_months: makes sure this laptop holds inbox secrets for this
 * month and the next and that its log publishes them, so the grants
 * written now (its own among them) wrap to keys it will forget. */
static int inbox_publish(fmc_ctx *c, fm_keyring *k, const fm_rng *rng, fm_buf *body) {
  char dir[FMC_PATH_MAX], cur[8], next[8];
  uint64_t seq;
  int rv, keep = c->have_device ? keep_months(c, &c->device) : 0;
  if (keep == 0) return 0;
  if (fmc_path(c, FM_INBOX_DIR, dir) < 0) return fmc_fail(c, "state path too long");
  fm_seal_period(c->now, cur);
  fm_seal_period_add(cur, 1, next);
  if (fm_inbox_ensure(dir, cur, rng) < 0 || fm_inbox_ensure(dir, next, rng) < 0)
    return fmc_fail(c, "cannot write this laptop's month keys in %s: %s", dir, strerror(errno));
  if (fm_keyring_load_inbox(k, dir) < 0)
    return fmc_fail(c, "cannot read this laptop's month keys in %s: %s", dir, strerror(errno));
  rv = fm_keyring_inbox_publish(k, c->now, body);
  if (rv == 1) rv = fmc_append(c, &c->device, FM_KIND_SEAL_INBOX, body, &seq);
  return rv < 0 ? fmc_store_fail(c, rv, "cannot publish this laptop's month keys") : 0;
}

int fmc_sealer(fmc_ctx *c, const fm_sealer **out) {
  fm_rng rng = {cli_fill, NULL};
  fm_buf grant;
  fm_keyring *k;
  uint64_t seq;
  int on, rv;
  *out = NULL;
  if ((rv = seal_setting(c, &on, NULL)) != 0 || !on) return rv;
  if (!(k = keyring(c))) return fmc_fail(c, "out of memory");
  fm_buf_init(&grant, FM_ENTRY_MAX);
  if ((rv = inbox_publish(c, k, &rng, &grant)) != 0) {
    fm_buf_free(&grant);
    return rv;
  }
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
