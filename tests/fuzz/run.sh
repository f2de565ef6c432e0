#!/bin/sh
# run.sh - build each libFuzzer target and run it for a bounded time.
#
#   FUZZ_SECONDS=30 tests/fuzz/run.sh     (from any directory)
#
# Each target is built with clang straight from its fuzz-NAME.c and the
# core library's sources (the GLib-only files listed for libcn-core.a in
# Makefile.am), then run on a copy of corpus/NAME, so the checked-in seeds
# never change.  Speaks TAP, one line per target, and exits non-zero when
# a target fails to build or finds a crash; the crashing input and the
# log are kept and their place printed.
#
# Environment: FUZZ_SECONDS (default 30), FUZZ_TARGETS (default: every
# fuzz-*.c here), CC (default clang), FUZZ_KEEP=1 keeps the work directory.

set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
seconds=${FUZZ_SECONDS:-30}
cc=${CC:-clang}
case $cc in *clang*) ;; *) cc=clang ;; esac

targets=${FUZZ_TARGETS:-$(cd "$here" && ls fuzz-*.c 2>/dev/null | sed 's/^fuzz-//; s/\.c$//')}
count=$(echo $targets | wc -w)

if ! command -v "$cc" >/dev/null 2>&1; then
    echo "1..0 # SKIP $cc not found"
    exit 0
fi
if ! pkg-config --exists glib-2.0 2>/dev/null; then
    echo "1..0 # SKIP glib-2.0 development files not found"
    exit 0
fi

# The .c files of src_libcn_core_a_SOURCES, as Makefile.am lists them.
core_sources=$(awk '
    /^src_libcn_core_a_SOURCES[ \t]*=/ { on = 1 }
    on {
        for (i = 1; i <= NF; i++) if ($i ~ /\.c$/) print $i
        if ($0 !~ /\\[ \t]*$/) on = 0
    }' "$top/Makefile.am")
if [ -z "$core_sources" ]; then
    echo "1..0 # SKIP no src_libcn_core_a_SOURCES in $top/Makefile.am"
    exit 0
fi
sources=
for s in $core_sources; do
    sources="$sources $top/$s"
done

work=$(mktemp -d "${TMPDIR:-/tmp}/cn-fuzz.XXXXXX") || exit 1
keep=${FUZZ_KEEP:-0}
cleanup() {
    if [ "$keep" = 0 ]; then rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

glib=$(pkg-config --cflags --libs glib-2.0)
# Every module's folder (src/model, src/defs, ...) is on the include path,
# and the directories paths.c names are those of a default install.
includes="-DSYSCONFDIR=\"/etc\" -DLOCALSTATEDIR=\"/var\" -DRUNSTATEDIR=\"/run\" -DPKGDATADIR=\"/usr/share/carthage-net\" -DLIBEXECDIR=\"/usr/libexec\""
for dir in "$top"/src/*/; do includes="$includes -I${dir%/}"; done

echo "1..$count"
n=0
failed=0
for t in $targets; do
    n=$((n + 1))
    bin="$work/fuzz-$t"
    log="$work/fuzz-$t.log"

    # A target may name more sources (relative to the top) and pkg-config
    # packages in its own comments: "/* fuzz-extra: a.c b.c */",
    # "/* fuzz-pkgs: libnftnl libmnl */".
    extra=
    for f in $(sed -n 's|^/\* fuzz-extra: \(.*\) \*/$|\1|p' "$here/fuzz-$t.c"); do
        extra="$extra $top/$f"
    done
    pkgs=$(sed -n 's|^/\* fuzz-pkgs: \(.*\) \*/$|\1|p' "$here/fuzz-$t.c")
    pkg_flags=
    [ -z "$pkgs" ] || pkg_flags=$(pkg-config --cflags --libs $pkgs)
    # shellcheck disable=SC2086 # word splitting of the source list is intended
    if ! "$cc" -g -O1 -fno-omit-frame-pointer \
            -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
            $includes -I"$top/hooks" "$here/fuzz-$t.c" $sources $extra $glib $pkg_flags -o "$bin" >"$log" 2>&1; then
        echo "not ok $n - fuzz-$t builds"
        sed 's/^/# /' "$log" | head -40
        failed=1
        keep=1
        continue
    fi

    corpus="$work/corpus-$t"
    # Targets that need files make them under TMPDIR: here, so they go
    # with the work directory.
    mkdir -p "$corpus" "$work/artifacts-$t" "$work/tmp-$t"
    if [ -d "$here/corpus/$t" ]; then
        cp "$here/corpus/$t"/* "$corpus"/ 2>/dev/null
    fi

    # Leaks are checked input by input (libFuzzer runs an input again under
    # LeakSanitizer when it allocated more than it freed: that is how the
    # libsoup leak was found).  Not at exit: GLib's and libsoup's internal
    # caches of a process that ran a million inputs showed there as a few
    # unreachable buffers, once in a few minutes, none of them ours.
    TMPDIR="$work/tmp-$t" ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}:leak_check_at_exit=0:abort_on_error=0 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        "$bin" -max_total_time="$seconds" -max_len=8192 -timeout=20 -rss_limit_mb=2048 \
            -print_final_stats=1 -artifact_prefix="$work/artifacts-$t/" "$corpus" \
            >>"$log" 2>&1
    rc=$?
    if [ "$rc" = 0 ]; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
        echo "ok $n - fuzz-$t ran $seconds seconds${runs:+ ($runs inputs)}"
    else
        echo "not ok $n - fuzz-$t ran $seconds seconds (exit $rc)"
        grep -E 'ERROR|SUMMARY|runtime error|^ +#[0-9]+ ' "$log" | head -30 | sed 's/^/# /'
        for a in "$work/artifacts-$t"/*; do
            [ -e "$a" ] || continue
            echo "# crashing input: $a"
            od -c "$a" | head -20 | sed 's/^/#   /'
        done
        echo "# log: $log"
        failed=1
        keep=1
    fi
done

exit $failed
