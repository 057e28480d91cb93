/* authority villages|places|teams add|rename|retire|list: the commune's
 * lists, signed by the authority (include/fieldmesh/vocab.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cmd.h"
#include "fieldmesh/error.h"
#include "fieldmesh/text.h"
#include "out.h"
#include "vocab.h"

/* |value| of |field| checked and in its one form into |out|. */
static int vocab_text(fmc_ctx *c, const char *field, const char *value, char out[FM_NAME_MAX]) {
  fm_buf b;
  int rv;
  if ((rv = fmc_check_text(c, field, value, FM_NAME_MAX - 1, 0)) != 0) return rv;
  fm_buf_init(&b, FM_ENTRY_MAX);
  rv = fm_text_norm(&b, value, strlen(value));
  if (rv == 0 && b.len > 0 && b.len < FM_NAME_MAX) {
    memcpy(out, b.p, b.len);
    out[b.len] = 0;
  } else {
    rv = FM_ERR_INVAL;
  }
  fm_buf_free(&b);
  if (rv) return fmc_usage(c, "%s must not be empty", field);
  return 0;
}

/* Refuses a change of list |l| that would not change it.  A rename or a
 * retirement names the list's own spelling: |name| becomes it. */
static int vocab_check(fmc_ctx *c, const fm_vocab *v, fm_vocab_list l, fm_vocab_op op,
                       char name[FM_NAME_MAX], const char *to) {
  const char *what = fm_vocab_list_name(l), *cur = NULL, *other = NULL;
  fm_vocab_match m = fm_vocab_find(v, l, name, strlen(name), &cur);
  if (op == FM_VOCAB_ADD) {
    if (m == FM_VOCAB_CURRENT)
      return fmc_fail(c, "\"%s\" is already among the commune's %ss (as \"%s\"): nothing "
                         "was written", name, what, cur);
    if (m == FM_VOCAB_FORMER_OF)
      return fmc_fail(c, "\"%s\" is the former name of \"%s\", whose records it still "
                         "names: nothing was written; give the new %s another name",
                      name, cur, what);
    if (m == FM_VOCAB_NONE && v->list[l].n >= FM_VOCAB_NAMES)
      return fmc_fail(c, "the commune's %ss already hold %d names, the most a list holds: "
                         "retire none, rename one instead", what, FM_VOCAB_NAMES);
    return 0;
  }
  if (m != FM_VOCAB_CURRENT && m != FM_VOCAB_RETIRED) {
    const char *near = fm_vocab_closest(v, l, name, strlen(name));
    if (m == FM_VOCAB_FORMER_OF)
      return fmc_fail(c, "\"%s\" is now called \"%s\": give that name", name, cur);
    return fmc_fail(c, "\"%s\" is not among the commune's %ss%s%s%s (see `fieldmesh "
                       "authority %ss list`)", name, what, near ? ": did you mean \"" : "",
                    near ? near : "", near ? "\"?" : "", what);
  }
  if (op == FM_VOCAB_RETIRE && m == FM_VOCAB_RETIRED)
    return fmc_fail(c, "\"%s\" is already retired: nothing was written", cur);
  snprintf(name, FM_NAME_MAX, "%s", cur);
  if (op == FM_VOCAB_RENAME) {
    fm_vocab_match t = fm_vocab_find(v, l, to, strlen(to), &other);
    if (!strcmp(name, to))
      return fmc_fail(c, "\"%s\" is already its name: nothing was written", name);
    /* |cur| and |other| point into |v|: the same name is the same pointer. */
    if ((t == FM_VOCAB_CURRENT || t == FM_VOCAB_RETIRED) && other != cur)
      return fmc_fail(c, "\"%s\" is already the name of another %s: nothing was written",
                      other, what);
    if (t == FM_VOCAB_FORMER_OF && other != cur)
      return fmc_fail(c, "\"%s\" is the former name of \"%s\", whose old records it names: "
                         "nothing was written; give another name", to, other);
  }
  return 0;
}

