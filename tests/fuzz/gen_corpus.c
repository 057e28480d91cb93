/* Writes the seed corpora of the fuzz targets:
 *
 *   fm-fuzz-gen tests/fuzz/corpus
 *
 * Every seed is a real, valid input made with the project's own writers
 * and the fixture's fixed keys (fuzz.h), so the same run always writes the
 * same bytes.  Seeds are named seed-*; files with other names (crashing
 * inputs kept as regressions) are left alone.  Run it again after a change
 * to a wire format, and commit what changed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zstd.h>

#include "fieldmesh/bundle.h"
#include "fieldmesh/control.h"
#include "fieldmesh/enroll.h"
#include "fieldmesh/error.h"
#include "fieldmesh/msg.h"
#include "fieldmesh/noise.h"
#include "fieldmesh/presence.h"
#include "fieldmesh/record.h"
#include "fieldmesh/seal.h"
#include "fieldmesh/store.h"
#include "fieldmesh/zpack.h"
#include "fuzz.h"

static const char *root;
static int written;

#define CHECK(cond) FZ_CHECK(cond, #cond)

static void put(const char *target, const char *name, const uint8_t *p, size_t n) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", root, target);
  if (mkdir(path, 0755) != 0 && errno != EEXIST) {
    fprintf(stderr, "fm-fuzz-gen: %s: %s\n", path, strerror(errno));
    exit(1);
  }
  snprintf(path, sizeof path, "%s/%s/seed-%s", root, target, name);
  FILE *f = fopen(path, "wb");
  if (!f || (n && fwrite(p, 1, n, f) != n) || fclose(f) != 0) {
    fprintf(stderr, "fm-fuzz-gen: %s: %s\n", path, strerror(errno));
    exit(1);
  }
  written++;
}

static void put_buf(const char *target, const char *name, const fm_buf *b) {
  put(target, name, b->p, b->len);
}

/* ---- entries --------------------------------------------------------------- */

/* Device 4's log, and a few entries of other kinds: what the entry, msg,
 * session and bundle seeds carry. */
typedef struct log {
  fm_buf e[11];
  int n;
} log_t;

/* Entries past the first 8 of the log: signed, but not for acceptance. */
#define E_FORK 8      /* a second, different seq 1 of device 4 */
#define E_STRANGER 9  /* by a device no certificate names: held */
#define E_GAP 10      /* device 4's seq 9, its seq 6 .. 8 never seen */

static void body_visit(fm_buf *b, const char *id, int mode, uint32_t services) {
  fm_visit_in v = {id, "Team 1", "Vinh Quang", "điểm bưu điện xã", "2023-11-15",
                   "", mode, services, 12};
  fm_buf_reset(b);
  CHECK(fm_visit_body(b, &v) == 0);
}

