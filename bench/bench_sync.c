/* Sync benchmark (the bars are in README.md): two real fieldmeshd on loopback,
 * one holding 100,000 entries from 20 authors and one empty, for each of
 * two corpora -- fixed-size visits of about 500 bytes, and realistic
 * records (bench/corpus.h) -- with compression off and on.  Prints for
 * each run seconds to full sync, entries/s and bytes on the wire over the
 * entries' own bytes; and, once, what an in-sync reconnect costs per
 * author beyond the handshake, and what an hour of an idle live
 * session costs (measured over 4 minutes with the keepalive intervals
 * divided by 15).
 *
 * The receiver dials a relay in this process, which forwards to the
 * sender and counts every byte both ways: the figures do not depend on
 * what the daemons report about themselves.  Progress is read from the
 * receiver's store, opened read-only beside the daemon.
 *
 *   fieldmesh-bench-sync [BIN_DIR]      (default: the folder of this program)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "corpus.h"
#include "fieldmesh/error.h"
#include "fieldmesh/keyfile.h"
#include "fieldmesh/presence_store.h"

#define HANDSHAKE_BYTES (3 * 4 + 32 + 96 + 64) /* three framed Noise messages */

/* This program's state, as in a daemon's main.c: the temporary folder and
 * the children to stop on every exit path. */
static char base[64] = "/tmp/fm-bench-sync-XXXXXX";
static pid_t children[2];

static void cleanup(void) {
  char cmd[128];
  for (int i = 0; i < 2; i++)
    if (children[i] > 0) {
      kill(children[i], SIGKILL);
      waitpid(children[i], NULL, 0);
    }
  snprintf(cmd, sizeof cmd, "rm -rf %s", base);
  if (system(cmd) != 0) fprintf(stderr, "bench_sync: could not remove %s\n", base);
}

static void path(char *out, const char *node, const char *name) {
  snprintf(out, 256, "%s/%s/%s", base, node, name);
}

/* A state folder for |id|: key file, store knowing the authority and
 * holding |id|'s enrollment. */
static fm_store *make_node(const char *node, const fm_identity *id, const bench_corpus *c,
                           int with_corpus, const uint8_t *cert, size_t cert_len) {
  char p[256];
  fm_store *s;
  int rv;
  path(p, node, "");
  mkdir(p, 0700);
  path(p, node, "device.key");
  if ((rv = fm_keyfile_write(p, id)) < 0) bench_die("key file", rv);
  path(p, node, "store");
  mkdir(p, 0700);
  if (with_corpus) {
    s = bench_fresh_store(c, p, 1);
  } else {
    fm_store_opts o;
    memset(&o, 0, sizeof o);
    o.map_size = BENCH_MAP_SIZE;
    if ((rv = fm_store_open(p, &o, &s)) < 0) bench_die("open", rv);
    if ((rv = fm_store_set_authority(s, c->authority.pk, "Tân Quang")) < 0) bench_die("authority", rv);
  }
  if ((rv = fm_store_set_self(s, id->pk)) < 0) bench_die("self", rv);
  if (cert && (rv = fm_store_add_cert(s, cert, cert_len, BENCH_NOW, NULL)) < 0)
    bench_die("cert", rv);
  return s;
}

static int grab_cert(void *ctx, const uint8_t *p, size_t len) {
  fm_buf *b = ctx;
  return fm_buf_put(b, p, len);
}

/* Enrolls a fresh device |id| through the authority's log in |s| and
 * returns its certificate in |cert|. */
static void enroll(fm_store *s, const bench_corpus *c, const fm_identity *id, fm_buf *cert) {
  fm_enrollment en;
  fm_buf b;
  uint64_t seq;
  int rv;
  memset(&en, 0, sizeof en);
  memcpy(en.device, id->pk, FM_KEY_LEN);
  strcpy(en.name, "Laptop");
  strcpy(en.team, "Team 1");
  strcpy(en.commune, "Tân Quang");
  fm_buf_init(&b, 4096);
  if ((rv = fm_enroll_body(&b, &en)) < 0) bench_die("enroll body", rv);
  rv = fm_store_append(s, &c->authority, FM_KIND_ENROLL, b.p, b.len, BENCH_T0, NULL, &seq);
  if (rv < 0) bench_die("enroll", rv);
  fm_buf_free(&b);
  if ((rv = fm_store_read_after(s, c->authority.pk, seq - 1, 1, grab_cert, cert)) < 0)
    bench_die("read cert", rv);
}

