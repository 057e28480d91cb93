# Shared by the gateway's integration tests: a commune (an authority,
# laptops, a gateway), config files, a real PostgreSQL server in the
# test's folder, and waits on what `fieldmesh status --json` says about
# forwarding.  Source it after setting BIN and NAME; it sources
# tests/net/lib.sh (temporary folder, ports, daemons, polling).
FM="$BIN/fieldmesh"
FMD="$BIN/fieldmeshd"
for b in "$FM" "$FMD"; do
  [ -x "$b" ] || { echo "$NAME: $b is not built" >&2; exit 1; }
done
# shellcheck source=../net/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../net/lib.sh"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PY=${PYTHON:-python3}

PG_BIN= PG_DATA= PG_SOCK= PG_AS=()
EXTRA_PIDS=()
gw_cleanup() {
  local p
  for p in "${EXTRA_PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  [ -n "$PG_DATA" ] && [ -f "$PG_DATA/postmaster.pid" ] &&
    "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate -w stop >/dev/null 2>&1
  cleanup
}
trap gw_cleanup EXIT

# commune: an authority and the named devices, each "name:role:team".
commune() {
  local spec n role team
  fm auth authority init --commune "Tân Quang" >/dev/null
  for spec in "$@"; do
    IFS=: read -r n role team <<<"$spec"
    fm "$n" init | tail -n1 >"$W/$n.id"
    fm auth enroll "$(cat "$W/$n.id")" --name "Máy $n" --team "$team" --role "$role" \
      --villages "Nghĩa Tân,Vinh Quang,Xuân Hòa" -o "$W/$n.join" >/dev/null
    fm "$n" join "$W/$n.join" >/dev/null
  done
}

# conf NAME [LINES...]: W/NAME.conf with discovery off (the tests choose
# who meets whom), quick redials, and the given lines (e.g. an [upstream]).
conf() {
  local name=$1
  shift
  {
    printf '[discovery]\nenabled = no\n[sync]\nreconnect_min_ms = 100\nreconnect_max_ms = 1000\n'
    printf '%s\n' "$@"
  } >"$W/$name.conf"
}

# sink_field NAME SINK KEY: KEY of SINK's forwarding status on NAME.
sink_field() {
  fm "$1" status --json | "$PY" -c '
import json, sys
st = json.load(sys.stdin)
for s in st.get("forwarding", []):
    if s["sink"] == sys.argv[1] and s["active"]:
        print(s[sys.argv[2]]); break
' "$2" "$3"
}
# none_waiting NAME: none of NAME's own entries waits for a receipt.
none_waiting() { [ "$(status_field "$1" waiting_receipt)" = 0 ]; }
sink_caught_up() { [ "$(sink_field "$1" "$2" pending)" = 0 ] && [ "$(sink_field "$1" "$2" in_flight)" = False ]; }
# Every entry the gateway holds was forwarded, and the receipts too.
forwarded_all() {
  local name=$1 s
  shift
  for s in "$@"; do sink_caught_up "$name" "$s" || return 1; done
  # The store may still gain receipts a moment after the last batch.
  sleep 0.3
  for s in "$@"; do sink_caught_up "$name" "$s" || return 1; done
}

# ---- PostgreSQL in the test's folder ------------------------------------------------

# pg_start: initdb (first time) and a server on a Unix socket in W/pg.
# As root, the server runs as the postgres user (it refuses root).
pg_start() {
  if [ -z "$PG_BIN" ]; then
    PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
    [ -x "$PG_BIN/initdb" ] || fail "no PostgreSQL server (apt-get install postgresql): run scripts/setup.sh"
    PG_DATA="$W/pg/data"
    PG_SOCK="$W/pg/sock"
    mkdir -p "$W/pg/sock"
    if [ "$(id -u)" = 0 ]; then
      id postgres >/dev/null 2>&1 || fail "running as root, but there is no postgres user to run the server"
      chmod 711 "$W"
      chown -R postgres "$W/pg"
      PG_AS=(runuser -u postgres --)
    fi
    "${PG_AS[@]}" "$PG_BIN/initdb" -D "$PG_DATA" -A trust -U postgres -E UTF8 --no-locale \
      --no-sync >"$W/pg/initdb.log" 2>&1 || { cat "$W/pg/initdb.log" >&2; fail "initdb"; }
  fi
  "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$W/pg/server.log" -w -o \
    "-k $PG_SOCK -c listen_addresses= -c fsync=off -c max_connections=20" start >/dev/null ||
    { cat "$W/pg/server.log" >&2; fail "pg_ctl start"; }
  if ! pg_q "SELECT 1 FROM pg_database WHERE datname = 'fieldmesh'" postgres | grep -q 1; then
    pg_q "CREATE DATABASE fieldmesh" postgres >/dev/null
  fi
}
pg_stop() { "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null; }
# pg_q SQL [DB]: one query, unaligned tuples.
pg_q() { "$PG_BIN/psql" -X -q -At -h "$PG_SOCK" -U postgres -d "${2:-fieldmesh}" -c "$1"; }
pg_conninfo() { echo "host=$PG_SOCK dbname=fieldmesh user=postgres"; }

# Every (sink, author, seq) named by at most one receipt item, and every
# entry of the log but receipts named once per sink: the rows of the
# PostgreSQL copy of the gateway's receipts.
pg_receipt_check() {
  local sink=$1 total_plain=$2 dup items
  dup=$(pg_q "SELECT count(*) FROM (SELECT g->>0, (i->>0)::bigint, count(*) FROM entries e,
          jsonb_array_elements(e.body->'items') g, jsonb_array_elements(g->1) i
          WHERE e.kind = 'receipt' AND e.body->>'sink' = '$sink'
          GROUP BY 1, 2 HAVING count(*) > 1) d")
  [ "$dup" = 0 ] || fail "$dup entries have more than one $sink receipt"
  items=$(pg_q "SELECT count(*) FROM entries e, jsonb_array_elements(e.body->'items') g,
            jsonb_array_elements(g->1) i WHERE e.kind = 'receipt' AND e.body->>'sink' = '$sink'")
  [ "$items" = "$total_plain" ] || fail "$items $sink receipt items for $total_plain entries"
}
