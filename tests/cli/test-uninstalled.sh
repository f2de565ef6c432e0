#!/usr/bin/env bash
# Running uninstalled: the helper in its build directory reads the source
# tree's xml-templates/ without CARTHAGE_NET_TEMPLATE_DIR, and hands the
# commands it does not run to the build directory's carthage-net-full; a
# copy of either anywhere else reads only the site and installed
# directories, and hands over to the installed carthage-net-full.
set -u
top=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${top_builddir:-$top/build}
. "$top/tests/lib/tap.sh"

cn=$build/carthage-net
unset CARTHAGE_NET_TEMPLATE_DIR
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source_templates=$(cd "$top" && pwd -P)/xml-templates
defs=(-d "$top/examples/site")

# run ARGS...: sets out, err, rc
run() { "$@" >"$work/stdout" 2>"$work/stderr"; rc=$?; out=$(cat "$work/stdout"); err=$(cat "$work/stderr"); }
template_dirs() { "$1" --paths | sed -n 's/^template_dir=//p'; }

# The build tree's own binary, straight after make.
run "$cn" "${defs[@]}" --state-dir "$work/st" render network lab
is "build tree, no CARTHAGE_NET_TEMPLATE_DIR: render network lab exits 0" "$rc" 0
CARTHAGE_NET_TEMPLATE_DIR=$top/xml-templates "$cn" "${defs[@]}" --state-dir "$work/st" render network lab \
    >"$work/expected" 2>/dev/null
is "build tree: the same document as from CARTHAGE_NET_TEMPLATE_DIR=\$top/xml-templates" "$out" \
    "$(cat "$work/expected")"
run "$cn" "${defs[@]}" --state-dir "$work/st" render interface web.lab.example
is "build tree: render interface too" "$rc" 0
is "build tree: --paths names the source tree's templates first" "$(template_dirs "$cn" | head -1)" \
    "$source_templates"
is "build tree: then the site's and the installed directories" "$(template_dirs "$cn" | sed -n '2,$p' | wc -l)" 2

# The variable still comes first: a broken template there is read (and
# refused), not passed over for the source tree's.
mkdir "$work/mine" "$work/empty"
echo '<network' >"$work/mine/network.xml"
CARTHAGE_NET_TEMPLATE_DIR=$work/mine run "$cn" "${defs[@]}" --state-dir "$work/st" render network lab
ok "CARTHAGE_NET_TEMPLATE_DIR first: its broken network.xml fails the render" test "$rc" != 0
like "CARTHAGE_NET_TEMPLATE_DIR first: the error names its file" "$err" "$work/mine/network.xml"
CARTHAGE_NET_TEMPLATE_DIR=$work/empty run "$cn" "${defs[@]}" --state-dir "$work/st" render network lab
is "CARTHAGE_NET_TEMPLATE_DIR without the template: the source tree's next" "$rc" 0

# A symbolic link to the build tree's binary runs that binary.
mkdir "$work/elsewhere"
ln -s "$cn" "$work/elsewhere/link"
is "a symbolic link to it: still the build tree's" "$(template_dirs "$work/elsewhere/link" | head -1)" \
    "$source_templates"

# A copy outside the build directory: never the source tree.  carthage-net
# hands render to carthage-net-full, so the copy that reads templates is
# of that program.
cp "$cn" "$work/elsewhere/carthage-net"
cp "$build/carthage-net-full" "$work/elsewhere/carthage-net-full"
copy=$work/elsewhere/carthage-net-full
copy_dirs=$(template_dirs "$copy")
is "a copy: --paths names exactly the site's and the installed directories" "$copy_dirs" \
    "$(template_dirs "$cn" | sed 1d)"
