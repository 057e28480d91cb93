/* The one write path: every entry, own or received, is validated and
 * applied here, in the order docs/architecture.md gives: size and
 * structure, author trusted for this seq, signature, next seq, prev. */
#include "store_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fieldmesh/error.h"
#include "fieldmesh/vocab.h"

int fm__store_head_get(fm_store *s, MDB_txn *t, const uint8_t author[FM_KEY_LEN],
                       fm__head *h) {
  MDB_val k = {FM_KEY_LEN, (void *)author}, v;
  int rc = mdb_get(t, s->heads, &k, &v);
  if (rc == MDB_NOTFOUND) {
    memset(h, 0, sizeof *h);
    return 0;
  }
  if (rc) return fm__store_err(rc);
  if (v.mv_size != FM__HEAD_LEN) return FM_ERR_CORRUPT;
  const uint8_t *p = v.mv_data;
  h->seq = fm__be64_get(p);
  memcpy(h->id, p + 8, FM_ID_LEN);
  h->count = fm__be64_get(p + 8 + FM_ID_LEN);
  h->bytes = fm__be64_get(p + 16 + FM_ID_LEN);
  return 0;
}

int fm__store_head_put(fm_store *s, MDB_txn *t, const uint8_t author[FM_KEY_LEN],
                       const fm__head *h) {
  uint8_t buf[FM__HEAD_LEN];
  MDB_val k = {FM_KEY_LEN, (void *)author}, v = {sizeof buf, buf};
  fm__be64_put(buf, h->seq);
  memcpy(buf + 8, h->id, FM_ID_LEN);
  fm__be64_put(buf + 8 + FM_ID_LEN, h->count);
  fm__be64_put(buf + 16 + FM_ID_LEN, h->bytes);
  return fm__store_err(mdb_put(t, s->heads, &k, &v, 0));
}

/* Quarantine record: reason (be32) | when (be64) | entry bytes. */
int fm__store_quarantine_bytes(fm_store *s, MDB_txn *t, const uint8_t key[40 + FM_ID_LEN],
                               const uint8_t *bytes, size_t len, int reason, fm_time now) {
  MDB_val k = {40 + FM_ID_LEN, (void *)key}, v = {12 + len, NULL};
  int rc = mdb_put(t, s->quarantine, &k, &v, MDB_RESERVE);
  if (rc) return fm__store_err(rc);
  uint8_t *p = v.mv_data;
  uint32_t r = (uint32_t)-reason;
  p[0] = (uint8_t)(r >> 24); p[1] = (uint8_t)(r >> 16);
  p[2] = (uint8_t)(r >> 8); p[3] = (uint8_t)r;
  fm__be64_put(p + 4, (uint64_t)now);
  memcpy(p + 12, bytes, len);
  return 0;
}

static int quarantine(fm_store *s, MDB_txn *t, const fm_entry *e, int reason,
                      fm_time now) {
  uint8_t key[40 + FM_ID_LEN];
  fm__store_entry_key(key, e->author, e->seq);
  fm_entry_id(e->bytes, e->len, key + 40);
  return fm__store_quarantine_bytes(s, t, key, e->bytes, e->len, reason, now);
}

size_t fm__store_held_per_author(size_t asked, size_t held_max) {
  size_t n = asked && asked < FM__HELD_PER_AUTHOR ? asked : FM__HELD_PER_AUTHOR;
  return n < held_max ? n : held_max;
}

/* Deletes |author|'s held entries from seq |from| up. */
static int drop_held_from(MDB_cursor *c, const uint8_t author[FM_KEY_LEN], uint64_t from) {
  uint8_t key[40];
  MDB_val k = {sizeof key, key}, v;
  int rc;
  fm__store_entry_key(key, author, from);
  for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    if (k.mv_size != 40 || memcmp(k.mv_data, author, FM_KEY_LEN)) break;
    /* After a delete, MDB_NEXT lands on the entry that followed. */
    if ((rc = mdb_cursor_del(c, 0)) != 0) return fm__store_err(rc);
  }
  return rc == MDB_NOTFOUND || rc == 0 ? 0 : fm__store_err(rc);
}

