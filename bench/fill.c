/* fm-fill: writes many records quickly into a laptop's state folder, for
 * the daemon's tests and the dashboard's benchmark.
 *
 *   fm-fill STATE N                       N visits, stamped from now on;
 *                                         prints the device's entry count
 *   fm-fill STATE N --dossiers VILLAGE TEAM
 *                                         N dossiers over the last 300 days,
 *                                         procedures in turn from the
 *                                         catalogue; every second one
 *                                         submitted, every fifth delivered
 *
 * The device in STATE (its key and enrollment must be there) appends them
 * through the same fm_store_append the CLI uses, with commits not flushed
 * to disk: a test's or a benchmark's data, not a member's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "fieldmesh/error.h"
#include "fieldmesh/keyfile.h"
#include "fieldmesh/procedure.h"
#include "fieldmesh/record.h"
#include "fieldmesh/report.h"
#include "fieldmesh/store.h"

#define DAY_MS 86400000LL

static int append(fm_store *s, const fm_identity *id, const char *kind, const fm_buf *b,
                  fm_time at) {
  return fm_store_append(s, id, kind, b->p, b->len, at, NULL, NULL);
}

static int visit(fm_store *s, const fm_identity *id, fm_buf *b, long i, fm_time at) {
  char vid[24];
  uint8_t rnd[2];
  int rv;
  randombytes_buf(rnd, 2);
  fm_record_id('V', (uint64_t)at, id->pk, rnd, vid);
  fm_visit_in v = {vid, "Team 1", "Nghĩa Tân", "thôn Nà Sài", "2023-11-14",
                   "hướng dẫn công dân nộp hồ sơ trực tuyến và thanh toán lệ phí",
                   FM_MODE_HOME, 3, (uint64_t)(1 + i % 5)};
  fm_buf_reset(b);
  if ((rv = fm_visit_body(b, &v)) != 0) return rv;
  return append(s, id, FM_KIND_VISIT, b, at);
}

static int dossier(fm_store *s, const fm_identity *id, fm_buf *b, long i, fm_time at,
                   const char *village, const char *team) {
  char did[24], name[64], ref[64], day[16];
  uint8_t rnd[2];
  int rv;
  randombytes_buf(rnd, 2);
  fm_record_id('D', (uint64_t)at, id->pk, rnd, did);
  snprintf(name, sizeof name, "Công dân số %ld", i);
  const fm_procedure *pr = fm_procedure_at((size_t)i % fm_procedure_count());
  fm_report_day(at, day);
  fm_dossier_in d = {did, pr->code, name, "001234567890", "0912345678", village, team,
                     "portal", NULL, NULL, day};
  fm_buf_reset(b);
  if ((rv = fm_dossier_body(b, &d)) || (rv = append(s, id, FM_KIND_DOSSIER, b, at))) return rv;
  if (i % 2) return 0;
  snprintf(ref, sizeof ref, "000.00.12.H10-%06ld", i);
  fm_buf_reset(b);
  int st = i % 5 == 0 ? FM_ST_DELIVERED : FM_ST_SUBMITTED;
  if ((rv = fm_dossier_status_body(b, did, st, ref, NULL))) return rv;
  return append(s, id, FM_KIND_DOSSIER_STATUS, b, at + 1);
}

/* Opens STATE's store and reads its device key; 0 or 1 (said on stderr). */
static int open_laptop(const char *state, fm_identity *id, fm_store **s) {
  char path[4096];
  fm_store_opts o = {.nosync = 1};
  int rv;
  snprintf(path, sizeof path, "%s/device.key", state);
  if ((rv = fm_keyfile_read(path, id)) < 0) {
    fprintf(stderr, "fm-fill: %s: %s\n", path, fm_strerror(rv));
    return 1;
  }
  snprintf(path, sizeof path, "%s/store", state);
  if ((rv = fm_store_open(path, &o, s)) < 0) {
    fprintf(stderr, "fm-fill: %s: %s\n", path, fm_strerror(rv));
    fm_identity_wipe(id);
    return 1;
  }
  return 0;
}

int main(int argc, char **argv) {
  fm_identity id;
  fm_store *s;
  fm_buf b;
  int rv = 0;
  int dossiers = argc == 6 && strcmp(argv[3], "--dossiers") == 0;
  if ((argc != 3 && !dossiers) || atol(argv[2]) <= 0) {
    fprintf(stderr, "usage: fm-fill STATE N [--dossiers VILLAGE TEAM]\n");
    return 2;
  }
  long n = atol(argv[2]);
  if (sodium_init() < 0 || open_laptop(argv[1], &id, &s)) return 1;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  fm_time now = (fm_time)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
  fm_buf_init(&b, 4096);
  /* Dossiers are spread over the last 300 days, a few minutes apart. */
  for (long i = 0; i < n && rv == 0; i++)
    rv = dossiers ? dossier(s, &id, &b, i, now - 300 * DAY_MS + i * (300 * DAY_MS / n),
                            argv[4], argv[5])
                  : visit(s, &id, &b, i, now + i);
  if (rv < 0) fprintf(stderr, "fm-fill: append: %s\n", fm_strerror(rv));
  fm_store_stats st;
  if (rv == 0 && !dossiers && fm_store_stats_get(s, &st) == 0)
    printf("%llu\n", (unsigned long long)st.self_seq);
  fm_buf_free(&b);
  fm_store_close(s);
  fm_identity_wipe(&id);
  return rv < 0;
}
