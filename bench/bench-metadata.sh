#!/usr/bin/env bash
# bench-metadata.sh - what IMDSv2 tokens, signed identity documents and
# long-polls cost the built-in metadata handler, against a plain read:
# `carthage-net metadata serve` behind the real isolation engine in a
# network namespace of its own, one guest in another, requests from a
# Python client in the guest (a new connection each, as the server closes
# every one after its answer).  Measured, each against the plain read of
# /latest/meta-data/instance-id:
#   - the same read with an IMDSv2 token (one HMAC check more);
#   - the token request itself (PUT /latest/api/token);
#   - the identity signature (an Ed25519 signature per request);
# and the server's memory for M long-polls held at once against M plain
# connections held open (both count against the caps), from 2 per source
# address (the guest's secondary addresses: a guest holds at most 2).  Run as root:
#
#   bash bench/bench-metadata.sh
#
# Environment: BENCH_REQUESTS (requests per measure, default 500),
# BENCH_HELD (connections held for the memory measure, default 200),
# BENCH_FORMAT=tsv (results as tab-separated lines on stdout, for
# bench/run-all.sh; the human output goes to stderr then).  Exits non-zero
# only when something failed, never because of the timings.
set -u
top=$(cd "${top_srcdir:-$(dirname "$0")/..}" && pwd)
build=${top_builddir:-$top/build}
requests=${BENCH_REQUESTS:-500}
held=${BENCH_HELD:-200}
format=${BENCH_FORMAT:-text}

die() { echo "bench-metadata: $*" >&2; exit 1; }
positive() { case $1 in '' | *[!0-9]* | 0*) return 1 ;; esac; }
positive "$requests" || die "BENCH_REQUESTS must be a positive number, not '$requests'"
positive "$held" || die "BENCH_HELD must be a positive number, not '$held'"
[ "$held" -le 400 ] || die "BENCH_HELD: at most 400 (2 long-polls per source address, 200 addresses)"
case $format in text | tsv) ;; *) die "BENCH_FORMAT must be text or tsv, not '$format'" ;; esac
[ "$(id -u)" = 0 ] || die "needs root (network namespaces, nftables)"
[ -x "$build/carthage-net" ] || die "no $build/carthage-net (build first: make -C build, or set top_builddir)"
for tool in ip nft python3 awk ss; do command -v "$tool" >/dev/null || die "$tool not installed"; done

# --- outside: make the namespace, run this script again inside it.
. "$top/tests/lib/system.sh"
reexec_in_namespace CN_BENCH_NETNS cn-bench-md "$@"

