/* Field records: visits and dossiers, and the bodies of their entries.
 *
 *   visit           {id, team, village, place, date "YYYY-MM-DD", mode,
 *                    services: [str], citizens: uint, note}
 *   visit.void      {id, reason, after?}
 *   dossier         {id, procedure, applicant: {name, id_number, phone},
 *                    village, team, channel, portal_ref, attachments: [bin 32],
 *                    note, date? "YYYY-MM-DD"}
 *   dossier.status  {id, status, ref, note, after?, correction?}
 *   dossier.correct {id, status, reason, after?}   (leader, officer, admin)
 *
 * `after` (uint, written when not 0) is the latest merge order the writer
 * had seen on the record (fm_dossier_view_seen, fm_visit_view_seen): the
 * change then wins over everything it saw, whatever the clocks say
 * (include/fieldmesh/view.h).  A dossier's `date` is the day it was made,
 * as the writer's calendar said: what people are shown, not the stamp.
 * A status's `correction` (uint, written when not 0) is the status level
 * of the dossier as its writer saw it (fm_dossier_view.status_level): the
 * order of the latest correction it stands on.  A correction replaces the
 * status whatever the ladder; see include/fieldmesh/view.h.
 *
 * Personal fields (a dossier's applicant and note, a visit's place and
 * note) may be sealed: a bin (include/fieldmesh/seal.h) where a str is.
 *
 * Keys not listed are kept and replicated but not materialized.  Builders
 * here produce bodies in this fixed key order; text fields may be empty.
 */
#ifndef FIELDMESH_RECORD_H
#define FIELDMESH_RECORD_H

#include "fieldmesh/wire.h"

#define FM_KIND_VISIT "visit"
#define FM_KIND_VISIT_VOID "visit.void"
#define FM_KIND_DOSSIER "dossier"
#define FM_KIND_DOSSIER_STATUS "dossier.status"
#define FM_KIND_DOSSIER_CORRECT "dossier.correct"
#define FM_KIND_RECEIPT "receipt"

#define FM_RECORD_ID_MAX 40

/* ---- enumerations ------------------------------------------------------- */

typedef enum fm_visit_mode { FM_MODE_HOME, FM_MODE_VILLAGE_POINT, FM_MODE_ONE_STOP } fm_visit_mode;
#define FM_MODE_COUNT 3
/* Names as written in entries, and back: a static string ("unknown"
 * outside 0 .. COUNT-1); the index of the |n|-byte name, or -1 when unknown.  The
 * same for services and statuses below. */
const char *fm_mode_name(int m);
int fm_mode_parse(const char *s, size_t n);       /* index or -1 */

#define FM_SERVICE_COUNT 7
const char *fm_service_name(int i);
int fm_service_parse(const char *s, size_t n);    /* index or -1 */
/* "a,b,c" (blank space around an item is allowed) to a bitmask.  Returns
 * 0, FM_ERR_INVAL when an item is unknown or empty (or the list is), or
 * FM_ERR_EXISTS when an item is listed twice; then |*item| and |*item_len|
 * (both may be NULL) point at that item in |list|, trimmed. */
int fm_services_parse_list(const char *list, uint32_t *mask, const char **item,
                           size_t *item_len);

/* The ladder: draft < submitted < processing < result_ready < delivered;
 * rejected and withdrawn are final and rank above the ladder. */
typedef enum fm_status {
  FM_ST_DRAFT, FM_ST_SUBMITTED, FM_ST_PROCESSING, FM_ST_RESULT_READY,
  FM_ST_DELIVERED, FM_ST_REJECTED, FM_ST_WITHDRAWN
} fm_status;
#define FM_STATUS_COUNT 7
const char *fm_status_name(int st);
int fm_status_parse(const char *s, size_t n);     /* index or -1 */
/* Rank on the merge ladder: the higher rank wins. */
int fm_status_rank(int st);

/* ---- ids ------------------------------------------------------------------ */

/* Makes a record id: |prefix| ('V' or 'D'), '-', then 16 Crockford base32
 * digits of 48 bits of |ms|, 2 bytes of |author| and 2 random bytes.  Ids
 * sort by time, which keeps the view tables' inserts local.  |out| holds
 * at least 19 bytes. */
void fm_record_id(char prefix, uint64_t ms, const uint8_t author[static 2],
                  const uint8_t rnd[static 2], char *out);

/* ---- body builders --------------------------------------------------------- */

typedef struct fm_visit_in {
  const char *id, *team, *village, *place, *date, *note;
  int mode;             /* fm_visit_mode */
  uint32_t services;    /* bitmask over fm_service_name() */
  uint64_t citizens;
} fm_visit_in;

typedef struct fm_dossier_in {
  const char *id, *procedure, *name, *id_number, *phone, *village, *team,
      *channel, *portal_ref, *note;
  const char *date;     /* "YYYY-MM-DD"; NULL: no `date` key (older writers) */
} fm_dossier_in;

/* Each returns the buffer's error, 0 when all went in. NULL strings encode
 * as empty. */
int fm_visit_body(fm_buf *out, const fm_visit_in *v);
int fm_visit_void_body(fm_buf *out, const char *id, const char *reason);
int fm_dossier_body(fm_buf *out, const fm_dossier_in *d);
/* The same with the personal fields (a visit's place and note, a
 * dossier's applicant name, id number, phone and note) sealed by |seal|
 * when not empty (NULL: clear, as above; include/fieldmesh/seal.h). */
struct fm_sealer;
int fm_visit_body_sealed(fm_buf *out, const fm_visit_in *v, const struct fm_sealer *seal);
int fm_dossier_body_sealed(fm_buf *out, const fm_dossier_in *d, const struct fm_sealer *seal);
int fm_dossier_status_body(fm_buf *out, const char *id, int status,
                           const char *ref, const char *note);
/* The same with `after` (0: none, as above). */
int fm_visit_void_body_after(fm_buf *out, const char *id, const char *reason,
                             uint64_t after);
int fm_dossier_status_body_after(fm_buf *out, const char *id, int status,
                                 const char *ref, const char *note, uint64_t after);
/* A status written on a dossier a correction had set: |correction| is the
 * view's status_level (0: none, as above). */
int fm_dossier_status_body_level(fm_buf *out, const char *id, int status,
                                 const char *ref, const char *note, uint64_t after,
                                 uint64_t correction);
/* A correction's body: FM_ERR_INVAL for an unknown status or an empty
 * reason. */
int fm_dossier_correct_body(fm_buf *out, const char *id, int status, const char *reason,
                            uint64_t after);

#endif
