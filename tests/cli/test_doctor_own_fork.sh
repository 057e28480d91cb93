#!/usr/bin/env bash
# A laptop restored from an old copy and used before it synced forks its
# own records: the mesh holds other records with the numbers it wrote.
# By bundle only: the other laptop's bundle carries the whole of the
# restored laptop's log back (its head is not the mesh's entry there);
# import takes the mesh's records and records the one written offline
# again at the head, and doctor says so in plain words -- neither a fork
# that will not heal nor a promise that is not kept.  Carried back, the
# offline record reaches the other laptop and both hold the same.
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
export FIELDMESH_NOW=1700000600000          # ten minutes later
visit a "Nghĩa Tân" 9
carry b a                                   # b's copies of a's later records
[ "$(jfield "$(fm a status --json)" self_seq)" = 4 ] ||
  fail "a did not take its records back and record the offline one again: $(fm a status --json)"
out=$(fm a doctor) || true
for t in "restored from a backup" "1 record written on it after the restore was recorded again"; do
  case "$out" in *"$t"*) ;; *) fail "doctor on a does not say \"$t\": $out" ;; esac
done
for t in "own records forked" "will not catch up by itself"; do
  case "$out" in *"$t"*) fail "doctor on a says \"$t\" of a fork that healed: $out" ;; esac
done
fm a verify >/dev/null || fail "verify on a: $(fm a verify 2>&1)"

step "carried back, the offline record reaches b; both hold the same"
carry a b
[ "$(jfield "$(fm b status --json)" visits)" = 4 ] || fail "b lacks the offline visit: $(fm b status --json)"
da=$(jfield "$(fm a status --json)" view_digest)
db=$(jfield "$(fm b status --json)" view_digest)
[ "$da" = "$db" ] || fail "a and b differ after the bundles: $da $db"
# The other laptop's own records are not a fork of its own.
out=$(fm b doctor) || true
case "$out" in *"own records forked"*) fail "doctor on b names a fork of b's own records: $out" ;; esac
echo "test_doctor_own_fork: ok"
