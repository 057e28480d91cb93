/* The sneakernet link: vector export, bundle export, bundle import.
 *
 * The round trip between two laptops A and B:
 *   B: fieldmesh vector export -o b.vec          (what B holds)
 *   A: fieldmesh bundle export --for b.vec -o a.bundle   (what B lacks)
 *   B: fieldmesh bundle import a.bundle
 * and the same the other way.  Without --for, a bundle holds everything.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "cmd.h"
#include "container.h"
#include "fieldmesh/bundle.h"
#include "fieldmesh/dirs.h"
#include "fieldmesh/error.h"
#include "fieldmesh/vpool.h"
#include "out.h"

/* The folder |path| is written in, for the disk-full sentence. */
static const char *dir_of(const char *path, char dir[FMC_PATH_MAX]) {
  const char *slash = strrchr(path, '/');
  size_t n = slash ? (size_t)(slash - path) : 0;
  if (!slash) return ".";
  if (n == 0) return "/";
  if (n >= FMC_PATH_MAX) n = FMC_PATH_MAX - 1;
  memcpy(dir, path, n);
  dir[n] = 0;
  return dir;
}

static int write_error(fmc_ctx *c, const char *path, int rv) {
  char dir[FMC_PATH_MAX], msg[FMC_PATH_MAX + 128];
  if (rv == FM_ERR_NOTFOUND)
    return fmc_fail(c, "this laptop has not joined a commune yet: run `fieldmesh join "
                       "FILE` first");
  if (rv == FM_ERR_NOSPACE)
    return fmc_fail(c, "cannot write %s: %s; nothing was written", path,
                    fm_disk_full_message(dir_of(path, dir), msg, sizeof msg));
  if (rv == FM_ERR_DAMAGED) return fmc_store_fail(c, rv, NULL);
  return fmc_fail(c, "cannot write %s (%s): check the folder exists and is writable; "
                     "nothing was written", path, fm_strerror(rv));
}

/* Loads the device key that signs what this laptop writes, when there is
 * one (an administrator's machine may hold only the authority's). */
static int load_signer(fmc_ctx *c) {
  char path[FMC_PATH_MAX];
  if (c->have_device || fmc_path(c, "device.key", path) < 0 || access(path, F_OK) != 0)
    return 0;
  return fmc_load_device(c);
}

static const fm_identity *own_identity(const fmc_ctx *c) {
  return c->have_device ? &c->device : NULL;
}

/* {"file": path, key: n} */
static void json_count(const char *path, const char *key, uint64_t n) {
  fmc_json j;
  fmc_json_init(&j, stdout);
  fmc_json_obj(&j);
  fmc_json_key(&j, "file");
  fmc_json_str(&j, path);
  fmc_json_key(&j, key);
  fmc_json_uint(&j, n);
  fmc_json_obj_end(&j);
  fmc_json_end(&j);
}

int fmc_cmd_vector_export(fmc_ctx *c, int argc, char **argv) {
  fmc_opt o[] = {{"--output", "-o", 0, NULL}, {NULL, NULL, 0, NULL}};
  fmc_spec spec = {"usage: fieldmesh vector export -o FILE\n"
                   "Writes what this laptop holds (one line per author), so another\n"
                   "laptop can make a bundle of just what is missing here.\n",
                   o, 0, 0, {0}, 0};
  fm_vector v = {0, NULL};
  int rv;
  if ((rv = fmc_args_parse(c, &spec, argc, argv)) != 0) return rv;
  if ((rv = fmc_need(c, &o[0], "the file to write, e.g. -o /media/usb/lan.vec"))) return rv;
  if ((rv = fmc_open(c, 0)) != 0 || (rv = load_signer(c)) != 0) return rv;
  if ((rv = fm_vector_export(c->store, own_identity(c), o[0].value, c->now)) < 0)
    return write_error(c, o[0].value, rv);
  if (fm_store_vector(c->store, &v) < 0) v.n = 0;
  if (c->json)
    json_count(o[0].value, "authors", v.n);
  else
    printf("wrote the vector of %zu author%s to %s\n", v.n, v.n == 1 ? "" : "s", o[0].value);
  fm_vector_free(&v);
  return 0;
}

/* The vector of |path| (a vector file or a bundle, which carries its
 * sender's vector too), noted as seen: it also tells us which of our own
 * entries the other laptop already holds. */
