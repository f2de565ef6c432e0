#!/usr/bin/env bash
# make installcheck (and so make distcheck): the installed carthage-net,
# without CARTHAGE_NET_TEMPLATE_DIR, looks for templates in the site's and
# the installed directories only (never a source tree) and renders the
# examples from them, through the installed carthage-net-full.
#   installcheck-templates.sh BINARY SITE-DIR INSTALLED-DIR EXAMPLES-DIR
set -u
binary=$1 site=$2 installed=$3 examples=$4
unset CARTHAGE_NET_TEMPLATE_DIR
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "installcheck: $binary: $*" >&2; exit 1; }

dirs=$("$binary" --paths | sed -n 's/^template_dir=//p') || fail "--paths failed"
[ "$dirs" = "$(printf '%s\n%s' "$site" "$installed")" ] ||
    fail "looks for templates in $(echo $dirs), expected $site then $installed"
[ -f "$installed/network.xml" ] && [ -f "$installed/interface.xml" ] ||
    fail "the templates are not installed in $installed"
# render runs in the installed carthage-net-full, which --paths names.
full=$("$binary" --paths | sed -n 's/^full_program=//p')
[ -x "$full" ] && [ "$(dirname "$full")" != "$(dirname "$binary")" ] ||
    fail "--paths names full_program=$full, which is not installed (in libexecdir, not bindir)"
"$binary" -d "$examples" --state-dir "$work/state" render network lab >"$work/lab.xml" ||
    fail "render network lab failed"
grep -q '<name>lab</name>' "$work/lab.xml" || fail "render network lab: no <name>lab</name>"
echo "installcheck: $binary renders from $installed"
