/* fm-damage: damages a store's data.mdb the ways a laptop's disk does, for
 * the fault tests.  Standalone on purpose: it must not share the code that
 * checks the file with the code under test.
 *
 *   fm-damage cut FILE           cut the file to half its size
 *   fm-damage zero FILE          zero the middle leaf page of the entries table
 *   fm-damage flip FILE SEED     flip 16 bytes at the start of the middle
 *                                page of the entries table (header and
 *                                record offsets), at an offset chosen by SEED
 *   fm-damage scribble FILE SEED flip 16 bytes in the middle of one entry
 *                                on that page (its structure stays sound)
 *   fm-damage random FILE SEED   flip 16 bytes anywhere past the meta pages,
 *                                at an offset chosen by SEED (what a disk
 *                                does: it may hit a page in use or not)
 *
 * Prints the page it damaged.  Exit 1 when the file has no such page. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HDR 16
#define PAGES_MAX 100000

static int fd;
static uint32_t psize;

static void rd(uint64_t pgno, uint8_t *buf) {
  if (pread(fd, buf, psize, (off_t)(pgno * psize)) != (ssize_t)psize) {
    fprintf(stderr, "fm-damage: cannot read page %llu\n", (unsigned long long)pgno);
    exit(1);
  }
}
static uint16_t u16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint64_t u64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* The pages of the tree rooted at |pgno|, leaves and branches, in order. */
static uint64_t pages[PAGES_MAX], leaves[PAGES_MAX];
static size_t npages, nleaves;
static void collect(uint64_t pgno, int depth) {
  uint8_t *p = malloc(psize);
  rd(pgno, p);
  if (npages < PAGES_MAX) pages[npages++] = pgno;
  unsigned n = (u16(p + 12) - HDR) / 2;
  if (u16(p + 10) & 2) {
    if (nleaves < PAGES_MAX) leaves[nleaves++] = pgno;
  } else if (depth < 32) {
    for (unsigned i = 0; i < n; i++) {
      const uint8_t *nd = p + u16(p + HDR + 2 * i);
      collect((uint64_t)u16(nd) | (uint64_t)u16(nd + 2) << 16 | (uint64_t)u16(nd + 4) << 32,
              depth + 1);
    }
  }
  free(p);
}

/* The root of the named table "entries", from the newest meta page. */
static uint64_t entries_root(void) {
  uint8_t m0[512], m1[512];
  if (pread(fd, m0, sizeof m0, 0) != (ssize_t)sizeof m0) exit(1);
  memcpy(&psize, m0 + HDR + 24, 4);
  if (pread(fd, m1, sizeof m1, psize) != (ssize_t)sizeof m1) exit(1);
  const uint8_t *m = u64(m1 + HDR + 128) > u64(m0 + HDR + 128) ? m1 : m0;
  uint64_t root = u64(m + HDR + 72 + 40);
  uint8_t *p = malloc(psize);
  rd(root, p);               /* a store's few tables fit in one leaf */
  unsigned n = (u16(p + 12) - HDR) / 2;
  for (unsigned i = 0; i < n; i++) {
    const uint8_t *nd = p + u16(p + HDR + 2 * i);
    if (u16(nd + 6) == 7 && !memcmp(nd + 8, "entries", 7)) {
      uint64_t r = u64(nd + 8 + 7 + 40);
      free(p);
      return r;
    }
  }
  fprintf(stderr, "fm-damage: no entries table\n");
  exit(1);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: fm-damage cut|zero|flip|scribble FILE [SEED]\n");
    return 2;
  }
  const char *how = argv[1];
  if ((fd = open(argv[2], O_RDWR)) < 0) {
    perror(argv[2]);
    return 1;
  }
  if (!strcmp(how, "cut")) {
    struct stat st;
    fstat(fd, &st);
    if (ftruncate(fd, st.st_size / 2) != 0) return 1;
    printf("cut %s from %lld to %lld bytes\n", argv[2], (long long)st.st_size,
           (long long)st.st_size / 2);
    return 0;
  }
  uint32_t seed = argc > 3 ? (uint32_t)strtoul(argv[3], NULL, 10) : 1;
  if (!strcmp(how, "random")) {
    struct stat st;
    uint8_t b[16];
    entries_root();                                  /* reads the page size */
    fstat(fd, &st);
    uint64_t span = (uint64_t)st.st_size - 2 * psize - 16;
    uint64_t x = seed * 0x9E3779B97F4A7C15ull;       /* a seeded spread over the file */
    x ^= x >> 29;
    off_t at = (off_t)(2 * psize + x % span);
    if (pread(fd, b, 16, at) != 16) return 1;
    for (int i = 0; i < 16; i++) b[i] ^= (uint8_t)((0x5A ^ (seed * 7 + (uint32_t)i)) | 1);
    if (pwrite(fd, b, 16, at) != 16) return 1;
    printf("random: 16 bytes at offset %lld of %s\n", (long long)at, argv[2]);
    return 0;
  }
  collect(entries_root(), 0);
  if (nleaves < 3) {
    fprintf(stderr, "fm-damage: the entries table has only %zu leaf pages\n", nleaves);
    return 1;
  }
  uint64_t pg = leaves[nleaves / 2];
  uint8_t *p = malloc(psize);
  rd(pg, p);
  if (!strcmp(how, "zero")) {
    memset(p, 0, psize);
  } else if (!strcmp(how, "flip") || !strcmp(how, "scribble")) {
    size_t at;
    if (!strcmp(how, "flip")) {
      at = seed % 32;                               /* header and first offsets */
    } else {
      /* Inside one entry's bytes, past its record header: the page's
       * structure stays sound, only the entry changes. */
      unsigned n = (u16(p + 12) - HDR) / 2;
      const uint8_t *nd = p + u16(p + HDR + 2 * (seed % n));
      size_t dsize = (size_t)u16(nd) | (size_t)u16(nd + 2) << 16;
      /* Odd seeds: the middle of its body (it no longer decodes); even
       * seeds: its signature (it still decodes, and no longer verifies). */
      at = (size_t)(nd - p) + 8 + u16(nd + 6) + (seed % 2 ? dsize / 2 - 8 : dsize - 40);
    }
    for (int i = 0; i < 16; i++) p[at + i] ^= (uint8_t)((0xA5 ^ (seed * 31 + (uint32_t)i)) | 1);
  } else {
    fprintf(stderr, "fm-damage: unknown damage %s\n", how);
    return 2;
  }
  if (pwrite(fd, p, psize, (off_t)(pg * psize)) != (ssize_t)psize) return 1;
  printf("%s page %llu of %s (%zu leaf pages in the entries table)\n", how,
         (unsigned long long)pg, argv[2], nleaves);
  free(p);
  close(fd);
  return 0;
}
