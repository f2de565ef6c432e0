#!/usr/bin/env bash
# test-hostile.sh - hostile guests on every kind of network, with real
# frames through the real kernel: a "host" namespace with four Linux
# bridges (an ordinary network without isolate_guests, an isolated one, a
# metadata network, a host bridge), and on each an attacker and a victim
# namespace on veth ports that carthage-net isolates (isolation apply and
# attach, as the hook does).  The attacker sends what a hostile guest
# would (python3-scapy, tests/system/hostile.py): a rogue DHCP and DHCPv6
# server, router advertisements and redirects, forged IPv6 sources and
# neighbour advertisements, duplicate address detection against the
# victim, VLAN-tagged frames with forged IPv4 inside, other ethertypes, a
# broadcast flood.  What arrives is captured on the victim and on the
# host's bridge.  Each check has a positive twin (the real DHCP server's
# lease, the guest's own IPv4 and IPv6, the host's router advertisement,
# an allowed ethertype, broadcasts under the limit), and the main attacks
# run once before the isolation is applied, so that none passes by
# dropping everything or capturing nothing.  Runs as root; every
# namespace and process goes on the way out.  Prints TAP.
set -u
top=$(cd "${top_srcdir:-$(dirname "$0")/../..}" && pwd)
build=${top_builddir:-$top/build}
. "$top/tests/lib/tap.sh"
. "$top/tests/lib/system.sh"

require_root "network namespaces, bridges, nftables" ip nft busybox
require_built carthage-net
# scapy is Debian's (python3-scapy), for Debian's python3.
python=/usr/bin/python3
[ -x "$python" ] && "$python" -c 'import scapy.all' 2>/dev/null || skip_all "no python3-scapy for /usr/bin/python3"
command -v dnsmasq >/dev/null || skip_all "no dnsmasq (dnsmasq-base)"
export CARTHAGE_NET_TEMPLATE_DIR=$top/xml-templates
frames=$top/tests/system/hostile.py

id=$$
workspace hostile-test
export CARTHAGE_NET_RUN_DIR=$work/run CARTHAGE_NET_EVENTS_DIR=$work/events.d
H=cnh-$id-host
NETS="open iso md br"
declare -A BR GW MAC_A MAC_V IP_A IP_V
BR=([open]=cnhbr0 [iso]=cnhbr1 [md]=cnhbr2 [br]=cnhbr3)
GW=([open]=10.81.0.1 [iso]=10.82.0.1 [md]=10.83.0.1 [br]=10.84.0.1)
MAC_A=([open]=52:54:00:81:00:0a [iso]=52:54:00:82:00:0a [md]=52:54:00:83:00:0a [br]=52:54:00:84:00:0a)
MAC_V=([open]=52:54:00:81:00:0b [iso]=52:54:00:82:00:0b [md]=52:54:00:83:00:0b [br]=52:54:00:84:00:0b)
IP_A=([open]=10.81.0.10 [iso]=10.82.0.10 [md]=10.83.0.10 [br]=10.84.0.10)
IP_V=([open]=10.81.0.11 [iso]=10.82.0.11 [md]=10.83.0.11 [br]=10.84.0.11)
LIMIT=100 # broadcast_limit of the test networks
NAMESPACES=$H
for n in $NETS; do NAMESPACES="$NAMESPACES cnh-$id-a$n cnh-$id-v$n"; done

defs=$work/defs.conf
cat >"$defs" <<EOF
# An ordinary network (no isolate_guests): IPv6 pinned, with SLAAC in a /64.
[network open]
bridge_name = ${BR[open]}
v4.network = 10.81.0.0/24
v4.gateway = ${GW[open]}
v6.network = fd00:81::/64
broadcast_limit = $LIMIT

[network iso]
bridge_name = ${BR[iso]}
isolate_guests = true
v4.network = 10.82.0.0/24
v4.gateway = ${GW[iso]}
broadcast_limit = $LIMIT

# A metadata network: IPv6 dropped (its default).
[network md]
bridge_name = ${BR[md]}
metadata = true
metadata.handler = 8000
v4.network = 10.83.0.0/24
v4.gateway = ${GW[md]}
broadcast_limit = $LIMIT

