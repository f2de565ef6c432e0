# guest.sh - tiny test guests: the Debian kernel with a busybox initramfs,
# booted under QEMU (TCG) by libvirt with direct kernel boot.
#
# The guest's init loads the virtio NIC modules, runs DHCP on eth0, then
# performs the actions given on the kernel command line and prints one
# "CN <what> ..." line per result on the serial console, then powers off:
#   cn.resolve=NAME      -> "CN resolve NAME ADDRESS" (or "CN resolve NAME fail")
#   cn.ping=ADDRESS      -> "CN ping ADDRESS ok|fail"
#   cn.http=ADDR:PORT/PATH -> "CN http ADDR:PORT/PATH <first body line>" (GET over nc)
#   cn.sleep=SECONDS
# The first line is "CN address A.B.C.D/N" (or "CN address none"), the
# last "CN done".
#
#   guest_build              builds (once, cached) $CN_GUEST_KERNEL and $CN_GUEST_INITRD
#   guest_base_xml NAME CMDLINE   a base domain XML (no NICs) on stdout
#   guest_wait NAME [SECONDS]     waits for "CN done"; prints the CN lines
#   guest_console NAME            the console log path

: "${CN_E2E_CACHE:=${top_builddir:-/tmp}/e2e-cache}"

guest_build() {
    local kernel version modules_dir dir cpio
    kernel=$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -1)
    [ -n "$kernel" ] || { echo "guest_build: no /boot/vmlinuz-* (install linux-image-amd64)" >&2; return 1; }
    version=${kernel#/boot/vmlinuz-}
    modules_dir=/lib/modules/$version
    CN_GUEST_KERNEL=$kernel
    CN_GUEST_INITRD=$CN_E2E_CACHE/guest-$version.cpio.gz
    export CN_GUEST_KERNEL CN_GUEST_INITRD
    [ -f "$CN_GUEST_INITRD" ] && [ "$CN_GUEST_INITRD" -nt "${BASH_SOURCE[0]}" ] && return 0

    mkdir -p "$CN_E2E_CACHE"
    dir=$(mktemp -d)
    mkdir -p "$dir"/{bin,dev,proc,sys,tmp,etc,lib/modules}
    cp /bin/busybox "$dir/bin/busybox"
    local m path
    for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci failover net_failover virtio_net; do
        path=$(find "$modules_dir/kernel" -name "$m.ko*" | head -1)
        [ -n "$path" ] || continue # built in
        case $path in
        *.ko.xz) xz -dc "$path" >"$dir/lib/modules/$m.ko" ;;
        *.ko.zst) zstd -dcq "$path" >"$dir/lib/modules/$m.ko" ;;
        *) cp "$path" "$dir/lib/modules/$m.ko" ;;
        esac
    done
    cat >"$dir/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mount -t tmpfs tmp /tmp
say() { echo "CN $*" >/dev/console; }
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci failover net_failover virtio_net; do
    [ -f /lib/modules/$m.ko ] && insmod /lib/modules/$m.ko 2>/dev/null
done
ip link set lo up
for _ in 1 2 3 4 5 6 7 8 9 10; do [ -e /sys/class/net/eth0 ] && break; sleep 0.5; done
ip link set eth0 up
udhcpc -i eth0 -n -q -t 8 -T 2 -s /udhcpc.script >/dev/null 2>&1
addr=$(ip -4 -o addr show eth0 | awk '{print $4}')
say address ${addr:-none}
for arg in $(cat /proc/cmdline); do
    case $arg in
    cn.resolve=*)
        name=${arg#cn.resolve=}
        got=$(nslookup "$name" 2>/dev/null | awk '/^Address/ {a=$NF} END {print a}')
        # busybox prints the server first; the answer is the last Address line
        say resolve "$name" "${got:-fail}"
        ;;
    cn.ping=*)
        target=${arg#cn.ping=}
        if ping -c 2 -W 2 "$target" >/dev/null 2>&1; then say ping "$target" ok; else say ping "$target" fail; fi
        ;;
    cn.http=*)
        spec=${arg#cn.http=}
        hostport=${spec%%/*}; path=/${spec#*/}
        body=$(printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$path" "${hostport%%:*}" | nc -w 5 "${hostport%%:*}" "${hostport##*:}" 2>/dev/null | tr -d '\r' | sed '1,/^$/d' | head -1)
        say http "$spec" "${body:-fail}"
        ;;
    cn.sleep=*) sleep "${arg#cn.sleep=}" ;;
    esac
done
say done
poweroff -f
INIT
    cat >"$dir/udhcpc.script" <<'SCRIPT'
#!/bin/sh
case $1 in
bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    [ -n "$router" ] && ip route add default via ${router%% *} dev "$interface"
    : >/etc/resolv.conf
    for s in $dns; do echo "nameserver $s" >>/etc/resolv.conf; done
    [ -n "$domain" ] && echo "search $domain" >>/etc/resolv.conf
    ;;
esac
exit 0
SCRIPT
    chmod +x "$dir/init" "$dir/udhcpc.script"
    (cd "$dir" && find . | cpio -o -H newc --quiet | gzip -1) >"$CN_GUEST_INITRD.tmp"
    mv "$CN_GUEST_INITRD.tmp" "$CN_GUEST_INITRD"
    rm -rf "$dir"
}

guest_console() { echo "/var/log/libvirt/qemu/$1.console"; }

guest_base_xml() {
    local name=$1 cmdline=$2
    cat <<XML
<domain type='qemu'>
  <name>$name</name>
  <memory unit='MiB'>192</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$CN_GUEST_KERNEL</kernel>
    <initrd>$CN_GUEST_INITRD</initrd>
    <cmdline>console=ttyS0 quiet panic=-1 $cmdline</cmdline>
  </os>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <serial type='file'><source path='$(guest_console "$name")'/><target port='0'/></serial>
    <memballoon model='none'/>
  </devices>
</domain>
XML
}

guest_wait() {
    local name=$1 limit=${2:-90} console
    console=$(guest_console "$name")
    for _ in $(seq $((limit * 2))); do
        grep -q '^CN done' "$console" 2>/dev/null && break
        # A guest that is not running and never finished will not.
        [ "$(virsh domstate "$name" 2>/dev/null)" = running ] || { sleep 0.5; grep -q '^CN done' "$console" 2>/dev/null; break; }
        sleep 0.5
    done
    grep -a '^CN ' "$console" 2>/dev/null | tr -d '\r'
}
