/* fm-fill: writes many visits quickly, for the daemon's tests.
 *
 *   fm-fill STATE N
 *
 * Appends N visits by the device in STATE (its key and enrollment must be
 * there) through the same fm_store_append the CLI uses, with commits not
 * flushed to disk: a test's data, not a member's.  Prints the device's
 * entry count at the end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "fieldmesh/error.h"
#include "fieldmesh/keyfile.h"
#include "fieldmesh/record.h"
#include "fieldmesh/store.h"

int main(int argc, char **argv) {
  char path[4096];
  fm_identity id;
  fm_store *s;
  fm_store_opts o;
  fm_buf b;
  int rv;
  if (argc != 3 || atol(argv[2]) <= 0) {
    fprintf(stderr, "usage: fm-fill STATE N\n");
    return 2;
  }
  long n = atol(argv[2]);
  if (sodium_init() < 0) return 1;
  snprintf(path, sizeof path, "%s/device.key", argv[1]);
  if ((rv = fm_keyfile_read(path, &id)) < 0) {
    fprintf(stderr, "fm-fill: %s: %s\n", path, fm_strerror(rv));
    return 1;
  }
  memset(&o, 0, sizeof o);
  o.nosync = 1;
  snprintf(path, sizeof path, "%s/store", argv[1]);
  if ((rv = fm_store_open(path, &o, &s)) < 0) {
    fprintf(stderr, "fm-fill: %s: %s\n", path, fm_strerror(rv));
    return 1;
  }
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  fm_time now = (fm_time)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
  fm_buf_init(&b, 4096);
  for (long i = 0; i < n && rv == 0; i++) {
    char vid[24];
    uint8_t rnd[2];
    randombytes_buf(rnd, 2);
    fm_record_id('V', (uint64_t)(now + i), id.pk, rnd, vid);
    fm_visit_in v = {vid, "Team 1", "Nghĩa Tân", "thôn Nà Sài", "2023-11-14",
                     "hướng dẫn công dân nộp hồ sơ trực tuyến và thanh toán lệ phí",
                     FM_MODE_HOME, 3, (uint64_t)(1 + i % 5)};
    fm_buf_reset(&b);
    if ((rv = fm_visit_body(&b, &v)) == 0)
      rv = fm_store_append(s, &id, FM_KIND_VISIT, b.p, b.len, now + i, NULL, NULL);
  }
  if (rv < 0) fprintf(stderr, "fm-fill: append: %s\n", fm_strerror(rv));
  fm_store_stats st;
  if (rv == 0 && fm_store_stats_get(s, &st) == 0) printf("%llu\n", (unsigned long long)st.self_seq);
  fm_buf_free(&b);
  fm_store_close(s);
  fm_identity_wipe(&id);
  return rv < 0;
}
