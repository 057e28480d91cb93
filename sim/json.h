/* A small JSON writer for the run's report: objects and arrays nested to
 * a fixed depth, keys in the order written, strings escaped, numbers
 * printed the same way on every run. */
#ifndef SIM_JSON_H
#define SIM_JSON_H

#include <stdint.h>
#include <stdio.h>

#define SIM_JSON_DEPTH 8

typedef struct sim_json {
  FILE *f;
  int depth;
  int count[SIM_JSON_DEPTH];  /* items written at each level */
} sim_json;

void sim_json_init(sim_json *j, FILE *f);
/* |key| is NULL inside arrays and for the outermost value. */
void sim_json_obj(sim_json *j, const char *key);
void sim_json_arr(sim_json *j, const char *key);
void sim_json_end(sim_json *j, char close);
void sim_json_str(sim_json *j, const char *key, const char *v);
void sim_json_u64(sim_json *j, const char *key, uint64_t v);
void sim_json_i64(sim_json *j, const char *key, int64_t v);
void sim_json_bool(sim_json *j, const char *key, int v);
void sim_json_null(sim_json *j, const char *key);
/* A number with |decimals| digits after the point. */
void sim_json_num(sim_json *j, const char *key, double v, int decimals);

#endif
