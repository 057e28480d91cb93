/* Enrollments and revocations: the commune authority's entries.
 *
 * An enrollment is an `enroll` entry in the authority's own log.  The same
 * signed bytes are handed to the new device as a file, so a laptop can join
 * (and prove who it is to peers) before it has synced anything.
 *
 *   enroll  body: {device: bin 32, name, team, role, villages: [str],
 *                  commune, expires: ms since epoch, 0 for never}
 *   revoke  body: {device: bin 32, after_seq: uint}
 *
 * A revocation keeps the device's entries up to after_seq (field work is
 * never lost) and refuses every later one, everywhere.
 */
#ifndef FIELDMESH_ENROLL_H
#define FIELDMESH_ENROLL_H

#include "fieldmesh/entry.h"

typedef enum fm_role {
  FM_ROLE_MEMBER = 0,
  FM_ROLE_LEADER = 1,
  FM_ROLE_GATEWAY = 2,
  FM_ROLE_ADMIN = 3,
  FM_ROLE_OFFICER = 4,       /* the commune hall: corrects any team's records */
} fm_role;

#define FM_NAME_MAX 128      /* bytes of a name, team, commune or village, with NUL */
#define FM_VILLAGES_MAX 16

typedef struct fm_enrollment {
  uint8_t device[FM_KEY_LEN];
  fm_role role;
  char name[FM_NAME_MAX];
  char team[FM_NAME_MAX];
  char commune[FM_NAME_MAX];
  char villages[FM_VILLAGES_MAX][FM_NAME_MAX];
  int nvillages;
  fm_time expires;           /* 0: never */
} fm_enrollment;

#define FM_KIND_ENROLL "enroll"
#define FM_KIND_REVOKE "revoke"

/* The role's name as written in entries ("member" ...): a static string,
 * "unknown" for a value outside the enum. */
const char *fm_role_name(fm_role r);
/* 0 or FM_ERR_INVAL for anything but member, leader, gateway, admin,
 * officer. */
int fm_role_parse(const char *s, fm_role *out);

/* Encodes the body of an enroll entry. 0, FM_ERR_INVAL (empty name or
 * team, bad role) or a buffer error. */
int fm_enroll_body(fm_buf *out, const fm_enrollment *en);

/* Reads an enroll entry's body (structure already checked by
 * fm_entry_decode).  0 or FM_ERR_MALFORMED (a field missing, of the wrong
 * type, too long, or an unknown role); |out| is written only on success. */
int fm_enroll_parse(const fm_entry *e, fm_enrollment *out);

/* True when |en| still holds at |now| (entries are judged by their hlc). */
int fm_enroll_valid_at(const fm_enrollment *en, fm_time now);

/* True when |village| (|n| bytes) is one of the enrollment's villages. */
int fm_enroll_has_village(const fm_enrollment *en, const char *village, size_t n);

/* The body of a revoke entry (the authority's): |device|'s entries past
 * |after_seq| are refused on every node (0: all of them); those up to it
 * stay valid.  Appends to |out|; 0 or the buffer's error. */
int fm_revoke_body(fm_buf *out, const uint8_t device[static FM_KEY_LEN],
                   uint64_t after_seq);
/* Reads a revoke entry |e| into |device| and |*after_seq|.  0, or
 * FM_ERR_MALFORMED when |e| is not a revoke or its body does not read
 * (all or nothing: such an entry, still kept in the log, has no effect). */
int fm_revoke_parse(const fm_entry *e, uint8_t device[static FM_KEY_LEN],
                    uint64_t *after_seq);

#endif
