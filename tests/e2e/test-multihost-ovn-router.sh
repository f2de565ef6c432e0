#!/usr/bin/env bash
# End to end, two hypervisors on OVN with a logical router: forward nat
# (SNAT), 1:1 NAT of a guest's public address, isolate_guests across
# hosts, per-VM metadata from each chassis's own end of the network's
# metadata localport (carthage-net metadata serve --ovn), and
# ovn-controller killed and restarted on the gateway chassis.
# An "outside" host is wired to hv1, the gateway chassis, whose Open
# vSwitch maps physical network "outside" to its bridge br-ex
# (ovn-bridge-mappings): the router's uplink lives there.
#
#   lab   (ovn) 10.90.0.0/24, v4.pool .100-.199, masquerade, isolate_guests,
#         metadata; router uplink 192.0.2.10/24 on "outside", default route
#         via 192.0.2.1
#     a   hv1  10.90.0.11, public 192.0.2.20
#     b   hv2  from the pool
#     c   hv2  10.90.0.13
#     m1  hv1  10.90.0.14, boots with a forged MAC
#     m2  hv1  10.90.0.15, boots claiming b's address
#   outside    192.0.2.1/24, no route to 10.90.0.0/24 (until it tries one)
set -u
. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib/common.sh"
. "$top/tests/e2e/lib/hosts.sh"
bail() { echo "Bail out! $*"; exit 1; }
[ -f /usr/share/ovn/ovn-nb.ovsschema ] || skip_all "OVN not installed (ovn-central, ovn-host)"
multihost_start ovsdb-server ovn-northd ovn-controller ovn-nbctl ovn-sbctl ovs-vsctl nsenter

defs=$hosts_dir/defs
mkdir -p "$defs"
write_defs() {
    cat >"$defs/site.conf" <<EOF
[network lab]
technology = ovn
v4.network = 10.90.0.0/24
v4.pool = 10.90.0.100-10.90.0.199
v4.domains = lab.example
forward = $1
v4.masquerade = $([ "$1" = nat ] && echo true || echo false)
isolate_guests = $2
metadata = true
ovn.northbound = tcp:10.99.0.1:6641
ovn.uplink = outside
ovn.uplink_address = 192.0.2.10/24
ovn.uplink_gateway = 192.0.2.1
ovn.gateway_chassis = hv1

[link a eth0]
net = lab
v4.address = 10.90.0.11
v4.public_address = 192.0.2.20

[link b eth0]
net = lab

[link c eth0]
net = lab
v4.address = 10.90.0.13

[link m1 eth0]
net = lab
v4.address = 10.90.0.14

[link m2 eth0]
net = lab
v4.address = 10.90.0.15
EOF
}
write_defs nat true
CN_DEFS=(-d "$defs")
md=$hosts_dir/metadata
for m in a b c m1 m2; do mkdir -p "$md/$m" && echo "#cloud-config for $m" >"$md/$m/user-data"; done
# The metadata service on each chassis: started by this test, stopped by PID.
metadata_pids=()
metadata_start() {
    local host=$1 log pid t0=${EPOCHREALTIME/./} took
    log=$hosts_dir/metadata-$host.log
    # Emptied here, before the server starts: a log left by an earlier
    # server (killed) says "listening" too, and a check of it before the
    # new server's shell opened it would take that for the new one.
    : >"$log"
    # nsenter and env exec: $! is the server itself.
    nsenter --target "$(cat "$hosts_dir/$host/pid")" --net --mount -- \
        env CARTHAGE_NET_RUN_DIR="$hosts_dir/$host/run" "$build/carthage-net" -d "$defs" \
        metadata serve --ovn lab --data-dir "$md" >>"$log" 2>&1 &
    pid=$!
    metadata_pids+=("$pid")
    eval "metadata_pid_$host=$pid"
    for _ in $(seq 300); do
        if grep -q "listening on" "$log"; then
            took=$(((${EPOCHREALTIME/./} - t0) / 1000))
            [ "$took" -lt 3000 ] || note "metadata serve on $host took $took ms to listen"
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}
# metadata_bound HOST: waits (15 s) until HOST's ovn-controller delivers to
# the metadata end (flows with output to its port; there are such flows
# only while a guest of the switch runs on HOST).
metadata_bound() {
    local host=$1 link ofport
    link=$(grep -o '(link cnmd[0-9a-f]*)' "$hosts_dir/metadata-$host.log" | tr -d '()' | cut -d' ' -f2)
    [ -n "$link" ] || return 1
    for _ in $(seq 150); do
        ofport=$(on "$host" ovs-vsctl get Interface "$link" ofport 2>/dev/null)
        [ -n "$ofport" ] && [ "$ofport" -gt 0 ] 2>/dev/null &&
            on "$host" ovs-ofctl dump-flows br-int 2>/dev/null | grep -q "output:$ofport\b" && return 0
        sleep 0.1
    done
    return 1
}
metadata_stop_all() {
    local pid
    for pid in "${metadata_pids[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${metadata_pids[@]}"; do wait "$pid" 2>/dev/null; done
    metadata_pids=()
}
trap 'metadata_stop_all; hosts_stop' EXIT

