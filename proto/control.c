/* The control protocol codec.  See include/fieldmesh/control.h. */
#include "fieldmesh/control.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "fieldmesh/error.h"

/* Skipping an unknown value in a response: small and shallow is plenty. */
#define SKIP_DEPTH 4
#define SKIP_ITEMS 64

static const char *const CMD_NAMES[] = {NULL, "status", "peers", "sync", "poke", "stop"};
#define NCMDS (sizeof CMD_NAMES / sizeof CMD_NAMES[0])

const char *fm_control_cmd_name(fm_control_cmd cmd) {
  return cmd >= FM_CTL_STATUS && (size_t)cmd < NCMDS ? CMD_NAMES[cmd] : "?";
}

/* ---- framing ---------------------------------------------------------------- */

int fm_control_frame(const uint8_t *p, size_t len, const uint8_t **body,
                     size_t *body_len) {
  if (len < FM_CONTROL_HDR) return 0;
  uint32_t n = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
  if (n == 0 || n > FM_CONTROL_FRAME_MAX) return FM_ERR_FRAME;
  if (len - FM_CONTROL_HDR < n) return 0;
  *body = p + FM_CONTROL_HDR;
  *body_len = n;
  return 1;
}

/* A frame is written as a 4-byte hole, the map, then the length patched
 * in: the map's size is known only once it is written. */
static size_t frame_begin(fm_buf *out) {
  static const uint8_t hole[FM_CONTROL_HDR] = {0};
  size_t at = out->len;
  fm_buf_put(out, hole, sizeof hole);
  return at;
}

static int frame_end(fm_buf *out, size_t at) {
  int rv = fm_buf_error(out);
  if (rv < 0) return rv;
  size_t n = out->len - at - FM_CONTROL_HDR;
  if (n > FM_CONTROL_FRAME_MAX) {
    out->len = at; /* leave no half frame behind */
    return FM_ERR_TOOBIG;
  }
  out->p[at] = (uint8_t)(n >> 24);
  out->p[at + 1] = (uint8_t)(n >> 16);
  out->p[at + 2] = (uint8_t)(n >> 8);
  out->p[at + 3] = (uint8_t)n;
  return 0;
}

/* ---- requests ---------------------------------------------------------------- */

static int key_is(const char *k, size_t n, const char *want) {
  return strlen(want) == n && memcmp(k, want, n) == 0;
}

static int parse_cmd(const char *s, size_t n, fm_control_cmd *out) {
  for (size_t i = 1; i < NCMDS; i++) {
    if (key_is(s, n, CMD_NAMES[i])) {
      *out = (fm_control_cmd)i;
      return 0;
    }
  }
  return FM_ERR_INVAL;
}

/* An address travels as printable ASCII ("host:port", "[::1]:7411"). */
static int addr_ok(const char *s, size_t n) {
  if (n == 0) return 0;
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e) return 0;
  return 1;
}

int fm_control_parse_request(const uint8_t *p, size_t len, fm_control_req *out) {
  fm_control_req req;
  fm_rd c;
  uint32_t n;
  const char *cmd = NULL, *addr = NULL;
  size_t cmd_len = 0, addr_len = 0;
  int rv;
  if (len > FM_CONTROL_FRAME_MAX) return FM_ERR_TOOBIG;
  fm_rd_init(&c, p, len, 1);
  if ((rv = fm_rd_map(&c, &n)) < 0) return rv;
  if (n < 1 || n > 2) return FM_ERR_MALFORMED;
  for (uint32_t i = 0; i < n; i++) {
    const char *k, *v;
    size_t kn, vn;
    if ((rv = fm_rd_str(&c, &k, &kn)) < 0 || (rv = fm_rd_str(&c, &v, &vn)) < 0) return rv;
    if (key_is(k, kn, "cmd") && !cmd) {
      cmd = v;
      cmd_len = vn;
    } else if (key_is(k, kn, "addr") && !addr) {
      addr = v;
      addr_len = vn;
    } else {
      return FM_ERR_MALFORMED; /* unknown or repeated key */
    }
  }
  if (!fm_rd_done(&c) || !cmd) return FM_ERR_MALFORMED;
  memset(&req, 0, sizeof req);
  if ((rv = parse_cmd(cmd, cmd_len, &req.cmd)) < 0) return rv;
  if ((req.cmd == FM_CTL_SYNC) != (addr != NULL)) return FM_ERR_INVAL;
  if (addr) {
    if (addr_len >= sizeof req.addr) return FM_ERR_TOOBIG;
    if (!addr_ok(addr, addr_len)) return FM_ERR_INVAL;
    memcpy(req.addr, addr, addr_len);
  }
  *out = req;
  return 0;
}

