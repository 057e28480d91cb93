#include "fieldmesh/dirs.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

int fm_mkdirs(const char *path, mode_t mode) {
  char tmp[PATH_MAX];
  size_t n = strlen(path);
  if (n >= sizeof tmp) return -ENAMETOOLONG;
  memcpy(tmp, path, n + 1);
  for (size_t i = 1; i <= n; i++) {
    if (tmp[i] != '/' && tmp[i] != 0) continue;
    char keep = tmp[i];
    tmp[i] = 0;
    if (mkdir(tmp, mode) != 0 && errno != EEXIST) return -errno;
    tmp[i] = keep;
  }
  return 0;
}

int fm_store_remove_dir(const char *dir) {
  static const char *const files[] = {"data.mdb", "lock.mdb"};
  char path[PATH_MAX];
  struct stat st;
  for (size_t i = 0; i < 2; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, files[i]);
    /* Only what LMDB made: a link or anything else in its place stays
     * (and rmdir then says the folder is not empty). */
    if (lstat(path, &st) == 0 && S_ISREG(st.st_mode)) unlink(path);
  }
  return rmdir(dir) == 0 ? 0 : -errno;
}

const char *fm_disk_full_message(const char *folder, char *buf, size_t cap) {
  struct statvfs v;
  if (statvfs(folder, &v) == 0) {
    unsigned long long mib = (unsigned long long)v.f_bavail * v.f_frsize >> 20;
    snprintf(buf, cap, "the disk is full (%llu MiB free in %s): free space and run the command again",
             mib, folder);
  } else {
    snprintf(buf, cap, "the disk is full (in %s): free space and run the command again", folder);
  }
  return buf;
}
