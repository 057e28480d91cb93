#!/usr/bin/env bash
# docs/cli.md says what `fieldmesh COMMAND --help` says: every command the
# top-level help lists has a section there, and each section's usage line
# is the one the command prints.
#
# usage: test_cli_docs.sh BIN_DIR DOC
set -euo pipefail
FM=${1:?usage: test_cli_docs.sh BIN_DIR DOC}/fieldmesh
DOC=${2:?usage: test_cli_docs.sh BIN_DIR DOC}
fail() { echo "test_cli_docs: FAIL: $*" >&2; exit 1; }
[ -x "$FM" ] || fail "$FM is not built"
n=0
# The commands: the lines of `fieldmesh --help` between "commands:" and
# the next blank line, first one or two words.
while read -r cmd; do
  [ -n "$cmd" ] || continue
  want=$("$FM" $cmd --help | head -n1)
  grep -qxF -- "$want" "$DOC" || fail "docs/cli.md lacks or differs from: $want"
  grep -qF -- "### \`fieldmesh $cmd\`" "$DOC" || fail "docs/cli.md has no section for $cmd"
  n=$((n + 1))
done < <("$FM" --help | sed -n '/^commands:/,/^$/p' | sed -n 's/^  \([a-z]*\( [a-z]*\)\{0,1\}\)  .*/\1/p' |
         sed 's/ *$//')
[ "$n" -ge 20 ] || fail "found only $n commands in fieldmesh --help"
echo "test_cli_docs: $n commands documented as they print their help"