# --- the hosts ---------------------------------------------------------------------
# carthage-net-hook in every host's libvirt, its directories private to each.
hooks=$hosts_dir/hooks
mkdir -p "$hooks/network.d" "$hooks/qemu.d"
cp "$build/carthage-net-hook" "$hooks/network.d/carthage-net"
cp "$build/carthage-net-hook" "$hooks/qemu.d/carthage-net"
export CN_E2E_HOOKS_SRC=$hooks
CN_E2E_PRIVATE_DIRS=$("$build/carthage-net-hook" --paths | sed 's/^[a-z_]*=//' | tr '\n' ' ')
export CN_E2E_PRIVATE_DIRS
t0=${EPOCHREALTIME/./}
host_start central --no-libvirtd
host_start hv1
host_start hv2
host_start outside --no-libvirtd
on central ip link add mgmt type bridge && on central ip link set mgmt up &&
    on central ip addr add 10.99.0.1/24 dev mgmt || bail "no management bridge"
n=11
for h in hv1 hv2; do
    wire central "m-$h" "$h" mgmt0 && on central ip link set "m-$h" master mgmt &&
        on "$h" ip addr add "10.99.0.$n/24" dev mgmt0 || bail "no management wire to $h"
    n=$((n + 1))
done
wire hv1 tun0 hv2 tun0 || bail "no tunnel wire"
wire hv1 ext0 outside eth0 && on outside ip addr add 192.0.2.1/24 dev eth0 || bail "no wire to the outside"
ovn_central central 10.99.0.1 || bail "OVN's databases or northd do not start: $(cat "$hosts_dir/central/ovn.log")"
for h in hv1 hv2; do host_ovs "$h" || bail "Open vSwitch does not start in $h: $(tail -3 "$hosts_dir/$h/ovs-ctl.log")"; done
host_bridge hv1 br-ex ext0 || bail "no br-ex on hv1"
on hv1 ovs-vsctl --timeout=10 set open_vswitch . external_ids:ovn-bridge-mappings=outside:br-ex || bail "no bridge mapping"
ovn_chassis hv1 10.98.0.11 br-phy tun0 10.99.0.1 || bail "ovn-controller does not start in hv1"
ovn_chassis hv2 10.98.0.12 br-phy tun0 10.99.0.1 || bail "ovn-controller does not start in hv2"
sbctl() { on central ovn-sbctl --db=unix:/run/ovn/ovnsb_db.sock "$@"; }
nbctl() { on central ovn-nbctl --db=unix:/run/ovn/ovnnb_db.sock "$@"; }
for _ in $(seq 100); do [ "$(sbctl --bare --columns=name list Chassis | grep -c .)" = 2 ] && break; sleep 0.1; done
is "both hypervisors are OVN chassis" "$(sbctl --bare --columns=name list Chassis | grep . | sort | xargs)" "hv1 hv2"
note "four hosts, OVN and both chassis up in $(( (${EPOCHREALTIME/./} - t0) / 1000 )) ms"

out=$(cn_on hv1 define 2>&1); rc=$?
is "define on hv1: exit 0" "$rc" 0
[ "$rc" = 0 ] || note "$out"
like "... adds the router" "$out" "^network lab: ovn: router carthage-net-lab: added$"
b_address=$(nbctl --bare --columns=addresses find Logical_Switch_Port 'external_ids:"carthage-net:machine"=b' | awk '{print $2}')
like "b has a pool address" "$b_address" '^10\.90\.0\.1[0-9][0-9]$'
is "status on hv2: in step (exit 0)" "$(cn_on hv2 status >/dev/null 2>&1; echo $?)" 0
# The gateway port is bound to hv1 once northd and hv1's controller agree.
for _ in $(seq 300); do
    sbctl --bare --columns=chassis find Port_Binding logical_port=cr-carthage-net-lab-uplink | grep -q . && break
    sleep 0.1
