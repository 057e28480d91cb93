/* Ingest benchmark (the bars are in README.md): validate + store received
 * entries, against the rate at which this machine verifies bare Ed25519
 * signatures in the same run.
 *
 * 100,000 entries of about 500 bytes from 20 enrolled members are built
 * first (not timed).  Then, timed with CLOCK_MONOTONIC:
 *   - fm_store_ingest into a fresh store, batches of 1,000, durable commits
 *     (the default);
 *   - crypto_sign_verify_detached over the same 100,000 signed messages,
 *     batch by batch, alternating with the ingest batches;
 *   - both again into another fresh store opened with nosync, for
 *     comparison;
 *   - both again, durable and nosync, with the signatures checked by the
 *     signature checkers (store/vpool.c) as [node] verify_threads sets
 *     them by default: one worker fewer than the cores, beside the writing
 *     thread.  Once batch by batch, as a sync session hands them over
 *     (the workers start on a batch when it begins and stop at its end),
 *     and once ahead, as a bundle import does (fm_store_verify_ahead: the
 *     workers check batch k+1 while batch k commits and flushes).  Ahead,
 *     the bare verification alternates with runs of 10 batches, so that
 *     the workers never check during the bare timing;
 *   - for each ingest run, the CPU time of every thread per entry, and
 *     that time over the wall time: how many cores the ingest kept busy
 *     (on a machine shared with other work, the rates above tell little
 *     of what two idle cores would do; these tell whether the checkers
 *     kept both busy when they could);
 *   - bundles: the corpus and the realistic corpus (corpus.h) exported as
 *     FMBNDL3 and FMBNDL4 (sizes against the entries' own bytes, export
 *     times), then the FMBNDL4 bundle of the corpus read (unpacked) and
 *     imported into a fresh durable store with the checkers, as `fieldmesh
 *     bundle import` does.
 * Prints figures only: speed is never a pass/fail condition.  Everything
 * is written under one temporary folder, removed at the end. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "fieldmesh/bundle.h"
#include "fieldmesh/dirs.h"
#include "fieldmesh/enroll.h"
#include "fieldmesh/error.h"
#include "fieldmesh/record.h"
#include "fieldmesh/store.h"

#include "corpus.h"
#include "fieldmesh/vpool.h"

#define BATCH 1000
/* Ahead, the entries handed to the checkers at once: 10 batches. */
#define AHEAD_RUN (10 * BATCH)

/* The floor: bare libsodium verification of the very messages ingest
 * verifies (context, NUL, unsigned entry), prepared before the clock. */
typedef struct bare {
  uint8_t **msgs;
  size_t *lens;
  const uint8_t **sigs, **pks;
  size_t avg_len;
} bare;

static void bare_prepare(const bench_corpus *c, bare *b) {
  const size_t ctx_len = strlen(FM_CTX_ENTRY) + 1;
  size_t total = 0;
  b->msgs = malloc(BENCH_ENTRIES * sizeof *b->msgs);
  b->lens = malloc(BENCH_ENTRIES * sizeof *b->lens);
  b->sigs = malloc(BENCH_ENTRIES * sizeof *b->sigs);
  b->pks = malloc(BENCH_ENTRIES * sizeof *b->pks);
  if (!b->msgs || !b->lens || !b->sigs || !b->pks) bench_die("verify setup", -ENOMEM);
  for (size_t i = 0; i < BENCH_ENTRIES; i++) {
    fm_entry e;
    int rv = fm_entry_decode(c->entries[i].p, c->entries[i].len, NULL, &e);
    if (rv < 0) bench_die("decode", rv);
    b->lens[i] = ctx_len + e.signed_len;
    if (!(b->msgs[i] = malloc(b->lens[i]))) bench_die("verify setup", -ENOMEM);
    memcpy(b->msgs[i], FM_CTX_ENTRY, ctx_len); /* with its NUL */
    memcpy(b->msgs[i] + ctx_len, e.bytes, e.signed_len);
    b->sigs[i] = e.sig;
    b->pks[i] = e.bytes + 4; /* 97 01 c4 20: the author's 32 bytes follow */
    if (memcmp(b->pks[i], e.author, FM_KEY_LEN) != 0) bench_die("author offset", FM_ERR_CORRUPT);
    total += b->lens[i];
  }
  b->avg_len = total / BENCH_ENTRIES;
}

