/* The sync session state machine.  See include/fieldmesh/session.h. */
#include "fieldmesh/session.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fieldmesh/error.h"
#include "fieldmesh/msg.h"
#include "fieldmesh/noise.h"
#include "fieldmesh/presence.h"
#include "fieldmesh/pset.h"
#include "fieldmesh/zpack.h"

#define DEFAULT_WINDOW ((size_t)4 << 20)
#define OUT_MAX (4 * (FM_FRAME_HDR + FM_FRAME_MAX))
#define IN_CAP (FM_FRAME_HDR + FM_FRAME_MAX)
/* Received entries waiting for one group commit (cfg.defer_ingest). */
#define PEND_MAX 8192
/* Authors a peer may name: far beyond a commune (Bình Tân has ~140
 * devices), small enough to bound the table. */
#define FM_SESSION_AUTHORS_MAX 65536
/* A quarter of the default window, so the sender keeps streaming while we
 * commit. */
#define PEND_BYTES ((size_t)1 << 20)
/* Attachment chunks asked of the peer and not answered yet: two keep a
 * slow link busy (one on the wire, one queued) while a record written
 * meanwhile waits behind at most those two. */
#define FM_CHUNK_WINDOW 2
/* Chunks sent and not yet confirmed by the peer's HELD that are
 * remembered: a peer asks for at most FM_WANT_MAX at once and confirms
 * each as it stores it, so twice that is room to spare; past it the
 * oldest is forgotten (its HELD is then refused). */
#define FM_SERVED_MAX (2 * FM_WANT_MAX)
/* Chunk ids a peer said it lacks, remembered for the session. */
#define ABSENT_MAX 4096
/* A chunk the peer said it lacks (NOCHUNK) is asked of it again after
 * this long: it may have got it since from a third node (a laptop that
 * relays a team-mate's scan to the gateway gets the entry first, the
 * chunks after).  A chunk it sent wrong is never asked again. */
#define NOCHUNK_RETRY_MS 10000

/* What we know of the peer's log of one author. */
typedef struct known {
  uint8_t author[FM_KEY_LEN];
  uint64_t seq;     /* it holds or was sent 1 .. seq: never send those again */
  uint64_t sent;    /* the highest seq sent in this session; 0 none */
  uint64_t acked;   /* the highest seq it said it stored (HELLO, ACK) */
  int forked;       /* the peer's own log, forked: what it sends of it does
                     * not stop us sending ours (own_log_forked) */
  uint64_t vec;     /* the highest seq its VECTOR named */
} known;

struct fm_session {
  fm_session_cfg cfg;
  uint8_t *cert;
  fm_session_state state;
  fm_noise_hs hs;
  fm_noise_cs tx, rx;
  uint8_t in[IN_CAP];
  size_t in_len;
  fm_buf out;              /* framed bytes waiting for fm_session_send */
  size_t out_off;
  fm_buf plain;            /* one message being built */
  uint8_t frame[FM_FRAME_MAX];   /* what we encrypt, on its way out */
  uint8_t opened[FM_FRAME_MAX];  /* the message being handled: decoded
                                  * messages point here, so sending never
                                  * writes to it */
  known *their;            /* sorted by author: what the peer holds */
  size_t ntheir, cap_their;
  int their_vector_done;
  fm_vector ours;          /* snapshot of our vector */
  int refresh;             /* the snapshot is stale */
  size_t cursor;           /* next author of |ours| to stream */
  uint64_t inflight;       /* entry bytes sent and not acknowledged */
  uint64_t inflight_entries;
  int sent_since_caughtup, caughtup_sent, peer_caughtup;
  uint8_t digest[32];      /* of |ours| when HELLO was sent */
  known contested[16];     /* same seq, different head: entries to show */
  size_t ncontested;
  fm_time started, last_recv, last_sent, last_ack;
  uint64_t ping_nonce;
  fm_time ping_out;        /* when we last sent a PING */
  fm_time clock;           /* the latest |now| the driver gave */
  fm_time talk_at;         /* when an idle spell last ended */
  fm_time ping_gap;        /* the ping interval now: ping_every, doubled at
                            * each ping with nothing else said, to ping_max */
  uint64_t entry_bytes_seen, entries_seen;
  fm_session_stats st;
  fm_buf pend;             /* entries received, not yet ingested */
  uint32_t pend_len[PEND_MAX];
  fm_slice pend_sl[PEND_MAX];
  fm_ingest_outcome outcomes[PEND_MAX];  /* of the batch being acknowledged */
  fm_msg_vitem ack_stored[PEND_MAX];     /* one per author of that batch */
  fm_msg_refusal ack_refused[FM_ACK_REFUSED_MAX];
  fm_msg_refusal refused[FM_ACK_REFUSED_MAX];  /* decoding scratch */
  size_t npend;
  fm_time pend_since;
  fm_msg_vitem items[FM_VECTOR_PAGE];
  fm_slice entries[FM_BATCH_MAX];
  int presence;            /* both sides announced FM_FEAT_PRESENCE */
  int presence_ready;      /* |peer_notes| is complete: notes may go */
  fm_pset own_notes;       /* (device, wall) held when we sent our sum */
  uint8_t notes_digest[32];          /* of |own_notes| */
  fm_pset peer_notes;      /* what the peer holds, as far as we know */
  fm_time presence_at;     /* when to offer new notes again */
  uint64_t presence_gen;   /* io.presence_gen() at the last full offer (+1: none yet) */
  fm_buf presence_bins;    /* notes of the PRESENCE message being built */
  uint32_t presence_n;
  int blobs;               /* both announced FM_FEAT_BLOBS */
  uint8_t want_out[FM_CHUNK_WINDOW][32];   /* asked of the peer, unanswered */
  size_t nwant_out;
  int want_more;           /* our wanted list may hold ids not asked yet */
  uint8_t (*absent)[32];   /* ids the peer sent wrong [0, nbad), then lacks */
  size_t nabsent, nbad;
  fm_time absent_retry;    /* when the lacked ones may be asked again; 0: none */
  uint8_t asked[FM_WANT_MAX][32];  /* the peer's requests, not served yet */
  size_t nasked;
  int held;                /* the peer announced FM_FEAT_HELD: tell it what we keep */
  uint8_t served[FM_SERVED_MAX][32];  /* sent in CHUNK, not confirmed by HELD yet */
  size_t nserved;
  fm_zpack *zpack;         /* both sides announced FM_FEAT_ZSTD: ENTRIES go PACKED */
  fm_buf packed;           /* a PACKED message being built */
  uint8_t unpacked[FM_MSG_MAX];  /* a received PACKED message's ENTRIES: the
                                  * decoded message points here */
};

/* ---- the peer's vector ---------------------------------------------------- */

static size_t their_find(const fm_session *s, const uint8_t author[FM_KEY_LEN],
                         int *found) {
  size_t lo = 0, hi = s->ntheir;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    int c = memcmp(s->their[mid].author, author, FM_KEY_LEN);
    if (c == 0) {
      *found = 1;
      return mid;
    }
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  *found = 0;
  return lo;
}

static uint64_t their_seq(const fm_session *s, const uint8_t author[FM_KEY_LEN]) {
  int found;
  size_t i = their_find(s, author, &found);
  return found ? s->their[i].seq : 0;
}

static known *their_get(fm_session *s, const uint8_t author[FM_KEY_LEN]) {
  int found;
  size_t i = their_find(s, author, &found);
  return found ? &s->their[i] : NULL;
}

/* Raises what we know the peer holds of |author| to |seq|.  The table holds
 * one row per author of the mesh, bounded by the vectors exchanged. */
static int their_raise(fm_session *s, const uint8_t author[FM_KEY_LEN], uint64_t seq) {
  int found;
  size_t i = their_find(s, author, &found);
  if (found) {
    if (seq > s->their[i].seq) s->their[i].seq = seq;
    return 0;
  }
  if (s->ntheir == FM_SESSION_AUTHORS_MAX) return FM_ERR_TOOBIG;
  if (s->ntheir == s->cap_their) {
    size_t cap = s->cap_their ? s->cap_their * 2 : 64;
    known *k = realloc(s->their, cap * sizeof *k);
    if (!k) return -ENOMEM;
    s->their = k;
    s->cap_their = cap;
  }
  memmove(&s->their[i + 1], &s->their[i], (s->ntheir - i) * sizeof *s->their);
  memset(&s->their[i], 0, sizeof s->their[i]);
  memcpy(s->their[i].author, author, FM_KEY_LEN);
  s->their[i].seq = seq;
  s->ntheir++;
  return 0;
}

/* ---- output ----------------------------------------------------------------- */

