/* Folders for state, spools and scratch. */
#ifndef FIELDMESH_DIRS_H
#define FIELDMESH_DIRS_H

#include <sys/types.h>

/* mkdir -p: creates |path| and every missing parent with |mode| (folders
 * that exist are left as they are).  Returns 0, -ENAMETOOLONG (over
 * PATH_MAX) or the negated errno of the mkdir that failed. */
int fm_mkdirs(const char *path, mode_t mode);

/* Removes the folder of a closed store: its two LMDB files, then the
 * folder itself (which must then be empty).  Returns 0 or the negated
 * errno of the rmdir; missing files are not an error. */
int fm_store_remove_dir(const char *dir);

/* The one sentence a person reads when a write failed for want of space
 * (FM_ERR_NOSPACE: ENOSPC, EDQUOT or a map that cannot grow):
 * "the disk is full (N MiB free in FOLDER): free space and run the command
 * again".  Writes at most |cap| bytes into |buf|, NUL-terminated, and
 * returns |buf|.  |folder| is where the write went (the state folder, a
 * bundle's folder). */
const char *fm_disk_full_message(const char *folder, char *buf, size_t cap);

#endif
