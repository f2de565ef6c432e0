#!/usr/bin/env bash
# bench-pool.sh - making (and deleting) a pool of TAPs: `carthage-net pool
# create` (/dev/net/tun ioctls + rtnetlink batches, one process) against
# the shell loop it replaces (`ip tuntap add` + `ip link set`, two
# processes per TAP) and against the kernel's floor (bench-pool-floor.c: a
# minimal C program doing only the ioctls and one netlink batch for the
# same TAPs); `pool dispose` (one interface group delete) against a loop
# of `ip link del` and against the floor's own group delete.  Side by
# side, inside a network namespace of its own.  Run as root:
#
#   bash bench/bench-pool.sh
#
# Environment: BENCH_REPEAT (repetitions of ours and the floor, default
# 5), BENCH_LOOP_REPEAT (repetitions of the ip loop, default the smaller
# of BENCH_REPEAT and 3: 40 s each, and its ratio is far from its aim),
# BENCH_TAPS (TAPs in the pool, default 1000), BENCH_ISOLATED=1 (the
# network isolates guests: ours sets the bridge port isolated flag, the
# baseline adds `bridge link set dev tN isolated on`), BENCH_FORMAT=tsv
# (results as tab-separated lines on stdout, for bench/run-all.sh; the
# human output goes to stderr then), BENCH_SETTLE (seconds of pause before
# each timed step, default 1: deletes leave the kernel work to finish).  Exits non-zero only when something
# failed, never because of the timings.
set -u
top=$(cd "${top_srcdir:-$(dirname "$0")/..}" && pwd)
build=${top_builddir:-$top/build}
repeat=${BENCH_REPEAT:-5}
taps=${BENCH_TAPS:-1000}
isolated=${BENCH_ISOLATED:-0}
format=${BENCH_FORMAT:-text}
settle_s=${BENCH_SETTLE:-1}

die() { echo "bench-pool: $*" >&2; exit 1; }
case $repeat in '' | *[!0-9]* | 0*) die "BENCH_REPEAT must be a positive number, not '$repeat'" ;; esac
loop_repeat=${BENCH_LOOP_REPEAT:-$((repeat < 3 ? repeat : 3))}
case $loop_repeat in '' | *[!0-9]* | 0*) die "BENCH_LOOP_REPEAT must be a positive number, not '$loop_repeat'" ;; esac
[ "$loop_repeat" -le "$repeat" ] || die "BENCH_LOOP_REPEAT ($loop_repeat) is at most BENCH_REPEAT ($repeat)"
case $taps in '' | *[!0-9]* | 0) die "BENCH_TAPS must be a positive number, not '$taps'" ;; esac
[ "$taps" -le 4096 ] || die "BENCH_TAPS is at most 4096 (a pool's size)"
case $format in text | tsv) ;; *) die "BENCH_FORMAT must be text or tsv, not '$format'" ;; esac
case $settle_s in '' | *[!0-9.]*) die "BENCH_SETTLE must be a number of seconds, not '$settle_s'" ;; esac
[ "$(id -u)" = 0 ] || die "needs root (network namespace, TAP devices)"
[ -x "$build/carthage-net" ] || die "no $build/carthage-net (build first, or set top_builddir)"
for tool in ip bridge cc pkg-config; do command -v "$tool" >/dev/null || die "$tool not installed"; done
pkg-config --exists libmnl || die "pkg-config does not find libmnl (libmnl-dev)"

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
# The floor program, built here.
# shellcheck disable=SC2046 # pkg-config's words
cc -O2 -std=gnu11 -Wall $(pkg-config --cflags libmnl) "$top/bench/bench-pool-floor.c" -o "$work/floor" \
    $(pkg-config --libs libmnl) >"$work/cc.log" 2>&1 || die "cannot build bench-pool-floor.c: $(cat "$work/cc.log")"
floor_group=4242 # bench-pool-floor.c's interface group
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
elapsed_ms() { echo $((($(now_ns) - $1) / 1000000)); }
# Deleting devices leaves the kernel work to finish in the background
# (RCU callbacks, freeing), which would land on whatever is timed next:
# each timed step starts after a pause instead.
settle() { sleep "$settle_s"; }
run_ours() {
    local t0
    settle
    t0=$(now_ns)
    cn pool create bench >"$work/out" 2>&1 || die "pool create failed: $(cat "$work/out")"
    elapsed_ms "$t0" >>"$work/ours-create"
    [ "$(count "$prefix")" = "$taps" ] || die "pool create: $(count "$prefix") of $taps TAPs up on $bridge"
    settle
    t0=$(now_ns)
    cn pool dispose bench >"$work/out" 2>&1 || die "pool dispose failed: $(cat "$work/out")"
    elapsed_ms "$t0" >>"$work/ours-delete"
    [ "$(remaining "$prefix")" = 0 ] || die "pool dispose left $(remaining "$prefix") TAPs"
}
# The floor: the same TAPs (owner as ours gives them), one process each way.
owner_uid=$(id -u libvirt-qemu 2>/dev/null || echo -1)
run_floor() {
    local t0
    settle
    t0=$(now_ns)
    "$work/floor" create f "$taps" "$bridge" "$mtu" "$isolated" "$owner_uid" >"$work/out" 2>&1 ||
        die "floor create failed: $(cat "$work/out")"
    elapsed_ms "$t0" >>"$work/floor-create"
    [ "$(count f)" = "$taps" ] || die "floor: $(count f) of $taps TAPs up on $bridge"
    settle
    t0=$(now_ns)
    "$work/floor" delete "$floor_group" >"$work/out" 2>&1 || die "floor delete failed: $(cat "$work/out")"
    elapsed_ms "$t0" >>"$work/floor-delete"
    [ "$(remaining f)" = 0 ] || die "floor: $(remaining f) TAPs left"
}
run_baseline() {
    local t0 i
    settle
    t0=$(now_ns)
    for ((i = 0; i < taps; i++)); do
        ip tuntap add dev "t$i" mode tap vnet_hdr &&
            ip link set "t$i" mtu "$mtu" master "$bridge" up || die "baseline: cannot make t$i"
        if [ "$isolated" = 1 ]; then
            bridge link set dev "t$i" isolated on || die "baseline: cannot isolate t$i"
        fi
    done
    elapsed_ms "$t0" >>"$work/baseline-create"
    [ "$(count t)" = "$taps" ] || die "baseline: $(count t) of $taps TAPs up on $bridge"
    settle
    t0=$(now_ns)
    for ((i = 0; i < taps; i++)); do
        ip link del dev "t$i" || die "baseline: cannot delete t$i"
    done
    elapsed_ms "$t0" >>"$work/baseline-delete"
    [ "$(remaining t)" = 0 ] || die "baseline: $(remaining t) TAPs left"
}

