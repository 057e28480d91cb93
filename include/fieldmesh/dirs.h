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

#endif
