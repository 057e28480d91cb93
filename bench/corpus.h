/* What the benchmarks share: a corpus of signed entries like a commune's
 * (100,000 visits of about 500 bytes from 20 enrolled members) and a fresh
 * store that knows the authority and every member. */
#ifndef FIELDMESH_BENCH_CORPUS_H
#define FIELDMESH_BENCH_CORPUS_H

#include "fieldmesh/store.h"

#define BENCH_AUTHORS 20
#define BENCH_PER_AUTHOR 5000
#define BENCH_ENTRIES (BENCH_AUTHORS * BENCH_PER_AUTHOR)
#define BENCH_ENTRY_TARGET 500           /* bytes per entry, roughly */
#define BENCH_MAP_SIZE ((size_t)1 << 30) /* so the timed run does not measure map growth */
#define BENCH_T0 1700000000000LL         /* fixed field time: 2023-11-14 */
#define BENCH_NOW (BENCH_T0 + 7LL * 24 * 3600 * 1000)

/* The corpus: entries back to back in one arena, in the order a peer would
 * send them (per author in seq order, authors interleaved). */
typedef struct bench_corpus {
  const char *name;          /* "fixed-size" or "realistic" */
  fm_identity authority, members[BENCH_AUTHORS];
  uint8_t *arena;
  size_t used, cap;
  fm_slice entries[BENCH_ENTRIES];
} bench_corpus;

/* CLOCK_MONOTONIC in seconds. */
double bench_now(void);
/* Prints what failed and exits 1. */
void bench_die(const char *what, int rv);
/* Builds the corpus (not timed): the arena is malloc'd and kept until exit. */
void bench_corpus_build(bench_corpus *c);
/* The realistic corpus, same authors and count: what a commune's members
 * write -- visits with their services and Vietnamese places, dossiers of
 * the procedure catalogue for citizens with Vietnamese names (the
 * simulator's name pool, sim/names.c), and those dossiers' statuses --
 * in the proportions of the simulator's presets, from a fixed seed. */
void bench_corpus_build_real(bench_corpus *c);
/* A fresh store in |dir| that knows the authority and has enrolled every
 * member through the authority's own log. */
fm_store *bench_fresh_store(const bench_corpus *c, const char *dir, int nosync);

#endif
