/* The Upstream page. */
#include "web_page.h"

int fmd_web_upstream(fmd_web_page *p) {
  fmd_web_head(p, fmd_web_t(p, "Chuyển lên", "Upstream"), "/upstream");
  fmd_web_foot(p);
  return 0;
}
