/* fieldmesh-bench-dossiers: writes many dossiers quickly, for
 * bench/bench_web.sh.
 *
 *   fieldmesh-bench-dossiers STATE N VILLAGE TEAM
 *
 * Appends N dossiers by the device in STATE (its key and enrollment must
 * be there), procedures taken in turn from the catalogue, and moves every
 * second one to submitted (with a portal reference) and every fifth to
 * delivered, through fm_store_append with commits not flushed to disk: a
 * benchmark's data, not a member's. */
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

static int append(fm_store *s, const fm_identity *id, const char *kind, const fm_buf *b,
                  fm_time at) {
  return fm_store_append(s, id, kind, b->p, b->len, at, NULL, NULL);
}

static int one(fm_store *s, const fm_identity *id, fm_buf *b, long i, fm_time at,
               const char *village, const char *team) {
  char did[24], name[64], ref[64];
  uint8_t rnd[2];
  int rv;
  randombytes_buf(rnd, 2);
  fm_record_id('D', (uint64_t)at, id->pk, rnd, did);
  snprintf(name, sizeof name, "Công dân số %ld", i);
  const fm_procedure *pr = fm_procedure_at((size_t)i % fm_procedure_count());
  char day[16];
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

int main(int argc, char **argv) {
  char path[4096];
  fm_identity id;
  fm_store *s;
  fm_store_opts o;
  fm_buf b;
  int rv;
  if (argc != 5 || atol(argv[2]) <= 0) {
    fprintf(stderr, "usage: fieldmesh-bench-dossiers STATE N VILLAGE TEAM\n");
    return 2;
  }
  long n = atol(argv[2]);
  if (sodium_init() < 0) return 1;
  snprintf(path, sizeof path, "%s/device.key", argv[1]);
  if ((rv = fm_keyfile_read(path, &id)) < 0) {
    fprintf(stderr, "fieldmesh-bench-dossiers: %s: %s\n", path, fm_strerror(rv));
    return 1;
  }
  memset(&o, 0, sizeof o);
  o.nosync = 1;
  snprintf(path, sizeof path, "%s/store", argv[1]);
  if ((rv = fm_store_open(path, &o, &s)) < 0) {
    fprintf(stderr, "fieldmesh-bench-dossiers: %s: %s\n", path, fm_strerror(rv));
    return 1;
  }
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  /* Spread over the last 300 days, a few minutes apart. */
  fm_time now = (fm_time)ts.tv_sec * 1000 - 300LL * 86400000;
  fm_buf_init(&b, 4096);
  for (long i = 0; i < n && rv == 0; i++)
    rv = one(s, &id, &b, i, now + i * (300LL * 86400000 / n), argv[3], argv[4]);
  if (rv < 0) fprintf(stderr, "fieldmesh-bench-dossiers: append: %s\n", fm_strerror(rv));
  fm_buf_free(&b);
  fm_store_close(s);
  fm_identity_wipe(&id);
  return rv < 0;
}
