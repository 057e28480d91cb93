/* Small types shared by every fieldmesh module. */
#ifndef FIELDMESH_TYPES_H
#define FIELDMESH_TYPES_H

#include <stddef.h>
#include <stdint.h>

/* Milliseconds since the Unix epoch.  proto/ never reads a clock: every
 * function that needs the time takes an fm_time from its caller. */
typedef int64_t fm_time;
#define FM_TIME_NEVER INT64_MAX

#define FM_KEY_LEN 32   /* Ed25519 public key, device id */
#define FM_ID_LEN 32    /* BLAKE2b-256 entry id */
#define FM_SIG_LEN 64

/* Randomness comes in through the caller: proto/ never calls randombytes. */
typedef struct fm_rng {
  void (*fill)(void *ctx, uint8_t *out, size_t len);
  void *ctx;
} fm_rng;

/* Lowercase hex of |n| bytes into |out|, which must hold 2n+1 chars. */
void fm_hex(const uint8_t *p, size_t n, char *out);
/* Parses exactly 2n hex digits (either case) from |s| into |out|.
 * Returns 0 or FM_ERR_INVAL; |out| is written only on success. */
int fm_unhex(const char *s, uint8_t *out, size_t n);

#endif
