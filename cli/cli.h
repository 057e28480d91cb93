/* The fieldmesh command: what every command shares.
 *
 * Exit codes: 0 done, 1 the command failed (store, file, trust), 2 the
 * command line was wrong.  Every failure prints exactly one line on stderr,
 * "fieldmesh <command>: <what>, <value>, <fix>"; warnings are lines that
 * start with "fieldmesh <command>: warning:" and do not change the code.
 */
#ifndef FIELDMESH_CLI_H
#define FIELDMESH_CLI_H

#include <stdio.h>

#include "fieldmesh/copies.h"
#include "fieldmesh/enroll.h"
#include "fieldmesh/identity.h"
#include "fieldmesh/store.h"

#define FMC_OK 0
#define FMC_FAIL 1
#define FMC_USAGE 2
#define FMC_HELP (-1)   /* --help was printed: exit 0 */

#define FMC_PATH_MAX 4096

typedef struct fmc_ctx {
  const char *cmd;            /* "visit add": the prefix of every message */
  const char *state_opt;      /* --state, when given */
  char state[FMC_PATH_MAX];   /* the state folder, once resolved */
  int json;                   /* --json */
  fm_time now;                /* FIELDMESH_NOW or the clock */
  fm_store *store;            /* NULL until fmc_open() */
  fm_identity device;         /* valid when have_device */
  int have_device;
  char damage[256];           /* why the store is damaged, when it is */
} fmc_ctx;

typedef int (*fmc_cmd_fn)(fmc_ctx *c, int argc, char **argv);

/* One-line messages on stderr, prefixed "fieldmesh <cmd>: ".  fmc_usage
 * returns FMC_USAGE and fmc_fail FMC_FAIL, so a command can `return` them. */
int fmc_usage(const fmc_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int fmc_fail(const fmc_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void fmc_warn(const fmc_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Maps FMC_HELP to 0: what main() should return. */
static inline int fmc_exit(int rv) { return rv == FMC_HELP ? FMC_OK : rv; }

/* ---- time and randomness ------------------------------------------------- */

/* FIELDMESH_NOW (milliseconds since the epoch, for tests) or the clock.
 * FMC_USAGE when FIELDMESH_NOW is set but not a number. */
int fmc_now(fmc_ctx *c);
void fmc_random(void *buf, size_t n);

/* ---- the state folder ----------------------------------------------------- */

/* Resolves --state, FIELDMESH_STATE or ~/.local/share/fieldmesh into
 * |c->state|.  |create|: make the folder (0700) when missing. */
int fmc_state(fmc_ctx *c, int create);
/* |c->state|/|name| into |out| (FMC_PATH_MAX bytes). */
int fmc_path(const fmc_ctx *c, const char *name, char *out);

/* Opens the store in STATE/store (creating the folder).  The state folder
 * must exist unless |create|. */
int fmc_open(fmc_ctx *c, int create);
void fmc_close(fmc_ctx *c);

/* The one line for a store error |rv|: a damaged store ("this laptop's
 * store is damaged (why): run fieldmesh recover"), a full disk
 * (fm_disk_full_message for the state folder), else "|what|: reason".
 * Returns FMC_FAIL. */
int fmc_store_fail(fmc_ctx *c, int rv, const char *what);

/* Loads STATE/device.key into |c->device| and makes sure the store knows it
 * as its own.  Requires fmc_open(). */
int fmc_load_device(fmc_ctx *c);
/* Loads STATE/authority.key; the store must already name it its authority. */
int fmc_load_authority(fmc_ctx *c, fm_identity *id);

/* This laptop's enrollment, with a message telling how to join when there
 * is none.  |revoked_after| may be NULL. */
int fmc_self_enrollment(fmc_ctx *c, fm_enrollment *en, uint64_t *revoked_after);

/* This laptop's own entries (author |self|) by their copies on other
 * laptops, judged with the safe_copies its daemon recorded (copies.h). */
int fmc_own_copies(fmc_ctx *c, const uint8_t self[FM_KEY_LEN], fm_copies *out);

/* Appends an entry, turning the store's refusals (behind the mesh,
 * revoked, expired, not enrolled) into messages that say what to do.
 * |seq| may be NULL. */
int fmc_append(fmc_ctx *c, const fm_identity *id, const char *kind,
               const fm_buf *body, uint64_t *seq);

/* "a1b2c3d4…" short form of a key, for messages (|out| holds 16 bytes). */
const char *fmc_short_id(const uint8_t *key, char out[16]);

/* "Lò Thị Lan (Team 1)", or "device a1b2c3d4…" when the store has no
 * enrollment for |key|; into |buf| (|cap| bytes). */
const char *fmc_device_label(fmc_ctx *c, const uint8_t key[FM_KEY_LEN], char *buf, size_t cap);

#endif
