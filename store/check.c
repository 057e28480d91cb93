/* Checking a store's files before anything trusts them.
 *
 * LMDB trusts its file: a page number, a node offset or a size read from a
 * damaged page is followed as it is, and ends in SIGBUS (a page past the
 * end of a truncated file) or in LMDB's own assertion (a zeroed page where
 * a leaf should be).  So before the store is used, we read the file's
 * structure ourselves, checking every number against the page and the file
 * before following it, so that a check can fail but never fault:
 *
 *  1. precheck (before LMDB maps the file): both meta pages, read with
 *     pread, must carry LMDB's magic, version and one page size, and name
 *     roots inside their last page;
 *  2. walk (after mdb_env_open, inside a read transaction, so a writer in
 *     another process cannot reuse the pages under us): every branch, leaf
 *     and overflow page of the free-page tree, the main tree and every
 *     named table, reached from the snapshot's meta, must lie inside the
 *     file, carry its own page number and the right kind, hold nodes that
 *     fit in it and keys in order, and add up to the counts the table's
 *     record claims.
 *
 * Layout (LMDB 0.9, native byte order; see docs/architecture.md):
 *   page header (16 bytes): pgno u64 | pad u16 | flags u16 | lower u16 |
 *     upper u16 (an overflow page: a u32 count of pages in their place);
 *   node (8 bytes + key + data): lo u16 | hi u16 | flags u16 | ksize u16;
 *     a leaf's data size is lo | hi << 16, a branch's child page
 *     lo | hi << 16 | flags << 32;
 *   meta page: header, then magic u32 | version u32 | address u64 |
 *     mapsize u64 | free tree (48) | main tree (48) | last_pg u64 | txnid u64;
 *   tree record (48 bytes): pad u32 (the page size, in the free tree's) |
 *     flags u16 | depth u16 | branch, leaf, overflow pages, entries, root
 *     (u64 each).
 */
#include "store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fieldmesh/error.h"

#define HDR 16
#define NODE 8
#define P_BRANCH 0x01
#define P_LEAF 0x02
#define P_OVERFLOW 0x04
#define P_META 0x08
#define F_BIGDATA 0x01
#define F_SUBDATA 0x02
#define MAGIC 0xBEEFC0DEu
#define DATA_VERSION 1
#define TREE_LEN 48
#define META_LEN (24 + 2 * TREE_LEN + 16)
#define NO_PAGE UINT64_MAX
#define DEPTH_MAX 32   /* LMDB's cursor stack holds 32 pages */
#define PRECHECK_TRIES 3

static uint16_t u16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t u32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t u64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

static int damaged(char *why, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int damaged(char *why, size_t cap, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, cap, fmt, ap);
  va_end(ap);
  return FM_ERR_DAMAGED;
}

void fm__store_tree_read(const uint8_t *p, fm__tree *t) {
  t->flags = u16(p + 4);
  t->depth = u16(p + 6);
  t->branch = u64(p + 8);
  t->leaf = u64(p + 16);
  t->overflow = u64(p + 24);
  t->entries = u64(p + 32);
  t->root = u64(p + 40);
}

/* Parses the meta page at |p| (|len| bytes read): 0, or a reason. */
int fm__store_meta_read(const uint8_t *p, size_t len, int which, fm__meta *m,
                        char *why, size_t cap) {
  if (len < HDR + META_LEN)
    return damaged(why, cap, "data.mdb is too short to hold meta page %d", which);
  const uint8_t *q = p + HDR;
  m->psize = u32(q + 24);
  m->last_pg = u64(q + 24 + 2 * TREE_LEN);
  m->txnid = u64(q + 24 + 2 * TREE_LEN + 8);
  fm__store_tree_read(q + 24, &m->free);
  fm__store_tree_read(q + 24 + TREE_LEN, &m->main);
  if (u32(q) != MAGIC || u32(q + 4) != DATA_VERSION)
    return damaged(why, cap, "meta page %d is not an LMDB meta page", which);
  if (u64(p) != (uint64_t)which || !(u16(p + 10) & P_META))
    return damaged(why, cap, "meta page %d has a wrong header", which);
  if (m->psize < 512 || m->psize > 65536 || (m->psize & (m->psize - 1)))
    return damaged(why, cap, "meta page %d names page size %u", which, m->psize);
  if (m->last_pg < 1 || (m->main.root != NO_PAGE && m->main.root > m->last_pg) ||
      (m->free.root != NO_PAGE && m->free.root > m->last_pg) ||
      m->main.depth > DEPTH_MAX || m->free.depth > DEPTH_MAX)
    return damaged(why, cap, "meta page %d points outside its pages", which);
  return 0;
}

