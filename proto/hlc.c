#include "fieldmesh/hlc.h"

fm_hlc fm_hlc_believable(fm_hlc last, fm_time now) {
  return fm_hlc_too_far_ahead(last, now) ? 0 : last;
}

fm_hlc fm_hlc_tick(fm_hlc last, fm_time now) {
  fm_hlc wall = now > 0 ? fm_hlc_make((uint64_t)now & 0xffffffffffffULL, 0) : 0;
  last = fm_hlc_believable(last, now);
  return wall > last ? wall : last + 1;
}

int fm_hlc_too_far_ahead(fm_hlc seen, fm_time now) {
  return now >= 0 && fm_hlc_ms(seen) > (uint64_t)now + FM_HLC_MAX_AHEAD_MS;
}

fm_hlc fm_hlc_observe(fm_hlc last, fm_hlc seen, fm_time now) {
  if (fm_hlc_too_far_ahead(seen, now)) return last;
  return seen > last ? seen : last;
}
