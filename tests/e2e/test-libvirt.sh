#!/usr/bin/env bash
# End to end against a real libvirtd in private namespaces, with real
# guests: define the example site through the libvirt API, boot guests,
# check what they see.
set -u
. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib/common.sh"
e2e_start -- "$0" "$@"
defs=(-d "$top/examples/site")
cn() { "$build/carthage-net" "${defs[@]}" --state-dir "$CN_E2E_RUN/state" "$@"; }

# An "upstream" host behind the NAT, in a namespace of its own.
upstream=cn-e2e-up-$$
ip netns add "$upstream"
trap 'ip netns del "$upstream" 2>/dev/null' EXIT
ip link add up0 type veth peer name up1 netns "$upstream"
ip addr add 198.51.100.1/24 dev up0 && ip link set up0 up
ip -n "$upstream" addr add 198.51.100.2/24 dev up1
ip -n "$upstream" link set up1 up && ip -n "$upstream" link set lo up
ip route add default via 198.51.100.2

# --- define -----------------------------------------------------------------
out=$(cn define --dry-run 2>&1)
like "define --dry-run says what it would do" "$out" "network lab: would define"
is "define --dry-run changes nothing" "$(virsh -q net-list --all --name | grep -c .)" 0
out=$(cn define --start 2>&1); rc=$?
is "define --start succeeds" "$rc" 0
is "every example network defined" "$(virsh -q net-list --all --name | sort | tr '\n' ' ')" "ci dev lab office prod "
uuid_before=$(virsh net-uuid lab)
out=$(cn define 2>&1)
is "define twice changes nothing" "$(printf '%s\n' "$out" | grep -vc ': unchanged$')" 0
ok "bridge network got its bridge made" ip link show br-office

# --- scenario 1: two guests on the NAT network ---------------------------------
web_ip=$(sed -n 's/^v4 lab web.lab.example eth0 //p' "$CN_E2E_RUN/state/assignments")
boot_guest web.lab.example "cn.resolve=web cn.resolve=gw cn.ping=198.51.100.2" &&
    boot_guest gateway.lab.example "cn.resolve=gw cn.resolve=web cn.ping=198.51.100.2"
web=$(guest_wait web.lab.example)
gw=$(guest_wait gateway.lab.example)
is "nat: web gets its pool address" "$(result "$web" address)" "$web_ip/24"
is "nat: gateway gets its static address" "$(result "$gw" address)" "10.60.0.10/24"
is "nat: web resolves its own name" "$(result "$web" "resolve web")" "$web_ip"
is "nat: web resolves the other's name" "$(result "$web" "resolve gw")" "10.60.0.10"
is "nat: gateway resolves web" "$(result "$gw" "resolve web")" "$web_ip"
is "nat: web reaches the upstream host through NAT" "$(result "$web" "ping 198.51.100.2")" ok
is "nat: gateway reaches the upstream host through NAT" "$(result "$gw" "ping 198.51.100.2")" ok

# --- a guest on a pre-made pool TAP (taskcluster-worker's network.Pool)
out=$(cn pool create ci-taps 2>&1)
like "pool: TAPs made on the ci bridge" "$out" "8 TAP\(s\) made, 0 already there, on cn-ci"
runner_mac=$(cn render interface runner-1 eth0 2>/dev/null | sed -n 's/.*mac address="\([^"]*\)".*/\1/p')
[ -n "$runner_mac" ] || runner_mac=$(sed -n 's/.*machine="runner-1" iface="eth0" mac="\([^"]*\)".*/\1/p' <(cn render network ci))
tap=$(cn pool acquire ci-taps --machine runner-1 --mac "$runner_mac")
is "pool: acquire hands out the first TAP" "$tap" citap0
runner_ip=$(sed -n 's/^v4 ci runner-1 eth0 //p' "$CN_E2E_RUN/state/assignments")
boot_guest runner-1 "cn.ping=10.61.0.1"
runner=$(guest_wait runner-1)
is "pool: the guest on $tap gets its reserved address" "$(result "$runner" address)" "$runner_ip/24"
is "pool: the guest reaches the gateway" "$(result "$runner" "ping 10.61.0.1")" ok
like "pool: libvirt used the TAP as it is" "$(virsh domiflist runner-1)" "$tap +ethernet"

