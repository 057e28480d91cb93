/* The keyring: this device's way to the data keys of sealed fields
 * (docs/privacy.md).
 *
 * Reading: a sealed value names its writer's grant; the keyring fetches
 * that `seal.grant` entry from the store, opens this device's copy with
 * the device key and keeps the data key for the keyring's life.  A device
 * the grant does not name looks for the writer's extensions of it, then
 * for `seal.extend` entries of it by devices the grant reaches; a key from
 * those is taken only once it opens a value (the AEAD binds the key), and
 * every copy is tried before a value counts as unreadable.  Writing:
 * the keyring finds (or makes) this device's data key for the month and
 * the readers the roster names now, wrapped to the inbox key each reader
 * published for the month if it did (else to its device key).  Nothing is
 * written to disk but the grant entries; opened keys, inbox secrets and
 * the device key live in sodium_malloc'd (locked, guarded) memory and are
 * wiped by fm_keyring_free().
 *
 * One keyring per thread; its store must stay open while it lives.
 */
#ifndef FIELDMESH_KEYS_H
#define FIELDMESH_KEYS_H

#include "fieldmesh/seal.h"
#include "fieldmesh/store.h"
#include "fieldmesh/view.h"

typedef struct fm_keyring fm_keyring;

/* What the openings of a keyring met so far. */
typedef struct fm_seal_counts {
  uint64_t opened;      /* sealed fields shown as text */
  uint64_t locked;      /* sealed fields this device holds no key for */
  uint64_t unreadable;  /* sealed fields that did not open: damaged or tampered */
  uint64_t wrong_keys;  /* keys from others' extensions that proved wrong (another opened) */
} fm_seal_counts;

/* A new keyring on |s| for |self| (copied; NULL: a keyring that opens
 * nothing, e.g. a laptop not set up).  0 or -ENOMEM.  Free with
 * fm_keyring_free(). */
int fm_keyring_new(fm_store *s, const fm_identity *self, fm_keyring **out);
void fm_keyring_free(fm_keyring *k);

/* Loads this device's inbox secrets from folder |dir| (inbox.h) into |k|
 * (replacing those loaded before; keys opened so far are dropped).  0, or
 * an error of fm_inbox_load (then |k| holds none). */
int fm_keyring_load_inbox(fm_keyring *k, const char *dir);

/* 1 with a `seal.inbox` body in |body| (reset first) when this device's
 * log does not yet publish the inbox keys it holds for the month of |now|
 * and the next (append it as a FM_KIND_SEAL_INBOX entry of this device
 * before sealing), 0 when it does or it holds none, or an error. */
int fm_keyring_inbox_publish(fm_keyring *k, fm_time now, fm_buf *body);

/* Text of the fields shown once a record is opened: the opened values
 * and the placeholders point here. */
typedef struct fm_opened {
  char text[4][FM_SEAL_TEXT_MAX];
} fm_opened;

/* Opens every sealed personal field of |d| (|v|), the record whose id is
 * |id| (the view's key), in place: each becomes
 * its text (in |o|, which must outlive the view's use) and leaves
 * `sealed`, or shows a placeholder, "(sealed: TEAM)" where this device
 * holds no key or "(unreadable)" where the value does not open, and
 * gains its bit in `locked`.  Counts go to the keyring.  Never fails: a
 * store error reads as no key.  |k| may be NULL (then every sealed field
 * is a
 * placeholder). */
void fm_keyring_open_dossier(fm_keyring *k, fm_dossier_view *d, fm_opened *o, fm_str id);
void fm_keyring_open_visit(fm_keyring *k, fm_visit_view *v, fm_opened *o, fm_str id);

/* Opens one sealed value |p| (|n| bytes) that |author| wrote for record
 * |id| and field |field| (an attachment's key or name) into |out| (|cap|
 * bytes, NUL-terminated; |*out_n| its length).  0, FM_ERR_NOTFOUND (this
 * device holds no key for it) or FM_ERR_DECRYPT (it does not open:
 * damaged).  Counted as fm_keyring_open_dossier counts. */
int fm_keyring_open_value(fm_keyring *k, const uint8_t author[static FM_KEY_LEN], fm_str id,
                          const char *field, const uint8_t *p, size_t n, char *out, size_t cap,
                          size_t *out_n);

/* The placeholder of a field sealed by team |team|, "(sealed: TEAM)",
 * into |out| (FM_SEAL_TEXT_MAX bytes): the team cut at a character's
 * start, "(sealed)" when its bytes are not UTF-8. */
void fm_keyring_locked_text(fm_str team, char *out);

/* The counts so far (zeros for NULL). */
fm_seal_counts fm_keyring_counts(const fm_keyring *k);

/* Readies |out| to seal this device's records written at |now|.  Returns
 * 0 when |out| is ready, or 1 when a new grant is needed first: its body
 * is then in |grant| (reset first); the caller appends it as a
 * FM_KIND_SEAL_GRANT entry of this device and calls fm_keyring_granted()
 * with its seq.  Errors: FM_ERR_AUTH (this device has no enrollment
 * here), FM_ERR_TOOBIG (more than FM_SEAL_READERS_MAX readers), a store
 * error, -ENOMEM.  |out| points into |k|. */
int fm_keyring_sealer(fm_keyring *k, fm_time now, const fm_rng *rng, fm_buf *grant,
                      fm_sealer *out);
void fm_keyring_granted(fm_keyring *k, uint64_t seq, fm_sealer *out);

/* Extensions only, for a device that is not writing a record now (the
 * daemon, when the roster changes): 1 with the body of an extension of
 * one of this device's grants in |grant| (append it as above, then call
 * again), 0 when every grant of the last FM_SEAL_REGRANT_DAYS reaches
 * every current reader, or an error as fm_keyring_sealer().  Cheap when
 * the readers did not change since it last returned 0. */
int fm_keyring_extend(fm_keyring *k, fm_time now, const fm_rng *rng, fm_buf *grant);

/* Extensions of other writers' grants (docs/privacy.md, "Keys of a lost
 * laptop"): 1 with the body of a `seal.extend` entry in |grant| (append it
 * as a FM_KIND_SEAL_EXTEND entry of this device, then call again), 0 when
 * there is none to write now, or an error as fm_keyring_sealer().  This
 * device extends a grant of writer W (of the last FM_SEAL_REGRANT_DAYS)
 * only when W is revoked, expired or silent for a day (nothing of it
 * newer than that here), the key opens for this device from W's own grant
 * or W's own extensions, and the grant with the extensions of the devices
 * it reaches misses readers W's roster rule names on this store now; and
 * only after its turn among the holders of the key (a per-grant order,
 * ten minutes apart, counted from when this keyring first saw the grant
 * miss readers). */
int fm_keyring_extend_others(fm_keyring *k, fm_time now, const fm_rng *rng, fm_buf *grant);

/* After fm_keyring_sealer(): 1 when a gateway is among the readers, 0
 * when this store knows none (a laptop that never synced): the commune
 * hall could not read what is sealed now. */
int fm_keyring_gateway_reads(const fm_keyring *k);

#endif
