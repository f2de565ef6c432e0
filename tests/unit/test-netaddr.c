/* test-netaddr.c - addresses, networks, MACs and names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "model.h"
#include "netaddr.h"

static gboolean v4_ok(const char *text, uint32_t expected)
{
    uint32_t got = 0xdeadbeef;
    return cn_v4_parse(text, &got) && got == expected;
}

static gboolean v4_refused(const char *text)
{
    uint32_t got = 0xdeadbeef;
    return !cn_v4_parse(text, &got) && got == 0xdeadbeef; /* untouched on failure */
}

/* IPv4 addresses */

static void test_v4_parse_valid(void **state)
{
    assert_true(v4_ok("192.0.2.1", 0xc0000201u));
    assert_true(v4_ok("0.0.0.0", 0));
    assert_true(v4_ok("255.255.255.255", 0xffffffffu));
    assert_true(v4_ok("10.0.0.10", 0x0a00000au));
    assert_true(v4_ok("1.2.3.4", 0x01020304u));
}

static void test_v4_parse_leading_zero_refused(void **state)
{
    assert_true(v4_refused("010.0.0.1"));
    assert_true(v4_refused("1.02.3.4"));
    assert_true(v4_refused("1.2.3.04"));
    assert_true(v4_refused("00.0.0.0"));
    assert_true(v4_refused("1.2.3.00"));
}

static void test_v4_parse_out_of_range(void **state)
{
    assert_true(v4_refused("256.0.0.1"));
    assert_true(v4_refused("1.2.3.300"));
    assert_true(v4_refused("1.2.256.4"));
    assert_true(v4_refused("99999999999999999999.1.1.1"));
    assert_true(v4_refused("4294967296.0.0.0"));
}

static void test_v4_parse_trailing_junk(void **state)
{
    assert_true(v4_refused("1.2.3.4 "));
    assert_true(v4_refused("1.2.3.4x"));
    assert_true(v4_refused("1.2.3.4."));
    assert_true(v4_refused("1.2.3.4.5"));
    assert_true(v4_refused("1.2.3.4/24"));
    assert_true(v4_refused("1.2.3.4\n"));
}

static void test_v4_parse_malformed(void **state)
{
    assert_true(v4_refused(""));
    assert_true(v4_refused("1.2.3"));
    assert_true(v4_refused(" 1.2.3.4"));
    assert_true(v4_refused("1..2.3"));
    assert_true(v4_refused("+1.2.3.4"));
    assert_true(v4_refused("1.2.3.-4"));
    assert_true(v4_refused("0x1.2.3.4"));
    assert_true(v4_refused("a.b.c.d"));
    assert_true(v4_refused("16909060")); /* inet_aton would take it */
}

static void test_v4_format(void **state)
{
    char buf[CN_V4_STR_MAX];
    cn_v4_format(0xc0000201u, buf);
    assert_string_equal(buf, "192.0.2.1");
    cn_v4_format(0, buf);
    assert_string_equal(buf, "0.0.0.0");
    cn_v4_format(0xffffffffu, buf);
    assert_string_equal(buf, "255.255.255.255");

    g_autofree char *text = cn_v4_str(0x0a000001u);
    assert_string_equal(text, "10.0.0.1");
}

static void test_v4_format_parse_round_trip(void **state)
{
    static const uint32_t samples[] = { 0, 1, 0x7f000001u, 0x80000000u, 0xa9fea9feu,
                                        0xfffffffeu, 0xffffffffu, 0x01000100u };
    for (gsize i = 0; i < G_N_ELEMENTS(samples); i++) {
        char buf[CN_V4_STR_MAX];
        uint32_t back = 0;
        cn_v4_format(samples[i], buf);
        assert_true(cn_v4_parse(buf, &back));
        assert_int_equal(back, samples[i]);
    }
}

/* Networks */

static void test_v4_cidr_valid(void **state)
{
    uint32_t network = 1;
    unsigned prefix = 99;
    assert_true(cn_v4_cidr_parse("10.0.0.0/8", &network, &prefix));
    assert_int_equal(network, 0x0a000000u);
    assert_int_equal(prefix, 8);
    assert_true(cn_v4_cidr_parse("192.0.2.0/24", &network, &prefix));
    assert_int_equal(network, 0xc0000200u);
    assert_int_equal(prefix, 24);
    assert_true(cn_v4_cidr_parse("192.0.2.64/26", &network, &prefix));
    assert_int_equal(prefix, 26);
}

