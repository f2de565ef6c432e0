#!/usr/bin/env bash
# bench-isolation.sh - isolating one more guest when N are isolated
# already: the nftables isolation engine (one netlink batch of set
# elements per guest, bench/bench-isolation.c) against taskcluster-
# worker's per-TAP rules (4 `ip` and 35 `iptables` execs per TAP), at
# N = 1, 100, 1000 and 4000, inside a network namespace of its own.
# Run as root:
#
#   bash bench/bench-isolation.sh
#
# Environment: BENCH_COUNTS (the counts N, default "1 100 1000 4000"),
# BENCH_SAMPLES (guests added and removed one at a time per count, ours,
# default 200), BENCH_BASELINE_SAMPLES (TAPs added one at a time per
# count, baseline, default 5), BENCH_FORMAT=tsv (results as tab-separated
# lines on stdout, for bench/run-all.sh; the human output goes to stderr
# then), BENCH_IPV6=pinned (the network pins guest IPv6: each guest's
# link-local and SLAAC addresses are elements too).  Exits non-zero only when something failed, never because of
# the timings.
set -u
top=$(cd "${top_srcdir:-$(dirname "$0")/..}" && pwd)
build=${top_builddir:-$top/build}
counts=${BENCH_COUNTS:-1 100 1000 4000}
samples=${BENCH_SAMPLES:-200}
bsamples=${BENCH_BASELINE_SAMPLES:-5}
format=${BENCH_FORMAT:-text}

