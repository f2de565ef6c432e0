#!/usr/bin/env bash
# End to end, two hypervisors on OVN: a central host (OVN's northbound and
# southbound databases, ovn-northd) and hosts hv1 and hv2 (libvirtd, Open
# vSwitch with the userspace datapath, ovn-controller), joined by a
# management network (the databases, over TCP) and a tunnel wire (Geneve
# between the chassis).  Both hypervisors have the same definitions, the
# whole site; carthage-net on each writes to the one northbound database.
#
#   lab    (ovn) 10.90.0.0/24, v4.pool .100-.199, DNS lab.example
#     a      hv1  10.90.0.11 (a.lab.example)
#     b      hv2  from the pool (b.lab.example)
#     m1     hv1  10.90.0.13, boots with a forged MAC
#     m2     hv1  10.90.0.14, boots claiming b's address
#   other  (ovn) the same 10.90.0.0/24: only the switches keep it apart
#     c      hv2  10.90.0.50
set -u
. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib/common.sh"
. "$top/tests/e2e/lib/hosts.sh"
bail() { echo "Bail out! $*"; exit 1; }
[ -f /usr/share/ovn/ovn-nb.ovsschema ] || skip_all "OVN not installed (ovn-central, ovn-host)"
multihost_start ovsdb-server ovn-northd ovn-controller ovn-nbctl ovs-vsctl nsenter

defs=$hosts_dir/defs
mkdir -p "$defs"
cat >"$defs/site.conf" <<'EOF'
[network lab]
technology = ovn
v4.network = 10.90.0.0/24
v4.pool = 10.90.0.100-10.90.0.199
v4.domains = lab.example
mtu = 1400
ovn.northbound = tcp:10.99.0.1:6641

[network other]
technology = ovn
v4.network = 10.90.0.0/24
ovn.northbound = tcp:10.99.0.1:6641

[link a eth0]
net = lab
v4.address = 10.90.0.11
dns_name = a.lab.example

[link b eth0]
net = lab
dns_name = b.lab.example

[link m1 eth0]
net = lab
v4.address = 10.90.0.13

[link m2 eth0]
net = lab
v4.address = 10.90.0.14

[link c eth0]
net = other
v4.address = 10.90.0.50
EOF
CN_DEFS=(-d "$defs")

# --- the hosts ---------------------------------------------------------------------
t0=${EPOCHREALTIME/./}
host_start central --no-libvirtd
host_start hv1
host_start hv2
on central ip link add mgmt type bridge && on central ip link set mgmt up &&
    on central ip addr add 10.99.0.1/24 dev mgmt || bail "no management bridge"
n=11
for h in hv1 hv2; do
    wire central "m-$h" "$h" mgmt0 && on central ip link set "m-$h" master mgmt &&
        on "$h" ip addr add "10.99.0.$n/24" dev mgmt0 || bail "no management wire to $h"
    n=$((n + 1))
done
wire hv1 tun0 hv2 tun0 || bail "no tunnel wire"
ovn_central central 10.99.0.1 || bail "OVN's databases or northd do not start: $(cat "$hosts_dir/central/ovn.log")"
for h in hv1 hv2; do host_ovs "$h" || bail "Open vSwitch does not start in $h: $(tail -3 "$hosts_dir/$h/ovs-ctl.log")"; done
ovn_chassis hv1 10.98.0.11 br-phy tun0 10.99.0.1 || bail "ovn-controller does not start in hv1"
ovn_chassis hv2 10.98.0.12 br-phy tun0 10.99.0.1 || bail "ovn-controller does not start in hv2"
sbctl() { on central ovn-sbctl --db=unix:/run/ovn/ovnsb_db.sock "$@"; }
nbctl() { on central ovn-nbctl --db=unix:/run/ovn/ovnnb_db.sock "$@"; }
for _ in $(seq 100); do [ "$(sbctl --bare --columns=name list Chassis | grep -c .)" = 2 ] && break; sleep 0.1; done
is "both hypervisors are OVN chassis" "$(sbctl --bare --columns=name list Chassis | grep . | sort | xargs)" "hv1 hv2"
note "three hosts, OVN and both chassis up in $(( (${EPOCHREALTIME/./} - t0) / 1000 )) ms"