static void make_log(log_t *l) {
  const fz_world *w = fz_world_get();
  fm_buf body;
  fm_buf_init(&body, FM_ENTRY_MAX);
  for (int i = 0; i < 11; i++) fm_buf_init(&l->e[i], FM_ENTRY_MAX);
  body_visit(&body, "V-FZ0401", FM_MODE_VILLAGE_POINT, 0x41);
  fz_entry(&l->e[0], &w->dev[4], 1, NULL, 0, FZ_T0 + 100, FM_KIND_VISIT, &body);
  fm_buf_reset(&body);
  CHECK(fm_visit_void_body(&body, "V-FZ0401", "nhập trùng") == 0);
  fz_entry(&l->e[1], &w->dev[4], 2, l->e[0].p, l->e[0].len, FZ_T0 + 101,
           FM_KIND_VISIT_VOID, &body);
  /* A dossier with attachments and an unknown key, written by hand. */
  fm_wr wr;
  uint8_t att[32];
  memset(att, 0xab, sizeof att);
  fm_buf_reset(&body);
  fm_wr_init(&wr, &body);
  fm_wr_map(&wr, 6);
  fm_wr_cstr(&wr, "id");
  fm_wr_cstr(&wr, "D-FZ0402");
  fm_wr_cstr(&wr, "procedure");
  fm_wr_cstr(&wr, "dang_ky_ket_hon");
  fm_wr_cstr(&wr, "applicant");
  fm_wr_map(&wr, 2);
  fm_wr_cstr(&wr, "name");
  fm_wr_cstr(&wr, "Hà Thị Lan");
  fm_wr_cstr(&wr, "phone");
  fm_wr_cstr(&wr, "0987654321");
  fm_wr_cstr(&wr, "attachments");
  fm_wr_array(&wr, 2);
  fm_wr_bin(&wr, att, 32);
  fm_wr_bin(&wr, att, 32);
  fm_wr_cstr(&wr, "portal_ref");
  fm_wr_cstr(&wr, "000.00.12.H10-231115-0002");
  fm_wr_cstr(&wr, "x-later");
  fm_wr_array(&wr, 4);
  fm_wr_nil(&wr);
  fm_wr_bool(&wr, 1);
  fm_wr_int(&wr, -40000);
  fm_wr_map(&wr, 1);
  fm_wr_cstr(&wr, "k");
  fm_wr_uint(&wr, 70000);
  CHECK(fm_buf_error(&body) == 0);
  fz_entry(&l->e[2], &w->dev[4], 3, l->e[1].p, l->e[1].len, FZ_T0 + 102,
           FM_KIND_DOSSIER, &body);
  fm_buf_reset(&body);
  CHECK(fm_dossier_status_body(&body, "D-FZ0402", FM_ST_REJECTED, "", "thiếu giấy tờ") == 0);
  fz_entry(&l->e[3], &w->dev[4], 4, l->e[2].p, l->e[2].len, FZ_T0 + 103,
           FM_KIND_DOSSIER_STATUS, &body);
  /* A kind nobody materializes. */
  fm_buf_reset(&body);
  fm_wr_init(&wr, &body);
  fm_wr_map(&wr, 2);
  fm_wr_cstr(&wr, "text");
  fm_wr_cstr(&wr, "ghi chú");
  fm_wr_cstr(&wr, "n");
  fm_wr_int(&wr, -1);
  fz_entry(&l->e[4], &w->dev[4], 5, l->e[3].p, l->e[3].len, FZ_T0 + 104, "note", &body);
  /* The authority revokes device 3 (its seq 5, after the four enrollments). */
  fm_buf_reset(&body);
  CHECK(fm_revoke_body(&body, w->dev[3].pk, 0) == 0);
  fz_entry(&l->e[5], &w->auth, 5, w->cert[5], w->cert_len[5], FZ_T0 + 105,
           FM_KIND_REVOKE, &body);
  /* A gateway's receipt. */
  fm_buf_reset(&body);
  fm_wr_init(&wr, &body);
  fm_wr_map(&wr, 2);
  fm_wr_cstr(&wr, "id");
  fm_wr_cstr(&wr, "D-FZ0001");
  fm_wr_cstr(&wr, "portal_ref");
  fm_wr_cstr(&wr, "000.00.12.H10-231114-0001");
  fz_entry(&l->e[6], &w->dev[5], 1, NULL, 0, FZ_T0 + 106, FM_KIND_RECEIPT, &body);
  /* Device 3 writes after it was revoked. */
  body_visit(&body, "V-FZ0301", FM_MODE_ONE_STOP, 0);
  fz_entry(&l->e[7], &w->dev[3], 1, NULL, 0, FZ_T0 + 107, FM_KIND_VISIT, &body);
  l->n = 8;
  body_visit(&body, "V-FZ0499", FM_MODE_HOME, 1);
  fz_entry(&l->e[E_FORK], &w->dev[4], 1, NULL, 0, FZ_T0 + 100, FM_KIND_VISIT, &body);
  fm_identity stranger;
  uint8_t seed[32];
  memset(seed, 77, sizeof seed);
  CHECK(fm_identity_from_seed(&stranger, seed) == 0);
  body_visit(&body, "V-FZ7701", FM_MODE_HOME, 2);
  fz_entry(&l->e[E_STRANGER], &stranger, 1, NULL, 0, FZ_T0 + 110, FM_KIND_VISIT, &body);
  fm_identity_wipe(&stranger);
  body_visit(&body, "V-FZ0409", FM_MODE_ONE_STOP, 4);
  fz_entry(&l->e[E_GAP], &w->dev[4], 9, l->e[4].p, l->e[4].len, FZ_T0 + 111,
           FM_KIND_VISIT, &body);
  fm_buf_free(&body);
}

static void gen_entry(const log_t *l) {
  const fz_world *w = fz_world_get();
  static const char *const names[8] = {"visit", "visit-void", "dossier", "dossier-status",
                                       "note", "revoke", "receipt", "visit-revoked"};
  char name[64];
  for (int i = 0; i < l->n; i++) put_buf("entry", names[i], &l->e[i]);
  put_buf("entry", "fork", &l->e[E_FORK]);
  put_buf("entry", "stranger", &l->e[E_STRANGER]);
  put_buf("entry", "gap", &l->e[E_GAP]);
  for (int i = 0; i < FZ_OWN_ENTRIES; i++) {
    snprintf(name, sizeof name, "own-%d", i + 1);
    put("entry", name, w->own[i], w->own_len[i]);
  }
  for (int i = 2; i < FZ_DEVS; i++) {
    snprintf(name, sizeof name, "enroll-%d", i);
    put("entry", name, w->cert[i], w->cert_len[i]);
  }
  put("entry", "enroll-foreign", w->foreign_cert, w->foreign_cert_len);
}

/* ---- messages ---------------------------------------------------------------- */

/* Every kind of message once; |out[i]| is message i. */
#define NMSG 13
static const char *const MSG_NAMES[NMSG] = {
    "hello", "vector", "vector-more", "entries", "ack", "ping", "pong",
    "caughtup", "cert", "bye", "error", "entries-empty", "presence"};

/* A presence note of |id| at |wall| with |heads| heads and |met| devices. */
static void make_note(fm_buf *out, const fm_identity *id, fm_time wall, uint32_t heads,
                      uint32_t met) {
  fm_presence p;
  memset(&p, 0, sizeof p);
  memcpy(p.device, id->pk, FM_KEY_LEN);
  p.wall = wall;
  p.head_seq = 41;
  p.only_here = 12;
  p.authors = heads + 1;
  memset(p.vdigest, 0x5a, sizeof p.vdigest);
  p.nheads = heads;
  for (uint32_t i = 0; i < heads; i++) {
    memset(p.heads[i].prefix, (int)(i * 10 + 1), FM_PRESENCE_PREFIX_LEN);
    p.heads[i].seq = 100 + i;
  }
  strcpy(p.version, "0.9.0");
  p.clock_offset = -1200;
  p.free_kib = 5u << 20;
  p.nmet = met;
  for (uint32_t i = 0; i < met; i++) {
    memset(p.met[i].device, (int)(0x30 + i), FM_KEY_LEN);
    p.met[i].when = wall - 1000 * (fm_time)i;
  }
  CHECK(fm_presence_sign(&p, id, out) == 0);
}

