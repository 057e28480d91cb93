/* Two and three nodes, each with its own real store, wired by in-memory
 * links to the sans-I/O session: convergence, live push, admission, and
 * hostile bytes. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <errno.h>
#include <sodium.h>
#include <zstd.h>

#include "fieldmesh/attach.h"
#include "fieldmesh/blob_store.h"
#include "fieldmesh/scan_copies.h"
#include "fieldmesh/copies.h"
#include "fieldmesh/dirs.h"
#include "fieldmesh/error.h"
#include "fieldmesh/msg.h"
#include "fieldmesh/node.h"
#include "fieldmesh/noise.h"
#include "fieldmesh/zpack.h"
#include "fieldmesh/vpool.h"

#define T0 1700000000000LL

static fm_identity AUTH, OTHER_AUTH, D[6];

static void ident(fm_identity *id, uint8_t n) {
  uint8_t seed[32];
  memset(seed, n, sizeof seed);
  assert_int_equal(fm_identity_from_seed(id, seed), 0);
}

/* A deterministic RNG for the sessions' ephemeral keys. */
static void xrng(void *ctx, uint8_t *out, size_t len) {
  uint64_t *st = ctx;
  for (size_t i = 0; i < len; i++) {
    *st = *st * 6364136223846793005ULL + 1442695040888963407ULL;
    out[i] = (uint8_t)(*st >> 56);
  }
}

typedef struct tnode {
  char dir[64];
  fm_store *s;
  fm_node node;
  uint64_t rng;
} tnode;

/* Certificates made once by the commune's administrator store. */
static uint8_t *CERT[6];
static size_t CERT_LEN[6];
static uint8_t *FOREIGN_CERT;
static size_t FOREIGN_CERT_LEN;

static void open_store(char *dir, fm_store **s) {
  fm_store_opts o;
  memset(&o, 0, sizeof o);
  o.nosync = 1;
  strcpy(dir, "/tmp/fm-test-session-XXXXXX");
  assert_non_null(mkdtemp(dir));
  assert_int_equal(fm_store_open(dir, &o, s), 0);
}

static void make_certs(const fm_identity *auth, int first, int last, fm_time expires,
                       uint8_t **certs, size_t *lens) {
  char dir[64];
  fm_store *s;
  fm_buf b;
  open_store(dir, &s);
  assert_int_equal(fm_store_set_authority(s, auth->pk, "Tân Quang"), 0);
  fm_buf_init(&b, 4096);
  for (int i = first; i <= last; i++) {
    fm_enrollment en;
    uint64_t seq;
    memset(&en, 0, sizeof en);
    memcpy(en.device, D[i].pk, 32);
    snprintf(en.name, sizeof en.name, "Member %d", i);
    strcpy(en.team, i % 2 ? "Team 2" : "Team 1");
    strcpy(en.commune, "Tân Quang");
    if (i == 5) en.role = FM_ROLE_LEADER;   /* notes travel on to leaders */
    en.expires = expires;
    fm_buf_reset(&b);
    assert_int_equal(fm_enroll_body(&b, &en), 0);
    assert_int_equal(fm_store_append(s, auth, FM_KIND_ENROLL, b.p, b.len, T0, NULL, &seq), 0);
    assert_int_equal(fm_store_entry_copy(s, auth->pk, seq, &certs[i - first], &lens[i - first]), 0);
  }
  fm_buf_free(&b);
  fm_store_close(s);
  fm_store_remove_dir(dir);
}

/* The nodes' wall clock: T0 unless a test moves it.  Sessions are fed
 * their own (monotonic) time. */
static fm_time WALL = T0;
static fm_time test_wall(void *ctx) {
  (void)ctx;
  return WALL;
}

/* A node enrolled as D[i], knowing every certificate of the commune. */
static void tnode_open(tnode *t, int i) {
  memset(t, 0, sizeof *t);
  open_store(t->dir, &t->s);
  assert_int_equal(fm_store_set_authority(t->s, AUTH.pk, "Tân Quang"), 0);
  assert_int_equal(fm_store_set_self(t->s, D[i].pk), 0);
  assert_int_equal(fm_store_add_cert(t->s, CERT[i], CERT_LEN[i], T0, NULL), 0);
  assert_int_equal(fm_node_init(&t->node, t->s, &D[i]), 0);
  t->node.wall = test_wall;
  t->rng = (uint64_t)i * 7919;
}

static void tnode_close(tnode *t) {
  fm_node_free(&t->node);
  fm_store_close(t->s);
  fm_store_remove_dir(t->dir);
}

static void add_visits(tnode *t, const fm_identity *who, int n, int base) {
  fm_buf b;
  fm_buf_init(&b, 4096);
  for (int k = 0; k < n; k++) {
    char id[24];
    snprintf(id, sizeof id, "V-%06d", base + k);
    fm_visit_in v = {id, "Team 1", "Nghĩa Tân", "thôn 3", "2023-11-14", "", FM_MODE_HOME, 5, 3};
    fm_buf_reset(&b);
    assert_int_equal(fm_visit_body(&b, &v), 0);
    assert_int_equal(fm_store_append(t->s, who, FM_KIND_VISIT, b.p, b.len, T0 + k, NULL, NULL), 0);
  }
  fm_buf_free(&b);
}

/* ---- an in-memory wire_pair ------------------------------------------------------ */

typedef struct bag_t {
  uint8_t *p[8];
  size_t len[8];
  size_t n;
} bag_t;

static int grab_all(void *ctx, const uint8_t *p, size_t len) {
  bag_t *b = ctx;
  if (b->n == 8) return 1;
  b->p[b->n] = malloc(len);
  memcpy(b->p[b->n], p, len);
  b->len[b->n++] = len;
  return 0;
}

typedef struct wire_pair {
  fm_session *a, *b;
  fm_time now;
  uint64_t bytes;
  int ra, rb;           /* last recv results */
} wire_pair;

static fm_session *session_make(tnode *t, int initiator, size_t window, int defer,
                                int compress) {
  fm_session_cfg cfg;
  fm_session *s;
  fm_node_session_cfg(&t->node, initiator, &cfg);
  cfg.rng.fill = xrng;
  cfg.rng.ctx = &t->rng;
  cfg.window = window;
  cfg.defer_ingest = defer;
  cfg.compress = compress;
  assert_int_equal(fm_session_new(&cfg, T0, &s), 0);
  return s;
}

static fm_session *session_cfg_for(tnode *t, int initiator, size_t window, int defer) {
  return session_make(t, initiator, window, defer, 1);
}

static fm_session *session_for(tnode *t, int initiator) {
  return session_cfg_for(t, initiator, 64 * 1024, 0);
}

/* Moves bytes both ways until neither side has anything to say. */
static size_t move(fm_session *from, fm_session *to, fm_time now, int *rv) {
  static uint8_t buf[1 << 16];
  size_t total = 0;
  for (;;) {
    ssize_t n = fm_session_send(from, buf, sizeof buf, now);
    if (n <= 0) break;
    total += (size_t)n;
    int r = fm_session_recv(to, buf, (size_t)n, now);
    if (r < 0) {
      *rv = r;
      break;
    }
  }
  return total;
}

static void run(wire_pair *l) {
  for (int i = 0; i < 100000; i++) {
    l->now += 1;
    /* What a driver does once it has handed over all it read. */
    /* (A failed session still has its ERROR to deliver: keep moving.) */
    fm_session_flush(l->a, l->now);
    fm_session_flush(l->b, l->now);
    size_t n = move(l->a, l->b, l->now, &l->rb) + move(l->b, l->a, l->now, &l->ra);
    l->bytes += n;
    if (n == 0) break;
  }
}

static void assert_same(tnode *x, tnode *y) {
  uint8_t dx[32], dy[32];
  fm_store_stats sx, sy;
  assert_int_equal(fm_store_stats_get(x->s, &sx), 0);
  assert_int_equal(fm_store_stats_get(y->s, &sy), 0);
  assert_int_equal(sx.entries, sy.entries);
  assert_int_equal(sx.visits, sy.visits);
  assert_int_equal(fm_store_view_digest(x->s, dx), 0);
  assert_int_equal(fm_store_view_digest(y->s, dy), 0);
  assert_memory_equal(dx, dy, 32);
}

static void test_session_two_nodes_exchange_what_each_lacks(void **state) {
  tnode x, y;
  tnode_open(&x, 2);
  tnode_open(&y, 3);
  add_visits(&x, &D[2], 300, 0);
  add_visits(&y, &D[3], 200, 1000);
  wire_pair l = {session_for(&x, 1), session_for(&y, 0), T0, 0, 0, 0};
  run(&l);
  assert_int_equal(l.ra, 0);
  assert_int_equal(l.rb, 0);
  assert_int_equal(fm_session_get_state(l.a), FM_SS_LIVE);
  assert_int_equal(fm_session_get_state(l.b), FM_SS_LIVE);
  assert_same(&x, &y);
  fm_session_stats st;
  fm_session_get_stats(l.a, &st);
  assert_int_equal(st.entries_out, 300);
  assert_int_equal(st.entries_in, 200);
  assert_int_equal(st.to_send, 0);
  assert_int_equal(st.to_recv, 0);
  assert_int_equal(st.vectors_in, 1);
  assert_true(st.admitted);
  assert_memory_equal(st.peer_id, D[3].pk, 32);
  /* Every byte sent is counted once by what it carried: the handshake
   * and each message type (the entries PACKED or not). */
  uint64_t by_type = st.handshake_out;
  for (int t = 0; t < FM_MSG_TYPE_SLOTS; t++) by_type += st.msg_out[t];
  assert_int_equal(by_type, st.bytes_out);
  assert_true(st.handshake_out > 0 && st.msg_out[FM_MSG_HELLO] > 0);
  assert_true(st.msg_out[FM_MSG_ENTRIES] + st.msg_out[FM_MSG_PACKED] > st.bytes_out / 2);
  fm_session_del(l.a);
  fm_session_del(l.b);

  /* An in-sync reconnect costs the handshake, the hellos and the vectors. */
  wire_pair r = {session_for(&x, 1), session_for(&y, 0), T0 + 1000, 0, 0, 0};
  run(&r);
  assert_int_equal(fm_session_get_state(r.a), FM_SS_LIVE);
  fm_session_get_stats(r.a, &st);
  assert_int_equal(st.entries_out, 0);
  assert_int_equal(st.entries_in, 0);
  /* Equal digests in the hellos: no vector crosses, whatever the authors. */
  assert_int_equal(st.vectors_in, 0);
  assert_true(r.bytes < l.bytes / 20);
  fm_session_del(r.a);
  fm_session_del(r.b);
  tnode_close(&x);
  tnode_close(&y);
}

/* With deferred ingest, a burst larger than the session's batch limit is
 * committed in several batches while the frames keep coming, and every
 * entry arrives intact. */