/* Keeps a verified entry of a not-yet-known author aside.  Each author's
 * held entries stay within a window of held_per_author consecutive seqs
 * from its lowest held one, so a flood of one key holds at most that many
 * and cannot push out another key's entries.  Within the window the lowest
 * seqs win: the release applies them in order from the first, and what
 * falls outside (refused, or evicted from the top when a lower seq
 * arrives) is offered again by the next sync.  Costs one cursor seek,
 * paid only by held entries.  FM_ERR_HELDFULL when the entry is outside
 * its author's window or the whole table is full. */
static int hold(fm_store *s, MDB_txn *t, const fm_entry *e) {
  uint8_t key[40];
  uint64_t per = s->held_per_author, lo;
  MDB_stat st;
  MDB_cursor *c;
  MDB_val k = {sizeof key, key}, v;
  int rc;
  fm__store_entry_key(key, e->author, 0);
  if ((rc = mdb_cursor_open(t, s->held, &c)) != 0) return fm__store_err(rc);
  rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
  if (rc == 0 && k.mv_size == 40 && !memcmp(k.mv_data, e->author, FM_KEY_LEN)) {
    lo = fm__be64_get((const uint8_t *)k.mv_data + FM_KEY_LEN);
    if (e->seq >= lo && e->seq - lo >= per) rc = FM_ERR_HELDFULL;
    else if (e->seq < lo && e->seq <= UINT64_MAX - per)
      rc = drop_held_from(c, e->author, e->seq + per);
    else rc = 0;
  } else if (rc == 0 || rc == MDB_NOTFOUND) {
    rc = 0;
  }
  mdb_cursor_close(c);
  if (rc) return fm__store_err(rc);
  if ((rc = mdb_stat(t, s->held, &st)) != 0) return fm__store_err(rc);
  if (st.ms_entries >= s->held_max) return FM_ERR_HELDFULL;
  fm__store_entry_key(key, e->author, e->seq);
  k.mv_size = sizeof key;
  k.mv_data = key;
  v.mv_size = e->len;
  v.mv_data = (void *)e->bytes;
  rc = mdb_put(t, s->held, &k, &v, MDB_NOOVERWRITE);
  return rc == MDB_KEYEXIST ? 0 : fm__store_err(rc);
}

static int note_clock_ahead(fm_store *s, MDB_txn *t, const fm_entry *e,
                            fm_time now) {
  MDB_val k = {FM_KEY_LEN, (void *)e->author}, v;
  uint8_t buf[16];
  uint64_t count = 0;
  if (mdb_get(t, s->clock, &k, &v) == 0 && v.mv_size == 16)
    count = fm__be64_get(v.mv_data);
  fm__be64_put(buf, count + 1);
  fm__be64_put(buf + 8, fm_hlc_ms(e->hlc) - (uint64_t)now);
  v.mv_size = sizeof buf;
  v.mv_data = buf;
  return fm__store_err(mdb_put(t, s->clock, &k, &v, 0));
}

int fm__store_apply_views(fm_store *s, MDB_txn *t, MDB_dbi dossiers,
                          MDB_dbi visits, const fm_entry *e) {
  const char *id;
  size_t idn;
  fm_view_kind k = fm_view_target(e, &id, &idn);
  if (k == FM_VIEW_NONE) return 0;
  MDB_dbi dbi = k == FM_VIEW_DOSSIER ? dossiers : visits;
  MDB_val key = {idn, (void *)id}, old;
  int rc = mdb_get(t, dbi, &key, &old);
  if (rc && rc != MDB_NOTFOUND) return fm__store_err(rc);
  rc = fm_view_apply(k, rc ? NULL : old.mv_data, rc ? 0 : old.mv_size, e, &s->rec);
  if (rc < 0) return rc;
  MDB_val nv = {s->rec.len, s->rec.p};
  return fm__store_err(mdb_put(t, dbi, &key, &nv, 0));
}

/* Side effects of the authority's own entries on the trust tables. */
static int apply_authority(fm_store *s, MDB_txn *t, const fm_entry *e,
                           fm_time now, fm_ingest_result *res) {
  fm_enrollment en;
  uint8_t dev[FM_KEY_LEN];
  uint64_t after;
  int rc;
  if (fm_entry_is(e, FM_KIND_ENROLL)) {
    /* A malformed enrollment body stays in the log (it is signed) but
     * enrolls nobody. */
    rc = fm__store_put_cert(s, t, e, &en);
    if (rc == FM_ERR_MALFORMED) return 0;
    if (rc) return fm__store_err(rc);
    return fm__store_release_held(s, t, en.device, now, res);
  }
  if (fm_entry_is(e, FM_KIND_REVOKE) && fm_revoke_parse(e, dev, &after) == 0) {
    if ((rc = fm__store_put_revocation(s, t, dev, after)) != 0) return fm__store_err(rc);
    return fm__store_purge_revoked(s, t, dev, after, now);
  }
  return 0;
}

