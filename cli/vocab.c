#include "vocab.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fieldmesh/error.h"
#include "fieldmesh/text.h"
#include "records.h"

int fmc_vocab_load(fmc_ctx *c, fm_vocab **out) {
  fm_vocab *v = malloc(sizeof *v);
  if (!v) return fmc_fail(c, "cannot read the commune's lists: out of memory");
  int rv = fm_store_vocab(c->store, v);
  if (rv < 0) {
    free(v);
    return fmc_store_fail(c, rv, "cannot read the commune's lists");
  }
  *out = v;
  return 0;
}

void fmc_vocab_names(const fm_vocab *v, fm_vocab_list l, char *out, size_t cap) {
  const fm_vocab_set *set = &v->list[l];
  size_t n = 0;
  out[0] = 0;
  for (int i = 0; i < set->n; i++) {
    if (set->names[i].retired) continue;
    const char *sep = n ? ", " : "one of: ", *name = set->names[i].name;
    if (n + strlen(sep) + strlen(name) + sizeof ", …" > cap) {
      snprintf(out + n, cap - n, "%s…", n ? ", " : "");
      return;
    }
    n += (size_t)snprintf(out + n, cap - n, "%s%s", sep, name);
  }
}

/* The line for a name that is not a current one of list |l|. */
static int refuse(fmc_ctx *c, const fm_vocab *v, fm_vocab_list l, const char *field,
                  const char *value, const char *hint) {
  char names[512];
  const char *what = fm_vocab_list_name(l);
  const char *near = fm_vocab_closest(v, l, value, strlen(value));
  if (near)
    return fmc_usage(c, "%s \"%s\" is not among the commune's %ss: did you mean \"%s\"?%s%s%s",
                     field, value, what, near, hint ? " (" : "", hint ? hint : "",
                     hint ? ")" : "");
  fmc_vocab_names(v, l, names, sizeof names);
  return fmc_usage(c, "%s \"%s\" is not among the commune's %ss (%s)%s%s", field, value,
                   what, names, hint ? "; " : "", hint ? hint : "");
}

int fmc_vocab_pick(fmc_ctx *c, const fm_vocab *v, fm_vocab_list l, const char *field,
                   const char *value, int allow_unlisted, const char *unlisted_hint,
                   char out[FM_NAME_MAX]) {
  const char *name = NULL, *what = fm_vocab_list_name(l);
  switch (fm_vocab_find(v, l, value, strlen(value), &name)) {
  case FM_VOCAB_CURRENT:
    snprintf(out, FM_NAME_MAX, "%s", name);
    return 0;
  case FM_VOCAB_RETIRED:
    return fmc_usage(c, "%s \"%s\": the administrator retired that %s from the commune's "
                        "list: give another (see `fieldmesh authority %ss list`)", field, name,
                     what, what);
  case FM_VOCAB_FORMER_OF:
    return fmc_usage(c, "%s \"%s\" is now called \"%s\": give %s \"%s\"", field, value, name,
                     field, name);
  case FM_VOCAB_NONE:
    break;
  }
  if (!allow_unlisted) return refuse(c, v, l, field, value, unlisted_hint);
  snprintf(out, FM_NAME_MAX, "%s", value);
  return 1;
}

int fmc_vocab_is(const fm_vocab *v, fm_vocab_list l, const char *text, size_t n,
                 const char *want) {
  if (fm_text_same(text, n, want, strlen(want), 0)) return 1;
  if (!v) return 0;
  const char *a = fm_vocab_resolve(v, l, text, n), *b = fm_vocab_resolve(v, l, want, strlen(want));
  return a && a == b;
}

const char *fmc_vocab_village(fmc_ctx *c, const char *s, size_t n, char *out, size_t cap) {
  fm_vocab *v = malloc(sizeof *v);
  char shown[FM_NAME_MAX * 2];
  fmc_str((fm_str){s, n}, shown, sizeof shown);
  snprintf(out, cap, "%s", shown);
  if (!v || fm_store_vocab(c->store, v) < 0 || !fm_vocab_active(v, FM_VOCAB_VILLAGE)) {
    free(v);
    return out;
  }
  const char *name = fm_vocab_resolve(v, FM_VOCAB_VILLAGE, s, n);
  if (!name)
    snprintf(out, cap, "%s (not in the commune's list)", shown);
  else if (!fm_text_same(s, n, name, strlen(name), 0))
    snprintf(out, cap, "%s (now %s)", shown, name);
  free(v);
  return out;
}
