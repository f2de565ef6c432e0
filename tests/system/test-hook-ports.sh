#!/usr/bin/env bash
# test-hook-ports.sh - the hook's qemu start and stopped against the real
# kernel, in a network namespace of its own: a domain's four ports go in
# with one record write and one batch, and out the same way; when that
# batch cannot go through (a network's tables gone), port by port.
#
# And what "stopped" leaves behind: the kernel's cleanup after deleting set
# elements (an RCU grace period, waited for when the netfilter socket is
# released) is handed to a detached child, so that libvirt, which waits
# for the hook, does not wait for it.  Every change must be done before
# the hook returns: the test runs stopped as the first process of a PID
# namespace of its own, so that the kernel kills the child the moment the
# hook exits (as a crash right after would), and checks that nothing was
# left to it.  Runs as root; prints TAP.
set -u
top=$(cd "${top_srcdir:-$(dirname "$0")/../..}" && pwd)
build=${top_builddir:-$top/build}
. "$top/tests/lib/tap.sh"
. "$top/tests/lib/system.sh"
. "$top/tests/lib/hook-xml.sh"

require_root "network namespaces, nftables" ip nft unshare flock
require_built carthage-net-hook
reexec_in_namespace CN_TEST_NETNS cn-hookports "$@"

workspace hook-ports
data=$top/tests/data/hook
export CARTHAGE_NET_RUN_DIR=$work/run CARTHAGE_NET_STATE_DIR=$work/state CARTHAGE_NET_EVENTS_DIR=$work/events.d
mkdir "$CARTHAGE_NET_EVENTS_DIR"
hook=$build/carthage-net-hook
qemu_hook() { CARTHAGE_NET_HOOK_OBJECT=qemu "$hook" "$@"; }
network_hook() { CARTHAGE_NET_HOOK_OBJECT=network "$hook" "$@"; }
run() { err=$("$@" 2>&1 >/dev/null); rc=$?; }
# ports SET: m1's ports (vnet0..vnet3) in set SET of table bridge cn_md.
ports() { nft list set bridge cn_md "$1" 2>&1 | grep -o '"vnet[0-3]"' | sort -u | tr '\n' ' '; }
record=$CARTHAGE_NET_RUN_DIR/hook-domain-m1
events() { grep -c "\"event\": *\"$1\"" "$CARTHAGE_NET_STATE_DIR/events.log" 2>/dev/null; }

ip link add cn-md type bridge && ip link set cn-md up || bail "cannot make bridge cn-md"
four_interfaces "$data/qemu-start.xml" >"$work/m1-start.xml"
four_interfaces "$data/qemu-stopped.xml" >"$work/m1-stopped.xml"
network_hook md start begin - <"$data/network-start.xml" || bail "network start failed"
all='"vnet0" "vnet1" "vnet2" "vnet3" '

# ---------------------------------------------------------------- start
run qemu_hook m1 start begin - <"$work/m1-start.xml"
is "start, four ports: exit 0" "$rc" 0
is "start: the four ports in set ports" "$(ports ports)" "$all"
is "start: the four ports pinned to their MACs (port_mac)" "$(ports port_mac)" "$all"
is "start: one record with the four ports" "$(grep -c '^port md vnet[0-3] ' "$record" 2>/dev/null)" 4
is "start: four guest-attached events" "$(events guest-attached)" 4

# ---------------------------------------------------------------- stopped, then a crash
# The hook as PID 1 of a new PID namespace: when it exits, the kernel
# kills whatever it left running there.
run env CARTHAGE_NET_HOOK_OBJECT=qemu unshare --pid --fork "$hook" m1 stopped end - <"$work/m1-stopped.xml"
is "stopped, killed with whatever it left behind: exit 0" "$rc" 0
is "stopped: no port left in set ports" "$(ports ports)" ""
is "stopped: no port left in set port_mac" "$(ports port_mac)" ""
ok "stopped: the record is gone" test ! -e "$record"
is "stopped: four guest-detached events, written before it returned" "$(events guest-detached)" 4

