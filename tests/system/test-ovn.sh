#!/usr/bin/env bash
# technology = ovn against a real OVN northbound database: ovsdb-server
# with OVN's own schema (/usr/share/ovn/ovn-nb.ovsschema), on a unix
# socket, on TCP and on TLS (loopback of a private network namespace),
# and carthage-net's define, status, repair and undefine through it.
# ovn-nbctl reads back what was written and breaks it by hand.  status
# and repair also look at libvirt: a private libvirtd (with-libvirtd.sh).
#
# Two "hosts" are two state directories with the same definitions: the
# northbound database is their only shared truth.  A define held back by
# strace between its read and its transaction shows the optimistic
# concurrency: its wait fails, it reads again, and nothing is written
# twice.
set -u
top=$(cd "${top_srcdir:-$(dirname "$0")/../..}" && pwd)
build=$(cd "${top_builddir:-$top/build}" && pwd)
. "$top/tests/lib/tap.sh"
. "$top/tests/lib/system.sh"

require_root "a private libvirtd for status and repair" ovsdb-server ovsdb-tool ovn-nbctl openssl strace
require_built carthage-net
schema=/usr/share/ovn/ovn-nb.ovsschema
[ -f "$schema" ] || skip_all "no $schema (ovn-common not installed)"
if [ "${CN_E2E_INSIDE:-}" != 1 ]; then
    exec bash "$top/tests/e2e/lib/with-libvirtd.sh" bash "$0" "$@"
fi

workspace ovn
export CARTHAGE_NET_TEMPLATE_DIR=$top/xml-templates
export CARTHAGE_NET_RUN_DIR=$work/run
mkdir -p "$CARTHAGE_NET_RUN_DIR"

