/* Finding visits and dossiers by id or prefix, and naming their fields. */
#ifndef FIELDMESH_CLI_RECORDS_H
#define FIELDMESH_CLI_RECORDS_H

#include "args.h"
#include "cli.h"
#include "fieldmesh/view.h"
#include "out.h"

/* A copy of one view record, owned by the caller (fmc_found_free). */
typedef struct fmc_found {
  char id[FM_RECORD_ID_MAX + 1];
  uint8_t *rec;
  size_t len;
} fmc_found;

/* Finds the record of kind |k| whose id is |arg| or starts with it (4
 * characters or more).  Prints "no such ..." or "ambiguous ..." and
 * returns FMC_FAIL when there is not exactly one. */
int fmc_record_find(fmc_ctx *c, fm_view_kind k, const char *arg, fmc_found *out);
void fmc_found_free(fmc_found *f);

/* One listing of view records: rows of a table, or a JSON array with
 * --json.  A row callback adds to |t| or |j| and counts |shown|. */
typedef struct fmc_listing {
  fmc_ctx *c;
  fmc_table t;
  fmc_json j;
  size_t shown;
} fmc_listing;

typedef int (*fmc_list_row)(fmc_listing *l, void *arg, const char *id, size_t idn,
                            const uint8_t *rec, size_t len);

/* Calls |row| (with |arg|) for every record of kind |k|, oldest first,
 * then prints the table under |heads| ("A|B|C"), or |none| when no row
 * was shown, or closes the JSON array.  Returns 0 or FMC_FAIL. */
int fmc_records_list(fmc_ctx *c, fm_view_kind k, const char *heads, const char *none,
                     fmc_list_row row, void *arg);

/* A new record id into |id|: |letter| ('V' visit, 'D' dossier), now,
 * this laptop's key and two random bytes (see fm_record_id). */
void fmc_record_new_id(fmc_ctx *c, char letter, char id[FM_RECORD_ID_MAX + 1]);

/* What `visit add` and `dossier add` print: |summary| then the id on the
 * last line, or {"id","kind","seq"} with --json. */
void fmc_record_added(fmc_ctx *c, const char *kind, const char *id, uint64_t seq,
                      const char *summary);

/* Whether |s| is exactly the C string |want|. */
int fmc_str_is(fm_str s, const char *want);

/* The day a dossier was made, "YYYY-MM-DD" into |out|: its own `date`
 * when that is a real date, else (older entries) the day of its creating
 * entry's stamp -- which the author's clock made, right or wrong. */
void fmc_dossier_date(const fm_dossier_view *d, char out[16]);

/* "account_created,app_installed" into |out| (|cap| bytes). */
void fmc_services_str(uint32_t mask, char *out, size_t cap);

/* A NUL-terminated copy of |s| into |out| (|cap| bytes, cut short if
 * needed on a UTF-8 boundary). */
const char *fmc_str(fm_str s, char *out, size_t cap);

/* The village of a new record (option |o|), into |out| (FM_NAME_MAX
 * bytes): required and one line.  When the commune keeps a list of
 * villages (fieldmesh/vocab.h), only a village of it, matched without
 * case or diacritics and written in the list's spelling; an unknown one
 * is refused with the closest suggested (FMC_USAGE), unless
 * |new_village| (the --new-village flag, may be NULL) is given by a
 * leader, the officer or an administrator (a member gets FMC_FAIL).
 * Then, as without a list: a village not among this laptop's enrolled
 * villages only warns, since members help neighbouring villages.
 * Requires fmc_open(). */
int fmc_check_village(fmc_ctx *c, const fmc_opt *o, const fmc_opt *new_village,
                      const fm_enrollment *en, char out[FM_NAME_MAX]);

/* Who may change what: a member or a leader changes or voids only her own
 * team's records (|team|, the record's team), the commune hall's officer
 * and an administrator any.  0, or prints one line naming the record's
 * team and who can, and returns FMC_FAIL (nothing is written).  |what| is
 * "void visit", "change dossier", ... */
int fmc_may_change(fmc_ctx *c, const fm_enrollment *en, fm_str team, const char *what,
                   const char *id);

#endif