static void bare_free(bare *b) {
  for (size_t i = 0; i < BENCH_ENTRIES; i++) free(b->msgs[i]);
  free(b->msgs);
  free(b->lens);
  free(b->sigs);
  free(b->pks);
}

typedef struct rates {
  double ingest, verify; /* per second */
  double cpu;            /* CPU seconds of every thread of the process per entry ingested */
  double busy;           /* those CPU seconds over the ingest's wall seconds: cores kept busy */
  double vcpu;           /* CPU seconds per bare verification */
} rates;

/* CPU time of every thread of this process, in seconds: with the wall
 * time it says how many cores an ingest kept busy, a figure that a
 * machine shared with other work changes far less than the rates. */
static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Ingests the corpus into a fresh store in batches of BATCH, in runs of
 * |run| entries (a multiple of BATCH).  Before each run the same entries'
 * signatures are verified bare: the two measurements alternate every few
 * tenths of a second, so a machine whose load changes during the run
 * (other builds, frequency scaling) weighs on both alike.  |ahead|: each
 * run is handed to the checkers before its first batch, as a bundle
 * import does, and let go after its last (inside the ingest timing). */
static rates time_ingest(const bench_corpus *c, const bare *b, const char *dir, int nosync,
                         fm_vpool *pool, size_t run, int ahead) {
  fm_store *s = bench_fresh_store(c, dir, nosync);
  if (pool) {
    fm_verifier v = fm_vpool_verifier(pool);
    fm_store_set_verifier(s, &v);
  }
  size_t accepted = 0;
  double t_ingest = 0, t_verify = 0, c_ingest = 0, c_verify = 0;
  int bad = 0, rv;
  for (size_t i = 0; i < BENCH_ENTRIES; i += run) {
    double t0 = bench_now(), c0 = cpu_now();
    for (size_t k = i; k < i + run; k++)
      bad += crypto_sign_verify_detached(b->sigs[k], b->msgs[k], b->lens[k], b->pks[k]) != 0;
    double t1 = bench_now(), c1 = cpu_now();
    c_verify += c1 - c0;
    if (ahead && (rv = fm_store_verify_ahead(s, c->entries + i, run)) < 0)
      bench_die("verify ahead", rv);
    for (size_t j = i; j < i + run; j += BATCH) {
      fm_ingest_result res;
      if ((rv = fm_store_ingest(s, c->entries + j, BATCH, BENCH_NOW, &res, NULL)) < 0)
        bench_die("ingest", rv);
      if (res.accepted != BATCH) {
        fprintf(stderr, "bench_ingest: batch at %zu: %u of %d accepted (first error %s)\n",
                j, res.accepted, BATCH, fm_strerror(res.first_error));
        exit(1);
      }
      accepted += res.accepted;
    }
    /* Letting go waits for the workers: none is left checking. */
    if (ahead) (void)fm_store_verify_ahead(s, NULL, 0);
    double t2 = bench_now();
    c_ingest += cpu_now() - c1;
    t_verify += t1 - t0;
    t_ingest += t2 - t1;
  }
  if (bad) bench_die("bare verify refused a good signature", FM_ERR_BADSIG);
  fm_store_stats st;
  rv = fm_store_stats_get(s, &st);
  if (rv < 0) bench_die("stats", rv);
  if (accepted != BENCH_ENTRIES || st.entries != BENCH_ENTRIES + BENCH_AUTHORS) {
    fprintf(stderr, "bench_ingest: store holds %llu entries, expected %d\n",
            (unsigned long long)st.entries, BENCH_ENTRIES + BENCH_AUTHORS);
    exit(1);
  }
  fm_store_set_verifier(s, NULL);
  fm_store_close(s);
  rates r = {BENCH_ENTRIES / t_ingest, BENCH_ENTRIES / t_verify, c_ingest / BENCH_ENTRIES,
             c_ingest / t_ingest, c_verify / BENCH_ENTRIES};
  return r;
}

