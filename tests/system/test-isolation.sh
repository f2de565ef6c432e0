#!/usr/bin/env bash
# test-isolation.sh - the nftables isolation engine (carthage-net isolation
# apply|attach|detach|remove) against the real kernel, with real packets
# between network namespaces: a "host" namespace with the networks' Linux
# bridges, the metadata handlers and a router to an "upstream" namespace;
# one namespace per guest, each on a veth pair whose host end is the bridge
# port the engine pins (plus one real TAP, driven from /dev/net/tun).
# Everything runs twice: with net.bridge.bridge-nf-call-iptables 0 and 1
# in the host namespace.  Runs as root; every namespace and every process
# it starts goes on the way out, even on failure.  Prints TAP.
set -u
top=$(cd "${top_srcdir:-$(dirname "$0")/../..}" && pwd)
build=${top_builddir:-$top/build}
. "$top/tests/lib/tap.sh"
. "$top/tests/lib/system.sh"

require_root "network namespaces, bridges, nftables" ip bridge nft python3
require_built carthage-net
# ping: iputils or busybox (scripts/install-deps installs busybox-static).
if command -v ping >/dev/null; then
    PING=(ping -n -q -c 1 -W 1) PING6=(ping -6 -n -q -c 1 -W 1)
elif command -v busybox >/dev/null && busybox ping -c 1 -W 1 127.0.0.1 >/dev/null 2>&1; then
    PING=(busybox ping -q -c 1 -W 1) PING6=(busybox ping6 -q -c 1 -W 1)
else
    skip_all "no ping (iputils or busybox)"
fi
python=$(command -v python3)
export CARTHAGE_NET_TEMPLATE_DIR=$top/xml-templates

id=$$
H=cni-$id-host G1=cni-$id-g1 G2=cni-$id-g2 G3=cni-$id-g3 GX=cni-$id-gx R1=cni-$id-r1 UP=cni-$id-up
workspace isolation-test
NAMESPACES="$H $G1 $G2 $G3 $GX $R1 $UP"


defs=$work/defs.conf
state=$work/state
BR=cnibr0 BRR=cnibr1
GW=10.77.0.1 GWR=10.78.0.1 MDIP=169.254.169.254
BRMAC=02:00:00:77:00:01 BRRMAC=02:00:00:78:00:01
XMAC=02:cc:00:00:00:99 XIP=10.77.0.60
cat >"$defs" <<EOF
[network md]
bridge_name = $BR
isolate_guests = true
metadata = true
metadata.handler = 8000
v4.network = 10.77.0.0/24
v4.gateway = $GW
v4.pool = 10.77.0.100-10.77.0.150

[network rt]
bridge_name = $BRR
forward = route
v4.network = 10.78.0.0/24
v4.gateway = $GWR

[machine g1]
metadata.handler = 9001
[machine g2]
metadata.handler = 9002
[machine g3]
[machine g4]
[machine r1]

[link g1 eth0]
net = md
v4.address = 10.77.0.11
[link g2 eth0]
net = md
v4.address = 10.77.0.12
# from the pool
[link g3 eth0]
net = md
[link g4 eth0]
net = md
v4.address = 10.77.0.14
[link r1 eth0]
net = rt
v4.address = 10.78.0.10
v4.public_address = 192.0.2.10
v4.secondary_addresses = 10.78.0.20=192.0.2.20
EOF
# A later file changes g1's handler (layering), for the handler-change case.
printf '[machine g1]\nmetadata.handler = 9005\n' >"$work/handler-change.conf"

cn() { ip netns exec "$H" "$build/carthage-net" -f "$defs" --state-dir "$state" "$@"; }
run() { out=$(cn "$@" 2>&1); rc=$?; }

# --- packets: a small helper for what ping and curl cannot do
pkt=$work/pkt.py
cat >"$pkt" <<'EOF'
import fcntl, os, select, socket, struct, sys, time

def mac(text): return bytes.fromhex(text.replace(":", ""))
def ip4(text): return socket.inet_aton(text)

def checksum(data):
    if len(data) % 2: data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff

def arp_request(src_mac, src_ip, target_ip):
    return (b"\xff" * 6 + mac(src_mac) + b"\x08\x06" +
            struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + mac(src_mac) + ip4(src_ip) + b"\0" * 6 + ip4(target_ip))