# A host bridge: guests' addresses are the LAN's (not pinned); LLDP allowed.
[network br]
technology = bridge
bridge_name = ${BR[br]}
v6.network = fd00:84::/64
allowed_ethertypes = lldp
broadcast_limit = $LIMIT
EOF
for n in $NETS; do
    cat >>"$defs" <<EOF

[link att-$n eth0]
net = $n
mac = ${MAC_A[$n]}
[link vic-$n eth0]
net = $n
mac = ${MAC_V[$n]}
EOF
    if [ "$n" != br ]; then
        printf 'v4.address = %s\n' "${IP_V[$n]}" >>"$defs"
        sed -i "/^\[link att-$n eth0\]/a v4.address = ${IP_A[$n]}" "$defs"
    fi
done
sed -i '/^\[link att-open eth0\]/a v6.address = fd00:81::a:1' "$defs"

cn() { ip netns exec "$H" "$build/carthage-net" -f "$defs" --state-dir "$work/state" "$@"; }
hostile() { local ns=$1; shift; ip netns exec "$ns" "$python" "$frames" "$@"; }
# eui64 MAC [PREFIX]: the address a MAC forms (link-local without PREFIX)
eui64() {
    "$python" - "$@" <<'EOF'
import sys
mac = bytes.fromhex(sys.argv[1].replace(":", ""))
iid = bytes([mac[0] ^ 2]) + mac[1:3] + b"\xff\xfe" + mac[3:]
prefix = sys.argv[2] if len(sys.argv) > 2 else "fe80::"
import ipaddress
print(ipaddress.IPv6Address(int(ipaddress.IPv6Address(prefix)) | int.from_bytes(iid, "big")))
EOF
}

run() { out=$(cn "$@" 2>&1); rc=$?; }
# dropped NET RULE-PREFIX: the packets NET's drop rules whose comment
# starts with RULE-PREFIX have counted, from isolation show --json.
dropped() {
    "$python" -c '
import json, sys
show = json.load(open(sys.argv[1]))
net = [n for n in show["networks"] if n["name"] == sys.argv[2]][0]
print(sum(d["packets"] for d in net["drops"] if d["rule"].startswith(sys.argv[3])))' "$work/show-$1.json" "$1" "$2"
}
out=$("$build/carthage-net" -f "$defs" validate 2>&1) || bail "the test's definitions are invalid: $out"

# ------------------------------------------------------------- topology
namespaces_up
for ns in $NAMESPACES; do nsx "$ns" sysctl -qw net.ipv6.conf.default.accept_ra=0 net.ipv6.conf.all.accept_ra=0; done
for n in $NETS; do
    # the bridge's own MAC, set (else it takes a port's): 02:00:00:81:00:01 ...
    nsx "$H" ip link add "${BR[$n]}" type bridge &&
        nsx "$H" ip link set "${BR[$n]}" address "02:00:00:${GW[$n]:3:2}:00:01" || bail "cannot make bridge ${BR[$n]}"
    nsx "$H" ip addr add "${GW[$n]}/24" dev "${BR[$n]}" && nsx "$H" ip link set "${BR[$n]}" up ||
        bail "cannot make bridge ${BR[$n]}"
    for role in a v; do
        ns=cnh-$id-$role$n port=vh$role$n
        if [ $role = a ]; then mac=${MAC_A[$n]} addr=${IP_A[$n]}; else mac=${MAC_V[$n]} addr=${IP_V[$n]}; fi
        ip link add "$port" netns "$H" type veth peer name eth0 netns "$ns" &&
            nsx "$H" ip link set "$port" master "${BR[$n]}" up &&
            nsx "$ns" ip link set eth0 address "$mac" &&
            nsx "$ns" ip link set eth0 up &&
            nsx "$ns" ip addr add "$addr/24" dev eth0 || bail "cannot make $ns"
    done
done
nsx "$H" ip addr add fd00:81::1/64 dev "${BR[open]}" nodad
HOST_LL=$(nsx "$H" ip -6 -o addr show dev "${BR[open]}" scope link | sed -n 's/.* inet6 \(fe80::[0-9a-f:]*\)\/64.*/\1/p')
HOST_MAC=$(nsx "$H" cat "/sys/class/net/${BR[open]}/address")
[ -n "$HOST_LL" ] || bail "the host bridge has no link-local address"

