#!/usr/bin/env bash
# carthage-net-hook in a real libvirtd: metadata isolation for booted
# guests, forged MACs and addresses refused, elements removed on stop,
# consistent across a libvirtd restart, tables gone with the network.
set -u
. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib/common.sh"
e2e_start --hook python3 -- "$0" "$@"
cn() { "$build/carthage-net" -f "$top/tests/e2e/defs/metadata.conf" "$@"; }

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done; }
trap cleanup EXIT

# Event subscribers: one records, one hangs (and must not delay libvirt).
events_dir=$("$build/carthage-net-hook" --paths | sed -n 's/^events_dir=//p')
mkdir -p "$events_dir"
printf '#!/bin/sh\ncat >>%s/subscriber.log\n' "$CN_E2E_RUN" >"$events_dir/20-record"
printf '#!/bin/sh\nexec sleep 120\n' >"$events_dir/90-hang"
chmod +x "$events_dir/20-record" "$events_dir/90-hang"

# An uplink with the default route: masqueraded traffic leaves from 203.0.113.5.
ip link add up0 type veth peer name up0p
ip addr add 203.0.113.5/24 dev up0 && ip link set up0 up && ip link set up0p up
ip route add default via 203.0.113.1

cn define --start >/dev/null
ok "network start hook made the bridge table" nft list table bridge cn_md
ok "network start hook made the inet table" nft list table inet cn_md

# Handlers on the host, on the gateway address.
for port in 8000 9001 9002; do
    mkdir -p "$CN_E2E_RUN/h$port"
    echo "handler-$port" >"$CN_E2E_RUN/h$port/index.html"
    python3 -m http.server --bind 10.63.0.1 --directory "$CN_E2E_RUN/h$port" "$port" >/dev/null 2>&1 &
    pids+=($!)
done
sleep 1

checks="cn.sleep=3 cn.resolve=metadata cn.http=metadata:80/ cn.http=10.63.0.1:9001/ cn.http=10.63.0.1:9002/ cn.http=10.63.0.1:8000/"
boot_guest m1 "$checks cn.sleep=600"
started=$(date +%s)
boot_guest m2 "$checks cn.sleep=600"
is "a hanging event subscriber does not delay virsh start" "$(( $(date +%s) - started < 15 ))" 1
# Both stay up (cn.sleep=600: they are destroyed below; 40 s was too short
# for the checks between under a loaded CI) for the stop and restart checks.
m1=$(guest_wait_for m1 '^CN http 10.63.0.1:8000/' 120)
m2=$(guest_wait_for m2 '^CN http 10.63.0.1:8000/' 120)
is "m1 gets its reserved address" "$(result "$m1" address)" "10.63.0.11/24"
is "m1 resolves the metadata name" "$(result "$m1" "resolve metadata")" "169.254.169.254"
is "m1 reaches its own handler at http://metadata/" "$(result "$m1" "http metadata:80/")" "handler-9001"
is "m2 reaches its own handler at http://metadata/" "$(result "$m2" "http metadata:80/")" "handler-9002"
is "m1 cannot reach its handler directly" "$(result "$m1" "http 10.63.0.1:9001/")" fail
is "m1 cannot reach m2's handler directly" "$(result "$m1" "http 10.63.0.1:9002/")" fail
is "m2 cannot reach the default handler directly" "$(result "$m2" "http 10.63.0.1:8000/")" fail
out=$(cn isolation show)
like "both ports are pinned with their handlers" "$out" "handler 10.63.0.1:9001"

