/* test-netxml-diff.c - what define applies live and what needs a restart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "netxml-diff.h"
#include "xml-util.h"

static xmlDocPtr doc(const char *text)
{
    g_autoptr(GError) error = NULL;
    xmlDocPtr parsed = cn_xml_parse("test", text, strlen(text), &error);
    assert_non_null(parsed);
    return parsed;
}

#define NET(body) "<network><name>lan</name>" body "</network>"
#define IP(hosts) "<ip address='10.0.0.1' prefix='24'><dhcp>" hosts "</dhcp></ip>"
#define HOST_A "<host mac='52:54:00:00:00:0a' name='a' ip='10.0.0.10'/>"
#define HOST_B "<host mac='52:54:00:00:00:0b' name='b' ip='10.0.0.11'/>"

static CnNetDiff *diff(const char *current, const char *wanted)
{
    g_autoptr(xmlDoc) a = doc(current);
    g_autoptr(xmlDoc) b = doc(wanted);
    return cn_net_diff(a, b);
}

static void test_identical_is_empty(void **state)
{
    g_autoptr(CnNetDiff) d = diff(NET("<forward mode='nat'/>" IP(HOST_A)), NET("<forward mode='nat'/>" IP(HOST_A)));
    assert_true(cn_net_diff_is_empty(d));
}

static void test_libvirt_defaults_are_not_changes(void **state)
{
    /* libvirt adds uuid and mac, and writes single quotes and upper-case MACs. */
    g_autoptr(CnNetDiff) d = diff(NET("<uuid>0b7f4c4e-4d3c-4e57-9e59-1c0e8d7e0f2a</uuid><mac address='52:54:00:aa:bb:cc'/>"
                                      IP("<host mac='52:54:00:00:00:0A' name='a' ip='10.0.0.10'/>")),
                                  NET(IP(HOST_A)));
    assert_true(cn_net_diff_is_empty(d));
}

static void test_added_reservation_is_live(void **state)
{
    g_autoptr(CnNetDiff) d = diff(NET(IP(HOST_A)), NET(IP(HOST_A HOST_B)));
    assert_int_equal(d->restart_reasons->len, 0);
    assert_int_equal(d->updates->len, 1);
    const CnNetUpdate *u = d->updates->pdata[0];
    assert_int_equal(u->command, CN_NET_UPDATE_ADD);
    assert_int_equal(u->section, CN_NET_SECTION_DHCP_HOST);
    assert_string_equal(u->xml, "<host mac='52:54:00:00:00:0b' name='b' ip='10.0.0.11'/>");
}

static void test_changed_reservation_deletes_first(void **state)
{
    g_autoptr(CnNetDiff) d = diff(NET(IP(HOST_A)), NET(IP("<host mac='52:54:00:00:00:0a' name='a' ip='10.0.0.20'/>")));
    assert_int_equal(d->updates->len, 2);
    assert_int_equal(((CnNetUpdate *)d->updates->pdata[0])->command, CN_NET_UPDATE_DELETE);
    assert_int_equal(((CnNetUpdate *)d->updates->pdata[1])->command, CN_NET_UPDATE_ADD);
}

static void test_dns_host_is_live(void **state)
{
    g_autoptr(CnNetDiff) d = diff(NET("<dns/>"), NET("<dns><host ip='10.0.0.5'><hostname>web</hostname></host></dns>"));
    assert_int_equal(d->restart_reasons->len, 0);
    assert_int_equal(d->updates->len, 1);
    const CnNetUpdate *u = d->updates->pdata[0];
    assert_int_equal(u->section, CN_NET_SECTION_DNS_HOST);
    assert_string_equal(u->xml, "<host ip='10.0.0.5'><hostname>web</hostname></host>");
}

static void test_forward_mode_needs_restart(void **state)
{
    g_autoptr(CnNetDiff) d = diff(NET("<forward mode='nat'/>"), NET("<forward mode='route'/>"));
    assert_int_equal(d->restart_reasons->len, 1);
    assert_string_equal(d->restart_reasons->pdata[0], "forward mode nat -> route");
}

static void test_absent_forward_reads_isolated(void **state)
{
    g_autoptr(CnNetDiff) d = diff(NET(""), NET("<forward mode='nat'/>"));
    assert_string_equal(d->restart_reasons->pdata[0], "forward mode isolated -> nat");
}

static void test_enabling_dhcp_needs_restart(void **state)
{
    g_autoptr(CnNetDiff) d = diff(NET("<ip address='10.0.0.1' prefix='24'/>"), NET(IP(HOST_A)));
    gboolean found = FALSE;
    for (guint i = 0; i < d->restart_reasons->len; i++)
        found |= strcmp(d->restart_reasons->pdata[i], "DHCP off -> dhcp") == 0;
    assert_true(found);
}

static void test_every_restart_aspect(void **state)
{
    g_autoptr(CnNetDiff) d = diff(
        NET("<bridge name='a'/><mtu size='1500'/><domain name='x'/><dns><forwarder addr='1.1.1.1'/></dns>"
            "<ip address='10.0.0.1' prefix='24'><dhcp><range start='10.0.0.2' end='10.0.0.9'/></dhcp></ip>"),
        NET("<bridge name='b'/><mtu size='9000'/><port isolated='yes'/><domain name='y'/>"
            "<dns><forwarder addr='8.8.8.8'/></dns>"
            "<ip address='10.0.0.254' prefix='25'><dhcp><range start='10.0.0.3' end='10.0.0.9'/></dhcp></ip>"
            "<virtualport type='openvswitch'/><vlan><tag id='7'/></vlan>"));
    assert_int_equal(d->restart_reasons->len, 10);
}

static void test_metadata_change_is_seen(void **state)
{
    g_autoptr(CnNetDiff) d = diff(NET("<metadata><cn:network xmlns:cn='" CN_XML_NS "' name='lan'/></metadata>"),
                                  NET("<metadata><cn:network xmlns:cn='" CN_XML_NS "' name='lan' isolate-guests='yes'/></metadata>"));
    assert_true(d->metadata_changed);
    assert_int_equal(d->restart_reasons->len, 0);
}

static void test_other_metadata_ignored(void **state)
{
    g_autoptr(CnNetDiff) d = diff(NET("<metadata><o:x xmlns:o='http://example.org/o'/></metadata>"), NET(""));
    assert_true(cn_net_diff_is_empty(d));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identical_is_empty),
        cmocka_unit_test(test_libvirt_defaults_are_not_changes),
        cmocka_unit_test(test_added_reservation_is_live),
        cmocka_unit_test(test_changed_reservation_deletes_first),
        cmocka_unit_test(test_dns_host_is_live),
        cmocka_unit_test(test_forward_mode_needs_restart),
        cmocka_unit_test(test_absent_forward_reads_isolated),
        cmocka_unit_test(test_enabling_dhcp_needs_restart),
        cmocka_unit_test(test_every_restart_aspect),
        cmocka_unit_test(test_metadata_change_is_seen),
        cmocka_unit_test(test_other_metadata_ignored),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
