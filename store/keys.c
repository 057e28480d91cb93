#include "fieldmesh/keys.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fieldmesh/enroll.h"
#include "fieldmesh/error.h"
#include "fieldmesh/identity.h"
#include "fieldmesh/inbox.h"
#include "fieldmesh/roster.h"
#include "fieldmesh/vector.h"

#define CACHE_MAX 256
#define SEEN_MAX (FM_SEAL_READERS_MAX + 1)
#define SEEN_MONTHS 8
#define KEYS_MAX 4          /* keys one grant may open to, from others' extensions */
#define REACH_MAX 256       /* devices a grant and its extensions reach */
#define NEED_MAX 256        /* grants of others this device waits to extend */
#define SILENT_MS (24 * 3600 * 1000LL) /* a writer silent this long is taken for gone */
#define STAGGER_MS (10 * 60 * 1000LL)  /* each holder's turn after the one before */

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
  int own;                         /* the key came from the author's own entries */
  int64_t xlook;                   /* when others' extensions were last looked for (mono ms) */
  size_t nkeys;                    /* 1 from the author; up to KEYS_MAX from others */
  uint8_t key[KEYS_MAX][FM_SEAL_KEY_LEN];
} slot;

/* A grant or an extension found in a device's log: |by|'s entry |seq|
 * carries the key of |writer|'s grant |of| (0: |by|'s own new key). */
typedef struct xref {
  uint8_t by[FM_KEY_LEN];
  uint64_t seq;
  uint8_t writer[FM_KEY_LEN];
  uint64_t of;
} xref;

/* How far a device's log was read for them. */
typedef struct xpos {
  uint8_t device[FM_KEY_LEN];
  uint64_t scanned;
} xpos;

/* Since when this device has seen that |writer|'s grant |seq| misses
 * readers (fm_keyring_extend_others). */
typedef struct need {
  uint8_t writer[FM_KEY_LEN];
  uint64_t seq;
  fm_time since;
} need;

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
  fm_seal_reader *scratch;         /* FM_SEAL_READERS_MAX, for reading others' grants */
  size_t nreaders;
  size_t ninbox;                   /* inbox keys held (sec->inbox) */
  seen *seen;                      /* inbox keys the readers published */
  size_t nseen;
  xref *xr;                        /* grants and extensions found (not secret) */
  size_t nxr, capxr;
  xpos *xp;
  size_t nxp, capxp;
  need needs[NEED_MAX];
  size_t nneed;
  int gateway;                     /* a gateway is among the readers */
  fm_seal_counts counts;
};

