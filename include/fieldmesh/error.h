/* fieldmesh error codes.
 *
 * Every fallible function returns an int: 0 (or a count) on success, a
 * negative code on failure.  One int carries errno values (negated), libuv
 * codes (down to about -10000), LMDB codes (-30799 ... -30779) or the
 * fieldmesh codes below, which live in a block of their own.
 *
 * Codes at or below FM_ERR_FATAL mean the peer that sent the bytes broke the
 * protocol and must be dropped.  Errors produced from peer bytes are returned,
 * never asserted.
 */
#ifndef FIELDMESH_ERROR_H
#define FIELDMESH_ERROR_H

#include <stdio.h>
#include <stdlib.h>

#define FM_OK               0

/* Entry and record errors. */
#define FM_ERR_MALFORMED    (-20001) /* bytes do not decode */
#define FM_ERR_BADSIG       (-20002) /* signature does not verify */
#define FM_ERR_TOOBIG       (-20003) /* a size, count or depth limit is exceeded */
#define FM_ERR_VERSION      (-20004) /* unknown format or protocol version */
#define FM_ERR_GAP          (-20005) /* seq is not the next one for its author */
#define FM_ERR_BADPREV      (-20006) /* prev does not match the author's head */
#define FM_ERR_DUPLICATE    (-20007) /* the very same entry is already held */
#define FM_ERR_FORK         (-20010) /* a different entry for a held (author, seq) */
#define FM_ERR_NOTFOUND     (-20020) /* no such record */
#define FM_ERR_EXISTS       (-20021) /* already exists, will not overwrite */
#define FM_ERR_INVAL        (-20022) /* bad argument from a person or a file */
#define FM_ERR_BEHIND       (-20030) /* the mesh holds newer own entries: refuse to write */
#define FM_ERR_NOSPACE      (-20031) /* the disk is full */
#define FM_ERR_CORRUPT      (-20032) /* the store contradicts itself */
#define FM_ERR_IO           (-20033) /* a file could not be read or written */
#define FM_ERR_CHECKSUM     (-20034) /* a file's checksum does not match */
#define FM_ERR_TRUNCATED    (-20035) /* a file ends early */
#define FM_ERR_STALE        (-20036) /* views or receipts disagree with a sound log */
#define FM_ERR_DAMAGED      (-20037) /* the store's files are damaged: run fieldmesh recover */
#define FM_ERR_HELDFULL     (-20038) /* the held table (entries of unknown authors) is full */
#define FM_ERR_NOTREG       (-20039) /* a path is not a regular file (a FIFO, device, link) */
#define FM_ERR_ROLLEDBACK   (-20040) /* our own entry on a branch the mesh does not hold
                                       * (a restored backup written to): set aside and
                                       * written again at the head */
#define FM_ERR_BOMB         (-20041) /* compressed bytes would unpack past their bound
                                       * (a decompression bomb): refused, nothing read */

/* Trust errors. */
#define FM_ERR_AUTH         (-20100) /* author not enrolled by this commune */
#define FM_ERR_REVOKED      (-20101) /* author revoked before this seq */
#define FM_ERR_EXPIRED      (-20102) /* enrollment expired */
#define FM_ERR_ROLE         (-20103) /* author's role may not write this kind */
#define FM_ERR_MESH         (-20104) /* another commune's authority */

/* Protocol errors: at or below FM_ERR_FATAL the peer is dropped. */
#define FM_ERR_FATAL        (-20500)
#define FM_ERR_PROTO        (-20501) /* message out of order or unknown */
#define FM_ERR_HANDSHAKE    (-20502) /* Noise handshake failed */
#define FM_ERR_DECRYPT      (-20503) /* a frame does not authenticate */
#define FM_ERR_FRAME        (-20504) /* a frame is oversized or malformed */

/* Returns a static, human-readable name for |code| (any source above). */
const char *fm_strerror(int code);

/* True when an error caused by a peer means the peer must be dropped. */
static inline int fm_err_is_fatal(int code) { return code <= FM_ERR_FATAL && code > -21000; }

/* Programmer errors: kept on in release builds. */
#define FM_ASSERT(cond)                                                        \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: assertion failed: %s\n", __FILE__, __LINE__,    \
              #cond);                                                          \
      abort();                                                                 \
    }                                                                          \
  } while (0)

#endif
