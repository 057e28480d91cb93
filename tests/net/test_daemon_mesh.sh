#!/usr/bin/env bash
# fieldmeshd end to end on loopback, with real processes:
#   - refusals: a laptop that has not joined, a bad config value, a second
#     daemon on the same state folder;
#   - two daemons converge when each holds entries the other lacks;
#   - three in a line, A - B - C (A and C know only B): an entry written on
#     A with the CLI reaches C through B while every session stays up;
#   - `fieldmesh peers` and `fieldmesh sync`, when the CLI has them;
#   - a peer that breaks the protocol (tests/net/hostile_client.c) is
#     dropped with the reason logged, and the daemon carries on;
#   - SIGTERM: bye to every peer, exit 0, the control socket removed.
#
# Every wait polls with a 60 s deadline: nothing depends on how fast the
# machine is.  Ports come from a base derived from $$ and are retried when
# taken.  The trap kills the daemons this script started (by pid) and
# removes the temporary folder.
#
# usage: test_daemon_mesh.sh BIN_DIR      (the folder holding fieldmesh and fieldmeshd)
set -euo pipefail

BIN=${1:?usage: test_daemon_mesh.sh BIN_DIR}
FM="$BIN/fieldmesh"
FMD="$BIN/fieldmeshd"
for b in "$FM" "$FMD"; do
  [ -x "$b" ] || { echo "test_daemon_mesh: $b is not built" >&2; exit 1; }
done

NAME=test_daemon_mesh
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

step "an authority and three enrolled laptops"
fm auth authority init --commune "Tân Quang" >/dev/null
for n in a b c; do fm "$n" init | tail -n1 >"$W/$n.id"; done
fm auth enroll "$(cat "$W/a.id")" --name "Lò Thị Lan" --team "Team 1" --role member \
  --villages "Nghĩa Tân,Vinh Quang" -o "$W/a.join" >/dev/null
fm auth enroll "$(cat "$W/b.id")" --name "Hoàng Văn Minh" --team "Team 1" --role leader \
  --villages "Nghĩa Tân,Vinh Quang" -o "$W/b.join" >/dev/null
fm auth enroll "$(cat "$W/c.id")" --name "Sùng Thị Mai" --team "Team 2" --role member \
  --villages "Xuân Hòa,Tân Lâm" -o "$W/c.join" >/dev/null
for n in a b c; do fm "$n" join "$W/$n.join" >/dev/null; done

step "refusals: not enrolled, a bad config value"
fm x init >/dev/null
rc=0
out=$("$FMD" --state "$W/x" --listen 127.0.0.1:1 2>&1) || rc=$?
[ "$rc" -eq 1 ] || fail "a laptop that has not joined: exit $rc, expected 1"
[ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] || fail "expected one line, got: $out"
case "$out" in *"not enrolled: run \`fieldmesh join FILE\` first"*) ;;
  *) fail "the refusal does not say to join: $out" ;; esac
printf '[sync]\nwindow_kib = lots\n' >"$W/bad.conf"
rc=0
out=$("$FMD" --state "$W/a" --config "$W/bad.conf" 2>&1) || rc=$?
[ "$rc" -eq 2 ] || fail "a bad config value: exit $rc, expected 2"
case "$out" in *"[sync] window_kib = \"lots\""*"whole number"*) ;;
  *) fail "the config error does not name section, key, value and fix: $out" ;; esac

step "two laptops that each hold entries the other lacks"
visit a "Nghĩa Tân" 3
visit a "Vinh Quang" 2
visit a "Nghĩa Tân" 5
visit b "Vinh Quang" 1
visit b "Nghĩa Tân" 4
has_entries a 3 && has_entries b 2 || fail "the laptops do not start with 3 and 2 entries"
start a
start b --peer "127.0.0.1:${PORT[a]}"
wait_for "a and b to converge" same_view a b
has_entries a 5 || fail "a holds $(status_field a entries) entries after the exchange, expected 5"
wait_for "b to log catching up with a (3 in, 2 out)" \
  log_has b "peer 127.0.0.1:${PORT[a]} (Lò Thị Lan, Team 1) caught up: 3 in, 2 out"

step "a second daemon on the same state folder is refused"
rc=0
out=$("$FMD" --state "$W/a" --listen "127.0.0.1:$NEXT_PORT" 2>&1) || rc=$?
[ "$rc" -eq 1 ] || fail "a second daemon on a: exit $rc, expected 1"
case "$out" in *"another fieldmeshd is running"*) ;; *) fail "unexpected refusal: $out" ;; esac
[ -S "$W/a/fieldmeshd.sock" ] || fail "the refused daemon removed the running one's socket"

step "three in a line: a - b - c"
start c --peer "127.0.0.1:${PORT[b]}"
wait_for "c to catch up with b" same_view a b c
links_before=$(( $(count_in_log a "connected (") + $(count_in_log b "connected (") + \
                 $(count_in_log c "connected (") ))
