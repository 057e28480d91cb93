#!/usr/bin/env bash
# fieldmesh demo: two team laptops of Tân Quang commune (Hà Giang) that
# never share a network, kept in step by bundle files carried on a USB
# stick.  Everything happens in a temporary folder that is removed at the
# end; nothing touches your own state folder.
#
#   bash scripts/demo-usb.sh      (brings build/ up to date first)
#
# Exits non-zero if the two laptops do not end with the same view digest.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
# FIELDMESH_BIN: run that fieldmesh as it is; else build/ is brought up to
# date (quick when nothing changed), so the demo never runs stale code.
if [ -n "${FIELDMESH_BIN:-}" ]; then
  FM=$FIELDMESH_BIN
else
  echo "demo: building fieldmesh (cmake --build build --target fieldmesh)"
  [ -f build/CMakeCache.txt ] || cmake -B build >/dev/null
  cmake --build build -j2 --target fieldmesh >/dev/null
  FM=build/bin/fieldmesh
fi
[ -x "$FM" ] || { echo "demo: no fieldmesh at $FM" >&2; exit 1; }
FM=$(cd "$(dirname "$FM")" && pwd)/$(basename "$FM")

W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
USB="$W/usb"
mkdir -p "$USB"

# Bold headings and dim command lines on a terminal, plain text otherwise.
if [ -t 1 ]; then B=$'\033[1m' D=$'\033[2m' N=$'\033[0m'; else B= D= N=; fi
say() { printf '\n%s== %s%s\n' "$B" "$*" "$N"; }
# on WHO ARGS...: runs fieldmesh on one machine's state folder.
on() {
  local who=$1
  shift
  local shown="" a
  for a in "$@"; do
    case "$a" in *" "*) shown+=" \"$a\"" ;; *) shown+=" $a" ;; esac
  done
  printf '%s%s$ fieldmesh%s%s\n' "$D" "$who" "$shown" "$N"
  "$FM" --state "$W/$who" "$@"
}
# The id on the last line of a command's output.
last() { tail -n1; }

say "The commune administrator creates the authority for Tân Quang"
on admin authority init --commune "Tân Quang"

say "Two laptops: Lan (Team 1) and Minh (Team 2) create their device keys"
LAN=$(on lan init | last)
MINH=$(on minh init | last)
echo "Lan's laptop:  $LAN"
echo "Minh's laptop: $MINH"

say "The administrator enrolls both; each laptop joins with its join file"
on admin enroll "$LAN" --name "Lò Thị Lan" --team "Team 1" --role member \
  --villages "Nghĩa Tân,Vinh Quang" -o "$USB/lan.join"
on admin enroll "$MINH" --name "Hoàng Văn Minh" --team "Team 2" --role member \
  --villages "Xuân Hòa,Tân Lâm" -o "$USB/minh.join"
on lan join "$USB/lan.join"
on minh join "$USB/minh.join"

say "Monday: Lan works in Nghĩa Tân and Vinh Quang"
on lan visit add --village "Nghĩa Tân" --mode home --citizens 3 \
  --services account_created,eid_activated --place "nhà ông Sùng A Chứ"
on lan visit add --village "Vinh Quang" --mode village_point --citizens 11 \
  --services dossier_submitted,payment_guided,app_installed --place "nhà văn hóa thôn"
COPY=$(on lan dossier add --procedure chung_thuc --applicant-name "Sùng A Páo" \
  --applicant-id 002085001234 --village "Vinh Quang" | last)
BIRTH=$(on lan dossier add --procedure khai_sinh --applicant-name "Vàng Thị Mai" \
  --phone 0912345678 --village "Nghĩa Tân" | last)
on lan dossier status "$COPY" submitted --ref "000.00.23.H21-0001"
on lan dossier status "$BIRTH" submitted --ref "000.00.23.H21-0002"

say "Monday: Minh works in Xuân Hòa and Tân Lâm"
on minh visit add --village "Xuân Hòa" --mode home --citizens 2 \
  --services account_created,app_installed
on minh visit add --village "Tân Lâm" --mode village_point --citizens 9 \
  --services eid_activated,feedback_guided
FAMILY=$(on minh dossier add --procedure gia_dinh_van_hoa --applicant-name "Hộ Lý Văn Sinh" \
  --village "Tân Lâm" --channel one_stop | last)
MARRIAGE=$(on minh dossier add --procedure xac_nhan_hon_nhan --applicant-name "Lý Thị Dung" \
  --village "Xuân Hòa" | last)
on minh dossier status "$FAMILY" submitted
on minh dossier status "$MARRIAGE" delivered --note "nhận kết quả qua bưu điện"

say "The administrator's log (the enrollments) goes to both laptops"
on admin bundle export -o "$USB/admin.bundle"
on lan bundle import "$USB/admin.bundle"
on minh bundle import "$USB/admin.bundle"

say "USB stick, Lan → Minh: Minh says what she holds, Lan writes what she lacks"
on minh vector export -o "$USB/minh.vec"
on lan bundle export --for "$USB/minh.vec" -o "$USB/lan-to-minh.bundle"
on minh bundle import "$USB/lan-to-minh.bundle"

say "USB stick, Minh → Lan"
on lan vector export -o "$USB/lan.vec"
on minh bundle export --for "$USB/lan.vec" -o "$USB/minh-to-lan.bundle"
on lan bundle import "$USB/minh-to-lan.bundle"

say "Both laptops now agree"
on lan status
echo
on minh status
DIG_LAN=$("$FM" --state "$W/lan" status --json | sed -n 's/.*"view_digest":"\([0-9a-f]*\)".*/\1/p')
DIG_MINH=$("$FM" --state "$W/minh" status --json | sed -n 's/.*"view_digest":"\([0-9a-f]*\)".*/\1/p')

say "What the commune hall sees, from either laptop"
on minh report --by village
echo
on lan dossier list

if [ -z "$DIG_LAN" ] || [ "$DIG_LAN" != "$DIG_MINH" ]; then
  echo "demo: FAILED: the laptops disagree (view digests $DIG_LAN and $DIG_MINH)" >&2
  exit 1
fi
say "Same view digest on both laptops: $DIG_LAN"
