/* fieldmesh-sim: runs a scenario on a virtual clock with the real proto/
 * and store/ code, and checks the invariants at the end.
 *
 *   fieldmesh-sim SCENARIO [--seed N] [--days D] [--json FILE] [--csv FILE]
 *                          [--verify-all] [--keep] [--seal] [--scans] [--tmp DIR]
 *
 * Exit codes: 0 all invariants hold, 1 usage or scenario error, 2 a store
 * or the system failed, 10..19 the first invariant that failed (check.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "fieldmesh/error.h"
#include "fieldmesh/fsfile.h"

#include "check.h"
#include "report.h"
#include "scenario.h"
#include "world.h"

#ifndef SIM_SCENARIO_DIR
#define SIM_SCENARIO_DIR "sim/scenarios"
#endif
#ifndef SIM_SCENARIO_INSTALLED
#define SIM_SCENARIO_INSTALLED "/usr/local/share/doc/fieldmesh/scenarios"
#endif

#define SIM_HELP (-1)

typedef struct args {
  const char *scenario, *json, *csv, *tmp;
  uint64_t seed;
  int has_seed, days, verify_all, keep, seal, scans;
} args;

static const char USAGE[] =
    "usage: fieldmesh-sim SCENARIO [--seed N] [--days D] [--json FILE] [--csv FILE]\n"
    "                     [--verify-all] [--keep] [--seal] [--scans] [--tmp DIR]\n"
    "  SCENARIO is a scenario file or a preset: tan-quang, truc-bach, hoa-phuoc, binh-tan\n"
    "  (docs/simulator.md says what a run prints, and the exit codes)\n";

static int usage(const char *why) {
  if (why) fprintf(stderr, "fieldmesh-sim: %s\n", why);
  fputs(USAGE, stderr);
  return SIM_EXIT_USAGE;
}

static int number(const char *s, uint64_t *out) {
  char *e;
  errno = 0;
  unsigned long long v = strtoull(s, &e, 10);
  if (!*s || *e || errno || *s == '-') return -1;
  *out = v;
  return 0;
}

static int parse_args(int argc, char **argv, args *a) {
  memset(a, 0, sizeof *a);
  a->tmp = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
  for (int i = 1; i < argc; i++) {
    const char *o = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    uint64_t n;
    int takes = !strcmp(o, "--seed") || !strcmp(o, "--days") || !strcmp(o, "--json") ||
                !strcmp(o, "--csv") || !strcmp(o, "--tmp");
    if (takes && !v) return usage("an option needs a value");
    if (!strcmp(o, "--help") || !strcmp(o, "-h")) {
      fputs(USAGE, stdout);
      return SIM_HELP;
    }
    if (!strcmp(o, "--seed")) {
      if (number(v, &a->seed) < 0) return usage("--seed: give a whole number");
      a->has_seed = 1;
    } else if (!strcmp(o, "--days")) {
      if (number(v, &n) < 0 || n < 1 || n > 3660) return usage("--days: give 1 to 3660");
      a->days = (int)n;
    } else if (!strcmp(o, "--json")) a->json = v;
    else if (!strcmp(o, "--csv")) a->csv = v;
    else if (!strcmp(o, "--tmp")) a->tmp = v;
    else if (!strcmp(o, "--verify-all")) a->verify_all = 1;
    else if (!strcmp(o, "--keep")) a->keep = 1;
    else if (!strcmp(o, "--seal")) a->seal = 1;
    else if (!strcmp(o, "--scans")) a->scans = 1;
    else if (o[0] == '-' || a->scenario) return usage("unknown argument");
    else a->scenario = o;
    i += takes;
  }
  return a->scenario ? 0 : usage("give a scenario");
}

/* A file as given, or a preset by name from the scenario folder. */
static void resolve(const char *name, char *path, size_t cap) {
  /* The source tree's folder for a build used in place, the installed one
   * for `cmake --install`. */
  const char *dirs[3] = {getenv("FIELDMESH_SIM_SCENARIOS"), SIM_SCENARIO_DIR,
                         SIM_SCENARIO_INSTALLED};
  snprintf(path, cap, "%s", name);
  if (access(path, R_OK) == 0 || strchr(name, '/')) return;
  for (int i = 0; i < 3; i++) {
    if (!dirs[i] || !*dirs[i]) continue;
    snprintf(path, cap, "%s/%s.ini", dirs[i], name);
    if (access(path, R_OK) == 0) return;
  }
  snprintf(path, cap, "%s", name);
}

static double seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* An output file (--json, --csv): its text is gathered in memory and
 * written at the end through fm_fsfile, so a link at that path is
 * replaced, never written through, and a run that fails leaves no half
 * file.  Begun before the run, so a bad path is said at once. */
typedef struct outfile {
  const char *flag, *path;
  fm_fsfile f;
  FILE *mem;
  char *text;
  size_t len;
} outfile;

