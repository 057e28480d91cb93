#include "enrolled.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

void enrolled_append(fm_store *s, const fm_identity *auth, const fm_identity *dev, fm_role role,
                     const char *name, const char *team, fm_time ms) {
  fm_buf b;
  fm_enrollment en;
  memset(&en, 0, sizeof en);
  memcpy(en.device, dev->pk, FM_KEY_LEN);
  snprintf(en.name, sizeof en.name, "%s", name);
  snprintf(en.team, sizeof en.team, "%s", team);
  snprintf(en.commune, sizeof en.commune, "%s", "Tân Quang");
  en.role = role;
  fm_buf_init(&b, 4096);
  assert_int_equal(fm_enroll_body(&b, &en), 0);
  assert_int_equal(fm_store_append(s, auth, FM_KIND_ENROLL, b.p, b.len, ms, NULL, NULL), 0);
  fm_buf_free(&b);
}
