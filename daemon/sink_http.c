/* The HTTP sink (libcurl): each batch POSTed as one JSON object with an
 * Idempotency-Key header (the batch id, also in the body), each entry
 * carrying its own idempotency_key (its id).  A 2xx reply lists the ids
 * the endpoint accepted (include/fieldmesh/http_reply.h); anything else
 * is a failure and the same batch is sent again after a pause.  TLS
 * certificates are checked unless [upstream] tls_verify = no.
 *
 * Scans go first, each by an idempotent PUT of its bytes to
 * {base}/attachments/{hash} (base: the URL without its last path
 * segment; hash: BLAKE2b-256 of the file, hex), then the batch, whose
 * attach entries name that hash: a batch is never sent before the scans
 * it names are stored.  A scan PUT once is not PUT again by this process
 * when its batch is retried (RECENT_PUTS remembered). */
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
#define RECENT_PUTS 64         /* scans remembered as stored: a retried batch skips them */

typedef struct http {
  const fmd_sink_env *env;
  char url[FMD_UP_CONNINFO_MAX];
  CURL *curl;               /* worker thread only; kept for keep-alive */
  atomic_int abort;         /* set by cancel(): the transfer gives up */
  fm_buf body, reply;
  int reply_too_big;
  char scan_base[FMD_UP_CONNINFO_MAX];   /* {base}/attachments/ */
  const uint8_t *up;        /* the scan being PUT: its bytes left */
  size_t up_left;
  char recent[RECENT_PUTS][FMD_SCAN_HASH_HEX];   /* worker thread only */
  unsigned recent_next;
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

/* A request's headers: |type| its body's, |key| its Idempotency-Key. */
static struct curl_slist *headers(http *h, const char *type, const char *key) {
  char line[FMD_UP_TOKEN_MAX + 80];
  struct curl_slist *l = NULL, *n;
  snprintf(line, sizeof line, "Content-Type: %s", type);
  const char *fixed[] = {line, "Accept: application/json", "Expect:",
                         "User-Agent: fieldmeshd/0.1"};
  for (size_t i = 0; i < 4; i++)
    if ((n = curl_slist_append(l, fixed[i]))) l = n;
  snprintf(line, sizeof line, "Idempotency-Key: %s", key);
  if ((n = curl_slist_append(l, line))) l = n;
  if (h->env->cfg->http_token[0]) {
    snprintf(line, sizeof line, "Authorization: Bearer %s", h->env->cfg->http_token);
    if ((n = curl_slist_append(l, line))) l = n;
  }
  return l;
}

/* What every request sets; the handle is reset first (its connections
 * stay, for keep-alive). */
static void common(http *h, const char *url, struct curl_slist *hdrs, char *errbuf) {
  const fmd_upstream_config *c = h->env->cfg;
  long timeout = (long)c->timeout_seconds * 1000;
  CURL *e = h->curl;
  curl_easy_reset(e);
  curl_easy_setopt(e, CURLOPT_URL, url);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
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

static void setup(http *h, struct curl_slist *hdrs, char *errbuf) {
  common(h, h->url, hdrs, errbuf);
  curl_easy_setopt(h->curl, CURLOPT_POST, 1L);
  curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, (const char *)h->body.p);
  curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)h->body.len);
}

/* ---- scans ------------------------------------------------------------------------------ */

static size_t on_read(char *dst, size_t size, size_t n, void *ctx) {
  http *h = ctx;
  size_t len = size * n < h->up_left ? size * n : h->up_left;
  memcpy(dst, h->up, len);
  h->up += len;
  h->up_left -= len;
  return len;
}

static int recently_put(const http *h, const char *hash) {
  for (size_t i = 0; i < RECENT_PUTS; i++)
    if (!strcmp(h->recent[i], hash)) return 1;
  return 0;
}

