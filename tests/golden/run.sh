#!/usr/bin/env bash
# Golden tests for every output format, plus libvirt's own verdict on them.
#
# Each directory under cases/ is one case:
#   *.conf       definitions (unless a `sources` file lists -d/-f arguments,
#                relative to the repository top)
#   renders      one carthage-net command per line, e.g. "render network lan"
#   state/       optional: copied into a fresh state directory first
#   run/         optional: copied into a fresh run directory first
#   metadata/    optional: the per-machine metadata files (metadata show)
#   identity.key optional: the key that signs identity documents (metadata show)
#   *.xml        optional: base domains for "render domain M --base FILE"
#   expected/    one file per command: its stdout, then "--- stderr" and
#                "--- exit N" sections when there is stderr or a non-zero exit
#
# CN_REGENERATE_GOLDEN=1 rewrites expected/ from the current build; review
# the change with git diff.  Every XML output is also checked with
# virt-xml-validate and loaded into libvirt's test driver
# (virsh -c test:///default, one batch per case).
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "${top_srcdir:-$here/../..}" && pwd)
build=${top_builddir:-$top/build}
. "$top/tests/lib/tap.sh"

cli=$build/carthage-net
export CARTHAGE_NET_TEMPLATE_DIR=$top/xml-templates
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# "render network lab" -> network-lab.xml; "validate" -> validate.out
slug() {
    local ext=out
    case $1 in
    "render netdev "*) ext=txt ;;
    "render ovn" | "render ovn "*) ext=json ;;
    "render "*) ext=xml ;;
    esac
    echo "$1" | sed -e 's/ --base [^ ]*//' -e 's/^render //' -e 's/ /-/g' -e 's|/|_|g' -e "s/\$/.$ext/"
}

# run_case CASE: runs every command, compares, validates.
run_case() {
    local case_dir=$1 name
    name=$(basename "$case_dir")
    local state=$work/$name/state out=$work/$name/out
    mkdir -p "$state" "$out"
    [ -d "$case_dir/state" ] && cp -r "$case_dir/state/." "$state/"
    export CARTHAGE_NET_RUN_DIR=$work/$name/run
    mkdir -p "$CARTHAGE_NET_RUN_DIR"
    [ -d "$case_dir/run" ] && cp -r "$case_dir/run/." "$CARTHAGE_NET_RUN_DIR/"

    # Commands run from the repository top with relative paths, so that
    # file names in messages are the same in every checkout.
    local rel=${case_dir#"$top"/}
    export CARTHAGE_NET_METADATA_DIR=$rel/metadata
    # An identity key only where the case has one (a key file must be
    # 0600, which git does not keep).
    export CARTHAGE_NET_IDENTITY_KEY=$work/$name/identity.key
    if [ -f "$case_dir/identity.key" ]; then
        install -m 600 "$case_dir/identity.key" "$CARTHAGE_NET_IDENTITY_KEY"
    fi
    local -a sources=()
    if [ -f "$case_dir/sources" ]; then
        read -r -a sources <"$case_dir/sources"
    else
        sources=(-d "$rel")
    fi

    local batch="" line
    while IFS= read -r line; do
        [ -z "$line" ] || [ "${line#\#}" != "$line" ] && continue
        local file=$out/$(slug "$line") rc
        local -a args
        read -r -a args <<<"${line/--base /--base $rel/}"
        # render netdev --user names the program with every command
        # (carthage-net-full, which QEMU starts per connection), and the
        # socket directory: the same text in every checkout.
        (cd "$top" && CARTHAGE_NET_SOCKET_DIR=/run/user/1000/carthage-net/metadata \
            "$cli" "${sources[@]}" --state-dir "$state" "${args[@]}") >"$file" 2>"$file.err"
        rc=$?
        sed -i "s|$(readlink -f "$build/carthage-net-full")|CARTHAGE-NET|g" "$file"
        if [ -s "$file.err" ]; then { echo "--- stderr"; cat "$file.err"; } >>"$file"; fi
        [ $rc = 0 ] || echo "--- exit $rc" >>"$file"
        rm -f "$file.err"

        local expected=$case_dir/expected/$(slug "$line")
        if [ -n "${CN_REGENERATE_GOLDEN:-}" ]; then
            mkdir -p "$case_dir/expected"
            cp "$file" "$expected"
        fi
        if [ -f "$expected" ] && diff -u "$expected" "$file" >"$file.diff"; then
            _tap_result 0 "$name: $line"
        else
            _tap_result 1 "$name: $line"
            [ -f "$expected" ] || echo "# missing $expected (CN_REGENERATE_GOLDEN=1 makes it)"
            sed 's/^/# /' "$file.diff" 2>/dev/null | head -40
        fi
        [ $rc = 0 ] || continue

        # libvirt's schemas and its test driver must accept every XML output.
        case $line in
        "render network "*)
            validate_xml "$name: $line" "$file" network
            batch+="net-define --validate $file; net-dumpxml ${line#render network };"
            ;;
        "render ovn" | "render ovn "*)
            # The OVSDB transaction is JSON (RFC 7047), whole.
            if out_json=$(python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$file" 2>&1); then
                _tap_result 0 "$name: $line: JSON"
            else
                _tap_result 1 "$name: $line: JSON"
                echo "# $out_json"
            fi
            ;;
        "render interface "* | "render domain "*)
            local dom=$file.domain.xml
            wrap_domain "$file" "$name-$(slug "$line")" >"$dom"
            validate_xml "$name: $line" "$dom" domain
            batch+="define --validate $dom; dumpxml $name-$(slug "$line");"
            ;;
        esac
    done <"$case_dir/renders"

    if [ -n "$batch" ]; then
        local dump=$work/$name/virsh.out
        if virsh -q -c test:///default "$batch" >"$dump" 2>&1; then
            _tap_result 0 "$name: libvirt test driver accepts every document"
            check_dump "$name" "$dump" "$out"
        else
            _tap_result 1 "$name: libvirt test driver accepts every document"
            sed 's/^/# /' "$dump" | head -20
        fi
    fi
}

