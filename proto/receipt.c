/* Receipt bodies.  See include/fieldmesh/receipt.h. */
#include "fieldmesh/receipt.h"

#include <string.h>

#include "fieldmesh/entry.h"
#include "fieldmesh/error.h"

/* ---- building ---------------------------------------------------------------- */

static size_t uint_size(uint64_t v) {
  return v < 128 ? 1 : v < 256 ? 2 : v < 65536 ? 3 : v <= 0xffffffffu ? 5 : 9;
}

static size_t str_hdr(size_t n) { return n < 32 ? 1 : n < 256 ? 2 : 3; }

/* Bytes of one [seq, id8, ref] item. */
static size_t item_size(const fm_receipt_item *it) {
  return 1 + uint_size(it->seq) + 2 + FM_RECEIPT_ID8_LEN + str_hdr(it->ref_len) + it->ref_len;
}

/* Array headers are counted at their largest (3 bytes) so the plan never
 * underestimates what is written. */
#define GROUP_HDR (1 + 2 + FM_KEY_LEN + 3)

static size_t head_size(size_t sink_len, size_t ref_len) {
  return 1 + 5 + str_hdr(sink_len) + sink_len + 6 + 2 + FM_RECEIPT_BATCH_LEN + 4 +
         str_hdr(ref_len) + ref_len + 6 + 3;
}

/* How many items (from the start) fit one body, and in how many groups. */
static size_t plan(const fm_receipt_item *items, size_t n, size_t head, uint32_t *ngroups) {
  size_t bytes = head, i = 0;
  uint32_t groups = 0, in_group = 0;
  for (; i < n; i++) {
    int new_group = i == 0 || memcmp(items[i].author, items[i - 1].author, FM_KEY_LEN) ||
                    in_group == FM_RECEIPT_GROUP_MAX;
    size_t add = item_size(&items[i]) + (new_group ? GROUP_HDR : 0);
    if (i > 0 && (bytes + add > FM_RECEIPT_BODY_MAX ||
                  (new_group && groups == FM_RECEIPT_GROUP_MAX)))
      break;
    bytes += add;
    if (new_group) {
      groups++;
      in_group = 0;
    }
    in_group++;
  }
  *ngroups = groups;
  return i;
}

static int check_items(const fm_receipt_item *items, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (items[i].seq == 0 || items[i].ref_len > FM_RECEIPT_REF_MAX ||
        (items[i].ref_len && !items[i].ref))
      return FM_ERR_INVAL;
  return 0;
}

int fm_receipt_body(fm_buf *out, const char *sink, const uint8_t batch[FM_RECEIPT_BATCH_LEN],
                    const char *ref, size_t ref_len, const fm_receipt_item *items,
                    size_t n, size_t *used) {
  size_t sink_len = sink ? strlen(sink) : 0;
  uint32_t ngroups;
  fm_wr w;
  if (n == 0 || sink_len == 0 || sink_len > FM_RECEIPT_SINK_MAX ||
      ref_len > FM_RECEIPT_REF_MAX || (ref_len && !ref) || check_items(items, n) < 0)
    return FM_ERR_INVAL;
  size_t take = plan(items, n, head_size(sink_len, ref_len), &ngroups);
  fm_wr_init(&w, out);
  fm_wr_map(&w, 4);
  fm_wr_cstr(&w, "sink");
  fm_wr_str(&w, sink, sink_len);
  fm_wr_cstr(&w, "batch");
  fm_wr_bin(&w, batch, FM_RECEIPT_BATCH_LEN);
  fm_wr_cstr(&w, "ref");
  fm_wr_str(&w, ref ? ref : "", ref_len);
  fm_wr_cstr(&w, "items");
  fm_wr_array(&w, ngroups);
  for (size_t i = 0; i < take;) {
    size_t j = i + 1;
    while (j < take && j - i < FM_RECEIPT_GROUP_MAX &&
           !memcmp(items[j].author, items[i].author, FM_KEY_LEN))
      j++;
    fm_wr_array(&w, 2);
    fm_wr_bin(&w, items[i].author, FM_KEY_LEN);
    fm_wr_array(&w, (uint32_t)(j - i));
    for (size_t k = i; k < j; k++) {
      fm_wr_array(&w, 3);
      fm_wr_uint(&w, items[k].seq);
      fm_wr_bin(&w, items[k].id8, FM_RECEIPT_ID8_LEN);
      fm_wr_str(&w, items[k].ref ? items[k].ref : "", items[k].ref_len);
    }
    i = j;
  }
  int rv = fm_buf_error(out);
  if (rv == 0) *used = take;
  return rv;
}

