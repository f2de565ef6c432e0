#!/usr/bin/env bash
# Machines added and removed while their network runs, with the hook in a
# real libvirtd and booted guests: status in step right after each define;
# a machine added live gets, booted before any network restart, the same
# isolation as one defined at network start (its reserved address, its own
# handler, its MAC refused to others); a machine removed live leaves no
# reservation, DNS record or hook data, and its address no one else may
# use.  And IPv6 pinned on a network with v6.network: a booted guest gets
# its lease, its link-local and its SLAAC address.
set -u
. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib/common.sh"
e2e_start --hook python3 -- "$0" "$@"
defs=$top/tests/e2e/defs/live
# The definitions as they stand: WITH is the list of optional files in.
WITH="20-live2.conf"
cn() {
    local args=(-f "$defs/10-base.conf") f
    for f in $WITH; do args+=(-f "$defs/$f"); done
    "$build/carthage-net" "${args[@]}" "$@"
}
status_rc() { cn status >"$CN_E2E_RUN/status.out" 2>&1; echo $?; }
run_dir=$("$build/carthage-net-hook" --paths | sed -n 's/^run_dir=//p')
mac_of() { cn render interface "$1" eth0 | sed -n 's/.*mac address="\([^"]*\)".*/\1/p'; }

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done; }
trap cleanup EXIT

out=$(cn define --start 2>&1)
is "define --start: exit 0" "$?" 0
is "status right after define --start: in step (exit 0)" "$(status_rc)" 0
for port in 8000 9001 9003; do
    mkdir -p "$CN_E2E_RUN/h$port"
    echo "handler-$port" >"$CN_E2E_RUN/h$port/index.html"
    python3 -m http.server --bind 10.64.0.1 --directory "$CN_E2E_RUN/h$port" "$port" >/dev/null 2>&1 &
    pids+=($!)
done
sleep 1

# --- IPv6 on a network that allows it (booted now, read later)
six_mac=52:54:00:65:00:06
boot_guest six "cn.ipv6 cn.ping6=fd00:65::1 cn.resolve=six cn.sleep=90"
boot_guest live1 "cn.sleep=2 cn.http=metadata:80/ cn.sleep=60"

# --- a machine added while the network runs
WITH="20-live2.conf 30-live3.conf"
out=$(cn define 2>&1); rc=$?
is "define with live3 added: exit 0" "$rc" 0
live3_mac=$(mac_of live3)
live3_ip=$(cn render network live | sed -n 's/.*<cn:guest machine="live3" [^>]*ipv4="\([^"]*\)".*/\1/p')
like "define: live3's reservation goes in live" "$out" "network live: add DHCP host $live3_mac $live3_ip live3 live"
like "define: live3's reservation goes into the kernel's sets now" "$out" \
    "network live: isolation: set reserved: missing $live3_ip \. $live3_mac \(machine live3 iface eth0\)"
like "define: the hook's record follows" "$out" "network live: update the hook's record of the network live"
if printf '%s\n' "$out" | grep -q "takes effect at the next network start"; then r=1; else r=0; fi
_tap_result $r "define: no 'takes effect at the next network start' any more"
rc=$(status_rc)
is "status right after adding a machine live: in step (exit 0)" "$rc" 0
[ "$rc" = 0 ] || sed 's/^/#   /' "$CN_E2E_RUN/status.out"
like "the hook's record names live3 and its handler" "$(cat "$run_dir/hook-network-live")" \
    "^guest live3 eth0 $live3_mac $live3_ip handler=10.64.0.1:9003$"
like "the kernel has live3's handler" "$(nft list map inet cn_live handlers)" "$live3_mac : 10.64.0.1 . 9003"
out=$(cn define 2>&1)
is "define again: nothing to change" "$(printf '%s\n' "$out" | grep -vc ': unchanged$')" 0

boot_guest live3 "cn.sleep=2 cn.http=metadata:80/ cn.http=10.64.0.1:9001/ cn.ping=10.64.0.1 cn.sleep=30"
live3=$(guest_wait_for live3 '^CN ping 10.64.0.1 ' 120)
is "live3 (added live, booted before any network restart) gets its reserved address" "$(result "$live3" address)" "$live3_ip/24"
is "live3 reaches its own handler at http://metadata/" "$(result "$live3" "http metadata:80/")" "handler-9003"
is "live3 cannot reach live1's handler" "$(result "$live3" "http 10.64.0.1:9001/")" fail
is "live3 reaches the gateway" "$(result "$live3" "ping 10.64.0.1")" ok
like "live3's port is pinned, with its own handler" "$(cn isolation show)" "$live3_mac addresses pinned handler 10.64.0.1:9003"
live1=$(guest_wait_for live1 '^CN http metadata:80/' 120)
is "live1 (defined at network start) reaches its own handler" "$(result "$live1" "http metadata:80/")" "handler-9001"

# live3's MAC is reserved for live3 (the running network learned it live):
# another domain claiming it does not start.
guest_base_xml thief "cn.addr=$live3_ip/24" |
    sed "s|<devices>|<devices><interface type='network'><mac address='$live3_mac'/><source network='live'/><model type='virtio'/></interface>|" \
    >"$CN_E2E_RUN/thief.xml"
