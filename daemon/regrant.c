#include "regrant.h"

#include <sodium.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fieldmesh/error.h"
#include "fieldmesh/inbox.h"
#include "node.h"

static void fill(void *ctx, uint8_t *out, size_t len) {
  (void)ctx;
  randombytes_buf(out, len);
}

/* keep_months, at start and then once a UTC day: forgets the inbox
 * secrets of the months older than it, makes those of this month and the
 * next, loads them into |k| and publishes them in a `seal.inbox` entry
 * when the log does not yet (docs/privacy.md, P4).  A gateway keeps every
 * month: it ignores keep_months, and says so once. */
static void inbox_daily(fmd_node *d, fm_keyring *k, const fm_rng *rng, fm_buf *body) {
  char dir[sizeof d->cfg->state + 16], cur[8], next[8], oldest[8];
  fm_time now = fmd_now();
  int64_t day = now / 86400000 + 1;
  unsigned forgot = 0;
  uint32_t keep = d->cfg->keep_months;
  int rv;
  if (keep == 0 || day == d->inbox_day || d->inbox_day == INT64_MAX) return;
  d->inbox_day = day;
  if (d->self.role == FM_ROLE_GATEWAY) {
    d->inbox_day = INT64_MAX; /* said once */
    fmd_logf(&d->log, FMD_WARN, "[privacy] keep_months is ignored on a gateway: the commune hall "
             "keeps every month (docs/privacy.md)");
    return;
  }
  snprintf(dir, sizeof dir, "%s/%s", d->cfg->state, FM_INBOX_DIR);
  fm_seal_period(now, cur);
  fm_seal_period_add(cur, -(int)keep, oldest);
  fm_seal_period_add(cur, 1, next);
  if (fm_inbox_forget(dir, oldest, &forgot) < 0)
    fmd_logf(&d->log, FMD_WARN, "cannot forget the month keys before %s in %s: %s", oldest, dir,
             strerror(errno));
  else if (forgot)
    fmd_logf(&d->log, FMD_INFO, "forgot the keys of %u month%s before %s (keep_months = %u): "
             "what was sealed to this laptop then no longer opens here", forgot,
             forgot == 1 ? "" : "s", oldest, keep);
  if (fm_inbox_ensure(dir, cur, rng) < 0 || fm_inbox_ensure(dir, next, rng) < 0 ||
      fm_keyring_load_inbox(k, dir) < 0) {
    fmd_logf(&d->log, FMD_WARN, "cannot keep this laptop's month keys in %s: %s", dir,
             strerror(errno));
    return;
  }
  int publish = rv = fm_keyring_inbox_publish(k, now, body);
  if (publish == 1)
    rv = fm_store_append(d->store, &d->node.id, FM_KIND_SEAL_INBOX, body->p, body->len, now, NULL,
                         NULL);
  if (rv < 0) {
    fmd_logf(&d->log, FMD_WARN, "cannot publish this laptop's month keys: %s", fm_strerror(rv));
  } else if (publish == 1) {
    fmd_logf(&d->log, FMD_INFO, "published this laptop's month keys for %s and %s", cur, next);
    fmd_node_poke(d);
  }
  fm_buf_reset(body);
}

void fmd_regrant(fmd_node *d, fm_keyring **keys) {
  fm_rng rng = {fill, NULL};
  fm_buf grant;
  int rv, n = 0;
  if (!*keys && fm_keyring_new(d->store, &d->node.id, keys) < 0) return;
  fm_buf_init(&grant, FM_ENTRY_MAX);
  inbox_daily(d, *keys, &rng, &grant);
  while (n < 64 && (rv = fm_keyring_extend(*keys, fmd_now(), &rng, &grant)) == 1) {
    rv = fm_store_append(d->store, &d->node.id, FM_KIND_SEAL_GRANT, grant.p, grant.len,
                         fmd_now(), NULL, NULL);
    if (rv < 0) break;
    n++;
  }
  if (rv < 0 && rv != FM_ERR_AUTH && rv != FM_ERR_BEHIND)
    fmd_logf(&d->log, FMD_WARN, "cannot extend this laptop's sealed-field keys to new readers: "
             "%s", fm_strerror(rv));
  if (n) {
    fmd_logf(&d->log, FMD_INFO, "extended %d key grant%s of this laptop's sealed fields to "
             "readers it learned of", n, n == 1 ? "" : "s");
    fmd_node_poke(d);
  }
  /* The grants of writers that are gone (revoked, expired, silent for a
   * day) whose keys this laptop holds (docs/privacy.md, "A lost laptop's
   * keys"). */
  int o = 0;
  while (o < 64 && (rv = fm_keyring_extend_others(*keys, fmd_now(), &rng, &grant)) == 1) {
    rv = fm_store_append(d->store, &d->node.id, FM_KIND_SEAL_EXTEND, grant.p, grant.len,
                         fmd_now(), NULL, NULL);
    if (rv < 0) break;
    o++;
  }
  fm_buf_free(&grant);
  if (rv < 0 && rv != FM_ERR_AUTH && rv != FM_ERR_BEHIND)
    fmd_logf(&d->log, FMD_WARN, "cannot extend the sealed-field keys of laptops that are gone: %s",
             fm_strerror(rv));
  if (o) {
    fmd_logf(&d->log, FMD_INFO, "extended %d key grant%s of other laptops' sealed fields (their "
             "writers are revoked, expired or silent) to readers they lacked", o,
             o == 1 ? "" : "s");
    fmd_node_poke(d);
  }
}
