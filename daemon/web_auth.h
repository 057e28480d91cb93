/* The dashboard's password (docs/operations.md, "The dashboard").
 *
 * Off loopback the dashboard asks for HTTP Basic credentials; the
 * password (any user name) is checked against the Argon2id hash that
 * `fieldmesh web-password FILE` wrote ([web] password_file) with
 * crypto_pwhash_str_verify.  That takes a tenth of a second and 64 MiB,
 * so it runs on libuv's worker pool, never on the loop the sync sessions
 * share.  A password that verified is remembered (a keyed hash of the
 * header, for FMD_WEB_AUTH_REMEMBER_MS) so that the pages after the
 * first load fast.
 *
 * Guessing is slowed twice: every wrong password is answered only after
 * FMD_WEB_AUTH_DELAY_MS, and an address with more than FMD_SHUN_FREE
 * wrong passwords is refused (429 with Retry-After) for a period that
 * doubles (shun.h), loopback included: a guess from this machine is a
 * guess too.  A right password forgives the address.  At most
 * FMD_WEB_AUTH_PENDING_MAX checks run at once: guesses sent in parallel
 * beyond that are answered 429 at once, so a flood of them can take
 * neither the machine's memory nor the worker pool the gateway's sinks
 * share. */
#ifndef FMD_WEB_AUTH_H
#define FMD_WEB_AUTH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <sodium.h>
#include <uv.h>

#include "shun.h"

#define FMD_WEB_AUTH_DELAY_MS 1000
#define FMD_WEB_AUTH_REMEMBER_MS (10 * 60 * 1000)
#define FMD_WEB_AUTH_REMEMBERED 8
#define FMD_WEB_PASSWORD_MAX 256       /* bytes of a password */
#define FMD_WEB_AUTH_PENDING_MAX 4     /* checks in flight at once (64 MiB each) */

typedef enum fmd_web_verdict {
  FMD_AUTH_OK,          /* serve the page */
  FMD_AUTH_MISSING,     /* 401 at once: no credentials (a browser's first try) */
  FMD_AUTH_WRONG,       /* 401, after the delay */
  FMD_AUTH_LIMITED      /* 429: too many wrong passwords from this address */
} fmd_web_verdict;

typedef struct fmd_web_auth {
  uv_loop_t *loop;
  int required;                             /* a password file was given */
  char hash[crypto_pwhash_STRBYTES];        /* its Argon2id string */
  fmd_shun guesses;                         /* wrong passwords per address */
  uint8_t key[crypto_generichash_KEYBYTES]; /* for remembering headers */
  struct {
    uint8_t tag[crypto_generichash_BYTES];
    uint64_t until;                         /* uv_now; 0: empty */
  } ok[FMD_WEB_AUTH_REMEMBERED];
  unsigned next_ok;
  unsigned pending;                         /* checks in flight */
} fmd_web_auth;

/* Sets up |a|; with a |password_file| (may be "" or NULL: no password),
 * reads it.  Returns 0, or -1 with one line in |err| (the file missing,
 * readable by others, or not a hash `web-password` wrote). */
int fmd_web_auth_init(fmd_web_auth *a, uv_loop_t *loop, const char *password_file,
                      char *err, size_t cap);

/* The verdict of a request from |peer| with the Authorization header
 * |authz| (|n| bytes; NULL when absent).  Called with it at once, or,
 * when the password must be verified, from the loop after the worker
 * (and the delay, when wrong).  |*retry_s| (for FMD_AUTH_LIMITED): the
 * seconds until the address may try again. */
typedef void (*fmd_web_auth_cb)(void *arg, fmd_web_verdict v, unsigned retry_s);
void fmd_web_auth_check(fmd_web_auth *a, const struct sockaddr *peer, const char *authz,
                        size_t n, fmd_web_auth_cb cb, void *arg);

/* ---- the parts without a loop, for the tests ------------------------------------ */

/* The password of a "Basic base64(user:password)" header into |out|
 * (|cap| bytes, NUL-terminated).  0, or -1 when the header is not one. */
int fmd_web_basic_password(const char *authz, size_t n, char *out, size_t cap);

/* Whether |peer| is refused at |now| (uv_now); |*retry_s| as above. */
int fmd_web_auth_limited(fmd_web_auth *a, const struct sockaddr *peer, uint64_t now,
                         unsigned *retry_s);
/* A wrong password from |peer| at |now|. */
void fmd_web_auth_wrong(fmd_web_auth *a, const struct sockaddr *peer, uint64_t now);

#endif
