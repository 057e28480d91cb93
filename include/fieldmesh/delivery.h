/* Delivery: what every node knows of the gateway's receipts.
 *
 * Each node materializes the `receipt` entries it holds (whoever wrote
 * them; only a gateway can) into three tables of its store, so that any
 * laptop, however far from the commune hall, can say which entries
 * reached the commune's system, when, and where:
 *
 *   receipts      author|seq                  -> id8, first receipt's hlc,
 *                                                sinks, gateway, sink, ref
 *   delivered     kind|len|record id|author|seq -> (nothing): the receipted
 *                                                entries of each dossier
 *                                                and visit
 *   receipt_wait  author|seq                  -> (nothing): named by a
 *                                                receipt, not held yet
 *
 * A receipt may arrive before the entries it names (it travels in the
 * gateway's log, they in their authors'); the wait table keeps the
 * difference, and an ordinary entry pays one mdb_stat() for it.  The
 * first receipt of an (author, seq) fixes its id8: a later receipt for
 * another entry of that (author, seq) (a fork) is ignored.  What is kept
 * of several receipts does not depend on their order: the sinks are
 * or-ed, the earliest (hlc, then gateway key) names when and where.
 * None of this is part of the view records or their digest.
 *
 * Functions return 0 or a negative code (as fm_store_*).
 */
#ifndef FIELDMESH_DELIVERY_H
#define FIELDMESH_DELIVERY_H

#include "fieldmesh/receipt.h"
#include "fieldmesh/store.h"

/* Sinks as bits of fm_delivery.sinks. */
#define FM_SINK_BIT_SPOOL 1u
#define FM_SINK_BIT_POSTGRES 2u
#define FM_SINK_BIT_HTTP 4u
#define FM_SINK_BIT_OTHER 8u

/* The bit of the sink named |name| (|n| bytes): one of the above. */
uint32_t fm_sink_bit(const char *name, size_t n);
/* "spool, postgres" for a mask, into |buf| (|cap| bytes). */
const char *fm_sink_bits_str(uint32_t mask, char *buf, size_t cap);

typedef struct fm_delivery {
  uint8_t author[FM_KEY_LEN];
  uint64_t seq;
  uint8_t id8[FM_RECEIPT_ID8_LEN];    /* the receipted entry's id, first 8 bytes */
  uint32_t sinks;                     /* FM_SINK_BIT_* of every receipt */
  fm_hlc at;                          /* the earliest receipt's stamp */
  uint8_t gateway[FM_KEY_LEN];        /* who wrote it */
  char sink[FM_RECEIPT_SINK_MAX + 1]; /* its sink */
  char ref[FM_RECEIPT_REF_MAX + 1];   /* the entry's upstream ref, else the batch's */
} fm_delivery;

/* The delivery of |author|'s entry |seq|: 0, or FM_ERR_NOTFOUND when no
 * receipt names it.  (A receipt for another entry of that seq, a fork,
 * says nothing of the one the caller may hold: compare |id8|.) */
int fm_delivery_get(fm_store *s, const uint8_t author[FM_KEY_LEN], uint64_t seq,
                    fm_delivery *out);

typedef int (*fm_delivery_cb)(void *ctx, const fm_delivery *d);

/* Calls |cb| for every receipted entry this store holds of the record
 * |id| (|n| bytes) of kind |k|, by author and seq, until it returns
 * non-zero (that value is returned). */
int fm_delivery_each_of_record(fm_store *s, fm_view_kind k, const char *id, size_t n,
                               fm_delivery_cb cb, void *ctx);

/* How many of |author|'s entries 1 .. |upto| some receipt names. */
int fm_delivery_count(fm_store *s, const uint8_t author[FM_KEY_LEN], uint64_t upto,
                      uint64_t *out);

#endif
