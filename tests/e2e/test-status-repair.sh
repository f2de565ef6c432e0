#!/usr/bin/env bash
# status, repair and attach against a real libvirtd in private namespaces.
set -u
. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib/common.sh"
e2e_start -- "$0" "$@"
state=$CN_E2E_RUN/state
cn() { "$build/carthage-net" -d "$top/examples/site" --state-dir "$state" "$@"; }
status_rc() { cn status >"$CN_E2E_RUN/status.out" 2>&1; echo $?; }

export CARTHAGE_NET_RUN_DIR=$CN_E2E_RUN/run
cn define --start >/dev/null
is "status: a pool not yet created is drift" "$(status_rc)" 5
like "status: names the pool" "$(cat "$CN_E2E_RUN/status.out")" "drift: pool ci-taps: not created"
like "status: no isolation (no hook here) is drift" "$(cat "$CN_E2E_RUN/status.out")" "drift: network lab: isolation: no carthage-net nftables tables"
out=$(cn repair 2>&1)
like "repair applies the isolation the hook would have" "$out" "network lab: isolation applied"
like "repair creates the pool" "$out" "pool ci-taps: 8 TAP\(s\) made"
is "status: in step after repair" "$(status_rc)" 0
like "status: lists every network" "$(cat "$CN_E2E_RUN/status.out")" "^lab +libvirt +active +no +cn-lab +yes"

# --- drift element by element: what the kernel holds is read back
web_mac=$(cn render interface web.lab.example eth0 | sed -n 's/.*mac address="\([^"]*\)".*/\1/p')
web_ip=$(sed -n 's/^v4 lab web.lab.example eth0 //p' "$state/assignments")
r1_mac=$(cn render network ci | sed -n 's/.*<cn:guest machine="runner-1" iface="eth0" mac="\([^"]*\)".*/\1/p')
table_handles() { nft -a list tables | sort; nft -a list table bridge cn_lab | head -1; nft -a list table inet cn_ci | head -1; }
handles_before=$(table_handles)
nft delete element bridge cn_lab reserved "{ $web_ip . $web_mac }"
nft add element bridge cn_lab reserved '{ 10.60.0.250 . 02:de:ad:be:ef:01 }'
nft add element bridge cn_lab pinned_ip '{ "vnet99" }'
nft delete element inet cn_ci handlers "{ $r1_mac }"
nft add element inet cn_ci handlers "{ $r1_mac : 10.61.0.1 . 9999 }"
rc=$(status_rc); out=$(cat "$CN_E2E_RUN/status.out")
is "element drift: exit 5" "$rc" 5
like "element drift: a reservation deleted by hand, named with its machine" "$out" \
    "drift: network lab: isolation: set reserved: missing $web_ip \. $web_mac \(machine web\.lab\.example iface eth0\)"
like "element drift: a forged reservation for a MAC no link has" "$out" \
    "drift: network lab: isolation: set reserved: extra 10\.60\.0\.250 \. 02:de:ad:be:ef:01 \(MAC 02:de:ad:be:ef:01 \(no link of the definitions\)\)"
like "element drift: a port pinned that no guest was recorded on" "$out" \
    "drift: network lab: isolation: set pinned_ip: extra \"vnet99\" \(port vnet99 \(recorded for no guest\)\)"
like "element drift: a handler pointed elsewhere" "$out" \
    "drift: network ci: isolation: set handlers: $r1_mac : 10\.61\.0\.1 \. 9001 \(the kernel has 10\.61\.0\.1 \. 9999\) \(machine runner-1 iface eth0\)"
cn status --json >"$CN_E2E_RUN/status.json"
is "element drift in --json: set, element, change and guest" \
    "$(python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
for n in d["networks"]:
    for x in n["drift"]:
        if "set" in x: print(n["name"], x["set"], x["change"], x["element"], x["guest"])' "$CN_E2E_RUN/status.json" | sort)" \
    "$(printf '%s\n' "ci handlers changed $r1_mac : 10.61.0.1 . 9001 machine runner-1 iface eth0" \
        "lab pinned_ip extra \"vnet99\" port vnet99 (recorded for no guest)" \
        "lab reserved extra 10.60.0.250 . 02:de:ad:be:ef:01 MAC 02:de:ad:be:ef:01 (no link of the definitions)" \
        "lab reserved missing $web_ip . $web_mac machine web.lab.example iface eth0" | sort)"