static int listen_on(int *port) {
  struct sockaddr_in a;
  socklen_t len = sizeof a;
  int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, 4)) bench_die("relay listen", -errno);
  getsockname(fd, (struct sockaddr *)&a, &len);
  *port = ntohs(a.sin_port);
  return fd;
}

/* A port nobody listens on yet, for a daemon. */
static int free_port(void) {
  int port, fd = listen_on(&port);
  close(fd);
  return port;
}

static pid_t start_daemon(const char *bin_dir, const char *node, int port, int peer_port) {
  char bin[512], state[256], listen_a[64], peer[64];
  snprintf(bin, sizeof bin, "%s/fieldmeshd", bin_dir);
  path(state, node, "");
  snprintf(listen_a, sizeof listen_a, "127.0.0.1:%d", port);
  snprintf(peer, sizeof peer, "127.0.0.1:%d", peer_port);
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 2);
    if (peer_port)
      execl(bin, "fieldmeshd", "--state", state, "--listen", listen_a, "--peer", peer,
            "--log-level", "warn", (char *)NULL);
    else
      execl(bin, "fieldmeshd", "--state", state, "--listen", listen_a, "--log-level", "warn",
            (char *)NULL);
    _exit(127);
  }
  return pid;
}

/* ---- the counting relay ------------------------------------------------- */

typedef struct relay {
  int lfd, upstream_port, port;
  int a, b;              /* receiver side, sender side; -1 when none */
  uint64_t bytes;        /* of the current connection, both ways */
  double last_byte;
} relay;

static void relay_close(relay *r) {
  if (r->a >= 0) close(r->a);
  if (r->b >= 0) close(r->b);
  r->a = r->b = -1;
}

static int forward(relay *r, int from, int to) {
  static uint8_t buf[1 << 16];
  ssize_t n = read(from, buf, sizeof buf);
  if (n <= 0) return -1;
  for (ssize_t off = 0; off < n;) {
    ssize_t w = write(to, buf + off, (size_t)(n - off));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    off += w;
  }
  r->bytes += (uint64_t)n;
  r->last_byte = bench_now();
  return 0;
}

/* Waits up to |ms| for traffic and moves it. */
static void relay_step(relay *r, int ms) {
  struct pollfd p[3] = {{r->lfd, POLLIN, 0}, {r->a, POLLIN, 0}, {r->b, POLLIN, 0}};
  if (poll(p, 3, ms) <= 0) return;
  if (p[0].revents & POLLIN) {
    int fd = accept(r->lfd, NULL, NULL);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)r->upstream_port);
    int up = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(up, (struct sockaddr *)&a, sizeof a) != 0) {
      if (fd >= 0) close(fd);
      close(up);
    } else {
      relay_close(r);
      r->a = fd;
      r->b = up;
      r->bytes = 0;
    }
  }
  if (r->a >= 0 && (p[1].revents & (POLLIN | POLLHUP)) && forward(r, r->a, r->b) < 0) relay_close(r);
  if (r->b >= 0 && (p[2].revents & (POLLIN | POLLHUP)) && forward(r, r->b, r->a) < 0) relay_close(r);
}

/* ---- an idle link ------------------------------------------------------- */

typedef struct notes_seen {
  uint64_t bytes;   /* each note in a PRESENCE message of its own */
  fm_time newest;   /* the latest wall of a note */
} notes_seen;

static int note_bytes(void *ctx, const fm_presence *p, const uint8_t *bytes, size_t len,
                      fm_time received) {
  notes_seen *n = ctx;
  (void)bytes, (void)received;
  /* frame length, tag, array and bin headers */
  n->bytes += len + 4 + 16 + 2 + 3;
  if (p->wall > n->newest) n->newest = p->wall;
  return 0;
}

static void scaled_conf(const char *node) {
  char p[256];
  path(p, node, "fieldmeshd.conf");
  FILE *f = fopen(p, "w");
  if (!f) bench_die("conf", -errno);
  fprintf(f, "[sync]\nping_seconds = 1\nping_max_seconds = 120\nidle_timeout_seconds = 5\n");
  fclose(f);
}

/* Both daemons again with every keepalive interval divided by 15 (pings
 * from 1 s doubling to 120 s, where the defaults go from 15 s to 30 min),
 * so IDLE_SECONDS of a settled live session carry the pings of an hour.
 * The own presence notes are made afresh by the wall clock, once an hour
 * on an idle link: their bytes, one note each way, are added from the
 * notes the receiver holds.  The first hour of a session is the dearest:
 * its pings start from every second (15 s unscaled). */
