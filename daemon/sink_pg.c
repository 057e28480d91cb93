/* The PostgreSQL sink (libpq): every entry into `entries` keyed by its id
 * (ON CONFLICT DO NOTHING: a batch delivered twice changes nothing), and
 * the dossiers and visits its entries changed upserted into `dossiers` and
 * `visits` from the gateway's views, so the commune's reporting can query
 * them.  The gateway creates the tables and migrates them (schema_version)
 * on first contact.  One batch is one transaction.
 *
 * Scans (schema version 3): each opened file once in `attachments`, keyed
 * by the BLAKE2b-256 of its bytes (hex) and held as bytea (a file is at
 * most 7.5 MiB: well inside bytea's 1 GB, and unlike a large object it is
 * an ordinary row that pg_dump, replication and DELETE treat like the
 * others); and one row per attach entry in `dossier_attachments` linking
 * the dossier to it.  A file the table holds already is not sent again;
 * a link row is written once, but one that went without its file (sealed
 * for a key the gateway lacked then) takes the file's hash when a
 * correction brings it (ON CONFLICT ... WHERE hash IS NULL).  A correction
 * (a batch with |resent|) needs nothing else: dossiers and visits are
 * upserted from the views anyway, now opened. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <uv.h>

#include "batch_json.h"
#include "fieldmesh/error.h"
#include "sink.h"

typedef struct pg {
  const fmd_sink_env *env;
  char conninfo[FMD_UP_CONNINFO_MAX];
  PGconn *conn;             /* worker thread only */
  int schema_ok;
  uv_mutex_t mu;            /* guards |cancel|: the loop thread may use it */
  PGcancel *cancel;
  fm_buf entries, dossiers, visits;
} pg;

/* ---- the schema --------------------------------------------------------------------- */

/* Each migration runs once, in order, in one transaction with the row
 * that records it.  Never edit one that shipped: add the next. */
