/* The HTTP sink (libcurl): each batch POSTed as one JSON object with an
 * Idempotency-Key header (the batch id, also in the body), each entry
 * carrying its own idempotency_key (its id).  A 2xx reply lists the ids
 * the endpoint accepted (include/fieldmesh/http_reply.h); anything else
 * is a failure and the same batch is sent again after a pause.  TLS
 * certificates are checked unless [upstream] tls_verify = no. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "batch_json.h"
#include "fieldmesh/error.h"
#include "fieldmesh/http_reply.h"
#include "sink.h"

#define REPLY_MAX (1u << 20)   /* bytes of a reply kept; more is refused */

typedef struct http {
  const fmd_sink_env *env;
  char url[FMD_UP_CONNINFO_MAX];
  CURL *curl;               /* worker thread only; kept for keep-alive */
  atomic_int abort;         /* set by cancel(): the transfer gives up */
  fm_buf body, reply;
  int reply_too_big;
} http;

int fmd_http_global_init(void) { return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1; }
void fmd_http_global_cleanup(void) { curl_global_cleanup(); }

static size_t on_data(char *p, size_t size, size_t n, void *ctx) {
  http *h = ctx;
  size_t len = size * n;
  if (h->reply.len + len > REPLY_MAX) {
    h->reply_too_big = 1;
    return 0;   /* ends the transfer */
  }
  fm_buf_put(&h->reply, p, len);
  return len;
}

static int on_progress(void *ctx, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un) {
  http *h = ctx;
  (void)dt; (void)dn; (void)ut; (void)un;
  return atomic_load(&h->abort) ? 1 : 0;
}

/* The first line of a reply's body, printable, for an error message. */
static void body_excerpt(const fm_buf *b, char *out, size_t cap) {
  size_t n = 0;
  for (size_t i = 0; i < b->len && n + 1 < cap && n < 100; i++) {
    char c = (char)b->p[i];
    if (c == '\n' || c == '\r') break;
    out[n++] = (c < 0x20 || c == 0x7f) ? '?' : c;
  }
  out[n] = 0;
}

static int cmp_item(const void *key, const void *elem) {
  return memcmp(key, ((const fm_fwd_item *const *)elem)[0]->id, FM_ID_LEN);
}
static int sort_items(const void *x, const void *y) {
  return memcmp((*(const fm_fwd_item *const *)x)->id, (*(const fm_fwd_item *const *)y)->id, FM_ID_LEN);
}

/* Marks the items a 2xx reply accepted. */
static void take_reply(http *h, const fm_fwd_batch *b, fmd_delivery *out) {
  fm_http_reply rep;
  const fm_fwd_item **by_id;
  size_t unknown = 0, taken = 0;
  int rv = fm_http_reply_parse((const char *)h->reply.p, h->reply.len, b->n, &rep);
  if (rv < 0) {
    snprintf(out->error, sizeof out->error, "%.80s answered 2xx, but not with {\"accepted\": [entry "
             "ids]} (%s): fix the endpoint (docs/operations.md)", h->url, fm_strerror(rv));
    return;
  }
  if (!(by_id = malloc(b->n * sizeof *by_id)) || !(out->refs = calloc(b->n, sizeof *out->refs))) {
    free(by_id);
    fm_http_reply_free(&rep);
    snprintf(out->error, sizeof out->error, "out of memory");
    return;
  }
  for (size_t i = 0; i < b->n; i++) by_id[i] = &b->items[i];
  qsort(by_id, b->n, sizeof *by_id, sort_items);
  for (size_t i = 0; i < rep.n; i++) {
    const fm_fwd_item **hit = bsearch(rep.accepted[i].id, by_id, b->n, sizeof *by_id, cmp_item);
    if (!hit) {
      unknown++;
      continue;
    }
    size_t at = (size_t)(*hit - b->items);
    if (!out->accepted[at]) taken++;
    out->accepted[at] = 1;
    if (rep.accepted[i].ref[0] && !out->refs[at]) out->refs[at] = strdup(rep.accepted[i].ref);
  }
  snprintf(out->batch_ref, sizeof out->batch_ref, "%s", rep.ref);
  if (taken < b->n || unknown)
    snprintf(out->note, sizeof out->note, "%.80s accepted %zu of %zu entries%s", h->url, taken, b->n,
             unknown ? " (and named ids it was not sent)" : "");
  out->ok = 1;
  free(by_id);
  fm_http_reply_free(&rep);
}