static void test_v4_cidr_host_bits_refused(void **state)
{
    uint32_t network;
    unsigned prefix;
    assert_false(cn_v4_cidr_parse("10.0.0.1/8", &network, &prefix));
    assert_false(cn_v4_cidr_parse("192.0.2.1/24", &network, &prefix));
    assert_false(cn_v4_cidr_parse("192.0.2.128/24", &network, &prefix));
    assert_false(cn_v4_cidr_parse("192.0.2.65/26", &network, &prefix));
    assert_false(cn_v4_cidr_parse("192.0.2.1/31", &network, &prefix));
}

static void test_v4_cidr_prefix_0_and_32(void **state)
{
    uint32_t network = 1;
    unsigned prefix = 99;
    assert_true(cn_v4_cidr_parse("0.0.0.0/0", &network, &prefix));
    assert_int_equal(network, 0);
    assert_int_equal(prefix, 0);
    assert_false(cn_v4_cidr_parse("1.0.0.0/0", &network, &prefix));

    assert_true(cn_v4_cidr_parse("192.0.2.77/32", &network, &prefix));
    assert_int_equal(network, 0xc000024du);
    assert_int_equal(prefix, 32);
    assert_true(cn_v4_cidr_parse("255.255.255.255/32", &network, &prefix));
}

static void test_v4_cidr_malformed(void **state)
{
    uint32_t network;
    unsigned prefix;
    assert_false(cn_v4_cidr_parse("10.0.0.0/33", &network, &prefix));
    assert_false(cn_v4_cidr_parse("10.0.0.0/08", &network, &prefix));
    assert_false(cn_v4_cidr_parse("10.0.0.0/", &network, &prefix));
    assert_false(cn_v4_cidr_parse("10.0.0.0", &network, &prefix));
    assert_false(cn_v4_cidr_parse("10.0.0.0/24x", &network, &prefix));
    assert_false(cn_v4_cidr_parse("10.0.0.0/-1", &network, &prefix));
    assert_false(cn_v4_cidr_parse("10.0.0.0 /24", &network, &prefix));
    assert_false(cn_v4_cidr_parse("/24", &network, &prefix));
    assert_false(cn_v4_cidr_parse("", &network, &prefix));
}

static void test_v4_range(void **state)
{
    uint32_t first = 0, last = 0;
    assert_true(cn_v4_range_parse("10.0.0.5-10.0.0.9", &first, &last));
    assert_int_equal(first, 0x0a000005u);
    assert_int_equal(last, 0x0a000009u);
    assert_true(cn_v4_range_parse("10.0.0.5-10.0.0.5", &first, &last));
    assert_int_equal(first, last);
    assert_true(cn_v4_range_parse("10.0.0.255-10.0.1.0", &first, &last));
    assert_int_equal(last - first, 1);
}

static void test_v4_range_refused(void **state)
{
    uint32_t first = 7, last = 7;
    assert_false(cn_v4_range_parse("10.0.0.9-10.0.0.5", &first, &last));
    assert_false(cn_v4_range_parse("10.0.0.5", &first, &last));
    assert_false(cn_v4_range_parse("10.0.0.5-", &first, &last));
    assert_false(cn_v4_range_parse("-10.0.0.5", &first, &last));
    assert_false(cn_v4_range_parse("10.0.0.5 - 10.0.0.9", &first, &last));
    assert_false(cn_v4_range_parse("10.0.0.5-10.0.0.9-10.0.0.10", &first, &last));
    assert_false(cn_v4_range_parse("10.0.0.5-10.0.0.256", &first, &last));
    assert_false(cn_v4_range_parse("10.0.0.5-10.0.0.9x", &first, &last));
    assert_int_equal(first, 7);
    assert_int_equal(last, 7);
}

static void test_v4_netmask(void **state)
{
    assert_int_equal(cn_v4_netmask(0), 0);
    assert_int_equal(cn_v4_netmask(1), 0x80000000u);
    assert_int_equal(cn_v4_netmask(8), 0xff000000u);
    assert_int_equal(cn_v4_netmask(24), 0xffffff00u);
    assert_int_equal(cn_v4_netmask(31), 0xfffffffeu);
    assert_int_equal(cn_v4_netmask(32), 0xffffffffu);
}

