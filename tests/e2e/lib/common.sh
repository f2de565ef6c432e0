# common.sh - what every end-to-end test shares.  Source after tap.sh.
# Skips (TAP "1..0 # SKIP") when the test cannot run here, and re-executes
# the test inside a private libvirtd (with-libvirtd.sh).

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

# e2e_enter "$0" "$@": the rest of the script runs with its own libvirtd.
e2e_enter() {
    if [ "${CN_E2E_INSIDE:-}" != 1 ]; then
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
result() { printf '%s\n' "$1" | sed -n "s/^CN $2 //p" | head -1; }
