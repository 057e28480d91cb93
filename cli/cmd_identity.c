/* Identity and trust: init, authority init, enroll, join, revoke. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "args.h"
#include "cmd.h"
#include "container.h"
#include "date.h"
#include "fieldmesh/dirs.h"
#include "fieldmesh/error.h"
#include "fieldmesh/keyfile.h"
#include "out.h"
#include "roster.h"
#include "vocab.h"

/* Makes a fresh identity and writes it to STATE/|file|. */
static int new_key(fmc_ctx *c, const char *file, fm_identity *id) {
  char path[FMC_PATH_MAX];
  uint8_t seed[32];
  int rv;
  if (fmc_path(c, file, path) < 0) return fmc_fail(c, "state path too long");
  fmc_random(seed, sizeof seed);
  rv = fm_identity_from_seed(id, seed);
  sodium_memzero(seed, sizeof seed);
  if (rv < 0) return fmc_fail(c, "cannot derive a key: %s", fm_strerror(rv));
  rv = fm_keyfile_write(path, id);
  if (rv == FM_ERR_EXISTS) {
    fm_identity_wipe(id);
    return fmc_fail(c, "%s already exists: this state folder already has that key; "
                       "nothing was changed", path);
  }
  if (rv < 0) {
    char msg[FMC_PATH_MAX + 128];
    fm_identity_wipe(id);
    if (rv == FM_ERR_NOSPACE)
      return fmc_fail(c, "cannot write %s: %s", path,
                      fm_disk_full_message(c->state, msg, sizeof msg));
    return fmc_fail(c, "cannot write %s: %s", path,
                    rv == FM_ERR_IO ? strerror(errno) : fm_strerror(rv));
  }
  return 0;
}

static void print_id(fmc_ctx *c, const char *what, const uint8_t *pk) {
  char hex[2 * FM_KEY_LEN + 1];
  fm_hex(pk, FM_KEY_LEN, hex);
  if (c->json) {
    fmc_json j;
    fmc_json_init(&j, stdout);
    fmc_json_obj(&j);
    fmc_json_key(&j, what);
    fmc_json_str(&j, hex);
    fmc_json_key(&j, "state");
    fmc_json_str(&j, c->state);
    fmc_json_obj_end(&j);
    fmc_json_end(&j);
  } else {
    printf("%s\n", hex);
  }
}

/* A store that already has its device identity keeps it: a new key would
 * orphan every entry it signed (its log could never grow again) and make
 * the original key, restored from a backup, be refused.  Whether the key
 * file is there or not, init changes nothing. */
static int refuse_new_identity(fmc_ctx *c) {
  uint8_t self[FM_KEY_LEN];
  char path[FMC_PATH_MAX], sid[16];
  int rv = fm_store_self(c->store, self);
  if (rv == FM_ERR_NOTFOUND) return 0;
  if (rv < 0) return fmc_fail(c, "cannot read the store: %s", fm_strerror(rv));
  if (fmc_path(c, "device.key", path) < 0) return fmc_fail(c, "state path too long");
  if (access(path, F_OK) == 0 || errno != ENOENT)
    return fmc_fail(c, "%s is already set up as device %s… (its device.key already exists): "
                       "nothing was changed",
                    c->state, fmc_short_id(self, sid));
  return fmc_fail(c, "%s holds the store of device %s… but its device.key is missing: "
                     "init would replace that identity, so nothing was changed; put the "
                     "original key back from the backup as %s (chmod 600), see "
                     "docs/operations.md \"Restoring a device key\"",
                  c->state, fmc_short_id(self, sid), path);
}

int fmc_cmd_init(fmc_ctx *c, int argc, char **argv) {
  fmc_spec spec = {"usage: fieldmesh init\n"
                   "Creates this laptop's device key in the state folder and prints\n"
                   "its device id, which the commune administrator enrolls. Refuses a\n"
                   "state folder whose store already has a device identity (restore\n"
                   "a lost device.key from the backup instead).\n",
                   NULL, 0, 0, {0}, 0};
  int rv;
  if ((rv = fmc_args_parse(c, &spec, argc, argv)) != 0) return rv;
  if ((rv = fmc_open(c, 1)) != 0) return rv;
  if ((rv = refuse_new_identity(c)) != 0) return rv;
  if ((rv = new_key(c, "device.key", &c->device)) != 0) return rv;
  c->have_device = 1;
  if ((rv = fm_store_set_self(c->store, c->device.pk)) < 0)
    return fmc_fail(c, "cannot record the device id in the store: %s", fm_strerror(rv));
  if (!c->json) fprintf(stdout, "created %s/device.key; device id:\n", c->state);
  print_id(c, "device_id", c->device.pk);
  return 0;
}

