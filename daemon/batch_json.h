/* A batch of entries as the upstream sinks write it: NDJSON lines for the
 * spool folder, one JSON object for an HTTP endpoint, JSON arrays for
 * PostgreSQL's parameters.  Every entry and record goes through the one
 * MessagePack-to-JSON converter (include/fieldmesh/json.h), so an entry
 * reads the same wherever it lands.  Formats: docs/operations.md. */
#ifndef FMD_BATCH_JSON_H
#define FMD_BATCH_JSON_H

#include "fieldmesh/forward.h"
#include "fieldmesh/json.h"
#include "fieldmesh/store.h"
#include "scan_fwd.h"

typedef struct fmd_batch_meta {
  const char *gateway;    /* the gateway's device id, hex */
  const char *commune;
  const char *sink;       /* "spool", "http", "postgres" */
  const fmd_scans *scans; /* the batch's scans (may be NULL): each attach entry's
                           * object gains a "scan" member (fmd_scan_json) */
  const char *scan_suffix;  /* the spool's: its file is hash + this; NULL: no "file" */
} fmd_batch_meta;

/* The batch id as 32 hex digits into |out| (33 bytes). */
void fmd_batch_hex(const fm_fwd_batch *b, char out[33]);

/* Spool file: a first line {"type":"batch","batch","gateway","commune",
 * "created","entries":N,"records":M}, then one line per entry
 * (fm_json_entry), then one per dossier or visit it changed
 * (fm_json_dossier, fm_json_visit).  Each line ends with "\n". */
int fmd_batch_ndjson(fm_buf *out, const fm_fwd_batch *b, const fmd_batch_meta *m);

/* HTTP body: {"batch","idempotency_key","gateway","commune","created",
 * "entries":[...],"records":[...]} (idempotency_key = batch). */
int fmd_batch_json(fm_buf *out, const fm_fwd_batch *b, const fmd_batch_meta *m);

/* PostgreSQL: the entries, the dossiers and the visits as three JSON
 * arrays (NULs replaced: jsonb cannot hold them). */
int fmd_batch_pg(fm_buf *entries, fm_buf *dossiers, fm_buf *visits, const fm_fwd_batch *b);

/* The commune's roster as the gateway's store knows it, one JSON array of
 * {"device","name","team","role"} (device in hex, text in its one form),
 * NUL-terminated: the PostgreSQL sink keeps it in `members` so rows name
 * the member, not only the device.  Returns 0 or a negative error. */
int fmd_batch_roster(fm_buf *out, fm_store *s);

#endif
