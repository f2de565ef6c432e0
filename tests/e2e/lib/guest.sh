# guest.sh - tiny test guests: the Debian kernel with a busybox initramfs,
# booted under QEMU (TCG) by libvirt with direct kernel boot.
#
# The guest's init loads the virtio NIC modules, configures eth0 (DHCP, or
# the static address of cn.addr=), then performs the actions given on the
# kernel command line and prints one "CN <what> ..." line per result on the
# serial console, then powers off.
# Set-up (read before anything else, wherever they stand on the line):
#   cn.addr=A.B.C.D/N    static address on eth0 instead of DHCP (no route,
#                        no DNS: for networks without DHCP)
#   cn.addr2=A.B.C.D/N   a second static address on eth0
#   cn.route=A.B.C.D/N   a route on-link through eth0 (repeatable; with cn.addr)
#   cn.tries=N           cn.http tries N times, 2 s apart, before it says fail
#   cn.seed              before any network: "CN seed serial SMBIOS-SERIAL", then
#                        eth0 addressed from the first address of the fw_cfg
#                        network-config carthage-net seeded ("CN seed address
#                        A.B.C.D/N", or "CN seed address none"), and "CN seed
#                        user-data FIRST-LINE" (qemu_fw_cfg; no DHCP)
#                        (as cloud-init does; default 1)
#   cn.mac=MAC           eth0 sends from MAC, not the one it was given (a
#                        forging guest)
#   cn.vlan=ID:A.B.C.D/N an 802.1Q interface eth0.ID with that address (loads
#                        8021q); repeatable -> "CN vlan eth0.ID A.B.C.D/N"
#                        (or "CN vlan eth0.ID fail"), after the address line
# Actions, in command-line order:
#   cn.resolve=NAME      -> "CN resolve NAME ADDRESS" (or "CN resolve NAME fail")
#   cn.ping=ADDRESS      -> "CN ping ADDRESS ok|fail"
#   cn.ping=ADDRESS@IFACE -> "CN ping ADDRESS@IFACE ok|fail" (ping -I IFACE: from
#                        that interface, or from that source address)
#   cn.ping6=ADDRESS     -> "CN ping6 ADDRESS ok|fail"
#   cn.ipv6              -> "CN ipv6 ADDRESS ..." eth0's IPv6 addresses, once a
#                        global one is there (waits up to 20 s), link-local first
#   cn.neigh=ADDRESS     -> "CN neigh ADDRESS MAC" once ADDRESS has a complete
#                        ARP entry (waits up to 30 s), else "CN neigh ADDRESS none"
#   cn.http=HOST:PORT/PATH -> "CN http HOST:PORT/PATH <first body line>" (GET over nc;
#                           a HOST name is resolved with nslookup first)
#   cn.imds=A.B.C.D:PORT/PATH -> "CN imds A.B.C.D:PORT/PATH <first body line>": an
#                        IMDSv2 session as cloud-init's EC2 datasource opens it
#                        (PUT /latest/api/token with a TTL, then GET with the
#                        token), or "... fail"
#   cn.sleep=SECONDS
#   cn.routes            -> one "CN route ..." line per route (for debugging)
# The first line is "CN address A.B.C.D/N" (or "CN address none"), the
# last "CN done".
#
#   guest_build              builds (once, cached) $CN_GUEST_KERNEL and $CN_GUEST_INITRD
#   guest_base_xml NAME CMDLINE   a base domain XML (no NICs) on stdout
#   guest_wait NAME [SECONDS]     waits for "CN done"; prints the CN lines
#   guest_wait_for NAME PATTERN [SECONDS]  waits for one line, guest still running
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
    # The virtio NIC, then 802.1Q and its dependencies (for cn.vlan=).
    for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci failover net_failover virtio_net \
             llc stp garp mrp 8021q qemu_fw_cfg; do
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
static= static2= vlans= mac= routes= tries=1 seed_routes=
for arg in $(cat /proc/cmdline); do
    case $arg in
    cn.seed)
        insmod /lib/modules/qemu_fw_cfg.ko 2>/dev/null
        say seed serial "$(cat /sys/class/dmi/id/product_serial 2>/dev/null)"
        seed=/sys/firmware/qemu_fw_cfg/by_name/opt/org.carthage-net
        static=$(sed -n '/addresses:/{n;s/^ *- *\([0-9.]*\/[0-9]*\)$/\1/p;}' "$seed/network-config/raw" 2>/dev/null | head -1)
        # "- to: DEST" then "via: GATEWAY": routed through the gateway
        seed_routes=$(awk '/- to:/ {to=$3} /via:/ && to {print to "," $2; to=""}' "$seed/network-config/raw" 2>/dev/null)
        say seed address "${static:-none}"
        say seed user-data "$(head -1 "$seed/user-data/raw" 2>/dev/null)"
        ;;
    cn.tries=*) tries=${arg#cn.tries=} ;;
    cn.addr=*) static=${arg#cn.addr=} ;;
    cn.route=*) routes="$routes ${arg#cn.route=}" ;;
    cn.mac=*) mac=${arg#cn.mac=} ;;
    cn.addr2=*) static2=${arg#cn.addr2=} ;;
    cn.vlan=*) vlans="$vlans ${arg#cn.vlan=}" ;;
    esac
done
[ -n "$mac" ] && ip link set eth0 address "$mac"
ip link set eth0 up
if [ -n "$static" ]; then
    ip addr add "$static" dev eth0