int fmc_cmd_authority_init(fmc_ctx *c, int argc, char **argv) {
  fmc_opt o[] = {{"--commune", NULL, 0, NULL}, {NULL, NULL, 0, NULL}};
  fmc_spec spec = {"usage: fieldmesh authority init --commune NAME\n"
                   "Creates the commune authority key (STATE/authority.key) on the\n"
                   "administrator's machine; it signs every enrollment and revocation.\n",
                   o, 0, 0, {0}, 0};
  uint8_t pk[FM_KEY_LEN];
  char commune[FM_NAME_MAX];
  fm_identity auth;
  int rv;
  if ((rv = fmc_args_parse(c, &spec, argc, argv)) != 0) return rv;
  if ((rv = fmc_need(c, &o[0], "the commune's name, e.g. \"Tân Quang\"")) != 0) return rv;
  if ((rv = fmc_check_text(c, "--commune", o[0].value, FM_NAME_MAX - 1, 0)) != 0) return rv;
  if (!o[0].value[0]) return fmc_usage(c, "--commune must not be empty");
  if ((rv = fmc_open(c, 1)) != 0) return rv;
  if (fm_store_authority(c->store, pk, commune) == 0)
    return fmc_fail(c, "this store already belongs to commune %s: use a new state "
                       "folder (--state DIR) for another authority", commune);
  if ((rv = new_key(c, "authority.key", &auth)) != 0) return rv;
  rv = fm_store_set_authority(c->store, auth.pk, o[0].value);
  if (rv < 0) {
    fm_identity_wipe(&auth);
    return fmc_fail(c, "cannot record the authority in the store: %s", fm_strerror(rv));
  }
  if (!c->json) printf("created %s/authority.key for commune %s; authority id:\n",
                       c->state, o[0].value);
  print_id(c, "authority_id", auth.pk);
  fm_identity_wipe(&auth);
  return 0;
}

/* ---- enroll -------------------------------------------------------------- */

enum { E_NAME, E_TEAM, E_ROLE, E_VILLAGES, E_EXPIRES, E_OUT, E_COUNT };

static int enroll_fields(fmc_ctx *c, const fmc_opt *o, fm_enrollment *en) {
  int rv, y, m, d;
  if ((rv = fmc_need(c, &o[E_NAME], "the member's name, e.g. \"Lò Thị Lan\"")) ||
      (rv = fmc_need(c, &o[E_TEAM], "e.g. \"Team 1\"")) ||
      (rv = fmc_need(c, &o[E_ROLE], "one of: member, leader, gateway, admin")) ||
      (rv = fmc_need(c, &o[E_OUT], "the join file to write, e.g. -o lan.join")))
    return rv;
  if ((rv = fmc_check_text(c, "--name", o[E_NAME].value, FM_NAME_MAX - 1, 0)) ||
      (rv = fmc_check_text(c, "--team", o[E_TEAM].value, FM_NAME_MAX - 1, 0)))
    return rv;
  if (!o[E_NAME].value[0] || !o[E_TEAM].value[0])
    return fmc_usage(c, "--%s must not be empty", !o[E_NAME].value[0] ? "name" : "team");
  if (fm_role_parse(o[E_ROLE].value, &en->role) < 0)
    return fmc_usage(c, "--role must be one of: member, leader, gateway, admin, officer; got "
                        "\"%.40s\"", o[E_ROLE].value);
  snprintf(en->name, sizeof en->name, "%s", o[E_NAME].value);
  snprintf(en->team, sizeof en->team, "%s", o[E_TEAM].value);
  if (o[E_VILLAGES].value) {
    if ((rv = fmc_check_text(c, "--villages", o[E_VILLAGES].value, 4096, 0))) return rv;
    en->nvillages = fmc_split_list(c, "--villages", o[E_VILLAGES].value, en->villages,
                                   FM_VILLAGES_MAX);
    if (en->nvillages < 0) return FMC_USAGE;
  }
  if (o[E_EXPIRES].value) {
    if ((rv = fmc_check_date(c, "--expires", o[E_EXPIRES].value, &y, &m, &d))) return rv;
    /* Valid through the whole of that day, Vietnam time. */
    en->expires = fmc_date_start(y, m, d) + 24LL * 3600 * 1000 - 1;
    if (en->expires < c->now)
      return fmc_usage(c, "--expires %s is in the past: give a later date",
                       o[E_EXPIRES].value);
  }
  return 0;
}

