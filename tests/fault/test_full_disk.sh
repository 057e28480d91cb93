#!/usr/bin/env bash
# A full disk is said so, everywhere, and costs nothing already saved:
#   - bundle import into a store on a full tmpfs: "the disk is full (N MiB
#     free in FOLDER): free space and run the command again", exit 1, and
#     the store still verifies with what it held;
#   - visit add there: the same sentence;
#   - fieldmeshd syncing into it logs the same sentence and keeps running;
#   - verify needs no room in the state folder; with TMPDIR on the full
#     disk it names that folder, exits 1 and leaves nothing there;
#   - a daemon fetching a 5 MB scan into a disk that fills up: says so,
#     keeps running, keeps every record and the chunks it stored before,
#     and fetches the rest once there is room: the same bytes;
#   - a symlink planted at STATE/verify.tmp (where verify used to rebuild
#     its views) is neither followed nor removed, nor is its target.
# Needs root for `mount -t tmpfs`; skipped (77) where it cannot mount.
#
# usage: test_full_disk.sh BIN_DIR   (fieldmesh, fieldmeshd, fm-fill)
set -euo pipefail
BIN=${1:?usage: test_full_disk.sh BIN_DIR}
FM="$BIN/fieldmesh"
FMD="$BIN/fieldmeshd"
FILL="$BIN/fm-fill"
for b in "$FM" "$FMD" "$FILL"; do
  [ -x "$b" ] || { echo "test_full_disk: $b is not built" >&2; exit 1; }
done
NAME=test_full_disk
# shellcheck source=../net/lib.sh
. "$(dirname "$0")/../net/lib.sh"
DISK="$W/disk"
mkdir -p "$DISK"
if ! mount -t tmpfs -o size=4m tmpfs "$DISK" 2>/dev/null; then
  echo "$NAME: cannot mount a tmpfs here (not root?): skipped"
  exit 77
fi
# Unmount before lib.sh's cleanup removes the folder.
trap 'for p in "${PID[@]}"; do kill -9 "$p" 2>/dev/null || true; done; wait 2>/dev/null || true;
      umount "$DISK" 2>/dev/null || umount -l "$DISK" 2>/dev/null || true; rm -rf "$W"' EXIT
FULL="the disk is full ("
AGAIN="): free space and run the command again"

# fill_disk: leaves about 200 KiB free on the tmpfs.
fill_disk() {
  local avail
  avail=$(df -k --output=avail "$DISK" | tail -n1 | tr -d ' ')
  [ "$avail" -gt 200 ] || return 0
  dd if=/dev/zero of="$DISK/filler" bs=1k count=$((avail - 200)) 2>/dev/null || true
}

step "a laptop with 2000 entries, and one on a small disk"
fm auth authority init --commune "Tân Quang" >/dev/null
laptop a "Lò Thị Lan"
fm auth bundle export -o "$W/auth.bundle" >/dev/null
fm a bundle import "$W/auth.bundle" >/dev/null
[ "$("$FILL" "$W/a" 2000)" = 2000 ] || fail "fm-fill did not write 2000 entries"
fm a bundle export -o "$W/all.bundle" >/dev/null
# Laptop c's state folder is on the small disk; its log (lib.sh: $W/c.log)
# is not, or the daemon could not say anything there.
mkdir "$DISK/c"
ln -s "$DISK/c" "$W/c"
laptop c "Vàng A Páo"
fm c bundle import "$W/auth.bundle" >/dev/null
held=$(status_field c entries)
fill_disk

step "bundle import on a full disk"
rc=0
fm c bundle import "$W/all.bundle" >/dev/null 2>"$W/err" || rc=$?
[ "$rc" = 1 ] || fail "import on a full disk exited $rc: $(cat "$W/err")"
grep -qF "$FULL" "$W/err" && grep -qF "free in $W/c$AGAIN" "$W/err" ||
  fail "import on a full disk does not say so: $(cat "$W/err")"
[ "$(wc -l <"$W/err")" = 1 ] || fail "import printed more than one line: $(cat "$W/err")"
[ "$(status_field c entries)" = "$held" ] || fail "the store changed on a failed import"

step "visit add on a full disk"
rc=0
big=$(head -c 1900 /dev/zero | tr '\0' 'x')
for i in $(seq 1 200); do
  fm c visit add --village "Nghĩa Tân" --mode home --services account_created \
    --citizens 1 --note "$big" >/dev/null 2>"$W/err" || { rc=$?; break; }
done
[ "$rc" = 1 ] && grep -qF "$FULL" "$W/err" ||
  fail "visit add on a full disk ($rc) does not say so: $(cat "$W/err")"