static void put_frame(fm_session *s, const uint8_t *p, size_t n) {
  uint8_t hdr[FM_FRAME_HDR] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16),
                               (uint8_t)(n >> 8), (uint8_t)n};
  fm_buf_put(&s->out, hdr, sizeof hdr);
  fm_buf_put(&s->out, p, n);
}

/* Anything but a PING, PONG or PRESENCE, either way, ends an idle spell: pings go
 * back to every ping_every (both sides see the same messages, so their
 * intervals move together). */
static void talked(fm_session *s, unsigned type) {
  /* A presence note asks for no answer: the pings go on backing off. */
  if (type == FM_MSG_PING || type == FM_MSG_PONG || type == FM_MSG_PRESENCE) return;
  /* The peer, silent as an idle peer may be, gets the whole idle timeout
   * from now to say something (its pings come back to every ping_every). */
  if (s->ping_gap != s->cfg.ping_every) s->talk_at = s->clock;
  s->ping_gap = s->cfg.ping_every;
}

static void backoff(fm_session *s) {
  s->ping_gap = 2 * s->ping_gap < s->cfg.ping_max ? 2 * s->ping_gap : s->cfg.ping_max;
}

/* Encrypts the message in |s->plain| into one frame. */
static int flush_msg(fm_session *s) {
  size_t n;
  int rv = fm_buf_error(&s->plain);
  if (rv < 0) return rv;
  unsigned type = s->plain.len > 1 ? s->plain.p[1] : 0;  /* fixarray, then the type */
  if (s->plain.len > 1) talked(s, type);
  rv = fm_noise_cs_encrypt(&s->tx, NULL, 0, s->plain.p, s->plain.len, s->frame,
                           sizeof s->frame, &n);
  fm_buf_reset(&s->plain);
  if (rv < 0) return rv;
  put_frame(s, s->frame, n);
  if (type < FM_MSG_TYPE_SLOTS) s->st.msg_out[type] += FM_FRAME_HDR + n;
  return fm_buf_error(&s->out);
}

/* ENTRIES in |s->plain| go out PACKED when the peer takes that and it
 * is smaller, else as they are. */
static int flush_entries(fm_session *s) {
  fm_wr w;
  fm_buf t;
  int rv;
  if (!s->zpack || fm_buf_error(&s->plain)) return flush_msg(s);
  fm_buf_reset(&s->packed);
  fm_wr_init(&w, &s->packed);
  if ((rv = fm_zpack_pack(s->zpack, s->plain.p, s->plain.len, &w)) <= 0)
    return rv < 0 ? rv : flush_msg(s);
  t = s->plain;
  s->plain = s->packed;
  s->packed = t;
  s->st.packed_out++;
  return flush_msg(s);
}

static int transport_up(const fm_session *s) {
  return s->state >= FM_SS_HELLO && s->state <= FM_SS_CLOSING;
}

__attribute__((format(printf, 3, 4))) static int fail(fm_session *s, int code, const char *fmt, ...) {
  va_list ap;
  if (s->st.error) return s->st.error;
  va_start(ap, fmt);
  vsnprintf(s->st.reason, sizeof s->st.reason, fmt, ap);
  va_end(ap);
  s->st.error = code;
  if (transport_up(s) && s->state != FM_SS_CLOSING) {
    fm_wr w;
    fm_wr_init(&w, &s->plain);
    fm_msg_error(&w, code, s->st.reason);
    if (flush_msg(s) == 0) {
      s->state = FM_SS_CLOSING;
      return code;
    }
  }
  s->state = FM_SS_CLOSED;
  return code;
}

/* ---- set-up -------------------------------------------------------------------- */

static int handshake_write(fm_session *s) {
  size_t n;
  int rv = fm_noise_hs_write(&s->hs, NULL, 0, s->frame, sizeof s->frame, &n);
  if (rv < 0) return rv;
  put_frame(s, s->frame, n);
  s->st.handshake_out += FM_FRAME_HDR + n;
  return 0;
}

int fm_session_new(const fm_session_cfg *cfg, fm_time now, fm_session **out) {
  uint8_t x_sk[32], e_sk[32];
  fm_session *s;
  int rv = FM_ERR_INVAL;
  if (!cfg->id || !cfg->io.vector || !cfg->io.read_after || !cfg->io.admit ||
      !cfg->io.ingest || !cfg->rng.fill)
    return FM_ERR_INVAL;
  if (!(s = calloc(1, sizeof *s))) return -ENOMEM;
  s->cfg = *cfg;
  if (!s->cfg.window) s->cfg.window = DEFAULT_WINDOW;
  if (!s->cfg.ping_every) s->cfg.ping_every = 15000;
  if (!s->cfg.idle_timeout) s->cfg.idle_timeout = 60000;
  if (s->cfg.ping_max < s->cfg.ping_every) s->cfg.ping_max = s->cfg.ping_every;
  s->ping_gap = s->cfg.ping_every;
  if (!s->cfg.handshake_timeout) s->cfg.handshake_timeout = 20000;
  if (cfg->cert_len && !(s->cert = malloc(cfg->cert_len))) goto fail;
  if (cfg->cert_len) memcpy(s->cert, cfg->cert, cfg->cert_len);
  fm_buf_init(&s->out, OUT_MAX);
  fm_buf_init(&s->plain, FM_MSG_MAX);
  fm_buf_init(&s->pend, PEND_BYTES);
  fm_buf_init(&s->presence_bins, FM_MSG_MAX - 64);
  fm_buf_init(&s->packed, FM_MSG_MAX);
  s->started = s->last_recv = s->last_sent = s->last_ack = s->clock = s->talk_at = now;
  s->state = FM_SS_HANDSHAKE;
  s->refresh = 1;
  cfg->rng.fill(cfg->rng.ctx, e_sk, sizeof e_sk);
  if ((rv = fm_noise_static_from_ed25519(cfg->id->sk, x_sk)) < 0) goto fail;
  rv = fm_noise_hs_init(&s->hs, cfg->initiator, (const uint8_t *)FM_PROLOGUE,
                        strlen(FM_PROLOGUE), x_sk, e_sk);
  if (rv == 0 && cfg->initiator) rv = handshake_write(s);
  if (rv < 0) goto fail;
  sodium_memzero(x_sk, sizeof x_sk);
  sodium_memzero(e_sk, sizeof e_sk);
  *out = s;
  return 0;
fail:
  sodium_memzero(x_sk, sizeof x_sk);
  sodium_memzero(e_sk, sizeof e_sk);
  fm_session_del(s);
  return rv;
}

void fm_session_del(fm_session *s) {
  if (!s) return;
  fm_noise_hs_wipe(&s->hs);
  fm_noise_cs_wipe(&s->tx);
  fm_noise_cs_wipe(&s->rx);
  fm_buf_free(&s->out);
  fm_buf_free(&s->plain);
  fm_buf_free(&s->pend);
  fm_buf_free(&s->presence_bins);
  fm_pset_free(&s->own_notes);
  fm_pset_free(&s->peer_notes);
  fm_buf_free(&s->packed);
  fm_zpack_free(s->zpack);
  fm_vector_free(&s->ours);
  free(s->their);
  free(s->absent);
  free(s->cert);
  free(s);
}

/* ---- presence notes ---------------------------------------------------------- */

static int has_presence(const fm_session *s) {
  return s->cfg.io.presence_each && s->cfg.io.presence_in;
}

static int flush_presence(fm_session *s) {
  fm_wr w;
  if (s->presence_n == 0) return 0;
  fm_wr_init(&w, &s->plain);
  fm_msg_presence(&w, s->presence_n, s->presence_bins.p, s->presence_bins.len);
  fm_buf_reset(&s->presence_bins);
  s->presence_n = 0;
  return flush_msg(s);
}

/* A peer that holds nothing of a note's device may never have met it:
 * its enrollment goes first, as ahead of entries, or the note is dropped
 * there as unenrolled.  A peer that holds a note of the device (its
 * offer said so) kept it as an enrolled device's: it needs no
 * certificate -- the devices that never write would otherwise cost one
 * with every note of theirs. */
static int presence_cert(fm_session *s, const uint8_t device[FM_KEY_LEN]) {
  fm_buf stage;
  fm_wr w;
  int rv = 0;
  if (!s->cfg.io.cert_of || their_seq(s, device) > 0 || fm_pset_covers(&s->peer_notes, device, 0))
    return 0;
  fm_buf_init(&stage, FM_MSG_MAX);
  if (s->cfg.io.cert_of(s->cfg.io.ctx, device, &stage) == 0) {
    fm_wr_init(&w, &s->plain);
    fm_msg_cert(&w, stage.p, stage.len);
    rv = flush_msg(s);
  }
  fm_buf_free(&stage);
  return rv;
}

