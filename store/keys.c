#include "fieldmesh/keys.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fieldmesh/enroll.h"
#include "fieldmesh/error.h"
#include "fieldmesh/identity.h"
#include "fieldmesh/inbox.h"

#define CACHE_MAX 256
#define SEEN_MAX (FM_SEAL_READERS_MAX + 1)
#define SEEN_MONTHS 8

/* The inbox keys one device published, as far as its log was read: the
 * latest key of each of its newest SEEN_MONTHS months. */
typedef struct seen {
  uint8_t device[FM_KEY_LEN];
  uint64_t scanned;
  fm_seal_inbox_pub pub[SEEN_MONTHS];
  size_t n;
} seen;

/* One grant this keyring has looked at: its key, or why there is none. */
typedef struct slot {
  uint8_t author[FM_KEY_LEN];
  uint64_t seq;
  uint64_t scanned;                /* the author's log looked through for extensions */
  int state;                       /* 1 opened, 0 not a reader, -1 damaged */
  uint8_t key[FM_SEAL_KEY_LEN];
} slot;

/* Everything secret lives in one sodium_malloc'd block. */
typedef struct secrets {
  fm_identity self;
  slot cache[CACHE_MAX];
  uint8_t wkey[FM_SEAL_KEY_LEN];   /* the writer's current data key */
  uint8_t xkey[FM_SEAL_KEY_LEN];   /* a key being extended to new readers */
  fm_seal_inbox_key inbox[FM_INBOX_HELD_MAX]; /* this device's inbox keys */
} secrets;

struct fm_keyring {
  fm_store *s;
  secrets *sec;                    /* NULL: opens nothing */
  size_t ncache, next;             /* slots used; the next one to reuse */
  char wperiod[8];
  uint8_t whash[16];               /* BLAKE2b of the current key's readers */
  uint64_t wseq;                   /* 0: no current writer key */
  int pending_base;                /* the grant handed out is a new key, not an extension */
  uint8_t xhash[16];               /* the readers fm_keyring_extend() last found served */
  int xdone;
  uint8_t (*readers)[FM_KEY_LEN];  /* the readers of a pending or current key */
  fm_seal_reader *rd;              /* the same with their inbox keys of the month */
  size_t nreaders;
  size_t ninbox;                   /* inbox keys held (sec->inbox) */
  seen *seen;                      /* inbox keys the readers published */
  size_t nseen;
  int gateway;                     /* a gateway is among the readers */
  fm_seal_counts counts;
};

