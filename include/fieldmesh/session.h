/* The sync session: one connection between two nodes, as a sans-I/O
 * state machine.
 *
 * The driver (the daemon on TCP, the simulator on its virtual network)
 * feeds it received bytes with fm_session_recv(), pulls bytes to send with
 * fm_session_send(), arms one timer from fm_session_next_timer() and calls
 * fm_session_on_timer() when it fires, and calls fm_session_notify() when
 * the store gained entries (written locally or received from a third
 * peer).  Storage and randomness come in through |fm_session_io| and
 * |fm_rng|; the session never reads a clock or does I/O itself, and its
 * callbacks never call back into the session.
 *
 * On the wire (docs/protocol.md): frames of a 4-byte big-endian length and
 * that many bytes (at most 65535), first the three Noise XX handshake
 * messages, then Noise transport messages each holding one fm_msg.
 *
 * Flow: handshake -> both send HELLO and their VECTOR (paged) at once ->
 * each streams what the other lacks, oldest first per author, the
 * authority first, under a byte window acknowledged by ACK -> CAUGHTUP
 * when all is sent -> live: new entries are pushed as they arrive.  Once
 * the peer has sent CAUGHTUP, attachment chunks the node wants are asked
 * for, FM_CHUNK_WINDOW at a time; each side serves them only when it has
 * no entry left to send, so a record always overtakes a scan.  PING
 * keeps an idle link honest; BYE closes politely; ERROR says why a peer is
 * being dropped.
 */
#ifndef FIELDMESH_SESSION_H
#define FIELDMESH_SESSION_H

#include <sys/types.h>

#include "fieldmesh/enroll.h"
#include "fieldmesh/identity.h"
#include "fieldmesh/ingest.h"
#include "fieldmesh/msg.h"
#include "fieldmesh/presence.h"
#include "fieldmesh/vector.h"

#define FM_FRAME_MAX 65535
#define FM_FRAME_HDR 4
#define FM_PROLOGUE "fieldmesh sync v1"

typedef struct fm_session fm_session;

/* What the session needs from its node.  Every callback returns 0 or a
 * negative code; a negative code from |ingest| or |read_after| fails the
 * session (the store is in trouble, not the peer).  The session's own
 * time is a monotonic clock (timers only); whatever needs the wall clock
 * (expiry, stamps, claim lapses) is the node's to read. */
