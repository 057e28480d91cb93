/* fuzz_handshake: the input is what an initiator sends during Noise XX.
 *
 *   byte 0       room for the payload the responder reads (x 4 bytes; 255:
 *                a whole message's worth)
 *   bytes 1..2   length of message 1 (big-endian)
 *   then         message 1, then message 3 (the rest)
 *
 * The responder (device 2's static key, a fixed ephemeral key) reads
 * message 1, writes message 2 and reads message 3.  The corpus holds
 * genuine handshakes made by gen_corpus.c with the same keys.
 *
 * Properties: a read that returns FM_ERR_TOOBIG because the payload buffer
 * is small leaves the state as it was, so the same read with room enough
 * gives the result a fresh responder gets; on success the peer's static
 * key is known and the split gives working cipher states; on failure the
 * state is failed for good. */
#include <stdlib.h>
#include <string.h>

#include "fieldmesh/error.h"
#include "fieldmesh/noise.h"
#include "fuzz.h"

static void responder(fm_noise_hs *hs) {
  const fz_world *w = fz_world_get();
  uint8_t x_sk[32], e_sk[32];
  FZ_CHECK(fm_noise_static_from_ed25519(w->dev[2].sk, x_sk) == 0, "static key");
  memset(e_sk, FZ_HS_RESP_EPHEMERAL, sizeof e_sk);
  FZ_CHECK(fm_noise_hs_init(hs, 0, (const uint8_t *)FM_PROLOGUE, strlen(FM_PROLOGUE),
                            x_sk, e_sk) == 0,
           "responder init");
}

/* Reads with |cap| bytes of room; on FM_ERR_TOOBIG from a small buffer,
 * checks the promise of the header and reads again with room enough. */
static int read_msg(fm_noise_hs *hs, const uint8_t *msg, size_t len, size_t cap,
                    uint8_t *payload, size_t *plen) {
  fm_noise_hs before = *hs;
  int rv = fm_noise_hs_read(hs, msg, len, payload, cap, plen);
  if (rv == FM_ERR_TOOBIG && len <= FM_NOISE_MAX_MSG) {
    FZ_CHECK(memcmp(&before, hs, sizeof before) == 0,
             "FM_ERR_TOOBIG from a small buffer changed the handshake state");
    rv = fm_noise_hs_read(hs, msg, len, payload, FM_NOISE_MAX_MSG, plen);
    FZ_CHECK(rv != FM_ERR_TOOBIG, "FM_ERR_TOOBIG with a buffer of a whole message");
  }
  return rv;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static uint8_t payload[FM_NOISE_MAX_MSG], out[FM_NOISE_MAX_MSG];
  fm_noise_hs hs;
  fm_noise_cs tx, rx;
  uint8_t rs[32], h[FM_NOISE_HASH_LEN];
  size_t plen, n;
  if (size < 3) return 0;
  size_t cap = data[0] == 255 ? sizeof payload : (size_t)data[0] * 4;
  size_t len1 = fz_be16(data + 1);
  const uint8_t *m1 = data + 3;
  if (len1 > size - 3) len1 = size - 3;
  const uint8_t *m3 = m1 + len1;
  size_t len3 = size - 3 - len1;

  responder(&hs);
  int rv = read_msg(&hs, m1, len1, cap, payload, &plen);
  if (rv == 0) {
    FZ_CHECK(plen == len1 - FM_NOISE_MSG1_OVERHEAD, "message 1 payload length");
    FZ_CHECK(fm_noise_hs_remote_static(&hs, rs) == FM_ERR_HANDSHAKE,
             "the responder knows the peer's key after message 1");
    rv = fm_noise_hs_write(&hs, NULL, 0, out, sizeof out, &n);
    /* An all-zero DH result (a low-order key in message 1) fails here. */
    if (rv == 0) FZ_CHECK(n == FM_NOISE_MSG2_OVERHEAD, "message 2 length");
  }
  if (rv == 0) {
    rv = read_msg(&hs, m3, len3, cap, payload, &plen);
    if (rv == 0) FZ_CHECK(plen == len3 - FM_NOISE_MSG3_OVERHEAD, "message 3 payload length");
  }
  if (rv < 0) {
    FZ_CHECK(!fm_noise_hs_done(&hs) && fm_noise_hs_hash(&hs, h) == FM_ERR_HANDSHAKE &&
                 fm_noise_hs_split(&hs, &tx, &rx) == FM_ERR_HANDSHAKE &&
                 fm_noise_hs_write(&hs, NULL, 0, out, sizeof out, &n) == FM_ERR_HANDSHAKE,
             "a failed handshake can still be used");
    fm_noise_hs_wipe(&hs);
    return 0;
  }
  FZ_CHECK(fm_noise_hs_done(&hs), "three messages and not done");
  FZ_CHECK(fm_noise_hs_remote_static(&hs, rs) == 0, "no peer key after message 3");
  FZ_CHECK(fm_noise_hs_split(&hs, &tx, &rx) == 0, "a done handshake does not split");
  /* Our own transport frame must decrypt with our own receive key only
   * if the keys are equal, which they never are. */
  FZ_CHECK(fm_noise_cs_encrypt(&tx, NULL, 0, data, size < 64 ? size : 64, out,
                               sizeof out, &n) == 0,
           "transport encrypt");
  FZ_CHECK(fm_noise_cs_decrypt(&rx, NULL, 0, out, n, payload, sizeof payload, &plen) ==
               FM_ERR_DECRYPT,
           "the two directions share a key");
  fm_noise_cs_wipe(&tx);
  fm_noise_cs_wipe(&rx);
  fm_noise_hs_wipe(&hs);
  return 0;
}
