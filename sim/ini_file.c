#include "ini_file.h"

#include <ini.h>   /* inih: the INI syntax itself (sections, keys, comments, BOM) */

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* inih reads a scenario line by line through |next_line|, which counts the
 * lines and notes which ones open a section or continue a value; the
 * handler keeps sections and keys with those line numbers.  inih (as
 * Debian builds it) takes lines of up to INI_MAX_LINE - 1 bytes: a longer
 * one is an error with its line, and a long value goes on indented lines. */
typedef struct load {
  FILE *f;
  const char *path;
  sim_ini *ini;
  char *err;
  size_t cap;
  int line;          /* the line inih is parsing */
  int header;        /* the line of the last [section] header seen, or 0 */
  int opened;        /* that header's section was created */
  int indented;      /* the current line starts with blank space */
  int failed;
} load;

static int valid_word(const char *s) {
  if (!*s) return 0;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' ||
          *s == '-' || *s == '.'))
      return 0;
  return 1;
}

static int fail(load *ld, int line, const char *what) {
  if (!ld->failed) snprintf(ld->err, ld->cap, "%s:%d: %s", ld->path, line, what);
  ld->failed = 1;
  return 0;
}

static int empty_section(load *ld) {
  return fail(ld, ld->header, "a [section] with no keys: give its keys or remove it");
}

static char *next_line(char *buf, int num, void *stream) {
  load *ld = stream;
  if (ld->failed || !fgets(buf, num, ld->f)) return NULL;
  ld->line++;
  size_t n = strlen(buf);
  if (n == (size_t)num - 1 && buf[n - 1] != '\n' && !feof(ld->f)) {
    char what[96];
    snprintf(what, sizeof what, "line longer than %d bytes: continue a long value on "
             "indented lines", num - 2);
    fail(ld, ld->line, what);
    return NULL;
  }
  const char *s = buf + (ld->line == 1 && !strncmp(buf, "\xef\xbb\xbf", 3) ? 3 : 0);
  ld->indented = *s == ' ' || *s == '\t';
  s += strspn(s, " \t");
  if (*s == '[') {
    if (ld->header && !ld->opened) {
      empty_section(ld);
      return NULL;
    }
    ld->header = ld->line;
    ld->opened = 0;
  }
  return buf;
}

static char *trim(char *s) {
  while (*s == ' ' || *s == '\t') s++;
  size_t n = strlen(s);
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) s[--n] = 0;
  return s;
}

static int open_section(load *ld, const char *section) {
  sim_ini *ini = ld->ini;
  char *type, *name = "", *sp;
  /* inih gives no section for a header it could not read: its keys come
   * under "" and the header line is the mistake. */
  if (!*section)
    return fail(ld, ld->header, "not a [section], a 'key = value' line or a comment "
                                "(keys are lowercase letters, digits, '_', '-', '.')");
  if (!(type = strdup(section))) return fail(ld, ld->header, "out of memory");
  if ((sp = strpbrk(type, " \t"))) {
    *sp = 0;
    name = trim(sp + 1);
  }
  if (!valid_word(type)) {
    free(type);
    return fail(ld, ld->header, "a [section]'s type is lowercase letters, digits, '_', '-', '.'");
  }
  if (ini->n == ini->cap) {
    size_t cap = ini->cap ? ini->cap * 2 : 32;
    sim_ini_section *s = realloc(ini->sec, cap * sizeof *s);
    if (!s) {
      free(type);
      return fail(ld, ld->header, "out of memory");
    }
    ini->sec = s;
    ini->cap = cap;
  }
  sim_ini_section *s = &ini->sec[ini->n];
  memset(s, 0, sizeof *s);
  s->line = ld->header;
  s->type = type;
  if (!(s->name = strdup(name))) {
    free(type);
    return fail(ld, ld->header, "out of memory");
  }
  ini->n++;
  ld->opened = 1;
  return 1;
}

/* A value's comment starts at blank space followed by '#' or ';' (inih
 * takes ';' but not on a continued line). */
static void strip_comment(char *s) {
  for (char *p = s; *p; p++)
    if ((*p == '#' || *p == ';') && p > s && (p[-1] == ' ' || p[-1] == '\t')) {
      *p = 0;
      return;
    }
}

