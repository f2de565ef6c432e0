#!/usr/bin/env bash
# test-valgrind.sh - the helper and the hook on their main paths under
# valgrind (memcheck): no invalid reads or writes, no uninitialised values,
# no definite leaks.  The hook runs on XML recorded from libvirt 9.0 for
# every network and qemu operation, in a network namespace of its own (it
# writes nftables there); the helper validates, renders, answers metadata,
# reads events and runs the metadata server and the outbound watcher.
# The namespace and every process started go on the way out.  Prints TAP.
set -u
top=$(cd "${top_srcdir:-$(dirname "$0")/../..}" && pwd)
build=${top_builddir:-$top/build}
. "$top/tests/lib/tap.sh"
. "$top/tests/lib/system.sh"

command -v valgrind >/dev/null || skip_all "valgrind not installed"
require_root "a network namespace for the hook's nftables" ip
require_built carthage-net carthage-net-full carthage-net-hook
# A sanitizer build cannot run under valgrind.
if nm "$build/carthage-net" 2>/dev/null | grep -q __asan_init; then
    skip_all "an AddressSanitizer build (valgrind needs a plain one)"
fi

NS=cnv-$$
workspace valgrind
NAMESPACES=$NS
ip netns add "$NS"
ip -n "$NS" link set lo up

export CARTHAGE_NET_TEMPLATE_DIR=$top/xml-templates CARTHAGE_NET_RUN_DIR=$work/run \
    CARTHAGE_NET_STATE_DIR=$work/state CARTHAGE_NET_EVENTS_DIR=$work/events.d G_DEBUG=gc-friendly
VALGRIND=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
    --show-leak-kinds=definite --track-fds=no)

# vg NAME COMMAND...: one check, COMMAND run under valgrind in the namespace.
vg() {
    local name=$1; shift
    ip netns exec "$NS" "${VALGRIND[@]}" --log-file="$work/vg.log" "$@" >"$work/out" 2>&1
    local rc=$?
    if [ "$rc" = 99 ] || [ -s "$work/vg.log" ]; then
        _tap_result 1 "$name: clean under valgrind"
        sed 's/^/# /' "$work/vg.log" | head -40
    else
        _tap_result 0 "$name: clean under valgrind (exit $rc)"
    fi
}

# carthage-net runs validate and pool itself and execs carthage-net-full
# for the rest (valgrind does not follow an exec): each is run directly.
front=("$build/carthage-net" -d "$top/examples/site" --state-dir "$work/state")
cn=("$build/carthage-net-full" -d "$top/examples/site" --state-dir "$work/state")
vg "validate" "${front[@]}" validate
vg "pool list (nothing made yet)" "${front[@]}" pool list ci-taps
vg "validate in carthage-net-full" "${cn[@]}" validate
vg "render network" "${cn[@]}" render network ci
vg "render interface" "${cn[@]}" render interface web.lab.example
guest_base() { printf "<domain type='kvm'><name>%s</name><memory>65536</memory><os><type>hvm</type></os><devices/></domain>\n" "$1"; }
guest_base runner-3 >"$work/base.xml"
vg "render domain" "${cn[@]}" render domain runner-3 --base "$work/base.xml"
vg "render netdev (exit 3: no TAP held)" "${cn[@]}" render netdev runner-1 eth0
vg "metadata show" "${cn[@]}" metadata show runner-3
vg "validate, invalid definitions" "$build/carthage-net" -f "$top/tests/golden/cases/errors/defs.conf" validate

# The hook, as libvirt runs it, for every operation (network then qemu).
data=$top/tests/data/hook
sed "s|<bridge |<forward mode='nat'/><bridge |" "$data/network-start.xml" >"$work/network-nat.xml"
ip -n "$NS" link add up0 type veth peer name up0p
ip -n "$NS" addr add 203.0.113.5/24 dev up0
ip -n "$NS" link set up0 up && ip -n "$NS" link set up0p up
ip -n "$NS" route add default via 203.0.113.1
# A fully static hook (configure.ac) hides its allocations from memcheck:
# the build then has the same sources linked with the shared libc for this.
# (Only then: a build reconfigured since may have the program left over.)
has_interpreter() { readelf -lW "$1" | grep -q "Requesting program interpreter"; }
hook_program=$build/carthage-net-hook
if ! has_interpreter "$hook_program"; then
    hook_program=$build/tests/valgrind/carthage-net-hook-shared-libc
fi
ok "the hook run under valgrind loads the shared libc (a program interpreter)" has_interpreter "$hook_program"
hook() { CARTHAGE_NET_HOOK_OBJECT=$1 vg "hook $1 $3" "$hook_program" "$2" "$3" begin - <"$4"; }
hook network md start "$work/network-nat.xml"
hook network md started "$work/network-nat.xml"
hook network md port-created "$data/network-port-created.xml"
hook network md port-created "$data/network-port-created-forged.xml"
hook qemu m1 prepare "$data/qemu-prepare.xml"
hook qemu m1 start "$data/qemu-start.xml"
hook qemu m1 started "$data/qemu-started.xml"
hook qemu m1 reconnect "$data/qemu-start.xml"
hook qemu m1 stopped "$data/qemu-stopped.xml"
hook qemu m1 release "$data/qemu-release.xml"
hook network md port-deleted "$data/network-port-deleted.xml"
hook network md stopped "$work/network-nat.xml"
vg "events" "$build/carthage-net-full" --state-dir "$work/state" events
vg "events watch --once" "$build/carthage-net-full" --state-dir "$work/state" events watch --once

# The metadata server: a few requests, then SIGTERM.
ip -n "$NS" addr add 10.61.0.1/24 dev lo
ip netns exec "$NS" "${VALGRIND[@]}" --log-file="$work/vg-serve.log" "${cn[@]}" metadata serve \
    --listen 10.61.0.1:8775 >"$work/serve.out" 2>&1 &
serve=$!
pids="$pids $serve"
for _ in $(seq 100); do grep -q '^listening' "$work/serve.out" && break; sleep 0.1; done
for path in /meta-data /latest/meta-data/instance-id /nope; do
    ip netns exec "$NS" python3 -c '
import socket, sys
s = socket.create_connection(("10.61.0.1", 8775), timeout=10)
s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % sys.argv[1]).encode())
while s.recv(4096): pass' "$path"
done
kill -HUP "$serve"; sleep 1
kill "$serve"; wait "$serve"; rc=$?
pids=""
like "metadata serve answered under valgrind" "$(cat "$work/serve.out")" "10.61.0.1 - GET /meta-data 403"
if [ "$rc" = 99 ] || [ -s "$work/vg-serve.log" ]; then
    _tap_result 1 "metadata serve: clean under valgrind"
    sed 's/^/# /' "$work/vg-serve.log" | head -40
else
    _tap_result 0 "metadata serve: clean under valgrind (exit $rc)"
fi
done_testing
