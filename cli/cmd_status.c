/* status and verify: what this laptop holds, and whether it holds up. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "args.h"
#include "cmd.h"
#include "cmd_net.h"
#include "date.h"
#include "fieldmesh/blob_store.h"
#include "fieldmesh/scan_copies.h"
#include "fieldmesh/error.h"
#include "out.h"
#include "upstream.h"

typedef struct status_info {
  fm_store_stats st;
  int have_self, have_auth, enrolled, auth_key;
  uint8_t self[FM_KEY_LEN], auth[FM_KEY_LEN], digest[32];
  char commune[FM_NAME_MAX];
  fm_enrollment en;
  uint64_t revoked_after;
  fmc_up_status up;           /* receipts of own entries; a gateway's sinks */
  fm_copies copies;           /* own entries by their copies elsewhere */
  fm_restore_info restore;    /* a restored backup's records (store/restore.c) */
  uint64_t chunks, chunk_bytes, chunks_wanted;   /* scans' chunks (blob_store.h) */
  uint64_t scans_max;         /* the quota the daemon recorded (0: none) */
  int scans_full;             /* at it: no chunk is fetched */
  fm_scan_copies scans;       /* own scans by their chunks' copies elsewhere */
} status_info;

static int gather(fmc_ctx *c, status_info *s) {
  char path[FMC_PATH_MAX];
  struct stat sb;
  int rv;
  memset(s, 0, sizeof *s);
  if ((rv = fm_store_stats_get(c->store, &s->st)) < 0 ||
      (rv = fm_store_view_digest(c->store, s->digest)) < 0)
    return fmc_fail(c, "cannot read the store: %s", fm_strerror(rv));
  s->have_self = fm_store_self(c->store, s->self) == 0;
  s->have_auth = fm_store_authority(c->store, s->auth, s->commune) == 0;
  s->enrolled = s->have_self &&
                fm_store_enrollment(c->store, s->self, &s->en, &s->revoked_after,
                                    NULL, NULL) == 0;
  s->auth_key = fmc_path(c, "authority.key", path) == 0 && stat(path, &sb) == 0;
  if (s->have_self && (rv = fmc_upstream_status(c, s->self, s->st.self_seq,
                                                s->enrolled && s->en.role == FM_ROLE_GATEWAY,
                                                &s->up)) < 0)
    return fmc_fail(c, "cannot read the receipts: %s", fm_strerror(rv));
  if (s->have_self && (rv = fmc_own_copies(c, s->self, &s->copies)) < 0)
    return fmc_fail(c, "cannot read the copies table: %s", fm_strerror(rv));
  if (s->have_self && (rv = fm_store_scan_copies(c->store, s->self, s->copies.need,
                                                  &s->scans)) < 0)
    return fmc_fail(c, "cannot read the copies of scans: %s", fm_strerror(rv));
  if ((rv = fm_store_restore_info(c->store, &s->restore)) < 0 ||
      (rv = fm_store_blob_stats(c->store, &s->chunks, &s->chunk_bytes)) < 0 ||
      (rv = fm_store_blob_wanted_count(c->store, &s->chunks_wanted)) < 0 ||
      (rv = fm_store_scans_max(c->store, &s->scans_max)) < 0 ||
      (rv = fm_store_blob_full(c->store, s->scans_max, &s->scans_full)) < 0)
    return fmc_fail(c, "cannot read the store: %s", fm_strerror(rv));
  /* Records set aside after a restore are on this laptop only, outside
   * its log until they are written again. */
  s->copies.none += s->restore.pending;
  s->copies.unsafe += s->restore.pending;
  return 0;
}

/* Every own entry, and every chunk of every own scan, has its copies
 * elsewhere, or a receipt. */
static int safe_to_leave(const status_info *s) {
  return s->copies.unsafe == 0 && s->scans.unsafe == 0;
}

