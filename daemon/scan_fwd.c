/* The scans of a batch, loaded on the loop thread and opened on the
 * sink's worker (scan_fwd.h). */
#include "scan_fwd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fieldmesh/blob_store.h"
#include "fieldmesh/error.h"
#include "fieldmesh/json.h"

#define CT_MAX (FM_ATTACH_CHUNK + FM_ATTACH_TAG)
/* Sealed or opened bytes of one batch's scans: the planner's cap, or one
 * scan larger than it, with room for the tags. */
#define SCANS_MAX ((size_t)FM_FWD_SCAN_BYTES + FM_ATTACH_FILE_MAX + \
                   2 * FM_ATTACH_CHUNKS_MAX * FM_ATTACH_TAG)

void fmd_scans_init(fmd_scans *sc) {
  memset(sc, 0, sizeof *sc);
  fm_buf_init(&sc->ct, SCANS_MAX);
}

void fmd_scans_reset(fmd_scans *sc) {
  if (sc->v) sodium_memzero(sc->v, sc->cap * sizeof *sc->v);
  if (sc->plain) sodium_memzero(sc->plain, sc->plain_len);
  sc->n = 0;
  sc->plain_len = 0;
  fm_buf_reset(&sc->ct);
}

void fmd_scans_free(fmd_scans *sc) {
  fmd_scans_reset(sc);
  free(sc->v);
  free(sc->plain);
  fm_buf_free(&sc->ct);
  memset(sc, 0, sizeof *sc);
}

const char *fmd_scan_state_text(fmd_scan_state st) {
  switch (st) {
  case FMD_SCAN_OK: return "";
  case FMD_SCAN_LOCKED: return "sealed for readers whose key this gateway does not hold";
  case FMD_SCAN_DAMAGED: return "its key or a chunk does not open";
  case FMD_SCAN_MISSING: return "a chunk is missing from the gateway's store";
  }
  return "?";
}

/* The name and key of |a| (|author|'s, for dossier |d|), opened when
 * sealed; the state says whether the file can be opened. */
static void open_fields(fm_keyring *k, const uint8_t author[FM_KEY_LEN], const fm_attach *a,
                        fmd_scan *out, uint64_t *locked) {
  fm_str d = {a->dossier, a->dossier_len};
  char hex[FM_SEAL_TEXT_MAX];
  size_t n;
  int rv;
  if (a->name) {
    snprintf(out->name, sizeof out->name, "%.*s", (int)a->name_len, a->name);
  } else if (!k || (rv = fm_keyring_open_value(k, author, d, FM_ATTACH_FIELD_NAME,
                                                a->name_sealed, a->name_sealed_len, out->name,
                                                sizeof out->name, &n)) == FM_ERR_NOTFOUND) {
    snprintf(out->name, sizeof out->name, "(sealed)");
  } else if (rv < 0) {
    snprintf(out->name, sizeof out->name, "(unreadable)");
  }
  if (a->key) {
    memcpy(out->key, a->key, FM_ATTACH_KEY);
    return;
  }
  rv = k ? fm_keyring_open_value(k, author, d, FM_ATTACH_FIELD_KEY, a->key_sealed,
                                 a->key_sealed_len, hex, sizeof hex, &n)
         : FM_ERR_NOTFOUND;
  if (rv == 0 && (n != 2 * FM_ATTACH_KEY ||
                  sodium_hex2bin(out->key, sizeof out->key, hex, n, NULL, NULL, NULL) != 0))
    rv = FM_ERR_DECRYPT;
  sodium_memzero(hex, sizeof hex);
  if (rv == FM_ERR_NOTFOUND) {
    out->state = FMD_SCAN_LOCKED;
    if (locked) (*locked)++;
  } else if (rv < 0) {
    out->state = FMD_SCAN_DAMAGED;
  }
}

/* Copies the sealed chunks of |a| to the end of |sc->ct|. */
static int copy_chunks(fmd_scans *sc, fm_store *s, const fm_attach *a, fmd_scan *out) {
  uint8_t *ct = malloc(CT_MAX);
  int rv = ct ? 0 : -ENOMEM;
  out->ct_off = sc->ct.len;
  for (size_t i = 0; rv == 0 && i < a->nchunks; i++) {
    size_t n;
    rv = fm_store_blob_get(s, a->chunks + i * FM_BLOB_ID, ct, CT_MAX, &n);
    if (rv == FM_ERR_NOTFOUND) {
      out->state = FMD_SCAN_MISSING;
      rv = 0;
      break;
    }
    /* Chunk i's size is fixed by the file's: another is not this file's. */
    if (rv == 0 && n != fm_attach_chunk_len(a->size, i) + FM_ATTACH_TAG) {
      out->state = FMD_SCAN_DAMAGED;
      break;
    }
    if (rv == 0) rv = fm_buf_put(&sc->ct, ct, n);
  }
  free(ct);
  return rv;
}