static int add_item(load *ld, sim_ini_section *s, const char *key, const char *raw) {
  char *value = strdup(raw);
  if (!value) return fail(ld, ld->line, "out of memory");
  strip_comment(value);
  char *v = trim(value);
  memmove(value, v, strlen(v) + 1);
  /* An indented line continues the key above it: its text joins with a space. */
  if (ld->indented && s->n && !strcmp(s->items[s->n - 1].key, key)) {
    sim_ini_item *it = &s->items[s->n - 1];
    size_t a = strlen(it->value), b = strlen(value);
    char *joined = realloc(it->value, a + 1 + b + 1);
    if (!joined) {
      free(value);
      return fail(ld, ld->line, "out of memory");
    }
    joined[a] = ' ';
    memcpy(joined + a + 1, value, b + 1);
    it->value = joined;
    free(value);
    return 1;
  }
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 16;
    sim_ini_item *it = realloc(s->items, cap * sizeof *it);
    if (!it) {
      free(value);
      return fail(ld, ld->line, "out of memory");
    }
    s->items = it;
    s->cap = cap;
  }
  sim_ini_item *it = &s->items[s->n];
  it->line = ld->line;
  it->value = value;
  if (!(it->key = strdup(key))) {
    free(value);
    return fail(ld, ld->line, "out of memory");
  }
  s->n++;
  return 1;
}

static int on_key(void *user, const char *section, const char *key, const char *value) {
  load *ld = user;
  char what[160];
  if (ld->failed) return 0;
  if (!ld->header) {
    snprintf(what, sizeof what, "'%.60s' comes before any [section]", key);
    return fail(ld, ld->line, what);
  }
  if (!ld->opened && !open_section(ld, section)) return 0;
  if (!valid_word(key))
    return fail(ld, ld->line, "not a [section], a 'key = value' line or a comment "
                              "(keys are lowercase letters, digits, '_', '-', '.')");
  return add_item(ld, &ld->ini->sec[ld->ini->n - 1], key, value);
}

int sim_ini_load(const char *path, sim_ini *out, char *err, size_t cap) {
  sim_ini ini = {NULL, 0, 0};
  load ld = {NULL, path, &ini, err, cap, 0, 0, 0, 0, 0};
  /* Non-blocking open and a regular-file check: a FIFO given as the
   * scenario is refused at once instead of waiting for a writer. */
  struct stat st;
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
    close(fd);
    snprintf(err, cap, "%s: not a regular file (a pipe, device or folder): give a scenario file",
             path);
    return -1;
  }
  if (fd < 0 || !(ld.f = fdopen(fd, "r"))) {
    if (fd >= 0) close(fd);
    snprintf(err, cap, "%s: cannot open the scenario file", path);
    return -1;
  }
  int rv = ini_parse_stream(next_line, &ld, on_key, &ld);
  fclose(ld.f);
  if (!ld.failed && ld.header && !ld.opened) empty_section(&ld);
  if (!ld.failed && rv != 0)
    fail(&ld, rv > 0 ? rv : ld.line,
         "not a [section], a 'key = value' line or a comment "
         "(keys are lowercase letters, digits, '_', '-', '.')");
  if (ld.failed) {
    sim_ini_free(&ini);
    return -1;
  }
  *out = ini;
  return 0;
}

void sim_ini_free(sim_ini *ini) {
  for (size_t i = 0; i < ini->n; i++) {
    sim_ini_section *s = &ini->sec[i];
    for (size_t k = 0; k < s->n; k++) {
      free(s->items[k].key);
      free(s->items[k].value);
    }
    free(s->items);
    free(s->type);
    free(s->name);
  }
  free(ini->sec);
  ini->sec = NULL;
  ini->n = ini->cap = 0;
}

const char *sim_ini_get(const sim_ini_section *s, const char *key, int *line) {
  const char *v = NULL;
  for (size_t i = 0; i < s->n; i++)
    if (strcmp(s->items[i].key, key) == 0) {
      v = s->items[i].value;
      if (line) *line = s->items[i].line;
    }
  return v;
}
