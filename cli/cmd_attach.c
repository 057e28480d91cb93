/* dossier attach, dossier attachments, dossier attachment get: scans of a
 * citizen's papers, sealed in chunks (include/fieldmesh/attach.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "args.h"
#include "cli.h"
#include "cmd.h"
#include "fieldmesh/attach.h"
#include "fieldmesh/blob_store.h"
#include "fieldmesh/error.h"
#include "fieldmesh/fsfile.h"
#include "fieldmesh/report.h"
#include "out.h"
#include "records.h"
#include "seal.h"

#define CT_MAX (FM_ATTACH_CHUNK + FM_ATTACH_TAG)

/* ---- reading the scan ---------------------------------------------------------- */

static int read_scan(fmc_ctx *c, const char *path, uint8_t **buf, size_t *len) {
  int rv = fm_fsfile_read(path, FM_ATTACH_FILE_MAX, buf, len);
  switch (rv) {
  case 0:
    if (*len > 0) return 0;
    free(*buf);
    return fmc_fail(c, "%s is empty: give the scanned file itself (nothing written)", path);
  case FM_ERR_NOTFOUND:
    return fmc_fail(c, "%s: no such file: check the path (nothing written)", path);
  case FM_ERR_NOTREG:
    return fmc_not_regular(c, path, "scanned file");
  case FM_ERR_TOOBIG:
    return fmc_fail(c, "%s is over the 7.5 MiB limit for one scan: scan at a lower "
                       "resolution or in several files (nothing written)", path);
  default:
    return fmc_fail(c, "cannot read %s: %s (nothing written)", path, fm_strerror(rv));
  }
}

/* The file's name without its folders. */
static const char *base_name(const char *path) {
  const char *s = strrchr(path, '/');
  return s ? s + 1 : path;
}

/* ---- dossier attach ------------------------------------------------------------ */

/* Seals |len| bytes of |plain| chunk by chunk under |key| into the store's
 * blobs; the ids into |a->chunks| (the caller's, nchunks * 32 bytes). */
static int store_chunks(fmc_ctx *c, const uint8_t *plain, size_t len,
                        const uint8_t key[FM_ATTACH_KEY], fm_attach *a, uint8_t *ids) {
  int rv = fm_store_blob_seal_file(c->store, plain, len, key, ids);
  if (rv == -ENOMEM) return fmc_fail(c, "out of memory");
  if (rv < 0) return fmc_store_fail(c, rv, "cannot keep the scan");
  a->chunks = ids;
  a->nchunks = fm_attach_nchunks(len);
  return 0;
}

/* The per-dossier limits (attach.h): 0, or the one line that says which
 * one adding |len| bytes would pass. */
static int dossier_room(fmc_ctx *c, const fm_dossier_view *d, const char *id, size_t len) {
  fm_stamp list[FM_VIEW_ATTACH_MAX];
  size_t n = fm_dossier_view_attachments(d, list);
  uint64_t total = len;
  if (n >= FM_ATTACH_PER_DOSSIER)
    return fmc_fail(c, "dossier %s already has %zu scans, the most one dossier takes: "
                       "put several pages in one file (nothing written)", id, n);
  for (size_t i = 0; i < n; i++) {
    uint8_t *bytes;
    size_t blen;
    fm_entry e;
    fm_attach a;
    int rv = fm_store_entry_copy(c->store, list[i].author, list[i].seq, &bytes, &blen);
    if (rv < 0) return fmc_store_fail(c, rv, "cannot read the dossier's scans");
    if (fm_attach_of_entry(bytes, blen, &e, &a) == 0) total += a.size;
    free(bytes);
  }
  if (total > FM_ATTACH_DOSSIER_BYTES)
    return fmc_fail(c, "dossier %s would hold %llu MiB of scans, over the %llu MiB one "
                       "dossier takes: scan at a lower resolution (nothing written)", id,
                    (unsigned long long)((total + (1 << 20) - 1) >> 20),
                    (unsigned long long)(FM_ATTACH_DOSSIER_BYTES >> 20));
  return 0;
}

