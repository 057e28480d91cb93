#!/usr/bin/env bash
# The roster and revocation by name, end to end through `fieldmesh` on real
# stores carried between by bundles:
#   - `members` lists every enrolled device with its team, role, villages,
#     expiry, revocation and what the store holds of its log, on the
#     administrator's machine and on a laptop alike;
#   - `revoke NAME-OR-ID` finds the device by name or an id prefix of 8 hex
#     digits or more, refuses a shorter prefix and a name that two devices
#     share (listing them), and without --after-seq says what the proposed
#     cut-off keeps and writes nothing until --yes;
#   - a revoked device is never enrolled again: `enroll` refuses it and
#     writes nothing, `join` refuses it on the laptop, and the member's way
#     back -- a new key in a fresh state folder -- is trusted everywhere.
#
# usage: test_roster.sh BIN_DIR
set -euo pipefail
BIN=${1:?usage: test_roster.sh BIN_DIR}
FM="$BIN/fieldmesh"
NAME=test_roster
# shellcheck source=../net/lib.sh
. "$(dirname "$0")/../net/lib.sh"
[ -x "$FM" ] || fail "$FM is not built"

# 2023-11-08 08:00 UTC = 15:00 in Vietnam; each visit below an hour apart.
T0=1699430400000
HOUR=3600000
export FIELDMESH_NOW=$T0

id() { cat "$W/$1.id"; }
# visit_at STATE HOURS: a visit stamped HOURS after T0.
visit_at() {
  FIELDMESH_NOW=$((T0 + $2 * HOUR)) fm "$1" visit add --village "Nghĩa Tân" --mode home \
    --services account_created --citizens 1 >/dev/null
}
# member STATE ID_OR_NAME KEY: KEY of that device in `members --json`
# (JSON: null, true, false, numbers, strings unquoted).
member() {
  fm "$1" members --json | python3 -c '
import json, sys
rows = [m for m in json.load(sys.stdin) if sys.argv[1] in (m["device_id"], m["name"])]
assert len(rows) == 1, "%d rows for %s" % (len(rows), sys.argv[1])
print(json.dumps(rows[0][sys.argv[2]]).strip("\""))' "$2" "$3"
}
auth_seq() { fm auth status --json | python3 -c '
import json, sys
s = json.load(sys.stdin)
print(s["entries"])'; }

step "a commune, three laptops, two members of one name"
fm auth authority init --commune "Tân Quang" >/dev/null
laptop lan "Lò Thị Lan" "Team 1" member
laptop minh "Hoàng Văn Minh" "Team 1" leader
laptop lan2 "Lò Thị Lan" "Team 2" member
visit_at lan 1
visit_at lan 2
visit_at lan 3
visit_at minh 4
carry lan auth >/dev/null
carry minh auth >/dev/null
carry auth lan >/dev/null
carry auth minh >/dev/null

step "members on the administrator's machine"
OUT=$(fm auth members)
echo "$OUT"
[ "$(printf '%s\n' "$OUT" | tail -n1)" = "3 devices enrolled, 0 revoked" ] || fail "members footer: $OUT"
# Sorted by team, then name: Hoàng Văn Minh, Lò Thị Lan (Team 1), then Team 2.
[ "$(printf '%s\n' "$OUT" | sed -n '2p;3p;4p' | awk '{print $1}' | tr '\n' ' ')" = "Hoàng Lò Lò " ] ||
  fail "members are not listed by team, then name: $OUT"
printf '%s\n' "$OUT" | grep -q "Lò Thị Lan  *Team 1  *member  *Nghĩa Tân, Vinh Quang  *2023-11-08  *never  *-  *2023-11-08 18:00  *3  *0  *20[0-9-]* [0-9:]*  *3  *-  *0s  *$(id lan | cut -c1-12)" ||
  fail "lan's row is not as expected: $OUT"
[ "$(member auth "$(id lan)" entries)" = 3 ] || fail "lan: 3 entries expected"
[ "$(member auth "$(id lan)" last_written)" = $((T0 + 3 * HOUR)) ] || fail "lan: last_written"
[ "$(member auth "$(id lan)" revoked_after)" = null ] || fail "lan shows revoked"
[ "$(member auth "$(id minh)" role)" = leader ] || fail "minh's role"
[ "$(member auth "$(id lan2)" last_written)" = null ] || fail "lan2 has written nothing"
[ "$(member auth "$(id lan2)" enrollment_seq)" = 3 ] || fail "lan2 is the authority's entry 3"
# A laptop knows the roster from the authority's log it synced.
[ "$(member minh "$(id lan)" entries)" = 3 ] || fail "minh's roster does not show lan's 3 entries"
[ "$(fm minh members | tail -n1)" = "3 devices enrolled, 0 revoked" ] || fail "minh's roster"

step "revoke: names and prefixes that do not name one device"
SEQ=$(auth_seq)
refused 1 "matches 2 devices" fm auth revoke "Lò Thị Lan"
err=$(fm auth revoke "Lò Thị Lan" 2>&1 >/dev/null) || true
for want in "Lò Thị Lan (Team 1, $(id lan | cut -c1-12))" "Lò Thị Lan (Team 2, $(id lan2 | cut -c1-12))"; do
  case "$err" in *"$want"*) ;; *) fail "the candidates do not include $want: $err" ;; esac
