#!/usr/bin/env bash
# The control socket cannot be locked by clients that connect and say
# nothing, with a real daemon:
#   - 20 silent clients (more than the 16 slots) connected, then
#     `fieldmesh peers` and `fieldmesh status` answer at once: a newcomer
#     takes the slot of the client silent longest;
#   - the silent clients are closed by the daemon after its idle timeout
#     (all of them, by the end: polled with the usual 60 s deadline);
#   - the daemon still answers and stops cleanly.
#
# usage: test_ctl_idle.sh BIN_DIR
set -euo pipefail
BIN=${1:?usage: test_ctl_idle.sh BIN_DIR}
NAME=test_ctl_idle
# shellcheck source=../gateway/lib.sh
. "$(dirname "$0")/../gateway/lib.sh"

step "laptop a with its daemon"
commune a:member:"Team 1"
conf a
start a --config "$W/a.conf"

step "20 silent control clients"
# Connects N clients, says "ready", then counts the ones the daemon closes.
"$PY" - "$W/a/fieldmeshd.sock" 20 "$W/holder" <<'PYEOF' &
import select, socket, sys, time
path, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
socks = []
for _ in range(n):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    socks.append(s)
open(out + ".ready", "w").write("%d\n" % len(socks))
closed, end = 0, time.time() + 90
while socks and time.time() < end:
    r, _, _ = select.select(socks, [], [], 1.0)
    for s in r:
        try:
            data = s.recv(1)
        except OSError:
            data = b""
        if not data:
            socks.remove(s)
            s.close()
            closed += 1
    open(out + ".closed", "w").write("%d\n" % closed)
PYEOF
EXTRA_PIDS+=($!)
holder_ready() { [ -s "$W/holder.ready" ]; }
wait_for "the silent clients to connect" holder_ready

step "fieldmesh peers and status answer"
rc=0
out=$(timeout 10 "$FM" --state "$W/a" peers 2>&1) || rc=$?
[ "$rc" -eq 0 ] || fail "peers with 20 silent clients: exit $rc: $out"
rc=0
out=$(timeout 10 "$FM" --state "$W/a" status 2>&1) || rc=$?
[ "$rc" -eq 0 ] || fail "status with 20 silent clients: exit $rc: $out"
printf '%s\n' "$out" | grep -q "running (pid" || fail "status does not see the daemon: $out"
log_has a "closed the one silent longest" || fail "the daemon did not make room for the command"

step "the silent clients are closed after the idle timeout"
all_closed() { [ "$(cat "$W/holder.closed" 2>/dev/null)" = 20 ]; }
wait_for "the daemon to close all 20 silent clients" all_closed
log_has a "closed a client silent for" || fail "no idle timeout in the log"
fm a peers >/dev/null || fail "peers after the idle clients left"
stop a

echo "$NAME: ok"