# Again, now with the child left to finish on its own.
run qemu_hook m1 start begin - <"$work/m1-start.xml"
is "start again: the four ports back" "$rc:$(ports ports)" "0:$all"
run qemu_hook m1 stopped end - <"$work/m1-stopped.xml"
is "stopped (the child closing on its own): exit 0, no port left" "$rc:$(ports ports)$(ports port_mac)" "0:"
ok "stopped (the child closing on its own): the record is gone" test ! -e "$record"

# ---------------------------------------------------------------- port by port
# A record naming a network whose tables are gone (stopped meanwhile) as
# well as md: the one batch fails, and the ports go one by one.
run qemu_hook m1 start begin - <"$work/m1-start.xml"
sed -i '0,/^port md vnet3 /s//port gone vnet3 /' "$record"
is "a record with a port on a network without tables" "$(grep -c '^port gone vnet3 ' "$record")" 1
run qemu_hook m1 stopped end - <"$work/m1-stopped.xml"
is "stopped with one network gone: exit 0" "$rc" 0
is "stopped with one network gone: md's three ports released all the same" "$(ports ports)" '"vnet3" '
ok "stopped with one network gone: the record is gone" test ! -e "$record"
nft delete element bridge cn_md ports '{ "vnet3" }' >/dev/null 2>&1

# A start whose one batch the kernel refuses: the ports' table is there,
# but one port's network has no tables (its record says it is isolated):
# port by port, the others are isolated and recorded, that one not.
network_hook md start begin - <"$data/network-start.xml"
# (A record as the hook's network start writes it, for a network that is
# not a metadata network.)
printf 'carthage-net-hook-network 2\nnetwork mx cn-mx plain\n' >"$CARTHAGE_NET_RUN_DIR/hook-network-mx"
awk 'BEGIN { n = 0 } /<source network=.md./ && ++n == 4 { sub(/md/, "mx") } { print }' \
    "$work/m1-start.xml" >"$work/m1-start-mx.xml"
is "a start XML with one port on network mx" "$(grep -c "<source network='mx'" "$work/m1-start-mx.xml")" 1
run qemu_hook m1 start begin - <"$work/m1-start-mx.xml"
is "start with one port's tables missing: exit 0 (mx is not a metadata network)" "$rc" 0
is "start with one port's tables missing: the other three isolated" "$(ports ports)" '"vnet0" "vnet1" "vnet2" '
is "start with one port's tables missing: only those three recorded" \
    "$(grep -o '^port [a-z]* vnet[0-3]' "$record" | tr '\n' ' ')" "port md vnet0 port md vnet1 port md vnet2 "
run qemu_hook m1 stopped end - <"$work/m1-stopped.xml"
is "and stopped: exit 0, nothing left" "$rc:$(ports ports)" "0:"

# ---------------------------------------------------------------- two networks
# Ports on two networks, interleaved (md, mx2, md, mx2): the one batch
# takes each network's ports together (a message per set), and each
# network's sets get its own ports, no other.
sed 's/>md</>mx2</; s/name="md"/name="mx2"/; s/cn-md/cn-mx2/g' "$data/network-start.xml" >"$work/mx2-start.xml"
ip link add cn-mx2 type bridge && ip link set cn-mx2 up || bail "cannot make bridge cn-mx2"
network_hook mx2 start begin - <"$work/mx2-start.xml" || bail "network mx2 start failed"
awk '/<source network=.md./ && ++n % 2 == 0 { sub(/md/, "mx2"); sub(/cn-md/, "cn-mx2") }
     /<cn:link iface="eth[13]"/ { sub(/network="md"/, "network=\"mx2\"") }
     { print }' "$work/m1-start.xml" >"$work/m1-start-two.xml"
is "a start XML with ports 1 and 3 on network mx2" \
    "$(grep -c "<source network='mx2'" "$work/m1-start-two.xml") $(grep -c 'network="mx2"' "$work/m1-start-two.xml")" "2 2"