static long long file_size(const char *path) {
  struct stat sb;
  if (stat(path, &sb) != 0) bench_die(path, FM_ERR_IO);
  return (long long)sb.st_size;
}

/* The corpus |c| in a nosync store under |dir|, exported as FMBNDL3 to
 * |path3| and FMBNDL4 to |path4|: prints the sizes against the entries'
 * own bytes and the export times. */
static void bundle_sizes(const bench_corpus *c, const char *dir, const char *path3,
                         const char *path4, fm_vpool *pool) {
  fm_store *s = bench_fresh_store(c, dir, 1);
  fm_ingest_result res;
  size_t n3 = 0, n4 = 0;
  int rv;
  if (pool) {
    fm_verifier v = fm_vpool_verifier(pool);
    fm_store_set_verifier(s, &v);
  }
  for (size_t i = 0; i < BENCH_ENTRIES; i += BATCH)
    if ((rv = fm_store_ingest(s, c->entries + i, BATCH, BENCH_NOW, &res, NULL)) < 0)
      bench_die("ingest", rv);
  fm_store_set_verifier(s, NULL);
  double t0 = bench_now();
  if ((rv = fm_bundle_export_format(s, NULL, NULL, path3, BENCH_NOW, 3, 0, &n3, NULL, NULL)) < 0)
    bench_die("export FMBNDL3", rv);
  double t1 = bench_now();
  if ((rv = fm_bundle_export_format(s, NULL, NULL, path4, BENCH_NOW, 4, 0, &n4, NULL, NULL)) < 0)
    bench_die("export FMBNDL4", rv);
  double t2 = bench_now();
  fm_store_close(s);
  long long b3 = file_size(path3), b4 = file_size(path4);
  printf("bundle of the %s corpus (%zu entries, %zu bytes of entries): FMBNDL3 %lld bytes "
         "(%.3f x the entries' bytes, export %.2f s), FMBNDL4 %lld bytes (%.3f x, "
         "export %.2f s)\n",
         c->name, n4, c->used, b3, (double)b3 / (double)c->used, t1 - t0, b4,
         (double)b4 / (double)c->used, t2 - t1);
  if (n3 != n4) bench_die("the two formats hold different entries", FM_ERR_CORRUPT);
}

/* Bare verification of the first |n| messages of |b|, per second. */
static double bare_rate(const bare *b, size_t n) {
  int bad = 0;
  double t0 = bench_now();
  for (size_t k = 0; k < n; k++)
    bad += crypto_sign_verify_detached(b->sigs[k], b->msgs[k], b->lens[k], b->pks[k]) != 0;
  if (bad) bench_die("bare verify refused a good signature", FM_ERR_BADSIG);
  return (double)n / (bench_now() - t0);
}

/* Reads the FMBNDL4 bundle at |path| and imports it into a fresh durable
 * store in |dir|, the checkers working ahead as in `fieldmesh bundle
 * import`; prints the rates against bare verification on one core,
 * measured on 20,000 messages just before and just after (the import is
 * one piece: it cannot alternate with the bare checks). */