static int attach_append(fmc_ctx *c, const char *which, const char *path, int kind,
                         const uint8_t *plain, size_t len) {
  fm_enrollment en;
  fm_dossier_view d;
  fmc_found f;
  fm_attach a;
  fm_buf body;
  uint8_t key[FM_ATTACH_KEY], *ids;
  uint64_t seq;
  const fm_sealer *seal = NULL;
  int rv;
  if ((rv = fmc_open(c, 0)) || (rv = fmc_load_device(c)) ||
      (rv = fmc_self_enrollment(c, &en, NULL)))
    return rv;
  if ((rv = fmc_record_find(c, FM_VIEW_DOSSIER, which, &f)) != 0) return rv;
  if (fm_dossier_view_decode(f.rec, f.len, &d) < 0) memset(&d, 0, sizeof d);
  rv = fmc_may_change(c, &en, d.team, "dossier", f.id);
  if (rv == 0) rv = dossier_room(c, &d, f.id, len);
  if (rv == 0) rv = fmc_sealer(c, &seal);
  if (rv == 0 && !(ids = malloc(fm_attach_nchunks(len) * FM_BLOB_ID))) rv = fmc_fail(c, "out of memory");
  if (rv) {
    fmc_found_free(&f);
    return rv;
  }
  memset(&a, 0, sizeof a);
  a.dossier = f.id;
  a.dossier_len = strlen(f.id);
  a.kind = kind;
  a.name = base_name(path);
  a.name_len = strlen(a.name);
  a.size = len;
  a.key = key;
  fmc_random(key, sizeof key);
  /* Chunks first: a crash between leaves chunks nothing names, never an
   * entry whose chunks this laptop lacks. */
  if ((rv = store_chunks(c, plain, len, key, &a, ids)) == 0) {
    fm_buf_init(&body, FM_ENTRY_MAX);
    if (fm_attach_body_sealed(&body, &a, seal) < 0)
      rv = fmc_fail(c, "%s: the name is too long or holds '/': rename the file "
                       "(nothing written)", path);
    else
      rv = fmc_append(c, &c->device, FM_KIND_DOSSIER_ATTACH, &body, &seq);
    fm_buf_free(&body);
  }
  sodium_memzero(key, sizeof key);
  if (rv == 0)
    printf("attached %s (%s, %zu bytes in %zu chunk%s) to dossier %s\n", a.name,
           fm_attach_kind_name(kind), len, a.nchunks, a.nchunks == 1 ? "" : "s", f.id);
  free(ids);
  fmc_found_free(&f);
  return rv;
}

static void kinds_list(char *out, size_t cap) {
  size_t n = 0;
  out[0] = 0;
  for (int i = 0; i < FM_ATT_KIND_COUNT && n < cap; i++)
    n += (size_t)snprintf(out + n, cap - n, "%s%s", i ? ", " : "", fm_attach_kind_name(i));
}

int fmc_cmd_dossier_attach(fmc_ctx *c, int argc, char **argv) {
  fmc_opt o[] = {{"--kind", NULL, 0, NULL}, {NULL, NULL, 0, NULL}};
  fmc_spec spec = {"usage: fieldmesh dossier attach ID FILE [--kind KIND]\n"
                   "Attaches a scan of the citizen's papers to a dossier. KIND is id_card,\n"
                   "household_book, application_form, photo or other (default). The scan\n"
                   "is sealed and travels with the records in 60 KiB chunks; at most\n"
                   "7.5 MiB per file.\n",
                   o, 2, 2, {0}, 0};
  char kinds[128];
  uint8_t *plain;
  size_t len;
  int rv, kind = FM_ATT_OTHER;
  if ((rv = fmc_args_parse(c, &spec, argc, argv)) != 0) return rv;
  kinds_list(kinds, sizeof kinds);
  if (o[0].value && (kind = fm_attach_kind_parse(o[0].value, strlen(o[0].value))) < 0)
    return fmc_usage(c, "--kind must be one of: %s; got \"%.40s\"", kinds, o[0].value);
  if ((rv = read_scan(c, spec.pos[1], &plain, &len)) != 0) return rv;
  rv = attach_append(c, spec.pos[0], spec.pos[1], kind, plain, len);
  sodium_memzero(plain, len);
  free(plain);
  return rv;
}

