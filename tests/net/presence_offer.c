/* fm-presence-offer: offers a hostile presence note to a running node's
 * store, for the daemon's tests.
 *
 *   fm-presence-offer FROM_STATE TO_STATE stale|forged
 *
 * Signs a note with the device key of FROM_STATE -- an hour old (stale
 * next to a fresh one held), or fresh with one byte of its signature
 * changed (forged) -- and puts it into TO_STATE's store through
 * fm_store_presence_put, as a session would.  Prints what became of it:
 * "kept", "same" or "dropped REASON". */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "fieldmesh/error.h"
#include "fieldmesh/keyfile.h"
#include "fieldmesh/presence_store.h"

static int offer(const char *to, const fm_buf *note, fm_time now) {
  char path[4096];
  fm_store *s;
  fm_store_opts o;
  fm_presence_tally t;
  fm_slice one = {note->p, note->len};
  int rv;
  memset(&o, 0, sizeof o);
  snprintf(path, sizeof path, "%s/store", to);
  if ((rv = fm_store_open(path, &o, &s)) < 0) {
    fprintf(stderr, "fm-presence-offer: %s: %s\n", path, fm_strerror(rv));
    return 1;
  }
  rv = fm_store_presence_put(s, &one, 1, now, &t);
  fm_store_close(s);
  if (rv < 0) {
    fprintf(stderr, "fm-presence-offer: %s\n", fm_strerror(rv));
    return 1;
  }
  for (int i = 0; i < FM_PDROP_N; i++)
    if (t.dropped[i]) printf("dropped %s\n", fm_presence_drop_name((fm_presence_drop)i));
  if (t.kept) printf("kept\n");
  if (t.same) printf("same\n");
  return 0;
}

int main(int argc, char **argv) {
  char path[4096];
  fm_identity id;
  fm_presence p;
  fm_buf b;
  int rv, stale;
  if (argc != 4 || (strcmp(argv[3], "stale") && strcmp(argv[3], "forged"))) {
    fprintf(stderr, "usage: fm-presence-offer FROM_STATE TO_STATE stale|forged\n");
    return 2;
  }
  stale = !strcmp(argv[3], "stale");
  if (sodium_init() < 0) return 1;
  snprintf(path, sizeof path, "%s/device.key", argv[1]);
  if ((rv = fm_keyfile_read(path, &id)) < 0) {
    fprintf(stderr, "fm-presence-offer: %s: %s\n", path, fm_strerror(rv));
    return 1;
  }
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  fm_time now = (fm_time)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
  memset(&p, 0, sizeof p);
  memcpy(p.device, id.pk, FM_KEY_LEN);
  p.wall = stale ? now - 3600 * 1000 : now;
  p.head_seq = 999;
  strcpy(p.version, "hostile");
  fm_buf_init(&b, FM_PRESENCE_MAX);
  rv = fm_presence_sign(&p, &id, &b);
  fm_identity_wipe(&id);
  if (rv < 0) {
    fprintf(stderr, "fm-presence-offer: sign: %s\n", fm_strerror(rv));
    return 1;
  }
  if (!stale) b.p[b.len - 1] ^= 0x01;
  rv = offer(argv[2], &b, now);
  fm_buf_free(&b);
  return rv;
}
