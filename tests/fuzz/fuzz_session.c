/* fuzz_session: the input is what an enrolled peer says once the
 * handshake is done, in plaintext.
 *
 *   byte 0    flags: bit 0, no scripted HELLO (the first record must be
 *             one); bit 1, the scripted HELLO carries the responder's own
 *             vector digest (the in-sync path: no VECTOR is exchanged);
 *             bit 2, tell the session its store grew before each record
 *             (fm_session_notify); bit 3, close it politely at the end
 *   records   2-byte big-endian header, then that many bytes: one message.
 *             Header bit 15: first move the clock to the session's next
 *             timer and fire it.  A length past the end takes the rest.
 *
 * The responder is device 2 on a real store (made once per process under
 * TMPDIR, its files unlinked at once), through fm_node_io() as the daemon
 * drives it.  The initiator, device 4, is scripted in-process: the
 * handshake is done for real, then each record is encrypted as one
 * transport frame, so the fuzzer's bytes reach the message handler past
 * the crypto.  After each frame the responder's output is drained,
 * decrypted and decoded.
 *
 * Properties: every frame the responder sends decrypts and is a message
 * fm_msg_decode accepts; a failed session is closing or closed.
 *
 * The store keeps what earlier inputs made it accept (the corpus's valid
 * entries of device 4, their certificates): an input replayed alone runs
 * against a fresh store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fieldmesh/error.h"
#include "fieldmesh/msg.h"
#include "fieldmesh/node.h"
#include "fieldmesh/noise.h"
#include "fuzz.h"

typedef struct fixture {
  fm_store *store;
  fm_node node;
  fm_buf wire;            /* the handshake as the initiator sent it */
  fz_initiator in;        /* the initiator just after the split */
} fixture;

/* The responder's output, reassembled into frames and checked. */
typedef struct reader {
  fz_initiator *in;
  fm_buf pending;
  uint8_t vdigest[32];
  int got_hello;
} reader;

static fm_msg_vitem items[FM_VECTOR_PAGE];
static fm_slice entries[FM_BATCH_MAX];
static fm_msg_refusal refused[FM_ACK_REFUSED_MAX];

static void on_output_frame(reader *r, const uint8_t *ct, size_t n) {
  static uint8_t pt[FM_FRAME_MAX];
  size_t pn;
  fm_msg m;
  FZ_CHECK(fm_noise_cs_decrypt(&r->in->rx, NULL, 0, ct, n, pt, sizeof pt, &pn) == 0,
           "a frame from the responder does not decrypt");
  m.items = items;
  m.entries = entries;
  m.refused = refused;
  FZ_CHECK(fm_msg_decode(pt, pn, &m) == 0, "the responder sent a message that does not decode");
  if (m.type == FM_MSG_HELLO && !r->got_hello) {
    memcpy(r->vdigest, m.vdigest, 32);
    r->got_hello = 1;
  }
}

static void drain(fm_session *s, reader *r, fm_time now) {
  static uint8_t buf[1 << 16];
  ssize_t n;
  while ((n = fm_session_send(s, buf, sizeof buf, now)) > 0) {
    FZ_CHECK(fm_buf_put(&r->pending, buf, (size_t)n) == 0, "output buffer");
    size_t off = 0;
    while (r->pending.len - off >= FM_FRAME_HDR) {
      const uint8_t *h = r->pending.p + off;
      size_t len = (size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3];
      FZ_CHECK(len > 0 && len <= FM_FRAME_MAX, "the responder sent a bad frame length");
      if (r->pending.len - off < FM_FRAME_HDR + len) break;
      on_output_frame(r, h + FM_FRAME_HDR, len);
      off += FM_FRAME_HDR + len;
    }
    memmove(r->pending.p, r->pending.p + off, r->pending.len - off);
    r->pending.len -= off;
  }
  FZ_CHECK(n == 0 || fm_session_get_state(s) >= FM_SS_CLOSING,
           "fm_session_send failed on a session that is not closing");
}

static fm_time fixture_wall(void *ctx) {
  (void)ctx;
  return FZ_T0;
}

static fixture *fixture_get(void) {
  static fixture f;
  static int made;
  if (made) return &f;
  f.store = fz_store_new(2);
  FZ_CHECK(fm_node_init(&f.node, f.store, &fz_world_get()->dev[2]) == 0, "node init");
  f.node.wall = fixture_wall;
  fm_buf_init(&f.wire, 4096);
  fm_session_io io = fm_node_io(&f.node);
  fz_rng rng = {FZ_SESSION_SEED};
  fm_session *s = fz_responder(&io, &rng, FZ_T0);
  FZ_CHECK(fz_handshake(&f.in, s, FZ_T0, &f.wire) == 0, "the scripted handshake fails");
  fm_session_del(s);
  made = 1;
  return &f;
}

