/* fm-hostile: a peer that misbehaves on purpose, for the daemon's tests.
 *
 *   fm-hostile STATE HOST:PORT MODE
 *
 * Connects to a fieldmeshd as the device whose key and enrollment are in
 * STATE, completes the Noise handshake, sends HELLO, then breaks the
 * protocol in one way:
 *   garbage     a frame of random bytes that cannot authenticate
 *   noise       the same, instead of HELLO (before admission)
 *   oversized   a frame header announcing 1 MiB
 *   badsig      an ENTRIES message holding one entry with a flipped signature
 *   unknown     a well-encrypted message of an unknown type
 *   unenrolled  a HELLO without an enrollment, then a valid entry
 * It then waits for the daemon to close the connection and prints what the
 * daemon said (its ERROR text) on stdout.  Exit 0 when the daemon closed
 * the connection, 1 when it did not within 10 s, 2 on a set-up failure.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "fieldmesh/error.h"
#include "fieldmesh/keyfile.h"
#include "fieldmesh/msg.h"
#include "fieldmesh/noise.h"
#include "fieldmesh/record.h"
#include "fieldmesh/session.h"
#include "fieldmesh/store.h"

static int dial(const char *hostport) {
  char host[256];
  const char *colon = strrchr(hostport, ':');
  struct addrinfo hints, *res;
  if (!colon || (size_t)(colon - hostport) >= sizeof host) return -1;
  memcpy(host, hostport, (size_t)(colon - hostport));
  host[colon - hostport] = 0;
  memset(&hints, 0, sizeof hints);
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(host, colon + 1, &hints, &res) != 0) return -1;
  int fd = socket(res->ai_family, SOCK_STREAM, 0);
  if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  return fd;
}

static int write_all(int fd, const uint8_t *p, size_t n) {
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static int send_frame(int fd, const uint8_t *p, size_t n) {
  uint8_t hdr[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
  return write_all(fd, hdr, 4) || write_all(fd, p, n) ? -1 : 0;
}

/* Reads one frame; 0 on success, -1 when the peer closed (or sent what is
 * no frame), -2 when it said nothing for 10 s. */
static int read_frame(int fd, uint8_t *buf, size_t cap, size_t *n) {
  uint8_t hdr[4];
  size_t got = 0, want = 4;
  uint8_t *dst = hdr;
  for (int phase = 0; phase < 2; phase++) {
    while (got < want) {
      struct pollfd pfd = {fd, POLLIN, 0};
      int ready = poll(&pfd, 1, 10000);
      if (ready == 0) return -2;
      if (ready < 0) return -1;
      ssize_t r = read(fd, dst + got, want - got);
      if (r <= 0) return -1;
      got += (size_t)r;
    }
    if (phase == 0) {
      want = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | hdr[3];
      if (want > cap) return -1;
      dst = buf;
      got = 0;
    }
  }
  *n = want;
  return 0;
}

typedef struct peer {
  int fd;
  fm_noise_hs hs;
  fm_noise_cs tx, rx;
  fm_identity id;
  uint8_t *cert;
  size_t cert_len;
} peer;

static int handshake(peer *p) {
  uint8_t x_sk[32], e_sk[32], buf[FM_FRAME_MAX], pl[256];
  size_t n, pn;
  fm_noise_static_from_ed25519(p->id.sk, x_sk);
  randombytes_buf(e_sk, sizeof e_sk);
  if (fm_noise_hs_init(&p->hs, 1, (const uint8_t *)FM_PROLOGUE, strlen(FM_PROLOGUE), x_sk, e_sk) ||
      fm_noise_hs_write(&p->hs, NULL, 0, buf, sizeof buf, &n) || send_frame(p->fd, buf, n) ||
      read_frame(p->fd, buf, sizeof buf, &n) ||
      fm_noise_hs_read(&p->hs, buf, n, pl, sizeof pl, &pn) ||
      fm_noise_hs_write(&p->hs, NULL, 0, buf, sizeof buf, &n) || send_frame(p->fd, buf, n) ||
      fm_noise_hs_split(&p->hs, &p->tx, &p->rx))
    return -1;
  return 0;
}

static int send_msg(peer *p, const fm_buf *m) {
  uint8_t buf[FM_FRAME_MAX];
  size_t n;
  if (fm_noise_cs_encrypt(&p->tx, NULL, 0, m->p, m->len, buf, sizeof buf, &n)) return -1;
  return send_frame(p->fd, buf, n);
}

/* A visit entry signed by us, seq 1; |flip|: break its signature. */
static void make_entry(peer *p, fm_buf *e, int flip) {
  fm_buf body;
  fm_visit_in v = {"V-HOSTILE", "Team 1", "Nghĩa Tân", "", "2023-11-14", "", 0, 1, 1};
  fm_buf_init(&body, 4096);
  fm_visit_body(&body, &v);
  fm_entry_build(e, &p->id, 1, NULL, fm_hlc_make(1700000000000ULL, 0), FM_KIND_VISIT,
                 body.p, body.len);
  fm_buf_free(&body);
  if (flip) e->p[e->len - 1] ^= 1;
}

