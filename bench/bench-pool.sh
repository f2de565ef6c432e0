#!/usr/bin/env bash
# bench-pool.sh - making (and deleting) a pool of TAPs: `carthage-net pool
# create` (/dev/net/tun ioctls + libnl, one process) against the shell
# loop it replaces (`ip tuntap add` + `ip link set`, two processes per
# TAP), side by side, inside a network namespace of its own.  Run as root:
#
#   bash bench/bench-pool.sh
#
# Environment: BENCH_REPEAT (repetitions of each side, default 3),
# BENCH_TAPS (TAPs in the pool, default 1000), BENCH_ISOLATED=1 (the
# network isolates guests: ours sets the bridge port isolated flag, the
# baseline adds `bridge link set dev tN isolated on`), BENCH_FORMAT=tsv
# (results as tab-separated lines on stdout, for bench/run-all.sh; the
# human output goes to stderr then).  Exits non-zero only when something
# failed, never because of the timings.
set -u
top=$(cd "${top_srcdir:-$(dirname "$0")/..}" && pwd)
build=${top_builddir:-$top/build}
repeat=${BENCH_REPEAT:-3}
taps=${BENCH_TAPS:-1000}
isolated=${BENCH_ISOLATED:-0}
format=${BENCH_FORMAT:-text}

die() { echo "bench-pool: $*" >&2; exit 1; }
case $repeat in '' | *[!0-9]* | 0) die "BENCH_REPEAT must be a positive number, not '$repeat'" ;; esac
case $taps in '' | *[!0-9]* | 0) die "BENCH_TAPS must be a positive number, not '$taps'" ;; esac
[ "$taps" -le 4096 ] || die "BENCH_TAPS is at most 4096 (a pool's size)"
case $format in text | tsv) ;; *) die "BENCH_FORMAT must be text or tsv, not '$format'" ;; esac
[ "$(id -u)" = 0 ] || die "needs root (network namespace, TAP devices)"
[ -x "$build/carthage-net" ] || die "no $build/carthage-net (build first, or set top_builddir)"
for tool in ip bridge; do command -v "$tool" >/dev/null || die "$tool not installed"; done

# --- outside: make the namespace, run this script again inside it.
. "$top/tests/lib/system.sh"
reexec_in_namespace CN_BENCH_NETNS cn-bench "$@"