int fm_control_write_request(fm_buf *out, const fm_control_req *req) {
  fm_wr w;
  int sync = req->cmd == FM_CTL_SYNC;
  size_t alen = strnlen(req->addr, sizeof req->addr);
  if (req->cmd < FM_CTL_STATUS || (size_t)req->cmd >= NCMDS) return FM_ERR_INVAL;
  if (sync && (alen == 0 || alen >= sizeof req->addr || !addr_ok(req->addr, alen)))
    return FM_ERR_INVAL;
  size_t at = frame_begin(out);
  fm_wr_init(&w, out);
  fm_wr_map(&w, sync ? 2 : 1);
  fm_wr_cstr(&w, "cmd");
  fm_wr_cstr(&w, CMD_NAMES[req->cmd]);
  if (sync) {
    fm_wr_cstr(&w, "addr");
    fm_wr_str(&w, req->addr, alen);
  }
  return frame_end(out, at);
}

/* ---- the fields of a status and of a peer, described once ---------------------- */

typedef enum ftype { F_STR, F_UINT, F_TIME, F_ID, F_NID } ftype;

typedef struct field {
  const char *key;
  ftype type;
  size_t off;     /* in the struct */
  size_t size;    /* of a string field, with its NUL */
} field;

#define S(st, m) {#m, F_STR, offsetof(st, m), sizeof(((st *)0)->m)}
#define U(st, m) {#m, F_UINT, offsetof(st, m), 0}
#define T(st, m) {#m, F_TIME, offsetof(st, m), 0}

static const field STATUS_FIELDS[] = {
    S(fm_control_status, listen),     {"id", F_ID, offsetof(fm_control_status, id), 0},
    S(fm_control_status, name),       S(fm_control_status, team),
    U(fm_control_status, pid),        T(fm_control_status, started),
    U(fm_control_status, connected),  U(fm_control_status, known),
    U(fm_control_status, own_seq),    U(fm_control_status, only_here),
    U(fm_control_status, copies_one), U(fm_control_status, copies_more),
    U(fm_control_status, receipted),  U(fm_control_status, unsafe),
    U(fm_control_status, safe_copies), U(fm_control_status, safe),
    U(fm_control_status, entries),    U(fm_control_status, ingested),
};

/* F_NID: the id, or nil when has_id (just before it) is 0. */
static const field PEER_FIELDS[] = {
    S(fm_control_peer, addr),          S(fm_control_peer, origin),
    {"id", F_NID, offsetof(fm_control_peer, id), 0},
    S(fm_control_peer, name),          S(fm_control_peer, team),
    S(fm_control_peer, state),         T(fm_control_peer, since),
    T(fm_control_peer, last_connected), U(fm_control_peer, bytes_in),
    U(fm_control_peer, bytes_out),     U(fm_control_peer, entries_in),
    U(fm_control_peer, entries_out),   U(fm_control_peer, to_send),
    U(fm_control_peer, to_recv),       U(fm_control_peer, to_send_bytes),
    U(fm_control_peer, to_recv_bytes), U(fm_control_peer, rate_in),
    U(fm_control_peer, rate_out),      T(fm_control_peer, caught_up_at),
    S(fm_control_peer, last_error),    U(fm_control_peer, failures),
    T(fm_control_peer, next_attempt),  U(fm_control_peer, refused),
    S(fm_control_peer, last_refused),  U(fm_control_peer, chunks_in),
    U(fm_control_peer, chunks_out),    U(fm_control_peer, chunks_bad),
};

#define NFIELDS(a) (sizeof a / sizeof a[0])

/* The worst case of one peer on the wire: every string full (2 bytes of
 * header each; FM_NAME_MAX and the others stay under 256), every number
 * 9 bytes, every key under 16, and the id 34.  The daemon relies on
 * FM_CONTROL_PEERS_MAX such peers fitting in one frame. */
_Static_assert(FM_CONTROL_ADDR_MAX + FM_CONTROL_ORIGIN_MAX + 2 * FM_NAME_MAX +
                       FM_CONTROL_STATE_MAX + FM_CONTROL_TEXT_MAX +
                       FM_CONTROL_REFUSAL_MAX + 7 * 2 + 20 * 9 + 34 + 27 * 16 + 3 <=
                   FM_CONTROL_PEER_WIRE_MAX,
               "a peer may not fit FM_CONTROL_PEER_WIRE_MAX");
_Static_assert(FM_CONTROL_PEERS_MAX * FM_CONTROL_PEER_WIRE_MAX + 256 <= FM_CONTROL_FRAME_MAX,
               "FM_CONTROL_PEERS_MAX peers may not fit one frame");