static int their_vector(fmc_ctx *c, const char *path, fm_bundle *b) {
  int rv = fm_bundle_read(path, b);
  /* A bundle's header holds its sender's vector too: either will do. */
  if (rv == 0 && strcmp(b->magic, FM_BUNDLE_MAGIC) && strcmp(b->magic, FM_VECTOR_MAGIC)) {
    fm_bundle_free(b);
    rv = -1;
  }
  /* Read it again the strict way, which says what is wrong with it. */
  if (rv < 0 && (rv = fmc_container_read(c, path, FM_VECTOR_MAGIC, b)) != 0) return rv;
  if ((rv = fmc_container_commune(c, path, b)) != 0) {
    fm_bundle_free(b);
    return rv;
  }
  for (size_t i = 0; i < b->vector.n; i++)
    fm_store_note_seen(c->store, b->vector.items[i].author, b->vector.items[i].seq, c->now);
  /* Signed by the other laptop: its word on which of ours it holds. */
  if ((rv = fm_bundle_note_copies(c->store, b, c->now)) < 0) {
    fm_bundle_free(b);
    return fmc_fail(c, "cannot read the store: %s", fm_strerror(rv));
  }
  return 0;
}

int fmc_cmd_bundle_export(fmc_ctx *c, int argc, char **argv) {
  fmc_opt o[] = {{"--for", NULL, 0, NULL}, {"--output", "-o", 0, NULL},
                 {"--with-attachments", NULL, 1, NULL}, {"--attachments-max", NULL, 0, NULL},
                 {"--format", NULL, 0, NULL}, {NULL, NULL, 0, NULL}};
  fmc_spec spec = {"usage: fieldmesh bundle export [--for VECTOR_FILE] -o FILE "
                   "[--with-attachments [--attachments-max MB]] [--format 3]\n"
                   "Writes the entries the other laptop lacks (everything without --for)\n"
                   "into FILE, for a USB stick. Carry it over and run `fieldmesh bundle\n"
                   "import FILE` there. --with-attachments adds the scans of the dossiers\n"
                   "in it (sealed, as they travel), up to MB megabytes (default 512).\n"
                   "The records are compressed (format 4); --format 3 writes them as they\n"
                   "are, for a laptop of an older release, which refuses format 4.\n",
                   o, 0, 0, {0}, 0};
  fm_bundle theirs;
  size_t count = 0, chunks = 0, skipped = 0;
  uint64_t max_mb = 512, format = FM_BUNDLE_FORMAT;
  int rv, have = 0;
  if ((rv = fmc_args_parse(c, &spec, argc, argv)) != 0) return rv;
  if ((rv = fmc_need(c, &o[1], "the bundle to write, e.g. -o /media/usb/to-lan.bundle")))
    return rv;
  if (o[3].value && !o[2].value)
    return fmc_usage(c, "--attachments-max goes with --with-attachments");
  if (o[3].value && (rv = fmc_check_uint(c, "--attachments-max", o[3].value, 1, 1u << 20,
                                         &max_mb)))
    return rv;
  if (o[4].value && (rv = fmc_check_uint(c, "--format", o[4].value, 3, FM_BUNDLE_FORMAT,
                                         &format)))
    return rv;
  if ((rv = fmc_open(c, 0)) != 0 || (rv = load_signer(c)) != 0) return rv;
  memset(&theirs, 0, sizeof theirs);
  if (o[0].value) {
    if ((rv = their_vector(c, o[0].value, &theirs)) != 0) return rv;
    have = 1;
  }
  rv = fm_bundle_export_format(c->store, own_identity(c), have ? &theirs.vector : NULL,
                               o[1].value, c->now, (unsigned)format,
                               o[2].value ? max_mb << 20 : 0, &count, &chunks, &skipped);
  if (have) fm_bundle_free(&theirs);
  if (rv < 0) return write_error(c, o[1].value, rv);
  if (c->json)
    json_count(o[1].value, "entries", count);
  else
    printf("wrote %zu entr%s to %s\n", count, count == 1 ? "y" : "ies", o[1].value);
  if (!c->json && o[2].value)
    printf("with %zu chunk%s of scans%s\n", chunks, chunks == 1 ? "" : "s",
           skipped ? "; some left out by --attachments-max: carry another bundle" : "");
  return 0;
}

static void import_print(fmc_ctx *c, const char *path, const fm_ingest_result *r,
                         const fm_blob_tally *ch) {
  if (c->json) {
    fmc_json j;
    fmc_json_init(&j, stdout);
    fmc_json_obj(&j);
    fmc_json_key(&j, "file");
    fmc_json_str(&j, path);
    fmc_json_key(&j, "accepted");
    fmc_json_uint(&j, r->accepted);
    fmc_json_key(&j, "duplicate");
    fmc_json_uint(&j, r->duplicate);
    fmc_json_key(&j, "held");
    fmc_json_uint(&j, r->held);
    fmc_json_key(&j, "quarantined");
    fmc_json_uint(&j, r->quarantined);
    fmc_json_key(&j, "refused");
    fmc_json_uint(&j, r->refused);
    fmc_json_key(&j, "released");
    fmc_json_uint(&j, r->released);
    fmc_json_key(&j, "clock_ahead");
    fmc_json_uint(&j, r->clock_ahead);
    fmc_json_key(&j, "first_error");
    fmc_json_str(&j, r->first_error ? fm_strerror(r->first_error) : "");
    fmc_json_key(&j, "chunks_kept");
    fmc_json_uint(&j, ch->kept);
    fmc_json_key(&j, "chunks_unwanted");
    fmc_json_uint(&j, ch->unwanted);
    fmc_json_obj_end(&j);
    fmc_json_end(&j);
    return;
  }
  printf("imported %s: accepted %u, duplicate %u, held %u, quarantined %u, refused %u\n",
         path, r->accepted, r->duplicate, r->held, r->quarantined, r->refused);
  if (ch->kept || ch->same || ch->unwanted)
    printf("chunks of scans: kept %u, held already %u, not named by any record here %u\n",
           ch->kept, ch->same, ch->unwanted);
  if (r->first_error)
    printf("first problem: %s (see `fieldmesh status`)\n", fm_strerror(r->first_error));
  if (r->held)
    printf("held entries come from laptops not yet enrolled here, or change records not "
           "here yet; they are applied when the enrollment or the record arrives\n");
  if (r->clock_ahead)
    printf("%u entr%s stamped more than a day ahead: a laptop's clock is wrong\n",
           r->clock_ahead, r->clock_ahead == 1 ? "y is" : "ies are");
}