static int misbehave(peer *p, const char *mode) {
  fm_buf m, e;
  fm_wr w;
  int rv = 0;
  fm_buf_init(&m, FM_MSG_MAX);
  fm_buf_init(&e, FM_ENTRY_MAX);
  fm_wr_init(&w, &m);
  int enrolled = strcmp(mode, "unenrolled") != 0;
  uint8_t zero[32] = {0};
  fm_msg_hello(&w, p->id.pk, enrolled ? p->cert : NULL, enrolled ? p->cert_len : 0, 0, zero);
  if (strcmp(mode, "noise") != 0) rv = send_msg(p, &m);
  fm_buf_reset(&m);
  if (rv == 0 && (!strcmp(mode, "garbage") || !strcmp(mode, "noise"))) {
    uint8_t junk[512];
    randombytes_buf(junk, sizeof junk);
    rv = send_frame(p->fd, junk, sizeof junk);
  } else if (rv == 0 && !strcmp(mode, "oversized")) {
    uint8_t hdr[4] = {0, 0x10, 0, 0};
    rv = write_all(p->fd, hdr, 4);
  } else if (rv == 0 && (!strcmp(mode, "badsig") || !strcmp(mode, "unenrolled"))) {
    make_entry(p, &e, !strcmp(mode, "badsig"));
    fm_msg_entries_begin(&w, 1);
    fm_wr_bin(&w, e.p, e.len);
    rv = send_msg(p, &m);
  } else if (rv == 0 && !strcmp(mode, "unknown")) {
    fm_wr_array(&w, 2);
    fm_wr_uint(&w, 77);
    fm_wr_uint(&w, 0);
    rv = send_msg(p, &m);
  } else if (rv == 0) {
    fprintf(stderr, "fm-hostile: unknown mode %s\n", mode);
    rv = -2;
  }
  fm_buf_free(&m);
  fm_buf_free(&e);
  return rv;
}

/* Reads until the daemon closes, printing the text of its ERROR or BYE. */
static int await_close(peer *p) {
  uint8_t buf[FM_FRAME_MAX], pt[FM_FRAME_MAX];
  size_t n, pn;
  fm_msg_vitem items[FM_VECTOR_PAGE];
  fm_slice entries[FM_BATCH_MAX];
  fm_msg_refusal refused[FM_ACK_REFUSED_MAX];
  for (;;) {
    int rv = read_frame(p->fd, buf, sizeof buf, &n);
    if (rv == -2) return 1; /* the daemon kept the connection open */
    if (rv < 0) return 0;   /* closed: what was wanted */
    if (fm_noise_cs_decrypt(&p->rx, NULL, 0, buf, n, pt, sizeof pt, &pn) < 0) continue;
    fm_msg m;
    m.items = items;
    m.entries = entries;
    m.refused = refused;
    if (fm_msg_decode(pt, pn, &m) == 0 && (m.type == FM_MSG_ERROR || m.type == FM_MSG_BYE))
      printf("%.*s\n", (int)m.text_len, m.text);
  }
}

int main(int argc, char **argv) {
  char path[4096];
  peer p;
  memset(&p, 0, sizeof p);
  if (argc != 4) {
    fprintf(stderr, "usage: fm-hostile STATE HOST:PORT MODE\n");
    return 2;
  }
  if (sodium_init() < 0) return 2;
  /* A daemon that closes at once must show as "handshake failed", not
   * kill us on the first write. */
  signal(SIGPIPE, SIG_IGN);
  snprintf(path, sizeof path, "%s/device.key", argv[1]);
  if (fm_keyfile_read(path, &p.id) < 0) {
    fprintf(stderr, "fm-hostile: cannot read %s\n", path);
    return 2;
  }
  snprintf(path, sizeof path, "%s/store", argv[1]);
  fm_store *s;
  fm_store_opts o = {0};
  o.read_only = 1;
  fm_enrollment en;
  if (fm_store_open(path, &o, &s) == 0) {
    fm_store_enrollment(s, p.id.pk, &en, NULL, &p.cert, &p.cert_len);
    fm_store_close(s);
  }
  int rv = 2;
  if ((p.fd = dial(argv[2])) < 0) {
    fprintf(stderr, "fm-hostile: cannot connect to %s\n", argv[2]);
  } else if (handshake(&p) < 0) {
    fprintf(stderr, "fm-hostile: handshake failed\n");
  } else if ((rv = misbehave(&p, argv[3])) != -2) {
    rv = await_close(&p);
  } else {
    rv = 2;
  }
  if (p.fd >= 0) close(p.fd);
  free(p.cert);
  fm_identity_wipe(&p.id);
  return rv;
}
