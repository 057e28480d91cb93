# shellcheck shell=bash
# The field-conditions harness (tests/field/README.md): every laptop is a
# network namespace with one real fieldmeshd and no static peer, plugged
# into a switch (a bridge inside a namespace of its own), so the daemons
# find each other by beacons alone.  Links are impaired with what the
# kernel offers without netem: tbf for rate, nftables for loss, ip link
# for cuts, and tests/field/wire.c for delay.
#
# Source it after setting BIN (the folder with fieldmesh, fieldmeshd,
# fm-fill, fm-wire, fm-hlc) and NAME (the scenario, for messages).
#
# Namespaces are named fmf-PID-..., unique per run; the EXIT trap kills
# the processes started here (by pid) and deletes the namespaces, which
# takes their interfaces and bridges with them, even when a check fails.
# Namespaces left by a run that was killed outright (PID gone) are
# removed at the next start.  Where namespaces cannot be made (not root,
# `ip netns add` refused), the scenario says so and exits 77: a skip,
# never a silent pass.
#
# Every wait polls against a deadline; nothing depends on how fast the
# machine is.

FM="$BIN/fieldmesh"
FMD="$BIN/fieldmeshd"
FILL="$BIN/fm-fill"
WIRE="$BIN/fm-wire"
HLC="$BIN/fm-hlc"

RUN="fmf-$$"
SW="$RUN-sw"            # the switch namespace
W=""
declare -a NSES=() BG=()
declare -A PID=() NSOF=() IP4=()

now_ms() { date +%s%3N; }
T_START=$(now_ms)
step() { echo "--- [$(( ($(now_ms) - T_START) / 1000 )) s] $*"; }
skip() {
  echo "$NAME: SKIP: $*"
  exit 77
}

