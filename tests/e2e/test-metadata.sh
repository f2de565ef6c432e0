#!/usr/bin/env bash
# The built-in metadata handler end to end: `carthage-net metadata serve`
# started before the network exists (it binds with IP_FREEBIND), the hook's
# isolation in a real libvirtd, and booted guests that fetch
# http://metadata/... and print what they got: each its own.  a3, on a
# network without DHCP, is seeded through the firmware (render domain
# --seed: SMBIOS serial and fw_cfg) and reads its metadata with IMDSv2
# tokens only (metadata.tokens = required).
set -u
. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/lib/common.sh"
e2e_start --hook -- "$0" "$@"
cn() { "$build/carthage-net" -f "$top/tests/e2e/defs/metadata-serve.conf" "$@"; }

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done; }
trap cleanup EXIT

data=$CN_E2E_RUN/metadata
for m in a1 a2 a3; do
    mkdir -p "$data/$m.lab.example"
    printf '#cloud-config for %s\nhostname: %s\n' "$m" "$m" >"$data/$m.lab.example/user-data"
    echo "i-$m-0001" >"$data/$m.lab.example/instance-id"
done

export CARTHAGE_NET_IDENTITY_KEY=$CN_E2E_RUN/identity.key
cn metadata keygen >"$CN_E2E_RUN/identity.pub" 2>/dev/null

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
# a3: seeded, no DHCP on its network.
guest_base_xml a3.lab.example "cn.seed cn.ping=10.67.0.1 cn.http=169.254.169.254:80/latest/meta-data/instance-id cn.imds=169.254.169.254:80/latest/meta-data/instance-id cn.imds=169.254.169.254:80/latest/dynamic/instance-identity/document" |
    cn render domain a3.lab.example --base - --seed --data-dir "$data" >"$CN_E2E_RUN/a3.xml"
like "render domain --seed: the SMBIOS serial for cloud-init's NoCloud (no seed URL: a3 needs tokens)" \
    "$(cat "$CN_E2E_RUN/a3.xml")" "<entry name=\"serial\">ds=nocloud;i=i-a3-0001;h=a3.lab.example</entry>"
virsh -q define "$CN_E2E_RUN/a3.xml" >/dev/null && virsh -q start a3.lab.example >/dev/null
a1=$(guest_wait a1.lab.example 120)
a2=$(guest_wait a2.lab.example 120)
a3=$(guest_wait a3.lab.example 120)
is "a3 reads the SMBIOS serial libvirt gave it" "$(result "$a3" "seed serial")" \
    "ds=nocloud;i=i-a3-0001;h=a3.lab.example"
is "a3 takes its address from the fw_cfg network-config, before any network" "$(result "$a3" "seed address")" \
    "10.67.0.13/24"
is "a3 reads its user-data from fw_cfg" "$(result "$a3" "seed user-data")" "#cloud-config for a3"
is "a3 (no DHCP) reaches its gateway with the seeded address" "$(result "$a3" "ping 10.67.0.1")" ok
is "a3 without a token: 401 (metadata.tokens = required)" \
    "$(result "$a3" "http 169.254.169.254:80/latest/meta-data/instance-id")" "401 Unauthorized"
is "a3 with an IMDSv2 session: its instance-id" \
    "$(result "$a3" "imds 169.254.169.254:80/latest/meta-data/instance-id")" "i-a3-0001"
like "a3 with an IMDSv2 session: its identity document" \
    "$(result "$a3" "imds 169.254.169.254:80/latest/dynamic/instance-identity/document")" \
    '"machine":"a3.lab.example",.*"privateIp":"10.67.0.13"'
# attach --seed: into an existing domain's definition, once.
out=$(cn attach a2.lab.example --config --seed --data-dir "$data" 2>&1)
like "attach --seed writes the seed into a2's definition" "$out" \
    "^domain a2.lab.example: NoCloud seed written into its definition \(read at its next start\)$"
like "... the definition has it" "$(virsh dumpxml --inactive a2.lab.example)" \
    "<entry name='serial'>ds=nocloud-net;i=i-a2-0001;h=a2.lab.example;s=http://169.254.169.254/</entry>"
like "attach --seed again: nothing to change" "$(cn attach a2.lab.example --config --seed --data-dir "$data" 2>&1)" \
    "^domain a2.lab.example: NoCloud seed already in its definition$"
like "the server logged a3's token request" "$(cat "$CN_E2E_RUN/serve.log")" "10.67.0.13 a3.lab.example PUT /latest/api/token 200"
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
