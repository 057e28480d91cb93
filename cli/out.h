/* Output for people and for programs: aligned tables, CSV and JSON.
 *
 * Table widths count UTF-8 code points, not bytes, so "Nghĩa Tân" lines up
 * with "Vinh Quang"; combining marks (text typed in decomposed form) take
 * no width.  The JSON writer escapes every string; it tracks commas itself
 * so callers just write keys and values in order.
 */
#ifndef FIELDMESH_CLI_OUT_H
#define FIELDMESH_CLI_OUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Display width of |n| bytes of UTF-8. */
size_t fmc_text_width(const char *s, size_t n);

/* ---- tables ----------------------------------------------------------------- */

#define FMC_TABLE_COLS 16

typedef struct fmc_table {
  int ncols;
  const char *head[FMC_TABLE_COLS];
  int right[FMC_TABLE_COLS];   /* 1: right-aligned (numbers) */
  char **cells;                /* owned: nrows * ncols copies */
  size_t nrows, cap;
  int err;                     /* out of memory: print nothing */
} fmc_table;

/* |heads| is "ID|DATE|#CITIZENS": '|' separates columns, a leading '#'
 * right-aligns one. */
void fmc_table_init(fmc_table *t, const char *heads);
/* Adds a row of ncols cells (copied; NULL prints as empty). */
void fmc_table_row(fmc_table *t, const char *const *cells);
/* Same, as printf-formatted cells separated by '\x1f'. */
void fmc_table_rowf(fmc_table *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int fmc_table_print(const fmc_table *t, FILE *f);
void fmc_table_free(fmc_table *t);

/* ---- CSV -------------------------------------------------------------------- */

/* One field, quoted when it holds a comma, quote or line break. */
void fmc_csv_field(FILE *f, const char *s, int last);

/* ---- JSON ------------------------------------------------------------------- */

#define FMC_JSON_DEPTH 16

typedef struct fmc_json {
  FILE *f;
  int depth;
  int first[FMC_JSON_DEPTH];   /* no value written yet at this depth */
  int after_key;
} fmc_json;

void fmc_json_init(fmc_json *j, FILE *f);
void fmc_json_obj(fmc_json *j);
void fmc_json_obj_end(fmc_json *j);
void fmc_json_arr(fmc_json *j);
void fmc_json_arr_end(fmc_json *j);
void fmc_json_key(fmc_json *j, const char *k);
void fmc_json_str(fmc_json *j, const char *s);
void fmc_json_strn(fmc_json *j, const char *s, size_t n);
void fmc_json_uint(fmc_json *j, uint64_t v);
void fmc_json_int(fmc_json *j, int64_t v);
void fmc_json_bool(fmc_json *j, int v);
void fmc_json_null(fmc_json *j);
/* Hex of |n| bytes as a string. */
void fmc_json_hex(fmc_json *j, const uint8_t *p, size_t n);
/* Ends the document with a newline. */
void fmc_json_end(fmc_json *j);

#endif
