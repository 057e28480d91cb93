# bash completion for fieldmesh: commands, their options, and the values
# options take -- procedure codes, villages (the commune's list when it
# keeps one, else this laptop's), places and teams of the commune's lists,
# modes, services, statuses.  Everything is asked of fieldmesh itself (its
# --help, its `procedures`, its `status --json`, its `authority villages
# list`), so the completion never falls behind the program.  Installed as share/bash-completion/completions/fieldmesh.

# The state folder given on the line so far (--state DIR or --state=DIR).
_fieldmesh_state() {
  local i
  for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do
    case ${COMP_WORDS[i]} in
      --state) printf '%s' "${COMP_WORDS[i + 1]}"; return ;;
      --state=*) printf '%s' "${COMP_WORDS[i]#--state=}"; return ;;
    esac
  done
}

# fieldmesh with the line's --state, quiet on errors.
_fieldmesh_run() {
  local state
  state=$(_fieldmesh_state)
  if [ -n "$state" ]; then
    "${_fieldmesh_bin:-fieldmesh}" --state "$state" "$@" 2>/dev/null
  else
    "${_fieldmesh_bin:-fieldmesh}" "$@" 2>/dev/null
  fi
}

# Offers |words| (one per line) that start with |cur|, each quoted for the
# shell ("Nghĩa Tân" becomes Nghĩa\ Tân).
_fieldmesh_offer() {
  local cur=$1 w
  while IFS= read -r w; do
    [ -n "$w" ] || continue
    case $w in "$cur"*) COMPREPLY+=("$(printf '%q' "$w")") ;; esac
  done
}

_fieldmesh() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
  local i words=() group='' sub=''
  COMPREPLY=()
  # The command words typed so far, skipping the global options.
  for ((i = 1; i < COMP_CWORD; i++)); do
    case ${COMP_WORDS[i]} in
      --state) ((i++)) ;;
      -*) ;;
      *) words+=("${COMP_WORDS[i]}") ;;
    esac
  done
  group=${words[0]:-}
  sub=${words[1]:-}

  case $prev in
    --state|-o|--out|--note-file) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$cur")); return ;;
    --procedure) _fieldmesh_offer "$cur" < <(_fieldmesh_run procedures | awk 'NR > 1 {print $1}'); return ;;
    --village)
      local listed
      listed=$(_fieldmesh_listed villages)
      if [ -n "$listed" ]; then
        _fieldmesh_offer "$cur" <<<"$listed"
      else
        _fieldmesh_offer "$cur" < <(_fieldmesh_run status --json |
          sed -n 's/.*"villages":\[\([^]]*\)\].*/\1/p' | sed 's/","/\n/g; s/"//g')
      fi
      return ;;
    --place) _fieldmesh_offer "$cur" < <(_fieldmesh_listed places); return ;;
    --team) _fieldmesh_offer "$cur" < <(_fieldmesh_listed teams); return ;;
    --mode) _fieldmesh_offer "$cur" <<<$'home\nvillage_point\none_stop'; return ;;
    --channel) _fieldmesh_offer "$cur" <<<$'portal\nprovincial_portal\none_stop\npost'; return ;;
    --role) _fieldmesh_offer "$cur" <<<$'member\nleader\ngateway\nadmin\nofficer'; return ;;
    --by) _fieldmesh_offer "$cur" < <(_fieldmesh_run report --help | head -n1 |
            sed -n 's/.*--by \([^ ]*\).*/\1/p' | tr '|' '\n'); return ;;
    --format) _fieldmesh_offer "$cur" <<<$'table\ncsv\njson\nxlsx'; return ;;
    --lang) _fieldmesh_offer "$cur" <<<$'vi\nen'; return ;;
    --status) _fieldmesh_offer "$cur" < <(_fieldmesh_statuses); return ;;
    --services)
      local done_part=${cur%,*} last=${cur##*,} s
      [ "$done_part" = "$cur" ] && done_part='' || done_part+=,
      for s in account_created eid_activated dossier_submitted payment_guided \
               feedback_guided result_received app_installed; do
        case $s in "$last"*) COMPREPLY+=("$done_part$s") ;; esac
      done
      compopt -o nospace 2>/dev/null
      return ;;
  esac

  if [ -z "$group" ]; then
    if [[ $cur == -* ]]; then
      _fieldmesh_offer "$cur" <<<$'--state\n--json\n--help\n--version'
    else
      _fieldmesh_offer "$cur" < <(_fieldmesh_commands | awk '{print $1}' | sort -u)
    fi
    return
  fi
  # The subcommands of a group (visit add|list|void ...).
  local subs
  subs=$(_fieldmesh_commands | awk -v g="$group" '$1 == g && $2 != "" {print $2}')
  # (`report` is a command of its own too: its options are offered.)
  if [ -n "$subs" ] && [ -z "$sub" ] && [[ $cur != -* ]]; then
    _fieldmesh_offer "$cur" <<<"$subs"
    return
  fi
  if [[ $cur == -* ]]; then
    _fieldmesh_offer "$cur" < <("${_fieldmesh_bin:-fieldmesh}" "$group" ${sub:+"$sub"} --help \
      2>/dev/null | head -n1 | grep -o -- '--[a-z-]*' | sort -u; printf '%s\n' --json --state --help)
    return
  fi
  if [ "$group" = dossier ] && [ "$sub" = status ] && [ ${#words[@]} -eq 3 ]; then
    _fieldmesh_offer "$cur" < <(_fieldmesh_statuses)
  fi
  # authority villages|places|teams VERB NAME: the verbs, then the names.
  if [ "$group" = authority ] && [ "$sub" != init ]; then
    case ${#words[@]} in
      2) _fieldmesh_offer "$cur" <<<$'add\nrename\nretire\nlist' ;;
      3) case ${words[2]} in rename|retire) _fieldmesh_offer "$cur" < <(_fieldmesh_listed "$sub") ;; esac ;;
    esac
  fi
}

# The current names of the commune's list |1| (villages, places, teams),
# one a line; nothing when it keeps none.
_fieldmesh_listed() {
  _fieldmesh_run --json authority "$1" list | grep -o '"name":"[^"]*","retired":false' |
    sed 's/^"name":"//; s/","retired":false$//'
}

# "group [name]" of every command, from the help's 20-column words field.
_fieldmesh_commands() {
  "${_fieldmesh_bin:-fieldmesh}" --help 2>/dev/null |
    awk '/^commands:/ {on = 1; next} /^$/ {on = 0} on {print substr($0, 3, 20)}'
}

_fieldmesh_statuses() {
  printf '%s\n' draft submitted processing result_ready delivered rejected withdrawn
}

complete -F _fieldmesh fieldmesh