# --- define from both hosts at once ------------------------------------------------------
cn_on hv1 define >"$hosts_dir/define-hv1.out" 2>&1 &
p1=$!
cn_on hv2 define >"$hosts_dir/define-hv2.out" 2>&1 &
p2=$!
wait $p1; r1=$?
wait $p2; r2=$?
is "define on hv1 and hv2 at the same time: both exit 0" "$r1:$r2" "0:0"
[ "$r1:$r2" = 0:0 ] || sed 's/^/# /' "$hosts_dir"/define-hv*.out
# The links' ports (not the networks' own DHCP and DNS localports).
addresses=$(nbctl --format=csv --data=bare --no-headings --columns=addresses,external_ids list Logical_Switch_Port |
    grep 'carthage-net:machine' | cut -d, -f1 | awk '{print $2}' | sort)
is "... five ports of links, no address twice" "$(echo "$addresses" | grep -c .):$(echo "$addresses" | uniq -d)" "5:"
b_address=$(nbctl --bare --columns=addresses find Logical_Switch_Port 'external_ids:"carthage-net:machine"=b' | awk '{print $2}')
like "b has a pool address" "$b_address" '^10\.90\.0\.1[0-9][0-9]$'
is "status on hv1: in step (exit 0)" "$(cn_on hv1 status >/dev/null 2>&1; echo $?)" 0
is "status on hv2: in step (exit 0)" "$(cn_on hv2 status >/dev/null 2>&1; echo $?)" 0
render_hv1=$(cn_on hv1 render interface b eth0)
is "render interface b on hv1 and hv2: the same MAC and port" "$(cn_on hv2 render interface b eth0)" "$render_hv1"

# --- guests on both hosts ------------------------------------------------------------------
boot_on hv2 b "cn.sleep=240" || bail "cannot start b on hv2"
out=$(guest_wait_for_on hv2 b '^CN address' 60)
is "b (hv2) gets its OVN DHCP reservation" "$(result "$out" address)" "$b_address/24"
boot_on hv1 a "cn.resolve=b.lab.example cn.ping=$b_address cn.sleep=120" || bail "cannot start a on hv1"
out=$(guest_wait_for_on hv1 a '^CN ping' 90)
is "a (hv1) gets its reservation" "$(result "$out" address)" "10.90.0.11/24"
is "a resolves b by name (OVN's DNS records)" "$(result "$out" "resolve b.lab.example")" "$b_address"
is "a pings b across hosts (Geneve)" "$(result "$out" "ping $b_address")" ok

boot_on hv2 c "cn.ping=10.90.0.11 cn.ping=$b_address" || bail "cannot start c on hv2"
boot_on hv1 m1 "cn.mac=02:00:00:00:00:99 cn.addr=10.90.0.13/24 cn.ping=$b_address" || bail "cannot start m1"
boot_on hv1 m2 "cn.addr=$b_address/24 cn.ping=10.90.0.11@$b_address" || bail "cannot start m2"
out=$(guest_wait_on hv2 c 90)
is "c (switch other) gets its own reservation" "$(result "$out" address)" "10.90.0.50/24"
is "c cannot reach a (another switch, other host)" "$(result "$out" "ping 10.90.0.11")" fail
is "c cannot reach b (another switch, same host)" "$(result "$out" "ping $b_address")" fail
out=$(guest_wait_on hv1 m1 90)
is "m1 with a forged MAC gets nothing across to b" "$(result "$out" "ping $b_address")" fail
out=$(guest_wait_on hv1 m2 90)
is "m2 claiming b's address gets nothing to a" "$(result "$out" "ping 10.90.0.11@$b_address")" fail

# --- a port removed by hand, found and restored -----------------------------------------------
b_port=$(cn_on hv1 render interface b eth0 | sed -n 's/.*interfaceid="\([^"]*\)".*/\1/p')
nbctl lsp-del "$b_port"
out=$(cn_on hv1 status 2>&1); rc=$?
is "status on hv1 after ovn-nbctl lsp-del of b's port: exit 5" "$rc" 5
like "... names the port" "$out" "^drift: network lab: ovn: port b eth0: missing$"
out=$(cn_on hv2 repair 2>&1); rc=$?
is "repair on hv2: exit 0" "$rc" 0
like "... adds b's port" "$out" "^network lab: ovn: port b eth0: added$"
is "... with b's address again" "$(nbctl lsp-get-addresses "$b_port" | awk '{print $2}')" "$b_address"
is "status on hv1 then: exit 0" "$(cn_on hv1 status >/dev/null 2>&1; echo $?)" 0
on hv1 virsh -q destroy a >/dev/null 2>&1
on hv1 virsh -q undefine a >/dev/null 2>&1
boot_on hv1 a "cn.ping=$b_address" || bail "cannot start a again"
out=$(guest_wait_on hv1 a 90)
is "a pings b again once the port is back" "$(result "$out" "ping $b_address")" ok
note "the whole test: $(( (${EPOCHREALTIME/./} - t0) / 1000000 )) s"
done_testing