/* The team and villages of an enrollment from the commune's lists, when
 * it keeps them, in the lists' spelling. */
static int enroll_lists(fmc_ctx *c, fm_enrollment *en) {
  fm_vocab *v = NULL;
  char name[FM_NAME_MAX];
  int rv;
  if ((rv = fmc_vocab_load(c, &v)) != 0) return rv;
  if (fm_vocab_active(v, FM_VOCAB_TEAM) &&
      (rv = fmc_vocab_pick(c, v, FM_VOCAB_TEAM, "--team", en->team, 0,
                           "the administrator adds it with `fieldmesh authority teams add`",
                           name)) == 0)
    snprintf(en->team, sizeof en->team, "%s", name);
  for (int i = 0; rv == 0 && i < en->nvillages && fm_vocab_active(v, FM_VOCAB_VILLAGE); i++)
    if ((rv = fmc_vocab_pick(c, v, FM_VOCAB_VILLAGE, "--villages", en->villages[i], 0,
                             "add it first with `fieldmesh authority villages add`",
                             name)) == 0)
      snprintf(en->villages[i], sizeof en->villages[i], "%s", name);
  free(v);
  return rv;
}

typedef struct copied {
  uint8_t *p;
  size_t len;
} copied;

static void enroll_print(fmc_ctx *c, const fm_enrollment *en, const char *out, uint64_t seq) {
  char hex[2 * FM_KEY_LEN + 1];
  fm_hex(en->device, FM_KEY_LEN, hex);
  if (!c->json) {
    printf("enrolled %s (%s, %s) as entry %llu of the authority's log\n", en->name,
           en->team, fm_role_name(en->role), (unsigned long long)seq);
    printf("join file: %s (copy it to that laptop and run `fieldmesh join %s`)\n", out, out);
    return;
  }
  fmc_json j;
  fmc_json_init(&j, stdout);
  fmc_json_obj(&j);
  fmc_json_key(&j, "device_id");
  fmc_json_str(&j, hex);
  fmc_json_key(&j, "seq");
  fmc_json_uint(&j, seq);
  fmc_json_key(&j, "join_file");
  fmc_json_str(&j, out);
  fmc_json_obj_end(&j);
  fmc_json_end(&j);
}

/* A revoked key is never trusted again: every laptop keeps the cut-off
 * whatever enrollment comes later (protocol.md, `revoke`), so a new
 * enrollment of it would print "enrolled" and "joined" for a laptop that
 * can write nothing.  The member gets a new key instead. */
static int refuse_revoked(fmc_ctx *c, const uint8_t device[FM_KEY_LEN]) {
  fmc_member m;
  char who[2 * FM_NAME_MAX + 32];
  memset(&m, 0, sizeof m);
  memcpy(m.en.device, device, FM_KEY_LEN);
  int rv = fm_store_enrollment(c->store, device, &m.en, &m.revoked_after, NULL, NULL);
  if (rv < 0 && rv != FM_ERR_NOTFOUND) return fmc_store_fail(c, rv, "cannot read the store");
  if (m.revoked_after == UINT64_MAX) return 0;
  m.enrolled = rv == 0;
  return fmc_fail(c, "%s was revoked after seq %llu and a revoked key is never trusted "
                     "again: nothing was written; on that laptop run `fieldmesh init` in a "
                     "fresh state folder and enroll the new id (see docs/operations.md, "
                     "\"Re-enrolling a revoked laptop\")",
                  fmc_member_label(&m, who, sizeof who), (unsigned long long)m.revoked_after);
}