static void bundle_import(const bench_corpus *c, const bare *bv, const char *path,
                          const char *dir, fm_vpool *pool) {
  fm_store *s = bench_fresh_store(c, dir, 0);
  fm_ingest_result res;
  fm_bundle b;
  int rv;
  double before = bare_rate(bv, 20000);
  if (pool) {
    fm_verifier v = fm_vpool_verifier(pool);
    fm_store_set_verifier(s, &v);
  }
  double t0 = bench_now();
  if ((rv = fm_bundle_read(path, &b)) < 0) bench_die("read bundle", rv);
  double t1 = bench_now();
  if ((rv = fm_bundle_import(s, &b, BENCH_NOW, &res)) < 0) bench_die("import bundle", rv);
  double t2 = bench_now();
  if (res.accepted != BENCH_ENTRIES) {
    fprintf(stderr, "bench_ingest: bundle import accepted %u of %d (first error %s)\n",
            res.accepted, BENCH_ENTRIES, fm_strerror(res.first_error));
    exit(1);
  }
  fm_bundle_free(&b);
  fm_store_set_verifier(s, NULL);
  fm_store_close(s);
  double after = bare_rate(bv, 20000), verify = (before + after) / 2;
  printf("bundle import, FMBNDL4, durable, checked ahead on every core: read and unpack "
         "%.2f s, import %.0f entries/s, %.2f x bare single-core verify (%.0f /s before, "
         "%.0f /s after); %.0f entries/s with the reading\n",
         t1 - t0, BENCH_ENTRIES / (t2 - t1), BENCH_ENTRIES / (t2 - t1) / verify, before, after,
         BENCH_ENTRIES / (t2 - t0));
}

/* The temporary folder, removed at exit on every path (bench_die() included).
 * This program's one piece of global state, as in a daemon's main.c. */
static char base[64] = "/tmp/fm-bench-ingest-XXXXXX";
static char dirs[7][96], files[4][96];
static const char *const dir_names[7] = {"durable", "nosync", "pooled", "pooled-nosync",
                                         "ahead", "bundle-src", "bundle-dst"};
static const char *const file_names[4] = {"fixed.3.bundle", "fixed.4.bundle",
                                          "real.3.bundle", "real.4.bundle"};
enum { D_DURABLE, D_NOSYNC, D_POOLED, D_POOLED_NS, D_AHEAD, D_SRC, D_DST };

static void cleanup(void) {
  for (int i = 0; i < 7; i++) fm_store_remove_dir(dirs[i]);
  for (int i = 0; i < 4; i++) unlink(files[i]);
  if (rmdir(base) != 0) fprintf(stderr, "bench_ingest: could not remove %s\n", base);
}

/* A fresh, empty folder for each store (bench_fresh_store wants one). */
static void remake(int d) {
  fm_store_remove_dir(dirs[d]);
  if (mkdir(dirs[d], 0700) != 0) {
    perror("bench_ingest: mkdir");
    exit(1);
  }
}

