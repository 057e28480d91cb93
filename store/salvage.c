/* Salvaging a damaged store into a fresh one.
 *
 * The damaged file is never opened with LMDB: its trees may lead anywhere.
 * Instead every page of the file (as long as it really is) is looked at on
 * its own, and every record on a page that still looks like a leaf is a
 * candidate.  Entries are self-proving -- a signature over their own
 * bytes -- so a candidate is kept only when it decodes, is filed under its
 * own author and seq, and its signature verifies; then it goes through the
 * ordinary write path (fm_store_ingest), which checks chains and trust
 * again.  Stale pages (freed by LMDB but not yet reused) only ever hold
 * older copies of the same signed entries, so reading them too can only
 * save more.
 *
 * Besides entries the scan keeps what cannot be rebuilt from the log:
 * the meta records naming this laptop and its commune's authority, the
 * enrollment certificates installed by `join` (signed by the authority,
 * checked again by fm_store_add_cert), and every head record and "seen:"
 * claim, which tell how far each log went before the damage -- so the
 * member learns what is missing, and the fresh store refuses to write its
 * own log until the mesh has given the missing own entries back (it would
 * fork otherwise). */
#include "store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fieldmesh/enroll.h"
#include "fieldmesh/error.h"

#define HDR 16
#define NODE 8
#define P_LEAF 0x02
#define P_OVERFLOW 0x04
#define F_BIGDATA 0x01
#define BATCH 1000

static uint16_t u16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t u32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t u64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

typedef struct found {
  uint8_t *p;
  size_t len;
  uint8_t author[FM_KEY_LEN];
  uint64_t seq;
  int authority;
} found;

typedef struct scan {
  const uint8_t *base;
  uint64_t size;
  uint32_t psize;
  found *ents;
  size_t nents, cap;
  found *certs;
  size_t ncerts, ccap;
  fm_salvage *out;
  uint8_t auth[FM_KEY_LEN], self[FM_KEY_LEN];
  int have_auth, have_self;
  char commune[FM_NAME_MAX];
} scan;

static int push(found **v, size_t *n, size_t *cap, const uint8_t *p, size_t len, found **out) {
  if (*n == *cap) {
    size_t nc = *cap ? *cap * 2 : 256;
    found *nv = realloc(*v, nc * sizeof *nv);
    if (!nv) return -ENOMEM;
    *v = nv;
    *cap = nc;
  }
  found *f = &(*v)[*n];
  memset(f, 0, sizeof *f);
  if (!(f->p = malloc(len ? len : 1))) return -ENOMEM;
  memcpy(f->p, p, len);
  f->len = len;
  (*n)++;
  *out = f;
  return 0;
}

static fm_salvage_author *author_of(fm_salvage *o, const uint8_t author[FM_KEY_LEN]) {
  for (size_t i = 0; i < o->nauthors; i++)
    if (!memcmp(o->authors[i].author, author, FM_KEY_LEN)) return &o->authors[i];
  fm_salvage_author *na = realloc(o->authors, (o->nauthors + 1) * sizeof *na);
  if (!na) return NULL;
  o->authors = na;
  fm_salvage_author *a = &na[o->nauthors++];
  memset(a, 0, sizeof *a);
  memcpy(a->author, author, FM_KEY_LEN);
  return a;
}

/* What the old store said about how far |author|'s log went. */
static int claim(scan *s, const uint8_t author[FM_KEY_LEN], uint64_t seq) {
  fm_salvage_author *a = author_of(s->out, author);
  if (!a) return -ENOMEM;
  if (seq > a->claimed) a->claimed = seq;
  return 0;
}

/* One record of a leaf page, whatever table it came from. */
static int record(scan *s, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn) {
  fm_entry e;
  found *f;
  int rv;
  if (kn == 40 && fm_entry_decode(v, vn, NULL, &e) == 0) {
    /* entries or held: author | seq -> entry */
    if (memcmp(e.author, k, FM_KEY_LEN) || fm__be64_get(k + FM_KEY_LEN) != e.seq ||
        fm_entry_verify(&e) < 0) {
      s->out->unreadable++;
      return claim(s, k, fm__be64_get(k + FM_KEY_LEN));
    }
    s->out->found++;
    if ((rv = push(&s->ents, &s->nents, &s->cap, v, vn, &f)) < 0) return rv;
    memcpy(f->author, e.author, FM_KEY_LEN);
    f->seq = e.seq;
    return claim(s, e.author, e.seq);
  }
  if (kn == 40) {
    /* A record of the log that no longer decodes. */
    s->out->unreadable++;
    return claim(s, k, fm__be64_get(k + FM_KEY_LEN));
  }
  if (kn == FM_KEY_LEN && vn == FM__HEAD_LEN) {
    fm_salvage_author *a = author_of(s->out, k);
    if (!a) return -ENOMEM;
    if (fm__be64_get(v) > a->head) a->head = fm__be64_get(v);
    return claim(s, k, fm__be64_get(v));
  }
  if (kn == FM_KEY_LEN && vn > 8 && fm_entry_decode(v + 8, vn - 8, NULL, &e) == 0 &&
      fm_entry_is(&e, FM_KIND_ENROLL) && fm_entry_verify(&e) == 0)
    return push(&s->certs, &s->ncerts, &s->ccap, v + 8, vn - 8, &f);
  if (kn == 9 && !memcmp(k, "authority", 9) && vn == FM_KEY_LEN) {
    memcpy(s->auth, v, FM_KEY_LEN);
    s->have_auth = 1;
  } else if (kn == 4 && !memcmp(k, "self", 4) && vn == FM_KEY_LEN) {
    memcpy(s->self, v, FM_KEY_LEN);
    s->have_self = 1;
  } else if (kn == 7 && !memcmp(k, "commune", 7) && vn < FM_NAME_MAX) {
    memcpy(s->commune, v, vn);
    s->commune[vn] = 0;
  } else if (kn == 5 + 2 * FM_KEY_LEN && !memcmp(k, "seen:", 5) && vn == 16) {
    uint8_t author[FM_KEY_LEN];
    if (fm_unhex((const char *)k + 5, author, FM_KEY_LEN) == 0)
      return claim(s, author, fm__be64_get(v));
  }
  return 0;
}

