/* Address records: every address the daemon dials or was dialled from,
 * with what `fieldmesh peers` shows about it (the device behind it, the
 * last error, failures, last connected, last completed exchange) and,
 * for static peers, the reconnect schedule: exponential backoff from
 * reconnect_min_ms to reconnect_max_ms with jitter, so that laptops that
 * lost the same Wi-Fi do not all knock at once when it returns.
 *
 * A record owns a uv_timer_t (embedded) and is freed in its close
 * callback.  At most FMD_ADDRS_MAX records exist; when full, the oldest
 * disconnected incoming or manual record makes room.
 */
#ifndef FMD_ADDR_H
#define FMD_ADDR_H

#include <uv.h>

#include "fieldmesh/control.h"
#include "hostport.h"

#define FMD_ADDRS_MAX FM_CONTROL_PEERS_MAX  /* so `fieldmesh peers` lists all */

typedef struct fmd_node fmd_node;
typedef struct fmd_peer fmd_peer;

/* How the address became known: the config, a caller, `fieldmesh sync`, a
 * LAN beacon (discovery.h).  Only static records redial on their own. */
typedef enum fmd_origin { FMD_STATIC, FMD_INCOMING, FMD_MANUAL, FMD_BEACON } fmd_origin;

typedef struct fmd_addr {
  fmd_node *d;
  struct fmd_addr *next;          /* in d->addrs, oldest first */
  char text[FM_CONTROL_ADDR_MAX]; /* as given, or the remote "ip:port" */
  fmd_hostport hp;
  fmd_origin origin;
  fmd_peer *conn;                 /* the live connection, or NULL */
  uv_timer_t retry;
  uv_getaddrinfo_t gai;
  int resolving;                  /* gai in flight */
  int closing;                    /* uv_close called: freed in the callback */
  int has_id;
  uint8_t id[FM_KEY_LEN];
  char name[FM_NAME_MAX], team[FM_NAME_MAX];
  fm_time last_connected, caught_up_at, next_attempt, dial_started;
  char last_error[FM_CONTROL_TEXT_MAX];
  uint64_t failures;              /* all failed attempts and sessions */
  uint32_t streak;                /* failures since the last completed exchange */
  int covered;                    /* the node is connected through another record */
  int is_self;                    /* this address leads back to us */
} fmd_addr;

/* Finds the record for |text|, or NULL. */
fmd_addr *fmd_addr_find(fmd_node *d, const char *text);

/* Makes a record (appended to d->addrs).  0, -1 with a reason in |why|
 * (a bad address, or no room left). */
int fmd_addr_new(fmd_node *d, const char *text, fmd_origin origin, fmd_addr **out,
                 char *why, size_t cap);

/* Dials now (resolving the name first), unless connected, dialling, or
 * connected to the same node through another record. */
void fmd_addr_dial(fmd_addr *a);

/* A static record plans its next dial after the backoff for its streak. */
void fmd_addr_schedule(fmd_addr *a);

/* The dial failed before a connection existed, or a connection ended;
 * |reason| says why (NULL: not a failure). */
void fmd_addr_note_failure(fmd_addr *a, const char *reason);

/* Stops its timer and resolution and frees it in the close callback. */
void fmd_addr_close(fmd_addr *a);

const char *fmd_origin_name(fmd_origin o);

/* The address part of a peer report: origin, device, history, schedule. */
void fmd_addr_report(const fmd_addr *a, fm_control_peer *out);

/* Milliseconds to wait after |streak| failures: min * 2^streak, at most
 * max, then a random point in its upper half (|r| uniform in 0..2^32-1). */
uint64_t fmd_backoff_ms(uint32_t min, uint32_t max, uint32_t streak, uint32_t r);

#endif
