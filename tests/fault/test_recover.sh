#!/usr/bin/env bash
# `fieldmesh recover` and then a sync bring every entry back.  Laptop a
# (1,500 entries of its own and a dossier) and laptop b have synced; then
# a's store is damaged -- cut to half, one page zeroed, 16 bytes flipped on
# a page, 16 bytes flipped in one entry's signature -- and for each:
#   - recover exits 0, keeps the damaged store aside byte for byte, says
#     what it could not save, and the fresh store verifies;
#   - while own entries are missing, a refuses to record (it would fork);
#   - a sync with b's healthy daemon restores every entry: the same entry
#     count and view digest on both, verify passes, and a records again.
#
# usage: test_recover.sh BIN_DIR   (fieldmesh, fieldmeshd, fm-fill, fm-damage)
set -euo pipefail
BIN=${1:?usage: test_recover.sh BIN_DIR}
FM="$BIN/fieldmesh"
FMD="$BIN/fieldmeshd"
FILL="$BIN/fm-fill"
DAMAGE="$BIN/fm-damage"
for b in "$FM" "$FMD" "$FILL" "$DAMAGE"; do
  [ -x "$b" ] || { echo "test_recover: $b is not built" >&2; exit 1; }
done
NAME=test_recover
# shellcheck source=../net/lib.sh
. "$(dirname "$0")/../net/lib.sh"


step "two laptops that have synced"
fm auth authority init --commune "Tân Quang" >/dev/null
laptop a "Lò Thị Lan"
laptop b "Hoàng Văn Minh"
fm auth bundle export -o "$W/auth.bundle" >/dev/null
for n in a b; do fm "$n" bundle import "$W/auth.bundle" >/dev/null; done
fm a dossier add --procedure chung_thuc --village "Nghĩa Tân" --applicant-name "Lò Văn Sinh" \
  >/dev/null
[ "$("$FILL" "$W/a" 1500)" = 1501 ] || fail "fm-fill did not write 1500 entries"
visit b "Nghĩa Tân" 3
start b
start a --peer "127.0.0.1:${PORT[b]}"
wait_for "a and b to agree" same_view a b
stop a
stop b
total=$(status_field a entries)
digest=$(status_field b view_digest)
cp -a "$W/a" "$W/a.healthy"

for how in cut zero "flip 2" "scribble 2"; do
  step "recover after: $how"
  rm -rf "$W/a"
  cp -a "$W/a.healthy" "$W/a"
  # shellcheck disable=SC2086
  set -- $how
  "$DAMAGE" "$1" "$W/a/store/data.mdb" ${2:-} >/dev/null || fail "fm-damage $how failed"
  before=$(sha256sum <"$W/a/store/data.mdb")
  rc=0
  fm a doctor >/dev/null 2>"$W/err" || rc=$?
  [ "$rc" = 1 ] && grep -qF "run fieldmesh recover" "$W/err" ||
    fail "$how: doctor does not find the damage ($rc): $(cat "$W/err")"

  rc=0
  out=$(fm a recover 2>"$W/err") || rc=$?
  [ "$rc" = 0 ] || fail "$how: recover exited $rc: $out $(cat "$W/err")"
  case "$out" in *"the damaged store is kept in"*"nothing was deleted"*) ;;
    *) fail "$how: recover does not say where the damaged store is: $out" ;; esac
  case "$out" in *"could not save:"*"of Lò Thị Lan"*"this laptop's own"*"next sync"*) ;;
    *) fail "$how: recover does not say what it could not save: $out" ;; esac
  kept=$(ls -d "$W"/a/store.damaged-*)
  [ "$(sha256sum <"$kept/data.mdb")" = "$before" ] || fail "$how: the damaged store was changed"
  fm a verify >/dev/null || fail "$how: the fresh store does not verify"
  saved=$(status_field a entries)
  [ "$saved" -gt 0 ] && [ "$saved" -lt "$total" ] ||
    fail "$how: the fresh store holds $saved of $total entries"

  rc=0
  visit a "Nghĩa Tân" 1 2>"$W/err" || rc=$?
  [ "$rc" = 1 ] || fail "$how: a recorded a visit with its own entries missing (a fork): $out"

  start b
  start a --peer "127.0.0.1:${PORT[b]}"
  wait_for "a to get every entry back ($how)" has_entries a "$total"
  wait_for "a and b to agree ($how)" same_view a b
  [ "$(status_field a view_digest)" = "$digest" ] || fail "$how: a's views differ from b's"
  stop a
  stop b
  fm a verify >/dev/null || fail "$how: verify fails after the sync"
  visit a "Nghĩa Tân" 1 || fail "$how: a cannot record after the sync"
done

step "recover refuses while the daemon runs"
start a
rc=0
fm a recover >/dev/null 2>"$W/err" || rc=$?
[ "$rc" = 1 ] && grep -qF "fieldmeshd is running" "$W/err" ||
  fail "recover ran beside a running daemon ($rc): $(cat "$W/err")"
stop a
echo "$NAME: ok"
