/* The roster: every device this store holds an enrollment for, with what
 * the store knows of its log, and finding one device by name or by id
 * prefix (what `members` lists and `revoke` takes). */
#ifndef FIELDMESH_CLI_ROSTER_H
#define FIELDMESH_CLI_ROSTER_H

#include "cli.h"
#include "fieldmesh/roster.h"

/* An id prefix names a device only from this many hex digits on: four
 * would match by chance in a mesh of a few hundred laptops. */
#define FMC_ID_PREFIX_MIN 8

/* The store's roster (fieldmesh/roster.h), under the CLI's names. */
typedef fm_roster_member fmc_member;
typedef fm_roster fmc_roster;

/* Every enrolled device, by team, then name, then id.  Prints the error
 * and returns FMC_FAIL when the store cannot be read. */
int fmc_roster_load(fmc_ctx *c, fmc_roster *r);
void fmc_roster_free(fmc_roster *r);

/* The one device |arg| names: a member's name (exactly as enrolled; of
 * several devices of that name, those not revoked yet count first), an id
 * prefix of FMC_ID_PREFIX_MIN hex digits or more, or a whole 64-digit id
 * (a device this store has no enrollment for too: a revocation may come
 * first).  |out| receives a copy.  Prints one line and returns FMC_USAGE
 * (a prefix too short) or FMC_FAIL (nothing, or several devices, match:
 * the line lists them). */
int fmc_roster_find(fmc_ctx *c, const fmc_roster *r, const char *arg, fmc_member *out);

/* The stamp of |device|'s entry |seq| as held here (the writer's clock),
 * 0 when this store does not hold it. */
fm_time fmc_roster_written_at(fmc_ctx *c, const uint8_t device[FM_KEY_LEN], uint64_t seq);

/* "Lò Thị Lan (Team 1, 8612cc5c5b1e)", or "device 8612cc5c5b1e" for a
 * device without enrollment, into |buf| (|cap| bytes). */
const char *fmc_member_label(const fmc_member *m, char *buf, size_t cap);

/* What a person reads for the author of an entry: "Lò Thị Lan (Team 1)"
 * from the enrollment this store holds, or "device 8612cc5c5b1e" when it
 * holds none.  |name| and |team| (either may be NULL) receive the parts,
 * empty for a device without enrollment.  The store must be open. */
const char *fmc_author_label(fmc_ctx *c, const uint8_t device[FM_KEY_LEN], char *buf,
                             size_t cap);
void fmc_author_parts(fmc_ctx *c, const uint8_t device[FM_KEY_LEN],
                      char name[FM_NAME_MAX], char team[FM_NAME_MAX]);

#endif