static void gen_presence(void) {
  const fz_world *w = fz_world_get();
  fm_buf b;
  fm_buf_init(&b, FM_PRESENCE_MAX);
  make_note(&b, &w->dev[2], FZ_T0, 2, 1);
  put_buf("presence", "small", &b);
  fm_buf_reset(&b);
  make_note(&b, &w->dev[4], FZ_T0 + 60000, FM_PRESENCE_HEADS_MAX, FM_PRESENCE_MET_MAX);
  put_buf("presence", "full", &b);
  fm_buf_reset(&b);
  make_note(&b, &w->dev[2], FZ_T0, 0, 0);
  put_buf("presence", "empty", &b);
  fm_buf_free(&b);
}

static void make_msgs(const log_t *l, fm_buf out[NMSG]) {
  const fz_world *w = fz_world_get();
  uint8_t digest[32];
  fm_vec_item items[3];
  fm_wr wr;
  memset(digest, 0x5a, sizeof digest);
  memset(items, 0, sizeof items);
  memcpy(items[0].author, w->auth.pk, FM_KEY_LEN);
  items[0].seq = 4;
  fm_entry_id(w->cert[5], w->cert_len[5], items[0].head);
  memcpy(items[1].author, w->dev[2].pk, FM_KEY_LEN);
  items[1].seq = 1;
  fm_entry_id(w->own[0], w->own_len[0], items[1].head);
  memcpy(items[2].author, w->dev[4].pk, FM_KEY_LEN);
  items[2].seq = 2;
  fm_entry_id(l->e[1].p, l->e[1].len, items[2].head);
  for (int i = 0; i < NMSG; i++) {
    fm_buf_init(&out[i], FM_MSG_MAX);
    fm_wr_init(&wr, &out[i]);
    switch (i) {
    case 0: fz_hello(&out[i], digest); break;
    case 1: fm_msg_vector(&wr, items, 3, 0); break;
    case 2: fm_msg_vector(&wr, items, 1, 1); break;
    case 3:
      fm_msg_entries_begin(&wr, 3);
      for (int k = 0; k < 3; k++) fm_wr_bin(&wr, l->e[k].p, l->e[k].len);
      break;
    case 4: {
      fm_msg_vitem st = {{0}, 2, {0}};
      fm_msg_refusal rf = {{0}, 3, 3, FM_ERR_GAP};
      memcpy(st.author, w->dev[2].pk, FM_KEY_LEN);
      memcpy(rf.author, w->dev[2].pk, FM_KEY_LEN);
      fm_msg_ack(&wr, 1234, 3, &st, 1, &rf, 1);
      break;
    }
    case 5: fm_msg_ping(&wr, FM_MSG_PING, 7); break;
    case 6: fm_msg_ping(&wr, FM_MSG_PONG, 7); break;
    case 7: fm_msg_caughtup(&wr, 3); break;
    case 8: fm_msg_cert(&wr, w->cert[5], w->cert_len[5]); break;
    case 9: fm_msg_bye(&wr, "tạm biệt"); break;
    case 10: fm_msg_error(&wr, FM_ERR_AUTH, "không thuộc xã này"); break;
    case 11: fm_msg_entries_begin(&wr, 0); break;
    case 12: {
      fm_buf note;
      fm_buf_init(&note, FM_MSG_MAX);
      make_note(&note, &w->dev[2], FZ_T0, 3, 2);
      make_note(&note, &w->dev[4], FZ_T0 + 1, 1, 0);
      fm_msg_presence(&wr, 2, note.p, note.len);
      fm_buf_free(&note);
      break;
    }
    }
    CHECK(fm_buf_error(&out[i]) == 0);
  }
}

static void gen_msg(fm_buf msgs[NMSG]) {
  for (int i = 0; i < NMSG; i++) put_buf("msg", MSG_NAMES[i], &msgs[i]);
}

/* ---- frame: whole streams into a responder ------------------------------------ */

