/* test-outbound.c - public_address for masqueraded networks: the
 * outbound-address record, the events built from the hook's port records,
 * and the masquerade word of the network record. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "events.h"
#include "hook-record.h"
#include "netaddr.h"
#include "outbound.h"

static uint32_t v4(const char *text)
{
    uint32_t address;
    assert_true(cn_v4_parse(text, &address));
    return address;
}

static void test_record_round_trip(void **state)
{
    CnOutbound outbound = { v4("203.0.113.5"), "eth0" };
    g_autofree char *text = cn_outbound_format(&outbound);
    assert_string_equal(text, "carthage-net-outbound 1\naddress 203.0.113.5 eth0\n");
    CnOutbound back;
    assert_true(cn_outbound_parse("f", text, strlen(text), &back, NULL));
    assert_int_equal(back.address, outbound.address);
    assert_string_equal(back.device, "eth0");
}

static void test_record_none_and_no_device(void **state)
{
    CnOutbound none = { 0 };
    g_autofree char *text = cn_outbound_format(&none);
    assert_string_equal(text, "carthage-net-outbound 1\naddress none\n");
    CnOutbound back = { 1, "x" };
    assert_true(cn_outbound_parse("f", text, strlen(text), &back, NULL));
    assert_int_equal(back.address, 0);
    assert_string_equal(back.device, "");
    const char *bare = "carthage-net-outbound 1\naddress 192.0.2.9\n";
    assert_true(cn_outbound_parse("f", bare, strlen(bare), &back, NULL));
    assert_int_equal(back.address, v4("192.0.2.9"));
    assert_string_equal(back.device, "");
}

static void test_record_errors_name_file_and_line(void **state)
{
    static const char *bad[] = {
        "carthage-net-outbound 2\naddress none\n",          /* version */
        "carthage-net-outbound 1\n",                         /* no line */
        "carthage-net-outbound 1\naddress none\naddress none\n",
        "carthage-net-outbound 1\naddress 300.1.1.1\n",
        "carthage-net-outbound 1\naddress none eth0\n",
        "carthage-net-outbound 1\naddress 192.0.2.1 eth0 more\n",
        "carthage-net-outbound 1\naddress 192.0.2.1 bad/name\n",
        "carthage-net-outbound 1\nroute 192.0.2.1\n",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) error = NULL;
        CnOutbound out = { 7, "" };
        assert_false(cn_outbound_parse("outbound-address", bad[i], strlen(bad[i]), &out, &error));
        assert_non_null(error);
        assert_non_null(strstr(error->message, "outbound-address"));
        assert_int_equal(out.address, 0);
    }
}

static GPtrArray *ports_from(const char *text)
{
    g_autoptr(GError) error = NULL;
    GPtrArray *ports = cn_hook_ports_parse("hook-domain-x", text, strlen(text), &error);
    assert_null(error);
    assert_non_null(ports);
    return ports;
}

static void test_events_only_for_masqueraded_networks(void **state)
{
    g_autoptr(GPtrArray) ports = ports_from("carthage-net-hook-domain 1\n"
                                            "port lab vnet0 52:54:00:00:00:01 10.60.0.5 10.60.0.6\n"
                                            "port md vnet1 52:54:00:00:00:02 10.63.0.9\n"
                                            "port lab vnet2 52:54:00:00:00:03\n");
    g_autoptr(GHashTable) masquerading = g_hash_table_new(g_str_hash, g_str_equal);
    g_hash_table_insert(masquerading, "lab", GINT_TO_POINTER(1));
    g_hash_table_insert(masquerading, "md", NULL); /* known, not masqueraded */
    g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func((GDestroyNotify)cn_event_free);
    CnOutbound outbound = { v4("203.0.113.5"), "up0" };
    cn_outbound_port_events(events, "web", ports, masquerading, &outbound);
    assert_int_equal(events->len, 2); /* one per address; none for md or the port without one */
    g_autofree char *first = cn_event_format(events->pdata[0], 1, 0);
    assert_string_equal(first, "{\"seq\":1,\"time\":\"1970-01-01T00:00:00.000000Z\",\"event\":\"public_address\","
                               "\"machine\":\"web\",\"network\":\"lab\",\"address\":\"10.60.0.5\","
                               "\"public_address\":\"203.0.113.5\",\"nat\":\"masquerade\",\"device\":\"up0\"}");
    g_autofree char *second = cn_event_format(events->pdata[1], 2, 0);
    assert_non_null(strstr(second, "\"address\":\"10.60.0.6\""));
}