static int precheck_once(const char *path, char *why, size_t cap) {
  uint8_t buf[HDR + META_LEN];
  fm__meta m[2];
  struct stat st;
  /* O_NONBLOCK: a FIFO planted as data.mdb must not hang the open. */
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK), rv = 0;
  if (fd < 0) return errno == ENOENT ? 0 : -errno;   /* a new store */
  if (fstat(fd, &st) != 0) rv = -errno;
  else if (!S_ISREG(st.st_mode)) rv = damaged(why, cap, "data.mdb is not a regular file");
  else if (st.st_size == 0) rv = 0;                     /* created, never written */
  for (int i = 0; rv == 0 && st.st_size && i < 2; i++) {
    /* Meta page 1 sits one page (of meta 0's size) after meta 0. */
    off_t at = i == 0 ? 0 : (off_t)m[0].psize;
    ssize_t n = pread(fd, buf, sizeof buf, at);
    if (n < 0) rv = -errno;
    else rv = fm__store_meta_read(buf, (size_t)n, i, &m[i], why, cap);
  }
  if (rv == 0 && st.st_size) {
    const fm__meta *cur = m[1].txnid > m[0].txnid ? &m[1] : &m[0];
    if (m[0].psize != m[1].psize)
      rv = damaged(why, cap, "the two meta pages disagree on the page size");
    else if ((uint64_t)st.st_size < 2 * (uint64_t)m[0].psize)
      rv = damaged(why, cap, "data.mdb is %lld bytes, shorter than its meta pages",
                   (long long)st.st_size);
    else if (cur->main.root != NO_PAGE &&
             (cur->main.root + 1) * (uint64_t)cur->psize > (uint64_t)st.st_size)
      rv = damaged(why, cap, "data.mdb is %lld bytes but its root is page %llu: the file "
                   "was cut short", (long long)st.st_size, (unsigned long long)cur->main.root);
  }
  close(fd);
  return rv;
}

