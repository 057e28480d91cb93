/* fuzz_msg: the input is the plaintext of one transport frame.
 *
 * Decodes it with fm_msg_decode and, when it decodes, encodes the decoded
 * message again with the fm_msg_* writers.  Property: the bytes come back
 * unchanged.  The decoder's cursor is strict (shortest forms, UTF-8), so a
 * message has exactly one encoding; two different byte strings that
 * decode to the same message would let a peer vary what it signs or
 * hashes. */
#include <string.h>

#include "fieldmesh/error.h"
#include "fieldmesh/msg.h"
#include "fieldmesh/presence.h"
#include "fieldmesh/zpack.h"
#include "fuzz.h"

static fm_msg_vitem items[FM_VECTOR_PAGE];
static fm_slice entries[FM_BATCH_MAX];
static fm_vec_item vitems[FM_VECTOR_PAGE];
static fm_msg_refusal refused[FM_ACK_REFUSED_MAX];

/* Writes |m| back; 0 when the writers cannot express it (a version other
 * than ours, a text with a NUL, an ERROR code outside int). */
static int encode(const fm_msg *m, fm_wr *w) {
  switch (m->type) {
  case FM_MSG_HELLO:
    if (m->version != FM_PROTO_VERSION) return 0;
    fm_msg_hello(w, m->node_id, m->cert, m->cert_len, m->features, m->vdigest);
    return 1;
  case FM_MSG_VECTOR:
    for (size_t i = 0; i < m->nitems; i++) {
      memset(&vitems[i], 0, sizeof vitems[i]);
      memcpy(vitems[i].author, m->items[i].author, FM_KEY_LEN);
      vitems[i].seq = m->items[i].seq;
      memcpy(vitems[i].head, m->items[i].head8, 8);
    }
    fm_msg_vector(w, vitems, m->nitems, m->more);
    return 1;
  case FM_MSG_ENTRIES:
    fm_msg_entries_begin(w, (uint32_t)m->nentries);
    for (size_t i = 0; i < m->nentries; i++) fm_wr_bin(w, m->entries[i].p, m->entries[i].len);
    return 1;
  case FM_MSG_ACK:
    for (size_t i = 0; i < m->nrefused; i++)
      if (m->refused[i].code < -2147483647 - 1) return 0;
    fm_msg_ack(w, m->u1, m->u2, m->items, m->nitems, m->refused, m->nrefused);
    return 1;
  case FM_MSG_PING: case FM_MSG_PONG: fm_msg_ping(w, m->type, m->u1); return 1;
  case FM_MSG_CAUGHTUP: fm_msg_caughtup(w, m->u1); return 1;
  case FM_MSG_CERT: fm_msg_cert(w, m->cert, m->cert_len); return 1;
  case FM_MSG_WANT: case FM_MSG_NOCHUNK: case FM_MSG_HELD:
    FZ_CHECK(m->nids >= 1 && m->nids <= FM_WANT_MAX, "a WANT of an id count out of range decodes");
    fm_msg_ids(w, m->type, m->ids, m->nids);
    return 1;
  case FM_MSG_CHUNK: fm_msg_chunk(w, m->ids, m->chunk, m->chunk_len); return 1;
  case FM_MSG_PACKED: {
    /* The frame is hostile too: it unpacks within the message limit or
     * not at all. */
    static uint8_t out[FM_MSG_MAX];
    static fm_zpack *z;
    size_t n = 0;
    if (!z) FZ_CHECK(fm_zpack_new(&z) == 0, "no memory for the unpacker");
    if (fm_zpack_unpack(z, m->packed, m->packed_len, out, sizeof out, &n) == 0)
      FZ_CHECK(n <= FM_MSG_MAX, "a packed frame unpacks past the message limit");
    fm_wr_array(w, 2);
    fm_wr_uint(w, FM_MSG_PACKED);
    fm_wr_bin(w, m->packed, m->packed_len);
    return 1;
  }
  case FM_MSG_PRESENCE: {
    /* The notes are hostile too: each goes through the note decoder. */
    fm_buf bins;
    fm_wr bw;
    fm_presence p;
    fm_buf_init(&bins, FM_MSG_MAX);
    fm_wr_init(&bw, &bins);
    for (size_t i = 0; i < m->nentries; i++) {
      fm_wr_bin(&bw, m->entries[i].p, m->entries[i].len);
      (void)fm_presence_parse(m->entries[i].p, m->entries[i].len, &p);
    }
    FZ_CHECK(fm_buf_error(&bins) == 0, "decoded presence notes do not fit a message");
    fm_msg_presence(w, (uint32_t)m->nentries, bins.p, bins.len);
    fm_buf_free(&bins);
    return 1;
  }
  case FM_MSG_PRESENCE_SUM: fm_msg_presence_sum(w, m->vdigest, m->u1); return 1;
  case FM_MSG_PRESENCE_OFFER: {
    static fm_pset_item pairs[FM_VECTOR_PAGE];
    for (size_t i = 0; i < m->nitems; i++) {
      memcpy(pairs[i].device, m->items[i].author, FM_KEY_LEN);
      pairs[i].wall = m->items[i].seq;
    }
    fm_msg_presence_offer(w, pairs, m->nitems, m->more);
    return 1;
  }
  case FM_MSG_BYE:
  case FM_MSG_ERROR: {
    char text[FM_TEXT_MSG_MAX + 1];
    FZ_CHECK(m->text_len <= FM_TEXT_MSG_MAX, "a text over FM_TEXT_MSG_MAX decodes");
    if (memchr(m->text, 0, m->text_len)) return 0;
    memcpy(text, m->text, m->text_len);
    text[m->text_len] = 0;
    if (m->type == FM_MSG_BYE) {
      fm_msg_bye(w, text);
      return 1;
    }
    if (m->code < -2147483647 - 1 || m->code > 2147483647) return 0;
    fm_msg_error(w, (int)m->code, text);
    return 1;
  }
  }
  fz_fail(__FILE__, __LINE__, "fm_msg_decode returned an unknown type");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fm_msg m;
  fm_buf out;
  fm_wr w;
  m.items = items;
  m.entries = entries;
  m.refused = refused;
  int rv = fm_msg_decode(data, size, &m);
  FZ_CHECK(rv == 0 || rv == FM_ERR_MALFORMED || rv == FM_ERR_PROTO,
           "fm_msg_decode returns a code its contract does not name");
  if (rv < 0) return 0;
  FZ_CHECK(m.nitems <= FM_VECTOR_PAGE && m.nentries <= FM_BATCH_MAX &&
               m.nrefused <= FM_ACK_REFUSED_MAX,
           "a message overflows its scratch");
  for (size_t i = 0; i < m.nentries; i++)
    FZ_CHECK(m.entries[i].p >= data && m.entries[i].p + m.entries[i].len <= data + size,
             "an entry slice points outside the message");
  fm_buf_init(&out, size + 64);
  fm_wr_init(&w, &out);
  if (encode(&m, &w)) {
    FZ_CHECK(fm_buf_error(&out) == 0, "a decoded message does not encode");
    FZ_CHECK(out.len == size && memcmp(out.p, data, size) == 0,
             "a message decodes and encodes to other bytes");
  }
  fm_buf_free(&out);
  return 0;
}
