#!/usr/bin/env bash
# bench-ovn.sh - adding one guest to an OVN network (its logical switch
# port, addresses, port security, DHCP options, and its port group when
# the network isolates guests) when N ports are there already:
# `carthage-net define` (one OVSDB transaction, after reading the
# network's rows) against `ovn-nbctl` doing the same in one invocation
# (one transaction), at N = 1, 1000 and 4000, on a private OVN northbound
# ovsdb-server served on a unix socket in a temporary directory (no
# network, so no namespace either).  Run as root or not:
#
#   bash bench/bench-ovn.sh
#
# Environment: BENCH_OVN_PORTS (the counts N, default "1 1000 4000"),
# BENCH_REPEAT (timed additions of each side per count, default 5),
# BENCH_OVN_ISOLATE (auto, 0 or 1: the network has isolate_guests = true;
# auto, the default, when this build's `carthage-net validate` accepts it
# on an ovn network), BENCH_FORMAT=tsv (results as tab-separated lines on
# stdout, for bench/run-all.sh; the human output goes to stderr then).
# Exits non-zero only when something failed (a command, or a check of
# what it wrote), never because of the timings.
set -u
top=$(cd "${top_srcdir:-$(dirname "$0")/..}" && pwd)
build=${top_builddir:-$top/build}
repeat=${BENCH_REPEAT:-5}
counts=${BENCH_OVN_PORTS:-1 1000 4000}
isolate=${BENCH_OVN_ISOLATE:-auto}
format=${BENCH_FORMAT:-text}
schema=/usr/share/ovn/ovn-nb.ovsschema

