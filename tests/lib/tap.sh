# tap.sh - a few helpers for shell tests that speak TAP.
#
#   . "$top_srcdir/tests/lib/tap.sh"
#   plan 3
#   ok "name" command args...        # passes when the command exits 0
#   is "name" "$got" "$expected"
#   skip_all "reason"
# Counters live in the shell; `done_testing` prints the plan when none was given.

TAP_COUNT=0
TAP_FAILED=0
TAP_PLANNED=

plan() { TAP_PLANNED=$1; echo "1..$1"; }

skip_all() { echo "1..0 # SKIP $*"; exit 0; }

_tap_result() {
    TAP_COUNT=$((TAP_COUNT + 1))
    if [ "$1" = 0 ]; then
        echo "ok $TAP_COUNT - $2"
    else
        echo "not ok $TAP_COUNT - $2"
        TAP_FAILED=$((TAP_FAILED + 1))
    fi
}

ok() {
    local name=$1; shift
    "$@" >/dev/null 2>&1
    _tap_result $? "$name"
}

is() {
    if [ "$2" = "$3" ]; then
        _tap_result 0 "$1"
    else
        _tap_result 1 "$1"
        diff -u <(printf '%s\n' "$3") <(printf '%s\n' "$2") | sed 's/^/# /'
    fi
}

# like NAME TEXT EXTENDED-REGEX
like() {
    if printf '%s\n' "$2" | grep -Eq -- "$3"; then
        _tap_result 0 "$1"
    else
        _tap_result 1 "$1"
        printf '%s\n' "$2" | sed 's/^/#   got: /'
        echo "#   expected to match: $3"
    fi
}

skip() { TAP_COUNT=$((TAP_COUNT + 1)); echo "ok $TAP_COUNT - $1 # SKIP $2"; }

done_testing() {
    [ -n "$TAP_PLANNED" ] || echo "1..$TAP_COUNT"
    [ "$TAP_FAILED" = 0 ]
}

# unlike NAME TEXT REGEX: no line of TEXT matches.
unlike() {
    if printf '%s\n' "$2" | grep -Eq -- "$3"; then
        _tap_result 1 "$1"
        printf '%s\n' "$2" | grep -E -- "$3" | sed 's/^/#   matched: /'
    else
        _tap_result 0 "$1"
    fi
}

# note TEXT: a TAP comment.
note() { printf '# %s\n' "$*"; }
