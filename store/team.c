/* Who may change what, as validation (docs/architecture.md, "Trust"):
 * members, leaders and gateways write only records of their own (the
 * writer's form of a record id names its author's key), and change, void
 * or correct only records of their own team; the officer, an
 * administrator and the authority any.  A change of a record this store
 * does not hold yet waits for it in the held table, so every node judges
 * it against the same record, whatever order entries arrived in. */
#include "store_int.h"

#include <string.h>

#include "fieldmesh/error.h"
#include "fieldmesh/record.h"
#include "fieldmesh/text.h"

/* The two key bytes a record id in the writer's form carries (docs/
 * architecture.md, "Record ids"): 1 and |key| set, or 0 when |id| is not
 * in that form (readers treat such ids as opaque). */
static int id_key(const char *id, size_t n, uint8_t key[2]) {
  static const char b32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  uint8_t raw[10] = {0};
  if (n != 18 || (id[0] != 'V' && id[0] != 'D') || id[1] != '-') return 0;
  for (int d = 0; d < 16; d++) {
    const char *p = memchr(b32, id[2 + d], 32);
    if (!p || !id[2 + d]) return 0;
    int v = (int)(p - b32);
    for (int k = 4; k >= 0; k--) {
      int bit = d * 5 + (4 - k);
      if ((v >> k) & 1) raw[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
    }
  }
  key[0] = raw[6];
  key[1] = raw[7];
  return 1;
}

/* A change's record: its team into |team| and 1, or 0 when this store
 * holds no record of it yet (none, or a placeholder a change made). */
static int record_team(fm_store *s, MDB_txn *t, fm_view_kind k, const char *id, size_t n,
                       fm_str *team, int *rc) {
  MDB_val key = {n, (void *)id}, v;
  *rc = mdb_get(t, k == FM_VIEW_DOSSIER ? s->dossiers : s->visits, &key, &v);
  if (*rc == MDB_NOTFOUND) return *rc = 0, 0;
  if (*rc) return *rc = fm__store_err(*rc), 0;
  if (k == FM_VIEW_DOSSIER) {
    fm_dossier_view d;
    if (fm_dossier_view_decode(v.mv_data, v.mv_size, &d) < 0 || !d.base.set) return 0;
    *team = d.team;
  } else {
    fm_visit_view vv;
    if (fm_visit_view_decode(v.mv_data, v.mv_size, &vv) < 0 || !vv.base.set) return 0;
    *team = vv.team;
  }
  return 1;
}

int fm__store_team_rule(fm_store *s, MDB_txn *t, const fm_entry *e, fm__trust trust,
                        fm_role role, const char *author_team) {
  const char *id;
  size_t n;
  uint8_t key[2];
  fm_str team;
  int rc;
  if (trust == FM__TRUST_AUTHORITY || role == FM_ROLE_OFFICER || role == FM_ROLE_ADMIN)
    return 0;
  fm_view_kind k = fm_view_target(e, &id, &n);
  if (k == FM_VIEW_NONE) return 0;
  if (fm_entry_is(e, FM_KIND_VISIT) || fm_entry_is(e, FM_KIND_DOSSIER))
    /* Writing a record under another author's id is changing it. */
    return id_key(id, n, key) && memcmp(key, e->author, 2) ? FM_ERR_ROLE : 0;
  if (!record_team(s, t, k, id, n, &team, &rc)) return rc ? rc : FM__WAIT_RECORD;
  if (team.n == 0 || fm_text_same(team.p, team.n, author_team, strlen(author_team), 0))
    return 0;
  return FM_ERR_ROLE;
}

/* The record_wait key of record |id| (|n| bytes) of kind |k|, with
 * |author| after it when not NULL; its length. */
static size_t wait_key(uint8_t *out, fm_view_kind k, const char *id, size_t n,
                       const uint8_t *author) {
  out[0] = (uint8_t)k;
  out[1] = (uint8_t)n;
  memcpy(out + 2, id, n);
  if (author) memcpy(out + 2 + n, author, FM_KEY_LEN);
  return 2 + n + (author ? FM_KEY_LEN : 0);
}

int fm__store_wait_record(fm_store *s, MDB_txn *t, const fm_entry *e) {
  uint8_t key[2 + FM_RECORD_ID_MAX + FM_KEY_LEN];
  const char *id;
  size_t n;
  fm_view_kind k = fm_view_target(e, &id, &n);
  MDB_val kv = {wait_key(key, k, id, n, e->author), key}, v = {0, NULL};
  return fm__store_err(mdb_put(t, s->record_wait, &kv, &v, 0));
}

int fm__store_record_arrived(fm_store *s, MDB_txn *t, const fm_entry *e, fm_time now,
                             fm_ingest_result *res) {
  uint8_t key[2 + FM_RECORD_ID_MAX + FM_KEY_LEN], author[FM_KEY_LEN];
  const char *id;
  size_t n, plen;
  MDB_stat st;
  int rc;
  if (!fm_entry_is(e, FM_KIND_VISIT) && !fm_entry_is(e, FM_KIND_DOSSIER)) return 0;
  fm_view_kind k = fm_view_target(e, &id, &n);
  if (k == FM_VIEW_NONE) return 0;
  if ((rc = mdb_stat(t, s->record_wait, &st)) != 0) return fm__store_err(rc);
  if (st.ms_entries == 0) return 0;
  plen = wait_key(key, k, id, n, NULL);
  /* One author at a time, deleting its key first: releasing ingests, and
   * that writes to this table. */
  for (;;) {
    MDB_cursor *c;
    MDB_val kv = {plen, key}, v;
    if ((rc = mdb_cursor_open(t, s->record_wait, &c)) != 0) return fm__store_err(rc);
    rc = mdb_cursor_get(c, &kv, &v, MDB_SET_RANGE);
    if (rc == 0 && (kv.mv_size != plen + FM_KEY_LEN || memcmp(kv.mv_data, key, plen)))
      rc = MDB_NOTFOUND;
    if (rc == 0) {
      memcpy(author, (const uint8_t *)kv.mv_data + plen, FM_KEY_LEN);
      rc = mdb_cursor_del(c, 0);
    }
    mdb_cursor_close(c);
    if (rc) return rc == MDB_NOTFOUND ? 0 : fm__store_err(rc);
    if ((rc = fm__store_release_held(s, t, author, now, res)) != 0) return rc;
  }
}