/* ---- the attachments of a dossier ------------------------------------------------- */

/* One attachment: its entry's bytes (owned) and what they say, its name
 * and key opened where this laptop is a reader of a sealed one. */
typedef struct found_att {
  fm_stamp at;
  uint8_t *bytes;
  size_t len;
  fm_entry e;
  fm_attach a;
  size_t held;   /* chunks on this laptop */
  char name[FM_SEAL_TEXT_MAX];
  uint8_t key[FM_ATTACH_KEY];
  int key_state;  /* 1 readable, 0 sealed for other readers, -1 damaged */
} found_att;

/* The attachment's name and key, opened when sealed (|team|: whose). */
static void open_att(fmc_ctx *c, found_att *x, fm_str dossier, fm_str team) {
  char hex[FM_SEAL_TEXT_MAX];
  size_t n;
  int rv;
  x->key_state = 1;
  if (x->a.name) snprintf(x->name, sizeof x->name, "%.*s", (int)x->a.name_len, x->a.name);
  else if ((rv = fmc_open_value(c, x->e.author, dossier, FM_ATTACH_FIELD_NAME, x->a.name_sealed,
                                x->a.name_sealed_len, x->name, sizeof x->name, &n)) < 0) {
    if (rv == FM_ERR_NOTFOUND) fm_keyring_locked_text(team, x->name);
    else snprintf(x->name, sizeof x->name, "(unreadable)");
  }
  if (x->a.key) {
    memcpy(x->key, x->a.key, FM_ATTACH_KEY);
    return;
  }
  rv = fmc_open_value(c, x->e.author, dossier, FM_ATTACH_FIELD_KEY, x->a.key_sealed,
                      x->a.key_sealed_len, hex, sizeof hex, &n);
  if (rv == 0 && (n != 2 * FM_ATTACH_KEY ||
                  sodium_hex2bin(x->key, sizeof x->key, hex, n, NULL, NULL, NULL) != 0))
    rv = FM_ERR_DECRYPT;
  x->key_state = rv == 0 ? 1 : rv == FM_ERR_NOTFOUND ? 0 : -1;
  sodium_memzero(hex, sizeof hex);
}

static int load_att(fmc_ctx *c, const fm_stamp *s, fm_str dossier, fm_str team,
                    found_att *out) {
  memset(out, 0, sizeof *out);
  out->at = *s;
  int rv = fm_store_entry_copy(c->store, s->author, s->seq, &out->bytes, &out->len);
  if (rv < 0) return rv;
  if (fm_attach_of_entry(out->bytes, out->len, &out->e, &out->a) < 0) return FM_ERR_CORRUPT;
  open_att(c, out, dossier, team);
  return fm_store_blob_count(c->store, out->a.chunks, out->a.nchunks, &out->held);
}

/* The dossier |which|, its team (pointing into |f|) and its attachments'
 * stamps; |*n| of them. */
static int find_atts(fmc_ctx *c, const char *which, fmc_found *f, fm_str *team,
                     fm_stamp list[FM_VIEW_ATTACH_MAX], size_t *n) {
  fm_dossier_view d;
  int rv;
  if ((rv = fmc_open(c, 0)) || (rv = fmc_record_find(c, FM_VIEW_DOSSIER, which, f))) return rv;
  *n = 0;
  *team = (fm_str){"", 0};
  if (fm_dossier_view_decode(f->rec, f->len, &d) == 0) {
    *n = fm_dossier_view_attachments(&d, list);
    *team = d.team;
  }
  return 0;
}

