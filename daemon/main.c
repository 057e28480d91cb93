/* fieldmeshd: the sync daemon of one fieldmesh laptop.
 *
 * Exit codes: 0 after a clean shutdown (SIGTERM, SIGINT, `stop`), 1 when
 * it cannot start (no device key, not enrolled, the port taken, another
 * daemon on the same state folder), 2 for a bad flag or config value. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include <sodium.h>
#include <uv.h>

#include "config.h"
#include "node.h"

int main(int argc, char **argv) {
  fmd_config cfg;
  fmd_node d;
  uv_loop_t loop;
  int rv;
  /* A peer that vanishes mid-write must not kill the daemon. */
  signal(SIGPIPE, SIG_IGN);
  /* The state folder holds citizens' records and keys: nothing the daemon
   * creates (the control socket, store files) is for other users. */
  umask(077);
  /* Holding the device key and citizens' records: no core dump, and no
   * other process of this user may attach to read them. */
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
    fprintf(stderr, "fieldmeshd: warning: cannot turn off core dumps: %s\n", strerror(errno));
  fm_store_catch_sigbus();
  rv = fmd_config_from_args(&cfg, argc, argv, stderr);
  if (rv == FMD_CONFIG_HELP) return FMD_EXIT_OK;
  if (rv != 0) return rv;
  if (sodium_init() < 0) {
    fprintf(stderr, "fieldmeshd: libsodium failed to initialise\n");
    return FMD_EXIT_FAIL;
  }
  if ((rv = uv_loop_init(&loop)) < 0) {
    fprintf(stderr, "fieldmeshd: cannot start the event loop: %s\n", uv_strerror(rv));
    return FMD_EXIT_FAIL;
  }
  rv = fmd_node_start(&d, &loop, &cfg);
  /* After a failed start this only runs the close callbacks. */
  uv_run(&loop, UV_RUN_DEFAULT);
  fmd_node_free(&d);
  if (uv_loop_close(&loop) != 0) {
    fmd_logf(&d.log, FMD_ERROR, "a handle was left open at exit (a bug): please report it");
    return FMD_EXIT_FAIL;
  }
  if (rv == 0) fmd_logf(&d.log, FMD_INFO, "stopped cleanly");
  return rv;
}
