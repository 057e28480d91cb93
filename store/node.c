#include "fieldmesh/node.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fieldmesh/blob_store.h"
#include "fieldmesh/scan_copies.h"
#include "fieldmesh/copies.h"
#include "fieldmesh/enroll.h"
#include "fieldmesh/error.h"
#include "fieldmesh/roster.h"

/* Wipes the device key and releases its page lock. */
static void unlock_id(fm_node *n) {
  fm_identity_wipe(&n->id);
  if (n->id_locked) sodium_munlock(&n->id, sizeof n->id);
  n->id_locked = 0;
}

int fm_node_init(fm_node *n, fm_store *store, const fm_identity *id) {
  fm_enrollment en;
  int rv;
  memset(n, 0, sizeof *n);
  n->store = store;
  /* The device key lives as long as the daemon: keep it out of swap
   * (best effort: a low RLIMIT_MEMLOCK only loses that). */
  n->id_locked = sodium_mlock(&n->id, sizeof n->id) == 0;
  n->id = *id;
  rv = fm_store_enrollment(store, id->pk, &en, NULL, &n->cert, &n->cert_len);
  if (rv == FM_ERR_NOTFOUND) rv = FM_ERR_AUTH;
  if (rv < 0) unlock_id(n);
  return rv;
}

fm_time fm_node_wall(const fm_node *n) {
  FM_ASSERT(n->wall != NULL);
  return n->wall(n->wall_ctx);
}

void fm_node_free(fm_node *n) {
  free(n->cert);
  n->cert = NULL;
  free(n->hall);
  n->hall = NULL;
  n->nhall = 0;
  unlock_id(n);
}

int fm_node_admit(fm_node *n, const uint8_t node_id[FM_KEY_LEN],
                  const uint8_t *cert, size_t cert_len, fm_time now,
                  fm_enrollment *who) {
  fm_enrollment en;
  uint64_t revoked_after;
  int rv;
  if (cert_len == 0) return FM_ERR_AUTH;
  /* Most hellos present the certificate we already hold: a read suffices,
   * and a write transaction per connection showed in the simulator. */
  uint8_t *held = NULL;
  size_t held_len = 0;
  int same = fm_store_enrollment(n->store, node_id, &en, NULL, &held, &held_len) == 0 &&
             held_len == cert_len && memcmp(held, cert, cert_len) == 0;
  free(held);
  if (!same) {
    /* Judged before anything is stored: a certificate for another device,
     * or expired, or of a device revoked here, is refused as it stands. */
    fm_entry ce;
    fm_enrollment pre;
    uint8_t auth[FM_KEY_LEN];
    uint64_t was_revoked;
    if (fm_entry_decode(cert, cert_len, NULL, &ce) < 0 || fm_enroll_parse(&ce, &pre) < 0)
      return FM_ERR_AUTH;
    /* Whose word it is first, then what it says. */
    if (fm_store_authority(n->store, auth, NULL) < 0 || memcmp(ce.author, auth, FM_KEY_LEN))
      return FM_ERR_MESH;
    if (fm_entry_verify(&ce) < 0) return FM_ERR_AUTH;
    if (memcmp(pre.device, node_id, FM_KEY_LEN)) return FM_ERR_AUTH;
    if (!fm_enroll_valid_at(&pre, now)) return FM_ERR_EXPIRED;
    rv = fm_store_enrollment(n->store, node_id, &en, &was_revoked, NULL, NULL);
    if ((rv == 0 || rv == FM_ERR_NOTFOUND) && was_revoked != UINT64_MAX) return FM_ERR_REVOKED;
    rv = fm_store_add_cert(n->store, cert, cert_len, now, &en);
    if (rv == FM_ERR_MESH) return FM_ERR_MESH;
    if (rv < 0) return FM_ERR_AUTH;
  }
  if (memcmp(en.device, node_id, FM_KEY_LEN)) return FM_ERR_AUTH;
  if (!fm_enroll_valid_at(&en, now)) return FM_ERR_EXPIRED;
  /* The newest certificate we hold may be a renewal; revocation is kept
   * apart from it and always wins. */
  rv = fm_store_enrollment(n->store, node_id, &en, &revoked_after, NULL, NULL);
  if (rv < 0) return FM_ERR_AUTH;
  if (revoked_after != UINT64_MAX) return FM_ERR_REVOKED;
  *who = en;
  return 0;
}

static int io_vector(void *ctx, fm_vector *out) {
  fm_node *n = ctx;
  return fm_store_vector(n->store, out);
}