static void gen_frame(fm_buf msgs[NMSG]) {
  const fm_time now = FZ_T0 + 60000;
  static const uint8_t zero[32];
  fm_session_io io = fz_mem_io(0);
  fz_rng rng = {FZ_FRAME_SEED};
  fz_initiator in;
  fm_buf wire, hello;
  fm_session *s = fz_responder(&io, &rng, now);
  fm_buf_init(&wire, 1 << 20);
  fm_buf_init(&hello, FM_MSG_MAX);
  CHECK(fm_buf_put(&wire, "\0", 1) == 0); /* chunking byte: all at once */
  CHECK(fz_handshake(&in, s, now, &wire) == 0);
  put_buf("frame", "handshake", &wire);
  fz_hello(&hello, zero);
  CHECK(fz_seal_frame(&in, hello.p, hello.len, &wire) == 0);
  put_buf("frame", "hello", &wire);
  /* vector, entries, ping, caughtup, cert, then bye (no ACK: the
   * responder sent nothing to acknowledge, and an ACK of it would be a
   * lie the session refuses) */
  static const int order[] = {1, 3, 5, 7, 8, 11, 6, 9};
  for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
    CHECK(fz_seal_frame(&in, msgs[order[i]].p, msgs[order[i]].len, &wire) == 0);
  put_buf("frame", "sync", &wire);
  /* The stream must take a fresh responder all the way: a seed that
   * stops at the handshake teaches the fuzzer nothing past it. */
  fz_rng rng2 = {FZ_FRAME_SEED};
  fm_session *check = fz_responder(&io, &rng2, now);
  fm_session_stats st;
  uint8_t sink[1 << 12];
  for (size_t off = 1; off < wire.len; off += 100) {
    size_t take = wire.len - off < 100 ? wire.len - off : 100;
    CHECK(fm_session_recv(check, wire.p + off, take, now) == 0);
    while (fm_session_send(check, sink, sizeof sink, now) > 0) {
    }
  }
  fm_session_get_stats(check, &st);
  CHECK(st.admitted && st.entries_in == 3 && st.vectors_in == 1 && st.error == 0);
  CHECK(strstr(st.reason, "bye") != NULL);
  fm_session_del(check);
  wire.p[0] = 3; /* pieces of 1 .. 24 bytes */
  put_buf("frame", "sync-chunked", &wire);
  wire.p[0] = 100;
  put_buf("frame", "sync-chunked-large", &wire);
  wire.p[0] = 0x80; /* a responder that holds nothing */
  put_buf("frame", "sync-empty-node", &wire);
  fm_session_del(s);
  fm_noise_cs_wipe(&in.tx);
  fm_noise_cs_wipe(&in.rx);
  fm_buf_free(&wire);
  fm_buf_free(&hello);
}

/* ---- handshake ------------------------------------------------------------------- */

static void gen_one_handshake(const char *name, uint8_t cap, const char *p1, const char *p3) {
  const fz_world *w = fz_world_get();
  fm_noise_hs i, r;
  uint8_t x_sk[32], e_sk[32], m1[256], m2[256], m3[256], pl[256];
  size_t n1, n2, n3, pn;
  fm_buf out;
  CHECK(fm_noise_static_from_ed25519(w->dev[4].sk, x_sk) == 0);
  memset(e_sk, FZ_HS_INIT_EPHEMERAL, 32);
  CHECK(fm_noise_hs_init(&i, 1, (const uint8_t *)FM_PROLOGUE, strlen(FM_PROLOGUE), x_sk, e_sk) == 0);
  CHECK(fm_noise_static_from_ed25519(w->dev[2].sk, x_sk) == 0);
  memset(e_sk, FZ_HS_RESP_EPHEMERAL, 32);
  CHECK(fm_noise_hs_init(&r, 0, (const uint8_t *)FM_PROLOGUE, strlen(FM_PROLOGUE), x_sk, e_sk) == 0);
  CHECK(fm_noise_hs_write(&i, (const uint8_t *)p1, strlen(p1), m1, sizeof m1, &n1) == 0);
  CHECK(fm_noise_hs_read(&r, m1, n1, pl, sizeof pl, &pn) == 0);
  CHECK(fm_noise_hs_write(&r, NULL, 0, m2, sizeof m2, &n2) == 0);
  CHECK(fm_noise_hs_read(&i, m2, n2, pl, sizeof pl, &pn) == 0);
  CHECK(fm_noise_hs_write(&i, (const uint8_t *)p3, strlen(p3), m3, sizeof m3, &n3) == 0);
  CHECK(fm_noise_hs_read(&r, m3, n3, pl, sizeof pl, &pn) == 0);
  fm_buf_init(&out, 1024);
  uint8_t hdr[3] = {cap, (uint8_t)(n1 >> 8), (uint8_t)n1};
  fm_buf_put(&out, hdr, 3);
  fm_buf_put(&out, m1, n1);
  fm_buf_put(&out, m3, n3);
  put_buf("handshake", name, &out);
  fm_buf_free(&out);
  fm_noise_hs_wipe(&i);
  fm_noise_hs_wipe(&r);
}

static void gen_handshake(void) {
  gen_one_handshake("empty", 255, "", "");
  gen_one_handshake("payloads", 255, "fieldmesh", "xin chào");
  gen_one_handshake("small-buffer", 1, "fieldmesh", "xin chào");
}

/* ---- session: plaintext records after the handshake -------------------------------- */

static void record(fm_buf *out, const fm_buf *msg, int timer) {
  uint8_t hdr[2] = {(uint8_t)((msg->len >> 8) | (timer ? 0x80 : 0)), (uint8_t)msg->len};
  CHECK(msg->len < 0x8000);
  fm_buf_put(out, hdr, 2);
  fm_buf_put(out, msg->p, msg->len);
}

