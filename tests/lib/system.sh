# system.sh - what the tests that run as root in namespaces share: the
# checks that decide whether they can run here, and a work directory whose
# processes and namespaces go on the way out, even on failure.
#
#   top=...; build=...
#   . "$top/tests/lib/tap.sh"
#   . "$top/tests/lib/system.sh"
#   require_root "network namespaces, nftables" ip nft python3
#   require_built carthage-net carthage-net-hook
#   workspace isolation-test          # $work, $pids, $NAMESPACES; traps set
#   NAMESPACES="$H $G1"               # deleted by cleanup
#   some-daemon & pids="$pids $!"     # stopped by PID by cleanup
#
# A test with more to undo defines cleanup_extra; it runs first.
#
# And what such tests do in namespaces:
#   namespaces_up                 adds each of $NAMESPACES: lo up, no IPv6 DAD wait
#   nsx NS CMD...                 CMD in NS
#   bg NS CMD...                  CMD in NS in the background, its PID in $pids
#   logged FILE TEXT              FILE's lines with TEXT, once one is there (1 s)
#   bail REASON                   "Bail out!" and exit

# require_root REASON TOOL...: skip unless root, in a writable checkout, with
# every TOOL on the PATH.  make distcheck makes the source tree read-only;
# root could still write there, so the mode is what is looked at.
require_root() {
    local reason=$1 tool
    shift
    [ "$(id -u)" = 0 ] || skip_all "needs root ($reason)"
    [ -n "$(find "$top" -maxdepth 0 -perm -u+w)" ] ||
        skip_all "read-only source tree (make distcheck): system tests run from a checkout"
    for tool in "$@"; do
        command -v "$tool" >/dev/null || skip_all "$tool not installed"
    done
}

# require_built PROGRAM...: skip unless each is built in $build.
require_built() {
    local program
    for program in "$@"; do
        [ -x "$build/$program" ] || skip_all "no $build/$program (build first)"
    done
}

# require_tun: skip without /dev/net/tun.
require_tun() {
    [ -c /dev/net/tun ] || skip_all "no /dev/net/tun (TUN/TAP)"
}

# workspace NAME: a fresh $work directory, empty $pids and $NAMESPACES, and
# traps that stop the processes, delete the namespaces and remove $work.
workspace() {
    work=$(mktemp -d "${TMPDIR:-/tmp}/cn-$1.XXXXXX") || { echo "Bail out! cannot make a work directory"; exit 1; }
    pids="" NAMESPACES=""
    trap cleanup EXIT
    trap 'exit 130' INT TERM HUP
}

cleanup() {
    local p ns
    if declare -F cleanup_extra >/dev/null; then cleanup_extra; fi
    for p in $pids; do kill "$p" 2>/dev/null; done
    for p in $pids; do wait "$p" 2>/dev/null; done
    for ns in $NAMESPACES; do ip netns delete "$ns" 2>/dev/null; done
    rm -rf "$work"
}

# reexec_in_namespace VAR PREFIX ARGS...: unless VAR is set (then this is
# the run inside), runs this script again with ARGS in a new network
# namespace PREFIX-PID with VAR set to its name, deletes the namespace after
# and exits with the inner run's status.  The inner run goes in the
# background so that a signal here is handled at once.
reexec_in_namespace() {
    local var=$1 prefix=$2
    shift 2
    [ -z "${!var:-}" ] || return 0
    reexec_ns=$prefix-$$
    ip netns add "$reexec_ns" || { echo "Bail out! cannot add network namespace $reexec_ns"; exit 1; }
    trap 'ip netns delete "$reexec_ns" 2>/dev/null' EXIT
    env "$var=$reexec_ns" ip netns exec "$reexec_ns" "${BASH:-bash}" "$0" "$@" &
    reexec_child=$!
    trap 'kill -TERM "$reexec_child" 2>/dev/null; exit 130' INT TERM HUP
    wait "$reexec_child"
    exit $?
}

bail() { echo "Bail out! $*"; exit 1; }
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
# ip netns exec execs the command, so $! is the process itself.
bg() { local ns=$1; shift; ip netns exec "$ns" "$@" >>"$work/bg.log" 2>&1 & pids="$pids $!"; }

namespaces_up() {
    local ns
    for ns in $NAMESPACES; do
        ip netns add "$ns" || bail "cannot add network namespace $ns"
        # Link-local IPv6 without waiting for duplicate address detection.
        nsx "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
        nsx "$ns" ip link set lo up
    done
}

logged() {
    local _
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        grep -F -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
