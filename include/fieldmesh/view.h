/* Materialized views and their merge rules.
 *
 * Every node that holds the same set of entries holds byte-identical views,
 * whatever order the entries arrived in (per author, entries always arrive
 * in seq order; across authors, any order).  That holds because each field
 * is a maximum over a total order on stamps, (order, author, seq):
 *
 *   - a change's order is its hlc, or one past the body's `after` (the
 *     latest order its writer had seen on that record) when that is
 *     larger: a change made after seeing another is later than it,
 *     whatever the two clocks said; the hlc only orders changes made
 *     without seeing each other;
 *   - dossier status: the higher level wins, then the higher rank on the
 *     ladder, then the stamp.  A correction's level is its own order; a
 *     status's level is the `correction` its writer had seen (0 if none):
 *     a correction wins over every status not written after seeing it,
 *     whatever the ladder, and the statuses written after seeing it
 *     climb the ladder again from it;
 *   - the other dossier fields, as one group, and the portal reference on
 *     its own: the later stamp wins;
 *   - a visit is written once (the later stamp wins on a repeated id) and
 *     can be voided; the latest void is kept.
 *
 * Personal fields (the applicant's name, id number and phone, a record's
 * note, a visit's place) are kept as written: a str, or the bin of a
 * sealed value (include/fieldmesh/seal.h), which merges like any value.
 *
 * A view record is a canonical MessagePack array (see docs/architecture.md);
 * decoded views point into the record's bytes.
 */
#ifndef FIELDMESH_VIEW_H
#define FIELDMESH_VIEW_H

#include "fieldmesh/entry.h"
#include "fieldmesh/record.h"

typedef enum fm_view_kind { FM_VIEW_NONE, FM_VIEW_DOSSIER, FM_VIEW_VISIT } fm_view_kind;

typedef struct fm_str {
  const char *p;   /* not NUL-terminated; points into a record or entry */
  size_t n;
} fm_str;

/* Bits of a view's `sealed` and `locked`: which personal fields hold a
 * sealed value's bytes, not text (open them with store/keys.h before
 * showing them), and, once opened, which show a placeholder. */
#define FM_SEALED_NAME 1u      /* dossier: applicant_name */
#define FM_SEALED_ID 2u        /* dossier: applicant_id */
#define FM_SEALED_PHONE 4u     /* dossier: phone */
#define FM_SEALED_NOTE 8u      /* dossier, visit: note */
#define FM_SEALED_PLACE 16u    /* visit: place */

typedef struct fm_stamp {
  int set;                     /* 0: no such write yet */
  fm_hlc hlc;                  /* as the writer's clock stamped the entry */
  fm_hlc order;                /* what merges compare: max(hlc, after + 1) */
  uint8_t author[FM_KEY_LEN];
  uint64_t seq;
} fm_stamp;

/* <0, 0, >0 as |a| is older, the same as, newer than |b|; unset is oldest. */
int fm_stamp_cmp(const fm_stamp *a, const fm_stamp *b);

#define FM_VIEW_ATTACH_MAX 64

typedef struct fm_dossier_view {
  fm_stamp base;               /* the write that set the fields below */
  fm_stamp created;            /* earliest dossier write: creator and time */
  fm_str procedure, applicant_name, applicant_id, phone, village, team,
      channel, note;
  const uint8_t *attachments;  /* encoded array of the stamps of its
                                * `dossier.attach` entries, oldest first,
                                * at most FM_VIEW_ATTACH_MAX */
  size_t attachments_len;
  fm_stamp ref_stamp;
  fm_str portal_ref;
  int status;                  /* fm_status */
  fm_stamp status_stamp;
  fm_str status_note;
  fm_str date;                 /* the creating entry's `date` ("" when none) */
  fm_hlc status_level;         /* the correction the status stands on (0: none) */
  unsigned sealed, locked;     /* FM_SEALED_* bits (not part of the record) */
} fm_dossier_view;

typedef struct fm_visit_view {
  fm_stamp base;
  fm_str team, village, place, date, mode, note;
  uint32_t services;           /* bitmask over fm_service_name() */
  uint64_t citizens;
  fm_stamp void_stamp;         /* set: the visit was voided */
  fm_str void_reason;
  unsigned sealed, locked;     /* FM_SEALED_* bits (not part of the record) */
} fm_visit_view;

/* The stamps of |d|'s `dossier.attach` entries, oldest first, into
 * |out|: how many (0 when none, or when the record holds something else).
 * Each names its entry by author and seq (fm_store_entry_copy). */
size_t fm_dossier_view_attachments(const fm_dossier_view *d,
                                   fm_stamp out[static FM_VIEW_ATTACH_MAX]);

/* Which record |e| changes, pointing |id| (|n| bytes) into e's body.
 * FM_VIEW_NONE for kinds that are not materialized or bodies without a
 * usable id (empty or longer than FM_RECORD_ID_MAX). */
fm_view_kind fm_view_target(const fm_entry *e, const char **id, size_t *n);

/* Merges |e| into the record |old| (|old_len| bytes; NULL and 0 when the
 * record does not exist yet) and writes the new record to |out| (reset
 * first).  |e| must target a record of kind |k|.  Returns 0, a buffer
 * error, or FM_ERR_CORRUPT when |old| does not decode. */
int fm_view_apply(fm_view_kind k, const uint8_t *old, size_t old_len,
                  const fm_entry *e, fm_buf *out);

/* The latest order among the stamps of a record: what a writer puts in a
 * change's `after` so that the change is later than all it has seen. */
fm_hlc fm_dossier_view_seen(const fm_dossier_view *d);
fm_hlc fm_visit_view_seen(const fm_visit_view *v);

/* Encodes |d| (|v|) as a record, appended to |out|: for a record whose
 * sealed fields were opened (store/keys.h), a copy with the text in their
 * place, for the gateway's sinks.  0 or the buffer's error. */
int fm_dossier_view_encode(fm_buf *out, const fm_dossier_view *d);
int fm_visit_view_encode(fm_buf *out, const fm_visit_view *v);

/* Decode a stored record.  0 or FM_ERR_CORRUPT. */
int fm_dossier_view_decode(const uint8_t *rec, size_t len, fm_dossier_view *out);
int fm_visit_view_decode(const uint8_t *rec, size_t len, fm_visit_view *out);

#endif