# --- inside the namespace: the "host"; the guest gets one of its own.
if [ "$format" = tsv ]; then exec 3>&1 1>&2; else exec 3>/dev/null; fi
work=$(mktemp -d "${TMPDIR:-/tmp}/cn-bench-md.XXXXXX")
guest_ns=cn-bench-md-guest-$$
server=
# shellcheck disable=SC2317 # (called by the trap)
cleanup() {
    if [ -n "$server" ]; then
        kill "$server" 2>/dev/null
        wait "$server" 2>/dev/null
    fi
    ip netns delete "$guest_ns" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
export CARTHAGE_NET_RUN_DIR=$work/run CARTHAGE_NET_IDENTITY_KEY=$work/identity.key
export CARTHAGE_NET_EVENTS_DIR=$work/events.d CARTHAGE_NET_TEMPLATE_DIR=$top/xml-templates
defs=$work/defs.conf
cat >"$defs" <<EOF
[network md]
bridge_name = cnbmd0
metadata = true
metadata.handler = 8000
v4.network = 10.90.0.0/24
v4.gateway = 10.90.0.1

[link g1 eth0]
net = md
v4.address = 10.90.0.11
v4.secondary_addresses = $(seq -s ';' -f '10.90.0.%g' 20 219)
EOF
cn() { "$build/carthage-net" -f "$defs" --state-dir "$work/state" "$@"; }
mac=$(cn render interface g1 eth0 | sed -n 's/.*<mac address="\([^"]*\)".*/\1/p')
[ -n "$mac" ] || die "cannot read g1's MAC"
{ ip link add cnbmd0 type bridge && ip addr add 10.90.0.1/24 dev cnbmd0 && ip link set cnbmd0 up; } ||
    die "cannot make the bridge"
ip netns add "$guest_ns" || die "cannot add the guest's namespace"
{ ip link add vg1 type veth peer name eth0 netns "$guest_ns" && ip link set vg1 master cnbmd0 up &&
    ip netns exec "$guest_ns" ip link set eth0 address "$mac" &&
    ip netns exec "$guest_ns" ip link set eth0 up && ip netns exec "$guest_ns" ip link set lo up &&
    ip netns exec "$guest_ns" ip addr add 10.90.0.11/24 dev eth0 &&
    for a in $(seq 20 219); do ip netns exec "$guest_ns" ip addr add "10.90.0.$a/24" dev eth0 || exit 1; done &&
    ip netns exec "$guest_ns" ip route add default via 10.90.0.1; } || die "cannot make the guest"
cn isolation apply >/dev/null && cn isolation attach md vg1 g1 eth0 >/dev/null || die "cannot isolate the guest"
cn metadata keygen >/dev/null 2>&1 || die "metadata keygen failed"
# A fresh server for each measure (memory freed by one would hide the
# next one's).  Not through cn (a function: $! would be a subshell): $! is
# the server.
start_server() {
    : >"$work/serve.log"
    "$build/carthage-net" -f "$defs" --state-dir "$work/state" metadata serve --data-dir "$work/data" \
        --max-per-guest $((held + 8)) --max-connections $((held * 2 + 16)) --timeout 60 --log-burst 1 \
        >"$work/serve.log" 2>&1 &
    server=$!
    for _ in $(seq 50); do grep -q '^listening' "$work/serve.log" && break; sleep 0.1; done
    grep -q '^listening' "$work/serve.log" || die "metadata serve did not start: $(cat "$work/serve.log")"
}
stop_server() {
    kill "$server" 2>/dev/null
    wait "$server" 2>/dev/null
    server=
}
start_server

client=$work/client.py
cat >"$client" <<'EOF'
import os, socket, sys, time

MD = ("169.254.169.254", 80)

def exchange(data):
    s = socket.create_connection(MD, timeout=10, source_address=("10.90.0.11", 0))
    s.sendall(data)
    got = b""
    while True:
        chunk = s.recv(65536)
        if not chunk: break
        got += chunk
    s.close()
    return got

def request(method, path, headers=""):
    return ("%s %s HTTP/1.1\r\nHost: 169.254.169.254\r\n%s\r\n" % (method, path, headers)).encode()

def status(got): return got.split(b" ", 2)[1].decode()
def body(got): return got.partition(b"\r\n\r\n")[2].decode()

def timed(data, n):
    for _ in range(5): exchange(data)          # warm up
    start = time.perf_counter()
    for _ in range(n):
        got = exchange(data)
        if status(got) != "200": sys.exit("status %s" % status(got))
    return (time.perf_counter() - start) / n * 1e6

cmd, n = sys.argv[1], int(sys.argv[2])
if cmd == "times":
    ttl = "X-aws-ec2-metadata-token-ttl-seconds: 21600\r\n"
    token = body(exchange(request("PUT", "/latest/api/token", ttl)))
    plain = request("GET", "/latest/meta-data/instance-id")
    print("plain %.1f" % timed(plain, n))
    print("token %.1f" % timed(request("GET", "/latest/meta-data/instance-id", "X-aws-ec2-metadata-token: %s\r\n" % token), n))
    print("put %.1f" % timed(request("PUT", "/latest/api/token", ttl), n))
    print("signature %.1f" % timed(request("GET", "/latest/dynamic/instance-identity/signature"), n))
elif cmd in ("poll", "idle"):                  # hold N connections until the file argv[3] exists
    etag = [l.split(b": ", 1)[1] for l in exchange(request("GET", "/user-data")).split(b"\r\n") if l.lower().startswith(b"etag: ")][0].decode()
    held = []
    for i in range(n):
        # A guest holds 2 long-polls at most: its 200 secondary addresses
        # are 200 sources (the caps count per source address).
        s = socket.create_connection(MD, timeout=30, source_address=("10.90.0.%d" % (20 + i // 2), 0))
        if cmd == "poll":
            s.sendall(request("GET", "/user-data?wait=true&timeout_sec=60", "If-None-Match: %s\r\n" % etag))
        held.append(s)
    print("holding", flush=True)
    while not os.path.exists(sys.argv[3]): time.sleep(0.05)
EOF
gpy() { ip netns exec "$guest_ns" python3 "$client" "$@"; }
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$server/status"; }

gpy times "$requests" >"$work/times" || die "the timed requests failed"
stop_server
value() { awk -v k="$1" '$1 == k { print $2 }' "$work/times"; }

# Memory: HELD idle connections, then HELD long-polls, each on a fresh
# server (its RSS once the connections are in, less before).
hold() { # KIND -> KiB more while KIND connections are held
    local before after pid
    start_server
    gpy times 1 >/dev/null || die "the warm-up requests failed"
    rm -f "$work/go"
    before=$(rss)
    gpy "$1" "$held" "$work/go" >"$work/$1.out" 2>&1 &
    pid=$!
    for _ in $(seq 200); do grep -q holding "$work/$1.out" 2>/dev/null && break; sleep 0.05; done
    # Every connection in (the listen backlog is short: some wait for a
    # SYN retransmission), then settled.
    local open=0
    for _ in $(seq 100); do
        open=$(ss -Htn state established '( sport = :8000 )' | wc -l)
        [ "$open" -ge "$held" ] && break
        sleep 0.1
    done
    sleep 0.5
    after=$(rss)
    [ "$open" -ge "$held" ] || { touch "$work/go"; stop_server; die "$1: only $open of $held connections open"; }
    touch "$work/go"
    wait "$pid"
    stop_server
    echo $((after - before))
}
idle_kib=$(hold idle)
poll_kib=$(hold poll)

plain=$(value plain) token=$(value token) put=$(value put) signature=$(value signature)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b / a }'; }
echo "metadata serve, $requests requests each (µs per request, a new connection each):"
printf '  %-44s %8s\n' "GET instance-id (plain, the baseline)" "$plain" \
    "GET instance-id with an IMDSv2 token" "$token" \
    "PUT /latest/api/token" "$put" \
    "GET identity signature (Ed25519)" "$signature"
echo "  plain / token: $(ratio "$token" "$plain"); plain / signature: $(ratio "$signature" "$plain")"
per() { awk -v k="$1" -v n="$held" 'BEGIN { printf "%.1f", k / n }'; }
echo "memory of a fresh server for $held connections held: idle ${idle_kib} KiB ($(per "$idle_kib") KiB each)," \
    "long-polls ${poll_kib} KiB ($(per "$poll_kib") KiB each)"
{
    printf 'metadata: GET with an IMDSv2 token (vs plain GET)\t%s\t%s\tµs\t%s\n' "$token" "$plain" "$requests"
    printf 'metadata: PUT /latest/api/token (vs plain GET)\t%s\t%s\tµs\t%s\n' "$put" "$plain" "$requests"
    printf 'metadata: GET identity signature (vs plain GET)\t%s\t%s\tµs\t%s\n' "$signature" "$plain" "$requests"
    printf 'metadata: %s long-polls held (vs idle connections)\t%s\t%s\tKiB\t1\n' "$held" "$poll_kib" "$idle_kib"
    printf '#\trepetitions\tmetadata: requests per measure, one connection each; memory once\n'
} >&3