validate_xml() {
    local output
    if output=$(virt-xml-validate "$2" "$3" 2>&1); then
        _tap_result 0 "$1 validates as $3"
    else
        _tap_result 1 "$1 validates as $3"
        echo "$output" | sed 's/^/# /'
    fi
}

# A minimal domain around rendered interfaces, or a rendered domain with a
# unique name, for the test driver.
wrap_domain() {
    if grep -q '^<domain' "$1"; then
        sed -e "s|<name>[^<]*</name>|<name>$2</name>|" -e "s|<domain type=\"[a-z]*\"|<domain type=\"test\"|" "$1"
        return
    fi
    echo "<domain type='test'><name>$2</name><memory>65536</memory>"
    echo "<os><type arch='x86_64'>hvm</type></os><devices>"
    sed -e '/^<devices>$/d' -e '/^<\/devices>$/d' "$1"
    echo "</devices></domain>"
}

# What libvirt kept: every reservation, the forward mode and our metadata.
check_dump() {
    local name=$1 dump=$2 out=$3 missing=0 f
    for f in "$out"/network-*; do
        [ -f "$f" ] || continue
        while read -r mac ip; do
            grep -q "host mac='$mac'.*ip='$ip'" "$dump" || { echo "# lost reservation $mac $ip"; missing=1; }
        done < <(sed -n "s/.*<host mac=\"\([^\"]*\)\".* ip=\"\([^\"]*\)\".*/\1 \2/p" "$f")
        local mode
        mode=$(sed -n 's/.*<forward mode="\([a-z]*\)".*/\1/p' "$f")
        [ -z "$mode" ] || grep -q "<forward mode='$mode'" "$dump" || { echo "# lost forward mode $mode"; missing=1; }
    done
    if grep -q 'xmlns:cn=' "$out"/* && ! grep -q 'xmlns:cn=' "$dump"; then
        echo "# lost metadata"
        missing=1
    fi
    _tap_result $missing "$name: reservations, forward modes and metadata survive libvirt"
}

for case_dir in "$here"/cases/*/; do
    run_case "${case_dir%/}"
done
done_testing
