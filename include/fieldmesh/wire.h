/* MessagePack on the wire: a bounded writer and a cursor reader.
 *
 * The writer packs through msgpack-c into an fm_buf, which grows up to a
 * hard limit and then fails sticky (every later write is a no-op and
 * fm_buf_error() says why).  msgpack-c always picks the shortest form, so
 * what the writer produces is canonical.
 *
 * The reader moves a cursor over (buf, len) that it does not own: every
 * read checks what is left first and never allocates.  A strict cursor also
 * refuses encodings that are not the shortest form and strings that are not
 * UTF-8, so that one value has exactly one encoding.  Callers accept a
 * message only when fm_rd_done() says it was consumed exactly.
 */
#ifndef FIELDMESH_WIRE_H
#define FIELDMESH_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

/* ---- growable byte buffer with a hard limit ---------------------------- */

typedef struct fm_buf {
  uint8_t *p;    /* owned; NULL until the first write */
  size_t len;
  size_t cap;
  size_t max;    /* writes past this many bytes fail with FM_ERR_TOOBIG */
  int err;       /* first error, sticky */
} fm_buf;

/* Sets up an empty buffer that never holds more than |max| bytes. */
void fm_buf_init(fm_buf *b, size_t max);
/* Frees the bytes; the buffer can be used again after fm_buf_init(). */
void fm_buf_free(fm_buf *b);
/* Forgets the content but keeps the memory. Clears the error. */
void fm_buf_reset(fm_buf *b);
/* Appends |n| bytes.  Returns 0, FM_ERR_TOOBIG or -ENOMEM (also sticky). */
int fm_buf_put(fm_buf *b, const void *src, size_t n);
/* The first error met by any write, or 0. */
static inline int fm_buf_error(const fm_buf *b) { return b->err; }
/* Hands the bytes to the caller, who frees them with free(); the buffer is
 * left empty. */
uint8_t *fm_buf_take(fm_buf *b, size_t *len);

/* ---- canonical writer --------------------------------------------------- */

typedef struct fm_wr {
  msgpack_packer pk;
  fm_buf *buf;   /* not owned */
} fm_wr;

/* Points a writer at |buf|; the writer holds no resources of its own. */
void fm_wr_init(fm_wr *w, fm_buf *buf);
void fm_wr_array(fm_wr *w, uint32_t n);
void fm_wr_map(fm_wr *w, uint32_t n);
void fm_wr_uint(fm_wr *w, uint64_t v);
void fm_wr_int(fm_wr *w, int64_t v);
void fm_wr_bool(fm_wr *w, int v);
void fm_wr_nil(fm_wr *w);
void fm_wr_str(fm_wr *w, const char *s, size_t n);
void fm_wr_cstr(fm_wr *w, const char *s);
void fm_wr_bin(fm_wr *w, const void *p, size_t n);
/* Appends |n| bytes that already are encoded MessagePack. */
void fm_wr_raw(fm_wr *w, const void *p, size_t n);

/* ---- cursor reader ------------------------------------------------------ */

typedef enum fm_mtype {
  FM_MT_NIL, FM_MT_BOOL, FM_MT_UINT, FM_MT_INT, FM_MT_FLOAT,
  FM_MT_STR, FM_MT_BIN, FM_MT_ARRAY, FM_MT_MAP, FM_MT_EXT, FM_MT_INVALID
} fm_mtype;

typedef struct fm_rd {
  const uint8_t *p;     /* next byte; not owned */
  const uint8_t *end;
  int strict;           /* refuse non-shortest forms and non-UTF-8 strings */
} fm_rd;

/* A reader over |len| bytes of |buf| (not copied: they must outlive it);
 * |strict| as above.  Then: bytes left, and whether all were read. */
void fm_rd_init(fm_rd *c, const uint8_t *buf, size_t len, int strict);
static inline size_t fm_rd_left(const fm_rd *c) { return (size_t)(c->end - c->p); }
static inline int fm_rd_done(const fm_rd *c) { return c->p == c->end; }
/* Type of the next value without consuming it (FM_MT_INVALID at the end or
 * on a reserved byte). */
fm_mtype fm_rd_peek(const fm_rd *c);

/* Each reader consumes one value of its type and returns 0, or returns
 * FM_ERR_MALFORMED and leaves the cursor where it was. */
int fm_rd_array(fm_rd *c, uint32_t *n);
int fm_rd_map(fm_rd *c, uint32_t *n);
int fm_rd_uint(fm_rd *c, uint64_t *v);
int fm_rd_int(fm_rd *c, int64_t *v);        /* any integer that fits int64 */
int fm_rd_bool(fm_rd *c, int *v);
int fm_rd_nil(fm_rd *c);
/* |*s| points into the cursor's buffer and lives as long as it does. */
int fm_rd_str(fm_rd *c, const char **s, size_t *n);
int fm_rd_bin(fm_rd *c, const uint8_t **p, size_t *n);
/* Reads a bin of exactly |n| bytes into |out|. */
int fm_rd_bin_fixed(fm_rd *c, uint8_t *out, size_t n);
/* Skips one whole value, nested at most |max_depth| containers deep and with
 * no container over |max_items|.  FM_ERR_TOOBIG when a limit is hit,
 * FM_ERR_MALFORMED when the bytes do not decode. */
int fm_rd_skip(fm_rd *c, int max_depth, uint32_t max_items);

/* True when |s| (|n| bytes) is well-formed UTF-8 (no overlongs, no
 * surrogates, nothing past U+10FFFF). */
int fm_utf8_valid(const char *s, size_t n);

#endif
