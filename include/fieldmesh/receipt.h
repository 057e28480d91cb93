/* Receipts: a gateway's signed word that an upstream sink acknowledged
 * entries of the mesh.
 *
 * A `receipt` entry is written only by a device enrolled with the gateway
 * role (the store refuses it from any other), one or more for each batch a
 * sink acknowledged, and replicates like any entry.  Its body:
 *
 *   {sink:  str (1..FM_RECEIPT_SINK_MAX bytes: "spool", "postgres", "http"),
 *    batch: bin 16 (the gateway's batch id),
 *    ref:   str (0..FM_RECEIPT_REF_MAX bytes: the upstream's name for the
 *           batch: a spool file, a PostgreSQL transaction, an HTTP reply's ref),
 *    items: [[author bin 32, [[seq uint >= 1, id8 bin 8, ref str], ...]], ...]}
 *
 * Entries are named by (author, seq), the key of every log, so a node
 * finds a receipted entry without an index by id; |id8|, the first 8
 * bytes of the entry's id, says which entry of that (author, seq) was
 * forwarded, so a forked one is never taken for it.  An item's |ref| is
 * the upstream's own name for that entry (often empty).  Items are grouped
 * by author so a receipt costs about 17 bytes per entry: at most
 * FM_RECEIPT_GROUP_MAX authors per receipt and entries per author, and a
 * body of at most FM_RECEIPT_BODY_MAX bytes.  Keys are written in the
 * order above; the parser finds them in any order and ignores others.
 */
#ifndef FIELDMESH_RECEIPT_H
#define FIELDMESH_RECEIPT_H

#include "fieldmesh/types.h"
#include "fieldmesh/wire.h"

#define FM_RECEIPT_SINK_MAX 16
#define FM_RECEIPT_REF_MAX 64
#define FM_RECEIPT_BATCH_LEN 16
#define FM_RECEIPT_ID8_LEN 8
#define FM_RECEIPT_GROUP_MAX 256
#define FM_RECEIPT_BODY_MAX (12 * 1024)   /* well inside an entry's 16 KiB */

typedef struct fm_receipt_item {
  uint8_t author[FM_KEY_LEN];
  uint64_t seq;
  uint8_t id8[FM_RECEIPT_ID8_LEN];
  const char *ref;        /* not NUL-terminated; may be NULL when |ref_len| is 0 */
  size_t ref_len;
} fm_receipt_item;

/* Appends one receipt body to |out| naming as many of |items|[0..|n|) as
 * fit, in order, and sets |*used| to how many that is (at least one when
 * |n| > 0).  Call again with the rest for the next receipt.  Consecutive
 * items with the same author share a group; the caller sorts by author to
 * keep receipts small.  Returns 0, FM_ERR_INVAL (|n| is 0, |sink| empty or
 * over FM_RECEIPT_SINK_MAX, a ref over FM_RECEIPT_REF_MAX, a seq of 0) or
 * the buffer's error. */
int fm_receipt_body(fm_buf *out, const char *sink, const uint8_t batch[FM_RECEIPT_BATCH_LEN],
                    const char *ref, size_t ref_len, const fm_receipt_item *items,
                    size_t n, size_t *used);

/* A parsed receipt body.  Pointers go into the body's bytes and live as
 * long as they do. */
typedef struct fm_receipt {
  const char *sink;
  size_t sink_len;
  uint8_t batch[FM_RECEIPT_BATCH_LEN];
  const char *ref;
  size_t ref_len;
  uint64_t count;          /* items in all groups */
  /* iteration state for fm_receipt_next() */
  fm_rd cur;
  uint32_t groups_left, items_left;
  uint8_t author[FM_KEY_LEN];
} fm_receipt;

/* Parses and checks the whole of a receipt body (a map already checked by
 * fm_entry_decode: hostile bytes otherwise).  Returns 0 and fills |*out|,
 * or FM_ERR_MALFORMED (a key missing or of the wrong type, a limit above
 * exceeded, a group empty, a seq of 0).  A node materializes nothing of a
 * malformed receipt; it stays in the log like any signed entry. */
int fm_receipt_parse(const uint8_t *body, size_t len, fm_receipt *out);

/* The next item of a parsed receipt: 1 and |*it| (its ref points into the
 * body), or 0 after the last. */
int fm_receipt_next(fm_receipt *r, fm_receipt_item *it);

#endif