die() { echo "bench-isolation: $*" >&2; exit 1; }
positive() { case $1 in '' | *[!0-9]* | 0*) return 1 ;; esac; }
positive "$samples" || die "BENCH_SAMPLES must be a positive number, not '$samples'"
positive "$bsamples" || die "BENCH_BASELINE_SAMPLES must be a positive number, not '$bsamples'"
case $format in text | tsv) ;; *) die "BENCH_FORMAT must be text or tsv, not '$format'" ;; esac
counts=${counts//,/ }
[ -n "${counts// /}" ] || die "BENCH_COUNTS has no count"
for n in $counts; do
    positive "$n" || die "BENCH_COUNTS must be positive numbers, not '$n'"
    # Baseline TAP subnets are 100.64.0.0/24 .. 100.127.255.0/24.
    [ $((n + bsamples)) -le 16384 ] || die "BENCH_COUNTS: $n + $bsamples baseline TAPs do not fit in 100.64.0.0/10"
done
[ "$(id -u)" = 0 ] || die "needs root (network namespace, nftables)"
for lib in libcn-host.a libcn-core.a; do
    [ -f "$build/src/$lib" ] || die "no $build/src/$lib (build first: make -C build, or set top_builddir)"
done
for tool in ip cc pkg-config awk; do command -v "$tool" >/dev/null || die "$tool not installed"; done
pkgs="libnftnl libmnl libnl-3.0 libnl-route-3.0 glib-2.0"
# shellcheck disable=SC2086
pkg-config --exists $pkgs || die "pkg-config does not find all of: $pkgs"

# --- outside: make the namespace, run this script again inside it.
. "$top/tests/lib/system.sh"
reexec_in_namespace CN_BENCH_NETNS cn-bench-iso "$@"

# --- inside the namespace (every command below sees only its netfilter)
# BENCH_FORMAT=tsv: the result lines go to fd 3 (stdout), everything else
# to stderr; otherwise fd 3 goes nowhere.
if [ "$format" = tsv ]; then exec 3>&1 1>&2; else exec 3>/dev/null; fi
work=$(mktemp -d "${TMPDIR:-/tmp}/cn-bench-iso.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM HUP
bridge=cnbench0
{ ip link add "$bridge" type bridge && ip link set "$bridge" up; } || die "cannot make bridge $bridge"

includes=
for dir in "$top"/src/*/; do includes="$includes -I${dir%/}"; done
# shellcheck disable=SC2086,SC2046 # one -I per module folder; pkg-config's words
cc -O2 -std=gnu11 -Wall $includes -I"$build" $(pkg-config --cflags $pkgs) \
    "$top/bench/bench-isolation.c" -o "$work/bench-isolation" \
    "$build/src/libcn-host.a" "$build/src/libcn-core.a" $(pkg-config --libs $pkgs) \
    >"$work/cc.log" 2>&1 || die "cannot build bench-isolation.c: $(cat "$work/cc.log")"

# --- the baseline: taskcluster-worker's QEMU engine, engines/qemu/network/
# (pool.go createNetwork: 4 `ip` commands; iptables.go ipTableRules: 35
# `iptables -w 3` commands), one exec per command as its script() does.
# A TAP's subnet there is 192.168.(150+i).0/24, at most 100 of them; here
# 100.(64+i/256).(i%256).0/24 so that 4,000 fit.  Each template line is
# a table and the arguments after `iptables -w 3 [-t nat]`; @T is the
# TAP, @P the subnet's first three octets; in taskcluster's order.
cat >"$work/rules.tpl" <<'EOF'
nat -A POSTROUTING -o eth0 -s @P.0/24 -j MASQUERADE
filter -N input_@T
filter -N output_@T
filter -N fwd_input_@T
filter -N fwd_output_@T
filter -A INPUT -i @T -j input_@T
filter -A OUTPUT -o @T -j output_@T
filter -A FORWARD -i @T -j fwd_input_@T
filter -A FORWARD -o @T -j fwd_output_@T
filter -A input_@T -p tcp -s @P.0/24 -d 169.254.169.254 -m tcp --dport 80 -m state --state NEW,ESTABLISHED -j ACCEPT
filter -A input_@T -p tcp -s @P.0/24 -d @P.1 -m tcp --dport 53 -m state --state NEW,ESTABLISHED -j ACCEPT
filter -A input_@T -p udp -s @P.0/24 -d @P.1 -m udp --dport 53 -m state --state NEW,ESTABLISHED -j ACCEPT
filter -A input_@T -s 0.0.0.0 -d 255.255.255.255 -p udp -m udp --sport 68 --dport 67 -j ACCEPT
filter -A input_@T -s @P.0/24 -d @P.1 -p udp -m udp --sport 68 --dport 67 -j ACCEPT
filter -A input_@T -s @P.0/24 -d 169.254.169.254 -j REJECT --reject-with icmp-port-unreachable
filter -A input_@T -j REJECT --reject-with icmp-host-unreachable
filter -A output_@T -p tcp -s 169.254.169.254 -d @P.0/24 -m tcp --sport 80 -m state --state ESTABLISHED -j ACCEPT
filter -A output_@T -p udp -s @P.1 -d @P.0/24 -m udp --sport 53 -m state --state ESTABLISHED -j ACCEPT
filter -A output_@T -p tcp -s @P.1 -d @P.0/24 -m tcp --sport 53 -m state --state ESTABLISHED -j ACCEPT
filter -A output_@T -p udp -s @P.1 -m udp --sport 67 --dport 68 -j ACCEPT
filter -A output_@T -j REJECT --reject-with icmp-net-prohibited
filter -A fwd_output_@T -s 10.0.0.0/8 -j DROP
filter -A fwd_output_@T -s 172.16.0.0/12 -j DROP
filter -A fwd_output_@T -s 169.254.0.0/16 -j DROP
filter -A fwd_output_@T -s 192.168.0.0/16 -j DROP
filter -A fwd_output_@T -i eth0 -d @P.0/24 -m state --state RELATED,ESTABLISHED -j ACCEPT
filter -A fwd_output_@T -i @T -s @P.0/24 -j ACCEPT
filter -A fwd_output_@T -j DROP
filter -A fwd_input_@T -d 10.0.0.0/8 -j REJECT --reject-with icmp-net-unreachable
filter -A fwd_input_@T -d 172.16.0.0/12 -j REJECT --reject-with icmp-net-unreachable
filter -A fwd_input_@T -d 169.254.0.0/16 -j REJECT --reject-with icmp-net-unreachable
filter -A fwd_input_@T -d 192.168.0.0/16 -j REJECT --reject-with icmp-net-unreachable
filter -A fwd_input_@T -o eth0 -s @P.0/24 -j ACCEPT
filter -A fwd_input_@T -o @T -s @P.0/24 -j ACCEPT
filter -A fwd_input_@T -j REJECT --reject-with icmp-net-prohibited
EOF
per_tap_rules=$(grep -c . "$work/rules.tpl")
filter_appends=$(grep -c '^filter -A' "$work/rules.tpl")
nat_appends=$(grep -c '^nat -A' "$work/rules.tpl")
[ "$per_tap_rules" = 35 ] || die "the rule template has $per_tap_rules commands, not taskcluster's 35"

tap_prefix() { echo "100.$((64 + $1 / 256)).$(($1 % 256))"; }

# restore_text FIRST COUNT: iptables-restore input for TAPs tFIRST.. (the
# same rules in the same order as one exec each would leave).
restore_text() {
    awk -v first="$1" -v n="$2" '
        { table[NR] = $1; $1 = ""; rule[NR] = substr($0, 2) }
        function sub_tap(s, i) {
            gsub(/@T/, "t" i, s)
            gsub(/@P/, "100." (64 + int(i / 256)) "." (i % 256), s)
            return s
        }
        END {
            print "*nat"
            for (i = first; i < first + n; i++)
                for (r = 1; r <= NR; r++)
                    if (table[r] == "nat") print sub_tap(rule[r], i)
            print "COMMIT"
            print "*filter"
            for (i = first; i < first + n; i++)
                for (r = 1; r <= NR; r++)
                    if (table[r] == "filter" && rule[r] ~ /^-N /) print ":" sub_tap(substr(rule[r], 4), i) " - [0:0]"
            for (i = first; i < first + n; i++)
                for (r = 1; r <= NR; r++)
                    if (rule[r] ~ /^-A /) { if (table[r] == "filter") print sub_tap(rule[r], i) }
            print "COMMIT"
        }' "$work/rules.tpl"
}

# tc_add_tap NAME PREFIX: one TAP the way taskcluster-worker makes it.
tc_add_tap() {
    local - table rule
    set -f # the rules are split into words, never globbed
    ip tuntap add dev "$1" mode tap &&
        ip addr add "$2.1" dev "$1" &&
        ip link set dev "$1" up &&
        ip route add "$2.0/24" dev "$1" || return 1
    while read -r table rule; do
        rule=${rule//@T/$1}
        rule=${rule//@P/$2}
        if [ "$table" = nat ]; then
            # shellcheck disable=SC2086
            iptables -w 3 -t nat $rule || return 1
        else
            # shellcheck disable=SC2086
            iptables -w 3 $rule || return 1
        fi
    done <"$work/rules.tpl"
}

# Empties the filter and nat tables (iptables-restore without --noflush
# flushes each table it names and deletes its chains) and the TAPs.
baseline_reset() {
    printf '*filter\nCOMMIT\n*nat\nCOMMIT\n' | iptables-restore || die "baseline: cannot flush the iptables tables"
    ip -o link show | awk -F': ' '$2 ~ /^t[0-9]+(@|$)/ { sub(/@.*/, "", $2); print $2 }' |
        while read -r tap; do ip tuntap del dev "$tap" mode tap || exit 1; done ||
        die "baseline: cannot delete the TAPs"
}