# median FILE: the median of the numbers in FILE (one a line).
median() {
    sort -n "$1" | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print int((v[NR / 2] + v[NR / 2 + 1]) / 2 + 0.5) }'
}
ratio() { awk -v b="$1" -v o="$2" 'BEGIN { if (o > 0) printf "%.2f", b / o; else print "-" }'; }
per_tap_us() { awk -v ms="$1" -v n="$taps" 'BEGIN { printf "%.0f", ms * 1000 / n }'; }

echo "carthage-net pool benchmark: $taps TAPs on a Linux bridge (MTU $mtu, isolated: $isolate)"
echo "repetitions: $repeat of ours and the floor, $loop_repeat of the ip loop, in turn; nproc: $(nproc);" \
    "kernel: $(uname -r)"
: >"$work/create-ratios"
for ((r = 1; r <= repeat; r++)); do
    # Rotate which side goes first, so none always runs on a warm kernel.
    sides=(run_ours run_floor)
    [ "$r" -le "$loop_repeat" ] && sides+=(run_baseline)
    for ((k = 0; k < ${#sides[@]}; k++)); do "${sides[(r + k) % ${#sides[@]}]}"; done
    if [ "$r" -le "$loop_repeat" ]; then
        loop="ip loop $(tail -1 "$work/baseline-create") ms" loop_delete="ip loop $(tail -1 "$work/baseline-delete") ms"
    else
        loop="no ip loop" loop_delete="no ip loop"
    fi
    printf '%s\n' "$(ratio "$(tail -1 "$work/ours-create")" "$(tail -1 "$work/floor-create")")" >>"$work/create-ratios"
    printf 'repetition %d: create ours %s ms, floor %s ms (%sx), %s; delete ours %s ms, floor %s ms, %s\n' \
        "$r" "$(tail -1 "$work/ours-create")" "$(tail -1 "$work/floor-create")" "$(tail -1 "$work/create-ratios")" \
        "$loop" "$(tail -1 "$work/ours-delete")" "$(tail -1 "$work/floor-delete")" "$loop_delete"
done

echo
printf '%-20s %12s %12s %14s %14s %14s\n' measure "floor (ms)" "ours (ms)" "ip loop (ms)" "ours/floor" "ip loop/ours"
for m in create delete; do
    f=$(median "$work/floor-$m") o=$(median "$work/ours-$m") b=$(median "$work/baseline-$m")
    printf '%-20s %12s %12s %14s %14s %14s\n' "$m $taps TAPs" "$f" "$o" "$b" "$(ratio "$o" "$f")" "$(ratio "$b" "$o")"
done
echo "(medians of $repeat, the ip loop's of $loop_repeat; wall clock, including process start; floor: bench-pool-floor.c,"
echo " the ioctls and one netlink batch to create, one group delete to delete; ip loop: ip tuntap add + ip link set,"
echo " ip link del; create, ours/floor in each repetition: from $(sort -n "$work/create-ratios" | head -1)" \
    "to $(sort -n "$work/create-ratios" | tail -1))"
echo
printf '%-20s %12s %12s %14s\n' "per TAP" "floor (µs)" "ours (µs)" "ip loop (µs)"
for m in create delete; do
    printf '%-20s %12s %12s %14s\n' "$m" "$(per_tap_us "$(median "$work/floor-$m")")" \
        "$(per_tap_us "$(median "$work/ours-$m")")" "$(per_tap_us "$(median "$work/baseline-$m")")"
done

# The result lines (BENCH_FORMAT=tsv): measure, ours, baseline, unit,
# repetitions; and one "#<TAB>repetitions<TAB>text" line.  Each measure
# twice: against the ip loop, and against the floor (there the ratio,
# floor/ours, is at most 1: 0.77 is ours at 1.3 times the floor).
{
    [ "$isolated" = 1 ] && suffix=", isolated" || suffix=
    [ "$loop_repeat" = "$repeat" ] && loop_reps=$repeat || loop_reps=$repeat/$loop_repeat
    for m in create delete; do
        printf 'pool: %s %s TAPs%s\t%s\t%s\tms\t%s\n' "$m" "$taps" "$suffix" \
            "$(median "$work/ours-$m")" "$(median "$work/baseline-$m")" "$loop_reps"
        printf 'pool: %s %s TAPs%s, vs the kernel floor\t%s\t%s\tms\t%s\n' "$m" "$taps" "$suffix" \
            "$(median "$work/ours-$m")" "$(median "$work/floor-$m")" "$repeat"
    done
    printf '#\trepetitions\tpool: %s of ours and the kernel floor (bench-pool-floor.c), %s of the ip loop, medians (%s TAPs, isolated: %s)\n' \
        "$repeat" "$loop_repeat" "$taps" "$isolate"
} >&3
