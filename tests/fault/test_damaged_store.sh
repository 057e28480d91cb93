#!/usr/bin/env bash
# A damaged store is a message, never a crash.  A laptop's store is cut to
# half its size, has one leaf page of its log zeroed, or has 16 bytes
# flipped at the start of such a page (with several seeds); then every
# command that reads it (status, doctor, verify, visit list, dossier list,
# report, bundle export) and the daemon must say "this laptop's store is
# damaged (...): run fieldmesh recover" and exit 1; so must a running
# daemon whose store is cut short under it as it sends its log to a peer,
# and doctor and verify when only an entry's own bytes changed.  The suite runs under
# ASan/UBSan, so a crash would fail it too; the exit code is checked
# exactly (a sanitizer's report exits with another code, a signal with
# 128+).
#
# usage: test_damaged_store.sh BIN_DIR   (fieldmesh, fieldmeshd, fm-fill, fm-damage)
set -euo pipefail
BIN=${1:?usage: test_damaged_store.sh BIN_DIR}
FM="$BIN/fieldmesh"
FMD="$BIN/fieldmeshd"
FILL="$BIN/fm-fill"
DAMAGE="$BIN/fm-damage"
for b in "$FM" "$FMD" "$FILL" "$DAMAGE"; do
  [ -x "$b" ] || { echo "test_damaged_store: $b is not built" >&2; exit 1; }
done
NAME=test_damaged_store
# shellcheck source=../net/lib.sh
. "$(dirname "$0")/../net/lib.sh"
export FIELDMESH_NOW=1700000000000
LINE="this laptop's store is damaged ("
FIX="): run fieldmesh recover"

step "a laptop with 1500 entries and a dossier"
fm auth authority init --commune "Tân Quang" >/dev/null
fm a init | tail -n1 >"$W/a.id"
fm auth enroll "$(cat "$W/a.id")" --name "Lò Thị Lan" --team "Team 1" --role member \
  --villages "Nghĩa Tân" -o "$W/a.join" >/dev/null
fm a join "$W/a.join" >/dev/null
fm a dossier add --procedure chung_thuc --village "Nghĩa Tân" --applicant-name "Lò Văn Sinh" \
  >/dev/null
[ "$("$FILL" "$W/a" 1500)" = 1501 ] || fail "fm-fill did not write 1500 entries"
fm a verify >/dev/null || fail "the healthy store does not verify"
cp -a "$W/a" "$W/healthy"

# says_damaged LABEL CMD...: exit 1 and the one line, on stderr.
says_damaged() {
  local label=$1 rc=0 err
  shift
  fm a "$@" >"$W/out" 2>"$W/err" || rc=$?
  err=$(cat "$W/err")
  [ "$rc" = 1 ] || fail "$label: \`$*\` exited $rc, not 1: $err"
  case "$err" in *"$LINE"*"$FIX"*) ;;
    *) fail "$label: \`$*\` does not say the store is damaged: $err" ;; esac
  [ "$(wc -l <"$W/err")" = 1 ] || fail "$label: \`$*\` printed more than one line: $err"
}

every_command() {
  local label=$1
  says_damaged "$label" status
  says_damaged "$label" status --json
  says_damaged "$label" doctor
  says_damaged "$label" verify
  says_damaged "$label" visit list
  says_damaged "$label" dossier list
  says_damaged "$label" report --by village
  says_damaged "$label" bundle export -o "$W/out.bundle"
  [ ! -e "$W/out.bundle" ] || fail "$label: bundle export left a bundle behind"
  # The daemon refuses to start, with the same words, and exits 1.
  local rc=0
  "$FMD" --state "$W/a" --listen off 2>"$W/d.err" || rc=$?
  [ "$rc" = 1 ] || fail "$label: fieldmeshd exited $rc, not 1: $(cat "$W/d.err")"
  grep -qF "$LINE" "$W/d.err" && grep -qF "$FIX" "$W/d.err" ||
    fail "$label: fieldmeshd does not say the store is damaged: $(cat "$W/d.err")"
}