/* Queues a note the peer lacks (its own it always holds, newer). */
static int note_out(void *ctx, const fm_presence *p, const uint8_t *bytes, size_t len,
                    fm_time received) {
  fm_session *s = ctx;
  fm_wr w;
  int rv;
  (void)received;
  if (len > FM_PRESENCE_MAX || !memcmp(p->device, s->st.peer_id, FM_KEY_LEN) ||
      fm_pset_covers(&s->peer_notes, p->device, p->wall))
    return 0;
  if ((rv = presence_cert(s, p->device)) < 0) return rv;
  if (s->presence_n == FM_PRESENCE_BATCH && (rv = flush_presence(s)) < 0) return rv;
  fm_wr_init(&w, &s->presence_bins);
  fm_wr_bin(&w, bytes, len);
  s->presence_n++;
  s->st.notes_out++;
  if ((rv = fm_pset_raise(&s->peer_notes, p->device, p->wall)) < 0) return rv;
  return fm_buf_error(&s->presence_bins);
}

/* Sends the notes the peer lacks, once we know what it holds. */
static int send_presence(fm_session *s, fm_time now, int live) {
  int rv;
  s->presence_at = now + s->cfg.ping_every;
  if (!s->presence_ready) return 0;
  fm_buf_reset(&s->presence_bins);
  s->presence_n = 0;
  /* Notes of other devices go only towards the hall -- to a leader, an
   * officer, an admin or a gateway, who carry them on -- and to a member
   * only ours and the hall's (FM_PRESENCE_OWN_ONLY): a mesh of many
   * members would otherwise carry every note of every laptop to every
   * other. */
  if (s->st.peer.role == FM_ROLE_MEMBER) live |= FM_PRESENCE_OWN_ONLY;
  if (s->cfg.io.presence_gen) {
    /* Nothing new held since the last full offer: our own note alone. */
    uint64_t gen = s->cfg.io.presence_gen(s->cfg.io.ctx) + 1;
    if (live && gen == s->presence_gen) live |= FM_PRESENCE_OWN_ONLY;
    s->presence_gen = gen;
  }
  if ((rv = s->cfg.io.presence_each(s->cfg.io.ctx, live, note_out, s)) < 0) return rv;
  return flush_presence(s);
}

static int has_blobs(const fm_session *s) {
  return s->cfg.io.blob_wanted && s->cfg.io.blob_get && s->cfg.io.blob_in;
}

static int own_note(void *ctx, const fm_presence *p, const uint8_t *bytes, size_t len,
                    fm_time received) {
  (void)bytes, (void)len, (void)received;
  return fm_pset_raise(&((fm_session *)ctx)->own_notes, p->device, p->wall);
}

/* Once admitted: the sum of the notes we hold, and our wall clock. */
static int send_presence_sum(fm_session *s, fm_time now) {
  fm_wr w;
  int rv;
  s->presence_at = now + s->cfg.ping_every;
  if ((rv = s->cfg.io.presence_each(s->cfg.io.ctx, 0, own_note, s)) < 0) return rv;
  fm_pset_digest(&s->own_notes, s->notes_digest);
  fm_wr_init(&w, &s->plain);
  fm_msg_presence_sum(&w, s->notes_digest, s->cfg.io.wall ? (uint64_t)s->cfg.io.wall(s->cfg.io.ctx) : 0);
  return flush_msg(s);
}

/* The peer's sum: equal, it holds what we hold; else both offer pairs. */
static int on_presence_sum(fm_session *s, const fm_msg *m) {
  fm_wr w;
  int rv = 0;
  if (m->u1 && m->u1 <= INT64_MAX && s->cfg.io.wall && s->cfg.io.peer_clock)
    s->cfg.io.peer_clock(s->cfg.io.ctx, s->st.peer_id,
                         s->cfg.io.wall(s->cfg.io.ctx) - (int64_t)m->u1);
  if (!memcmp(m->vdigest, s->notes_digest, 32)) {
    fm_pset_free(&s->peer_notes);
    s->peer_notes = s->own_notes;
    fm_pset_init(&s->own_notes);
    s->presence_ready = 1;
    return 0;
  }
  for (size_t i = 0; rv == 0 && (i < s->own_notes.n || i == 0); i += FM_VECTOR_PAGE) {
    size_t n = s->own_notes.n - i < FM_VECTOR_PAGE ? s->own_notes.n - i : FM_VECTOR_PAGE;
    fm_wr_init(&w, &s->plain);
    fm_msg_presence_offer(&w, s->own_notes.items + i, n, i + n < s->own_notes.n);
    rv = flush_msg(s);
  }
  fm_pset_free(&s->own_notes);
  return rv;
}

/* A page of the peer's offer; after the last, the notes it lacks. */
static int on_presence_offer(fm_session *s, const fm_msg *m, fm_time now) {
  int rv;
  for (size_t i = 0; i < m->nitems; i++)
    if ((rv = fm_pset_raise(&s->peer_notes, m->items[i].author, m->items[i].seq)) < 0) return rv;
  if (m->more) return 0;
  s->presence_ready = 1;
  return send_presence(s, now, 0);
}

/* The peer's notes: it holds them now, whatever we make of them. */
static void on_presence(fm_session *s, const fm_msg *m) {
  fm_presence p;
  for (size_t i = 0; i < m->nentries; i++)
    if (fm_presence_peek(m->entries[i].p, m->entries[i].len, &p) == 0)
      (void)fm_pset_raise(&s->peer_notes, p.device, p.wall);
  s->st.notes_in += m->nentries;
  s->cfg.io.presence_in(s->cfg.io.ctx, m->entries, m->nentries);
}

/* After the handshake: HELLO with the digest of our vector.  The vector
 * itself follows only if the peer's digest differs (send_vector). */
static int start_transport(fm_session *s) {
  fm_wr w;
  int rv;
  if ((rv = fm_noise_hs_split(&s->hs, &s->tx, &s->rx)) < 0) return rv;
  s->state = FM_SS_HELLO;
  fm_vector_free(&s->ours);
  if ((rv = s->cfg.io.vector(s->cfg.io.ctx, &s->ours)) < 0) return rv;
  s->refresh = 0;
  fm_vector_digest(&s->ours, s->digest);
  fm_wr_init(&w, &s->plain);
  fm_msg_hello(&w, s->cfg.id->pk, s->cert, s->cfg.cert_len,
               (has_presence(s) ? FM_FEAT_PRESENCE : 0) | (has_blobs(s) ? FM_FEAT_BLOBS | FM_FEAT_HELD : 0) |
                   (s->cfg.compress ? FM_FEAT_ZSTD : 0),
               s->digest);
  return flush_msg(s);
}

/* Our vector as it was when we sent HELLO, in pages. */
static int send_vector(fm_session *s) {
  fm_wr w;
  int rv;
  size_t i = 0;
  do {
    size_t n = s->ours.n - i > FM_VECTOR_PAGE ? FM_VECTOR_PAGE : s->ours.n - i;
    fm_wr_init(&w, &s->plain);
    fm_msg_vector(&w, n ? s->ours.items + i : NULL, n, i + n < s->ours.n);
    if ((rv = flush_msg(s)) < 0) return rv;
    i += n;
  } while (i < s->ours.n);
  return 0;
}

static int on_handshake(fm_session *s, const uint8_t *p, size_t n) {
  uint8_t payload[64];
  size_t plen;
  int rv = fm_noise_hs_read(&s->hs, p, n, payload, sizeof payload, &plen);
  if (rv < 0) return fail(s, FM_ERR_HANDSHAKE, "handshake failed: %s", fm_strerror(rv));
  if (!fm_noise_hs_done(&s->hs)) {
    if ((rv = handshake_write(s)) < 0)
      return fail(s, FM_ERR_HANDSHAKE, "handshake failed: %s", fm_strerror(rv));
  }
  if (fm_noise_hs_done(&s->hs)) {
    if ((rv = start_transport(s)) < 0) return fail(s, rv, "cannot start: %s", fm_strerror(rv));
  }
  return 0;
}

/* ---- messages ------------------------------------------------------------------ */