show_logs() {
  local f
  for f in "$W"/*.log; do
    [ -e "$f" ] || continue
    echo "=== $(basename "$f") (last 30 lines)" >&2
    tail -n 30 "$f" >&2
  done
}

fail() {
  echo "$NAME: FAIL: $*" >&2
  show_logs
  exit 1
}

field_cleanup() {
  local rc=$? p n
  trap - EXIT INT TERM
  for p in "${BG[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PID[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for n in "${NSES[@]}"; do ip netns del "$n" 2>/dev/null || true; done
  [ -n "$W" ] && [ -z "${FIELD_KEEP:-}" ] && rm -rf "$W"
  exit "$rc"
}
trap field_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Namespaces of runs that died without their trap (ctest's timeout kills
# with SIGKILL): their owner's PID is gone.  Only our own naming pattern.
reap_stale() {
  local ns owner p
  for ns in $(ip netns list 2>/dev/null | sed -n 's/^\(fmf-[0-9]*-[^ ]*\).*/\1/p'); do
    owner=${ns#fmf-}
    owner=${owner%%-*}
    kill -0 "$owner" 2>/dev/null && continue
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
}

# field_init: checks that this machine can run the harness (or skips),
# makes the temporary folder, the commune's authority and the switch.
field_init() {
  local b err
  for b in "$FM" "$FMD" "$FILL" "$WIRE" "$HLC"; do
    [ -x "$b" ] || fail "$b is not built"
  done
  [ "$(id -u)" -eq 0 ] || skip "network namespaces need root; run as root to test field conditions"
  command -v ip >/dev/null || skip "iproute2 (ip) is not installed: run scripts/setup.sh"
  reap_stale
  if ! err=$(ip netns add "$SW" 2>&1); then
    skip "this machine does not allow network namespaces (ip netns add: $err)"
  fi
  NSES+=("$SW")
  if ! err=$(ip -n "$SW" link add br0 type bridge mcast_snooping 0 2>&1); then
    skip "cannot make a bridge inside a namespace ($err)"
  fi
  ip -n "$SW" link set lo up
  ip -n "$SW" link set br0 up
  W=$(mktemp -d "${TMPDIR:-/tmp}/fm-field-XXXXXX")
  "$FM" --state "$W/auth" authority init --commune "Tân Quang" >/dev/null
  step "run $RUN; state in $W"
}

# ns_new NS: an empty namespace with loopback up and IPv6 addresses usable
# at once (no duplicate address detection on a test link).
ns_new() {
  ip netns add "$1"
  NSES+=("$1")
  ip -n "$1" link set lo up
  ip netns exec "$1" sysctl -qw net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0
}

# host NAME IPV4|- [BRIDGE|-]: the namespace NSOF[NAME] alone, plugged
# like a laptop (below) but with no state folder.
host() {
  local name=$1 ip=$2 br=${3:-br0} ns="$RUN-$1"
  ns_new "$ns"
  NSOF[$name]=$ns
  IP4[$name]=$ip
  if [ "$br" != "-" ]; then
    ip -n "$SW" link add "p-$name" type veth peer name eth0 netns "$ns"
    ip -n "$SW" link set "p-$name" master "$br" up
    [ "$ip" = "-" ] || ip -n "$ns" addr add "$ip/24" dev eth0
    ip -n "$ns" link set eth0 up
  fi
}

# laptop NAME IPV4|- [BRIDGE|-]: a namespace NS[NAME] whose eth0 is
# plugged into BRIDGE (default br0) of the switch, with IPV4/24 (or only
# its IPv6 link-local address for "-"), and a state folder enrolled in the
# commune.  BRIDGE "-": no eth0; the caller links the laptop (wire_up).
# Listens on [::]:7411 and beacons every 2 s; [sync] settings come from
# $SYNC_CONF when set.
laptop() {
  local name=$1
  host "$@"
  "$FM" --state "$W/$name" init | tail -n1 >"$W/$name.id"
  "$FM" --state "$W/auth" enroll "$(cat "$W/$name.id")" --name "Laptop ${name^^}" \
    --team "Team 1" --role member --villages "Nghĩa Tân,Vinh Quang" -o "$W/$name.join" >/dev/null
  "$FM" --state "$W/$name" join "$W/$name.join" >/dev/null
  {
    printf '[node]\nlisten = [::]:7411\nlog_level = debug\n'
    printf '[discovery]\ninterval_seconds = 2\n'
    [ -z "${SYNC_CONF:-}" ] || printf '[sync]\n%s\n' "$SYNC_CONF"
  } >"$W/$name.conf"
}

# wire_up A B DELAY_MS: joins laptops A and B (made with BRIDGE "-") by
# fm-wire, a link that delays every frame DELAY_MS each way; its interface
# is wire0 on both sides, with their IPV4 addresses.  Skips (77) where TAP
# interfaces cannot be made.
wire_up() {
  local a=$1 b=$2 t0=$SECONDS rc
  "$WIRE" "${NSOF[$a]}" "${NSOF[$b]}" "$3" >"$W/wire.out" 2>"$W/wire.log" &
  BG+=($!)
  until grep -q ready "$W/wire.out"; do
    if ! kill -0 "${BG[-1]}" 2>/dev/null; then
      rc=0
      wait "${BG[-1]}" || rc=$?
      [ "$rc" -ne 77 ] || skip "fm-wire cannot make TAP interfaces: $(cat "$W/wire.log")"
      fail "fm-wire exited $rc: $(cat "$W/wire.log")"
    fi
    [ $((SECONDS - t0)) -lt 30 ] || fail "fm-wire did not start"
    sleep 0.1
  done
  for n in "$a" "$b"; do
    ip -n "${NSOF[$n]}" addr add "${IP4[$n]}/24" dev wire0
    ip -n "${NSOF[$n]}" link set wire0 up
  done
}

# fmx NAME ARGS...: the fieldmesh command on NAME's laptop, inside it.
fmx() { ip netns exec "${NSOF[$1]}" "$FM" --state "$W/$1" "${@:2}"; }

log_has() { grep -qsF -- "$2" "$W/$1.log"; }

# start NAME: runs fieldmeshd inside NAME's namespace (no static peer),
# and waits until this run (not an earlier one in the same log) started.
start() {
  local name=$1 t0=$SECONDS mark=0
  [ ! -e "$W/$name.log" ] || mark=$(wc -l <"$W/$name.log")
  ip netns exec "${NSOF[$name]}" "$FMD" --state "$W/$name" --config "$W/$name.conf" \
    2>>"$W/$name.log" &
  PID[$name]=$!
  until tail -n +$((mark + 1)) "$W/$name.log" | grep -qF "fieldmeshd started"; do
    kill -0 "${PID[$name]}" 2>/dev/null || fail "$name's fieldmeshd exited at start"
    [ $((SECONDS - t0)) -lt 60 ] || fail "$name's fieldmeshd did not start in 60 s"
    sleep 0.1
  done
}

# stop NAME: SIGTERM; it must exit 0 after saying what discovery counted.
stop() {
  local name=$1 rc=0
  kill -TERM "${PID[$name]}"
  wait "${PID[$name]}" || rc=$?
  unset "PID[$name]"
  [ "$rc" -eq 0 ] || fail "$name's fieldmeshd exited $rc after SIGTERM"
  log_has "$name" "stopped cleanly" || fail "$name did not log a clean stop"
}

# bg CMD...: a helper process in the background, killed by the trap.
bg() {
  "$@" &
  BG+=($!)
}

# jfield JSON KEY: the first value of KEY in one line of JSON.
jfield() {
  printf '%s\n' "$1" | sed -n 's/.*"'"$2"'":\("[^"]*"\|[^,}]*\).*/\1/p' | head -n1 | tr -d '"'
}
status_field() { jfield "$(fmx "$1" status --json)" "$2"; }

# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND until it succeeds.
wait_for() {
  local limit=$1 what=$2 start=$SECONDS
  shift 2
  until "$@"; do
    [ $((SECONDS - start)) -lt "$limit" ] || fail "waited $limit s for: $what"
    sleep 0.3
  done
}

# converged N NAME...: every laptop named holds N entries and the same view.
converged() {
  local want=$1 n j first=""
  shift
  for n in "$@"; do
    j=$(fmx "$n" status --json 2>/dev/null) || return 1
    [ "$(jfield "$j" entries)" = "$want" ] || return 1
    [ -n "$first" ] || first=$(jfield "$j" view_digest)
    [ "$(jfield "$j" view_digest)" = "$first" ] || return 1
  done
}

# digest NAME: the laptop's view digest.
digest() { status_field "$1" view_digest; }

# own_total NAME...: the entries the laptops wrote between them.
own_total() {
  local n t=0
  for n in "$@"; do t=$((t + $(status_field "$n" self_seq))); done
  echo "$t"
}

# mark: the moment convergence is timed from (a start, a heal).
mark() { T_MARK=$(now_ms); }
T_MARK=$(now_ms)

# converge SECONDS WHAT N NAME...: waits until converged; prints the time
# since the last mark.
converge() {
  local limit=$1 what=$2 ms
  shift 2
  wait_for "$limit" "$what" converged "$@"
  ms=$(( $(now_ms) - T_MARK ))
  printf '%s: converged in %d.%01d s: %s (%s entries, view %s...)\n' "$NAME" $((ms / 1000)) \
    $((ms % 1000 / 100)) "$what" "$1" "$(digest "$2" | cut -c1-12)"
}

visit() {
  fmx "$1" visit add --village "$2" --mode home --services account_created --citizens "$3" \
    >/dev/null
}