static void gen_session(const log_t *l, fm_buf msgs[NMSG]) {
  const fz_world *w = fz_world_get();
  fm_buf out, m;
  fm_wr wr;
  fm_buf_init(&out, 1 << 20);
  fm_buf_init(&m, FM_MSG_MAX);

  /* The sync: vector, device 4's log, acks, caught up, then live pings. */
  fm_buf_put(&out, "\0", 1);
  record(&out, &msgs[1], 0);
  fm_wr_init(&wr, &m);
  fm_msg_entries_begin(&wr, 5);
  for (int k = 0; k < 5; k++) fm_wr_bin(&wr, l->e[k].p, l->e[k].len);
  record(&out, &m, 0);
  record(&out, &msgs[4], 0);
  record(&out, &msgs[7], 0);
  record(&out, &msgs[5], 1);
  record(&out, &msgs[6], 1);
  put_buf("session", "sync", &out);
  record(&out, &msgs[9], 0);
  put_buf("session", "sync-bye", &out);

  /* In sync: equal digests, no vector. */
  fm_buf_reset(&out);
  fm_buf_put(&out, "\2", 1);
  record(&out, &msgs[7], 0);
  record(&out, &msgs[5], 0);
  record(&out, &msgs[4], 1);
  put_buf("session", "in-sync", &out);

  /* Our own HELLO, a certificate, then the authority's log and the
   * entries it makes acceptable or not. */
  fm_buf_reset(&out);
  fm_buf_put(&out, "\1", 1);
  record(&out, &msgs[0], 0);
  record(&out, &msgs[8], 0);
  fm_buf_reset(&m);
  fm_wr_init(&wr, &m);
  fm_msg_entries_begin(&wr, 4);
  for (int i = 2; i < FZ_DEVS; i++) fm_wr_bin(&wr, w->cert[i], w->cert_len[i]);
  record(&out, &m, 0);
  fm_buf_reset(&m);
  fm_wr_init(&wr, &m);
  fm_msg_entries_begin(&wr, 3);
  for (int k = 5; k < 8; k++) fm_wr_bin(&wr, l->e[k].p, l->e[k].len);
  record(&out, &m, 0);
  record(&out, &msgs[11], 0);
  put_buf("session", "authority", &out);

  /* A peer that refuses us, and one that says hello twice. */
  fm_buf_reset(&out);
  fm_buf_put(&out, "\0", 1);
  record(&out, &msgs[10], 0);
  put_buf("session", "error", &out);
  fm_buf_reset(&out);
  fm_buf_put(&out, "\0", 1);
  record(&out, &msgs[0], 0);
  put_buf("session", "hello-twice", &out);

  /* Device 4's first entry, then another seq 1 (a fork, kept as
   * evidence), an entry of a stranger (held) and one past a gap, with the
   * clock moving and the store said to have grown; closed at the end. */
  fm_buf_reset(&out);
  fm_buf_put(&out, "\x0c", 1);
  fm_buf_reset(&m);
  fm_wr_init(&wr, &m);
  fm_msg_entries_begin(&wr, 4);
  fm_wr_bin(&wr, l->e[0].p, l->e[0].len);
  fm_wr_bin(&wr, l->e[E_FORK].p, l->e[E_FORK].len);
  fm_wr_bin(&wr, l->e[E_STRANGER].p, l->e[E_STRANGER].len);
  fm_wr_bin(&wr, l->e[E_GAP].p, l->e[E_GAP].len);
  record(&out, &msgs[1], 0);
  record(&out, &m, 0);
  record(&out, &msgs[4], 1);
  record(&out, &msgs[7], 1);
  put_buf("session", "fork-held-gap", &out);

  /* An entry whose signature is broken: the peer must be dropped. */
  fm_buf_reset(&out);
  fm_buf_put(&out, "\0", 1);
  fm_buf_reset(&m);
  fm_wr_init(&wr, &m);
  fm_msg_entries_begin(&wr, 1);
  fm_wr_bin(&wr, l->e[0].p, l->e[0].len);
  m.p[m.len - 1] ^= 1;
  record(&out, &m, 0);
  put_buf("session", "bad-signature", &out);
  fm_buf_free(&out);
  fm_buf_free(&m);
}

/* ---- bundle --------------------------------------------------------------------------- */

static void read_file(const char *path, fm_buf *out) {
  uint8_t buf[4096];
  size_t n;
  FILE *f = fopen(path, "rb");
  CHECK(f != NULL);
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) CHECK(fm_buf_put(out, buf, n) == 0);
  fclose(f);
  unlink(path);
}

/* Writes |file| in both input forms of fuzz_bundle: as it is, and without
 * its trailer (the target appends one that matches). */
static void put_bundle(const char *name, const fm_buf *file, uint64_t count) {
  fm_buf in;
  char fixed[64];
  size_t trailer = 1 + (count < 0x80 ? 1 : 2) + 2 + 32;
  CHECK(count <= 0xff && file->len > trailer);
  fm_buf_init(&in, file->len + 2);
  fm_buf_put(&in, "\0", 1);
  fm_buf_put(&in, file->p, file->len);
  put_buf("bundle", name, &in);
  fm_buf_reset(&in);
  uint8_t hdr[2] = {1, (uint8_t)count};
  fm_buf_put(&in, hdr, 2);
  fm_buf_put(&in, file->p, file->len - trailer);
  snprintf(fixed, sizeof fixed, "%s-fixup", name);
  put_buf("bundle", fixed, &in);
  fm_buf_free(&in);
}