static int out_begin(outfile *o, const char *flag, const char *path) {
  int rv;
  memset(o, 0, sizeof *o);
  o->flag = flag;
  o->path = path;
  if ((rv = fm_fsfile_begin(&o->f, path, 0644)) < 0) {
    fprintf(stderr, "fieldmesh-sim: %s %s: %s\n", flag, path,
            rv == FM_ERR_IO ? strerror(errno) : fm_strerror(rv));
    return -1;
  }
  if (!(o->mem = open_memstream(&o->text, &o->len))) {
    fm_fsfile_abort(&o->f);
    fprintf(stderr, "fieldmesh-sim: %s %s: out of memory\n", flag, path);
    return -1;
  }
  return 0;
}

/* Writes the file when |keep|, drops it otherwise; -1 when writing failed. */
static int out_end(outfile *o, int keep) {
  int rv = fclose(o->mem) == 0 ? 0 : FM_ERR_IO;
  if (keep && rv == 0 && (rv = fm_fsfile_write(&o->f, o->text, o->len)) == 0)
    rv = fm_fsfile_commit(&o->f, FM_FSFILE_REPLACE);
  else
    fm_fsfile_abort(&o->f);
  free(o->text);
  if (rv < 0)
    fprintf(stderr, "fieldmesh-sim: %s %s: %s\n", o->flag, o->path,
            rv == FM_ERR_IO ? strerror(errno) : fm_strerror(rv));
  return rv < 0 ? -1 : 0;
}

static void name_failures(const sim_check_report *r) {
  for (size_t i = 0; i < r->n; i++)
    if (!r->items[i].ok)
      fprintf(stderr, "fieldmesh-sim: invariant %s failed (exit %d): %s\n", r->items[i].name,
              r->items[i].code, r->items[i].detail);
}

static int run(const args *a, const sim_scenario *sc, double t0) {
  sim_world w;
  sim_check_report rep;
  sim_figures fig;
  sim_options opt = {a->has_seed ? a->seed : sc->seed, a->days, a->verify_all, a->keep,
                     a->seal || sc->seal, a->tmp, NULL,
                     sc->scan_kb ? sc->scan_kb : a->scans ? SIM_SCAN_KB_DEFAULT : 0};
  int code = SIM_EXIT_SYSTEM, done = 0;
  outfile csv, json;
  if (a->csv && out_begin(&csv, "--csv", a->csv) < 0) return SIM_EXIT_USAGE;
  if (a->json && out_begin(&json, "--json", a->json) < 0) {
    if (a->csv) out_end(&csv, 0);
    return SIM_EXIT_USAGE;
  }
  if (a->csv) opt.csv = csv.mem;
  printf("fieldmesh-sim: scenario %s, seed %llu\n", sc->name, (unsigned long long)opt.seed);
  fflush(stdout);
  if (sim_world_new(&w, sc, &opt) == 0 && sim_world_run(&w) == 0 &&
      sim_world_check(&w, &rep) == 0 && sim_report_figures(&w, &fig) == 0) {
    sim_report_text(stdout, &w, &fig, &rep);
    name_failures(&rep);
    code = rep.exit_code;
    if (a->json) sim_report_json(json.mem, &w, &fig, &rep);
    done = 1;
  }
  sim_world_free(&w);
  if (a->json && out_end(&json, done) < 0) code = SIM_EXIT_SYSTEM;
  /* The CSV is kept even when the run broke off: it shows how far it got. */
  if (a->csv && out_end(&csv, 1) < 0) code = SIM_EXIT_SYSTEM;
  printf("wall time %.2f s\n", seconds() - t0);
  return code;
}

int main(int argc, char **argv) {
  double t0 = seconds();
  char path[1024], err[1024];
  sim_scenario sc;
  args a;
  int rv = parse_args(argc, argv, &a);
  if (rv == SIM_HELP) return 0;
  if (rv != 0) return SIM_EXIT_USAGE;
  if (sodium_init() < 0) {
    fprintf(stderr, "fieldmesh-sim: libsodium would not start\n");
    return SIM_EXIT_SYSTEM;
  }
  resolve(a.scenario, path, sizeof path);
  if (access(path, R_OK) != 0) {
    fprintf(stderr, "fieldmesh-sim: %s: no such scenario file, and no preset of that name "
                    "(tan-quang, truc-bach, hoa-phuoc, binh-tan)\n", a.scenario);
    return SIM_EXIT_USAGE;
  }
  if (sim_scenario_load(path, &sc, err, sizeof err) < 0) {
    fprintf(stderr, "fieldmesh-sim: %s\n", err);
    return SIM_EXIT_USAGE;
  }
  int code = run(&a, &sc, t0);
  sim_scenario_free(&sc);
  return code;
}