us_now() { local t=$EPOCHREALTIME; echo "${t/./}"; }

# run_baseline N: prefill N TAPs' rules with one restore, then add
# BSAMPLES TAPs the taskcluster way; appends "N RESTORE_MS MEDIAN_MS".
run_baseline() {
    local n=$1 t0 t1 i restore_ms
    restore_text 0 "$n" >"$work/restore.txt"
    t0=$(us_now)
    iptables-restore --noflush <"$work/restore.txt" 2>"$work/restore.err" ||
        die "baseline: iptables-restore of $n TAPs' rules failed: $(head -5 "$work/restore.err")"
    t1=$(us_now)
    restore_ms=$(awk -v d=$((t1 - t0)) 'BEGIN { printf "%.0f", d / 1000 }')
    : >"$work/baseline-$n"
    for ((i = n; i < n + bsamples; i++)); do
        t0=$(us_now)
        tc_add_tap "t$i" "$(tap_prefix "$i")" 2>"$work/tap.err" ||
            die "baseline: adding TAP t$i (after $n) failed: $(cat "$work/tap.err")"
        t1=$(us_now)
        echo $((t1 - t0)) >>"$work/baseline-$n"
    done
    # Check what it made: every TAP's rules, and the sample TAPs up.
    local total=$((n + bsamples)) got
    got=$(iptables-save -t filter | grep -c '^-A')
    [ "$got" = $((total * filter_appends)) ] ||
        die "baseline: $got filter rules after $total TAPs, expected $((total * filter_appends))"
    got=$(iptables-save -t nat | grep -c '^-A')
    [ "$got" = $((total * nat_appends)) ] ||
        die "baseline: $got nat rules after $total TAPs, expected $((total * nat_appends))"
    got=$(ip -o link show up | grep -Ec '^[0-9]+: t[0-9]+: ')
    [ "$got" = "$bsamples" ] || die "baseline: $got of $bsamples sample TAPs up"
    echo "$n $restore_ms $(median_ms "$work/baseline-$n")" >>"$work/baseline"
    echo "bench-isolation: baseline $n TAPs: restore $restore_ms ms; add median $(median_ms "$work/baseline-$n") ms per TAP ($bsamples)" >&2
    baseline_reset
}

