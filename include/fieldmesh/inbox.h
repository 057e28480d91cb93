/* Inbox secrets: the X25519 keys a device can forget (keep_months,
 * docs/privacy.md P4).
 *
 * One file per month in a folder of the state (STATE/inbox, mode 0700):
 * its name the month "YYYY-MM", its content the 32 random bytes of the
 * secret, mode 0600, written through fm_fsfile (never half-written, never
 * through a link).  The public half is published in a `seal.inbox` entry
 * (seal.h); writers wrap their data keys of that month to it.  Forgetting
 * a month overwrites its file with zeros, syncs it, unlinks it and syncs
 * the folder: from then on nothing on this device opens what was wrapped
 * to it.
 */
#ifndef FIELDMESH_INBOX_H
#define FIELDMESH_INBOX_H

#include "fieldmesh/seal.h"

#define FM_INBOX_DIR "inbox"      /* inside the state folder */
#define FM_INBOX_HELD_MAX 128     /* months one device holds at most */
#define FM_INBOX_KEEP_MAX 120     /* the largest keep_months */

/* Makes sure folder |dir| (created 0700 if missing) holds the secret of
 * |period|, drawing a new one from |rng| if not.  0, FM_ERR_INVAL (bad
 * period), FM_ERR_NOSPACE or FM_ERR_IO (errno set). */
int fm_inbox_ensure(const char *dir, const char *period, const fm_rng *rng);

/* Loads the secrets of folder |dir| into |out| (room for |cap|; the
 * caller's memory, which should be locked), with their public halves, in
 * month order; |*n| set.  A missing folder holds none.  Files that are not
 * a month's secret are ignored; a secret readable by group or others is
 * refused (FM_ERR_IO).  0 or an error; on error |out| is wiped. */
int fm_inbox_load(const char *dir, fm_seal_inbox_key *out, size_t cap, size_t *n);

/* Forgets every month of folder |dir| before |oldest_kept| ("YYYY-MM"):
 * overwrite, sync, unlink, then sync the folder.  |*forgot| (may be NULL)
 * gets how many.  0 (also for a missing folder) or FM_ERR_IO. */
int fm_inbox_forget(const char *dir, const char *oldest_kept, unsigned *forgot);

#endif
