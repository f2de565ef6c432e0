#!/usr/bin/env bash
# End to end: Carthage VLAN networks on Open vSwitch.  In a private libvirtd
# (with-libvirtd.sh: own network and mount namespaces), start Open vSwitch
# with the userspace datapath, make br-trunk, `carthage-net define --start`
# the example site's prod (VLAN 10) and dev (VLAN 20), boot guests on them
# and on a trunk port, and check what reaches what and what libvirt told
# OVS.  The host kernel needs neither 802.1Q devices nor the OVS kernel
# datapath: the VLAN tags live in ovs-vswitchd (userspace), and the only
# 802.1Q devices are inside a guest running the Debian kernel.
#
# Addresses: every guest is in 10.70.0.0/24, so only the VLANs keep prod
# and dev apart (a "does not reach" check can fail for the right reason).
#   app.lab.example      prod  10.70.0.11
#   app2.lab.example     prod  10.70.0.12   (tests/e2e/defs/ovs-extra.conf)
#   staging.lab.example  dev   10.70.0.21
#   trunk.lab.example    trunk allowed 10;20, untagged 10 (ovs-extra.conf):
#                        eth0 10.70.0.40 (untagged), eth0.10 .41, eth0.20 .42,
#                        eth0.30 .43 (VLAN 30 is not allowed on the port)
#   host (this namespace) an OVS internal port on VLAN 30, 10.70.0.30: what
#                        the trunk guest's eth0.30 would reach if OVS let
#                        VLAN 30 through.
set -u
. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib/common.sh"
ovs_ctl=$(command -v ovs-ctl || echo /usr/share/openvswitch/scripts/ovs-ctl)
[ -x "$ovs_ctl" ] || skip_all "no ovs-ctl (openvswitch-switch not installed)"
command -v ovs-vsctl >/dev/null || skip_all "no ovs-vsctl (openvswitch-switch not installed)"
command -v ovs-appctl >/dev/null || skip_all "no ovs-appctl (openvswitch-switch not installed)"
e2e_start -- "$0" "$@"
defs=(-d "$top/examples/site" -f "$top/tests/e2e/defs/ovs-extra.conf")
cn() { "$build/carthage-net" "${defs[@]}" --state-dir "$CN_E2E_RUN/state" "$@"; }

guests=(app.lab.example app2.lab.example staging.lab.example trunk.lab.example)

# Everything below runs in with-libvirtd.sh's namespaces; /run/openvswitch,
# /etc/openvswitch and /var/log/openvswitch are private tmpfs there, so the
# pid files are those of the daemons started here.  Stop the guests, then
# OVS (ovs-ctl stop, then by PID whatever is left); with-libvirtd.sh stops
# libvirt and QEMU.
cleanup() {
    local g f pid
    for g in "${guests[@]}"; do virsh -q destroy "$g" >/dev/null 2>&1; done
    "$ovs_ctl" stop >/dev/null 2>&1
    for f in /run/openvswitch/ovs-vswitchd.pid /run/openvswitch/ovsdb-server.pid; do
        [ -f "$f" ] && pid=$(cat "$f" 2>/dev/null) && [ -n "$pid" ] || continue
        kill "$pid" 2>/dev/null || continue
        for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null
    done
}
trap cleanup EXIT

# --- Open vSwitch, userspace datapath ------------------------------------------
# ovs-ctl start inserts the openvswitch kernel module; where modprobe fails
# it would `rmmod bridge` (the host's!) if it saw no Linux bridge.  A bridge
# in this private namespace keeps it from trying; it then fails instead, and
# the test skips saying so.
ip link add cn-ovs-guard type bridge 2>/dev/null
ovs_log=$CN_E2E_RUN/ovs-ctl.log
"$ovs_ctl" --system-id=random --no-monitor --no-mlockall --no-record-hostname start >"$ovs_log" 2>&1
rc=$?
ip link del cn-ovs-guard 2>/dev/null
if [ "$rc" != 0 ] || ! ovs-vsctl --timeout=10 show >/dev/null 2>&1; then
    sed 's/^/# /' "$ovs_log"
    skip_all "Open vSwitch does not start here: ovs-ctl start exit $rc: $(grep -v '^$' "$ovs_log" | tail -1)"