# What arrives: on each victim, and on each host bridge.
for n in $NETS; do
    bg "cnh-$id-v$n" "$python" "$frames" sniff eth0 "$work/v-$n.log"
    bg "$H" "$python" "$frames" sniff "${BR[$n]}" "$work/h-$n.log"
done
sleep 0.5

# Frames are queued and sent in one go per attacker, checks queued and
# counted in one go: a scapy process each, not one per frame.
# send N KIND ARGS...: queue a frame for network N's attacker; sent N: send them
send() { local n=$1; shift; echo "$*" >>"$work/send-$n"; }
sent() { hostile "cnh-$id-a$1" send-batch eth0 <"$work/send-$1"; : >"$work/send-$1"; }
# expect NAME WANT WHERE KIND ARGS...: queue a check that WANT (N, or >=N)
# frames matching KIND ARGS arrived at WHERE (v-NET: the victim, h-NET:
# the host bridge, v-NET+h-NET: both together); checks: count and report
expect() {
    local where=$3 logs=
    for w in ${where//+/ }; do logs=${logs:+$logs+}$work/$w.log; done
    printf '%s\t%s\t%s\n' "$1" "$2" "$logs ${*:4}" >>"$work/checks"
}
checks() {
    local got i=0 name want query result
    sleep 0.4
    mapfile -t counts < <(cut -f3 "$work/checks" | "$python" "$frames" count-batch)
    while IFS=$'\t' read -r name want query; do
        got=${counts[$i]:-none}
        i=$((i + 1))
        case $want in
        ">="*) [ "$got" != none ] && [ "$got" -ge "${want#>=}" ] ;;
        *) [ "$got" = "$want" ] ;;
        esac
        result=$?
        _tap_result $result "$name"
        [ $result = 0 ] || echo "#   got $got frame(s), want $want: ${query//$work\//}"
    done <"$work/checks"
    : >"$work/checks"
}
# where the attacker's neighbour is seen: the victim, or on isolated
# networks (no guest reaches another at all) the host
target_of() { case $1 in iso | md) echo "h-$1" ;; *) echo "v-$1" ;; esac; }

declare -A LL_A LL_V
for n in $NETS; do LL_A[$n]=$(eui64 "${MAC_A[$n]}"); LL_V[$n]=$(eui64 "${MAC_V[$n]}"); done
SLAAC_A=$(eui64 "${MAC_A[open]}" fd00:81::) SLAAC_V=$(eui64 "${MAC_V[open]}" fd00:81::)

# ------------------------------------------------------------- control: no isolation yet
# The same frames get through before carthage-net is applied: what is
# missing later is its doing, not the test's.
send open dhcp-offer "${MAC_A[open]}" "${IP_A[open]}" ctl-offer
send open ra "${MAC_A[open]}" "${LL_A[open]}" ctl-ra
send open na "${MAC_A[open]}" "${LL_A[open]}" "${LL_V[open]}" ctl-na
send open dot1q "${MAC_A[open]}" 10 "${IP_V[open]}" ff:ff:ff:ff:ff:ff 10.81.0.255 ctl-tag
send open ethertype "${MAC_A[open]}" ff:ff:ff:ff:ff:ff 0x8035 ctl-rarp
send open dhcp6-advertise "${MAC_A[open]}" "${LL_A[open]}" ctl-adv
sent open
hostile "cnh-$id-aopen" flood eth0 "${MAC_A[open]}" "${IP_A[open]}" 600 ctl-flood
expect "control, no isolation: the victim receives a rogue DHCPOFFER" 1 v-open dhcp-server ctl-offer
expect "control, no isolation: the victim receives a guest's router advertisement" 1 v-open ra ctl-ra
expect "control, no isolation: the victim receives an NA for its own address from the attacker" 1 \
    v-open na "${MAC_A[open]}" "${LL_V[open]}"