/* A bundle from device 4 with |n| items and its certificate. */
static void handmade(fm_buf *out, const fm_buf *const *items, int n) {
  const fz_world *w = fz_world_get();
  uint8_t hash[32];
  fm_wr wr;
  fm_wr_init(&wr, out);
  /* Items as they are: the uncompressed format. */
  fm_wr_raw(&wr, FM_BUNDLE_MAGIC_V3, 8);
  fm_wr_map(&wr, 6);
  fm_wr_cstr(&wr, "from");
  fm_wr_bin(&wr, w->dev[4].pk, FM_KEY_LEN);
  fm_wr_cstr(&wr, "authority");
  fm_wr_bin(&wr, w->auth.pk, FM_KEY_LEN);
  fm_wr_cstr(&wr, "commune");
  fm_wr_cstr(&wr, FZ_COMMUNE);
  fm_wr_cstr(&wr, "created");
  fm_wr_uint(&wr, FZ_T0 + 3000);
  fm_wr_cstr(&wr, "vector");
  fm_wr_array(&wr, 0);
  fm_wr_cstr(&wr, "certs");
  fm_wr_array(&wr, 1);
  fm_wr_bin(&wr, w->cert[4], w->cert_len[4]);
  for (int i = 0; i < n; i++) fm_wr_bin(&wr, items[i]->p, items[i]->len);
  CHECK(fm_buf_error(out) == 0);
  fm_blake2b(hash, 32, out->p, out->len, NULL, 0);
  fm_wr_array(&wr, 2);
  fm_wr_uint(&wr, (uint64_t)n);
  fm_wr_bin(&wr, hash, 32);
  CHECK(fm_buf_error(out) == 0);
}

/* An FMBNDL4 bundle whose one section is a decompression bomb: a frame
 * of a few dozen bytes that declares a whole section of zeros. */
static void bomb(fm_buf *out) {
  const fz_world *w = fz_world_get();
  uint8_t hash[32], frame[256];
  uint8_t *zeros = calloc(1, FM_ZPACK_SECTION_MAX);
  CHECK(zeros != NULL);
  size_t n = ZSTD_compress(frame, sizeof frame, zeros, FM_ZPACK_SECTION_MAX, 19);
  free(zeros);
  CHECK(!ZSTD_isError(n));
  fm_wr wr;
  fm_wr_init(&wr, out);
  fm_wr_raw(&wr, FM_BUNDLE_MAGIC, 8);
  fm_wr_map(&wr, 6);
  fm_wr_cstr(&wr, "from");
  fm_wr_bin(&wr, w->dev[4].pk, FM_KEY_LEN);
  fm_wr_cstr(&wr, "authority");
  fm_wr_bin(&wr, w->auth.pk, FM_KEY_LEN);
  fm_wr_cstr(&wr, "commune");
  fm_wr_cstr(&wr, FZ_COMMUNE);
  fm_wr_cstr(&wr, "created");
  fm_wr_uint(&wr, FZ_T0 + 3000);
  fm_wr_cstr(&wr, "vector");
  fm_wr_array(&wr, 0);
  fm_wr_cstr(&wr, "certs");
  fm_wr_array(&wr, 0);
  fm_wr_bin(&wr, frame, n);
  CHECK(fm_buf_error(out) == 0);
  fm_blake2b(hash, 32, out->p, out->len, NULL, 0);
  fm_wr_array(&wr, 2);
  fm_wr_uint(&wr, 1);
  fm_wr_bin(&wr, hash, 32);
  CHECK(fm_buf_error(out) == 0);
}

static void gen_bundle(const log_t *l) {
  const fz_world *w = fz_world_get();
  char dir[64], path[128];
  fm_buf file;
  size_t count;
  fm_ingest_result r;
  fm_store *s = fz_store_new(4);
  /* Device 4's store: its own log and the authority's, and device 2's. */
  fm_slice sl[16];
  size_t n = 0;
  for (int i = 2; i < FZ_DEVS; i++) sl[n++] = (fm_slice){w->cert[i], w->cert_len[i]};
  for (int k = 0; k < 7; k++) sl[n++] = (fm_slice){l->e[k].p, l->e[k].len};
  for (int i = 0; i < FZ_OWN_ENTRIES; i++) sl[n++] = (fm_slice){w->own[i], w->own_len[i]};
  CHECK(fm_store_ingest(s, sl, n, FZ_T0 + 1000, &r, NULL) == 0);
  CHECK(r.accepted >= 10);
  snprintf(dir, sizeof dir, "/tmp/fm-fuzz-gen-XXXXXX");
  CHECK(mkdtemp(dir) != NULL);
  snprintf(path, sizeof path, "%s/file", dir);
  fm_buf_init(&file, 1 << 20);

  CHECK(fm_bundle_export(s, NULL, NULL, path, FZ_T0 + 2000, &count) == 0);
  read_file(path, &file);
  put_bundle("all", &file, count);
  fm_buf_reset(&file);
  CHECK(fm_bundle_export_format(s, NULL, NULL, path, FZ_T0 + 2000, 3, 0, &count, NULL,
                                NULL) == 0);
  read_file(path, &file);
  put_bundle("all-v3", &file, count);
  fm_buf_reset(&file);
  bomb(&file);
  put_bundle("bomb", &file, 1);

  /* For a holder of device 2's log: only the rest. */
  fm_vector theirs;
  fm_vec_item it;
  memset(&it, 0, sizeof it);
  memcpy(it.author, w->dev[2].pk, FM_KEY_LEN);
  it.seq = FZ_OWN_ENTRIES;
  fm_entry_id(w->own[FZ_OWN_ENTRIES - 1], w->own_len[FZ_OWN_ENTRIES - 1], it.head);
  theirs.n = 1;
  theirs.items = &it;
  fm_buf_reset(&file);
  CHECK(fm_bundle_export(s, NULL, &theirs, path, FZ_T0 + 2000, &count) == 0);
  read_file(path, &file);
  put_bundle("for-device-2", &file, count);

  fm_buf_reset(&file);
  CHECK(fm_vector_export(s, NULL, path, FZ_T0 + 2000) == 0);
  read_file(path, &file);
  put_bundle("vector", &file, 0);

  fm_buf_reset(&file);
  CHECK(fm_join_export(s, w->cert[5], w->cert_len[5], path, FZ_T0 + 2000) == 0);
  read_file(path, &file);
  put_bundle("join", &file, 0);

  /* Written by hand: items no store would export together. */
  const fm_buf *items[] = {&l->e[0], &l->e[E_FORK], &l->e[E_STRANGER], &l->e[E_GAP],
                           &l->e[7]};
  fm_buf_reset(&file);
  handmade(&file, items, 5);
  put_bundle("fork-held-gap", &file, 5);

  rmdir(dir);
  fm_buf_free(&file);
  fm_store_close(s);
}