int fm_keyring_new(fm_store *s, const fm_identity *self, fm_keyring **out) {
  fm_keyring *k = calloc(1, sizeof *k);
  if (!k) return -ENOMEM;
  k->s = s;
  k->readers = malloc(FM_SEAL_READERS_MAX * sizeof *k->readers);
  k->rd = calloc(FM_SEAL_READERS_MAX, sizeof *k->rd);
  k->seen = calloc(SEEN_MAX, sizeof *k->seen);
  if (!k->readers || !k->rd || !k->seen) {
    fm_keyring_free(k);
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
  free(k->rd);
  free(k->seen);
  free(k);
}

int fm_keyring_load_inbox(fm_keyring *k, const char *dir) {
  size_t n = 0;
  if (!k->sec) return 0;
  int rc = fm_inbox_load(dir, k->sec->inbox, FM_INBOX_HELD_MAX, &n);
  k->ninbox = n;
  /* What was opened or found closed before may read otherwise now. */
  sodium_memzero(k->sec->cache, sizeof k->sec->cache);
  k->ncache = k->next = 0;
  k->wseq = 0;
  k->xdone = 0;
  return rc;
}

/* Opens this device's copy of grant |e|'s key with the device key or an
 * inbox key it holds. */
static int grant_open(fm_keyring *k, const fm_entry *e, uint8_t key[FM_SEAL_KEY_LEN]) {
  return fm_seal_grant_open_inbox(e, k->sec->self.pk, k->sec->self.sk, k->sec->inbox, k->ninbox,
                                  key);
}

typedef struct seen_ctx {
  seen *sn;
} seen_ctx;

/* Keeps the keys of inbox entry |bytes|: the latest per month, the newest
 * SEEN_MONTHS months. */
static int on_inbox(void *arg, const uint8_t *bytes, size_t len) {
  seen *sn = ((seen_ctx *)arg)->sn;
  fm_entry e;
  fm_seal_inbox_pub pub[FM_SEAL_INBOX_MAX];
  size_t n;
  if (fm_entry_decode(bytes, len, NULL, &e) < 0) return 0;
  sn->scanned = e.seq;
  if (!fm_entry_is(&e, FM_KIND_SEAL_INBOX) || fm_seal_inbox_read(&e, pub, &n) < 0) return 0;
  for (size_t i = 0; i < n; i++) {
    size_t j = 0;
    while (j < sn->n && strcmp(sn->pub[j].period, pub[i].period)) j++;
    if (j == sn->n) {
      if (sn->n < SEEN_MONTHS) {
        sn->n++;
      } else { /* replace the oldest month, if this one is newer */
        j = 0;
        for (size_t m = 1; m < sn->n; m++)
          if (strcmp(sn->pub[m].period, sn->pub[j].period) < 0) j = m;
        if (strcmp(pub[i].period, sn->pub[j].period) < 0) continue;
      }
    }
    sn->pub[j] = pub[i];
  }
  return 0;
}

/* The inbox key |device| published for |period|, else the one of its
 * earliest later month it published (a reader that forgets forgets that
 * too), into |pk|: 1, or 0 when it published none that serves (then the
 * box goes to its device key). */
static int inbox_of(fm_keyring *k, const uint8_t *device, const char *period,
                    uint8_t pk[FM_SEAL_INBOX_PK_LEN]) {
  seen *sn = NULL;
  for (size_t i = 0; i < k->nseen && !sn; i++)
    if (!memcmp(k->seen[i].device, device, FM_KEY_LEN)) sn = &k->seen[i];
  if (!sn) {
    sn = &k->seen[k->nseen < SEEN_MAX ? k->nseen++ : SEEN_MAX - 1];
    memset(sn, 0, sizeof *sn);
    memcpy(sn->device, device, FM_KEY_LEN);
  }
  seen_ctx c = {sn};
  fm_store_read_after(k->s, device, sn->scanned, 0, on_inbox, &c);
  const fm_seal_inbox_pub *best = NULL;
  for (size_t i = 0; i < sn->n; i++)
    if (strcmp(sn->pub[i].period, period) >= 0 &&
        (!best || strcmp(sn->pub[i].period, best->period) < 0))
      best = &sn->pub[i];
  if (!best) return 0;
  memcpy(pk, best->pk, FM_SEAL_INBOX_PK_LEN);
  return 1;
}

/* |device| as a reader of a grant of |period|, into |r|. */
static void reader_for(fm_keyring *k, const uint8_t *device, const char *period,
                       fm_seal_reader *r) {
  memset(r, 0, sizeof *r);
  memcpy(r->device, device, FM_KEY_LEN);
  r->has_inbox = inbox_of(k, device, period, r->inbox);
}

int fm_keyring_inbox_publish(fm_keyring *k, fm_time now, fm_buf *body) {
  char cur[8], next[8];
  fm_seal_inbox_key want[2];
  uint8_t pk[FM_SEAL_INBOX_PK_LEN];
  size_t n = 0;
  int stale = 0;
  if (!k->sec || k->ninbox == 0) return 0;
  fm_seal_period(now, cur);
  fm_seal_period_add(cur, 1, next);
  for (size_t i = 0; i < k->ninbox; i++) {
    const fm_seal_inbox_key *h = &k->sec->inbox[i];
    if (strcmp(h->period, cur) && strcmp(h->period, next)) continue;
    memset(&want[n], 0, sizeof want[n]);
    memcpy(want[n].period, h->period, 8);
    memcpy(want[n].pk, h->pk, FM_SEAL_INBOX_PK_LEN);
    n++;
    if (!inbox_of(k, k->sec->self.pk, h->period, pk) || memcmp(pk, h->pk, sizeof pk)) stale = 1;
  }
  if (n == 0 || !stale) return 0;
  fm_buf_reset(body);
  int rc = fm_seal_inbox_body(body, want, n);
  return rc ? rc : 1;
}

fm_seal_counts fm_keyring_counts(const fm_keyring *k) {
  fm_seal_counts z = {0, 0, 0};
  return k ? k->counts : z;
}

typedef struct ext_ctx {
  fm_keyring *k;
  uint64_t of, last;
  slot *sl;
} ext_ctx;

/* An extension of grant x->of that names this device opens its key. */
static int on_ext(void *arg, const uint8_t *bytes, size_t len) {
  ext_ctx *x = arg;
  fm_entry e;
  uint64_t of;
  if (fm_entry_decode(bytes, len, NULL, &e) < 0) return 0;
  x->last = e.seq;
  if (!fm_entry_is(&e, FM_KIND_SEAL_GRANT) || fm_body_uint(e.body, e.body_len, "of", &of) ||
      of != x->of)
    return 0;
  if (grant_open(x->k, &e, x->sl->key) != 0) return 0;
  x->sl->state = 1;
  return 1;
}

/* Looks for extensions of |sl|'s grant written since the last look. */
static void find_extension(fm_keyring *k, slot *sl) {
  ext_ctx x = {k, sl->seq, sl->scanned, sl};
  fm_store_read_after(k->s, sl->author, sl->scanned, 0, on_ext, &x);
  sl->scanned = x.last;
}

/* The data key of |author|'s grant |seq| for this device: a slot, found in
 * the cache or opened now (from the grant, or an extension of it).  NULL
 * when the keyring opens nothing. */
static const slot *grant_key(fm_keyring *k, const uint8_t *author, uint64_t seq) {
  uint8_t *bytes = NULL;
  size_t len;
  fm_entry e;
  if (!k || !k->sec) return NULL;
  for (size_t i = 0; i < k->ncache; i++) {
    slot *c = &k->sec->cache[i];
    if (c->seq != seq || memcmp(c->author, author, FM_KEY_LEN)) continue;
    if (c->state == 0) find_extension(k, c); /* one may have come since */
    return c;
  }
  slot *sl = &k->sec->cache[k->ncache < CACHE_MAX ? k->ncache++ : k->next++ % CACHE_MAX];
  memcpy(sl->author, author, FM_KEY_LEN);
  sl->seq = seq;
  sl->scanned = seq;
  sl->state = 0;
  int rc = fm_store_entry_copy(k->s, author, seq, &bytes, &len);
  if (rc == 0) {
    if (fm_entry_decode(bytes, len, NULL, &e) < 0)
      sl->state = -1;
    else {
      rc = grant_open(k, &e, sl->key);
      sl->state = rc == 0 ? 1 : rc == FM_ERR_NOTFOUND ? 0 : -1;
    }
  }
  free(bytes);
  if (sl->state == 0) find_extension(k, sl);
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

int fm_keyring_open_value(fm_keyring *k, const uint8_t author[static FM_KEY_LEN], fm_str id,
                          const char *field, const uint8_t *p, size_t n, char *out, size_t cap,
                          size_t *out_n) {
  uint64_t seq;
  const slot *sl;
  if (cap < 2 || fm_seal_grant_of(p, n, &seq) < 0) goto bad;
  if (!(sl = grant_key(k, author, seq)) || sl->state == 0) {
    if (k) k->counts.locked++;
    return FM_ERR_NOTFOUND;
  }
  if (sl->state < 0 ||
      fm_seal_open(sl->key, author, id.p, id.n, field, p, n, out, cap - 1, out_n) < 0)
    goto bad;
  out[*out_n] = 0;
  k->counts.opened++;
  return 0;
bad:
  if (k) k->counts.unreadable++;
  return FM_ERR_DECRYPT;
}

void fm_keyring_locked_text(fm_str team, char *out) {
  size_t n = team.n < FM_NAME_MAX ? team.n : FM_NAME_MAX;
  while (n > 0 && n < team.n && ((unsigned char)team.p[n] & 0xc0) == 0x80) n--;
  if (n == 0 || !fm_utf8_valid(team.p, n))
    snprintf(out, FM_SEAL_TEXT_MAX, "(sealed)");
  else
    snprintf(out, FM_SEAL_TEXT_MAX, "(sealed: %.*s)", (int)n, team.p);
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
  char locked[FM_SEAL_TEXT_MAX];
  if (!(*r->sealed & bit)) return;
  *r->sealed &= ~bit;
  if (fm_seal_grant_of((const uint8_t *)f->p, f->n, &seq) < 0) {
    placeholder(k, f, buf, "(unreadable)", 1, r->locked, bit);
    return;
  }
  const slot *sl = grant_key(k, r->author, seq);
  if (!sl || sl->state == 0) {
    fm_keyring_locked_text(r->team, locked);
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
  char period[8];
  fm_seal_period(now, period);
  for (size_t i = 0; i < r.n; i++) reader_for(k, k->readers[i], period, &k->rd[i]);
  return 0;
}

/* This device's own grants as its log holds them: each base grant (a
 * new key) with every reader it or a later extension (`of`) names. */
typedef struct own_grant {
  uint64_t seq;
  char period[8];
  fm_seal_reader *readers;         /* FM_SEAL_READERS_MAX slots */
  size_t n;
} own_grant;

typedef struct own_list {
  own_grant *g;
  size_t n, cap;
  fm_seal_reader *tmp;
} own_list;

static void own_free(own_list *l) {
  for (size_t i = 0; i < l->n; i++) free(l->g[i].readers);
  free(l->g);
  free(l->tmp);
}

/* The item of |key| among |set| (|n|), or NULL. */
static const fm_seal_reader *has_key(const fm_seal_reader *set, size_t n, const uint8_t *key) {
  for (size_t i = 0; i < n; i++)
    if (!memcmp(set[i].device, key, FM_KEY_LEN)) return &set[i];
  return NULL;
}

static int on_own(void *arg, const uint8_t *bytes, size_t len) {
  own_list *l = arg;
  fm_entry e;
  char period[8];
  size_t n;
  uint64_t of = 0;
  if (fm_entry_decode(bytes, len, NULL, &e) < 0 || !fm_entry_is(&e, FM_KIND_SEAL_GRANT) ||
      fm_seal_grant_readers(&e, period, l->tmp, &n) < 0)
    return 0;
  if (fm_body_uint(e.body, e.body_len, "of", &of) == 0 && of) {
    for (size_t i = l->n; i-- > 0;) {
      own_grant *b = &l->g[i];
      if (b->seq != of) continue;
      for (size_t j = 0; j < n && b->n < FM_SEAL_READERS_MAX; j++)
        if (!has_key(b->readers, b->n, l->tmp[j].device)) b->readers[b->n++] = l->tmp[j];
      break;
    }
    return 0;
  }
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 16;
    own_grant *g = realloc(l->g, cap * sizeof *g);
    if (!g) return -ENOMEM;
    l->g = g;
    l->cap = cap;
  }
  own_grant *b = &l->g[l->n];
  if (!(b->readers = malloc(FM_SEAL_READERS_MAX * sizeof *b->readers))) return -ENOMEM;
  l->n++;
  b->seq = e.seq;
  memcpy(b->period, period, sizeof period);
  memcpy(b->readers, l->tmp, n * sizeof *b->readers);
  b->n = n;
  return 0;
}

static int own_grants(fm_keyring *k, own_list *l) {
  memset(l, 0, sizeof *l);
  if (!(l->tmp = malloc(FM_SEAL_READERS_MAX * sizeof *l->tmp))) return -ENOMEM;
  return fm_store_read_after(k->s, k->sec->self.pk, 0, 0, on_own, l);
}

/* Opens this device's own copy of the key of its grant |seq| into |key|. */
static int own_key(fm_keyring *k, uint64_t seq, uint8_t key[FM_SEAL_KEY_LEN]) {
  uint8_t *bytes = NULL;
  size_t len;
  fm_entry e;
  int rc = fm_store_entry_copy(k->s, k->sec->self.pk, seq, &bytes, &len);
  if (rc == 0) rc = fm_entry_decode(bytes, len, NULL, &e);
  if (rc == 0) rc = grant_open(k, &e, key);
  free(bytes);
  return rc;
}

static void ready(fm_keyring *k, fm_sealer *out) {
  out->key = k->sec->wkey;
  out->grant_seq = k->wseq;
  memcpy(out->author, k->sec->self.pk, FM_KEY_LEN);
}

/* Readers of the current set that base grant |b| lacks, into l->tmp with
 * their inbox keys of |b|'s month: their count. */
static size_t missing(fm_keyring *k, own_list *l, const own_grant *b) {
  size_t m = 0;
  for (size_t i = 0; i < k->nreaders; i++)
    if (!has_key(b->readers, b->n, k->readers[i])) reader_for(k, k->readers[i], b->period, &l->tmp[m++]);
  return m;
}

/* Whether grant |b| wraps its key, for every reader that now has an inbox
 * key of the month, to that very key (else a new key must be made: the
 * old one stays open to a key the reader will not forget). */
static int inbox_current(fm_keyring *k, const own_grant *b) {
  for (size_t i = 0; i < k->nreaders; i++) {
    const fm_seal_reader *want = &k->rd[i], *got = has_key(b->readers, b->n, want->device);
    if (want->has_inbox && (!got || !got->has_inbox || memcmp(got->inbox, want->inbox, FM_SEAL_INBOX_PK_LEN)))
      return 0;
  }
  return 1;
}

/* An extension of one of this device's grants of the last FM_SEAL_REGRANT_DAYS to
 * readers it lacks, into |grant|: 1, 0 when none is needed, or an error. */
static int extension(fm_keyring *k, own_list *l, fm_time now, const fm_rng *rng, fm_buf *grant) {
  char cutoff[8];
  fm_seal_period(now - (fm_time)FM_SEAL_REGRANT_DAYS * 86400000, cutoff);
  for (size_t i = 0; i < l->n; i++) {
    own_grant *b = &l->g[i];
    size_t m;
    if (strcmp(b->period, cutoff) < 0 || (m = missing(k, l, b)) == 0) continue;
    if (own_key(k, b->seq, k->sec->xkey) != 0) continue; /* not a reader of its own grant */
    fm_buf_reset(grant);
    int rc = fm_seal_grant_body_to(grant, b->period, l->tmp, m, k->sec->xkey, rng, b->seq);
    sodium_memzero(k->sec->xkey, FM_SEAL_KEY_LEN);
    return rc ? rc : 1;
  }
  return 0;
}

/* The latest base grant of |period| whose readers are exactly the current
 * ones, its key opened into wkey: 1, 0 when none. */
static int reuse(fm_keyring *k, own_list *l, const char *period) {
  for (size_t i = l->n; i-- > 0;) {
    own_grant *b = &l->g[i];
    if (strcmp(b->period, period) || b->n != k->nreaders || missing(k, l, b) ||
        !inbox_current(k, b))
      continue;
    if (own_key(k, b->seq, k->sec->wkey) != 0) continue;
    k->wseq = b->seq;
    return 1;
  }
  return 0;
}

int fm_keyring_sealer(fm_keyring *k, fm_time now, const fm_rng *rng, fm_buf *grant,
                      fm_sealer *out) {
  char period[8];
  own_list l;
  int rc;
  if (!k->sec) return FM_ERR_AUTH;
  fm_seal_period(now, period);
  out->rng = *rng;
  if ((rc = load_readers(k, now)) != 0) return rc;
  uint8_t h[16];
  crypto_generichash(h, sizeof h, (const uint8_t *)k->rd, k->nreaders * sizeof *k->rd, NULL, 0);
  /* The key in hand serves while the month and the readers stay. */
  if (k->wseq && !strcmp(k->wperiod, period) && !memcmp(h, k->whash, sizeof h)) {
    ready(k, out);
    return 0;
  }
  k->wseq = 0;
  k->pending_base = 0;
  memcpy(k->wperiod, period, sizeof period);
  memcpy(k->whash, h, sizeof h);
  rc = own_grants(k, &l);
  if (rc == 0) rc = extension(k, &l, now, rng, grant); /* 1: an extension first */
  if (rc == 0) rc = reuse(k, &l, period);
  if (rc == 1 && k->wseq) {
    ready(k, out);
    rc = 0;
  } else if (rc == 0) {
    /* A new key for the month and these readers. */
    rng->fill(rng->ctx, k->sec->wkey, FM_SEAL_KEY_LEN);
    fm_buf_reset(grant);
    rc = fm_seal_grant_body_to(grant, period, k->rd, k->nreaders, k->sec->wkey, rng, 0);
    k->pending_base = rc == 0;
    rc = rc ? rc : 1;
  }
  own_free(&l);
  return rc;
}

int fm_keyring_extend(fm_keyring *k, fm_time now, const fm_rng *rng, fm_buf *grant) {
  own_list l;
  uint8_t h[16];
  int rc;
  if (!k->sec) return FM_ERR_AUTH;
  if ((rc = load_readers(k, now)) != 0) return rc;
  crypto_generichash(h, sizeof h, (const uint8_t *)k->rd, k->nreaders * sizeof *k->rd, NULL, 0);
  if (k->xdone && !memcmp(h, k->xhash, sizeof h)) return 0;
  rc = own_grants(k, &l);
  if (rc == 0) rc = extension(k, &l, now, rng, grant);
  own_free(&l);
  k->xdone = rc == 0;
  memcpy(k->xhash, h, sizeof h);
  return rc;
}

int fm_keyring_gateway_reads(const fm_keyring *k) { return k->gateway; }

void fm_keyring_granted(fm_keyring *k, uint64_t seq, fm_sealer *out) {
  if (!k->pending_base) return; /* an extension: call fm_keyring_sealer() again */
  k->pending_base = 0;
  k->wseq = seq;
  ready(k, out);
}
