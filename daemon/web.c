#include "web.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <h2o.h>

#include "fieldmesh/error.h"
#include "node.h"
#include "web_auth.h"
#include "web_page.h"

struct fmd_web {
  fmd_node *d;
  h2o_globalconf_t conf;
  h2o_context_t ctx;
  h2o_accept_ctx_t accept;
  int conf_open, ctx_open;
  uv_tcp_t listener;
  int listener_open;
  fmd_web_auth auth;
  unsigned conns;
  struct conn *live;           /* every open connection, to end them at stop */
  char listen_text[FM_CONTROL_ADDR_MAX];
};

/* A connection: H2O owns the socket; the node counts them. */
typedef struct conn {
  uv_tcp_t tcp;                /* first: H2O's close callback gets its address */
  fmd_web *w;
  struct conn *prev, *next;    /* in w->live */
} conn;

/* The handler's state inside H2O's handler object. */
typedef struct handler {
  h2o_handler_t super;
  fmd_web *w;
} handler;

/* A request waiting for the password check.  |req| is cleared when H2O
 * disposes of the request first (the client went away); |slot| lives in
 * the request's pool and points back while both live. */
typedef struct waiter {
  fmd_web *w;
  h2o_req_t *req;
  struct waiter **slot;
} waiter;

/* ---- answers ------------------------------------------------------------------- */

/* H2O keeps the pointer: the value is copied into the request's pool. */
static void header(h2o_req_t *req, const h2o_token_t *t, const char *v) {
  h2o_iovec_t copy = h2o_strdup(&req->pool, v, strlen(v));
  h2o_add_header(&req->pool, &req->res.headers, t, NULL, copy.base, copy.len);
}

static void answer(h2o_req_t *req, int status, const char *reason, const char *type,
                   const char *body, size_t len) {
  req->res.status = status;
  req->res.reason = reason;
  header(req, H2O_TOKEN_CONTENT_TYPE, type);
  header(req, H2O_TOKEN_CACHE_CONTROL, "no-store");
  /* Should a value ever slip past html.c, the browser still runs no
   * script, loads nothing from elsewhere and shows the page in no frame. */
  h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("content-security-policy"), 0,
                        NULL, H2O_STRLIT("default-src 'none'; style-src 'unsafe-inline'; "
                                         "img-src 'self'; form-action 'self'; "
                                         "frame-ancestors 'none'"));
  h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-content-type-options"), 0,
                        NULL, H2O_STRLIT("nosniff"));
  h2o_send_inline(req, body, len);
}

static void plain(h2o_req_t *req, int status, const char *reason, const char *text) {
  answer(req, status, reason, "text/plain; charset=utf-8", text, strlen(text));
}

/* ---- requests -------------------------------------------------------------------- */

/* English when asked by ?lang=en, else when the browser prefers it. */
static int wants_english(h2o_req_t *req, const fmd_web_page *p) {
  char lang[8];
  if (fmd_web_param(p, "lang", lang, sizeof lang)) return !strcmp(lang, "en");
  ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_ACCEPT_LANGUAGE, -1);
  if (i < 0) return 0;
  h2o_iovec_t v = req->headers.entries[i].value;
  return v.len >= 2 && !strncasecmp(v.base, "en", 2);
}

/* The page at |path|, into |p|. */
static int route(fmd_web_page *p, const char *path) {
  if (!strcmp(path, "/") || !strcmp(path, "/mesh")) return fmd_web_mesh(p);
  if (!strcmp(path, "/records")) return fmd_web_records(p);
  if (!strncmp(path, "/records/", 9) && path[9]) return fmd_web_dossier(p, path + 9);
  if (!strcmp(path, "/reports")) return fmd_web_reports(p, 0);
  if (!strcmp(path, "/reports.csv")) return fmd_web_reports(p, 1);
  if (!strcmp(path, "/upstream")) return fmd_web_upstream(p);
  if (!strcmp(path, "/problems")) return fmd_web_problems(p);
  if (!strcmp(path, "/metrics")) return fmd_web_metrics(p);
  return FMD_WEB_NOTFOUND;
}

static char *dup_iov(h2o_mem_pool_t *pool, const char *s, size_t n) {
  char *out = h2o_mem_alloc_pool(pool, n + 1);
  memcpy(out, s, n);
  out[n] = 0;
  return out;
}

