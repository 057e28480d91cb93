/* The benchmarks' corpus.  See corpus.h. */
#include "corpus.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fieldmesh/enroll.h"
#include "fieldmesh/error.h"
#include "fieldmesh/procedure.h"
#include "fieldmesh/record.h"
#include "names.h"


double bench_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void bench_die(const char *what, int rv) {
  fprintf(stderr, "fieldmesh bench: %s: %s (%d)\n", what, fm_strerror(rv), rv);
  exit(1);
}

static void ident(fm_identity *id, uint8_t tag, uint8_t n) {
  uint8_t seed[32];
  memset(seed, n, sizeof seed);
  seed[0] = tag;
  if (fm_identity_from_seed(id, seed) != 0) bench_die("identity", FM_ERR_INVAL);
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
  fm_record_id('V', (uint64_t)BENCH_T0 + seq * 60000, author->pk, rnd, id);
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
  if (rv < 0) bench_die("visit body", rv);
}

static void corpus_put(bench_corpus *c, size_t at, const fm_buf *e) {
  if (c->cap - c->used < e->len) bench_die("arena full", FM_ERR_TOOBIG);
  if (!c->name) c->name = "fixed-size";
  memcpy(c->arena + c->used, e->p, e->len);
  c->entries[at].p = c->arena + c->used;
  c->entries[at].len = e->len;
  c->used += e->len;
}

void bench_corpus_build(bench_corpus *c) {
  fm_buf body, e;
  c->name = "fixed-size";
  uint8_t prev[BENCH_AUTHORS][FM_ID_LEN];
  memset(prev, 0, sizeof prev);
  ident(&c->authority, 0xa0, 1);
  for (int a = 0; a < BENCH_AUTHORS; a++) ident(&c->members[a], 0xb0, (uint8_t)(a + 1));
  c->cap = (size_t)BENCH_ENTRIES * (BENCH_ENTRY_TARGET + 64);
  c->used = 0;
  if (!(c->arena = malloc(c->cap))) bench_die("arena", -ENOMEM);
  fm_buf_init(&body, 4096);
  fm_buf_init(&e, FM_ENTRY_MAX);
  /* The note's length is tuned once so a typical entry is BENCH_ENTRY_TARGET. */
  visit_body(&body, &c->members[0], 0, 1000, 0);
  size_t note_len = 0;
  int rv = fm_entry_build(&e, &c->members[0], 1000, prev[0], fm_hlc_make(BENCH_T0, 0),
                          FM_KIND_VISIT, body.p, body.len);
  if (rv < 0) bench_die("build", rv);
  /* A note of 32 to 255 bytes takes one header byte more than the empty one. */
  if (e.len + 1 + 32 < BENCH_ENTRY_TARGET) note_len = BENCH_ENTRY_TARGET - e.len - 1;
  for (uint64_t seq = 1; seq <= BENCH_PER_AUTHOR; seq++) {
    for (int a = 0; a < BENCH_AUTHORS; a++) {
      fm_hlc hlc = fm_hlc_make((uint64_t)BENCH_T0 + seq * 60000, (uint16_t)a);
      visit_body(&body, &c->members[a], a, seq, note_len);
      rv = fm_entry_build(&e, &c->members[a], seq, seq == 1 ? NULL : prev[a], hlc,
                          FM_KIND_VISIT, body.p, body.len);
      if (rv < 0) bench_die("build", rv);
      fm_entry_id(e.p, e.len, prev[a]);
      corpus_put(c, (size_t)(seq - 1) * BENCH_AUTHORS + (size_t)a, &e);
    }
  }
  fm_buf_free(&body);
  fm_buf_free(&e);
}

/* ---- the realistic corpus ---------------------------------------------------------- */

static const char *const villages[] = {
    "Nghĩa Tân", "Vinh Quang", "Vinh Ngọc", "Tân Tiến", "Xuân Hòa", "Tân Lâm",
    "Mỹ Tân", "Mục Lạn", "Trà Kiểm", "Miếu Bông", "Trung tâm xã", "Khu phố 3"};
#define NVILLAGES (sizeof villages / sizeof *villages)

