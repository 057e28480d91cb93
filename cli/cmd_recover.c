/* fieldmesh recover: a fresh store from what a damaged one still holds.
 *
 * The damaged store is renamed aside, never deleted; the fresh one is
 * built next to it (same file system, so the swap is two renames) and
 * takes its place only once it is complete.  What could not be saved is
 * on the other laptops of the mesh -- this laptop's own entries too,
 * since sync copies every entry to every laptop -- and comes back at the
 * next sync. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "cmd.h"
#include "cmd_net.h"
#include "fieldmesh/dirs.h"
#include "fieldmesh/error.h"
#include "fieldmesh/keyfile.h"
#include "out.h"

#define KEEP_TRIES 100   /* store.damaged-DATE, -2, -3 ...: then give up */

/* A daemon holding the damaged store open would go on using it. */
static int daemon_running(fmc_ctx *c) {
  fm_control_resp r;
  int rv = fmc_net_peer_list(c, &r);
  if (rv == 0) fm_control_resp_free(&r);
  return rv != 1;
}

/* STATE/store.damaged-YYYYMMDD-HHMMSS, or with -N when that exists. */
static int keep_name(fmc_ctx *c, char *out) {
  char day[32];
  struct stat st;
  time_t t = (time_t)(c->now / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(day, sizeof day, "%Y%m%d-%H%M%S", &tm);
  for (int i = 1; i <= KEEP_TRIES; i++) {
    char name[64];
    if (i == 1) snprintf(name, sizeof name, "store.damaged-%s", day);
    else snprintf(name, sizeof name, "store.damaged-%s-%d", day, i);
    if (fmc_path(c, name, out) < 0) return -ENAMETOOLONG;
    if (lstat(out, &st) != 0 && errno == ENOENT) return 0;
  }
  return -EEXIST;
}

static void print_json(fmc_ctx *c, const fm_salvage *sv, const char *kept) {
  fmc_json j;
  char hex[2 * FM_KEY_LEN + 1];
  fmc_json_init(&j, stdout);
  fmc_json_obj(&j);
  fmc_json_key(&j, "saved");
  fmc_json_uint(&j, sv->saved);
  fmc_json_key(&j, "unreadable");
  fmc_json_uint(&j, sv->unreadable);
  fmc_json_key(&j, "kept");
  fmc_json_str(&j, kept);
  fmc_json_key(&j, "missing");
  fmc_json_arr(&j);
  for (size_t i = 0; i < sv->nauthors; i++) {
    const fm_salvage_author *a = &sv->authors[i];
    if (a->claimed <= a->saved) continue;
    fmc_json_obj(&j);
    fmc_json_key(&j, "author");
    fm_hex(a->author, FM_KEY_LEN, hex);
    fmc_json_str(&j, hex);
    fmc_json_key(&j, "own");
    fmc_json_bool(&j, c->have_device && !memcmp(a->author, c->device.pk, FM_KEY_LEN));
    fmc_json_key(&j, "from_seq");
    fmc_json_uint(&j, a->saved + 1);
    fmc_json_key(&j, "to_seq");
    fmc_json_uint(&j, a->claimed);
    fmc_json_obj_end(&j);
  }
  fmc_json_arr_end(&j);
  fmc_json_obj_end(&j);
  fmc_json_end(&j);
}

static void print_text(fmc_ctx *c, const fm_salvage *sv, const char *kept) {
  char who[512];
  uint64_t lost = 0;
  int own = 0;
  printf("recover: saved %llu entr%s into a fresh store; the damaged store is kept in %s "
         "(nothing was deleted)\n", (unsigned long long)sv->saved, sv->saved == 1 ? "y" : "ies",
         kept);
  for (size_t i = 0; i < sv->nauthors; i++) lost += sv->authors[i].claimed > sv->authors[i].saved;
  if (!lost) {
    printf("nothing is missing: every entry the damaged store showed was saved\n");
    return;
  }
  printf("could not save:\n");
  for (size_t i = 0; i < sv->nauthors; i++) {
    const fm_salvage_author *a = &sv->authors[i];
    if (a->claimed <= a->saved) continue;
    int mine = c->have_device && !memcmp(a->author, c->device.pk, FM_KEY_LEN);
    own |= mine;
    uint64_t n = a->claimed - a->saved;
    /* Without its head record the log's end is unknown: what is past
     * the last trace found is missing too. */
    int more = a->head < a->claimed;
    printf("  %s%llu entr%s of %s (numbers %llu to %llu%s)%s\n", more ? "at least " : "",
           (unsigned long long)n, n == 1 ? "y" : "ies",
           fmc_device_label(c, a->author, who, sizeof who), (unsigned long long)a->saved + 1,
           (unsigned long long)a->claimed, more ? " and maybe later ones" : "",
           mine ? ": this laptop's own" : "");
  }
  printf("They come back from the other laptops at the next sync (this laptop's own "
         "entries too: the mesh holds them).\n");
  if (own)
    printf("Until this laptop has its own entries back it records nothing new: sync with "
           "another laptop (start fieldmeshd) or import a bundle first.\n");
}

/* Builds the fresh store in a new folder next to the damaged one, then
 * swaps the two.  |kept| receives where the damaged one went. */
static int salvage_and_swap(fmc_ctx *c, const char *store, char *kept, fm_salvage *sv) {
  char tmp[FMC_PATH_MAX], msg[FMC_PATH_MAX + 128];
  int rv;
  if (fmc_path(c, "store.recover-XXXXXX", tmp) < 0) return fmc_fail(c, "state path too long");
  if (!mkdtemp(tmp))
    return errno == ENOSPC || errno == EDQUOT
               ? fmc_fail(c, "%s", fm_disk_full_message(c->state, msg, sizeof msg))
               : fmc_fail(c, "cannot make a folder in %s: %s", c->state, strerror(errno));
  if ((rv = fm_store_salvage(store, tmp, c->have_device ? c->device.pk : NULL, c->now, sv)) < 0) {
    fm_store_remove_dir(tmp);   /* our own new folder: nothing else in it */
    if (rv == FM_ERR_NOSPACE)
      return fmc_fail(c, "%s; the damaged store is untouched",
                      fm_disk_full_message(c->state, msg, sizeof msg));
    return fmc_fail(c, "cannot salvage %s: %s; it is untouched", store, fm_strerror(rv));
  }
  if ((rv = keep_name(c, kept)) < 0 || rename(store, kept) != 0) {
    int e = rv < 0 ? -rv : errno;
    fm_salvage_free(sv);
    fm_store_remove_dir(tmp);
    return fmc_fail(c, "cannot move the damaged store aside (%s); it is untouched", strerror(e));
  }
  if (rename(tmp, store) != 0) {
    int e = errno;
    rename(kept, store);
    fm_salvage_free(sv);
    fm_store_remove_dir(tmp);
    return fmc_fail(c, "cannot put the fresh store in place (%s); the damaged store is "
                       "back where it was", strerror(e));
  }
  return 0;
}

int fmc_cmd_recover(fmc_ctx *c, int argc, char **argv) {
  fmc_spec spec = {"usage: fieldmesh recover [--json]\n"
                   "Saves every entry a damaged store still holds (each one's signature\n"
                   "checked) into a fresh store, rebuilds the views, and keeps the damaged\n"
                   "store aside as STATE/store.damaged-DATE. Says what could not be saved:\n"
                   "it comes back from the other laptops at the next sync. Stop fieldmeshd\n"
                   "first.\n",
                   NULL, 0, 0, {0}, 0};
  char store[FMC_PATH_MAX], data[FMC_PATH_MAX], kept[FMC_PATH_MAX];
  fm_salvage sv;
  struct stat st;
  int rv;
  if ((rv = fmc_args_parse(c, &spec, argc, argv)) != 0) return rv;
  if ((rv = fmc_state(c, 0)) != 0) return rv;
  if (fmc_path(c, "store", store) < 0 || fmc_path(c, "store/data.mdb", data) < 0)
    return fmc_fail(c, "state path too long");
  if (lstat(data, &st) != 0)
    return fmc_fail(c, "there is no store in %s: nothing to recover", store);
  if (daemon_running(c))
    return fmc_fail(c, "fieldmeshd is running on %s: stop it first (it would go on using "
                       "the damaged store), then run fieldmesh recover", c->state);
  /* The device key names our own log, which the damaged store may no
   * longer say: the fresh store must know it to refuse a fork. */
  char path[FMC_PATH_MAX];
  fm_identity id;
  if (fmc_path(c, "device.key", path) == 0 && fm_keyfile_read(path, &id) == 0) {
    c->device = id;
    c->have_device = 1;
    fm_identity_wipe(&id);
  }
  if ((rv = salvage_and_swap(c, store, kept, &sv)) != 0) return rv;
  /* Names for the report come from the fresh store's enrollments. */
  (void)fmc_open(c, 0);
  if (c->json) print_json(c, &sv, kept);
  else print_text(c, &sv, kept);
  if (!sv.have_authority)
    fmc_warn(c, "the commune's authority could not be read back: run `fieldmesh join FILE` "
                "again with this laptop's join file, then sync");
  fm_salvage_free(&sv);
  return 0;
}
