/* The Reports page. */
#include "web_page.h"

int fmd_web_reports(fmd_web_page *p, int csv) {
  if (csv) return FMD_WEB_NOTFOUND;
  fmd_web_head(p, fmd_web_t(p, "Báo cáo", "Reports"), "/reports");
  fmd_web_foot(p);
  return 0;
}
