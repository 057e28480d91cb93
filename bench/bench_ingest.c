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
 *     signature checkers (store/vpool.c) as [node] verify_threads sets them by
 *     default: one worker fewer than the cores, beside the writing thread.
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

#include "fieldmesh/dirs.h"
#include "fieldmesh/enroll.h"
#include "fieldmesh/error.h"
#include "fieldmesh/record.h"
#include "fieldmesh/store.h"

#include "corpus.h"
#include "fieldmesh/vpool.h"

#define BATCH 1000

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
} rates;

/* Ingests the corpus into a fresh store in batches.  Before each batch
 * the same entries' signatures are verified bare: the two measurements
 * alternate every few tenths of a second, so a machine whose load changes
 * during the run (other builds, frequency scaling) weighs on both alike. */
static rates time_ingest(const bench_corpus *c, const bare *b, const char *dir, int nosync,
                         fm_vpool *pool) {
  fm_store *s = bench_fresh_store(c, dir, nosync);
  if (pool) {
    fm_verifier v = fm_vpool_verifier(pool);
    fm_store_set_verifier(s, &v);
  }
  size_t accepted = 0;
  double t_ingest = 0, t_verify = 0;
  int bad = 0;
  for (size_t i = 0; i < BENCH_ENTRIES; i += BATCH) {
    fm_ingest_result res;
    double t0 = bench_now();
    for (size_t k = i; k < i + BATCH; k++)
      bad += crypto_sign_verify_detached(b->sigs[k], b->msgs[k], b->lens[k], b->pks[k]) != 0;
    double t1 = bench_now();
    int rv = fm_store_ingest(s, c->entries + i, BATCH, BENCH_NOW, &res, NULL);
    double t2 = bench_now();
    if (rv < 0) bench_die("ingest", rv);
    if (res.accepted != BATCH) {
      fprintf(stderr, "bench_ingest: batch at %zu: %u of %d accepted (first error %s)\n",
              i, res.accepted, BATCH, fm_strerror(res.first_error));
      exit(1);
    }
    t_verify += t1 - t0;
    t_ingest += t2 - t1;
    accepted += res.accepted;
  }
  if (bad) bench_die("bare verify refused a good signature", FM_ERR_BADSIG);
  fm_store_stats st;
  int rv = fm_store_stats_get(s, &st);
  if (rv < 0) bench_die("stats", rv);
  if (accepted != BENCH_ENTRIES || st.entries != BENCH_ENTRIES + BENCH_AUTHORS) {
    fprintf(stderr, "bench_ingest: store holds %llu entries, expected %d\n",
            (unsigned long long)st.entries, BENCH_ENTRIES + BENCH_AUTHORS);
    exit(1);
  }
  fm_store_close(s);
  rates r = {BENCH_ENTRIES / t_ingest, BENCH_ENTRIES / t_verify};
  return r;
}

/* The temporary folder, removed at exit on every path (bench_die() included).
 * This program's one piece of global state, as in a daemon's main.c. */
static char base[64] = "/tmp/fm-bench-ingest-XXXXXX", durable[96], nosync[96], pooled[96],
            pooled_ns[96];

static void cleanup(void) {
  fm_store_remove_dir(durable);
  fm_store_remove_dir(nosync);
  fm_store_remove_dir(pooled);
  fm_store_remove_dir(pooled_ns);
  if (rmdir(base) != 0) fprintf(stderr, "bench_ingest: could not remove %s\n", base);
}

int main(void) {
  static bench_corpus c;
  if (sodium_init() < 0) return 1;
  if (!mkdtemp(base)) {
    perror("bench_ingest: mkdtemp");
    return 1;
  }
  atexit(cleanup);
  snprintf(durable, sizeof durable, "%s/durable", base);
  snprintf(nosync, sizeof nosync, "%s/nosync", base);
  snprintf(pooled, sizeof pooled, "%s/pooled", base);
  snprintf(pooled_ns, sizeof pooled_ns, "%s/pooled-nosync", base);
  if (mkdir(durable, 0700) != 0 || mkdir(nosync, 0700) != 0 || mkdir(pooled, 0700) != 0 ||
      mkdir(pooled_ns, 0700) != 0) {
    perror("bench_ingest: mkdir");
    return 1;
  }

  double tb = bench_now();
  bench_corpus_build(&c);
  printf("corpus: %d entries from %d authors, %.0f bytes each on average "
         "(built in %.1f s, not timed)\n",
         BENCH_ENTRIES, BENCH_AUTHORS, (double)c.used / BENCH_ENTRIES, bench_now() - tb);

  bare b;
  bare_prepare(&c, &b);
  rates durable_r = time_ingest(&c, &b, durable, 0, NULL);
  rates nosync_r = time_ingest(&c, &b, nosync, 1, NULL);
  fm_vpool pool;
  unsigned cores = fm_vpool_cores();
  memset(&pool, 0, sizeof pool);
  if (cores > 1 && fm_vpool_start(&pool, cores - 1) < 0) bench_die("verify pool", -ENOMEM);
  rates pooled_r = time_ingest(&c, &b, pooled, 0, cores > 1 ? &pool : NULL);
  rates pooled_ns_r = time_ingest(&c, &b, pooled_ns, 1, cores > 1 ? &pool : NULL);
  fm_vpool_stop(&pool);

  printf("bare verify (crypto_sign_verify_detached, %zu-byte messages): %.0f /s "
         "(%.0f /s during the nosync run)\n",
         b.avg_len, durable_r.verify, nosync_r.verify);
  printf("ingest, durable commits, batches of %d:  %.0f entries/s\n", BATCH, durable_r.ingest);
  printf("ingest, nosync, batches of %d:           %.0f entries/s\n", BATCH, nosync_r.ingest);
  printf("ingest/verify ratio: %.2f (bar: >= 0.70)\n", durable_r.ingest / durable_r.verify);
  printf("ingest/verify ratio, nosync: %.2f\n", nosync_r.ingest / nosync_r.verify);
  printf("ingest, durable, checked on %u cores (%u workers + the writer): %.0f entries/s "
         "(bare verify %.0f /s during that run)\n",
         cores, cores - 1, pooled_r.ingest, pooled_r.verify);
  printf("ingest with the pool / bare single-core verify: %.2f (bar: >= 1.5)\n",
         pooled_r.ingest / pooled_r.verify);
  printf("ingest, nosync, checked on %u cores: %.0f entries/s, %.2f x bare verify (%.0f /s): "
         "what the commits' flushes leave\n",
         cores, pooled_ns_r.ingest, pooled_ns_r.ingest / pooled_ns_r.verify, pooled_ns_r.verify);

  bare_free(&b);
  free(c.arena);
  for (int a = 0; a < BENCH_AUTHORS; a++) fm_identity_wipe(&c.members[a]);
  fm_identity_wipe(&c.authority);
  return 0;
}