virsh -q define "$CN_E2E_RUN/thief.xml" >/dev/null
out=$(virsh start thief 2>&1); rc=$?
ok "a domain claiming live3's MAC does not start" test "$rc" != 0
like "... and libvirt shows why (the record, not the XML the network started with)" "$out" \
    "MAC $live3_mac on network live is reserved for domain live3"
virsh -q undefine thief >/dev/null 2>&1

# --- a machine removed while the network runs
live2_mac=$(mac_of live2)
WITH="30-live3.conf"
out=$(cn define 2>&1); rc=$?
is "define with live2 removed: exit 0" "$rc" 0
like "define: live2's reservation goes" "$out" "network live: delete DHCP host $live2_mac 10.64.0.12 live2 live"
like "define: live2's DNS record goes" "$out" "network live: delete DNS host 10.64.0.12 live2 live"
like "define: live2's reservation leaves the kernel's sets" "$out" \
    "network live: isolation: set reserved: extra 10.64.0.12 \. $live2_mac"
rc=$(status_rc)
is "status right after removing a machine live: in step (exit 0)" "$rc" 0
[ "$rc" = 0 ] || sed 's/^/#   /' "$CN_E2E_RUN/status.out"
record=$(cat "$run_dir/hook-network-live")
if printf '%s\n' "$record" | grep -q "^guest live2 "; then r=1; else r=0; fi
_tap_result $r "the hook's record no longer names live2"
like "the hook's record keeps live2's address retired" "$record" "^retired 10.64.0.12$"
ok "the kernel: 10.64.0.12 reserved for no MAC" eval "! nft get element bridge cn_live reserved '{ 10.64.0.12 . $live2_mac }' 2>/dev/null &&
    nft get element bridge cn_live reserved_addr '{ 10.64.0.12 }' >/dev/null 2>&1"
virsh net-dumpxml live >"$CN_E2E_RUN/live.xml"
is "libvirt's running network has no DHCP host or DNS record for live2" \
    "$(xmllint --xpath "count(//ip/dhcp/host[@ip='10.64.0.12']) + count(//dns/host[@ip='10.64.0.12'])" "$CN_E2E_RUN/live.xml")" 0

# Nobody may use live2's address now: a hand-written NIC with a free
# address of its own reaches the gateway, and not from live2's.
guest_base_xml intruder "cn.addr=10.64.0.60/24 cn.addr2=10.64.0.12/24 cn.sleep=2 cn.ping=10.64.0.1@10.64.0.60 cn.ping=10.64.0.1@10.64.0.12" |
    sed "s|<devices>|<devices><interface type='network'><mac address='52:54:00:64:00:99'/><source network='live'/><model type='virtio'/></interface>|" \
    >"$CN_E2E_RUN/intruder.xml"
virsh -q define "$CN_E2E_RUN/intruder.xml" >/dev/null && virsh -q start intruder >/dev/null
intruder=$(guest_wait intruder 120)
is "twin: a NIC carthage-net did not render reaches the gateway from a free address" \
    "$(result "$intruder" "ping 10.64.0.1@10.64.0.60")" ok
is "... but not from the removed machine's address" "$(result "$intruder" "ping 10.64.0.1@10.64.0.12")" fail
# It powers off by itself: wait for the qemu hook's "stopped" to be done.
for _ in $(seq 100); do [ -e "$run_dir/hook-domain-intruder" ] || break; sleep 0.1; done

# --- IPv6, pinned
six=$(guest_wait_for six "^CN resolve six" 120)
six_ip=$(cn render network dual | sed -n 's/.*<cn:guest machine="six" [^>]*ipv4="\([^"]*\)".*/\1/p')
is "six gets its DHCP lease on a network with IPv6" "$(result "$six" address)" "$six_ip/24"
like "six has its link-local address (EUI-64)" "$(result "$six" ipv6)" "^fe80::5054:ff:fe65:6/64 "
like "six has its SLAAC address in v6.network (libvirt's router advertisements reached it)" \
    "$(result "$six" ipv6)" " fd00:65::5054:ff:fe65:6/64"
is "six pings the gateway over IPv6" "$(result "$six" "ping6 fd00:65::1")" ok
like "six's port is pinned to those IPv6 addresses" "$(cn isolation show --json)" \
    '"mac":"52:54:00:65:00:06","addresses_pinned":true,"handler":null,"ipv6":\["(fe80::5054:ff:fe65:6","fd00:65::5054:ff:fe65:6|fd00:65::5054:ff:fe65:6","fe80::5054:ff:fe65:6)"\]' 

# A guest that powered off by itself (live3 after its sleep) is "not
# running" a moment before libvirt's "release" reaches the hook: wait for
# the hook to forget it, as an operator's status after the fact would.
for record in "$run_dir"/hook-domain-*; do
    [ -e "$record" ] || continue
    domain=${record##*/hook-domain-}
    [ "$(virsh -q domstate "$domain" 2>/dev/null)" = running ] && continue
    for _ in $(seq 100); do [ -e "$record" ] || break; sleep 0.1; done
done
rc=$(status_rc)
is "status at the end: in step" "$rc" 0
[ "$rc" = 0 ] || sed 's/^/#   /' "$CN_E2E_RUN/status.out"
virsh -q destroy live3 >/dev/null 2>&1; virsh -q destroy live1 >/dev/null 2>&1
done_testing
