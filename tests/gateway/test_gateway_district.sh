#!/usr/bin/env bash
# One PostgreSQL for a district (docs/operations.md, "One PostgreSQL for a
# district"): three communes, each with its own authority, a laptop and a
# gateway, forward into one database.
#   - The database starts as an older gateway left it (schema version 1,
#     one commune's rows, no commune column): the first gateway migrates it
#     and the old rows become its commune's, none lost.
#   - Every entry is in `entries` once, keyed by (commune, id); dossiers
#     and visits name their commune and the member (name and team) who
#     recorded them; the report views give per-commune totals equal to
#     each gateway's `fieldmesh report`.
#
# usage: test_gateway_district.sh BIN_DIR
set -euo pipefail
BIN=${1:?usage: test_gateway_district.sh BIN_DIR}
NAME=test_gateway_district
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

step "PostgreSQL, holding what a version-1 gateway wrote"
pg_start
# Migration 1 as it shipped (daemon/sink_pg.c), with one old row.
pg_q "CREATE TABLE schema_version (version integer PRIMARY KEY,
        applied_at timestamptz NOT NULL DEFAULT now());
      INSERT INTO schema_version (version) VALUES (1);
      CREATE TABLE entries (id text PRIMARY KEY, author text NOT NULL, seq bigint NOT NULL,
        prev text, hlc numeric(20,0) NOT NULL, stamped_at timestamptz, kind text NOT NULL,
        body jsonb NOT NULL, raw bytea NOT NULL, batch text NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now());
      CREATE INDEX entries_author_seq ON entries (author, seq);
      CREATE INDEX entries_kind ON entries (kind);
      CREATE TABLE dossiers (id text PRIMARY KEY, procedure text NOT NULL,
        procedure_name text NOT NULL, applicant_name text NOT NULL, applicant_id text NOT NULL,
        phone text NOT NULL, village text NOT NULL, team text NOT NULL, channel text NOT NULL,
        status text NOT NULL, status_note text NOT NULL, portal_ref text NOT NULL,
        note text NOT NULL, attachments text[] NOT NULL, created_at timestamptz,
        created_by text, updated_at timestamptz, status_at timestamptz,
        received_at timestamptz NOT NULL DEFAULT now());
      CREATE TABLE visits (id text PRIMARY KEY, team text NOT NULL, village text NOT NULL,
        place text NOT NULL, visit_date text NOT NULL, mode text NOT NULL,
        services text[] NOT NULL, citizens numeric(20,0) NOT NULL, note text NOT NULL,
        recorded_at timestamptz, recorded_by text, voided boolean NOT NULL,
        void_reason text NOT NULL, received_at timestamptz NOT NULL DEFAULT now());
      INSERT INTO visits VALUES ('V-OLD', 'Team 1', 'Nghĩa Tân', '', '2026-11-02', 'home',
        '{account_created}', 4, '', now(), 'ab', false, '', now());" >/dev/null

# A commune N: authority cN, laptop lN (member of "Team N"), gateway gN.
make_commune() {
  local n=$1 name=$2
  fm "c$n" authority init --commune "$name" >/dev/null
  for who in "l$n:member:Đội $n" "g$n:gateway:UBND $name"; do
    IFS=: read -r dev role team <<<"$who"
    fm "$dev" init | tail -n1 >"$W/$dev.id"
    fm "c$n" enroll "$(cat "$W/$dev.id")" --name "Cán bộ $dev" --team "$team" --role "$role" \
      --villages "Thôn 1,Thôn 2" -o "$W/$dev.join" >/dev/null
    fm "$dev" join "$W/$dev.join" >/dev/null
  done
}
make_commune 1 "Tân Quang"
make_commune 2 "Mục Sơn"
make_commune 3 "Văn Sơn"

step "records in each commune (the same village names in all three)"
for n in 1 2 3; do
  for i in $(seq 1 "$n"); do
    fm "l$n" visit add --village "Thôn 1" --mode home --citizens "$i" --services account_created \
      >/dev/null
    d=$(fm "l$n" dossier add --procedure khai_sinh --applicant-name "Công dân $n-$i" \
      --village "Thôn 2" | tail -n1)
    fm "l$n" dossier status "$d" submitted >/dev/null
  done
done

step "three gateways into one database"
for n in 1 2 3; do
  conf "g$n" "[upstream]" "postgres = $(pg_conninfo)" "linger_ms = 100" "retry_min_ms = 200" \
    "retry_max_ms = 1000" "timeout_seconds = 5"
  conf "l$n"
  start "g$n" --config "$W/g$n.conf"
  start "l$n" --config "$W/l$n.conf" --peer "127.0.0.1:${PORT[g$n]}"
done
for n in 1 2 3; do
  wait_for "commune $n's laptop and gateway to agree" same_view "l$n" "g$n"
  wait_for "gateway $n to forward everything" forwarded_all "g$n" postgres
done

step "the old rows kept, given to the first commune to migrate"
[ "$(pg_q "SELECT max(version) FROM schema_version")" = 3 ] || fail "the schema was not migrated"
old=$(pg_q "SELECT commune FROM visits WHERE id = 'V-OLD'")
case "$old" in "Tân Quang"|"Mục Sơn"|"Văn Sơn") ;; *) fail "the old visit was lost or given to '$old'" ;; esac

# Only the gateways' own records from here on.
pg_q "DELETE FROM visits WHERE id = 'V-OLD'" >/dev/null

step "every entry once per commune; members named"
for n in 1 2 3; do
  cid=$(jfield "$(fm "g$n" status --json)" authority_id)
  total=$(status_field "g$n" entries)
  rows=$(pg_q "SELECT count(*) FROM entries WHERE commune_id = '$cid'")
  [ "$rows" = "$total" ] || fail "commune $n: $rows entries in postgres, its gateway holds $total"
  named=$(pg_q "SELECT count(*) FROM dossiers WHERE commune_id = '$cid'
                AND created_by_name = 'Cán bộ l$n' AND created_by_team = 'Đội $n'")
  [ "$named" = "$n" ] || fail "commune $n: $named of $n dossiers name their member"
  named=$(pg_q "SELECT count(*) FROM visits WHERE commune_id = '$cid' AND recorded_by_name = 'Cán bộ l$n'")
  [ "$named" = "$n" ] || fail "commune $n: $named of $n visits name their member"
done

step "report views across communes equal each gateway's report"
for n in 1 2 3; do
  name=$(pg_q "SELECT DISTINCT commune FROM members WHERE name = 'Cán bộ l$n'")
  for by in village team; do
    want=$(fm "g$n" report --by "$by" --format csv | tr -d '\r' | tail -n +2 | sort)
    got=$(pg_q "SELECT key || ',' || visits || ',' || citizens || ',' || dossiers || ',' ||
                submitted || ',' || delivered || ',' || rejected || ',' || withdrawn
                FROM report_by_$by WHERE commune = '$name'" |
          sort)
    [ "$got" = "$want" ] || fail "commune $n by $by: postgres says
$got
the gateway says
$want"
  done
done
echo "$NAME: ok"
