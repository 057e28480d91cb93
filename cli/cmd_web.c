/* fieldmesh web-password FILE: the password of the gateway's dashboard
 * ([web] password_file, docs/operations.md), stored as an Argon2id hash
 * that fieldmeshd checks with crypto_pwhash_str_verify. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "args.h"
#include "cmd.h"
#include "fieldmesh/error.h"
#include "fieldmesh/fsfile.h"

#define PASSWORD_MIN 8
#define PASSWORD_MAX 256   /* the daemon's FMD_WEB_PASSWORD_MAX */

/* One line of stdin into |out| without its newline; echo off on a
 * terminal, with |prompt| on stderr.  0, or -1 at the end of input. */
static int read_line(const char *prompt, int tty, char *out, size_t cap) {
  struct termios old, quiet;
  int echo_off = 0;
  if (tty) {
    fputs(prompt, stderr);
    fflush(stderr);
    if (tcgetattr(STDIN_FILENO, &old) == 0) {
      quiet = old;
      quiet.c_lflag &= (tcflag_t)~ECHO;
      echo_off = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
    }
  }
  char *got = fgets(out, (int)cap, stdin);
  if (echo_off) {
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    fputc('\n', stderr);
  }
  if (!got) return -1;
  out[strcspn(out, "\r\n")] = 0;
  return 0;
}

/* The new password into |pw|: twice from a terminal, once from a pipe. */
static int ask(fmc_ctx *c, char *pw, size_t cap) {
  char again[PASSWORD_MAX + 2];
  int tty = isatty(STDIN_FILENO);
  if (read_line("New dashboard password: ", tty, pw, cap) < 0)
    return fmc_usage(c, "no password given: type it, or give it on stdin");
  if (strlen(pw) >= cap - 1)
    return fmc_usage(c, "the password is longer than %d bytes: choose a shorter one",
                     PASSWORD_MAX);
  if (strlen(pw) < PASSWORD_MIN)
    return fmc_usage(c, "the password has fewer than %d characters: choose a longer one "
                        "(a phrase of several words is easiest to remember)", PASSWORD_MIN);
  if (!tty) return 0;
  int same = read_line("Again: ", tty, again, sizeof again) == 0 && !strcmp(again, pw);
  sodium_memzero(again, sizeof again);
  return same ? 0 : fmc_usage(c, "the two passwords differ: nothing was written; try again");
}

/* Writes |hash| and a newline to |path|, mode 0600, replacing it whole. */
static int write_hash(fmc_ctx *c, const char *path, const char *hash) {
  fm_fsfile f;
  int rv = fm_fsfile_begin(&f, path, 0600);
  if (rv == 0) {
    fm_fsfile_write(&f, hash, strlen(hash));
    fm_fsfile_write(&f, "\n", 1);
    rv = fm_fsfile_commit(&f, FM_FSFILE_REPLACE);
  }
  if (rv < 0)
    return fmc_fail(c, "cannot write %s: %s; nothing was changed", path,
                    rv == FM_ERR_IO ? strerror(errno) : fm_strerror(rv));
  return 0;
}

int fmc_cmd_web_password(fmc_ctx *c, int argc, char **argv) {
  fmc_spec spec = {"usage: fieldmesh web-password FILE\n"
                   "Sets the password of the gateway's dashboard: reads it twice from the\n"
                   "terminal (or once from stdin) and writes its Argon2id hash to FILE,\n"
                   "readable by this user only.  Then set [web] password_file = FILE in\n"
                   "fieldmeshd.conf and restart the gateway (docs/operations.md).\n",
                   NULL, 1, 1, {0}, 0};
  char pw[PASSWORD_MAX + 2], hash[crypto_pwhash_STRBYTES];
  int rv;
  if ((rv = fmc_args_parse(c, &spec, argc, argv)) != 0) return rv;
  rv = ask(c, pw, sizeof pw);
  if (rv == 0 && crypto_pwhash_str(hash, pw, strlen(pw), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                   crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
    rv = fmc_fail(c, "out of memory while hashing the password (it needs 64 MiB)");
  sodium_memzero(pw, sizeof pw);
  if (rv != 0) return rv;
  if ((rv = write_hash(c, spec.pos[0], hash)) != 0) return rv;
  printf("wrote the dashboard's password hash to %s\n"
         "set [web] password_file = %s in the gateway's fieldmeshd.conf and restart it\n",
         spec.pos[0], spec.pos[0]);
  return 0;
}