static void serve(fmd_web *w, h2o_req_t *req) {
  fmd_web_page p;
  memset(&p, 0, sizeof p);
  p.d = w->d;
  p.cfg = &w->d->cfg->web;
  p.path = dup_iov(&req->pool, req->path_normalized.base, req->path_normalized.len);
  p.query = req->query_at == SIZE_MAX
                ? ""
                : dup_iov(&req->pool, req->path.base + req->query_at + 1,
                          req->path.len - req->query_at - 1);
  p.en = wants_english(req, &p);
  int rv = route(&p, p.path);
  if (rv == FMD_WEB_NOTFOUND) {
    fmd_html_free(&p.out);
    plain(req, 404, "Not Found", fmd_web_t(&p, "Không có trang này.\n", "No such page.\n"));
  } else if (rv < 0 || p.out.oom) {
    fmd_logf(&w->d->log, FMD_WARN, "dashboard page %s failed: %s", p.path,
             rv < 0 ? fm_strerror(rv) : "out of memory");
    fmd_html_free(&p.out);
    plain(req, 500, "Internal Server Error", "The store could not be read: see the log.\n");
  } else {
    if (p.filename) {
      char disp[128];
      snprintf(disp, sizeof disp, "attachment; filename=\"%s\"", p.filename);
      header(req, H2O_TOKEN_CONTENT_DISPOSITION, disp);
    }
    answer(req, 200, "OK", p.content_type ? p.content_type : "text/html; charset=utf-8",
           p.out.len ? p.out.p : "", p.out.len);
    fmd_html_free(&p.out);
  }
}

static void on_waiter_gone(void *slot) {
  waiter *wt = *(waiter **)slot;
  if (wt) wt->req = NULL;
}

static void on_verdict(void *arg, fmd_web_verdict v, unsigned retry_s) {
  waiter *wt = arg;
  h2o_req_t *req = wt->req;
  char retry[16];
  if (req) *wt->slot = NULL;
  if (req && v == FMD_AUTH_OK) serve(wt->w, req);
  else if (req && v == FMD_AUTH_LIMITED) {
    snprintf(retry, sizeof retry, "%u", retry_s);
    header(req, H2O_TOKEN_RETRY_AFTER, retry);
    plain(req, 429, "Too Many Requests",
          "Too many wrong passwords from this address: wait and try again.\n");
  } else if (req) {
    header(req, H2O_TOKEN_WWW_AUTHENTICATE, "Basic realm=\"fieldmesh\", charset=\"UTF-8\"");
    plain(req, 401, "Unauthorized", "The dashboard's password is needed.\n");
  }
  free(wt);
}

static int on_req(h2o_handler_t *self, h2o_req_t *req) {
  fmd_web *w = ((handler *)self)->w;
  struct sockaddr_storage peer;
  waiter *wt;
  if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")) &&
      !h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"))) {
    header(req, H2O_TOKEN_ALLOW, "GET, HEAD");
    plain(req, 405, "Method Not Allowed", "The dashboard is read-only: GET or HEAD.\n");
    return 0;
  }
  memset(&peer, 0, sizeof peer);
  req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&peer);
  ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1);
  if (!(wt = calloc(1, sizeof *wt))) {
    plain(req, 503, "Service Unavailable", "Out of memory.\n");
    return 0;
  }
  wt->w = w;
  wt->req = req;
  wt->slot = h2o_mem_alloc_shared(&req->pool, sizeof *wt->slot, on_waiter_gone);
  *wt->slot = wt;
  fmd_web_auth_check(&w->auth, (struct sockaddr *)&peer,
                     i < 0 ? NULL : req->headers.entries[i].value.base,
                     i < 0 ? 0 : req->headers.entries[i].value.len, on_verdict, wt);
  return 0;
}

/* ---- connections ----------------------------------------------------------------- */

static void on_conn_closed(uv_handle_t *h) {
  conn *c = (conn *)h;
  if (c->prev) c->prev->next = c->next;
  else c->w->live = c->next;
  if (c->next) c->next->prev = c->prev;
  c->w->conns--;
  free(c);
}

static void on_connection(uv_stream_t *server, int status) {
  fmd_web *w = server->data;
  conn *c;
  if (status < 0 || !(c = calloc(1, sizeof *c))) return;
  c->w = w;
  FM_ASSERT(uv_tcp_init(server->loop, &c->tcp) == 0);
  w->conns++;
  c->next = w->live;
  if (w->live) w->live->prev = c;
  w->live = c;
  if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0 || w->conns > FMD_WEB_CONNS_MAX) {
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
    return;
  }
  h2o_socket_t *sock = h2o_uv_socket_create((uv_stream_t *)&c->tcp, on_conn_closed);
  h2o_accept(&w->accept, sock);
}

/* ---- starting and stopping --------------------------------------------------------- */

static void unref_handle(uv_handle_t *h, void *arg) {
  void **before = arg;
  for (size_t i = 0; before[i]; i++)
    if (before[i] == h) return;
  uv_unref(h);
}

static void count_handle(uv_handle_t *h, void *arg) {
  (void)h;
  (*(size_t *)arg)++;
}

static void list_handle(uv_handle_t *h, void *arg) {
  void ***at = arg;
  *(*at)++ = h;
}