# --- scenario 3: a machine added while the network runs ----------------------
ifindex_before=$(cat /sys/class/net/cn-lab/ifindex)
defs=(-d "$top/examples/site" -f "$top/tests/e2e/defs/added-machine.conf")
out=$(cn define lab 2>&1); rc=$?
is "added machine: define succeeds" "$rc" 0
like "added machine: reservation added live" "$out" "add DHCP host .* late live"
like "added machine: DNS record added live" "$out" "add DNS host .* late live"
late_ip=$(sed -n 's/^v4 lab late.lab.example eth0 //p' "$CN_E2E_RUN/state/assignments")
boot_guest late.lab.example "cn.resolve=late cn.resolve=web"
late=$(guest_wait late.lab.example)
is "added machine: new guest gets its reserved address" "$(result "$late" address)" "$late_ip/24"
is "added machine: resolves its own new name" "$(result "$late" "resolve late")" "$late_ip"
is "added machine: bridge not recreated" "$(cat /sys/class/net/cn-lab/ifindex)" "$ifindex_before"
is "added machine: same UUID" "$(virsh net-uuid lab)" "$uuid_before"
ok "added machine: reservation is in the persistent config" bash -c "virsh net-dumpxml --inactive lab | grep -q \"name='late'\""

# --- changes that need a restart are named, not applied behind guests' backs
defs=(-d "$top/examples/site" -f "$top/tests/e2e/defs/added-machine.conf" -f "$top/tests/e2e/defs/lab-routed.conf")
out=$(cn define lab 2>&1); rc=$?
is "restart needed: define succeeds" "$rc" 0
like "restart needed: says which network and why" "$out" "network lab: needs a restart to apply: forward mode nat -> route"
ok "restart needed: persistent config updated" bash -c "virsh net-dumpxml --inactive lab | grep -q \"<forward mode='route'\""
ok "restart needed: running network untouched" bash -c "virsh net-dumpxml lab | grep -q \"<forward mode='nat'\""
is "restart needed: same UUID" "$(virsh net-uuid lab)" "$uuid_before"

# --- networks carthage-net did not make are left alone
printf "<network><name>foreign</name><bridge name='foreign0'/></network>" >"$CN_E2E_RUN/foreign.xml"
virsh -q net-define "$CN_E2E_RUN/foreign.xml" >/dev/null
out=$(cn undefine foreign 2>&1); rc=$?
is "foreign network: undefine refused, exit 1" "$rc" 1
like "foreign network: says why" "$out" "not made by carthage-net"
ok "foreign network: still defined" virsh net-info foreign

# --- scenario 2: isolate_guests -------------------------------------------------
defs=(-f "$top/tests/e2e/defs/isolated.conf")
cn define --start iso >/dev/null
boot_guest iso-a "cn.sleep=6 cn.ping=10.62.0.22 cn.ping=10.62.0.1" &&
    boot_guest iso-b "cn.sleep=6 cn.ping=10.62.0.21 cn.ping=10.62.0.1"
a=$(guest_wait iso-a)
b=$(guest_wait iso-b)
is "isolated: a has its address" "$(result "$a" address)" "10.62.0.21/24"
is "isolated: a cannot reach b" "$(result "$a" "ping 10.62.0.22")" fail
is "isolated: b cannot reach a" "$(result "$b" "ping 10.62.0.21")" fail
is "isolated: a reaches the gateway" "$(result "$a" "ping 10.62.0.1")" ok
is "isolated: b reaches the gateway" "$(result "$b" "ping 10.62.0.1")" ok

# --- undefine ----------------------------------------------------------------------
# iso-a and iso-b powered off but stay defined: they still use the network.
out=$(cn undefine iso 2>&1); rc=$?
is "undefine refused while a domain uses the network" "$rc" 3
like "undefine names the domains" "$out" "in use by domain\(s\) (iso-b, iso-a|iso-a, iso-b)"
out=$(cn undefine --force iso 2>&1); rc=$?
is "undefine --force removes it" "$rc" 0
ok "network gone" bash -c "! virsh net-info iso"
defs=(-d "$top/examples/site")
out=$(cn undefine nosuchnet 2>&1); rc=$?
is "undefine of an unknown network: exit 1" "$rc" 1
done_testing