/* Kinds that only some roles may write. */
static int role_allows(const fm_entry *e, fm__trust trust, fm_role role) {
  if (trust == FM__TRUST_AUTHORITY) return 1;
  if (fm_entry_is(e, FM_KIND_ENROLL) || fm_entry_is(e, FM_KIND_REVOKE) ||
      fm_entry_is(e, FM_KIND_VOCAB))
    return 0;
  if (fm_entry_is(e, FM_KIND_RECEIPT)) return role == FM_ROLE_GATEWAY;
  if (fm_entry_is(e, FM_KIND_DOSSIER_CORRECT))
    return role == FM_ROLE_LEADER || role == FM_ROLE_OFFICER || role == FM_ROLE_ADMIN;
  return 1;
}

typedef struct ingest_ctx {
  const fm_slice *entries;
  size_t n;
  fm_time now;
  fm_ingest_result res;
  fm_ingest_outcome *outcomes;
  const fm_verifier *v;   /* the store's verifier, begun; NULL: inline */
} ingest_ctx;

static int record(fm_ingest_result *res, int outcome, int code) {
  switch (outcome) {
  case FM_IN_ACCEPTED: res->accepted++; break;
  case FM_IN_DUPLICATE: res->duplicate++; break;
  case FM_IN_HELD: res->held++; break;
  case FM_IN_QUARANTINED: res->quarantined++; break;
  default:
    res->refused++;
    if (code == FM_ERR_MALFORMED || code == FM_ERR_TOOBIG ||
        code == FM_ERR_BADSIG || code == FM_ERR_VERSION)
      res->invalid++;
    break;
  }
  if (code < 0 && !res->first_error &&
      (outcome == FM_IN_QUARANTINED || outcome == FM_IN_REFUSED))
    res->first_error = code;
  return outcome;
}

/* Appends the accepted entry |e| to its author's log and views. */
static int apply(fm_store *s, MDB_txn *t, const fm_entry *e, const fm__head *h,
                 fm_time now, fm_ingest_result *res) {
  uint8_t key[40];
  fm__head nh;
  MDB_val k = {sizeof key, key}, v = {e->len, (void *)e->bytes};
  int rc;
  fm__store_entry_key(key, e->author, e->seq);
  if ((rc = mdb_put(t, s->entries, &k, &v, 0)) != 0) return fm__store_err(rc);
  nh.seq = e->seq;
  fm_entry_id(e->bytes, e->len, nh.id);
  nh.count = h->count + 1;
  nh.bytes = h->bytes + e->len;
  if ((rc = fm__store_head_put(s, t, e->author, &nh)) != 0) return fm__store_err(rc);
  if ((rc = fm__store_apply_views(s, t, s->dossiers, s->visits, e)) != 0) return fm__store_err(rc);
  if ((rc = fm__store_receipts_on_entry(s, t, e)) != 0) return fm__store_err(rc);
  if ((rc = fm__store_blobs_on_entry(s, t, e)) != 0) return fm__store_err(rc);
  if (fm_hlc_too_far_ahead(e->hlc, now)) {
    res->clock_ahead++;
    if ((rc = note_clock_ahead(s, t, e, now)) != 0) return fm__store_err(rc);
  }
  if ((rc = apply_authority(s, t, e, now, res)) != 0) return rc;
  return fm__store_record_arrived(s, t, e, now, res);
}

/* A second, different entry for a held (author, seq): both are kept as
 * evidence and the newcomer is not applied. */
static int fork_evidence(fm_store *s, MDB_txn *t, const fm_entry *e,
                         const MDB_val *held_bytes, fm_time now) {
  fm_entry old;
  int rc;
  if (fm_entry_decode(held_bytes->mv_data, held_bytes->mv_size, NULL, &old) < 0)
    return FM_ERR_CORRUPT;
  if ((rc = quarantine(s, t, &old, FM_ERR_FORK, now)) != 0) return fm__store_err(rc);
  return quarantine(s, t, e, FM_ERR_FORK, now);
}

