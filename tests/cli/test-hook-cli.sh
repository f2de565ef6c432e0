#!/usr/bin/env bash
# carthage-net-hook as libvirt runs it: argv, stdin and exit codes, on XML
# recorded from libvirt 9.0.  Needs no root: nothing here reaches nftables
# (networks not ours, refusals, and events with nothing to do).
set -u
top=$(cd "${top_srcdir:-$(dirname "$0")/../..}" && pwd)
build=${top_builddir:-$top/build}
. "$top/tests/lib/tap.sh"

hook=$build/carthage-net-hook
data=$top/tests/data/hook
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export CARTHAGE_NET_RUN_DIR=$work/run CARTHAGE_NET_STATE_DIR=$work/state

# run OBJECT NAME OP STDIN-FILE: sets rc, err
run() {
    CARTHAGE_NET_HOOK_OBJECT=$1 "$hook" "$2" "$3" begin - <"$4" >"$work/out" 2>"$work/err"
    rc=$?
    err=$(cat "$work/err")
}

"$hook" >/dev/null 2>&1
is "no arguments: usage, exit 2" "$?" 2
"$hook" --paths >"$work/paths"
like "--paths names the state and run directories" "$(cat "$work/paths")" '^state_dir=/.*'

mkdir -p "$work/network.d" "$work/qemu.d"
cp "$hook" "$work/network.d/carthage-net"
"$work/network.d/carthage-net" md stopped end - <"$data/network-start-foreign.xml"
is "object found from the network.d directory" "$?" 0

for op in start started port-created port-deleted stopped updated; do
    run network other "$op" "$data/network-start-foreign.xml"
    is "network $op on a network that is not ours: exit 0" "$rc" 0
done
ok "networks not ours leave no record" test ! -e "$work/run"

: >"$work/empty"
printf '<hookData><network><name>x' >"$work/truncated"
for op in start started port-created; do
    run network md "$op" "$work/truncated"
    is "network $op, malformed XML: exit 1" "$rc" 1
    is "network $op, malformed XML: one line" "$(printf '%s\n' "$err" | wc -l)" 1
done
for op in stopped port-deleted; do
    run network md "$op" "$work/truncated"
    is "network $op, malformed XML: libvirt ignores it, exit 0" "$rc" 0
done
for op in prepare start started reconnect; do
    run qemu m1 "$op" "$work/empty"
    is "qemu $op, empty stdin: exit 1" "$rc" 1
done
for op in stopped release migrate; do
    run qemu m1 "$op" "$work/empty"
    is "qemu $op, empty stdin: exit 0" "$rc" 0
done

run network md port-created "$data/network-port-created.xml"
is "port-created by the machine the MAC is reserved for: exit 0" "$rc" 0
run network md port-created "$data/network-port-created-forged.xml"
is "port-created with another machine's MAC: exit 1" "$rc" 1
like "port-created with another machine's MAC: says whose" "$err" "MAC 36:8a:c2:4f:45:44 on network md is reserved for domain m1; domain m3 may not use it"
# A machine with domain_name (Carthage's container_prefix + name): the
# network's metadata names its domain, and only that domain has the MAC.
sed -e 's|<cn:guest machine="m1" |<cn:guest machine="m1" domain="carthage-m1" |' \
    "$data/network-port-created.xml" >"$work/domain-name.xml"
sed -e 's|<name>m1</name>|<name>carthage-m1</name>|' "$work/domain-name.xml" >"$work/domain-name-owner.xml"
run network md port-created "$work/domain-name-owner.xml"
is "port-created by the machine's domain_name domain: exit 0" "$rc" 0
run network md port-created "$work/domain-name.xml"
is "port-created by a domain named as the machine, not as its domain_name: exit 1" "$rc" 1
like "port-created by the machine's name: the domain is named" "$err" "reserved for domain carthage-m1; domain m1 may not use it"

# With the network's record (written by the network hook at start, kept
# current by define), port-created reads only the port of the XML: the
# record says whose a MAC is, and the network's part, which grows with its
# machines, is not read at all (here: not even well-formed).
mkdir -p "$work/run"
record=$work/run/hook-network-md
printf 'carthage-net-hook-network 2\nnetwork md cn-md metadata\nguest m3 eth0 36:8a:c2:4f:45:44 10.63.0.11\n' >"$record"
run network md port-created "$data/network-port-created-forged.xml"
is "port-created, the record gives m3 the MAC: m3 may use it" "$rc" 0
run network md port-created "$data/network-port-created.xml"
is "port-created, the record gives m3 the MAC: m1 may not (exit 1)" "$rc" 1
like "... the record's owner named" "$err" "MAC 36:8a:c2:4f:45:44 on network md is reserved for domain m3; domain m1 may not use it"
sed -e "s|<bridge name='cn-md' stp='on' delay='0'/>|<bridge name='cn-md'>|" \
    "$data/network-port-created.xml" >"$work/unclosed-bridge.xml"
