# hosts.sh - several "hosts" on one machine, for the multi-host tests.
#
# A host is a set of private namespaces (network and mount, as
# with-libvirtd.sh makes them) with its own libvirtd, its own Open vSwitch
# (userspace datapath: the kernel here has no OVS module), its own
# carthage-net state and run directories, and for OVN its own
# ovn-controller; a central host runs OVN's northbound and southbound
# databases and ovn-northd.  Hosts are joined by veth "wires".  Everything
# is started here and stopped by PID; hosts_stop runs on any exit.
#
#   . "$top/tests/e2e/lib/hosts.sh"
#   hosts_init                      # $hosts_dir; the EXIT trap
#   host_start hv1 [--no-libvirtd]  # the host's namespaces (and libvirtd)
#   on hv1 CMD...                   # CMD inside hv1 (its net and mount namespaces)
#   wire hv1 trunk0 hv2 trunk0      # a veth between two hosts
#   host_ovs hv1                    # Open vSwitch in hv1, userspace datapath
#   ovn_central central 10.99.0.1   # NB (6641) and SB (6642) over TCP, northd
#   ovn_chassis hv1 10.98.0.11 br-phy tun0 10.99.0.1   # ovn-controller, Geneve from 10.98.0.11
#   ovn_controller_stop hv1; ovn_controller_start hv1  # kill and restart it (by its pid file)
#   hosts_stop                      # everything, by PID (also on exit)
#
# Inside a host, carthage-net runs as `cn_on HOST ARGS...` with the host's
# own --state-dir and run directory, and its definitions: the array
# CN_DEFS_HOST, or CN_DEFS (-d/-f arguments).

hosts_dir=
hosts_started=()

# hosts_init: the directory the hosts keep their pid and control files in.
hosts_init() {
    hosts_dir=$(mktemp -d /tmp/cn-hosts.XXXXXX) || { echo "Bail out! no hosts directory"; exit 1; }
    trap hosts_stop EXIT
    trap 'exit 130' INT TERM HUP
}

# host_start NAME [--no-libvirtd]: NAME's namespaces, its private libvirt,
# Open vSwitch and OVN directories, and (unless --no-libvirtd) libvirtd;
# returns when the host is ready.  $hosts_dir/NAME/pid is the PID to enter.
host_start() {
    local name=$1 no_libvirtd=0 dir=$hosts_dir/$1
    [ "${2:-}" = --no-libvirtd ] && no_libvirtd=1
    mkdir -p "$dir"
    CN_E2E_INSIDE= CN_E2E_NO_LIBVIRTD=$no_libvirtd \
    CN_E2E_PRIVATE_DIRS="/run/ovn /var/lib/ovn /var/log/ovn /etc/ovn ${CN_E2E_PRIVATE_DIRS:-}" \
        "$top/tests/e2e/lib/with-libvirtd.sh" bash "$top/tests/e2e/lib/host-main.sh" "$dir" "$$" \
        >"$dir/host.log" 2>&1 &
    echo $! >"$dir/launcher.pid"
    hosts_started+=("$name")
    for _ in $(seq 200); do
        [ -e "$dir/ready" ] && return 0
        kill -0 "$(cat "$dir/launcher.pid")" 2>/dev/null || break
        sleep 0.05
    done
    echo "Bail out! host $name did not start: $(tail -3 "$dir/host.log")"
    exit 1
}

# on HOST CMD...: CMD in HOST's network and mount namespaces, with the
# environment with-libvirtd.sh gives its command.
on() {
    local name=$1
    shift
    nsenter --target "$(cat "$hosts_dir/$name/pid")" --net --mount -- \
        env LIBVIRT_DEFAULT_URI=qemu:///system CARTHAGE_NET_RUN_DIR="$hosts_dir/$name/run" "$@"
}

# cn_on HOST ARGS...: carthage-net on HOST, with its own state directory
# and definitions: the array CN_DEFS_HOST when the test set one, else
# CN_DEFS.
cn_on() {
    local name=$1
    shift
    local -a defs=("${CN_DEFS[@]}")
    if declare -p "CN_DEFS_$name" >/dev/null 2>&1; then
        local -n host_defs="CN_DEFS_$name"
        defs=("${host_defs[@]}")
    fi
    on "$name" "$build/carthage-net" "${defs[@]}" --state-dir "$hosts_dir/$name/state" "$@"
}

