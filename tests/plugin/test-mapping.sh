#!/bin/bash
# test-mapping.sh - the Carthage plugin's mapping on plain data
# (tests/plugin/test_mapping.py), checked against the built carthage-net.
# Carthage itself is not needed; tests/plugin/test-carthage.sh runs a real
# layout when CARTHAGE_SRC points at a Carthage checkout.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "${top_srcdir:-$here/../..}" && pwd)
build=${top_builddir:-$top/build}
python=$(command -v /usr/bin/python3 || command -v python3) || { echo "1..0 # SKIP python3 not found"; exit 0; }
export CARTHAGE_NET=$build/carthage-net CARTHAGE_NET_TEMPLATE_DIR=$top/xml-templates PYTHONDONTWRITEBYTECODE=1
exec "$python" "$here/test_mapping.py"
