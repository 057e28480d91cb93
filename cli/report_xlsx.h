/* A report as a spreadsheet: `fieldmesh report --format xlsx -o FILE`.
 *
 * The workbook holds one sheet: a title row (commune, key, period), a
 * bold header row with the CSV's column names, one row per key and a bold
 * TOTAL row; figures are numbers, keys text; every column is as wide as
 * its longest cell in characters.  Every text goes through fm_text_clean,
 * so a hostile village name from a received entry cannot break the file.
 *
 * The file is written whole or not at all: the workbook is built in a
 * private temporary folder, then copied into place through fm_fsfile
 * (temporary name, fsync, link or rename).
 */
#ifndef FIELDMESH_CLI_REPORT_XLSX_H
#define FIELDMESH_CLI_REPORT_XLSX_H

#include "cli.h"
#include "fieldmesh/report.h"

/* Checks, before any counting, that |path| can be written: its folder
 * exists, it is not a folder, and it does not exist yet unless |force|.
 * Returns 0, or FMC_FAIL after printing one line with the fix. */
int fmc_report_xlsx_check(const fmc_ctx *c, const char *path, int force);

/* Writes |r| (counted, |by_name| its --by word) to |path|, replacing an
 * existing file only when |force|.  |title| is the first row's text.
 * Returns 0, or FMC_FAIL after printing one line (nothing is left
 * behind: no file at |path| that was not there, no temporary file). */
int fmc_report_xlsx(const fmc_ctx *c, const fm_report *r, const char *by_name,
                    const char *title, const char *path, int force);

#endif