ports_of() { nft list set bridge "cn_$1" "$2" 2>&1 | grep -o '"vnet[0-3]"' | sort -u | tr '\n' ' '; }
run qemu_hook m1 start begin - <"$work/m1-start-two.xml"
is "start on two networks: exit 0" "$rc" 0
is "start on two networks: md's sets have vnet0 and vnet2" "$(ports_of md ports)|$(ports_of md port_mac)" \
    '"vnet0" "vnet2" |"vnet0" "vnet2" '
is "start on two networks: mx2's sets have vnet1 and vnet3" "$(ports_of mx2 ports)|$(ports_of mx2 port_mac)" \
    '"vnet1" "vnet3" |"vnet1" "vnet3" '
is "start on two networks: one record with the four ports" \
    "$(grep -o '^port [a-z0-9]* vnet[0-3]' "$record" | tr '\n' ' ')" "port md vnet0 port mx2 vnet1 port md vnet2 port mx2 vnet3 "
run qemu_hook m1 stopped end - <"$work/m1-stopped.xml"
is "stopped on two networks: exit 0, nothing left on either (both tables still there)" \
    "$rc:$(ports_of md ports)$(ports_of mx2 ports):$(nft list table bridge cn_md >/dev/null 2>&1 &&
        nft list table bridge cn_mx2 >/dev/null 2>&1 && echo tables)" "0::tables"
ok "stopped on two networks: the record is gone" test ! -e "$record"
network_hook mx2 stopped end - <"$work/mx2-start.xml"

# ---------------------------------------------------------------- a tap taken over
# libvirtd killed early in a start was seen to leave the domain "paused
# (starting up)" with no QEMU, active for good: its record and elements
# stay, and libvirt may give one of its taps to another domain.  m2 gets
# m1's vnet3: m1's MAC must not stay allowed there, and m1's own late
# "stopped" must not take the port out of set ports under m2 (whose
# frames would then pass unchecked: `iifname != @ports accept`).
# port_mac_of TAP: the MACs set port_mac allows on TAP.
port_mac_of() { nft list set bridge cn_md port_mac 2>&1 | grep -o "\"$1\" \. [0-9a-f:]*" | awk '{ print $3 }' | sort | tr '\n' ' '; }
sed 's/<name>m1</<name>m2</; s/name="m1"/name="m2"/; s/36:8a:c2:4f:45:44/36:8a:c2:4f:45:99/g; s/vnet0/vnet3/;
     s/10\.63\.0\.11/10.63.0.31/' "$data/qemu-start.xml" >"$work/m2-start.xml"
sed 's/<name>m1</<name>m2</; s/name="m1"/name="m2"/; s/36:8a:c2:4f:45:44/36:8a:c2:4f:45:99/g' \
    "$data/qemu-stopped.xml" >"$work/m2-stopped.xml"
is "m2's XML: vnet3 with MAC 36:8a:c2:4f:45:99" \
    "$(grep -c "<target dev='vnet3'/>" "$work/m2-start.xml") $(grep -c '36:8a:c2:4f:45:99' "$work/m2-start.xml")" "1 2"
run qemu_hook m1 start begin - <"$work/m1-start.xml"
is "m1 started: vnet3 allows m1's MAC" "$rc:$(port_mac_of vnet3)" "0:36:8a:c2:4f:45:03 "
detached_before=$(events guest-detached)
run qemu_hook m2 start begin - <"$work/m2-start.xml"
is "m2 started on m1's vnet3: exit 0" "$rc" 0
is "m2 on vnet3: only m2's MAC allowed there, m1's gone" "$(port_mac_of vnet3)" "36:8a:c2:4f:45:99 "
is "m2 on vnet3: the four ports still in set ports" "$(ports ports)" "$all"
is "m2 on vnet3: m1's record keeps its other three ports" \
    "$(grep -o '^port md vnet[0-3]' "$record" | tr '\n' ' ')" "port md vnet0 port md vnet1 port md vnet2 "
is "m2 on vnet3: m2's record has it" "$(grep -o '^port md vnet[0-3]' "$CARTHAGE_NET_RUN_DIR/hook-domain-m2")" \
    "port md vnet3"
