#!/usr/bin/env bash
# fieldmesh doctor names every problem in words a member understands, and
# exits 1 when there is one:
#   - a fork (one key on two laptops writing different records),
#   - another laptop whose clock is three days ahead (said, with whose it
#     is, but not this laptop's problem),
#   - records from a revoked laptop (a note, not a problem),
#   - a laptop restored from an old copy, behind its own records,
#   - a peer that keeps failing,
#   - a nearly full disk (on a small tmpfs; skipped, with a message, when
#     this machine does not let us mount one),
#   - a laptop that has not joined.
#
# usage: test_doctor.sh BIN_DIR
set -euo pipefail
BIN=${1:?usage: test_doctor.sh BIN_DIR}
FM="$BIN/fieldmesh"
FMD="$BIN/fieldmeshd"
NAME=test_doctor
# shellcheck source=../net/lib.sh
. "$(dirname "$0")/../net/lib.sh"

export FIELDMESH_NOW=1700000000000          # 2023-11-14, fixed
DAY=86400000

# doctor_says WHO EXPECTED_RC TEXT...: doctor's exit code and words.
doctor_says() {
  local who=$1 want=$2 out rc=0 t
  shift 2
  out=$(fm "$who" doctor) || rc=$?
  [ "$rc" = "$want" ] || fail "doctor on $who exited $rc, expected $want: $out"
  for t in "$@"; do
    case "$out" in *"$t"*) ;; *) fail "doctor on $who does not say \"$t\": $out" ;; esac
  done
}

step "a commune and a healthy laptop"
fm auth authority init --commune "Tân Quang" >/dev/null
laptop a "Lò Thị Lan" "Team 1"
laptop b "Hoàng Văn Minh" "Team 1"
laptop c "Vàng A Páo" "Team 2"
fm auth bundle export -o "$W/auth.bundle" >/dev/null
for n in a b c; do fm "$n" bundle import "$W/auth.bundle" >/dev/null; done
visit a "Nghĩa Tân" 2
carry a b
carry b a
doctor_says a 0 "No problems found" "daemon not running"

step "a laptop that has not joined"
fm x init >/dev/null
doctor_says x 1 "not joined a commune" "fieldmesh join FILE"

step "a clock three days ahead"
FIELDMESH_NOW=$((FIELDMESH_NOW + 3 * DAY)) visit c "Nghĩa Tân" 4
carry c a
doctor_says a 0 "another laptop's clock" "Vàng A Páo (Team 2)" "3.0 days ahead" \
  "nothing to do on this laptop"

step "one key on two laptops: a fork"
cp -a "$W/b" "$W/b2"                       # the same key and store, copied
visit b "Nghĩa Tân" 1
visit b2 "Nghĩa Tân" 7                     # same number, different record
carry b a
fm b2 bundle export -o "$W/b2.bundle" >/dev/null   # everything, b2's record 1 too
fm a bundle import "$W/b2.bundle" >/dev/null
doctor_says a 1 "fork" "Hoàng Văn Minh (Team 1)" "revoked"

step "records from a revoked laptop are a note"
doctor_says c 0 "only on this laptop"
fm auth revoke "$(cat "$W/c.id")" --after-seq 0 >/dev/null
fm auth bundle export -o "$W/auth.bundle" >/dev/null
fm b bundle import "$W/auth.bundle" >/dev/null
carry c b
out=$(fm b doctor --json) || true
case "$out" in *'"level":"note","what":"from revoked laptops"'*) ;;
  *) fail "b's doctor does not note the revoked laptop's records: $out" ;; esac
fm c bundle import "$W/auth.bundle" >/dev/null
doctor_says c 1 "revoked by the commune administrator"

step "a laptop restored from an old copy"
cp -a "$W/a/store" "$W/a-old"
visit a "Nghĩa Tân" 3
carry a b
rm -rf "$W/a/store"
mv "$W/a-old" "$W/a/store"
# A bundle from b that holds none of a's records (exported for b itself)
# still carries b's vector: a learns it is behind.
fm b vector export -o "$W/b.vec" >/dev/null
fm b bundle export --for "$W/b.vec" -o "$W/empty.bundle" >/dev/null
fm a bundle import "$W/empty.bundle" >/dev/null
doctor_says a 1 "behind its own records" "Do not record anything yet"

step "a peer that keeps failing"
start b --peer 127.0.0.1:1
wait_for "b to fail to reach its peer 3 times" \
  sh -c "\"$FM\" --state \"$W/b\" peers --json | grep -q '\"failures\":[3-9]'"
doctor_says b 1 "peer keeps failing" "127.0.0.1:1"
stop b

step "a nearly full disk"
if [ "$(id -u)" = 0 ] && mkdir -p "$W/small" && mount -t tmpfs -o size=64m tmpfs "$W/small" 2>/dev/null; then
  cp -a "$W/c" "$W/small/c"
  doctor_says small/c 1 "disk nearly full"
  umount "$W/small"
else
  echo "note: cannot mount a small tmpfs here (needs root): the full-disk check is not exercised"
fi
echo "test_doctor: ok"
