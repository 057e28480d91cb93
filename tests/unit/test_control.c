/* The control socket's responses (include/fieldmesh/control.h): what the
 * daemon writes about its peers is what `fieldmesh peers` reads back,
 * field for field, even with every string at its longest and every
 * number at its largest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fieldmesh/control.h"

static void fill(fm_control_peer *p, int k) {
  memset(p, 0, sizeof *p);
  memset(p->addr, 'a' + k, sizeof p->addr - 1);
  snprintf(p->origin, sizeof p->origin, "static");
  p->has_id = 1;
  memset(p->id, 0x40 + k, sizeof p->id);
  memset(p->name, 'n', sizeof p->name - 1);
  memset(p->team, 't', sizeof p->team - 1);
  snprintf(p->state, sizeof p->state, "live");
  memset(p->last_error, 'e', sizeof p->last_error - 1);
  memset(p->last_refused, 'r', sizeof p->last_refused - 1);
  uint64_t *n[] = {&p->bytes_in, &p->bytes_out, &p->entries_in, &p->entries_out, &p->to_send,
                   &p->to_recv, &p->to_send_bytes, &p->to_recv_bytes, &p->rate_in,
                   &p->rate_out, &p->refused, &p->failures, &p->chunks_in, &p->chunks_out,
                   &p->chunks_bad};
  for (size_t i = 0; i < sizeof n / sizeof n[0]; i++) *n[i] = UINT64_MAX - i - (uint64_t)k;
  p->since = p->last_connected = p->caught_up_at = p->next_attempt = INT64_MAX - k;
}

static void peers_round_trip(void **state) {
  static fm_control_peer in[FM_CONTROL_PEERS_MAX];
  fm_control_resp r;
  fm_buf b;
  (void)state;
  for (int k = 0; k < FM_CONTROL_PEERS_MAX; k++) fill(&in[k], k % 16);
  fm_buf_init(&b, FM_CONTROL_HDR + FM_CONTROL_FRAME_MAX);
  assert_int_equal(fm_control_write_peers(&b, in, FM_CONTROL_PEERS_MAX), 0);
  assert_int_equal(fm_control_parse_response(b.p + FM_CONTROL_HDR, b.len - FM_CONTROL_HDR, &r), 0);
  assert_true(r.has_peers);
  assert_int_equal(r.npeers, FM_CONTROL_PEERS_MAX);
  for (size_t k = 0; k < r.npeers; k++) {
    assert_string_equal(r.peers[k].last_refused, in[k].last_refused);
    assert_int_equal(r.peers[k].chunks_in, in[k].chunks_in);
    assert_int_equal(r.peers[k].chunks_out, in[k].chunks_out);
    assert_int_equal(r.peers[k].chunks_bad, in[k].chunks_bad);
    assert_memory_equal(&r.peers[k], &in[k], sizeof in[k]);
  }
  fm_control_resp_free(&r);
  fm_buf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(peers_round_trip)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