static const char *const MIGRATIONS[] = {
    /* 1: entries, dossiers, visits */
    "CREATE TABLE entries ("
    " id text PRIMARY KEY, author text NOT NULL, seq bigint NOT NULL, prev text,"
    " hlc numeric(20,0) NOT NULL, stamped_at timestamptz, kind text NOT NULL,"
    " body jsonb NOT NULL, raw bytea NOT NULL, batch text NOT NULL,"
    " received_at timestamptz NOT NULL DEFAULT now());"
    "CREATE INDEX entries_author_seq ON entries (author, seq);"
    "CREATE INDEX entries_kind ON entries (kind);"
    "CREATE TABLE dossiers ("
    " id text PRIMARY KEY, procedure text NOT NULL, procedure_name text NOT NULL,"
    " applicant_name text NOT NULL, applicant_id text NOT NULL, phone text NOT NULL,"
    " village text NOT NULL, team text NOT NULL, channel text NOT NULL, status text NOT NULL,"
    " status_note text NOT NULL, portal_ref text NOT NULL, note text NOT NULL,"
    " attachments text[] NOT NULL, created_at timestamptz, created_by text,"
    " updated_at timestamptz, status_at timestamptz,"
    " received_at timestamptz NOT NULL DEFAULT now());"
    "CREATE INDEX dossiers_village ON dossiers (village);"
    "CREATE INDEX dossiers_team ON dossiers (team);"
    "CREATE INDEX dossiers_procedure ON dossiers (procedure);"
    "CREATE TABLE visits ("
    " id text PRIMARY KEY, team text NOT NULL, village text NOT NULL, place text NOT NULL,"
    " visit_date text NOT NULL, mode text NOT NULL, services text[] NOT NULL,"
    " citizens numeric(20,0) NOT NULL, note text NOT NULL, recorded_at timestamptz,"
    " recorded_by text, voided boolean NOT NULL, void_reason text NOT NULL,"
    " received_at timestamptz NOT NULL DEFAULT now());"
    "CREATE INDEX visits_village ON visits (village);"
    "CREATE INDEX visits_team ON visits (team);",
    /* 2: one database for a district.  Every row names its commune (the
     * authority's key and the commune's name) and keys include it; the
     * rows before are this gateway's commune's (BACKFILL).  Members from
     * the enrollments; one view per report of `fieldmesh report`. */
    "ALTER TABLE entries ADD COLUMN commune_id text NOT NULL DEFAULT '',"
    " ADD COLUMN commune text NOT NULL DEFAULT '';"
    "ALTER TABLE dossiers ADD COLUMN commune_id text NOT NULL DEFAULT '',"
    " ADD COLUMN commune text NOT NULL DEFAULT '', ADD COLUMN created_by_name text,"
    " ADD COLUMN created_by_team text;"
    "ALTER TABLE visits ADD COLUMN commune_id text NOT NULL DEFAULT '',"
    " ADD COLUMN commune text NOT NULL DEFAULT '', ADD COLUMN recorded_by_name text,"
    " ADD COLUMN recorded_by_team text;"
    "ALTER TABLE entries DROP CONSTRAINT entries_pkey, ADD PRIMARY KEY (commune_id, id);"
    "ALTER TABLE dossiers DROP CONSTRAINT dossiers_pkey, ADD PRIMARY KEY (commune_id, id);"
    "ALTER TABLE visits DROP CONSTRAINT visits_pkey, ADD PRIMARY KEY (commune_id, id);"
    "CREATE TABLE members (commune_id text NOT NULL, commune text NOT NULL,"
    " device text NOT NULL, name text NOT NULL, team text NOT NULL, role text NOT NULL,"
    " updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (commune_id, device));"
    "CREATE VIEW report_rows AS"
    " SELECT commune_id, commune, village, team, NULL::text AS procedure,"
    " substr(visit_date, 1, 7) AS month, 1 AS visits, citizens, 0 AS dossiers,"
    " 0 AS submitted, 0 AS delivered, 0 AS rejected, 0 AS withdrawn FROM visits WHERE NOT voided"
    " UNION ALL SELECT commune_id, commune, village, team, procedure,"
    " to_char(created_at AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYYY-MM'), 0, 0, 1,"
    " (status NOT IN ('draft', 'withdrawn'))::int, (status = 'delivered')::int,"
    " (status = 'rejected')::int, (status = 'withdrawn')::int FROM dossiers;"
    "CREATE VIEW report_by_village AS SELECT commune_id, commune, village AS key,"
    " sum(visits) AS visits, sum(citizens) AS citizens, sum(dossiers) AS dossiers,"
    " sum(submitted) AS submitted, sum(delivered) AS delivered, sum(rejected) AS rejected,"
    " sum(withdrawn) AS withdrawn FROM report_rows GROUP BY 1, 2, 3;"
    "CREATE VIEW report_by_team AS SELECT commune_id, commune, team AS key,"
    " sum(visits) AS visits, sum(citizens) AS citizens, sum(dossiers) AS dossiers,"
    " sum(submitted) AS submitted, sum(delivered) AS delivered, sum(rejected) AS rejected,"
    " sum(withdrawn) AS withdrawn FROM report_rows GROUP BY 1, 2, 3;"
    "CREATE VIEW report_by_month AS SELECT commune_id, commune, month AS key,"
    " sum(visits) AS visits, sum(citizens) AS citizens, sum(dossiers) AS dossiers,"
    " sum(submitted) AS submitted, sum(delivered) AS delivered, sum(rejected) AS rejected,"
    " sum(withdrawn) AS withdrawn FROM report_rows GROUP BY 1, 2, 3;"
    "CREATE VIEW report_by_procedure AS SELECT commune_id, commune, procedure AS key,"
    " sum(dossiers) AS dossiers, sum(submitted) AS submitted, sum(delivered) AS delivered,"
    " sum(rejected) AS rejected, sum(withdrawn) AS withdrawn"
    " FROM report_rows WHERE procedure IS NOT NULL GROUP BY 1, 2, 3;",
    /* 3: scans.  The file once per content, whichever communes attach
     * it; a row per `dossier.attach` entry naming it (hash NULL and
     * `error` set when the gateway could not open it). */
    "CREATE TABLE attachments (hash text PRIMARY KEY, size bigint NOT NULL,"
    " content bytea NOT NULL, received_at timestamptz NOT NULL DEFAULT now(),"
    " CHECK (octet_length(content) = size));"
    "CREATE TABLE dossier_attachments (commune_id text NOT NULL, commune text NOT NULL,"
    " entry_id text NOT NULL, dossier text NOT NULL, kind text NOT NULL, name text NOT NULL,"
    " size bigint NOT NULL, hash text REFERENCES attachments (hash), error text,"
    " attached_at timestamptz, attached_by text, batch text NOT NULL,"
    " received_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (commune_id, entry_id));"
    "CREATE INDEX dossier_attachments_dossier ON dossier_attachments (commune_id, dossier);"
    "CREATE INDEX dossier_attachments_hash ON dossier_attachments (hash);",
};
#define NMIGRATIONS (int)(sizeof MIGRATIONS / sizeof MIGRATIONS[0])