/* Every record of page |pgno| that fits in it (and in the file). */
static int scan_page(scan *s, uint64_t pgno) {
  const uint8_t *p = s->base + pgno * s->psize;
  uint16_t lower = u16(p + 12), upper = u16(p + 14);
  if (u64(p) != pgno || (u16(p + 10) & 0x7f) != P_LEAF || lower < HDR || lower > upper ||
      upper > s->psize)
    return 0;
  for (unsigned i = 0; i < (unsigned)(lower - HDR) / 2; i++) {
    uint16_t at = u16(p + HDR + 2 * i);
    if (at < upper || (size_t)at + NODE > s->psize) continue;
    const uint8_t *nd = p + at, *key = nd + NODE;
    uint16_t ksize = u16(nd + 6), flags = u16(nd + 4);
    uint64_t dsize = (uint64_t)u16(nd) | (uint64_t)u16(nd + 2) << 16;
    const uint8_t *data;
    if ((size_t)at + NODE + ksize > s->psize) continue;
    if (flags & F_BIGDATA) {
      if ((size_t)at + NODE + ksize + 8 > s->psize) continue;
      uint64_t ov = u64(key + ksize);
      if (ov < 2 || ov >= s->size / s->psize) continue;
      const uint8_t *op = s->base + ov * s->psize;
      if (u64(op) != ov || !(u16(op + 10) & P_OVERFLOW) ||
          ov * s->psize + HDR + dsize > s->size || u32(op + 12) == 0)
        continue;
      data = op + HDR;
    } else {
      if ((size_t)at + NODE + ksize + dsize > s->psize) continue;
      data = key + ksize;
    }
    int rv = record(s, key, ksize, data, (size_t)dsize);
    if (rv < 0) return rv;
  }
  return 0;
}

/* The page size: from whichever meta page is sound, else the usual one. */
static uint32_t page_size(const uint8_t *base, uint64_t size) {
  static const uint32_t guesses[] = {4096, 8192, 16384, 32768, 65536, 2048, 1024, 512};
  fm__meta m;
  char why[128];
  if (fm__store_meta_read(base, size, 0, &m, why, sizeof why) == 0) return m.psize;
  for (size_t i = 0; i < sizeof guesses / sizeof guesses[0]; i++)
    if (guesses[i] < size &&
        fm__store_meta_read(base + guesses[i], size - guesses[i], 1, &m, why, sizeof why) == 0 &&
        m.psize == guesses[i])
      return m.psize;
  return 4096;
}

/* Authority first (its enrollments and revocations govern the rest), then
 * by author and seq, as a sync session sends them. */
static int cmp_found(const void *a, const void *b) {
  const found *x = a, *y = b;
  if (x->authority != y->authority) return y->authority - x->authority;
  int c = memcmp(x->author, y->author, FM_KEY_LEN);
  if (c) return c;
  if (x->seq != y->seq) return x->seq < y->seq ? -1 : 1;
  if (x->len != y->len) return x->len < y->len ? -1 : 1;
  return memcmp(x->p, y->p, x->len);
}

/* With the meta page lost, the authority is the author of any enrollment
 * (only it signs them, and this store only ever held its own commune's),
 * and the commune's name is in every enrollment. */
static void authority_from_enrollments(scan *sc) {
  for (size_t pass = 0; pass < 2 && !sc->have_auth; pass++) {
    found *v = pass ? sc->ents : sc->certs;
    size_t n = pass ? sc->nents : sc->ncerts;
    for (size_t i = 0; i < n && !sc->have_auth; i++) {
      fm_entry e;
      fm_enrollment en;
      if (fm_entry_decode(v[i].p, v[i].len, NULL, &e) == 0 && fm_entry_is(&e, FM_KIND_ENROLL) &&
          fm_enroll_parse(&e, &en) == 0) {
        memcpy(sc->auth, e.author, FM_KEY_LEN);
        snprintf(sc->commune, sizeof sc->commune, "%s", en.commune);
        sc->have_auth = 1;
      }
    }
  }
}