/* ---- parsing ------------------------------------------------------------------ */

static int rd_item(fm_rd *c, fm_receipt_item *it) {
  uint32_t n;
  const uint8_t *p;
  size_t len;
  if (fm_rd_array(c, &n) < 0 || n != 3 || fm_rd_uint(c, &it->seq) < 0 || it->seq == 0 ||
      fm_rd_bin(c, &p, &len) < 0 || len != FM_RECEIPT_ID8_LEN ||
      fm_rd_str(c, &it->ref, &it->ref_len) < 0 || it->ref_len > FM_RECEIPT_REF_MAX)
    return FM_ERR_MALFORMED;
  memcpy(it->id8, p, FM_RECEIPT_ID8_LEN);
  return 0;
}

/* Reads a group's header: [author, [ ... */
static int rd_group(fm_rd *c, uint8_t author[FM_KEY_LEN], uint32_t *items) {
  uint32_t n;
  if (fm_rd_array(c, &n) < 0 || n != 2 || fm_rd_bin_fixed(c, author, FM_KEY_LEN) < 0 ||
      fm_rd_array(c, items) < 0 || *items == 0 || *items > FM_RECEIPT_GROUP_MAX)
    return FM_ERR_MALFORMED;
  return 0;
}

/* Walks every item once, so that iteration afterwards cannot fail. */
static int check_all(fm_rd c, uint32_t groups, uint64_t *count) {
  uint8_t author[FM_KEY_LEN];
  fm_receipt_item it;
  uint32_t items;
  *count = 0;
  for (uint32_t g = 0; g < groups; g++) {
    if (rd_group(&c, author, &items) < 0) return FM_ERR_MALFORMED;
    for (uint32_t i = 0; i < items; i++)
      if (rd_item(&c, &it) < 0) return FM_ERR_MALFORMED;
    *count += items;
  }
  return fm_rd_done(&c) ? 0 : FM_ERR_MALFORMED;
}

int fm_receipt_parse(const uint8_t *body, size_t len, fm_receipt *out) {
  fm_receipt r;
  fm_rd v;
  uint32_t groups;
  memset(&r, 0, sizeof r);
  if (fm_body_str(body, len, "sink", &r.sink, &r.sink_len) < 0 || r.sink_len == 0 ||
      r.sink_len > FM_RECEIPT_SINK_MAX)
    return FM_ERR_MALFORMED;
  if (fm_body_find(body, len, "batch", &v) < 0 ||
      fm_rd_bin_fixed(&v, r.batch, FM_RECEIPT_BATCH_LEN) < 0)
    return FM_ERR_MALFORMED;
  if (fm_body_str(body, len, "ref", &r.ref, &r.ref_len) < 0 || r.ref_len > FM_RECEIPT_REF_MAX)
    return FM_ERR_MALFORMED;
  if (fm_body_find(body, len, "items", &v) < 0 || fm_rd_array(&v, &groups) < 0 ||
      groups == 0 || groups > FM_RECEIPT_GROUP_MAX)
    return FM_ERR_MALFORMED;
  /* |v| runs to the end of the body: bound a cursor to the items value
   * itself (skipped first, with the format's depth and count limits) so
   * check_all() can insist on consuming it exactly. */
  fm_rd whole = v, span = v;
  for (uint32_t g = 0; g < groups; g++)
    if (fm_rd_skip(&span, 4, FM_RECEIPT_GROUP_MAX) < 0) return FM_ERR_MALFORMED;
  whole.end = span.p;
  if (check_all(whole, groups, &r.count) < 0) return FM_ERR_MALFORMED;
  r.cur = whole;
  r.groups_left = groups;
  *out = r;
  return 0;
}

int fm_receipt_next(fm_receipt *r, fm_receipt_item *it) {
  if (r->items_left == 0) {
    if (r->groups_left == 0) return 0;
    /* Checked by fm_receipt_parse(): cannot fail. */
    if (rd_group(&r->cur, r->author, &r->items_left) < 0) return 0;
    r->groups_left--;
  }
  if (rd_item(&r->cur, it) < 0) return 0;
  memcpy(it->author, r->author, FM_KEY_LEN);
  r->items_left--;
  return 1;
}
