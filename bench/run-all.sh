#!/usr/bin/env bash
# run-all.sh - every benchmark of bench/ (bench-*.sh), one after the
# other, each side by side with its baseline inside a network namespace
# of its own, and one table of all their results: measure, ours,
# baseline, baseline/ours, unit; then a footer with the repetitions,
# nproc, the kernel and the date.  `make bench` runs it; as root:
#
#   sudo bash bench/run-all.sh            # every benchmark, about 5.5 minutes
#   sudo bash bench/run-all.sh pool hook  # only bench-pool.sh and bench-hook.sh
#
# Each benchmark runs with BENCH_FORMAT=tsv: its result lines (measure,
# ours, baseline, unit, repetitions, tab-separated) on its stdout, its own
# report on stderr, kept in a log.  The benchmarks' environment passes
# through; this script only sets defaults that keep the whole run near
# 5.5 minutes on a 2-core machine: BENCH_REPEAT=5 (bench-pool.sh: ours and
# the floor; its ip loop runs 3 times; bench-ovn.sh) and BENCH_TAPS=1000, BENCH_CALLS=300
# (bench-hook.sh, whose own default of 1000 takes 4 minutes alone);
# bench-isolation.sh keeps its defaults.
#
# Environment: top_srcdir (default: the directory above this script),
# top_builddir (default: $top_srcdir/build), BENCH_LOG_DIR (keep each
# benchmark's own output there, NAME.log and NAME.tsv; by default they go
# to a temporary directory that is deleted), and the benchmarks' own
# variables (bench/README.md).  Exits non-zero only when a benchmark
# failed (a command or a check), never because of the timings.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "${top_srcdir:-$here/..}" && pwd) || exit 1
build=${top_builddir:-$top/build}
[ -d "$build" ] || { echo "run-all: no build tree $build (set top_builddir)" >&2; exit 1; }
build=$(cd "$build" && pwd)
export top_srcdir=$top top_builddir=$build
export BENCH_REPEAT=${BENCH_REPEAT:-5}
export BENCH_TAPS=${BENCH_TAPS:-1000}
export BENCH_CALLS=${BENCH_CALLS:-300}

