/* Ingest benchmark (DESIGN.md section 13): validate + store received
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
 *     comparison.
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

#include "fieldmesh/enroll.h"
#include "fieldmesh/error.h"
#include "fieldmesh/record.h"
#include "fieldmesh/store.h"

#define AUTHORS 20
#define PER_AUTHOR 5000
#define ENTRIES (AUTHORS * PER_AUTHOR)
#define BATCH 1000
#define ENTRY_TARGET 500           /* bytes per entry, roughly */
#define MAP_SIZE ((size_t)1 << 30) /* so the timed run does not measure map growth */
#define T0 1700000000000LL         /* fixed field time: 2023-11-14 */
#define NOW (T0 + 7LL * 24 * 3600 * 1000)

/* The corpus: entries back to back in one arena, in the order a peer would
 * send them (per author in seq order, authors interleaved). */
typedef struct corpus {
  fm_identity authority, members[AUTHORS];
  uint8_t *arena;
  size_t used, cap;
  fm_slice entries[ENTRIES];
} corpus;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, int rv) {
  fprintf(stderr, "bench_ingest: %s: %s (%d)\n", what, fm_strerror(rv), rv);
  exit(1);
}

static void ident(fm_identity *id, uint8_t tag, uint8_t n) {
  uint8_t seed[32];
  memset(seed, n, sizeof seed);
  seed[0] = tag;
  if (fm_identity_from_seed(id, seed) != 0) die("identity", FM_ERR_INVAL);
}

/* A visit body whose note is padded to |note_len| bytes. */
static void visit_body(fm_buf *b, const fm_identity *author, int a, uint64_t seq,
                       size_t note_len) {
  static const char words[] =
      "Huong dan cong dan tao tai khoan dich vu cong, kich hoat VNeID muc 2, "
      "nop ho so truc tuyen va thanh toan le phi. ";
  char id[20], note[512], date[16];
  uint8_t rnd[2] = {(uint8_t)seq, (uint8_t)(seq >> 8)};
  fm_visit_in v;
  if (note_len >= sizeof note) note_len = sizeof note - 1;
  for (size_t i = 0; i < note_len; i++) note[i] = words[i % (sizeof words - 1)];
  note[note_len] = 0;
  fm_record_id('V', (uint64_t)T0 + seq * 60000, author->pk, rnd, id);
  snprintf(date, sizeof date, "2023-11-%02d", 14 + (int)(seq % 14));
  memset(&v, 0, sizeof v);
  v.id = id;
  v.team = a % 2 ? "Team 2" : "Team 1";
  v.village = a % 3 ? "Nghĩa Tân" : "Vinh Quang";
  v.place = "Nhà văn hóa thôn, điểm hỗ trợ dịch vụ công";
  v.date = date;
  v.note = note;
  v.mode = (int)(seq % FM_MODE_COUNT);
  v.services = (uint32_t)(1 + seq % 127);
  v.citizens = 1 + seq % 9;
  fm_buf_reset(b);
  int rv = fm_visit_body(b, &v);
  if (rv < 0) die("visit body", rv);
}

static void corpus_put(corpus *c, size_t at, const fm_buf *e) {
  if (c->cap - c->used < e->len) die("arena full", FM_ERR_TOOBIG);
  memcpy(c->arena + c->used, e->p, e->len);
  c->entries[at].p = c->arena + c->used;
  c->entries[at].len = e->len;
  c->used += e->len;
}

static void corpus_build(corpus *c) {
  fm_buf body, e;
  uint8_t prev[AUTHORS][FM_ID_LEN];
  memset(prev, 0, sizeof prev);
  ident(&c->authority, 0xa0, 1);
  for (int a = 0; a < AUTHORS; a++) ident(&c->members[a], 0xb0, (uint8_t)(a + 1));
  c->cap = (size_t)ENTRIES * (ENTRY_TARGET + 64);
  c->used = 0;
  if (!(c->arena = malloc(c->cap))) die("arena", -ENOMEM);
  fm_buf_init(&body, 4096);
  fm_buf_init(&e, FM_ENTRY_MAX);
  /* The note's length is tuned once so a typical entry is ENTRY_TARGET. */
  visit_body(&body, &c->members[0], 0, 1000, 0);
  size_t note_len = 0;
  int rv = fm_entry_build(&e, &c->members[0], 1000, prev[0], fm_hlc_make(T0, 0),
                          FM_KIND_VISIT, body.p, body.len);
  if (rv < 0) die("build", rv);
  /* A note of 32 to 255 bytes takes one header byte more than the empty one. */
  if (e.len + 1 + 32 < ENTRY_TARGET) note_len = ENTRY_TARGET - e.len - 1;
  for (uint64_t seq = 1; seq <= PER_AUTHOR; seq++) {
    for (int a = 0; a < AUTHORS; a++) {
      fm_hlc hlc = fm_hlc_make((uint64_t)T0 + seq * 60000, (uint16_t)a);
      visit_body(&body, &c->members[a], a, seq, note_len);
      rv = fm_entry_build(&e, &c->members[a], seq, seq == 1 ? NULL : prev[a], hlc,
                          FM_KIND_VISIT, body.p, body.len);
      if (rv < 0) die("build", rv);
      fm_entry_id(e.p, e.len, prev[a]);
      corpus_put(c, (size_t)(seq - 1) * AUTHORS + (size_t)a, &e);
    }
  }
  fm_buf_free(&body);
  fm_buf_free(&e);
}