done
# bound_on PORT: the name of the chassis PORT is bound on, or nothing.
bound_on() {
    local chassis
    chassis=$(sbctl --bare --columns=chassis find Port_Binding logical_port="$1")
    [ -n "$chassis" ] && sbctl get Chassis "$chassis" name | tr -d '"'
}
is "the router's uplink is bound on hv1 (the gateway chassis)" "$(bound_on cr-carthage-net-lab-uplink)" hv1

# --- the metadata service on both chassis ------------------------------------------------------
metadata_start hv1 || bail "metadata serve --ovn lab does not start on hv1: $(tail -3 "$hosts_dir/metadata-hv1.log")"
metadata_start hv2 || bail "metadata serve --ovn lab does not start on hv2: $(tail -3 "$hosts_dir/metadata-hv2.log")"
like "metadata serve --ovn lab on hv1: listens behind the network's metadata localport" \
    "$(cat "$hosts_dir/metadata-hv1.log")" "^network lab: listening on 169.254.169.254:80 behind OVN localport carthage-net-lab-metadata"
md_link=$(grep -o '(link cnmd[0-9a-f]*)' "$hosts_dir/metadata-hv1.log" | tr -d '()' | cut -d' ' -f2)
is "... its end is a port of br-int bound to the localport" \
    "$(on hv1 ovs-vsctl get Interface "$md_link" external_ids:iface-id | tr -d '"')" carthage-net-lab-metadata

# --- guests on both hosts: out through the router, isolated from each other ------------------
fetch="cn.tries=3 cn.resolve=metadata cn.http=metadata:80/latest/meta-data/local-hostname cn.http=metadata:80/user-data"
boot_on hv2 b "cn.ping=10.90.0.1 cn.ping=192.0.2.1 $fetch cn.sleep=300" || bail "cannot start b on hv2"
boot_on hv1 a "cn.ping=10.90.0.1 cn.ping=192.0.2.1 cn.ping=$b_address $fetch cn.sleep=300" || bail "cannot start a on hv1"
boot_on hv1 m1 "cn.mac=02:00:00:00:00:99 cn.addr=10.90.0.14/24 cn.route=169.254.169.254/32 cn.tries=3 cn.http=169.254.169.254:80/latest/meta-data/local-hostname" ||
    bail "cannot start m1"
boot_on hv2 c "cn.ping=10.90.0.1 cn.ping=$b_address" || bail "cannot start c on hv2"
out=$(guest_wait_for_on hv2 b '^CN http metadata:80/user-data' 90)
is "b (hv2) gets its reservation" "$(result "$out" address)" "$b_address/24"
is "b reaches its gateway, the router" "$(result "$out" "ping 10.90.0.1")" ok
is "b reaches the outside, masqueraded (the outside has no route back to 10.90.0.0/24)" \
    "$(result "$out" "ping 192.0.2.1")" ok
is "b resolves metadata (OVN's DNS records) to the metadata address" "$(result "$out" "resolve metadata")" 169.254.169.254
is "b (hv2) fetches its own local-hostname from hv2's metadata service" \
    "$(result "$out" "http metadata:80/latest/meta-data/local-hostname")" b
is "... and its own user-data" "$(result "$out" "http metadata:80/user-data")" "#cloud-config for b"
out=$(guest_wait_for_on hv1 a "^CN http metadata:80/user-data" 90)
is "a (hv1) reaches the gateway" "$(result "$out" "ping 10.90.0.1")" ok
is "a reaches the outside from its public address" "$(result "$out" "ping 192.0.2.1")" ok
is "a cannot reach b across hosts (isolate_guests)" "$(result "$out" "ping $b_address")" fail
is "a (hv1) fetches its own local-hostname from hv1's metadata service" \
    "$(result "$out" "http metadata:80/latest/meta-data/local-hostname")" a
is "... and its own user-data" "$(result "$out" "http metadata:80/user-data")" "#cloud-config for a"
boot_on hv1 m2 "cn.addr=$b_address/24 cn.route=169.254.169.254/32 cn.tries=3 cn.http=169.254.169.254:80/latest/meta-data/local-hostname" || bail "cannot start m2"
out=$(guest_wait_on hv1 m1 90)
is "m1 with a forged MAC gets no metadata" "$(result "$out" "http 169.254.169.254:80/latest/meta-data/local-hostname")" fail
out=$(guest_wait_on hv1 m2 90)
is "m2 claiming b's address gets no metadata (not b's, not its own)" \
    "$(result "$out" "http 169.254.169.254:80/latest/meta-data/local-hostname")" fail