static int on_hello(fm_session *s, const fm_msg *m) {
  uint8_t x_pk[32], remote[32];
  int rv;
  if (m->version != FM_PROTO_VERSION)
    return fail(s, FM_ERR_VERSION,
                "refused: that laptop speaks sync protocol version %llu, this one %d: "
                "install the same fieldmesh release on both",
                (unsigned long long)m->version, FM_PROTO_VERSION);
  /* The node id must be the key that just authenticated the channel. */
  if (fm_noise_hs_remote_static(&s->hs, remote) < 0 ||
      fm_noise_pub_from_ed25519(m->node_id, x_pk) < 0 ||
      sodium_memcmp(x_pk, remote, 32) != 0)
    return fail(s, FM_ERR_AUTH, "node id does not match the handshake key");
  rv = s->cfg.io.admit(s->cfg.io.ctx, m->node_id, m->cert, m->cert_len, &s->st.peer);
  if (rv < 0) {
    const char *why = rv == FM_ERR_MESH ? "enrolled by another commune"
                      : rv == FM_ERR_REVOKED ? "device revoked"
                      : rv == FM_ERR_EXPIRED ? "enrollment expired"
                                             : "not enrolled in this commune";
    return fail(s, rv, "refused: %s", why);
  }
  memcpy(s->st.peer_id, m->node_id, FM_KEY_LEN);
  s->st.admitted = 1;
  s->state = FM_SS_SYNC;
  if (sodium_memcmp(m->vdigest, s->digest, 32) != 0) {
    if ((rv = send_vector(s)) < 0) return fail(s, rv, "cannot send: %s", fm_strerror(rv));
    return 0;
  }
  /* Same digest, same vector: the peer holds exactly what we held when we
   * said hello (its log, committed), and it decides the same way, so no
   * vector is sent. */
  for (size_t i = 0; i < s->ours.n; i++) {
    const fm_vec_item *it = &s->ours.items[i];
    if ((rv = their_raise(s, it->author, it->seq)) < 0) return fail(s, rv, "out of memory");
    their_get(s, it->author)->acked = it->seq;
    if (s->cfg.io.held && it->seq)
      s->cfg.io.held(s->cfg.io.ctx, s->st.peer_id, it->author, it->seq, NULL);
  }
  s->their_vector_done = 1;
  return 0;
}

static int id_cb(void *ctx, const uint8_t *bytes, size_t len) {
  fm_entry_id(bytes, len, ctx);
  return 1;
}

/* Two logs of one author with the same length but different heads: the
 * author's key signed two histories.  Seqs alone would never move either
 * entry, so each side sends the peer its own head entry, and each store
 * keeps both as fork evidence.  (|s->ours| is still the vector we sent.) */
static void note_contested(fm_session *s, const fm_msg_vitem *it) {
  for (size_t i = 0; i < s->ours.n; i++) {
    const fm_vec_item *o = &s->ours.items[i];
    if (memcmp(o->author, it->author, FM_KEY_LEN) || it->seq == 0 || o->seq == 0)
      continue;
    /* The peer holds more of our own log than we do (a restored backup):
     * our head may be a record written since, under a number the mesh
     * already used.  Show it: the same bytes are a duplicate there, other
     * bytes are fork evidence the peer keeps. */
    int own = !memcmp(it->author, s->cfg.id->pk, FM_KEY_LEN);
    int own_behind = own && it->seq > o->seq;
    /* The peer holds less of our log than we do, and another entry at its
     * head: our log forked below our head (a restored laptop that wrote
     * more than the mesh had).  Show ours at that seq, so the peer sees
     * the fork and sends us its branch (peer_forked_own). */
    uint64_t show = o->seq;
    if (own && it->seq < o->seq) {
      uint8_t id[FM_ID_LEN];
      if (s->cfg.io.read_after(s->cfg.io.ctx, it->author, it->seq - 1, 1, id_cb, id) != 1 ||
          !memcmp(id, it->head8, 8))
        return;
      show = it->seq;
    } else if (o->seq != it->seq && !own_behind) {
      continue;
    }
    if ((show != o->seq || own_behind || memcmp(o->head, it->head8, 8) != 0) &&
        s->ncontested < 16) {
      memcpy(s->contested[s->ncontested].author, it->author, FM_KEY_LEN);
      s->contested[s->ncontested++].seq = show;
    }
    return;
  }
}

/* The peer is behind its own log, and its head is not our entry at that
 * seq: a restored backup, written to before it met the mesh.  Where its
 * branch left ours cannot be seen from here, so the whole of its log is
 * sent back to it (what it holds costs a duplicate check there) and it
 * takes the mesh's branch again (docs/architecture.md, "A restored
 * backup"). */
static int own_log_forked(fm_session *s, const fm_msg_vitem *it) {
  uint8_t id[FM_ID_LEN];
  if (it->seq == 0 || memcmp(it->author, s->st.peer_id, FM_KEY_LEN)) return 0;
  for (size_t i = 0; i < s->ours.n; i++) {
    const fm_vec_item *o = &s->ours.items[i];
    if (memcmp(o->author, it->author, FM_KEY_LEN)) continue;
    if (o->seq <= it->seq) return 0;
    if (s->cfg.io.read_after(s->cfg.io.ctx, it->author, it->seq - 1, 1, id_cb, id) != 1)
      return 0;
    return memcmp(id, it->head8, 8) != 0;
  }
  return 0;
}

static int on_vector(fm_session *s, const fm_msg *m) {
  s->st.vectors_in++;
  for (size_t i = 0; i < m->nitems; i++) {
    const fm_msg_vitem *it = &m->items[i];
    note_contested(s, it);
    int forked = own_log_forked(s, it);
    int rv = their_raise(s, it->author, forked ? 0 : it->seq);
    if (rv < 0) return fail(s, rv == FM_ERR_TOOBIG ? FM_ERR_PROTO : rv,
                            rv == FM_ERR_TOOBIG ? "peer names too many authors" : "out of memory");
    known *kv = their_get(s, it->author);
    if (it->seq > kv->vec) kv->vec = it->seq;
    if (forked) kv->forked = 1;
    if (s->cfg.io.seen) s->cfg.io.seen(s->cfg.io.ctx, it->author, it->seq);
    if (s->cfg.io.held && it->seq)
      s->cfg.io.held(s->cfg.io.ctx, s->st.peer_id, it->author, it->seq, it->head8);
  }
  if (!m->more) {
    s->their_vector_done = 1;
    s->refresh = 1;
  }
  return 0;
}

/* The index of |author| in the ACK being built, adding it (at most one
 * per entry of the batch, so the table cannot overflow). */
static size_t ack_author(fm_session *s, size_t *n, const uint8_t author[FM_KEY_LEN]) {
  if (*n && !memcmp(s->ack_stored[*n - 1].author, author, FM_KEY_LEN)) return *n - 1;
  for (size_t i = 0; i < *n; i++)
    if (!memcmp(s->ack_stored[i].author, author, FM_KEY_LEN)) return i;
  memset(&s->ack_stored[*n], 0, sizeof s->ack_stored[*n]);
  memcpy(s->ack_stored[*n].author, author, FM_KEY_LEN);
  return (*n)++;
}

/* Adds a refused entry to the ACK's ranges: the next seq of the last
 * range for the same reason extends it.  Past FM_ACK_REFUSED_MAX ranges
 * the rest go unsaid: they are not stored, which is what counts. */
static void ack_refuse(fm_session *s, size_t *n, const fm_entry *e, int code) {
  fm_msg_refusal *r = *n ? &s->ack_refused[*n - 1] : NULL;
  if (r && r->code == code && r->to + 1 == e->seq && !memcmp(r->author, e->author, FM_KEY_LEN)) {
    r->to = e->seq;
    return;
  }
  if (*n == FM_ACK_REFUSED_MAX) return;
  r = &s->ack_refused[(*n)++];
  memcpy(r->author, e->author, FM_KEY_LEN);
  r->from = r->to = e->seq;
  r->code = code < 0 ? code : FM_ERR_PROTO;
}

/* The ACK of a committed batch: the bytes and entries (the sender's
 * window), then per author the highest seq of the batch its log now holds
 * -- the very bytes the sender sent, so 1 .. seq of the sender's chain --
 * and the ranges refused or quarantined.  Authors beyond one message's
 * worth go in further ACKs with no bytes. */
static int send_ack(fm_session *s, uint64_t bytes, size_t n, size_t nstored, size_t nrefused) {
  fm_wr w;
  size_t off = 0;
  int rv;
  do {
    size_t k = nstored - off > FM_ACK_STORED_MAX ? FM_ACK_STORED_MAX : nstored - off;
    fm_wr_init(&w, &s->plain);
    fm_msg_ack(&w, off ? 0 : bytes, off ? 0 : n, s->ack_stored + off, k, s->ack_refused,
               off ? 0 : nrefused);
    if ((rv = flush_msg(s)) < 0) return rv;
    off += k;
  } while (off < nstored);
  return 0;
}

/* The peer sent an entry of its own log that forks ours of it: its log
 * left the mesh's below its head, so it gets the whole of ours, once
 * (as own_log_forked). */
static void peer_forked_own(fm_session *s, const fm_entry *e, int code) {
  known *k;
  if ((code != FM_ERR_FORK && code != FM_ERR_BADPREV) ||
      memcmp(e->author, s->st.peer_id, FM_KEY_LEN) || !(k = their_get(s, e->author)) ||
      k->forked)
    return;
  k->forked = 1;
  k->seq = 0;
}

/* Ingests |n| received entries in one store transaction and acknowledges
 * them once it committed. */
