#!/usr/bin/env bash
# host-main.sh DIR TEST_PID: the first process of a test host (hosts.sh),
# run by with-libvirtd.sh inside the host's namespaces.  Says where to
# enter (DIR/pid), then waits until the test asks it to stop (DIR/stop)
# or is gone; then stops what was started in the host, by the pid files in
# its private directories: guests, OVN, Open vSwitch.  with-libvirtd.sh
# stops libvirt and QEMU after it.
set -u
dir=$1 test_pid=$2
mkdir -p "$dir/run" "$dir/state"
echo $$ >"$dir/pid"
touch "$dir/ready"
# A signal to the whole process group (a test stopped by timeout or ^C)
# reaches this process too: it stops what the host started all the same,
# rather than leaving the daemons running.
trap 'touch "$dir/stop"' TERM INT HUP
while [ ! -e "$dir/stop" ] && kill -0 "$test_pid" 2>/dev/null; do sleep 0.2; done

if [ -S /run/libvirt/libvirt-sock ]; then
    for domain in $(virsh -c qemu:///system -q list --name 2>/dev/null); do
        virsh -c qemu:///system -q destroy "$domain" >/dev/null 2>&1
    done
fi
stop_pidfile() {
    local pid
    [ -f "$1" ] && pid=$(cat "$1" 2>/dev/null) && [ -n "$pid" ] || return 0
    kill "$pid" 2>/dev/null || return 0
    for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
}
for f in /run/ovn/ovn-controller.pid /run/ovn/ovn-northd.pid /run/ovn/ovsdb-server-nb.pid \
         /run/ovn/ovsdb-server-sb.pid /run/openvswitch/ovs-vswitchd.pid /run/openvswitch/ovsdb-server.pid; do
    stop_pidfile "$f"
done
exit 0
