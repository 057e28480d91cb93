/* The procedure catalogue: the administrative procedures a mobile team
 * helps citizens file at commune level.
 *
 * A dossier names its procedure by a short, stable, lowercase code
 * (`khai_sinh`); the code is what is signed and replicated, so a code once
 * published is never renamed or reused.  Names are for people: Vietnamese
 * (as the commune's one-stop desk writes it) and English.
 */
#ifndef FIELDMESH_PROCEDURE_H
#define FIELDMESH_PROCEDURE_H

#include <stddef.h>

typedef struct fm_procedure {
  const char *code;      /* [a-z_]+, at most 31 bytes */
  const char *name_vi;   /* UTF-8, with diacritics */
  const char *name_en;
} fm_procedure;

/* The number of procedures in the catalogue. */
size_t fm_procedure_count(void);

/* The |i|th procedure (0 <= i < fm_procedure_count()), in a fixed order;
 * NULL past the end.  The catalogue is static: pointers live forever. */
const fm_procedure *fm_procedure_at(size_t i);

/* The procedure whose code is |code| (|n| bytes, not NUL-terminated), or
 * NULL when the catalogue has none. */
const fm_procedure *fm_procedure_find(const char *code, size_t n);

#endif
