#include "fieldmesh/keys.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fieldmesh/enroll.h"
#include "fieldmesh/error.h"
#include "fieldmesh/identity.h"

#define CACHE_MAX 256

/* One grant this keyring has looked at: its key, or why there is none. */
typedef struct slot {
  uint8_t author[FM_KEY_LEN];
  uint64_t seq;
  int state;                       /* 1 opened, 0 not a reader, -1 damaged */
  uint8_t key[FM_SEAL_KEY_LEN];
} slot;

/* Everything secret lives in one sodium_malloc'd block. */
typedef struct secrets {
  fm_identity self;
  slot cache[CACHE_MAX];
  uint8_t wkey[FM_SEAL_KEY_LEN];   /* the writer's current data key */
} secrets;

struct fm_keyring {
  fm_store *s;
  secrets *sec;                    /* NULL: opens nothing */
  size_t ncache, next;             /* slots used; the next one to reuse */
  char wperiod[8];
  uint8_t whash[16];               /* BLAKE2b of the current key's readers */
  uint64_t wseq;                   /* 0: no current writer key */
  uint8_t (*readers)[FM_KEY_LEN];  /* the readers of a pending or current key */
  size_t nreaders;
  int gateway;                     /* a gateway is among the readers */
  fm_seal_counts counts;
};

int fm_keyring_new(fm_store *s, const fm_identity *self, fm_keyring **out) {
  fm_keyring *k = calloc(1, sizeof *k);
  if (!k) return -ENOMEM;
  k->s = s;
  k->readers = malloc(FM_SEAL_READERS_MAX * sizeof *k->readers);
  if (!k->readers) {
    free(k);
    return -ENOMEM;
  }
  if (self) {
    k->sec = sodium_malloc(sizeof *k->sec);
    if (!k->sec) {
      fm_keyring_free(k);
      return -ENOMEM;
    }
    memset(k->sec, 0, sizeof *k->sec);
    k->sec->self = *self;
  }
  *out = k;
  return 0;
}

void fm_keyring_free(fm_keyring *k) {
  if (!k) return;
  if (k->sec) sodium_free(k->sec); /* wipes */
  free(k->readers);
  free(k);
}

fm_seal_counts fm_keyring_counts(const fm_keyring *k) {
  fm_seal_counts z = {0, 0, 0};
  return k ? k->counts : z;
}

/* The data key of |author|'s grant |seq| for this device: a slot, found in
 * the cache or opened now.  NULL when the keyring opens nothing. */
static const slot *grant_key(fm_keyring *k, const uint8_t *author, uint64_t seq) {
  uint8_t *bytes = NULL;
  size_t len;
  fm_entry e;
  if (!k || !k->sec) return NULL;
  for (size_t i = 0; i < k->ncache; i++)
    if (k->sec->cache[i].seq == seq && !memcmp(k->sec->cache[i].author, author, FM_KEY_LEN))
      return &k->sec->cache[i];
  slot *sl = &k->sec->cache[k->ncache < CACHE_MAX ? k->ncache++ : k->next++ % CACHE_MAX];
  memcpy(sl->author, author, FM_KEY_LEN);
  sl->seq = seq;
  sl->state = 0;
  int rc = fm_store_entry_copy(k->s, author, seq, &bytes, &len);
  if (rc == 0) {
    if (fm_entry_decode(bytes, len, NULL, &e) < 0)
      sl->state = -1;
    else {
      rc = fm_seal_grant_open(&e, k->sec->self.pk, k->sec->self.sk, sl->key);
      sl->state = rc == 0 ? 1 : rc == FM_ERR_NOTFOUND ? 0 : -1;
    }
  }
  free(bytes);
  return sl;
}

/* Shows |text| in place of field |f| (bit |bit| of |*locked|). */
static void placeholder(fm_keyring *k, fm_str *f, char *buf, const char *text, int bad,
                        unsigned *locked, unsigned bit) {
  snprintf(buf, FM_SEAL_TEXT_MAX, "%s", text);
  f->p = buf;
  f->n = strlen(buf);
  *locked |= bit;
  if (k) {
    if (bad)
      k->counts.unreadable++;
    else
      k->counts.locked++;
  }
}

typedef struct field_ref {
  const uint8_t *author;   /* the writer of the record's fields */
  fm_str id, team;
  unsigned *sealed, *locked;
} field_ref;