out=$(cn repair 2>&1); rc=$?
is "element drift: repair exit 0" "$rc" 0
like "element drift: repair changes only the difference, in one batch" "$out" \
    "network lab: isolation: 3 element\(s\) brought in step, in one batch"
like "element drift: ... and on ci" "$out" "network ci: isolation: 1 element\(s\) brought in step, in one batch"
is "element drift: the tables were not replaced (same handles: no moment without them)" "$(table_handles)" "$handles_before"
ok "element drift: the reservation is back, the forged one gone" eval \
    "nft get element bridge cn_lab reserved '{ $web_ip . $web_mac }' >/dev/null && ! nft get element bridge cn_lab reserved '{ 10.60.0.250 . 02:de:ad:be:ef:01 }' 2>/dev/null"
like "element drift: the handler points where it must" "$(nft get element inet cn_ci handlers "{ $r1_mac }")" "10.61.0.1 . 9001"
is "element drift: status in step after repair" "$(status_rc)" 0

# --- drift in the rules: one deleted by hand, the tables made for other settings
handle=$(nft -a list chain bridge cn_lab pin | sed -n 's/.*ether type @ethertypes accept.* # handle \([0-9]*\)$/\1/p')
nft delete rule bridge cn_lab pin handle "$handle"
rc=$(status_rc); out=$(cat "$CN_E2E_RUN/status.out")
is "rule drift: exit 5" "$rc" 5
like "rule drift: names the rule" "$out" \
    "drift: network lab: isolation: table bridge cn_lab: rule missing in chain pin: ether type @ethertypes accept"
out=$(cn repair 2>&1)
like "rule drift: repair applies the tables again" "$out" "network lab: isolation applied \(0 recorded guest port\(s\)\)"
is "rule drift: status in step after repair" "$(status_rc)" 0
nft delete table bridge cn_lab
nft add table bridge cn_lab '{ comment "carthage-net network lab rules 0123456789abcdef"; }'
like "rule drift: a table from another version or other definitions is named" "$(cn status 2>&1)" \
    "drift: network lab: isolation: table bridge cn_lab: made for other definitions or by another version"
cn repair >/dev/null 2>&1
is "rule drift: in step after repair" "$(status_rc)" 0

# --- drift: a reservation removed behind our back
virsh -q net-update lab delete ip-dhcp-host "<host mac='$web_mac' name='web' ip='$web_ip'/>" --live --config >/dev/null
is "drift: missing reservation, exit 5" "$(status_rc)" 5
like "drift: names the missing reservation" "$(cat "$CN_E2E_RUN/status.out")" "drift: network lab: config: missing DHCP host $web_mac $web_ip web"
like "drift: live too" "$(cat "$CN_E2E_RUN/status.out")" "drift: network lab: live: missing DHCP host $web_mac"
cn status --json >"$CN_E2E_RUN/status.json"
ok "status --json is JSON" python3 -m json.tool "$CN_E2E_RUN/status.json"
is "status --json: drift flag" "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["drift"], [n["name"] for n in d["networks"] if n["drift"]])' "$CN_E2E_RUN/status.json")" "True ['lab']"

# --- drift: a network missing, one destroyed, one extra
virsh -q net-destroy ci >/dev/null && virsh -q net-undefine ci >/dev/null
virsh -q net-destroy office >/dev/null
printf '[network leftover]\nv4.network = 10.99.0.0/24\n' >"$CN_E2E_RUN/leftover.conf"
"$build/carthage-net" -f "$CN_E2E_RUN/leftover.conf" --state-dir "$CN_E2E_RUN/other" define >/dev/null
rc=$(status_rc); out=$(cat "$CN_E2E_RUN/status.out")
is "drift: exit 5" "$rc" 5
like "drift: missing network" "$out" "drift: network ci: missing: not defined in libvirt"
like "drift: stopped network" "$out" "drift: network office: stopped: defined but not running"
like "drift: extra network" "$out" "drift: network leftover: extra: made by carthage-net but not in the definitions"