static int ingest_batch(fm_session *s, const fm_slice *entries, size_t n) {
  fm_ingest_result res;
  uint64_t bytes = 0;
  size_t nstored = 0, nrefused = 0;
  int rv;
  FM_ASSERT(n <= PEND_MAX);
  rv = s->cfg.io.ingest(s->cfg.io.ctx, entries, n, &res, s->outcomes);
  if (rv < 0) return fail(s, rv, "store failed: %s", fm_strerror(rv));
  if (res.invalid)
    return fail(s, FM_ERR_PROTO, "peer sent %u invalid entries (%s)",
                res.invalid, fm_strerror(res.first_error));
  for (size_t i = 0; i < n; i++) {
    fm_entry e;
    bytes += entries[i].len;
    if (fm_entry_decode(entries[i].p, entries[i].len, NULL, &e) < 0) continue;
    /* Whatever became of it here, the peer holds it: never send it back
     * -- but for its own forked log, where it needs ours. */
    const known *kk = their_get(s, e.author);
    if ((!kk || !kk->forked) && (rv = their_raise(s, e.author, e.seq)) < 0)
      return fail(s, rv, "out of memory");
    switch (s->outcomes[i].outcome) {
    case FM_IN_ACCEPTED:
    case FM_IN_DUPLICATE: {
      fm_msg_vitem *it = &s->ack_stored[ack_author(s, &nstored, e.author)];
      if (e.seq > it->seq) it->seq = e.seq;
      break;
    }
    case FM_IN_QUARANTINED:
      peer_forked_own(s, &e, s->outcomes[i].code);
      /* fall through */
    case FM_IN_REFUSED: ack_refuse(s, &nrefused, &e, s->outcomes[i].code); break;
    default: break; /* held: not ours to judge yet, and not stored */
    }
  }
  /* Our own log took the mesh's branch back (a restored laptop): what we
   * sent of ours since the peer's vector was refused, and our log now
   * goes on from the peer's branch with those records written again. */
  known *own = res.rolled_back ? their_get(s, s->cfg.id->pk) : NULL;
  if (own) own->seq = own->vec > own->acked ? own->vec : own->acked;
  s->st.entries_in += res.accepted + res.released;
  s->entry_bytes_seen += bytes;
  s->entries_seen += n;
  s->refresh = 1;
  if (res.accepted) s->want_more = s->blobs;   /* they may name chunks */
  return send_ack(s, bytes, n, nstored, nrefused);
}

int fm_session_flush(fm_session *s, fm_time now) {
  size_t off = 0, n = s->npend;
  s->clock = now;
  if (n == 0 || s->st.error) return s->st.error;
  for (size_t i = 0; i < n; i++) {
    s->pend_sl[i].p = s->pend.p + off;
    s->pend_sl[i].len = s->pend_len[i];
    off += s->pend_len[i];
  }
  s->npend = 0;
  (void)now;
  int rv = ingest_batch(s, s->pend_sl, n);
  fm_buf_reset(&s->pend);
  return rv;
}

/* With defer_ingest, entries from every frame the driver hands over before
 * it calls fm_session_flush() (or the timer fires) commit together: one
 * durable commit per read burst instead of one per message. */
static int on_entries(fm_session *s, const fm_msg *m, fm_time now) {
  size_t bytes = 0;
  int rv;
  if (m->nentries == 0) return 0;
  if (!s->cfg.defer_ingest) return ingest_batch(s, m->entries, m->nentries);
  for (size_t i = 0; i < m->nentries; i++) bytes += m->entries[i].len;
  if ((s->npend + m->nentries > PEND_MAX || s->pend.len + bytes > PEND_BYTES) &&
      (rv = fm_session_flush(s, now)) < 0)
    return rv;
  if (s->npend == 0) s->pend_since = now;
  for (size_t i = 0; i < m->nentries; i++) {
    if ((rv = fm_buf_put(&s->pend, m->entries[i].p, m->entries[i].len)) < 0)
      return fail(s, rv, "out of memory");
    s->pend_len[s->npend++] = (uint32_t)m->entries[i].len;
  }
  return 0;
}

/* The peer stored (or refused) what we sent.  It can only speak of what
 * it was sent in this session: anything more is a lie or a bug, and
 * nothing it claimed is believed. */
static int on_ack(fm_session *s, const fm_msg *m, fm_time now) {
  if (m->u1 > s->inflight || m->u2 > s->inflight_entries)
    return fail(s, FM_ERR_PROTO, "peer acknowledged %llu bytes in %llu entries; %llu in %llu were sent",
                (unsigned long long)m->u1, (unsigned long long)m->u2,
                (unsigned long long)s->inflight, (unsigned long long)s->inflight_entries);
  for (size_t i = 0; i < m->nitems; i++) {
    known *k = their_get(s, m->items[i].author);
    if (!k || !k->sent || m->items[i].seq > k->sent)
      return fail(s, FM_ERR_PROTO, "peer acknowledged seq %llu of an author beyond what was sent",
                  (unsigned long long)m->items[i].seq);
  }
  for (size_t i = 0; i < m->nrefused; i++) {
    known *k = their_get(s, m->refused[i].author);
    if (!k || !k->sent || m->refused[i].to > k->sent)
      return fail(s, FM_ERR_PROTO, "peer refused seq %llu of an author beyond what was sent",
                  (unsigned long long)m->refused[i].to);
  }
  s->inflight -= m->u1;
  s->inflight_entries -= m->u2;
  s->last_ack = now;
  s->st.stalled = 0;
  for (size_t i = 0; i < m->nitems; i++) {
    known *k = their_get(s, m->items[i].author);
    if (m->items[i].seq <= k->acked) continue;
    k->acked = m->items[i].seq;
    if (s->cfg.io.held)
      s->cfg.io.held(s->cfg.io.ctx, s->st.peer_id, k->author, k->acked, NULL);
  }
  for (size_t i = 0; i < m->nrefused; i++) {
    s->st.refused_out += m->refused[i].to - m->refused[i].from + 1;
    s->st.last_refused = m->refused[i];
  }
  return 0;
}

/* ---- attachment chunks ------------------------------------------------------ */

static int absent_has(const fm_session *s, const uint8_t id[32]) {
  for (size_t i = 0; i < s->nabsent; i++)
    if (!memcmp(s->absent[i], id, 32)) return 1;
  return 0;
}

/* Not to be asked of this peer again: in this session when it sent wrong
 * bytes (|bad|), for NOCHUNK_RETRY_MS when it lacks the chunk.  Past
 * ABSENT_MAX the peer is asked for nothing more. */
static int absent_add(fm_session *s, const uint8_t id[32], int bad) {
  if (!s->absent && !(s->absent = malloc(ABSENT_MAX * sizeof *s->absent))) return -ENOMEM;
  if (s->nabsent == ABSENT_MAX) {
    s->blobs = 0;
    return 0;
  }
  if (!bad) {
    memcpy(s->absent[s->nabsent++], id, 32);
    if (!s->absent_retry) s->absent_retry = s->clock + NOCHUNK_RETRY_MS;
    return 0;
  }
  /* The bad ones stay in front: a retry forgets only the others. */
  memmove(s->absent[s->nabsent++], s->absent[s->nbad], 32);
  memcpy(s->absent[s->nbad++], id, 32);
  return 0;
}

/* Takes |id| off the asked list: 0, or -1 when it was not asked. */
static int want_done(fm_session *s, const uint8_t id[32]) {
  for (size_t i = 0; i < s->nwant_out; i++) {
    if (memcmp(s->want_out[i], id, 32)) continue;
    memmove(s->want_out[i], s->want_out[i + 1], (s->nwant_out - i - 1) * 32);
    s->nwant_out--;
    s->want_more = 1;
    return 0;
  }
  return -1;
}

static int on_want(fm_session *s, const fm_msg *m) {
  if (!s->blobs) return fail(s, FM_ERR_PROTO, "chunks asked for, not announced");
  if (s->nasked + m->nids > FM_WANT_MAX)
    return fail(s, FM_ERR_PROTO, "peer asked for more than %d chunks at once", FM_WANT_MAX);
  memcpy(s->asked[s->nasked], m->ids, m->nids * 32);
  s->nasked += m->nids;
  return 0;
}

/* A chunk we asked for.  Bytes that are not the chunk the id names are
 * dropped and counted, and asked of another peer (or this one in another
 * session); the link goes on. */
