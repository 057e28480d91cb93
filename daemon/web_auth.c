#include "web_auth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fieldmesh/error.h"
#include "fieldmesh/fsfile.h"

#define HASH_FILE_MAX 1024

/* A check waiting for the worker pool, then for the delay. */
typedef struct check {
  fmd_web_auth *a;
  uv_work_t work;
  uv_timer_t delay;
  struct sockaddr_storage peer;
  char password[FMD_WEB_PASSWORD_MAX];
  uint8_t tag[crypto_generichash_BYTES];
  int ok;
  fmd_web_auth_cb cb;
  void *arg;
} check;

static int read_hash(fmd_web_auth *a, const char *path, char *err, size_t cap) {
  uint8_t *text;
  size_t len;
  struct stat st;
  int rv = fm_fsfile_read(path, HASH_FILE_MAX, &text, &len);
  if (rv < 0) {
    snprintf(err, cap, "cannot read [web] password_file %s: %s; make it with `fieldmesh "
             "web-password %s`", path, rv == FM_ERR_IO ? strerror(errno) : fm_strerror(rv), path);
    return -1;
  }
  while (len && (text[len - 1] == '\n' || text[len - 1] == '\r')) text[--len] = 0;
  if (len == 0 || len >= sizeof a->hash || strncmp((char *)text, "$argon2id$", 10) ||
      memchr(text, '\n', len)) {
    free(text);
    snprintf(err, cap, "[web] password_file %s does not hold a password hash: make it "
             "again with `fieldmesh web-password %s`", path, path);
    return -1;
  }
  memcpy(a->hash, text, len + 1);
  sodium_memzero(text, len);
  free(text);
  if (stat(path, &st) == 0 && (st.st_mode & 077)) {
    snprintf(err, cap, "[web] password_file %s is readable by other users: run `chmod 600 "
             "%s`", path, path);
    return -1;
  }
  return 0;
}

int fmd_web_auth_init(fmd_web_auth *a, uv_loop_t *loop, const char *password_file,
                      char *err, size_t cap) {
  memset(a, 0, sizeof *a);
  a->loop = loop;
  a->guesses.count_loopback = 1;
  randombytes_buf(a->key, sizeof a->key);
  if (!password_file || !password_file[0]) return 0;
  if (read_hash(a, password_file, err, cap) < 0) return -1;
  a->required = 1;
  return 0;
}

int fmd_web_basic_password(const char *authz, size_t n, char *out, size_t cap) {
  unsigned char raw[3 * FMD_WEB_PASSWORD_MAX / 2];
  size_t len;
  const char *colon;
  if (!authz || n < 6 || strncasecmp(authz, "Basic ", 6)) return -1;
  authz += 6, n -= 6;
  while (n && *authz == ' ') authz++, n--;
  if (sodium_base642bin(raw, sizeof raw - 1, authz, n, NULL, &len, NULL,
                        sodium_base64_VARIANT_ORIGINAL) != 0)
    return -1;
  raw[len] = 0;
  if (!(colon = memchr(raw, ':', len))) return -1;
  size_t pw = len - (size_t)(colon + 1 - (const char *)raw);
  if (pw >= cap || memchr(colon + 1, 0, pw)) return -1;
  memcpy(out, colon + 1, pw);
  out[pw] = 0;
  sodium_memzero(raw, sizeof raw);
  return 0;
}

int fmd_web_auth_limited(fmd_web_auth *a, const struct sockaddr *peer, uint64_t now,
                         unsigned *retry_s) {
  fm_time left = fmd_shun_left(&a->guesses, peer, (fm_time)now);
  *retry_s = (unsigned)((left + 999) / 1000);
  return left > 0;
}

void fmd_web_auth_wrong(fmd_web_auth *a, const struct sockaddr *peer, uint64_t now) {
  fmd_shun_failed(&a->guesses, peer, "wrong dashboard password", (fm_time)now, NULL);
}

