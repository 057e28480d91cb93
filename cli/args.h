/* Command-line options and the checks every field goes through.
 *
 * Each command declares its options in a local array; the parser fills in
 * their values and the positional arguments, and handles the global
 * options (--state DIR, --json, --help) wherever they appear.  Every
 * checker prints one line naming the option, the value and the fix, and
 * returns FMC_USAGE; 0 means the value is good.
 */
#ifndef FIELDMESH_CLI_ARGS_H
#define FIELDMESH_CLI_ARGS_H

#include <stddef.h>
#include <stdint.h>

#include "cli.h"

#define FMC_POS_MAX 4

typedef struct fmc_opt {
  const char *name;    /* "--village" */
  const char *alias;   /* "-o", or NULL */
  int flag;            /* 1: takes no value */
  const char *value;   /* out: the value ("1" for a flag), NULL when absent */
} fmc_opt;

typedef struct fmc_spec {
  const char *help;    /* printed by --help; its first line is the usage */
  fmc_opt *opts;       /* ends with an entry whose name is NULL; may be NULL */
  int min_pos, max_pos;
  const char *pos[FMC_POS_MAX];   /* out */
  int npos;                       /* out */
} fmc_spec;

/* Parses |argv| (what follows the command words).  Returns 0, FMC_HELP
 * after printing the help, or FMC_USAGE after printing the error. */
int fmc_args_parse(fmc_ctx *c, fmc_spec *spec, int argc, char **argv);

/* ---- checks ---------------------------------------------------------------- */

/* A required option: "--X is required (|hint|)". */
int fmc_need(const fmc_ctx *c, const fmc_opt *o, const char *hint);

/* Text for a record: valid UTF-8, at most |max| bytes, no control
 * characters (a newline is allowed when |multiline|), not only blank
 * space.  NULL passes.  The record then holds it in its one form
 * (fm_text_norm: NFC, trimmed), made by the body builders. */
int fmc_check_text(const fmc_ctx *c, const char *field, const char *v,
                   size_t max, int multiline);

/* --note T or --note-file FILE (a long note written in an editor): reads
 * the file, at most |max| bytes, into a malloc'd string that |*owned|
 * receives (free it; NULL when no file was given) and points |note|'s value
 * at it.  Refuses both given at once, a missing or special file, a file too
 * long.  The text itself is then checked with fmc_check_text. */
/* The one line for a file the user named that is not a regular file
 * (fm_fsfile_read's FM_ERR_NOTREG): a folder, or a pipe or device; |what|
 * names what the file should have been ("bundle file", "scanned file").
 * Returns FMC_FAIL. */
int fmc_not_regular(const fmc_ctx *c, const char *path, const char *what);

int fmc_note_file(const fmc_ctx *c, fmc_opt *note, const fmc_opt *file, size_t max,
                  char **owned);

/* A whole number from |lo| to |hi|. */
int fmc_check_uint(const fmc_ctx *c, const char *field, const char *v,
                   uint64_t lo, uint64_t hi, uint64_t *out);

/* A date "YYYY-MM-DD". */
int fmc_check_date(const fmc_ctx *c, const char *field, const char *v,
                   int *y, int *m, int *d);

/* A device id: 64 hex digits. */
int fmc_check_device(const fmc_ctx *c, const char *field, const char *v,
                     uint8_t out[32]);

/* Splits a comma-separated list into |items| (FM_NAME_MAX-byte slots, each
 * item trimmed of spaces).  Returns the count, or -1 after printing an
 * error (an empty item, more than |max_items|, one too long). */
int fmc_split_list(const fmc_ctx *c, const char *field, const char *v,
                   char (*items)[128], int max_items);

#endif
