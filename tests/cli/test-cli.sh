#!/usr/bin/env bash
# The carthage-net command line: exit codes, messages, layering and the
# state directory, through the real binary.
set -u
top=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${top_builddir:-$top/build}
. "$top/tests/lib/tap.sh"

cn=$build/carthage-net
export CARTHAGE_NET_TEMPLATE_DIR=$top/xml-templates
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

# run ARGS...: sets out, err, rc
run() { "$cn" "$@" >"$work/stdout" 2>"$work/stderr"; rc=$?; out=$(cat "$work/stdout"); err=$(cat "$work/stderr"); }

cat >a.conf <<'CONF'
[network lan]
v4.network = 10.0.0.0/24
v4.dhcp = true
v4.pool = 10.0.0.100-10.0.0.199

[link one eth0]
net = lan
CONF
cat >b.conf <<'CONF'
[network lan]
v4.network = 10.5.0.0/24
v4.pool = 10.5.0.100-10.5.0.199
CONF
cat >bad.conf <<'CONF'
[network lan]
mtu = huge
[link two eth0]
net = nowhere
CONF

run -f a.conf --state-dir st validate
is "validate: valid definitions exit 0" "$rc" 0
like "validate: prints a summary" "$out" '^valid: 1 networks, 1 machines, 1 links, 0 pools$'
ok "validate: writes no state" test ! -e st

run -f bad.conf validate
is "validate: invalid definitions exit 1" "$rc" 1
like "validate: error names file, line, group and key" "$err" '^carthage-net: bad.conf:2: \[network lan\] mtu: .huge. is not an integer in 68-65535$'
is "validate: every error reported" "$(echo "$err" | wc -l)" 2

run validate -f a.conf --state-dir st
is "common options after the command word" "$rc" 0

run -f missing.conf validate
is "missing file: exit 1" "$rc" 1
like "missing file: message names it" "$err" '^carthage-net: missing.conf: cannot read: '

run -d nodir validate
like "missing directory: message names it" "$err" '^carthage-net: nodir: cannot read directory'

run
is "no command: exit 2" "$rc" 2
run frobnicate
is "unknown command: exit 2" "$rc" 2
like "unknown command: says so" "$err" "unknown command 'frobnicate'"
run --no-such-option validate
is "unknown option: exit 2" "$rc" 2
run -f a.conf validate extra
is "validate with an argument: exit 2" "$rc" 2
run --help
is "--help: exit 0" "$rc" 0
like "--help lists commands" "$out" 'validate +Check the definitions'
run validate --help
like "command --help shows the command" "$out" 'carthage-net \[OPTION…\] validate'
run --version
like "--version" "$out" '^carthage-net [0-9]+\.[0-9]+'
CARTHAGE_NET_RUN_DIR=$work/rundir run --state-dir "$work/st" --paths
is "--paths: exit 0" "$rc" 0
like "--paths: --state-dir" "$out" "^state_dir=$work/st\$"
like "--paths: the environment's overrides" "$out" "^run_dir=$work/rundir\$"
like "--paths: CARTHAGE_NET_TEMPLATE_DIR is the first template_dir" "$(echo "$out" | grep -m1 '^template_dir=')" \
    "^template_dir=$top/xml-templates\$"

# Layering: the later file wins, key by key.
run -f a.conf -f b.conf --state-dir st1 render network lan
like "layering: later file replaces v4.network" "$out" 'ip address="10.5.0.1"'
like "layering: keys only in the earlier file are kept" "$out" '<dhcp>'
run -f b.conf -f a.conf --state-dir st2 render network lan
like "layering: order matters" "$out" 'ip address="10.0.0.1"'