/* After a migration, with $1 = the commune's authority key (hex) and $2
 * its name: the rows a migration found belong to this gateway's commune
 * (before migration 2 a database held one commune). */
static const char *const BACKFILL[][4] = {
    {NULL},
    {"UPDATE entries SET commune_id = $1, commune = $2 WHERE commune_id = ''",
     "UPDATE dossiers SET commune_id = $1, commune = $2 WHERE commune_id = ''",
     "UPDATE visits SET commune_id = $1, commune = $2 WHERE commune_id = ''", NULL},
    {NULL},
};

/* The gateway's roster ($1, fmd_batch_roster) before the rows that name
 * its members. */
static const char UPSERT_MEMBERS[] =
    "INSERT INTO members (commune_id, commune, device, name, team, role)"
    " SELECT $2, $3, m.device, m.name, m.team, m.role"
    " FROM jsonb_to_recordset($1::jsonb) AS m(device text, name text, team text, role text)"
    " ON CONFLICT (commune_id, device) DO UPDATE SET commune = EXCLUDED.commune,"
    " name = EXCLUDED.name, team = EXCLUDED.team, role = EXCLUDED.role, updated_at = now()"
    " WHERE (members.commune, members.name, members.team, members.role) IS DISTINCT FROM"
    " (EXCLUDED.commune, EXCLUDED.name, EXCLUDED.team, EXCLUDED.role)";

/* Every statement of a batch takes the commune as $2 (authority key, hex)
 * and $3 (name). */
static const char INSERT_ENTRIES[] =
    "INSERT INTO entries (commune_id, commune, id, author, seq, prev, hlc, stamped_at, kind,"
    " body, raw, batch)"
    " SELECT $2, $3, e->>'id', e->>'author', (e->>'seq')::bigint, e->>'prev',"
    " (e->>'hlc')::numeric, (e->>'time')::timestamptz, e->>'kind', e->'body',"
    " decode(e->>'raw', 'base64'), $4"
    " FROM jsonb_array_elements($1::jsonb) AS e ON CONFLICT (commune_id, id) DO NOTHING";

#define DOSSIER_COLS                                                                       \
  "id, procedure, procedure_name, applicant_name, applicant_id, phone, village, team,"     \
  " channel, status, status_note, portal_ref, note, attachments, created_at, created_by,"  \
  " updated_at, status_at"
/* The same columns of the JSON records (r), beside the member's (m). */
#define R_DOSSIER_COLS                                                                       \
  "r.id, r.procedure, r.procedure_name, r.applicant_name, r.applicant_id, r.phone,"          \
  " r.village, r.team, r.channel, r.status, r.status_note, r.portal_ref, r.note,"           \
  " r.attachments, r.created_at, r.created_by, r.updated_at, r.status_at"
static const char UPSERT_DOSSIERS[] =
    "INSERT INTO dossiers (commune_id, commune, created_by_name, created_by_team, " DOSSIER_COLS
    ") SELECT $2, $3, m.name, m.team, " R_DOSSIER_COLS
    " FROM jsonb_populate_recordset(NULL::dossiers, $1::jsonb) AS r"
    " LEFT JOIN members m ON m.commune_id = $2 AND m.device = r.created_by"
    " ON CONFLICT (commune_id, id) DO UPDATE SET"
    " created_by_name = EXCLUDED.created_by_name, created_by_team = EXCLUDED.created_by_team,"
    " procedure = EXCLUDED.procedure, procedure_name = EXCLUDED.procedure_name,"
    " applicant_name = EXCLUDED.applicant_name, applicant_id = EXCLUDED.applicant_id,"
    " phone = EXCLUDED.phone, village = EXCLUDED.village, team = EXCLUDED.team,"
    " channel = EXCLUDED.channel, status = EXCLUDED.status, status_note = EXCLUDED.status_note,"
    " portal_ref = EXCLUDED.portal_ref, note = EXCLUDED.note, attachments = EXCLUDED.attachments,"
    " created_at = EXCLUDED.created_at, created_by = EXCLUDED.created_by,"
    " updated_at = EXCLUDED.updated_at, status_at = EXCLUDED.status_at, received_at = now()";