/* Opens a fresh store in |dir| that knows the authority and has enrolled
 * every member (through the authority's own log, as on the gateway). */
static fm_store *fresh_store(const corpus *c, const char *dir, int nosync) {
  fm_store_opts o;
  fm_store *s;
  fm_buf b;
  int rv;
  memset(&o, 0, sizeof o);
  o.map_size = MAP_SIZE;
  o.nosync = nosync;
  if ((rv = fm_store_open(dir, &o, &s)) < 0) die(dir, rv);
  if ((rv = fm_store_set_authority(s, c->authority.pk, "Tân Quang")) < 0)
    die("set authority", rv);
  fm_buf_init(&b, 4096);
  for (int a = 0; a < AUTHORS; a++) {
    fm_enrollment en;
    memset(&en, 0, sizeof en);
    memcpy(en.device, c->members[a].pk, FM_KEY_LEN);
    snprintf(en.name, sizeof en.name, "Member %d", a + 1);
    strcpy(en.team, a % 2 ? "Team 2" : "Team 1");
    strcpy(en.commune, "Tân Quang");
    en.role = FM_ROLE_MEMBER;
    en.nvillages = 2;
    strcpy(en.villages[0], "Nghĩa Tân");
    strcpy(en.villages[1], "Vinh Quang");
    fm_buf_reset(&b);
    if ((rv = fm_enroll_body(&b, &en)) < 0) die("enroll body", rv);
    rv = fm_store_append(s, &c->authority, FM_KIND_ENROLL, b.p, b.len, T0, NULL, NULL);
    if (rv < 0) die("enroll", rv);
  }
  fm_buf_free(&b);
  return s;
}

/* The floor: bare libsodium verification of the very messages ingest
 * verifies (context, NUL, unsigned entry), prepared before the clock. */
typedef struct bare {
  uint8_t **msgs;
  size_t *lens;
  const uint8_t **sigs, **pks;
  size_t avg_len;
} bare;

static void bare_prepare(const corpus *c, bare *b) {
  const size_t ctx_len = strlen(FM_CTX_ENTRY) + 1;
  size_t total = 0;
  b->msgs = malloc(ENTRIES * sizeof *b->msgs);
  b->lens = malloc(ENTRIES * sizeof *b->lens);
  b->sigs = malloc(ENTRIES * sizeof *b->sigs);
  b->pks = malloc(ENTRIES * sizeof *b->pks);
  if (!b->msgs || !b->lens || !b->sigs || !b->pks) die("verify setup", -ENOMEM);
  for (size_t i = 0; i < ENTRIES; i++) {
    fm_entry e;
    int rv = fm_entry_decode(c->entries[i].p, c->entries[i].len, NULL, &e);
    if (rv < 0) die("decode", rv);
    b->lens[i] = ctx_len + e.signed_len;
    if (!(b->msgs[i] = malloc(b->lens[i]))) die("verify setup", -ENOMEM);
    memcpy(b->msgs[i], FM_CTX_ENTRY, ctx_len); /* with its NUL */
    memcpy(b->msgs[i] + ctx_len, e.bytes, e.signed_len);
    b->sigs[i] = e.sig;
    b->pks[i] = e.bytes + 4; /* 97 01 c4 20: the author's 32 bytes follow */
    if (memcmp(b->pks[i], e.author, FM_KEY_LEN) != 0) die("author offset", FM_ERR_CORRUPT);
    total += b->lens[i];
  }
  b->avg_len = total / ENTRIES;
}

