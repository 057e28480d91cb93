/* The control protocol: how `fieldmesh` talks to a running `fieldmeshd`
 * over the Unix socket STATE/fieldmeshd.sock (mode 0600: only the user who
 * owns the state folder may talk to the daemon).
 *
 * A frame is a 4-byte big-endian length (1 .. FM_CONTROL_FRAME_MAX) and
 * that many bytes holding one MessagePack map.  The client sends one
 * request and reads one response before it sends the next; the daemon
 * answers requests of one connection in order.
 *
 * Requests:
 *   {cmd: "status"}            the daemon: listen address, peers, own entries
 *   {cmd: "peers"}             every known address and its connection
 *   {cmd: "sync", addr: str}   connect now to "host:port"; answered once the
 *                              peer is admitted, or the attempt failed
 *   {cmd: "poke"}              the store gained entries (the CLI wrote):
 *                              offer them to every connected peer
 *   {cmd: "stop"}              shut down cleanly (answered first)
 *
 * Responses: {ok: bool, error: str, ...}.  |error| is "" when |ok|, and
 * otherwise one line for a person.  After it, by request:
 *   status  status: {listen, id: bin32, name, team, pid, started, connected,
 *                    known, own_seq, only_here, copies_one, copies_more,
 *                    receipted, unsafe, safe_copies, safe, entries, ingested}
 *   peers   peers: [peer ...], omitted: uint (addresses not listed)
 *   sync    peer: peer   (the connection the daemon made or already had)
 * where a peer is {addr, origin, id: bin32|nil, name, team, state, since,
 *   last_connected, bytes_in, bytes_out, entries_in, entries_out, to_send,
 *   to_recv, to_send_bytes, to_recv_bytes, rate_in, rate_out, caught_up_at,
 *   last_error, failures, next_attempt}.
 * Times are milliseconds since 1970, 0 for never; rates are bytes per
 * second over the last few seconds.
 *
 * Both parsers take hostile bytes: a strict cursor (shortest forms, UTF-8
 * strings), every length checked before it is used, every limit before
 * anything is allocated, and a message accepted only when consumed
 * exactly.  The request parser refuses unknown keys; the response parser
 * skips them, so a newer daemon can add fields that an older CLI ignores.
 */
#ifndef FIELDMESH_CONTROL_H
#define FIELDMESH_CONTROL_H

#include "fieldmesh/enroll.h"
#include "fieldmesh/wire.h"

#define FM_CONTROL_SOCKET "fieldmeshd.sock"   /* in the state folder */
#define FM_CONTROL_HDR 4
#define FM_CONTROL_FRAME_MAX 65536            /* bytes of one frame's map */
#define FM_CONTROL_ADDR_MAX 128               /* "host:port", with its NUL */
#define FM_CONTROL_TEXT_MAX 160               /* an error or reason, with NUL */
#define FM_CONTROL_STATE_MAX 32               /* a peer's state word, with NUL */
#define FM_CONTROL_REFUSAL_MAX 96             /* what a peer last refused, with NUL */
#define FM_CONTROL_ORIGIN_MAX 16              /* "static", "incoming", "manual", "beacon" */
/* Peers listed in one response: FM_CONTROL_PEERS_MAX peers of at most
 * FM_CONTROL_PEER_WIRE_MAX bytes each always fit one frame. */
#define FM_CONTROL_PEERS_MAX 48
#define FM_CONTROL_PEER_WIRE_MAX 1360

typedef enum fm_control_cmd {
  FM_CTL_STATUS = 1,
  FM_CTL_PEERS,
  FM_CTL_SYNC,
  FM_CTL_POKE,
  FM_CTL_STOP,
} fm_control_cmd;

typedef struct fm_control_req {
  fm_control_cmd cmd;
  char addr[FM_CONTROL_ADDR_MAX];   /* FM_CTL_SYNC only; "" otherwise */
} fm_control_req;

/* The command's name ("status", ...), or "?" for a value out of range. */
const char *fm_control_cmd_name(fm_control_cmd cmd);

/* ---- framing -------------------------------------------------------------- */

/* Looks at the |len| bytes received so far.  Returns 1 when they start with
 * a whole frame (|*body| and |*body_len| then point at its map, inside
 * |p|; the frame takes FM_CONTROL_HDR + |*body_len| bytes), 0 when more
 * bytes are needed, FM_ERR_FRAME when the length is 0 or over
 * FM_CONTROL_FRAME_MAX (drop the connection). */
int fm_control_frame(const uint8_t *p, size_t len, const uint8_t **body,
                     size_t *body_len);

/* ---- requests ------------------------------------------------------------- */