#define VISIT_COLS                                                                          \
  "id, team, village, place, visit_date, mode, services, citizens, note, recorded_at,"      \
  " recorded_by, voided, void_reason"
#define R_VISIT_COLS                                                                       \
  "r.id, r.team, r.village, r.place, r.visit_date, r.mode, r.services, r.citizens, r.note,"  \
  " r.recorded_at, r.recorded_by, r.voided, r.void_reason"
static const char UPSERT_VISITS[] =
    "INSERT INTO visits (commune_id, commune, recorded_by_name, recorded_by_team, " VISIT_COLS
    ") SELECT $2, $3, m.name, m.team, " R_VISIT_COLS
    " FROM jsonb_populate_recordset(NULL::visits, $1::jsonb) AS r"
    " LEFT JOIN members m ON m.commune_id = $2 AND m.device = r.recorded_by"
    " ON CONFLICT (commune_id, id) DO UPDATE SET"
    " recorded_by_name = EXCLUDED.recorded_by_name, recorded_by_team = EXCLUDED.recorded_by_team,"
    " team = EXCLUDED.team, village = EXCLUDED.village, place = EXCLUDED.place,"
    " visit_date = EXCLUDED.visit_date, mode = EXCLUDED.mode, services = EXCLUDED.services,"
    " citizens = EXCLUDED.citizens, note = EXCLUDED.note, recorded_at = EXCLUDED.recorded_at,"
    " recorded_by = EXCLUDED.recorded_by, voided = EXCLUDED.voided,"
    " void_reason = EXCLUDED.void_reason, received_at = now()";

/* One scan: $1 hash, $2 size, $3 the file (binary). */
static const char HAVE_ATTACHMENT[] = "SELECT 1 FROM attachments WHERE hash = $1";
static const char INSERT_ATTACHMENT[] =
    "INSERT INTO attachments (hash, size, content) VALUES ($1, $2::bigint, $3)"
    " ON CONFLICT (hash) DO NOTHING";
/* $1 commune_id, $2 commune, $3 entry id, $4 dossier, $5 kind, $6 name,
 * $7 size, $8 hash or NULL, $9 error or NULL, $10 the entry's stamp (ms),
 * $11 its author, $12 batch. */
static const char INSERT_DOSSIER_ATTACHMENT[] =
    "INSERT INTO dossier_attachments (commune_id, commune, entry_id, dossier, kind, name, size,"
    " hash, error, attached_at, attached_by, batch)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7::bigint, $8, $9,"
    " to_timestamp($10::bigint / 1000.0), $11, $12)"
    " ON CONFLICT (commune_id, entry_id) DO UPDATE SET name = EXCLUDED.name,"
    " hash = EXCLUDED.hash, error = EXCLUDED.error, batch = EXCLUDED.batch"
    " WHERE dossier_attachments.hash IS NULL AND EXCLUDED.hash IS NOT NULL";

/* ---- talking to the server -------------------------------------------------------------- */

/* The first line of libpq's message, for one log line. */
static void pg_error(fmd_delivery *out, const char *what, const char *msg) {
  size_t n = strcspn(msg, "\n");
  snprintf(out->error, sizeof out->error, "postgres: %s: %.*s", what, (int)(n < 180 ? n : 180), msg);
}

/* Runs |sql| (with |nparams| text parameters); 0, or -1 with |out->error|. */
static int exec(pg *p, const char *what, const char *sql, int nparams, const char *const *params,
                PGresult **keep, fmd_delivery *out) {
  /* Without parameters, the simple protocol: a migration is several
   * statements. */
  PGresult *r = nparams ? PQexecParams(p->conn, sql, nparams, NULL, params, NULL, NULL, 0)
                        : PQexec(p->conn, sql);
  ExecStatusType st = PQresultStatus(r);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    pg_error(out, what, r ? PQresultErrorMessage(r) : PQerrorMessage(p->conn));
    PQclear(r);
    return -1;
  }
  if (keep) *keep = r;
  else PQclear(r);
  return 0;
}