/* Length of |s| cut to |max| - 1 bytes without splitting a UTF-8 sequence. */
static size_t cut_utf8(const char *s, size_t max) {
  size_t n = strnlen(s, max);
  if (n < max) return n;
  n = max - 1;
  while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80) n--;
  return n;
}

static void write_fields(fm_wr *w, const void *obj, const field *f, size_t nf) {
  const uint8_t *base = obj;
  fm_wr_map(w, (uint32_t)nf);
  for (size_t i = 0; i < nf; i++) {
    const uint8_t *at = base + f[i].off;
    fm_wr_cstr(w, f[i].key);
    switch (f[i].type) {
    case F_STR: fm_wr_str(w, (const char *)at, cut_utf8((const char *)at, f[i].size)); break;
    case F_UINT: fm_wr_uint(w, *(const uint64_t *)(const void *)at); break;
    case F_TIME: {
      fm_time t = *(const fm_time *)(const void *)at;
      fm_wr_uint(w, t > 0 ? (uint64_t)t : 0);
      break;
    }
    case F_ID: fm_wr_bin(w, at, FM_KEY_LEN); break;
    case F_NID:
      if (((const fm_control_peer *)obj)->has_id) fm_wr_bin(w, at, FM_KEY_LEN);
      else fm_wr_nil(w);
      break;
    }
  }
}

static void write_head(fm_wr *w, uint32_t extra, int ok, const char *error) {
  fm_wr_map(w, 2 + extra);
  fm_wr_cstr(w, "ok");
  fm_wr_bool(w, ok);
  fm_wr_cstr(w, "error");
  /* (An empty text is common; saying so keeps the compiler from
   * imagining cut_utf8() reading past a one-byte literal.) */
  fm_wr_str(w, error, error[0] ? cut_utf8(error, FM_CONTROL_TEXT_MAX * 2) : 0);
}

int fm_control_write_error(fm_buf *out, const char *error) {
  fm_wr w;
  size_t at = frame_begin(out);
  fm_wr_init(&w, out);
  write_head(&w, 0, 0, error);
  return frame_end(out, at);
}

int fm_control_write_ok(fm_buf *out, const fm_control_peer *peer) {
  fm_wr w;
  size_t at = frame_begin(out);
  fm_wr_init(&w, out);
  write_head(&w, peer ? 1 : 0, 1, "");
  if (peer) {
    fm_wr_cstr(&w, "peer");
    write_fields(&w, peer, PEER_FIELDS, NFIELDS(PEER_FIELDS));
  }
  return frame_end(out, at);
}

int fm_control_write_status(fm_buf *out, const fm_control_status *st) {
  fm_wr w;
  size_t at = frame_begin(out);
  fm_wr_init(&w, out);
  write_head(&w, 1, 1, "");
  fm_wr_cstr(&w, "status");
  write_fields(&w, st, STATUS_FIELDS, NFIELDS(STATUS_FIELDS));
  return frame_end(out, at);
}

int fm_control_write_peers(fm_buf *out, const fm_control_peer *peers, size_t n) {
  fm_wr w;
  size_t shown = n > FM_CONTROL_PEERS_MAX ? FM_CONTROL_PEERS_MAX : n;
  size_t at = frame_begin(out);
  fm_wr_init(&w, out);
  write_head(&w, 2, 1, "");
  fm_wr_cstr(&w, "peers");
  fm_wr_array(&w, (uint32_t)shown);
  for (size_t i = 0; i < shown; i++) write_fields(&w, &peers[i], PEER_FIELDS, NFIELDS(PEER_FIELDS));
  fm_wr_cstr(&w, "omitted");
  fm_wr_uint(&w, n - shown);
  return frame_end(out, at);
}

/* ---- parsing responses ------------------------------------------------------------ */

static int read_cstr(fm_rd *c, char *dst, size_t cap) {
  const char *s;
  size_t n;
  int rv = fm_rd_str(c, &s, &n);
  if (rv < 0) return rv;
  if (n >= cap) return FM_ERR_TOOBIG;
  if (memchr(s, 0, n)) return FM_ERR_MALFORMED;
  memcpy(dst, s, n);
  dst[n] = 0;
  return 0;
}