# --- inside the namespace
# BENCH_FORMAT=tsv: the result lines go to fd 3 (stdout), everything else
# to stderr; otherwise fd 3 goes nowhere.
if [ "$format" = tsv ]; then exec 3>&1 1>&2; else exec 3>/dev/null; fi
work=$(mktemp -d "${TMPDIR:-/tmp}/cn-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM HUP
bridge=cnbbr0
mtu=1400
prefix=cnbp
[ "$isolated" = 1 ] && isolate=true || isolate=false
cat >"$work/defs.conf" <<EOF
[network bench]
technology = bridge
bridge_name = $bridge
isolate_guests = $isolate
mtu = $mtu

[pool bench]
size = $taps
net = bench
prefix = $prefix
EOF
cn() { "$build/carthage-net" -f "$work/defs.conf" --state-dir "$work/state" "$@"; }
ip link add "$bridge" type bridge && ip link set "$bridge" up || die "cannot make bridge $bridge"
cn validate >/dev/null || die "invalid definitions: $(cn validate 2>&1)"

now_ns() { date +%s%N; }
# count PREFIX: links named PREFIX<digits> on the bridge with the MTU, up.
count() {
    ip -o link show master "$bridge" | grep -Ec "^[0-9]+: $1[0-9]+: <([A-Z_-]+,)*UP(,[A-Z_-]+)*> mtu $mtu "
}
# remaining PREFIX: links named PREFIX<digits> at all.
remaining() { ip -o link show | grep -Ec "^[0-9]+: $1[0-9]+[:@]"; }

# Each run_* appends one duration in ms to $work/<side>-<measure>.
run_ours() {
    local t0 t1
    t0=$(now_ns)
    cn pool create bench >"$work/out" 2>&1 || die "pool create failed: $(cat "$work/out")"
    t1=$(now_ns)
    echo $(((t1 - t0) / 1000000)) >>"$work/ours-create"
    [ "$(count "$prefix")" = "$taps" ] || die "pool create: $(count "$prefix") of $taps TAPs up on $bridge"
    t0=$(now_ns)
    cn pool dispose bench >"$work/out" 2>&1 || die "pool dispose failed: $(cat "$work/out")"
    t1=$(now_ns)
    echo $(((t1 - t0) / 1000000)) >>"$work/ours-delete"
    [ "$(remaining "$prefix")" = 0 ] || die "pool dispose left $(remaining "$prefix") TAPs"
}
run_baseline() {
    local t0 t1 i
    t0=$(now_ns)
    for ((i = 0; i < taps; i++)); do
        ip tuntap add dev "t$i" mode tap vnet_hdr &&
            ip link set "t$i" mtu "$mtu" master "$bridge" up || die "baseline: cannot make t$i"
        if [ "$isolated" = 1 ]; then
            bridge link set dev "t$i" isolated on || die "baseline: cannot isolate t$i"
        fi
    done
    t1=$(now_ns)
    echo $(((t1 - t0) / 1000000)) >>"$work/baseline-create"
    [ "$(count t)" = "$taps" ] || die "baseline: $(count t) of $taps TAPs up on $bridge"
    t0=$(now_ns)
    for ((i = 0; i < taps; i++)); do
        ip tuntap del dev "t$i" mode tap || die "baseline: cannot delete t$i"
    done
    t1=$(now_ns)
    echo $(((t1 - t0) / 1000000)) >>"$work/baseline-delete"
    [ "$(remaining t)" = 0 ] || die "baseline: $(remaining t) TAPs left"
}

# median FILE: the median of the numbers in FILE (one a line).
median() {
    sort -n "$1" | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print int((v[NR / 2] + v[NR / 2 + 1]) / 2 + 0.5) }'
}
ratio() { awk -v b="$1" -v o="$2" 'BEGIN { if (o > 0) printf "%.1f", b / o; else print "-" }'; }
per_tap_us() { awk -v ms="$1" -v n="$taps" 'BEGIN { printf "%.0f", ms * 1000 / n }'; }

echo "carthage-net pool benchmark: $taps TAPs on a Linux bridge (MTU $mtu, isolated: $isolate)"
echo "repetitions: $repeat of each side, alternating; nproc: $(nproc); kernel: $(uname -r)"
for ((r = 1; r <= repeat; r++)); do
    # Alternate which side goes first, so neither always runs on a warm kernel.
    if [ $((r % 2)) = 1 ]; then run_ours; run_baseline; else run_baseline; run_ours; fi
    printf 'repetition %d: create ours %s ms, baseline %s ms; delete ours %s ms, baseline %s ms\n' "$r" \
        "$(tail -1 "$work/ours-create")" "$(tail -1 "$work/baseline-create")" \
        "$(tail -1 "$work/ours-delete")" "$(tail -1 "$work/baseline-delete")"
done

echo
printf '%-20s %14s %18s %22s\n' measure "ours (ms)" "baseline (ms)" "ratio (baseline/ours)"
for m in create delete; do
    o=$(median "$work/ours-$m") b=$(median "$work/baseline-$m")
    printf '%-20s %14s %18s %22s\n' "$m $taps TAPs" "$o" "$b" "$(ratio "$b" "$o")"
done
echo "(medians of $repeat; wall clock, including process start)"
echo
printf '%-20s %14s %18s\n' "per TAP" "ours (µs)" "baseline (µs)"
for m in create delete; do
    printf '%-20s %14s %18s\n' "$m" "$(per_tap_us "$(median "$work/ours-$m")")" \
        "$(per_tap_us "$(median "$work/baseline-$m")")"
done

# The result lines (BENCH_FORMAT=tsv): measure, ours, baseline, unit,
# repetitions; and one "#<TAB>repetitions<TAB>text" line.
{
    [ "$isolated" = 1 ] && suffix=", isolated" || suffix=
    for m in create delete; do
        printf 'pool: %s %s TAPs%s\t%s\t%s\tms\t%s\n' "$m" "$taps" "$suffix" \
            "$(median "$work/ours-$m")" "$(median "$work/baseline-$m")" "$repeat"
    done
    printf '#\trepetitions\tpool: %s per side, medians (%s TAPs, isolated: %s)\n' "$repeat" "$taps" "$isolate"
} >&3