# The twin: m1 with its own MAC (and its address from OVN's DHCP).
on hv1 virsh -q destroy m1 >/dev/null 2>&1
on hv1 virsh -q undefine m1 >/dev/null 2>&1
boot_on hv1 m1 "cn.tries=3 cn.http=169.254.169.254:80/latest/meta-data/local-hostname" || bail "cannot start m1 again"
out=$(guest_wait_on hv1 m1 90)
is "m1 with its own MAC fetches its own local-hostname" \
    "$(result "$out" "http 169.254.169.254:80/latest/meta-data/local-hostname")" m1
out=$(guest_wait_on hv2 c 90)
is "c (hv2) reaches the gateway" "$(result "$out" "ping 10.90.0.1")" ok
is "c cannot reach b on the same host (isolate_guests)" "$(result "$out" "ping $b_address")" fail

# --- from the outside: 1:1 NAT in, nothing else -----------------------------------------------
is "the outside reaches a at its public address 192.0.2.20 (1:1 NAT in)" \
    "$(on outside busybox ping -c 2 -W 2 192.0.2.20 >/dev/null 2>&1 && echo ok || echo fail)" ok
on outside ip route add 10.90.0.0/24 via 192.0.2.10
is "the outside routing to b's own address gets nothing (forward nat)" \
    "$(on outside busybox ping -c 2 -W 2 "$b_address" >/dev/null 2>&1 && echo ok || echo fail)" fail
write_defs route true
cn_on hv2 define >/dev/null 2>&1
sleep 2
is "... with forward = route the same ping reaches b (what stopped it was nat's drop)" \
    "$(on outside busybox ping -c 3 -W 2 "$b_address" >/dev/null 2>&1 && echo ok || echo fail)" ok
on outside ip route del 10.90.0.0/24 via 192.0.2.10

# --- the hook's news of OVN guests -------------------------------------------------------------
events_hv1=$(on hv1 "$build/carthage-net" events --json 2>&1)
like "hook on hv1: guest-attached for a, with its OVN logical port" "$events_hv1" \
    '"event":"guest-attached","domain":"a","network":"lab","mac":"[0-9a-f:]+","ovn_port":"[-0-9a-f]{36}","port":"vnet[0-9]+","ipv4":\["10.90.0.11"\]'
like "... resolved for a" "$events_hv1" '"event":"resolved","machine":"a","domain":"a","links":\[\{"iface":"eth0","network":"lab","tap":"vnet[0-9]+","mac":"[0-9a-f:]+","ipv4":\["10.90.0.11"\]\}\]'
like "... a's public address, 1:1" "$events_hv1" '"event":"public_address","machine":"a","network":"lab","address":"10.90.0.11","public_address":"192.0.2.20","nat":"one-to-one"'
unlike "... and no SNAT address for a (its 1:1 NAT is what it leaves by)" "$events_hv1" '"event":"public_address","machine":"a","network":"lab","address":"10.90.0.11","public_address":"192.0.2.10"'
events_hv2=$(on hv2 "$build/carthage-net" events --json 2>&1)
like "hook on hv2: b's public address is the router's SNAT address" "$events_hv2" \
    "\"event\":\"public_address\",\"machine\":\"b\",\"network\":\"lab\",\"address\":\"$b_address\",\"public_address\":\"192.0.2.10\",\"nat\":\"masquerade\""
like "... resolved for b with its pool address (from the northbound database)" "$events_hv2" \
    "\"event\":\"resolved\",\"machine\":\"b\",\"domain\":\"b\",\"links\":\\[\\{\"iface\":\"eth0\",\"network\":\"lab\",\"tap\":\"vnet[0-9]+\",\"mac\":\"[0-9a-f:]+\",\"ipv4\":\\[\"$b_address\"\\]"
is "... no nftables table for an OVN network on either host" "$(on hv1 nft list tables 2>/dev/null | grep -c carthage)$(on hv2 nft list tables 2>/dev/null | grep -c carthage)" 00

# --- isolate_guests off: c reaches b -----------------------------------------------------------
write_defs nat false
out=$(cn_on hv1 define 2>&1); rc=$?
is "define with isolate_guests = false: exit 0" "$rc" 0
like "... removes the port group" "$out" "^network lab: ovn: port group carthage_net_lab_[0-9a-f]{8}: removed$"
on hv2 virsh -q destroy c >/dev/null 2>&1
on hv2 virsh -q undefine c >/dev/null 2>&1
like "hook on hv2: guest-detached for c when it stopped" "$(on hv2 "$build/carthage-net" events --json 2>&1)" \
    '"event":"guest-detached","domain":"c","network":"lab","mac":"[0-9a-f:]+","ovn_port":"[-0-9a-f]{36}"'