def is_arp_reply(frame, from_ip, to_ip):
    return (len(frame) >= 42 and frame[12:14] == b"\x08\x06" and frame[20:22] == b"\x00\x02" and
            frame[28:32] == ip4(from_ip) and frame[38:42] == ip4(to_ip))

class Packet:  # a veth end, through a packet socket
    def __init__(self, ifname):
        self.s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
        self.s.bind((ifname, 0))
    def send(self, frame): self.s.send(frame)
    def fileno(self): return self.s.fileno()
    def recv(self): return self.s.recv(65535)

class Tap:  # a persistent TAP: this process plays the VM
    def __init__(self, ifname):
        self.fd = os.open("/dev/net/tun", os.O_RDWR)
        fcntl.ioctl(self.fd, 0x400454ca, struct.pack("16sH", ifname.encode(), 0x0002 | 0x1000))  # TUNSETIFF, IFF_TAP|IFF_NO_PI
        time.sleep(0.3)  # carrier up, bridge port forwarding
    def send(self, frame): os.write(self.fd, frame)
    def fileno(self): return self.fd
    def recv(self): return os.read(self.fd, 65535)

def arp(dev, src_mac, src_ip, target_ip, wait=1.0):
    """ARP request from SRC_MAC/SRC_IP; exit 0 when TARGET_IP answers."""
    end = time.time() + wait
    next_send = 0
    while time.time() < end:
        if time.time() >= next_send:
            dev.send(arp_request(src_mac, src_ip, target_ip)); next_send = time.time() + 0.3
        r, _, _ = select.select([dev], [], [], 0.05)
        if r and is_arp_reply(dev.recv(), target_ip, src_ip):
            print("reply"); return 0
    return 1

def dhcp_like(dev, src_mac, token):
    """UDP 0.0.0.0:68 -> 255.255.255.255:67, as a DHCP client's first packet."""
    payload = token.encode()
    udp = struct.pack("!HHHH", 68, 67, 8 + len(payload), 0) + payload
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, ip4("0.0.0.0"), ip4("255.255.255.255"))
    hdr = hdr[:10] + struct.pack("!H", checksum(hdr)) + hdr[12:]
    dev.send(b"\xff" * 6 + mac(src_mac) + b"\x08\x00" + hdr + udp)
    return 0

def main(argv):
    cmd = argv[0]
    if cmd == "arp":            # arp IFNAME SRC_MAC SRC_IP TARGET_IP
        return arp(Packet(argv[1]), *argv[2:5])
    if cmd == "tap-arp":        # tap-arp TAP SRC_MAC SRC_IP TARGET_IP
        return arp(Tap(argv[1]), *argv[2:5])
    if cmd == "dhcp":           # dhcp IFNAME SRC_MAC TOKEN
        return dhcp_like(Packet(argv[1]), argv[2], argv[3])
    if cmd == "udp-log":        # udp-log PORT FILE: every datagram's source and text
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        s.bind(("0.0.0.0", int(argv[1])))
        with open(argv[2], "a") as log:
            while True:
                data, peer = s.recvfrom(65535)
                log.write("%s:%d %s\n" % (peer[0], peer[1], data.decode(errors="replace"))); log.flush()
    if cmd == "udp-send":       # udp-send ADDR PORT TEXT
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.sendto(argv[3].encode(), (argv[1], int(argv[2])))
        return 0
    if cmd == "serve-peer":     # serve-peer ADDR PORT: tells each client its address as seen here
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((argv[1], int(argv[2]))); s.listen(16)
        while True:
            c, peer = s.accept()
            try: c.sendall((peer[0] + "\n").encode())
            finally: c.close()
    if cmd == "connect":        # connect ADDR PORT [SRC]: prints what the server says
        s = socket.socket(); s.settimeout(2)
        if len(argv) > 3: s.bind((argv[3], 0))
        try:
            s.connect((argv[1], int(argv[2]))); sys.stdout.write(s.recv(200).decode())
        except OSError as e:
            print("error: %s" % e); return 1
        return 0
    if cmd == "tcp-listen":     # tcp-listen ADDR PORT: accepts and says hello
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((argv[1], int(argv[2]))); s.listen(16)
        while True:
            c, _ = s.accept(); c.sendall(b"other-service\n"); c.close()
    return 2