static void test_v4_in_network(void **state)
{
    const uint32_t net = 0xc0000200u; /* 192.0.2.0 */
    assert_true(cn_v4_in_network(0xc0000200u, net, 24));
    assert_true(cn_v4_in_network(0xc00002ffu, net, 24));
    assert_false(cn_v4_in_network(0xc0000300u, net, 24));
    assert_false(cn_v4_in_network(0xc00001ffu, net, 24));
    assert_true(cn_v4_in_network(0x01020304u, 0, 0));
    assert_true(cn_v4_in_network(0xc0000201u, 0xc0000201u, 32));
    assert_false(cn_v4_in_network(0xc0000202u, 0xc0000201u, 32));
}

static void test_v4_is_host_24(void **state)
{
    const uint32_t net = 0xc0000200u;
    assert_false(cn_v4_is_host(net, net, 24));              /* network */
    assert_false(cn_v4_is_host(net | 0xff, net, 24));       /* broadcast */
    assert_true(cn_v4_is_host(net | 1, net, 24));
    assert_true(cn_v4_is_host(net | 0xfe, net, 24));
    assert_false(cn_v4_is_host(0xc0000301u, net, 24));      /* outside */
}

static void test_v4_is_host_30(void **state)
{
    const uint32_t net = 0x0a000004u; /* 10.0.0.4/30: .5 and .6 */
    assert_false(cn_v4_is_host(net, net, 30));
    assert_true(cn_v4_is_host(net + 1, net, 30));
    assert_true(cn_v4_is_host(net + 2, net, 30));
    assert_false(cn_v4_is_host(net + 3, net, 30));
    assert_false(cn_v4_is_host(net + 4, net, 30));
}

static void test_v4_is_host_31_and_32(void **state)
{
    /* RFC 3021: both addresses of a /31 are hosts. */
    assert_true(cn_v4_is_host(0x0a000000u, 0x0a000000u, 31));
    assert_true(cn_v4_is_host(0x0a000001u, 0x0a000000u, 31));
    assert_false(cn_v4_is_host(0x0a000002u, 0x0a000000u, 31));
    assert_true(cn_v4_is_host(0x0a000007u, 0x0a000007u, 32));
    assert_false(cn_v4_is_host(0x0a000008u, 0x0a000007u, 32));
}

/* MACs */

static void test_mac_parse(void **state)
{
    uint8_t mac[6] = { 0 };
    static const uint8_t expected[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
    assert_true(cn_mac_parse("52:54:00:12:34:56", mac));
    assert_memory_equal(mac, expected, 6);
}

static void test_mac_parse_case_insensitive(void **state)
{
    uint8_t upper[6], lower[6], mixed[6];
    assert_true(cn_mac_parse("AA:BB:CC:DD:EE:FF", upper));
    assert_true(cn_mac_parse("aa:bb:cc:dd:ee:ff", lower));
    assert_true(cn_mac_parse("aA:Bb:cC:dD:Ee:fF", mixed));
    assert_memory_equal(upper, lower, 6);
    assert_memory_equal(mixed, lower, 6);
    assert_int_equal(lower[0], 0xaa);
    assert_int_equal(lower[5], 0xff);
}

static void test_mac_parse_refused(void **state)
{
    static const char *const bad[] = {
        "", "52:54:00:12:34", "52:54:00:12:34:56:78", "52-54-00-12-34-56", "5:54:00:12:34:56",
        "52:54:00:12:34:5", "52:54:00:12:34:5g", "52:54:00:12:34:56 ", " 52:54:00:12:34:56",
        "525400123456", "52:54:00:12:34::6", "52:54:00:12:34:567", "g2:54:00:12:34:56",
    };
    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        uint8_t mac[6] = { 1, 2, 3, 4, 5, 6 };
        static const uint8_t untouched[6] = { 1, 2, 3, 4, 5, 6 };
        if (cn_mac_parse(bad[i], mac))
            fail_msg("accepted '%s'", bad[i]);
        assert_memory_equal(mac, untouched, 6);
    }
}

static void test_mac_format(void **state)
{
    char buf[CN_MAC_STR_MAX];
    static const uint8_t mac[6] = { 0x02, 0x0a, 0xb0, 0x00, 0xff, 0x01 };
    cn_mac_format(mac, buf);
    assert_string_equal(buf, "02:0a:b0:00:ff:01");
}