int fm_keyring_new(fm_store *s, const fm_identity *self, fm_keyring **out) {
  fm_keyring *k = calloc(1, sizeof *k);
  if (!k) return -ENOMEM;
  k->s = s;
  k->readers = malloc(FM_SEAL_READERS_MAX * sizeof *k->readers);
  k->rd = calloc(FM_SEAL_READERS_MAX, sizeof *k->rd);
  k->scratch = calloc(FM_SEAL_READERS_MAX, sizeof *k->scratch);
  k->seen = calloc(SEEN_MAX, sizeof *k->seen);
  if (!k->readers || !k->rd || !k->scratch || !k->seen) {
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
  free(k->scratch);
  free(k->seen);
  free(k->xr);
  free(k->xp);
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
  fm_seal_counts z = {0, 0, 0, 0};
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
  if (grant_open(x->k, &e, x->sl->key[0]) != 0) return 0;
  x->sl->state = 1;
  x->sl->own = 1;
  x->sl->nkeys = 1;
  return 1;
}

/* Looks for extensions of |sl|'s grant written since the last look. */
static void find_extension(fm_keyring *k, slot *sl) {
  ext_ctx x = {k, sl->seq, sl->scanned, sl};
  fm_store_read_after(k->s, sl->author, sl->scanned, 0, on_ext, &x);
  sl->scanned = x.last;
}

static void find_others(fm_keyring *k, slot *sl);
/* A sealed value to try keys on. */
typedef struct value_ref {
  fm_str id;
  const char *field;
  const uint8_t *p;
  size_t n;
  char *out;
  size_t cap, *out_n;
} value_ref;
static int others(fm_keyring *k, slot *sl, const value_ref *v);

/* The data key of |author|'s grant |seq| for this device: a slot, found in
 * the cache or opened now (from the grant, or an extension of it).  NULL
 * when the keyring opens nothing. */
static slot *grant_key(fm_keyring *k, const uint8_t *author, uint64_t seq) {
  uint8_t *bytes = NULL;
  size_t len;
  fm_entry e;
  if (!k || !k->sec) return NULL;
  for (size_t i = 0; i < k->ncache; i++) {
    slot *c = &k->sec->cache[i];
    if (c->seq != seq || memcmp(c->author, author, FM_KEY_LEN)) continue;
    if (c->state == 0) find_extension(k, c); /* one may have come since */
    if (c->state == 0) find_others(k, c);
    return c;
  }
  slot *sl = &k->sec->cache[k->ncache < CACHE_MAX ? k->ncache++ : k->next++ % CACHE_MAX];
  memcpy(sl->author, author, FM_KEY_LEN);
  sl->seq = seq;
  sl->scanned = seq;
  sl->state = 0;
  sl->own = 0;
  sl->xlook = 0;
  sl->nkeys = 0;
  sodium_memzero(sl->key, sizeof sl->key); /* a reused slot's keys */
  int rc = fm_store_entry_copy(k->s, author, seq, &bytes, &len);
  if (rc == 0) {
    /* Only a grant names a key by seq: a `seal.extend` entry does not. */
    if (fm_entry_decode(bytes, len, NULL, &e) < 0 || !fm_entry_is(&e, FM_KIND_SEAL_GRANT))
      sl->state = -1;
    else {
      rc = grant_open(k, &e, sl->key[0]);
      sl->state = rc == 0 ? 1 : rc == FM_ERR_NOTFOUND ? 0 : -1;
      sl->own = sl->nkeys = rc == 0;
    }
  }
  free(bytes);
  if (sl->state == 0) find_extension(k, sl);
  if (sl->state == 0) find_others(k, sl);
  return sl;
}

/* Opens sealed value |p| with the keys of |sl|: the first that opens it.
 * Keys that did not open a value another key of the grant opened are
 * wrong (one grant, one key; the AEAD binds it): dropped and counted. */
static int slot_open(fm_keyring *k, slot *sl, const uint8_t *author, fm_str id, const char *field,
                     const uint8_t *p, size_t n, char *out, size_t cap, size_t *out_n) {
  for (size_t i = 0; i < sl->nkeys; i++) {
    if (fm_seal_open(sl->key[i], author, id.p, id.n, field, p, n, out, cap, out_n) < 0) continue;
    if (i > 0) {
      memmove(sl->key[0], sl->key[i], (sl->nkeys - i) * FM_SEAL_KEY_LEN);
      sodium_memzero(sl->key[sl->nkeys - i], i * FM_SEAL_KEY_LEN);
      sl->nkeys -= i;
      k->counts.wrong_keys += i;
    }
    return 0;
  }
  /* None opens it: a key from the writer's own entries is the only one
   * (the value is damaged); others' may be wrong ones ahead of a right
   * one that did not fit, so try them all. */
  if (sl->own) return FM_ERR_BADSIG;
  value_ref v = {id, field, p, n, out, cap, out_n};
  return others(k, sl, &v);
}

/* ---- others' extensions ----------------------------------------------------- */

typedef struct index_ctx {
  fm_keyring *k;
  xpos *pos;
  int err;
} index_ctx;

/* Notes grant or extension |bytes| of the device being read. */
static int on_index(void *arg, const uint8_t *bytes, size_t len) {
  index_ctx *c = arg;
  fm_keyring *k = c->k;
  fm_entry e;
  xref x;
  if (fm_entry_decode(bytes, len, NULL, &e) < 0) return 0;
  c->pos->scanned = e.seq;
  memcpy(x.by, e.author, FM_KEY_LEN);
  x.seq = e.seq;
  if (fm_entry_is(&e, FM_KIND_SEAL_GRANT)) {
    memcpy(x.writer, e.author, FM_KEY_LEN);
    if (fm_body_uint(e.body, e.body_len, "of", &x.of)) x.of = 0;
  } else if (!fm_entry_is(&e, FM_KIND_SEAL_EXTEND) || fm_seal_extend_of(&e, x.writer, &x.of) < 0 ||
             !memcmp(x.writer, e.author, FM_KEY_LEN)) {
    return 0; /* not a key's carrier (an extension of one's own grant is a grant's `of`) */
  }
  if (k->nxr == k->capxr) {
    size_t cap = k->capxr ? k->capxr * 2 : 64;
    xref *n = realloc(k->xr, cap * sizeof *n);
    if (!n) return c->err = -ENOMEM;
    k->xr = n;
    k->capxr = cap;
  }
  k->xr[k->nxr++] = x;
  return 0;
}

/* Reads |device|'s log past what was read of it, noting its grants and
 * extensions: its position, or NULL (out of memory). */
static xpos *index_refresh(fm_keyring *k, const uint8_t *device) {
  xpos *p = NULL;
  for (size_t i = 0; i < k->nxp && !p; i++)
    if (!memcmp(k->xp[i].device, device, FM_KEY_LEN)) p = &k->xp[i];
  if (!p) {
    if (k->nxp == k->capxp) {
      size_t cap = k->capxp ? k->capxp * 2 : 32;
      xpos *n = realloc(k->xp, cap * sizeof *n);
      if (!n) return NULL;
      k->xp = n;
      k->capxp = cap;
    }
    p = &k->xp[k->nxp++];
    memset(p, 0, sizeof *p);
    memcpy(p->device, device, FM_KEY_LEN);
  }
  index_ctx c = {k, p, 0};
  fm_store_read_after(k->s, device, p->scanned, 0, on_index, &c);
  return c.err ? NULL : p;
}

/* Reads |by|'s entry |seq| (a grant or an extension) into |*e|, its bytes
 * in |*bytes| (caller frees). */
static int read_entry(fm_keyring *k, const uint8_t *by, uint64_t seq, uint8_t **bytes,
                      fm_entry *e) {
  size_t len;
  *bytes = NULL;
  int rc = fm_store_entry_copy(k->s, by, seq, bytes, &len);
  if (rc == 0 && fm_entry_decode(*bytes, len, NULL, e) < 0) rc = FM_ERR_MALFORMED;
  return rc;
}

typedef struct reach_set {
  uint8_t (*dev)[FM_KEY_LEN];      /* REACH_MAX */
  size_t n;
  char period[8];
} reach_set;

static int in_set(const reach_set *r, const uint8_t *d) {
  for (size_t i = 0; i < r->n; i++)
    if (!memcmp(r->dev[i], d, FM_KEY_LEN)) return 1;
  return 0;
}

/* Adds the readers entry |e| names to |r|. */
static void add_readers(fm_keyring *k, reach_set *r, const fm_entry *e) {
  char period[8];
  size_t n;
  fm_seal_reader *tmp = k->scratch;
  if (fm_seal_grant_readers(e, period, tmp, &n) < 0) return;
  for (size_t i = 0; i < n && r->n < REACH_MAX; i++)
    if (!in_set(r, tmp[i].device)) memcpy(r->dev[r->n++], tmp[i].device, FM_KEY_LEN);
}

/* Whether |x| carries the key of |writer|'s grant |seq|. */
static int carries(const xref *x, const uint8_t *writer, uint64_t seq) {
  return x->of == seq && !memcmp(x->writer, writer, FM_KEY_LEN);
}

/* The devices |writer|'s grant |seq| reaches, into |r|: those the grant
 * names, and those named by the extensions of it that the writer or a
 * device already reached wrote (an extension by any other device is
 * ignored: it cannot hold the key).  0, FM_ERR_NOTFOUND (no such grant
 * here) or an error. */
static int reach(fm_keyring *k, const uint8_t *writer, uint64_t seq, reach_set *r) {
  uint8_t *bytes;
  fm_entry e;
  r->n = 0;
  int rc = read_entry(k, writer, seq, &bytes, &e);
  if (rc == 0 && (!fm_entry_is(&e, FM_KIND_SEAL_GRANT) ||
                  fm_seal_grant_readers(&e, r->period, k->scratch, &r->n) < 0))
    rc = FM_ERR_MALFORMED;
  for (size_t i = 0; rc == 0 && i < r->n; i++)
    memcpy(r->dev[i], k->scratch[i].device, FM_KEY_LEN);
  free(bytes);
  if (rc) return rc;
  if (!in_set(r, writer) && r->n < REACH_MAX) memcpy(r->dev[r->n++], writer, FM_KEY_LEN);
  /* Breadth first: read each reached device's log once; its extensions
   * of the grant reach further. */
  size_t done = 0, grown = 1;
  while (grown) {
    grown = 0;
    for (; done < r->n; done++)
      if (!index_refresh(k, r->dev[done])) return -ENOMEM;
    for (size_t i = 0; i < k->nxr; i++) {
      const xref *x = &k->xr[i];
      if (!carries(x, writer, seq) || !in_set(r, x->by)) continue;
      size_t before = r->n;
      if (read_entry(k, x->by, x->seq, &bytes, &e) == 0) add_readers(k, r, &e);
      free(bytes);
      if (r->n != before) grown = 1;
    }
  }
  return 0;
}


/* For a grant this device is not named in (nor in its writer's
 * extensions): the keys that extensions by other reached devices wrap to
 * it.  Without |v|: up to KEYS_MAX of them become the slot's candidates
 * (which one is right only opening a value tells: slot_open).  With |v|
 * (no candidate opened it): every such key is tried on it, and the first
 * that opens it becomes the slot's only key, the candidates it replaces
 * counted as wrong: 0, else FM_ERR_BADSIG. */
static int others(fm_keyring *k, slot *sl, const value_ref *v) {
  reach_set r;
  uint8_t *bytes;
  fm_entry e;
  uint8_t key[FM_SEAL_KEY_LEN];
  int rc = FM_ERR_BADSIG;
  if (!(r.dev = malloc(REACH_MAX * sizeof *r.dev))) return -ENOMEM;
  if (reach(k, sl->author, sl->seq, &r) == 0) {
    for (size_t i = 0; i < k->nxr && rc != 0 && (v || sl->nkeys < KEYS_MAX); i++) {
      const xref *x = &k->xr[i];
      if (!carries(x, sl->author, sl->seq) || !memcmp(x->by, sl->author, FM_KEY_LEN) ||
          !in_set(&r, x->by))
        continue;
      if (read_entry(k, x->by, x->seq, &bytes, &e) == 0 && grant_open(k, &e, key) == 0) {
        if (v) {
          if (fm_seal_open(key, sl->author, v->id.p, v->id.n, v->field, v->p, v->n, v->out,
                           v->cap, v->out_n) == 0) {
            k->counts.wrong_keys += sl->nkeys;
            sodium_memzero(sl->key, sizeof sl->key);
            memcpy(sl->key[0], key, sizeof key);
            sl->nkeys = 1;
            rc = 0;
          }
        } else {
          int dup = 0;
          for (size_t j = 0; j < sl->nkeys; j++) dup |= !sodium_memcmp(sl->key[j], key, sizeof key);
          if (!dup) memcpy(sl->key[sl->nkeys++], key, sizeof key);
        }
      }
      free(bytes);
    }
    if (sl->nkeys) sl->state = 1;
  }
  sodium_memzero(key, sizeof key);
  free(r.dev);
  return rc;
}

/* Milliseconds of a monotonic clock. */
static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Whether the roster rule makes this device a reader of what |author|
 * writes (its team, or a gateway, officer or admin): no holder extends a
 * grant to another. */
static int roster_reader_of(fm_keyring *k, const uint8_t *author) {
  fm_enrollment me, w;
  uint64_t revoked;
  if (fm_store_enrollment(k->s, k->sec->self.pk, &me, &revoked, NULL, NULL) != 0 ||
      fm_store_enrollment(k->s, author, &w, &revoked, NULL, NULL) != 0)
    return 0;
  return !strcmp(me.team, w.team) || me.role == FM_ROLE_GATEWAY || me.role == FM_ROLE_OFFICER ||
         me.role == FM_ROLE_ADMIN;
}

/* Others' extensions of |sl|'s grant: looked for at most once a second
 * per grant (a listing meets one grant in many values; a daemon's
 * keyring looks again later), and only where one may come. */
static void find_others(fm_keyring *k, slot *sl) {
  int64_t now = mono_ms();
  if (sl->xlook && now - sl->xlook < 1000) return;
  sl->xlook = now;
  if (roster_reader_of(k, sl->author)) others(k, sl, NULL);
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
  slot *sl;
  if (cap < 2 || fm_seal_grant_of(p, n, &seq) < 0) goto bad;
  if (!(sl = grant_key(k, author, seq)) || sl->state == 0) {
    if (k) k->counts.locked++;
    return FM_ERR_NOTFOUND;
  }
  if (sl->state < 0 || slot_open(k, sl, author, id, field, p, n, out, cap - 1, out_n) < 0)
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
  slot *sl = grant_key(k, r->author, seq);
  if (!sl || sl->state == 0) {
    fm_keyring_locked_text(r->team, locked);
    placeholder(k, f, buf, locked, 0, r->locked, bit);
    return;
  }
  if (sl->state < 0 || slot_open(k, sl, r->author, r->id, field, (const uint8_t *)f->p, f->n,
                                 buf, FM_SEAL_TEXT_MAX - 1, &n) < 0) {
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

/* The readers the roster names now for what |w| writes, sorted by key,
 * into |out| (FM_SEAL_READERS_MAX), |*n| set, |*gateway| whether one is a
 * gateway. */
static int roster_readers(fm_keyring *k, const fm_enrollment *w, fm_time now,
                          uint8_t (*out)[FM_KEY_LEN], size_t *n, int *gateway) {
  readers_ctx r = {k->s, w, now, out, 0, 0, 0};
  int rc = fm_store_each_cert(k->s, on_reader, &r);
  if (rc == 0) rc = r.err;
  if (rc) return rc;
  qsort(out, r.n, FM_KEY_LEN, by_key);
  *n = r.n;
  *gateway = r.gateway;
  return 0;
}

/* The readers the roster names now, sorted by key, into k->readers. */
static int load_readers(fm_keyring *k, fm_time now) {
  fm_enrollment self;
  uint64_t revoked;
  size_t n;
  int rc = fm_store_enrollment(k->s, k->sec->self.pk, &self, &revoked, NULL, NULL);
  if (rc == FM_ERR_NOTFOUND) return FM_ERR_AUTH;
  if (rc) return rc;
  if ((rc = roster_readers(k, &self, now, k->readers, &n, &k->gateway)) != 0) return rc;
  k->nreaders = n;
  char period[8];
  fm_seal_period(now, period);
  for (size_t i = 0; i < n; i++) reader_for(k, k->readers[i], period, &k->rd[i]);
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

/* ---- extending others' grants ---------------------------------------------- */

/* Where |device| falls among the holders of |writer|'s grant |seq|: a
 * per-grant order, so that not every holder extends at once. */
static void turn_hash(const uint8_t *writer, uint64_t seq, const uint8_t *device, uint8_t h[16]) {
  crypto_generichash_state st;
  uint8_t be[8];
  for (int i = 7; i >= 0; i--, seq >>= 8) be[i] = (uint8_t)seq;
  crypto_generichash_init(&st, NULL, 0, 16);
  crypto_generichash_update(&st, writer, FM_KEY_LEN);
  crypto_generichash_update(&st, be, sizeof be);
  crypto_generichash_update(&st, device, FM_KEY_LEN);
  crypto_generichash_final(&st, h, 16);
}

/* Since when this device has seen |writer|'s grant |seq| miss readers
 * (first asked now); |clear| forgets it (it misses none). */
static fm_time need_since(fm_keyring *k, const uint8_t *writer, uint64_t seq, fm_time now,
                          int clear) {
  for (size_t i = 0; i < k->nneed; i++) {
    need *nd = &k->needs[i];
    if (nd->seq != seq || memcmp(nd->writer, writer, FM_KEY_LEN)) continue;
    if (clear) nd->seq = 0;
    return nd->since;
  }
  if (clear) return now;
  size_t i = 0;
  while (i < k->nneed && k->needs[i].seq) i++;
  if (i == k->nneed) i = k->nneed < NEED_MAX ? k->nneed++ : (size_t)(now % NEED_MAX);
  memcpy(k->needs[i].writer, writer, FM_KEY_LEN);
  k->needs[i].seq = seq;
  k->needs[i].since = now;
  return now;
}

typedef struct other_work {
  reach_set r;
  uint8_t (*cand)[FM_KEY_LEN];     /* FM_SEAL_READERS_MAX */
  fm_seal_reader *to;              /* FM_SEAL_READERS_MAX */
  uint64_t *seqs;
  size_t nseqs;
} other_work;

/* An extension of one of |writer|'s grants (|en|, gone) to the readers
 * its grants miss, into |grant|: 1, 0, or an error. */
static int extend_writer(fm_keyring *k, other_work *w, const uint8_t *writer,
                         const fm_enrollment *en, fm_time now, const fm_rng *rng, fm_buf *grant) {
  char cutoff[8];
  size_t nc;
  int gw, rc;
  if ((rc = roster_readers(k, en, now, w->cand, &nc, &gw)) != 0) return rc;
  if (!index_refresh(k, writer)) return -ENOMEM;
  fm_seal_period(now - (fm_time)FM_SEAL_REGRANT_DAYS * 86400000, cutoff);
  /* The writer's own new keys (copied: reach() may grow the index). */
  w->nseqs = 0;
  for (size_t i = 0; i < k->nxr; i++)
    if (k->xr[i].of == 0 && !memcmp(k->xr[i].by, writer, FM_KEY_LEN)) w->nseqs++;
  free(w->seqs);
  if (!(w->seqs = malloc((w->nseqs + 1) * sizeof *w->seqs))) return -ENOMEM;
  w->nseqs = 0;
  for (size_t i = 0; i < k->nxr; i++)
    if (k->xr[i].of == 0 && !memcmp(k->xr[i].by, writer, FM_KEY_LEN))
      w->seqs[w->nseqs++] = k->xr[i].seq;
  for (size_t g = 0; g < w->nseqs; g++) {
    uint64_t seq = w->seqs[g];
    if (reach(k, writer, seq, &w->r) != 0 || strcmp(w->r.period, cutoff) < 0) continue;
    size_t m = 0;
    for (size_t i = 0; i < nc && m < FM_SEAL_READERS_MAX; i++)
      if (!in_set(&w->r, w->cand[i])) memcpy(w->to[m++].device, w->cand[i], FM_KEY_LEN);
    if (m == 0) {
      need_since(k, writer, seq, now, 1);
      continue;
    }
    /* Only a key this device opens from the writer's own entries: one
     * from another's extension may be wrong, and is not passed on. */
    slot *sl = grant_key(k, writer, seq);
    if (!sl || sl->state != 1 || !sl->own) continue;
    /* This device's turn among the holders that are readers now. */
    uint8_t mine[16], h[16];
    size_t rank = 0;
    turn_hash(writer, seq, k->sec->self.pk, mine);
    for (size_t i = 0; i < w->r.n; i++) {
      const uint8_t *d = w->r.dev[i];
      if (!memcmp(d, writer, FM_KEY_LEN) || !memcmp(d, k->sec->self.pk, FM_KEY_LEN)) continue;
      int reader = 0;
      for (size_t j = 0; j < nc && !reader; j++) reader = !memcmp(w->cand[j], d, FM_KEY_LEN);
      turn_hash(writer, seq, d, h);
      if (reader && memcmp(h, mine, sizeof h) < 0) rank++;
    }
    if (now - need_since(k, writer, seq, now, 0) < (fm_time)rank * STAGGER_MS) continue;
    for (size_t i = 0; i < m; i++) {
      uint8_t d[FM_KEY_LEN];
      memcpy(d, w->to[i].device, FM_KEY_LEN);
      reader_for(k, d, w->r.period, &w->to[i]);
    }
    fm_buf_reset(grant);
    rc = fm_seal_extend_body(grant, writer, seq, w->r.period, w->to, m, sl->key[0], rng);
    return rc ? rc : 1;
  }
  return 0;
}

int fm_keyring_extend_others(fm_keyring *k, fm_time now, const fm_rng *rng, fm_buf *grant) {
  fm_enrollment self, en;
  uint64_t revoked;
  uint8_t (*dev)[FM_KEY_LEN] = NULL;
  size_t ndev = 0;
  other_work w = {{NULL, 0, {0}}, NULL, NULL, NULL, 0};
  if (!k->sec) return FM_ERR_AUTH;
  int rc = fm_store_enrollment(k->s, k->sec->self.pk, &self, &revoked, NULL, NULL);
  if (rc == FM_ERR_NOTFOUND) return FM_ERR_AUTH;
  /* A revoked or expired device's entries would be quarantined. */
  if (rc || revoked != UINT64_MAX || (self.expires && self.expires <= now)) return rc;
  w.r.dev = malloc(REACH_MAX * sizeof *w.r.dev);
  w.cand = malloc(FM_SEAL_READERS_MAX * sizeof *w.cand);
  w.to = calloc(FM_SEAL_READERS_MAX, sizeof *w.to);
  if (!w.r.dev || !w.cand || !w.to) rc = -ENOMEM;
  fm_vector vec = {0, NULL};
  if (rc == 0) rc = fm_roster_devices(k->s, 0, &dev, &ndev);
  if (rc == 0) rc = fm_store_vector(k->s, &vec);
  for (size_t i = 0; rc == 0 && i < ndev; i++) {
    const uint8_t *writer = dev[i];
    uint64_t head = fm_vector_seq(&vec, writer);
    uint8_t *bytes = NULL;
    fm_entry e;
    if (!head || !memcmp(writer, k->sec->self.pk, FM_KEY_LEN) ||
        fm_store_enrollment(k->s, writer, &en, &revoked, NULL, NULL) != 0)
      continue;
    /* Gone: it will not extend its grants itself.  (Its last entry
     * only: the logs of writers still heard from are not read.) */
    int gone = revoked != UINT64_MAX || (en.expires && en.expires <= now);
    if (!gone && read_entry(k, writer, head, &bytes, &e) == 0)
      gone = now - (fm_time)fm_hlc_ms(e.hlc) > SILENT_MS;
    free(bytes);
    if (gone) rc = extend_writer(k, &w, writer, &en, now, rng, grant);
  }
  fm_vector_free(&vec);
  free(dev);
  free(w.r.dev);
  free(w.cand);
  free(w.to);
  free(w.seqs);
  return rc;
}
