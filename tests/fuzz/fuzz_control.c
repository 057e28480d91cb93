/* fuzz_control: the input is the body of one frame on the daemon's
 * control socket (a request map), which the daemon parses with
 * fm_control_parse_request().  The same bytes also go through
 * fm_control_frame() and, as the CLI would read them from a daemon,
 * fm_control_parse_response().
 *
 * Properties: a request that parses is written back by
 * fm_control_write_request() as one frame that parses to the same
 * request; a frame found by fm_control_frame() lies inside the input; a
 * parsed response lists at most FM_CONTROL_PEERS_MAX peers and its strings
 * are terminated. */
#include <string.h>

#include "fieldmesh/control.h"
#include "fieldmesh/error.h"
#include "fuzz.h"

static void check_request(const uint8_t *data, size_t size) {
  fm_control_req req, again;
  const uint8_t *body;
  size_t body_len;
  fm_buf out;
  int rv = fm_control_parse_request(data, size, &req);
  FZ_CHECK(rv == 0 || rv == FM_ERR_MALFORMED || rv == FM_ERR_TOOBIG || rv == FM_ERR_INVAL,
           "fm_control_parse_request returns a code its contract does not name");
  if (rv < 0) return;
  FZ_CHECK(memchr(req.addr, 0, sizeof req.addr) != NULL, "the address is not terminated");
  FZ_CHECK((req.cmd == FM_CTL_SYNC) == (req.addr[0] != 0), "an address on the wrong command");
  fm_buf_init(&out, FM_CONTROL_HDR + FM_CONTROL_FRAME_MAX);
  FZ_CHECK(fm_control_write_request(&out, &req) == 0, "a parsed request does not write");
  FZ_CHECK(fm_control_frame(out.p, out.len, &body, &body_len) == 1 &&
               FM_CONTROL_HDR + body_len == out.len,
           "a written request is not one frame");
  FZ_CHECK(fm_control_parse_request(body, body_len, &again) == 0 && again.cmd == req.cmd &&
               strcmp(again.addr, req.addr) == 0,
           "a written request parses to another request");
  fm_buf_free(&out);
}

static void check_peer(const fm_control_peer *p) {
  FZ_CHECK(memchr(p->addr, 0, sizeof p->addr) && memchr(p->origin, 0, sizeof p->origin) &&
               memchr(p->name, 0, sizeof p->name) && memchr(p->team, 0, sizeof p->team) &&
               memchr(p->state, 0, sizeof p->state) &&
               memchr(p->last_error, 0, sizeof p->last_error),
           "a peer's string is not terminated");
}

static void check_response(const uint8_t *data, size_t size) {
  fm_control_resp r;
  if (fm_control_parse_response(data, size, &r) < 0) return;
  FZ_CHECK(r.npeers <= FM_CONTROL_PEERS_MAX, "too many peers parsed");
  FZ_CHECK(memchr(r.error, 0, sizeof r.error) != NULL, "the error is not terminated");
  for (size_t i = 0; i < r.npeers; i++) check_peer(&r.peers[i]);
  if (r.has_peer) check_peer(&r.peer);
  fm_control_resp_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const uint8_t *body;
  size_t body_len;
  check_request(data, size);
  check_response(data, size);
  if (fm_control_frame(data, size, &body, &body_len) == 1)
    FZ_CHECK(body == data + FM_CONTROL_HDR && body_len <= size - FM_CONTROL_HDR,
             "a frame reaches past the bytes received");
  return 0;
}