# Events, in order, in the log and at the subscriber.
events=$(cn events --json)
order=$(printf '%s\n' "$events" | python3 -c '
import json, sys
for line in sys.stdin:
    e = json.loads(line)
    print(e["event"], e.get("machine") or e.get("domain") or e.get("network"), end=",")')
like "events: network-started, then each guest attached, resolved and its public address" "$order" \
    "^network-started md,guest-attached m1,resolved m1,public_address m1,guest-attached m2,resolved m2,public_address m2,"
like "events: public_address is the uplink's address for the masqueraded network" "$events" \
    '"event":"public_address","machine":"m1","network":"md","address":"10.63.0.11","public_address":"203.0.113.5","nat":"masquerade","device":"up0"'
like "events: resolved lists the link's tap, MAC and address" "$events" '"event":"resolved","machine":"m1","domain":"m1","links":\[\{"iface":"eth0","network":"md","tap":"vnet[0-9]+","mac":"[0-9a-f:]+","ipv4":\["10.63.0.11"\]\}\]'
for _ in $(seq 50); do grep -q '"resolved","machine":"m2"' "$CN_E2E_RUN/subscriber.log" 2>/dev/null && break; sleep 0.2; done
is "events: the subscriber got every event" "$(grep -c '"seq"' "$CN_E2E_RUN/subscriber.log")" "$(printf '%s\n' "$events" | grep -c '"seq"')"

# The outbound address changes while both run: the watcher announces it for both.
"$build/carthage-net" events watch >"$CN_E2E_RUN/watch.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do grep -q '^outbound address' "$CN_E2E_RUN/watch.log" && break; sleep 0.1; done
ip addr add 203.0.113.6/24 dev up0
ip route replace default via 203.0.113.1 src 203.0.113.6
for _ in $(seq 100); do [ "$(cn events --json | grep -c '"public_address":"203.0.113.6"')" -ge 2 ] && break; sleep 0.1; done
moved=$(cn events --json | sed -n 's/.*"event":"public_address","machine":"\([^"]*\)".*"public_address":"203.0.113.6".*/\1/p' | sort | tr '\n' ' ')
is "events watch: a new outbound address is announced for both running guests" "$moved" "m1 m2 "

# A domain whose NIC was written by hand, claiming m1's MAC: refused at port-created.
m1_mac=$(cn render interface m1 eth0 | sed -n 's/.*mac address="\([^"]*\)".*/\1/p')
guest_base_xml m3 "cn.addr=10.63.0.11/24 cn.http=169.254.169.254:80/" |
    sed "s|<devices>|<devices><interface type='network'><mac address='$m1_mac'/><source network='md'/><model type='virtio'/></interface>|" \
    >"$CN_E2E_RUN/m3.xml"
virsh -q define "$CN_E2E_RUN/m3.xml" >/dev/null
out=$(virsh start m3 2>&1); rc=$?
isnt_zero() { [ "$1" != 0 ]; }
ok "forged MAC: the domain does not start" isnt_zero "$rc"
like "forged MAC: libvirt shows why" "$out" "MAC $m1_mac on network md is reserved for domain m1"

# A hand-written NIC with its own MAC, using m1's address: gets nothing.
# It stays up after its checks (cn.sleep=600; destroyed below): a guest
# powers off after its last check, its port goes with it (qemu stopped),
# and the pin check below raced that under a loaded CI.
guest_base_xml m4 "cn.addr=10.63.0.11/24 cn.sleep=2 cn.http=169.254.169.254:80/ cn.ping=10.63.0.1 cn.sleep=600" |
    sed "s|<devices>|<devices><interface type='network'><mac address='52:54:00:63:00:44'/><source network='md'/><model type='virtio'/></interface>|" \
    >"$CN_E2E_RUN/m4.xml"
virsh -q define "$CN_E2E_RUN/m4.xml" >/dev/null && virsh -q start m4 >/dev/null
m4=$(guest_wait_for m4 '^CN ping 10\.63\.0\.1 ' 90)
is "forged address: no metadata" "$(result "$m4" "http 169.254.169.254:80/")" fail
is "forged address: not even the gateway" "$(result "$m4" "ping 10.63.0.1")" fail
like "a NIC not rendered by carthage-net is pinned to its MAC" "$(cn isolation show)" "52:54:00:63:00:44"

# Stop, libvirtd restart, network stop.
m1_tap=$(virsh domiflist m1 | awk -v mac="$m1_mac" '$5 == mac {print $1}')
like "m1 is still running before the destroy" "$(virsh domstate m1)" "running"
virsh -q destroy m1 >/dev/null
out=$(cn isolation show)
if printf '%s\n' "$out" | grep -q "guest $m1_tap "; then r=1; else r=0; fi
_tap_result $r "virsh destroy removes the port's elements"
like "the reservation stays while m1 is down" "$(nft list set bridge cn_md reserved)" "10.63.0.11 . $m1_mac"

restart_libvirtd
sleep 1
m2_mac=$(cn render interface m2 eth0 | sed -n 's/.*mac address="\([^"]*\)".*/\1/p')
like "libvirtd restart: m2 still running" "$(virsh domstate m2)" "running"
like "libvirtd restart: m2's port still pinned" "$(cn isolation show)" "$m2_mac addresses pinned handler 10.63.0.1:9002"

virsh -q destroy m2 >/dev/null 2>&1; virsh -q destroy m4 >/dev/null 2>&1
virsh -q net-destroy md >/dev/null
is "net-destroy leaves no table of ours" "$(nft list tables | grep -c ' cn_md')" 0
events=$(cn events --json)
like "events: guest-detached for m1" "$events" '"event":"guest-detached","domain":"m1","network":"md"'
like "events: network-stopped last" "$(printf '%s\n' "$events" | tail -1)" '"event":"network-stopped","network":"md"'
like "events --since shows only newer ones" "$(cn events --since 4 | head -1)" '^5 '

done_testing
