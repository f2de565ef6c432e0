# hook-xml.sh - domain XML for the hook's tests and benchmark, made from
# the recorded XML in tests/data/hook.
#
# four_interfaces FILE: the recorded domain m1 (FILE: qemu-start.xml or
# qemu-stopped.xml) with four interfaces on md (MACs
# 36:8a:c2:4f:45:44..47, taps vnet0..vnet3) and a carthage-net link for
# each (10.63.0.11, 10.63.0.22..24), on stdout.
four_interfaces() {
    awk '
        /<interface / { inside = 1; block = "" }
        inside { block = block $0 "\n" }
        inside && /<\/interface>/ {
            inside = 0
            for (k = 0; k < 4; k++) {
                b = block
                gsub(/36:8a:c2:4f:45:44/, sprintf("36:8a:c2:4f:45:%02x", 0x44 + k), b)
                gsub(/vnet0/, "vnet" k, b)
                gsub(/net0/, "net" k, b)
                gsub(/slot=.0x02./, sprintf("slot=\0470x%02x\047", 2 + k), b)
                gsub(/c11316b057dc/, sprintf("c11316b057d%x", k), b)
                printf "%s", b
            }
            next
        }
        inside { next }
        /<cn:link / {
            print
            for (k = 1; k < 4; k++) {
                l = $0
                sub(/iface="eth0"/, "iface=\"eth" k "\"", l)
                sub(/36:8a:c2:4f:45:44/, sprintf("36:8a:c2:4f:45:%02x", 0x44 + k), l)
                sub(/10\.63\.0\.11/, "10.63.0." (21 + k), l)
                print l
            }
            next
        }
        { print }' "$1"
}
