#!/usr/bin/env bash
# scripts/run-examples, the README's main job, without the boot: every
# network and machine of examples/site rendered; the pool-backed machines
# are next steps with the commands to run, never an error; a real failure
# is an error line and exit 1.
set -u
top=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${top_builddir:-$top/build}
. "$top/tests/lib/tap.sh"

command -v virt-xml-validate >/dev/null || skip_all "virt-xml-validate (libvirt-clients) is not installed"
# The build tree's binary finds its own templates.
unset CARTHAGE_NET_TEMPLATE_DIR
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# run ARGS...: sets out, err, rc
run() { "$@" >"$work/stdout" 2>"$work/stderr"; rc=$?; out=$(cat "$work/stdout"); err=$(cat "$work/stderr"); }
examples() { run bash "$top/scripts/run-examples" --no-boot --out "$work/out" "$@"; }

examples "$build"
is "run-examples: exit 0" "$rc" 0
is "run-examples: nothing on stderr" "$err" ""
unlike "run-examples: no line that looks like a failure" "$out" '[Ee]rror|[Ff]ail|not found|cannot|holds no'
is "run-examples: every network rendered" "$(ls "$work/out"/network-*.xml | wc -l)" 5
like "run-examples: a machine listed with its MACs" "$out" '^  web\.lab\.example +([0-9a-f:]{17} ){2}$'
like "run-examples: runner-3, on the pool's network but not pool-backed, rendered" "$out" \
    '^  runner-3 +[0-9a-f:]{17} $'
like "run-examples: runner-1 listed as taking a TAP" "$out" \
    '^  runner-1 +takes a TAP from pool ci-taps \(next steps below\)$'

next=$(sed -n '/^== next steps/,$p' <<<"$out")
like "next steps: a heading naming the pool-backed machines" "$next" \
    '^== next steps: runner-1, runner-2 take their TAPs from a pool$'
like "next steps: the networks defined" "$next" '^    \$cn define --start '
like "next steps: the pool created" "$next" '^    \$cn pool create ci-taps '
for machine in runner-1 runner-2; do
    "$build/carthage-net" -d "$top/examples/site" --state-dir "$work/st" render netdev "$machine" eth0 \
        2>"$work/hint" >/dev/null
    mac=$(sed -n 's/.*--mac \([0-9a-f:]*\).*/\1/p' "$work/hint")
    like "next steps: $machine acquires a TAP with its link's MAC" "$next" \
        "^    \\\$cn pool acquire ci-taps --machine $machine --mac $mac\$"
    like "next steps: $machine's interface XML" "$next" "^    \\\$cn render interface $machine "
    like "next steps: $machine's -netdev arguments" "$next" "^    \\\$cn render netdev $machine eth0 "
done
unlike "next steps: only the pool-backed machines" "$next" 'runner-3|lab\.example'
cn_line=$(sed -n 's/^    \(cn=.*\)/\1/p' <<<"$next")
eval "$cn_line"
ok "next steps: \$cn is this build's carthage-net on examples/site" $cn --state-dir "$work/st" validate

# A carthage-net that fails where it is told to, else the real one.
mkdir "$work/fake"
cat >"$work/fake/carthage-net" <<EOF
#!/usr/bin/env bash
if [[ " \$* " == *" \$FAIL_ARGS "* ]]; then echo "carthage-net: injected" >&2; exit \$FAIL_CODE; fi
exec "$build/carthage-net" "\$@"
EOF
chmod +x "$work/fake/carthage-net"

FAIL_ARGS="render interface web.lab.example" FAIL_CODE=4 examples "$work/fake"
is "a machine that fails to render: exit 1" "$rc" 1
like "a machine that fails to render: an error line naming it" "$err" \
    '^error: render interface web\.lab\.example \(exit 4\): injected$'
like "a machine that fails to render: the count" "$err" '^run-examples: 1 error\(s\) above$'
unlike "a machine that fails to render: no next steps" "$out" 'next steps:'

FAIL_ARGS="render interface runner-3" FAIL_CODE=3 examples "$work/fake"
is "exit 3 from a machine with no pool: exit 1" "$rc" 1
like "exit 3 from a machine with no pool: an error" "$err" '^error: render interface runner-3 \(exit 3\)'

FAIL_ARGS="render interface runner-1" FAIL_CODE=3 examples "$work/fake"
is "exit 3 from a pool-backed machine for another reason: exit 1" "$rc" 1
like "exit 3 from a pool-backed machine for another reason: an error" "$err" \
    '^error: render interface runner-1 \(exit 3\): injected$'

FAIL_ARGS="render network lab" FAIL_CODE=4 examples "$work/fake"
is "a network that fails to render: exit 1" "$rc" 1
like "a network that fails to render: an error line naming it" "$err" '^error: render network lab: injected$'

done_testing