static int fill(scan *sc, fm_store *s, fm_time now) {
  fm_slice batch[BATCH];
  fm_ingest_result r;
  fm_vector v = {0, NULL};
  size_t n = 0;
  int rv = 0;
  if (!sc->have_auth) authority_from_enrollments(sc);
  if (sc->have_self && (rv = fm_store_set_self(s, sc->self)) < 0) return rv;
  if (sc->have_auth && (rv = fm_store_set_authority(s, sc->auth, sc->commune)) < 0) return rv;
  for (size_t i = 0; i < sc->ncerts; i++)
    fm_store_add_cert(s, sc->certs[i].p, sc->certs[i].len, now, NULL);   /* each checked there */
  for (size_t i = 0; i < sc->nents; i++)
    sc->ents[i].authority = sc->have_auth && !memcmp(sc->ents[i].author, sc->auth, FM_KEY_LEN);
  if (sc->nents) qsort(sc->ents, sc->nents, sizeof *sc->ents, cmp_found);
  /* Twice: a change of a record that sorts later waits for it (the team
   * rule), and what did not fit in the held table behind it comes in on
   * the second pass; what is in the log by then is a cheap duplicate. */
  for (int pass = 0; pass < 2 && rv >= 0; pass++)
    for (size_t i = 0; i <= sc->nents && rv >= 0; i++) {
      if (i < sc->nents && (i == 0 || cmp_found(&sc->ents[i - 1], &sc->ents[i]) != 0)) {
        batch[n].p = sc->ents[i].p;
        batch[n++].len = sc->ents[i].len;
      }
      if (n == BATCH || (i == sc->nents && n)) {
        memset(&r, 0, sizeof r);
        rv = fm_store_ingest(s, batch, n, now, &r, NULL);
        n = 0;
      }
    }
  if (rv < 0) return rv;
  if ((rv = fm_store_vector(s, &v)) < 0) return rv;
  for (size_t i = 0; i < v.n; i++) {
    fm_salvage_author *a = author_of(sc->out, v.items[i].author);
    if (!a) {
      rv = -ENOMEM;
      break;
    }
    a->saved = v.items[i].seq;
    sc->out->saved += v.items[i].seq;
  }
  fm_vector_free(&v);
  /* Our own log must not go on from a lower seq than it had reached:
   * the entries past it are on other laptops, and a new entry with one
   * of their numbers would be a fork.  fm_store_note_seen keeps appends
   * refused until sync has brought them back. */
  for (size_t i = 0; rv == 0 && i < sc->out->nauthors; i++)
    if (sc->out->authors[i].claimed > sc->out->authors[i].saved)
      rv = fm_store_note_seen(s, sc->out->authors[i].author, sc->out->authors[i].claimed, now);
  if (rv == 0) rv = fm_store_rebuild(s);
  return rv;
}

int fm_store_salvage(const char *from, const char *to, const uint8_t *self, fm_time now,
                     fm_salvage *out) {
  char path[4096];
  struct stat st;
  scan sc;
  fm_store *s = NULL;
  int fd, rv = 0;
  memset(out, 0, sizeof *out);
  memset(&sc, 0, sizeof sc);
  sc.out = out;
  if (snprintf(path, sizeof path, "%s/data.mdb", from) >= (int)sizeof path) return -ENAMETOOLONG;
  if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)) < 0) return -errno;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    rv = S_ISREG(st.st_mode) ? -errno : FM_ERR_NOTREG;
    close(fd);
    return rv;
  }
  void *map = st.st_size ? mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0)
                         : MAP_FAILED;
  close(fd);
  if (map != MAP_FAILED) {
    sc.base = map;
    sc.size = (uint64_t)st.st_size;
    sc.psize = page_size(sc.base, sc.size);
    /* Pages 0 and 1 are the meta pages; a cut file's last partial page
     * is left out with the rest of what is gone. */
    for (uint64_t pg = 2; rv == 0 && pg < sc.size / sc.psize; pg++) rv = scan_page(&sc, pg);
    munmap(map, (size_t)st.st_size);
  }
  if (rv == 0) {
    fm_store_opts o;
    memset(&o, 0, sizeof o);
    rv = fm_store_open(to, &o, &s);
  }
  if (rv == 0 && !sc.have_self && self) {
    memcpy(sc.self, self, FM_KEY_LEN);
    sc.have_self = 1;
  }
  if (rv == 0) rv = fill(&sc, s, now);
  if (rv == 0) {
    out->have_authority = sc.have_auth;
    out->certs = sc.ncerts;
  }
  fm_store_close(s);
  for (size_t i = 0; i < sc.nents; i++) free(sc.ents[i].p);
  for (size_t i = 0; i < sc.ncerts; i++) free(sc.certs[i].p);
  free(sc.ents);
  free(sc.certs);
  if (rv < 0) fm_salvage_free(out);
  return rv;
}

void fm_salvage_free(fm_salvage *s) {
  free(s->authors);
  s->authors = NULL;
  s->nauthors = 0;
}
