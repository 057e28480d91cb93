/* Callers that keep failing before admission are ignored for a while.
 *
 * Anything on a village Wi-Fi can open connections to fieldmeshd: a
 * broken build, a program sending garbage, a fuzzer.  Each such
 * connection costs a Noise handshake (three X25519 operations) and a log
 * line before it is dropped.  This table remembers, per IP address (ports
 * change with every connection), how many connections from it broke the
 * protocol before admission (fmd_shun_counts); the count starts again
 * when FMD_SHUN_WINDOW_MS pass without a failure.  Past FMD_SHUN_FREE
 * failures the address is ignored -- its connections closed at accept, before any crypto -- for
 * FMD_SHUN_FIRST_MS, doubling at every further failure up to
 * FMD_SHUN_MAX_MS.  An admitted session from the address forgives it.
 *
 * Loopback callers are never ignored: they are this machine (the
 * tests, the demo, a local gateway), and one bad local process must not
 * cut off the others.  `[node] ignore_failing_callers = no` turns it off
 * (a gateway that sees many laptops behind one address).
 *
 * Pure bookkeeping: no libuv, no clock of its own.  Times passed in are
 * of a monotonic clock (the daemon's uv_now), so a laptop whose wall
 * clock is set back does not ignore anyone for longer.  At most
 * FMD_SHUN_SOURCES addresses: a new one takes the place of the one that
 * failed longest ago, preferring one not ignored now.
 */
#ifndef FMD_SHUN_H
#define FMD_SHUN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "fieldmesh/control.h"
#include "fieldmesh/types.h"

#define FMD_SHUN_SOURCES 64
#define FMD_SHUN_FREE 3                        /* failures forgiven */
#define FMD_SHUN_WINDOW_MS (10 * 60 * 1000)    /* older failures are forgotten */
#define FMD_SHUN_FIRST_MS (10 * 1000)
#define FMD_SHUN_MAX_MS (5 * 60 * 1000)

typedef struct fmd_shun_source {
  int used;
  int family;                         /* AF_INET or AF_INET6 */
  uint8_t ip[16];                     /* IPv4 in the first 4 bytes */
  uint32_t failures;                  /* since the last admission, within the window */
  fm_time last_failure;
  fm_time until;                      /* ignored until then; 0: never was */
  uint64_t refused;                   /* connections closed at accept */
  char reason[FM_CONTROL_TEXT_MAX];   /* of the last failure */
} fmd_shun_source;

typedef struct fmd_shun {
  fmd_shun_source src[FMD_SHUN_SOURCES];
  uint64_t refused;                   /* connections closed at accept, in all */
  int count_loopback;                 /* 1: loopback callers are counted and ignored too
                                       * (the dashboard's password guesses, web_auth.h) */
} fmd_shun;

/* Whether a session that failed with |code| (fm_session_stats.error)
 * before admission counts against its caller: it broke the protocol (a
 * failed handshake, a frame that does not authenticate or decode, a
 * message out of order, a bad signature).  A refusal at HELLO does not
 * (another commune, revoked, not enrolled, another version): that device
 * is honest, dials with its own backoff, and may share its address with
 * good laptops behind one NAT.  Nor does a timeout or a lost connection:
 * that is the network. */
int fmd_shun_counts(int code);

/* The IP address of |sa| as text ("10.0.0.5", "fe80::1"), into |out|. */
const char *fmd_shun_ip(const struct sockaddr *sa, char *out, size_t cap);

/* Whether a connection from |sa| arriving at |now| is to be closed at
 * once; counts it when so. */
int fmd_shun_refuses(fmd_shun *t, const struct sockaddr *sa, fm_time now);

/* How long (ms) |sa| is still ignored at |now|; 0 when it is not. */
fm_time fmd_shun_left(const fmd_shun *t, const struct sockaddr *sa, fm_time now);

/* A connection from |sa| failed before admission for |reason|.  Returns
 * how long the address is now ignored (ms) when this failure starts a
 * period of ignoring it, else 0; |*failures| (may be NULL): how many
 * failures the address has now. */
fm_time fmd_shun_failed(fmd_shun *t, const struct sockaddr *sa, const char *reason,
                        fm_time now, uint32_t *failures);

/* A session from |sa| was admitted: its failures are forgiven. */
void fmd_shun_admitted(fmd_shun *t, const struct sockaddr *sa);

/* The addresses ignored at |now|, for `fieldmesh peers`: up to |cap|
 * into |out| as records of origin "incoming" and state "ignored", with
 * the failures, the last reason and, as next_attempt, the end of the
 * period on the wall clock (|wall| is the wall-clock time at |now|).
 * Returns how many there are (may exceed |cap|). */
size_t fmd_shun_report(const fmd_shun *t, fm_time now, fm_time wall, fm_control_peer *out,
                       size_t cap);

#endif