static void disconnect(pg *p) {
  uv_mutex_lock(&p->mu);
  if (p->cancel) PQfreeCancel(p->cancel);
  p->cancel = NULL;
  uv_mutex_unlock(&p->mu);
  if (p->conn) PQfinish(p->conn);
  p->conn = NULL;
  p->schema_ok = 0;
}

static int connect_db(pg *p, fmd_delivery *out) {
  char timeout[16], stmt[64];
  unsigned t = p->env->cfg->timeout_seconds;
  /* Defaults first: what the operator's conninfo says wins. */
  const char *keys[] = {"connect_timeout", "application_name", "dbname", NULL};
  const char *vals[] = {timeout, "fieldmeshd", p->conninfo, NULL};
  snprintf(timeout, sizeof timeout, "%u", t < 10 ? t : 10);
  p->conn = PQconnectdbParams(keys, vals, 1);
  if (!p->conn || PQstatus(p->conn) != CONNECTION_OK) {
    pg_error(out, "cannot connect", p->conn ? PQerrorMessage(p->conn) : "out of memory");
    disconnect(p);
    return -1;
  }
  uv_mutex_lock(&p->mu);
  p->cancel = PQgetCancel(p->conn);
  uv_mutex_unlock(&p->mu);
  snprintf(stmt, sizeof stmt, "SET statement_timeout = %u", t * 1000);
  if (exec(p, "cannot set statement_timeout", stmt, 0, NULL, NULL, out) < 0) {
    disconnect(p);
    return -1;
  }
  return 0;
}

/* The rows migration |v| found, given to this gateway's commune. */
static int backfill(pg *p, int v, fmd_delivery *out) {
  const char *param[2] = {p->env->commune_id, p->env->commune};
  for (int i = 0; v - 1 < (int)(sizeof BACKFILL / sizeof BACKFILL[0]) && BACKFILL[v - 1][i]; i++)
    if (exec(p, "cannot give the rows to this commune", BACKFILL[v - 1][i], 2, param, NULL,
             out) < 0)
      return -1;
  return 0;
}

/* Brings the schema to the last migration; two gateways on one database
 * take turns (an advisory lock). */
static int migrate(pg *p, fmd_delivery *out) {
  PGresult *r;
  char num[16];
  if (exec(p, "cannot create schema_version",
           "CREATE TABLE IF NOT EXISTS schema_version (version integer PRIMARY KEY,"
           " applied_at timestamptz NOT NULL DEFAULT now())", 0, NULL, NULL, out) < 0 ||
      exec(p, "cannot begin", "BEGIN", 0, NULL, NULL, out) < 0)
    return -1;
  if (exec(p, "cannot lock the schema", "SELECT pg_advisory_xact_lock(7411)", 0, NULL, NULL, out) < 0 ||
      exec(p, "cannot read schema_version", "SELECT coalesce(max(version), 0) FROM schema_version",
           0, NULL, &r, out) < 0)
    goto rollback;
  char *end;
  const char *text = PQgetvalue(r, 0, 0);
  long have = strtol(text, &end, 10);
  int bad = end == text || *end || have < 0;
  PQclear(r);
  if (bad) {
    snprintf(out->error, sizeof out->error, "postgres: table schema_version holds a negative "
             "or non-numeric version: fix that table by hand");
    goto rollback;
  }
  if (have > NMIGRATIONS) {
    snprintf(out->error, sizeof out->error, "postgres: the database is at schema version %d, "
             "newer than this gateway's %d: upgrade fieldmeshd", (int)have, NMIGRATIONS);
    goto rollback;
  }
  for (int v = (int)have + 1; v <= NMIGRATIONS; v++) {
    const char *param[1] = {num};
    snprintf(num, sizeof num, "%d", v);
    if (exec(p, "cannot migrate the schema", MIGRATIONS[v - 1], 0, NULL, NULL, out) < 0 ||
        backfill(p, v, out) < 0 ||
        exec(p, "cannot record the schema version",
             "INSERT INTO schema_version (version) VALUES ($1::integer)", 1, param, NULL, out) < 0)
      goto rollback;
  }
  if (exec(p, "cannot commit the schema", "COMMIT", 0, NULL, NULL, out) < 0) return -1;
  p->schema_ok = 1;
  return 0;
rollback:
  PQclear(PQexec(p->conn, "ROLLBACK"));
  return -1;
}

