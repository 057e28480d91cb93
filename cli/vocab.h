/* The commune's vocabularies on the command line: loading them, and
 * taking a typed village, place or team only from them.  See
 * include/fieldmesh/vocab.h for the rules. */
#ifndef FIELDMESH_CLI_VOCAB_H
#define FIELDMESH_CLI_VOCAB_H

#include "cli.h"
#include "fieldmesh/vocab.h"

/* Reads the store's vocabularies into a malloc'd |*out| (caller frees).
 * Requires fmc_open().  0, or FMC_FAIL after one line. */
int fmc_vocab_load(fmc_ctx *c, fm_vocab **out);

/* "one of: Nghĩa Tân, Vinh Quang, …" (the current names of list |l|) into
 * |out|, cut short with "…" to fit |cap| bytes. */
void fmc_vocab_names(const fm_vocab *v, fm_vocab_list l, char *out, size_t cap);

/* Takes |value|, given as |field| ("--village"), from list |l|, which
 * holds at least one current name: a current name matched without case
 * or diacritics gives its spelling in |out| (FM_NAME_MAX bytes) and 0.
 * A retired name, a former one (renamed since) and an unknown one are
 * refused with one line (the closest current name suggested, and
 * |unlisted_hint| added for an unknown one when not NULL): FMC_USAGE.
 * When |allow_unlisted| an unknown name is taken as typed and 1 is
 * returned (retired and former names are still refused). */
int fmc_vocab_pick(fmc_ctx *c, const fm_vocab *v, fm_vocab_list l, const char *field,
                   const char *value, int allow_unlisted, const char *unlisted_hint,
                   char out[FM_NAME_MAX]);

/* Whether a record's |text| (|n| bytes) is |want| ("--village V" of a
 * listing): the same text in its one form, or the same name of list |l|
 * (so a renamed village's records are found under either name).  |v| may
 * be NULL. */
int fmc_vocab_is(const fm_vocab *v, fm_vocab_list l, const char *text, size_t n,
                 const char *want);

/* A record's village |s| (|n| bytes) for `visit show` and `dossier show`,
 * into |out| (|cap| bytes): as written, with "(now NEW)" after a rename,
 * or "(not in the commune's list)" when the commune keeps a list without
 * it.  Reads the store's lists (fmc_open() first); on any failure, the
 * village as written. */
const char *fmc_vocab_village(fmc_ctx *c, const char *s, size_t n, char *out, size_t cap);

#endif