int fmc_cmd_enroll(fmc_ctx *c, int argc, char **argv) {
  fmc_opt o[] = {{"--name", NULL, 0, NULL},     {"--team", NULL, 0, NULL},
                 {"--role", NULL, 0, NULL},     {"--villages", NULL, 0, NULL},
                 {"--expires", NULL, 0, NULL},  {"--output", "-o", 0, NULL},
                 {NULL, NULL, 0, NULL}};
  fmc_spec spec = {"usage: fieldmesh enroll DEVICE_ID --name N --team T --role "
                   "member|leader|gateway|admin|officer [--villages a,b] [--expires YYYY-MM-DD] -o FILE\n"
                   "Run on the administrator's state: signs an enrollment with the\n"
                   "commune authority and writes the join file for that laptop.\n",
                   o, 1, 1, {0}, 0};
  fm_enrollment en;
  fm_identity auth;
  fm_buf body;
  copied cert = {NULL, 0};
  uint64_t seq = 0;
  uint8_t pk[FM_KEY_LEN];
  int rv;
  memset(&en, 0, sizeof en);
  if ((rv = fmc_args_parse(c, &spec, argc, argv)) != 0) return rv;
  if ((rv = fmc_check_device(c, "DEVICE_ID", spec.pos[0], en.device))) return rv;
  if ((rv = enroll_fields(c, o, &en)) != 0) return rv;
  if ((rv = fmc_open(c, 0)) != 0) return rv;
  if (fm_store_authority(c->store, pk, en.commune) < 0)
    return fmc_fail(c, "this state has no commune authority: run `fieldmesh authority "
                       "init --commune NAME` on the administrator's machine");
  if ((rv = refuse_revoked(c, en.device)) != 0 || (rv = enroll_lists(c, &en)) != 0) return rv;
  if ((rv = fmc_load_authority(c, &auth)) != 0) return rv;
  if (!memcmp(en.device, auth.pk, FM_KEY_LEN)) {
    fm_identity_wipe(&auth);
    return fmc_usage(c, "DEVICE_ID is the authority's own id: give the id printed by "
                        "`fieldmesh init` on the laptop");
  }
  fm_buf_init(&body, FM_ENTRY_MAX);
  rv = fm_enroll_body(&body, &en);
  if (rv < 0) rv = fmc_fail(c, "cannot encode the enrollment: %s", fm_strerror(rv));
  else rv = fmc_append(c, &auth, FM_KIND_ENROLL, &body, &seq);
  fm_buf_free(&body);
  if (rv == 0 && fm_store_entry_copy(c->store, auth.pk, seq, &cert.p, &cert.len) < 0)
    rv = fmc_fail(c, "cannot read back the enrollment just written");
  fm_identity_wipe(&auth);
  if (rv == 0 && (rv = fm_join_export(c->store, cert.p, cert.len, o[E_OUT].value, c->now)) < 0)
    rv = fmc_fail(c, "the enrollment is recorded, but %s cannot be written (%s): run "
                     "enroll again with another -o", o[E_OUT].value, fm_strerror(rv));
  free(cert.p);
  if (rv == 0) enroll_print(c, &en, o[E_OUT].value, seq);
  return rv;
}

/* ---- join ----------------------------------------------------------------- */

/* The certificate of a join file: decoded, signed by the authority the file
 * names, and enrolling this laptop. */
static int check_join_cert(fmc_ctx *c, const char *path, const fm_bundle *b,
                           fm_enrollment *en) {
  fm_entry e;
  char a[16], d[16];
  if (b->ncerts != 1)
    return fmc_fail(c, "%s holds %zu enrollments, a join file holds one: ask the "
                       "administrator for a new one", path, b->ncerts);
  if (fm_entry_decode(b->certs[0].p, b->certs[0].len, NULL, &e) < 0 ||
      fm_enroll_parse(&e, en) < 0)
    return fmc_fail(c, "%s is damaged: its enrollment does not decode", path);
  if (memcmp(e.author, b->authority, FM_KEY_LEN) || fm_entry_verify(&e) < 0)
    return fmc_fail(c, "%s: the enrollment is not signed by the authority the file "
                       "names: refused", path);
  if (memcmp(en->device, c->device.pk, FM_KEY_LEN))
    return fmc_fail(c, "%s enrolls device %s… (%s, %s), not this laptop (%s…): use the "
                       "join file made for this laptop's id", path,
                    fmc_short_id(en->device, d), en->name, en->team,
                    fmc_short_id(c->device.pk, a));
  if (en->expires && en->expires < c->now) {
    char day[16];
    fmc_date_of(en->expires, day);
    return fmc_fail(c, "%s: this enrollment expired on %s: ask for a new one", path, day);
  }
  return 0;
}

static void join_print(fmc_ctx *c, const fm_enrollment *en) {
  if (c->json) {
    fmc_json j;
    fmc_json_init(&j, stdout);
    fmc_json_obj(&j);
    fmc_json_key(&j, "commune");
    fmc_json_str(&j, en->commune);
    fmc_json_key(&j, "name");
    fmc_json_str(&j, en->name);
    fmc_json_key(&j, "team");
    fmc_json_str(&j, en->team);
    fmc_json_key(&j, "role");
    fmc_json_str(&j, fm_role_name(en->role));
    fmc_json_obj_end(&j);
    fmc_json_end(&j);
    return;
  }
  printf("joined %s as %s (%s, %s)", en->commune, en->name, en->team, fm_role_name(en->role));
  for (int i = 0; i < en->nvillages; i++)
    printf("%s%s", i ? ", " : "; villages: ", en->villages[i]);
  printf("\n");
}

