#!/usr/bin/env bash
# test-usermode.sh - taskcluster's UserNetwork, unprivileged, end to end:
# a user made by the test runs `carthage-net metadata serve --socket-dir`
# and two QEMU guests with user-mode networking (render netdev --user);
# each fetches its own meta-data and user-data through its own socket,
# cannot reach the other's, and a machine's own handler socket takes over
# without the guest restarting.  Bad input starts nothing; a killed server
# leaves nothing that stops the next.
set -u
top=$(cd "${top_srcdir:-$(dirname "$0")/../..}" && pwd)
build=${top_builddir:-$top/build}
. "$top/tests/lib/tap.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root (to make the unprivileged user the test runs as)"
command -v qemu-system-x86_64 >/dev/null || skip_all "qemu-system-x86_64 not installed"
ls /boot/vmlinuz-* >/dev/null 2>&1 || skip_all "no guest kernel (linux-image-amd64)"
[ -x /bin/busybox ] || skip_all "no busybox (busybox-static)"
command -v useradd >/dev/null || skip_all "useradd not installed"
python=/usr/bin/python3
[ -x "$python" ] || skip_all "no $python"
export CN_E2E_CACHE=${CN_E2E_CACHE:-$build/e2e-cache}
. "$top/tests/e2e/lib/guest.sh"
guest_build || skip_all "cannot build the test guest"

user=cnu$$
work=$(mktemp -d /tmp/cn-usermode.XXXXXX)
pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null; done
    # The session libvirtd and virtlogd virsh started as the test's user:
    # every process of that user is the test's.
    for pid in $(pgrep -u "$user" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
    wait 2>/dev/null
    userdel "$user" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
useradd --no-create-home --home-dir "$work/home" --shell /bin/sh "$user" || skip_all "cannot make user $user"
mkdir -p "$work/home" "$work/run" "$work/data/u1" "$work/data/u2" "$work/guests"
chmod 711 "$work"
chown -R "$user:" "$work/home" "$work/run" "$work/data" "$work/guests"
chmod 700 "$work/run"
echo "#cloud-config u1" >"$work/data/u1/user-data"
echo "#cloud-config u2" >"$work/data/u2/user-data"
install -o "$user" -m 644 "$CN_GUEST_INITRD" "$work/guests/initrd"

# As the user, with only what a user session has.  An array, not a
# function, so that "${as_user[@]}" CMD & gives the PID of CMD itself
# (setpriv and env exec it): background processes are stopped by PID.
as_user=(setpriv --reuid="$user" --regid="$user" --init-groups
    env -i PATH=/usr/bin:/bin HOME="$work/home" XDG_RUNTIME_DIR="$work/run"
    CARTHAGE_NET_METADATA_DIR="$work/data" CARTHAGE_NET_TEMPLATE_DIR="$top/xml-templates")
as_user() { "${as_user[@]}" "$@"; }
defs=$work/home/defs.conf
write_defs() { # u2's handler: $1 (empty: the built-in one)
    as_user sh -c "cat >'$defs'" <<EOF
[network md]
v4.network = 10.93.0.0/24
metadata = true

[link u1 eth0]
net = md

[link u2 eth0]
net = md
${1:+
[machine u2]
metadata.handler = $1}
EOF
}
cn() { as_user "$build/carthage-net" -f "$defs" "$@"; }
sockets=$work/run/carthage-net/metadata
# result LINES WHAT: the value of the guest's "CN WHAT ..." line.
result() { printf '%s\n' "$1" | awk -v p="CN $2 " 'index($0, p) == 1 { print substr($0, length(p) + 1); exit }'; }

# A handler of the machine's own (taskcluster's SetHandler): answers NAME.
handler() { # NAME SOCKET
    "${as_user[@]}" "$python" -c '
import os, socket, sys
name, path = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX)
s.bind(path); s.listen(8)
while True:
    c, _ = s.accept()
    c.recv(4096)
    c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n%s\n" % (len(name) + 1, name.encode()))
    c.close()' "$1" "$2" &
    pids+=($!)
    for _ in $(seq 50); do [ -S "$2" ] && return 0; sleep 0.1; done
    return 1
}

