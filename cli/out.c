#include "out.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "fieldmesh/json.h"
#include "fieldmesh/types.h"
#include "fieldmesh/wire.h"

/* ---- width ------------------------------------------------------------------ */

static int is_combining(uint32_t cp) {
  return (cp >= 0x0300 && cp <= 0x036f) || (cp >= 0x1ab0 && cp <= 0x1aff) ||
         (cp >= 0x1dc0 && cp <= 0x1dff) || (cp >= 0x20d0 && cp <= 0x20ff) ||
         (cp >= 0xfe20 && cp <= 0xfe2f) || cp == 0x200b || cp == 0x200d;
}

size_t fmc_text_width(const char *str, size_t n) {
  const unsigned char *s = (const unsigned char *)str, *end = s + n;
  size_t w = 0;
  while (s < end) {
    uint32_t cp = *s;
    int len = cp < 0x80 ? 1 : (cp & 0xe0) == 0xc0 ? 2 : (cp & 0xf0) == 0xe0 ? 3
              : (cp & 0xf8) == 0xf0 ? 4 : 1;
    if (end - s < len) len = (int)(end - s);
    if (len > 1) {
      cp &= 0xffu >> (len + 1);
      for (int i = 1; i < len; i++) cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (!is_combining(cp)) w++;
    s += len;
  }
  return w;
}

/* ---- tables ----------------------------------------------------------------- */

void fmc_table_init(fmc_table *t, const char *heads) {
  memset(t, 0, sizeof *t);
  const char *p = heads;
  while (*p && t->ncols < FMC_TABLE_COLS) {
    const char *bar = strchr(p, '|');
    size_t n = bar ? (size_t)(bar - p) : strlen(p);
    if (*p == '#') {
      t->right[t->ncols] = 1;
      p++;
      n--;
    }
    char *h = malloc(n + 1);
    if (!h) {
      t->err = 1;
      return;
    }
    memcpy(h, p, n);
    h[n] = 0;
    t->head[t->ncols++] = h;
    p += n;
    if (*p == '|') p++;
  }
}

void fmc_table_row(fmc_table *t, const char *const *cells) {
  if (t->err) return;
  if (t->nrows == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 16;
    char **nc = realloc(t->cells, cap * (size_t)t->ncols * sizeof *nc);
    if (!nc) {
      t->err = 1;
      return;
    }
    t->cells = nc;
    t->cap = cap;
  }
  char **row = t->cells + t->nrows * (size_t)t->ncols;
  for (int i = 0; i < t->ncols; i++) {
    row[i] = strdup(cells[i] ? cells[i] : "");
    if (!row[i]) t->err = 1;
  }
  t->nrows++;
}

void fmc_table_rowf(fmc_table *t, const char *fmt, ...) {
  char line[4096];
  const char *cells[FMC_TABLE_COLS] = {0};
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  char *p = line;
  for (int i = 0; i < t->ncols; i++) {
    cells[i] = p;
    char *sep = p ? strchr(p, '\x1f') : NULL;
    if (sep) *sep = 0;
    p = sep ? sep + 1 : NULL;
  }
  fmc_table_row(t, cells);
}

static void pad(FILE *f, size_t n) {
  while (n--) fputc(' ', f);
}

static void print_row(const fmc_table *t, const char *const *cells,
                      const size_t *w, FILE *f) {
  for (int i = 0; i < t->ncols; i++) {
    size_t cw = fmc_text_width(cells[i], strlen(cells[i]));
    int last = i == t->ncols - 1;
    if (t->right[i]) pad(f, w[i] - cw);
    fputs(cells[i], f);
    if (!t->right[i] && !last) pad(f, w[i] - cw);
    if (!last) fputs("  ", f);
  }
  fputc('\n', f);
}

int fmc_table_print(const fmc_table *t, FILE *f) {
  size_t w[FMC_TABLE_COLS] = {0};
  if (t->err) return -1;
  for (int i = 0; i < t->ncols; i++) w[i] = fmc_text_width(t->head[i], strlen(t->head[i]));
  for (size_t r = 0; r < t->nrows; r++)
    for (int i = 0; i < t->ncols; i++) {
      const char *s = t->cells[r * (size_t)t->ncols + i];
      size_t cw = fmc_text_width(s, strlen(s));
      if (cw > w[i]) w[i] = cw;
    }
  print_row(t, t->head, w, f);
  for (size_t r = 0; r < t->nrows; r++)
    print_row(t, (const char *const *)t->cells + r * (size_t)t->ncols, w, f);
  return 0;
}

void fmc_table_free(fmc_table *t) {
  for (size_t i = 0; i < t->nrows * (size_t)t->ncols; i++) free(t->cells[i]);
  free(t->cells);
  for (int i = 0; i < t->ncols; i++) free((char *)t->head[i]);
  memset(t, 0, sizeof *t);
}

/* ---- CSV -------------------------------------------------------------------- */

void fmc_csv_field(FILE *f, const char *s, int last) {
  if (strpbrk(s, ",\"\r\n")) {
    fputc('"', f);
    for (; *s; s++) {
      if (*s == '"') fputc('"', f);
      fputc(*s, f);
    }
    fputc('"', f);
  } else {
    fputs(s, f);
  }
  fputs(last ? "\r\n" : ",", f);
}

/* ---- JSON ------------------------------------------------------------------- */

void fmc_json_init(fmc_json *j, FILE *f) {
  memset(j, 0, sizeof *j);
  j->f = f;
  j->first[0] = 1;
}

/* Writes the comma that separates this value from the previous one. */
static void sep(fmc_json *j) {
  if (j->after_key) {
    j->after_key = 0;
    return;
  }
  if (!j->first[j->depth]) fputc(',', j->f);
  j->first[j->depth] = 0;
}

static void open_c(fmc_json *j, char ch) {
  sep(j);
  fputc(ch, j->f);
  if (j->depth + 1 < FMC_JSON_DEPTH) j->depth++;
  j->first[j->depth] = 1;
}

static void close_c(fmc_json *j, char ch) {
  fputc(ch, j->f);
  if (j->depth > 0) j->depth--;
}

void fmc_json_obj(fmc_json *j) { open_c(j, '{'); }
void fmc_json_obj_end(fmc_json *j) { close_c(j, '}'); }
void fmc_json_arr(fmc_json *j) { open_c(j, '['); }
void fmc_json_arr_end(fmc_json *j) { close_c(j, ']'); }

/* One JSON string, escaped by fm_json_string (fieldmesh/json.h): the one
 * policy of the project, where bytes that are not UTF-8 become U+FFFD. */
static void put_escaped(FILE *f, const char *s, size_t n) {
  fm_buf b;
  fm_buf_init(&b, (size_t)1 << 24);
  if (fm_json_string(&b, s, n, 0) == 0) fwrite(b.p, 1, b.len, f);
  else fputs("null", f);   /* out of memory: still valid JSON */
  fm_buf_free(&b);
}

void fmc_json_key(fmc_json *j, const char *k) {
  sep(j);
  put_escaped(j->f, k, strlen(k));
  fputc(':', j->f);
  j->after_key = 1;
}

void fmc_json_strn(fmc_json *j, const char *s, size_t n) {
  sep(j);
  put_escaped(j->f, s ? s : "", s ? n : 0);
}

void fmc_json_str(fmc_json *j, const char *s) { fmc_json_strn(j, s, s ? strlen(s) : 0); }

void fmc_json_uint(fmc_json *j, uint64_t v) {
  sep(j);
  fprintf(j->f, "%llu", (unsigned long long)v);
}

void fmc_json_int(fmc_json *j, int64_t v) {
  sep(j);
  fprintf(j->f, "%lld", (long long)v);
}

void fmc_json_bool(fmc_json *j, int v) {
  sep(j);
  fputs(v ? "true" : "false", j->f);
}

void fmc_json_null(fmc_json *j) {
  sep(j);
  fputs("null", j->f);
}

void fmc_json_hex(fmc_json *j, const uint8_t *p, size_t n) {
  char buf[2 * 64 + 1];
  if (n > 64) n = 64;
  fm_hex(p, n, buf);
  fmc_json_str(j, buf);
}

void fmc_json_end(fmc_json *j) { fputc('\n', j->f); }
