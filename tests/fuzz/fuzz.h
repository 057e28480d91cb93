/* What the fuzz targets, the corpus generator and the replay runner share.
 *
 * Every target defines LLVMFuzzerTestOneInput().  Built with clang and
 * -fsanitize=fuzzer it is driven by libFuzzer; built with any compiler and
 * linked with replay.c it replays the committed corpus (ctest, label fuzz).
 *
 * The fixture is deterministic: identities come from fixed seeds, entries
 * and certificates from fixed times, so the generator (gen_corpus.c) makes
 * inputs that the targets accept as far as their checks go, and a crash
 * replays the same way in libFuzzer and in the replay runner.
 */
#ifndef FIELDMESH_FUZZ_H
#define FIELDMESH_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "fieldmesh/entry.h"
#include "fieldmesh/noise.h"
#include "fieldmesh/session.h"
#include "fieldmesh/store.h"

/* The entry point of every target (libFuzzer's contract). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property the code under test broke: prints |what| and aborts, so
 * libFuzzer keeps the input and the replay runner fails. */
#define FZ_CHECK(cond, what)                                                   \
  do {                                                                         \
    if (!(cond)) fz_fail(__FILE__, __LINE__, what);                            \
  } while (0)
_Noreturn void fz_fail(const char *file, int line, const char *what);

#define FZ_T0 1700000000000LL  /* the fixture's clock: 2023-11-14 */
#define FZ_COMMUNE "Tân Quang"
#define FZ_DEVS 6              /* devices 2 .. 5 are enrolled */
#define FZ_OWN_ENTRIES 3       /* entries of device 2 in its store */
#define FZ_SEAL_KEY 0x5e       /* fuzz_seal: every byte of the data key */
#define FZ_SEAL_RECORD "D-06DERF6WQ2G9MCSK" /* fuzz_seal: the record sealed for */

/* The commune: its authority, four enrolled devices and their
 * certificates (enroll entries of the authority, seq 1 .. 4), one device
 * of another commune, and a short log of device 2 (FZ_OWN_ENTRIES visits
 * and dossiers, oldest first).  Made on first use, kept for the process. */
typedef struct fz_world {
  fm_identity auth, other_auth;
  fm_identity dev[FZ_DEVS];           /* dev[i]: seed 10 + i */
  uint8_t *cert[FZ_DEVS];             /* for i in 2 .. 5 */
  size_t cert_len[FZ_DEVS];
  uint8_t *foreign_cert;              /* dev[3] enrolled by other_auth */
  size_t foreign_cert_len;
  uint8_t *own[FZ_OWN_ENTRIES];       /* device 2's log */
  size_t own_len[FZ_OWN_ENTRIES];
} fz_world;

const fz_world *fz_world_get(void);

/* Builds and signs an entry into |out| (reset first); aborts on failure
 * (the fixture is wrong, not the code under test). */
void fz_entry(fm_buf *out, const fm_identity *id, uint64_t seq,
              const uint8_t *prev_bytes, size_t prev_len, fm_time t,
              const char *kind, const fm_buf *body);

/* Opens a fresh store that belongs to the commune, with |self| as its
 * device, every certificate installed and device 2's log ingested when
 * |self| is 2.  Its files are unlinked at once: nothing is left in /tmp
 * even when the process dies on a crash. */
fm_store *fz_store_new(int self);

/* ---- the responder session of fuzz_frame and fuzz_session --------------- */

/* Deterministic randomness: the same seed gives the same ephemeral key,
 * hence the same handshake bytes, in the target and in the generator. */
typedef struct fz_rng {
  uint64_t state;
} fz_rng;
void fz_rng_fill(void *ctx, uint8_t *out, size_t len);

/* Session io callbacks with no store behind them (fuzz_frame): device 2's
 * log from the fixture (or, when |empty|, nothing at all: a laptop that
 * has just joined), admission by checking the certificate against the
 * authority, ingestion by decoding and verifying. */
fm_session_io fz_mem_io(int empty);

/* A responder session of device 2 at |now| whose rng is |rng| (seeded by
 * the caller).  |io| as above, or fm_node_io() of a store. */
fm_session *fz_responder(const fm_session_io *io, fz_rng *rng, fm_time now);

/* The initiator side, device 4, scripted: fixed ephemeral key. */
typedef struct fz_initiator {
  fm_noise_hs hs;
  fm_noise_cs tx, rx;
} fz_initiator;

/* Runs the handshake against |s| (a fresh fz_responder) through its
 * fm_session_recv/fm_session_send.  Appends every byte sent to |s| to
 * |wire| when not NULL.  0, or the failing code. */
int fz_handshake(fz_initiator *in, fm_session *s, fm_time now, fm_buf *wire);

/* Encrypts |msg| as one transport frame (length prefix included) into
 * |out| (appended).  0 or a negative code. */
int fz_seal_frame(fz_initiator *in, const uint8_t *msg, size_t len, fm_buf *out);

/* The HELLO of device 4 with vector digest |vdigest|. */
void fz_hello(fm_buf *out, const uint8_t vdigest[32]);

/* The seeds of the responders' rngs in fuzz_frame and fuzz_session: the
 * generator must use the same to make handshakes they accept. */
#define FZ_FRAME_SEED 0x5eed
#define FZ_SESSION_SEED 0x5e55

/* ---- fixed Noise keys of fuzz_handshake -------------------------------- */

/* The responder's static key is device 2's; its ephemeral key and the
 * initiator's (device 4) are these bytes repeated. */
#define FZ_HS_RESP_EPHEMERAL 0x52
#define FZ_HS_INIT_EPHEMERAL 0x44

/* ---- small helpers ------------------------------------------------------- */

/* Reads a 2-byte big-endian length at |p|. */
static inline size_t fz_be16(const uint8_t *p) { return (size_t)p[0] << 8 | p[1]; }

#endif
