/* The store's wall, checked by the linker: this program links every
 * object of fm_store and fm_proto (whole archives) with only LMDB,
 * libsodium, msgpack-c and utf8proc -- no libuv: the store is usable from
 * any program, the CLI's and the simulator's as well as the daemon's.
 * Running it opens a store in a fresh folder and closes it. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fieldmesh/store.h"

int main(void) {
  char dir[] = "/tmp/fm-store-only-XXXXXX";
  if (!mkdtemp(dir)) return 1;
  fm_store *s = NULL;
  fm_store_opts o = {.nosync = 1};
  int rc = fm_store_open(dir, &o, &s);
  if (rc == 0) fm_store_close(s);
  char path[64];
  snprintf(path, sizeof path, "%s/data.mdb", dir);
  unlink(path);
  snprintf(path, sizeof path, "%s/lock.mdb", dir);
  unlink(path);
  rmdir(dir);
  printf("store_only: fm_store_open -> %d\n", rc);
  return rc == 0 ? 0 : 1;
}