typedef struct fm_session_io {
  void *ctx;
  /* Our vector now (authority first); |out| is the session's to free. */
  int (*vector)(void *ctx, fm_vector *out);
  /* As fm_store_read_after(). */
  int (*read_after)(void *ctx, const uint8_t author[FM_KEY_LEN], uint64_t after,
                    size_t max_bytes, fm_entry_cb cb, void *cbctx);
  /* Judges the peer's HELLO: its Ed25519 |node_id| and enrollment
   * certificate.  0 admits (and fills |who|); FM_ERR_AUTH, FM_ERR_MESH,
   * FM_ERR_REVOKED or FM_ERR_EXPIRED refuses. */
  int (*admit)(void *ctx, const uint8_t node_id[FM_KEY_LEN], const uint8_t *cert,
               size_t cert_len, fm_enrollment *who);
  /* As fm_store_ingest(): |out| receives one outcome per entry. */
  int (*ingest)(void *ctx, const fm_slice *entries, size_t n, fm_ingest_result *res,
                fm_ingest_outcome *out);
  /* The peer says it holds |seq| entries of |author| (a claim, from its
   * vector: it may be a restored backup, or lie). */
  void (*seen)(void *ctx, const uint8_t author[FM_KEY_LEN], uint64_t seq);
  /* The admitted peer |device| holds |author|'s entries 1 .. |seq| in its
   * log, in its own word inside this authenticated session: an ACK of
   * entries we sent (|head8| NULL: proven, they are our bytes), a HELLO
   * whose vector digest equals ours (NULL too), or a VECTOR item whose
   * head id starts with |head8| (the node checks it against its own
   * entry |seq|).  May be NULL. */
  void (*held)(void *ctx, const uint8_t device[FM_KEY_LEN], const uint8_t author[FM_KEY_LEN],
               uint64_t seq, const uint8_t *head8);
  /* The enrollment certificate of |author|, sent ahead of its first
   * entries so a peer that never met it can check them: appends the bytes
   * to |out|, or returns FM_ERR_NOTFOUND (the authority has none). */
  int (*cert_of)(void *ctx, const uint8_t author[FM_KEY_LEN], fm_buf *out);
  /* A certificate from the peer; a bad one is ignored (0 or negative). */
  int (*learn_cert)(void *ctx, const uint8_t *cert, size_t len);
  /* Presence notes (presence.h).  Both NULL: this node announces no
   * FM_FEAT_PRESENCE and neither sends nor takes notes.  |presence_each|
   * calls |cb| with each note the node holds (verified, with when it came
   * in) and stops at the first non-zero return, which it returns; before
   * that it makes the node's own note afresh when due -- |live| 0, at the
   * start of a session: when a minute old; 1, in the live phase: when a
   * minute old and changed, or a day old.  With FM_PRESENCE_OWN_ONLY set
   * in |live| (the peer is a member, or nothing changed since the last
   * full offer) it calls |cb| with the node's own note and those of the
   * commune hall's devices (gateways, officers, admins) alone.  Asked once the peer is
   * admitted, when the peer's offer is complete, and every ping interval
   * (on a link whose pings backed off, a PING goes with the notes).
   * |presence_in| is handed the peer's notes, hostile bytes: the node
   * verifies, keeps or drops (and counts) each. */
  int (*presence_each)(void *ctx, int live, fm_presence_cb cb, void *cbctx);
#define FM_PRESENCE_OWN_ONLY 2
  /* A number that changes whenever the notes the node holds change (one
   * kept from a peer, its own made anew).  May be NULL.  In the live
   * phase a session whose peer's notes were complete at the last offer
   * walks every note again only when it changed; otherwise it asks for
   * the node's own note alone (FM_PRESENCE_OWN_ONLY), which the node may
   * still renew. */
  uint64_t (*presence_gen)(void *ctx);
  void (*presence_in)(void *ctx, const fm_slice *notes, size_t n);
  /* The node's wall clock (ms since 1970), sent in PRESENCE_SUM so the
   * peer can tell how far apart the two clocks are.  May be NULL (0 is
   * sent: unknown). */
  fm_time (*wall)(void *ctx);
  /* The admitted peer |peer|'s wall clock was |ahead| ms behind ours
   * (negative: ahead of ours) when its PRESENCE_SUM arrived, give or take
   * the message's time on the way (skew.h).  May be NULL. */
  void (*peer_clock)(void *ctx, const uint8_t peer[FM_KEY_LEN], int64_t ahead);
  /* Attachment chunks (blob_store.h).  All three NULL: this node announces
   * no FM_FEAT_BLOBS and neither asks for chunks nor serves them.
   * |blob_wanted| calls |cb| with each chunk id the node wants (valid
   * during the call) until |cb| returns non-zero; |blob_get| appends the
   * chunk |id| names to |out| or returns FM_ERR_NOTFOUND; |blob_in| takes
   * a chunk and its |id|, which the session has checked is the chunk's
   * hash (no need to hash it again).  Each returns 0 or a
   * negative store error, which fails the session. */
  int (*blob_wanted)(void *ctx, int (*cb)(void *cbctx, const uint8_t id[32]), void *cbctx);
  int (*blob_get)(void *ctx, const uint8_t id[32], fm_buf *out);
  int (*blob_in)(void *ctx, const uint8_t id[32], const uint8_t *chunk, size_t len);
  /* The admitted peer |device| keeps the chunk |id| we sent it, in its own
   * word (HELD): a copy elsewhere.  May be NULL (then nobody is told). */
  void (*blob_held)(void *ctx, const uint8_t device[FM_KEY_LEN], const uint8_t id[32]);
} fm_session_io;

typedef struct fm_session_cfg {
  int initiator;                 /* 1: we dialled */
  const fm_identity *id;         /* our identity; must outlive the session */
  const uint8_t *cert;           /* our enrollment certificate (copied) */
  size_t cert_len;
  fm_session_io io;
  fm_rng rng;
  size_t window;                 /* entry bytes in flight; 0: 4 MiB */
  fm_time ping_every;            /* 0: 15 s */
  fm_time idle_timeout;          /* 0: 60 s with nothing received */
  fm_time ping_max;              /* adaptive keepalive: while nothing but
                                  * pings is said, each ping doubles the
                                  * interval from ping_every up to this;
                                  * the peer may then stay silent that much
                                  * longer, but a PING of ours unanswered for
                                  * idle_timeout still ends the session.
                                  * 0 (or below ping_every): fixed pings */
  fm_time handshake_timeout;     /* 0: 20 s */
  int compress;                  /* 1: announce FM_FEAT_ZSTD and send ENTRIES
                                  * PACKED to a peer that announced it too */
  int defer_ingest;              /* 1: received entries wait for
                                  * fm_session_flush() or the timer, so a
                                  * burst of frames commits as one batch */
} fm_session_cfg;

typedef enum fm_session_state {
  FM_SS_HANDSHAKE,   /* Noise XX in progress */
  FM_SS_HELLO,       /* waiting for the peer's HELLO */
  FM_SS_SYNC,        /* exchanging what each lacks */
  FM_SS_LIVE,        /* both caught up; new entries are pushed */
  FM_SS_CLOSING,     /* BYE or ERROR queued; drain fm_session_send, then close */
  FM_SS_CLOSED,      /* nothing more to send: close the connection */
} fm_session_state;