static int io_read_after(void *ctx, const uint8_t author[FM_KEY_LEN], uint64_t after,
                         size_t max_bytes, fm_entry_cb cb, void *cbctx) {
  fm_node *n = ctx;
  return fm_store_read_after(n->store, author, after, max_bytes, cb, cbctx);
}

static int io_admit(void *ctx, const uint8_t node_id[FM_KEY_LEN], const uint8_t *cert,
                    size_t cert_len, fm_enrollment *who) {
  fm_node *n = ctx;
  return fm_node_admit(n, node_id, cert, cert_len, fm_node_wall(n), who);
}

static void sum_outcomes(fm_ingest_result *t, const fm_ingest_result *r) {
  t->accepted += r->accepted;
  t->duplicate += r->duplicate;
  t->held += r->held;
  t->quarantined += r->quarantined;
  t->refused += r->refused;
  t->invalid += r->invalid;
  t->released += r->released;
  t->clock_ahead += r->clock_ahead;
  if (r->first_error) t->first_error = r->first_error;
  t->max_hlc = r->max_hlc;
}

static int io_ingest(void *ctx, const fm_slice *entries, size_t count,
                     fm_ingest_result *res, fm_ingest_outcome *out) {
  fm_node *n = ctx;
  unsigned restored = 0;
  int rv = fm_store_ingest(n->store, entries, count, fm_node_wall(n), res, out);
  if (rv < 0) return rv;
  sum_outcomes(&n->received, res);
  /* Our own log came back from the mesh after a restored backup: what
   * this laptop wrote meanwhile is written again at the head, and goes
   * out in this very session (the peer's vector is behind it). */
  if ((rv = fm_store_restore_flush(n->store, &n->id, fm_node_wall(n), &restored)) < 0)
    return rv;
  n->rewritten += restored;
  uint32_t accepted = res->accepted + res->released + restored;
  n->ingested += accepted;
  if (accepted && n->on_new_entries) n->on_new_entries(n->on_new_ctx, accepted);
  return 0;
}

static void io_seen(void *ctx, const uint8_t author[FM_KEY_LEN], uint64_t seq) {
  fm_node *n = ctx;
  /* Only our own log matters here (the store ignores other authors). */
  if (!memcmp(author, n->id.pk, FM_KEY_LEN))
    fm_store_note_seen(n->store, author, seq, fm_node_wall(n));
}

/* Our entry |seq| is the one whose id starts with |head8|: the peer's log
 * and ours agree up to there (it is not a fork, nor a restored backup's
 * other history). */
static int same_entry(fm_node *n, uint64_t seq, const uint8_t head8[8]) {
  uint8_t *bytes, id[FM_ID_LEN];
  size_t len;
  if (fm_store_entry_copy(n->store, n->id.pk, seq, &bytes, &len) < 0) return 0;
  fm_entry_id(bytes, len, id);
  free(bytes);
  return memcmp(id, head8, 8) == 0;
}

static void io_held(void *ctx, const uint8_t device[FM_KEY_LEN], const uint8_t author[FM_KEY_LEN],
                    uint64_t seq, const uint8_t *head8) {
  fm_node *n = ctx;
  /* Copies are counted for our own log only. */
  if (memcmp(author, n->id.pk, FM_KEY_LEN)) return;
  if (head8 && !same_entry(n, seq, head8)) return;
  fm_store_note_held(n->store, device, author, seq, fm_node_wall(n));
}

static int io_cert_of(void *ctx, const uint8_t author[FM_KEY_LEN], fm_buf *out) {
  fm_node *n = ctx;
  fm_enrollment en;
  uint8_t *cert;
  size_t len;
  int rv = fm_store_enrollment(n->store, author, &en, NULL, &cert, &len);
  if (rv < 0) return rv;
  rv = fm_buf_put(out, cert, len);
  free(cert);
  return rv;
}

static int io_learn_cert(void *ctx, const uint8_t *cert, size_t len) {
  fm_node *n = ctx;
  return fm_store_add_cert(n->store, cert, len, fm_node_wall(n), NULL);
}

/* The hall's devices, as the store's enrollments say, at most a minute
 * old. */
static void hall_refresh(fm_node *n, fm_time now) {
  const unsigned hall = 1u << FM_ROLE_GATEWAY | 1u << FM_ROLE_OFFICER | 1u << FM_ROLE_ADMIN;
  uint8_t (*v)[FM_KEY_LEN];
  size_t nv;
  if (n->hall_at && now >= n->hall_at && now - n->hall_at < 60000) return;
  /* On an error the old list serves until the next try. */
  if (fm_roster_devices(n->store, hall, &v, &nv) < 0) return;
  free(n->hall);
  n->hall = v;
  n->nhall = nv;
  n->hall_at = now;
}

