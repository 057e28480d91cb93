#!/usr/bin/env bash
# Bash completion (packaging/fieldmesh.bash): commands, subcommands,
# options, procedure codes, this laptop's villages (quoted for the shell),
# services after a comma, statuses.
#
# usage: test_completion.sh BIN_DIR
set -euo pipefail
BIN=${1:?usage: test_completion.sh BIN_DIR}
FM="$BIN/fieldmesh"
NAME=test_completion
# shellcheck source=../net/lib.sh
. "$(dirname "$0")/../net/lib.sh"

_fieldmesh_bin=$FM
# shellcheck source=../../packaging/fieldmesh.bash
. "$(dirname "$0")/../../packaging/fieldmesh.bash"

# offers WANT WORD...: completing the last WORD offers exactly WANT.
offers() {
  local want=$1
  shift
  COMP_WORDS=("$@")
  COMP_CWORD=$(($# - 1))
  COMPREPLY=()
  _fieldmesh || true   # completion functions run without set -e
  [ "${COMPREPLY[*]}" = "$want" ] || fail "[$*] offers '${COMPREPLY[*]}', not '$want'"
}

step "a laptop with two villages"
fm auth authority init --commune "Tân Quang" >/dev/null
fm a init | tail -n1 >"$W/a.id"
fm auth enroll "$(cat "$W/a.id")" --name "Lò Thị Lan" --team "Team 1" --role member \
  --villages "Nghĩa Tân, Mục Lạn" -o "$W/a.join" >/dev/null
fm a join "$W/a.join" >/dev/null

step "commands, subcommands and options"
offers "visit" fieldmesh vi
offers "add list show void" fieldmesh visit ""
offers "" fieldmesh status ""
offers "--village" fieldmesh visit add --vi
offers "--note --note-file" fieldmesh dossier status D-1 processing --no
offers "bulletin" fieldmesh report ""
offers "--force --format --from" fieldmesh report --f
offers "--lang" fieldmesh report bulletin --la

step "values"
offers "khai_sinh khai_tu" fieldmesh dossier add --procedure khai
offers 'Nghĩa\ Tân' fieldmesh --state "$W/a" visit add --village Ngh
offers 'Nghĩa\ Tân Mục\ Lạn' fieldmesh --state "$W/a" visit add --village ""
offers "home" fieldmesh visit add --mode ho
offers "xlsx" fieldmesh report --format x
offers "account_created,eid_activated" fieldmesh visit add --services account_created,e
offers "result_ready rejected" fieldmesh dossier status D-1 re

step "the commune's lists, once the authority keeps them"
offers "init villages places teams" fieldmesh authority ""
offers "add rename retire list" fieldmesh authority villages ""
fm auth authority villages add "Vinh Quang" >/dev/null
fm auth authority villages add "Vinh Hưng" >/dev/null
fm auth authority places add "Trà Kiểm" >/dev/null
fm a vector export -o "$W/a.vec" >/dev/null
fm auth bundle export --for "$W/a.vec" -o "$W/a.bundle" >/dev/null
fm a bundle import "$W/a.bundle" >/dev/null
# The commune's list, not the enrollment's villages.
offers 'Vinh\ Quang Vinh\ Hưng' fieldmesh --state "$W/a" visit add --village Vi
offers '' fieldmesh --state "$W/a" visit add --village Ngh
offers 'Trà\ Kiểm' fieldmesh --state "$W/a" visit add --place T
offers 'Vinh\ Quang Vinh\ Hưng' fieldmesh --state "$W/a" authority villages retire V
echo "$NAME: ok"