/* ---- control ------------------------------------------------------------------------- */

static void put_frame_body(const char *name, fm_buf *frame) {
  CHECK(frame->len > FM_CONTROL_HDR);
  put("control", name, frame->p + FM_CONTROL_HDR, frame->len - FM_CONTROL_HDR);
  fm_buf_reset(frame);
}

static void sample_peer(fm_control_peer *p, int i) {
  const fz_world *w = fz_world_get();
  memset(p, 0, sizeof *p);
  snprintf(p->addr, sizeof p->addr, "192.168.1.%d:7411", 20 + i);
  strcpy(p->origin, i ? "incoming" : "static");
  p->has_id = i == 0;
  memcpy(p->id, w->dev[4].pk, FM_KEY_LEN);
  strcpy(p->name, "Nguyễn Văn An");
  strcpy(p->team, "Team 1");
  strcpy(p->state, i ? "waiting" : "live");
  p->since = FZ_T0;
  p->last_connected = FZ_T0;
  p->bytes_in = 123456;
  p->entries_in = 42;
  p->rate_in = 2048;
  p->caught_up_at = FZ_T0 + 5;
  strcpy(p->last_error, i ? "connection refused" : "");
  p->failures = (uint64_t)i;
  p->next_attempt = i ? FZ_T0 + 30000 : 0;
}

static void gen_control(void) {
  static const char *const cmds[] = {"", "status", "peers", "sync", "poke", "stop"};
  fm_buf f;
  fm_control_req req;
  fm_control_status st;
  fm_control_peer peers[2];
  char name[32];
  fm_buf_init(&f, FM_CONTROL_HDR + FM_CONTROL_FRAME_MAX);
  for (int c = FM_CTL_STATUS; c <= FM_CTL_STOP; c++) {
    memset(&req, 0, sizeof req);
    req.cmd = (fm_control_cmd)c;
    if (c == FM_CTL_SYNC) strcpy(req.addr, "[fe80::1%wlan0]:7411");
    CHECK(fm_control_write_request(&f, &req) == 0);
    snprintf(name, sizeof name, "request-%s", cmds[c]);
    put_frame_body(name, &f);
  }
  CHECK(fm_control_write_error(&f, "không kết nối được: 10.0.0.9:7411") == 0);
  put_frame_body("response-error", &f);
  sample_peer(&peers[0], 0);
  sample_peer(&peers[1], 1);
  CHECK(fm_control_write_ok(&f, &peers[0]) == 0);
  put_frame_body("response-sync", &f);
  CHECK(fm_control_write_peers(&f, peers, 2) == 0);
  put_frame_body("response-peers", &f);
  memset(&st, 0, sizeof st);
  strcpy(st.listen, "0.0.0.0:7411");
  memcpy(st.id, fz_world_get()->dev[2].pk, FM_KEY_LEN);
  strcpy(st.name, "Lò Thị Mai");
  strcpy(st.team, "Team 1");
  st.pid = 4242;
  st.started = FZ_T0;
  st.connected = 1;
  st.known = 2;
  st.own_seq = 3;
  st.only_here = 1;
  st.copies_one = 2;
  st.safe_copies = 1;
  st.entries = 15;
  CHECK(fm_control_write_status(&f, &st) == 0);
  put_frame_body("response-status", &f);
  fm_buf_free(&f);
}

/* ---- sealed fields ---------------------------------------------------------- */

/* fuzz_seal: a value that opens (the fixture's key), a grant to devices
 * 2 and 3, an extension, and a dossier view record with sealed fields. */