sys.exit(main(sys.argv[1:]))
EOF
py() { local ns=$1; shift; ip netns exec "$ns" "$python" "$pkt" "$@"; }

# http_get NS URL: the body on stdout; fails on any error (short timeouts).
if command -v curl >/dev/null; then
    http_get() { ip netns exec "$1" curl -sS -f --connect-timeout 1 -m 2 "$2" 2>&1; }
else
    http_get() {
        ip netns exec "$1" "$python" -c 'import sys, urllib.request
try: sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=2).read().decode())
except Exception as e: print("error: %s" % e); sys.exit(1)' "$2"
    }
fi
# fails NAME CMD...: passes when CMD fails; the output goes into the diagnostics.
fails() {
    local name=$1 output
    shift
    if output=$("$@" 2>&1); then
        _tap_result 1 "$name"
        printf '%s\n' "$output" | head -5 | sed 's/^/#   got: /'
    else
        _tap_result 0 "$name"
    fi
}

# --------------------------------------------------------------- topology
namespaces_up
run validate
[ "$rc" = 0 ] || bail "the test's definitions are invalid: $out"
# The MACs carthage-net gives the links.
link_mac() { cn render interface "$1" "$2" | sed -n 's/.*<mac address="\([^"]*\)".*/\1/p'; }
G1MAC=$(link_mac g1 eth0) G2MAC=$(link_mac g2 eth0) G3MAC=$(link_mac g3 eth0) G4MAC=$(link_mac g4 eth0)
R1MAC=$(link_mac r1 eth0)
[ -n "$G1MAC" ] && [ -n "$G2MAC" ] && [ -n "$G3MAC" ] && [ -n "$G4MAC" ] && [ -n "$R1MAC" ] ||
    bail "cannot read the links' MACs from carthage-net render interface"
# g3's address comes from the pool: read it from the network's metadata.
G3IP=$(cn render network md | sed -n 's/.*<cn:guest machine="g3" [^>]*ipv4="\([^"]*\)".*/\1/p')
[ -n "$G3IP" ] || bail "cannot read g3's pool address from carthage-net render network md"
G1IP=10.77.0.11 G2IP=10.77.0.12 G4IP=10.77.0.14

mkbridge() { # NAME MAC ADDRESS
    nsx "$H" ip link add "$1" type bridge &&
        nsx "$H" ip link set "$1" address "$2" &&
        nsx "$H" ip addr add "$3" dev "$1" &&
        nsx "$H" ip link set "$1" up
}
mkbridge "$BR" "$BRMAC" "$GW/24" && mkbridge "$BRR" "$BRRMAC" "$GWR/24" || bail "cannot make the bridges"
nsx "$H" sysctl -qw net.ipv4.ip_forward=1
# guest NS PORT BRIDGE MAC ADDRESS GATEWAY: a veth pair, host end a port of BRIDGE.
guest() {
    ip link add "$2" netns "$H" type veth peer name eth0 netns "$1" &&
        nsx "$H" ip link set "$2" master "$3" up &&
        nsx "$1" ip link set eth0 address "$4" &&
        nsx "$1" ip link set eth0 up &&
        nsx "$1" ip addr add "$5/24" dev eth0 &&
        nsx "$1" ip route add default via "$6"
}
guest "$G1" vg1 "$BR" "$G1MAC" "$G1IP" "$GW" &&
    guest "$G2" vg2 "$BR" "$G2MAC" "$G2IP" "$GW" &&
    guest "$G3" vg3 "$BR" "$G3MAC" "$G3IP" "$GW" &&
    guest "$GX" vgx "$BR" "$XMAC" "$XIP" "$GW" &&
    guest "$R1" vr1 "$BRR" "$R1MAC" 10.78.0.10 "$GWR" &&
    nsx "$R1" ip addr add 10.78.0.20/24 dev eth0 || bail "cannot make the guests"
# upstream: routes the public addresses through the host.
ip link add up0 netns "$H" type veth peer name eth0 netns "$UP" &&
    nsx "$H" ip addr add 198.51.100.1/24 dev up0 && nsx "$H" ip link set up0 up &&
    nsx "$UP" ip addr add 198.51.100.2/24 dev eth0 && nsx "$UP" ip link set eth0 up &&
    nsx "$UP" ip route add 192.0.2.0/24 via 198.51.100.1 || bail "cannot make the upstream namespace"