static struct curl_slist *headers(http *h, const fm_fwd_batch *b) {
  char line[FMD_UP_TOKEN_MAX + 64], hex[33];
  struct curl_slist *l = NULL, *n;
  fmd_batch_hex(b, hex);
  const char *fixed[] = {"Content-Type: application/json", "Accept: application/json",
                         "Expect:", "User-Agent: fieldmeshd/0.1"};
  for (size_t i = 0; i < 4; i++)
    if ((n = curl_slist_append(l, fixed[i]))) l = n;
  snprintf(line, sizeof line, "Idempotency-Key: %s", hex);
  if ((n = curl_slist_append(l, line))) l = n;
  if (h->env->cfg->http_token[0]) {
    snprintf(line, sizeof line, "Authorization: Bearer %s", h->env->cfg->http_token);
    if ((n = curl_slist_append(l, line))) l = n;
  }
  return l;
}

static void setup(http *h, struct curl_slist *hdrs, char *errbuf) {
  const fmd_upstream_config *c = h->env->cfg;
  long timeout = (long)c->timeout_seconds * 1000;
  CURL *e = h->curl;
  curl_easy_setopt(e, CURLOPT_URL, h->url);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_POST, 1L);
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, (const char *)h->body.p);
  curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)h->body.len);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout < 10000 ? timeout : 10000L);
  /* Threads: no signals for DNS timeouts. */
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, c->tls_verify ? 1L : 0L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, c->tls_verify ? 2L : 0L);
  if (c->ca_file[0]) curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, h);
  curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(e, CURLOPT_XFERINFODATA, h);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
}

static void http_deliver(void *impl, const fm_fwd_batch *b, fmd_delivery *out) {
  http *h = impl;
  char errbuf[CURL_ERROR_SIZE] = "", excerpt[128];
  fmd_batch_meta m = {h->env->gateway, h->env->commune, "http"};
  long code = 0;
  int rv;
  fm_buf_reset(&h->body);
  fm_buf_reset(&h->reply);
  h->reply_too_big = 0;
  if ((rv = fmd_batch_json(&h->body, b, &m)) < 0) {
    snprintf(out->error, sizeof out->error, "cannot write the batch as JSON: %s", fm_strerror(rv));
    return;
  }
  if (!h->curl && !(h->curl = curl_easy_init())) {
    snprintf(out->error, sizeof out->error, "cannot start libcurl");
    return;
  }
  struct curl_slist *hdrs = headers(h, b);
  setup(h, hdrs, errbuf);
  CURLcode cc = curl_easy_perform(h->curl);
  curl_slist_free_all(hdrs);
  curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &code);
  if (cc != CURLE_OK && !(cc == CURLE_WRITE_ERROR && h->reply_too_big)) {
    snprintf(out->error, sizeof out->error, "cannot deliver to %.80s: %.150s", h->url,
             atomic_load(&h->abort) ? "stopped (shutting down)"
                                    : errbuf[0] ? errbuf : curl_easy_strerror(cc));
    return;
  }
  if (code < 200 || code > 299) {
    body_excerpt(&h->reply, excerpt, sizeof excerpt);
    snprintf(out->error, sizeof out->error, "%.80s answered %ld%s%s%s", h->url, code,
             excerpt[0] ? " \"" : "", excerpt, excerpt[0] ? "\"" : "");
    return;
  }
  if (h->reply_too_big) {
    snprintf(out->error, sizeof out->error, "%.80s answered more than 1 MiB: fix the endpoint", h->url);
    return;
  }
  take_reply(h, b, out);
}

static void http_cancel(void *impl) {
  http *h = impl;
  atomic_store(&h->abort, 1);
}

static void http_del(void *impl) {
  http *h = impl;
  if (!h) return;
  if (h->curl) curl_easy_cleanup(h->curl);
  fm_buf_free(&h->body);
  fm_buf_free(&h->reply);
  free(h);
}

int fmd_http_new(const fmd_sink_env *env, const char *url, void **impl, char *target,
                 size_t target_cap, char *err, size_t cap) {
  http *h = calloc(1, sizeof *h);
  if (!h) {
    snprintf(err, cap, "out of memory");
    return -1;
  }
  h->env = env;
  snprintf(h->url, sizeof h->url, "%s", url);
  atomic_init(&h->abort, 0);
  fm_buf_init(&h->body, (size_t)256 << 20);
  fm_buf_init(&h->reply, REPLY_MAX + 1);
  snprintf(target, target_cap, "%s", url);
  *impl = h;
  return 0;
}

const fmd_sink_ops fmd_http_ops = {FM_SINK_HTTP, http_deliver, http_cancel, http_del};
