/* The deterministic commune every fuzz target and the corpus generator
 * work in.  See fuzz.h. */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "fieldmesh/dirs.h"
#include "fieldmesh/enroll.h"
#include "fieldmesh/error.h"
#include "fieldmesh/msg.h"
#include "fieldmesh/noise.h"
#include "fieldmesh/record.h"

_Noreturn void fz_fail(const char *file, int line, const char *what) {
  fprintf(stderr, "%s:%d: fuzz property broken: %s\n", file, line, what);
  abort();
}

static void ident(fm_identity *id, uint8_t n) {
  uint8_t seed[32];
  memset(seed, n, sizeof seed);
  FZ_CHECK(fm_identity_from_seed(id, seed) == 0, "fixture identity");
}

void fz_entry(fm_buf *out, const fm_identity *id, uint64_t seq,
              const uint8_t *prev_bytes, size_t prev_len, fm_time t,
              const char *kind, const fm_buf *body) {
  uint8_t prev[FM_ID_LEN];
  if (prev_bytes) fm_entry_id(prev_bytes, prev_len, prev);
  int rv = fm_entry_build(out, id, seq, prev_bytes ? prev : NULL,
                          fm_hlc_make((uint64_t)t, 0), kind, body->p, body->len);
  FZ_CHECK(rv == 0, "fixture entry does not build");
}

static uint8_t *dup_buf(const fm_buf *b, size_t *len) {
  uint8_t *p = malloc(b->len);
  FZ_CHECK(p != NULL, "out of memory");
  memcpy(p, b->p, b->len);
  *len = b->len;
  return p;
}

static void enroll(fm_buf *e, fm_buf *body, const fm_identity *auth, uint64_t seq,
                   const uint8_t *prev, size_t prev_len, const fm_identity *dev,
                   const char *name, const char *team, fm_role role) {
  fm_enrollment en;
  memset(&en, 0, sizeof en);
  memcpy(en.device, dev->pk, FM_KEY_LEN);
  snprintf(en.name, sizeof en.name, "%s", name);
  snprintf(en.team, sizeof en.team, "%s", team);
  snprintf(en.commune, sizeof en.commune, "%s", FZ_COMMUNE);
  en.role = role;
  en.nvillages = 2;
  strcpy(en.villages[0], "Nghĩa Tân");
  strcpy(en.villages[1], "Vinh Quang");
  fm_buf_reset(body);
  FZ_CHECK(fm_enroll_body(body, &en) == 0, "fixture enroll body");
  fz_entry(e, auth, seq, prev, prev_len, FZ_T0, FM_KIND_ENROLL, body);
}

