#include "args.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "date.h"
#include "fieldmesh/error.h"
#include "fieldmesh/entry.h"
#include "fieldmesh/fsfile.h"
#include "fieldmesh/text.h"
#include "fieldmesh/types.h"
#include "fieldmesh/wire.h"

static fmc_opt *find_opt(fmc_spec *spec, const char *name, size_t n) {
  for (fmc_opt *o = spec->opts; o && o->name; o++) {
    if (strlen(o->name) == n && memcmp(o->name, name, n) == 0) return o;
    if (o->alias && strlen(o->alias) == n && memcmp(o->alias, name, n) == 0) return o;
  }
  return NULL;
}

static int usage_line(const fmc_ctx *c, const fmc_spec *spec, const char *what) {
  const char *nl = strchr(spec->help, '\n');
  int n = nl ? (int)(nl - spec->help) : (int)strlen(spec->help);
  return fmc_usage(c, "%s (%.*s; see --help)", what, n, spec->help);
}

/* The options every command takes.  Returns 1 when |arg| was one (|*i|
 * moved past its value), 0 when not, FMC_USAGE or FMC_HELP. */
static int global_opt(fmc_ctx *c, const fmc_spec *spec, int argc, char **argv, int *i) {
  const char *a = argv[*i];
  if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
    fputs(spec->help, stdout);
    return FMC_HELP;
  }
  if (!strcmp(a, "--json")) {
    c->json = 1;
    return 1;
  }
  if (!strncmp(a, "--state=", 8)) {
    c->state_opt = a + 8;
    return 1;
  }
  if (!strcmp(a, "--state")) {
    if (*i + 1 >= argc) return fmc_usage(c, "--state needs a folder: --state DIR");
    c->state_opt = argv[++*i];
    return 1;
  }
  return 0;
}

static int take_opt(fmc_ctx *c, fmc_spec *spec, int argc, char **argv, int *i) {
  const char *a = argv[*i], *eq = strchr(a, '=');
  size_t n = eq && a[1] == '-' ? (size_t)(eq - a) : strlen(a);
  fmc_opt *o = find_opt(spec, a, n);
  char what[160];
  if (!o) {
    snprintf(what, sizeof what, "unknown option %.*s", (int)(n > 60 ? 60 : n), a);
    return usage_line(c, spec, what);
  }
  if (o->value)
    return fmc_usage(c, "%s is given twice: give it once", o->name);
  if (o->flag) {
    if (eq && a[1] == '-') return fmc_usage(c, "%s takes no value", o->name);
    o->value = "1";
  } else if (eq && a[1] == '-') {
    o->value = eq + 1;
  } else {
    if (*i + 1 >= argc) return fmc_usage(c, "%s needs a value (see --help)", o->name);
    o->value = argv[++*i];
  }
  return 0;
}

int fmc_args_parse(fmc_ctx *c, fmc_spec *spec, int argc, char **argv) {
  int only_pos = 0, rv;
  spec->npos = 0;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (!only_pos && !strcmp(a, "--")) {
      only_pos = 1;
      continue;
    }
    if (!only_pos && a[0] == '-' && a[1]) {
      if ((rv = global_opt(c, spec, argc, argv, &i)) == 1) continue;
      if (rv) return rv;
      if ((rv = take_opt(c, spec, argc, argv, &i)) != 0) return rv;
      continue;
    }
    if (spec->npos >= spec->max_pos || spec->npos >= FMC_POS_MAX) {
      char what[160];
      snprintf(what, sizeof what, "unexpected argument \"%.60s\"", a);
      return usage_line(c, spec, what);
    }
    spec->pos[spec->npos++] = a;
  }
  if (spec->npos < spec->min_pos) return usage_line(c, spec, "missing argument");
  return 0;
}

/* ---- checks ---------------------------------------------------------------- */

int fmc_need(const fmc_ctx *c, const fmc_opt *o, const char *hint) {
  if (o->value) return 0;
  if (hint && *hint) return fmc_usage(c, "%s is required (%s)", o->name, hint);
  return fmc_usage(c, "%s is required", o->name);
}

int fmc_not_regular(const fmc_ctx *c, const char *path, const char *what) {
  struct stat st;
  if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
    return fmc_fail(c, "%s is a folder: give the path of the %s in it (nothing changed)", path,
                    what);
  return fmc_fail(c, "%s is not a regular file (a pipe or device): give the %s itself "
                     "(nothing changed)", path, what);
}