/* Signs and appends the change with the authority's key. */
static int vocab_write(fmc_ctx *c, fm_vocab_list l, fm_vocab_op op, const char *name,
                       const char *to) {
  fm_identity auth;
  fm_buf body;
  uint64_t seq = 0;
  int rv;
  if ((rv = fmc_load_authority(c, &auth)) != 0) return rv;
  fm_buf_init(&body, FM_ENTRY_MAX);
  rv = fm_vocab_body(&body, l, op, name, to);
  if (rv < 0) rv = fmc_fail(c, "cannot encode the change: %s", fm_strerror(rv));
  else rv = fmc_append(c, &auth, FM_KIND_VOCAB, &body, &seq);
  fm_buf_free(&body);
  fm_identity_wipe(&auth);
  if (rv) return rv;
  if (c->json) {
    fmc_json j;
    fmc_json_init(&j, stdout);
    fmc_json_obj(&j);
    fmc_json_key(&j, "list");
    fmc_json_str(&j, fm_vocab_list_name(l));
    fmc_json_key(&j, "op");
    fmc_json_str(&j, fm_vocab_op_name(op));
    fmc_json_key(&j, "name");
    fmc_json_str(&j, name);
    if (op == FM_VOCAB_RENAME) {
      fmc_json_key(&j, "to");
      fmc_json_str(&j, to);
    }
    fmc_json_key(&j, "seq");
    fmc_json_uint(&j, seq);
    fmc_json_obj_end(&j);
    fmc_json_end(&j);
  } else if (op == FM_VOCAB_RENAME) {
    printf("renamed %s \"%s\" to \"%s\" (authority entry %llu): its records show under the "
           "new name\n", fm_vocab_list_name(l), name, to, (unsigned long long)seq);
  } else {
    printf("%s %s \"%s\" (authority entry %llu); carry a bundle to the team laptops\n",
           op == FM_VOCAB_ADD ? "added" : "retired", fm_vocab_list_name(l), name,
           (unsigned long long)seq);
  }
  return 0;
}

/* One row of the list per name, its former names after it. */
static void vocab_print(fmc_ctx *c, const fm_vocab *v, fm_vocab_list l) {
  const fm_vocab_set *set = &v->list[l];
  fmc_table t;
  fmc_json j;
  fmc_table_init(&t, "NAME|STATE|FORMERLY");
  fmc_json_init(&j, stdout);
  if (c->json) fmc_json_arr(&j);
  for (int i = 0; i < set->n; i++) {
    char former[1024] = "";
    size_t n = 0;
    if (c->json) {
      fmc_json_obj(&j);
      fmc_json_key(&j, "name");
      fmc_json_str(&j, set->names[i].name);
      fmc_json_key(&j, "retired");
      fmc_json_bool(&j, set->names[i].retired);
      fmc_json_key(&j, "formerly");
      fmc_json_arr(&j);
    }
    for (int k = 0; k < set->nformer; k++) {
      if (set->former[k].of != i) continue;
      if (c->json) fmc_json_str(&j, set->former[k].name);
      else if (n < sizeof former)
        n += (size_t)snprintf(former + n, sizeof former - n, "%s%s", n ? ", " : "",
                              set->former[k].name);
    }
    if (c->json) {
      fmc_json_arr_end(&j);
      fmc_json_obj_end(&j);
    } else {
      const char *cells[] = {set->names[i].name, set->names[i].retired ? "retired" : "listed",
                             former};
      fmc_table_row(&t, cells);
    }
  }
  if (c->json) {
    fmc_json_arr_end(&j);
    fmc_json_end(&j);
  } else if (set->n) {
    fmc_table_print(&t, stdout);
  } else {
    printf("the commune keeps no list of %ss: records take any %s as typed (the "
           "administrator adds them with `fieldmesh authority %ss add NAME`)\n",
           fm_vocab_list_name(l), fm_vocab_list_name(l), fm_vocab_list_name(l));
  }
  fmc_table_free(&t);
}