# A hook killed between writing its record's temporary and renaming it
# leaves .NAME.tmp.PID; one whose writer still runs is not touched.
sh -c 'exit 0' &
dead=$!
wait "$dead"
mkdir -p "$CARTHAGE_NET_RUN_DIR"
echo "port lab x 52:54:00:00:00:01" >"$CARTHAGE_NET_RUN_DIR/.hook-domain-gone.tmp.$dead"
echo "port lab x 52:54:00:00:00:02" >"$CARTHAGE_NET_RUN_DIR/.hook-domain-busy.tmp.$$"
status_rc >/dev/null
like "status: names a temporary whose writer is gone" "$(cat "$CN_E2E_RUN/status.out")" \
    "drift: run directory .*: \.hook-domain-gone\.tmp\.$dead left by a writer that was killed"
cn status --json >"$CN_E2E_RUN/status.json"
is "status --json: orphan_temporaries lists it, not the live writer's" \
    "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["orphan_temporaries"])' "$CN_E2E_RUN/status.json")" \
    "['.hook-domain-gone.tmp.$dead']"

# --- repair
out=$(cn repair 2>&1); rc=$?
is "repair: exit 0" "$rc" 0
like "repair: removes a temporary whose writer is gone, and says so" "$out" \
    "/\.hook-domain-gone\.tmp\.$dead: left by a writer that was killed; removed"
is "... the file is gone; a live writer's is kept" \
    "$(cd "$CARTHAGE_NET_RUN_DIR" && ls -A | grep '\.tmp\.')" ".hook-domain-busy.tmp.$$"
rm -f "$CARTHAGE_NET_RUN_DIR/.hook-domain-busy.tmp.$$"
like "repair: redefines the missing network" "$out" "network ci: define"
like "repair: restores the reservation live" "$out" "network lab: add DHCP host $web_mac"
like "repair: restarts the stopped network" "$out" "network office: start"
like "repair: leaves the extra network, and says so" "$out" "network leftover: made by carthage-net but not in the definitions; left alone"
"$build/carthage-net" -f "$CN_E2E_RUN/leftover.conf" --state-dir "$CN_E2E_RUN/other" undefine leftover >/dev/null
is "repair: status in step afterwards" "$(status_rc)" 0
out=$(cn repair 2>&1)
is "repair twice: nothing to do" "$(printf '%s\n' "$out" | grep -v ': unchanged$' | grep -vc ': 0 TAP(s) made, 8 already there')" 0

# --- a network restart makes a new bridge: pool TAPs fall off it
virsh -q net-destroy ci >/dev/null && virsh -q net-start ci >/dev/null
rc=$(status_rc)
is "network restart: pool TAPs off the bridge are drift" "$rc" 5
like "network restart: names the TAPs" "$(cat "$CN_E2E_RUN/status.out")" "drift: pool ci-taps: citap0: bridge none \(want cn-ci\)"
out=$(cn repair 2>&1)
like "network restart: repair puts them back" "$out" "pool ci-taps: citap0: differed \(bridge none \(want cn-ci\)"
is "network restart: in step after repair" "$(status_rc)" 0

# --- repair after a killed define
virsh -q net-destroy lab >/dev/null && virsh -q net-undefine lab >/dev/null
virsh -q net-destroy dev >/dev/null && virsh -q net-undefine dev >/dev/null
cn define --start >/dev/null 2>&1 &
pid=$!
sleep 0.$((RANDOM % 4))
kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
cn repair >/dev/null 2>&1
is "killed define: repair brings status back in step" "$(status_rc)" 0

