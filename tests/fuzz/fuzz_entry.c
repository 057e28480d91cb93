/* fuzz_entry: the input is one stored entry, as received from a peer or
 * read from a bundle.
 *
 * Decodes it (default limits, then tight ones), checks the signature, and
 * when it names a record, merges it into a new record and then into that
 * record again.  Properties: the tight limits never accept what the
 * defaults refuse; an entry that decodes is written back, value by value,
 * by the canonical writer to the very same bytes (entry.h: "one entry has
 * exactly one encoding"; its id and signature depend on it); every record
 * fm_view_apply writes decodes; merging the same entry twice changes
 * nothing (views are maxima, so a repeat is a no-op). */
#include <string.h>

#include "fieldmesh/error.h"
#include "fieldmesh/view.h"
#include "fuzz.h"

/* Copies one value from |c| to |w| through the writer.  The value was
 * accepted by fm_entry_decode, so every read succeeds. */
static void copy_value(fm_rd *c, fm_wr *w) {
  const char *str;
  const uint8_t *bin;
  size_t n;
  uint32_t items;
  uint64_t u;
  int64_t i;
  int b;
  switch (fm_rd_peek(c)) {
  case FM_MT_NIL: FZ_CHECK(fm_rd_nil(c) == 0, "nil"); fm_wr_nil(w); return;
  case FM_MT_BOOL: FZ_CHECK(fm_rd_bool(c, &b) == 0, "bool"); fm_wr_bool(w, b); return;
  case FM_MT_UINT: FZ_CHECK(fm_rd_uint(c, &u) == 0, "uint"); fm_wr_uint(w, u); return;
  case FM_MT_INT: FZ_CHECK(fm_rd_int(c, &i) == 0, "int"); fm_wr_int(w, i); return;
  case FM_MT_STR: FZ_CHECK(fm_rd_str(c, &str, &n) == 0, "str"); fm_wr_str(w, str, n); return;
  case FM_MT_BIN: FZ_CHECK(fm_rd_bin(c, &bin, &n) == 0, "bin"); fm_wr_bin(w, bin, n); return;
  case FM_MT_ARRAY:
    FZ_CHECK(fm_rd_array(c, &items) == 0, "array");
    fm_wr_array(w, items);
    for (uint32_t k = 0; k < items; k++) copy_value(c, w);
    return;
  case FM_MT_MAP:
    FZ_CHECK(fm_rd_map(c, &items) == 0, "map");
    fm_wr_map(w, items);
    for (uint32_t k = 0; k < 2 * items; k++) copy_value(c, w);
    return;
  default: fz_fail(__FILE__, __LINE__, "fm_entry_decode accepted a float, ext or reserved byte");
  }
}

static void check_canonical(const uint8_t *data, size_t size) {
  fm_buf out;
  fm_wr w;
  fm_rd c;
  fm_buf_init(&out, 2 * size + 64);
  fm_wr_init(&w, &out);
  fm_rd_init(&c, data, size, 1);
  copy_value(&c, &w); /* U */
  copy_value(&c, &w); /* sig */
  FZ_CHECK(fm_rd_done(&c), "a decoded entry is not two values");
  FZ_CHECK(fm_buf_error(&out) == 0 && out.len == size && memcmp(out.p, data, size) == 0,
           "an entry decodes but is not in canonical form");
  fm_buf_free(&out);
}

static void check_record(fm_view_kind k, const fm_buf *rec) {
  if (k == FM_VIEW_DOSSIER) {
    fm_dossier_view d;
    FZ_CHECK(fm_dossier_view_decode(rec->p, rec->len, &d) == 0,
             "a dossier record written by fm_view_apply does not decode");
  } else {
    fm_visit_view v;
    FZ_CHECK(fm_visit_view_decode(rec->p, rec->len, &v) == 0,
             "a visit record written by fm_view_apply does not decode");
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fm_entry e, t;
  fm_limits tight = {size < FM_ENTRY_MAX ? size : FM_ENTRY_MAX, 2, 4, 16};
  const char *id;
  size_t idn;
  uint8_t eid[FM_ID_LEN];
  int rv = fm_entry_decode(data, size, NULL, &e);
  int rt = fm_entry_decode(data, size, &tight, &t);
  FZ_CHECK(rv == 0 || rt < 0, "tight limits accept what the defaults refuse");
  if (rv < 0) return 0;
  FZ_CHECK(e.bytes == data && e.len == size && e.signed_len < size &&
               e.body >= data && e.body + e.body_len <= data + e.signed_len &&
               e.sig + FM_SIG_LEN == data + size,
           "a decoded entry points outside its bytes");
  check_canonical(data, size);
  (void)fm_entry_verify(&e);
  fm_entry_id(data, size, eid);

  fm_view_kind k = fm_view_target(&e, &id, &idn);
  if (k == FM_VIEW_NONE) return 0;
  FZ_CHECK(idn > 0 && idn <= FM_RECORD_ID_MAX && id >= (const char *)e.body &&
               id + idn <= (const char *)e.body + e.body_len,
           "a record id points outside the body");
  fm_buf once, twice;
  fm_buf_init(&once, 1 << 20);
  fm_buf_init(&twice, 1 << 20);
  rv = fm_view_apply(k, NULL, 0, &e, &once);
  FZ_CHECK(rv == 0, "fm_view_apply fails on a new record");
  check_record(k, &once);
  rv = fm_view_apply(k, once.p, once.len, &e, &twice);
  FZ_CHECK(rv == 0, "fm_view_apply refuses a record it wrote");
  check_record(k, &twice);
  FZ_CHECK(once.len == twice.len && memcmp(once.p, twice.p, once.len) == 0,
           "merging the same entry twice changes the record");
  fm_buf_free(&once);
  fm_buf_free(&twice);
  return 0;
}