die() { echo "run-all: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (the benchmarks make network namespaces): sudo bash $0"

# The benchmarks: every bench/bench-*.sh, or bench-NAME.sh for each NAME given.
# (bench/README.md's order first, then any other in name order.)
scripts=()
if [ $# = 0 ]; then
    for f in "$top"/bench/bench-{pool,isolation,hook}.sh; do [ -f "$f" ] && scripts+=("$f"); done
    for f in "$top"/bench/bench-*.sh; do
        case ${f##*/} in bench-pool.sh | bench-isolation.sh | bench-hook.sh) continue ;; esac
        [ -f "$f" ] && scripts+=("$f")
    done
else
    for name in "$@"; do
        name=${name%.sh} name=${name#bench-}
        [ -f "$top/bench/bench-$name.sh" ] || die "no benchmark $top/bench/bench-$name.sh"
        scripts+=("$top/bench/bench-$name.sh")
    done
fi
[ ${#scripts[@]} -gt 0 ] || die "no benchmark in $top/bench"

work=$(mktemp -d "${TMPDIR:-/tmp}/cn-bench-all.XXXXXX") || die "cannot make a temporary directory"
trap 'rm -rf "$work"' EXIT
if [ -n "${BENCH_LOG_DIR:-}" ]; then
    mkdir -p "$BENCH_LOG_DIR" || die "cannot make $BENCH_LOG_DIR"
    logs=$(cd "$BENCH_LOG_DIR" && pwd)
else
    logs=$work
fi

# An interrupt stops the benchmark running (by its PID: its own traps
# stop what it started and delete its namespace), then this script.
child=
# shellcheck disable=SC2317 # (called by the trap)
stop() {
    if [ -n "$child" ]; then
        kill -TERM "$child" 2>/dev/null
        wait "$child"
    fi
    echo "run-all: interrupted" >&2
    exit 130
}
trap stop INT TERM HUP

started=$SECONDS
date=$(date -u '+%Y-%m-%d %H:%M UTC')
failed=()
: >"$work/all.tsv"
for script in "${scripts[@]}"; do
    name=$(basename "$script" .sh)
    echo "run-all: $name ..." >&2
    t0=$SECONDS
    BENCH_FORMAT=tsv bash "$script" >"$logs/$name.tsv" 2>"$logs/$name.log" </dev/null &
    child=$!
    wait "$child"
    rc=$?
    child=
    rows=$(grep -c -v '^#' "$logs/$name.tsv")
    if [ "$rc" != 0 ]; then
        echo "run-all: $name FAILED (exit status $rc) after $((SECONDS - t0)) s; the end of its output:" >&2
        tail -n 20 "$logs/$name.log" | sed 's/^/    /' >&2
        failed+=("$name")
        continue
    fi
    if [ "$rows" = 0 ] || awk -F'\t' '!/^#/ && NF != 5 { bad = 1 } END { exit !bad }' "$logs/$name.tsv"; then
        echo "run-all: $name FAILED: no result lines, or lines without 5 fields (does it know BENCH_FORMAT=tsv?)" >&2
        failed+=("$name")
        continue
    fi
    echo "run-all: $name done in $((SECONDS - t0)) s ($rows results)" >&2
    cat "$logs/$name.tsv" >>"$work/all.tsv"
done
took=$((SECONDS - started))

# --- the table (markdown, padded): the ratio is baseline/ours, above 1
# when ours is faster (or smaller); "-" where a side has no number.
grep -v '^#' "$work/all.tsv" | awk -F'\t' '
    function group(s,   int_part, rest, out) {
        if (s !~ /^[0-9]+(\.[0-9]+)?$/) return s
        int_part = s; rest = ""
        if (index(s, ".")) { int_part = substr(s, 1, index(s, ".") - 1); rest = substr(s, index(s, ".")) }
        out = ""
        while (length(int_part) > 3) {
            out = "," substr(int_part, length(int_part) - 2) out
            int_part = substr(int_part, 1, length(int_part) - 3)
        }
        return int_part out rest
    }
    function ratio(b, o,   r) {
        if (b !~ /^[0-9]+(\.[0-9]+)?$/ || o !~ /^[0-9]+(\.[0-9]+)?$/ || o + 0 == 0) return "-"
        r = b / o
        if (r >= 10) return group(sprintf("%.0f", r))
        if (r >= 1) return sprintf("%.1f", r)
        return sprintf(r >= 0.1 ? "%.2f" : "%.3f", r)
    }
    { printf "%s\t%s\t%s\t%s\t%s\n", $1, group($2), group($3), ratio($3, $2), $4 }' >"$work/rows"

# Padded to the widest cell, counting characters (µ is one), so the
# table reads in a terminal and renders as markdown.
(
    if locale -a 2>/dev/null | grep -qix 'c\.utf-\?8'; then export LC_ALL=C.UTF-8; fi
    headers=(measure ours baseline baseline/ours unit)
    align=(l r r r l)
    widths=()
    for i in 0 1 2 3 4; do widths[i]=${#headers[i]}; done
    while IFS=$'\t' read -r -a cell; do
        for i in 0 1 2 3 4; do [ ${#cell[i]} -le "${widths[i]}" ] || widths[i]=${#cell[i]}; done
    done <"$work/rows"
    pad() { # TEXT WIDTH ALIGN
        local fill
        printf -v fill '%*s' $(($2 - ${#1})) ''
        if [ "$3" = r ]; then printf '%s%s' "$fill" "$1"; else printf '%s%s' "$1" "$fill"; fi
    }
    line() {
        local i out='|'
        for i in 0 1 2 3 4; do out+=" $(pad "${1:-}" "${widths[i]}" "${align[i]}") |"; shift; done
        echo "$out"
    }
    line "${headers[@]}"
    sep='|'
    for i in 0 1 2 3 4; do
        dashes=$(printf '%*s' "${widths[i]}" '' | tr ' ' -)
        if [ "${align[i]}" = r ]; then sep+=" ${dashes%?}: |"; else sep+=" $dashes |"; fi
    done
    echo "$sep"
    while IFS=$'\t' read -r -a cell; do line "${cell[@]}"; done <"$work/rows"
)
reps=$(awk -F'\t' '$1 == "#" && $2 == "repetitions" { printf "%s%s", n++ ? "; " : "", $3 }' "$work/all.tsv")
echo
echo "repetitions: ${reps:-none}; nproc: $(nproc); kernel: $(uname -r); date: $date; run time: $took s"
if [ ${#failed[@]} -gt 0 ]; then
    echo "FAILED: ${failed[*]} (no rows above; see the messages on stderr)"
    exit 1
fi
exit 0
