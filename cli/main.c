/* fieldmesh: the command line of a fieldmesh node.  Dispatches the command
 * words to cmd_*.c; global options may come before or after them. */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "args.h"
#include "cli.h"
#include "cmd.h"
#include "cmd_net.h"

typedef struct command {
  const char *group;   /* first word */
  const char *name;    /* second word, or NULL */
  fmc_cmd_fn fn;
  const char *summary;
  int writes;          /* FMC_WRITES: a running daemon is poked afterwards so the
                          new entries go out to its peers at once */
} command;

#define FMC_WRITES 1

static const command commands[] = {
    {"init", NULL, fmc_cmd_init, "create this laptop's device key", 0},
    {"authority", "init", fmc_cmd_authority_init,
      "create the commune authority (administrator)", 0},
    {"authority", "villages", fmc_cmd_authority_villages,
      "the commune's villages: add, rename, retire, list", FMC_WRITES},
    {"authority", "places", fmc_cmd_authority_places,
      "the commune's places (village points): add, rename, retire, list", FMC_WRITES},
    {"authority", "teams", fmc_cmd_authority_teams,
      "the commune's teams: add, rename, retire, list", FMC_WRITES},
    {"enroll", NULL, fmc_cmd_enroll,
      "enroll a laptop and write its join file (administrator)", FMC_WRITES},
    {"join", NULL, fmc_cmd_join, "join the commune with a join file", FMC_WRITES},
    {"revoke", NULL, fmc_cmd_revoke, "revoke a lost or stolen laptop (administrator)", FMC_WRITES},
    {"members", NULL, fmc_cmd_members,
      "every enrolled device: team, role, revocation, last entry", 0},
    {"visit", "add", fmc_cmd_visit_add, "record a visit", FMC_WRITES},
    {"visit", "list", fmc_cmd_visit_list, "list visits", 0},
    {"visit", "show", fmc_cmd_visit_show, "show one visit and its timeline", 0},
    {"visit", "void", fmc_cmd_visit_void, "withdraw a visit recorded in error", FMC_WRITES},
    {"dossier", "add", fmc_cmd_dossier_add, "record a dossier", FMC_WRITES},
    {"dossier", "status", fmc_cmd_dossier_status,
      "move a dossier along (submitted, delivered, ...)", FMC_WRITES},
    {"dossier", "correct", fmc_cmd_dossier_correct,
      "set a dossier's status back or across, with a reason (leader, officer)", FMC_WRITES},
    {"dossier", "attach", fmc_cmd_dossier_attach,
      "attach a scan of the citizen's papers to a dossier", FMC_WRITES},
    {"dossier", "attachments", fmc_cmd_dossier_attachments, "list a dossier's scans", 0},
    {"dossier", "attachment", fmc_cmd_dossier_attachment,
      "write one of a dossier's scans into a file (get ID N -o FILE)", 0},
    {"dossier", "show", fmc_cmd_dossier_show, "show one dossier", 0},
    {"dossier", "list", fmc_cmd_dossier_list, "list dossiers", 0},
    {"status", NULL, fmc_cmd_status, "this laptop: identity, counts, view digest", 0},
    {"doctor", NULL, fmc_cmd_doctor, "what is wrong with this laptop, and what to do", 0},
    {"peers", NULL, fmc_net_peers, "the laptops the daemon syncs with, and how far along", 0},
    {"sync", NULL, fmc_net_sync, "connect now to another laptop (HOST:PORT)", 0},
    {"vector", "export", fmc_cmd_vector_export,
      "write what this laptop holds, for a bundle back", 0},
    {"bundle", "export", fmc_cmd_bundle_export, "write the entries another laptop lacks", 0},
    {"bundle", "import", fmc_cmd_bundle_import, "apply a bundle from another laptop", FMC_WRITES},
    {"verify", NULL, fmc_cmd_verify, "re-check every signature, link and view", 0},
    {"recover", NULL, fmc_cmd_recover, "save what a damaged store holds into a fresh one", 0},
    /* Before `report` itself, which takes any other word as its options. */
    {"report", "bulletin", fmc_cmd_report_bulletin,
     "the period's figures as a paragraph for the news report", 0},
    {"report", NULL, fmc_cmd_report, "visits and dossiers by village, team, procedure or month", 0},
    {"procedures", NULL, fmc_cmd_procedures, "the procedure catalogue", 0},
    {"web-password", NULL, fmc_cmd_web_password,
      "set the gateway dashboard's password (a hash file)", 0},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void print_help(FILE *f) {
  fputs("usage: fieldmesh [--state DIR] [--json] COMMAND [ARGS]\n\n"
        "Offline-first records for mobile public-service teams.\n\ncommands:\n", f);
  for (size_t i = 0; i < NCOMMANDS; i++) {
    char words[40];
    snprintf(words, sizeof words, "%s%s%s", commands[i].group,
             commands[i].name ? " " : "", commands[i].name ? commands[i].name : "");
    fprintf(f, "  %-20s %s\n", words, commands[i].summary);
  }
  fputs("\nglobal options:\n"
        "  --state DIR   state folder (default: $FIELDMESH_STATE, else\n"
        "                ~/.local/share/fieldmesh)\n"
        "  --json        machine-readable output\n"
        "  --help        help for any command: fieldmesh visit add --help\n"
        "environment: FIELDMESH_NOW=ms fixes the time (tests)\n", f);
}

/* The subcommands of |group|, for "one of: add, list, void". */
static void list_names(const char *group, char *out, size_t cap) {
  out[0] = 0;
  for (size_t i = 0; i < NCOMMANDS; i++) {
    if (strcmp(commands[i].group, group) || !commands[i].name) continue;
    size_t n = strlen(out);
    snprintf(out + n, cap - n, "%s%s", n ? ", " : "", commands[i].name);
  }
}

static const command *find(const char *group, const char *name, int *group_known) {
  *group_known = 0;
  for (size_t i = 0; i < NCOMMANDS; i++) {
    if (strcmp(commands[i].group, group)) continue;
    *group_known = 1;
    if (!commands[i].name) return &commands[i];
    if (name && !strcmp(commands[i].name, name)) return &commands[i];
  }
  return NULL;
}

/* Options before the command: --state, --json, --help. */
static int leading_globals(fmc_ctx *c, int argc, char **argv, int *i) {
  for (; *i < argc && argv[*i][0] == '-'; (*i)++) {
    const char *a = argv[*i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      print_help(stdout);
      return FMC_HELP;
    }
    if (!strcmp(a, "--version")) {
      puts("fieldmesh 0.1.0");
      return FMC_HELP;
    }
    if (!strcmp(a, "--json")) c->json = 1;
    else if (!strncmp(a, "--state=", 8)) c->state_opt = a + 8;
    else if (!strcmp(a, "--state") && *i + 1 < argc) c->state_opt = argv[++*i];
    else return fmc_usage(c, "unknown option %s before the command (see --help)", a);
  }
  return 0;
}

int main(int argc, char **argv) {
  fmc_ctx c;
  char cmdname[64], names[128];
  int i = 1, known, rv;
  memset(&c, 0, sizeof c);
  fm_store_catch_sigbus();
  if (sodium_init() < 0) return fmc_fail(&c, "libsodium failed to initialise");
  if ((rv = leading_globals(&c, argc, argv, &i)) != 0) return fmc_exit(rv);
  if (i >= argc) {
    print_help(stderr);
    return FMC_USAGE;
  }
  const char *group = argv[i++];
  const char *name = i < argc ? argv[i] : NULL;
  const command *cmd = find(group, name, &known);
  if (!known)
    return fmc_usage(&c, "unknown command \"%.40s\" (see fieldmesh --help)", group);
  if (!cmd) {
    c.cmd = group;
    list_names(group, names, sizeof names);
    if (name && (!strcmp(name, "--help") || !strcmp(name, "-h"))) {
      printf("usage: fieldmesh %s SUBCOMMAND [ARGS]\nsubcommands: %s\n", group, names);
      return FMC_OK;
    }
    if (!name) return fmc_usage(&c, "missing subcommand: choose one of: %s", names);
    return fmc_usage(&c, "unknown subcommand \"%.40s\": choose one of: %s", name, names);
  }
  if (cmd->name) i++;
  snprintf(cmdname, sizeof cmdname, "%s%s%s", cmd->group, cmd->name ? " " : "",
           cmd->name ? cmd->name : "");
  c.cmd = cmdname;
  if ((rv = fmc_now(&c)) != 0) return rv;
  rv = cmd->fn(&c, argc - i, argv + i);
  if (rv == 0 && c.state[0] && cmd->writes) fmc_net_poke(c.state);
  fmc_close(&c);
  return fmc_exit(rv);
}