serve() { # the built-in server, as the user, in the background
    "${as_user[@]}" "$build/carthage-net" -f "$defs" metadata serve --socket-dir= >>"$work/serve.log" 2>&1 &
    server=$!
    pids+=("$server")
    for _ in $(seq 50); do
        grep -q "^$sockets/u1.sock: listening" "$work/serve.log" 2>/dev/null && return 0
        kill -0 "$server" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

boot() { # MACHINE CMDLINE: plain QEMU, as the user, user-mode networking
    local machine=$1 cmdline=$2 netdev
    netdev=$(cn render netdev "$machine" eth0 --user) || return 1
    : >"$work/guests/$machine.console"
    chown "$user" "$work/guests/$machine.console"
    # The netdev is shell words (render quotes the user network's options).
    "${as_user[@]}" sh -c "exec qemu-system-x86_64 -machine pc,accel=tcg -m 192 -nodefaults -display none \
        -no-reboot -kernel '$CN_GUEST_KERNEL' -initrd '$work/guests/initrd' \
        -append 'console=ttyS0 quiet panic=-1 $cmdline' -serial 'file:$work/guests/$machine.console' $netdev" &
    pids+=($!)
}

wait_console() { # MACHINE PATTERN [SECONDS]
    local i
    for i in $(seq $((${3:-120} * 2))); do
        grep -aEq "$2" "$work/guests/$1.console" 2>/dev/null && break
        sleep 0.5
    done
    grep -a '^CN ' "$work/guests/$1.console" 2>/dev/null | tr -d '\r'
}

# --- bad input starts nothing ----------------------------------------------------
write_defs ""
mkdir -p "$work/run/carthage-net"
chown "$user" "$work/run/carthage-net"
mkdir -m 755 "$work/rootdir"
out=$(cn metadata serve --socket-dir "$work/rootdir" 2>&1); rc=$?
is "a socket folder not ours: exit 1 (invalid)" "$rc" 1
like "a socket folder not ours: says whose" "$out" "socket directory $work/rootdir belongs to uid 0"
is "a socket folder not ours: no socket made" "$(ls "$work/rootdir" | wc -l)" 0
write_defs "$work/run/nowhere.sock"
out=$(cn metadata serve --socket-dir= 2>&1); rc=$?
is "a handler socket that does not exist: exit 1" "$rc" 1
like "a handler socket that does not exist: names the machine and the path" "$out" \
    "\[machine u2\] metadata.handler $work/run/nowhere.sock: No such file or directory"
is "a handler socket that does not exist: nothing listens" "$(ls "$sockets" 2>/dev/null | grep -c sock)" 0
out=$(cn render netdev u1 eth0 --user --socket-dir "/tmp/$(printf 'x%.0s' $(seq 120))" 2>&1); rc=$?
is "a socket path too long for a UNIX socket: exit 1" "$rc" 1
like "a socket path too long: says so" "$out" "longer than a UNIX socket's 107 characters"

# --- serve: a socket per machine, made by the user --------------------------------
write_defs ""
ok "serve starts as the user" serve
is "u1's socket is the user's, and only the user's" "$(stat -c '%U %a %F' "$sockets/u1.sock")" "$user 700 socket"
ok "u2 has its socket" test -S "$sockets/u2.sock"
out=$(cn metadata serve --socket-dir= 2>&1); rc=$?
is "a second server on the same folder: exit 3 (busy)" "$rc" 3
like "a second server: says the folder is in use" "$out" "is in use by another metadata serve"
ok "the second server took nothing away" test -S "$sockets/u1.sock"
netdev=$(cn render netdev u1 eth0 --user)
like "render netdev --user: guestfwd to u1's own socket, through carthage-net-full" "$netdev" \
    "guestfwd=tcp:169.254.169.254:80-cmd:$build/carthage-net-full metadata connect $sockets/u1.sock'"

# --- two guests at once, each its own ----------------------------------------------
probe="cn.http=169.254.169.254:80/latest/meta-data/local-ipv4 cn.http=169.254.169.254:80/user-data"
probe="$probe cn.http=169.254.169.254:8775/latest/meta-data/local-ipv4 cn.http=169.254.0.2:80/user-data"
boot u1 "$probe cn.sleep=1"
boot u2 "$probe cn.http=169.254.169.254:80/a cn.sleep=12 cn.http=169.254.169.254:80/b"
u1=$(wait_console u1 '^CN done')
is "u1 gets its user-mode address by DHCP" "$(result "$u1" address)" "169.254.0.15/16"
is "u1 reads its meta-data" "$(result "$u1" "http 169.254.169.254:80/latest/meta-data/local-ipv4")" "169.254.0.15"
is "u1 reads its own user-data" "$(result "$u1" "http 169.254.169.254:80/user-data")" "#cloud-config u1"
is "u1 reaches nothing at another port of the metadata address" \
    "$(result "$u1" "http 169.254.169.254:8775/latest/meta-data/local-ipv4")" fail
is "u1 reaches no handler at the host's user-mode address" "$(result "$u1" "http 169.254.0.2:80/user-data")" fail
u2=$(wait_console u2 '^CN http 169.254.169.254:80/a ')
is "u2, at the same time, reads its own user-data" "$(result "$u2" "http 169.254.169.254:80/user-data")" \
    "#cloud-config u2"
is "u2 is answered by the built-in server first" "$(result "$u2" "http 169.254.169.254:80/a")" "404 Not Found"
like "the server's log names each guest's machine" "$(cat "$work/serve.log")" "169.254.0.15 u2 GET /user-data 200"

# --- SetHandler: u2's own handler, live ----------------------------------------------
ok "u2's own handler runs" handler "handler-of-u2" "$work/run/u2-handler.sock"
write_defs "$work/run/u2-handler.sock"
like "reload: u2's socket now leads to its handler" "$(cn metadata reload 2>&1)" "reloaded"
is "u2's socket is a link to its handler" "$(readlink "$sockets/u2.sock")" "$work/run/u2-handler.sock"
u2=$(wait_console u2 '^CN done')
is "u2's next request reaches its own handler, the guest not restarted" \
    "$(result "$u2" "http 169.254.169.254:80/b")" "handler-of-u2"
ok "u1's socket is still the server's" test -S "$sockets/u1.sock"

# --- libvirt session mode (qemu:///session), as the same user -------------------------
if ! command -v libvirtd >/dev/null || ! command -v virsh >/dev/null; then
    skip "session mode: the guest boots and reads its own meta-data" "libvirtd not installed"
else
    # libvirt runs QEMU under seccomp with spawn=deny: guestfwd's connector
    # could not start (docs/tap-pool.md).  The session's own qemu.conf.
    as_user mkdir -p "$work/home/.config/libvirt"
    echo 'seccomp_sandbox = 0' | as_user sh -c "cat >'$work/home/.config/libvirt/qemu.conf'"
    session() { as_user timeout 120 virsh -q -c qemu:///session "$@"; }
    : >"$work/guests/u1.console"
    guest_base_xml u1 "cn.http=169.254.169.254:80/latest/meta-data/local-ipv4 cn.http=169.254.169.254:80/user-data" |
        sed -e "s|<initrd>.*</initrd>|<initrd>$work/guests/initrd</initrd>|" \
            -e "s|<source path='[^']*'/>|<source path='$work/guests/u1.console'/>|" >"$work/guests/u1-base.xml"
    out=$(cn render domain u1 --base "$work/guests/u1-base.xml" --user 2>&1 >"$work/guests/u1.xml"); rc=$?
    is "session mode: render domain --user" "$rc" 0
    like "session mode: the NIC is carried in <qemu:commandline>, which libvirt keeps" "$(cat "$work/guests/u1.xml")" \
        "<qemu:arg value=\"user,id=cn-eth0,.*metadata connect $sockets/u1.sock\"/>"
    out=$(session define "$work/guests/u1.xml" 2>&1 && session start u1 2>&1); rc=$?
    is "session mode: virsh -c qemu:///session defines and starts it, as the user" "$rc" 0
    [ "$rc" = 0 ] || note "$out"
    like "session mode: libvirt kept the forwarding" "$(session dumpxml u1 2>&1)" "metadata connect $sockets/u1.sock"
    u1=$(wait_console u1 '^CN done')
    is "session mode: the guest reads its own meta-data" \
        "$(result "$u1" "http 169.254.169.254:80/latest/meta-data/local-ipv4")" "169.254.0.15"
    is "session mode: and its own user-data" "$(result "$u1" "http 169.254.169.254:80/user-data")" "#cloud-config u1"
    session destroy u1 >/dev/null 2>&1
    session undefine u1 >/dev/null 2>&1
fi

# --- release: nothing left behind ---------------------------------------------------
sleep 1
is "no connector is left once the guests are gone" "$(pgrep -u "$user" -fc 'metadata connect' || true)" 0
out=$(cn metadata release u1 2>&1); rc=$?
is "release: taskcluster's Release() removes u1's socket" "$rc" 0
ok "release: u1's socket is gone" test ! -e "$sockets/u1.sock"
out=$(cn metadata release u1 2>&1); rc=$?
is "release again: exit 1" "$rc" 1
like "release again: says there is none" "$out" "no socket for machine u1"
cn metadata reload >/dev/null 2>&1
ok "reload: u1, still defined, has its socket again" test -S "$sockets/u1.sock"
{ kill -9 "$server"; wait "$server"; } 2>/dev/null
ok "a killed server leaves its sockets behind" test -S "$sockets/u1.sock"
: >"$work/serve.log"
ok "the next server starts all the same" serve
like "it removed what the killed one left" "$(cat "$work/serve.log")" "$sockets/u1.sock: stale, removed"
write_defs ""
cn metadata reload >/dev/null 2>&1
is "a machine's handler dropped from the definitions: its socket is the server's again" \
    "$(stat -c %F "$sockets/u2.sock")" socket
kill "$server"
wait "$server" 2>/dev/null
is "a stopped server removes its sockets" "$(ls "$sockets" | grep -c sock)" 0

done_testing
