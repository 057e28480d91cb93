/* What the command line says about the commune's system upstream: for a
 * dossier or visit, which of its entries a gateway's receipt names (when,
 * where); for `status`, how many of this laptop's entries still wait for
 * a receipt, and on a gateway, each sink's forwarding. */
#ifndef FIELDMESH_CLI_UPSTREAM_H
#define FIELDMESH_CLI_UPSTREAM_H

#include "cli.h"
#include "fieldmesh/delivery.h"
#include "fieldmesh/forward.h"
#include "out.h"

#define FMC_UPSTREAM_ROWS 64   /* entries of one record shown, at most */
#define FMC_REFUSED_BATCHES 3  /* answered batches leaving one entry out before it is a problem */
#define FMC_SINK_FAILURES 3    /* failed deliveries in a row before they are a problem */

/* "seq 12 of Lò Thị Lan (Team 1), left out of 4 answered batches in a
 * row" into |out| when |st| shows one entry left out FMC_REFUSED_BATCHES
 * times or more and returns 1; else 0 (|out| ""). */
int fmc_upstream_refused(fmc_ctx *c, const fm_fwd_status *st, char *out, size_t cap);
/* Likewise, 1 and a line in |out| when |st| has scans waiting for their
 * chunks (their authors' entries wait behind them). */
int fmc_upstream_scans_waiting(fmc_ctx *c, const fm_fwd_status *st, char *out, size_t cap);

typedef struct fmc_up_row {
  uint8_t author[FM_KEY_LEN];
  uint64_t seq;
  char kind[FM_KIND_MAX + 1];   /* "" when this store does not hold the entry */
  int receipted;
  fm_delivery d;                /* when |receipted| */
} fmc_up_row;

typedef struct fmc_upstream {
  size_t n, receipted;
  fmc_up_row rows[FMC_UPSTREAM_ROWS];
} fmc_upstream;

/* The entries of record |id| of kind |k| that this store knows of: those
 * its view names (|stamps|, |nstamps|; unset ones skipped) and those some
 * receipt names, each once, by author and seq. */
int fmc_upstream_of(fmc_ctx *c, fm_view_kind k, const char *id, const fm_stamp *stamps,
                    size_t nstamps, fmc_upstream *out);

/* Rows "upstream" and one per entry (its writer by name) for the
 * FIELD|VALUE table of `show`. */
void fmc_upstream_rows(fmc_ctx *c, const fmc_upstream *u, fmc_table *t);
/* "upstream": {"delivered": bool, "entries": [...]} inside an open object. */
void fmc_upstream_json(const fmc_upstream *u, fmc_json *j);

/* `status`: own entries without a receipt, and the gateway's sinks. */
typedef struct fmc_up_status {
  int gateway;                  /* this laptop forwards (role gateway) */
  uint64_t own, receipted;      /* own entries, those a receipt names */
} fmc_up_status;
int fmc_upstream_status(fmc_ctx *c, const uint8_t self[FM_KEY_LEN], uint64_t self_seq,
                        int gateway, fmc_up_status *out);
void fmc_upstream_status_text(fmc_ctx *c, const fmc_up_status *s);
void fmc_upstream_status_json(fmc_ctx *c, const fmc_up_status *s, fmc_json *j);

#endif