/* A change of a record not held yet waits for it, held (the team rule
 * needs the record's team); FM_IN_HELD, or refused for now when the held
 * table has no room. */
static int hold_for_record(fm_store *s, MDB_txn *t, const fm_entry *e, int *code) {
  int rc = hold(s, t, e);
  if (rc == FM_ERR_HELDFULL) {
    *code = FM_ERR_HELDFULL;
    return FM_IN_REFUSED;
  }
  if (rc || (rc = fm__store_wait_record(s, t, e)) != 0) return fm__store_err(rc);
  *code = FM_ERR_NOTFOUND;
  return FM_IN_HELD;
}

/* An entry past a gap: held when its author's next entry is held waiting
 * for a record (|*code| FM_ERR_NOTFOUND), else refused as a gap (|*code|
 * FM_ERR_GAP, or FM_ERR_HELDFULL).  Returns 0 or an LMDB code. */
static int waiting_behind(fm_store *s, MDB_txn *t, const fm_entry *e, const fm__head *h,
                          int *code) {
  uint8_t key[40];
  MDB_val k = {sizeof key, key}, v;
  *code = FM_ERR_GAP;
  fm__store_entry_key(key, e->author, h->seq + 1);
  int rc = mdb_get(t, s->held, &k, &v);
  if (rc == MDB_NOTFOUND) return 0;
  if (rc) return fm__store_err(rc);
  if (fm__store_verify_entry(s, e) < 0) return 0;   /* refused as a gap, as before */
  rc = hold(s, t, e);
  if (rc == FM_ERR_HELDFULL) {
    *code = FM_ERR_HELDFULL;
    return 0;
  }
  if (rc) return fm__store_err(rc);
  *code = FM_ERR_NOTFOUND;
  return 0;
}

/* Steps 8 to 10 of validation for a signed entry |e| next in its author's
 * log (|h| its head): the role, the link and the team rule.  |*code| is
 * the breach (FM_ERR_ROLE, FM_ERR_BADPREV) or 0; returns 0,
 * FM__WAIT_RECORD (a change of a record not here yet), or an LMDB code. */
static int breach(fm_store *s, MDB_txn *t, const fm_entry *e, const fm__head *h, int *code) {
  fm__trust trust;
  fm_role role = FM_ROLE_MEMBER;
  /* The author's trust again: a cache hit, and its team is read with it. */
  int rc = fm__store_trust(s, t, e->author, e->seq, e->hlc, &trust, &role);
  if (rc) return fm__store_err(rc);
  *code = 0;
  if (!role_allows(e, trust, role)) *code = FM_ERR_ROLE;
  else if (e->has_prev != (h->seq > 0) ||
           (e->has_prev && memcmp(e->prev, h->id, FM_ID_LEN) != 0))
    *code = FM_ERR_BADPREV; /* signed, so evidence of a forked history */
  else if (trust != FM__TRUST_AUTHORITY) {
    rc = fm__store_team_rule(s, t, e, trust, role, s->trust_cache.team);
    if (rc == FM_ERR_ROLE) *code = FM_ERR_ROLE;
    else return rc < 0 ? fm__store_err(rc) : rc;
  }
  return 0;
}

/* Entry |e|'s signature: the batch verifier's verdict when it has one
 * for this entry, else checked here. */
static int sig_check(fm_store *s, const fm_verifier *v, size_t i, const fm_entry *e) {
  return v ? v->verdict(v->ctx, i) : fm__store_verify_entry(s, e);
}

/* What a failed signature check makes of the entry: refused, or -- when
 * the check itself could not run (out of memory) -- the batch fails. */
static int sig_refused(int code) {
  return code == FM_ERR_BADSIG || code == FM_ERR_MALFORMED || code == FM_ERR_TOOBIG
             ? FM_IN_REFUSED
             : code;
}

/* Validates and applies one entry.  Returns an fm_outcome (>= 0) with the
 * reason in |*code|, or a negative error that aborts the transaction:
 * every LMDB result passes through fm__store_err() on its way out, so a
 * positive errno from LMDB can never pass for an outcome. */