static int on_chunk(fm_session *s, const fm_msg *m) {
  uint8_t id[32];
  int rv;
  if (!s->blobs) return fail(s, FM_ERR_PROTO, "chunk sent, not announced");
  if (want_done(s, m->ids) < 0) return fail(s, FM_ERR_PROTO, "a chunk that was not asked for");
  crypto_generichash(id, sizeof id, m->chunk, m->chunk_len, NULL, 0);
  if (sodium_memcmp(id, m->ids, 32) != 0) {
    s->st.chunks_bad++;
    return absent_add(s, m->ids, 1) < 0 ? fail(s, -ENOMEM, "out of memory") : 0;
  }
  if ((rv = s->cfg.io.blob_in(s->cfg.io.ctx, id, m->chunk, m->chunk_len)) < 0)
    return fail(s, rv, "store failed: %s", fm_strerror(rv));
  s->st.chunks_in++;
  if (!s->held) return 0;
  /* Kept (or held already): the sender may count it as a copy. */
  fm_wr w;
  fm_wr_init(&w, &s->plain);
  fm_msg_ids(&w, FM_MSG_HELD, id, 1);
  if ((rv = flush_msg(s)) < 0) return fail(s, rv, "cannot send: %s", fm_strerror(rv));
  return 0;
}

/* Remembers a chunk sent, for the peer's HELD. */
static void served_add(fm_session *s, const uint8_t id[32]) {
  if (s->nserved == FM_SERVED_MAX) {
    memmove(s->served[0], s->served[1], (FM_SERVED_MAX - 1) * 32);
    s->nserved--;
  }
  memcpy(s->served[s->nserved++], id, 32);
}

/* The peer keeps chunks we sent it: each is a copy elsewhere. */
static int on_held(fm_session *s, const fm_msg *m) {
  if (!has_blobs(s)) return fail(s, FM_ERR_PROTO, "chunks confirmed, not announced");
  for (size_t i = 0; i < m->nids; i++) {
    const uint8_t *id = m->ids + 32 * i;
    size_t k = 0;
    while (k < s->nserved && memcmp(s->served[k], id, 32)) k++;
    if (k == s->nserved) return fail(s, FM_ERR_PROTO, "a chunk confirmed that was not sent");
    memmove(s->served[k], s->served[k + 1], (s->nserved - k - 1) * 32);
    s->nserved--;
    if (s->cfg.io.blob_held) s->cfg.io.blob_held(s->cfg.io.ctx, s->st.peer_id, id);
  }
  return 0;
}

static int on_nochunk(fm_session *s, const fm_msg *m) {
  if (!s->blobs) return fail(s, FM_ERR_PROTO, "chunks refused, not announced");
  for (size_t i = 0; i < m->nids; i++) {
    if (want_done(s, m->ids + 32 * i) < 0)
      return fail(s, FM_ERR_PROTO, "a chunk refused that was not asked for");
    if (absent_add(s, m->ids + 32 * i, 0) < 0) return fail(s, -ENOMEM, "out of memory");
  }
  return 0;
}

/* Serves the peer's oldest request: CHUNK, or NOCHUNK when we lack it.
 * 1 when a message went out, 0 when none was asked. */
static int serve_chunk(fm_session *s) {
  fm_buf chunk;
  fm_wr w;
  int rv;
  if (s->nasked == 0) return 0;
  fm_buf_init(&chunk, FM_MSG_MAX - 64);
  rv = s->cfg.io.blob_get(s->cfg.io.ctx, s->asked[0], &chunk);
  fm_wr_init(&w, &s->plain);
  if (rv == 0) {
    fm_msg_chunk(&w, s->asked[0], chunk.p, chunk.len);
    s->st.chunks_out++;
    served_add(s, s->asked[0]);
  } else if (rv == FM_ERR_NOTFOUND || rv == FM_ERR_TOOBIG) {
    fm_msg_ids(&w, FM_MSG_NOCHUNK, s->asked[0], 1);
    rv = 0;
  }
  fm_buf_free(&chunk);
  if (rv < 0) return fail(s, rv, "store failed: %s", fm_strerror(rv));
  memmove(s->asked[0], s->asked[1], (s->nasked - 1) * 32);
  s->nasked--;
  if ((rv = flush_msg(s)) < 0) return fail(s, rv, "cannot send: %s", fm_strerror(rv));
  return 1;
}

typedef struct want_pick {
  fm_session *s;
  uint8_t ids[FM_CHUNK_WINDOW][32];
  size_t n, room;
} want_pick;

static int pick_cb(void *ctx, const uint8_t id[32]) {
  want_pick *p = ctx;
  for (size_t i = 0; i < p->s->nwant_out; i++)
    if (!memcmp(p->s->want_out[i], id, 32)) return 0;
  if (absent_has(p->s, id)) return 0;
  memcpy(p->ids[p->n++], id, 32);
  return p->n == p->room;
}

/* Asks the peer for chunks we want, once it has sent us every entry it
 * had (CAUGHTUP): the records first.  1 when a WANT went out. */
static int ask_chunks(fm_session *s) {
  want_pick p = {s, {{0}}, 0, FM_CHUNK_WINDOW - s->nwant_out};
  fm_wr w;
  int rv;
  if (!s->blobs || !s->want_more || !s->peer_caughtup || p.room == 0) return 0;
  rv = s->cfg.io.blob_wanted(s->cfg.io.ctx, pick_cb, &p);
  if (rv < 0) return fail(s, rv, "store failed: %s", fm_strerror(rv));
  if (p.n == 0) {
    s->want_more = 0;
    return 0;
  }
  memcpy(s->want_out[s->nwant_out], p.ids, p.n * 32);
  s->nwant_out += p.n;
  if (p.n < p.room) s->want_more = 0;
  fm_wr_init(&w, &s->plain);
  fm_msg_ids(&w, FM_MSG_WANT, p.ids[0], p.n);
  if ((rv = flush_msg(s)) < 0) return fail(s, rv, "cannot send: %s", fm_strerror(rv));
  return 1;
}

static void copy_reason(fm_session *s, const char *prefix, const fm_msg *m) {
  snprintf(s->st.reason, sizeof s->st.reason, "%s%.*s", prefix, (int)m->text_len, m->text);
}

static int on_message(fm_session *s, const fm_msg *m, fm_time now) {
  fm_wr w;
  int rv;
  /* Anything but more entries is handled after the entries before it. */
  if (m->type != FM_MSG_ENTRIES && s->npend && (rv = fm_session_flush(s, now)) < 0)
    return rv;
  talked(s, m->type);
  if (s->state == FM_SS_HELLO) {
    if (m->type == FM_MSG_ERROR) goto peer_error;
    if (m->type != FM_MSG_HELLO)
      return fail(s, FM_ERR_PROTO, "expected hello, got message type %d", m->type);
    if ((rv = on_hello(s, m)) < 0 || !s->st.admitted) return rv;
    s->blobs = has_blobs(s) && (m->features & FM_FEAT_BLOBS);
    s->want_more = s->blobs;
    s->held = s->blobs && (m->features & FM_FEAT_HELD);
    if (s->cfg.compress && (m->features & FM_FEAT_ZSTD) && (rv = fm_zpack_new(&s->zpack)) < 0)
      return fail(s, rv, "out of memory");
    s->st.packing = s->zpack != NULL;
    s->presence = has_presence(s) && (m->features & FM_FEAT_PRESENCE);
    return s->presence ? send_presence_sum(s, now) : 0;
  }
  switch (m->type) {
  case FM_MSG_HELLO: return fail(s, FM_ERR_PROTO, "second hello");
  case FM_MSG_VECTOR: return on_vector(s, m);
  case FM_MSG_ENTRIES: return on_entries(s, m, now);
  case FM_MSG_ACK: return on_ack(s, m, now);
  case FM_MSG_PING:
    /* A ping round with nothing else said: the interval doubles on both
     * sides (the pinger doubled it as it sent). */
    backoff(s);
    fm_wr_init(&w, &s->plain);
    fm_msg_ping(&w, FM_MSG_PONG, m->u1);
    return flush_msg(s);
  case FM_MSG_PONG: return 0;
  case FM_MSG_CERT:
    if (s->cfg.io.learn_cert) s->cfg.io.learn_cert(s->cfg.io.ctx, m->cert, m->cert_len);
    return 0;
  case FM_MSG_PACKED: return fail(s, FM_ERR_PROTO, "packed entries out of place");
  case FM_MSG_PRESENCE:
  case FM_MSG_PRESENCE_SUM:
  case FM_MSG_PRESENCE_OFFER:
    /* Only a peer told that we take notes sends them. */
    if (!s->presence) return fail(s, FM_ERR_PROTO, "presence notes not announced");
    if (m->type == FM_MSG_PRESENCE_SUM) rv = on_presence_sum(s, m);
    else if (m->type == FM_MSG_PRESENCE_OFFER) rv = on_presence_offer(s, m, now);
    else on_presence(s, m), rv = 0;
    if (rv == FM_ERR_TOOBIG) return fail(s, FM_ERR_PROTO, "presence offer past %d devices", FM_PSET_MAX);
    return rv < 0 ? fail(s, rv, "cannot exchange presence notes: %s", fm_strerror(rv)) : 0;
  case FM_MSG_WANT: return on_want(s, m);
  case FM_MSG_CHUNK: return on_chunk(s, m);
  case FM_MSG_NOCHUNK: return on_nochunk(s, m);
  case FM_MSG_HELD: return on_held(s, m);
  case FM_MSG_CAUGHTUP:
    s->peer_caughtup = 1;
    if (s->caughtup_sent && !s->sent_since_caughtup) {
      s->st.caught_up_at = now;
      if (s->state == FM_SS_SYNC) s->state = FM_SS_LIVE;
    }
    return 0;
  case FM_MSG_BYE:
    copy_reason(s, "peer said bye: ", m);
    s->state = FM_SS_CLOSED;
    return 0;
  case FM_MSG_ERROR: goto peer_error;
  }
  return fail(s, FM_ERR_PROTO, "unknown message type");
peer_error:
  copy_reason(s, "peer refused us: ", m);
  /* Only refusals keep their code: a peer must not make us report, say,
   * a corrupt store. */
  s->st.error = m->code == FM_ERR_AUTH || m->code == FM_ERR_REVOKED ||
                        m->code == FM_ERR_EXPIRED || m->code == FM_ERR_MESH ||
                        m->code == FM_ERR_VERSION
                    ? (int)m->code
                    : FM_ERR_PROTO;
  s->state = FM_SS_CLOSED;
  return s->st.error;
}