# --- libvirtd restarted
restart_libvirtd
# libvirt keeps running networks across its restart, except the Open vSwitch
# ones: there is no br-trunk in this namespace, so they come back stopped.
rc=$(status_rc); out=$(cat "$CN_E2E_RUN/status.out")
is "libvirtd restart: drift reported" "$rc" 5
is "libvirtd restart: only the Open vSwitch networks stopped" "$(grep -c '^drift:' "$CN_E2E_RUN/status.out"):$(grep -c 'drift: network \(dev\|prod\): stopped' "$CN_E2E_RUN/status.out")" "2:2"
cn repair >/dev/null 2>&1
is "libvirtd restart: repair brings status back in step" "$(status_rc)" 0

# --- attach to a domain made elsewhere (virt-install style, no NICs)
guest_base_xml web.lab.example "cn.resolve=web" >"$CN_E2E_RUN/bare.xml"
virsh -q define "$CN_E2E_RUN/bare.xml" >/dev/null
out=$(cn attach web.lab.example --config 2>&1); rc=$?
is "attach --config: exit 0" "$rc" 0
like "attach --config: both interfaces" "$out" "attached eth1 .* to network office"
out=$(cn attach web.lab.example --config 2>&1)
is "attach twice: nothing attached again" "$(printf '%s\n' "$out" | grep -c 'already attached')" 2
ok "attach: carthage-net metadata on the domain" bash -c "virsh dumpxml --inactive web.lab.example | grep -q 'cn:machine'"
virsh -q start web.lab.example >/dev/null
web=$(guest_wait web.lab.example)
is "attach: the guest gets its address" "$(result "$web" address)" "$web_ip/24"

guest_base_xml late-nic "cn.sleep=30" >"$CN_E2E_RUN/late.xml"
printf '[link late-nic eth0]\nnet = lab\n' >"$CN_E2E_RUN/late.conf"
cn2() { "$build/carthage-net" -d "$top/examples/site" -f "$CN_E2E_RUN/late.conf" --state-dir "$state" "$@"; }
cn2 define lab >/dev/null
virsh -q create "$CN_E2E_RUN/late.xml" >/dev/null
out=$(cn2 attach late-nic --live 2>&1); rc=$?
is "attach --live: exit 0" "$rc" 0
late_mac=$(cn2 render interface late-nic eth0 | sed -n 's/.*mac address="\([^"]*\)".*/\1/p')
ok "attach --live: the running domain has the NIC" bash -c "virsh domiflist late-nic | grep -q '$late_mac'"
late_tap=$(virsh domiflist late-nic | awk -v mac="$late_mac" '$5 == mac {print $1}')
like "attach --live: the hot-plugged port is pinned to its MAC (no qemu hook runs for hot-plug)" \
    "$(nft list set bridge cn_lab port_mac 2>&1)" "\"$late_tap\" \. $late_mac"
run_dir=${CARTHAGE_NET_RUN_DIR:-$("$build/carthage-net-hook" --paths | sed -n "s/^run_dir=//p")}
like "attach --live: the port is in the hook's record of the domain, for its stop" \
    "$(cat "$run_dir/hook-domain-late-nic" 2>&1)" "port lab $late_tap $late_mac pinned [0-9.]+"
out=$(cn2 attach nobody 2>&1); rc=$?
is "attach of an unknown machine: exit 1" "$rc" 1
virsh -q destroy late-nic >/dev/null 2>&1
out=$(cn attach app.lab.example 2>&1); rc=$?
is "attach without a domain: exit 1" "$rc" 1
like "attach without a domain: says so" "$out" "no libvirt domain named 'app.lab.example'"

# --- repair --purge leaves nothing
virsh -q destroy web.lab.example >/dev/null 2>&1
out=$(cn repair --purge 2>&1); rc=$?
is "purge: exit 0" "$rc" 0
is "purge: no carthage-net network left" "$(virsh -q net-list --all --name | grep -c .)" 0
is "purge: no bridge left" "$(ip -br link | grep -cE '^(cn-|br-office)')" 0
ok "purge: state directory gone" test ! -e "$state"
is "purge: no nftables table of ours" "$(nft list tables 2>/dev/null | grep -c ' cn_')" 0
done_testing