# A real TAP for g4 (persistent; a process attaching to it plays the VM).
have_tap=false
if [ -c /dev/net/tun ] && nsx "$H" ip tuntap add dev cnitap0 mode tap 2>/dev/null; then
    nsx "$H" ip link set cnitap0 master "$BR" up && have_tap=true
fi

# Handlers on the gateway address, each with its own page; and another
# host service on 2222.
for port in 8000 9001 9002 9005; do
    mkdir -p "$work/h$port" && echo "handler $port" >"$work/h$port/index.html"
    bg "$H" "$python" -m http.server "$port" --bind "$GW" --directory "$work/h$port"
done
bg "$H" "$python" "$pkt" tcp-listen "$GW" 2222
bg "$H" "$python" "$pkt" udp-log 67 "$work/dhcp.log"
bg "$G2" "$python" "$pkt" udp-log 6000 "$work/g2-udp.log"
bg "$R1" "$python" "$pkt" serve-peer 0.0.0.0 7000
bg "$UP" "$python" "$pkt" serve-peer 198.51.100.2 7000
for _ in $(seq 50); do
    ready=true
    for port in 8000 9001 9002 9005; do http_get "$H" "http://$GW:$port/" >/dev/null || ready=false; done
    py "$H" connect "$GW" 2222 >/dev/null || ready=false
    py "$UP" connect 198.51.100.2 7000 >/dev/null || ready=false
    py "$R1" connect 10.78.0.10 7000 >/dev/null || ready=false
    $ready && break
    sleep 0.1
done
$ready || bail "the handlers and listeners did not start: $(tail -5 "$work/bg.log")"
HOSTLL=$(nsx "$H" ip -6 -o addr show dev "$BR" scope link | sed -n 's/.* inet6 \(fe80::[0-9a-f:]*\)\/64.*/\1/p')

# pingf NS ADDRESS [ARGS...] / ping6f NS ADDRESS: one ping, one second.
pingf() { local ns=$1 to=$2; shift 2; ip netns exec "$ns" "${PING[@]}" "$@" "$to"; }
ping6f() { ip netns exec "$1" "${PING6[@]}" -I eth0 "$2"; }

# ---------------------------------------------------------------- without isolation
# The same paths work before the engine is applied: what fails later is its doing.
like "control, no isolation: g1 reaches g2's handler directly" "$(http_get "$G1" "http://$GW:9002/")" "^handler 9002$"
like "control, no isolation: g1 reaches the host's service on 2222" "$(py "$G1" connect "$GW" 2222)" "other-service"
ok "control, no isolation: g1 pings g2" pingf "$G1" "$G2IP"
if [ -n "$HOSTLL" ]; then
    ok "control, no isolation: g1 pings the host's link-local address over IPv6" ping6f "$G1" "$HOSTLL"
else
    skip "control, no isolation: g1 pings the host over IPv6" "the bridge has no link-local address"
fi
py "$G1" udp-send "$G2IP" 6000 "control-udp"
like "control, no isolation: g1's UDP reaches g2" "$(logged "$work/g2-udp.log" control-udp)" "^$G1IP:[0-9]+ control-udp$"
like "control, no isolation: g3 ARPing with its own address gets a reply" \
    "$(py "$G3" arp eth0 "$G3MAC" "$G3IP" "$GW")" "^reply$"

# ---------------------------------------------------------------- helpers for the rounds
set_has() { nsx "$H" nft get element "$@" >/dev/null 2>&1; } # FAMILY TABLE SET '{ KEY }'
# FAMILY TABLE, without the sets the packets themselves fill (storm,
# spoofers) and what the drop rules' counters have counted.
dump() {
    nsx "$H" nft list table "$1" "$2" 2>&1 | without_sets storm spoofers |
        sed 's/counter packets [0-9]* bytes [0-9]*/counter/'
}
# without_sets SET...: nft list output on stdin without those sets' blocks.
without_sets() {
    awk -v drop=" $* " '
        /^\t(set|map) / { skip = index(drop, " " $2 " ") > 0 }
        !skip { print }
        skip && /^\t}/ { skip = 0 }'
}
metadata_page() { http_get "$1" "http://$MDIP/"; }
host_neigh_mac() { nsx "$H" ip neigh show "$1" dev "$BR" | sed -n 's/.* lladdr \([0-9a-f:]*\).*/\1/p'; }
fdb_port_of() { nsx "$H" bridge fdb show br "$BR" | awk -v mac="$1" '$1 == mac { print $3 }' | sort -u | tr '\n' ' '; }
# set_guest NS MAC ADDRESS: what eth0 of NS claims to be (MAC, its only address).
set_guest() {
    nsx "$1" ip link set eth0 down &&
        nsx "$1" ip link set eth0 address "$2" &&
        nsx "$1" ip addr flush dev eth0 &&
        nsx "$1" ip link set eth0 up &&
        nsx "$1" ip addr add "$3/24" dev eth0 &&
        nsx "$1" ip route replace default via "$GW"
}
not_equal() { [ "$1" != "$2" ]; }