static void att_row(fmc_ctx *c, fmc_table *t, fmc_json *j, size_t i, const found_att *x) {
  char who[160], day[16];
  const char *name = x->name;
  fmc_device_label(c, x->e.author, who, sizeof who);
  fm_report_day((fm_time)fm_hlc_ms(x->e.hlc), day);
  if (!c->json) {
    fmc_table_rowf(t, "%zu\x1f%s\x1f%s\x1f%llu\x1f%zu/%zu\x1f%s\x1f%s", i + 1,
                   fm_attach_kind_name(x->a.kind), name, (unsigned long long)x->a.size,
                   x->held, x->a.nchunks, day, who);
    return;
  }
  fmc_json_obj(j);
  fmc_json_key(j, "n");
  fmc_json_uint(j, i + 1);
  fmc_json_key(j, "kind");
  fmc_json_str(j, fm_attach_kind_name(x->a.kind));
  fmc_json_key(j, "name");
  fmc_json_str(j, name);
  fmc_json_key(j, "size");
  fmc_json_uint(j, x->a.size);
  fmc_json_key(j, "chunks");
  fmc_json_uint(j, x->a.nchunks);
  fmc_json_key(j, "chunks_here");
  fmc_json_uint(j, x->held);
  fmc_json_key(j, "date");
  fmc_json_str(j, day);
  fmc_json_key(j, "by");
  fmc_json_str(j, who);
  fmc_json_obj_end(j);
}

int fmc_cmd_dossier_attachments(fmc_ctx *c, int argc, char **argv) {
  fmc_spec spec = {"usage: fieldmesh dossier attachments ID [--json]\n"
                   "Lists the scans attached to a dossier, oldest first, and how many of\n"
                   "their chunks have reached this laptop.\n",
                   NULL, 1, 1, {0}, 0};
  fm_stamp list[FM_VIEW_ATTACH_MAX];
  fmc_found f;
  fmc_table t;
  fmc_json j;
  size_t n;
  int rv;
  if ((rv = fmc_args_parse(c, &spec, argc, argv)) != 0) return rv;
  fm_str team;
  if ((rv = find_atts(c, spec.pos[0], &f, &team, list, &n)) != 0) return rv;
  fmc_table_init(&t, "#N|KIND|NAME|#BYTES|#CHUNKS HERE|DATE|BY");
  fmc_json_init(&j, stdout);
  if (c->json) fmc_json_arr(&j);
  for (size_t i = 0; i < n && rv == 0; i++) {
    found_att x;
    int lr = load_att(c, &list[i], (fm_str){f.id, strlen(f.id)}, team, &x);
    if (lr < 0) rv = fmc_fail(c, "cannot read attachment %zu of %s: %s", i + 1, f.id,
                             fm_strerror(lr));
    else att_row(c, &t, &j, i, &x);
    free(x.bytes);
  }
  if (rv == 0 && c->json) {
    fmc_json_arr_end(&j);
    fmc_json_end(&j);
  } else if (rv == 0 && n == 0) {
    printf("no scans attached to %s (attach one with `fieldmesh dossier attach %s FILE`)\n",
           f.id, f.id);
  } else if (rv == 0) {
    fmc_table_print(&t, stdout);
  }
  fmc_table_free(&t);
  fmc_found_free(&f);
  return rv;
}

/* ---- dossier attachment get -------------------------------------------------------- */

/* Opens every chunk of |x| into |out|. */
static int write_chunks(fmc_ctx *c, const found_att *x, fm_fsfile *out) {
  uint8_t *ct = malloc(CT_MAX), *plain = malloc(FM_ATTACH_CHUNK);
  int rv = ct && plain ? 0 : -ENOMEM;
  for (size_t i = 0; rv == 0 && i < x->a.nchunks; i++) {
    size_t n;
    if ((rv = fm_store_blob_get(c->store, x->a.chunks + i * FM_BLOB_ID, ct, CT_MAX, &n)) < 0)
      break;
    if (n != fm_attach_chunk_len(x->a.size, i) + FM_ATTACH_TAG ||
        fm_attach_chunk_open(x->key, i, ct, n, plain) < 0) {
      rv = FM_ERR_DECRYPT;
      break;
    }
    rv = fm_fsfile_write(out, plain, n - FM_ATTACH_TAG);
  }
  if (plain) sodium_memzero(plain, FM_ATTACH_CHUNK);
  free(ct);
  free(plain);
  return rv;
}

