/* Sync messages: what travels inside the encrypted frames.
 *
 * Every message is one MessagePack array whose first item is its type:
 *
 *   HELLO    [1, version, node_id bin32, enrollment bin, features uint,
 *             vector_digest bin32]
 *   VECTOR   [2, [[author bin32, seq, head8 bin8] ...], more bool]
 *   ENTRIES  [3, [entry bin ...]]
 *   ACK      [4, bytes uint, entries uint, stored [[author bin32, seq] ...],
 *             refused [[author bin32, from, to, code int] ...]]
 *   PING     [5, nonce uint]
 *   PONG     [6, nonce uint]
 *   BYE      [7, reason str]
 *   ERROR    [8, code int, text str]
 *   CAUGHTUP [9, entries_sent uint]
 *   CERT     [10, enrollment bin]
 *   PRESENCE [11, [note bin ...]]        (only to a peer whose HELLO set
 *                                         FM_FEAT_PRESENCE)
 *   PRESENCE_SUM   [12, digest bin32, wall uint]        (idem)
 *   PRESENCE_OFFER [13, [[device bin32, wall uint] ...], more bool]  (idem)
 *
 * PRESENCE_SUM's digest is fm_pset_digest() of the (device, wall) of the
 * notes the sender holds: equal sums, no note travels; otherwise each
 * side offers its pairs and then sends only the notes the peer lacks.
 * |wall| is the sender's wall clock as it sends it (0: unknown), from
 * which the receiver measures how far its clock is from the peer's.
 *
 *   PACKED   [14, frame bin]             (a zstd frame holding one ENTRIES
 *                                         message: only when both HELLOs
 *                                         set FM_FEAT_ZSTD; zpack.h)
 *   WANT     [15, ids bin]               (attachment chunks, only between
 *   CHUNK    [16, id bin32, chunk bin]    peers whose HELLOs both set
 *   NOCHUNK  [17, ids bin]                FM_FEAT_BLOBS)
 *   HELD     [18, ids bin]               (only to a peer whose HELLO set
 *                                         FM_FEAT_HELD)
 *
 * WANT asks for 1 .. FM_WANT_MAX chunks by id (32 bytes each, back to
 * back); the peer answers each with CHUNK (the sealed chunk) or NOCHUNK
 * (ids it does not hold), after the entries it has to send.  A node never
 * has more than FM_WANT_MAX ids asked and unanswered.
 *
 * HELD names chunks (1 .. FM_WANT_MAX ids) the sender now holds, among
 * those the peer sent it in CHUNK in this session: a receiver sends it
 * once a chunk is in its store.  Only HELD makes a chunk count as a copy
 * elsewhere ("safe to leave the village" for scans), never having sent
 * it; a HELD naming a chunk not sent and not yet confirmed drops the peer.
 *
 * vector_digest is fm_vector_digest() of the sender's vector when it sent
 * HELLO: when both digests are equal the two nodes hold the same entries
 * and neither sends its VECTOR, so an in-sync reconnect costs the same
 * whatever the number of authors.
 *
 * ACK is sent after the receiver's store transaction committed: |bytes|
 * and |entries| are what it received (they open the sender's window),
 * |stored| names, for each author of the batch, the highest seq of the
 * batch that the receiver's log now holds (accepted or already held: the
 * very same bytes), and |refused| the ranges it refused or quarantined,
 * with the reason.  Held entries (author not yet enrolled there) are in
 * neither.  Only |stored| ever counts as a copy.
 *
 * head8 is the first 8 bytes of the author's head id: enough to notice two
 * different histories, small enough that an in-sync reconnect costs under
 * 64 bytes per author.  Decoders treat every byte as hostile, accept a
 * message only when it is consumed exactly, and point into the bytes they
 * were given (valid as long as those are).
 */
#ifndef FIELDMESH_MSG_H
#define FIELDMESH_MSG_H

#include "fieldmesh/ingest.h"
#include "fieldmesh/pset.h"
#include "fieldmesh/vector.h"
#include "fieldmesh/wire.h"

