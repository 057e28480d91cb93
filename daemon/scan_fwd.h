/* The scans of a batch, on their way upstream (docs/operations.md,
 * "Scans upstream").
 *
 * A batch's `dossier.attach` entries go upstream with their files, in the
 * clear like the records (docs/privacy.md).  In two steps, because the
 * sink model reads the store on the loop thread and delivers on a worker:
 *
 *   1. fmd_scans_load(), loop thread: for each attach entry of the batch,
 *      its name and file key (opened with the gateway's keyring when
 *      sealed) and a copy of its sealed chunks out of the store.  No LMDB
 *      transaction outlives the call.
 *   2. fmd_scans_open(), worker thread, just before the sink's deliver():
 *      opens the chunks into the plaintext file and names it by the
 *      BLAKE2b-256 of its bytes (hex): the name every sink files it under.
 *
 * Memory: the planner caps a batch's scans at FM_FWD_SCAN_BYTES (or one
 * scan of at most FM_ATTACH_FILE_MAX), held twice (sealed, opened).  The
 * opened bytes and keys are wiped by fmd_scans_reset().
 */
#ifndef FMD_SCAN_FWD_H
#define FMD_SCAN_FWD_H

#include "fieldmesh/attach.h"
#include "fieldmesh/forward.h"
#include "fieldmesh/keys.h"
#include "fieldmesh/seal.h"

#define FMD_SCAN_HASH_HEX (2 * FM_BLOB_ID + 1)

typedef enum fmd_scan_state {
  FMD_SCAN_OK = 0,        /* opened: |file| and |hash| are set */
  FMD_SCAN_LOCKED,        /* sealed for readers this gateway holds no key of (yet) */
  FMD_SCAN_DAMAGED,       /* its key or a chunk does not open */
  FMD_SCAN_MISSING,       /* a chunk left the store after the batch was planned */
} fmd_scan_state;

typedef struct fmd_scan {
  size_t item;                          /* its entry's index in the batch */
  fmd_scan_state state;
  int kind;                             /* fm_attach_kind */
  char dossier[65];                     /* NUL-terminated */
  char name[FM_SEAL_TEXT_MAX];          /* opened, or a placeholder */
  uint64_t size;                        /* bytes of the file */
  size_t nchunks;
  uint8_t key[FM_ATTACH_KEY];           /* loop thread to worker; wiped */
  size_t ct_off;                        /* its sealed chunks in |ct|, in order */
  size_t file_off;                      /* its file in |plain| (FMD_SCAN_OK) */
  char hash[FMD_SCAN_HASH_HEX];         /* BLAKE2b-256 of the file, hex (FMD_SCAN_OK) */
} fmd_scan;

typedef struct fmd_scans {
  size_t n, cap;
  fmd_scan *v;                          /* one per attach entry, in item order */
  fm_buf ct;                            /* sealed chunks, as the store holds them */
  uint8_t *plain;                       /* opened files, malloc'd in one piece so that
                                         * no copy is left unwiped; wiped on reset */
  size_t plain_len, plain_cap;
} fmd_scans;

void fmd_scans_init(fmd_scans *sc);
/* Wipes keys and opened files and forgets the scans (the buffers stay). */
void fmd_scans_reset(fmd_scans *sc);
void fmd_scans_free(fmd_scans *sc);

/* Loop thread.  Loads the scans of |b| (reset first), opening sealed names
 * and keys with |k| (may be NULL: sealed ones are FMD_SCAN_LOCKED).
 * |*locked| (may be NULL) counts the scans sealed for a key |k| lacks.
 * Returns 0, or -ENOMEM / FM_ERR_TOOBIG, or a store error (the caller
 * tries the batch again later). */
int fmd_scans_load(fmd_scans *sc, fm_store *s, fm_keyring *k, const fm_fwd_batch *b,
                   uint64_t *locked);

/* Worker thread.  Opens every FMD_SCAN_OK scan into |plain| and names it;
 * one that does not open becomes FMD_SCAN_DAMAGED.  Touches nothing but
 * |sc|. */
void fmd_scans_open(fmd_scans *sc);

/* The scan of batch item |item|, or NULL when it is no attach entry. */
const fmd_scan *fmd_scans_of_item(const fmd_scans *sc, size_t item);
/* Its opened bytes (|s->size| of them); FMD_SCAN_OK only. */
const uint8_t *fmd_scan_file(const fmd_scans *sc, const fmd_scan *s);

/* "sealed: no key", "does not open", "chunks missing": why a scan went
 * upstream without its file. */
const char *fmd_scan_state_text(fmd_scan_state st);

/* The scan as the JSON members that follow an entry's own in the
 * spool and HTTP bodies: `"scan":{"hash","size","kind","name","dossier"
 * [,"file"]}` (|file_suffix| non-NULL: the spool's file name, hash +
 * suffix), or `"scan":{..., "hash":null,"error":"..."}` without a file.
 * Appended to |out| with a leading comma.  Returns the buffer's error. */
int fmd_scan_json(fm_buf *out, const fmd_scan *s, const char *file_suffix);

#endif
