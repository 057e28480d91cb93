/* Sealed personal fields in the command line (docs/privacy.md): whether
 * this laptop seals what it writes, the sealer for a new record, and
 * opening the fields of records before they are shown. */
#ifndef FIELDMESH_CLI_SEAL_H
#define FIELDMESH_CLI_SEAL_H

#include "cli.h"
#include "fieldmesh/keys.h"

/* Readies |*out| for sealing a record this laptop writes now: NULL when
 * [privacy] seal is off in STATE/fieldmeshd.conf (or the file is
 * absent), else a sealer whose key is granted, appending a new
 * `seal.grant` first when the month or the readers changed.  Requires
 * fmc_load_device().  Returns 0, or FMC_FAIL / FMC_USAGE after one line
 * (a bad setting, a store error, a refused grant). */
int fmc_sealer(fmc_ctx *c, const fm_sealer **out);

/* Opens the sealed fields of a decoded record in place (store/keys.h),
 * with this laptop's device key when it has one; fields it cannot open
 * show "(sealed: TEAM)" or "(unreadable)".  |o| holds the texts and must
 * outlive the view's use. */
void fmc_open_dossier(fmc_ctx *c, fm_dossier_view *d, fm_opened *o, const char *id, size_t n);
void fmc_open_visit(fmc_ctx *c, fm_visit_view *v, fm_opened *o, const char *id, size_t n);

/* Opens one sealed value (an attachment's name or key) as
 * fm_keyring_open_value: 0, FM_ERR_NOTFOUND (no key here) or
 * FM_ERR_DECRYPT (damaged). */
int fmc_open_value(fmc_ctx *c, const uint8_t author[FM_KEY_LEN], fm_str id, const char *field,
                   const uint8_t *p, size_t n, char *out, size_t cap, size_t *out_n);

/* What the openings so far met (all zero when nothing was sealed). */
fm_seal_counts fmc_seal_counts(void);

/* Frees this process's keyring (wiping its keys), first saying in one
 * warning how many sealed fields did not open (damaged), if any;
 * fmc_close() calls it.  |c| may be NULL (no warning). */
void fmc_seal_close(fmc_ctx *c);

#endif
