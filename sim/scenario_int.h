/* Shared by the files of the scenario loader.  Not used elsewhere. */
#ifndef SIM_SCENARIO_INT_H
#define SIM_SCENARIO_INT_H

#include "ini_file.h"
#include "scenario.h"

typedef struct sim__load {
  sim_scenario *sc;
  const sim_ini *ini;
  const char *path;
  char *err;
  size_t cap;
} sim__load;

/* Formats "path:line: message" into the error buffer; returns -1. */
int sim__scenario_fail(sim__load *L, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Refuses keys of |s| that are not in the NULL-terminated |known|. */
int sim__scenario_keys(sim__load *L, const sim_ini_section *s, const char *const *known);
/* Copies |v| into |dst| (|cap| bytes) or fails naming |key|. */
int sim__scenario_text(sim__load *L, int line, const char *key, const char *v,
                       char *dst, size_t cap);
/* Resolves a node id, or fails listing a few known ids. */
int sim__scenario_node_ref(sim__load *L, int line, const char *key, const char *id,
                           int *out);

/* The sections after the people: links, faults and campaigns. */
int sim__scenario_links(sim__load *L);
int sim__scenario_faults(sim__load *L);
int sim__scenario_campaigns(sim__load *L);

#endif
