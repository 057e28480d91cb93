/* The control socket: STATE/fieldmeshd.sock, mode 0600, speaking the
 * protocol of include/fieldmesh/control.h to the `fieldmesh` command.
 *
 * At most FMD_CTL_CLIENTS_MAX clients at once; each is answered one
 * request at a time (reading pauses while a reply is being written or a
 * sync is waiting for its connection), so a client's queue holds one
 * reply at most.
 *
 * A client that sends nothing for FMD_CTL_IDLE_MS is closed, and when all
 * slots are taken a new client takes the slot of the one idle longest (a
 * client being answered or waiting on a sync is never pushed out): clients
 * that connect and stay silent, however many, cannot lock the `fieldmesh`
 * command out.  The command retries briefly when it is turned away.
 */
#ifndef FMD_CTL_H
#define FMD_CTL_H

#include <limits.h>

#include <uv.h>

#include "fieldmesh/control.h"
#include "log.h"

#define FMD_CTL_CLIENTS_MAX 16
#define FMD_CTL_IDLE_MS 5000   /* the CLI sends its request at once */

typedef struct fmd_node fmd_node;
typedef struct fmd_addr fmd_addr;
typedef struct fmd_ctl fmd_ctl;

typedef struct fmd_ctl_client {
  fmd_ctl *ctl;
  struct fmd_ctl_client *next;
  uv_pipe_t pipe;
  uv_timer_t idle;         /* closes a silent client */
  uint64_t last_active;    /* loop time of its last request or reply */
  int handles;             /* handles still open; freed at 0 */
  int closing;
  int busy;                /* a reply is being written or a sync waits */
  int close_after;         /* hang up once the reply is written */
  fmd_addr *waiting;       /* sync: answered when this address connects or fails */
  size_t in_len;
  uint8_t in[FM_CONTROL_HDR + FM_CONTROL_FRAME_MAX];
} fmd_ctl_client;

struct fmd_ctl {
  fmd_node *d;
  uv_pipe_t server;
  int open;                /* server initialised (must be closed) */
  int bound;               /* the socket file is ours to remove */
  char path[PATH_MAX];
  fmd_ctl_client *clients;
  size_t nclients;
};

/* Binds |path|, replacing a stale socket file but refusing (-EADDRINUSE,
 * with a line in |err|) when another daemon answers on it. */
int fmd_ctl_start(fmd_ctl *ctl, fmd_node *d, uv_loop_t *loop, const char *path,
                  char *err, size_t cap);

/* Stops accepting clients and removes the socket file. */
void fmd_ctl_stop_listening(fmd_ctl *ctl);

/* Closes every client (after fmd_ctl_stop_listening). */
void fmd_ctl_close_clients(fmd_ctl *ctl);

/* Answers the sync requests waiting on |a|: connected (|peer|) or failed
 * (|error|). */
void fmd_ctl_sync_done(fmd_ctl *ctl, const fmd_addr *a, const fm_control_peer *peer,
                       const char *error);

#endif