/* H2O's context makes timers and an async handle (for its resolver
 * threads) on the loop; none of them may keep the daemon running once
 * everything else has stopped, so each new handle is unreferenced. */
static int init_context(fmd_web *w) {
  size_t n = 0;
  uv_walk(w->d->loop, count_handle, &n);
  void **before = calloc(n + 1, sizeof *before), **at = before;
  if (!before) return -1;
  uv_walk(w->d->loop, list_handle, &at);
  h2o_context_init(&w->ctx, w->d->loop, &w->conf);
  w->ctx_open = 1;
  uv_walk(w->d->loop, unref_handle, before);
  free(before);
  w->accept.ctx = &w->ctx;
  w->accept.hosts = w->conf.hosts;
  return 0;
}

static void init_conf(fmd_web *w) {
  h2o_config_init(&w->conf);
  w->conf_open = 1;
  w->conf.server_name = h2o_iovec_init(H2O_STRLIT("fieldmeshd"));
  h2o_hostconf_t *host = h2o_config_register_host(&w->conf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
  h2o_pathconf_t *path = h2o_config_register_path(host, "/", 0);
  handler *h = (handler *)h2o_create_handler(path, sizeof *h);
  h->super.on_req = on_req;
  h->w = w;
}

static int bind_listener(fmd_web *w) {
  const fmd_web_config *c = &w->d->cfg->web;
  struct sockaddr_storage ss;
  int len = sizeof ss, rv;
  FM_ASSERT(fmd_hostport_numeric(&c->listen_hp, &ss) == 0);
  FM_ASSERT(uv_tcp_init(w->d->loop, &w->listener) == 0);
  w->listener_open = 1;
  w->listener.data = w;
  if ((rv = uv_tcp_bind(&w->listener, (struct sockaddr *)&ss, 0)) < 0 ||
      (rv = uv_listen((uv_stream_t *)&w->listener, 128, on_connection)) < 0) {
    if (c->listen_given) {
      fmd_logf(&w->d->log, FMD_ERROR, "cannot serve the dashboard on %s: %s: another "
               "program holds the port; choose another with [web] listen, or off",
               c->listen, uv_strerror(rv));
      return FMD_EXIT_FAIL;
    }
    fmd_logf(&w->d->log, FMD_WARN, "no dashboard: cannot listen on %s: %s (set [web] "
             "listen to another address, or off)", c->listen, uv_strerror(rv));
    uv_close((uv_handle_t *)&w->listener, NULL);
    w->listener_open = 0;
    return 0;
  }
  if (uv_tcp_getsockname(&w->listener, (struct sockaddr *)&ss, &len) == 0)
    fmd_hostport_format((struct sockaddr *)&ss, w->listen_text, sizeof w->listen_text);
  fmd_logf(&w->d->log, FMD_INFO, "dashboard on http://%s/%s", w->listen_text,
           w->auth.required ? " (password required)" : "");
  return 0;
}

int fmd_web_start(fmd_node *d, fmd_web **out) {
  const fmd_web_config *c = &d->cfg->web;
  char err[PATH_MAX + 256];
  fmd_web *w;
  *out = NULL;
  if (c->off || (!c->listen_given && !fmd_upstream_enabled(&d->cfg->upstream))) return 0;
  if (!(w = calloc(1, sizeof *w))) return FMD_EXIT_FAIL;
  w->d = d;
  *out = w;
  if (fmd_web_auth_init(&w->auth, d->loop, c->password_file, err, sizeof err) < 0) {
    fmd_logf(&d->log, FMD_ERROR, "%s", err);
    return FMD_EXIT_FAIL;
  }
  init_conf(w);
  if (init_context(w) < 0) return FMD_EXIT_FAIL;
  return bind_listener(w);
}

void fmd_web_stop(fmd_web *w) {
  if (!w) return;
  if (w->listener_open) uv_close((uv_handle_t *)&w->listener, NULL);
  w->listener_open = 0;
  /* What h2o_context_request_shutdown() does for HTTP/1: the connections
   * close after their current response.  (Its HTTP/2 part would arm a
   * timer that must not outlive the loop.) */
  if (w->ctx_open) w->ctx.shutdown_requested = 1;
  /* A browser keeps idle connections open: shutting each socket down
   * makes H2O's next read see the end, and H2O closes it itself, so the
   * daemon stops at once rather than after H2O's request timeout. */
  for (conn *c = w->live; c; c = c->next) {
    uv_os_fd_t fd;
    if (uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0) shutdown(fd, SHUT_RDWR);
  }
}

void fmd_web_free(fmd_web *w) {
  if (!w) return;
  fmd_web_seal_close();
  if (w->ctx_open) h2o_context_dispose(&w->ctx);
  if (w->conf_open) h2o_config_dispose(&w->conf);
  sodium_memzero(&w->auth, sizeof w->auth);
  free(w);
}