static int load_one(fmd_scans *sc, fm_store *s, fm_keyring *k, const fm_fwd_item *it,
                    size_t item, uint64_t *locked) {
  fm_entry e;
  fm_attach a;
  if (fm_entry_decode(it->bytes, it->len, NULL, &e) < 0 ||
      !fm_entry_is(&e, FM_KIND_DOSSIER_ATTACH) || fm_attach_parse(e.body, e.body_len, &a) < 0)
    return 0;
  if (sc->n == sc->cap) {
    size_t nc = sc->cap ? sc->cap * 2 : 8;
    fmd_scan *v = realloc(sc->v, nc * sizeof *v);
    if (!v) return -ENOMEM;
    sc->v = v;
    sc->cap = nc;
  }
  fmd_scan *out = &sc->v[sc->n++];
  memset(out, 0, sizeof *out);
  out->item = item;
  out->kind = a.kind;
  out->size = a.size;
  out->nchunks = a.nchunks;
  snprintf(out->dossier, sizeof out->dossier, "%.*s", (int)a.dossier_len, a.dossier);
  open_fields(k, e.author, &a, out, locked);
  /* Signed bytes, not typed text: a database column would refuse them. */
  if (!fm_utf8_valid(out->name, strlen(out->name)))
    snprintf(out->name, sizeof out->name, "(not UTF-8)");
  if (!fm_utf8_valid(out->dossier, strlen(out->dossier)))
    snprintf(out->dossier, sizeof out->dossier, "(not UTF-8)");
  return out->state == FMD_SCAN_OK ? copy_chunks(sc, s, &a, out) : 0;
}

int fmd_scans_load(fmd_scans *sc, fm_store *s, fm_keyring *k, const fm_fwd_batch *b,
                   uint64_t *locked) {
  int rv = 0;
  fmd_scans_reset(sc);
  if (locked) *locked = 0;
  for (size_t i = 0; rv == 0 && i < b->n; i++)
    if (!b->items[i].is_receipt) rv = load_one(sc, s, k, &b->items[i], i, locked);
  if (rv == 0) rv = fm_buf_error(&sc->ct);
  if (rv < 0) fmd_scans_reset(sc);
  return rv;
}

/* Opens scan |x|'s chunks, in order, onto the end of |sc->plain| (room
 * for it is there). */
static int open_one(fmd_scans *sc, fmd_scan *x) {
  size_t at = x->ct_off;
  x->file_off = sc->plain_len;
  for (size_t i = 0; i < x->nchunks; i++) {
    size_t pn = fm_attach_chunk_len(x->size, i), n = pn + FM_ATTACH_TAG;
    if (at + n > sc->ct.len ||
        fm_attach_chunk_open(x->key, i, sc->ct.p + at, n, sc->plain + sc->plain_len) < 0)
      return FM_ERR_DECRYPT;
    sc->plain_len += pn;
    at += n;
  }
  uint8_t h[FM_BLOB_ID];
  fm_blob_id(sc->plain + x->file_off, (size_t)x->size, h);
  fm_hex(h, FM_BLOB_ID, x->hash);
  return 0;
}

/* Room for every file that may open. */
static int make_room(fmd_scans *sc) {
  size_t need = 0;
  for (size_t i = 0; i < sc->n; i++)
    if (sc->v[i].state == FMD_SCAN_OK) need += (size_t)sc->v[i].size;
  if (need <= sc->plain_cap) return 0;
  free(sc->plain);
  sc->plain_cap = 0;
  if (!(sc->plain = malloc(need))) return -ENOMEM;
  sc->plain_cap = need;
  return 0;
}

void fmd_scans_open(fmd_scans *sc) {
  int room = make_room(sc);
  for (size_t i = 0; i < sc->n; i++) {
    fmd_scan *x = &sc->v[i];
    if (x->state != FMD_SCAN_OK) continue;
    int rv = room < 0 ? room : open_one(sc, x);
    sodium_memzero(x->key, sizeof x->key);
    if (rv == 0) continue;
    /* Nothing of it stays: the next scan starts where it started. */
    sodium_memzero(sc->plain + x->file_off, sc->plain_len - x->file_off);
    sc->plain_len = x->file_off;
    x->state = rv == FM_ERR_DECRYPT ? FMD_SCAN_DAMAGED : FMD_SCAN_MISSING;
  }
}

const fmd_scan *fmd_scans_of_item(const fmd_scans *sc, size_t item) {
  size_t lo = 0, hi = sc ? sc->n : 0;
  /* In item order: a binary search. */
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (sc->v[mid].item == item) return &sc->v[mid];
    if (sc->v[mid].item < item) lo = mid + 1;
    else hi = mid;
  }
  return NULL;
}

const uint8_t *fmd_scan_file(const fmd_scans *sc, const fmd_scan *s) {
  FM_ASSERT(s->state == FMD_SCAN_OK);
  return sc->plain + s->file_off;
}

static void put(fm_buf *out, const char *s) { fm_buf_put(out, s, strlen(s)); }

int fmd_scan_json(fm_buf *out, const fmd_scan *s, const char *file_suffix) {
  char num[32];
  put(out, ",\"scan\":{\"hash\":");
  if (s->state == FMD_SCAN_OK) {
    put(out, "\"");
    put(out, s->hash);
    put(out, "\"");
  } else {
    put(out, "null");
  }
  snprintf(num, sizeof num, ",\"size\":%llu", (unsigned long long)s->size);
  put(out, num);
  put(out, ",\"kind\":\"");
  put(out, fm_attach_kind_name(s->kind));
  put(out, "\",\"name\":");
  fm_json_text(out, s->name, strlen(s->name), 0);
  put(out, ",\"dossier\":");
  fm_json_text(out, s->dossier, strlen(s->dossier), 0);
  if (s->state == FMD_SCAN_OK && file_suffix) {
    put(out, ",\"file\":\"");
    put(out, s->hash);
    put(out, file_suffix);
    put(out, "\"");
  } else if (s->state != FMD_SCAN_OK) {
    put(out, ",\"error\":");
    const char *why = fmd_scan_state_text(s->state);
    fm_json_string(out, why, strlen(why), 0);
  }
  put(out, "}");
  return fm_buf_error(out);
}
