#include "ini.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LINE_MAX_LEN 4096

static char *trim(char *s) {
  while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n') s++;
  size_t n = strlen(s);
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
    s[--n] = 0;
  return s;
}

/* A comment after a value starts at whitespace followed by '#' or ';'. */
static void strip_comment(char *s) {
  for (char *p = s; *p; p++)
    if ((*p == '#' || *p == ';') && p > s && (p[-1] == ' ' || p[-1] == '\t')) {
      *p = 0;
      return;
    }
}

static int valid_word(const char *s) {
  if (!*s) return 0;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' ||
          *s == '-' || *s == '.'))
      return 0;
  return 1;
}

static int add_section(sim_ini *ini, char *head, int line) {
  char *sp = strpbrk(head, " \t");
  char *name = "";
  if (sp) {
    *sp = 0;
    name = trim(sp + 1);
  }
  if (!valid_word(head)) return -1;
  if (ini->n == ini->cap) {
    size_t cap = ini->cap ? ini->cap * 2 : 32;
    sim_ini_section *s = realloc(ini->sec, cap * sizeof *s);
    if (!s) return -1;
    ini->sec = s;
    ini->cap = cap;
  }
  sim_ini_section *s = &ini->sec[ini->n];
  memset(s, 0, sizeof *s);
  s->line = line;
  s->type = strdup(head);
  s->name = strdup(name);
  if (!s->type || !s->name) {
    free(s->type);
    free(s->name);
    return -1;
  }
  ini->n++;
  return 0;
}

static int add_item(sim_ini_section *s, const char *key, const char *value, int line) {
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 16;
    sim_ini_item *it = realloc(s->items, cap * sizeof *it);
    if (!it) return -1;
    s->items = it;
    s->cap = cap;
  }
  sim_ini_item *it = &s->items[s->n];
  it->line = line;
  it->key = strdup(key);
  it->value = strdup(value);
  if (!it->key || !it->value) {
    free(it->key);
    free(it->value);
    return -1;
  }
  s->n++;
  return 0;
}

static int parse_line(sim_ini *ini, char *raw, int line, const char *path, char *err,
                      size_t cap) {
  char *s = trim(raw);
  if (!*s || *s == '#' || *s == ';') return 0;
  if (*s == '[') {
    size_t n = strlen(s);
    if (s[n - 1] != ']' || n < 3) goto bad;
    s[n - 1] = 0;
    if (add_section(ini, trim(s + 1), line) < 0) goto bad;
    return 0;
  }
  char *eq = strchr(s, '=');
  if (!eq) goto bad;
  *eq = 0;
  char *key = trim(s), *value = eq + 1;
  strip_comment(value);
  value = trim(value);
  if (!valid_word(key)) goto bad;
  if (ini->n == 0) {
    snprintf(err, cap, "%s:%d: '%s' comes before any [section]", path, line, key);
    return -1;
  }
  if (add_item(&ini->sec[ini->n - 1], key, value, line) < 0) goto bad;
  return 0;
bad:
  snprintf(err, cap,
           "%s:%d: not a [section], a 'key = value' line or a comment "
           "(keys are lowercase letters, digits, '_', '-', '.')",
           path, line);
  return -1;
}

int sim_ini_load(const char *path, sim_ini *out, char *err, size_t cap) {
  char buf[LINE_MAX_LEN];
  sim_ini ini = {NULL, 0, 0};
  int line = 0, rv = 0;
  /* Non-blocking open and a regular-file check: a FIFO given as the
   * scenario is refused at once instead of waiting for a writer. */
  struct stat st;
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  FILE *f = NULL;
  if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
    close(fd);
    snprintf(err, cap, "%s: not a regular file (a pipe, device or folder): give a scenario file",
             path);
    return -1;
  }
  if (fd < 0 || !(f = fdopen(fd, "r"))) {
    if (fd >= 0) close(fd);
    snprintf(err, cap, "%s: cannot open the scenario file", path);
    return -1;
  }
  while (rv == 0 && fgets(buf, sizeof buf, f)) {
    line++;
    size_t n = strlen(buf);
    if (n == sizeof buf - 1 && buf[n - 1] != '\n') {
      snprintf(err, cap, "%s:%d: line longer than %d bytes", path, line, LINE_MAX_LEN - 2);
      rv = -1;
      break;
    }
    char *s = buf;
    if (line == 1 && !strncmp(s, "\xef\xbb\xbf", 3)) s += 3; /* UTF-8 BOM */
    rv = parse_line(&ini, s, line, path, err, cap);
  }
  fclose(f);
  if (rv < 0) {
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
