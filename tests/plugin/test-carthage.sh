#!/usr/bin/env bash
# test-carthage.sh - the Carthage plugin against a real Carthage: a small
# layout (tests/plugin/layout) exported by `carthage-runner
# carthage-net-export`, validated and rendered by carthage-net, then a
# machine made ready through the plugin's live path under Carthage
# (CarthageNetBridgeNetwork, the MACs, render domain) boots in a private
# libvirtd and gets exactly the address Carthage assigned.
#
# Carthage is not packaged and is not in this repository: the test runs
# only when CARTHAGE_SRC names a Carthage checkout (e.g. github
# Hadron/carthage); otherwise it is skipped, with the reason.
set -u
top=$(cd "${top_srcdir:-$(dirname "$0")/../..}" && pwd)
. "$top/tests/lib/tap.sh"
[ -n "${CARTHAGE_SRC:-}" ] || skip_all "CARTHAGE_SRC is not set (a Carthage checkout, e.g. github Hadron/carthage)"
[ -f "$CARTHAGE_SRC/carthage/__init__.py" ] || skip_all "CARTHAGE_SRC=$CARTHAGE_SRC is not a Carthage checkout"
python=/usr/bin/python3
PYTHONPATH=$CARTHAGE_SRC "$python" -c 'import carthage.modeling, carthage.libvirt' 2>/dev/null ||
    skip_all "Carthage does not import here (python3-sh, -lmdb, -libvirt, -mako, -yaml, -pyroute2, ...)"
export CARTHAGE_SRC PYTHONPATH=$CARTHAGE_SRC PYTHONWARNINGS=ignore PYTHONDONTWRITEBYTECODE=1
. "$top/tests/e2e/lib/common.sh"
e2e_start --hook -- "$0" "$@"

work=$CN_E2E_RUN/carthage
defs=$work/definitions
mkdir -p "$work/state" "$work/base"
# carthage-net's state, runtime and events directories are private to this
# libvirtd (e2e_start): the helper, the hook and the plugin share them.
cn() { "$build/carthage-net" -d "$defs" "$@"; }
cat >"$work/config.yml" <<YAML
plugins:
  - $top/carthage-plugin
  - $top/tests/plugin/layout
state_dir: $work/state
base_dir: $work/base
layout_name: cn_test
carthage_net:
  command: $build/carthage-net
  definitions: $defs
YAML
runner() { "$python" "$CARTHAGE_SRC/bin/carthage-runner" --no-default-config --config "$work/config.yml" "$@"; }

# --- export ----------------------------------------------------------------
out=$(runner carthage-net-export 2>&1); rc=$?
is "export: carthage-runner carthage-net-export succeeds" "$rc" 0
like "export: the definitions are written" "$out" "carthage.conf: written \(2 networks, 3 machines\)"
like "export: carthage-net validates them" "$out" "valid: 2 networks, 3 machines, 4 links, 0 pools"
like "export: the routing domain Carthage has is named, not dropped" "$out" \
    "network lab: v4_config.domains not exported: ~corp.example"
conf=$defs/carthage.conf
like "export: the header names the layout" "$(head -1 "$conf")" "Carthage layout cn_test"
like "export: the domain name is Carthage's" "$(cat "$conf")" "domain_name = carthage-web"
out=$(runner carthage-net-export 2>&1)
like "export: again, unchanged" "$out" "carthage.conf: unchanged"
web_ip=$(awk '/^\[link web eth0\]/ { on = 1; next } /^\[/ { on = 0 } on && /^v4.address/ { print $3 }' "$conf")
like "export: web's pool address is explicit" "$web_ip" '^10\.70\.0\.(1[0-4][0-9]|150)$'
is "export: db keeps its static address" \
    "$(awk '/^\[link db eth0\]/ { on = 1; next } /^\[/ { on = 0 } on && /^v4.address/ { print $3 }' "$conf")" 10.70.0.5
ok "render: carthage-net renders the lab network" cn render network lab
like "render: with web's reservation at Carthage's address" "$(cn render network lab)" "ip=.$web_ip."

# --- live: web made ready through Carthage and booted ---------------------------
xml=$work/carthage-web.xml
guest_base_xml carthage-web "cn.ping=10.70.0.1" >"$xml"
out=$("$python" "$top/tests/plugin/live_driver.py" "$work/config.yml" web "$xml" 2>&1); rc=$?
is "live: the driver succeeds" "$rc" 0
[ "$rc" = 0 ] || printf '%s\n' "$out" | sed 's/^/# /'
like "live: lab is reached through the plugin's BridgeNetwork" "$out" "bridge lab CarthageNetBridgeNetwork "
is "live: lab is active in libvirt" "$(virsh -q net-list --name | grep -cx lab)" 1
is "live: office too" "$(virsh -q net-list --name | grep -cx office)" 1
like "live: Carthage's link has the exported MAC" "$out" "mac eth0 $(awk '/^\[link web eth0\]/ { on = 1; next } /^\[/ { on = 0 } on && /^mac/ { print $3 }' "$conf") $web_ip"
is "live: no bridge interface of Carthage's is left" "$(grep -c "type=\"bridge\"" "$xml")" 0
like "live: the interfaces are carthage-net's" "$(cat "$xml")" "<cn:machine .*name=\"web\""
out=$(virsh -q define "$xml" 2>&1 && virsh -q start carthage-web 2>&1); rc=$?
is "live: libvirt defines and starts the rendered domain" "$rc" 0
[ "$rc" = 0 ] || printf '%s\n' "$out" | sed 's/^/# /'
web=$(guest_wait carthage-web)
is "live: web gets exactly the address Carthage assigned" "$(result "$web" address)" "$web_ip/24"
is "live: web reaches its gateway" "$(result "$web" "ping 10.70.0.1")" ok
resolved=$(cn events --json | grep '"event":"resolved"' | grep '"carthage-web"' | tail -1)
like "events: the hook's resolved names the machine and its domain" "$resolved" '"machine":"web","domain":"carthage-web"'
is "events: the plugin turns it into an event of Carthage's web eth0" \
    "$(printf '%s\n' "$resolved" | "$python" -c '
import sys
sys.path.insert(0, sys.argv[1])
from carthage_net.events import translate
for e in translate(sys.stdin.read(), {"web": "carthage-web", "db": "carthage-db"}):
    print(e.event, e.machine, e.iface, " ".join(e.fields["ipv4"]))' "$top/carthage-plugin/python")" \
    "carthage_net_resolved web eth0 $web_ip
carthage_net_resolved web eth1 "
virsh -q destroy carthage-web >/dev/null 2>&1
virsh -q undefine carthage-web >/dev/null 2>&1
cn undefine >/dev/null 2>&1

done_testing