static void copies_json(fmc_json *j, const fm_copies *cp) {
  const struct { const char *k; uint64_t v; } n[] = {
      {"0", cp->none}, {"1", cp->one}, {"2+", cp->more}, {"receipted", cp->receipted}};
  fmc_json_key(j, "copies");
  fmc_json_obj(j);
  for (size_t i = 0; i < sizeof n / sizeof n[0]; i++) {
    fmc_json_key(j, n[i].k);
    fmc_json_uint(j, n[i].v);
  }
  fmc_json_obj_end(j);
}

static void status_json(fmc_ctx *c, const status_info *s) {
  fmc_json j;
  fmc_json_init(&j, stdout);
  fmc_json_obj(&j);
  fmc_json_key(&j, "device_id");
  if (s->have_self) fmc_json_hex(&j, s->self, FM_KEY_LEN);
  else fmc_json_null(&j);
  fmc_json_key(&j, "commune");
  fmc_json_str(&j, s->have_auth ? s->commune : "");
  fmc_json_key(&j, "authority_id");
  if (s->have_auth) fmc_json_hex(&j, s->auth, FM_KEY_LEN);
  else fmc_json_null(&j);
  fmc_json_key(&j, "authority_key");
  fmc_json_bool(&j, s->auth_key);
  fmc_json_key(&j, "enrolled");
  fmc_json_bool(&j, s->enrolled);
  fmc_json_key(&j, "name");
  fmc_json_str(&j, s->enrolled ? s->en.name : "");
  fmc_json_key(&j, "team");
  fmc_json_str(&j, s->enrolled ? s->en.team : "");
  fmc_json_key(&j, "role");
  fmc_json_str(&j, s->enrolled ? fm_role_name(s->en.role) : "");
  fmc_json_key(&j, "villages");
  fmc_json_arr(&j);
  for (int i = 0; s->enrolled && i < s->en.nvillages; i++) fmc_json_str(&j, s->en.villages[i]);
  fmc_json_arr_end(&j);
  fmc_json_key(&j, "revoked");
  fmc_json_bool(&j, s->enrolled && s->revoked_after != UINT64_MAX);
  const struct { const char *k; uint64_t v; } nums[] = {
      {"entries", s->st.entries},       {"bytes", s->st.bytes},
      {"authors", s->st.authors},       {"dossiers", s->st.dossiers},
      {"visits", s->st.visits},         {"held", s->st.held},
      {"quarantined", s->st.quarantined}, {"clock_ahead", s->st.clock_ahead},
      {"self_seq", s->st.self_seq},     {"only_here", s->copies.none},
      {"unsafe", s->copies.unsafe},     {"safe_copies", s->copies.need},
      {"restored_pending", s->restore.pending}, {"restored", s->restore.rewritten},
      {"scan_chunks", s->chunks},       {"scan_bytes", s->chunk_bytes},
      {"scan_chunks_missing", s->chunks_wanted},
      {"scans_max", s->scans_max},      {"scans_full", (uint64_t)s->scans_full},
      {"own_scans", s->scans.scans},    {"scans_unsafe", s->scans.unsafe},
      {"scan_bytes_waiting", s->scans.unsafe_bytes},
  };
  for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
    fmc_json_key(&j, nums[i].k);
    fmc_json_uint(&j, nums[i].v);
  }
  copies_json(&j, &s->copies);
  fmc_json_key(&j, "safe_to_leave");
  fmc_json_bool(&j, s->have_self && safe_to_leave(s));
  fmc_json_key(&j, "view_digest");
  fmc_json_hex(&j, s->digest, 32);
  fmc_upstream_status_json(c, &s->up, &j);
  fmc_net_status(c, &j);
  fmc_json_obj_end(&j);
  fmc_json_end(&j);
}

