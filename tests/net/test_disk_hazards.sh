#!/usr/bin/env bash
# What a laptop's disk may hold must not take fieldmesh down or make it
# write where it should not, with real commands and daemons:
#   - a FIFO in place of device.key: the CLI and the daemon refuse at once
#     (timeout 1: a hang fails the test), with one line;
#   - a FIFO given to `bundle import` (a named pipe on a stick): refused
#     at once, nothing changed;
#   - a bundle exported to a full stick (a small tmpfs, when this runs as
#     root): the disk-full sentence, and neither the bundle nor a temporary
#     file is left on it;
#   - `init` on a state folder whose store has an identity, its key file
#     gone: refused (exit 1, one line naming the backup), the identity
#     unchanged, the original key put back works;
#   - a link planted at a bundle's output name: the bundle replaces the
#     link, the file it pointed to is untouched;
#   - the simulator's --json and --csv at planted links: replaced;
#   - the spool folder of a gateway with links planted in it (at the old
#     temporary name pattern and at a finished batch's name): every batch
#     written, the links' targets (a copy of the device key) untouched, the
#     planted link left alone, a stale temporary file of ours removed.
#
# usage: test_disk_hazards.sh BIN_DIR
set -euo pipefail
BIN=${1:?usage: test_disk_hazards.sh BIN_DIR}
NAME=test_disk_hazards
# shellcheck source=../gateway/lib.sh
. "$(dirname "$0")/../gateway/lib.sh"

# refused_fast WORD COMMAND...: COMMAND ends within a second, non-zero, with
# one line on stderr containing WORD.
refused_fast() {
  local word=$1 rc=0 err
  shift
  err=$(timeout 1 "$@" 2>&1 >/dev/null) || rc=$?
  [ "$rc" -ne 124 ] || fail "\`${*: -3}\` hung (killed after 1 s)"
  [ "$rc" -ne 0 ] || fail "\`${*: -3}\` succeeded; expected a refusal naming $word"
  [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] || fail "expected one line of error, got: $err"
  case "$err" in *"$word"*) ;; *) fail "the error does not say $word: $err" ;; esac
  echo "refused at once (exit $rc): $err"
}

step "a commune: laptops a and b, gateway g"
commune a:member:"Team 1" b:member:"Team 1" g:gateway:"Commune hall"
visit a "Nghĩa Tân" 2
visit a "Vinh Quang" 1

step "a FIFO in place of device.key: CLI and daemon refuse at once"
mv "$W/a/device.key" "$W/a-device.key"
mkfifo -m 600 "$W/a/device.key"
refused_fast "not a regular file" "$FM" --state "$W/a" visit add --village "Nghĩa Tân" --mode home --services account_created --citizens 1
refused_fast "not a regular file" "$FMD" --state "$W/a" --listen 127.0.0.1:1
rm "$W/a/device.key"
mv "$W/a-device.key" "$W/a/device.key"
fm a visit list >/dev/null || fail "a does not work again once its key is back"

step "a FIFO given to bundle import: refused at once, nothing changed"
mkfifo "$W/stick.bundle"
before=$(status_field b entries)
refused_fast "not a regular file" "$FM" --state "$W/b" bundle import "$W/stick.bundle"
[ "$(status_field b entries)" = "$before" ] || fail "b changed after a refused import"

step "a link planted at a bundle's output: replaced, its target untouched"
printf 'precious\n' >"$W/victim"
ln -s "$W/victim" "$W/out.bundle"
fm a bundle export -o "$W/out.bundle" >/dev/null || fail "bundle export over a link"
[ "$(cat "$W/victim")" = precious ] || fail "bundle export wrote through a planted link"
[ -f "$W/out.bundle" ] && [ ! -L "$W/out.bundle" ] || fail "out.bundle is not a plain file"
fm b bundle import "$W/out.bundle" >/dev/null || fail "the bundle does not import"
[ "$(status_field b entries)" = "$(status_field a entries)" ] || fail "b lacks a's entries"
! compgen -G "$W/.tmp-*" >/dev/null || fail "a temporary file was left next to the bundle"