#define IDLE_SECONDS 240
static void idle_hour(const char *bin_dir, relay *r, int rport, fm_store *rs,
                      const char *sname, const char *rname) {
  notes_seen notes = {0, 0};
  /* Both notes a minute old, so the sessions below start with fresh ones
   * that say what the stores hold (the first were made before the sync):
   * no note is due within the hour measured. */
  fm_store_presence_each(rs, note_bytes, &notes);
  for (;;) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if ((fm_time)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 > notes.newest + 61000) break;
    relay_step(r, 200);
  }
  notes.bytes = 0;
  for (int i = 0; i < 2; i++) {
    if (children[i] > 0) {
      kill(children[i], SIGTERM);
      waitpid(children[i], NULL, 0);
    }
    children[i] = 0;
  }
  relay_close(r);
  scaled_conf(sname);
  scaled_conf(rname);
  children[0] = start_daemon(bin_dir, sname, r->upstream_port, 0);
  usleep(300000);
  children[1] = start_daemon(bin_dir, rname, rport, r->port);
  double t = bench_now();
  r->bytes = 0;
  r->last_byte = 0;
  while (bench_now() - t < 30 && (r->last_byte == 0 || bench_now() - r->last_byte < 3.0))
    relay_step(r, 50);
  uint64_t settled = r->bytes;
  for (t = bench_now(); bench_now() - t < IDLE_SECONDS;) relay_step(r, 200);
  fm_store_presence_each(rs, note_bytes, &notes);
  uint64_t pings = r->bytes - settled;
  printf("idle live session: %llu bytes of keepalive in %d s at 15x (an hour of pings), "
         "+ %llu for the hourly presence notes = %llu bytes per hour (bar: <= 2048)\n",
         (unsigned long long)pings, IDLE_SECONDS, (unsigned long long)notes.bytes,
         (unsigned long long)(pings + notes.bytes));
  for (int i = 0; i < 2; i++) {
    kill(children[i], SIGKILL);
    waitpid(children[i], NULL, 0);
    children[i] = 0;
  }
}

static uint64_t entries_of(fm_store *s) {
  fm_store_stats st;
  return fm_store_stats_get(s, &st) == 0 ? st.entries : 0;
}

/* Writes the receiver's or sender's fieldmeshd.conf: compression offered
 * or not. */
static void write_conf(const char *node, int compress) {
  char p[256];
  path(p, node, "fieldmeshd.conf");
  FILE *f = fopen(p, "w");
  if (!f) bench_die("config", -errno);
  fprintf(f, "[sync]\ncompress = %s\n", compress ? "yes" : "no");
  fclose(f);
}

typedef struct figures {
  uint64_t entries, authors, bytes, wire;
  double secs;
  double cpu[2];     /* CPU seconds of the sender and the receiver daemon */
} figures;

/* One full sync of |c| from a sender daemon to an empty receiver
 * through the counting relay, both offering compression or neither.
 * With |reconnect|, also prints what an in-sync reconnect costs. */