# median_ms FILE: the median of the microseconds in FILE, in ms.
median_ms() {
    sort -n "$1" | awk '{ v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.1f", m / 1000 }'
}

echo "carthage-net isolation benchmark: a metadata network on bridge $bridge, counts: $counts"
echo "repetitions per count: ours $samples additions and $samples removals (one call, one batch each);" \
    "baseline $bsamples TAPs; nproc: $(nproc); kernel: $(uname -r)"
if command -v iptables >/dev/null && command -v iptables-restore >/dev/null; then
    have_iptables=1
    echo "baseline: $(iptables --version) ($(command -v iptables) -> $(readlink -f "$(command -v iptables)"))"
else
    have_iptables=0
    echo "baseline: iptables is not installed (scripts/install-deps installs it): skipped"
fi

# --- ours: every count in one run of the program, then the tables go.
BENCH_COUNTS=$counts BENCH_SAMPLES=$samples BENCH_BRIDGE=$bridge "$work/bench-isolation" >"$work/ours" ||
    die "the nftables side failed"
if command -v nft >/dev/null && nft list tables | grep -q .; then
    die "tables left after the nftables side: $(nft list tables | tr '\n' ' ')"
fi

# --- the baseline
: >"$work/baseline"
if [ "$have_iptables" = 1 ]; then
    baseline_reset
    for n in $counts; do run_baseline "$n"; done
fi

# --- the table
echo
echo "ours: µs per call (cn_nft_guest_add / cn_nft_guest_remove); baseline: ms per TAP (4 ip + 35 iptables execs)"
printf '%7s %11s %11s %11s %11s %13s %15s\n' count "add median" "add p99" "rm median" "rm p99" "baseline ms" "baseline/add"
while read -r n am ap rm rp pre; do
    b=$(awk -v n="$n" '$1 == n { print $3; exit }' "$work/baseline")
    if [ -n "$b" ]; then
        ratio=$(awk -v b="$b" -v o="$am" 'BEGIN { if (o > 0) printf "%.0f", b * 1000 / o; else print "-" }')
    else
        b=- ratio=-
    fi
    printf '%7s %11s %11s %11s %11s %13s %15s\n' "$n" "$am" "$ap" "$rm" "$rp" "$b" "$ratio"
done <"$work/ours"
echo "(medians and nearest-rank p99 of each call, CLOCK_MONOTONIC; baseline: median of wall clock per TAP)"
echo
echo "prefill, all N at once (not per guest):"
printf '%7s %14s %22s\n' count "ours (ms)" "baseline restore (ms)"
while read -r n am ap rm rp pre; do
    b=$(awk -v n="$n" '$1 == n { print $2; exit }' "$work/baseline")
    printf '%7s %14s %22s\n' "$n" "$pre" "${b:--}"
done <"$work/ours"
echo "(ours: one cn_nft_network_apply batch; baseline: one iptables-restore --noflush of N TAPs' 35 rules)"
echo
echo "goal (the issue): well under 1 ms per guest at 4000 guests, flat as the count grows"

# The result lines (BENCH_FORMAT=tsv): measure, ours, baseline, unit,
# repetitions; and one "#<TAB>repetitions<TAB>text" line.  Per count:
# adding a guest (ours µs per call; the baseline's ms per TAP in µs),
# removing one (ours only: the baseline has no removal here), the prefill.
{
    while read -r n am ap rm rp pre; do
        b=$(awk -v n="$n" '$1 == n { printf "%.0f", $3 * 1000; exit }' "$work/baseline")
        printf 'isolation: add a guest, %s present\t%s\t%s\tµs\t%s/%s\n' "$n" "$am" "${b:--}" "$samples" "$bsamples"
    done <"$work/ours"
    while read -r n am ap rm rp pre; do
        printf 'isolation: remove a guest, %s present\t%s\t-\tµs\t%s\n' "$n" "$rm" "$samples"
    done <"$work/ours"
    while read -r n am ap rm rp pre; do
        b=$(awk -v n="$n" '$1 == n { print $2; exit }' "$work/baseline")
        printf 'isolation: prefill %s guest%s\t%s\t%s\tms\t1\n' "$n" "$([ "$n" = 1 ] || echo s)" "$pre" "${b:--}"
    done <"$work/ours"
    printf '#\trepetitions\tisolation: %s guests added and removed (ours) and %s TAPs added (baseline) per count, medians; prefill once\n' \
        "$samples" "$bsamples"
} >&3
