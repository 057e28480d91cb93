/* The regression runner: a fuzz target without libFuzzer.
 *
 *   replay_<target> PATH...
 *
 * Runs LLVMFuzzerTestOneInput once on every file named, and on every file
 * in every folder named (not recursing; in name order, so a run is the
 * same everywhere).  Built by the normal (gcc, sanitized) build so that
 * every committed corpus, crashing inputs included, is replayed under
 * AddressSanitizer and UndefinedBehaviorSanitizer by ctest.  A target
 * that finds a broken property aborts; this runner itself fails only when
 * a path cannot be read or nothing was replayed.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#define INPUT_MAX ((size_t)4 << 20)  /* larger files are not inputs we keep */

static int replay_file(const char *path) {
  FILE *f = fopen(path, "rb");
  uint8_t *buf;
  size_t n;
  if (!f) {
    fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
    return -1;
  }
  if (!(buf = malloc(INPUT_MAX))) {
    fclose(f);
    return -1;
  }
  n = fread(buf, 1, INPUT_MAX, f);
  if (ferror(f) || !feof(f)) {
    fprintf(stderr, "replay: %s: unreadable or over %zu bytes\n", path, INPUT_MAX);
    fclose(f);
    free(buf);
    return -1;
  }
  fclose(f);
  /* An exact-size copy, so that a read past the input is caught. */
  uint8_t *in = malloc(n ? n : 1);
  if (!in) {
    free(buf);
    return -1;
  }
  memcpy(in, buf, n);
  free(buf);
  LLVMFuzzerTestOneInput(in, n);
  free(in);
  return 0;
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int replay_dir(const char *dir, size_t *count) {
  DIR *d = opendir(dir);
  struct dirent *de;
  char **names = NULL;
  size_t n = 0, cap = 0;
  int rv = 0;
  if (!d) {
    fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
    return -1;
  }
  while ((de = readdir(d)) != NULL) {
    if (de->d_name[0] == '.') continue; /* ., .. and hidden files */
    if (n == cap) {
      cap = cap ? cap * 2 : 64;
      char **p = realloc(names, cap * sizeof *names);
      if (!p) {
        rv = -1;
        break;
      }
      names = p;
    }
    if (!(names[n] = malloc(strlen(dir) + strlen(de->d_name) + 2))) {
      rv = -1;
      break;
    }
    sprintf(names[n++], "%s/%s", dir, de->d_name);
  }
  closedir(d);
  if (rv == 0) qsort(names, n, sizeof *names, by_name);
  for (size_t i = 0; i < n; i++) {
    struct stat st;
    if (rv == 0 && stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
      if (replay_file(names[i]) < 0) rv = -1;
      else (*count)++;
    }
    free(names[i]);
  }
  free(names);
  return rv;
}

int main(int argc, char **argv) {
  size_t count = 0;
  int rv = 0;
  if (argc < 2) {
    fprintf(stderr, "usage: %s FILE_OR_FOLDER...\n", argv[0]);
    return 2;
  }
  for (int i = 1; i < argc && rv == 0; i++) {
    struct stat st;
    if (stat(argv[i], &st) != 0) {
      fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
      rv = -1;
    } else if (S_ISDIR(st.st_mode)) {
      rv = replay_dir(argv[i], &count);
    } else if ((rv = replay_file(argv[i])) == 0) {
      count++;
    }
  }
  if (rv == 0 && count == 0) {
    fprintf(stderr, "replay: no inputs found\n");
    rv = -1;
  }
  if (rv != 0) return 1;
  printf("replay: %zu inputs ran clean\n", count);
  return 0;
}