int fmc_note_file(const fmc_ctx *c, fmc_opt *note, const fmc_opt *file, size_t max,
                  char **owned) {
  uint8_t *text;
  size_t len;
  *owned = NULL;
  if (!file->value) return 0;
  if (note->value)
    return fmc_usage(c, "give %s or %s, not both", note->name, file->name);
  int rv = fm_fsfile_read(file->value, max, &text, &len);
  if (rv == FM_ERR_TOOBIG)
    return fmc_usage(c, "%s %s is over %zu bytes: shorten the note", file->name, file->value,
                     max);
  if (rv == FM_ERR_NOTREG)
    return fmc_usage(c, "%s %s is not a regular file (a folder, pipe or device): give the "
                        "note's file", file->name, file->value);
  if (rv < 0)
    return fmc_usage(c, "%s %s cannot be read: %s", file->name, file->value,
                     rv == FM_ERR_NOTFOUND ? "no such file"
                     : rv == FM_ERR_IO     ? strerror(errno)
                                           : fm_strerror(rv));
  /* An editor ends the file with a newline; the note does not. */
  while (len && (text[len - 1] == '\n' || text[len - 1] == '\r')) text[--len] = 0;
  if (memchr(text, 0, len)) {
    free(text);
    return fmc_usage(c, "%s %s holds a zero byte: it is not a text file", file->name,
                     file->value);
  }
  note->value = (const char *)text;
  *owned = (char *)text;
  return 0;
}

int fmc_check_text(const fmc_ctx *c, const char *field, const char *v,
                   size_t max, int multiline) {
  if (!v) return 0;
  size_t n = strlen(v);
  if (!fm_utf8_valid(v, n))
    return fmc_usage(c, "%s is not valid UTF-8 text: set the terminal to UTF-8 "
                        "and type it again", field);
  if (n > max)
    return fmc_usage(c, "%s is too long (%zu characters, %zu bytes; at most %zu bytes, "
                        "where a letter with Vietnamese marks takes 2 or 3): shorten it",
                     field, fm_text_chars(v, n), n, max);
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)v[i];
    if ((ch < 0x20 && !(multiline && (ch == '\n' || ch == '\t'))) || ch == 0x7f)
      return fmc_usage(c, "%s holds a control character (character %zu): remove it%s",
                       field, fm_text_chars(v, i) + 1, multiline ? "" : "; it must be one line");
  }
  /* Records keep text in one form (fieldmesh/text.h): NFC, trimmed.  Text
   * that trims to nothing is no text: say so rather than record a blank. */
  fm_buf t;
  fm_buf_init(&t, FM_ENTRY_MAX);
  int rv = fm_text_norm(&t, v, n), blank = rv == 0 && n > 0 && t.len == 0;
  fm_buf_free(&t);
  if (blank)
    return fmc_usage(c, "%s is only blank space: type the text%s", field,
                     multiline ? ", or leave the option out" : "");
  return 0;
}

int fmc_check_uint(const fmc_ctx *c, const char *field, const char *v,
                   uint64_t lo, uint64_t hi, uint64_t *out) {
  uint64_t x = 0;
  size_t n = strlen(v);
  int ok = n > 0 && n <= 19;
  for (size_t i = 0; ok && i < n; i++) {
    if (v[i] < '0' || v[i] > '9') ok = 0;
    else x = x * 10 + (uint64_t)(v[i] - '0');
  }
  if (!ok || x < lo || x > hi)
    return fmc_usage(c, "%s must be a whole number from %llu to %llu, got \"%.60s\"",
                     field, (unsigned long long)lo, (unsigned long long)hi, v);
  *out = x;
  return 0;
}

int fmc_check_date(const fmc_ctx *c, const char *field, const char *v,
                   int *y, int *m, int *d) {
  if (fmc_date_parse(v, y, m, d) < 0)
    return fmc_usage(c, "%s must be a date YYYY-MM-DD (e.g. 2023-11-08), got \"%.60s\"",
                     field, v);
  return 0;
}

int fmc_check_device(const fmc_ctx *c, const char *field, const char *v,
                     uint8_t out[32]) {
  if (strlen(v) != 64 || fm_unhex(v, out, 32) < 0)
    return fmc_usage(c, "%s must be a device id of 64 hex digits (as printed by "
                        "`fieldmesh init` on that laptop), got \"%.70s\"", field, v);
  return 0;
}

int fmc_split_list(const fmc_ctx *c, const char *field, const char *v,
                   char (*items)[128], int max_items) {
  int count = 0;
  const char *p = v;
  for (;;) {
    const char *comma = strchr(p, ',');
    const char *end = comma ? comma : p + strlen(p);
    while (p < end && *p == ' ') p++;
    while (end > p && end[-1] == ' ') end--;
    size_t n = (size_t)(end - p);
    if (n == 0) {
      fmc_usage(c, "%s has an empty item in \"%.60s\": separate names with single "
                   "commas", field, v);
      return -1;
    }
    if (count >= max_items) {
      fmc_usage(c, "%s lists more than %d items", field, max_items);
      return -1;
    }
    if (n >= 128) {
      fmc_usage(c, "%s item \"%.40s…\" is too long (at most 127 bytes)", field, p);
      return -1;
    }
    memcpy(items[count], p, n);
    items[count++][n] = 0;
    if (!comma) break;
    p = comma + 1;
  }
  return count;
}