static int ingest_one(fm_store *s, MDB_txn *t, const uint8_t *p, size_t len,
                      fm_time now, fm_ingest_result *res, int *code) {
  fm_entry e;
  fm__trust trust;
  fm_role role = FM_ROLE_MEMBER;
  fm__head h;
  int rc;
  /* The batch's own entry has a verdict; what its application releases
   * (held entries, applied within) is checked here. */
  const fm_verifier *bv = s->batch_v;
  size_t vi = s->vi;
  s->batch_v = NULL;
  *code = 0;
  if ((*code = fm_entry_decode(p, len, &s->limits, &e)) < 0) return FM_IN_REFUSED;
  if ((rc = fm__store_trust(s, t, e.author, e.seq, e.hlc, &trust, &role)) != 0)
    return fm__store_err(rc);
  if ((rc = fm__store_head_get(s, t, e.author, &h)) != 0) return fm__store_err(rc);
  if (e.seq <= h.seq) {
    /* Identical bytes are a duplicate: no need to check the signature of
     * what we already hold. */
    uint8_t key[40];
    MDB_val k = {sizeof key, key}, v;
    fm__store_entry_key(key, e.author, e.seq);
    if ((rc = mdb_get(t, s->entries, &k, &v)) != 0)
      return rc == MDB_NOTFOUND ? FM_ERR_CORRUPT : fm__store_err(rc);
    if (v.mv_size == len && memcmp(v.mv_data, p, len) == 0) return FM_IN_DUPLICATE;
    if ((*code = sig_check(s, bv, vi, &e)) < 0) return sig_refused(*code);
    /* Our own log, forked by a restored backup: the mesh's branch wins
     * and ours is set aside, to be written again at the head. */
    int rolled = 0;
    if ((rc = fm__store_own_fork(s, t, &e, now, &rolled)) != 0) return fm__store_err(rc);
    if (!rolled) {
      *code = FM_ERR_FORK;
      if ((rc = fork_evidence(s, t, &e, &v, now)) != 0) return fm__store_err(rc);
      return FM_IN_QUARANTINED;
    }
    res->rolled_back++;
    if ((rc = fm__store_head_get(s, t, e.author, &h)) != 0) return fm__store_err(rc);
    *code = 0;
  }
  if (trust == FM__TRUST_UNKNOWN) {
    /* Kept aside in seq order whatever the gaps: the release puts them
     * through this function again, in order, once the author is known. */
    if ((*code = sig_check(s, bv, vi, &e)) < 0) return sig_refused(*code);
    *code = FM_ERR_AUTH;
    /* No room left aside (for this author, or at all): refused for now,
     * said as "held table full" -- not as invalid, which would drop an
     * honest peer, nor as a full disk.  The next sync offers it again. */
    if ((rc = hold(s, t, &e)) == FM_ERR_HELDFULL) {
      *code = FM_ERR_HELDFULL;
      return FM_IN_REFUSED;
    }
    return rc ? fm__store_err(rc) : FM_IN_HELD;
  }
  if (trust == FM__TRUST_REVOKED || trust == FM__TRUST_EXPIRED) {
    /* Refused everywhere, whatever its place in the log: kept as evidence
     * of what the device did after it stopped being trusted. */
    if ((*code = sig_check(s, bv, vi, &e)) < 0) return sig_refused(*code);
    *code = trust == FM__TRUST_REVOKED ? FM_ERR_REVOKED : FM_ERR_EXPIRED;
    if ((rc = quarantine(s, t, &e, *code, now)) != 0) return fm__store_err(rc);
    return FM_IN_QUARANTINED;
  }
  if (e.seq > h.seq + 1) {
    /* Behind an entry of its author that waits for its record: waits
     * too, so the log is applied in order once the record comes. */
    if ((rc = waiting_behind(s, t, &e, &h, code)) != 0) return rc;
    return *code == FM_ERR_NOTFOUND ? FM_IN_HELD : FM_IN_REFUSED;
  }
  if ((*code = sig_check(s, bv, vi, &e)) < 0) return sig_refused(*code);
  if ((rc = breach(s, t, &e, &h, code)) < 0) return rc;
  if (rc == FM__WAIT_RECORD) return hold_for_record(s, t, &e, code);
  if (*code < 0) {
    if ((rc = quarantine(s, t, &e, *code, now)) != 0) return fm__store_err(rc);
    return FM_IN_QUARANTINED;
  }
  if ((rc = apply(s, t, &e, &h, now, res)) != 0) return fm__store_err(rc);
  res->max_hlc = fm_hlc_observe(res->max_hlc, e.hlc, now);
  return FM_IN_ACCEPTED;
}