boot_on hv2 c "cn.ping=$b_address cn.ping=10.90.0.11" || bail "cannot start c again"
out=$(guest_wait_on hv2 c 90)
is "c reaches b then" "$(result "$out" "ping $b_address")" ok
is "... and a across hosts" "$(result "$out" "ping 10.90.0.11")" ok

# --- fail closed: a port nobody binds passes nothing ----------------------------------------------
# br-int is ovn-controller's, in fail_mode secure: a guest whose port no
# ovn-controller has bound (it is down) gets no flows, so nothing at all.
is "br-int on hv2 is in fail_mode secure" "$(on hv2 ovs-vsctl get-fail-mode br-int)" secure
ovn_controller_stop hv2 || bail "cannot stop hv2's ovn-controller"
on hv2 virsh -q destroy c >/dev/null 2>&1
on hv2 virsh -q undefine c >/dev/null 2>&1
boot_on hv2 c "cn.ping=10.90.0.1 cn.ping=$b_address" || bail "cannot start c with ovn-controller down"
out=$(guest_wait_on hv2 c 90)
is "c started while hv2's ovn-controller is down: no DHCP" "$(result "$out" address)" none
ovn_controller_start hv2 || bail "ovn-controller does not start again in hv2"
on hv2 virsh -q destroy c >/dev/null 2>&1
on hv2 virsh -q undefine c >/dev/null 2>&1
boot_on hv2 c "cn.ping=10.90.0.1" || bail "cannot start c again"
out=$(guest_wait_on hv2 c 90)
is "... with it back: its reservation, and the gateway" "$(result "$out" address) $(result "$out" "ping 10.90.0.1")" "10.90.0.13/24 ok"

# --- ovn-controller killed and restarted on the gateway chassis ------------------------------------
a_port=$(cn_on hv1 render interface a eth0 | sed -n 's/.*interfaceid="\([^"]*\)".*/\1/p')
ovn_controller_stop hv1 || bail "cannot stop hv1's ovn-controller"
ovn_controller_start hv1 || bail "ovn-controller does not start again in hv1"
for _ in $(seq 100); do
    [ "$(sbctl --bare --columns=up find Port_Binding logical_port="$a_port")" = true ] && break
    sleep 0.1
done
is "after ovn-controller's restart: a's port is bound on hv1 again" "$(bound_on "$a_port")" hv1
ok_after=fail
for _ in 1 2 3 4 5; do
    on outside busybox ping -c 1 -W 2 192.0.2.20 >/dev/null 2>&1 && { ok_after=ok; break; }
done
is "... the outside reaches a at 192.0.2.20 again" "$ok_after" ok
is "... and status on hv2 finds nothing lost (exit 0)" "$(cn_on hv2 status >/dev/null 2>&1; echo $?)" 0
# --- the metadata service stopped, and killed ------------------------------------------------------
kill "$metadata_pid_hv2" && wait "$metadata_pid_hv2"
is "metadata serve stopped on hv2: its port is off br-int" "$(on hv2 ovs-vsctl list-ports br-int | grep -c '^cnmd')" 0
is "... and its link is gone" "$(on hv2 ip -o link show | grep -c cnmd)" 0
kill -9 "$metadata_pid_hv1"; wait "$metadata_pid_hv1" 2>/dev/null
# The kernel takes a namespace apart after its last user, not at once.
for _ in $(seq 100); do [ "$(on hv1 ip -o link show | grep -c cnmd)" = 0 ] && break; sleep 0.1; done
is "killed with SIGKILL on hv1: its link went with its namespace" "$(on hv1 ip -o link show | grep -c cnmd)" 0
metadata_start hv1 || bail "metadata serve does not start again on hv1: $(tail -3 "$hosts_dir/metadata-hv1.log")"
metadata_bound hv1 ||
    note "hv1's ovn-controller has no flows to the new metadata end after 15 s; br-int: $(on hv1 ovs-vsctl list-ports br-int | tr '\n' ' '); the server: $(tail -2 "$hosts_dir/metadata-hv1.log" | tr '\n' ' ')"
is "started again: the port left on br-int is replaced, one port" "$(on hv1 ovs-vsctl list-ports br-int | grep -c '^cnmd')" 1
is "... bound to the localport" "$(on hv1 ovs-vsctl --bare --columns=external_ids find Interface name="$md_link" | grep -o 'iface-id=[^,}]*')" \
    "iface-id=carthage-net-lab-metadata"

note "the whole test: $(( (${EPOCHREALTIME/./} - t0) / 1000000 )) s"
done_testing