static void make_world(fz_world *w) {
  static const char *const names[FZ_DEVS] = {"", "", "Lò Thị Mai", "Vàng A Dính",
                                             "Nguyễn Văn An", "Cổng xã"};
  static const fm_role roles[FZ_DEVS] = {0, 0, FM_ROLE_MEMBER, FM_ROLE_LEADER,
                                         FM_ROLE_MEMBER, FM_ROLE_GATEWAY};
  fm_buf e, body;
  memset(w, 0, sizeof *w);
  ident(&w->auth, 1);
  ident(&w->other_auth, 99);
  for (int i = 2; i < FZ_DEVS; i++) ident(&w->dev[i], (uint8_t)(10 + i));
  fm_buf_init(&e, FM_ENTRY_MAX);
  fm_buf_init(&body, FM_ENTRY_MAX);
  for (int i = 2; i < FZ_DEVS; i++) {
    enroll(&e, &body, &w->auth, (uint64_t)(i - 1), i > 2 ? w->cert[i - 1] : NULL,
           i > 2 ? w->cert_len[i - 1] : 0, &w->dev[i], names[i],
           i % 2 ? "Team 2" : "Team 1", roles[i]);
    w->cert[i] = dup_buf(&e, &w->cert_len[i]);
  }
  enroll(&e, &body, &w->other_auth, 1, NULL, 0, &w->dev[3], "Vàng A Dính",
         "Team 2", FM_ROLE_MEMBER);
  w->foreign_cert = dup_buf(&e, &w->foreign_cert_len);

  /* Device 2's log: a visit, a dossier and a status change. */
  fm_visit_in v = {"V-FZ0001", "Team 1", "Nghĩa Tân", "thôn 3", "2023-11-14",
                   "hai hộ vắng nhà", FM_MODE_HOME, 5, 3};
  fm_buf_reset(&body);
  FZ_CHECK(fm_visit_body(&body, &v) == 0, "fixture visit body");
  fz_entry(&e, &w->dev[2], 1, NULL, 0, FZ_T0 + 1, FM_KIND_VISIT, &body);
  w->own[0] = dup_buf(&e, &w->own_len[0]);
  fm_dossier_in d = {"D-FZ0001", "khai_sinh", "Lò Văn Pó", "001203004567",
                     "0912345678", "Vinh Quang", "Team 1", "mobile", "",
                     "giấy chứng sinh bản chính", NULL};
  fm_buf_reset(&body);
  FZ_CHECK(fm_dossier_body(&body, &d) == 0, "fixture dossier body");
  fz_entry(&e, &w->dev[2], 2, w->own[0], w->own_len[0], FZ_T0 + 2,
           FM_KIND_DOSSIER, &body);
  w->own[1] = dup_buf(&e, &w->own_len[1]);
  fm_buf_reset(&body);
  FZ_CHECK(fm_dossier_status_body(&body, "D-FZ0001", FM_ST_SUBMITTED,
                                  "000.00.12.H10-231114-0001", "nộp qua cổng") == 0,
           "fixture status body");
  fz_entry(&e, &w->dev[2], 3, w->own[1], w->own_len[1], FZ_T0 + 3,
           FM_KIND_DOSSIER_STATUS, &body);
  w->own[2] = dup_buf(&e, &w->own_len[2]);
  fm_buf_free(&e);
  fm_buf_free(&body);
}

/* One per process: the targets need it on every input, and making it
 * costs a dozen signatures. */
const fz_world *fz_world_get(void) {
  static fz_world w;
  static int made;
  if (!made) {
    FZ_CHECK(sodium_init() >= 0, "libsodium does not start");
    make_world(&w);
    made = 1;
  }
  return &w;
}