int fm__store_precheck(const char *dir, char *why, size_t cap) {
  char path[4096];
  int rv = 0;
  if (snprintf(path, sizeof path, "%s/data.mdb", dir) >= (int)sizeof path) return -ENAMETOOLONG;
  /* A writer in another process may be rewriting a meta page as we read
   * it: damage stays, a torn read does not, so look again before saying
   * so. */
  for (int i = 0; i < PRECHECK_TRIES; i++) {
    if ((rv = precheck_once(path, why, cap)) != FM_ERR_DAMAGED) return rv;
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  return rv;
}

/* ---- the walk --------------------------------------------------------------- */

typedef struct walker {
  const uint8_t *base;     /* page 0 of the file, as mapped */
  uint32_t psize;
  uint64_t pages;          /* whole pages the file holds */
  uint64_t last_pg;
  uint8_t *seen;           /* one bit per page: a page reached twice is a loop */
  char *why;
  size_t cap;
} walker;

typedef struct tree_walk {
  const char *name;
  int intkey, main;
  uint64_t branch, leaf, overflow, entries;
  const uint8_t *last;     /* the previous leaf key, in key order */
  size_t last_len;
  int have_last;
} tree_walk;

static int key_cmp(const tree_walk *tw, const uint8_t *a, size_t an, const uint8_t *b,
                   size_t bn) {
  if (tw->intkey && an == 8 && bn == 8) {
    uint64_t x = u64(a), y = u64(b);
    return x < y ? -1 : x > y;
  }
  int c = memcmp(a, b, an < bn ? an : bn);
  return c ? c : (an < bn ? -1 : an > bn);
}

static const uint8_t *page_at(walker *w, uint64_t pgno, const char *name) {
  if (pgno < 2 || pgno > w->last_pg || pgno >= w->pages) {
    if (pgno >= w->pages && pgno <= w->last_pg)
      damaged(w->why, w->cap, "data.mdb ends at page %llu but the %s table needs page %llu: "
              "the file was cut short", (unsigned long long)w->pages, name,
              (unsigned long long)pgno);
    else
      damaged(w->why, w->cap, "the %s table points to page %llu, outside the file", name,
              (unsigned long long)pgno);
    return NULL;
  }
  if (w->seen[pgno >> 3] & (1u << (pgno & 7))) {
    damaged(w->why, w->cap, "page %llu is used twice (%s table)", (unsigned long long)pgno, name);
    return NULL;
  }
  w->seen[pgno >> 3] |= (uint8_t)(1u << (pgno & 7));
  const uint8_t *p = w->base + pgno * w->psize;
  if (u64(p) != pgno) {
    damaged(w->why, w->cap, "page %llu of the %s table holds something else (page number "
            "%llu)", (unsigned long long)pgno, name, (unsigned long long)u64(p));
    return NULL;
  }
  return p;
}

static int walk_overflow(walker *w, tree_walk *tw, uint64_t pgno, uint64_t size) {
  const uint8_t *p = page_at(w, pgno, tw->name);
  if (!p) return FM_ERR_DAMAGED;
  uint64_t want = (HDR - 1 + size) / w->psize + 1;
  if ((u16(p + 10) & (P_OVERFLOW | P_BRANCH | P_LEAF | P_META)) != P_OVERFLOW ||
      u32(p + 12) != want || pgno + want - 1 > w->last_pg || pgno + want > w->pages)
    return damaged(w->why, w->cap, "overflow page %llu of the %s table is damaged",
                   (unsigned long long)pgno, tw->name);
  for (uint64_t i = 1; i < want; i++) w->seen[(pgno + i) >> 3] |= (uint8_t)(1u << ((pgno + i) & 7));
  tw->overflow += want;
  return 0;
}

static int walk_tree(walker *w, const char *name, const fm__tree *t, int intkey, int main_tree);

/* A record of the main tree naming a table: walk that table too. */
static int walk_named(walker *w, const uint8_t *key, size_t klen, const uint8_t *data) {
  char name[40];
  fm__tree t;
  size_t n = klen < sizeof name - 1 ? klen : sizeof name - 1;
  for (size_t i = 0; i < n; i++) name[i] = key[i] >= 0x20 && key[i] < 0x7f ? (char)key[i] : '?';
  name[n] = 0;
  fm__store_tree_read(data, &t);
  return walk_tree(w, name, &t, 0, 0);
}

static int walk_page(walker *w, tree_walk *tw, uint64_t pgno, unsigned depth, unsigned want_depth) {
  const uint8_t *p = page_at(w, pgno, tw->name);
  if (!p) return FM_ERR_DAMAGED;
  uint16_t flags = u16(p + 10) & (P_BRANCH | P_LEAF | P_OVERFLOW | P_META | 0x20 | 0x40);
  uint16_t lower = u16(p + 12), upper = u16(p + 14);
  int leaf = depth == want_depth;
  if (flags != (leaf ? P_LEAF : P_BRANCH) || lower < HDR + 2 || lower > upper ||
      upper > w->psize || (lower - HDR) % 2)
    return damaged(w->why, w->cap, "page %llu of the %s table is not a %s page",
                   (unsigned long long)pgno, tw->name, leaf ? "leaf" : "branch");
  unsigned nkeys = (lower - HDR) / 2;
  if (leaf) tw->leaf++;
  else tw->branch++;
  for (unsigned i = 0; i < nkeys; i++) {
    uint16_t at = u16(p + HDR + 2 * i);
    if (at < upper || at % 2 || (size_t)at + NODE > w->psize) goto bad_node;
    const uint8_t *nd = p + at;
    uint16_t nflags = u16(nd + 4), ksize = u16(nd + 6);
    const uint8_t *key = nd + NODE;
    if ((size_t)at + NODE + ksize > w->psize) goto bad_node;
    if (!leaf) {
      uint64_t child = (uint64_t)u16(nd) | (uint64_t)u16(nd + 2) << 16 | (uint64_t)nflags << 32;
      int rv = walk_page(w, tw, child, depth + 1, want_depth);
      if (rv) return rv;
      continue;
    }
    uint64_t dsize = (uint64_t)u16(nd) | (uint64_t)u16(nd + 2) << 16;
    if (tw->have_last && key_cmp(tw, tw->last, tw->last_len, key, ksize) >= 0)
      return damaged(w->why, w->cap, "the keys of page %llu of the %s table are out of order",
                     (unsigned long long)pgno, tw->name);
    tw->last = key;
    tw->last_len = ksize;
    tw->have_last = 1;
    tw->entries++;
    if (nflags & ~(F_BIGDATA | F_SUBDATA)) goto bad_node;
    if (nflags & F_BIGDATA) {
      if ((size_t)at + NODE + ksize + 8 > w->psize || (nflags & F_SUBDATA)) goto bad_node;
      int rv = walk_overflow(w, tw, u64(key + ksize), dsize);
      if (rv) return rv;
      continue;
    }
    if ((size_t)at + NODE + ksize + dsize > w->psize) goto bad_node;
    if (nflags & F_SUBDATA) {
      if (!tw->main || dsize != TREE_LEN) goto bad_node;
      int rv = walk_named(w, key, ksize, key + ksize);
      if (rv) return rv;
    }
  }
  return 0;
bad_node:
  return damaged(w->why, w->cap, "a record on page %llu of the %s table is damaged",
                 (unsigned long long)pgno, tw->name);
}

static int walk_tree(walker *w, const char *name, const fm__tree *t, int intkey, int main_tree) {
  tree_walk tw;
  memset(&tw, 0, sizeof tw);
  tw.name = name;
  tw.intkey = intkey;
  tw.main = main_tree;
  if (t->root == NO_PAGE) {
    if (t->entries || t->depth || t->branch || t->leaf || t->overflow)
      return damaged(w->why, w->cap, "the %s table counts records but has none", name);
    return 0;
  }
  if (t->depth < 1 || t->depth > DEPTH_MAX)
    return damaged(w->why, w->cap, "the %s table claims a depth of %u", name, t->depth);
  int rv = walk_page(w, &tw, t->root, 1, t->depth);
  if (rv) return rv;
  if (tw.branch != t->branch || tw.leaf != t->leaf || tw.overflow != t->overflow ||
      tw.entries != t->entries)
    return damaged(w->why, w->cap, "the %s table holds %llu records in %llu pages where it "
                   "should hold %llu in %llu", name, (unsigned long long)tw.entries,
                   (unsigned long long)(tw.branch + tw.leaf + tw.overflow),
                   (unsigned long long)t->entries,
                   (unsigned long long)(t->branch + t->leaf + t->overflow));
  return 0;
}

int fm__store_walk_pages(const uint8_t *base, uint64_t file_size, const fm__meta *m,
                         char *why, size_t cap) {
  walker w;
  int rv;
  memset(&w, 0, sizeof w);
  w.base = base;
  w.psize = m->psize;
  w.pages = file_size / m->psize;
  w.last_pg = m->last_pg;
  w.why = why;
  w.cap = cap;
  if (!(w.seen = calloc(m->last_pg / 8 + 1, 1))) return -ENOMEM;
  /* Free-page lists are keyed by transaction id, an integer. */
  if ((rv = walk_tree(&w, "free-page", &m->free, 1, 0)) == 0)
    rv = walk_tree(&w, "main", &m->main, 0, 1);
  free(w.seen);
  return rv;
}

int fm__store_walk(fm_store *s, char *why, size_t cap) {
  MDB_txn *t;
  struct stat st;
  fm__meta m[2];
  int fd, rv;
  if ((rv = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &t)) != 0) return fm__store_err(rv);
  /* From here the snapshot's pages stay as they are until the abort.
   * LMDB does not tell where it mapped the file, so map it once more,
   * read-only and only as long as it is: no read can fall off its end. */
  if ((rv = mdb_env_get_fd(s->env, &fd)) != 0 || fstat(fd, &st) != 0) {
    mdb_txn_abort(t);
    return rv ? fm__store_err(rv) : -errno;
  }
  uint64_t size = (uint64_t)st.st_size;
  void *map = size ? mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0) : MAP_FAILED;
  if (map == MAP_FAILED) {
    rv = size ? -errno : damaged(why, cap, "data.mdb is empty");
    mdb_txn_abort(t);
    return rv;
  }
  const uint8_t *base = map;
  rv = fm__store_meta_read(base, size, 0, &m[0], why, cap);
  if (rv == 0 && size >= (uint64_t)m[0].psize + HDR + META_LEN)
    rv = fm__store_meta_read(base + m[0].psize, size - m[0].psize, 1, &m[1], why, cap);
  else if (rv == 0)
    rv = damaged(why, cap, "data.mdb is shorter than its meta pages");
  if (rv == 0) {
    size_t txnid = mdb_txn_id(t);
    const fm__meta *cur = m[0].txnid == txnid ? &m[0] : m[1].txnid == txnid ? &m[1] : NULL;
    rv = cur ? fm__store_walk_pages(base, size, cur, why, cap)
             : damaged(why, cap, "no meta page names the current transaction");
  }
  munmap(map, size);
  mdb_txn_abort(t);
  return rv;
}