fi
if ! ovs-vsctl --timeout=10 add-br br-trunk -- set bridge br-trunk datapath_type=netdev >"$ovs_log" 2>&1 ||
    ! ip link set br-trunk up 2>>"$ovs_log"; then
    sed 's/^/# /' "$ovs_log"
    skip_all "Open vSwitch runs but cannot make a userspace-datapath (netdev) bridge: $(grep -v '^$' "$ovs_log" | tail -1)"
fi
# The VLAN 30 responder: an access port of the host on VLAN 30.
ovs-vsctl add-port br-trunk cn-v30 tag=30 -- set interface cn-v30 type=internal &&
    ip link set cn-v30 up && ip addr add 10.70.0.30/24 dev cn-v30 ||
    echo "# could not make the VLAN 30 responder port cn-v30"

# --- define -----------------------------------------------------------------
out=$(cn define --start prod dev 2>&1); rc=$?
is "define: define --start prod dev succeeds" "$rc" 0
[ "$rc" = 0 ] || printf '%s\n' "$out" | sed 's/^/# /'
is "define: both networks active" "$(virsh -q net-list --name | sort | tr '\n' ' ')" "dev prod "
# net_is NETWORK VLAN: libvirt's network is br-trunk, Open vSwitch, that tag.
net_is() {
    local xml
    xml=$(virsh net-dumpxml "$1" | tr -d ' \n')
    [[ $xml == *"<forwardmode='bridge'/>"* && $xml == *"<bridgename='br-trunk'/>"* &&
       $xml == *"<virtualporttype='openvswitch'/>"* && $xml == *"<vlan><tagid='$2'/></vlan>"* ]]
}
ok "define: prod is bridged to br-trunk, Open vSwitch, VLAN 10" net_is prod 10
ok "define: dev is bridged to br-trunk, Open vSwitch, VLAN 20" net_is dev 20

# --- guests -------------------------------------------------------------------
# Started one after the other (each start returns once QEMU runs, so they
# boot together; rendering in parallel would share the state directory);
# each waits (cn.sleep) until all are up, pings, and stays
# up a while (the last cn.sleep) for the others' pings.  app waits (up to
# 30 s) for trunk's eth0.10 address in its ARP table: the trace of a tagged
# VLAN 10 frame from the trunk port reaching VLAN 10.
wait_up=12 linger=12
boot_guest app.lab.example "cn.addr=10.70.0.11/24 cn.sleep=$wait_up cn.ping=10.70.0.12 cn.ping=10.70.0.21 cn.neigh=10.70.0.41 cn.sleep=$linger" ||
    echo "# cannot boot app.lab.example"
boot_guest app2.lab.example "cn.addr=10.70.0.12/24 cn.sleep=$wait_up cn.ping=10.70.0.11 cn.sleep=$linger" ||
    echo "# cannot boot app2.lab.example"
boot_guest staging.lab.example "cn.addr=10.70.0.21/24 cn.sleep=$wait_up cn.ping=10.70.0.11 cn.ping=10.70.0.12 cn.sleep=$linger" ||
    echo "# cannot boot staging.lab.example"
boot_guest trunk.lab.example "cn.addr=10.70.0.40/24 cn.vlan=10:10.70.0.41/24 cn.vlan=20:10.70.0.42/24 cn.vlan=30:10.70.0.43/24 cn.sleep=$wait_up cn.ping=10.70.0.11@eth0 cn.ping=10.70.0.21@eth0.20 cn.ping=10.70.0.11@eth0.10 cn.ping=10.70.0.30@eth0.30 cn.sleep=$linger" ||
    echo "# cannot boot trunk.lab.example"

