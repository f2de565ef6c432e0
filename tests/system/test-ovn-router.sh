#!/usr/bin/env bash
# technology = ovn beyond the switch, against a real northbound database
# (ovsdb-server with OVN's schema) and a real ovn-northd writing a real
# southbound database: forward nat as a logical router (gateway chassis,
# default route, SNAT), v4.public_address and PRIVATE=PUBLIC secondaries
# as dnat_and_snat, isolate_guests as a port group with four ACLs; each
# row broken by hand with ovn-nbctl is named by status and restored by
# repair; a router of the same name that is not carthage-net's stops
# define with nothing written; repair --purge removes every row
# carthage-net wrote and nothing else.  libvirt is the test driver
# (nothing of it is used by OVN networks); the run is in a network
# namespace of its own, since repair --purge also clears nftables tables.
set -u
top=$(cd "${top_srcdir:-$(dirname "$0")/../..}" && pwd)
build=$(cd "${top_builddir:-$top/build}" && pwd)
. "$top/tests/lib/tap.sh"
. "$top/tests/lib/system.sh"

require_root "a network namespace for repair --purge" ovsdb-server ovsdb-tool ovn-nbctl ovn-sbctl ovn-northd
require_built carthage-net
schema=/usr/share/ovn/ovn-nb.ovsschema sb_schema=/usr/share/ovn/ovn-sb.ovsschema
[ -f "$schema" ] && [ -f "$sb_schema" ] || skip_all "no OVN schemas (ovn-common not installed)"
reexec_in_namespace CN_OVN_ROUTER_NS cn-ovnr "$@"

workspace ovn-router
export CARTHAGE_NET_TEMPLATE_DIR=$top/xml-templates
export CARTHAGE_NET_RUN_DIR=$work/run
mkdir -p "$CARTHAGE_NET_RUN_DIR"