int fm__store_release_held(fm_store *s, MDB_txn *t,
                           const uint8_t device[FM_KEY_LEN], fm_time now,
                           fm_ingest_result *res) {
  uint8_t key[40];
  MDB_val k = {sizeof key, key}, v;
  int rc, code;
  /* One at a time, lowest seq first, deleting before ingesting: ingest
   * writes to the tables this walk reads, so no cursor is kept across. */
  for (;;) {
    MDB_cursor *c;
    fm__store_entry_key(key, device, 0);
    k.mv_size = sizeof key;
    k.mv_data = key;
    if ((rc = mdb_cursor_open(t, s->held, &c)) != 0) return fm__store_err(rc);
    rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    if (rc == 0 && (k.mv_size != 40 || memcmp(k.mv_data, device, FM_KEY_LEN))) rc = MDB_NOTFOUND;
    uint8_t *copy = NULL;
    size_t len = v.mv_size;
    if (rc == 0) {
      if (!(copy = malloc(len))) rc = -ENOMEM;
      else {
        memcpy(copy, v.mv_data, len);
        rc = mdb_cursor_del(c, 0);
      }
    }
    mdb_cursor_close(c);
    if (rc) {
      free(copy);   /* also when the delete found nothing */
      return rc == MDB_NOTFOUND ? 0 : fm__store_err(rc);
    }
    rc = ingest_one(s, t, copy, len, now, res, &code);
    free(copy);
    if (rc < 0) return rc;
    if (rc == FM_IN_ACCEPTED) res->released++;
    /* Held again: it waits for a record, and the rest behind it. */
    if (rc == FM_IN_HELD) return 0;
  }
}

/* A stored clock far ahead of |now| (a wrong clock, fixed since) gives
 * way to the first believable stamp. */
static int save_clock(fm_store *s, MDB_txn *t, fm_hlc seen, fm_time now) {
  MDB_val v;
  fm_hlc cur = 0, next;
  uint8_t be[8];
  if (fm__store_meta_get(s, t, "hlc", &v) == 0 && v.mv_size == 8)
    cur = fm__be64_get(v.mv_data);
  next = fm_hlc_observe(fm_hlc_believable(cur, now), seen, now);
  if (next == 0 || next == cur) return 0;
  fm__be64_put(be, next);
  return fm__store_meta_put(s, t, "hlc", be, 8);
}

static int do_ingest(fm_store *s, MDB_txn *t, void *ctx) {
  ingest_ctx *ic = ctx;
  int rc, code;
  memset(&ic->res, 0, sizeof ic->res);
  for (size_t i = 0; i < ic->n; i++) {
    s->batch_v = ic->v;
    s->vi = i;
    rc = ingest_one(s, t, ic->entries[i].p, ic->entries[i].len, ic->now,
                    &ic->res, &code);
    s->batch_v = NULL;
    if (rc < 0) return rc;
    FM_ASSERT(rc <= FM_IN_REFUSED); /* an outcome: errors are negative */
    record(&ic->res, rc, code);
    if (ic->outcomes) {
      ic->outcomes[i].outcome = (uint8_t)rc;
      ic->outcomes[i].code = code;
    }
  }
  return save_clock(s, t, ic->res.max_hlc, ic->now);
}

int fm_store_ingest(fm_store *s, const fm_slice *entries, size_t n, fm_time now,
                    fm_ingest_result *res, fm_ingest_outcome *outcomes) {
  ingest_ctx ic = {entries, n, now, {0}, outcomes, NULL};
  int rv;
  /* Begun outside the transaction: a write that grows the map runs
   * do_ingest again, with the same verdicts. */
  if (s->verifier.verdict && n > 0) {
    if ((rv = s->verifier.begin(s->verifier.ctx, entries, n)) < 0) return rv;
    ic.v = &s->verifier;
  }
  rv = fm__store_write(s, do_ingest, &ic);
  if (ic.v) ic.v->end(ic.v->ctx);
  if (rv == 0 && res) *res = ic.res;
  return rv;
}

void fm_store_set_verifier(fm_store *s, const fm_verifier *v) {
  if (v) s->verifier = *v;
  else memset(&s->verifier, 0, sizeof s->verifier);
}