expect "control, no isolation: the victim receives an 802.1Q frame with a forged IPv4 source" 1 v-open token ctl-tag
expect "control, no isolation: the victim receives RARP" 1 v-open token ctl-rarp
expect "control, no isolation: the victim receives a rogue DHCPv6 ADVERTISE" 1 v-open dhcp6 547 ctl-adv
expect "control, no isolation: all of a 600-frame broadcast flood arrives" 600 v-open token ctl-flood
checks
# What is captured from here on is with the isolation (the sniffers append).
for log in "$work"/[vh]-*.log; do : >"$log"; done

# ------------------------------------------------------------- isolation
run isolation apply
is "apply: exit 0" "$rc" 0
attach_rcs=
for n in $NETS; do
    run isolation attach "$n" "vha$n" "att-$n" eth0; attach_rcs=$attach_rcs$rc
    run isolation attach "$n" "vhv$n" "vic-$n" eth0; attach_rcs=$attach_rcs$rc
done
is "attach both guests of each network: exit 0" "$attach_rcs" 00000000

# The real DHCP server on the ordinary network: dnsmasq on the host.
bg "$H" dnsmasq --no-daemon --conf-file=/dev/null --interface="${BR[open]}" --bind-interfaces --port=0 \
    --dhcp-range=10.81.0.50,10.81.0.60 --dhcp-host="${MAC_V[open]},${IP_V[open]}" --pid-file="$work/dnsmasq.pid"
sleep 0.3