die() { echo "bench-ovn: $*" >&2; exit 1; }
positive() { case $1 in '' | *[!0-9]* | 0*) return 1 ;; esac; }
positive "$repeat" || die "BENCH_REPEAT must be a positive number, not '$repeat'"
case $format in text | tsv) ;; *) die "BENCH_FORMAT must be text or tsv, not '$format'" ;; esac
case $isolate in auto | 0 | 1) ;; *) die "BENCH_OVN_ISOLATE must be auto, 0 or 1, not '$isolate'" ;; esac
counts=${counts//,/ }
[ -n "${counts// /}" ] || die "BENCH_OVN_PORTS has no count"
for n in $counts; do
    positive "$n" || die "BENCH_OVN_PORTS must be positive numbers, not '$n'"
    # The pool, 10.80.0.10-10.80.255.254, holds 65,525 addresses.
    [ "$n" -le 60000 ] || die "BENCH_OVN_PORTS: at most 60000 ports (the pool is one /16)"
done
[ -x "$build/carthage-net" ] || die "no $build/carthage-net (build first: make -C build, or set top_builddir)"
[ -f "$schema" ] || die "no $schema (ovn-central is not installed: scripts/install-deps)"
for tool in ovsdb-tool ovsdb-server ovn-nbctl awk; do command -v "$tool" >/dev/null || die "$tool not installed"; done
[ -n "${EPOCHREALTIME:-}" ] || die "needs bash 5 (\$EPOCHREALTIME)"

# BENCH_FORMAT=tsv: the result lines go to fd 3 (stdout), everything else
# to stderr; otherwise fd 3 goes nowhere.
if [ "$format" = tsv ]; then exec 3>&1 1>&2; else exec 3>/dev/null; fi
work=$(mktemp -d "${TMPDIR:-/tmp}/cn-bench-ovn.XXXXXX") || die "cannot make a temporary directory"
# The database server is stopped by the PID in its pid file (it is a
# daemon of its own session: an interrupt does not reach it), then the
# directory goes.
# shellcheck disable=SC2317 # (called by the trap)
cleanup() {
    local pid
    if [ -f "$work/nb.pid" ] && pid=$(cat "$work/nb.pid" 2>/dev/null) && [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
[ ${#work} -le 90 ] || die "the temporary directory's path is too long for a unix socket: $work (set TMPDIR)"

# A copy of the binary: a rebuild during the run changes nothing.  Its
# state, run and events directories are private too.
cp "$build/carthage-net" "$build/carthage-net-full" "$work/" || die "cannot copy $build/carthage-net and carthage-net-full"
export CARTHAGE_NET_FULL_PROGRAM=$work/carthage-net-full
mkdir -p "$work/state" "$work/run" "$work/events.d" "$work/defs" "$work/probe"
export CARTHAGE_NET_STATE_DIR=$work/state CARTHAGE_NET_RUN_DIR=$work/run CARTHAGE_NET_EVENTS_DIR=$work/events.d
unset OVN_NB_DB OVN_NBCTL_OPTIONS
NB=unix:$work/nb.sock
defs=$work/defs
cn() { "$work/carthage-net" -d "$defs" --state-dir "$work/state" "$@"; }
nbctl() { ovn-nbctl --db="$NB" "$@"; }

# network_conf ISOLATE: the network, a /16 with a pool over all of it.
network_conf() {
    cat <<EOF
[network bench]
technology = ovn
v4.network = 10.80.0.0/16
v4.pool = 10.80.0.10-10.80.255.254
ovn.northbound = $NB
EOF
    [ "$1" = 1 ] && echo "isolate_guests = true"
    return 0
}

# --- isolate_guests on an ovn network: does this build accept it?
network_conf 0 >"$work/probe/00-network.conf"
"$work/carthage-net" -d "$work/probe" validate >"$work/probe.out" 2>&1 ||
    die "the definitions are invalid: $(cat "$work/probe.out")"
network_conf 1 >"$work/probe/00-network.conf"
if "$work/carthage-net" -d "$work/probe" validate >"$work/probe.out" 2>&1; then
    accepted=1 why="carthage-net validate accepts it on an ovn network"
else
    accepted=0 why="carthage-net validate refuses it on an ovn network: $(head -1 "$work/probe.out" | sed 's/^[^ ]*: //')"
fi
case $isolate:$accepted in
    auto:*) isolated=$accepted ;;
    1:1) isolated=1 ;;
    1:0) die "BENCH_OVN_ISOLATE=1, but $why" ;;
    0:*) isolated=0 why="BENCH_OVN_ISOLATE=0" ;;
esac
network_conf "$isolated" >"$defs/00-network.conf"
[ "$isolated" = 1 ] && isolated_word=yes || isolated_word=no

# --- the northbound database: OVN's schema, a unix socket, nothing else.
ovsdb-tool create "$work/nb.db" "$schema" >"$work/ovsdb-tool.out" 2>&1 ||
    die "ovsdb-tool create failed: $(cat "$work/ovsdb-tool.out")"
ovsdb-server --remote="punix:$work/nb.sock" --pidfile="$work/nb.pid" --unixctl="$work/nb.ctl" \
    --log-file="$work/nb.log" --detach --no-chdir "$work/nb.db" >"$work/ovsdb-server.out" 2>&1 ||
    die "ovsdb-server does not start: $(cat "$work/ovsdb-server.out"; tail -5 "$work/nb.log" 2>/dev/null)"
for _ in $(seq 50); do [ -S "$work/nb.sock" ] && break; sleep 0.1; done
[ -S "$work/nb.sock" ] || die "ovsdb-server made no socket $work/nb.sock: $(tail -5 "$work/nb.log")"
nbctl --timeout=10 show >/dev/null || die "ovn-nbctl cannot reach $NB"

us_now() { local t=$EPOCHREALTIME; echo "${t/./}"; }
# median_ms FILE: the median of the microseconds in FILE, in ms.
median_ms() {
    sort -n "$1" | awk '{ v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.1f", m / 1000 }'
}
ratio() { awk -v b="$1" -v o="$2" 'BEGIN { if (o > 0) printf "%.2f", b / o; else print "-" }'; }

# links_conf N: links g1 .. gN, each from the pool.
links_conf() {
    local i
    for ((i = 1; i <= $1; i++)); do printf '[link g%d eth0]\nnet = bench\n\n' "$i"; done
}
# The guest added: one more link, in a file of its own.
new_machine=bench-new
printf '[link %s eth0]\nnet = bench\n' "$new_machine" >"$work/new.conf"

switch_ports() { nbctl --bare --columns=ports list Logical_Switch bench | wc -w; }

# port_row WHERE: name, addresses, port_security, dhcpv4_options and
# _uuid of the one Logical_Switch_Port matching WHERE (a find condition),
# into row_*.  A port no switch refers to is deleted by the database (the
# table is not a root one), so a port found is on a switch.
port_row() {
    local out rows
    out=$(nbctl --bare --columns=name,addresses,port_security,dhcpv4_options,_uuid find Logical_Switch_Port "$1") ||
        die "ovn-nbctl find Logical_Switch_Port $1 failed"
    rows=$(printf '%s\n' "$out" | awk 'NF { n++ } END { print n + 0 }')
    [ "$rows" = 5 ] || return 1 # not exactly one row (none, or more)
    { read -r row_name; read -r row_addresses; read -r row_security; read -r row_dhcp; read -r row_uuid; } <<<"$out"
}
# port_groups UUID: the Port_Group rows holding the port, one UUID a line.
port_groups() { nbctl --bare --columns=_uuid find Port_Group "ports{>=}$1" | grep . | sort; }

# check_port WHO WHERE: the new port is there, with an address in the
# network (the one ours was given, once known), port security the same,
# the network's DHCP options and (isolated) the same port groups as ours.
check_port() {
    local who=$1 where=$2 groups
    port_row "$where" || die "$who, $n ports present: no port ($where) after the addition"
    [ "$row_addresses" = "$row_security" ] ||
        die "$who, $n ports present: port $row_name: addresses '$row_addresses', port_security '$row_security'"
    [[ $row_addresses =~ ^([0-9a-f]{2}:){5}[0-9a-f]{2}\ 10\.80\.[0-9]+\.[0-9]+$ ]] ||
        die "$who, $n ports present: port $row_name: addresses '$row_addresses', not 'MAC 10.80.x.y'"
    [ "$row_dhcp" = "$dhcp" ] || die "$who, $n ports present: port $row_name: dhcpv4_options '$row_dhcp', not $dhcp"
    if [ -n "${port:-}" ]; then
        [ "$row_name" = "$port" ] || die "$who, $n ports present: port $row_name, expected $port"
        [ "$row_addresses" = "$address" ] || die "$who, $n ports present: port $port: addresses '$row_addresses', expected '$address'"
    fi
    if [ "$isolated" = 1 ]; then
        groups=$(port_groups "$row_uuid")
        [ -n "$groups" ] || die "$who, $n ports present: port $row_name is in no Port_Group, with isolate_guests = true" \
            "($why; BENCH_OVN_ISOLATE=0 measures without it)"
        [ -z "${port:-}" ] || [ "$groups" = "$pgs" ] ||
            die "$who, $n ports present: port $row_name is in port groups ${groups//$'\n'/ }, ours in ${pgs//$'\n'/ }"
        last_groups=$groups
    fi
}
# check_gone WHO NAME: no port NAME any more.
check_gone() {
    [ -z "$(nbctl --bare --columns=_uuid find Logical_Switch_Port "name=$2")" ] ||
        die "$1, $n ports present: port $2 is still there after its removal"
}

# ours_add FILE: define with the new link (timed, the microseconds go to
# FILE), check its port, define without it (untimed), check it is gone.
ours_add() {
    local t0 t1
    cp "$work/new.conf" "$defs/20-new.conf"
    t0=$(us_now)
    cn define >"$work/out" 2>&1 || die "ours, $n ports present: define with link $new_machine eth0 failed: $(cat "$work/out")"
    t1=$(us_now)
    echo $((t1 - t0)) >>"$1"
    check_port ours "external_ids:\"carthage-net:machine\"=$new_machine"
    rm -f "$defs/20-new.conf"
    cn define >"$work/out" 2>&1 || die "ours, $n ports present: define without link $new_machine eth0 failed: $(cat "$work/out")"
    check_gone ours "$row_name"
}
# baseline_add FILE: the same port (name, MAC, address) with ovn-nbctl,
# one invocation; then lsp-del.
baseline_add() {
    local t0 t1 cmd pg
    cmd=(ovn-nbctl --db="$NB" lsp-add bench "$port" -- lsp-set-addresses "$port" "$address"
        -- lsp-set-port-security "$port" "$address" -- lsp-set-dhcpv4-options "$port" "$dhcp")
    if [ "$isolated" = 1 ]; then
        # The new row, by the UUID this transaction gives it; `add`
        # mutates the group's set (pg-set-ports would rewrite all of it).
        cmd+=(-- --id=@p get Logical_Switch_Port "$port")
        for pg in $pgs; do cmd+=(-- add Port_Group "$pg" ports @p); done
    fi
    t0=$(us_now)
    "${cmd[@]}" >"$work/out" 2>&1 || die "ovn-nbctl, $n ports present: adding port $port failed: $(cat "$work/out")"
    t1=$(us_now)
    echo $((t1 - t0)) >>"$1"
    check_port ovn-nbctl "name=$port"
    nbctl lsp-del "$port" >"$work/out" 2>&1 || die "ovn-nbctl lsp-del $port failed: $(cat "$work/out")"
    check_gone ovn-nbctl "$port"
}

echo "carthage-net OVN benchmark: adding one guest to network bench (10.80.0.0/16, pool over it) with N ports present; counts: $counts"
echo "database: a private ovsdb-server ($(ovsdb-server --version | head -1)), OVN_Northbound $(ovsdb-tool schema-version "$schema"), on $NB"
echo "baseline: $(ovn-nbctl --version | head -1), one invocation per guest"
echo "isolate_guests: $isolated_word ($why)"
echo "repetitions: $repeat of each side per count, alternating; nproc: $(nproc); kernel: $(uname -r)"

: >"$work/results"
started=$SECONDS
for n in $counts; do
    # Bring the database to N links (untimed but reported), and check it.
    rm -f "$defs/20-new.conf"
    links_conf "$n" >"$defs/10-links.conf"
    t0=$(us_now)
    cn define >"$work/out" 2>&1 || die "define of $n links failed: $(tail -5 "$work/out")"
    t1=$(us_now)
    prefill_ms=$(((t1 - t0) / 1000))
    got=$(switch_ports)
    # N links and the network's DHCP and DNS localport.
    [ "$got" = $((n + 1)) ] || die "switch bench has $got ports after defining $n links, expected $((n + 1))"
    dhcp=$(nbctl --bare --columns=_uuid find DHCP_Options 'external_ids:"carthage-net:network"=bench')
    [[ $dhcp =~ ^[0-9a-f-]{36}$ ]] || die "not one DHCP_Options row of network bench: '$dhcp'"

    # A first addition of each side, untimed: ours tells the port's name,
    # address and groups, which the baseline then uses.
    port='' address='' pgs=''
    ours_add "$work/warm"
    port=$row_name address=$row_addresses pgs=${last_groups:-}
    baseline_add "$work/warm"

    : >"$work/ours-$n"
    : >"$work/baseline-$n"
    for ((r = 1; r <= repeat; r++)); do
        # Alternate which side goes first.
        if [ $((r % 2)) = 1 ]; then
            ours_add "$work/ours-$n"; baseline_add "$work/baseline-$n"
        else
            baseline_add "$work/baseline-$n"; ours_add "$work/ours-$n"
        fi
    done
    got=$(switch_ports)
    [ "$got" = $((n + 1)) ] || die "switch bench has $got ports after the additions and removals, expected $((n + 1))"
    o=$(median_ms "$work/ours-$n") b=$(median_ms "$work/baseline-$n")
    echo "$n $o $b $prefill_ms" >>"$work/results"
    printf '%s port%s present: prefill (one define of %s link%s) %s ms; add a guest: ours %s ms, ovn-nbctl %s ms (medians of %s)\n' \
        "$n" "$([ "$n" = 1 ] || echo s)" "$n" "$([ "$n" = 1 ] || echo s)" "$prefill_ms" "$o" "$b" "$repeat"
done
took=$((SECONDS - started))

echo
printf '%14s %12s %16s %24s %18s\n' "ports present" "ours (ms)" "ovn-nbctl (ms)" "ratio (ovn-nbctl/ours)" "prefill (ms)"
while read -r n o b pre; do
    printf '%14s %12s %16s %24s %18s\n' "$n" "$o" "$b" "$(ratio "$b" "$o")" "$pre"
done <"$work/results"
echo "(medians of $repeat; wall clock, process start included; isolate_guests: $isolated_word;"
echo " prefill: the one untimed define that brought the database to N links)"
echo "ours: carthage-net -d DEFS define after one more [link] (reads the network's rows, plans, one transaction);"
echo "ovn-nbctl: lsp-add + lsp-set-addresses + lsp-set-port-security + lsp-set-dhcpv4-options$([ "$isolated" = 1 ] && echo ' + add Port_Group ... ports') in one invocation"
echo "run time: $took s"

# The result lines (BENCH_FORMAT=tsv): measure, ours, baseline, unit,
# repetitions; and one "#<TAB>repetitions<TAB>text" line.
{
    [ "$isolated" = 1 ] && suffix=", isolated" || suffix=
    while read -r n o b _; do
        printf 'ovn: add a guest, %s port%s present%s\t%s\t%s\tms\t%s\n' "$n" "$([ "$n" = 1 ] || echo s)" "$suffix" "$o" "$b" "$repeat"
    done <"$work/results"
    printf '#\trepetitions\tovn: %s per side per count, medians (isolate_guests: %s)\n' "$repeat" "$isolated_word"
} >&3
