#!/usr/bin/env bash
# fieldmesh demo: a local mesh of three team laptops of Tân Quang commune
# (Hà Giang), each a real fieldmeshd with its own state folder and port on
# this machine's loopback.  Lan (Team 1) and Páo (Team 2) both reach Minh
# (Team 1, the team leader) but not each other, as in a village where only
# the leader's phone hotspot is shared.  Each records visits and dossiers,
# and Páo attaches the scan of a family's application form; the daemons
# exchange what the others lack and push new entries live, and
# all three end with the same view digest.  Then Minh brings his laptop to
# the commune hall, where a gateway daemon writes every record to a spool
# folder (the scan as a file beside the records, named by its hash) and
# signs receipts: the receipt for Páo's dossier travels back through Minh,
# and `dossier show` on Páo's laptop says it was delivered.
# Then the daemons stop.
#
#   bash scripts/demo.sh        (installs what is missing and builds first)
#
# Everything happens in a temporary folder that is removed at the end.
# Exits non-zero if the laptops do not agree within 60 s.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
# FIELDMESH_BIN_DIR: run those binaries as they are; else build/ is brought
# up to date (quick when nothing changed), so the demo never runs stale code.
if [ -n "${FIELDMESH_BIN_DIR:-}" ]; then
  BIN=$FIELDMESH_BIN_DIR
else
  echo "demo: building fieldmesh (cmake --build build --target fieldmesh fieldmeshd)"
  [ -f build/CMakeCache.txt ] || cmake -B build >/dev/null
  cmake --build build -j2 --target fieldmesh fieldmeshd >/dev/null
  BIN=build/bin
fi
[ -x "$BIN/fieldmesh" ] && [ -x "$BIN/fieldmeshd" ] || { echo "demo: no fieldmesh in $BIN" >&2; exit 1; }
BIN=$(cd "$BIN" && pwd)

W=$(mktemp -d)
declare -A PID PORT
cleanup() {
  local p
  for p in "${PID[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT

if [ -t 1 ]; then B=$'\033[1m' D=$'\033[2m' N=$'\033[0m'; else B= D= N=; fi
say() { printf '\n%s== %s%s\n' "$B" "$*" "$N"; }
on() {
  local who=$1 shown="" a
  shift
  for a in "$@"; do
    case "$a" in *" "*) shown+=" \"$a\"" ;; *) shown+=" $a" ;; esac
  done
  printf '%s%s$ fieldmesh%s%s\n' "$D" "$who" "$shown" "$N"
  "$BIN/fieldmesh" --state "$W/$who" "$@"
}
quiet() { "$BIN/fieldmesh" --state "$W/$1" "${@:2}"; }
last() { tail -n1; }
digest() { quiet "$1" status --json | sed -n 's/.*"view_digest":"\([0-9a-f]*\)".*/\1/p'; }

# A loopback port nobody answers on (bash's /dev/tcp: no other tool needed).
free_port() {
  local p
  while :; do
    p=$(( 20000 + RANDOM % 30000 ))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
}

# start WHO [--peer HOST:PORT]: starts WHO's daemon, logs in W/WHO.log.
start() {
  local who=$1
  shift
  PORT[$who]=$(free_port)
  printf '%s%s$ fieldmeshd --listen 127.0.0.1:%s %s%s\n' "$D" "$who" "${PORT[$who]}" "$*" "$N"
  "$BIN/fieldmeshd" --state "$W/$who" --listen "127.0.0.1:${PORT[$who]}" "$@" 2>"$W/$who.log" &
  PID[$who]=$!
  for _ in $(seq 100); do
    grep -q "fieldmeshd started" "$W/$who.log" && return 0
    kill -0 "${PID[$who]}" 2>/dev/null || break
    sleep 0.1
  done
  echo "demo: $who's daemon did not start:" >&2
  cat "$W/$who.log" >&2
  exit 1
}

say "The commune administrator creates the authority; three laptops join"
on admin authority init --commune "Tân Quang"
for who in lan minh pao; do quiet "$who" init | last >"$W/$who.id"; done
on admin enroll "$(cat "$W/lan.id")" --name "Lò Thị Lan" --team "Team 1" --role member \
  --villages "Nghĩa Tân,Vinh Quang" -o "$W/lan.join" >/dev/null
on admin enroll "$(cat "$W/minh.id")" --name "Hoàng Văn Minh" --team "Team 1" --role leader \
  --villages "Nghĩa Tân,Vinh Quang,Tân Tiến" -o "$W/minh.join" >/dev/null
on admin enroll "$(cat "$W/pao.id")" --name "Vàng A Páo" --team "Team 2" --role member \
  --villages "Xuân Hòa,Mục Lạn" -o "$W/pao.join" >/dev/null
