#include "signed.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

void signed_entry_make(signed_entry *s, const fm_identity *id, uint64_t seq, fm_time ms,
                       const char *kind, fm_buf *body) {
  static const uint8_t prev[FM_ID_LEN] = {1};
  fm_limits lim = fm_limits_default();
  assert_int_equal(fm_buf_error(body), 0);
  fm_buf_init(&s->bytes, FM_ENTRY_MAX);
  assert_int_equal(fm_entry_build(&s->bytes, id, seq, seq > 1 ? prev : NULL,
                                  fm_hlc_make((uint64_t)ms, 0), kind, body->p, body->len),
                   0);
  assert_int_equal(fm_entry_decode(s->bytes.p, s->bytes.len, &lim, &s->e), 0);
  fm_buf_free(body);
}