cleanup_extra() {
    local f pid
    for f in "$work"/*.pid; do
        [ -f "$f" ] && pid=$(cat "$f" 2>/dev/null) && [ -n "$pid" ] || continue
        kill "$pid" 2>/dev/null
        for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null
    done
}

# --- the databases and northd -------------------------------------------------------
for db in nb sb; do
    s=$schema; [ $db = sb ] && s=$sb_schema
    ovsdb-tool create "$work/$db.db" "$s" || bail "ovsdb-tool create $db failed"
    ovsdb-server --remote="punix:$work/$db.sock" --pidfile="$work/$db.pid" --unixctl="$work/$db.ctl" \
        --log-file="$work/$db.log" --detach --no-chdir "$work/$db.db" 2>/dev/null || bail "ovsdb-server $db does not start"
done
for _ in $(seq 50); do [ -S "$work/nb.sock" ] && [ -S "$work/sb.sock" ] && break; sleep 0.1; done
ovn-northd --ovnnb-db="unix:$work/nb.sock" --ovnsb-db="unix:$work/sb.sock" --pidfile="$work/northd.pid" \
    --unixctl="$work/northd.ctl" --log-file="$work/northd.log" --detach --no-chdir 2>/dev/null || bail "ovn-northd does not start"
NB=unix:$work/nb.sock
nbctl() { ovn-nbctl --db="$NB" "$@"; }
sbctl() { ovn-sbctl --db="unix:$work/sb.sock" "$@"; }
# lflows NEEDLE: waits (5 s) for northd to have a logical flow with NEEDLE.
lflows() {
    for _ in $(seq 50); do
        sbctl lflow-list 2>/dev/null | grep -q -- "$1" && return 0
        sleep 0.1
    done
    return 1
}

defs=$work/defs
mkdir -p "$defs"
cat >"$defs/site.conf" <<EOF
[network lab]
technology = ovn
v4.network = 10.90.0.0/24
v4.pool = 10.90.0.100-10.90.0.199
v4.masquerade = true
isolate_guests = true
ovn.northbound = $NB
ovn.uplink = outside
ovn.uplink_address = 192.0.2.10/24
ovn.uplink_gateway = 192.0.2.1
ovn.gateway_chassis = hv1;hv2

[link web eth0]
net = lab
v4.address = 10.90.0.10
v4.public_address = 192.0.2.20
v4.secondary_addresses = 10.90.0.11=192.0.2.21
dns_name = web.lab.example

[link db eth0]
net = lab
EOF
cn() { "$build/carthage-net" -c test:///default -d "$defs" --state-dir "$work/state" "$@"; }
router=carthage-net-lab
group=$(cn render ovn lab | sed -n 's/.*"table":"Port_Group","row":{"name":"\([^"]*\)".*/\1/p')
like "render ovn: the port group's name is one OVN's match language takes" "$group" '^carthage_net_lab_[0-9a-f]{8}$'

# --- define ------------------------------------------------------------------------------
out=$(cn define 2>&1); rc=$?
is "define: exit 0" "$rc" 0
[ "$rc" = 0 ] || note "$out"
like "... adds the router" "$out" "^network lab: ovn: router $router: added$"
is "the router has its two ports" "$(nbctl --bare --columns=name list Logical_Router_Port | sort | xargs)" \
    "$router-lan $router-uplink"
is "... the LAN side holds the gateway address" "$(nbctl get Logical_Router_Port $router-lan networks)" '["10.90.0.1/24"]'
is "... the uplink side its address" "$(nbctl get Logical_Router_Port $router-uplink networks)" '["192.0.2.10/24"]'
is "... on the gateway chassis, hv1 first" "$(nbctl lrp-get-gateway-chassis $router-uplink | awk '{print $1, $2}' | xargs)" \
    "$router-uplink-hv1 2 $router-uplink-hv2 1"
is "... a default route via ovn.uplink_gateway" "$(nbctl lr-route-list $router | awk '/0.0.0.0\/0/ {print $2}')" "192.0.2.1"
is "NAT: SNAT of the network, 1:1 for web's public and secondary addresses" \
    "$(nbctl --bare --format=csv --no-headings --columns=type,external_ip,logical_ip list NAT | sort | xargs)" \
    "dnat_and_snat,192.0.2.20,10.90.0.10 dnat_and_snat,192.0.2.21,10.90.0.11 snat,192.0.2.10,10.90.0.0/24"
is "the uplink switch's localnet port is on physical network outside" \
    "$(nbctl get Logical_Switch_Port carthage-net-lab-localnet options:network_name)" "outside"
web_port=$(cn render interface web eth0 | sed -n "s/.*interfaceid=\"\([^\"]*\)\".*/\1/p")
web_mac=$(cn render interface web eth0 | sed -n 's/.*mac address="\([^"]*\)".*/\1/p')
is "web's port: its address and secondary, in addresses and port_security" \
    "$(nbctl lsp-get-addresses "$web_port") / $(nbctl lsp-get-port-security "$web_port")" \
    "$web_mac 10.90.0.10 10.90.0.11 / $web_mac 10.90.0.10 10.90.0.11"
is "no DHCP and DNS localport: the router answers for the gateway" \
    "$(nbctl --bare --columns=name find Logical_Switch_Port name=carthage-net-lab)" ""
is "the port group holds both guests' ports" "$(nbctl --bare --columns=ports find Port_Group name="$group" | wc -w)" 2
is "... and four ACLs: a member's IPv4 to members, broadcasts and multicast dropped as it enters (DHCP requests let through), all but IPv4 and ARP member to member dropped" \
    "$(nbctl acl-list "$group" | sed 's/  */ /g;s/^ //')" \
    "from-lport 1001 (inport == @$group && ip4.dst == 255.255.255.255 && udp.dst == 67) allow-stateless
from-lport 1000 (inport == @$group && (ip4.dst == \$${group}_ip4 || ip4.mcast || ip4.dst == {255.255.255.255, 10.90.0.255})) drop
to-lport 1001 (inport == @$group && outport == @$group && (ip4 || arp)) allow-stateless
to-lport 1000 (inport == @$group && outport == @$group) drop"
is "forward nat: the uplink switch drops what is addressed to the network itself (nothing in but NAT)" \
    "$(nbctl acl-list carthage-net-lab-uplink | sed 's/  */ /g;s/^ //')" "from-lport 1000 (ip4.dst == 10.90.0.0/24) drop"
ok "northd made the SNAT flows" lflows "ct_snat(192.0.2.10)"
ok "... the 1:1 NAT flows" lflows "ip4.dst == 192.0.2.20"
ok "... and the ACLs' flows on the port group's address set" lflows "ip4.dst == \$${group}_ip4"
ok "... and on broadcasts and multicast from members" lflows "ip4.dst == {255.255.255.255, 10.90.0.255}"
is "northd parsed every ACL (none left out of its flows)" "$(grep -c 'parsing expression failed' "$work/northd.log")" 0
is "status: in step (exit 0)" "$(cn status >/dev/null 2>&1; echo $?)" 0
out=$(cn define 2>&1)
is "define again: unchanged" "$out" "network lab: unchanged"

# --- rows broken by hand: named, and put back -----------------------------------------------
nbctl lr-nat-del $router dnat_and_snat 192.0.2.20
nbctl lrp-del-gateway-chassis $router-uplink hv2
nbctl lr-route-del $router
nbctl lsp-del carthage-net-lab-localnet
nbctl pg-set-ports "$group" "$web_port"
nbctl acl-del "$group"
nbctl acl-del carthage-net-lab-uplink
out=$(cn status 2>&1); rc=$?
is "status after seven changes by hand: exit 5" "$rc" 5
like "... names the uplink's ACL" "$out" "^drift: network lab: ovn: acl from-lport 1000 \"ip4.dst == 10.90.0.0/24\" drop \(uplink\): missing$"
like "... names the 1:1 NAT" "$out" "^drift: network lab: ovn: nat dnat_and_snat 192.0.2.20 <-> 10.90.0.10 \(web eth0\): missing$"
like "... the gateway chassis" "$out" "^drift: network lab: ovn: router port $router-uplink: changed: .*gateway chassis \[hv1:2\] \(want .*\[hv1:2 hv2:1\]\)$"
like "... the route" "$out" "^drift: network lab: ovn: route 0.0.0.0/0 via 192.0.2.1: missing$"
like "... the localnet port" "$out" "^drift: network lab: ovn: port carthage-net-lab-localnet \(localnet outside\): missing$"
like "... the port group's members" "$out" "^drift: network lab: ovn: port group $group: changed: ports: 1 \(want 2\)$"
like "... the port group's from-lport drop" "$out" "^drift: network lab: ovn: acl from-lport 1000 \".*\\\$${group}_ip4.*\" drop: missing$"
like "... and its to-lport allow" "$out" "^drift: network lab: ovn: acl to-lport 1001 \"inport == @$group && outport == @$group && \\(ip4 \\|\\| arp\\)\" allow-stateless: missing$"
out=$(cn repair 2>&1); rc=$?
is "repair: exit 0" "$rc" 0
like "... adds the NAT rule" "$out" "^network lab: ovn: nat dnat_and_snat 192.0.2.20 <-> 10.90.0.10 \(web eth0\): added$"
is "status then: exit 0" "$(cn status >/dev/null 2>&1; echo $?)" 0
is "... the ACLs are four again" "$(nbctl acl-list "$group" | grep -c 'drop\|allow-stateless')" 4
is "... and the uplink's too" "$(nbctl acl-list carthage-net-lab-uplink | grep -c drop)" 1
nbctl -- --id=@n create NAT type=snat external_ip=192.0.2.99 logical_ip=10.90.0.0/24 \
    'external_ids:"carthage-net:network"=lab' -- add Logical_Router $router nat @n >/dev/null
out=$(cn status 2>&1); rc=$?
is "a NAT rule of carthage-net's that the definitions do not have: exit 5" "$rc" 5
like "... named extra" "$out" "^drift: network lab: ovn: nat snat 192.0.2.99 <- 10.90.0.0/24: extra$"
cn repair >/dev/null 2>&1
is "repair removes it" "$(nbctl --bare --columns=_uuid find NAT external_ip=192.0.2.99)" ""

# --- a guest more: one port-group member more, the ACLs stay four --------------------------------
cat >>"$defs/site.conf" <<'EOF'

[link cache eth0]
net = lab
EOF
out=$(cn define 2>&1); rc=$?
is "define with a third guest: exit 0" "$rc" 0
like "... adds it to the port group" "$out" "^network lab: ovn: port group $group: updated: ports: 2 \(want 3\)$"
is "... three members, still four ACLs" "$(nbctl --bare --columns=ports find Port_Group name="$group" | wc -w):$(nbctl acl-list "$group" | wc -l)" "3:4"

# --- masquerade off: the router goes, the DHCP and DNS localport comes back ------------------------
sed -i -e '/^v4.masquerade/d' -e '/^ovn.uplink/d' -e '/^ovn.gateway_chassis/d' -e '/^v4.public_address/d' \
    -e 's/^v4.secondary_addresses = .*/v4.secondary_addresses = 10.90.0.11/' "$defs/site.conf"
out=$(cn define 2>&1); rc=$?
is "define without a router: exit 0" "$rc" 0
like "... removes the router" "$out" "^network lab: ovn: router $router: removed$"
like "... and the uplink switch" "$out" "^network lab: ovn: switch carthage-net-lab-uplink \(uplink\): removed$"
is "no router, no NAT, no gateway chassis left" \
    "$(nbctl --bare --columns=_uuid list Logical_Router)$(nbctl --bare --columns=_uuid list NAT)$(nbctl --bare --columns=_uuid list Gateway_Chassis)" ""
is "the localport holds the gateway again" "$(nbctl lsp-get-addresses carthage-net-lab | awk '{print $2}')" "10.90.0.1"
is "status: exit 0" "$(cn status >/dev/null 2>&1; echo $?)" 0

# --- metadata: the localport, option 121, the name ---------------------------------------------------
sed -i 's/^isolate_guests = true$/isolate_guests = true\nmetadata = true/' "$defs/site.conf"
out=$(cn define 2>&1); rc=$?
is "define with metadata = true: exit 0" "$rc" 0
like "... adds the metadata localport" "$out" "^network lab: ovn: port carthage-net-lab-metadata \(metadata\): added$"
is "... a localport with the metadata address" \
    "$(nbctl get Logical_Switch_Port carthage-net-lab-metadata type) $(nbctl lsp-get-addresses carthage-net-lab-metadata | awk '{print $2}')" \
    "localport 169.254.169.254"
dhcp=$(nbctl --bare --columns=_uuid find DHCP_Options 'external_ids:"carthage-net:network"=lab')
is "... option 121: the metadata address on-link, and the default route" \
    "$(nbctl get DHCP_Options "$dhcp" options:classless_static_route)" '"{169.254.169.254/32,0.0.0.0, 0.0.0.0/0,10.90.0.1}"'
like "... and a DNS record for it" "$(nbctl --bare --columns=records list DNS)" "metadata=169.254.169.254"
ok "northd accepts option 121" lflows "classless_static_route"
nbctl lsp-del carthage-net-lab-metadata
out=$(cn status 2>&1); rc=$?
is "status after ovn-nbctl lsp-del of the metadata localport: exit 5" "$rc" 5
like "... names it" "$out" "^drift: network lab: ovn: port carthage-net-lab-metadata \(metadata\): missing$"
cn repair >/dev/null 2>&1
is "repair puts it back" "$(nbctl get Logical_Switch_Port carthage-net-lab-metadata type 2>&1)" localport
sed -i '/^metadata = true$/d' "$defs/site.conf"
out=$(cn define 2>&1)
like "metadata off: the localport goes" "$out" "^network lab: ovn: port carthage-net-lab-metadata \(metadata\): removed$"

# --- a router of that name that is not carthage-net's ----------------------------------------------
cat >"$work/masq.conf" <<EOF
[network lab]
technology = ovn
v4.network = 10.90.0.0/24
v4.masquerade = true
ovn.northbound = $NB
ovn.uplink = outside
ovn.uplink_address = 192.0.2.10/24
ovn.gateway_chassis = hv1
EOF
nbctl lr-add $router
dump_before=$(ovsdb-client dump "$NB" OVN_Northbound 2>&1)
out=$("$build/carthage-net" -c test:///default -f "$work/masq.conf" --state-dir "$work/state" define 2>&1); rc=$?
is "define over a router that is not carthage-net's: exit 1" "$rc" 1
like "... names it" "$out" "the northbound database has a logical router $router \([-0-9a-f]+\) that is not carthage-net's"
is "... and writes nothing" "$(ovsdb-client dump "$NB" OVN_Northbound 2>&1)" "$dump_before"
nbctl lr-del $router

# --- repair --purge ------------------------------------------------------------------------------------
"$build/carthage-net" -c test:///default -f "$work/masq.conf" --state-dir "$work/state-2" define >/dev/null 2>&1
nbctl ls-add foreign -- lsp-add foreign foreign-port -- lr-add foreign-router -- pg-add foreign_group foreign-port \
    -- dhcp-options-create 10.5.0.0/24
nbctl lsp-add lab guest-of-someone
ours() {
    local table n=0
    for table in Logical_Switch Logical_Switch_Port Logical_Router Logical_Router_Port NAT Gateway_Chassis \
        Logical_Router_Static_Route Port_Group ACL DHCP_Options DNS; do
        n=$((n + $(nbctl --bare --columns=_uuid find "$table" 'external_ids:"carthage-net:network"=lab' | grep -c .)))
    done
    echo "$n"
}
like "before purge: rows of carthage-net's" "$(ours)" '^[1-9][0-9]*$'
out=$("$build/carthage-net" -c test:///default -f "$work/masq.conf" --state-dir "$work/state" repair --purge 2>&1); rc=$?
is "repair --purge: exit 0" "$rc" 0
[ "$rc" = 0 ] || note "$out"
like "... says what it removed" "$out" "^network lab: ovn: router $router \([-0-9a-f]+\): removed$"
like "... and names the port someone put on its switch, which goes with it" "$out" \
    "^network lab: ovn: port guest-of-someone \(not carthage-net's\) with switch lab: removed$"
is "no row of carthage-net's is left" "$(ours)" 0
is "... the foreign switch, port, router, port group and DHCP options are" \
    "$(nbctl ls-list | grep -c '(foreign)'):$(nbctl lsp-list foreign | grep -c foreign-port):$(nbctl lr-list | grep -c foreign-router):$(nbctl --bare --columns=ports find Port_Group name=foreign_group | grep -c .):$(nbctl dhcp-options-list | grep -c .)" \
    "1:1:1:1:1"
mkdir -p "$work/empty"
out=$("$build/carthage-net" -c test:///default -d "$work/empty" --ovn-nb "$NB" --state-dir "$work/state" repair --purge 2>&1); rc=$?
is "repair --purge again, the database alone (--ovn-nb): exit 0" "$rc" 0
like "... nothing of carthage-net's" "$out" "nothing of carthage-net's"
done_testing