/* Opens field |f| (named |field|, bit |bit|) of record |r| into |buf|. */
static void open_field(fm_keyring *k, const field_ref *r, fm_str *f, unsigned bit,
                       const char *field, char *buf) {
  uint64_t seq;
  size_t n;
  char locked[FM_NAME_MAX + 16];
  if (!(*r->sealed & bit)) return;
  *r->sealed &= ~bit;
  if (fm_seal_grant_of((const uint8_t *)f->p, f->n, &seq) < 0) {
    placeholder(k, f, buf, "(unreadable)", 1, r->locked, bit);
    return;
  }
  const slot *sl = grant_key(k, r->author, seq);
  if (!sl || sl->state == 0) {
    snprintf(locked, sizeof locked, "(sealed: %.*s)",
             (int)(r->team.n < FM_NAME_MAX ? r->team.n : FM_NAME_MAX), r->team.p);
    placeholder(k, f, buf, locked, 0, r->locked, bit);
    return;
  }
  if (sl->state < 0 || fm_seal_open(sl->key, r->author, r->id.p, r->id.n, field,
                                    (const uint8_t *)f->p, f->n, buf, FM_SEAL_TEXT_MAX - 1,
                                    &n) < 0) {
    placeholder(k, f, buf, "(unreadable)", 1, r->locked, bit);
    return;
  }
  buf[n] = 0;
  f->p = buf;
  f->n = n;
  k->counts.opened++;
}

void fm_keyring_open_dossier(fm_keyring *k, fm_dossier_view *d, fm_opened *o, fm_str id) {
  field_ref r = {d->base.author, id, d->team, &d->sealed, &d->locked};
  open_field(k, &r, &d->applicant_name, FM_SEALED_NAME, "name", o->text[0]);
  open_field(k, &r, &d->applicant_id, FM_SEALED_ID, "id_number", o->text[1]);
  open_field(k, &r, &d->phone, FM_SEALED_PHONE, "phone", o->text[2]);
  open_field(k, &r, &d->note, FM_SEALED_NOTE, "note", o->text[3]);
}

void fm_keyring_open_visit(fm_keyring *k, fm_visit_view *v, fm_opened *o, fm_str id) {
  field_ref r = {v->base.author, id, v->team, &v->sealed, &v->locked};
  open_field(k, &r, &v->place, FM_SEALED_PLACE, "place", o->text[0]);
  open_field(k, &r, &v->note, FM_SEALED_NOTE, "note", o->text[1]);
}

/* ---- writing -------------------------------------------------------------- */

typedef struct readers_ctx {
  fm_store *s;
  const fm_enrollment *self;
  fm_time now;
  uint8_t (*out)[FM_KEY_LEN];
  size_t n;
  int err, gateway;
} readers_ctx;

/* Who reads what |self| writes: its team, the gateways, the officers and
 * the administrators, enrolled, unrevoked and unexpired at |now|. */
static int on_reader(void *arg, const uint8_t *bytes, size_t len) {
  readers_ctx *r = arg;
  fm_entry e;
  fm_enrollment en;
  uint64_t revoked;
  if (fm_entry_decode(bytes, len, NULL, &e) < 0 || fm_enroll_parse(&e, &en) < 0) return 0;
  int reader = !strcmp(en.team, r->self->team) || en.role == FM_ROLE_GATEWAY ||
               en.role == FM_ROLE_OFFICER || en.role == FM_ROLE_ADMIN;
  if (!reader || !fm_enroll_valid_at(&en, r->now)) return 0;
  if (fm_store_enrollment(r->s, en.device, &en, &revoked, NULL, NULL) != 0 ||
      revoked != UINT64_MAX)
    return 0;
  for (size_t i = 0; i < r->n; i++)
    if (!memcmp(r->out[i], en.device, FM_KEY_LEN)) return 0;
  if (r->n == FM_SEAL_READERS_MAX) return r->err = FM_ERR_TOOBIG;
  memcpy(r->out[r->n++], en.device, FM_KEY_LEN);
  if (en.role == FM_ROLE_GATEWAY) r->gateway = 1;
  return 0;
}

static int by_key(const void *a, const void *b) { return memcmp(a, b, FM_KEY_LEN); }