/* A PACKED message: one ENTRIES message, unpacked within the message
 * limit into |s->unpacked| and decoded in place of |m|.  Only a peer both
 * of whose sides announced it may send one. */
static int unpack(fm_session *s, fm_msg *m) {
  size_t n;
  int rv;
  if (!s->zpack) return fail(s, FM_ERR_PROTO, "packed entries, never announced");
  rv = fm_zpack_unpack(s->zpack, m->packed, m->packed_len, s->unpacked, sizeof s->unpacked, &n);
  if (rv == -ENOMEM) return fail(s, rv, "out of memory");
  if (rv == FM_ERR_TOOBIG)
    return fail(s, FM_ERR_PROTO, "packed entries would inflate past %d bytes", FM_MSG_MAX);
  if (rv < 0) return fail(s, FM_ERR_PROTO, "packed entries do not unpack");
  if (fm_msg_decode(s->unpacked, n, m) < 0 || m->type != FM_MSG_ENTRIES)
    return fail(s, FM_ERR_PROTO, "a packed message that is not entries");
  s->st.packed_in++;
  return 0;
}

static int on_frame(fm_session *s, const uint8_t *p, size_t n, fm_time now) {
  fm_msg m;
  size_t plen;
  int rv;
  if (s->state == FM_SS_HANDSHAKE) return on_handshake(s, p, n);
  rv = fm_noise_cs_decrypt(&s->rx, NULL, 0, p, n, s->opened, sizeof s->opened, &plen);
  if (rv < 0) return fail(s, FM_ERR_DECRYPT, "a frame does not authenticate");
  m.items = s->items;
  m.entries = s->entries;
  m.refused = s->refused;
  if ((rv = fm_msg_decode(s->opened, plen, &m)) < 0)
    return fail(s, rv, rv == FM_ERR_PROTO ? "unknown message type" : "malformed message");
  if (m.type == FM_MSG_PACKED && s->state > FM_SS_HELLO && (rv = unpack(s, &m)) < 0) return rv;
  return on_message(s, &m, now);
}

int fm_session_recv(fm_session *s, const uint8_t *in, size_t len, fm_time now) {
  if (s->state == FM_SS_CLOSED || s->st.error) return s->st.error;
  if (s->state == FM_SS_CLOSING) return 0; /* draining: ignore the rest */
  s->last_recv = s->clock = now;
  s->st.last_recv = now;
  s->st.bytes_in += len;
  while (len > 0) {
    size_t take = IN_CAP - s->in_len;
    if (take > len) take = len;
    memcpy(s->in + s->in_len, in, take);
    s->in_len += take;
    in += take;
    len -= take;
    size_t off = 0;
    while (s->in_len - off >= FM_FRAME_HDR) {
      const uint8_t *h = s->in + off;
      uint32_t n = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
      if (n > FM_FRAME_MAX || n == 0)
        return fail(s, FM_ERR_FRAME, "frame of %u bytes (limit %d)", n, FM_FRAME_MAX);
      if (s->in_len - off < FM_FRAME_HDR + n) break;
      int rv = on_frame(s, h + FM_FRAME_HDR, n, now);
      if (rv < 0) return rv;
      off += FM_FRAME_HDR + n;
      if (s->state >= FM_SS_CLOSING) return s->st.error;
    }
    memmove(s->in, s->in + off, s->in_len - off);
    s->in_len -= off;
  }
  return 0;
}

/* ---- streaming what the peer lacks --------------------------------------------- */

typedef struct batch {
  fm_session *s;
  fm_buf *stage;
  uint32_t n;
  uint64_t bytes;
} batch;

/* Takes entries into the batch while the message has room. */
static int batch_cb(void *ctx, const uint8_t *p, size_t len) {
  batch *b = ctx;
  fm_wr w;
  /* array headers (≤ 8) + each bin header (≤ 5) must fit one message */
  if (b->n == FM_BATCH_MAX || b->stage->len + len + 5 + 8 > FM_MSG_MAX) return 1;
  fm_wr_init(&w, b->stage);
  fm_wr_bin(&w, p, len);
  b->n++;
  b->bytes += len;
  return 0;
}

static int refresh_ours(fm_session *s) {
  fm_vector v;
  int rv = s->cfg.io.vector(s->cfg.io.ctx, &v);
  if (rv < 0) return rv;
  fm_vector_free(&s->ours);
  s->ours = v;
  s->refresh = 0;
  s->cursor = 0;
  return 0;
}

/* Sends our entry at a contested (author, seq), alone. */
static int show_contested(fm_session *s) {
  fm_buf stage;
  fm_wr w;
  const known *k = &s->contested[--s->ncontested];
  fm_buf_init(&stage, FM_MSG_MAX);
  batch b = {s, &stage, 0, 0};
  int rv = s->cfg.io.read_after(s->cfg.io.ctx, k->author, k->seq - 1, 1, batch_cb, &b);
  if (rv == 0 && b.n == 1) {
    fm_wr_init(&w, &s->plain);
    fm_msg_entries_begin(&w, 1);
    fm_wr_raw(&w, stage.p, stage.len);
    rv = flush_entries(s);
    s->inflight += b.bytes;
    s->inflight_entries += 1;
    known *kn = their_get(s, k->author);
    if (kn && k->seq > kn->sent) kn->sent = k->seq;
  }
  fm_buf_free(&stage);
  return rv < 0 ? fail(s, rv, "cannot send: %s", fm_strerror(rv)) : 1;
}

/* A peer that holds nothing of an author may never have met it: its
 * enrollment goes first, in a CERT ahead of the ENTRIES message. */
static int send_cert(fm_session *s, const uint8_t author[FM_KEY_LEN]) {
  fm_buf stage;
  fm_wr w;
  int rv = 0;
  fm_buf_init(&stage, FM_MSG_MAX);
  if (s->cfg.io.cert_of(s->cfg.io.ctx, author, &stage) == 0) {
    fm_wr_init(&w, &s->plain);
    fm_msg_cert(&w, stage.p, stage.len);
    rv = flush_msg(s);
  }
  fm_buf_free(&stage);
  return rv;
}

/* Adds to |b| the entries of |it|'s author the peer lacks, as many as the
 * message has room for.  1 when the message is full, 0 when the author is
 * done (or its log moved under us: the next refresh will tell), or a
 * negative code. */
static int add_author(fm_session *s, const fm_vec_item *it, batch *b) {
  uint64_t have = their_seq(s, it->author);
  uint32_t before = b->n;
  int rv;
  if (it->seq <= have) return 0;
  if (have == 0 && s->cfg.io.cert_of && (rv = send_cert(s, it->author)) < 0) return rv;
  rv = s->cfg.io.read_after(s->cfg.io.ctx, it->author, have, FM_MSG_MAX, batch_cb, b);
  if (rv < 0) return rv;
  uint32_t got = b->n - before;
  if (got) {
    int r2 = their_raise(s, it->author, have + got);
    if (r2 < 0) return r2;
    their_get(s, it->author)->sent = have + got;
  }
  return rv == 1 || have + got < it->seq ? (got || before ? 1 : 0) : 0;
}

/* Produces at most one ENTRIES message -- of as many authors as fit, in
 * our vector's order -- or CAUGHTUP.  Returns 1 when it produced
 * something, 0 when there is nothing to send now. */