/* The file of |x| into `attachments`, unless the table holds it: a file
 * is sent to the server once. */
static int put_file(pg *p, const fmd_scans *sc, const fmd_scan *x, fmd_delivery *out) {
  char size[24];
  PGresult *r;
  const char *hp[1] = {x->hash};
  if (exec(p, "cannot look up an attachment", HAVE_ATTACHMENT, 1, hp, &r, out) < 0) return -1;
  int have = PQntuples(r) > 0;
  PQclear(r);
  if (have) return 0;
  snprintf(size, sizeof size, "%llu", (unsigned long long)x->size);
  const char *v[3] = {x->hash, size, (const char *)fmd_scan_file(sc, x)};
  int len[3] = {0, 0, (int)x->size}, fmt[3] = {0, 0, 1};
  r = PQexecParams(p->conn, INSERT_ATTACHMENT, 3, NULL, v, len, fmt, 0);
  if (PQresultStatus(r) != PGRES_COMMAND_OK) {
    pg_error(out, "cannot insert an attachment", r ? PQresultErrorMessage(r) : PQerrorMessage(p->conn));
    PQclear(r);
    return -1;
  }
  PQclear(r);
  return 0;
}

/* Every scan of the batch: its file, then the row that links its dossier
 * to it (|batch|: the batch id, hex). */
static int store_scans(pg *p, const fm_fwd_batch *b, const fmd_scans *sc, const char *batch,
                       fmd_delivery *out) {
  for (size_t i = 0; sc && i < sc->n; i++) {
    const fmd_scan *x = &sc->v[i];
    const fm_fwd_item *it = &b->items[x->item];
    char id[2 * FM_ID_LEN + 1], author[2 * FM_KEY_LEN + 1], size[24], ms[24];
    fm_entry e;
    if (fm_entry_decode(it->bytes, it->len, NULL, &e) < 0) continue;
    fm_hex(it->id, FM_ID_LEN, id);
    fm_hex(it->author, FM_KEY_LEN, author);
    snprintf(size, sizeof size, "%llu", (unsigned long long)x->size);
    snprintf(ms, sizeof ms, "%llu", (unsigned long long)fm_hlc_ms(e.hlc));
    int ok = x->state == FMD_SCAN_OK;
    const char *v[12] = {p->env->commune_id, p->env->commune, id, x->dossier,
                         fm_attach_kind_name(x->kind), x->name, size, ok ? x->hash : NULL,
                         ok ? NULL : fmd_scan_state_text(x->state), ms, author, batch};
    if ((ok && put_file(p, sc, x, out) < 0) ||
        exec(p, "cannot link a dossier to its attachment", INSERT_DOSSIER_ATTACHMENT, 12, v,
             NULL, out) < 0)
      return -1;
  }
  return 0;
}

static int store_batch(pg *p, const fm_fwd_batch *b, fmd_delivery *out) {
  const char *mp[3] = {out->roster ? out->roster : "[]", p->env->commune_id, p->env->commune};
  char hex[33];
  PGresult *r;
  fmd_batch_hex(b, hex);
  const char *cid = p->env->commune_id, *cname = p->env->commune;
  const char *ep[4] = {(const char *)p->entries.p, cid, cname, hex};
  const char *dp[3] = {(const char *)p->dossiers.p, cid, cname};
  const char *vp[3] = {(const char *)p->visits.p, cid, cname};
  if (exec(p, "cannot begin", "BEGIN", 0, NULL, NULL, out) < 0) return -1;
  if (exec(p, "cannot upsert members", UPSERT_MEMBERS, 3, mp, NULL, out) < 0 ||
      exec(p, "cannot insert entries", INSERT_ENTRIES, 4, ep, NULL, out) < 0 ||
      exec(p, "cannot upsert dossiers", UPSERT_DOSSIERS, 3, dp, NULL, out) < 0 ||
      exec(p, "cannot upsert visits", UPSERT_VISITS, 3, vp, NULL, out) < 0 ||
      store_scans(p, b, out->scans, hex, out) < 0 ||
      exec(p, "cannot read the transaction id", "SELECT txid_current()", 0, NULL, &r, out) < 0) {
    PQclear(PQexec(p->conn, "ROLLBACK"));
    return -1;
  }
  snprintf(out->batch_ref, sizeof out->batch_ref, "txid %s", PQgetvalue(r, 0, 0));
  PQclear(r);
  return exec(p, "cannot commit", "COMMIT", 0, NULL, NULL, out);
}