/* The readers the roster names now, sorted by key, into k->readers. */
static int load_readers(fm_keyring *k, fm_time now) {
  fm_enrollment self;
  uint64_t revoked;
  int rc = fm_store_enrollment(k->s, k->sec->self.pk, &self, &revoked, NULL, NULL);
  if (rc == FM_ERR_NOTFOUND) return FM_ERR_AUTH;
  if (rc) return rc;
  readers_ctx r = {k->s, &self, now, k->readers, 0, 0, 0};
  rc = fm_store_each_cert(k->s, on_reader, &r);
  if (rc == 0) rc = r.err;
  if (rc) return rc;
  qsort(k->readers, r.n, FM_KEY_LEN, by_key);
  k->nreaders = r.n;
  k->gateway = r.gateway;
  return 0;
}

typedef struct last_ctx {
  const char *period;
  uint64_t seq;
  uint8_t *bytes;
  size_t len;
} last_ctx;

/* Keeps a copy of the latest grant of the period in this device's log. */
static int on_own(void *arg, const uint8_t *bytes, size_t len) {
  last_ctx *l = arg;
  fm_entry e;
  const char *p;
  size_t pn;
  if (fm_entry_decode(bytes, len, NULL, &e) < 0 || !fm_entry_is(&e, FM_KIND_SEAL_GRANT) ||
      fm_body_str(e.body, e.body_len, "period", &p, &pn) || pn != FM_SEAL_PERIOD_LEN ||
      memcmp(p, l->period, pn))
    return 0;
  uint8_t *c = malloc(len);
  if (!c) return -ENOMEM;
  memcpy(c, bytes, len);
  free(l->bytes);
  l->bytes = c;
  l->len = len;
  l->seq = e.seq;
  return 0;
}

/* Finds this device's grant for the period whose readers are k->readers
 * and opens its key into k->sec->wkey: 1 found, 0 none, or an error. */
static int reuse_grant(fm_keyring *k, const char *period) {
  last_ctx l = {period, 0, NULL, 0};
  fm_entry e;
  char gp[8];
  uint8_t(*devs)[FM_KEY_LEN] = malloc(FM_SEAL_READERS_MAX * FM_KEY_LEN);
  size_t n;
  int rc = devs ? fm_store_read_after(k->s, k->sec->self.pk, 0, 0, on_own, &l) : -ENOMEM;
  int found = 0;
  if (rc == 0 && l.bytes && fm_entry_decode(l.bytes, l.len, NULL, &e) == 0 &&
      fm_seal_grant_read(&e, gp, devs, &n) == 0 && n == k->nreaders &&
      !memcmp(devs, k->readers, n * FM_KEY_LEN) &&
      fm_seal_grant_open(&e, k->sec->self.pk, k->sec->self.sk, k->sec->wkey) == 0)
    found = 1;
  free(l.bytes);
  free(devs);
  if (rc) return rc;
  if (found) k->wseq = l.seq;
  return found;
}

static void ready(fm_keyring *k, fm_sealer *out) {
  out->key = k->sec->wkey;
  out->grant_seq = k->wseq;
  memcpy(out->author, k->sec->self.pk, FM_KEY_LEN);
}

int fm_keyring_sealer(fm_keyring *k, fm_time now, const fm_rng *rng, fm_buf *grant,
                      fm_sealer *out) {
  char period[8];
  int rc;
  if (!k->sec) return FM_ERR_AUTH;
  fm_seal_period(now, period);
  out->rng = *rng;
  if ((rc = load_readers(k, now)) != 0) return rc;
  uint8_t h[16];
  crypto_generichash(h, sizeof h, (const uint8_t *)k->readers, k->nreaders * FM_KEY_LEN, NULL, 0);
  /* The key in hand serves while the month and the readers stay. */
  if (k->wseq && !strcmp(k->wperiod, period) && !memcmp(h, k->whash, sizeof h)) {
    ready(k, out);
    return 0;
  }
  memcpy(k->wperiod, period, sizeof period);
  memcpy(k->whash, h, sizeof h);
  k->wseq = 0;
  if ((rc = reuse_grant(k, period)) < 0) return rc;
  if (rc == 1) {
    ready(k, out);
    return 0;
  }
  k->wseq = 0;
  rng->fill(rng->ctx, k->sec->wkey, FM_SEAL_KEY_LEN);
  fm_buf_reset(grant);
  rc = fm_seal_grant_body(grant, period, (const uint8_t(*)[FM_KEY_LEN])k->readers, k->nreaders,
                          k->sec->wkey, rng);
  return rc ? rc : 1;
}

int fm_keyring_gateway_reads(const fm_keyring *k) { return k->gateway; }

void fm_keyring_granted(fm_keyring *k, uint64_t seq, fm_sealer *out) {
  k->wseq = seq;
  ready(k, out);
}