for n in $NETS; do
    T="[$n]" tgt=$(target_of "$n") both="v-$n+h-$n"
    send "$n" dhcp-offer "${MAC_A[$n]}" "${IP_A[$n]}" "$n-offer"
    send "$n" dhcp-ack "${MAC_A[$n]}" "${IP_A[$n]}" "$n-ack"
    send "$n" dhcp-discover "${MAC_A[$n]}" "$n-discover"
    send "$n" udp4 "${MAC_A[$n]}" "${IP_A[$n]}" ff:ff:ff:ff:ff:ff "${IP_V[$n]%.*}.255" "$n-own4"
    send "$n" dot1q "${MAC_A[$n]}" 10 "${IP_V[$n]}" ff:ff:ff:ff:ff:ff "${IP_V[$n]%.*}.255" "$n-dot1q"
    send "$n" dot1q "${MAC_A[$n]}" 0 "${IP_A[$n]}" ff:ff:ff:ff:ff:ff "${IP_V[$n]%.*}.255" "$n-prio"
    send "$n" dot1ad "${MAC_A[$n]}" 20 "${IP_V[$n]}" ff:ff:ff:ff:ff:ff "${IP_V[$n]%.*}.255" "$n-dot1ad"
    send "$n" ethertype "${MAC_A[$n]}" ff:ff:ff:ff:ff:ff 0x8035 "$n-rarp"
    send "$n" ethertype "${MAC_A[$n]}" ff:ff:ff:ff:ff:ff 0x88b5 "$n-local"
    send "$n" ethertype "${MAC_A[$n]}" ff:ff:ff:ff:ff:ff 0x88cc "$n-lldp"
    send "$n" dhcp6-advertise "${MAC_A[$n]}" "${LL_A[$n]}" "$n-adv"
    send "$n" dhcp6-reply "${MAC_A[$n]}" "${LL_A[$n]}" "$n-reply"
    send "$n" ra "${MAC_A[$n]}" "${LL_A[$n]}" "$n-ra"
    send "$n" redirect "${MAC_A[$n]}" "${LL_A[$n]}" "${MAC_V[$n]}" "${LL_V[$n]}" "$n-redirect"
    send "$n" na "${MAC_A[$n]}" "${LL_A[$n]}" "${LL_V[$n]}" "$n-na"
    send "$n" ns-dad "${MAC_A[$n]}" "${LL_V[$n]}" "$n-dad"
    send "$n" echo6 "${MAC_A[$n]}" "${LL_V[$n]}" ff:ff:ff:ff:ff:ff ff02::1 "$n-forged6"
    send "$n" echo6 "${MAC_A[$n]}" fe80::bad ff:ff:ff:ff:ff:ff ff02::1 "$n-other6"
    send "$n" echo6 "${MAC_A[$n]}" "${LL_A[$n]}" ff:ff:ff:ff:ff:ff ff02::1 "$n-own6"
    send "$n" na "${MAC_A[$n]}" "${LL_A[$n]}" "${LL_A[$n]}" "$n-ownna"
    send "$n" ns-dad "${MAC_A[$n]}" "${LL_A[$n]}" "$n-owndad"
    send "$n" dhcp6-solicit "${MAC_A[$n]}" "${LL_A[$n]}" "$n-solicit"
    sent "$n"

    # ---- DHCP guard
    expect "$T a guest's DHCPOFFER (udp sport 67) reaches no one (victim, host)" 0 "$both" dhcp-server "$n-offer"
    expect "$T a guest's DHCPACK reaches no one" 0 "$both" dhcp-server "$n-ack"
    expect "$T twin: the guest's own DHCPDISCOVER (from 0.0.0.0) reaches the host" 1 "h-$n" dhcp-client "$n-discover"
    # ---- IPv4 and ARP: the guests' own still pass
    expect "$T twin: the guest's own IPv4 (broadcast) reaches its neighbour" 1 "$tgt" token "$n-own4"
    # ---- VLAN tags (which would carry a forged IPv4 source past the pinning)
    expect "$T an 802.1Q frame with the victim's address inside reaches no one" 0 "$both" token "$n-dot1q"
    expect "$T an 802.1Q priority-tagged frame (VLAN 0) reaches no one" 0 "$both" token "$n-prio"
    expect "$T an 802.1ad (QinQ) frame reaches no one" 0 "$both" token "$n-dot1ad"
    # ---- other ethertypes
    expect "$T RARP reaches no one" 0 "$both" token "$n-rarp"
    expect "$T ethertype 0x88b5 reaches no one" 0 "$both" token "$n-local"
    if [ "$n" = br ]; then
        expect "$T twin: LLDP (allowed_ethertypes = lldp) reaches the victim" 1 "v-$n" token "$n-lldp"
    else
        expect "$T LLDP (not allowed here) reaches no one" 0 "$both" token "$n-lldp"
    fi
    # ---- IPv6
    expect "$T a guest's DHCPv6 ADVERTISE (udp sport 547) reaches no one" 0 "$both" dhcp6 547 "$n-adv"
    expect "$T a guest's DHCPv6 REPLY reaches no one" 0 "$both" dhcp6 547 "$n-reply"
    expect "$T a guest's router advertisement reaches no one" 0 "$both" ra "$n-ra"
    expect "$T a guest's redirect reaches no one" 0 "$both" redirect "${MAC_A[$n]}"
    expect "$T an NA for the victim's address from the attacker reaches no one" 0 "$both" na "${MAC_A[$n]}" "${LL_V[$n]}"
    expect "$T DAD (from ::) for the victim's address reaches no one" 0 "$both" ns-dad "${MAC_A[$n]}" "${LL_V[$n]}"
    expect "$T IPv6 from the victim's link-local address reaches no one" 0 "$both" token "$n-forged6"
    expect "$T IPv6 from another link-local address reaches no one" 0 "$both" token "$n-other6"
    if [ "$n" = md ]; then
        expect "$T ipv6 = drop: not even the guest's own IPv6 (echo)" 0 "$both" token "$n-own6"
        expect "$T ipv6 = drop: not even an NA for its own address" 0 "$both" na "${MAC_A[$n]}" "${LL_A[$n]}"
        expect "$T ipv6 = drop: not even DAD for its own address" 0 "$both" ns-dad "${MAC_A[$n]}" "${LL_A[$n]}"
        expect "$T ipv6 = drop: not even a DHCPv6 SOLICIT" 0 "$both" dhcp6 546 "$n-solicit"
    else
        # (>=: the guest's own kernel sends some of these too)
        expect "$T twin: IPv6 from the guest's own link-local address arrives" 1 "$tgt" token "$n-own6"
        expect "$T twin: an NA for the guest's own address arrives" ">=1" "$tgt" na "${MAC_A[$n]}" "${LL_A[$n]}"
        expect "$T twin: DAD (from ::) for the guest's own address arrives" ">=1" "$tgt" ns-dad "${MAC_A[$n]}" "${LL_A[$n]}"
        expect "$T twin: the guest's DHCPv6 SOLICIT (client, from its link-local) arrives" 1 "$tgt" dhcp6 546 "$n-solicit"
    fi
    checks

    # ---- the drops, counted per reason (isolation show)
    cn isolation show --json >"$work/show-$n.json"
    ethertypes=5 # 802.1Q twice, 802.1ad, RARP, 0x88b5
    [ "$n" = br ] || ethertypes=$((ethertypes + 1)) # LLDP
    ok "$T isolation show: DHCP server messages dropped, counted (>= 2)" \
        test "$(dropped "$n" "udp sport 67 drop (DHCP server messages)")" -ge 2
    ok "$T isolation show: other ethertypes dropped, counted (>= $ethertypes)" \
        test "$(dropped "$n" "any other ethertype")" -ge "$ethertypes"
    if [ "$n" != md ]; then
        ok "$T isolation show: DHCPv6 server messages counted (>= 2)" \
            test "$(dropped "$n" "udp sport 547 drop (DHCPv6 server and relay messages)")" -ge 2
        ok "$T isolation show: router advertisements counted (>= 1)" \
            test "$(dropped "$n" "icmpv6 type nd-router-advert drop")" -ge 1
        ok "$T isolation show: IPv6 from others' addresses counted (>= 2)" \
            test "$(dropped "$n" "any other source address: drop")" -ge 2
    fi
    is "$T twin: no frame with a forged MAC was sent: that reason counts none" \
        "$(dropped "$n" "iifname . ether saddr != @port_mac drop")" 0
    like "$T isolation show (text) names the reasons something was dropped for" "$(cn isolation show)" \
        "^  dropped [0-9]+ packet\(s\), [0-9]+ bytes: bridge pin_ip4: udp sport 67 drop \(DHCP server messages\)$"
