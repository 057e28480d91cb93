#include "json.h"

#include <string.h>

#include "fieldmesh/json.h"

void sim_json_init(sim_json *j, FILE *f) {
  memset(j, 0, sizeof *j);
  j->f = f;
}

/* Escaped by fm_json_string (fieldmesh/json.h), the project's one JSON
 * string policy: control characters escaped, bytes that are not UTF-8
 * written as U+FFFD, so the report is always valid JSON. */
static void put_str(FILE *f, const char *s) {
  fm_buf b;
  fm_buf_init(&b, (size_t)1 << 24);
  if (fm_json_string(&b, s, strlen(s), 0) == 0) fwrite(b.p, 1, b.len, f);
  else fputs("null", f);
  fm_buf_free(&b);
}

static void item(sim_json *j, const char *key) {
  if (j->count[j->depth]++) fputc(',', j->f);
  if (j->depth) {
    fputc('\n', j->f);
    for (int i = 0; i < j->depth; i++) fputs("  ", j->f);
  }
  if (key) {
    put_str(j->f, key);
    fputs(": ", j->f);
  }
}

static void begin(sim_json *j, const char *key, char c) {
  item(j, key);
  fputc(c, j->f);
  if (j->depth + 1 < SIM_JSON_DEPTH) j->depth++;
  j->count[j->depth] = 0;
}

void sim_json_obj(sim_json *j, const char *key) { begin(j, key, '{'); }
void sim_json_arr(sim_json *j, const char *key) { begin(j, key, '['); }

void sim_json_end(sim_json *j, char close) {
  int had = j->count[j->depth];
  if (j->depth) j->depth--;
  if (had) {
    fputc('\n', j->f);
    for (int i = 0; i < j->depth; i++) fputs("  ", j->f);
  }
  fputc(close, j->f);
  if (j->depth == 0) fputc('\n', j->f);
}

void sim_json_str(sim_json *j, const char *key, const char *v) {
  item(j, key);
  put_str(j->f, v);
}

void sim_json_u64(sim_json *j, const char *key, uint64_t v) {
  item(j, key);
  fprintf(j->f, "%llu", (unsigned long long)v);
}

void sim_json_i64(sim_json *j, const char *key, int64_t v) {
  item(j, key);
  fprintf(j->f, "%lld", (long long)v);
}

void sim_json_bool(sim_json *j, const char *key, int v) {
  item(j, key);
  fputs(v ? "true" : "false", j->f);
}

void sim_json_null(sim_json *j, const char *key) {
  item(j, key);
  fputs("null", j->f);
}

void sim_json_num(sim_json *j, const char *key, double v, int decimals) {
  item(j, key);
  fprintf(j->f, "%.*f", decimals, v);
}