# wire A IFA B IFB: a veth from host A (IFA) to host B (IFB), both up.
wire() {
    ip link add "$2" netns "$(cat "$hosts_dir/$1/pid")" type veth peer name "$4" \
        netns "$(cat "$hosts_dir/$3/pid")" || return 1
    on "$1" ip link set "$2" up && on "$3" ip link set "$4" up
}

# host_ovs HOST: Open vSwitch in HOST with the userspace datapath (see
# tests/e2e/test-ovs.sh for why the guard bridge).
host_ovs() {
    local name=$1 ovs_ctl
    ovs_ctl=$(command -v ovs-ctl || echo /usr/share/openvswitch/scripts/ovs-ctl)
    on "$name" ip link add cn-ovs-guard type bridge 2>/dev/null
    on "$name" "$ovs_ctl" --system-id="$name" --no-monitor --no-mlockall --no-record-hostname start \
        >"$hosts_dir/$name/ovs-ctl.log" 2>&1
    local rc=$?
    on "$name" ip link del cn-ovs-guard 2>/dev/null
    [ "$rc" = 0 ] && on "$name" ovs-vsctl --timeout=10 show >/dev/null 2>&1
}

# host_bridge HOST BRIDGE [PORT...]: a userspace-datapath bridge, up, with
# PORTs (trunks: every VLAN).
host_bridge() {
    local name=$1 bridge=$2 port
    shift 2
    on "$name" ovs-vsctl --timeout=10 add-br "$bridge" -- set bridge "$bridge" datapath_type=netdev || return 1
    on "$name" ip link set "$bridge" up
    for port in "$@"; do on "$name" ovs-vsctl --timeout=10 add-port "$bridge" "$port" || return 1; done
}

# ovn_central HOST ADDRESS: OVN's databases on ADDRESS (NB 6641, SB 6642)
# and ovn-northd, all in HOST.
ovn_central() {
    local name=$1 address=$2 db
    for db in nb sb; do
        local schema=/usr/share/ovn/ovn-$db.ovsschema port=6641
        [ "$db" = sb ] && port=6642
        on "$name" ovsdb-tool create "/var/lib/ovn/ovn$db.db" "$schema" || return 1
        on "$name" ovsdb-server --remote="punix:/run/ovn/ovn${db}_db.sock" --remote="ptcp:$port:$address" \
            --pidfile="/run/ovn/ovsdb-server-$db.pid" --unixctl="/run/ovn/ovsdb-server-$db.ctl" \
            --log-file="/var/log/ovn/ovsdb-server-$db.log" --detach --no-chdir "/var/lib/ovn/ovn$db.db" \
            2>>"$hosts_dir/$name/ovn.log" || return 1
    done
    on "$name" ovn-northd --ovnnb-db=unix:/run/ovn/ovnnb_db.sock --ovnsb-db=unix:/run/ovn/ovnsb_db.sock \
        --pidfile=/run/ovn/ovn-northd.pid --log-file=/var/log/ovn/ovn-northd.log --detach --no-chdir \
        2>>"$hosts_dir/$name/ovn.log"
}

# ovn_chassis HOST TUNNEL_ADDRESS BRIDGE UPLINK CENTRAL: HOST's tunnel
# address on a userspace bridge with the UPLINK wire (userspace tunnels
# leave through an OVS bridge that holds their address; only OVS's own
# Geneve packets go there, so the kernel's checksum offload never meets the
# userspace datapath), then ovn-controller: chassis HOST, Geneve from
# TUNNEL_ADDRESS, the southbound database on CENTRAL (over the management
# wire, the kernel's).
ovn_chassis() {
    local name=$1 address=$2 bridge=$3 uplink=$4 central=$5
    host_bridge "$name" "$bridge" "$uplink" || return 1
    on "$name" ip addr add "$address/24" dev "$bridge" || return 1
    on "$name" ovs-vsctl --timeout=10 set open_vswitch . \
        external_ids:system-id="$name" external_ids:ovn-remote="tcp:$central:6642" \
        external_ids:ovn-encap-type=geneve external_ids:ovn-encap-ip="$address" \
        external_ids:ovn-bridge-datapath-type=netdev || return 1
    ovn_controller_start "$name"
}