is "a copy of carthage-net too" "$(template_dirs "$work/elsewhere/carthage-net")" "$copy_dirs"
run "$copy" "${defs[@]}" --state-dir "$work/st" render network lab
unlike "a copy: the source tree's templates are not looked at" "$err" "$source_templates"
installed=
for dir in $copy_dirs; do
    [ -f "$dir/network.xml" ] && { installed=$dir; break; }
done
if [ -z "$installed" ]; then
    is "a copy, nothing installed: exit 4" "$rc" 4
    expected=$(echo "$copy_dirs" | sed 's|$|/network.xml|' | paste -sd, - | sed 's/,/, /g')
    is "a copy, nothing installed: the error names every place looked in" "$err" \
        "carthage-net: template network.xml not found (looked for $expected)"
else
    note "templates installed in $installed: the copy renders from there"
    is "a copy, templates installed: renders from them" "$rc" 0
    skip "a copy, nothing installed: the error names every place looked in" "templates installed in $installed"
fi

# carthage-net runs pool and validate itself and hands the other commands,
# unchanged, to carthage-net-full: the build tree's from the build tree
# (the front links neither libvirt nor libsoup), the installed one from
# anywhere else.
ldd_front=$(ldd "$cn" 2>&1)
unlike "carthage-net links no libvirt" "$ldd_front" "libvirt"
unlike "carthage-net links no libsoup" "$ldd_front" "libsoup"
# With CARTHAGE_NET_FULL_PROGRAM naming nothing, only what the front runs
# itself works.
CARTHAGE_NET_FULL_PROGRAM=$work/none run "$cn" "${defs[@]}" --state-dir "$work/st" validate
like "validate runs in carthage-net itself" "$out" "^valid: "
CARTHAGE_NET_FULL_PROGRAM=$work/none run "$cn" "${defs[@]}" --state-dir "$work/st" pool list ci-taps
is "pool runs in carthage-net itself" "$rc" 0
CARTHAGE_NET_FULL_PROGRAM=$work/none run "$cn" "${defs[@]}" --state-dir "$work/st" render network lab
is "render does not: exit 4" "$rc" 4
like "... naming the program it would run" "$err" "^carthage-net: $work/none: "
CARTHAGE_NET_FULL_PROGRAM=$cn run "$cn" "${defs[@]}" --state-dir "$work/st" render network lab
is "CARTHAGE_NET_FULL_PROGRAM naming carthage-net itself: exit 4, no exec loop" "$rc" 4
like "... says so" "$err" "is carthage-net itself, not carthage-net-full"
run "$cn" "${defs[@]}" --state-dir "$work/st" render network lab --connect test:///nowhere extra
is "a handed-over command keeps its arguments: render's own usage error (exit 2)" "$rc" 2
is "... from render, in the build tree's carthage-net-full" "$err" "carthage-net: usage: carthage-net render network NAME"
run "$cn" --state-dir "$work/st" "${defs[@]}" events --help
like "a command's --help from carthage-net-full" "$out" "events \[--follow\] \[--since SEQ\]"
is "--paths in the build tree: full_program is the build directory's" \
    "$(readlink -f "$("$cn" --paths | sed -n 's/^full_program=//p')")" "$(readlink -f "$build/carthage-net-full")"
full=$("$work/elsewhere/carthage-net" --paths | sed -n 's/^full_program=//p')
if [ -x "$full" ]; then
    skip "a copy of carthage-net, nothing installed: exit 4 naming carthage-net-full" "$full is installed"
else
    run "$work/elsewhere/carthage-net" "${defs[@]}" --state-dir "$work/st" render network lab
    is "a copy of carthage-net, nothing installed: render exits 4" "$rc" 4
    is "... naming the installed carthage-net-full it would run" "$err" \
        "carthage-net: $full: No such file or directory (carthage-net runs 'render' there: install carthage-net whole)"
    run "$work/elsewhere/carthage-net" "${defs[@]}" --state-dir "$work/st" validate
    is "a copy of carthage-net, nothing installed: validate still runs in it" "$rc" 0
fi

done_testing
