/* The sans-I/O wall, checked by the linker: this program links every
 * object of fm_proto (whole archive) with only libsodium, msgpack-c and
 * utf8proc.  A protocol module that called the store, libuv or LMDB
 * would leave an undefined reference and fail the build.  Running it
 * makes a session over a null I/O and drops it. */
#include <stdio.h>

#include "fieldmesh/error.h"

#include "fieldmesh/session.h"

static int no_vector(void *ctx, fm_vector *out) {
  (void)ctx;
  out->n = 0;
  out->items = NULL;
  return 0;
}

static int no_read(void *ctx, const uint8_t author[FM_KEY_LEN], uint64_t after,
                   size_t max_bytes, fm_entry_cb cb, void *cbctx) {
  return 0;
}

static int refuse_all(void *ctx, const uint8_t node_id[FM_KEY_LEN], const uint8_t *cert,
                      size_t cert_len, fm_enrollment *who) {
  return FM_ERR_AUTH;
}

static int no_ingest(void *ctx, const fm_slice *entries, size_t n, fm_ingest_result *res,
                     fm_ingest_outcome *out) {
  return 0;
}

static void zero_rng(void *ctx, uint8_t *out, size_t n) {
  (void)ctx;
  for (size_t i = 0; i < n; i++) out[i] = (uint8_t)i;
}

int main(void) {
  fm_identity id;
  uint8_t seed[32] = {1};
  if (fm_identity_from_seed(&id, seed) != 0) return 1;
  fm_session_cfg cfg = {0};
  cfg.initiator = 1;
  cfg.id = &id;
  cfg.io.vector = no_vector;
  cfg.io.read_after = no_read;
  cfg.io.admit = refuse_all;
  cfg.io.ingest = no_ingest;
  cfg.rng.fill = zero_rng;
  fm_session *s = NULL;
  int rc = fm_session_new(&cfg, 0, &s);
  if (rc < 0) {
    printf("proto_only: fm_session_new -> %d\n", rc);
    return 1;
  }
  uint8_t buf[256];
  ssize_t n = fm_session_send(s, buf, sizeof buf, 0);
  fm_session_del(s);
  printf("proto_only: a session over a null I/O sent %zd handshake bytes\n", n);
  return n > 0 ? 0 : 1;
}