int fmc_cmd_join(fmc_ctx *c, int argc, char **argv) {
  fmc_spec spec = {"usage: fieldmesh join FILE\n"
                   "Joins the commune with the join file the administrator made for\n"
                   "this laptop (fieldmesh enroll ... -o FILE).\n",
                   NULL, 1, 1, {0}, 0};
  fm_bundle b;
  fm_enrollment en, known;
  uint64_t after = UINT64_MAX;
  uint8_t auth[FM_KEY_LEN];
  char commune[FM_NAME_MAX];
  int rv;
  if ((rv = fmc_args_parse(c, &spec, argc, argv)) != 0) return rv;
  if ((rv = fmc_open(c, 0)) != 0 || (rv = fmc_load_device(c)) != 0) return rv;
  if ((rv = fmc_container_read(c, spec.pos[0], FM_JOIN_MAGIC, &b)) != 0) return rv;
  rv = check_join_cert(c, spec.pos[0], &b, &en);
  /* Sets |after| even when no enrollment is held: a revocation may come first. */
  if (rv == 0) (void)fm_store_enrollment(c->store, c->device.pk, &known, &after, NULL, NULL);
  if (rv == 0 && after != UINT64_MAX)
    rv = fmc_fail(c, "this laptop's key was revoked after seq %llu and a revoked key is "
                     "never trusted again, whatever %s says: run `fieldmesh init` in a fresh "
                     "state folder and ask for an enrollment of the new id (see "
                     "docs/operations.md, \"Re-enrolling a revoked laptop\")",
                  (unsigned long long)after, spec.pos[0]);
  if (rv == 0 && fm_store_authority(c->store, auth, commune) == 0 &&
      memcmp(auth, b.authority, FM_KEY_LEN))
    rv = fmc_fail(c, "this laptop already belongs to commune %s; %s is from %s: refused",
                  commune, spec.pos[0], en.commune);
  /* The commune name comes from the signed enrollment, not the header. */
  if (rv == 0 && (rv = fm_store_set_authority(c->store, b.authority, en.commune)) < 0)
    rv = fmc_fail(c, "cannot record the commune authority: %s", fm_strerror(rv));
  if (rv == 0 && (rv = fm_store_add_cert(c->store, b.certs[0].p, b.certs[0].len,
                                         c->now, NULL)) < 0)
    rv = fmc_fail(c, "cannot install the enrollment: %s", fm_strerror(rv));
  fm_bundle_free(&b);
  if (rv == 0) join_print(c, &en);
  return rv;
}

/* ---- revoke --------------------------------------------------------------- */

/* What revoking |m| after |after| keeps, for people: into |out|. */
static void revoke_meaning(fmc_ctx *c, const fmc_member *m, uint64_t after, char *out,
                           size_t cap) {
  char when[24];
  fm_time t = fmc_roster_written_at(c, m->en.device, after);
  if (after == 0)
    snprintf(out, cap, "none of its entries stays valid: every one is refused everywhere");
  else if (t) {
    fmc_time_of(t, when);
    snprintf(out, cap, "entries up to seq %llu, written until %s, stay valid; later ones "
             "are refused everywhere", (unsigned long long)after, when);
  } else
    snprintf(out, cap, "entries up to seq %llu stay valid (this store holds up to seq "
             "%llu of it); later ones are refused everywhere", (unsigned long long)after,
             (unsigned long long)m->last_seq);
}

static void revoke_json(fmc_ctx *c, const fmc_member *m, uint64_t after, int done,
                        uint64_t seq) {
  fmc_json j;
  fm_time t = fmc_roster_written_at(c, m->en.device, after);
  fmc_json_init(&j, stdout);
  fmc_json_obj(&j);
  fmc_json_key(&j, "device_id");
  fmc_json_hex(&j, m->en.device, FM_KEY_LEN);
  fmc_json_key(&j, "name");
  fmc_json_str(&j, m->en.name);
  fmc_json_key(&j, "team");
  fmc_json_str(&j, m->en.team);
  fmc_json_key(&j, "after_seq");
  fmc_json_uint(&j, after);
  fmc_json_key(&j, "written_until");
  if (t) fmc_json_uint(&j, (uint64_t)t);
  else fmc_json_null(&j);
  fmc_json_key(&j, "revoked");
  fmc_json_bool(&j, done);
  if (done) {
    fmc_json_key(&j, "seq");
    fmc_json_uint(&j, seq);
  }
  fmc_json_obj_end(&j);
  fmc_json_end(&j);
}

