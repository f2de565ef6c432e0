#!/usr/bin/env bash
# Golden dumps of the nftables isolation engine: what the kernel holds
# after a fixed sequence of carthage-net commands.
#
#   defs.conf   the definitions
#   steps       one carthage-net command per line (isolation apply, attach,
#               detach ...), run in order in a fresh network namespace
#   expected/   FAMILY-TABLE.nft: `nft list table FAMILY TABLE` for every
#               table in the namespace afterwards, with each set's elements
#               sorted one per line (the kernel lists hash sets in its own
#               order)
#
# CN_REGENERATE_GOLDEN=1 rewrites expected/ from the current build; review
# the change with git diff.  Runs as root in a network namespace of its own
# (deleted on the way out); skips otherwise.  Prints TAP.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "${top_srcdir:-$here/../../..}" && pwd)
build=${top_builddir:-$top/build}
. "$top/tests/lib/tap.sh"

[ "$(id -u)" = 0 ] || skip_all "needs root (network namespace, nftables)"
for tool in ip nft; do
    command -v "$tool" >/dev/null || skip_all "$tool not installed"
done
[ -x "$build/carthage-net" ] || skip_all "no $build/carthage-net (build first)"

# --- outside: make the namespace, run this script again inside it.
. "$top/tests/lib/system.sh"
reexec_in_namespace CN_GOLDEN_NFT_NETNS cn-golden-nft "$@"

# --- inside the namespace
work=$(mktemp -d "${TMPDIR:-/tmp}/cn-golden-nft.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM HUP
[ -z "$(nft list tables)" ] || { echo "Bail out! the new namespace already has nftables tables"; exit 1; }

cn() { "$build/carthage-net" -f "$here/defs.conf" --state-dir "$work/state" "$@"; }

while IFS= read -r line; do
    [ -z "$line" ] || [ "${line#\#}" != "$line" ] && continue
    read -r -a args <<<"$line"
    out=$(cn "${args[@]}" 2>&1)
    rc=$?
    if [ $rc = 0 ]; then
        _tap_result 0 "$line"
    else
        _tap_result 1 "$line"
        echo "#   exit $rc: $out"
    fi
done <"$here/steps"

# normalize: nft list output with each `elements = { ... }` one element a
# line, sorted (elements never contain commas or braces).
normalize() {
    awk '
        function flush(   n, i, j, items, tmp) {
            n = split(buf, items, /,[ \t\n]*/)
            for (i = 1; i <= n; i++) { sub(/^[ \t\n]+/, "", items[i]); sub(/[ \t\n]+$/, "", items[i]) }
            for (i = 2; i <= n; i++) {
                tmp = items[i]
                for (j = i - 1; j >= 1 && items[j] > tmp; j--) items[j + 1] = items[j]
                items[j + 1] = tmp
            }
            print indent "elements = {"
            for (i = 1; i <= n; i++) print indent "\t" items[i] (i < n ? "," : "")
            print indent "}"
        }
        {
            if (!inside && $0 ~ /elements = \{/) {
                indent = $0; sub(/elements = \{.*/, "", indent)
                buf = $0; sub(/.*elements = \{ */, "", buf)
                inside = 1
            } else if (inside) {
                buf = buf "\n" $0
            } else {
                print
            }
            if (inside && buf ~ /\}[ \t]*$/) { sub(/ *\}[ \t]*$/, "", buf); flush(); inside = 0 }
        }
    '
}

mkdir -p "$work/got"
tables=$(nft list tables | awk '$1 == "table" { print $2 "-" $3 }' | sort)
for t in $tables; do
    nft list table "${t%%-*}" "${t#*-}" | normalize >"$work/got/$t.nft"
    [ -s "$work/got/$t.nft" ] || { echo "Bail out! cannot list or normalize table $t"; exit 1; }
done
if [ -n "${CN_REGENERATE_GOLDEN:-}" ]; then
    rm -f "$here/expected/"*.nft
    mkdir -p "$here/expected"
    cp "$work/got/"*.nft "$here/expected/" 2>/dev/null
fi
is "tables in the namespace afterwards" "$(printf '%s\n' $tables)" \
    "$(cd "$here/expected" && ls -1 -- *.nft 2>/dev/null | sed 's/\.nft$//' | sort)"
for t in $tables; do
    expected=$here/expected/$t.nft
    if [ -f "$expected" ] && diff -u "$expected" "$work/got/$t.nft" >"$work/diff"; then
        _tap_result 0 "nft list table ${t%%-*} ${t#*-}"
    else
        _tap_result 1 "nft list table ${t%%-*} ${t#*-}"
        [ -f "$expected" ] || echo "# missing $expected (CN_REGENERATE_GOLDEN=1 makes it)"
        sed 's/^/# /' "$work/diff" | head -40
    fi
done

# Removing leaves nothing behind.
out=$(cn isolation remove gold gold-rt 2>&1)
is "isolation remove gold gold-rt: exit 0" "$?" 0
is "isolation remove: no table left" "$(nft list tables)" ""
done_testing
