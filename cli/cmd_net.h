/* The commands that talk to a running fieldmeshd over its control socket
 * (STATE/fieldmeshd.sock, include/fieldmesh/control.h): peers, sync, the
 * daemon part of status, and the poke after every write. */
#ifndef FIELDMESH_CLI_CMD_NET_H
#define FIELDMESH_CLI_CMD_NET_H

#include "cli.h"
#include "out.h"
#include "fieldmesh/control.h"

/* fieldmesh peers [--json]: every address the daemon knows, its device,
 * state, traffic, progress, rates, last exchange and last error.  Exit 1
 * when no daemon runs. */
int fmc_net_peers(fmc_ctx *c, int argc, char **argv);

/* fieldmesh sync HOST:PORT [--json]: the daemon connects now; returns
 * once the other laptop is admitted (0) or the attempt failed (1). */
int fmc_net_sync(fmc_ctx *c, int argc, char **argv);

/* For `fieldmesh status`, once |c->state| is resolved: the daemon's view
 * (running, listen address, peers connected, own entries only here).
 * With |j|, writes a "daemon" key into the object being written; without,
 * prints "daemon       ..." lines like the rest of status.  When no
 * daemon runs it says "daemon not running"; it never fails. */
void fmc_net_status(fmc_ctx *c, fmc_json *j);

/* The daemon's peers, for other commands (doctor): 0 with |*out| (free it
 * with fm_control_resp_free), 1 when no daemon runs, -1 when it answered
 * badly. */
int fmc_net_peer_list(fmc_ctx *c, fm_control_resp *out);

/* After a command wrote to the store: tells a running daemon to offer the
 * new entries to its peers now.  Silent and quick (2 s at most) whatever
 * happens; without a daemon it does nothing (the daemon offers everything
 * when it starts, and checks the store every 2 s anyway). */
void fmc_net_poke(const char *state_dir);

#endif