done
refused 2 "at least 8 hex digits" fm auth revoke "$(id minh | cut -c1-7)"
refused 1 "no enrolled device" fm auth revoke "Vàng A Páo"
refused 1 "no enrolled device" fm auth revoke 00000000
refused 1 "not the administrator's state folder" fm lan revoke "Hoàng Văn Minh" --yes
[ "$(auth_seq)" = "$SEQ" ] || fail "a refused revoke wrote something"

step "revoke by name without --after-seq: what it keeps, and nothing written"
OUT=$(fm auth revoke "Hoàng Văn Minh" 2>"$W/err") && fail "revoke without --yes succeeded"
echo "$OUT"
case "$OUT" in
  *"Hoàng Văn Minh (Team 1, $(id minh | cut -c1-12)) after seq 1: entries up to seq 1, written until 2023-11-08 19:00, stay valid"*) ;;
  *) fail "the proposal does not say what it keeps: $OUT" ;;
esac
grep -q -- "--yes" "$W/err" || fail "the refusal does not ask for --yes: $(cat "$W/err")"
JSON=$(fm auth revoke "Hoàng Văn Minh" --json 2>/dev/null) && fail "revoke --json without --yes succeeded"
python3 -c '
import json, sys
p = json.loads(sys.argv[1])
assert p["after_seq"] == 1 and p["revoked"] is False and p["written_until"] == int(sys.argv[2]), p' \
  "$JSON" $((T0 + 4 * HOUR)) || fail "the JSON proposal: $JSON"
[ "$(auth_seq)" = "$SEQ" ] || fail "revoke without --yes wrote something"
[ "$(member auth "$(id minh)" revoked_after)" = null ] || fail "minh revoked without --yes"

step "revoke by id prefix, with --yes"
# lan writes one more visit the administrator has not received yet.
visit_at lan 5
OUT=$(fm auth revoke "$(id lan | cut -c1-8)" --yes)
echo "$OUT"
case "$OUT" in
  *"revoked Lò Thị Lan (Team 1, "*" after seq 3 "*"written until 2023-11-08 18:00, stay valid"*) ;;
  *) fail "revoke --yes does not say what it did: $OUT" ;;
esac
[ "$(member auth "$(id lan)" revoked_after)" = 3 ] || fail "lan is not revoked after seq 3"
refused 1 "already revoked after seq 3" fm auth revoke "$(id lan | cut -c1-10)" --yes
refused 1 "already revoked after seq 3" fm auth revoke "$(id lan)" --after-seq 4
# The later visit arrives: held back as evidence, and the roster says so.
carry lan auth | grep -q "quarantined 1" || fail "lan's 4th entry was not quarantined"
[ "$(member auth "$(id lan)" quarantined)" = 1 ] || fail "members does not count the quarantined entry"
[ "$(member auth "$(id lan)" entries)" = 3 ] || fail "lan's log here should stay at 3 entries"
fm auth members | grep -qx "3 devices enrolled, 1 revoked" || fail "footer after revoke"
# The revoked laptop's bundle carried its presence note: dropped, counted.
fm auth members | tail -n1 | grep -q "^presence notes dropped here:.* unenrolled" ||
  fail "the revoked laptop's presence note was not dropped: $(fm auth members)"
# Now the name means the one Lò Thị Lan not revoked yet.
OUT=$(fm auth revoke "Lò Thị Lan" 2>/dev/null) || true
case "$OUT" in *"Lò Thị Lan (Team 2, "*"after seq 0: none of its entries"*) ;;
  *) fail "revoke by name does not pick the device not revoked yet: $OUT" ;; esac
# A whole id the store never enrolled can still be revoked (protocol.md).
STRANGER=$(printf 'ab%.0s' $(seq 32))
fm auth revoke "$STRANGER" --after-seq 0 >/dev/null || fail "revoking an unknown whole id"

step "re-enrolling a revoked laptop is refused, nothing written"
SEQ=$(auth_seq)
refused 1 "never trusted again" fm auth enroll "$(id lan)" --name "Lò Thị Lan" --team "Team 1" \
  --role member -o "$W/again.join"
[ ! -e "$W/again.join" ] || fail "a join file was written for a revoked device"
[ "$(auth_seq)" = "$SEQ" ] || fail "the refused enroll wrote an entry"
refused 1 "never trusted again" fm auth enroll "$STRANGER" --name "X" --team "Y" --role member \
  -o "$W/stranger.join"
# The laptop hears of its revocation: it cannot record, nor join again.
carry auth lan >/dev/null
refused 1 "fresh state folder" fm lan visit add --village "Nghĩa Tân" --mode home \
  --services account_created --citizens 1
refused 1 "never trusted again" fm lan join "$W/lan.join"

step "the way back: a new key in a fresh state folder, trusted everywhere"
laptop lan-new "Lò Thị Lan" "Team 1" member
visit_at lan-new 6
carry lan-new auth | grep -q "accepted 1" || fail "the administrator refused the new key's entry"
carry auth minh >/dev/null
[ "$(member minh "$(id lan-new)" entries)" = 1 ] || fail "minh does not hold the new key's entry"
[ "$(member minh "$(id lan-new)" revoked_after)" = null ] || fail "the new key shows revoked"
[ "$(member minh "$(id lan)" revoked_after)" = 3 ] || fail "minh does not know the old key is revoked"
fm auth members | grep -qx "4 devices enrolled, 1 revoked" || fail "footer after re-enrollment"
fm minh verify | grep -q '^verify: ok' || fail "verify minh"

echo "$NAME: all passed"
