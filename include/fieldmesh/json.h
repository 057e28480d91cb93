/* MessagePack to JSON, and the JSON shapes the gateway sends upstream.
 *
 * One converter serves every sink (spool files, HTTP batches, PostgreSQL's
 * jsonb), so an entry reads the same wherever it lands:
 *   - strings are escaped as JSON requires (quote, backslash, every
 *     control character); bytes that are not UTF-8 (possible only in
 *     MessagePack that no strict decoder has checked) become U+FFFD;
 *   - bins become lowercase hex strings;
 *   - integers are written exactly (all 64 bits, signed or not), floats
 *     with 17 significant digits (NaN and infinities as null), extension
 *     values as null;
 *   - a map key that is not a string is written as the JSON text of the
 *     key, quoted.
 *
 * Every function appends to an fm_buf and returns 0 or the buffer's error
 * (FM_ERR_TOOBIG when its limit is reached, -ENOMEM); the converters also
 * return FM_ERR_MALFORMED or FM_ERR_TOOBIG for input that does not decode
 * or nests past FM_JSON_DEPTH_MAX, and then leave |out| as it was.  No
 * function keeps a pointer to its input.
 */
#ifndef FIELDMESH_JSON_H
#define FIELDMESH_JSON_H

#include "fieldmesh/view.h"
#include "fieldmesh/wire.h"

#define FM_JSON_DEPTH_MAX 32

/* Write U+0000 as U+FFFD: PostgreSQL's jsonb cannot hold a NUL, and one
 * such string would stop a whole batch forever.  The entry's own bytes
 * (the "raw" field) keep the original. */
#define FM_JSON_NO_NUL 1u

/* A JSON string of the |n| bytes at |s|. */
int fm_json_string(fm_buf *out, const char *s, size_t n, unsigned flags);

/* A JSON string of the |n| bytes at |s| in their one form (NFC, trimmed:
 * fieldmesh/text.h), or as they are when not UTF-8 (then U+FFFD). */
int fm_json_text(fm_buf *out, const char *s, size_t n, unsigned flags);

/* One whole MessagePack value of |len| bytes at |p|, which must be
 * consumed exactly. */
int fm_json_msgpack(fm_buf *out, const uint8_t *p, size_t len, unsigned flags);

/* "2026-11-28T09:00:00.123Z" (quoted), or null for a time before 1970 or
 * after 9999 (a clock gone wrong must not stop a database insert). */
int fm_json_time(fm_buf *out, fm_time ms);

/* An entry (stored bytes, checked by fm_entry_decode) as one object:
 *   {"type":"entry","id","idempotency_key","author","seq","prev","hlc",
 *    "time","kind","body","raw"}
 * id, idempotency_key (the same), author and prev are hex (prev null for
 * seq 1), time is the hlc's milliseconds (fm_json_time), body the
 * converted body map, raw the stored bytes in standard base64: the signed
 * entry, so the upstream can check its signature. */
int fm_json_entry(fm_buf *out, const uint8_t *bytes, size_t len, unsigned flags);

/* A dossier's view as one flat object (the columns of the PostgreSQL
 * `dossiers` table):
 *   {"type":"dossier","id","procedure","procedure_name","applicant_name",
 *    "applicant_id","phone","village","team","channel","status",
 *    "status_note","portal_ref","note","attachments":["AUTHOR:SEQ"],"created_at",
 *    "created_by","updated_at","status_at"} */
int fm_json_dossier(fm_buf *out, const char *id, size_t id_len, const fm_dossier_view *d,
                    unsigned flags);

/* A visit's view as one flat object (the `visits` table):
 *   {"type":"visit","id","team","village","place","visit_date","mode",
 *    "services":[str],"citizens","note","recorded_at","recorded_by",
 *    "voided","void_reason"} */
int fm_json_visit(fm_buf *out, const char *id, size_t id_len, const fm_visit_view *v,
                  unsigned flags);

#endif