static int get_one(fmc_ctx *c, const char *id, size_t which, const found_att *x,
                   const char *path, int force) {
  fm_fsfile out;
  int rv;
  if (x->key_state == 0)
    return fmc_fail(c, "attachment %zu of %s is sealed: only its team's laptops and the "
                       "commune hall can open it (nothing written)", which, id);
  if (x->key_state < 0)
    return fmc_fail(c, "attachment %zu of %s does not open (its key is damaged): nothing "
                       "written; ask its author to attach it again", which, id);
  if (x->held < x->a.nchunks)
    return fmc_fail(c, "%zu of the %zu chunks of attachment %zu of %s have not reached "
                       "this laptop yet: sync with a laptop that has them, then retry",
                    x->a.nchunks - x->held, x->a.nchunks, which, id);
  if ((rv = fm_fsfile_begin(&out, path, 0600)) < 0)
    return fmc_fail(c, "cannot write %s: %s", path, fm_strerror(rv));
  if ((rv = write_chunks(c, x, &out)) < 0) {
    fm_fsfile_abort(&out);
    if (rv == FM_ERR_DECRYPT)
      return fmc_fail(c, "attachment %zu of %s does not open (its chunks do not match "
                         "its key): nothing written; ask its author to attach it again",
                      which, id);
    return fmc_store_fail(c, rv, "cannot read the scan");
  }
  rv = fm_fsfile_commit(&out, force ? FM_FSFILE_REPLACE : FM_FSFILE_NOREPLACE);
  if (rv == FM_ERR_EXISTS)
    return fmc_fail(c, "%s already exists: give another name, or --force to replace it",
                    path);
  if (rv < 0) return fmc_fail(c, "cannot write %s: %s", path, fm_strerror(rv));
  printf("wrote %s (%llu bytes)\n", path, (unsigned long long)x->a.size);
  return 0;
}

int fmc_cmd_dossier_attachment(fmc_ctx *c, int argc, char **argv) {
  fmc_opt o[] = {{"--output", "-o", 0, NULL}, {"--force", NULL, 1, NULL},
                 {NULL, NULL, 0, NULL}};
  fmc_spec spec = {"usage: fieldmesh dossier attachment get ID N -o FILE [--force]\n"
                   "Writes scan N of a dossier (see `fieldmesh dossier attachments ID`)\n"
                   "into FILE, readable by you only; an existing FILE is replaced only\n"
                   "with --force.\n",
                   o, 3, 3, {0}, 0};
  fm_stamp list[FM_VIEW_ATTACH_MAX];
  fmc_found f;
  found_att x;
  uint64_t which;
  size_t n;
  int rv;
  if ((rv = fmc_args_parse(c, &spec, argc, argv)) != 0) return rv;
  if (strcmp(spec.pos[0], "get") != 0)
    return fmc_usage(c, "unknown action \"%.20s\": the action is get", spec.pos[0]);
  if ((rv = fmc_need(c, &o[0], "the file to write the scan into"))) return rv;
  if ((rv = fmc_check_uint(c, "N", spec.pos[2], 1, FM_VIEW_ATTACH_MAX, &which))) return rv;
  fm_str team;
  if ((rv = find_atts(c, spec.pos[1], &f, &team, list, &n)) != 0) return rv;
  if (which > n) {
    rv = fmc_fail(c, "%s has %zu scan%s attached: N is from 1 to %zu (see `fieldmesh "
                     "dossier attachments %s`)", f.id, n, n == 1 ? "" : "s", n, f.id);
  } else if ((rv = load_att(c, &list[which - 1], (fm_str){f.id, strlen(f.id)}, team, &x)) < 0) {
    rv = fmc_fail(c, "cannot read attachment %llu of %s: %s", (unsigned long long)which,
                  f.id, fm_strerror(rv));
  } else {
    rv = get_one(c, f.id, (size_t)which, &x, o[0].value, o[1].value != NULL);
  }
  if (which <= n) free(x.bytes);
  fmc_found_free(&f);
  return rv;
}