/* The verb's operation, or -1 for list, or FMC_USAGE after a line. */
static int vocab_verb(fmc_ctx *c, const char *verb, fm_vocab_op *op) {
  if (!strcmp(verb, "add")) *op = FM_VOCAB_ADD;
  else if (!strcmp(verb, "rename")) *op = FM_VOCAB_RENAME;
  else if (!strcmp(verb, "retire")) *op = FM_VOCAB_RETIRE;
  else if (!strcmp(verb, "list")) return -1;
  else
    return fmc_usage(c, "unknown subcommand \"%.40s\": choose one of: add, rename, retire, "
                        "list", verb);
  return 0;
}

static int vocab_cmd(fmc_ctx *c, fm_vocab_list l, const char *help, int argc, char **argv) {
  fmc_spec spec = {help, NULL, 0, 2, {0}, 0};
  fm_vocab_op op = FM_VOCAB_ADD;
  fm_vocab *v = NULL;
  char name[FM_NAME_MAX], to[FM_NAME_MAX] = "";
  int rv, list;
  if (argc < 1 || argv[0][0] == '-') {
    if ((rv = fmc_args_parse(c, &spec, argc, argv)) != 0) return rv;
    return fmc_usage(c, "missing subcommand: choose one of: add, rename, retire, list");
  }
  if ((list = vocab_verb(c, argv[0], &op)) > 0) return list;
  spec.min_pos = spec.max_pos = list ? 0 : op == FM_VOCAB_RENAME ? 2 : 1;
  if ((rv = fmc_args_parse(c, &spec, argc - 1, argv + 1)) != 0) return rv;
  if (!list && ((rv = vocab_text(c, "NAME", spec.pos[0], name)) ||
                (op == FM_VOCAB_RENAME && (rv = vocab_text(c, "NEW", spec.pos[1], to)))))
    return rv;
  if ((rv = fmc_open(c, 0)) != 0 || (rv = fmc_vocab_load(c, &v)) != 0) return rv;
  if (list) vocab_print(c, v, l);
  else if ((rv = vocab_check(c, v, l, op, name, to)) == 0)
    rv = vocab_write(c, l, op, name, to);
  free(v);
  return rv;
}

#define VOCAB_HELP(W)                                                                   \
  "usage: fieldmesh authority " W "s add NAME | rename NAME NEW | retire NAME | list\n" \
  "The commune's list of " W "s, signed by the authority on the administrator's\n"      \
  "machine (list works on any laptop). Names are matched without case or\n"           \
  "diacritics. rename keeps the old records: they show and group under the new\n"     \
  "name. retire stops new records from using a name; old ones keep it.\n"

int fmc_cmd_authority_villages(fmc_ctx *c, int argc, char **argv) {
  return vocab_cmd(c, FM_VOCAB_VILLAGE,
                   VOCAB_HELP("village") "Once the list holds a village, `visit add` and\n"
                   "`dossier add` take --village only from it (\"nghia tan\" is written\n"
                   "\"Nghĩa Tân\"); a leader records one not listed yet with --new-village,\n"
                   "and reports flag it until it is added.\n",
                   argc, argv);
}

int fmc_cmd_authority_places(fmc_ctx *c, int argc, char **argv) {
  return vocab_cmd(c, FM_VOCAB_PLACE,
                   VOCAB_HELP("place") "A `visit add --place` of the list is written in its\n"
                   "spelling; another place (a household) is taken as typed.\n",
                   argc, argv);
}

int fmc_cmd_authority_teams(fmc_ctx *c, int argc, char **argv) {
  return vocab_cmd(c, FM_VOCAB_TEAM,
                   VOCAB_HELP("team") "Once the list holds a team, `fieldmesh enroll --team`\n"
                   "takes a team only from it.\n",
                   argc, argv);
}
