#!/usr/bin/env bash
# test-outbound.sh - public_address for guests on masqueraded networks:
# the host address their traffic leaves from, found from the kernel's
# route toward the outside, announced by the qemu hook when a guest starts
# and by `carthage-net events watch` for every running guest when that
# address changes (address added, default route moved to another uplink,
# route gone and back).  Runs the real hook and the real watcher in a
# network namespace of its own, whose uplinks are veth pairs; everything
# it starts is stopped by PID and the namespace removed, even on failure.
# Prints TAP.
set -u
top=$(cd "${top_srcdir:-$(dirname "$0")/../..}" && pwd)
build=${top_builddir:-$top/build}
. "$top/tests/lib/tap.sh"
. "$top/tests/lib/system.sh"

require_root "network namespaces, nftables" ip nft
require_built carthage-net carthage-net-hook

NS=cno-$$
workspace outbound-test
NAMESPACES=$NS

export CARTHAGE_NET_RUN_DIR=$work/run CARTHAGE_NET_STATE_DIR=$work/state CARTHAGE_NET_EVENTS_DIR=$work/events.d
nsx() { ip netns exec "$NS" "$@"; }
cn() { nsx "$build/carthage-net" --state-dir "$work/state" "$@"; }
hook() { CARTHAGE_NET_HOOK_OBJECT=$1 nsx "$build/carthage-net-hook" "$2" "$3" begin - <"$4"; }
# The public_address events after sequence number $1, as "machine address public device" lines.
announced() {
    cn events --json --since "$1" | python3 -c '
import json, sys
for line in sys.stdin:
    e = json.loads(line)
    if e["event"] == "public_address" and e.get("nat") == "masquerade":
        print(e["machine"], e["address"], e["public_address"], e.get("device", "-"))'
}
last_seq() { cn events --json | tail -1 | sed -n 's/^{"seq":\([0-9]*\),.*/\1/p'; }
# wait_announced SINCE COUNT: until COUNT masquerade events follow SINCE (10 s at most).
wait_announced() {
    local i
    for i in $(seq 100); do
        [ "$(announced "$1" | wc -l)" -ge "$2" ] && break
        sleep 0.1
    done
    announced "$1"
}

ip netns add "$NS"
nsx ip link set lo up
nsx ip link add up0 type veth peer name up0p
nsx ip link add up2 type veth peer name up2p
nsx ip addr add 203.0.113.5/24 dev up0
nsx ip addr add 198.51.100.7/24 dev up2
for dev in up0 up0p up2 up2p; do nsx ip link set "$dev" up; done

mkdir -p "$work/events.d"
printf '#!/bin/sh\ncat >>%s/subscriber.log\n' "$work" >"$work/events.d/10-record"
chmod +x "$work/events.d/10-record"

# --- no route out: nothing to announce ---------------------------------------
out=$(cn events watch --once); rc=$?
is "watch --once without a route out: exit 0" "$rc" 0
like "watch --once says there is no outbound address" "$out" "^outbound address none: 0 public_address"
like "the record says none" "$(cat "$work/run/outbound-address")" "address none"

nsx ip route add default via 203.0.113.1

# --- the hook announces it when a guest starts --------------------------------
sed "s|<bridge |<forward mode='nat'/><bridge |" "$top/tests/data/hook/network-start.xml" >"$work/nat.xml"
hook network md start "$work/nat.xml"
is "network start on a NAT network: exit 0" "$?" 0
like "the network record says libvirt masquerades it" "$(cat "$work/run/hook-network-md")" "network md cn-md metadata masquerade"
hook qemu m1 start "$top/tests/data/hook/qemu-start.xml"
is "qemu start: exit 0" "$?" 0
like "the port record keeps the guest's address" "$(cat "$work/run/hook-domain-m1")" "port md vnet[0-9]+ [0-9a-f:]+ pinned 10.63.0.11"
is "qemu start announces the outbound address for the guest" "$(announced 0)" "m1 10.63.0.11 203.0.113.5 up0"
order=$(cn events --json | sed -n 's/.*"event":"\([^"]*\)".*/\1/p' | tr '\n' ' ')
is "after guest-attached and resolved" "$order" "guest-attached resolved public_address "

# Two more domains, recorded as the hook records them: one on another
# masqueraded network with two addresses, one on a network that is not.
cat >"$work/run/hook-network-lab" <<EOF
carthage-net-hook-network 1
network lab cn-lab plain masquerade
EOF
cat >"$work/run/hook-network-iso" <<EOF
carthage-net-hook-network 1
network iso cn-iso plain
EOF
cat >"$work/run/hook-domain-web" <<EOF
carthage-net-hook-domain 1
port lab vnet5 52:54:00:00:00:05 10.60.0.5 10.60.0.6
EOF
cat >"$work/run/hook-domain-db" <<EOF
carthage-net-hook-domain 1
port iso vnet6 52:54:00:00:00:06 10.62.0.6
EOF

