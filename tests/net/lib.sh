# Shared by the daemon integration tests: temporary folder and cleanup,
# free ports, polling with a deadline, and starting and stopping real
# fieldmeshd processes.  Source it after setting BIN, FM, FMD and NAME
# (the test's name, for messages).
#
# Every wait polls with a 60 s deadline: nothing depends on how fast the
# machine is.  Ports come from a base derived from $$ and are retried when
# taken.  The trap kills the daemons started here (by pid) and removes the
# temporary folder.

W=$(mktemp -d "${TMPDIR:-/tmp}/fm-net-XXXXXX")
declare -A PID PORT
cleanup() {
  local p
  for p in "${PID[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT

DEADLINE=60
NEXT_PORT=$(( 20000 + ($$ * 7) % 30000 ))

step() { echo "--- $*"; }
fail() {
  local f
  echo "$NAME: FAIL: $*" >&2
  for f in "$W"/*.log; do
    [ -e "$f" ] || continue
    echo "=== $(basename "$f") (last 25 lines)" >&2
    tail -n 25 "$f" >&2
  done
  exit 1
}

fm() { "$FM" --state "$W/$1" "${@:2}"; }

# jfield JSON KEY: the first value of KEY in one line of JSON (quotes dropped).
jfield() {
  printf '%s\n' "$1" | sed -n 's/.*"'"$2"'":\("[^"]*"\|[^,}]*\).*/\1/p' | head -n1 | tr -d '"'
}
status_field() { jfield "$(fm "$1" status --json)" "$2"; }
# field STATE ID KEY: applicant.KEY or KEY of `dossier show ID --json` on STATE
# (a sealed field reads as its text or its placeholder).
field() {
  fm "$1" dossier show "$2" --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
k = sys.argv[1]
print(d["applicant"][k] if k in d["applicant"] else d[k])' "$3"
}

# wait_for DESCRIPTION COMMAND...: polls COMMAND until it succeeds.
wait_for() {
  local what=$1 start=$SECONDS
  shift
  until "$@"; do
    [ $((SECONDS - start)) -lt "$DEADLINE" ] || fail "waited ${DEADLINE} s for: $what"
    sleep 0.2
  done
}

same_view() {
  local a b x
  a=$(fm "$1" status --json) || return 1
  for x in "${@:2}"; do
    b=$(fm "$x" status --json) || return 1
    [ "$(jfield "$a" view_digest)" = "$(jfield "$b" view_digest)" ] || return 1
    [ "$(jfield "$a" entries)" = "$(jfield "$b" entries)" ] || return 1
  done
}
has_entries() { [ "$(status_field "$1" entries)" = "$2" ]; }
log_has() { grep -qF -- "$2" "$W/$1.log"; }
count_in_log() { grep -cF -- "$2" "$W/$1.log" || true; }

# start NAME [FLAGS...]: starts fieldmeshd on STATE NAME on a free
# loopback port (the next one when taken) and waits until it runs.
start() {
  local name=$1 tries=0 p mark
  shift
  while :; do
    p=$NEXT_PORT
    NEXT_PORT=$((NEXT_PORT + 1))
    # Only what this start logs counts: an earlier "started" line in the
    # same log must not hide a start that failed.
    mark=0
    [ ! -e "$W/$name.log" ] || mark=$(wc -l <"$W/$name.log")
    "$FMD" --state "$W/$name" --listen "127.0.0.1:$p" --log-level debug "$@" \
      2>>"$W/$name.log" &
    PID[$name]=$!
    PORT[$name]=$p
    local t0=$SECONDS
    until tail -n +$((mark + 1)) "$W/$name.log" | grep -qF "fieldmeshd started" ||
          ! kill -0 "${PID[$name]}" 2>/dev/null; do
      [ $((SECONDS - t0)) -lt "$DEADLINE" ] || fail "$name did not start"
      sleep 0.1
    done
    kill -0 "${PID[$name]}" 2>/dev/null && return 0
    wait "${PID[$name]}" || true
    unset "PID[$name]"
    tries=$((tries + 1))
    tail -n +$((mark + 1)) "$W/$name.log" | grep -qF "address already in use" &&
      [ $tries -lt 20 ] || fail "$name did not start"
  done
}

# stop NAME: SIGTERM; the daemon must exit 0 and remove its socket.
stop() {
  local name=$1 rc=0
  kill -TERM "${PID[$name]}"
  wait "${PID[$name]}" || rc=$?
  unset "PID[$name]"
  [ "$rc" -eq 0 ] || fail "$name exited $rc after SIGTERM"
  log_has "$name" "stopped cleanly" || fail "$name did not log a clean stop"
  [ ! -e "$W/$name/fieldmeshd.sock" ] || fail "$name left its control socket behind"
}

# laptop STATE NAME [TEAM [ROLE [VILLAGES]]]: a laptop in $W/STATE, made
# with `init`, enrolled by the authority in $W/${AUTH:-auth} (Team 1, member,
# Nghĩa Tân and Vinh Quang unless given; VILLAGES "": none named, as in a
# commune whose villages come from the authority's list) and joined; its id
# in $W/STATE.id.
laptop() {
  local villages=(--villages "${5-Nghĩa Tân,Vinh Quang}")
  [ -n "${villages[1]}" ] || villages=()
  fm "$1" init | tail -n1 >"$W/$1.id"
  fm "${AUTH:-auth}" enroll "$(cat "$W/$1.id")" --name "$2" --team "${3:-Team 1}" \
    --role "${4:-member}" "${villages[@]}" -o "$W/$1.join" >/dev/null
  fm "$1" join "$W/$1.join" >/dev/null
}

# carry FROM TO: everything FROM holds that TO lacks, by bundle, as a USB
# stick would; prints the import's line.
carry() {
  fm "$2" vector export -o "$W/carry.vec" >/dev/null
  fm "$1" bundle export --for "$W/carry.vec" -o "$W/carry.bundle" >/dev/null
  fm "$2" bundle import "$W/carry.bundle"
}

# refused RC TEXT CMD...: CMD exits RC and says so in one line on stderr
# that holds TEXT; prints that line.
refused() {
  local want=$1 text=$2 err rc=0
  shift 2
  err=$("$@" 2>&1 >/dev/null) || rc=$?
  [ "$rc" = "$want" ] || fail "\`${*}\` exited $rc, expected $want: $err"
  [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] || fail "\`${*}\`: expected one line of error, got: $err"
  case "$err" in *"$text"*) ;; *) fail "\`${*}\` does not say \"$text\": $err" ;; esac
  echo "refused (exit $rc): $err"
}

visit() {
  fm "$1" visit add --village "$2" --mode home --services account_created \
    --citizens "$3" >/dev/null
}