else
    udhcpc -i eth0 -n -q -t 8 -T 2 -O staticroutes -s /udhcpc.script >/dev/null 2>&1
fi
addr=$(ip -4 -o addr show eth0 | awk '{print $4}' | head -1)
say address ${addr:-none}
[ -n "$static2" ] && ip addr add "$static2" dev eth0
for r in $routes; do ip route replace "$r" dev eth0; done
for r in $seed_routes; do ip route replace "${r%,*}" via "${r#*,}" dev eth0; done
if [ -n "$vlans" ]; then
    for m in llc stp garp mrp 8021q; do
        [ -f /lib/modules/$m.ko ] && insmod /lib/modules/$m.ko 2>/dev/null
    done
    for v in $vlans; do
        id=${v%%:*}
        if ip link add link eth0 name eth0.$id type vlan id "$id" && ip addr add "${v#*:}" dev eth0.$id &&
            ip link set eth0.$id up; then
            say vlan eth0.$id "$(ip -4 -o addr show eth0.$id | awk '{print $4}')"
        else
            say vlan eth0.$id fail
        fi
    done
fi
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
        case $target in
        *@*) dest=${target%@*} via="-I ${target##*@}" ;;
        *) dest=$target via= ;;
        esac
        if ping $via -c 2 -W 2 "$dest" >/dev/null 2>&1; then say ping "$target" ok; else say ping "$target" fail; fi
        ;;
    cn.neigh=*)
        target=${arg#cn.neigh=} mac=
        for _ in $(seq 60); do
            mac=$(awk -v a="$target" '$1 == a && $3 != "0x0" {print $4}' /proc/net/arp)
            [ -n "$mac" ] && break
            sleep 0.5
        done
        say neigh "$target" "${mac:-none}"
        ;;
    cn.http=*)
        spec=${arg#cn.http=}
        hostport=${spec%%/*}; path=/${spec#*/}
        host=${hostport%%:*}
        # busybox-static cannot resolve names itself (no NSS): nslookup can.
        case $host in
        *[!0-9.]*) addr=$(nslookup "$host" 2>/dev/null | awk '/^Address/ {a=$NF} END {print a}') ;;
        *) addr=$host ;;
        esac
        body= try=0
        while [ -z "$body" ] && [ "$try" -lt "$tries" ]; do
            [ "$try" = 0 ] || sleep 2
            body=$(printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$path" "$host" | nc -w 5 "${addr:-$host}" "${hostport##*:}" 2>/dev/null | tr -d '\r' | sed '1,/^$/d' | head -1)
            try=$((try + 1))
        done
        say http "$spec" "${body:-fail}"
        ;;
    cn.imds=*)
        spec=${arg#cn.imds=}
        hostport=${spec%%/*}; path=/${spec#*/}
        token=$(printf 'PUT /latest/api/token HTTP/1.0\r\nX-aws-ec2-metadata-token-ttl-seconds: 21600\r\n\r\n' |
            nc -w 5 "${hostport%%:*}" "${hostport##*:}" 2>/dev/null | tr -d '\r' | sed '1,/^$/d' | head -1)
        body=$(printf 'GET %s HTTP/1.0\r\nX-aws-ec2-metadata-token: %s\r\n\r\n' "$path" "$token" |
            nc -w 5 "${hostport%%:*}" "${hostport##*:}" 2>/dev/null | tr -d '\r' | sed '1,/^$/d' | head -1)
        say imds "$spec" "${body:-fail}"
        ;;
    cn.ping6=*)
        target=${arg#cn.ping6=}
        if ping -6 -c 2 -W 2 "$target" >/dev/null 2>&1 || ping6 -c 2 -W 2 "$target" >/dev/null 2>&1; then
            say ping6 "$target" ok
        else
            say ping6 "$target" fail
        fi
        ;;
    cn.ipv6)
        for _ in $(seq 40); do
            ip -6 -o addr show dev eth0 scope global | grep -q inet6 && break
            sleep 0.5
        done
        say ipv6 $(ip -6 -o addr show dev eth0 scope link | awk '{print $4}') \
            $(ip -6 -o addr show dev eth0 scope global | awk '{print $4}')
        ;;
    cn.sleep=*) sleep "${arg#cn.sleep=}" ;;
    cn.routes) ip route | while read -r line; do say route "$line"; done ;;
    esac
done
say done
poweroff -f
INIT
    cat >"$dir/udhcpc.script" <<'SCRIPT'
#!/bin/sh
case $1 in
bound|renew)
    ip -4 addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    [ -n "$router" ] && ip route add default via ${router%% *} dev "$interface"
    # option 121: "DEST/LEN GATEWAY ..." (carthage-net routes the metadata address so)
    set -- $staticroutes
    while [ $# -ge 2 ]; do ip route replace "$1" via "$2" dev "$interface"; shift 2; done
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
  <features><acpi/></features>
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

# guest_wait_for NAME PATTERN [SECONDS]: waits for a console line matching
# PATTERN (an extended regex) while the guest goes on; prints the CN lines.
guest_wait_for() {
    local name=$1 pattern=$2 limit=${3:-90} console
    console=$(guest_console "$name")
    for _ in $(seq $((limit * 2))); do
        grep -aEq "$pattern" "$console" 2>/dev/null && break
        sleep 0.5
    done
    grep -a '^CN ' "$console" 2>/dev/null | tr -d '\r'
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
