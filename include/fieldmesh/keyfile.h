/* Key files: an identity's 32-byte seed in a 0600 file.
 *
 * Format: one line "fieldmesh-key-v1 <64 hex digits of the seed>\n".
 * Written atomically (fm_fsfile: temporary file, fsync, link) and never over
 * an existing key or link: losing a device key is losing the device's
 * identity.
 */
#ifndef FIELDMESH_KEYFILE_H
#define FIELDMESH_KEYFILE_H

#include "fieldmesh/identity.h"

/* Creates |path| holding |id|'s seed, mode 0600.  FM_ERR_EXISTS when the
 * name is already taken (by a file or a link: nothing is written through
 * it), FM_ERR_NOSPACE when the disk is full, FM_ERR_INVAL for a path with
 * no file name, FM_ERR_IO otherwise (errno says why). */
int fm_keyfile_write(const char *path, const fm_identity *id);

/* Loads |path| into |id|.  FM_ERR_NOTFOUND when absent, FM_ERR_NOTREG when
 * it is a FIFO, device or folder (refused at once, never waited on),
 * FM_ERR_MALFORMED when the content is not a key file, FM_ERR_IO when
 * unreadable or when the file is readable by group or others (say so, do
 * not use it). */
int fm_keyfile_read(const char *path, fm_identity *id);

#endif
