/* fieldmesh members: the roster of the commune as this store knows it. */
#include <string.h>

#include "args.h"
#include "cmd.h"
#include "date.h"
#include "fieldmesh/presence_store.h"
#include "fieldmesh/skew.h"
#include "out.h"
#include "roster.h"

static int is_expired(const fmc_ctx *c, const fmc_member *m) {
  return m->en.expires && m->en.expires < c->now;
}

/* "presence": null, or what the device last said of itself. */
static void presence_json(fmc_json *j, const fmc_member *m) {
  const fm_presence *p = &m->presence;
  fmc_json_key(j, "presence");
  if (!m->has_presence) {
    fmc_json_null(j);
    return;
  }
  fmc_json_obj(j);
  fmc_json_key(j, "last_seen");
  fmc_json_uint(j, (uint64_t)p->wall);
  fmc_json_key(j, "received");
  fmc_json_uint(j, (uint64_t)m->presence_received);
  fmc_json_key(j, "head_seq");
  fmc_json_uint(j, p->head_seq);
  fmc_json_key(j, "only_here");
  fmc_json_uint(j, p->only_here);
  fmc_json_key(j, "authors");
  fmc_json_uint(j, p->authors);
  fmc_json_key(j, "version");
  fmc_json_str(j, p->version);
  fmc_json_key(j, "clock_offset_ms");
  fmc_json_int(j, p->clock_offset);
  fmc_json_key(j, "free_kib");
  fmc_json_uint(j, p->free_kib);
  fmc_json_key(j, "met");
  fmc_json_arr(j);
  for (uint32_t i = 0; i < p->nmet; i++) {
    fmc_json_obj(j);
    fmc_json_key(j, "device_id");
    fmc_json_hex(j, p->met[i].device, FM_KEY_LEN);
    fmc_json_key(j, "when");
    fmc_json_uint(j, (uint64_t)p->met[i].when);
    fmc_json_obj_end(j);
  }
  fmc_json_arr_end(j);
  fmc_json_obj_end(j);
}

static void member_json(fmc_ctx *c, fmc_json *j, const fmc_member *m) {
  fmc_json_obj(j);
  fmc_json_key(j, "device_id");
  fmc_json_hex(j, m->en.device, FM_KEY_LEN);
  fmc_json_key(j, "name");
  fmc_json_str(j, m->en.name);
  fmc_json_key(j, "team");
  fmc_json_str(j, m->en.team);
  fmc_json_key(j, "role");
  fmc_json_str(j, fm_role_name(m->en.role));
  fmc_json_key(j, "villages");
  fmc_json_arr(j);
  for (int i = 0; i < m->en.nvillages; i++) fmc_json_str(j, m->en.villages[i]);
  fmc_json_arr_end(j);
  fmc_json_key(j, "enrolled_at");
  fmc_json_uint(j, (uint64_t)m->enrolled_at);
  fmc_json_key(j, "enrollment_seq");
  fmc_json_uint(j, m->enroll_seq);
  fmc_json_key(j, "expires");
  if (m->en.expires) fmc_json_uint(j, (uint64_t)m->en.expires);
  else fmc_json_null(j);
  fmc_json_key(j, "expired");
  fmc_json_bool(j, is_expired(c, m));
  fmc_json_key(j, "revoked_after");
  if (m->revoked_after != UINT64_MAX) fmc_json_uint(j, m->revoked_after);
  else fmc_json_null(j);
  fmc_json_key(j, "last_seq");
  fmc_json_uint(j, m->last_seq);
  fmc_json_key(j, "last_written");
  if (m->last_written) fmc_json_uint(j, (uint64_t)m->last_written);
  else fmc_json_null(j);
  fmc_json_key(j, "entries");
  fmc_json_uint(j, m->last_seq);
  fmc_json_key(j, "quarantined");
  fmc_json_uint(j, m->quarantined);
  presence_json(j, m);
  fmc_json_obj_end(j);
}

