/* fuzz_frame: the input is what a TCP peer sends to a listening node.
 *
 *   byte 0    bits 0-6, chunking: 0 feeds the stream in one call;
 *             otherwise the stream is cut into pieces of 1 .. 8 * c bytes,
 *             sizes drawn from a generator seeded with c.  Bit 7: the
 *             responder holds no entries at all (a laptop just joined).
 *   bytes 1.. the stream: length-prefixed frames, first the Noise
 *             handshake messages 1 and 3, then transport frames
 *
 * A responder session of device 2 (io callbacks without a store, see
 * fixture.c) takes the pieces with fm_session_recv(), and its output is
 * drained after each, as the daemon does.  The responder's ephemeral key
 * is fixed, so the corpus (made by gen_corpus.c against the same session)
 * holds complete handshakes and the fuzzer can mutate what follows.
 *
 * Property: how the stream is cut changes nothing.  A second session is
 * fed the whole stream at once; both must end in the same state, with the
 * same error, reason and counts. */
#include <string.h>

#include "fieldmesh/error.h"
#include "fuzz.h"

static void drain(fm_session *s, fm_time now) {
  static uint8_t sink[1 << 16];
  while (fm_session_send(s, sink, sizeof sink, now) > 0) {
  }
}

static void run(fm_session *s, const uint8_t *p, size_t n, uint8_t chunking, fm_time now) {
  uint32_t x = 0x9e3779b9u ^ chunking;
  size_t off = 0;
  while (off < n) {
    size_t take = n - off;
    if (chunking) {
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      size_t c = 1 + x % (8u * chunking);
      if (c < take) take = c;
    }
    int rv = fm_session_recv(s, p + off, take, now);
    drain(s, now);
    if (rv < 0) break;
    off += take;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const fm_time now = FZ_T0 + 60000;
  fm_session_stats a, b;
  if (size < 1) return 0;
  fm_session_io io = fz_mem_io(data[0] >> 7);
  fz_rng ra = {FZ_FRAME_SEED}, rb = {FZ_FRAME_SEED};
  fm_session *sa = fz_responder(&io, &ra, now);
  uint8_t chunking = data[0] & 0x7f;
  run(sa, data + 1, size - 1, chunking, now);
  fm_session_get_stats(sa, &a);
  /* Chunking 0 already fed it whole: nothing to compare with. */
  fm_session *sb = chunking ? fz_responder(&io, &rb, now) : NULL;
  if (sb) {
    run(sb, data + 1, size - 1, 0, now);
    fm_session_get_stats(sb, &b);
  } else {
    b = a;
  }
  FZ_CHECK(a.state == b.state, "chunking changes the session's state");
  FZ_CHECK(a.error == b.error, "chunking changes the session's error");
  FZ_CHECK(strcmp(a.reason, b.reason) == 0, "chunking changes the reason");
  FZ_CHECK(a.admitted == b.admitted && a.entries_in == b.entries_in &&
               a.vectors_in == b.vectors_in,
           "chunking changes what was received");
  FZ_CHECK(a.error == 0 || a.state >= FM_SS_CLOSING, "a failed session is still open");
  fm_session_del(sa);
  fm_session_del(sb);
  return 0;
}