typedef struct fm_session_stats {
  fm_session_state state;
  int admitted;
  uint8_t peer_id[FM_KEY_LEN];         /* valid once admitted */
  fm_enrollment peer;                  /* valid once admitted */
  uint64_t bytes_in, bytes_out;        /* on the wire */
  uint64_t entries_in, entries_out;    /* entries received and accepted / sent */
  uint64_t vectors_in;                 /* VECTOR messages received */
  uint64_t notes_in, notes_out;        /* presence notes received / sent */
  int packing;                         /* both HELLOs set FM_FEAT_ZSTD */
  uint64_t packed_in, packed_out;      /* ENTRIES messages received / sent PACKED */
  uint64_t to_send, to_recv;           /* entries the other side still lacks / we lack */
  uint64_t to_send_bytes, to_recv_bytes; /* estimates from the mean entry size */
  fm_time caught_up_at;                /* when both sides last had everything, 0 never */
  fm_time last_recv;
  int stalled;                         /* entries in flight with no ACK for long */
  uint64_t chunks_in, chunks_out;      /* attachment chunks received (whole and
                                        * matching their id) / sent */
  uint64_t chunks_bad;                 /* received, but not the chunk asked for:
                                        * dropped, asked again elsewhere */
  uint64_t refused_out;                /* entries we sent that the peer refused */
  fm_msg_refusal last_refused;         /* the latest such range (valid when
                                        * refused_out > 0) */
  /* Bytes sent, framed as on the wire, by what they carried: the Noise
   * handshake, and each message type (index: fm_msg_type; PACKED ENTRIES
   * under FM_MSG_PACKED).  They sum to bytes_out once everything queued
   * was pulled by fm_session_send. */
  uint64_t handshake_out;
  uint64_t msg_out[FM_MSG_TYPE_SLOTS];
  int error;                           /* why it failed, 0 if it did not */
  char reason[160];                    /* the peer's BYE/ERROR text or ours */
} fm_session_stats;

/* Every |now| below is the driver's monotonic clock in milliseconds (any
 * origin, never set back): a wall clock that jumps must not kill or stall
 * a session.
 *
 * Creates a session starting at |now|.  |*out| is the caller's:
 * fm_session_del().  -ENOMEM or FM_ERR_INVAL. */
int fm_session_new(const fm_session_cfg *cfg, fm_time now, fm_session **out);
void fm_session_del(fm_session *s);

/* Feeds |len| received bytes.  Returns 0, or a negative code when the
 * session failed: the peer broke the protocol (fm_err_is_fatal), was
 * refused (FM_ERR_AUTH ...), or the store failed.  After a failure, drain
 * fm_session_send() (it may hold an ERROR for the peer) and close. */
int fm_session_recv(fm_session *s, const uint8_t *in, size_t len, fm_time now);

/* Writes up to |cap| bytes to send into |dst|; returns how many, 0 when
 * there is nothing to send now.  It never fails: a store error while
 * reading entries ends the session (queued ERROR, state CLOSING), which
 * fm_session_stats() reports; once the state is FM_SS_CLOSED and it
 * returns 0, close the connection.  Call it whenever the connection can
 * take more: entries are read from the store only as fast as they go out
 * and the peer acknowledges them. */
ssize_t fm_session_send(fm_session *s, uint8_t *dst, size_t cap, fm_time now);

/* Ingests and acknowledges the entries received since the last flush
 * (only with cfg.defer_ingest; fm_session_next_timer() asks for it too).
 * A driver calls it when it has handed over all the bytes it has now.
 * Returns 0 or the code the session failed with. */
int fm_session_flush(fm_session *s, fm_time now);

/* The store has new entries: offer them to the peer. */
void fm_session_notify(fm_session *s);

/* When fm_session_on_timer() wants to be called; FM_TIME_NEVER if never. */
fm_time fm_session_next_timer(const fm_session *s);
int fm_session_on_timer(fm_session *s, fm_time now);

/* Ingests what is pending, queues a BYE with |reason| and moves to
 * FM_SS_CLOSING. */
void fm_session_close(fm_session *s, const char *reason);

/* How many entries of |author| the peer holds or has been sent (its
 * vector, plus what went either way since): what not to send it again.
 * Not a proof of a copy: see fm_session_io.held. */
uint64_t fm_session_peer_seq(const fm_session *s, const uint8_t author[FM_KEY_LEN]);

/* The session's state, and a copy of its figures into |out| (the
 * caller's).  Never fail; any time between new and del. */
fm_session_state fm_session_get_state(const fm_session *s);
void fm_session_get_stats(const fm_session *s, fm_session_stats *out);

#endif