/* Version 2: ACK names what was stored and refused.  Version 3: changes
 * may carry `after` and dossiers `date`, which merge differently (a
 * version-2 peer would build other views from the same entries).
 * Version 4: `dossier.correct`.  Version 5: `dossier.attach` (listed in
 * the dossier's view), who may change what as part of validation, the
 * authority's `vocab` entries, which only the authority may write (a
 * version-4 peer would accept into its log what a version-5 one
 * quarantines), sealed personal fields with `seal.grant` entries, presence
 * notes compared before they are sent (PRESENCE_SUM, PRESENCE_OFFER), and
 * ENTRIES that may travel PACKED (compressed) between peers that both
 * announce FM_FEAT_ZSTD.
 * HELLO keeps its layout in every version, so a peer of another version
 * is always told which one it met. */
#define FM_PROTO_VERSION 6

/* Largest plaintext of one frame (a Noise message is at most 65535 bytes,
 * 16 of them the tag). */
#define FM_MSG_MAX (65535 - 16)
#define FM_VECTOR_PAGE 512        /* authors per VECTOR message */
#define FM_BATCH_MAX 1024         /* entries per ENTRIES message */
#define FM_TEXT_MSG_MAX 512       /* bytes of a BYE reason or ERROR text */
#define FM_ACK_STORED_MAX FM_VECTOR_PAGE   /* authors in one ACK's |stored| */
#define FM_ACK_REFUSED_MAX 64     /* ranges in one ACK's |refused| */
/* Presence notes (presence.h) in one PRESENCE message: 48 notes of at most
 * 1 KiB fit a frame. */
#define FM_PRESENCE_BATCH 48

/* HELLO feature bits.  A node sends PRESENCE only to a peer that set
 * FM_FEAT_PRESENCE, so a release without presence notes (same protocol
 * version 3, features 0) never meets the new message. */
#define FM_FEAT_PRESENCE 1u
/* PACKED messages: a node sends them only when both HELLOs set this bit,
 * and drops a peer that sends one otherwise. */
#define FM_FEAT_ZSTD 2u
/* Attachment chunks (WANT, CHUNK, NOCHUNK): sent only when both HELLOs
 * set this bit; a peer that sends them otherwise is dropped. */
#define FM_FEAT_BLOBS 4u
/* HELD messages: sent only to a peer that set this bit; a peer that
 * sends one otherwise is dropped. */
#define FM_FEAT_HELD 8u
/* Chunk ids in one WANT or NOCHUNK, and asked of a peer at once. */
#define FM_WANT_MAX 8

typedef enum fm_msg_type {
  FM_MSG_HELLO = 1, FM_MSG_VECTOR, FM_MSG_ENTRIES, FM_MSG_ACK, FM_MSG_PING,
  FM_MSG_PONG, FM_MSG_BYE, FM_MSG_ERROR, FM_MSG_CAUGHTUP, FM_MSG_CERT,
  FM_MSG_PRESENCE, FM_MSG_PRESENCE_SUM, FM_MSG_PRESENCE_OFFER, FM_MSG_PACKED,
  FM_MSG_WANT, FM_MSG_CHUNK, FM_MSG_NOCHUNK, FM_MSG_HELD
} fm_msg_type;
/* One past the highest type: the size of a table indexed by type. */
#define FM_MSG_TYPE_SLOTS (FM_MSG_NOCHUNK + 1)

typedef struct fm_msg_vitem {
  uint8_t author[FM_KEY_LEN];
  uint64_t seq;
  uint8_t head8[8];                      /* VECTOR only */
} fm_msg_vitem;

/* Entries |from| .. |to| of |author| refused or quarantined, for |code|
 * (an FM_ERR_* value: FM_ERR_GAP, FM_ERR_BADPREV, FM_ERR_FORK ...). */
typedef struct fm_msg_refusal {
  uint8_t author[FM_KEY_LEN];
  uint64_t from, to;
  int64_t code;
} fm_msg_refusal;

/* A decoded message.  Arrays point into scratch owned by the caller of
 * fm_msg_decode (|items|, |entries| and |refused| hold the maxima above). */