# State: render records pool addresses; adding machines keeps them.
run -f a.conf --state-dir st render network lan
addr_one=$(sed -n 's/.*host mac="[^"]*" name="one" ip="\([^"]*\)".*/\1/p' "$work/stdout")
ok "render records assignments" grep -q "^v4 lan one eth0 $addr_one\$" st/assignments
head -1 st/assignments >header
is "assignments file is versioned" "$(cat header)" "carthage-net-assignments 1"
for i in $(seq 1 40); do printf '[link m%s eth0]\nnet = lan\n' "$i"; done >more.conf
run -f a.conf -f more.conf --state-dir st render network lan
like "adding 40 machines keeps one's address" "$out" "name=\"one\" ip=\"$addr_one\""
cp st/assignments before
run -f a.conf -f more.conf --state-dir st render network lan
ok "rendering again changes nothing" cmp -s before st/assignments

# No writable state: a warning, and the same deterministic answer.
touch notadir
run -f a.conf --state-dir notadir/state render network lan
is "unwritable state dir: still exit 0" "$rc" 0
like "unwritable state dir: warns" "$err" '^carthage-net: warning: .*notadir/state.*not saved'
like "unwritable state dir: same address without state" "$out" "name=\"one\" ip=\"$addr_one\""

mkdir corrupt && echo "something else" >corrupt/assignments
run -f a.conf --state-dir corrupt render network lan
is "corrupt assignments: exit 4" "$rc" 4
like "corrupt assignments: names file and line" "$err" 'corrupt/assignments:1: expected'

# render usage and lookups
run -f a.conf --state-dir st render network nope
is "render unknown network: exit 1" "$rc" 1
like "render unknown network: says which" "$err" "unknown network 'nope'"
run -f a.conf --state-dir st render interface nobody
is "render unknown machine: exit 1" "$rc" 1
run -f a.conf --state-dir st render interface one eth9
is "render unknown interface: exit 1" "$rc" 1
run -f a.conf --state-dir st render domain one
is "render domain without --base: exit 2" "$rc" 2
run -f a.conf --state-dir st render network lan --base x
is "--base outside render domain: exit 2" "$rc" 2
run -f a.conf --state-dir st render pizza
is "render of an unknown kind: exit 2" "$rc" 2
echo '<domain><devices>' >broken.xml
run -f a.conf --state-dir st render domain one --base broken.xml
is "render domain, malformed base: exit 1" "$rc" 1
like "render domain, malformed base: names file and line" "$err" 'broken.xml:[0-9]+: not well-formed XML'
echo '<network/>' >notdomain.xml
run -f a.conf --state-dir st render domain one --base notdomain.xml
like "render domain, base is not a domain" "$err" 'expected <domain>'
run -f a.conf --state-dir st render netdev one eth0
is "render netdev of a non-pool link: exit 1" "$rc" 1
echo '<domain type="kvm"><name>one</name></domain>' | "$cn" -f a.conf --state-dir st render domain one --base - >fromstdin.xml
ok "render domain --base - reads stdin" grep -q '<source network="lan"/>' fromstdin.xml
echo '<domain type="kvm"><name>carthage-one</name></domain>' >misnamed.xml
run -f a.conf --state-dir st render domain one --base misnamed.xml
is "render domain, a base named otherwise: rendered all the same" "$rc" 0
like "render domain, a base named otherwise: warned, with the key that mends it" "$err" \
    "the base domain is named 'carthage-one', but machine one's domain is 'one'.*domain_name = carthage-one"

# libvirt not reachable: one clear line, exit 4
run -f a.conf --state-dir st -c "qemu:///system?socket=$work/no-such-socket" define
is "define without a reachable libvirtd: exit 4" "$rc" 4
like "define without a reachable libvirtd: one clear line" "$err" '^carthage-net: cannot connect to libvirt at .* \(is libvirtd running\?\): '
is "define without a reachable libvirtd: only one line" "$(echo "$err" | wc -l)" 1
run -f a.conf --state-dir st define nosuch
is "define of an unknown network: exit 1" "$rc" 1
run -f a.conf --state-dir st undefine
is "undefine without a name: exit 2" "$rc" 2

done_testing
