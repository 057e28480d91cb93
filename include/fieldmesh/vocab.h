/* The commune's vocabularies: its villages, places and teams, signed by
 * the authority, so that every laptop spells a village one way.
 *
 * Each change is a `vocab` entry in the authority's own log (protocol.md
 * 3.8, version 5):
 *
 *   vocab  body: {list: "village"|"place"|"team", op: "add"|"rename"|"retire",
 *                 name: str, to: str (rename only)}
 *
 * Validation quarantines a `vocab` entry by anyone but the authority
 * (FM_ERR_ROLE), and a vocabulary is read from the authority's log only,
 * in seq order, so it is the same on every laptop holding the same
 * prefix of that log.  Names are matched by their folded key
 * (fm_text_fold: no case, no diacritics): "nghia tan" finds "Nghĩa Tân".
 *
 * Applying, in seq order (fm_vocab_apply):
 *   add NAME        a new name; when one of the list's current names folds
 *                   alike, that one is listed again (if retired) under the
 *                   spelling NAME, its former spelling kept as a former name;
 *   rename OLD TO   the name whose current name folds like OLD is called TO
 *                   from now on, OLD kept as a former name; no effect when
 *                   none does, or when TO folds like another current name;
 *   retire NAME     no new record may use it; old ones keep it.
 * A body that does not read, or past the capacity, has no effect.
 *
 * Records keep the text they were written with; readers resolve it
 * (fm_vocab_resolve): a record's village that folds like a current name,
 * or else like a former one (the latest rename first), counts under that
 * name's current spelling.  So after a rename, old records show and group
 * under the new name.
 *
 * Pure logic, no I/O; an fm_vocab is plain memory, single-threaded. */
#ifndef FIELDMESH_VOCAB_H
#define FIELDMESH_VOCAB_H

#include <stddef.h>

#include "fieldmesh/enroll.h"
#include "fieldmesh/entry.h"

#define FM_KIND_VOCAB "vocab"

typedef enum fm_vocab_list { FM_VOCAB_VILLAGE, FM_VOCAB_PLACE, FM_VOCAB_TEAM } fm_vocab_list;
#define FM_VOCAB_LISTS 3

typedef enum fm_vocab_op { FM_VOCAB_ADD, FM_VOCAB_RENAME, FM_VOCAB_RETIRE } fm_vocab_op;

#define FM_VOCAB_NAMES 256    /* names per list; later adds have no effect */
#define FM_VOCAB_FORMER 256   /* former names per list, all names together */

typedef struct fm_vocab_name {
  char name[FM_NAME_MAX];     /* current spelling, NFC */
  char key[FM_NAME_MAX];      /* its folded key (fm_text_fold), cut to fit */
  int retired;
} fm_vocab_name;

typedef struct fm_vocab_former {
  char key[FM_NAME_MAX];      /* folded key of a former spelling */
  char name[FM_NAME_MAX];     /* that spelling, for messages */
  int of;                     /* index of the name it now is */
} fm_vocab_former;

typedef struct fm_vocab_set {
  fm_vocab_name names[FM_VOCAB_NAMES];
  int n;
  fm_vocab_former former[FM_VOCAB_FORMER];
  int nformer;
} fm_vocab_set;

typedef struct fm_vocab {
  fm_vocab_set list[FM_VOCAB_LISTS];
} fm_vocab;

/* "village", "place", "team"; NULL for another value. */
const char *fm_vocab_list_name(fm_vocab_list l);
/* 0 and |*out|, or FM_ERR_INVAL for any other word. */
int fm_vocab_list_parse(const char *s, fm_vocab_list *out);
const char *fm_vocab_op_name(fm_vocab_op op);

/* Encodes a vocab body into |out|: |to| is read for a rename only.  The
 * names must be non-empty, in their one form (fm_text_norm) and at most
 * FM_NAME_MAX - 1 bytes, else FM_ERR_INVAL; or the buffer's error. */
int fm_vocab_body(fm_buf *out, fm_vocab_list l, fm_vocab_op op, const char *name,
                  const char *to);

/* A vocab entry's body: 0, or FM_ERR_MALFORMED when |e| is not a vocab
 * entry or its body does not read (a key missing or of another type, an
 * unknown list or op, a name empty, over FM_NAME_MAX - 1 bytes, holding
 * U+0000 or not UTF-8).  |name| and |to| (FM_NAME_MAX bytes each) are
 * written only on success; |to| is "" but for a rename. */
int fm_vocab_parse(const fm_entry *e, fm_vocab_list *l, fm_vocab_op *op, char *name,
                   char *to);

/* An empty vocabulary (every list empty: an older commune). */
void fm_vocab_init(fm_vocab *v);

/* Applies one entry of the authority's log (any kind: others, and vocab
 * entries that do not read, change nothing).  Call it for the log's
 * entries in seq order.  Never fails. */
void fm_vocab_apply(fm_vocab *v, const fm_entry *e);

/* How many current (not retired) names list |l| holds: 0 means the
 * commune keeps no such list, and every name is taken as typed. */
int fm_vocab_active(const fm_vocab *v, fm_vocab_list l);

/* Where |s| (|n| bytes) stands in list |l|. */
typedef enum fm_vocab_match {
  FM_VOCAB_NONE,      /* not a name of the list, now or before */
  FM_VOCAB_CURRENT,   /* a current name (|*name| its spelling) */
  FM_VOCAB_RETIRED,   /* a retired name (|*name| its spelling) */
  FM_VOCAB_FORMER_OF, /* a former name of |*name| (renamed since) */
} fm_vocab_match;

/* Finds |s| by its folded key: among current and retired names first,
 * then former names, the latest rename first.  |*name| (may be NULL)
 * points into |v| and stays valid while |v| is unchanged. */
fm_vocab_match fm_vocab_find(const fm_vocab *v, fm_vocab_list l, const char *s, size_t n,
                             const char **name);

/* The name a record's text |s| counts under: the current spelling of the
 * name it is (fm_vocab_find), or NULL when it is none of the list's. */
const char *fm_vocab_resolve(const fm_vocab *v, fm_vocab_list l, const char *s, size_t n);

/* The current name of list |l| closest to |s| by folded key, for "did
 * you mean" (NULL when none is near enough, fieldmesh/closest.h). */
const char *fm_vocab_closest(const fm_vocab *v, fm_vocab_list l, const char *s, size_t n);

/* Reads the vocabularies from the authority's log in |s| into |out|
 * (its entries in seq order through fm_vocab_apply).  0 (an empty
 * vocabulary when the store has no authority yet) or the store's error.
 * Implemented in store/vocab.c. */
struct fm_store;
int fm_store_vocab(struct fm_store *s, fm_vocab *out);

#endif