static void test_no_events_without_a_route_out(void **state)
{
    g_autoptr(GPtrArray) ports = ports_from("carthage-net-hook-domain 1\nport lab vnet0 52:54:00:00:00:01 10.60.0.5\n");
    g_autoptr(GHashTable) masquerading = g_hash_table_new(g_str_hash, g_str_equal);
    g_hash_table_insert(masquerading, "lab", GINT_TO_POINTER(1));
    g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func((GDestroyNotify)cn_event_free);
    CnOutbound none = { 0 };
    cn_outbound_port_events(events, "web", ports, masquerading, &none);
    assert_int_equal(events->len, 0);
}

static void test_ports_keep_their_addresses(void **state)
{
    const char *text = "carthage-net-hook-domain 1\nport lab vnet0 52:54:00:00:00:01 10.60.0.5 10.60.0.6\n"
                       "port lab vnet1 52:54:00:00:00:02\n";
    g_autoptr(GPtrArray) ports = ports_from(text);
    assert_int_equal(ports->len, 2);
    const CnHookPort *port = ports->pdata[0];
    assert_int_equal(port->addresses->len, 2);
    assert_int_equal(g_array_index(port->addresses, uint32_t, 1), v4("10.60.0.6"));
    /* Version 1 (before IPv6 and "pinned") reads, and is written as 2. */
    g_autofree char *again = cn_hook_ports_format(ports);
    assert_string_equal(again, "carthage-net-hook-domain 2\nport lab vnet0 52:54:00:00:00:01 pinned 10.60.0.5 10.60.0.6\n"
                               "port lab vnet1 52:54:00:00:00:02\n");
    const char *bad = "carthage-net-hook-domain 1\nport lab vnet0 52:54:00:00:00:01 10.60.0\n";
    g_autoptr(GError) error = NULL;
    assert_null(cn_hook_ports_parse("hook-domain-x", bad, strlen(bad), &error));
    assert_non_null(strstr(error->message, "hook-domain-x:2"));
}

static void test_network_record_masquerade_word(void **state)
{
    g_autoptr(CnHookRecord) record = cn_hook_record_new("lab", "cn-lab");
    record->masquerade = TRUE;
    g_autofree char *text = cn_hook_record_format(record);
    assert_string_equal(text, "carthage-net-hook-network 2\nnetwork lab cn-lab plain masquerade\n");
    g_autoptr(CnHookRecord) back = cn_hook_record_parse("f", text, strlen(text), NULL);
    assert_non_null(back);
    assert_true(back->masquerade);
    assert_false(back->metadata);
    /* Records written before the word existed still read. */
    const char *old = "carthage-net-hook-network 1\nnetwork md cn-md metadata\n";
    g_autoptr(CnHookRecord) old_record = cn_hook_record_parse("f", old, strlen(old), NULL);
    assert_non_null(old_record);
    assert_false(old_record->masquerade);
    const char *bad = "carthage-net-hook-network 1\nnetwork md cn-md metadata nat\n";
    g_autoptr(GError) error = NULL;
    assert_null(cn_hook_record_parse("f", bad, strlen(bad), &error));
    assert_non_null(error);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_round_trip),
        cmocka_unit_test(test_record_none_and_no_device),
        cmocka_unit_test(test_record_errors_name_file_and_line),
        cmocka_unit_test(test_events_only_for_masqueraded_networks),
        cmocka_unit_test(test_no_events_without_a_route_out),
        cmocka_unit_test(test_ports_keep_their_addresses),
        cmocka_unit_test(test_network_record_masquerade_word),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