int fm_store_verify_ahead(fm_store *s, const fm_slice *entries, size_t n) {
  if (!s->verifier.verdict || !s->verifier.ahead) return 0;
  return s->verifier.ahead(s->verifier.ctx, n ? entries : NULL, n);
}

/* ---- own entries ------------------------------------------------------------ */

typedef struct append_ctx {
  const fm_identity *id;
  const char *kind;
  const uint8_t *body;
  size_t body_len;
  fm_time now;
  uint8_t entry_id[FM_ID_LEN];
  uint64_t seq;
} append_ctx;

void fm__store_seen_get(fm_store *s, MDB_txn *t, const uint8_t pk[FM_KEY_LEN],
                        uint64_t *seq, fm_time *when) {
  char name[8 + 2 * FM_KEY_LEN + 1] = "seen:";
  MDB_val v;
  fm_hex(pk, FM_KEY_LEN, name + 5);
  int ok = fm__store_meta_get(s, t, name, &v) == 0 && v.mv_size == 16;
  if (seq) *seq = ok ? fm__be64_get(v.mv_data) : 0;
  if (when) *when = ok ? (fm_time)fm__be64_get((uint8_t *)v.mv_data + 8) : 0;
}

int fm__store_own_behind(fm_store *s, MDB_txn *t, const uint8_t pk[FM_KEY_LEN],
                         uint64_t head, fm_time now) {
  uint64_t seq;
  fm_time when;
  fm__store_seen_get(s, t, pk, &seq, &when);
  return seq > head && now - when < FM_SEEN_TRUST_MS;
}

int fm__store_append_one(fm_store *s, MDB_txn *t, const fm_identity *id, const char *kind,
                         const uint8_t *body, size_t body_len, fm_time now,
                         uint8_t entry_id[FM_ID_LEN], uint64_t *seq) {
  fm__head h;
  MDB_val v;
  fm_hlc clock = 0;
  fm_ingest_result res;
  int rc, code;
  if ((rc = fm__store_head_get(s, t, id->pk, &h)) != 0) return fm__store_err(rc);
  /* Never fork our own log: if the mesh has shown a later entry of this
   * key than we hold (a restored backup, a copied key), fetch it first. */
  if (fm__store_own_behind(s, t, id->pk, h.seq, now)) return FM_ERR_BEHIND;
  if (fm__store_meta_get(s, t, "hlc", &v) == 0 && v.mv_size == 8)
    clock = fm__be64_get(v.mv_data);
  rc = fm_entry_build(&s->build, id, h.seq + 1, h.seq ? h.id : NULL,
                      fm_hlc_tick(clock, now), kind, body, body_len);
  if (rc < 0) return rc;
  memset(&res, 0, sizeof res);
  rc = ingest_one(s, t, s->build.p, s->build.len, now, &res, &code);
  if (rc < 0) return rc;
  if (rc != FM_IN_ACCEPTED) return code < 0 ? code : FM_ERR_CORRUPT;
  if (entry_id) fm_entry_id(s->build.p, s->build.len, entry_id);
  if (seq) *seq = h.seq + 1;
  return save_clock(s, t, res.max_hlc, now);
}

int fm__store_append_txn(fm_store *s, MDB_txn *t, const fm_identity *id, const char *kind,
                         const uint8_t *body, size_t body_len, fm_time now,
                         uint8_t entry_id[FM_ID_LEN], uint64_t *seq) {
  /* What a restored backup's member wrote goes first, in its order. */
  int rc = fm__store_restore_flush(s, t, id, now, NULL);
  if (rc) return fm__store_err(rc);
  return fm__store_append_one(s, t, id, kind, body, body_len, now, entry_id, seq);
}

static int do_append(fm_store *s, MDB_txn *t, void *ctx) {
  append_ctx *a = ctx;
  return fm__store_append_txn(s, t, a->id, a->kind, a->body, a->body_len, a->now,
                              a->entry_id, &a->seq);
}

int fm_store_append(fm_store *s, const fm_identity *id, const char *kind,
                    const uint8_t *body, size_t body_len, fm_time now,
                    uint8_t entry_id[FM_ID_LEN], uint64_t *seq) {
  append_ctx a = {id, kind, body, body_len, now, {0}, 0};
  int rv = fm__store_write(s, do_append, &a);
  if (rv < 0) return rv;
  if (entry_id) memcpy(entry_id, a.entry_id, FM_ID_LEN);
  if (seq) *seq = a.seq;
  return 0;
}