done

# ---- spoof-dropped: events watch reports, per port, what each sent forged
# (IPv6 from others' addresses, an NA for the victim's address; the
# metadata network drops all IPv6 before looking at addresses)
out=$(cn events watch --once 2>&1)
like "events watch --once: spoof-dropped events for the ports that sent forged frames" "$out" \
    "^forged frames: 3 spoof-dropped event\(s\)$"
spoofed=$(grep '"event":"spoof-dropped"' "$work/state/events.log")
for n in open iso br; do
    like "[$n] spoof-dropped names the network, port, machine, link and MAC, and counts" "$spoofed" \
        "\"network\":\"$n\",\"port\":\"vha$n\",\"machine\":\"att-$n\",\"interface\":\"eth0\",\"mac\":\"${MAC_A[$n]}\",\"dropped\":[1-9][0-9]*,\"total\":[1-9]"
done
unlike "twin: nothing reported for the victims' ports, nor the metadata network" "$spoofed" '"port":"vhv|"network":"md"'
like "isolation show: the attacker's port with its forged frames" "$(cn isolation show)" \
    "^  guest vhaiso +${MAC_A[iso]} .* forged [1-9][0-9]*$"
unlike "twin: the victim's port has none" "$(cn isolation show)" "^  guest vhviso .* forged"
out=$(cn events watch --once 2>&1)
is "events watch --once again, nothing forged since: no new event" \
    "$(printf '%s\n' "$out" | grep -c '^forged frames'):$(grep -c '"event":"spoof-dropped"' "$work/state/events.log")" "0:3"
send iso echo6 "${MAC_A[iso]}" fe80::bad ff:ff:ff:ff:ff:ff ff02::1 iso-again
sent iso
cn events watch --once >/dev/null 2>&1
like "one more forged frame: one more event, counting 1 since the last look" \
    "$(grep '"event":"spoof-dropped"' "$work/state/events.log" | tail -1)" \
    "\"network\":\"iso\",\"port\":\"vhaiso\",.*\"dropped\":1,\"total\":"

# ---- the real servers still answer
lease=$(nsx "cnh-$id-vopen" busybox udhcpc -i eth0 -n -q -t 4 -T 1 -s /bin/true 2>&1)
like "[open] twin: the victim still gets its lease from the network's own DHCP server" "$lease" \
    "lease of ${IP_V[open]//./\\.} obtained from ${GW[open]//./\\.}"
