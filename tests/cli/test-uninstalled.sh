#!/usr/bin/env bash
# Running uninstalled: the helper in its build directory reads the source
# tree's xml-templates/ without CARTHAGE_NET_TEMPLATE_DIR; a copy of it
# anywhere else reads only the site and installed directories.
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

# A copy outside the build directory: never the source tree.
cp "$cn" "$work/elsewhere/carthage-net"
copy=$work/elsewhere/carthage-net
copy_dirs=$(template_dirs "$copy")
is "a copy: --paths names exactly the site's and the installed directories" "$copy_dirs" \
    "$(template_dirs "$cn" | sed 1d)"
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

done_testing
