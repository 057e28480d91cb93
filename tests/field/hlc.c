/* fm-hlc: the clock stamp of a laptop's newest own entry, for the field
 * tests (tests/field/clock_ahead.sh).
 *
 *   fm-hlc STATE
 *
 * Prints the milliseconds part of the hybrid logical clock of the last
 * entry the device in STATE wrote, read from its store (read-only).
 * Exits 1 when the device has written nothing or the store cannot be
 * read, 2 for bad arguments. */
#include <stdio.h>
#include <string.h>

#include "fieldmesh/entry.h"
#include "fieldmesh/error.h"
#include "fieldmesh/hlc.h"
#include "fieldmesh/store.h"

static int on_entry(void *ctx, const uint8_t *bytes, size_t len) {
  fm_entry e;
  if (fm_entry_decode(bytes, len, NULL, &e) < 0) return FM_ERR_MALFORMED;
  *(uint64_t *)ctx = fm_hlc_ms(e.hlc);
  return 1;
}

int main(int argc, char **argv) {
  char path[4096];
  uint8_t self[FM_KEY_LEN];
  fm_store *s;
  fm_store_opts o;
  fm_store_stats st;
  uint64_t ms = 0;
  int rv;
  if (argc != 2) {
    fprintf(stderr, "usage: fm-hlc STATE\n");
    return 2;
  }
  memset(&o, 0, sizeof o);
  o.read_only = 1;
  snprintf(path, sizeof path, "%s/store", argv[1]);
  if ((rv = fm_store_open(path, &o, &s)) < 0) {
    fprintf(stderr, "fm-hlc: %s: %s\n", path, fm_strerror(rv));
    return 1;
  }
  if ((rv = fm_store_self(s, self)) == 0 && (rv = fm_store_stats_get(s, &st)) == 0) {
    rv = st.self_seq ? fm_store_read_after(s, self, st.self_seq - 1, 0, on_entry, &ms)
                     : FM_ERR_NOTFOUND;
  }
  fm_store_close(s);
  if (rv < 0 || ms == 0) {
    fprintf(stderr, "fm-hlc: %s: no own entry: %s\n", argv[1],
            fm_strerror(rv < 0 ? rv : FM_ERR_NOTFOUND));
    return 1;
  }
  printf("%llu\n", (unsigned long long)ms);
  return 0;
}
