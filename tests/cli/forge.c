/* fm-forge: signs, outside the command line's checks, an entry by the
 * device of one state folder and hands it to another laptop's store as if
 * it came by sync: a dossier.correct (the corrections test), a visit whose
 * village is any text (control characters, thousands of combining marks;
 * the reports' hostile text test), a vocabulary entry, which only the
 * authority may write (the vocabulary test), or a void of a visit, which
 * only its team may (the team test).
 *
 *   fm-forge SIGNER_STATE TARGET_STATE DOSSIER_ID STATUS REASON
 *   fm-forge SIGNER_STATE TARGET_STATE --visit TEAM VILLAGE_HEX
 *   fm-forge SIGNER_STATE TARGET_STATE --vocab village|place|team NAME
 *   fm-forge SIGNER_STATE TARGET_STATE --void VISIT_ID REASON
 *
 * The entry follows the signer's log as its own store holds it.  Prints
 * the outcome as the target's ingest judged it: "accepted", "held" (it
 * waits for the record it changes), or "quarantined <code>", and exits 0
 * either way (1 on a usage or I/O error). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "fieldmesh/error.h"
#include "fieldmesh/keyfile.h"
#include "fieldmesh/record.h"
#include "fieldmesh/store.h"
#include "fieldmesh/vocab.h"

static fm_store *open_store(const char *state) {
  char path[4096];
  fm_store_opts o;
  fm_store *s = NULL;
  memset(&o, 0, sizeof o);
  o.nosync = 1;
  snprintf(path, sizeof path, "%s/store", state);
  int rv = fm_store_open(path, &o, &s);
  if (rv < 0) fprintf(stderr, "fm-forge: %s: %s\n", path, fm_strerror(rv));
  return rv < 0 ? NULL : s;
}

/* The body the command line asks for into |body|, and its kind. */
static int forge_body(const fm_identity *id, char **argv, fm_time now, fm_buf *body,
                      const char **kind) {
  char village[4096], vid[FM_RECORD_ID_MAX + 1];
  fm_vocab_list list;
  if (!strcmp(argv[3], "--vocab")) {
    *kind = FM_KIND_VOCAB;
    if (fm_vocab_list_parse(argv[4], &list) < 0) return FM_ERR_INVAL;
    return fm_vocab_body(body, list, FM_VOCAB_ADD, argv[5], NULL);
  }
  if (!strcmp(argv[3], "--void")) {
    *kind = FM_KIND_VISIT_VOID;
    return fm_visit_void_body(body, argv[4], argv[5]);
  }
  if (!strcmp(argv[3], "--visit")) {
    size_t n = strlen(argv[5]) / 2;
    *kind = FM_KIND_VISIT;
    if (n >= sizeof village || fm_unhex(argv[5], (uint8_t *)village, n) < 0) return FM_ERR_INVAL;
    village[n] = 0;
    /* An id of the signer's own: a record under another's id is refused. */
    fm_record_id('V', (uint64_t)now, id->pk, (const uint8_t[2]){0xf0, 0x0f}, vid);
    fm_visit_in v = {vid, argv[4], village, "", "", "", FM_MODE_HOME, 1, 1};
    return fm_visit_body(body, &v);
  }
  int status = fm_status_parse(argv[4], strlen(argv[4]));
  *kind = FM_KIND_DOSSIER_CORRECT;
  if (status < 0) return FM_ERR_INVAL;
  return fm_dossier_correct_body(body, argv[3], status, argv[5], 0);
}

/* Builds the entry after the signer's head in |own| into |out|. */
static int forge(fm_store *own, const fm_identity *id, char **argv, fm_buf *out) {
  fm_store_stats st;
  uint8_t *head = NULL, head_id[FM_ID_LEN];
  size_t head_len = 0;
  fm_buf body;
  const char *kind = NULL;
  int rv;
  if ((rv = fm_store_stats_get(own, &st)) < 0) return rv;
  if (st.self_seq && (rv = fm_store_entry_copy(own, id->pk, st.self_seq, &head, &head_len)) < 0)
    return rv;
  if (head) fm_entry_id(head, head_len, head_id);
  free(head);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  const char *env = getenv("FIELDMESH_NOW");
  fm_time now = env ? atoll(env) : (fm_time)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
  fm_buf_init(&body, 8192);
  rv = forge_body(id, argv, now, &body, &kind);
  if (rv == 0)
    rv = fm_entry_build(out, id, st.self_seq + 1, st.self_seq ? head_id : NULL,
                        fm_hlc_make((uint64_t)now + 60000, 0), kind, body.p, body.len);
  fm_buf_free(&body);
  return rv;
}

int main(int argc, char **argv) {
  char path[4096];
  fm_identity id;
  fm_buf e;
  int rv;
  if (argc != 6) {
    fprintf(stderr, "usage: fm-forge SIGNER_STATE TARGET_STATE DOSSIER_ID STATUS REASON\n"
                    "       fm-forge SIGNER_STATE TARGET_STATE --visit TEAM VILLAGE_HEX\n"
                    "       fm-forge SIGNER_STATE TARGET_STATE --vocab LIST NAME\n"
                    "       fm-forge SIGNER_STATE TARGET_STATE --void VISIT_ID REASON\n");
    return 2;
  }
  if (sodium_init() < 0) return 1;
  snprintf(path, sizeof path, "%s/device.key", argv[1]);
  if ((rv = fm_keyfile_read(path, &id)) < 0) {
    fprintf(stderr, "fm-forge: %s: %s\n", path, fm_strerror(rv));
    return 1;
  }
  fm_store *own = open_store(argv[1]);
  if (!own) return 1;
  fm_buf_init(&e, FM_ENTRY_MAX);
  rv = forge(own, &id, argv, &e);
  fm_store_close(own);
  fm_identity_wipe(&id);
  fm_store *target = rv == 0 ? open_store(argv[2]) : NULL;
  if (rv < 0 || !target) {
    if (rv < 0) fprintf(stderr, "fm-forge: %s\n", fm_strerror(rv));
    fm_buf_free(&e);
    return 1;
  }
  fm_slice sl = {e.p, e.len};
  fm_ingest_result res;
  fm_ingest_outcome out;
  rv = fm_store_ingest(target, &sl, 1, (fm_time)time(NULL) * 1000, &res, &out);
  if (rv < 0) fprintf(stderr, "fm-forge: ingest: %s\n", fm_strerror(rv));
  else if (out.outcome == FM_IN_ACCEPTED) printf("accepted\n");
  else if (out.outcome == FM_IN_HELD) printf("held\n");
  else printf("quarantined %d\n", out.code);
  fm_store_close(target);
  fm_buf_free(&e);
  return rv < 0;
}