is "m2 on vnet3: one guest-detached, m1's port" "$(($(events guest-detached) - detached_before))|$(
    grep '"event": *"guest-detached"' "$CARTHAGE_NET_STATE_DIR/events.log" | tail -n 1 |
        grep -c '"domain": *"m1".*"port": *"vnet3".*"mac": *"36:8a:c2:4f:45:03"')" "1|1"
run qemu_hook m1 stopped end - <"$work/m1-stopped.xml"
is "m1's late stopped: exit 0" "$rc" 0
is "m1's late stopped: vnet3 stays in set ports (m2's)" "$(ports ports)" '"vnet3" '
is "m1's late stopped: vnet3 still allows m2's MAC only" "$(port_mac_of vnet3)" "36:8a:c2:4f:45:99 "
run qemu_hook m2 stopped end - <"$work/m2-stopped.xml"
is "m2 stopped: nothing left" "$rc:$(ports ports)$(ports port_mac)" "0:"
ok "m2 stopped: no record left" test ! -e "$CARTHAGE_NET_RUN_DIR/hook-domain-m2" -a ! -e "$record"

# reconnect (libvirtd restarted) finds the domain's own ports in the sets:
# they stay its own, and it claims nothing, not even from a record that
# names one of its taps (m9's, planted).
qemu_hook m1 start begin - <"$work/m1-start.xml" 2>/dev/null
planted=$CARTHAGE_NET_RUN_DIR/hook-domain-m9
printf 'carthage-net-hook-domain 2\nport md vnet0 36:8a:c2:4f:45:77\n' >"$planted"
detached_before=$(events guest-detached)
run qemu_hook m1 reconnect begin - <"$work/m1-start.xml"
is "reconnect: exit 0, the four ports, no guest-detached" \
    "$rc:$(ports ports):$(($(events guest-detached) - detached_before))" "0:$all:0"
is "reconnect: the record keeps the four ports" "$(grep -c '^port md vnet[0-3] ' "$record")" 4
is "reconnect: another record naming vnet0 is left as it was" "$(cat "$planted")" \
    "$(printf 'carthage-net-hook-domain 2\nport md vnet0 36:8a:c2:4f:45:77')"
rm -f "$planted"

# A start of a domain whose record is still there (its "stopped" never
# ran: libvirtd killed as it stopped): that run's ports go in the start's
# batch, taps the new run does not use included.
detached_before=$(events guest-detached)
run qemu_hook m1 start begin - <"$data/qemu-start.xml"
is "start over an old record: exit 0, only the new run's port in set ports" "$rc:$(ports ports)" '0:"vnet0" '
is "start over an old record: only vnet0's MAC allowed" "$(ports port_mac)" '"vnet0" '
is "start over an old record: the record has the one port" "$(grep -o '^port md vnet[0-3]' "$record")" \
    "port md vnet0"
is "start over an old record: a guest-detached for each of the old run's four ports" \
    "$(($(events guest-detached) - detached_before))" 4

# A start over its old record whose tap another record names now (the
# network restarted in between, so m2 got vnet3 with no claim refused):
# that tap is m2's, and stays in set ports with m2's MAC.
qemu_hook m1 start begin - <"$work/m1-start.xml" 2>/dev/null
qemu_hook m2 start begin - <"$work/m2-start.xml" 2>/dev/null
printf 'port md vnet3 36:8a:c2:4f:45:03\n' >>"$record"
is "m1's record names vnet3 again, as m2's does" "$(grep -c '^port md vnet3 ' "$record" \
    "$CARTHAGE_NET_RUN_DIR/hook-domain-m2" | cut -d: -f2 | tr '\n' ' ')" "1 1 "
run qemu_hook m1 start begin - <"$data/qemu-start.xml"
is "m1 starts again on vnet0 only: vnet3 stays in set ports, with m2's MAC" \
    "$rc:$(ports ports):$(port_mac_of vnet3)" '0:"vnet0" "vnet3" :36:8a:c2:4f:45:99 '
qemu_hook m2 stopped end - <"$work/m2-stopped.xml" 2>/dev/null