static void test_session_group_commit_survives_bursts_past_its_limit(void **state) {
  tnode x, y;
  tnode_open(&x, 2);
  tnode_open(&y, 3);
  add_visits(&x, &D[2], 5000, 0);
  wire_pair l = {session_cfg_for(&x, 1, 8u << 20, 1), session_cfg_for(&y, 0, 8u << 20, 1),
                 T0, 0, 0, 0};
  run(&l);
  assert_int_equal(l.ra, 0);
  assert_int_equal(l.rb, 0);
  assert_int_equal(fm_session_get_state(l.b), FM_SS_LIVE);
  fm_session_stats st;
  fm_session_get_stats(l.b, &st);
  assert_int_equal(st.entries_in, 5000);
  assert_same(&x, &y);
  fm_session_del(l.a);
  fm_session_del(l.b);
  tnode_close(&x);
  tnode_close(&y);
}

/* Presence notes travel two hops along a line of live sessions towards
 * the hall (C is a leader; B hands another device's note only to a
 * leader, officer, admin or gateway, never back to member A): B-C is
 * up before A ever meets B, and A's newer note a minute later (its
 * entries now on B: only-here changed) still reaches C through the
 * sessions' periodic offers; a minute later, nothing having changed, A
 * makes no note (an idle link carries none), and an hour later it does. */
static void test_session_presence_travels_two_hops(void **state) {
  tnode a, b, c;
  fm_presence p;
  (void)state;
  tnode_open(&a, 2);
  tnode_open(&b, 3);
  tnode_open(&c, 5);
  add_visits(&a, &D[2], 4, 0);
  wire_pair bc = {session_for(&b, 1), session_for(&c, 0), T0, 0, 0, 0};
  run(&bc);
  wire_pair ab = {session_for(&a, 1), session_for(&b, 0), T0, 0, 0, 0};
  run(&ab);
  assert_int_equal(fm_store_presence_get(b.s, D[2].pk, &p, NULL), 0);
  assert_int_equal(fm_store_presence_get(c.s, D[2].pk, NULL, NULL), FM_ERR_NOTFOUND);
  for (int k = 0; k < 2; k++) {
    WALL = T0 + 61000 * (k + 1);
    ab.now += 15000;
    bc.now += 15000;
    assert_int_equal(fm_session_on_timer(ab.a, ab.now), 0);
    assert_int_equal(fm_session_on_timer(ab.b, ab.now), 0);
    run(&ab);
    assert_int_equal(fm_session_on_timer(bc.a, bc.now), 0);
    assert_int_equal(fm_session_on_timer(bc.b, bc.now), 0);
    run(&bc);
  }
  assert_int_equal(fm_store_presence_get(c.s, D[2].pk, &p, NULL), 0);
  assert_int_equal(p.wall, T0 + 61000);   /* renewed once, when it changed */
  assert_int_equal(p.head_seq, 4);
  assert_int_equal(p.only_here, 0);       /* B holds them all */
  /* Towards the hall only: B hands C's note to no member. */
  assert_int_equal(fm_store_presence_get(a.s, D[5].pk, NULL, NULL), FM_ERR_NOTFOUND);
  WALL = T0 + 61000 + FM_PRESENCE_RENEW_MS;
  for (int k = 0; k < 2; k++) {
    ab.now += 15000;
    bc.now += 15000;
    assert_int_equal(fm_session_on_timer(ab.a, ab.now), 0);
    assert_int_equal(fm_session_on_timer(ab.b, ab.now), 0);
    run(&ab);
    assert_int_equal(fm_session_on_timer(bc.a, bc.now), 0);
    assert_int_equal(fm_session_on_timer(bc.b, bc.now), 0);
    run(&bc);
  }
  assert_int_equal(fm_store_presence_get(c.s, D[2].pk, &p, NULL), 0);
  assert_int_equal(p.wall, WALL);         /* an hour old: renewed, and it travelled */
  WALL = T0;
  fm_session_del(ab.a);
  fm_session_del(ab.b);
  fm_session_del(bc.a);
  fm_session_del(bc.b);
  tnode_close(&a);
  tnode_close(&b);
  tnode_close(&c);
}

static void session_notes(wire_pair *l, uint64_t *a_out, uint64_t *b_out) {
  fm_session_stats st;
  assert_int_equal(l->ra, 0);
  assert_int_equal(l->rb, 0);
  assert_int_equal(fm_session_get_state(l->a), FM_SS_LIVE);
  fm_session_get_stats(l->a, &st);
  *a_out = st.notes_out;
  fm_session_get_stats(l->b, &st);
  *b_out = st.notes_out;
  fm_session_del(l->a);
  fm_session_del(l->b);
}

/* A second session between two nodes that hold the same notes sends no
 * note (equal presence sums); once one made a newer note, that note
 * alone travels, each way. */
static void test_session_in_sync_reconnect_sends_no_notes(void **state) {
  tnode a, b;
  fm_presence p;
  uint64_t na, nb;
  (void)state;
  tnode_open(&a, 2);
  tnode_open(&b, 3);
  add_visits(&a, &D[2], 4, 0);
  wire_pair l1 = {session_for(&a, 1), session_for(&b, 0), T0, 0, 0, 0};
  run(&l1);
  session_notes(&l1, &na, &nb);
  assert_int_equal(na, 1);  /* its own; the peer's own is never sent back */
  assert_int_equal(nb, 1);
  wire_pair l2 = {session_for(&a, 1), session_for(&b, 0), T0 + 1000, 0, 0, 0};
  run(&l2);
  session_notes(&l2, &na, &nb);
  assert_int_equal(na, 0);
  assert_int_equal(nb, 0);
  WALL = T0 + 61000;  /* both make a newer note at the next session */
  wire_pair l3 = {session_for(&a, 1), session_for(&b, 0), T0 + 2000, 0, 0, 0};
  run(&l3);
  session_notes(&l3, &na, &nb);
  assert_int_equal(na, 1);
  assert_int_equal(nb, 1);
  assert_int_equal(fm_store_presence_get(b.s, D[2].pk, &p, NULL), 0);
  assert_int_equal(p.wall, T0 + 61000);
  assert_int_equal(fm_store_presence_get(a.s, D[3].pk, &p, NULL), 0);
  assert_int_equal(p.wall, T0 + 61000);
  WALL = T0;
  tnode_close(&a);
  tnode_close(&b);
}

static uint64_t holds(tnode *t, const fm_identity *who) {
  fm_vector v;
  assert_int_equal(fm_store_vector(t->s, &v), 0);
  uint64_t seq = fm_vector_seq(&v, who->pk);
  fm_vector_free(&v);
  return seq;
}

static fm_session *idle_session_for(tnode *t, int initiator) {
  fm_session_cfg cfg;
  fm_session *s;
  fm_node_session_cfg(&t->node, initiator, &cfg);
  cfg.rng.fill = xrng;
  cfg.rng.ctx = &t->rng;
  cfg.ping_max = 30 * 60000;  /* the daemon's default */
  assert_int_equal(fm_session_new(&cfg, T0, &s), 0);
  return s;
}

/* Runs both sessions' timers until |end|, moving what they say. */
static void idle_until(wire_pair *l, fm_time end) {
  for (;;) {
    fm_time ta = fm_session_next_timer(l->a), tb = fm_session_next_timer(l->b);
    fm_time t = ta < tb ? ta : tb;
    if (t > end) break;
    if (t > l->now) l->now = t;
    WALL = T0 + (l->now - T0);
    /* As a driver does: a timer due again at once fires again before
     * the peer's answer can arrive. */
    for (int k = 0; k < 3; k++) {
      if (fm_session_next_timer(l->a) <= l->now)
        assert_int_equal(fm_session_on_timer(l->a, l->now), 0);
      if (fm_session_next_timer(l->b) <= l->now)
        assert_int_equal(fm_session_on_timer(l->b, l->now), 0);
    }
    run(l);
  }
  l->now = end;
}

/* A live session with nothing to say backs its pings off (15 s doubling
 * to 30 min) and costs under 2 KiB an hour, its hourly presence note
 * included; a peer that then stops answering is still dropped within the
 * idle timeout of the first ping it leaves unanswered. */
static void test_session_idle_link_costs_little_and_notices_a_dead_peer(void **state) {
  tnode a, b;
  static uint8_t buf[1 << 16];
  fm_session_stats st;
  (void)state;
  tnode_open(&a, 2);
  tnode_open(&b, 3);
  add_visits(&a, &D[2], 20, 0);
  wire_pair l = {idle_session_for(&a, 1), idle_session_for(&b, 0), T0, 0, 0, 0};
  run(&l);
  assert_int_equal(fm_session_get_state(l.a), FM_SS_LIVE);
  idle_until(&l, T0 + 3600000);  /* the first hour: the pings back off */
  uint64_t before = l.bytes;
  idle_until(&l, T0 + 2 * 3600000);
  print_message("idle link: %llu bytes in an hour\n", (unsigned long long)(l.bytes - before));
  assert_true(l.bytes - before <= 2048);
  assert_int_equal(fm_session_get_state(l.a), FM_SS_LIVE);
  assert_int_equal(fm_session_get_state(l.b), FM_SS_LIVE);
  /* After a long quiet spell a writes: the entries go, and neither side
   * takes the other's long silence before them for a dead peer. */
  idle_until(&l, l.now + 25 * 60000);
  add_visits(&a, &D[2], 1, 20);
  fm_session_notify(l.a);
  run(&l);
  idle_until(&l, l.now + 10 * 60000);
  assert_int_equal(fm_session_get_state(l.a), FM_SS_LIVE);
  assert_int_equal(fm_session_get_state(l.b), FM_SS_LIVE);
  assert_int_equal(holds(&b, &D[2]), 21);
  /* b is gone: a's pings go nowhere. */
  fm_time last_ping = 0;
  int rv = 0;
  while (rv == 0) {
    l.now = fm_session_next_timer(l.a);
    assert_true(l.now < T0 + 4 * 3600000);
    rv = fm_session_on_timer(l.a, l.now);
    if (fm_session_send(l.a, buf, sizeof buf, l.now) > 0 && rv == 0) last_ping = l.now;
  }
  assert_int_equal(rv, -ETIMEDOUT);
  assert_true(last_ping > 0);
  assert_true(l.now - last_ping <= 60000);
  fm_session_get_stats(l.a, &st);
  assert_non_null(strstr(st.reason, "silent"));
  WALL = T0;
  fm_session_del(l.a);
  fm_session_del(l.b);
  tnode_close(&a);
  tnode_close(&b);
}