fm_store *fz_store_new(int self) {
  const fz_world *w = fz_world_get();
  char dir[64];
  fm_store_opts o;
  fm_store *s;
  memset(&o, 0, sizeof o);
  o.nosync = 1;
  o.map_size = (size_t)16 << 20;
  snprintf(dir, sizeof dir, "%s/fm-fuzz-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  FZ_CHECK(mkdtemp(dir) != NULL, "cannot make a store folder");
  FZ_CHECK(fm_store_open(dir, &o, &s) == 0, "cannot open the fixture store");
  /* LMDB holds both files open from here on: unlinking them now leaves
   * nothing behind whatever way the process ends. */
  fm_store_remove_dir(dir);
  FZ_CHECK(fm_store_set_authority(s, w->auth.pk, FZ_COMMUNE) == 0, "set authority");
  FZ_CHECK(fm_store_set_self(s, w->dev[self].pk) == 0, "set self");
  for (int i = 2; i < FZ_DEVS; i++)
    FZ_CHECK(fm_store_add_cert(s, w->cert[i], w->cert_len[i], FZ_T0, NULL) == 0,
             "install certificate");
  if (self == 2) {
    fm_slice sl[FZ_OWN_ENTRIES];
    fm_ingest_result r;
    for (int i = 0; i < FZ_OWN_ENTRIES; i++) sl[i] = (fm_slice){w->own[i], w->own_len[i]};
    FZ_CHECK(fm_store_ingest(s, sl, FZ_OWN_ENTRIES, FZ_T0 + 10, &r, NULL) == 0 &&
                 r.accepted == FZ_OWN_ENTRIES,
             "ingest own log");
  }
  return s;
}

/* ---- sessions ------------------------------------------------------------- */

void fz_rng_fill(void *ctx, uint8_t *out, size_t len) {
  fz_rng *r = ctx;
  for (size_t i = 0; i < len; i++) {
    r->state = r->state * 6364136223846793005ULL + 1442695040888963407ULL;
    out[i] = (uint8_t)(r->state >> 56);
  }
}

/* ctx is non-NULL for a node that holds nothing. */
static int mem_vector(void *ctx, fm_vector *out) {
  const fz_world *w = fz_world_get();
  if (ctx) {
    /* What fm_store_vector gives for an empty store. */
    out->n = 0;
    out->items = NULL;
    return 0;
  }
  out->items = calloc(1, sizeof *out->items);
  if (!out->items) return FM_ERR_IO;
  out->n = 1;
  memcpy(out->items[0].author, w->dev[2].pk, FM_KEY_LEN);
  out->items[0].seq = FZ_OWN_ENTRIES;
  fm_entry_id(w->own[FZ_OWN_ENTRIES - 1], w->own_len[FZ_OWN_ENTRIES - 1],
              out->items[0].head);
  return 0;
}

static int mem_read_after(void *ctx, const uint8_t author[FM_KEY_LEN], uint64_t after,
                          size_t max_bytes, fm_entry_cb cb, void *cbctx) {
  const fz_world *w = fz_world_get();
  size_t passed = 0;
  if (ctx || memcmp(author, w->dev[2].pk, FM_KEY_LEN) != 0) return 0;
  for (uint64_t seq = after + 1; seq <= FZ_OWN_ENTRIES; seq++) {
    if (max_bytes && passed >= max_bytes) break;
    int rv = cb(cbctx, w->own[seq - 1], w->own_len[seq - 1]);
    if (rv) return rv;
    passed += w->own_len[seq - 1];
  }
  return 0;
}

/* The admission rule of fm_node_admit, without a store. */
static int mem_admit(void *ctx, const uint8_t node_id[FM_KEY_LEN], const uint8_t *cert,
                     size_t cert_len, fm_enrollment *who) {
  const fz_world *w = fz_world_get();
  fm_entry e;
  fm_enrollment en;
  if (fm_entry_decode(cert, cert_len, NULL, &e) < 0 || fm_entry_verify(&e) < 0)
    return FM_ERR_AUTH;
  if (memcmp(e.author, w->auth.pk, FM_KEY_LEN) != 0) return FM_ERR_MESH;
  if (fm_enroll_parse(&e, &en) < 0 || memcmp(en.device, node_id, FM_KEY_LEN) != 0)
    return FM_ERR_AUTH;
  if (!fm_enroll_valid_at(&en, FZ_T0)) return FM_ERR_EXPIRED;
  *who = en;
  return 0;
}

static int mem_ingest(void *ctx, const fm_slice *entries, size_t n, fm_ingest_result *res,
                      fm_ingest_outcome *out) {
  memset(res, 0, sizeof *res);
  for (size_t i = 0; i < n; i++) {
    fm_entry e;
    int rv = fm_entry_decode(entries[i].p, entries[i].len, NULL, &e);
    if (rv == 0) rv = fm_entry_verify(&e);
    out[i].outcome = rv < 0 ? FM_IN_REFUSED : FM_IN_ACCEPTED;
    out[i].code = rv < 0 ? rv : 0;
    if (rv < 0) {
      res->refused++;
      res->invalid++;
      if (!res->first_error) res->first_error = rv;
    } else {
      res->accepted++;
    }
  }
  return 0;
}

static int mem_cert_of(void *ctx, const uint8_t author[FM_KEY_LEN], fm_buf *out) {
  const fz_world *w = fz_world_get();
  for (int i = 2; i < FZ_DEVS; i++)
    if (memcmp(author, w->dev[i].pk, FM_KEY_LEN) == 0)
      return fm_buf_put(out, w->cert[i], w->cert_len[i]);
  return FM_ERR_NOTFOUND;
}

static int mem_learn_cert(void *ctx, const uint8_t *cert, size_t len) {
  fm_entry e;
  int rv = fm_entry_decode(cert, len, NULL, &e);
  return rv < 0 ? rv : fm_entry_verify(&e);
}

fm_session_io fz_mem_io(int empty) {
  static int nothing;
  fm_session_io io = {.ctx = empty ? &nothing : NULL,
                      .vector = mem_vector,
                      .read_after = mem_read_after,
                      .admit = mem_admit,
                      .ingest = mem_ingest,
                      .cert_of = mem_cert_of,
                      .learn_cert = mem_learn_cert};
  return io;
}

fm_session *fz_responder(const fm_session_io *io, fz_rng *rng, fm_time now) {
  const fz_world *w = fz_world_get();
  fm_session_cfg cfg;
  fm_session *s;
  memset(&cfg, 0, sizeof cfg);
  cfg.initiator = 0;
  cfg.id = &w->dev[2];
  cfg.cert = w->cert[2];
  cfg.cert_len = w->cert_len[2];
  cfg.io = *io;
  cfg.rng.fill = fz_rng_fill;
  cfg.rng.ctx = rng;
  /* A small window, so that a few entries already wait for an ACK. */
  cfg.window = 1024;
  FZ_CHECK(fm_session_new(&cfg, now, &s) == 0, "cannot make the responder");
  return s;
}

static void put_be32(uint8_t *p, size_t n) {
  p[0] = (uint8_t)(n >> 24);
  p[1] = (uint8_t)(n >> 16);
  p[2] = (uint8_t)(n >> 8);
  p[3] = (uint8_t)n;
}

/* Feeds one framed handshake message to |s|, keeping a copy in |wire|. */
static int feed(fm_session *s, const uint8_t *msg, size_t n, fm_time now, fm_buf *wire) {
  uint8_t hdr[FM_FRAME_HDR];
  put_be32(hdr, n);
  if (wire) {
    fm_buf_put(wire, hdr, sizeof hdr);
    fm_buf_put(wire, msg, n);
  }
  int rv = fm_session_recv(s, hdr, sizeof hdr, now);
  return rv < 0 ? rv : fm_session_recv(s, msg, n, now);
}

int fz_handshake(fz_initiator *in, fm_session *s, fm_time now, fm_buf *wire) {
  const fz_world *w = fz_world_get();
  static uint8_t buf[FM_FRAME_HDR + FM_FRAME_MAX];
  uint8_t x_sk[32], e_sk[32], payload[64];
  size_t n, pn;
  ssize_t got;
  int rv;
  FZ_CHECK(fm_noise_static_from_ed25519(w->dev[4].sk, x_sk) == 0, "static key");
  memset(e_sk, FZ_HS_INIT_EPHEMERAL, sizeof e_sk);
  rv = fm_noise_hs_init(&in->hs, 1, (const uint8_t *)FM_PROLOGUE, strlen(FM_PROLOGUE),
                        x_sk, e_sk);
  if (rv == 0) rv = fm_noise_hs_write(&in->hs, NULL, 0, buf, sizeof buf, &n);
  if (rv == 0) rv = feed(s, buf, n, now, wire);
  if (rv < 0) return rv;
  got = fm_session_send(s, buf, sizeof buf, now);
  if (got <= FM_FRAME_HDR) return FM_ERR_HANDSHAKE;
  rv = fm_noise_hs_read(&in->hs, buf + FM_FRAME_HDR, (size_t)got - FM_FRAME_HDR,
                        payload, sizeof payload, &pn);
  if (rv == 0) rv = fm_noise_hs_write(&in->hs, NULL, 0, buf, sizeof buf, &n);
  if (rv == 0) rv = feed(s, buf, n, now, wire);
  if (rv == 0) rv = fm_noise_hs_split(&in->hs, &in->tx, &in->rx);
  sodium_memzero(x_sk, sizeof x_sk);
  return rv;
}

int fz_seal_frame(fz_initiator *in, const uint8_t *msg, size_t len, fm_buf *out) {
  static uint8_t ct[FM_FRAME_MAX];
  uint8_t hdr[FM_FRAME_HDR];
  size_t n;
  int rv = fm_noise_cs_encrypt(&in->tx, NULL, 0, msg, len, ct, sizeof ct, &n);
  if (rv < 0) return rv;
  put_be32(hdr, n);
  fm_buf_put(out, hdr, sizeof hdr);
  fm_buf_put(out, ct, n);
  return fm_buf_error(out);
}

void fz_hello(fm_buf *out, const uint8_t vdigest[32]) {
  const fz_world *w = fz_world_get();
  fm_wr wr;
  fm_wr_init(&wr, out);
  fm_msg_hello(&wr, w->dev[4].pk, w->cert[4], w->cert_len[4], 0, vdigest);
}
