/* Reading bundle, vector and join files, with messages that say what is
 * wrong with the file and what to do about it. */
#ifndef FIELDMESH_CLI_CONTAINER_H
#define FIELDMESH_CLI_CONTAINER_H

#include "cli.h"
#include "fieldmesh/bundle.h"

/* Reads |path|, which must be a container of kind |magic| (FM_*_MAGIC).
 * On failure prints one line and returns FMC_FAIL; on success |b| is the
 * caller's (fm_bundle_free). */
int fmc_container_read(fmc_ctx *c, const char *path, const char *magic, fm_bundle *b);

/* Checks that |b| comes from this store's commune; prints and returns
 * FMC_FAIL when not (or when this laptop has joined no commune yet). */
int fmc_container_commune(fmc_ctx *c, const char *path, const fm_bundle *b);

/* "bundle", "vector file" or "join file". */
const char *fmc_container_kind(const char *magic);

#endif