/* Whether the header with |tag| verified within FMD_WEB_AUTH_REMEMBER_MS. */
static int remembered(fmd_web_auth *a, const uint8_t *tag) {
  uint64_t now = uv_now(a->loop);
  for (unsigned i = 0; i < FMD_WEB_AUTH_REMEMBERED; i++)
    if (a->ok[i].until > now && sodium_memcmp(a->ok[i].tag, tag, sizeof a->ok[i].tag) == 0)
      return 1;
  return 0;
}

static void remember(fmd_web_auth *a, const uint8_t *tag) {
  unsigned i = a->next_ok++ % FMD_WEB_AUTH_REMEMBERED;
  memcpy(a->ok[i].tag, tag, sizeof a->ok[i].tag);
  a->ok[i].until = uv_now(a->loop) + FMD_WEB_AUTH_REMEMBER_MS;
}

static void on_verify(uv_work_t *w) {
  check *c = w->data;
  c->ok = crypto_pwhash_str_verify(c->a->hash, c->password, strlen(c->password)) == 0;
  sodium_memzero(c->password, sizeof c->password);
}

static void on_check_closed(uv_handle_t *h) { free(h->data); }

static void on_delay(uv_timer_t *t) {
  check *c = t->data;
  c->cb(c->arg, FMD_AUTH_WRONG, 0);
  uv_close((uv_handle_t *)&c->delay, on_check_closed);
}

static void on_verified(uv_work_t *w, int status) {
  check *c = w->data;
  fmd_web_auth *a = c->a;
  a->pending--;
  if (status == 0 && c->ok) {
    remember(a, c->tag);
    fmd_shun_admitted(&a->guesses, (const struct sockaddr *)&c->peer);
    c->cb(c->arg, FMD_AUTH_OK, 0);
    uv_close((uv_handle_t *)&c->delay, on_check_closed);
    return;
  }
  fmd_web_auth_wrong(a, (const struct sockaddr *)&c->peer, uv_now(a->loop));
  uv_timer_start(&c->delay, on_delay, FMD_WEB_AUTH_DELAY_MS, 0);
}

static socklen_t addr_len(const struct sockaddr *sa) {
  return sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

void fmd_web_auth_check(fmd_web_auth *a, const struct sockaddr *peer, const char *authz,
                        size_t n, fmd_web_auth_cb cb, void *arg) {
  unsigned retry;
  check *c;
  if (!a->required) return cb(arg, FMD_AUTH_OK, 0);
  if (fmd_web_auth_limited(a, peer, uv_now(a->loop), &retry))
    return cb(arg, FMD_AUTH_LIMITED, retry);
  if (!authz) return cb(arg, FMD_AUTH_MISSING, 0);
  if (!(c = calloc(1, sizeof *c))) return cb(arg, FMD_AUTH_LIMITED, 1);
  crypto_generichash(c->tag, sizeof c->tag, (const uint8_t *)authz, n, a->key, sizeof a->key);
  if (remembered(a, c->tag)) {
    free(c);
    return cb(arg, FMD_AUTH_OK, 0);
  }
  if (a->pending >= FMD_WEB_AUTH_PENDING_MAX) {
    free(c);
    return cb(arg, FMD_AUTH_LIMITED, 1);
  }
  c->a = a;
  c->cb = cb;
  c->arg = arg;
  memcpy(&c->peer, peer, addr_len(peer));
  FM_ASSERT(uv_timer_init(a->loop, &c->delay) == 0);
  c->delay.data = c->work.data = c;
  /* A header that is not Basic is a wrong password: the same delay. */
  if (fmd_web_basic_password(authz, n, c->password, sizeof c->password) < 0) {
    a->pending++;
    on_verified(&c->work, 0);
    return;
  }
  a->pending++;
  if (uv_queue_work(a->loop, &c->work, on_verify, on_verified) < 0) on_verified(&c->work, -1);
}