static void pg_deliver(void *impl, const fm_fwd_batch *b, fmd_delivery *out) {
  pg *p = impl;
  int rv;
  fm_buf_reset(&p->entries);
  fm_buf_reset(&p->dossiers);
  fm_buf_reset(&p->visits);
  if ((rv = fmd_batch_pg(&p->entries, &p->dossiers, &p->visits, b)) < 0 ||
      (rv = fm_buf_put(&p->entries, "", 1)) < 0 || (rv = fm_buf_put(&p->dossiers, "", 1)) < 0 ||
      (rv = fm_buf_put(&p->visits, "", 1)) < 0) {
    snprintf(out->error, sizeof out->error, "cannot write the batch as JSON: %s", fm_strerror(rv));
    return;
  }
  if (p->conn && PQstatus(p->conn) != CONNECTION_OK) disconnect(p);
  if (!p->conn && connect_db(p, out) < 0) return;
  if ((!p->schema_ok && migrate(p, out) < 0) || store_batch(p, b, out) < 0) {
    /* A server that went away leaves a dead connection: start afresh. */
    if (PQstatus(p->conn) != CONNECTION_OK) disconnect(p);
    return;
  }
  memset(out->accepted, 1, b->n);
  out->ok = 1;
}

static void pg_cancel(void *impl) {
  pg *p = impl;
  char err[256];
  uv_mutex_lock(&p->mu);
  if (p->cancel) PQcancel(p->cancel, err, sizeof err);
  uv_mutex_unlock(&p->mu);
}

static void pg_del(void *impl) {
  pg *p = impl;
  if (!p) return;
  disconnect(p);
  uv_mutex_destroy(&p->mu);
  fm_buf_free(&p->entries);
  fm_buf_free(&p->dossiers);
  fm_buf_free(&p->visits);
  free(p);
}

/* The cursors follow the database, not the password: host, port and
 * dbname of the parsed conninfo. */
static int target_of(const char *conninfo, char *target, size_t cap, char *err, size_t ecap) {
  char *msg = NULL;
  const char *host = "", *port = "", *db = "", *user = "";
  PQconninfoOption *o = PQconninfoParse(conninfo, &msg), *it;
  if (!o) {
    size_t n = msg ? strcspn(msg, "\n") : 0;
    snprintf(err, ecap, "[upstream] postgres: not a connection string: %.*s; give e.g. "
             "host=/run/postgresql dbname=fieldmesh", (int)n, msg ? msg : "");
    PQfreemem(msg);
    return -1;
  }
  for (it = o; it->keyword; it++) {
    if (!it->val) continue;
    if (!strcmp(it->keyword, "host") || !strcmp(it->keyword, "hostaddr")) host = it->val;
    else if (!strcmp(it->keyword, "port")) port = it->val;
    else if (!strcmp(it->keyword, "dbname")) db = it->val;
    else if (!strcmp(it->keyword, "user")) user = it->val;
  }
  snprintf(target, cap, "host=%s port=%s dbname=%s user=%s", host, port, db, user);
  PQconninfoFree(o);
  return 0;
}

int fmd_pg_new(const fmd_sink_env *env, const char *conninfo, void **impl, char *target,
               size_t target_cap, char *err, size_t cap) {
  pg *p;
  if (target_of(conninfo, target, target_cap, err, cap) < 0) return -1;
  if (!(p = calloc(1, sizeof *p)) || uv_mutex_init(&p->mu) != 0) {
    free(p);
    snprintf(err, cap, "out of memory");
    return -1;
  }
  p->env = env;
  snprintf(p->conninfo, sizeof p->conninfo, "%s", conninfo);
  fm_buf_init(&p->entries, (size_t)256 << 20);
  fm_buf_init(&p->dossiers, (size_t)64 << 20);
  fm_buf_init(&p->visits, (size_t)64 << 20);
  *impl = p;
  return 0;
}

const fmd_sink_ops fmd_pg_ops = {FM_SINK_POSTGRES, pg_deliver, pg_cancel, pg_del};