static figures run_sync(const char *bin_dir, const bench_corpus *c, int compress, int reconnect,
                        int run) {
  char p[256], sname[32], rname[32];
  fm_identity sender, receiver;
  fm_buf scert, rcert;
  figures f;
  double rcpu = 0;
  int rv;
  snprintf(sname, sizeof sname, "sender-%d", run);
  snprintf(rname, sizeof rname, "receiver-%d", run);
  uint8_t seed[32];
  memset(seed, 0x5e, 32);
  fm_identity_from_seed(&sender, seed);
  memset(seed, 0x7e, 32);
  fm_identity_from_seed(&receiver, seed);
  fm_buf_init(&scert, FM_ENTRY_MAX);
  fm_buf_init(&rcert, FM_ENTRY_MAX);

  /* The sender: every member's entries, and both laptops enrolled. */
  fm_store *s = make_node(sname, &sender, c, 1, NULL, 0);
  enroll(s, c, &sender, &scert);
  enroll(s, c, &receiver, &rcert);
  for (size_t i = 0; i < BENCH_ENTRIES; i += 1000) {
    fm_ingest_result res;
    if ((rv = fm_store_ingest(s, c->entries + i, 1000, BENCH_NOW, &res, NULL)) < 0) bench_die("fill", rv);
  }
  fm_store_stats ss;
  fm_store_stats_get(s, &ss);
  fm_store_close(s);
  fm_store_close(make_node(rname, &receiver, c, 0, rcert.p, rcert.len));
  write_conf(sname, compress);
  write_conf(rname, compress);

  int relay_port;
  relay r = {listen_on(&relay_port), 0, 0, -1, -1, 0, 0};
  r.port = relay_port;
  int sport = free_port(), rport = free_port();
  r.upstream_port = sport;
  children[0] = start_daemon(bin_dir, sname, sport, 0);
  usleep(300000);
  double t0 = bench_now();
  children[1] = start_daemon(bin_dir, rname, rport, relay_port);

  fm_store_opts ro;
  memset(&ro, 0, sizeof ro);
  ro.read_only = 1;
  path(p, rname, "store");
  if ((rv = fm_store_open(p, &ro, &s)) < 0) bench_die("open receiver", rv);
  double last_check = 0, done = 0;
  while (!done && bench_now() - t0 < 600) {
    relay_step(&r, 50);
    if (bench_now() - last_check > 0.1) {
      last_check = bench_now();
      if (entries_of(s) >= ss.entries) done = bench_now();
    }
  }
  if (!done) bench_die("no full sync within 600 s", FM_ERR_IO);
  f.entries = ss.entries;
  f.authors = ss.authors;
  f.bytes = ss.bytes;
  f.wire = r.bytes;
  f.secs = done - t0;

  if (reconnect) {
    /* In-sync reconnect: restart the receiver and count the new session. */
    struct rusage ru;
    kill(children[1], SIGTERM);
    wait4(children[1], NULL, 0, &ru);
    rcpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    for (double t = bench_now(); bench_now() - t < 0.5;) relay_step(&r, 50);
    relay_close(&r);
    children[1] = start_daemon(bin_dir, rname, rport, relay_port);
    double t1 = bench_now();
    r.bytes = 0;
    r.last_byte = 0;
    while (bench_now() - t1 < 30 && (r.last_byte == 0 || bench_now() - r.last_byte < 2.0))
      relay_step(&r, 50);
    printf("in-sync reconnect: %llu bytes in all, %llu beyond the handshake, %.1f per author "
           "(bar: <= 64)\n",
           (unsigned long long)r.bytes, (unsigned long long)(r.bytes - HANDSHAKE_BYTES),
           (double)(r.bytes - HANDSHAKE_BYTES) / (double)ss.authors);
  }
  /* The daemons' own CPU time: on a machine shared with other work it
   * says what the sync cost where the wall clock says how long it
   * waited. */
  for (int i = 0; i < 2; i++) {
    struct rusage ru;
    kill(children[i], SIGKILL);
    wait4(children[i], NULL, 0, &ru);
    f.cpu[i] = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
               (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    children[i] = 0;
  }
  if (reconnect) f.cpu[1] = rcpu;  /* the receiver that synced, not its restart */
  if (reconnect) idle_hour(bin_dir, &r, rport, s, sname, rname);
  relay_close(&r);
  close(r.lfd);
  fm_store_close(s);
  fm_buf_free(&scert);
  fm_buf_free(&rcert);
  return f;
}

static void print_run(const bench_corpus *c, int compress, const figures *f) {
  printf("sync, %s corpus, compression %s: %llu entries (%.1f MB of entries, %.0f bytes "
         "each, %llu authors) in %.2f s: %.0f entries/s; bytes on the wire / entry bytes: "
         "%.4f\n",
         c->name, compress ? "on " : "off", (unsigned long long)f->entries, f->bytes / 1e6,
         (double)f->bytes / (double)f->entries, (unsigned long long)f->authors, f->secs,
         f->entries / f->secs, (double)f->wire / (double)f->bytes);
  printf("    CPU: sender %.2f s, receiver %.2f s (%.0f entries per receiver CPU second)\n",
         f->cpu[0], f->cpu[1], f->entries / f->cpu[1]);
}

int main(int argc, char **argv) {
  static bench_corpus c;
  char bin_dir[512];
  int run = 0;
  if (sodium_init() < 0) return 1;
  snprintf(bin_dir, sizeof bin_dir, "%s", argc > 1 ? argv[1] : dirname(argv[0]));
  if (!mkdtemp(base)) bench_die("mkdtemp", -errno);
  atexit(cleanup);
  signal(SIGPIPE, SIG_IGN);

  /* Both corpora, each without and with compression. */
  for (int corpus = 0; corpus < 2; corpus++) {
    if (corpus == 0) bench_corpus_build(&c);
    else bench_corpus_build_real(&c);
    for (int compress = 0; compress < 2; compress++) {
      figures f = run_sync(bin_dir, &c, compress, corpus == 0 && compress == 1, run++);
      print_run(&c, compress, &f);
      fflush(stdout);
    }
    free(c.arena);
    c.arena = NULL;
  }
  return 0;
}
