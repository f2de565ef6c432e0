#!/usr/bin/env bash
# with-libvirtd.sh COMMAND [ARG...]
#
# Runs COMMAND with a private libvirtd: inside a new network namespace and a
# new mount namespace, with tmpfs over libvirt's run, state, cache, log and
# hooks directories and a private copy of /etc/libvirt.  The host's libvirt,
# interfaces, routes and firewall are never touched.  Everything started here
# (virtlogd, libvirtd, and the dnsmasq and QEMU processes libvirt starts) is
# stopped by PID from the pid files in the private /run/libvirt, on any
# exit; the namespaces then disappear with the last process.
#
# Inside, COMMAND sees: LIBVIRT_DEFAULT_URI=qemu:///system, CN_E2E_RUN (a
# private scratch directory), and CN_E2E_HOOKS_DIR (=/etc/libvirt/hooks).
# CN_E2E_HOOKS_SRC, when set, is copied into the hooks directory before
# libvirtd starts; CN_E2E_PRIVATE_DIRS get a tmpfs each.  With
# CN_E2E_NO_LIBVIRTD=1 the namespaces and directories are made but no
# libvirtd is started (a host that runs no guests).
set -euo pipefail

if [ "${CN_E2E_INSIDE:-}" != 1 ]; then
    [ "$(id -u)" = 0 ] || { echo "with-libvirtd.sh: needs root (namespaces, libvirtd)" >&2; exit 77; }
    export CN_E2E_INSIDE=1
    exec unshare --net --mount --propagation private -- "$0" "$@"
fi

run=$(mktemp -d /tmp/cn-e2e.XXXXXX)

# sysfs shows the network namespace of whoever mounted it: without a fresh
# one, libvirt (and we) would read and write the host's /sys/class/net.
# cgroups live under /sys too: carry them over to the new sysfs.
mkdir -p "$run/cgroup"
mount --rbind /sys/fs/cgroup "$run/cgroup"
mount -t sysfs sysfs /sys
mount --move "$run/cgroup" /sys/fs/cgroup
export CN_E2E_RUN=$run

private_dirs=(/run/libvirt /var/lib/libvirt /var/cache/libvirt /var/log/libvirt /run/openvswitch
              /var/log/openvswitch /etc/openvswitch)
for dir in "${private_dirs[@]}"; do
    mkdir -p "$dir"
    mount -t tmpfs -o mode=0755 tmpfs "$dir"
done
# carthage-net's state and runtime directories, private too (the hook's
# compiled-in ones): CN_E2E_PRIVATE_DIRS, space-separated.
for dir in ${CN_E2E_PRIVATE_DIRS:-}; do
    mkdir -p "$dir"
    mount -t tmpfs -o mode=0755 tmpfs "$dir"
done
mkdir -p /var/lib/libvirt/qemu /var/lib/libvirt/dnsmasq /var/cache/libvirt/qemu /var/log/libvirt/qemu

# A private /etc/libvirt: QEMU runs as root without a security driver (the
# guests are our own test kernels), no default network, hooks from the test.
cp -a /etc/libvirt "$run/etc-libvirt"
rm -f "$run/etc-libvirt/qemu/networks/default.xml" "$run/etc-libvirt/qemu/networks/autostart/"*
rm -rf "$run/etc-libvirt/hooks" && mkdir -p "$run/etc-libvirt/hooks"
if [ -n "${CN_E2E_HOOKS_SRC:-}" ]; then cp -a "$CN_E2E_HOOKS_SRC/." "$run/etc-libvirt/hooks/"; fi
cat >>"$run/etc-libvirt/qemu.conf" <<'CONF'
user = "root"
group = "root"
dynamic_ownership = 0
security_driver = "none"
CONF
cat >>"$run/etc-libvirt/libvirtd.conf" <<'CONF'
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
CONF
mount --bind "$run/etc-libvirt" /etc/libvirt
export CN_E2E_HOOKS_DIR=/etc/libvirt/hooks

ip link set lo up

# The QEMU capabilities libvirtd probed (it probes some binaries only when
# asked, so this is at the end): kept when they are more than the cache
# has.  Replaced whole (another test may be saving its own at once).
save_capabilities() {
    local live=/var/cache/libvirt/qemu/capabilities have=0 now
    [ -n "${caps_cache:-}" ] && [ -d "$live" ] || return 0
    now=$(ls "$live" | wc -l)
    [ -d "$caps_cache" ] && have=$(ls "$caps_cache" | wc -l)
    [ "$now" -gt "$have" ] || return 0
    mkdir -p "$(dirname "$caps_cache")" && cp -a "$live" "$caps_cache.$$" || return 0
    rm -rf "$caps_cache.old.$$"
    [ -d "$caps_cache" ] && mv -T "$caps_cache" "$caps_cache.old.$$" 2>/dev/null
    mv -T "$caps_cache.$$" "$caps_cache" 2>/dev/null || rm -rf "$caps_cache.$$"
    rm -rf "$caps_cache.old.$$"
}

stop_all() {
    local pidfile pid
    # QEMU and dnsmasq first (libvirt's children), then the daemons.
    for pidfile in /run/libvirt/qemu/*.pid /run/libvirt/network/*.pid /run/libvirt/libvirtd.pid \
                   /run/libvirt/virtlogd.pid "$run"/*.pid; do
        [ -f "$pidfile" ] || continue
        pid=$(cat "$pidfile" 2>/dev/null) || continue
        [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
    done
    for pidfile in /run/libvirt/qemu/*.pid /run/libvirt/network/*.pid /run/libvirt/libvirtd.pid \
                   /run/libvirt/virtlogd.pid "$run"/*.pid; do
        [ -f "$pidfile" ] || continue
        pid=$(cat "$pidfile" 2>/dev/null) || continue
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    done
    if [ -n "${CN_E2E_KEEP_LOGS:-}" ]; then cp -r /var/log/libvirt "$CN_E2E_KEEP_LOGS" 2>/dev/null || true; fi
    save_capabilities
    rm -rf "$run"
}
trap stop_all EXIT

# libvirtd probes QEMU's capabilities on its first start (about 7 s here):
# its cache, kept beside the guest images, makes each later start 0.1 s.
# libvirt checks the cache against the QEMU and libvirtd binaries itself.
caps_cache=${CN_E2E_CACHE:-${top_builddir:-/tmp}/e2e-cache}/libvirt-qemu-capabilities
if [ "${CN_E2E_NO_LIBVIRTD:-}" != 1 ]; then
    mkdir -p /var/cache/libvirt/qemu/capabilities
    if [ -d "$caps_cache" ]; then cp -a "$caps_cache/." /var/cache/libvirt/qemu/capabilities/; fi
    virtlogd -d -p /run/libvirt/virtlogd.pid
    libvirtd -d -p /run/libvirt/libvirtd.pid
    for _ in $(seq 200); do
        [ -S /run/libvirt/libvirt-sock ] && virsh -c qemu:///system version >/dev/null 2>&1 && break
        sleep 0.1
    done
fi
export LIBVIRT_DEFAULT_URI=qemu:///system
"$@"