# --- the northbound database -------------------------------------------------------
cleanup_extra() {
    local f pid
    for f in "$work"/*.ovsdb.pid; do
        [ -f "$f" ] && pid=$(cat "$f" 2>/dev/null) && [ -n "$pid" ] || continue
        kill "$pid" 2>/dev/null
        for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null
    done
}

# A throwaway CA, and the server's and this host's certificates it signs.
pki=$work/pki
mkdir -p "$pki"
(
    cd "$pki" &&
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj "/CN=test CA" &&
    for who in server client; do
        openssl req -newkey rsa:2048 -nodes -keyout $who.key -out $who.csr -subj "/CN=ovn $who" &&
        openssl x509 -req -in $who.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out $who.pem -days 2 || exit 1
    done &&
    openssl req -x509 -newkey rsa:2048 -nodes -keyout other-ca.key -out other-ca.pem -days 2 -subj "/CN=other CA"
) >"$work/pki.log" 2>&1 || bail "cannot make test certificates: $(tail -3 "$work/pki.log")"

tcp_port=16641 ssl_port=16642
# start_nb NAME: a fresh northbound database served on $work/NAME.sock
# (and, for nb, TCP and TLS on loopback).
start_nb() {
    local name=$1 remotes=()
    ovsdb-tool create "$work/$name.db" "$schema" || bail "ovsdb-tool create failed"
    remotes=(--remote="punix:$work/$name.sock")
    if [ "$name" = nb ]; then
        remotes+=(--remote="ptcp:$tcp_port:127.0.0.1" --remote="pssl:$ssl_port:127.0.0.1"
                  --private-key="$pki/server.key" --certificate="$pki/server.pem" --ca-cert="$pki/ca.pem")
    fi
    ovsdb-server "${remotes[@]}" --pidfile="$work/$name.ovsdb.pid" --unixctl="$work/$name.ctl" \
        --log-file="$work/$name.log" --detach --no-chdir "$work/$name.db" 2>/dev/null || bail "ovsdb-server $name does not start"
    for _ in $(seq 50); do [ -S "$work/$name.sock" ] && break; sleep 0.1; done
}
start_nb nb
NB=unix:$work/nb.sock
nbctl() { ovn-nbctl --db="$NB" "$@"; }

# --- the definitions: the whole site, as every host has it ------------------------------
defs=$work/defs
mkdir -p "$defs"
cat >"$defs/site.conf" <<'EOF'
[network lab]
technology = ovn
v4.network = 10.90.0.0/24
v4.pool = 10.90.0.100-10.90.0.199
v4.domains = lab.example
ovn.northbound = unix:/nonexistent/ovnnb_db.sock

[network other]
technology = ovn
v4.network = 10.91.0.0/24
ovn.northbound = unix:/nonexistent/ovnnb_db.sock

[link web eth0]
net = lab
v4.address = 10.90.0.10
dns_name = web.lab.example

[link db eth0]
net = lab
dns_name = db.lab.example

[link cache eth0]
net = lab

[link x eth0]
net = other
v4.address = 10.91.0.5
EOF
# host A and host B: the same definitions, their own state.
cn_on() { local host=$1; shift; "$build/carthage-net" -d "$defs" --state-dir "$work/state-$host" --ovn-nb "$NB" "$@"; }
cn() { cn_on a "$@"; }

# --- define --dry-run, define, idempotence ----------------------------------------------
out=$(cn define --dry-run 2>&1); rc=$?
is "define --dry-run: exit 0" "$rc" 0
like "... says what would be added" "$out" "^network lab: ovn: port web eth0: would be added$"
like "... and prints the transaction" "$out" '^  \{"op":"insert","table":"Logical_Switch","row":\{"name":"lab"'
is "... and writes nothing" "$(nbctl ls-list)" ""

out=$(cn define 2>&1); rc=$?
is "define: exit 0" "$rc" 0
like "... adds the switch" "$out" "^network lab: ovn: switch: added$"
like "... gives cache eth0 the lowest free pool address" "$out" "^network lab: ovn: port cache eth0: 10.90.0.100 from v4.pool$"
like "... and db eth0 the next" "$out" "^network lab: ovn: port db eth0: 10.90.0.101 from v4.pool$"
is "the database has both switches" "$(nbctl --bare --columns=name list Logical_Switch | sort | xargs)" "lab other"
web_port=$("$build/carthage-net" -d "$defs" render interface web eth0 | sed -n "s/.*interfaceid=\"\([^\"]*\)\".*/\1/p")
like "render interface web: the interfaceid is a UUID" "$web_port" "^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
web_mac=$("$build/carthage-net" -d "$defs" render interface web eth0 | sed -n 's/.*mac address="\([^"]*\)".*/\1/p')
is "web's port: addresses MAC IP" "$(nbctl lsp-get-addresses "$web_port")" "$web_mac 10.90.0.10"
is "web's port: port_security the same" "$(nbctl lsp-get-port-security "$web_port")" "$web_mac 10.90.0.10"
dhcp=$(nbctl --bare --columns=_uuid find DHCP_Options 'external_ids:"carthage-net:network"=lab')
is "web's port points at lab's DHCP options" "$(nbctl lsp-get-dhcpv4-options "$web_port" | cut -d' ' -f1)" "$dhcp"
like "lab's DHCP options: router, server, domain" "$(nbctl dhcp-options-get-options "$dhcp" | sort | tr '\n' ' ')" \
    '^dns_server=10.90.0.1 domain_name="lab.example" lease_time=3600 router=10.90.0.1 server_id=10.90.0.1 server_mac=([0-9a-f]{2}:){5}[0-9a-f]{2} $'
is "lab's DNS records: the links' dns_names" \
    "$(nbctl --bare --columns=records list DNS)" 'db.lab.example=10.90.0.101 web.lab.example=10.90.0.10'

dump_before=$(ovsdb-client dump "$NB" OVN_Northbound 2>&1)
out=$(cn define 2>&1); rc=$?
is "define again: exit 0" "$rc" 0
is "... every network unchanged" "$out" "network lab: unchanged
network other: unchanged"
out=$(cn_on b define 2>&1)
is "define on host B (another state directory): unchanged too" "$out" "network lab: unchanged
network other: unchanged"
is "... the database is as it was (no transaction sent)" "$(ovsdb-client dump "$NB" OVN_Northbound 2>&1)" "$dump_before"

# --- status and repair -----------------------------------------------------------------
out=$(cn status 2>&1); rc=$?
is "status: exit 0 when in step" "$rc" 0
like "... the networks are ovn, on br-int" "$out" "^lab +ovn +active +- +br-int +yes$"

nbctl lsp-del "$web_port"
nbctl dhcp-options-set-options "$dhcp" lease_time=60 router=10.90.0.1 server_id=10.90.0.1 \
    server_mac=$(nbctl dhcp-options-get-options "$dhcp" | sed -n 's/^server_mac=//p') dns_server=10.90.0.1 \
    domain_name='"lab.example"'
out=$(cn status 2>&1); rc=$?
is "status after ovn-nbctl lsp-del and a changed lease: exit 5" "$rc" 5
like "... names the port removed by hand" "$out" "^drift: network lab: ovn: port web eth0: missing$"
like "... and the DHCP option" "$out" "^drift: network lab: ovn: dhcp options: changed: options: lease_time=60 \(want 3600\)$"
json=$(cn --json status 2>&1)
like "status --json: the drift as kind ovn" "$json" '"kind":"ovn","what":"port web eth0: missing"'
out=$(cn repair 2>&1); rc=$?
is "repair: exit 0" "$rc" 0
like "... adds the port back" "$out" "^network lab: ovn: port web eth0: added$"
is "... with its address" "$(nbctl lsp-get-addresses "$web_port")" "$web_mac 10.90.0.10"
is "... and the lease time" "$(nbctl dhcp-options-get-options "$dhcp" | sed -n 's/^lease_time=//p')" 3600
is "status after repair: exit 0" "$(cn status >/dev/null 2>&1; echo $?)" 0

# A port of the switch that is not carthage-net's is left alone, and its
# address is never handed out.
nbctl lsp-add lab router -- lsp-set-addresses router "02:00:00:00:00:fe 10.90.0.102"
printf '[link extra eth0]\nnet = lab\n' >>"$defs/site.conf"
out=$(cn define 2>&1)
like "a new pool link skips the address of a port that is not ours" "$out" "^network lab: ovn: port extra eth0: 10.90.0.103 from v4.pool$"
is "... which stays as it was" "$(nbctl lsp-get-addresses router)" "02:00:00:00:00:fe 10.90.0.102"
status_out=$(cn status 2>&1)
unlike "status does not report it" "$status_out" "router"
# A link removed from the definitions: its port goes with the next define.
sed -i '/^\[link extra eth0\]$/,/^net = lab$/d' "$defs/site.conf"
out=$(cn define 2>&1)
like "a link removed from the definitions: its port is removed" "$out" "^network lab: ovn: port extra eth0 \(.*\): removed$"

# --- concurrency: host A held between its read and its transaction --------------------------
# A's second sendto is its transaction; strace delays it 0.8 s, while B
# defines a new link.  A's wait fails, A reads again and finds B's work:
# the link once, with one address.
printf '[link late eth0]\nnet = lab\n' >>"$defs/site.conf"
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 strace -f -qq -o /dev/null -e trace=sendto -e inject=sendto:delay_enter=800000:when=2 \
    "$build/carthage-net" -d "$defs" --state-dir "$work/state-a" --ovn-nb "$NB" define >"$work/a.out" 2>&1 &
a_pid=$!
sleep 0.3
out_b=$(cn_on b define 2>&1); rc_b=$?
wait $a_pid; rc_a=$?
out_a=$(cat "$work/a.out")
is "concurrent define: host B exits 0" "$rc_b" 0
like "... and adds the new link" "$out_b" "^network lab: ovn: port late eth0: added$"
is "... host A exits 0 too" "$rc_a" 0
like "... after its wait failed and it read the database again" "$out_a" "changed by another writer since it was read; reading it again \(attempt 2 of"
like "... and then found nothing to do" "$out_a" "^network lab: unchanged$"
late_port=$("$build/carthage-net" -d "$defs" render interface late eth0 | sed -n "s/.*interfaceid=\"\([^\"]*\)\".*/\1/p")
is "the late link's port exists once" "$(nbctl --bare --columns=_uuid find Logical_Switch_Port name="$late_port" | grep -c .)" 1
addresses=$(nbctl --bare --columns=addresses list Logical_Switch_Port | tr -d '"' | awk '{print $2}' | grep . | sort)
is "no address is given twice" "$(echo "$addresses" | uniq -d)" ""

# Many links, both hosts at once, a fresh database each round.
cat >"$work/fleet.conf" <<'EOF'
[network fleet]
technology = ovn
v4.network = 10.95.0.0/24
v4.pool = 10.95.0.10-10.95.0.250
EOF
for i in $(seq 1 24); do printf '[link vm%02d eth0]\nnet = fleet\n' "$i"; done >>"$work/fleet.conf"
start_nb fleet
clean=0 retried=0
for round in 1 2 3 4 5; do
    ovsdb-client transact "unix:$work/fleet.sock" '["OVN_Northbound",{"op":"delete","table":"Logical_Switch","where":[]},{"op":"delete","table":"DHCP_Options","where":[]}]' >/dev/null
    "$build/carthage-net" -f "$work/fleet.conf" --state-dir "$work/fa" --ovn-nb "unix:$work/fleet.sock" define >"$work/fa.out" 2>&1 &
    p1=$!
    "$build/carthage-net" -f "$work/fleet.conf" --state-dir "$work/fb" --ovn-nb "unix:$work/fleet.sock" define >"$work/fb.out" 2>&1 &
    p2=$!
    wait $p1; r1=$?
    wait $p2; r2=$?
    ports=$(ovn-nbctl --db="unix:$work/fleet.sock" --bare --columns=addresses list Logical_Switch_Port | grep -c .)
    dups=$(ovn-nbctl --db="unix:$work/fleet.sock" --bare --columns=addresses list Logical_Switch_Port | awk '{print $2}' | grep . | sort | uniq -d)
    switches=$(ovn-nbctl --db="unix:$work/fleet.sock" ls-list | grep -c .)
    # 24 links and the network's DHCP and DNS localport
    [ "$r1:$r2:$ports:$switches:$dups" = "0:0:25:1:" ] && clean=$((clean + 1))
    grep -q "reading it again" "$work/fa.out" "$work/fb.out" && retried=$((retried + 1))
done
is "two hosts defining 24 pool links at once, 5 rounds: both exit 0, one switch, 24 + 1 ports, no address twice" "$clean" 5
note "rounds in which a host's wait failed and it read again: $retried of 5"

# --- one transaction: nothing half-written ---------------------------------------------
nbctl ls-add taken
cat >"$work/half.conf" <<'EOF'
[network aaa]
technology = ovn
[network taken]
technology = ovn
[link m eth0]
net = aaa
EOF
out=$("$build/carthage-net" -f "$work/half.conf" --state-dir "$work/state-a" --ovn-nb "$NB" define 2>&1); rc=$?
is "define onto a switch name that is not carthage-net's: exit 1" "$rc" 1
like "... names the switch and why" "$out" "network taken: the northbound database has a logical switch taken .* that is not carthage-net's"
is "... and writes nothing, not even the other network" "$(nbctl --bare --columns=name find Logical_Switch name=aaa)" ""

# --- remotes: TCP, TLS, unreachable ---------------------------------------------------------
out=$(cn --ovn-nb "tcp:127.0.0.1:$tcp_port" status 2>&1); rc=$?
is "status over tcp: exit 0" "$rc" 0
sed -e "s|^ovn.northbound = .*|ovn.northbound = ssl:127.0.0.1:$ssl_port\novn.private_key = $pki/client.key\novn.certificate = $pki/client.pem\novn.ca_certificate = $pki/ca.pem|" \
    "$defs/site.conf" >"$work/tls.conf"
out=$("$build/carthage-net" -f "$work/tls.conf" --state-dir "$work/state-a" status 2>&1); rc=$?
is "status over ssl: with the network's key, certificate and CA: exit 0" "$rc" 0
[ "$rc" = 0 ] || note "$out"
sed -i "s|ca.pem$|other-ca.pem|" "$work/tls.conf"
out=$("$build/carthage-net" -f "$work/tls.conf" --state-dir "$work/state-a" status 2>&1); rc=$?
is "ssl with a CA that did not sign the server's certificate: exit 4" "$rc" 4
like "... names the database" "$out" "northbound database ssl:127.0.0.1:$ssl_port: TLS"
out=$("$build/carthage-net" -d "$defs" --state-dir "$work/state-a" define 2>&1); rc=$?
is "define with the definitions' unreachable ovn.northbound: exit 4" "$rc" 4
like "... names the endpoint" "$out" "^carthage-net: northbound database unix:/nonexistent/ovnnb_db.sock: "
out=$(cn --ovn-nb tcp:127.0.0.1:1 define 2>&1); rc=$?
is "--ovn-nb to a closed port: exit 4" "$rc" 4
like "... names it" "$out" "northbound database tcp:127.0.0.1:1: "
out=$(cn --ovn-nb http://x status 2>&1); rc=$?
is "--ovn-nb that is not a remote: exit 2" "$rc" 2

# --- undefine ---------------------------------------------------------------------------
out=$(cn undefine other 2>&1); rc=$?
is "undefine other: exit 0" "$rc" 0
like "... removes the switch" "$out" "^network other: ovn: switch: removed$"
is "... and its DHCP options" "$(nbctl --bare --columns=_uuid find DHCP_Options 'external_ids:"carthage-net:network"=other')" ""
out=$(cn status 2>&1); rc=$?
is "status then: exit 5, the switch missing" "$rc" 5
like "... says so" "$out" "^other +ovn +missing"
out=$(cn undefine --ovn taken 2>&1); rc=$?
is "undefine of a switch that is not carthage-net's: exit 1" "$rc" 1
is "... and it is still there" "$(nbctl ls-list | grep -c '(taken)')" 1
done_testing