static void test_mac_round_trip(void **state)
{
    uint8_t mac[6], back[6];
    char buf[CN_MAC_STR_MAX];
    for (int i = 0; i < 256; i++) {
        for (int b = 0; b < 6; b++)
            mac[b] = (uint8_t)(i * (b + 7) + b);
        cn_mac_format(mac, buf);
        assert_int_equal(strlen(buf), 17);
        assert_true(cn_mac_parse(buf, back));
        assert_memory_equal(mac, back, 6);
    }
}

static void test_mac_multicast(void **state)
{
    static const uint8_t ipv4_multicast[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
    static const uint8_t broadcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    static const uint8_t local[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
    static const uint8_t qemu[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
    static const uint8_t odd_last[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x57 };
    assert_true(cn_mac_is_multicast(ipv4_multicast));
    assert_true(cn_mac_is_multicast(broadcast));
    assert_false(cn_mac_is_multicast(local));
    assert_false(cn_mac_is_multicast(qemu));
    assert_false(cn_mac_is_multicast(odd_last)); /* only the first octet's low bit counts */
}

/* Names */

static char *repeat(char c, gsize n)
{
    char *text = g_malloc(n + 1);
    memset(text, c, n);
    text[n] = '\0';
    return text;
}

static void test_name_valid(void **state)
{
    g_autofree char *n64 = repeat('a', 64);
    assert_true(cn_name_is_valid("lan"));
    assert_true(cn_name_is_valid("a"));
    assert_true(cn_name_is_valid("Lab_net-2.v4"));
    assert_true(cn_name_is_valid(n64));
}

static void test_name_refused(void **state)
{
    g_autofree char *n65 = repeat('a', 65);
    assert_false(cn_name_is_valid(""));
    assert_false(cn_name_is_valid(n65));
    assert_false(cn_name_is_valid("a b"));
    assert_false(cn_name_is_valid("a/b"));
    assert_false(cn_name_is_valid("a:b"));
    assert_false(cn_name_is_valid("caf\xc3\xa9"));
    assert_false(cn_name_is_valid("a;b"));
}

static void test_ifname_valid(void **state)
{
    g_autofree char *n15 = repeat('x', 15);
    assert_true(cn_ifname_is_valid("eth0"));
    assert_true(cn_ifname_is_valid("br-lan.10"));
    assert_true(cn_ifname_is_valid("a"));
    assert_true(cn_ifname_is_valid("tap_0-x.y"));
    assert_true(cn_ifname_is_valid("a.."));
    assert_true(cn_ifname_is_valid(n15));
}

static void test_ifname_refused(void **state)
{
    g_autofree char *n16 = repeat('x', 16);
    assert_false(cn_ifname_is_valid(""));
    assert_false(cn_ifname_is_valid(n16));
    assert_false(cn_ifname_is_valid("."));
    assert_false(cn_ifname_is_valid(".."));
    assert_false(cn_ifname_is_valid(".hidden"));
    assert_false(cn_ifname_is_valid("-eth0"));
    assert_false(cn_ifname_is_valid("a,b")); /* would split a QEMU option string */
    assert_false(cn_ifname_is_valid("a=b"));
    assert_false(cn_ifname_is_valid("a;b"));
    assert_false(cn_ifname_is_valid("a/b"));
    assert_false(cn_ifname_is_valid("a:b"));
    assert_false(cn_ifname_is_valid("a b"));
    assert_false(cn_ifname_is_valid("a\tb"));
    assert_false(cn_ifname_is_valid("a\nb"));
    assert_false(cn_ifname_is_valid("a\x7f"));
    assert_false(cn_ifname_is_valid("caf\xc3\xa9"));
}

static void test_dns_name_valid(void **state)
{
    g_autofree char *l63 = repeat('a', 63);
    assert_true(cn_dns_name_is_valid("web"));
    assert_true(cn_dns_name_is_valid("web-1.example.org"));
    assert_true(cn_dns_name_is_valid("1"));
    assert_true(cn_dns_name_is_valid("a-b"));
    assert_true(cn_dns_name_is_valid("A.B.c"));
    assert_true(cn_dns_name_is_valid(l63));
}

static void test_dns_name_label_length(void **state)
{
    g_autofree char *l63 = repeat('a', 63);
    g_autofree char *l64 = repeat('a', 64);
    g_autofree char *ok = g_strconcat("x.", l63, ".y", NULL);
    g_autofree char *bad = g_strconcat("x.", l64, ".y", NULL);
    assert_true(cn_dns_name_is_valid(ok));
    assert_false(cn_dns_name_is_valid(l64));
    assert_false(cn_dns_name_is_valid(bad));
}

static void test_dns_name_total_length(void **state)
{
    g_autofree char *l63 = repeat('a', 63);
    g_autofree char *l61 = repeat('b', 61);
    g_autofree char *l62 = repeat('b', 62);
    /* 3 * 63 + 61 + 3 dots = 253 */
    g_autofree char *n253 = g_strjoin(".", l63, l63, l63, l61, NULL);
    g_autofree char *n254 = g_strjoin(".", l63, l63, l63, l62, NULL);
    assert_int_equal(strlen(n253), 253);
    assert_int_equal(strlen(n254), 254);
    assert_true(cn_dns_name_is_valid(n253));
    assert_false(cn_dns_name_is_valid(n254));
}

static void test_dns_name_refused(void **state)
{
    static const char *const bad[] = {
        "", "-a", "a-", "a.-b", "a-.b", "a..b", ".a", "a.", ".", "a_b", "a b", "a/b", "caf\xc3\xa9",
    };
    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        if (cn_dns_name_is_valid(bad[i]))
            fail_msg("accepted '%s'", bad[i]);
    }
}

/* [HOST:]PORT: the longest dotted quad is read, one character more is
 * not (the host is parsed from a buffer of that size). */
static void test_endpoint_parse(void **state)
{
    CnEndpoint endpoint = { 0 };
    assert_true(cn_endpoint_parse("255.255.255.255:65535", FALSE, &endpoint));
    assert_true(endpoint.set);
    assert_int_equal(endpoint.host, 0xffffffffu);
    assert_int_equal(endpoint.port, 65535);
    assert_true(cn_endpoint_parse("10.63.0.1:80", FALSE, &endpoint));
    assert_int_equal(endpoint.host, 0x0a3f0001);
    assert_int_equal(endpoint.port, 80);
    assert_true(cn_endpoint_parse("8000", TRUE, &endpoint));
    assert_int_equal(endpoint.host, 0);
    assert_int_equal(endpoint.port, 8000);
    const char *bad[] = { "8000", "255.255.255.2555:80", "0255.255.255.255:80", "1234567890123456789:80", ":80",
                          "10.0.0.1:", "10.0.0.1:0", "10.0.0.1:65536", "10.0.0.1:+80", "10.0.0.1: 80", NULL };
    for (int i = 0; bad[i]; i++) {
        if (cn_endpoint_parse(bad[i], FALSE, &endpoint))
            fail_msg("'%s' read as an endpoint", bad[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v4_parse_valid),
        cmocka_unit_test(test_endpoint_parse),
        cmocka_unit_test(test_v4_parse_leading_zero_refused),
        cmocka_unit_test(test_v4_parse_out_of_range),
        cmocka_unit_test(test_v4_parse_trailing_junk),
        cmocka_unit_test(test_v4_parse_malformed),
        cmocka_unit_test(test_v4_format),
        cmocka_unit_test(test_v4_format_parse_round_trip),
        cmocka_unit_test(test_v4_cidr_valid),
        cmocka_unit_test(test_v4_cidr_host_bits_refused),
        cmocka_unit_test(test_v4_cidr_prefix_0_and_32),
        cmocka_unit_test(test_v4_cidr_malformed),
        cmocka_unit_test(test_v4_range),
        cmocka_unit_test(test_v4_range_refused),
        cmocka_unit_test(test_v4_netmask),
        cmocka_unit_test(test_v4_in_network),
        cmocka_unit_test(test_v4_is_host_24),
        cmocka_unit_test(test_v4_is_host_30),
        cmocka_unit_test(test_v4_is_host_31_and_32),
        cmocka_unit_test(test_mac_parse),
        cmocka_unit_test(test_mac_parse_case_insensitive),
        cmocka_unit_test(test_mac_parse_refused),
        cmocka_unit_test(test_mac_format),
        cmocka_unit_test(test_mac_round_trip),
        cmocka_unit_test(test_mac_multicast),
        cmocka_unit_test(test_name_valid),
        cmocka_unit_test(test_name_refused),
        cmocka_unit_test(test_ifname_valid),
        cmocka_unit_test(test_ifname_refused),
        cmocka_unit_test(test_dns_name_valid),
        cmocka_unit_test(test_dns_name_label_length),
        cmocka_unit_test(test_dns_name_total_length),
        cmocka_unit_test(test_dns_name_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