# What libvirt set on each guest's OVS port, against the definitions:
# prod/dev access ports are tag=vlan_id; the trunk is native-untagged 10
# with trunks 10,20.  Read while the guests run (their ports exist).
port_of() { virsh -q domiflist "$1" 2>/dev/null | awk '$1 ~ /^vnet/ {print $1; exit}'; }
port_vlan() {
    [ -n "$1" ] || { echo "no port"; return; }
    echo "tag=$(ovs-vsctl get port "$1" tag) trunks=$(ovs-vsctl get port "$1" trunks) vlan_mode=$(ovs-vsctl get port "$1" vlan_mode)"
}
is "ovs ports: app.lab.example (prod access)" "$(port_vlan "$(port_of app.lab.example)")" "tag=10 trunks=[] vlan_mode=[]"
is "ovs ports: app2.lab.example (prod access)" "$(port_vlan "$(port_of app2.lab.example)")" "tag=10 trunks=[] vlan_mode=[]"
is "ovs ports: staging.lab.example (dev access)" "$(port_vlan "$(port_of staging.lab.example)")" "tag=20 trunks=[] vlan_mode=[]"
trunk_port=$(port_of trunk.lab.example)
is "ovs ports: trunk.lab.example (allowed 10;20, untagged 10)" "$(port_vlan "$trunk_port")" \
    "tag=10 trunks=[10, 20] vlan_mode=native-untagged"
trace30=$(ovs-appctl ofproto/trace br-trunk "in_port=${trunk_port:-none},dl_vlan=30,dl_dst=ff:ff:ff:ff:ff:ff" 2>&1)
like "ovs ports: OVS drops VLAN 30 frames from the trunk port" "$(printf '%s' "$trace30" | tr '\n' ' ')" \
    "not configured for trunking VLAN 30.*Datapath actions: drop"
trunk_mac=$(virsh -q domiflist trunk.lab.example 2>/dev/null | awk '$1 ~ /^vnet/ {print $5; exit}')

app=$(guest_wait app.lab.example)
app2=$(guest_wait app2.lab.example)
staging=$(guest_wait staging.lab.example)
trunk=$(guest_wait trunk.lab.example)
for g in app app2 staging trunk; do
    [ -n "${!g}" ] || echo "# $g: no CN lines; console: $(tail -c 600 "$(guest_console "$g.lab.example")" 2>/dev/null | tr '\r\n' '  ')"
done

# --- same VLAN ------------------------------------------------------------------
is "prod: app has its static address" "$(result "$app" address)" "10.70.0.11/24"
is "prod: app2 has its static address" "$(result "$app2" address)" "10.70.0.12/24"
is "prod: app reaches app2" "$(result "$app" "ping 10.70.0.12")" ok
is "prod: app2 reaches app" "$(result "$app2" "ping 10.70.0.11")" ok

# --- other VLAN, same subnet ------------------------------------------------------
is "prod/dev: staging has its static address" "$(result "$staging" address)" "10.70.0.21/24"
is "prod/dev: app does not reach staging" "$(result "$app" "ping 10.70.0.21")" fail
is "prod/dev: staging does not reach app" "$(result "$staging" "ping 10.70.0.11")" fail
is "prod/dev: staging does not reach app2" "$(result "$staging" "ping 10.70.0.12")" fail

# --- trunk port: allowed 10;20, native (untagged) 10 --------------------------------
is "trunk: eth0 has its static address" "$(result "$trunk" address)" "10.70.0.40/24"
is "trunk: eth0.10, eth0.20, eth0.30 made in the guest" \
    "$(result "$trunk" "vlan eth0.10") $(result "$trunk" "vlan eth0.20") $(result "$trunk" "vlan eth0.30")" \
    "10.70.0.41/24 10.70.0.42/24 10.70.0.43/24"
is "trunk: untagged eth0 reaches app (native VLAN 10)" "$(result "$trunk" "ping 10.70.0.11@eth0")" ok
is "trunk: eth0.20 reaches staging (tagged VLAN 20)" "$(result "$trunk" "ping 10.70.0.21@eth0.20")" ok
# vlan_mode=native-untagged: OVS always trunks the native VLAN, so a frame
# tagged 10 is accepted into VLAN 10 (app sees eth0.10's ARP request and
# learns its address); but VLAN 10 leaves the port untagged, so the answers
# arrive on eth0, not eth0.10, and a ping from eth0.10 gets no reply.
is "trunk: tagged VLAN 10 is accepted (app learns eth0.10's address at trunk's MAC)" \
    "$(result "$app" "neigh 10.70.0.41")" "${trunk_mac:-trunk MAC unknown}"
is "trunk: eth0.10 gets no replies (VLAN 10 egresses untagged)" "$(result "$trunk" "ping 10.70.0.11@eth0.10")" fail
is "trunk: eth0.30 does not reach the VLAN 30 host port (30 not allowed)" "$(result "$trunk" "ping 10.70.0.30@eth0.30")" fail
done_testing