static void bare_free(bare *b) {
  for (size_t i = 0; i < ENTRIES; i++) free(b->msgs[i]);
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
static rates time_ingest(const corpus *c, const bare *b, const char *dir, int nosync) {
  fm_store *s = fresh_store(c, dir, nosync);
  size_t accepted = 0;
  double t_ingest = 0, t_verify = 0;
  int bad = 0;
  for (size_t i = 0; i < ENTRIES; i += BATCH) {
    fm_ingest_result res;
    double t0 = now_s();
    for (size_t k = i; k < i + BATCH; k++)
      bad += crypto_sign_verify_detached(b->sigs[k], b->msgs[k], b->lens[k], b->pks[k]) != 0;
    double t1 = now_s();
    int rv = fm_store_ingest(s, c->entries + i, BATCH, NOW, &res, NULL);
    double t2 = now_s();
    if (rv < 0) die("ingest", rv);
    if (res.accepted != BATCH) {
      fprintf(stderr, "bench_ingest: batch at %zu: %u of %d accepted (first error %s)\n",
              i, res.accepted, BATCH, fm_strerror(res.first_error));
      exit(1);
    }
    t_verify += t1 - t0;
    t_ingest += t2 - t1;
    accepted += res.accepted;
  }
  if (bad) die("bare verify refused a good signature", FM_ERR_BADSIG);
  fm_store_stats st;
  int rv = fm_store_stats_get(s, &st);
  if (rv < 0) die("stats", rv);
  if (accepted != ENTRIES || st.entries != ENTRIES + AUTHORS) {
    fprintf(stderr, "bench_ingest: store holds %llu entries, expected %d\n",
            (unsigned long long)st.entries, ENTRIES + AUTHORS);
    exit(1);
  }
  fm_store_close(s);
  rates r = {ENTRIES / t_ingest, ENTRIES / t_verify};
  return r;
}

/* The temporary folder, removed at exit on every path (die() included).
 * This program's one piece of global state, as in a daemon's main.c. */
static char base[64] = "/tmp/fm-bench-ingest-XXXXXX", durable[96], nosync[96];

static void remove_store_dir(const char *dir) {
  char p[512];
  snprintf(p, sizeof p, "%s/data.mdb", dir);
  unlink(p);
  snprintf(p, sizeof p, "%s/lock.mdb", dir);
  unlink(p);
  rmdir(dir);
}

static void cleanup(void) {
  remove_store_dir(durable);
  remove_store_dir(nosync);
  if (rmdir(base) != 0) fprintf(stderr, "bench_ingest: could not remove %s\n", base);
}

int main(void) {
  static corpus c;
  if (sodium_init() < 0) return 1;
  if (!mkdtemp(base)) {
    perror("bench_ingest: mkdtemp");
    return 1;
  }
  atexit(cleanup);
  snprintf(durable, sizeof durable, "%s/durable", base);
  snprintf(nosync, sizeof nosync, "%s/nosync", base);
  if (mkdir(durable, 0700) != 0 || mkdir(nosync, 0700) != 0) {
    perror("bench_ingest: mkdir");
    return 1;
  }

  double tb = now_s();
  corpus_build(&c);
  printf("corpus: %d entries from %d authors, %.0f bytes each on average "
         "(built in %.1f s, not timed)\n",
         ENTRIES, AUTHORS, (double)c.used / ENTRIES, now_s() - tb);

  bare b;
  bare_prepare(&c, &b);
  rates durable_r = time_ingest(&c, &b, durable, 0);
  rates nosync_r = time_ingest(&c, &b, nosync, 1);

  printf("bare verify (crypto_sign_verify_detached, %zu-byte messages): %.0f /s "
         "(%.0f /s during the nosync run)\n",
         b.avg_len, durable_r.verify, nosync_r.verify);
  printf("ingest, durable commits, batches of %d:  %.0f entries/s\n", BATCH, durable_r.ingest);
  printf("ingest, nosync, batches of %d:           %.0f entries/s\n", BATCH, nosync_r.ingest);
  printf("ingest/verify ratio: %.2f (bar: >= 0.70)\n", durable_r.ingest / durable_r.verify);
  printf("ingest/verify ratio, nosync: %.2f\n", nosync_r.ingest / nosync_r.verify);

  bare_free(&b);
  free(c.arena);
  for (int a = 0; a < AUTHORS; a++) fm_identity_wipe(&c.members[a]);
  fm_identity_wipe(&c.authority);
  return 0;
}