round() {
    local mode=$1 T args attach_rcs tables token before after
    T="[br-nf-call-iptables=$mode]"
    [ "$mode" = absent ] || nsx "$H" sysctl -qw "net.bridge.bridge-nf-call-iptables=$mode"
    nsx "$H" ip neigh flush dev "$BR"

    # ---- apply, attach
    run isolation apply
    is "$T apply: exit 0" "$rc:$out" "0:network md: applied tables cn_md
network rt: applied tables cn_rt"
    tables=$(nsx "$H" nft list tables | sort)
    is "$T apply: a bridge and an inet table per network" "$tables" \
        "$(printf 'table bridge cn_md\ntable bridge cn_rt\ntable inet cn_md\ntable inet cn_rt\n' | sort)"
    attach_rcs=""
    for args in "md vg1 g1 eth0" "md vg2 g2 eth0" "md vg3 g3 eth0" "md vgx $XMAC" "rt vr1 r1 eth0"; do
        # shellcheck disable=SC2086
        run isolation attach $args
        attach_rcs="$attach_rcs$rc"
        [ "$rc" = 0 ] || echo "# attach $args: $out"
    done
    is "$T attach g1, g2, g3, an unrendered guest (by MAC) and r1: all exit 0" "$attach_rcs" 00000
    run isolation attach md vg1 g1 eth0
    is "$T attach g1 again: exit 0 (idempotent)" "$rc:$out" "0:"

    # ---- metadata: each guest its own handler, no other
    like "$T g1 gets its own handler's page from $MDIP" "$(metadata_page "$G1")" "^handler 9001$"
    like "$T g2 gets its own handler's page from $MDIP" "$(metadata_page "$G2")" "^handler 9002$"
    like "$T g3 (no handler of its own) gets the network's handler" "$(metadata_page "$G3")" "^handler 8000$"
    like "$T the unrendered guest gets the network's handler" "$(metadata_page "$GX")" "^handler 8000$"
    fails "$T g1 cannot reach g2's handler directly ($GW:9002)" http_get "$G1" "http://$GW:9002/"
    fails "$T g1 cannot reach its own handler directly ($GW:9001)" http_get "$G1" "http://$GW:9001/"
    fails "$T g1 cannot reach $MDIP on another port (9002: only port 80 is DNATed)" \
        http_get "$G1" "http://$MDIP:9002/"
    fails "$T g1 cannot reach another host service ($GW:2222)" py "$G1" connect "$GW" 2222

    # ---- guest isolation, IPv6
    ok "$T g1 pings the gateway" pingf "$G1" "$GW"
    ok "$T g2 pings the gateway" pingf "$G2" "$GW"
    fails "$T g1 cannot ping g2 (isolate_guests)" pingf "$G1" "$G2IP"
    # Through the host: g1 routes g2's address via the gateway (the host
    # forwards: ip_forward is on for the routed network).
    nsx "$G1" ip route add "$G2IP/32" via "$GW"
    fails "$T g1 cannot ping g2 through the host (route via $GW)" pingf "$G1" "$G2IP"
    py "$G1" udp-send "$G2IP" 6000 "hairpin-$mode"
    sleep 0.2
    is "$T regression: nft-isolation.c cn_nft_network_apply (no inet forward rule for isolate_guests): g1's UDP routed through the host does not reach g2" \
        "$(grep -c "hairpin-$mode" "$work/g2-udp.log")" 0
    nsx "$G1" ip route del "$G2IP/32"
    if [ -n "$HOSTLL" ]; then
        fails "$T g1's IPv6 is dropped (ping6 to the host's link-local; IPv4 works)" ping6f "$G1" "$HOSTLL"
    else
        skip "$T g1's IPv6 is dropped" "the bridge has no link-local address"
    fi

    # ---- pinned addresses, DHCP
    nsx "$G1" ip addr add 10.77.0.50/24 dev eth0
    fails "$T g1 from an unreserved address (10.77.0.50) cannot reach the gateway (pinned_ip)" \
        pingf "$G1" "$GW" -I 10.77.0.50
    nsx "$G1" ip addr del 10.77.0.50/24 dev eth0
    ok "$T the unrendered guest (addresses not pinned) with a free address pings the gateway" pingf "$GX" "$GW"
    token=dhcp-$mode-$id
    py "$G1" dhcp eth0 "$G1MAC" "$token-g1"
    py "$G1" dhcp eth0 02:de:ad:00:00:01 "$token-forged"
    like "$T UDP 0.0.0.0:68 -> 255.255.255.255:67 from g1 passes the bridge (DHCP)" \
        "$(logged "$work/dhcp.log" "$token-g1")" "^0\.0\.0\.0:68 $token-g1$"
    sleep 0.2
    is "$T ... but not from a MAC not g1's" "$(grep -cF "$token-forged" "$work/dhcp.log")" 0

    # ---- forging: g3 claims g1's address with its own MAC (g1 up)
    set_guest "$G3" "$G3MAC" "$G1IP"
    nsx "$H" ip neigh flush dev "$BR"
    fails "$T g3 with g1's address: ARP to the gateway gets no reply" py "$G3" arp eth0 "$G3MAC" "$G1IP" "$GW"
    ok "$T g3 with g1's address: the host does not map g1's address to g3's MAC (ip neigh)" \
        not_equal "$(host_neigh_mac "$G1IP")" "$G3MAC"
    fails "$T g3 with g1's address gets nothing from $MDIP" metadata_page "$G3"
    fails "$T g3 with g1's address cannot ping the gateway" pingf "$G3" "$GW"
    # ---- forging: g3 claims g1's MAC and address (g1 down)
    nsx "$G1" ip link set eth0 down
    set_guest "$G3" "$G1MAC" "$G1IP"
    nsx "$H" ip neigh flush dev "$BR"
    fails "$T g3 as g1 (MAC and address) gets nothing from $MDIP" metadata_page "$G3"
    fails "$T g3 as g1 cannot ping the gateway" pingf "$G3" "$GW"
    fails "$T g3 as g1: ARP to the gateway gets no reply" py "$G3" arp eth0 "$G1MAC" "$G1IP" "$GW"
    is "$T g3 as g1: the host has no neighbour entry for g1's address" "$(host_neigh_mac "$G1IP")" ""
    is "$T g3 as g1: the bridge does not learn g1's MAC (bridge fdb)" "$(fdb_port_of "$G1MAC")" ""
    # What g3 forged went through chain spoofed: its port's count, and the
    # forged-MAC reason's.
    like "$T isolation show: g3's port has its forged frames counted" "$(cn isolation show)" \
        "^  guest vg3 +$G3MAC .* forged [1-9][0-9]*$"
    like "$T isolation show: ... and the forged-MAC reason counted them" "$(cn isolation show)" \
        "^  dropped [1-9][0-9]* packet\(s\), [0-9]+ bytes: bridge pin: iifname \. ether saddr != @port_mac drop$"
    set_guest "$G3" "$G3MAC" "$G3IP"
    nsx "$G1" ip link set eth0 up
    nsx "$G1" ip route replace default via "$GW"
    like "$T g3 restored gets its page again" "$(metadata_page "$G3")" "^handler 8000$"
    like "$T g1 back up gets its page again" "$(metadata_page "$G1")" "^handler 9001$"
    is "$T the bridge learns g1's MAC on g1's port only" "$(fdb_port_of "$G1MAC")" "vg1 "

    # ---- 1:1 NAT on the routed network
    like "$T upstream reaches r1 at its public address 192.0.2.10" "$(py "$UP" connect 192.0.2.10 7000)" \
        "^198\.51\.100\.2$"
    like "$T upstream reaches r1 at its secondary public address 192.0.2.20" \
        "$(py "$UP" connect 192.0.2.20 7000)" "^198\.51\.100\.2$"
    like "$T r1's connections from 10.78.0.10 arrive upstream from 192.0.2.10" \
        "$(py "$R1" connect 198.51.100.2 7000 10.78.0.10)" "^192\.0\.2\.10$"
    like "$T r1's connections from 10.78.0.20 arrive upstream from 192.0.2.20" \
        "$(py "$R1" connect 198.51.100.2 7000 10.78.0.20)" "^192\.0\.2\.20$"

    # ---- a real TAP
    if $have_tap; then
        run isolation attach md cnitap0 g4 eth0
        is "$T real TAP: attach g4 on cnitap0: exit 0" "$rc:$out" "0:"
        ok "$T real TAP: in the sets (ports, port_mac, pinned_ip)" eval \
            "set_has bridge cn_md ports '{ \"cnitap0\" }' && set_has bridge cn_md pinned_ip '{ \"cnitap0\" }' &&
             set_has bridge cn_md port_mac '{ \"cnitap0\" . $G4MAC }'"
        like "$T real TAP: g4's ARP (its MAC and address) gets the gateway's reply" \
            "$(py "$H" tap-arp cnitap0 "$G4MAC" "$G4IP" "$GW")" "^reply$"
        fails "$T real TAP: g4 claiming g1's address gets no reply" py "$H" tap-arp cnitap0 "$G4MAC" "$G1IP" "$GW"
        fails "$T real TAP: another MAC gets no reply" py "$H" tap-arp cnitap0 02:de:ad:00:00:04 10.77.0.70 "$GW"
        run isolation detach md cnitap0 "$G4MAC"
        is "$T real TAP: detach: exit 0" "$rc:$out" "0:"
        fails "$T real TAP: detach: gone from ports and port_mac" eval \
            "set_has bridge cn_md ports '{ \"cnitap0\" }' || set_has bridge cn_md port_mac '{ \"cnitap0\" . $G4MAC }'"
        fails "$T regression: nft-isolation.c cn_nft_guest_remove (detach by MAC): real TAP: detach: gone from pinned_ip" \
            set_has bridge cn_md pinned_ip '{ "cnitap0" }'
    else
        skip "$T real TAP" "no /dev/net/tun or ip tuntap failed"
    fi

    # ---- detach g2: only its port's elements go
    before=$(dump bridge cn_md | without_sets ports port_mac pinned_ip; dump inet cn_md)
    run isolation detach md vg2 "$G2MAC"
    is "$T detach g2: exit 0" "$rc:$out" "0:"
    ok "$T detach g2: vg2 gone from ports and port_mac (nft get element)" eval \
        "! set_has bridge cn_md ports '{ \"vg2\" }' && ! set_has bridge cn_md port_mac '{ \"vg2\" . $G2MAC }'"
    fails "$T regression: nft-isolation.c cn_nft_guest_remove (detach by MAC): detach g2: vg2 gone from pinned_ip" \
        set_has bridge cn_md pinned_ip '{ "vg2" }'
    is "$T detach g2: nft list set port_mac no longer shows vg2" \
        "$(nsx "$H" nft list set bridge cn_md port_mac | grep -c '"vg2"')" 0
    ok "$T detach g2: the other ports stay" eval \
        "set_has bridge cn_md ports '{ \"vg1\", \"vg3\", \"vgx\" }' && set_has bridge cn_md pinned_ip '{ \"vg1\", \"vg3\" }' &&
         set_has bridge cn_md port_mac '{ \"vg1\" . $G1MAC, \"vg3\" . $G3MAC, \"vgx\" . $XMAC }'"
    after=$(dump bridge cn_md | without_sets ports port_mac pinned_ip; dump inet cn_md)
    is "$T detach g2: nothing else changes (other sets, chains, the inet table)" "$after" "$before"
    ok "$T detach g2: g2's reservation and handler stay" eval \
        "set_has bridge cn_md reserved '{ $G2IP . $G2MAC }' && set_has bridge cn_md reserved_addr '{ $G2IP }' &&
         set_has inet cn_md handlers '{ $G2MAC }'"
    fails "$T regression: nft-isolation.c build_bridge: the detached g2 (port still on the bridge) gets nothing from $MDIP" \
        metadata_page "$G2"
    set_guest "$G2" "$G1MAC" "$G1IP"
    nsx "$G1" ip link set eth0 down
    fails "$T regression: nft-isolation.c build_bridge: the detached port forging g1's MAC and address does not get g1's page" \
        metadata_page "$G2"
    nsx "$G1" ip link set eth0 up
    nsx "$G1" ip route replace default via "$GW"
    set_guest "$G2" "$G2MAC" "$G2IP"
    set_guest "$GX" "$XMAC" "$G2IP"
    fails "$T detach g2: its address stays reserved: the unrendered guest using it cannot ping the gateway" \
        pingf "$GX" "$GW"
    set_guest "$GX" "$XMAC" "$XIP"
    # The port goes to a guest carthage-net did not render (a NIC added by
    # hand, a pool TAP handed on): its free address must work.
    set_guest "$G2" 02:cc:00:00:00:98 10.77.0.61
    run isolation attach md vg2 02:cc:00:00:00:98
    is "$T port re-used by an unrendered guest: attach exit 0" "$rc:$out" "0:"
    ok "$T regression: nft-isolation.c cn_nft_guest_remove (detach by MAC): the re-used port's guest (free address) pings the gateway" \
        pingf "$G2" "$GW"
    run isolation detach md vg2 02:cc:00:00:00:98
    set_guest "$G2" "$G2MAC" "$G2IP"

    # ---- atomicity: one batch, part of which the kernel refuses.  The inet
    # table lost its handlers map by hand; attaching g2 again adds to the
    # bridge sets (fine) and to that map (ENOENT): nothing may change.
    # ("dnat" is a keyword of nft's language: JSON names the chain plainly.)
    printf '%s' '{"nftables": [
        {"flush": {"chain": {"family": "inet", "table": "cn_md", "name": "dnat"}}},
        {"delete": {"map": {"family": "inet", "table": "cn_md", "name": "handlers"}}}]}' |
        nsx "$H" nft -j -f - 2>/dev/null ||
        nsx "$H" nft delete table inet cn_md # nft without JSON: the whole inet table goes
    before=$(dump bridge cn_md; dump inet cn_md)
    run isolation attach md vg2 g2 eth0
    like "$T atomicity: attach refused by the kernel (part of the batch): exit 4" "$rc:$out" "^4:"
    after=$(dump bridge cn_md; dump inet cn_md)
    is "$T atomicity: both tables byte for byte as before" "$after" "$before"
    fails "$T atomicity: vg2 not half-attached (ports)" set_has bridge cn_md ports '{ "vg2" }'

    # ---- a machine's handler changed while the network runs (hook: the
    # domain XML has the new one): attach must replace the map element.
    run isolation apply md
    run isolation attach md vg1 g1 eth0
    out=$(ip netns exec "$H" "$build/carthage-net" -f "$defs" -f "$work/handler-change.conf" --state-dir "$state" \
        isolation attach md vg1 g1 eth0 2>&1)
    rc=$?
    is "$T regression: nft-isolation.c cn_nft_guest_add: attach after g1's handler changed (9001 -> 9005): exit 0" "$rc:$out" "0:"
    like "$T regression: nft-isolation.c cn_nft_guest_add: ... and g1 then gets the new handler" \
        "$(metadata_page "$G1")" "^handler 9005$"

    # ---- remove
    run isolation remove md rt
    is "$T remove: exit 0" "$rc" 0
    is "$T remove: no table of ours left (nft list tables)" "$(nsx "$H" nft list tables | grep -c ' cn_')" 0
    run isolation remove md rt
    is "$T remove again: exit 0 (absent tables are fine)" "$rc" 0
    ok "$T after remove: g1 pings g2 again" pingf "$G1" "$G2IP"
}

# ---------------------------------------------------------------- both settings
if nsx "$H" test -e /proc/sys/net/bridge/bridge-nf-call-iptables; then
    echo "# host namespace: net.bridge.bridge-nf-call-iptables was $(nsx "$H" sysctl -n net.bridge.bridge-nf-call-iptables)"
    round 0
    round 1
else
    round absent
    skip "[br-nf-call-iptables=1] every check" "no net.bridge.bridge-nf-call-iptables in the namespace (br_netfilter absent)"
fi

done_testing