# A tap with a MAC that no record names (put there by hand, as
# `carthage-net isolation attach` does): a start that claims the tap
# removes it.
nft add element bridge cn_md ports '{ "vnet3" }' &&
    nft add element bridge cn_md port_mac '{ "vnet3" . 02:de:ad:be:ef:01 }' || bail "cannot add elements by hand"
run qemu_hook m2 start begin - <"$work/m2-start.xml"
is "m2 on a tap with a MAC no record names: exit 0, only m2's MAC there" "$rc:$(port_mac_of vnet3)" \
    "0:36:8a:c2:4f:45:99 "
qemu_hook m2 stopped end - <"$work/m2-stopped.xml" 2>/dev/null

# A start that fails (a metadata link on a network without carthage-net
# isolation) still releases what the domain's previous run left.
sed "s/network='md'/network='nowhere'/; s/network=\"md\"/network=\"nowhere\"/" "$data/qemu-start.xml" \
    >"$work/m1-start-nowhere.xml"
is "m1 on network nowhere: the XML" "$(grep -c "nowhere" "$work/m1-start-nowhere.xml")" 2
run qemu_hook m1 start begin - <"$work/m1-start-nowhere.xml"
ok "a start on a network without isolation fails" test "$rc" != 0
is "... and the previous run's port (vnet0) is released, its record gone" \
    "$(ports ports):$(test -e "$record" && echo record)" ":"

# The records' lock: a start waits while another holds it.
lockfile=$CARTHAGE_NET_RUN_DIR/hook-ports.lock
ok "the records' lock is there" test -f "$lockfile"
flock "$lockfile" sleep 1 &
holder=$!
sleep 0.2
t0=$(date +%s%N)
run qemu_hook m1 start begin - <"$work/m1-start.xml"
waited_ms=$((($(date +%s%N) - t0) / 1000000))
wait "$holder"
is "a start while the lock is held: exit 0, the four ports, after the holder let go" \
    "$rc:$(ports ports):$([ "$waited_ms" -ge 500 ] && echo waited || echo "did not wait ($waited_ms ms)")" "0:$all:waited"
qemu_hook m1 stopped end - <"$work/m1-stopped.xml" 2>/dev/null
is "and stopped: nothing left" "$(ports ports)" ""

# Waiting for the lock gives up after 10 s (CN_PORTS_LOCK_MS): a stopped
# then exits 0 and leaves its record and elements to repair; a start
# fails, naming the lock, and changes nothing.  The holder says when it
# holds the lock, and lets go when told, after both have given up.
run qemu_hook m1 start begin - <"$work/m1-start.xml"
is "start before the long hold: the four ports" "$rc:$(ports ports)" "0:$all"
# (It also ends when the workspace goes, should the test stop early.)
flock "$lockfile" sh -c ': >"$1/held"; while [ -e "$1/held" ] && [ ! -e "$1/release" ]; do sleep 0.1; done' \
    - "$work" &
holder=$!
pids="$pids $holder"
for _ in $(seq 100); do [ -e "$work/held" ] && break; sleep 0.1; done
ok "the holder has the lock" test -e "$work/held"
run qemu_hook m1 stopped end - <"$work/m1-stopped.xml"
is "stopped while the lock is held past 10 s: exit 0, its ports and record left for repair" \
    "$rc:$(ports ports):$(test -e "$record" && echo record)" "0:$all:record"
cp "$record" "$work/record-before"
run qemu_hook m1 start begin - <"$work/m1-start.xml"
ok "start while the lock is held past 10 s: fails" test "$rc" != 0
like "... naming the lock" "$err" "hook-ports.lock: still locked after 10000 ms"
is "... and changes nothing: the ports, the record" \
    "$(ports ports):$(cmp -s "$record" "$work/record-before" && echo same)" "$all:same"
: >"$work/release"
wait "$holder"
run qemu_hook m1 stopped end - <"$work/m1-stopped.xml"
is "the lock free again, stopped: exit 0, nothing left" "$rc:$(ports ports):$(test -e "$record" && echo record)" "0::"

done_testing