[ "$links_before" -eq 4 ] || fail "expected 4 'connected' lines (a-b, c-b from both ends), got $links_before"

step "an entry written on a reaches c through b, every session up"
visit a "Vinh Quang" 9
wait_for "the new entry to reach c" has_entries c 6
wait_for "a, b and c to agree" same_view a b c
links_after=$(( $(count_in_log a "connected (") + $(count_in_log b "connected (") + \
                $(count_in_log c "connected (") ))
[ "$links_after" -eq "$links_before" ] || fail "sessions were re-established during the relay"
for n in a b c; do
  ! log_has "$n" "disconnected" || fail "$n logged a disconnect during the relay"
done

if fm a peers --help >/dev/null 2>&1; then
  step "fieldmesh peers and fieldmesh sync"
  pj=$(fm b peers --json)
  case "$pj" in *'"addr":"127.0.0.1:'"${PORT[a]}"'","origin":"static"'*) ;;
    *) fail "b's peers do not list a as a static peer: $pj" ;; esac
  case "$pj" in *'"name":"Lò Thị Lan","team":"Team 1","state":"live"'*) ;;
    *) fail "b's peers do not show Lan live: $pj" ;; esac
  case "$pj" in *'"name":"Sùng Thị Mai","team":"Team 2","state":"live"'*) ;;
    *) fail "b's peers do not show Mai (incoming) live: $pj" ;; esac
  [ "$(jfield "$pj" caught_up_at)" != null ] || fail "no last exchange in b's peers: $pj"
  fm b peers | grep -q "Lò Thị Lan (Team 1)" || fail "the peers table does not name Lan"
  out=$(fm c sync "127.0.0.1:${PORT[a]}") || fail "c could not sync with a"
  case "$out" in *"connected to Lò Thị Lan (Team 1)"*) ;; *) fail "sync said: $out" ;; esac
  pj=$(fm c peers --json)
  case "$pj" in *'"origin":"manual","device_id":"'"$(cat "$W/a.id")"'"'*) ;;
    *) fail "c's peers do not show a as a manual peer: $pj" ;; esac
  rc=0
  out=$(fm c sync 127.0.0.1:1 2>&1) || rc=$?   # tcpmux: nobody listens there
  [ "$rc" -eq 1 ] || fail "sync to a closed port: exit $rc, expected 1 ($out)"
  case "$out" in *"cannot sync with"*) ;; *) fail "sync to a closed port said: $out" ;; esac
  visit c "Xuân Hòa" 2
  wait_for "c's new entry to reach a and b" same_view a b c
  sj=$(fm c status --json)
  case "$sj" in
    *'"daemon":{"running":true'*) [ "$(jfield "$sj" only_here)" = 0 ] ||
        fail "c's own entries are still 'only here' after reaching a and b: $sj" ;;
    *) echo "note: fieldmesh status does not show the daemon yet (cli/cmd_status.c)" ;;
  esac
else
  echo "note: fieldmesh has no peers/sync commands yet (cli/main.c): skipping those checks"
fi

if [ -x "$BIN/fm-hostile" ]; then
  step "a laptop that breaks the protocol is dropped with the reason logged"
  fm h init | tail -n1 >"$W/h.id"
  fm auth enroll "$(cat "$W/h.id")" --name "Vàng A Páo" --team "Team 2" --role member \
    -o "$W/h.join" >/dev/null
  fm h join "$W/h.join" >/dev/null
  for mode in garbage oversized badsig unknown unenrolled; do
    said=$("$BIN/fm-hostile" "$W/h" "127.0.0.1:${PORT[a]}" "$mode") ||
      fail "a did not drop a peer sending $mode"
    [ -n "$said" ] || fail "a dropped the $mode peer without saying why"
    wait_for "a to log why it dropped the $mode peer" log_has a "$said"
  done
  kill -0 "${PID[a]}" 2>/dev/null || fail "a died of a hostile peer"
  has_entries a "$(status_field b entries)" || fail "a hostile peer changed a's entries"
  [ "$(count_in_log a "disconnected")" -eq 4 ] ||
    fail "expected 4 disconnects on a (the admitted hostile sessions), got $(count_in_log a disconnected)"
  if fm a peers --help >/dev/null 2>&1; then
    case "$(fm a peers --json)" in *'"name":"Vàng A Páo"'*'"failures":4'*) ;;
      *) fail "a's peers do not count 4 failures for the hostile laptop: $(fm a peers --json)" ;;
    esac
  fi
fi

step "SIGTERM: a clean shutdown"
stop b
wait_for "a to hear b's bye" log_has a "peer said bye: shutting down"
wait_for "c to hear b's bye" log_has c "peer said bye: shutting down"
stop a
stop c
echo "test_daemon_mesh: ok"