/* splitmix64: the corpus is the same in every run. */
static uint64_t draw(uint64_t *st) {
  uint64_t z = (*st += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/* Each member's own dossiers still climbing the ladder. */
typedef struct open_dossier {
  char id[FM_RECORD_ID_MAX];
  int status;
} open_dossier;

#define OPEN_MAX 64

typedef struct member_work {
  open_dossier open[OPEN_MAX];
  int nopen;
} member_work;

static void real_visit(fm_buf *b, const bench_corpus *c, int a, uint64_t ms, uint64_t *rng) {
  char id[FM_RECORD_ID_MAX], date[16], place[200], who[64];
  uint8_t rnd[2] = {(uint8_t)draw(rng), (uint8_t)draw(rng)};
  const char *village = villages[(a + (draw(rng) % 5 == 0 ? draw(rng) : 0)) % NVILLAGES];
  int mode = (int)(draw(rng) % FM_MODE_COUNT);
  uint32_t services = 0;
  for (uint64_t k = 1 + draw(rng) % 3; k > 0; k--)
    services |= 1u << (draw(rng) % FM_SERVICE_COUNT);
  fm_record_id('V', ms, c->members[a].pk, rnd, id);
  snprintf(date, sizeof date, "2023-%02d-%02d", 1 + (int)(ms / 86400000 / 28 % 12),
           1 + (int)(ms / 86400000 % 28));
  sim_name(draw(rng) % 100000, who, sizeof who);
  if (mode == FM_MODE_HOME) snprintf(place, sizeof place, "Hộ %s", who);
  else if (mode == FM_MODE_VILLAGE_POINT) snprintf(place, sizeof place, "Nhà văn hóa %s", village);
  else snprintf(place, sizeof place, "Bộ phận một cửa xã Tân Quang");
  fm_visit_in v = {id, a % 2 ? "Team 2" : "Team 1", village, place, date, "", mode,
                   services, 1 + draw(rng) % 6};
  fm_buf_reset(b);
  if (fm_visit_body(b, &v) < 0) bench_die("visit body", FM_ERR_TOOBIG);
}

static void real_dossier(fm_buf *b, const bench_corpus *c, int a, uint64_t ms, uint64_t *rng,
                         member_work *mw) {
  char id[FM_RECORD_ID_MAX], name[64], idnum[16], phone[16], date[16];
  uint8_t rnd[2] = {(uint8_t)draw(rng), (uint8_t)draw(rng)};
  const fm_procedure *p = fm_procedure_at(draw(rng) % fm_procedure_count());
  fm_record_id('D', ms, c->members[a].pk, rnd, id);
  sim_name(draw(rng) % 100000, name, sizeof name);
  snprintf(idnum, sizeof idnum, "0%02u%09llu", (unsigned)(draw(rng) % 96),
           (unsigned long long)(draw(rng) % 1000000000));
  snprintf(phone, sizeof phone, "09%08llu", (unsigned long long)(draw(rng) % 100000000));
  snprintf(date, sizeof date, "2023-%02d-%02d", 1 + (int)(ms / 86400000 / 28 % 12),
           1 + (int)(ms / 86400000 % 28));
  fm_dossier_in d = {id, p->code, name, idnum, phone, villages[a % NVILLAGES],
                     a % 2 ? "Team 2" : "Team 1", "dichvucong.gov.vn", "", "", date};
  fm_buf_reset(b);
  if (fm_dossier_body(b, &d) < 0) bench_die("dossier body", FM_ERR_TOOBIG);
  if (mw->nopen < OPEN_MAX) {
    snprintf(mw->open[mw->nopen].id, sizeof mw->open[mw->nopen].id, "%s", id);
    mw->open[mw->nopen++].status = FM_ST_DRAFT;
  }
}

/* The next status of one of the member's open dossiers; 0 when none is
 * open (nothing written). */
static int real_status(fm_buf *b, uint64_t *rng, member_work *mw) {
  char ref[32];
  if (!mw->nopen) return 0;
  int k = (int)(draw(rng) % (uint64_t)mw->nopen);
  open_dossier *o = &mw->open[k];
  o->status = o->status == FM_ST_PROCESSING && draw(rng) % 10 == 0 ? FM_ST_REJECTED
                                                                   : o->status + 1;
  snprintf(ref, sizeof ref, "%03llu.%02u.%02u.H%02u-23%04u",
           (unsigned long long)(draw(rng) % 1000), (unsigned)(draw(rng) % 100),
           (unsigned)(draw(rng) % 100), (unsigned)(draw(rng) % 64), (unsigned)(draw(rng) % 10000));
  fm_buf_reset(b);
  if (fm_dossier_status_body(b, o->id, o->status, o->status == FM_ST_SUBMITTED ? ref : "", "") < 0)
    bench_die("status body", FM_ERR_TOOBIG);
  if (o->status == FM_ST_DELIVERED || o->status == FM_ST_REJECTED) *o = mw->open[--mw->nopen];
  return 1;
}

void bench_corpus_build_real(bench_corpus *c) {
  static member_work mw[BENCH_AUTHORS];
  fm_buf body, e;
  uint8_t prev[BENCH_AUTHORS][FM_ID_LEN];
  uint64_t rng = 0x5eed;
  memset(mw, 0, sizeof mw);
  c->name = "realistic";
  ident(&c->authority, 0xa0, 1);
  for (int a = 0; a < BENCH_AUTHORS; a++) ident(&c->members[a], 0xb0, (uint8_t)(a + 1));
  c->cap = (size_t)BENCH_ENTRIES * (BENCH_ENTRY_TARGET + 64);
  c->used = 0;
  if (!(c->arena = malloc(c->cap))) bench_die("arena", -ENOMEM);
  fm_buf_init(&body, 4096);
  fm_buf_init(&e, FM_ENTRY_MAX);
  for (uint64_t seq = 1; seq <= BENCH_PER_AUTHOR; seq++) {
    for (int a = 0; a < BENCH_AUTHORS; a++) {
      uint64_t ms = (uint64_t)BENCH_T0 + seq * 600000 + (uint64_t)a * 1000;
      const char *kind = FM_KIND_VISIT;
      uint64_t roll = draw(&rng) % 100;
      /* About half visits, a quarter new dossiers, a quarter statuses. */
      if (roll >= 75 && real_status(&body, &rng, &mw[a])) {
        kind = FM_KIND_DOSSIER_STATUS;
      } else if (roll >= 50) {
        real_dossier(&body, c, a, ms, &rng, &mw[a]);
        kind = FM_KIND_DOSSIER;
      } else {
        real_visit(&body, c, a, ms, &rng);
      }
      int rv = fm_entry_build(&e, &c->members[a], seq, seq == 1 ? NULL : prev[a],
                              fm_hlc_make(ms, 0), kind, body.p, body.len);
      if (rv < 0) bench_die("build", rv);
      fm_entry_id(e.p, e.len, prev[a]);
      corpus_put(c, (size_t)(seq - 1) * BENCH_AUTHORS + (size_t)a, &e);
    }
  }
  fm_buf_free(&body);
  fm_buf_free(&e);
}

/* Opens a fresh store in |dir| that knows the authority and has enrolled
 * every member (through the authority's own log, as on the gateway). */
fm_store *bench_fresh_store(const bench_corpus *c, const char *dir, int nosync) {
  fm_store_opts o;
  fm_store *s;
  fm_buf b;
  int rv;
  memset(&o, 0, sizeof o);
  o.map_size = BENCH_MAP_SIZE;
  o.nosync = nosync;
  if ((rv = fm_store_open(dir, &o, &s)) < 0) bench_die(dir, rv);
  if ((rv = fm_store_set_authority(s, c->authority.pk, "Tân Quang")) < 0)
    bench_die("set authority", rv);
  fm_buf_init(&b, 4096);
  for (int a = 0; a < BENCH_AUTHORS; a++) {
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
    if ((rv = fm_enroll_body(&b, &en)) < 0) bench_die("enroll body", rv);
    rv = fm_store_append(s, &c->authority, FM_KIND_ENROLL, b.p, b.len, BENCH_T0, NULL, NULL);
    if (rv < 0) bench_die("enroll", rv);
  }
  fm_buf_free(&b);
  return s;
}