/* Every note held, our own made afresh first when due (session.h). */
static int io_presence_each(void *ctx, int live, fm_presence_cb cb, void *cbctx) {
  fm_node *n = ctx;
  int rv = live & 1 ? fm_store_presence_renew(n->store, &n->id, &n->presence, fm_node_wall(n))
                    : fm_store_presence_make(n->store, &n->id, &n->presence, fm_node_wall(n));
  if (rv < 0) return rv;
  if (rv == 0) n->presence_gen++;   /* our own note made anew */
  if (live & FM_PRESENCE_OWN_ONLY) {
    /* Our own note, and the hall's devices' (few, and needed). */
    hall_refresh(n, fm_node_wall(n));
    rv = fm_store_presence_one(n->store, n->id.pk, cb, cbctx);
    for (size_t i = 0; i < n->nhall && (rv == 0 || rv == FM_ERR_NOTFOUND); i++)
      if (memcmp(n->hall[i], n->id.pk, FM_KEY_LEN))
        rv = fm_store_presence_one(n->store, n->hall[i], cb, cbctx);
    return rv == FM_ERR_NOTFOUND ? 0 : rv;
  }
  return fm_store_presence_each(n->store, cb, cbctx);
}

static fm_time io_wall(void *ctx) { return fm_node_wall(ctx); }

/* Our clock against a direct peer's: what our own note says is the
 * median over the peers measured last. */
static void io_peer_clock(void *ctx, const uint8_t peer[FM_KEY_LEN], int64_t ahead) {
  fm_node *n = ctx;
  fm_skew_add(&n->skew, peer, ahead, fm_node_wall(n));
  n->presence.clock_offset = fm_skew_median(&n->skew);
}

static void io_presence_in(void *ctx, const fm_slice *notes, size_t count) {
  fm_node *n = ctx;
  /* A store that cannot take them now loses only notes: the next session
   * brings newer ones. */
  fm_presence_tally t;
  if (fm_store_presence_put(n->store, notes, count, fm_node_wall(n), &t) == 0 && t.kept)
    n->presence_gen++;
}

static uint64_t io_presence_gen(void *ctx) { return ((fm_node *)ctx)->presence_gen; }

static int io_blob_wanted(void *ctx, int (*cb)(void *cbctx, const uint8_t id[32]),
                          void *cbctx) {
  fm_node *n = ctx;
  int full = 0;
  int rv = fm_store_blob_full(n->store, n->scans_max, &full);
  if (rv < 0 || full) return rv < 0 ? rv : 0;   /* the quota: ask for nothing */
  rv = fm_store_blob_each_wanted(n->store, cb, cbctx);
  return rv < 0 ? rv : 0;
}

static int io_blob_get(void *ctx, const uint8_t id[32], fm_buf *out) {
  fm_node *n = ctx;
  return fm_store_blob_append(n->store, id, out);
}

static int io_blob_in(void *ctx, const uint8_t id[32], const uint8_t *chunk, size_t len) {
  fm_node *n = ctx;
  fm_slice c = {chunk, len};
  return fm_store_blob_offer_checked(n->store, &c, id, NULL);
}

/* A peer keeps a chunk we sent it: a copy, should the scan be ours. */
static void io_blob_held(void *ctx, const uint8_t device[FM_KEY_LEN], const uint8_t id[32]) {
  fm_node *n = ctx;
  /* A store that cannot write it now only under-counts: the status says
   * "not safe" until a later session proves the copy again. */
  (void)fm_store_blob_note_held(n->store, device, id, fm_node_wall(n));
}

fm_session_io fm_node_io(fm_node *n) {
  fm_session_io io = {.ctx = n,
                      .vector = io_vector,
                      .read_after = io_read_after,
                      .admit = io_admit,
                      .ingest = io_ingest,
                      .seen = io_seen,
                      .held = io_held,
                      .cert_of = io_cert_of,
                      .learn_cert = io_learn_cert,
                      .presence_each = io_presence_each,
                      .presence_in = io_presence_in,
                      .presence_gen = io_presence_gen,
                      .wall = io_wall,
                      .peer_clock = io_peer_clock,
                      .blob_wanted = io_blob_wanted,
                      .blob_get = io_blob_get,
                      .blob_in = io_blob_in,
                      .blob_held = io_blob_held};
  return io;
}

void fm_node_session_cfg(fm_node *n, int initiator, fm_session_cfg *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->initiator = initiator;
  cfg->id = &n->id;
  cfg->cert = n->cert;
  cfg->cert_len = n->cert_len;
  cfg->io = fm_node_io(n);
  cfg->defer_ingest = 1;
  cfg->compress = 1;
}