static void test_session_pushes_live_entries_along_a_line(void **state) {
  tnode a, b, c;
  tnode_open(&a, 2);
  tnode_open(&b, 3);
  tnode_open(&c, 4);
  wire_pair ab = {session_for(&a, 1), session_for(&b, 0), T0, 0, 0, 0};
  wire_pair bc = {session_for(&b, 1), session_for(&c, 0), T0, 0, 0, 0};
  run(&ab);
  run(&bc);
  assert_int_equal(fm_session_get_state(bc.b), FM_SS_LIVE);
  /* A writes while all stay connected: A pushes to B, B relays to C. */
  add_visits(&a, &D[2], 5, 0);
  fm_session_notify(ab.a);
  run(&ab);
  fm_session_notify(bc.a); /* what the daemon does when B's store grows */
  run(&bc);
  assert_same(&a, &c);
  fm_store_stats st;
  assert_int_equal(fm_store_stats_get(c.s, &st), 0);
  assert_int_equal(st.visits, 5);
  fm_session_del(ab.a);
  fm_session_del(ab.b);
  fm_session_del(bc.a);
  fm_session_del(bc.b);
  tnode_close(&a);
  tnode_close(&b);
  tnode_close(&c);
}

static void test_session_refuses_peer_of_another_commune(void **state) {
  tnode x, y;
  tnode_open(&x, 2);
  tnode_open(&y, 3);
  /* y presents an enrollment signed by another authority. */
  free(y.node.cert);
  y.node.cert = malloc(FOREIGN_CERT_LEN);
  memcpy(y.node.cert, FOREIGN_CERT, FOREIGN_CERT_LEN);
  y.node.cert_len = FOREIGN_CERT_LEN;
  add_visits(&y, &D[3], 3, 0);
  wire_pair l = {session_for(&x, 0), session_for(&y, 1), T0, 0, 0, 0};
  run(&l);
  assert_int_equal(l.rb, FM_ERR_MESH); /* y hears why */
  fm_session_stats st;
  fm_session_get_stats(l.a, &st);
  assert_int_equal(st.error, FM_ERR_MESH);
  assert_false(st.admitted);
  fm_store_stats sx;
  assert_int_equal(fm_store_stats_get(x.s, &sx), 0);
  assert_int_equal(sx.entries, 0);
  fm_session_del(l.a);
  fm_session_del(l.b);
  tnode_close(&x);
  tnode_close(&y);
}

/* A HELLO's certificate is judged before anything is stored: one naming
 * another device, expired, of a device revoked here, or of another
 * commune leaves nothing behind; the same certificate presented by its
 * own device is admitted and kept. */
static void test_admit_keeps_nothing_of_a_refused_hello(void **state) {
  tnode a;
  fm_enrollment who, en;
  uint8_t *expired;
  size_t expired_len;
  (void)state;
  tnode_open(&a, 2);
  make_certs(&AUTH, 5, 5, T0 - 1000, &expired, &expired_len);
  assert_int_equal(fm_node_admit(&a.node, D[4].pk, CERT[3], CERT_LEN[3], T0, &who),
                   FM_ERR_AUTH);
  assert_int_equal(fm_store_enrollment(a.s, D[3].pk, &en, NULL, NULL, NULL), FM_ERR_NOTFOUND);
  assert_int_equal(fm_node_admit(&a.node, D[5].pk, expired, expired_len, T0, &who),
                   FM_ERR_EXPIRED);
  assert_int_equal(fm_store_enrollment(a.s, D[5].pk, &en, NULL, NULL, NULL), FM_ERR_NOTFOUND);
  /* Revoked before a's store ever held its certificate. */
  fm_buf rb;
  fm_buf_init(&rb, 256);
  assert_int_equal(fm_revoke_body(&rb, D[4].pk, 0), 0);
  assert_int_equal(fm_store_append(a.s, &AUTH, FM_KIND_REVOKE, rb.p, rb.len, T0, NULL, NULL), 0);
  fm_buf_free(&rb);
  assert_int_equal(fm_node_admit(&a.node, D[4].pk, CERT[4], CERT_LEN[4], T0, &who),
                   FM_ERR_REVOKED);
  assert_int_equal(fm_store_enrollment(a.s, D[4].pk, &en, NULL, NULL, NULL), FM_ERR_NOTFOUND);
  /* Another commune's certificate: refused as such. */
  assert_int_equal(fm_node_admit(&a.node, D[3].pk, FOREIGN_CERT, FOREIGN_CERT_LEN, T0, &who),
                   FM_ERR_MESH);
  assert_int_equal(fm_node_admit(&a.node, D[3].pk, CERT[3], CERT_LEN[3], T0, &who), 0);
  assert_string_equal(who.name, "Member 3");
  assert_int_equal(fm_store_enrollment(a.s, D[3].pk, &en, NULL, NULL, NULL), 0);
  free(expired);
  tnode_close(&a);
}

static void test_session_refuses_revoked_and_unenrolled_peers(void **state) {
  tnode x, y;
  tnode_open(&x, 2);
  tnode_open(&y, 3);
  add_visits(&y, &D[3], 3, 0);
  /* x learns that D3 is revoked (a revocation entry by the authority). */
  fm_buf b;
  fm_buf_init(&b, 256);
  assert_int_equal(fm_revoke_body(&b, D[3].pk, 0), 0);
  fm_buf e;
  fm_buf_init(&e, FM_ENTRY_MAX);
  assert_int_equal(fm_entry_build(&e, &AUTH, 1, NULL, fm_hlc_make(T0, 0), FM_KIND_REVOKE, b.p, b.len), 0);
  fm_slice sl = {e.p, e.len};
  fm_ingest_result r;
  assert_int_equal(fm_store_ingest(x.s, &sl, 1, T0, &r, NULL), 0);
  assert_int_equal(r.accepted, 1);
  wire_pair l = {session_for(&x, 0), session_for(&y, 1), T0, 0, 0, 0};
  run(&l);
  fm_session_stats st;
  fm_session_get_stats(l.a, &st);
  assert_int_equal(st.error, FM_ERR_REVOKED);
  fm_session_del(l.a);
  fm_session_del(l.b);
  /* No enrollment at all. */
  free(y.node.cert);
  y.node.cert = NULL;
  y.node.cert_len = 0;
  tnode z;
  tnode_open(&z, 4);
  wire_pair m = {session_for(&z, 0), session_for(&y, 1), T0, 0, 0, 0};
  run(&m);
  fm_session_get_stats(m.a, &st);
  assert_int_equal(st.error, FM_ERR_AUTH);
  fm_store_stats sz;
  assert_int_equal(fm_store_stats_get(z.s, &sz), 0);
  assert_int_equal(sz.entries, 0);
  fm_session_del(m.a);
  fm_session_del(m.b);
  fm_buf_free(&b);
  fm_buf_free(&e);
  tnode_close(&x);
  tnode_close(&y);
  tnode_close(&z);
}

/* Runs the handshake by hand so the test can say anything afterwards. */
typedef struct rogue {
  fm_noise_hs hs;
  fm_noise_cs tx, rx;
} rogue;