damage() {
  rm -rf "$W/a"
  cp -a "$W/healthy" "$W/a"
  "$DAMAGE" "$@" "$W/a/store/data.mdb" >/dev/null || fail "fm-damage $* failed"
}

step "data.mdb cut to half its size"
damage cut
every_command cut

step "one zeroed page"
damage zero
every_command zero

for seed in 1 2 3 4 5; do
  step "16 bytes flipped at the start of a page (seed $seed)"
  rm -rf "$W/a"
  cp -a "$W/healthy" "$W/a"
  "$DAMAGE" flip "$W/a/store/data.mdb" "$seed" >/dev/null || fail "fm-damage flip failed"
  every_command "flip $seed"
done

for seed in 1 2 3 4; do
  step "16 bytes flipped inside one entry (seed $seed: odd its body, even its signature)"
  rm -rf "$W/a"
  cp -a "$W/healthy" "$W/a"
  "$DAMAGE" scribble "$W/a/store/data.mdb" "$seed" >/dev/null || fail "fm-damage scribble failed"
  says_damaged "scribble $seed" doctor
  says_damaged "scribble $seed" verify
done

# 16 bytes flipped at a random offset, as a disk does it: they may land in
# a page in use or a free one, in the structure, an entry or a view
# record.  Whatever they hit, no command crashes: each exits 0, or 1 with
# one line that says what to do (recover, or verify --repair for views).
for seed in $(seq 1 12); do
  step "16 bytes flipped at a random offset (seed $seed)"
  rm -rf "$W/a"
  cp -a "$W/healthy" "$W/a"
  "$DAMAGE" random "$W/a/store/data.mdb" "$seed" >/dev/null || fail "fm-damage random failed"
  for cmd in status doctor verify "visit list" "dossier list" "report --by village"; do
    rc=0
    # shellcheck disable=SC2086
    fm a $cmd >/dev/null 2>"$W/err" || rc=$?
    case "$rc" in
      0) ;;
      1) grep -qE "run fieldmesh recover|verify --repair" "$W/err" &&
           [ "$(wc -l <"$W/err")" = 1 ] ||
           fail "random $seed: \`$cmd\` failed without saying what to do: $(cat "$W/err")" ;;
      *) fail "random $seed: \`$cmd\` exited $rc: $(cat "$W/err")" ;;
    esac
  done
  rc=0
  fm a recover >/dev/null 2>"$W/err" || rc=$?
  [ "$rc" = 0 ] || fail "random $seed: recover exited $rc: $(cat "$W/err")"
  fm a verify >/dev/null 2>"$W/err" || fail "random $seed: the recovered store: $(cat "$W/err")"
done

step "the store cut short under a running daemon, mid-sync"
rm -rf "$W/a"
cp -a "$W/healthy" "$W/a"
fm b init | tail -n1 >"$W/b.id"
fm auth enroll "$(cat "$W/b.id")" --name "Hoàng Văn Minh" --team "Team 1" --role member \
  --villages "Nghĩa Tân" -o "$W/b.join" >/dev/null
fm b join "$W/b.join" >/dev/null
start a
truncate -s $(( $(stat -c %s "$W/a/store/data.mdb") / 2 )) "$W/a/store/data.mdb"
start b --peer "127.0.0.1:${PORT[a]}"
# a must read its log to send it to b, and finds half of it gone.
rc=0
wait "${PID[a]}" || rc=$?
unset "PID[a]"
[ "$rc" = 1 ] || fail "the daemon exited $rc on a store cut under it, not 1"
log_has a "$LINE" && log_has a "$FIX" || fail "the daemon did not say its store is damaged"
stop b

step "the healthy copy still opens and verifies"
rm -rf "$W/a"
cp -a "$W/healthy" "$W/a"
fm a verify | grep -q '^verify: ok' || fail "the healthy store no longer verifies"
echo "$NAME: ok"