step "a bundle to a full disk: the disk-full sentence, nothing left behind"
mkdir "$W/stick"
if mount -t tmpfs -o size=64k tmpfs "$W/stick" 2>/dev/null; then
  dd if=/dev/zero of="$W/stick/filler" bs=4k 2>/dev/null || true
  rc=0
  err=$(fm a bundle export -o "$W/stick/a.bundle" 2>&1 >/dev/null) || rc=$?
  [ "$rc" -eq 1 ] || { umount "$W/stick"; fail "bundle export to a full stick: exit $rc: $err"; }
  left=$(ls -A "$W/stick" | grep -vx filler || true)
  umount "$W/stick"
  case "$err" in *"the disk is full ("*" MiB free in $W/stick)"*) ;;
    *) fail "a full stick is not said as such: $err" ;; esac
  [ -z "$left" ] || fail "a full stick kept: $left"
  echo "refused as expected: $err"
else
  echo "note: cannot mount a small tmpfs here (needs root): the full-disk export is not exercised"
fi

step "init over an existing store: refused, the identity kept"
id_b=$(status_field b device_id)
[ ${#id_b} -eq 64 ] || fail "no device id for b: $id_b"
cp -p "$W/b/device.key" "$W/b-backup.key"
rm "$W/b/device.key"
rc=0
err=$(fm b init 2>&1 >/dev/null) || rc=$?
[ "$rc" -eq 1 ] || fail "init over b's store: exit $rc, expected 1"
[ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] || fail "expected one line of error, got: $err"
case "$err" in *"device.key is missing"*"back from the backup"*) ;;
  *) fail "the refusal does not say to restore the key: $err" ;; esac
[ ! -e "$W/b/device.key" ] || fail "init made a new key anyway"
cp -p "$W/b-backup.key" "$W/b/device.key"
[ "$(status_field b device_id)" = "$id_b" ] || fail "b's identity changed"
visit b "Tân Lâm" 1 || fail "the restored key is refused"
rc=0
err=$(fm b init 2>&1 >/dev/null) || rc=$?
[ "$rc" -eq 1 ] || fail "init over a set-up folder: exit $rc, expected 1"
case "$err" in *"already set up"*) ;; *) fail "init over a set-up folder: $err" ;; esac
cmp -s "$W/b-backup.key" "$W/b/device.key" || fail "init touched b's key"

step "the simulator's --json and --csv over links: replaced, targets untouched"
ln -s "$W/victim" "$W/run.json"
ln -s "$W/victim" "$W/run.csv"
"$BIN/fieldmesh-sim" "$(dirname "$0")/../sim/scenarios/mini.ini" --json "$W/run.json" \
  --csv "$W/run.csv" --tmp "$W" >/dev/null || fail "fieldmesh-sim exited $?"
[ "$(cat "$W/victim")" = precious ] || fail "fieldmesh-sim wrote through a planted link"
[ ! -L "$W/run.json" ] && [ ! -L "$W/run.csv" ] && [ -s "$W/run.json" ] && [ -s "$W/run.csv" ] ||
  fail "the simulator's outputs are not plain files"

step "links planted in the gateway's spool folder"
mkdir -m 700 "$W/spool"
cp "$W/g/device.key" "$W/key-copy"
# The name pattern the spool once used for its temporary files, a stale
# temporary file of ours, and a link in the way of nothing in particular.
ln -s "$W/key-copy" "$W/spool/.tmp-20231108T080000Z-planted.ndjson"
ln -s "$W/g/device.key" "$W/spool/.tmp-device-key"
printf 'half a batch' >"$W/spool/.tmp-stale.ndjson.0123456789ab"
conf g "[upstream]" "spool = $W/spool" "linger_ms = 100" "batch_entries = 2"
conf a
start g --config "$W/g.conf"
start a --config "$W/a.conf" --peer "127.0.0.1:${PORT[g]}"
visit a "Tân Tiến" 4
wait_for "the spool to catch up" forwarded_all g spool
cmp -s "$W/key-copy" "$W/g/device.key" || fail "the key copy behind a planted link changed"
fm g status >/dev/null || fail "g's own key no longer works"
[ -L "$W/spool/.tmp-20231108T080000Z-planted.ndjson" ] && [ -L "$W/spool/.tmp-device-key" ] ||
  fail "the gateway removed links it did not make"
[ ! -e "$W/spool/.tmp-stale.ndjson.0123456789ab" ] || fail "a stale temporary file was kept"
[ -z "$(find "$W/spool" -name '.tmp-*' -type f)" ] || fail "a temporary file was left in the spool"
lines=$(cat "$W"/spool/*.ndjson | wc -l)
[ "$lines" -ge 3 ] || fail "only $lines lines in the spool"
stop a
stop g

echo "$NAME: ok"