/* One "key         value" line of the human listing (keys are ASCII). */
static void kv(const char *key, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void kv(const char *key, const char *fmt, ...) {
  va_list ap;
  printf("%-12s ", key);
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  putchar('\n');
}

static void status_text(fmc_ctx *c, const status_info *s) {
  char hex[65], who[512] = "not enrolled: run `fieldmesh join FILE`";
  fm_hex(s->self, FM_KEY_LEN, hex);
  kv("device", "%s", s->have_self ? hex : "(no device key)");
  if (s->enrolled) {
    size_t n = (size_t)snprintf(who, sizeof who, "%s (%s, %s)", s->en.name, s->en.team,
                                fm_role_name(s->en.role));
    for (int i = 0; i < s->en.nvillages && n < sizeof who; i++)
      n += (size_t)snprintf(who + n, sizeof who - n, "%s%s", i ? ", " : "; ",
                            s->en.villages[i]);
    if (s->revoked_after != UINT64_MAX && n < sizeof who)
      snprintf(who + n, sizeof who - n, " — REVOKED after seq %llu",
               (unsigned long long)s->revoked_after);
  }
  if (s->have_self) kv("member", "%s", who);
  kv("commune", "%s%s", s->have_auth ? s->commune : "(none yet)",
     s->auth_key ? " (this is the authority's machine)" : "");
  kv("entries", "%llu from %llu author%s (%llu bytes)", (unsigned long long)s->st.entries,
     (unsigned long long)s->st.authors, s->st.authors == 1 ? "" : "s",
     (unsigned long long)s->st.bytes);
  kv("visits", "%llu", (unsigned long long)s->st.visits);
  kv("dossiers", "%llu", (unsigned long long)s->st.dossiers);
  kv("held", "%llu (from laptops not yet enrolled here, or changes of records not here yet)", (unsigned long long)s->st.held);
  kv("quarantined", "%llu", (unsigned long long)s->st.quarantined);
  if (s->chunks || s->chunks_wanted)
    kv("scans", "%llu chunks here (%llu bytes); %llu named by records here have not "
       "arrived yet", (unsigned long long)s->chunks, (unsigned long long)s->chunk_bytes,
       (unsigned long long)s->chunks_wanted);
  if (s->scans_full)
    kv("", "the scan quota (%llu MiB, [node] scans_max_mb) is reached: no more are fetched",
       (unsigned long long)(s->scans_max >> 20));
  if (s->st.clock_ahead)
    kv("clock ahead", "%llu entries stamped over a day ahead: a laptop's clock is wrong",
       (unsigned long long)s->st.clock_ahead);
  if (s->have_self) {
    const fm_copies *cp = &s->copies;
    kv("only here", "%llu of this laptop's %llu entries are on no other laptop yet",
       (unsigned long long)cp->none, (unsigned long long)cp->own);
    kv("copies", "on one other laptop %llu, on two or more %llu; receipted by the "
       "commune hall %llu", (unsigned long long)cp->one, (unsigned long long)cp->more,
       (unsigned long long)cp->receipted);
    if (s->scans.scans)
      kv("own scans", "%llu (%llu bytes); %llu (%llu bytes) wait to travel: on fewer than "
         "%u other laptop%s and not receipted", (unsigned long long)s->scans.scans,
         (unsigned long long)s->scans.bytes, (unsigned long long)s->scans.unsafe,
         (unsigned long long)s->scans.unsafe_bytes, cp->need, cp->need == 1 ? "" : "s");
    if (safe_to_leave(s))
      kv("", "safe to leave the village: every entry and scan is on %u other laptop%s or "
         "receipted", cp->need, cp->need == 1 ? "" : "s");
    else if (cp->unsafe)
      kv("", "NOT safe to leave the village: %llu entr%s on fewer than %u other laptop%s "
         "and not receipted; sync or carry a bundle first", (unsigned long long)cp->unsafe,
         cp->unsafe == 1 ? "y is" : "ies are", cp->need, cp->need == 1 ? "" : "s");
    else
      kv("", "NOT safe to leave the village: %llu scan%s (%llu bytes) not yet on %u other "
         "laptop%s; stay in reach until the sync has sent them",
         (unsigned long long)s->scans.unsafe, s->scans.unsafe == 1 ? "" : "s",
         (unsigned long long)s->scans.unsafe_bytes, cp->need, cp->need == 1 ? "" : "s");
  }
  if (s->restore.pending)
    kv("restored", "%llu record%s written after a restore of this laptop wait%s to be "
       "recorded again: connect to the mesh or import a bundle",
       (unsigned long long)s->restore.pending, s->restore.pending == 1 ? "" : "s",
       s->restore.pending == 1 ? "s" : "");
  if (s->have_self) fmc_upstream_status_text(c, &s->up);
  fm_hex(s->digest, 32, hex);
  kv("view digest", "%s", hex);
  fmc_net_status(c, NULL);
}

int fmc_cmd_status(fmc_ctx *c, int argc, char **argv) {
  fmc_spec spec = {"usage: fieldmesh status [--json]\n"
                   "This laptop: its identity and enrollment, what the store holds, how\n"
                   "many of its own entries other laptops have confirmed they store (and\n"
                   "whether it is safe to leave the village), and the view digest (two\n"
                   "laptops that agree show the same digest).\n",
                   NULL, 0, 0, {0}, 0};
  status_info s;
  int rv;
  if ((rv = fmc_args_parse(c, &spec, argc, argv)) != 0) return rv;
  if ((rv = fmc_open(c, 0)) != 0) return rv;
  if ((rv = gather(c, &s)) != 0) return rv;
  if (c->json) status_json(c, &s);
  else status_text(c, &s);
  return 0;
}

int fmc_cmd_verify(fmc_ctx *c, int argc, char **argv) {
  fmc_opt o[] = {{"--repair", NULL, 1, NULL}, {NULL, NULL, 0, NULL}};
  fmc_spec spec = {"usage: fieldmesh verify [--repair] [--json]\n"
                   "Re-checks every signature, chain link, head, view and receipt from\n"
                   "scratch. With --repair, views and receipts that disagree with a sound\n"
                   "log are rebuilt from it (the log itself is never changed).\n",
                   o, 0, 0, {0}, 0};
  char err[1024] = "";
  fm_store_stats st;
  int rv, repaired = 0;
  if ((rv = fmc_args_parse(c, &spec, argc, argv)) != 0) return rv;
  if ((rv = fmc_open(c, 0)) != 0) return rv;
  /* The views are rebuilt for comparison in a private folder under
   * $TMPDIR (else /tmp), not in the state folder: checking needs no room
   * on the disk that may be the full one. */
  rv = fm_store_verify(c->store, NULL, err, sizeof err);
  if (rv == FM_ERR_STALE && o[0].value) {
    if ((rv = fm_store_rebuild(c->store)) < 0)
      return fmc_store_fail(c, rv, "cannot rebuild the views and receipts");
    if (!c->json) printf("verify: rebuilt the views and receipts from the log\n");
    repaired = 1;
    rv = fm_store_verify(c->store, NULL, err, sizeof err);
  }
  if (rv < 0) {
    if (c->json) printf("{\"ok\":false}\n");
    /* A log that does not hold up on this laptop's own disk is damage:
     * every entry was checked before it was stored. */
    if (rv == FM_ERR_CORRUPT || rv == FM_ERR_DAMAGED) {
      snprintf(c->damage, sizeof c->damage, "%.200s", err[0] ? err : fm_strerror(rv));
      return fmc_store_fail(c, FM_ERR_DAMAGED, NULL);
    }
    return fmc_fail(c, "%s", err[0] ? err : fm_strerror(rv));
  }
  if (fm_store_stats_get(c->store, &st) < 0) memset(&st, 0, sizeof st);
  if (c->json)
    printf("{\"ok\":true,\"entries\":%llu,\"authors\":%llu,\"repaired\":%s}\n",
           (unsigned long long)st.entries, (unsigned long long)st.authors,
           repaired ? "true" : "false");
  else
    printf("verify: ok (%llu entr%s, %llu author%s)\n", (unsigned long long)st.entries,
           st.entries == 1 ? "y" : "ies", (unsigned long long)st.authors,
           st.authors == 1 ? "" : "s");
  return 0;
}
