/* The roster: enrolled devices and what this store holds of each. */
#include "roster.h"

#include <stdlib.h>
#include <string.h>

#include "fieldmesh/error.h"
#include "fieldmesh/hlc.h"

fm_time fmc_roster_written_at(fmc_ctx *c, const uint8_t device[FM_KEY_LEN], uint64_t seq) {
  return fm_roster_written_at(c->store, device, seq);
}

int fmc_roster_load(fmc_ctx *c, fmc_roster *r) {
  int rv = fm_roster_load(c->store, r);
  if (rv < 0) {
    fm_roster_free(r);
    return fmc_store_fail(c, rv, "cannot read the enrollments");
  }
  return 0;
}

void fmc_roster_free(fmc_roster *r) { fm_roster_free(r); }

const char *fmc_member_label(const fmc_member *m, char *buf, size_t cap) {
  char id[16];
  fmc_short_id(m->en.device, id);
  if (m->enrolled) snprintf(buf, cap, "%s (%s, %s)", m->en.name, m->en.team, id);
  else snprintf(buf, cap, "device %s", id);
  return buf;
}

void fmc_author_parts(fmc_ctx *c, const uint8_t device[FM_KEY_LEN],
                      char name[FM_NAME_MAX], char team[FM_NAME_MAX]) {
  fm_enrollment en;
  uint64_t revoked;
  name[0] = team[0] = 0;
  if (!c->store || fm_store_enrollment(c->store, device, &en, &revoked, NULL, NULL) != 0)
    return;
  snprintf(name, FM_NAME_MAX, "%s", en.name);
  snprintf(team, FM_NAME_MAX, "%s", en.team);
}

const char *fmc_author_label(fmc_ctx *c, const uint8_t device[FM_KEY_LEN], char *buf,
                             size_t cap) {
  char name[FM_NAME_MAX], team[FM_NAME_MAX], id[16];
  fmc_author_parts(c, device, name, team);
  if (name[0]) snprintf(buf, cap, "%s (%s)", name, team);
  else snprintf(buf, cap, "device %s", fmc_short_id(device, id));
  return buf;
}

static int is_hex(const char *s) {
  if (!*s) return 0;
  for (; *s; s++)
    if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') || (*s >= 'A' && *s <= 'F')))
      return 0;
  return 1;
}

static int has_prefix(const uint8_t key[FM_KEY_LEN], const char *prefix) {
  char hex[2 * FM_KEY_LEN + 1];
  fm_hex(key, FM_KEY_LEN, hex);
  for (size_t i = 0; prefix[i]; i++) {
    char p = prefix[i];
    if (p >= 'A' && p <= 'F') p = (char)(p - 'A' + 'a');
    if (i >= 2 * FM_KEY_LEN || hex[i] != p) return 0;
  }
  return 1;
}

/* "name (team, id), name (team, id)" of the |n| members in |pick|. */
static void list_candidates(const fmc_roster *r, const size_t *pick, size_t n, char *out,
                            size_t cap) {
  char one[2 * FM_NAME_MAX + 32];
  out[0] = 0;
  for (size_t i = 0; i < n; i++) {
    size_t len = strlen(out);
    fmc_member_label(&r->m[pick[i]], one, sizeof one);
    snprintf(out + len, cap - len, "%s%s", i ? ", " : "", one);
  }
}

/* The members whose name is |arg|: those not revoked yet if any, else all
 * of them (so that revoking a revoked device says so).  Returns the
 * count; the first |cap| indexes go to |pick|. */
static size_t match_name(const fmc_roster *r, const char *arg, size_t *pick, size_t cap) {
  size_t n = 0;
  for (int want_active = 1; want_active >= 0 && n == 0; want_active--)
    for (size_t i = 0; i < r->n; i++) {
      if (strcmp(r->m[i].en.name, arg)) continue;
      if (want_active && r->m[i].revoked_after != UINT64_MAX) continue;
      if (n < cap) pick[n] = i;
      n++;
    }
  return n;
}

int fmc_roster_find(fmc_ctx *c, const fmc_roster *r, const char *arg, fmc_member *out) {
  enum { SHOWN = 8 };
  size_t pick[SHOWN], n = match_name(r, arg, pick, SHOWN);
  char list[SHOWN * (2 * FM_NAME_MAX + 34)];
  int hex = is_hex(arg);
  size_t len = strlen(arg);
  if (n == 0 && hex && len < FMC_ID_PREFIX_MIN)
    return fmc_usage(c, "\"%s\" is too short for an id prefix: give at least %d hex digits "
                        "of the device id, or the member's name (`fieldmesh members` lists "
                        "both)", arg, FMC_ID_PREFIX_MIN);
  if (n == 0 && hex)
    for (size_t i = 0; i < r->n; i++) {
      if (!has_prefix(r->m[i].en.device, arg)) continue;
      if (n < SHOWN) pick[n] = i;
      n++;
    }
  if (n == 1) {
    *out = r->m[pick[0]];
    return 0;
  }
  if (n > 1) {
    list_candidates(r, pick, n < SHOWN ? n : SHOWN, list, sizeof list);
    return fmc_fail(c, "\"%s\" matches %zu devices: %s%s; give the id of the one you "
                       "mean (%d hex digits or more)", arg, n, list, n > SHOWN ? ", ..." : "",
                    FMC_ID_PREFIX_MIN);
  }
  if (hex && len == 2 * FM_KEY_LEN) {
    /* Never enrolled here: a revocation may still come first (protocol.md). */
    fm_vector v = {0, NULL};
    memset(out, 0, sizeof *out);
    fm_unhex(arg, out->en.device, FM_KEY_LEN);
    int rv = fm_store_vector(c->store, &v);
    if (rv == 0) rv = fm_roster_fill(c->store, &v, out);
    fm_vector_free(&v);
    return rv < 0 ? fmc_store_fail(c, rv, "cannot read the store") : 0;
  }
  return fmc_fail(c, "no enrolled device is named or has an id starting with \"%s\": "
                     "`fieldmesh members` lists the names and ids", arg);
}