# ovn_controller_start NAME: (re)starts NAME's ovn-controller; returns once
# br-int is there.  ovn_controller_stop NAME stops it by its pid file.
ovn_controller_start() {
    local name=$1
    on "$name" ovn-controller --pidfile=/run/ovn/ovn-controller.pid --log-file=/var/log/ovn/ovn-controller.log \
        --detach --no-chdir unix:/run/openvswitch/db.sock 2>>"$hosts_dir/$name/ovn.log" || return 1
    for _ in $(seq 100); do
        on "$name" ovs-vsctl --timeout=5 br-exists br-int 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
ovn_controller_stop() {
    local name=$1 pid
    pid=$(on "$name" cat /run/ovn/ovn-controller.pid 2>/dev/null) && [ -n "$pid" ] || return 1
    on "$name" kill "$pid" || return 1
    for _ in $(seq 50); do on "$name" kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    on "$name" kill -9 "$pid"
}

# hosts_stop: every host's guests, OVN, Open vSwitch and libvirt, by PID.
hosts_stop() {
    local name dir pid
    for name in "${hosts_started[@]}"; do
        dir=$hosts_dir/$name
        touch "$dir/stop"
    done
    for name in "${hosts_started[@]}"; do
        dir=$hosts_dir/$name
        pid=$(cat "$dir/launcher.pid" 2>/dev/null) || continue
        for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill "$pid" 2>/dev/null
    done
    hosts_started=()
    [ -n "$hosts_dir" ] && [ -z "${CN_E2E_KEEP_HOSTS:-}" ] && rm -rf "$hosts_dir"
}

# multihost_start [TOOL...]: skips unless the multi-host tests can run here
# (as e2e_start, and every TOOL installed); builds the test guest and
# readies the hosts directory.  The test stays in the machine's own
# namespaces: only the hosts it starts have theirs.
multihost_start() {
    e2e_require
    local tool
    for tool in "$@"; do command -v "$tool" >/dev/null || skip_all "$tool not installed"; done
    . "$top/tests/e2e/lib/guest.sh"
    guest_build || skip_all "cannot build the test guest"
    export CARTHAGE_NET_TEMPLATE_DIR=$top/xml-templates
    hosts_init
}

# boot_on HOST MACHINE CMDLINE: the test guest with MACHINE's interfaces
# (render domain on HOST), defined and started by HOST's libvirtd.
# The guests' NICs leave no checksum to the host: Open vSwitch's userspace
# datapath (the only one this kernel has) forwards the partial checksums
# of a tap's frames as they are, and a kernel stack at the other end (the
# metadata service's namespace) drops them.  The kernel datapath does not
# need this.
boot_on() {
    local name=$1 machine=$2 cmdline=$3 xml=$hosts_dir/$1/$2.xml
    guest_base_xml "$machine" "$cmdline" | cn_on "$name" render domain "$machine" --base - |
        sed 's|<model type="virtio"/>|&<driver><host csum="off" gso="off" tso4="off" tso6="off" ecn="off" ufo="off"/></driver>|' \
        >"$xml" || return 1
    on "$name" virsh -q define "$xml" >/dev/null && on "$name" virsh -q start "$machine" >/dev/null
}

# guest_wait_on HOST MACHINE [SECONDS]: guest_wait, on HOST (its console
# log is in HOST's private /var/log/libvirt).
guest_wait_on() {
    on "$1" bash -c '. "$0/tests/e2e/lib/guest.sh"; guest_wait "$1" "$2"' "$top" "$2" "${3:-90}"
}
guest_wait_for_on() {
    on "$1" bash -c '. "$0/tests/e2e/lib/guest.sh"; guest_wait_for "$1" "$2" "$3"' "$top" "$2" "$3" "${4:-90}"
}
