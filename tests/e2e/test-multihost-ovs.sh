#!/usr/bin/env bash
# End to end, Carthage VLAN networks across two hypervisors on Open vSwitch
# trunks: hosts hv1 and hv2 (each its own namespaces, libvirtd and Open
# vSwitch with the userspace datapath), their br-trunk bridges joined by a
# veth "trunk" wire that carries 802.1Q.  Each host has the same [network]
# groups (prod: VLAN 10, dev: VLAN 20) and only its own machines' links,
# layered as docs/multi-host.md says (-d site -f HOST.conf).
#
#   hv1  app      prod     10.70.0.11
#        trunk    allowed 10;20, untagged 10: eth0 .40, eth0.20 .42, eth0.30 .43
#        (host)   an OVS internal port on VLAN 30, 10.70.0.31
#   hv2  app2     prod     10.70.0.12
#        staging  dev      10.70.0.21
#        (host)   an OVS internal port on VLAN 30, 10.70.0.30
# One subnet for all: only the VLANs keep them apart.
set -u
. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib/common.sh"
. "$top/tests/e2e/lib/hosts.sh"
bail() { echo "Bail out! $*"; exit 1; }
multihost_start ovs-vsctl ovs-appctl nsenter

site=$hosts_dir/site
mkdir -p "$site"
cat >"$site/10-networks.conf" <<'CONF'
[network prod]
technology = openvswitch
bridge_name = br-trunk
vlan_id = 10

[network dev]
technology = openvswitch
bridge_name = br-trunk
vlan_id = 20
CONF
cat >"$hosts_dir/hv1.conf" <<'CONF'
[link app eth0]
net = prod

[link trunk eth0]
net = prod
allowed_vlans = 10;20
untagged_vlan = 10
CONF
cat >"$hosts_dir/hv2.conf" <<'CONF'
[link app2 eth0]
net = prod

[link staging eth0]
net = dev
CONF
CN_DEFS_hv1=(-d "$site" -f "$hosts_dir/hv1.conf")
CN_DEFS_hv2=(-d "$site" -f "$hosts_dir/hv2.conf")

t0=${EPOCHREALTIME/./}
host_start hv1
host_start hv2
wire hv1 trunk0 hv2 trunk0 || bail "no trunk wire"
n=31
for h in hv1 hv2; do
    host_ovs "$h" || bail "Open vSwitch does not start in $h: $(tail -3 "$hosts_dir/$h/ovs-ctl.log")"
    # The wire is a trunk port: every VLAN, tagged.
    host_bridge "$h" br-trunk trunk0 || bail "no br-trunk in $h"
    on "$h" ovs-vsctl add-port br-trunk v30 tag=30 -- set interface v30 type=internal &&
        on "$h" ip link set v30 up && on "$h" ip addr add "10.70.0.$n/24" dev v30 || bail "no VLAN 30 port in $h"
    n=$((n - 1))
done
note "two hosts with Open vSwitch up in $(( (${EPOCHREALTIME/./} - t0) / 1000 )) ms"
ok "the trunk wire carries VLAN 30 between the hosts' internal ports" on hv1 busybox ping -c 2 -W 2 10.70.0.30

for h in hv1 hv2; do
    out=$(cn_on "$h" define --start prod dev 2>&1); rc=$?
    is "define --start prod dev on $h: exit 0" "$rc" 0
    [ "$rc" = 0 ] || note "$out"
    is "... both networks active on $h" "$(on "$h" virsh -q net-list --name | grep . | sort | xargs)" "dev prod"
done

# The MACs are a function of the definitions alone: hv2 renders hv1's
# machines (with hv1's files) exactly as hv1 does.
is "render interface app: hv2 with hv1's definitions gives what hv1 gives" \
    "$(on hv2 "$build/carthage-net" -d "$site" -f "$hosts_dir/hv1.conf" --state-dir "$hosts_dir/hv2/state" render interface app)" \
    "$(cn_on hv1 render interface app)"
app_mac=$(cn_on hv1 render interface app | sed -n 's/.*mac address="\([^"]*\)".*/\1/p')

wait_up=15 linger=12
boot_on hv2 app2 "cn.addr=10.70.0.12/24 cn.sleep=$wait_up cn.ping=10.70.0.11 cn.neigh=10.70.0.11 cn.sleep=$linger" ||
    bail "cannot boot app2 on hv2"
boot_on hv2 staging "cn.addr=10.70.0.21/24 cn.sleep=$wait_up cn.ping=10.70.0.11 cn.ping=10.70.0.12 cn.sleep=$linger" ||
    bail "cannot boot staging on hv2"
boot_on hv1 app "cn.addr=10.70.0.11/24 cn.sleep=$wait_up cn.ping=10.70.0.12 cn.ping=10.70.0.21 cn.sleep=$linger" ||
    bail "cannot boot app on hv1"
boot_on hv1 trunk "cn.addr=10.70.0.40/24 cn.vlan=20:10.70.0.42/24 cn.vlan=30:10.70.0.43/24 cn.sleep=$wait_up cn.ping=10.70.0.12@eth0 cn.ping=10.70.0.21@eth0.20 cn.ping=10.70.0.30@eth0.30 cn.sleep=$linger" ||
    bail "cannot boot trunk on hv1"

app2=$(guest_wait_on hv2 app2 120)
staging=$(guest_wait_on hv2 staging 120)
app=$(guest_wait_on hv1 app 120)
trunk=$(guest_wait_on hv1 trunk 120)

is "VLAN 10 across the trunk: app (hv1) reaches app2 (hv2)" "$(result "$app" "ping 10.70.0.12")" ok
is "VLAN 10 across the trunk: app2 (hv2) reaches app (hv1)" "$(result "$app2" "ping 10.70.0.11")" ok
is "app2 sees app at the MAC hv1 rendered from the definitions" "$(result "$app2" "neigh 10.70.0.11")" "$app_mac"
is "VLAN 20 is not VLAN 10: staging (hv2) does not reach app (hv1)" "$(result "$staging" "ping 10.70.0.11")" fail
is "... nor app2 on its own host" "$(result "$staging" "ping 10.70.0.12")" fail
is "... and app does not reach staging" "$(result "$app" "ping 10.70.0.21")" fail
is "trunk port (allowed 10;20, untagged 10): untagged eth0 reaches app2 on hv2 (VLAN 10)" \
    "$(result "$trunk" "ping 10.70.0.12@eth0")" ok
is "... eth0.20 reaches staging on hv2 (VLAN 20)" "$(result "$trunk" "ping 10.70.0.21@eth0.20")" ok
is "... eth0.30 does not reach hv2's VLAN 30 port (30 not allowed on the port)" \
    "$(result "$trunk" "ping 10.70.0.30@eth0.30")" fail
note "the whole test: $(( (${EPOCHREALTIME/./} - t0) / 1000000 )) s"
done_testing