/* Parses one request map of |len| bytes at |p| (a frame's body, hostile
 * bytes).  Returns 0 and fills |*out|, or:
 *   FM_ERR_TOOBIG     |len| over FM_CONTROL_FRAME_MAX, or addr too long
 *   FM_ERR_MALFORMED  not exactly one map of string keys and string
 *                     values, a key repeated or unknown, bytes left over
 *   FM_ERR_INVAL      an unknown command, addr missing for "sync" or
 *                     given for another command, addr not printable ASCII
 * |*out| is written only on success.  Needs nothing but its arguments:
 * this is the entry point of the control fuzz target. */
int fm_control_parse_request(const uint8_t *p, size_t len, fm_control_req *out);

/* Appends one whole request frame to |out|.  0, FM_ERR_INVAL (bad cmd,
 * addr missing or too long) or a buffer error. */
int fm_control_write_request(fm_buf *out, const fm_control_req *req);

/* ---- responses ------------------------------------------------------------ */

typedef struct fm_control_status {
  char listen[FM_CONTROL_ADDR_MAX];   /* "" when not listening */
  uint8_t id[FM_KEY_LEN];             /* this device */
  char name[FM_NAME_MAX], team[FM_NAME_MAX];
  uint64_t pid;
  fm_time started;
  uint64_t connected;                 /* admitted sessions now */
  uint64_t known;                     /* address records */
  uint64_t own_seq;                   /* this device's own entries */
  uint64_t only_here;                 /* of those, on no other device */
  uint64_t copies_one, copies_more;   /* on exactly one other device, on two or more */
  uint64_t receipted;                 /* named by a gateway receipt */
  uint64_t unsafe;                    /* fewer than safe_copies holders, no receipt */
  uint64_t safe_copies;               /* [node] safe_copies */
  uint64_t safe;                      /* 1: safe to leave the village (unsafe == 0) */
  uint64_t entries;                   /* entries in the store */
  uint64_t ingested;                  /* accepted from peers since start */
} fm_control_status;

typedef struct fm_control_peer {
  char addr[FM_CONTROL_ADDR_MAX];
  char origin[FM_CONTROL_ORIGIN_MAX]; /* static, incoming, manual, beacon */
  int has_id;                         /* id, name and team are known */
  uint8_t id[FM_KEY_LEN];
  char name[FM_NAME_MAX], team[FM_NAME_MAX];
  char state[FM_CONTROL_STATE_MAX];   /* connecting, handshake, syncing,
                                       * stalled, live, closing, waiting,
                                       * disconnected, duplicate, self */
  fm_time since;                      /* connected since; 0 when not */
  fm_time last_connected;             /* last admitted; 0 never */
  uint64_t bytes_in, bytes_out, entries_in, entries_out;
  uint64_t to_send, to_recv, to_send_bytes, to_recv_bytes;
  uint64_t rate_in, rate_out;         /* bytes/s, last few seconds */
  fm_time caught_up_at;               /* last completed exchange; 0 never */
  char last_error[FM_CONTROL_TEXT_MAX];
  uint64_t refused;                   /* entries we sent that it refused */
  char last_refused[FM_CONTROL_REFUSAL_MAX]; /* "seq 5-9 of 5a08e209: sequence gap" */
  uint64_t failures;                  /* failed attempts and sessions */
  fm_time next_attempt;               /* next dial; 0 when none planned */
  uint64_t chunks_in, chunks_out;     /* scans' chunks this session */
  uint64_t chunks_bad;                /* received, but not the chunk asked for:
                                       * dropped, and asked again */
} fm_control_peer;

typedef struct fm_control_resp {
  int ok;
  char error[FM_CONTROL_TEXT_MAX * 2];
  int has_status;
  fm_control_status status;
  int has_peers;
  size_t npeers;
  fm_control_peer *peers;             /* owned: fm_control_resp_free() */
  uint64_t omitted;
  int has_peer;
  fm_control_peer peer;               /* sync */
} fm_control_resp;

/* Each writer appends one whole response frame to |out| (whose limit
 * should be at least FM_CONTROL_HDR + FM_CONTROL_FRAME_MAX) and returns 0,
 * FM_ERR_TOOBIG (over a frame) or a buffer error.  Strings longer than
 * their field are cut at a UTF-8 boundary.  fm_control_write_peers lists
 * at most FM_CONTROL_PEERS_MAX and counts the rest in |omitted|. */
int fm_control_write_error(fm_buf *out, const char *error);
int fm_control_write_ok(fm_buf *out, const fm_control_peer *peer /* may be NULL */);
int fm_control_write_status(fm_buf *out, const fm_control_status *st);
int fm_control_write_peers(fm_buf *out, const fm_control_peer *peers, size_t n);

/* Parses one response map (a frame's body).  0, FM_ERR_MALFORMED,
 * FM_ERR_TOOBIG (more than FM_CONTROL_PEERS_MAX peers, a string over its
 * field) or -ENOMEM.  On success |*out| owns memory: fm_control_resp_free().
 * Unknown keys are skipped; missing ones are left zero. */
int fm_control_parse_response(const uint8_t *p, size_t len, fm_control_resp *out);
void fm_control_resp_free(fm_control_resp *r);

#endif