static void member_row(fmc_ctx *c, fmc_table *t, const fmc_member *m) {
  char villages[FM_VILLAGES_MAX * FM_NAME_MAX], enrolled[24], expires[40], revoked[32],
      last[24], entries[24], quarantined[24], id[16], seen[24], only[24], clock[FM_SKEW_TEXT];
  villages[0] = 0;
  for (int i = 0; i < m->en.nvillages; i++) {
    size_t n = strlen(villages);
    snprintf(villages + n, sizeof villages - n, "%s%s", i ? ", " : "", m->en.villages[i]);
  }
  fmc_date_of(m->enrolled_at, enrolled);
  if (!m->en.expires) snprintf(expires, sizeof expires, "never");
  else {
    fmc_date_of(m->en.expires, expires);
    if (is_expired(c, m)) snprintf(expires + strlen(expires), sizeof expires - strlen(expires), " (expired)");
  }
  if (m->revoked_after == UINT64_MAX) snprintf(revoked, sizeof revoked, "-");
  else snprintf(revoked, sizeof revoked, "seq %llu", (unsigned long long)m->revoked_after);
  if (m->last_written) fmc_time_of(m->last_written, last);
  else snprintf(last, sizeof last, "-");
  snprintf(entries, sizeof entries, "%llu", (unsigned long long)m->last_seq);
  snprintf(quarantined, sizeof quarantined, "%llu", (unsigned long long)m->quarantined);
  if (m->has_presence) {
    fmc_time_of(m->presence.wall, seen);
    snprintf(only, sizeof only, "%llu", (unsigned long long)m->presence.only_here);
    fm_skew_text(m->presence.clock_offset, clock);
  } else {
    snprintf(seen, sizeof seen, "-");
    snprintf(only, sizeof only, "-");
    snprintf(clock, sizeof clock, "-");
  }
  const char *cells[] = {m->en.name, m->en.team, fm_role_name(m->en.role), villages,
                         enrolled, expires, revoked, last, entries, quarantined, seen, only,
                         m->has_presence && m->presence.version[0] ? m->presence.version : "-",
                         clock, fmc_short_id(m->en.device, id)};
  fmc_table_row(t, cells);
}

/* The presence notes this store refused, when there were any. */
static void print_drops(fmc_ctx *c) {
  uint64_t d[FM_PDROP_N], total = 0;
  if (fm_store_presence_drops(c->store, d) < 0) return;
  for (int i = 0; i < FM_PDROP_N; i++) total += d[i];
  if (!total) return;
  printf("presence notes dropped here:");
  for (int i = 0, first = 1; i < FM_PDROP_N; i++)
    if (d[i]) {
      printf("%s %llu %s", first ? "" : ",", (unsigned long long)d[i],
             fm_presence_drop_name((fm_presence_drop)i));
      first = 0;
    }
  printf("\n");
}

int fmc_cmd_members(fmc_ctx *c, int argc, char **argv) {
  fmc_spec spec = {"usage: fieldmesh members [--json]\n"
                   "Lists every device enrolled in the commune, as this store knows it:\n"
                   "name, team, role, villages, when enrolled, expiry, revocation, and\n"
                   "the last entry and the entries this store holds of it; and what the\n"
                   "device last said of itself (its presence note, which travels with\n"
                   "every sync): when it was last seen, how many of its entries are on\n"
                   "no other device, its version, and CLOCK: how far its clock is ahead\n"
                   "(+) or behind (-) the devices it met directly of late (their median).\n",
                   NULL, 0, 0, {0}, 0};
  fmc_roster r;
  size_t revoked = 0;
  int rv;
  if ((rv = fmc_args_parse(c, &spec, argc, argv)) != 0) return rv;
  if ((rv = fmc_open(c, 0)) != 0) return rv;
  if ((rv = fmc_roster_load(c, &r)) != 0) return rv;
  for (size_t i = 0; i < r.n; i++) revoked += r.m[i].revoked_after != UINT64_MAX;
  if (c->json) {
    fmc_json j;
    fmc_json_init(&j, stdout);
    fmc_json_arr(&j);
    for (size_t i = 0; i < r.n; i++) member_json(c, &j, &r.m[i]);
    fmc_json_arr_end(&j);
    fmc_json_end(&j);
  } else if (r.n == 0) {
    printf("no device is enrolled in this store yet (an administrator enrolls them "
           "with `fieldmesh enroll`; a laptop learns of them by syncing)\n");
  } else {
    fmc_table t;
    fmc_table_init(&t, "NAME|TEAM|ROLE|VILLAGES|ENROLLED|EXPIRES|REVOKED AFTER|LAST ENTRY"
                       "|#ENTRIES|#QUARANTINED|LAST SEEN|#ONLY THERE|VERSION|CLOCK|ID");
    for (size_t i = 0; i < r.n; i++) member_row(c, &t, &r.m[i]);
    rv = fmc_table_print(&t, stdout);
    fmc_table_free(&t);
    if (rv < 0) rv = fmc_fail(c, "out of memory");
    else printf("%zu device%s enrolled, %zu revoked\n", r.n, r.n == 1 ? "" : "s", revoked);
    if (rv >= 0) print_drops(c);
  }
  fmc_roster_free(&r);
  return rv;
}