step "verify needs no room in the state folder"
fm c verify | grep -q '^verify: ok' || fail "verify fails on a full disk"

step "verify with its scratch on the full disk names the folder, leaves nothing"
rc=0
TMPDIR="$DISK" fm c verify >/dev/null 2>"$W/err" || rc=$?
[ "$rc" = 1 ] && grep -qF "$FULL" "$W/err" && grep -qF "free in $DISK)" "$W/err" ||
  fail "verify with TMPDIR on the full disk ($rc): $(cat "$W/err")"
! ls "$DISK" | grep -q fieldmesh-verify || fail "verify left its scratch folder behind"

step "fieldmeshd syncing into a full disk says so and keeps running"
start a
start c --peer "127.0.0.1:${PORT[a]}"
wait_for "the daemon to say the disk is full" grep -qF "$FULL" "$W/c.log"
grep -F "$FULL" "$W/c.log" | grep -qF "$AGAIN" || fail "the daemon's sentence is not whole"
kill -0 "${PID[c]}" || fail "the daemon died on a full disk"
stop c
stop a
fm c verify | grep -q '^verify: ok' || fail "the store does not verify after the full disk"

step "room again: the import completes"
rm -f "$DISK/filler"
umount "$DISK"
mount -t tmpfs -o size=64m tmpfs "$DISK"
mkdir "$DISK/d"
ln -s "$DISK/d" "$W/d"
laptop d "Sùng Thị Mai"
fm d bundle import "$W/auth.bundle" >/dev/null
fm d bundle import "$W/all.bundle" >/dev/null || fail "import fails with room"
[ "$(status_field d entries)" = $((held + 2000)) ] || fail "import incomplete: $(status_field d entries)"

step "a scan fetched into a full disk: the records and the chunks before it kept"
D=$(fm a dossier add --procedure khai_sinh --applicant-name "Nguyễn Văn A" \
  --village "Nghĩa Tân" | tail -n1)
head -c 5000000 /dev/urandom >"$W/scan.jpg"        # 82 chunks
fm a dossier attach "$D" "$W/scan.jpg" >/dev/null
want=$(status_field a entries)
avail=$(df -k --output=avail "$DISK" | tail -n1 | tr -d ' ')
dd if=/dev/zero of="$DISK/filler" bs=1k count=$((avail - 2048)) 2>/dev/null || true
mark=$(grep -cF "$FULL" "$W/d.log" 2>/dev/null || true)
start a
start d --peer "127.0.0.1:${PORT[a]}"
wait_for "d to say its disk is full" eval '[ "$(grep -cF "$FULL" "$W/d.log")" -gt "${mark:-0}" ]'
kill -0 "${PID[d]}" || fail "the daemon died on a full disk during a scan"
wait_for "d to hold every record" eval '[ "$(status_field d entries)" = "$want" ]'
got=$(status_field d scan_chunks)
echo "d kept $got of 82 chunks before its disk filled"
[ "$got" -ge 1 ] && [ "$got" -lt 82 ] || fail "d should hold some of the scan's chunks, not $got"
stop d
fm d verify | grep -q '^verify: ok' || fail "the store does not verify after a full disk mid-scan"
[ "$(status_field d scan_chunks)" = "$got" ] || fail "chunks kept before the disk filled were lost"
fm d dossier attachments "$D" | grep -q " $got/82 " ||
  fail "attachments does not show $got/82 here: $(fm d dossier attachments "$D")"
rm -f "$DISK/filler"
start d --peer "127.0.0.1:${PORT[a]}"
wait_for "d to fetch the rest once there is room" eval '[ "$(status_field d scan_chunks_missing)" = 0 ]'
stop d
stop a
fm d dossier attachment get "$D" 1 -o "$W/back.jpg" >/dev/null
cmp -s "$W/scan.jpg" "$W/back.jpg" || fail "the scan fetched across a full disk differs"

step "a symlink planted at verify.tmp is left alone"
mkdir -p "$W/victim"
echo precious >"$W/victim/data.mdb"
echo precious >"$W/victim/lock.mdb"
ln -s "$W/victim" "$W/a/verify.tmp"
fm a verify | grep -q '^verify: ok' || fail "verify fails beside a planted symlink"
[ -L "$W/a/verify.tmp" ] || fail "verify removed the planted symlink"
[ "$(cat "$W/victim/data.mdb")" = precious ] && [ "$(cat "$W/victim/lock.mdb")" = precious ] ||
  fail "verify touched the symlink's target"
echo "$NAME: ok"