echo "ra $HOST_MAC $HOST_LL host-ra" | hostile "$H" send-batch "${BR[open]}"
send open echo6 "${MAC_A[open]}" "$SLAAC_A" ff:ff:ff:ff:ff:ff ff02::1 slaac-own
send open echo6 "${MAC_A[open]}" fd00:81::a:1 ff:ff:ff:ff:ff:ff ff02::1 static-own
send open echo6 "${MAC_A[open]}" "$SLAAC_V" ff:ff:ff:ff:ff:ff ff02::1 slaac-victim
send open echo6 "${MAC_A[open]}" fd00:81::bad ff:ff:ff:ff:ff:ff ff02::1 slaac-other
sent open
send br udp4 "${MAC_A[br]}" 10.84.0.77 ff:ff:ff:ff:ff:ff 10.84.0.255 br-lan-address
sent br
expect "[open] twin: the host's router advertisement reaches the victim" 1 v-open ra host-ra
# ---- SLAAC and static IPv6 addresses (ipv6 = pinned with v6.network)
expect "[open] twin: IPv6 from the guest's own SLAAC address (EUI-64 in v6.network) arrives" 1 v-open token slaac-own
expect "[open] twin: IPv6 from the guest's static v6.address arrives" 1 v-open token static-own
expect "[open] IPv6 from the victim's SLAAC address reaches no one" 0 v-open+h-open token slaac-victim
expect "[open] IPv6 from any other address of the prefix reaches no one" 0 v-open+h-open token slaac-other
# ---- the bridge network's guests are not pinned to addresses (the LAN's)
expect "regression: nft-isolation.c cn_iso_guest_from_link (rendered = pinned without addresses): a bridge network's guest sends IPv4 from its LAN address" \
    1 v-br token br-lan-address
checks
ok "[open] twin: the victim pings the attacker's link-local address (real IPv6 both ways)" \
    nsx "cnh-$id-vopen" busybox ping6 -c 1 -W 2 -I eth0 "${LL_A[open]}"

# ---- broadcast flood: rate-limited per port
for n in open md; do
    tgt=$(target_of $n)
    hostile "cnh-$id-a$n" flood eth0 "${MAC_A[$n]}" "${IP_A[$n]}" 3000 "$n-flood" &
    flooder=$!
    for i in 1 2 3 4 5; do echo "udp4 ${MAC_V[$n]} ${IP_V[$n]} ff:ff:ff:ff:ff:ff ${IP_V[$n]%.*}.255 $n-calm$i"; done |
        hostile "cnh-$id-v$n" send-batch eth0
    wait "$flooder"
    # the burst, plus the rate for the second or so the flood lasted
    expect "[$n] a 3000-frame broadcast flood from one port is cut to the limit (burst $LIMIT, $LIMIT/s)" \
        ">=$((LIMIT / 2))" "$tgt" token "$n-flood"
    for i in 1 2 3 4 5; do
        expect "[$n] twin: another port's broadcast $i during the flood reaches the host (the limit is per port)" 1 \
            "h-$n" token "$n-calm$i"
    done
    checks
    got=$("$python" "$frames" count "$work/$tgt.log" token "$n-flood")
    ok "[$n] ... and no more than the limit lets through ($got of 3000 arrived)" test "$got" -le $((LIMIT * 4))
done
sleep 1
hostile "cnh-$id-aopen" flood eth0 "${MAC_A[open]}" "${IP_A[open]}" 40 under-limit
expect "[open] twin: 40 broadcasts after a pause (under the limit) all arrive" 40 v-open token under-limit
checks

# ---- the rules do not grow with the guests
rules_before=$(nsx "$H" nft -a list table bridge cn_open | grep -c '# handle')
run isolation detach open vhvopen "${MAC_V[open]}"
rules_after=$(nsx "$H" nft -a list table bridge cn_open | grep -c '# handle')
is "a guest is only elements: detaching one leaves the rules as they are" "$rules_after" "$rules_before"

run isolation remove open iso md br
is "remove: exit 0, no table of ours left" "$rc:$(nsx "$H" nft list tables | grep -c ' cn_')" 0:0
done_testing
