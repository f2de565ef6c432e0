# common.sh - what every end-to-end test shares.  Skips (TAP "1..0 #
# SKIP") when the test cannot run here, and re-executes the test inside a
# private libvirtd (with-libvirtd.sh).  A test starts with
#
#   set -u
#   . "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib/common.sh"
#   e2e_start [--hook] [TOOL...] -- "$0" "$@"
#
# which sets $top and $build, sources tap.sh, and returns inside the private
# libvirtd with the test guest built (guest.sh).
top=$(cd "${top_srcdir:-$(dirname "${BASH_SOURCE[0]}")/../../..}" && pwd)
build=${top_builddir:-$top/build}
. "$top/tests/lib/tap.sh"

# e2e_start [--hook] [TOOL...] -- "$0" "$@": skips unless this can run here
# and every TOOL is installed; then runs the rest of the test in a private
# libvirtd (with carthage-net-hook installed with --hook), with the test
# guest built and the templates of this checkout.
e2e_start() {
    local hook=""
    if [ "$1" = --hook ]; then hook=1; shift; fi
    e2e_require
    while [ "$1" != -- ]; do
        command -v "$1" >/dev/null || skip_all "$1 not installed"
        shift
    done
    shift
    if [ -n "$hook" ]; then e2e_enter_with_hook "$@"; else e2e_enter "$@"; fi
    . "$top/tests/e2e/lib/guest.sh"
    guest_build || skip_all "cannot build the test guest"
    export CARTHAGE_NET_TEMPLATE_DIR=$top/xml-templates
}

e2e_require() {
    [ "$(id -u)" = 0 ] || skip_all "needs root (network and mount namespaces, libvirtd)"
    # make distcheck makes the source tree read-only; root could still write
    # there, so look at the mode rather than asking test -w.
    [ -n "$(find "$top" -maxdepth 0 -perm -u+w)" ] ||
        skip_all "read-only source tree (make distcheck): end-to-end tests run from a checkout"
    command -v libvirtd >/dev/null || skip_all "libvirtd not installed (libvirt-daemon-system)"
    command -v qemu-system-x86_64 >/dev/null || skip_all "qemu-system-x86_64 not installed"
    ls /boot/vmlinuz-* >/dev/null 2>&1 || skip_all "no guest kernel (linux-image-amd64)"
    [ -x /bin/busybox ] || skip_all "no busybox (busybox-static)"
}

# e2e_enter "$0" "$@": the rest of the script runs with its own libvirtd,
# and with carthage-net's compiled-in state, runtime and events directories
# private to it (the helper writes the runtime one on attach --live).
e2e_enter() {
    if [ "${CN_E2E_INSIDE:-}" != 1 ]; then
        CN_E2E_PRIVATE_DIRS=$("$build/carthage-net-hook" --paths | sed 's/^[a-z_]*=//' | tr '\n' ' ')
        export CN_E2E_PRIVATE_DIRS
        exec "$top/tests/e2e/lib/with-libvirtd.sh" "$@"
    fi
}

# Boots MACHINE: the base guest with MACHINE's interfaces merged in by
# `carthage-net render domain`, defined and started through virsh.
# Uses the function `cn` for carthage-net with the test's definitions.
boot_guest() {
    local machine=$1 cmdline=$2 xml=$CN_E2E_RUN/$1.xml
    guest_base_xml "$machine" "$cmdline" | cn render domain "$machine" --base - >"$xml" || return 1
    virsh -q define "$xml" >/dev/null && virsh -q start "$machine" >/dev/null
}

# result LINES WHAT: the value of the "CN WHAT ..." line.
result() { printf '%s\n' "$1" | awk -v p="CN $2 " 'index($0, p) == 1 { print substr($0, length(p) + 1); exit }'; }

# Restarts the private libvirtd (as after an upgrade or a crash): waits for
# the old one to be gone, by its PID, and for the new one to answer.
restart_libvirtd() {
    local pid
    pid=$(cat /run/libvirt/libvirtd.pid)
    kill "$pid"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    libvirtd -d -p /run/libvirt/libvirtd.pid
    for _ in $(seq 100); do virsh version >/dev/null 2>&1 && break; sleep 0.1; done
}

# e2e_enter_with_hook "$0" "$@": like e2e_enter, with carthage-net-hook
# installed in the private libvirt's hooks directory and its compiled-in
# state and runtime directories private to the test.
e2e_enter_with_hook() {
    [ "${CN_E2E_INSIDE:-}" != 1 ] || return 0
    local hooks rc
    hooks=$(mktemp -d)
    mkdir -p "$hooks/network.d" "$hooks/qemu.d"
    cp "$build/carthage-net-hook" "$hooks/network.d/carthage-net"
    cp "$build/carthage-net-hook" "$hooks/qemu.d/carthage-net"
    export CN_E2E_HOOKS_SRC=$hooks
    CN_E2E_PRIVATE_DIRS=$("$build/carthage-net-hook" --paths | sed 's/^[a-z_]*=//' | tr '\n' ' ')
    export CN_E2E_PRIVATE_DIRS
    "$top/tests/e2e/lib/with-libvirtd.sh" "$@"
    rc=$?
    rm -rf "$hooks"
    exit $rc
}
