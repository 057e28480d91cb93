#include "fieldmesh/error.h"

#include <string.h>

const char *fm_strerror(int code) {
  switch (code) {
  case FM_OK: return "ok";
  case FM_ERR_MALFORMED: return "malformed data";
  case FM_ERR_BADSIG: return "bad signature";
  case FM_ERR_TOOBIG: return "over a size, count or depth limit";
  case FM_ERR_VERSION: return "unknown version";
  case FM_ERR_GAP: return "sequence gap";
  case FM_ERR_BADPREV: return "previous-entry link does not match";
  case FM_ERR_DUPLICATE: return "already held";
  case FM_ERR_FORK: return "fork: two different entries with one sequence number";
  case FM_ERR_NOTFOUND: return "not found";
  case FM_ERR_EXISTS: return "already exists";
  case FM_ERR_INVAL: return "invalid argument";
  case FM_ERR_BEHIND: return "the mesh holds newer entries of this device: fetch them before writing";
  case FM_ERR_NOSPACE: return "disk full";
  case FM_ERR_CORRUPT: return "store is inconsistent";
  case FM_ERR_IO: return "input/output error";
  case FM_ERR_CHECKSUM: return "checksum mismatch";
  case FM_ERR_TRUNCATED: return "file is truncated";
  case FM_ERR_STALE: return "views or receipts disagree with the log";
  case FM_ERR_DAMAGED: return "this laptop's store is damaged";
  case FM_ERR_HELDFULL: return "held table full";
  case FM_ERR_NOTREG: return "not a regular file";
  case FM_ERR_ROLLEDBACK: return "written after a restored backup: set aside and written again";
  case FM_ERR_BOMB: return "compressed data would unpack past its bound";
  case FM_ERR_AUTH: return "author is not enrolled in this commune";
  case FM_ERR_REVOKED: return "author was revoked";
  case FM_ERR_EXPIRED: return "enrollment has expired";
  case FM_ERR_ROLE: return "author's role may not write this kind of entry";
  case FM_ERR_MESH: return "belongs to another commune";
  case FM_ERR_FATAL: return "fatal protocol error";
  case FM_ERR_PROTO: return "protocol violation";
  case FM_ERR_HANDSHAKE: return "handshake failed";
  case FM_ERR_DECRYPT: return "frame does not authenticate";
  case FM_ERR_FRAME: return "bad frame";
  default: break;
  }
  if (code < 0 && code > -4096) return strerror(-code);
  /* LMDB's own range. */
  if (code <= -30779 && code >= -30799) return "LMDB error";
  return "unknown error";
}