static int pump(fm_session *s, fm_time now) {
  fm_buf stage;
  fm_wr w;
  int rv = 0;
  if (s->ncontested) return show_contested(s);
  if (s->refresh && (rv = refresh_ours(s)) < 0) return fail(s, rv, "store failed: %s", fm_strerror(rv));
  fm_buf_init(&stage, FM_MSG_MAX);
  batch b = {s, &stage, 0, 0};
  while (s->cursor < s->ours.n && s->inflight + b.bytes < s->cfg.window) {
    if ((rv = add_author(s, &s->ours.items[s->cursor], &b)) < 0) break;
    if (rv == 1) break;
    s->cursor++;
  }
  if (rv >= 0 && b.n) {
    fm_wr_init(&w, &s->plain);
    fm_msg_entries_begin(&w, b.n);
    fm_wr_raw(&w, stage.p, stage.len);
    rv = flush_entries(s);
  }
  fm_buf_free(&stage);
  if (rv < 0) return fail(s, rv, "cannot send: %s", fm_strerror(rv));
  if (b.n) {
    if (s->inflight == 0) s->last_ack = now;
    s->inflight += b.bytes;
    s->inflight_entries += b.n;
    s->st.entries_out += b.n;
    s->entry_bytes_seen += b.bytes;
    s->entries_seen += b.n;
    s->sent_since_caughtup = 1;
    return 1;
  }
  if (s->cursor < s->ours.n) return 0; /* wait for the peer's ACK */
  if (s->caughtup_sent && !s->sent_since_caughtup) {
    /* Every entry is out: now the chunks, the peer's requests first. */
    if ((rv = serve_chunk(s)) != 0) return rv;
    return ask_chunks(s);
  }
  fm_wr_init(&w, &s->plain);
  fm_msg_caughtup(&w, s->st.entries_out);
  if ((rv = flush_msg(s)) < 0) return fail(s, rv, "cannot send: %s", fm_strerror(rv));
  s->caughtup_sent = 1;
  s->sent_since_caughtup = 0;
  if (s->peer_caughtup) {
    s->st.caught_up_at = now;
    if (s->state == FM_SS_SYNC) s->state = FM_SS_LIVE;
  }
  return 1;
}

ssize_t fm_session_send(fm_session *s, uint8_t *dst, size_t cap, fm_time now) {
  size_t done = 0;
  s->clock = now;
  while (done < cap) {
    if (s->out_off == s->out.len) {
      fm_buf_reset(&s->out);
      s->out_off = 0;
      if (s->state == FM_SS_CLOSING) {
        s->state = FM_SS_CLOSED;
        break;
      }
      if ((s->state != FM_SS_SYNC && s->state != FM_SS_LIVE) || !s->their_vector_done)
        break;
      if (pump(s, now) <= 0) break;
      continue;
    }
    size_t n = s->out.len - s->out_off;
    if (n > cap - done) n = cap - done;
    memcpy(dst + done, s->out.p + s->out_off, n);
    s->out_off += n;
    done += n;
  }
  if (done) {
    s->last_sent = now;
    s->st.bytes_out += done;
  }
  if (s->st.error && done == 0 && s->state == FM_SS_CLOSED) return 0;
  return (ssize_t)done;
}

void fm_session_notify(fm_session *s) {
  s->refresh = 1;
  s->want_more = s->blobs;
}

/* ---- timers ----------------------------------------------------------------------- */

/* Both sides would ping at the same moment (each PONG moves last_sent):
 * the side that accepted the connection waits half an interval more, so
 * the dialler's PING, answered, is the only one of a quiet round. */
static fm_time ping_due(const fm_session *s) {
  return s->last_sent + s->ping_gap + (s->cfg.initiator ? 0 : s->ping_gap / 2);
}


/* When the peer counts as gone: silent for the idle timeout plus what the
 * ping interval grew by (while idle the peer pings, or answers our ping,
 * once an interval), or silent for the idle timeout since our last ping. */
static fm_time silence_deadline(const fm_session *s) {
  fm_time from = s->last_recv > s->talk_at ? s->last_recv : s->talk_at;
  fm_time t = from + s->cfg.idle_timeout + (s->ping_gap - s->cfg.ping_every);
  if (s->ping_out > s->last_recv && s->ping_out + s->cfg.idle_timeout < t)
    t = s->ping_out + s->cfg.idle_timeout;
  return t;
}

fm_time fm_session_next_timer(const fm_session *s) {
  if (s->state >= FM_SS_CLOSING) return FM_TIME_NEVER;
  if (s->npend) return s->pend_since;
  fm_time t = silence_deadline(s);
  if (s->state <= FM_SS_HELLO && s->started + s->cfg.handshake_timeout < t)
    t = s->started + s->cfg.handshake_timeout;
  if (s->state >= FM_SS_SYNC && ping_due(s) < t) t = ping_due(s);
  if (s->presence && s->presence_at < t) t = s->presence_at;
  if (s->absent_retry && s->blobs && s->absent_retry < t) t = s->absent_retry;
  return t;
}

int fm_session_on_timer(fm_session *s, fm_time now) {
  fm_wr w;
  int rv;
  if (s->state >= FM_SS_CLOSING) return s->st.error;
  s->clock = now;
  if (s->npend && (rv = fm_session_flush(s, now)) < 0) return rv;
  if (s->state <= FM_SS_HELLO && now >= s->started + s->cfg.handshake_timeout)
    return fail(s, -ETIMEDOUT, "no handshake after %lld s",
                (long long)(s->cfg.handshake_timeout / 1000));
  if (now >= silence_deadline(s))
    return fail(s, -ETIMEDOUT, "peer silent for %lld s",
                (long long)((now - s->last_recv) / 1000));
  if (s->inflight && now >= s->last_ack + 2 * s->cfg.ping_every) s->st.stalled = 1;
  if (s->absent_retry && now >= s->absent_retry) {
    /* The next send asks for what the peer lacked, in case it has it now. */
    s->nabsent = s->nbad;
    s->absent_retry = 0;
    s->want_more = s->blobs;
  }
  uint64_t notes = s->st.notes_out;
  if (s->presence && now >= s->presence_at && (rv = send_presence(s, now, 1)) < 0)
    return fail(s, rv, "cannot send presence notes: %s", fm_strerror(rv));
  /* A PRESENCE asks for no answer but moves last_sent: alone on a quiet
   * link it would put our next PING off past the peer's silence deadline
   * (and ours of it), and the session would die of a note (the
   * simulator's quiet links did).  A PING goes with it. */
  int with_note = s->st.notes_out != notes && s->ping_gap != s->cfg.ping_every;
  if (s->state >= FM_SS_SYNC && (now >= ping_due(s) || with_note)) {
    fm_wr_init(&w, &s->plain);
    fm_msg_ping(&w, FM_MSG_PING, ++s->ping_nonce);
    backoff(s);
    s->ping_out = now;
    /* last_sent moves when the driver pulls the bytes; until then, do not
     * queue another ping. */
    s->last_sent = now;
    return flush_msg(s);
  }
  return 0;
}

void fm_session_close(fm_session *s, const char *reason) {
  fm_wr w;
  if (s->state >= FM_SS_CLOSING) return;
  /* Received is received: keep it (stamped with when it arrived). */
  if (s->npend) fm_session_flush(s, s->pend_since);
  snprintf(s->st.reason, sizeof s->st.reason, "%s", reason);
  if (transport_up(s)) {
    fm_wr_init(&w, &s->plain);
    fm_msg_bye(&w, reason);
    if (flush_msg(s) == 0) {
      s->state = FM_SS_CLOSING;
      return;
    }
  }
  s->state = FM_SS_CLOSED;
}

fm_session_state fm_session_get_state(const fm_session *s) { return s->state; }

uint64_t fm_session_peer_seq(const fm_session *s, const uint8_t author[FM_KEY_LEN]) {
  return their_seq(s, author);
}

void fm_session_get_stats(const fm_session *s, fm_session_stats *out) {
  *out = s->st;
  out->state = s->state;
  out->to_send = out->to_recv = 0;
  for (size_t i = 0; i < s->ours.n; i++) {
    uint64_t have = their_seq(s, s->ours.items[i].author);
    if (s->ours.items[i].seq > have) out->to_send += s->ours.items[i].seq - have;
  }
  for (size_t i = 0; i < s->ntheir; i++) {
    uint64_t mine = fm_vector_seq(&s->ours, s->their[i].author);
    if (s->their[i].seq > mine) out->to_recv += s->their[i].seq - mine;
  }
  uint64_t mean = s->entries_seen ? s->entry_bytes_seen / s->entries_seen : 512;
  out->to_send_bytes = out->to_send * mean;
  out->to_recv_bytes = out->to_recv * mean;
}