int main(void) {
  static bench_corpus c, real;
  if (sodium_init() < 0) return 1;
  if (!mkdtemp(base)) {
    perror("bench_ingest: mkdtemp");
    return 1;
  }
  for (int i = 0; i < 7; i++) snprintf(dirs[i], sizeof dirs[i], "%s/%s", base, dir_names[i]);
  for (int i = 0; i < 4; i++) snprintf(files[i], sizeof files[i], "%s/%s", base, file_names[i]);
  atexit(cleanup);
  for (int i = 0; i < 7; i++) remake(i);

  double tb = bench_now();
  bench_corpus_build(&c);
  printf("corpus: %d entries from %d authors, %.0f bytes each on average "
         "(built in %.1f s, not timed)\n",
         BENCH_ENTRIES, BENCH_AUTHORS, (double)c.used / BENCH_ENTRIES, bench_now() - tb);

  bare b;
  bare_prepare(&c, &b);
  rates durable_r = time_ingest(&c, &b, dirs[D_DURABLE], 0, NULL, BATCH, 0);
  rates nosync_r = time_ingest(&c, &b, dirs[D_NOSYNC], 1, NULL, BATCH, 0);
  fm_vpool pool;
  unsigned cores = fm_vpool_cores();
  memset(&pool, 0, sizeof pool);
  if (cores > 1 && fm_vpool_start(&pool, cores - 1) < 0) bench_die("verify pool", -ENOMEM);
  fm_vpool *pp = cores > 1 ? &pool : NULL;
  rates pooled_r = time_ingest(&c, &b, dirs[D_POOLED], 0, pp, BATCH, 0);
  rates pooled_ns_r = time_ingest(&c, &b, dirs[D_POOLED_NS], 1, pp, BATCH, 0);
  rates ahead_r = time_ingest(&c, &b, dirs[D_AHEAD], 0, pp, AHEAD_RUN, 1);

  printf("bare verify (crypto_sign_verify_detached, %zu-byte messages): %.0f /s "
         "(%.0f /s during the nosync run)\n",
         b.avg_len, durable_r.verify, nosync_r.verify);
  printf("ingest, durable commits, batches of %d:  %.0f entries/s\n", BATCH, durable_r.ingest);
  printf("ingest, nosync, batches of %d:           %.0f entries/s\n", BATCH, nosync_r.ingest);
  printf("ingest/verify ratio: %.2f (bar: >= 0.70)\n", durable_r.ingest / durable_r.verify);
  printf("ingest/verify ratio, nosync: %.2f\n", nosync_r.ingest / nosync_r.verify);
  printf("ingest, durable, checked on %u cores (%u workers + the writer) batch by batch, as "
         "a session: %.0f entries/s (bare verify %.0f /s during that run)\n",
         cores, cores - 1, pooled_r.ingest, pooled_r.verify);
  printf("ingest with the pool, batch by batch / bare single-core verify: %.2f (bar: >= 1.5)\n",
         pooled_r.ingest / pooled_r.verify);
  printf("ingest, durable, checked on %u cores ahead of the writer, as a bundle import: "
         "%.0f entries/s (bare verify %.0f /s during that run)\n",
         cores, ahead_r.ingest, ahead_r.verify);
  printf("ingest with the pool, ahead / bare single-core verify: %.2f (bar: >= 1.5)\n",
         ahead_r.ingest / ahead_r.verify);
  printf("ingest, nosync, checked on %u cores batch by batch: %.0f entries/s, %.2f x bare "
         "verify (%.0f /s): what the commits' flushes leave\n",
         cores, pooled_ns_r.ingest, pooled_ns_r.ingest / pooled_ns_r.verify, pooled_ns_r.verify);
  printf("CPU per entry ingested (all threads) and cores kept busy: inline durable %.1f us "
         "(%.2f), pool batch by batch %.1f us (%.2f), pool ahead %.1f us (%.2f), pool nosync "
         "%.1f us (%.2f); bare verify %.1f us of CPU\n",
         durable_r.cpu * 1e6, durable_r.busy, pooled_r.cpu * 1e6, pooled_r.busy,
         ahead_r.cpu * 1e6, ahead_r.busy, pooled_ns_r.cpu * 1e6, pooled_ns_r.busy,
         durable_r.vcpu * 1e6);

  tb = bench_now();
  bench_corpus_build_real(&real);
  printf("realistic corpus: %d entries, %.0f bytes each on average (built in %.1f s)\n",
         BENCH_ENTRIES, (double)real.used / BENCH_ENTRIES, bench_now() - tb);
  bundle_sizes(&c, dirs[D_SRC], files[0], files[1], pp);
  remake(D_SRC);
  bundle_sizes(&real, dirs[D_SRC], files[2], files[3], pp);
  bundle_import(&c, &b, files[1], dirs[D_DST], pp);
  fm_vpool_stop(&pool);
  bare_free(&b);

  free(c.arena);
  free(real.arena);
  for (int a = 0; a < BENCH_AUTHORS; a++) {
    fm_identity_wipe(&c.members[a]);
    fm_identity_wipe(&real.members[a]);
  }
  fm_identity_wipe(&c.authority);
  fm_identity_wipe(&real.authority);
  return 0;
}