/* A session whose handshake is done, and an initiator that matches it:
 * the handshake bytes are the same every time (fixed keys), so the
 * initiator's side is computed once and copied. */
static fm_session *open_session(fixture *f, fz_initiator *in, fm_time now) {
  fm_session_io io = fm_node_io(&f->node);
  fz_rng rng = {FZ_SESSION_SEED};
  fm_session *s = fz_responder(&io, &rng, now);
  FZ_CHECK(fm_session_recv(s, f->wire.p, f->wire.len, now) == 0 &&
               fm_session_get_state(s) == FM_SS_HELLO,
           "the cached handshake no longer completes");
  /* Message 2 is already answered (by the cached message 3): skip it. */
  uint8_t m2[FM_FRAME_HDR + FM_NOISE_MSG2_OVERHEAD];
  FZ_CHECK(fm_session_send(s, m2, sizeof m2, now) == (ssize_t)sizeof m2,
           "the responder's message 2 is not where it should be");
  *in = f->in;
  return s;
}

static int say(fm_session *s, reader *r, const uint8_t *msg, size_t len, fm_time now) {
  fm_buf frame;
  fm_buf_init(&frame, FM_FRAME_HDR + FM_FRAME_MAX);
  FZ_CHECK(fz_seal_frame(r->in, msg, len, &frame) == 0, "the initiator cannot encrypt");
  int rv = fm_session_recv(s, frame.p, frame.len, now);
  fm_buf_free(&frame);
  drain(s, r, now);
  return rv;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fixture *f = fixture_get();
  fz_initiator in;
  reader r;
  fm_time now = FZ_T0 + 1000;
  int rv = 0;
  if (size < 1) return 0;
  uint8_t flags = data[0];
  fm_session *s = open_session(f, &in, now);
  memset(&r, 0, sizeof r);
  r.in = &in;
  fm_buf_init(&r.pending, 8 * (FM_FRAME_HDR + FM_FRAME_MAX));
  drain(s, &r, now); /* the responder's HELLO */
  FZ_CHECK(r.got_hello, "the responder sent no HELLO");
  if (!(flags & 1)) {
    static const uint8_t zero[32];
    fm_buf hello;
    fm_buf_init(&hello, FM_MSG_MAX);
    fz_hello(&hello, flags & 2 ? r.vdigest : zero);
    rv = say(s, &r, hello.p, hello.len, now);
    fm_buf_free(&hello);
  }
  size_t off = 1;
  while (rv >= 0 && off < size && fm_session_get_state(s) < FM_SS_CLOSED) {
    size_t hdr = size - off >= 2 ? fz_be16(data + off) : 0;
    size_t len = hdr & 0x7fff;
    off += size - off >= 2 ? 2 : size - off;
    if (len > size - off) len = size - off;
    if (hdr & 0x8000) {
      fm_time t = fm_session_next_timer(s);
      now = t == FM_TIME_NEVER ? now + 16000 : t > now ? t : now;
      rv = fm_session_on_timer(s, now);
      drain(s, &r, now);
      if (rv < 0) break;
    }
    if (flags & 4) fm_session_notify(s);
    rv = say(s, &r, data + off, len, now);
    off += len;
  }
  if (flags & 8) {
    fm_session_close(s, "đóng phiên");
    drain(s, &r, now);
    FZ_CHECK(fm_session_get_state(s) == FM_SS_CLOSED, "a closed session is not closed");
  }
  fm_session_stats st;
  fm_session_get_stats(s, &st);
  FZ_CHECK(st.error == 0 || st.state >= FM_SS_CLOSING, "a failed session is still open");
  if (getenv("FM_FUZZ_VERBOSE"))
    fprintf(stderr, "session: state %d admitted %d entries in %llu out %llu vectors %llu "
            "error %d (%s)\n", (int)st.state, st.admitted, (unsigned long long)st.entries_in,
            (unsigned long long)st.entries_out, (unsigned long long)st.vectors_in, st.error,
            st.reason);
  fm_buf_free(&r.pending);
  fm_noise_cs_wipe(&in.tx);
  fm_noise_cs_wipe(&in.rx);
  fm_session_del(s);
  return 0;
}
