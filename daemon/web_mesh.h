/* What the Mesh page knows of each enrolled device (web_mesh.c), shared
 * with the Problems page (web_problems.c). */
#ifndef FMD_WEB_MESH_H
#define FMD_WEB_MESH_H

#include "fieldmesh/copies.h"
#include "fieldmesh/roster.h"
#include "web_page.h"

#define DAY_MS (24LL * 3600 * 1000)

typedef struct fmd_mesh_row {
  const fm_roster_member *m;   /* points into the caller's roster */
  fm_copies copies;
  fm_time last_synced;         /* newest copies row of this device; 0: never */
  uint64_t clock_ahead;        /* its entries stamped over a day ahead */
  int clock_off;               /* its note says its clock is off by over FM_SKEW_WRONG_MS */
  int self, silent, expired, revoked;
  int score;                   /* higher: more in need of attention; -1: revoked */
} fmd_mesh_row;

typedef struct fmd_mesh {
  fmd_mesh_row *rows;          /* owned: free() */
  size_t n;
} fmd_mesh;

/* One row per device of |r|, most in need of attention first. */
int fmd_web_mesh_gather(fmd_web_page *p, const fm_roster *r, fmd_mesh *ms);

#endif