run network md port-created "$work/unclosed-bridge.xml"
like "port-created with a record: the network's XML is not read" "$err" "reserved for domain m3; domain m1 may not use it"
run network md port-deleted "$work/unclosed-bridge.xml"
is "port-deleted reads only the port: exit 0, nothing said" "$rc.$err" "0."
# A record that cannot be read: the XML decides, read whole.
printf 'carthage-net-hook-network 2\nnetwork md cn-md metadata\nguest m3 eth0 36:8a:c2:4f:45:44 10.63.0\n' >"$record"
run network md port-created "$data/network-port-created.xml"
is "port-created, damaged record: the XML gives m1 the MAC (exit 0)" "$rc" 0
run network md port-created "$data/network-port-created-forged.xml"
like "port-created, damaged record: the XML refuses m3" "$err" "reserved for domain m1; domain m3 may not use it"
run network md port-created "$work/unclosed-bridge.xml"
is "port-created, damaged record, XML not well-formed: exit 1" "$rc" 1
like "... says so, once" "$err" "^carthage-net: cannot read the network's XML: [^:]*line"
unlike "... (no event prefix twice)" "$err" "port-created: .*port-created: "
unlike "... not for a MAC" "$err" "reserved"
rm -f "$record"

run network md frobnicate "$data/network-start.xml"
is "an unknown network operation: exit 0" "$rc" 0
run qemu m1 frobnicate "$data/qemu-start.xml"
is "an unknown qemu operation: exit 0" "$rc" 0
run qemu m1 prepare "$data/qemu-prepare.xml"
is "qemu prepare: nothing to do, exit 0" "$rc" 0

# The network was never started with the hook: a metadata guest must not
# come up unprotected.
run qemu m1 start "$data/qemu-start.xml"
is "qemu start on a metadata network without our isolation: exit 1" "$rc" 1
like "qemu start without isolation: says what to do" "$err" "network md has no carthage-net isolation"
run qemu m1 stopped "$data/qemu-stopped.xml"
is "qemu stopped with nothing recorded: exit 0" "$rc" 0

# stdin is read in chunks up to 16 MiB: a document of 16 MiB exactly, its
# XML after the padding, is read whole; one byte more is refused; a pipe
# that gives it in short reads works too.
limit=$((16 * 1024 * 1024))
padded() { # SIZE: spaces, then the qemu start document, SIZE bytes in all
    local body; body=$(cat "$data/qemu-start.xml")
    { head -c $(($1 - ${#body})) /dev/zero | tr '\0' ' '; printf '%s' "$body"; } >"$work/padded"
}
padded "$limit"
run qemu m1 start "$work/padded"
is "stdin of exactly 16 MiB, the XML at its end: read whole (exit 1 on a network without isolation)" "$rc" 1
like "... the domain's XML reached: the network named" "$err" "network md has no carthage-net isolation"
cat "$work/padded" | CARTHAGE_NET_HOOK_OBJECT=qemu "$hook" m1 start begin - >/dev/null 2>"$work/err"
like "the same from a pipe (short reads): the domain's XML reached" "$(cat "$work/err")" \
    "network md has no carthage-net isolation"
padded $((limit + 1))
run qemu m1 start "$work/padded"
is "stdin of 16 MiB and one byte: exit 1" "$rc" 1
like "stdin of 16 MiB and one byte: says so" "$err" "stdin larger than $limit bytes"

# What configure says of the hook's link is what the program is: fully
# static (no program interpreter, no shared library named) when it printed
# "hook fully static: yes"; never libmnl either way (hooks/hook-mnl.c).
dynamic=$(readelf -dW "$hook" 2>&1)
unlike "the hook names no libmnl" "$dynamic" "libmnl"
if grep -q "^#define CN_HOOK_FULLY_STATIC 1" "$build/config.h"; then
    unlike "fully static: no program interpreter" "$(readelf -lW "$hook")" "program interpreter"
    unlike "fully static: no shared library named" "$dynamic" "(NEEDED)"
else
    skip "fully static: no program interpreter" "configured without it (sanitizers, or no static archives)"
    skip "fully static: no shared library named" "configured without it"
fi
done_testing