for who in lan minh pao; do on "$who" join "$W/$who.join" >/dev/null; done

say "Before they meet, each records the morning's work"
on lan visit add --village "Nghĩa Tân" --mode home --citizens 3 \
  --services account_created,eid_activated --place "nhà ông Sùng A Chứ" | last
on lan dossier add --procedure chung_thuc --applicant-name "Sùng A Páo" \
  --applicant-id 002085001234 --village "Nghĩa Tân" | last
on minh visit add --village "Tân Tiến" --mode one_stop --citizens 14 \
  --services dossier_submitted,payment_guided | last
on pao visit add --village "Xuân Hòa" --mode village_point --citizens 9 \
  --services eid_activated,app_installed --place "nhà văn hóa thôn" | last
FAMILY=$(on pao dossier add --procedure gia_dinh_van_hoa --applicant-name "Hộ Lý Văn Sinh" \
  --village "Mục Lạn" | last)
echo "$FAMILY"
# The family's application form, scanned: 300 KB travels in sealed chunks
# after the records, and reaches the commune's system as a file.
head -c 300000 /dev/urandom >"$W/don-gia-dinh.jpg"
on pao dossier attach "$FAMILY" "$W/don-gia-dinh.jpg" --kind application_form

say "Minh's hotspot: Lan and Páo reach Minh, not each other"
start minh
start lan --peer "127.0.0.1:${PORT[minh]}"
start pao --peer "127.0.0.1:${PORT[minh]}"

agree() { local a; a=$(digest lan); [ -n "$a" ] && [ "$a" = "$(digest minh)" ] && [ "$a" = "$(digest pao)" ]; }
wait_agree() {
  for _ in $(seq 600); do agree && return 0; sleep 0.1; done
  echo "demo: FAILED: the laptops did not agree within 60 s" >&2
  for who in lan minh pao; do echo "--- $who.log" >&2; tail -n 15 "$W/$who.log" >&2; done
  exit 1
}
wait_agree
echo "all three agree: $(digest minh)"

say "While connected, Páo moves a dossier on and Lan records a visit: pushed live"
on pao dossier status "$FAMILY" submitted --note "nộp tại bộ phận một cửa"
on lan visit add --village "Vinh Quang" --mode home --citizens 2 \
  --services result_received | last
wait_agree

say "At the commune hall: a gateway forwards every record to a spool folder"
quiet hall init | last >"$W/hall.id"
on admin enroll "$(cat "$W/hall.id")" --name "Cổng xã Tân Quang" --team "Commune hall" \
  --role gateway -o "$W/hall.join" >/dev/null
quiet hall join "$W/hall.join" >/dev/null
printf '[upstream]\nspool = %s\nlinger_ms = 500\n' "$W/spool" >"$W/hall.conf"
start hall --config "$W/hall.conf"
on minh sync "127.0.0.1:${PORT[hall]}" >/dev/null
delivered() { quiet pao dossier show "$FAMILY" --json | grep -q '"upstream":{"delivered":true'; }
for _ in $(seq 600); do delivered && break; sleep 0.1; done
delivered || { echo "demo: FAILED: no receipt reached Páo within 60 s" >&2; tail -n 20 "$W/hall.log" >&2; exit 1; }
scanned() { ls "$W/spool" | grep -q '\.scan$'; }
for _ in $(seq 600); do scanned && break; sleep 0.1; done
scanned || { echo "demo: FAILED: the scan did not reach the spool within 60 s" >&2; tail -n 20 "$W/hall.log" >&2; exit 1; }
ls "$W/spool"
head -c 300 "$W/spool/$(ls "$W/spool" | grep ndjson | head -n1)"; echo " ..."
cmp "$W/don-gia-dinh.jpg" "$W/spool/$(ls "$W/spool" | grep '\.scan$' | head -n1)" &&
  echo "the scan Páo attached is in the spool, byte for byte"
echo
echo "Páo's laptop, two hops from the gateway, got the receipt:"
on pao dossier show "$FAMILY"
on pao status | grep -E '^(upstream|own scans)'
on hall status | grep '^forwarding'

say "Minh's view of the mesh"
on minh peers
echo
on minh status

say "Lan's laptop, and the dossiers all three now hold"
on lan status
echo
on lan dossier list
echo
on pao report --by team

say "The daemons stop (SIGTERM: bye to every peer, store closed)"
for who in lan pao minh hall; do
  kill -TERM "${PID[$who]}"
  wait "${PID[$who]}"
  unset "PID[$who]"
  grep -h "stopped cleanly" "$W/$who.log" | sed "s/^/$who: /"
done
say "Same view digest on all three laptops: $(digest lan)"