/* A restored backup's own log came back with the bundle: what was
 * written on this laptop since the restore is recorded again at the head
 * (store/restore.c).  Nothing to do on most imports. */
static int restore_flush(fmc_ctx *c) {
  fm_restore_info ri;
  unsigned n = 0;
  int rv;
  if (fm_store_restore_info(c->store, &ri) < 0 || ri.pending == 0) return 0;
  if ((rv = fmc_load_device(c)) != 0) return rv;
  if ((rv = fm_store_restore_flush(c->store, &c->device, c->now, &n)) < 0)
    return fmc_store_fail(c, rv, NULL);
  if (c->json) return 0;
  if (n)
    printf("this laptop was restored from a backup: %u record%s written since %s recorded "
           "again as new records, for the next sync\n", n, n == 1 ? "" : "s",
           n == 1 ? "was" : "were");
  else
    printf("this laptop was restored from a backup: %llu record%s written since then wait "
           "until it has all its own records back (see `fieldmesh doctor`)\n",
           (unsigned long long)ri.pending, ri.pending == 1 ? "" : "s");
  return 0;
}

/* Imports |b| with its signatures checked on every core: the workers
 * check ahead of this thread, the store's writer, which applies the
 * entries in order (fieldmesh/vpool.h).  What the store holds afterwards
 * is the same as with inline checks; a pool that cannot start only makes
 * the import slower. */
static int import_on_every_core(fmc_ctx *c, const fm_bundle *b, fm_ingest_result *r,
                                fm_blob_tally *ch) {
  fm_vpool pool;
  unsigned cores = fm_vpool_cores();
  int pooled = 0, rv;
  memset(&pool, 0, sizeof pool);
  if (cores > 1 && b->nitems > 1 && fm_vpool_start(&pool, cores - 1) == 0) {
    fm_verifier v = fm_vpool_verifier(&pool);
    fm_store_set_verifier(c->store, &v);
    pooled = 1;
  }
  rv = fm_bundle_import_chunks(c->store, b, c->now, r, ch);
  if (pooled) {
    fm_store_set_verifier(c->store, NULL);
    fm_vpool_stop(&pool);
  }
  return rv;
}

int fmc_cmd_bundle_import(fmc_ctx *c, int argc, char **argv) {
  fmc_spec spec = {"usage: fieldmesh bundle import FILE\n"
                   "Checks and applies a bundle from another laptop of this commune. A\n"
                   "damaged, truncated or foreign bundle is refused whole.\n",
                   NULL, 1, 1, {0}, 0};
  fm_bundle b;
  fm_ingest_result r;
  fm_blob_tally ch = {0};
  int rv;
  if ((rv = fmc_args_parse(c, &spec, argc, argv)) != 0) return rv;
  if ((rv = fmc_open(c, 0)) != 0) return rv;
  if ((rv = fmc_container_read(c, spec.pos[0], FM_BUNDLE_MAGIC, &b)) != 0) return rv;
  if ((rv = fmc_container_commune(c, spec.pos[0], &b)) != 0) {
    fm_bundle_free(&b);
    return rv;
  }
  rv = import_on_every_core(c, &b, &r, &ch);
  fm_bundle_free(&b);
  if (rv == FM_ERR_MESH)
    return fmc_fail(c, "%s comes from another commune: refused", spec.pos[0]);
  /* What was applied before the disk filled stays (whole batches only). */
  if (rv == FM_ERR_NOSPACE || rv == FM_ERR_DAMAGED) return fmc_store_fail(c, rv, NULL);
  if (rv < 0)
    return fmc_fail(c, "import of %s stopped: %s; what was applied stays, import the "
                       "file again to finish", spec.pos[0], fm_strerror(rv));
  import_print(c, spec.pos[0], &r, &ch);
  return restore_flush(c);
}
