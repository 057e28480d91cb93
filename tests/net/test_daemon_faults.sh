#!/usr/bin/env bash
# fieldmeshd when things go wrong, with real processes on loopback:
#   - a laptop of another commune, and a revoked laptop, are refused at
#     hello: the reason is logged and shown by `fieldmesh peers`, and
#     nothing they sent is stored;
#   - a transfer of thousands of entries, the receiving daemon killed with
#     SIGKILL mid-stream: the store opens, `fieldmesh verify` passes, and
#     the next session completes it with nothing lost or duplicated;
#   - a laptop restored from an old copy of its store (key kept, log
#     behind what the mesh holds) fetches its own log back before writing:
#     no fork anywhere.
#
# usage: test_daemon_faults.sh BIN_DIR   (fieldmesh, fieldmeshd, fm-fill)
set -euo pipefail

BIN=${1:?usage: test_daemon_faults.sh BIN_DIR}
FM="$BIN/fieldmesh"
FMD="$BIN/fieldmeshd"
FILL="$BIN/fm-fill"
for b in "$FM" "$FMD" "$FILL"; do
  [ -x "$b" ] || { echo "test_daemon_faults: $b is not built" >&2; exit 1; }
done
NAME=test_daemon_faults
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

verify_ok() { fm "$1" verify | grep -q '^verify: ok' || fail "verify failed on $1"; }
quarantined() { status_field "$1" quarantined; }

step "a commune, its laptops, and a laptop of another commune"
fm auth authority init --commune "Tân Quang" >/dev/null
fm other authority init --commune "Xuân Giang" >/dev/null
laptop a "Lò Thị Lan" "Team 1"
laptop s "Hoàng Văn Minh" "Team 1"
laptop r "Sùng Thị Mai" "Team 2"
laptop v "Vàng A Páo" "Team 2"
AUTH=other laptop z "Giàng Seo Chứ" "Đội 1"
visit a "Nghĩa Tân" 2
visit z "Nghĩa Tân" 4
visit v "Vinh Quang" 3

step "refused at hello: another commune's laptop"
start a
before=$(status_field a entries)
start z --peer "127.0.0.1:${PORT[a]}"
wait_for "a to refuse z" log_has a "another commune"
wait_for "z to hear why" log_has z "another commune"
stop z
has_entries a "$before" || fail "a stored something from another commune's laptop"
case "$(fm a peers --json)" in *"another commune"*) ;;
  *) fail "a's peers do not show why z was refused: $(fm a peers --json)" ;; esac

step "refused at hello: a revoked laptop"
fm auth revoke "$(cat "$W/v.id")" --after-seq 0 >/dev/null
fm auth bundle export -o "$W/auth.bundle" >/dev/null
fm a bundle import "$W/auth.bundle" >/dev/null
before=$(status_field a entries)
start v --peer "127.0.0.1:${PORT[a]}"
wait_for "a to refuse v" log_has a "device revoked"
stop v
has_entries a "$before" || fail "a stored something from a revoked laptop"
case "$(fm a peers --json)" in *"device revoked"*) ;;
  *) fail "a's peers do not show why v was refused: $(fm a peers --json)" ;; esac

step "a transfer of thousands of entries, the receiver killed mid-stream"
total=$("$FILL" "$W/s" 6000)
[ "$total" = 6000 ] || fail "fm-fill wrote $total entries"
start s
start r --peer "127.0.0.1:${PORT[s]}"
got=0
t0=$SECONDS
until [ "$got" -ge 300 ]; do
  [ $((SECONDS - t0)) -lt "$DEADLINE" ] || fail "r received nothing from s"
  got=$(status_field r entries)
done
kill -9 "${PID[r]}"
wait "${PID[r]}" 2>/dev/null || true
unset "PID[r]"
got=$(status_field r entries)
echo "killed r with $got entries held"
verify_ok r
start r --peer "127.0.0.1:${PORT[s]}"
wait_for "r to complete the transfer" same_view r s
verify_ok r
verify_ok s
want=$(status_field s entries)
has_entries r "$want" || fail "r holds $(status_field r entries) entries, s $want"
[ "$(quarantined r)" = 0 ] || fail "r quarantined entries during the resumed transfer"

step "a laptop restored from an old copy of its store"
stop r
stop a
cp -a "$W/a/store" "$W/a-backup"
start a --peer "127.0.0.1:${PORT[s]}"
visit a "Vinh Quang" 5
visit a "Nghĩa Tân" 6
wait_for "s to hold a's new entries" same_view a s
seq_before=$(status_field a self_seq)
stop a
rm -rf "$W/a/store"
mv "$W/a-backup" "$W/a/store"
[ "$(status_field a self_seq)" -lt "$seq_before" ] || fail "the restored store is not behind"
start a --peer "127.0.0.1:${PORT[s]}"
wait_for "a to fetch its own log back" same_view a s
[ "$(status_field a self_seq)" = "$seq_before" ] || fail "a did not get its own entries back"
visit a "Vinh Quang" 7
wait_for "a's new entry to reach s" same_view a s
[ "$(quarantined a)" = 0 ] && [ "$(quarantined s)" = 0 ] || fail "a fork was quarantined"
verify_ok a
verify_ok s
stop a
stop s
echo "test_daemon_faults: ok"