static void gen_seal(void) {
  const fz_world *w = fz_world_get();
  fz_rng rng = {77};
  uint8_t key[FM_SEAL_KEY_LEN];
  fm_sealer s;
  fm_buf b, body, e, rec;
  fm_wr wr;
  fm_rd r;
  const uint8_t *p;
  size_t n;
  uint8_t devs[2][FM_KEY_LEN];
  memset(key, FZ_SEAL_KEY, sizeof key);
  s.key = key;
  s.grant_seq = 1;
  memcpy(s.author, w->dev[2].pk, FM_KEY_LEN);
  s.rng.fill = fz_rng_fill;
  s.rng.ctx = &rng;
  fm_buf_init(&b, 1 << 16);
  fm_buf_init(&body, 1 << 16);
  fm_buf_init(&e, 1 << 16);
  fm_buf_init(&rec, 1 << 16);
  fm_wr_init(&wr, &b);
  fm_wr_uint(&wr, 0); /* the selector byte (fixint 0) */
  fm_seal_write(&wr, &s, FZ_SEAL_RECORD, strlen(FZ_SEAL_RECORD), "id_number", "002190012345", 12);
  CHECK(fm_buf_error(&b) == 0);
  /* The selector, then the bin's bytes without their msgpack header. */
  fm_rd_init(&r, b.p + 1, b.len - 1, 1);
  CHECK(fm_rd_bin(&r, &p, &n) == 0);
  fm_buf_reset(&body);
  fm_buf_put(&body, "\x00", 1);
  fm_buf_put(&body, p, n);
  put_buf("seal", "value", &body);
  memcpy(devs[0], w->dev[2].pk, FM_KEY_LEN);
  memcpy(devs[1], w->dev[3].pk, FM_KEY_LEN);
  fm_buf_reset(&body);
  fm_buf_put(&body, "\x01", 1);
  CHECK(fm_seal_grant_body(&body, "2023-11", (const uint8_t(*)[FM_KEY_LEN])devs, 2, key,
                           &s.rng) == 0);
  put_buf("seal", "grant", &body);
  /* A grant whose item for device 2 is wrapped to the fuzzer's inbox key,
   * and a seal.inbox body publishing it. */
  fm_seal_reader rd[2];
  fm_seal_inbox_key ik;
  memset(rd, 0, sizeof rd);
  memset(&ik, 0, sizeof ik);
  memcpy(ik.period, "2023-11", 8);
  memset(ik.sk, FZ_SEAL_KEY, sizeof ik.sk);
  fm_seal_inbox_public(ik.sk, ik.pk);
  memcpy(rd[0].device, devs[0], FM_KEY_LEN);
  memcpy(rd[0].inbox, ik.pk, sizeof ik.pk);
  rd[0].has_inbox = 1;
  memcpy(rd[1].device, devs[1], FM_KEY_LEN);
  fm_buf_reset(&body);
  fm_buf_put(&body, "\x01", 1);
  CHECK(fm_seal_grant_body_to(&body, "2023-11", rd, 2, key, &s.rng, 0) == 0);
  put_buf("seal", "grant-inbox", &body);
  fm_buf_reset(&body);
  fm_buf_put(&body, "\x01", 1);
  CHECK(fm_seal_inbox_body(&body, &ik, 1) == 0);
  put_buf("seal", "inbox", &body);
  /* A seal.extend body: device 3 carries device 2's grant 1 to device 2
   * (the fuzzer opens it as device 2). */
  fm_seal_reader to2;
  fz_rng xrng = {78}; /* its own: the seeds after it stay as they were */
  fm_rng xr = {fz_rng_fill, &xrng};
  memset(&to2, 0, sizeof to2);
  memcpy(to2.device, devs[0], FM_KEY_LEN);
  fm_buf_reset(&body);
  fm_buf_put(&body, "\x01", 1);
  CHECK(fm_seal_extend_body(&body, w->dev[2].pk, 1, "2023-11", &to2, 1, key, &xr) == 0);
  put_buf("seal", "extend", &body);
  /* A view record: a sealed dossier merged into nothing. */
  fm_dossier_in d = {FZ_SEAL_RECORD, "khai_sinh", "Vàng Thị Mỷ", "002190012345", "0912345678",
                     "Nghĩa Tân", "Team 1", "portal", "", "ghi chú", "2023-11-14"};
  fm_buf_reset(&body);
  CHECK(fm_dossier_body_sealed(&body, &d, &s) == 0);
  fz_entry(&e, &w->dev[2], 1, NULL, 0, FZ_T0, FM_KIND_DOSSIER, &body);
  fm_entry en;
  CHECK(fm_entry_decode(e.p, e.len, NULL, &en) == 0);
  fm_buf_put(&rec, "\x02", 1);
  CHECK(fm_view_apply(FM_VIEW_DOSSIER, NULL, 0, &en, &body) == 0);
  fm_buf_put(&rec, body.p, body.len);
  put_buf("seal", "view", &rec);
  fm_buf_free(&b);
  fm_buf_free(&body);
  fm_buf_free(&e);
  fm_buf_free(&rec);
}

int main(int argc, char **argv) {
  log_t l;
  fm_buf msgs[NMSG];
  if (argc != 2) {
    fprintf(stderr, "usage: fm-fuzz-gen CORPUS_DIR (tests/fuzz/corpus)\n");
    return 2;
  }
  root = argv[1];
  if (mkdir(root, 0755) != 0 && errno != EEXIST) {
    fprintf(stderr, "fm-fuzz-gen: %s: %s\n", root, strerror(errno));
    return 1;
  }
  make_log(&l);
  make_msgs(&l, msgs);
  gen_entry(&l);
  gen_msg(msgs);
  gen_frame(msgs);
  gen_handshake();
  gen_session(&l, msgs);
  gen_bundle(&l);
  gen_control();
  gen_presence();
  gen_seal();
  for (int i = 0; i < NMSG; i++) fm_buf_free(&msgs[i]);
  for (int i = 0; i < 11; i++) fm_buf_free(&l.e[i]);
  printf("fm-fuzz-gen: %d seeds written under %s\n", written, root);
  return 0;
}