seq0=$(last_seq)
out=$(cn events watch --once)
like "watch --once with nothing changed says so" "$out" "^outbound address 203.0.113.5 \(up0\): 0 public_address"
is "watch --once with nothing changed announces nothing" "$(announced "$seq0")" ""

hook qemu m1 reconnect "$top/tests/data/hook/qemu-start.xml"
is "a hook run with nothing changed announces its own guest only" "$(announced "$seq0")" "m1 10.63.0.11 203.0.113.5 up0"

# --- the watcher announces every change for every guest -----------------------
# Not through nsx (a function: $! would be a subshell): ip netns exec execs
# the command, so $! is the watcher itself.
ip netns exec "$NS" "$build/carthage-net" --state-dir "$work/state" events watch >"$work/watch.log" 2>&1 &
watcher=$!
pids="$pids $watcher"
for i in $(seq 50); do grep -q '^outbound address' "$work/watch.log" && break; sleep 0.1; done
like "the watcher looks once when it starts" "$(cat "$work/watch.log")" "^outbound address 203.0.113.5 \(up0\): 0 public_address"

seq1=$(last_seq)
nsx ip addr add 203.0.113.6/24 dev up0
nsx ip route replace default via 203.0.113.1 src 203.0.113.6
got=$(wait_announced "$seq1" 3)
expected="m1 10.63.0.11 203.0.113.6 up0
web 10.60.0.5 203.0.113.6 up0
web 10.60.0.6 203.0.113.6 up0"
is "a new source address on the default route: every masqueraded guest, once" "$got" "$expected"

seq2=$(last_seq)
nsx ip route replace default via 198.51.100.1
got=$(wait_announced "$seq2" 3)
is "the default route moved to another uplink: announced with its address and device" "$got" \
    "m1 10.63.0.11 198.51.100.7 up2
web 10.60.0.5 198.51.100.7 up2
web 10.60.0.6 198.51.100.7 up2"
like "the record follows" "$(cat "$work/run/outbound-address")" "address 198.51.100.7 up2"

seq3=$(last_seq)
nsx ip route del default
for i in $(seq 100); do grep -q 'address none' "$work/run/outbound-address" && break; sleep 0.1; done
like "route gone: the record says none" "$(cat "$work/run/outbound-address")" "address none"
is "route gone: nothing announced" "$(announced "$seq3")" ""
nsx ip route add default via 198.51.100.1
got=$(wait_announced "$seq3" 3)
is "route back: announced again" "$(printf '%s\n' "$got" | grep -c ' 198.51.100.7 up2$')" 3

# Changes that leave the address as it is announce nothing.
seq4=$(last_seq)
nsx ip addr add 198.51.100.8/24 dev up2
nsx ip link set up0 mtu 1400
sleep 1
is "unrelated address and link changes announce nothing" "$(announced "$seq4")" ""
ok "the watcher is still running" kill -0 "$watcher"

kill "$watcher"
wait "$watcher" 2>/dev/null
is "the watcher stops on SIGTERM" "$?" 143
is "no watcher is left running" "$(kill -0 "$watcher" 2>/dev/null && echo running || echo gone)" gone
like "the watcher logged each change" "$(cat "$work/watch.log")" "outbound address 198.51.100.7 \(up2\): 3 public_address"

# --- subscribers got what the log has -----------------------------------------
for i in $(seq 50); do
    [ "$(grep -c '"public_address"' "$work/subscriber.log" 2>/dev/null)" = "$(cn events --json | grep -c '"public_address"')" ] && break
    sleep 0.1
done
is "the subscriber got every public_address event" "$(grep -c '"public_address"' "$work/subscriber.log")" \
    "$(cn events --json | grep -c '"public_address"')"

# --- damaged records -----------------------------------------------------------
echo garbage >"$work/run/outbound-address"
echo garbage >"$work/run/hook-domain-db"
seq5=$(last_seq)
out=$(cn events watch --once); rc=$?
is "a damaged outbound record: exit 0" "$rc" 0
is "a damaged outbound record counts as a change: everyone announced again" "$(announced "$seq5" | wc -l)" 3
like "the record is written anew" "$(cat "$work/run/outbound-address")" "^carthage-net-outbound 1"

# --- usage -----------------------------------------------------------------------
cn events watch --follow >/dev/null 2>&1
is "events watch --follow: usage error, exit 2" "$?" 2
cn events --once >/dev/null 2>&1
is "events --once without watch: usage error, exit 2" "$?" 2
cn events watch extra >/dev/null 2>&1
is "events watch with an argument: usage error, exit 2" "$?" 2

nsx nft delete table bridge cn_md 2>/dev/null
nsx nft delete table inet cn_md 2>/dev/null
done_testing
