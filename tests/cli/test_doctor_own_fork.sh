#!/usr/bin/env bash
# A laptop restored from an old copy and used before it synced forks its
# own records: the mesh holds other records with the numbers it wrote.
# fieldmesh doctor must say so in plain words (both copies kept, it will
# not catch up by itself, keep a bundle, tell the administrator) and must
# not promise that connecting fetches its records back.
#
# usage: test_doctor_own_fork.sh BIN_DIR
set -euo pipefail
BIN=${1:?usage: test_doctor_own_fork.sh BIN_DIR}
FM="$BIN/fieldmesh"
FMD="$BIN/fieldmeshd"
NAME=test_doctor_own_fork
# shellcheck source=../net/lib.sh
. "$(dirname "$0")/../net/lib.sh"

export FIELDMESH_NOW=1700000000000          # 2023-11-14, fixed

laptop() {
  fm "$1" init | tail -n1 >"$W/$1.id"
  fm auth enroll "$(cat "$W/$1.id")" --name "$2" --team "$3" --role member \
    --villages "Nghĩa Tân" -o "$W/$1.join" >/dev/null
  fm "$1" join "$W/$1.join" >/dev/null
}
# carry FROM TO: everything FROM holds that TO lacks, by bundle.
carry() {
  fm "$2" vector export -o "$W/carry.vec" >/dev/null
  fm "$1" bundle export --for "$W/carry.vec" -o "$W/carry.bundle" >/dev/null
  fm "$2" bundle import "$W/carry.bundle" >/dev/null
}

step "a commune, two laptops in sync"
fm auth authority init --commune "Tân Quang" >/dev/null
laptop a "Lò Thị Lan" "Team 1"
laptop b "Hoàng Văn Minh" "Team 1"
fm auth bundle export -o "$W/auth.bundle" >/dev/null
for n in a b; do fm "$n" bundle import "$W/auth.bundle" >/dev/null; done
visit a "Nghĩa Tân" 2
carry a b
carry b a

step "a is backed up, records more, and b gets them"
cp -a "$W/a/store" "$W/a-old"
visit a "Nghĩa Tân" 3
visit a "Nghĩa Tân" 4
carry a b

step "a is restored from the backup and records offline: its log forks"
rm -rf "$W/a/store"
mv "$W/a-old" "$W/a/store"
visit a "Nghĩa Tân" 9
carry b a                                   # b's copies of a's later records
out=$(fm a doctor) && fail "doctor on a exited 0 after its own log forked: $out"
for t in "own records forked" "will not catch up by itself" "bundle export" \
         "commune administrator"; do
  case "$out" in *"$t"*) ;; *) fail "doctor on a does not say \"$t\": $out" ;; esac
done
case "$out" in *"it will fetch its own records back"*)
  fail "doctor on a promises a catch-up that cannot happen: $out" ;; esac
# The other laptop's own records are not a fork of its own.
out=$(fm b doctor) || true
case "$out" in *"own records forked"*) fail "doctor on b names a fork of b's own records: $out" ;; esac
echo "test_doctor_own_fork: ok"