/* PUTs scan |x|: 0 once a 2xx says it is stored, else -1 with |out->error|. */
static int put_scan(http *h, const fmd_scans *sc, const fmd_scan *x, fmd_delivery *out) {
  char url[FMD_UP_CONNINFO_MAX + FMD_SCAN_HASH_HEX], errbuf[CURL_ERROR_SIZE] = "", excerpt[128];
  long code = 0;
  snprintf(url, sizeof url, "%s%s", h->scan_base, x->hash);
  struct curl_slist *hdrs = headers(h, "application/octet-stream", x->hash);
  fm_buf_reset(&h->reply);
  h->reply_too_big = 0;
  h->up = fmd_scan_file(sc, x);
  h->up_left = (size_t)x->size;
  common(h, url, hdrs, errbuf);
  curl_easy_setopt(h->curl, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(h->curl, CURLOPT_READFUNCTION, on_read);
  curl_easy_setopt(h->curl, CURLOPT_READDATA, h);
  curl_easy_setopt(h->curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)x->size);
  CURLcode cc = curl_easy_perform(h->curl);
  curl_slist_free_all(hdrs);
  curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &code);
  if (cc != CURLE_OK && !(cc == CURLE_WRITE_ERROR && h->reply_too_big)) {
    snprintf(out->error, sizeof out->error, "cannot PUT a scan to %.80s: %.150s", url,
             atomic_load(&h->abort) ? "stopped (shutting down)"
                                    : errbuf[0] ? errbuf : curl_easy_strerror(cc));
    return -1;
  }
  if (code < 200 || code > 299) {
    body_excerpt(&h->reply, excerpt, sizeof excerpt);
    snprintf(out->error, sizeof out->error, "%.100s answered %ld to a scan's PUT%s%.100s%s", url,
             code, excerpt[0] ? " \"" : "", excerpt, excerpt[0] ? "\"" : "");
    return -1;
  }
  snprintf(h->recent[h->recent_next], sizeof h->recent[0], "%s", x->hash);
  h->recent_next = (h->recent_next + 1) % RECENT_PUTS;
  return 0;
}

/* Every opened scan of the batch not yet stored upstream. */
static int put_scans(http *h, const fmd_scans *sc, fmd_delivery *out) {
  for (size_t i = 0; sc && i < sc->n; i++) {
    const fmd_scan *x = &sc->v[i];
    if (x->state != FMD_SCAN_OK || recently_put(h, x->hash)) continue;
    if (put_scan(h, sc, x, out) < 0) return -1;
  }
  return 0;
}

static void http_deliver(void *impl, const fm_fwd_batch *b, fmd_delivery *out) {
  http *h = impl;
  char errbuf[CURL_ERROR_SIZE] = "", excerpt[128];
  fmd_batch_meta m = {h->env->gateway, h->env->commune, "http", out->scans, NULL};
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
  if (put_scans(h, out->scans, out) < 0) return;
  fm_buf_reset(&h->reply);
  h->reply_too_big = 0;
  char hex[33];
  fmd_batch_hex(b, hex);
  struct curl_slist *hdrs = headers(h, "application/json", hex);
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

/* "{base}/attachments/" of |url|: its path without the last segment (and
 * without a query or fragment). */
static void scan_base(const char *url, char *out, size_t cap) {
  const char *host = strstr(url, "://");
  size_t end = strcspn(url, "?#"), cut;
  host = host ? host + 3 : url;
  size_t path = (size_t)(host - url) + strcspn(host, "/?#");
  cut = path;
  for (size_t i = path; i < end; i++)
    if (url[i] == '/') cut = i;
  snprintf(out, cap, "%.*s/attachments/", (int)cut, url);
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
  scan_base(url, h->scan_base, sizeof h->scan_base);
  atomic_init(&h->abort, 0);
  fm_buf_init(&h->body, (size_t)256 << 20);
  fm_buf_init(&h->reply, REPLY_MAX + 1);
  snprintf(target, target_cap, "%s", url);
  *impl = h;
  return 0;
}

const fmd_sink_ops fmd_http_ops = {FM_SINK_HTTP, http_deliver, http_cancel, http_del};
