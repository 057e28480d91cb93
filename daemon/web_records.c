/* The Records page: dossiers and visits. */
#include "web_page.h"

int fmd_web_records(fmd_web_page *p) {
  fmd_web_head(p, fmd_web_t(p, "Hồ sơ", "Records"), "/records");
  fmd_web_foot(p);
  return 0;
}

int fmd_web_dossier(fmd_web_page *p, const char *id) {
  (void)p, (void)id;
  return FMD_WEB_NOTFOUND;
}
