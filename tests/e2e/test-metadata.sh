#!/usr/bin/env bash
# The built-in metadata handler end to end: `carthage-net metadata serve`
# started before the network exists (it binds with IP_FREEBIND), the hook's
# isolation in a real libvirtd, and booted guests that fetch
# http://metadata/... and print what they got: each its own.
set -u
. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib/common.sh"
e2e_start --hook -- "$0" "$@"
cn() { "$build/carthage-net" -f "$top/tests/e2e/defs/metadata-serve.conf" "$@"; }

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done; }
trap cleanup EXIT

data=$CN_E2E_RUN/metadata
for m in a1 a2; do
    mkdir -p "$data/$m.lab.example"
    printf '#cloud-config for %s\nhostname: %s\n' "$m" "$m" >"$data/$m.lab.example/user-data"
    echo "i-$m-0001" >"$data/$m.lab.example/instance-id"
done

# Before the network (and its gateway address) exists.  Started directly
# (not through the cn function, which would fork a subshell) so that $! is
# the server itself, for the cleanup.
"$build/carthage-net" -f "$top/tests/e2e/defs/metadata-serve.conf" metadata serve --data-dir "$data" \
    >"$CN_E2E_RUN/serve.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do grep -q '^listening' "$CN_E2E_RUN/serve.log" && break; sleep 0.1; done
like "metadata serve listens on the network's handler before the network exists" \
    "$(cat "$CN_E2E_RUN/serve.log")" "listening on 10.66.0.1:8000"

cn define --start >/dev/null
checks="cn.resolve=metadata cn.http=metadata:80/latest/meta-data/local-hostname cn.http=metadata:80/user-data"
checks+=" cn.http=metadata:80/latest/meta-data/instance-id cn.http=10.66.0.1:8000/meta-data"
boot_guest a1.lab.example "$checks" && boot_guest a2.lab.example "$checks"
a1=$(guest_wait a1.lab.example 120)
a2=$(guest_wait a2.lab.example 120)
is "a1 gets its reserved address" "$(result "$a1" address)" "10.66.0.11/24"
is "a1 resolves the metadata name" "$(result "$a1" "resolve metadata")" "169.254.169.254"
is "a1 fetches its own local-hostname" "$(result "$a1" "http metadata:80/latest/meta-data/local-hostname")" "a1.lab.example"
is "a2 fetches its own local-hostname" "$(result "$a2" "http metadata:80/latest/meta-data/local-hostname")" "a2.lab.example"
is "a1 fetches its own user-data" "$(result "$a1" "http metadata:80/user-data")" "#cloud-config for a1"
is "a2 fetches its own user-data" "$(result "$a2" "http metadata:80/user-data")" "#cloud-config for a2"
is "a2 fetches its own instance-id" "$(result "$a2" "http metadata:80/latest/meta-data/instance-id")" "i-a2-0001"
is "the handler is not reachable directly" "$(result "$a1" "http 10.66.0.1:8000/meta-data")" fail
like "the server logged a1 by its machine" "$(cat "$CN_E2E_RUN/serve.log")" "10.66.0.11 a1.lab.example GET /user-data 200"

done_testing