static void frame_to(fm_session *s, const uint8_t *p, size_t n, int *rv) {
  uint8_t hdr[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
  *rv = fm_session_recv(s, hdr, 4, T0);
  if (*rv == 0) *rv = fm_session_recv(s, p, n, T0);
}

/* Handshakes as D[4] with |victim| (a responder) and sends its hello,
 * announcing |features|. */
static void rogue_connect_with(rogue *r, fm_session *victim, uint64_t features) {
  uint8_t x_sk[32], e_sk[32], buf[70000], pl[1024];
  size_t n, pn;
  ssize_t got;
  int rv;
  assert_int_equal(fm_noise_static_from_ed25519(D[4].sk, x_sk), 0);
  memset(e_sk, 0x44, 32);
  assert_int_equal(fm_noise_hs_init(&r->hs, 1, (const uint8_t *)FM_PROLOGUE, strlen(FM_PROLOGUE), x_sk, e_sk), 0);
  assert_int_equal(fm_noise_hs_write(&r->hs, NULL, 0, buf, sizeof buf, &n), 0);
  frame_to(victim, buf, n, &rv);
  assert_int_equal(rv, 0);
  got = fm_session_send(victim, buf, sizeof buf, T0);
  assert_true(got > 4);
  assert_int_equal(fm_noise_hs_read(&r->hs, buf + 4, (size_t)got - 4, pl, sizeof pl, &pn), 0);
  assert_int_equal(fm_noise_hs_write(&r->hs, NULL, 0, buf, sizeof buf, &n), 0);
  frame_to(victim, buf, n, &rv);
  assert_int_equal(rv, 0);
  assert_int_equal(fm_noise_hs_split(&r->hs, &r->tx, &r->rx), 0);
  fm_buf m;
  fm_wr w;
  fm_buf_init(&m, FM_MSG_MAX);
  fm_wr_init(&w, &m);
  uint8_t zero[32] = {0};
  fm_msg_hello(&w, D[4].pk, CERT[4], CERT_LEN[4], features, zero);
  assert_int_equal(fm_noise_cs_encrypt(&r->tx, NULL, 0, m.p, m.len, buf, sizeof buf, &n), 0);
  frame_to(victim, buf, n, &rv);
  assert_int_equal(rv, 0);
  fm_buf_free(&m);
}

static void rogue_connect(rogue *r, fm_session *victim) { rogue_connect_with(r, victim, 0); }

static int rogue_say(rogue *r, fm_session *victim, const uint8_t *msg, size_t len) {
  uint8_t buf[70000];
  size_t n;
  int rv;
  assert_int_equal(fm_noise_cs_encrypt(&r->tx, NULL, 0, msg, len, buf, sizeof buf, &n), 0);
  frame_to(victim, buf, n, &rv);
  return rv;
}

static void hostile_case(int which) {
  tnode x;
  rogue r;
  fm_store_stats before, after;
  tnode_open(&x, 2);
  add_visits(&x, &D[2], 2, 0);
  assert_int_equal(fm_store_stats_get(x.s, &before), 0);
  fm_session *v = session_for(&x, 0);
  rogue_connect(&r, v);
  int rv = 0;
  fm_buf m;
  fm_wr w;
  fm_buf_init(&m, FM_MSG_MAX);
  fm_wr_init(&w, &m);
  if (which == 0) { /* garbage after the handshake */
    uint8_t junk[300];
    memset(junk, 0xa5, sizeof junk);
    frame_to(v, junk, sizeof junk, &rv);
    assert_int_equal(rv, FM_ERR_DECRYPT);
  } else if (which == 1) { /* a frame claiming 1 MiB */
    uint8_t hdr[4] = {0, 0x10, 0, 0};
    rv = fm_session_recv(v, hdr, 4, T0);
    assert_int_equal(rv, FM_ERR_FRAME);
  } else if (which == 2) { /* an entry with a bad signature */
    fm_buf e;
    fm_buf body;
    fm_buf_init(&e, FM_ENTRY_MAX);
    fm_buf_init(&body, 4096);
    fm_visit_in vi = {"V-X", "Team 1", "Nghĩa Tân", "", "2023-11-14", "", 0, 1, 1};
    assert_int_equal(fm_visit_body(&body, &vi), 0);
    assert_int_equal(fm_entry_build(&e, &D[4], 1, NULL, fm_hlc_make(T0, 0), FM_KIND_VISIT, body.p, body.len), 0);
    e.p[e.len - 1] ^= 1;
    fm_msg_entries_begin(&w, 1);
    fm_wr_bin(&w, e.p, e.len);
    rv = rogue_say(&r, v, m.p, m.len);
    assert_int_equal(rv, FM_ERR_PROTO);
    fm_buf_free(&e);
    fm_buf_free(&body);
  } else { /* an unknown message type */
    fm_wr_array(&w, 2);
    fm_wr_uint(&w, 77);
    fm_wr_uint(&w, 1);
    rv = rogue_say(&r, v, m.p, m.len);
    assert_int_equal(rv, FM_ERR_PROTO);
  }
  fm_session_stats st;
  fm_session_get_stats(v, &st);
  assert_int_equal(st.error, rv);
  assert_true(strlen(st.reason) > 0);
  assert_true(fm_session_get_state(v) >= FM_SS_CLOSING);
  assert_int_equal(fm_store_stats_get(x.s, &after), 0);
  assert_int_equal(after.entries, before.entries);
  assert_int_equal(after.held + after.quarantined, 0);
  fm_buf_free(&m);
  fm_noise_cs_wipe(&r.tx);
  fm_noise_cs_wipe(&r.rx);
  fm_session_del(v);
  tnode_close(&x);
}

/* Packs the entries |from| .. |to| of |who|'s log in |t| as bins. */
static void pack_entries(fm_wr *w, tnode *t, const fm_identity *who, uint64_t from, uint64_t to,
                         uint64_t bad) {
  for (uint64_t q = from; q <= to; q++) {
    uint8_t *e;
    size_t len;
    assert_int_equal(fm_store_entry_copy(t->s, who->pk, q, &e, &len), 0);
    if (q == bad) e[len - 1] ^= 1;  /* its signature no longer verifies */
    fm_wr_bin(w, e, len);
    free(e);
  }
}

/* One ENTRIES message of three authors, the second with a bad signature
 * at its seq 2: the peer is dropped; the first and third authors'
 * entries and the second's seq 1 are stored (valid entries of the group
 * stay applied), its seq 2 and what follows it are not. */
static void test_session_multi_author_entries_with_one_bad_author(void **state) {
  tnode x, s3, s4, s5;
  rogue r;
  fm_buf m;
  fm_wr w;
  (void)state;
  tnode_open(&x, 2);
  tnode_open(&s3, 3);
  tnode_open(&s4, 4);
  tnode_open(&s5, 5);
  assert_int_equal(fm_store_add_cert(x.s, CERT[3], CERT_LEN[3], T0, NULL), 0);
  assert_int_equal(fm_store_add_cert(x.s, CERT[5], CERT_LEN[5], T0, NULL), 0);
  add_visits(&s3, &D[3], 2, 0);
  add_visits(&s4, &D[4], 3, 0);
  add_visits(&s5, &D[5], 2, 0);
  fm_session *v = session_for(&x, 0);
  rogue_connect(&r, v);
  fm_buf_init(&m, FM_MSG_MAX);
  fm_wr_init(&w, &m);
  fm_msg_entries_begin(&w, 7);
  pack_entries(&w, &s3, &D[3], 1, 2, 0);
  pack_entries(&w, &s4, &D[4], 1, 3, 2);
  pack_entries(&w, &s5, &D[5], 1, 2, 0);
  assert_int_equal(rogue_say(&r, v, m.p, m.len), FM_ERR_PROTO);
  assert_true(fm_session_get_state(v) >= FM_SS_CLOSING);
  assert_int_equal(holds(&x, &D[3]), 2);
  assert_int_equal(holds(&x, &D[4]), 1);
  assert_int_equal(holds(&x, &D[5]), 2);
  fm_buf_free(&m);
  fm_noise_cs_wipe(&r.tx);
  fm_noise_cs_wipe(&r.rx);
  fm_session_del(v);
  tnode_close(&x);
  tnode_close(&s3);
  tnode_close(&s4);
  tnode_close(&s5);
}

static void test_session_drops_garbage_after_handshake(void **state) { hostile_case(0); }
static void test_session_drops_oversized_frame(void **state) { hostile_case(1); }
static void test_session_drops_entry_with_bad_signature(void **state) { hostile_case(2); }
static void test_session_drops_unknown_message_type(void **state) { hostile_case(3); }


/* A laptop restored from an old copy: it keeps its key, but its log is
 * behind what a peer holds.  As soon as the peer's vector says so it
 * refuses to write; once its own entries are back it writes again, and
 * nothing forks. */
static void test_session_restored_laptop_refuses_to_write_until_caught_up(void **state) {
  tnode x, y;
  fm_buf b;
  fm_visit_in v = {"V-NEW", "Team 1", "Nghĩa Tân", "", "2023-11-15", "", FM_MODE_HOME, 1, 1};
  tnode_open(&x, 2);
  tnode_open(&y, 3);
  add_visits(&x, &D[2], 3, 0);
  /* y holds all three of x's entries (as after an earlier sync). */
  wire_pair l = {session_for(&x, 1), session_for(&y, 0), T0, 0, 0, 0};
  run(&l);
  fm_session_del(l.a);
  fm_session_del(l.b);
  /* x is "restored": a fresh store that knows only x's first entry. */
  tnode r;
  tnode_open(&r, 2);
  assert_int_equal(fm_store_set_self(r.s, D[2].pk), 0);
  uint8_t *first;
  size_t first_len;
  assert_int_equal(fm_store_entry_copy(x.s, D[2].pk, 1, &first, &first_len), 0);
  fm_slice sl = {first, first_len};
  fm_ingest_result res;
  assert_int_equal(fm_store_ingest(r.s, &sl, 1, T0, &res, NULL), 0);
  assert_int_equal(res.accepted, 1);
  /* Step the exchange one message at a time until r has seen y's vector
   * but not yet the entries. */
  fm_session *sr = session_for(&r, 1), *sy = session_for(&y, 0);
  int rv = 0, refused = 0;
  fm_buf_init(&b, 4096);
  assert_int_equal(fm_visit_body(&b, &v), 0);
  for (int i = 0; i < 50; i++) {
    fm_store_stats st;
    move(sr, sy, T0, &rv);
    move(sy, sr, T0, &rv);
    assert_int_equal(fm_store_stats_get(r.s, &st), 0);
    if (st.self_seen > st.self_seq) {
      assert_int_equal(fm_store_append(r.s, &D[2], FM_KIND_VISIT, b.p, b.len, T0 + 10, NULL, NULL),
                       FM_ERR_BEHIND);
      refused = 1;
    }
    if (st.self_seq == 3) break;
  }
  /* y sends its VECTOR before any entry (it streams only once it has r's
   * vector), so there is always a step where r knows it is behind. */
  assert_true(refused);
  fm_store_stats st;
  assert_int_equal(fm_store_stats_get(r.s, &st), 0);
  assert_int_equal(st.self_seq, 3);
  /* Caught up: it writes seq 4, which follows the mesh's seq 3. */
  assert_int_equal(fm_store_append(r.s, &D[2], FM_KIND_VISIT, b.p, b.len, T0 + 10, NULL, NULL), 0);
  wire_pair l2 = {sr, sy, T0, 0, 0, 0};
  fm_session_notify(sr);
  run(&l2);
  assert_int_equal(fm_store_stats_get(y.s, &st), 0);
  assert_int_equal(st.quarantined, 0);
  assert_same(&r, &y);
  fm_buf_free(&b);
  free(first);
  fm_session_del(sr);
  fm_session_del(sy);
  tnode_close(&x);
  tnode_close(&y);
  tnode_close(&r);
}

static int count_quarantined_of(void *ctx, const uint8_t author[FM_KEY_LEN], uint64_t seq,
                                int reason, fm_time when, const uint8_t *bytes, size_t len) {
  (void)seq, (void)when, (void)bytes, (void)len;
  if (!memcmp(author, D[2].pk, FM_KEY_LEN) && (reason == FM_ERR_FORK || reason == FM_ERR_BADPREV))
    ++*(int *)ctx;
  return 0;
}

static int found_cb(void *ctx, const char *id, size_t n, const uint8_t *rec, size_t len) {
  (void)id, (void)n, (void)rec, (void)len;
  ++*(int *)ctx;
  return 0;
}

static int count_rolled_back(void *ctx, const uint8_t author[FM_KEY_LEN], uint64_t seq,
                             int reason, fm_time when, const uint8_t *bytes, size_t len) {
  (void)author, (void)when, (void)bytes, (void)len;
  if (reason == FM_ERR_ROLLEDBACK && seq == 2) ++*(int *)ctx;
  return 0;
}

/* A restored laptop that writes before it syncs forks its own log: its
 * seq 2 against the mesh's seq 2 of 3.  When it meets the mesh it shows
 * its head, so the peer records the fork too (both entries quarantined
 * there, the mesh's branch stays applied); the peer sends it its whole
 * log back, it takes the mesh's branch, sets its seq 2 aside as evidence
 * and writes that visit again as seq 4, which reaches the peer in the
 * same session. */
static void test_session_restored_laptop_that_wrote_shows_its_fork(void **state) {
  tnode x, y, r;
  fm_buf b;
  fm_visit_in v = {"V-OFFLINE", "Team 1", "Nghĩa Tân", "", "2023-11-15", "", FM_MODE_HOME, 1, 1};
  (void)state;
  tnode_open(&x, 2);
  tnode_open(&y, 3);
  add_visits(&x, &D[2], 3, 0);
  wire_pair l = {session_for(&x, 1), session_for(&y, 0), T0, 0, 0, 0};
  run(&l);
  fm_session_del(l.a);
  fm_session_del(l.b);
  tnode_open(&r, 2);
  assert_int_equal(fm_store_set_self(r.s, D[2].pk), 0);
  uint8_t *first;
  size_t first_len;
  assert_int_equal(fm_store_entry_copy(x.s, D[2].pk, 1, &first, &first_len), 0);
  fm_slice sl = {first, first_len};
  fm_ingest_result res;
  assert_int_equal(fm_store_ingest(r.s, &sl, 1, T0, &res, NULL), 0);
  /* Offline, before any sync: seq 2, which the mesh already holds. */
  fm_buf_init(&b, 4096);
  assert_int_equal(fm_visit_body(&b, &v), 0);
  uint64_t seq = 0;
  assert_int_equal(fm_store_append(r.s, &D[2], FM_KIND_VISIT, b.p, b.len, T0 + 10, NULL, &seq), 0);
  assert_int_equal(seq, 2);
  wire_pair l2 = {session_for(&r, 1), session_for(&y, 0), T0, 0, 0, 0};
  run(&l2);
  int in_y = 0, in_r = 0;
  assert_int_equal(fm_store_each_quarantined(y.s, count_quarantined_of, &in_y), 0);
  assert_int_equal(fm_store_each_quarantined(r.s, count_rolled_back, &in_r), 0);
  assert_true(in_y >= 2); /* the peer keeps both branches at seq 2 */
  assert_int_equal(in_r, 1); /* and so does the restored laptop */
  fm_store_stats st;
  assert_int_equal(fm_store_stats_get(r.s, &st), 0);
  assert_int_equal(st.self_seq, 4);
  assert_int_equal(fm_store_stats_get(y.s, &st), 0);
  assert_int_equal(st.self_seq, 0);
  /* The visit written offline is on the peer, and both hold the same. */
  int found = 0;
  assert_int_equal(fm_store_find_record(y.s, FM_VIEW_VISIT, "V-OFFLINE", found_cb, &found), 0);
  assert_int_equal(found, 1);
  assert_same(&r, &y);
  fm_session_stats ss;
  fm_session_get_stats(l2.a, &ss);
  assert_memory_equal(ss.last_refused.author, D[2].pk, 32);
  assert_int_equal(ss.last_refused.from, 2);
  assert_int_equal(ss.last_refused.code, FM_ERR_FORK);
  fm_buf_free(&b);
  free(first);
  fm_session_del(l2.a);
  fm_session_del(l2.b);
  tnode_close(&x);
  tnode_close(&y);
  tnode_close(&r);
}


/* One key on two laptops, both logs three long but different at 3: the
 * vectors' seqs agree, their heads do not.  Each side shows the other its
 * head entry, and both keep the two versions as fork evidence.  The entry
 * written first wins on both sides: here y's (stamped earlier), so x, whose
 * key it is, sets its seq 3 aside and writes that visit again as seq 4,
 * and the two end with the same log. */
static void test_session_detects_fork_of_equal_length(void **state) {
  tnode x, y;
  bag_t first = {0};
  tnode_open(&x, 2);
  tnode_open(&y, 3);
  assert_int_equal(fm_store_add_cert(y.s, CERT[2], CERT_LEN[2], T0, NULL), 0);
  add_visits(&x, &D[2], 3, 0);
  assert_int_equal(fm_store_read_after(x.s, D[2].pk, 0, 0, grab_all, &first), 0);
  assert_int_equal(first.n, 3);
  fm_slice sl[2] = {{first.p[0], first.len[0]}, {first.p[1], first.len[1]}};
  fm_ingest_result res;
  assert_int_equal(fm_store_ingest(y.s, sl, 2, T0, &res, NULL), 0);
  assert_int_equal(res.accepted, 2);
  add_visits(&y, &D[2], 1, 500); /* the copied key writes its own seq 3 */
  wire_pair l = {session_for(&x, 1), session_for(&y, 0), T0, 0, 0, 0};
  run(&l);
  assert_int_equal(l.ra, 0);
  assert_int_equal(l.rb, 0);
  fm_store_stats sx, sy;
  assert_int_equal(fm_store_stats_get(x.s, &sx), 0);
  assert_int_equal(fm_store_stats_get(y.s, &sy), 0);
  assert_true(sx.quarantined >= 1);
  assert_true(sy.quarantined >= 2);
  assert_int_equal(sx.self_seq, 4);
  assert_same(&x, &y);
  for (size_t i = 0; i < first.n; i++) free(first.p[i]);
  fm_session_del(l.a);
  fm_session_del(l.b);
  tnode_close(&x);
  tnode_close(&y);
}

/* ---- copies: only what the other side says it stored ----------------------------- */

static fm_copies copies_of(tnode *t, const fm_identity *author) {
  fm_copies c;
  assert_int_equal(fm_store_copies(t->s, author->pk, 1, &c), 0);
  return c;
}

/* Entries sent are not entries held: until the receiver's ACK comes back
 * (after its commit), the sender counts them as on no other laptop -- a
 * receiver killed before its commit, or a link cut after the send, leaves
 * them "only here". */
static void test_copies_come_from_acks_not_from_sending(void **state) {
  tnode x, y;
  tnode_open(&x, 2);
  tnode_open(&y, 3);
  add_visits(&x, &D[2], 10, 0);
  fm_session *a = session_for(&x, 1), *b = session_for(&y, 0);
  fm_session_stats st;
  int rv = 0;
  for (int i = 0; i < 20; i++) {
    move(a, b, T0, &rv);
    fm_session_get_stats(a, &st);
    if (st.entries_out > 0) break; /* sent and stored there; the ACK waits in b */
    move(b, a, T0, &rv);
  }
  assert_int_equal(rv, 0);
  assert_int_equal(st.entries_out, 10);
  fm_store_stats sy;
  assert_int_equal(fm_store_stats_get(y.s, &sy), 0);
  assert_int_equal(sy.visits, 10);
  assert_int_equal(copies_of(&x, &D[2]).none, 10);
  /* The ACK arrives: all ten are on one other laptop. */
  move(b, a, T0, &rv);
  assert_int_equal(rv, 0);
  fm_copies c = copies_of(&x, &D[2]);
  assert_int_equal(c.none, 0);
  assert_int_equal(c.one, 10);
  assert_int_equal(c.unsafe, 0);
  fm_session_del(a);
  fm_session_del(b);
  tnode_close(&x);
  tnode_close(&y);
}

/* A laptop that got the entries another way (a bundle, a third laptop) is
 * counted when its HELLO's vector digest equals ours: its log holds
 * exactly what ours does. */
static void test_copies_from_an_equal_hello_digest(void **state) {
  tnode x, y;
  bag_t all = {0};
  tnode_open(&x, 2);
  tnode_open(&y, 3);
  assert_int_equal(fm_store_add_cert(y.s, CERT[2], CERT_LEN[2], T0, NULL), 0);
  add_visits(&x, &D[2], 4, 0);
  assert_int_equal(fm_store_read_after(x.s, D[2].pk, 0, 0, grab_all, &all), 0);
  fm_slice sl[4];
  for (size_t i = 0; i < 4; i++) sl[i] = (fm_slice){all.p[i], all.len[i]};
  fm_ingest_result res;
  assert_int_equal(fm_store_ingest(y.s, sl, 4, T0, &res, NULL), 0);
  assert_int_equal(res.accepted, 4);
  assert_int_equal(copies_of(&x, &D[2]).none, 4);
  wire_pair l = {session_for(&x, 1), session_for(&y, 0), T0, 0, 0, 0};
  run(&l);
  fm_session_stats st;
  fm_session_get_stats(l.a, &st);
  assert_int_equal(st.vectors_in, 0); /* equal digests: no vector crossed */
  assert_int_equal(copies_of(&x, &D[2]).one, 4);
  for (size_t i = 0; i < all.n; i++) free(all.p[i]);
  fm_session_del(l.a);
  fm_session_del(l.b);
  tnode_close(&x);
  tnode_close(&y);
}

/* A receiver that will not store what it was sent (here: its log of that
 * key went another way at seq 3, a copied key) says so in its ACK: the
 * sender counts none of it, and knows which entries and why. */
static void test_refused_entries_are_reported_and_not_counted(void **state) {
  tnode x, y;
  bag_t first = {0};
  tnode_open(&x, 2);
  tnode_open(&y, 3);
  assert_int_equal(fm_store_add_cert(y.s, CERT[2], CERT_LEN[2], T0, NULL), 0);
  add_visits(&x, &D[2], 5, 0);
  assert_int_equal(fm_store_read_after(x.s, D[2].pk, 0, 0, grab_all, &first), 0);
  fm_slice sl[2] = {{first.p[0], first.len[0]}, {first.p[1], first.len[1]}};
  fm_ingest_result res;
  assert_int_equal(fm_store_ingest(y.s, sl, 2, T0, &res, NULL), 0);
  /* The copied key's own seq 3, written after x's (so x's branch wins). */
  fm_buf b;
  fm_visit_in v = {"V-LATER", "Team 1", "Nghĩa Tân", "", "2023-11-14", "", FM_MODE_HOME, 1, 1};
  fm_buf_init(&b, 4096);
  assert_int_equal(fm_visit_body(&b, &v), 0);
  assert_int_equal(fm_store_append(y.s, &D[2], FM_KIND_VISIT, b.p, b.len, T0 + 1000, NULL, NULL), 0);
  fm_buf_free(&b);
  wire_pair l = {session_for(&x, 1), session_for(&y, 0), T0, 0, 0, 0};
  run(&l);
  assert_int_equal(l.ra, 0);
  assert_int_equal(l.rb, 0);
  fm_session_stats st;
  fm_session_get_stats(l.a, &st);
  assert_int_equal(st.entries_out, 2);   /* seqs 4 and 5 */
  /* x first shows its seq 3, which y holds with other bytes (a fork, kept
   * as evidence); seq 4 does not follow y's seq 3 (wrong prev, evidence
   * too); seq 5 then leaves a gap.  Three ranges; the session keeps the
   * last. */
  assert_int_equal(st.refused_out, 3);
  assert_memory_equal(st.last_refused.author, D[2].pk, 32);
  assert_int_equal(st.last_refused.from, 5);
  assert_int_equal(st.last_refused.to, 5);
  assert_int_equal(st.last_refused.code, FM_ERR_GAP);
  fm_store_stats sy;
  assert_int_equal(fm_store_stats_get(y.s, &sy), 0);
  assert_int_equal(sy.quarantined, 3);
  /* y's vector names seq 3 with another head: not a copy of ours either. */
  assert_int_equal(copies_of(&x, &D[2]).none, 5);
  for (size_t i = 0; i < first.n; i++) free(first.p[i]);
  fm_session_del(l.a);
  fm_session_del(l.b);
  tnode_close(&x);
  tnode_close(&y);
}

/* A peer that acknowledges what it was never sent is dropped, and nothing
 * it claimed is counted. */
static void ack_lie(int which) {
  tnode x;
  rogue r;
  tnode_open(&x, 2);
  add_visits(&x, &D[2], 3, 0);
  fm_session *v = session_for(&x, 0);
  rogue_connect(&r, v);
  fm_buf m;
  fm_wr w;
  fm_buf_init(&m, FM_MSG_MAX);
  fm_wr_init(&w, &m);
  fm_msg_vitem stored = {{0}, 3, {0}};
  memcpy(stored.author, D[2].pk, 32);
  if (which == 0) fm_msg_ack(&w, 0, 0, &stored, 1, NULL, 0); /* seqs never sent */
  else fm_msg_ack(&w, 4096, 3, NULL, 0, NULL, 0);           /* bytes never sent */
  assert_int_equal(rogue_say(&r, v, m.p, m.len), FM_ERR_PROTO);
  assert_true(fm_session_get_state(v) >= FM_SS_CLOSING);
  assert_int_equal(copies_of(&x, &D[2]).none, 3);
  fm_buf_free(&m);
  fm_noise_cs_wipe(&r.tx);
  fm_noise_cs_wipe(&r.rx);
  fm_session_del(v);
  tnode_close(&x);
}

static void test_ack_of_entries_never_sent_drops_the_peer(void **state) { ack_lie(0); }
static void test_ack_of_bytes_never_sent_drops_the_peer(void **state) { ack_lie(1); }

/* A peer of another protocol version is told both versions. */
static void test_hello_of_another_version_is_refused_by_name(void **state) {
  tnode x;
  rogue r;
  uint8_t zero[32] = {0};
  tnode_open(&x, 2);
  fm_session *v = session_for(&x, 0);
  rogue_connect(&r, v); /* a current HELLO: admitted */
  fm_session_del(v);
  v = session_for(&x, 0);
  /* The same again, with a HELLO of version 4 (before vocabularies) by hand. */
  uint8_t x_sk[32], e_sk[32], buf[70000], pl[1024];
  size_t n, pn;
  int rv;
  assert_int_equal(fm_noise_static_from_ed25519(D[4].sk, x_sk), 0);
  memset(e_sk, 0x45, 32);
  assert_int_equal(fm_noise_hs_init(&r.hs, 1, (const uint8_t *)FM_PROLOGUE, strlen(FM_PROLOGUE), x_sk, e_sk), 0);
  assert_int_equal(fm_noise_hs_write(&r.hs, NULL, 0, buf, sizeof buf, &n), 0);
  frame_to(v, buf, n, &rv);
  ssize_t got = fm_session_send(v, buf, sizeof buf, T0);
  assert_int_equal(fm_noise_hs_read(&r.hs, buf + 4, (size_t)got - 4, pl, sizeof pl, &pn), 0);
  assert_int_equal(fm_noise_hs_write(&r.hs, NULL, 0, buf, sizeof buf, &n), 0);
  frame_to(v, buf, n, &rv);
  assert_int_equal(fm_noise_hs_split(&r.hs, &r.tx, &r.rx), 0);
  fm_buf m;
  fm_wr w;
  fm_buf_init(&m, FM_MSG_MAX);
  fm_wr_init(&w, &m);
  fm_wr_array(&w, 6);
  fm_wr_uint(&w, FM_MSG_HELLO);
  fm_wr_uint(&w, 5);  /* a release before inbox keys */
  fm_wr_bin(&w, D[4].pk, 32);
  fm_wr_bin(&w, CERT[4], CERT_LEN[4]);
  fm_wr_uint(&w, 0);
  fm_wr_bin(&w, zero, 32);
  assert_int_equal(rogue_say(&r, v, m.p, m.len), FM_ERR_VERSION);
  fm_session_stats st;
  fm_session_get_stats(v, &st);
  assert_non_null(strstr(st.reason, "version 5"));
  assert_non_null(strstr(st.reason, "this one 6"));
  fm_buf_free(&m);
  fm_session_del(v);
  tnode_close(&x);
}

/* The session knows only its own (monotonic) clock: the nodes' wall
 * clocks set a day forward, then back, in the middle of a live session
 * change nothing for it, and new entries still flow. */
static void test_session_survives_the_wall_clock_jumping(void **state) {
  tnode x, y;
  tnode_open(&x, 2);
  tnode_open(&y, 3);
  wire_pair l = {session_for(&x, 1), session_for(&y, 0), T0, 0, 0, 0};
  run(&l);
  assert_int_equal(fm_session_get_state(l.a), FM_SS_LIVE);
  const fm_time day = 24 * 3600 * 1000LL;
  for (int k = 0; k < 2; k++) {
    WALL = T0 + (k == 0 ? day : -day);
    add_visits(&x, &D[2], 2, 100 * (k + 1));
    fm_session_notify(l.a);
    l.now += 5000;
    assert_int_equal(fm_session_on_timer(l.a, l.now), 0);
    assert_int_equal(fm_session_on_timer(l.b, l.now), 0);
    run(&l);
    assert_int_equal(fm_session_get_state(l.a), FM_SS_LIVE);
    assert_int_equal(fm_session_get_state(l.b), FM_SS_LIVE);
  }
  WALL = T0;
  assert_same(&x, &y);
  assert_int_equal(copies_of(&x, &D[2]).one, 4);
  fm_session_del(l.a);
  fm_session_del(l.b);
  tnode_close(&x);
  tnode_close(&y);
}

/* ---- attachment chunks -------------------------------------------------------- */

#define SCAN_SIZE (2 * FM_ATTACH_CHUNK + 100)   /* three chunks */

/* |who| records a dossier on |t| and attaches a scan of SCAN_SIZE bytes
 * to it: its chunks into the store, then its entry; the ids into |ids|. */
static void add_scan(tnode *t, const fm_identity *who, uint8_t ids[3 * FM_BLOB_ID]) {
  static uint8_t plain[SCAN_SIZE];
  uint8_t key[FM_ATTACH_KEY];
  fm_buf b;
  memset(plain, 0x5a, sizeof plain);
  memset(key, 9, sizeof key);
  assert_int_equal(fm_attach_nchunks(SCAN_SIZE), 3);
  assert_int_equal(fm_store_blob_seal_file(t->s, plain, SCAN_SIZE, key, ids), 0);
  /* Its dossier first, under an id of its writer (the team rule). */
  char did[FM_RECORD_ID_MAX + 1];
  static const uint8_t rnd[2] = {1, 2};
  fm_record_id('D', T0 + 4000, who->pk, rnd, did);
  fm_dossier_in d = {did, "khai_sinh", "Lò Văn Pó", "", "", "Nghĩa Tân", "Team 1",
                     "portal", "", "", "2023-11-14"};
  fm_buf_init(&b, 8192);
  assert_int_equal(fm_dossier_body(&b, &d), 0);
  assert_int_equal(fm_store_append(t->s, who, FM_KIND_DOSSIER, b.p, b.len, T0 + 4000, NULL,
                                   NULL), 0);
  fm_buf_reset(&b);
  fm_attach a = {did, strlen(did), FM_ATT_ID_CARD, "cccd.jpg", 8, SCAN_SIZE, ids, 3, key,
                 NULL, 0, NULL, 0};
  assert_int_equal(fm_attach_body(&b, &a), 0);
  assert_int_equal(fm_store_append(t->s, who, FM_KIND_DOSSIER_ATTACH, b.p, b.len, T0 + 5000,
                                   NULL, NULL), 0);
  fm_buf_free(&b);
}

static size_t held_of(tnode *t, const uint8_t *ids) {
  size_t held;
  assert_int_equal(fm_store_blob_count(t->s, ids, 3, &held), 0);
  return held;
}

/* What a hostile or broken peer serves: bytes that are not the chunk. */
static int wrong_blob_get(void *ctx, const uint8_t id[32], fm_buf *out) {
  fm_node *n = ctx;
  uint8_t chunk[FM_ATTACH_CHUNK + FM_ATTACH_TAG];
  size_t len;
  int rv = fm_store_blob_get(n->store, id, chunk, sizeof chunk, &len);
  if (rv < 0) return rv;
  chunk[len / 2] ^= 1;
  return fm_buf_put(out, chunk, len);
}

/* A scan's chunks follow its record: the peer asks for them once it holds
 * every entry and keeps them; bytes that are not the chunk asked for are
 * dropped and counted, the link goes on, and the next session brings the
 * right ones. */
static void test_session_chunks_follow_their_record(void **state) {
  tnode x, y;
  uint8_t ids[3 * FM_BLOB_ID];
  fm_session_stats sa, sb;
  uint64_t wanted;
  (void)state;
  tnode_open(&x, 2);
  tnode_open(&y, 4);
  add_visits(&x, &D[2], 20, 0);
  add_scan(&x, &D[2], ids);

  wire_pair bad = {session_for(&x, 1), session_for(&y, 0), T0, 0, 0, 0};
  fm_session_del(bad.a);
  fm_session_cfg cfg;
  fm_node_session_cfg(&x.node, 1, &cfg);
  cfg.rng.fill = xrng;
  cfg.rng.ctx = &x.rng;
  cfg.io.blob_get = wrong_blob_get;
  assert_int_equal(fm_session_new(&cfg, T0, &bad.a), 0);
  run(&bad);
  assert_int_equal(bad.ra, 0);
  assert_int_equal(bad.rb, 0);
  assert_same(&x, &y);
  fm_session_get_stats(bad.b, &sb);
  assert_int_equal(sb.chunks_bad, 3);
  assert_int_equal(sb.chunks_in, 0);
  assert_int_equal(held_of(&y, ids), 0);
  assert_int_equal(fm_store_blob_wanted_count(y.s, &wanted), 0);
  assert_int_equal(wanted, 3);
  assert_int_equal(fm_session_get_state(bad.b), FM_SS_LIVE);
  /* Bytes sent are not a copy: the scan is only on its laptop. */
  fm_scan_copies sc;
  assert_int_equal(fm_store_scan_copies(x.s, D[2].pk, 1, &sc), 0);
  assert_int_equal(sc.scans, 1);
  assert_int_equal(sc.unsafe, 1);
  assert_int_equal(sc.unsafe_bytes, SCAN_SIZE + 3 * FM_ATTACH_TAG);
  /* Wrong bytes are not asked of that peer again, however long it runs. */
  bad.now += 60000;
  fm_session_on_timer(bad.a, bad.now);
  fm_session_on_timer(bad.b, bad.now);
  run(&bad);
  fm_session_get_stats(bad.b, &sb);
  assert_int_equal(sb.chunks_bad, 3);
  fm_session_del(bad.a);
  fm_session_del(bad.b);

  wire_pair l = {session_for(&x, 1), session_for(&y, 0), T0 + 1000, 0, 0, 0};
  run(&l);
  assert_int_equal(l.ra, 0);
  assert_int_equal(l.rb, 0);
  fm_session_get_stats(l.a, &sa);
  fm_session_get_stats(l.b, &sb);
  assert_int_equal(sa.chunks_out, 3);
  assert_int_equal(sb.chunks_in, 3);
  assert_int_equal(held_of(&y, ids), 3);
  assert_int_equal(fm_store_blob_wanted_count(y.s, &wanted), 0);
  assert_int_equal(wanted, 0);
  /* The scan's bytes cost their size once, and a little more. */
  assert_true(l.bytes < SCAN_SIZE + SCAN_SIZE / 20);
  /* The peer said it keeps every chunk (HELD): now the scan is safe. */
  assert_int_equal(fm_store_scan_copies(x.s, D[2].pk, 1, &sc), 0);
  assert_int_equal(sc.unsafe, 0);
  assert_int_equal(sc.unsafe_bytes, 0);
  assert_int_equal(sc.bytes, SCAN_SIZE + 3 * FM_ATTACH_TAG);
  assert_int_equal(fm_store_scan_copies(x.s, D[2].pk, 2, &sc), 0);
  assert_int_equal(sc.unsafe, 1);
  fm_session_del(l.a);
  fm_session_del(l.b);

  /* Held everywhere: a reconnect asks for nothing. */
  wire_pair r = {session_for(&x, 1), session_for(&y, 0), T0 + 2000, 0, 0, 0};
  run(&r);
  fm_session_get_stats(r.a, &sa);
  assert_int_equal(sa.chunks_out, 0);
  fm_session_del(r.a);
  fm_session_del(r.b);
  tnode_close(&x);
  tnode_close(&y);
}

/* A relay: the peer holds the entry before the chunks (NOCHUNK at
 * first).  The same session asks again NOCHUNK_RETRY_MS (10 s) later and
 * gets them, without a reconnect. */
static int relay_has_chunks;
static int relay_blob_get(void *ctx, const uint8_t id[32], fm_buf *out) {
  fm_node *n = ctx;
  uint8_t chunk[FM_ATTACH_CHUNK + FM_ATTACH_TAG];
  size_t len;
  if (!relay_has_chunks) return FM_ERR_NOTFOUND;
  int rv = fm_store_blob_get(n->store, id, chunk, sizeof chunk, &len);
  return rv < 0 ? rv : fm_buf_put(out, chunk, len);
}

static void test_session_asks_again_for_chunks_the_peer_lacked(void **state) {
  tnode x, y;
  uint8_t ids[3 * FM_BLOB_ID];
  fm_session_stats sb;
  fm_session_cfg cfg;
  (void)state;
  tnode_open(&x, 2);
  tnode_open(&y, 4);
  add_scan(&x, &D[2], ids);
  relay_has_chunks = 0;
  wire_pair l = {NULL, session_for(&y, 0), T0, 0, 0, 0};
  fm_node_session_cfg(&x.node, 1, &cfg);
  cfg.rng.fill = xrng;
  cfg.rng.ctx = &x.rng;
  cfg.io.blob_get = relay_blob_get;
  assert_int_equal(fm_session_new(&cfg, T0, &l.a), 0);
  run(&l);
  assert_same(&x, &y);
  assert_int_equal(held_of(&y, ids), 0);
  /* Not before the pause is over. */
  relay_has_chunks = 1;
  l.now += 5000;
  assert_int_equal(fm_session_on_timer(l.a, l.now), 0);
  assert_int_equal(fm_session_on_timer(l.b, l.now), 0);
  run(&l);
  assert_int_equal(held_of(&y, ids), 0);
  assert_true(fm_session_next_timer(l.b) <= T0 + 10100);
  l.now += 5100;
  assert_int_equal(fm_session_on_timer(l.a, l.now), 0);
  assert_int_equal(fm_session_on_timer(l.b, l.now), 0);
  run(&l);
  fm_session_get_stats(l.b, &sb);
  assert_int_equal(sb.chunks_in, 3);
  assert_int_equal(held_of(&y, ids), 3);
  assert_int_equal(fm_session_get_state(l.b), FM_SS_LIVE);
  fm_session_del(l.a);
  fm_session_del(l.b);
  tnode_close(&x);
  tnode_close(&y);
}

/* A peer that asks for chunks without announcing them, asks for more at
 * once than allowed, sends a chunk nobody asked for, or confirms keeping a
 * chunk it was never sent, is dropped. */
static void test_session_drops_chunk_messages_out_of_place(void **state) {
  (void)state;
  for (int which = 0; which < 4; which++) {
    tnode x;
    rogue r;
    uint8_t ids[FM_WANT_MAX * 32], chunk[100];
    fm_buf m;
    fm_wr w;
    tnode_open(&x, 2);
    fm_session *v = session_for(&x, 0);
    rogue_connect_with(&r, v, which == 0 ? 0 : FM_FEAT_BLOBS | FM_FEAT_HELD);
    memset(ids, 1, sizeof ids);
    memset(chunk, 2, sizeof chunk);
    fm_buf_init(&m, FM_MSG_MAX);
    fm_wr_init(&w, &m);
    if (which == 2) fm_msg_chunk(&w, ids, chunk, sizeof chunk);
    else if (which == 3) fm_msg_ids(&w, FM_MSG_HELD, ids, 1);
    else fm_msg_ids(&w, FM_MSG_WANT, ids, which == 0 ? 1 : FM_WANT_MAX);
    if (which == 1) assert_int_equal(rogue_say(&r, v, m.p, m.len), 0);
    assert_int_equal(rogue_say(&r, v, m.p, m.len), FM_ERR_PROTO);
    assert_true(fm_session_get_state(v) >= FM_SS_CLOSING);
    fm_buf_free(&m);
    fm_noise_cs_wipe(&r.tx);
    fm_noise_cs_wipe(&r.rx);
    fm_session_del(v);
    tnode_close(&x);
  }
}

/* ---- checking signatures on other threads --------------------------------------- */

/* A digest of everything a store holds that a batch can change: each
 * author's entries (bytes), the views, and how many entries are held and
 * quarantined. */
static int hash_cb(void *ctx, const uint8_t *p, size_t len) {
  crypto_generichash_update(ctx, p, len);
  return 0;
}

static void store_digest(fm_store *s, uint8_t out[32]) {
  crypto_generichash_state h;
  fm_vector v;
  fm_store_stats st;
  uint8_t views[32];
  crypto_generichash_init(&h, NULL, 0, 32);
  assert_int_equal(fm_store_vector(s, &v), 0);
  for (size_t i = 0; i < v.n; i++) {
    crypto_generichash_update(&h, v.items[i].author, 32);
    assert_int_equal(fm_store_read_after(s, v.items[i].author, 0, SIZE_MAX, hash_cb, &h), 0);
  }
  fm_vector_free(&v);
  assert_int_equal(fm_store_view_digest(s, views), 0);
  assert_int_equal(fm_store_stats_get(s, &st), 0);
  crypto_generichash_update(&h, views, 32);
  crypto_generichash_update(&h, (const uint8_t *)&st.held, sizeof st.held);
  crypto_generichash_update(&h, (const uint8_t *)&st.quarantined, sizeof st.quarantined);
  crypto_generichash_final(&h, out, 32);
}

/* |n| chained visits of |who| (seq 1 .. n) in |out|; entry |bad| (1-based,
 * 0: none) has its signature spoilt. */
static void make_chain(const fm_identity *who, int n, int bad, fm_buf *out) {
  fm_buf e, body;
  fm_wr w;
  uint8_t prev[FM_ID_LEN];
  fm_buf_init(&e, FM_ENTRY_MAX);
  fm_buf_init(&body, 4096);
  fm_wr_init(&w, out);
  for (int k = 1; k <= n; k++) {
    char id[24];
    snprintf(id, sizeof id, "V-%02x%06d", who->pk[0], k);
    fm_visit_in vi = {id, "Team 1", "Nghĩa Tân", "thôn 2", "2023-11-14", "", FM_MODE_HOME, 2, 1};
    fm_buf_reset(&body);
    assert_int_equal(fm_visit_body(&body, &vi), 0);
    assert_int_equal(fm_entry_build(&e, who, (uint64_t)k, k > 1 ? prev : NULL,
                                    fm_hlc_make(T0 + k, 0), FM_KIND_VISIT, body.p, body.len), 0);
    fm_entry_id(e.p, e.len, prev);
    if (k == bad) e.p[e.len - 1] ^= 1;
    fm_wr_bin(&w, e.p, e.len);
  }
  fm_buf_free(&e);
  fm_buf_free(&body);
}

/* The same arrivals as a peer would send them -- D[5]'s certificate, then
 * ENTRIES of D[5] (30, good) and of the rogue D[4] (40, the 25th badly
 * signed) in two messages, taken in one deferred batch -- into a node
 * whose signatures are checked by |threads| (0: inline).  Returns what
 * the session said; |digest| is what the store then holds. */
static uint64_t ARRIVED[6];   /* each author's seq in the store after arrivals() */

static int arrivals(unsigned threads, size_t fail_at, uint8_t digest[32]) {
  tnode x;
  rogue r;
  fm_vpool pool;
  fm_buf m, c5, c4;
  fm_wr w;
  int rv;
  tnode_open(&x, 2);
  memset(&pool, 0, sizeof pool);
  if (threads) {
    assert_int_equal(fm_vpool_start(&pool, threads), 0);
    pool.fail_at = fail_at;
    fm_verifier v = fm_vpool_verifier(&pool);
    fm_store_set_verifier(x.s, &v);
  }
  fm_session *v = session_cfg_for(&x, 0, 4 << 20, 1);
  rogue_connect(&r, v);
  fm_buf_init(&m, FM_MSG_MAX);
  fm_buf_init(&c5, FM_MSG_MAX);
  fm_buf_init(&c4, FM_MSG_MAX);
  make_chain(&D[5], 30, 0, &c5);
  make_chain(&D[4], 40, 25, &c4);
  fm_wr_init(&w, &m);
  fm_msg_cert(&w, CERT[5], CERT_LEN[5]);
  assert_int_equal(rogue_say(&r, v, m.p, m.len), 0);
  fm_buf_reset(&m);
  fm_wr_init(&w, &m);
  fm_msg_entries_begin(&w, 30);
  fm_wr_raw(&w, c5.p, c5.len);
  assert_int_equal(rogue_say(&r, v, m.p, m.len), 0);
  fm_buf_reset(&m);
  fm_wr_init(&w, &m);
  fm_msg_entries_begin(&w, 40);
  fm_wr_raw(&w, c4.p, c4.len);
  assert_int_equal(rogue_say(&r, v, m.p, m.len), 0);
  rv = fm_session_flush(v, T0 + 1);
  store_digest(x.s, digest);
  fm_vector vec;
  assert_int_equal(fm_store_vector(x.s, &vec), 0);
  for (int i = 4; i < 6; i++) ARRIVED[i] = fm_vector_seq(&vec, D[i].pk);
  fm_vector_free(&vec);
  fm_session_stats st;
  fm_session_get_stats(v, &st);
  assert_int_equal(st.error, rv);
  if (rv < 0) assert_true(fm_session_get_state(v) >= FM_SS_CLOSING);
  fm_buf_free(&m);
  fm_buf_free(&c5);
  fm_buf_free(&c4);
  fm_noise_cs_wipe(&r.tx);
  fm_noise_cs_wipe(&r.rx);
  fm_session_del(v);
  fm_store_set_verifier(x.s, NULL);
  tnode_close(&x);
  fm_vpool_stop(&pool);
  return rv;
}

/* Signatures checked by the daemon's pool give the very store inline
 * checking gives: D[5]'s 30 entries and D[4]'s first 24 stored, the badly
 * signed 25th and the rest refused, the peer dropped. */
static void test_pool_checks_like_inline_with_a_bad_signature_mid_batch(void **state) {
  uint8_t inline_d[32], pool_d[32], wide_d[32];
  assert_int_equal(arrivals(0, 0, inline_d), FM_ERR_PROTO);
  assert_int_equal(arrivals(1, 0, pool_d), FM_ERR_PROTO);
  assert_int_equal(arrivals(3, 0, wide_d), FM_ERR_PROTO);
  assert_int_equal(ARRIVED[5], 30);
  assert_int_equal(ARRIVED[4], 24);
  assert_memory_equal(inline_d, pool_d, 32);
  assert_memory_equal(inline_d, wide_d, 32);
}

/* A checker that cannot run (out of memory) fails the batch: nothing of
 * it is stored, the session ends, the process goes on. */
static void test_pool_failure_fails_the_batch_not_the_process(void **state) {
  uint8_t d[32], empty_d[32];
  tnode x;
  tnode_open(&x, 2);
  store_digest(x.s, empty_d);
  tnode_close(&x);
  assert_int_equal(arrivals(2, 5, d), -ENOMEM);
  assert_memory_equal(d, empty_d, 32);
  assert_int_equal(ARRIVED[4] + ARRIVED[5], 0);
}

/* Two nodes syncing a few thousand entries: the receiver checking on a
 * pool ends byte-identical to one checking inline. */
static void test_pool_sync_matches_inline_sync(void **state) {
  tnode x, y, z;
  fm_vpool pool;
  uint8_t dy[32], dz[32];
  tnode_open(&x, 2);
  tnode_open(&y, 3);
  tnode_open(&z, 3);
  add_visits(&x, &D[2], 3000, 0);
  assert_int_equal(fm_vpool_start(&pool, 2), 0);
  fm_verifier v = fm_vpool_verifier(&pool);
  fm_store_set_verifier(z.s, &v);
  wire_pair a = {session_cfg_for(&x, 1, 256 << 10, 1), session_cfg_for(&y, 0, 256 << 10, 1), T0, 0, 0, 0};
  run(&a);
  wire_pair b = {session_cfg_for(&x, 1, 256 << 10, 1), session_cfg_for(&z, 0, 256 << 10, 1), T0, 0, 0, 0};
  run(&b);
  assert_int_equal(a.rb, 0);
  assert_int_equal(b.rb, 0);
  store_digest(y.s, dy);
  store_digest(z.s, dz);
  assert_memory_equal(dy, dz, 32);
  assert_same(&x, &z);
  fm_session_del(a.a);
  fm_session_del(a.b);
  fm_session_del(b.a);
  fm_session_del(b.b);
  fm_store_set_verifier(z.s, NULL);
  fm_vpool_stop(&pool);
  tnode_close(&x);
  tnode_close(&y);
  tnode_close(&z);
}

/* ---- packed (compressed) entries ------------------------------------------------ */

/* x (the dialler, 400 entries) and y (300) sync with compression offered
 * as said; returns the bytes on the wire and checks they converged. */
static uint64_t packed_run(int x_offers, int y_offers, fm_session_stats *sx, fm_session_stats *sy) {
  tnode x, y;
  tnode_open(&x, 2);
  tnode_open(&y, 3);
  add_visits(&x, &D[2], 400, 0);
  add_visits(&y, &D[3], 300, 1000);
  wire_pair l = {session_make(&x, 1, 1 << 20, 1, x_offers), session_make(&y, 0, 1 << 20, 1, y_offers),
                 T0, 0, 0, 0};
  run(&l);
  assert_int_equal(l.ra, 0);
  assert_int_equal(l.rb, 0);
  assert_int_equal(fm_session_get_state(l.a), FM_SS_LIVE);
  assert_same(&x, &y);
  fm_session_get_stats(l.a, sx);
  fm_session_get_stats(l.b, sy);
  assert_int_equal(sx->entries_in, 300);
  assert_int_equal(sy->entries_in, 400);
  fm_session_del(l.a);
  fm_session_del(l.b);
  tnode_close(&x);
  tnode_close(&y);
  return l.bytes;
}

/* Both offer: entries go packed both ways, and the wire carries less. */
static void test_packed_entries_when_both_offer(void **state) {
  fm_session_stats sx, sy;
  uint64_t plain = packed_run(0, 0, &sx, &sy);
  assert_int_equal(sx.packed_out + sx.packed_in + sy.packed_out + sy.packed_in, 0);
  uint64_t packed = packed_run(1, 1, &sx, &sy);
  assert_true(sx.packing && sy.packing);
  assert_true(sx.packed_out > 0 && sy.packed_out > 0);
  assert_int_equal(sx.packed_out, sy.packed_in);
  assert_int_equal(sy.packed_out, sx.packed_in);
  assert_true(packed < plain);
}

/* Only one side offers, either one: plain entries both ways. */
static void test_plain_entries_when_one_side_does_not_offer(void **state) {
  fm_session_stats sx, sy;
  for (int who = 0; who < 2; who++) {
    packed_run(who == 0, who == 1, &sx, &sy);
    assert_false(sx.packing || sy.packing);
    assert_int_equal(sx.packed_out + sx.packed_in + sy.packed_out + sy.packed_in, 0);
  }
}

/* The rogue D[4] sends a PACKED message: |which| 0: valid entries it
 * never announced packing for; 1: a frame that would inflate to 10 MB
 * (announced); 2: a frame that does not say its size (announced).  Each
 * drops the rogue, and nothing is stored. */
static void packed_hostile(int which) {
  tnode x;
  rogue r;
  fm_buf m, chain, packed;
  fm_wr w;
  fm_zpack *z;
  fm_store_stats before, after;
  tnode_open(&x, 2);
  assert_int_equal(fm_store_stats_get(x.s, &before), 0);
  fm_session *v = session_make(&x, 0, 1 << 20, 0, 1);
  rogue_connect_with(&r, v, which == 0 ? 0 : FM_FEAT_ZSTD);
  fm_buf_init(&m, FM_MSG_MAX);
  fm_buf_init(&chain, FM_MSG_MAX);
  fm_buf_init(&packed, FM_MSG_MAX);
  fm_wr_init(&w, &packed);
  if (which == 0) {
    make_chain(&D[4], 20, 0, &chain);
    fm_wr_init(&w, &m);
    fm_msg_entries_begin(&w, 20);
    fm_wr_raw(&w, chain.p, chain.len);
    assert_int_equal(fm_zpack_new(&z), 0);
    fm_wr_init(&w, &packed);
    assert_int_equal(fm_zpack_pack(z, m.p, m.len, &w), 1);
    fm_zpack_free(z);
  } else {
    size_t big = which == 1 ? 10u << 20 : 100000, cap = ZSTD_compressBound(big), n;
    uint8_t *zeros = calloc(1, big), *frame = malloc(cap);
    if (which == 1) {
      n = ZSTD_compress(frame, cap, zeros, big, 3);
    } else { /* streamed: no content size in the header */
      ZSTD_CCtx *c = ZSTD_createCCtx();
      ZSTD_outBuffer o = {frame, cap, 0};
      ZSTD_inBuffer in = {zeros, big, 0};
      assert_int_equal(ZSTD_compressStream2(c, &o, &in, ZSTD_e_end), 0);
      n = o.pos;
      ZSTD_freeCCtx(c);
    }
    assert_false(ZSTD_isError(n));
    assert_true(n < 4096);
    fm_wr_array(&w, 2);
    fm_wr_uint(&w, FM_MSG_PACKED);
    fm_wr_bin(&w, frame, n);
    free(zeros);
    free(frame);
  }
  assert_int_equal(rogue_say(&r, v, packed.p, packed.len), FM_ERR_PROTO);
  fm_session_stats st;
  fm_session_get_stats(v, &st);
  assert_int_equal(st.error, FM_ERR_PROTO);
  assert_true(fm_session_get_state(v) >= FM_SS_CLOSING);
  assert_int_equal(fm_store_stats_get(x.s, &after), 0);
  assert_int_equal(after.entries, before.entries);
  assert_int_equal(after.held + after.quarantined, 0);
  fm_buf_free(&m);
  fm_buf_free(&chain);
  fm_buf_free(&packed);
  fm_noise_cs_wipe(&r.tx);
  fm_noise_cs_wipe(&r.rx);
  fm_session_del(v);
  tnode_close(&x);
}

static void test_packed_entries_never_announced_drop_the_peer(void **state) { packed_hostile(0); }
static void test_packed_zip_bomb_drops_the_peer(void **state) { packed_hostile(1); }
static void test_packed_frame_of_unsaid_size_drops_the_peer(void **state) { packed_hostile(2); }

static int setup(void **state) {
  ident(&AUTH, 1);
  ident(&OTHER_AUTH, 99);
  for (int i = 2; i < 6; i++) ident(&D[i], (uint8_t)(10 + i));
  make_certs(&AUTH, 2, 5, 0, CERT + 2, CERT_LEN + 2);
  make_certs(&OTHER_AUTH, 3, 3, 0, &FOREIGN_CERT, &FOREIGN_CERT_LEN);
  return 0;
}

static int teardown(void **state) {
  for (int i = 2; i < 6; i++) free(CERT[i]);
  free(FOREIGN_CERT);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_session_two_nodes_exchange_what_each_lacks),
      cmocka_unit_test(test_session_group_commit_survives_bursts_past_its_limit),
      cmocka_unit_test(test_session_pushes_live_entries_along_a_line),
      cmocka_unit_test(test_session_presence_travels_two_hops),
      cmocka_unit_test(test_session_in_sync_reconnect_sends_no_notes),
      cmocka_unit_test(test_session_multi_author_entries_with_one_bad_author),
      cmocka_unit_test(test_session_idle_link_costs_little_and_notices_a_dead_peer),
      cmocka_unit_test(test_session_refuses_peer_of_another_commune),
      cmocka_unit_test(test_session_refuses_revoked_and_unenrolled_peers),
      cmocka_unit_test(test_admit_keeps_nothing_of_a_refused_hello),
      cmocka_unit_test(test_session_drops_garbage_after_handshake),
      cmocka_unit_test(test_session_drops_oversized_frame),
      cmocka_unit_test(test_session_drops_entry_with_bad_signature),
      cmocka_unit_test(test_session_drops_unknown_message_type),
      cmocka_unit_test(test_session_restored_laptop_refuses_to_write_until_caught_up),
      cmocka_unit_test(test_session_restored_laptop_that_wrote_shows_its_fork),
      cmocka_unit_test(test_session_detects_fork_of_equal_length),
      cmocka_unit_test(test_copies_come_from_acks_not_from_sending),
      cmocka_unit_test(test_copies_from_an_equal_hello_digest),
      cmocka_unit_test(test_refused_entries_are_reported_and_not_counted),
      cmocka_unit_test(test_ack_of_entries_never_sent_drops_the_peer),
      cmocka_unit_test(test_ack_of_bytes_never_sent_drops_the_peer),
      cmocka_unit_test(test_hello_of_another_version_is_refused_by_name),
      cmocka_unit_test(test_session_survives_the_wall_clock_jumping),
      cmocka_unit_test(test_session_chunks_follow_their_record),
      cmocka_unit_test(test_session_asks_again_for_chunks_the_peer_lacked),
      cmocka_unit_test(test_session_drops_chunk_messages_out_of_place),
      cmocka_unit_test(test_pool_checks_like_inline_with_a_bad_signature_mid_batch),
      cmocka_unit_test(test_pool_failure_fails_the_batch_not_the_process),
      cmocka_unit_test(test_pool_sync_matches_inline_sync),
      cmocka_unit_test(test_packed_entries_when_both_offer),
      cmocka_unit_test(test_plain_entries_when_one_side_does_not_offer),
      cmocka_unit_test(test_packed_entries_never_announced_drop_the_peer),
      cmocka_unit_test(test_packed_zip_bomb_drops_the_peer),
      cmocka_unit_test(test_packed_frame_of_unsaid_size_drops_the_peer),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