/* The cut-off: --after-seq, else the last entry of the device held here.
 * A revocation only ever moves a device's cut-off lower (protocol.md). */
static int revoke_after(fmc_ctx *c, const fmc_opt *o, const fmc_member *m,
                        uint64_t *after) {
  char who[2 * FM_NAME_MAX + 32];
  int rv;
  *after = m->last_seq;
  if (o->value &&
      (rv = fmc_check_uint(c, "--after-seq", o->value, 0, INT64_MAX, after)))
    return rv;
  if (m->revoked_after != UINT64_MAX && *after >= m->revoked_after)
    return fmc_fail(c, "%s is already revoked after seq %llu: nothing to do (a new "
                       "revocation can only lower that, with --after-seq below it)",
                    fmc_member_label(m, who, sizeof who),
                    (unsigned long long)m->revoked_after);
  return 0;
}

int fmc_cmd_revoke(fmc_ctx *c, int argc, char **argv) {
  fmc_opt o[] = {{"--after-seq", NULL, 0, NULL}, {"--yes", NULL, 1, NULL},
                 {NULL, NULL, 0, NULL}};
  fmc_spec spec = {"usage: fieldmesh revoke NAME-OR-ID [--after-seq N] [--yes]\n"
                   "Run on the administrator's state: revokes a lost or stolen laptop,\n"
                   "named by its member's name or at least 8 hex digits of its id. Its\n"
                   "entries up to seq N stay valid; later ones are refused everywhere.\n"
                   "Without --after-seq, N is the last entry of it this store holds: the\n"
                   "command says what that keeps and writes nothing until --yes.\n",
                   o, 1, 1, {0}, 0};
  fmc_roster r;
  fmc_member m;
  fm_identity auth;
  fm_buf body;
  uint64_t after, seq = 0;
  char who[2 * FM_NAME_MAX + 32], meaning[256];
  int rv;
  if ((rv = fmc_args_parse(c, &spec, argc, argv)) != 0) return rv;
  if ((rv = fmc_open(c, 0)) != 0) return rv;
  if ((rv = fmc_roster_load(c, &r)) != 0) return rv;
  rv = fmc_roster_find(c, &r, spec.pos[0], &m);
  fmc_roster_free(&r);
  if (rv || (rv = revoke_after(c, &o[0], &m, &after))) return rv;
  if ((rv = fmc_load_authority(c, &auth)) != 0) return rv;
  if (!memcmp(m.en.device, auth.pk, FM_KEY_LEN)) {
    fm_identity_wipe(&auth);
    return fmc_usage(c, "%s is the authority's own id: give a laptop's name or id",
                     spec.pos[0]);
  }
  fmc_member_label(&m, who, sizeof who);
  revoke_meaning(c, &m, after, meaning, sizeof meaning);
  if (!o[0].value && !o[1].value) {
    /* The administrator cannot know the number: show what it keeps first. */
    fm_identity_wipe(&auth);
    if (c->json) revoke_json(c, &m, after, 0, 0);
    else
      printf("revoking %s after seq %llu: %s.\nEntries of it that this store has not "
             "received yet would be refused too: import the team's bundles first to "
             "keep them.\n", who, (unsigned long long)after, meaning);
    return fmc_usage(c, "nothing was written: run again with --yes to revoke %s after seq "
                        "%llu (or give --after-seq N)", spec.pos[0],
                     (unsigned long long)after);
  }
  fm_buf_init(&body, FM_ENTRY_MAX);
  rv = fm_revoke_body(&body, m.en.device, after);
  if (rv < 0) rv = fmc_fail(c, "cannot encode the revocation: %s", fm_strerror(rv));
  else rv = fmc_append(c, &auth, FM_KIND_REVOKE, &body, &seq);
  fm_buf_free(&body);
  fm_identity_wipe(&auth);
  if (rv == 0 && c->json) revoke_json(c, &m, after, 1, seq);
  else if (rv == 0)
    printf("revoked %s after seq %llu (authority entry %llu): %s; carry a bundle to the "
           "other laptops so they refuse its later entries\n",
           who, (unsigned long long)after, (unsigned long long)seq, meaning);
  return rv;
}