static int read_field(fm_rd *c, void *obj, const field *f) {
  uint8_t *at = (uint8_t *)obj + f->off;
  uint64_t v;
  int rv;
  switch (f->type) {
  case F_STR: return read_cstr(c, (char *)at, f->size);
  case F_UINT: return fm_rd_uint(c, (uint64_t *)(void *)at);
  case F_TIME:
    if ((rv = fm_rd_uint(c, &v)) < 0) return rv;
    if (v > INT64_MAX) return FM_ERR_MALFORMED;
    *(fm_time *)(void *)at = (fm_time)v;
    return 0;
  case F_ID: return fm_rd_bin_fixed(c, at, FM_KEY_LEN);
  case F_NID:
    if (fm_rd_peek(c) == FM_MT_NIL) {
      ((fm_control_peer *)obj)->has_id = 0;
      return fm_rd_nil(c);
    }
    if ((rv = fm_rd_bin_fixed(c, at, FM_KEY_LEN)) < 0) return rv;
    ((fm_control_peer *)obj)->has_id = 1;
    return 0;
  }
  return FM_ERR_MALFORMED;
}

/* One map of known fields; unknown keys are skipped, a repeated known key
 * is refused. */
static int read_fields(fm_rd *c, void *obj, const field *f, size_t nf) {
  uint32_t n, seen = 0;
  int rv;
  _Static_assert(NFIELDS(PEER_FIELDS) <= 32 && NFIELDS(STATUS_FIELDS) <= 32,
                 "the seen mask holds 32 fields");
  if ((rv = fm_rd_map(c, &n)) < 0) return rv;
  for (uint32_t i = 0; i < n; i++) {
    const char *k;
    size_t kn, j;
    if ((rv = fm_rd_str(c, &k, &kn)) < 0) return rv;
    for (j = 0; j < nf && !key_is(k, kn, f[j].key); j++) {
    }
    if (j == nf) rv = fm_rd_skip(c, SKIP_DEPTH, SKIP_ITEMS);
    else if (seen & (1u << j)) rv = FM_ERR_MALFORMED;
    else {
      seen |= 1u << j;
      rv = read_field(c, obj, &f[j]);
    }
    if (rv < 0) return rv;
  }
  return 0;
}

static int read_peers(fm_rd *c, fm_control_resp *r) {
  uint32_t n;
  int rv;
  if ((rv = fm_rd_array(c, &n)) < 0) return rv;
  if (n > FM_CONTROL_PEERS_MAX) return FM_ERR_TOOBIG;
  /* Each peer takes at least a map byte: a count past what is left is a lie. */
  if (n > fm_rd_left(c)) return FM_ERR_MALFORMED;
  if (n && !(r->peers = calloc(n, sizeof *r->peers))) return -ENOMEM;
  r->has_peers = 1;
  for (uint32_t i = 0; i < n; i++) {
    if ((rv = read_fields(c, &r->peers[i], PEER_FIELDS, NFIELDS(PEER_FIELDS))) < 0) return rv;
    r->npeers++;
  }
  return 0;
}

static int read_top(fm_rd *c, fm_control_resp *r, const char *k, size_t kn) {
  if (key_is(k, kn, "ok")) return fm_rd_bool(c, &r->ok);
  if (key_is(k, kn, "error")) return read_cstr(c, r->error, sizeof r->error);
  if (key_is(k, kn, "omitted")) return fm_rd_uint(c, &r->omitted);
  if (key_is(k, kn, "status")) {
    if (r->has_status) return FM_ERR_MALFORMED;
    r->has_status = 1;
    return read_fields(c, &r->status, STATUS_FIELDS, NFIELDS(STATUS_FIELDS));
  }
  if (key_is(k, kn, "peer")) {
    if (r->has_peer) return FM_ERR_MALFORMED;
    r->has_peer = 1;
    return read_fields(c, &r->peer, PEER_FIELDS, NFIELDS(PEER_FIELDS));
  }
  if (key_is(k, kn, "peers")) return r->has_peers ? FM_ERR_MALFORMED : read_peers(c, r);
  return fm_rd_skip(c, SKIP_DEPTH, SKIP_ITEMS);
}

int fm_control_parse_response(const uint8_t *p, size_t len, fm_control_resp *out) {
  fm_control_resp r;
  fm_rd c;
  uint32_t n;
  int rv;
  if (len > FM_CONTROL_FRAME_MAX) return FM_ERR_TOOBIG;
  memset(&r, 0, sizeof r);
  fm_rd_init(&c, p, len, 1);
  if ((rv = fm_rd_map(&c, &n)) < 0) return rv;
  for (uint32_t i = 0; i < n && rv == 0; i++) {
    const char *k;
    size_t kn;
    if ((rv = fm_rd_str(&c, &k, &kn)) == 0) rv = read_top(&c, &r, k, kn);
  }
  if (rv == 0 && !fm_rd_done(&c)) rv = FM_ERR_MALFORMED;
  if (rv < 0) {
    fm_control_resp_free(&r);
    return rv;
  }
  *out = r;
  return 0;
}

void fm_control_resp_free(fm_control_resp *r) {
  free(r->peers);
  r->peers = NULL;
  r->npeers = 0;
}