typedef struct fm_msg {
  fm_msg_type type;
  uint64_t version, features, u1, u2;   /* HELLO; ACK bytes/entries; PING/PONG nonce; CAUGHTUP */
  uint8_t node_id[FM_KEY_LEN];
  uint8_t vdigest[32];                   /* HELLO; PRESENCE_SUM's digest
                                          * (its wall in |u1|) */
  const uint8_t *cert;                   /* HELLO, CERT */
  size_t cert_len;
  int64_t code;                          /* ERROR */
  const char *text;                      /* BYE, ERROR: not NUL-terminated */
  size_t text_len;
  fm_msg_vitem *items;                   /* VECTOR; ACK's stored (author, seq);
                                          * PRESENCE_OFFER's (device, wall) */
  size_t nitems;
  fm_msg_refusal *refused;               /* ACK */
  size_t nrefused;
  int more;
  fm_slice *entries;                     /* ENTRIES; PRESENCE's notes (hostile:
                                          * fm_presence_parse them) */
  size_t nentries;
  const uint8_t *ids;                    /* WANT, NOCHUNK: |nids| ids of 32
                                          * bytes; CHUNK: its id */
  size_t nids;
  const uint8_t *chunk;                  /* CHUNK: the chunk (hostile) */
  size_t chunk_len;
  const uint8_t *packed;                 /* PACKED: the zstd frame (hostile:
                                          * fm_zpack_unpack it) */
  size_t packed_len;
} fm_msg;

/* Decodes one message of |len| bytes.  |m->items| must point at room for
 * FM_VECTOR_PAGE items, |m->entries| at room for FM_BATCH_MAX slices and
 * |m->refused| at room for FM_ACK_REFUSED_MAX ranges.
 * Returns 0 or FM_ERR_PROTO (unknown type) or FM_ERR_MALFORMED. */
int fm_msg_decode(const uint8_t *p, size_t len, fm_msg *m);

/* Encoders append one message to |w|'s buffer. */
void fm_msg_hello(fm_wr *w, const uint8_t node_id[static FM_KEY_LEN],
                  const uint8_t *cert, size_t cert_len, uint64_t features,
                  const uint8_t vdigest[static 32]);
void fm_msg_vector(fm_wr *w, const fm_vec_item *items, size_t n, int more);
/* ENTRIES is written in two steps: the header, then each entry. */
void fm_msg_entries_begin(fm_wr *w, uint32_t n);
/* |nstored| <= FM_ACK_STORED_MAX items (head8 unused), |nrefused| <=
 * FM_ACK_REFUSED_MAX ranges. */
void fm_msg_ack(fm_wr *w, uint64_t bytes, uint64_t entries, const fm_msg_vitem *stored,
                size_t nstored, const fm_msg_refusal *refused, size_t nrefused);
void fm_msg_ping(fm_wr *w, fm_msg_type type, uint64_t nonce);  /* PING or PONG */
void fm_msg_bye(fm_wr *w, const char *reason);
void fm_msg_error(fm_wr *w, int code, const char *text);
void fm_msg_caughtup(fm_wr *w, uint64_t sent);
void fm_msg_cert(fm_wr *w, const uint8_t *cert, size_t len);
/* PRESENCE from |n| <= FM_PRESENCE_BATCH notes already packed as
 * MessagePack bins, back to back, in |bins| (|len| bytes). */
void fm_msg_presence(fm_wr *w, uint32_t n, const uint8_t *bins, size_t len);
void fm_msg_presence_sum(fm_wr *w, const uint8_t digest[static 32], uint64_t wall);
/* |n| <= FM_VECTOR_PAGE pairs; |more|: another page follows. */
void fm_msg_presence_offer(fm_wr *w, const fm_pset_item *items, size_t n, int more);
/* WANT or NOCHUNK of 1 .. FM_WANT_MAX ids (32 bytes each, back to back). */
void fm_msg_ids(fm_wr *w, fm_msg_type type, const uint8_t *ids, size_t n);
/* CHUNK: the chunk |id| names, |len| bytes. */
void fm_msg_chunk(fm_wr *w, const uint8_t id[static 32], const uint8_t *chunk, size_t len);

#endif
