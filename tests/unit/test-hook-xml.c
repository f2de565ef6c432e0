/* test-hook-xml.c - the hook's reading of libvirt's XML, on XML recorded
 * from libvirt 9.0 (tests/data/hook) and on broken input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "hook.h"
#include "netaddr.h"
#include "xml-ns.h"
#include "tests/unit/test-paths.h"

static HookInput *parse_file(const char *name)
{
    g_autofree char *path = g_build_filename(TEST_DATA_DIR, "hook", name, NULL);
    g_autofree char *text = NULL;
    gsize length;
    g_autoptr(GError) error = NULL;
    assert_true(g_file_get_contents(path, &text, &length, NULL));
    HookInput *input = hook_input_parse(text, length, &error);
    if (!input)
        fail_msg("%s: %s", name, error->message);
    return input;
}

static void expect_error(const char *text, const char *part)
{
    g_autoptr(GError) error = NULL;
    HookInput *input = hook_input_parse(text, strlen(text), &error);
    assert_null(input);
    assert_non_null(error);
    if (!strstr(error->message, part))
        fail_msg("'%s' does not mention '%s'", error->message, part);
}

static void mac(const char *text, uint8_t out[6])
{
    assert_true(cn_mac_parse(text, out));
}

static void test_network_start(void **state)
{
    g_autoptr(HookInput) in = parse_file("network-start.xml");
    assert_true(in->has_network);
    assert_string_equal(in->network.name, "md");
    assert_string_equal(in->network.bridge, "cn-md");
    assert_true(in->network.ours);
    CnIsoNetwork *iso = in->network.iso;
    assert_string_equal(iso->name, "md");
    assert_true(iso->metadata);
    assert_int_equal(iso->metadata_address, 0xa9fea9fe);
    assert_int_equal(iso->metadata_port, 80);
    assert_true(iso->default_handler.set);
    assert_int_equal(iso->default_handler.port, 8000);
    assert_int_equal(iso->gateway, 0x0a3f0001);
    assert_int_equal(iso->reservations->len, 2);
    assert_int_equal(iso->handlers->len, 2);
    uint8_t m1[6];
    mac("36:8a:c2:4f:45:44", m1);
    assert_string_equal(cn_hook_record_mac_owner(in->network.record, m1), "m1");
    assert_false(in->port.present);
}

static void test_network_not_ours(void **state)
{
    g_autoptr(HookInput) in = parse_file("network-start-foreign.xml");
    assert_true(in->has_network);
    assert_false(in->network.ours);
    assert_null(in->network.iso);
}

static void test_port_created(void **state)
{
    g_autoptr(HookInput) in = parse_file("network-port-created.xml");
    assert_true(in->port.present);
    assert_string_equal(in->port.owner, "m1");
    assert_true(in->port.has_mac);
    uint8_t m1[6];
    mac("36:8a:c2:4f:45:44", m1);
    assert_memory_equal(in->port.mac, m1, 6);
}

static HookInput *parse_port(const char *text, GError **error)
{
    return hook_input_parse_port(text, strlen(text), error);
}

static char *read_data(const char *name)
{
    g_autofree char *path = g_build_filename(TEST_DATA_DIR, "hook", name, NULL);
    char *text = NULL;
    assert_true(g_file_get_contents(path, &text, NULL, NULL));
    return text;
}

/* The port alone, found from the end: what the whole XML says of it, and
 * nothing of the network. */
static void test_port_only(void **state)
{
    g_autofree char *text = read_data("network-port-created.xml");
    g_autoptr(HookInput) whole = parse_file("network-port-created.xml");
    g_autoptr(HookInput) port = parse_port(text, NULL);
    assert_non_null(port);
    assert_true(port->port.present);
    assert_string_equal(port->port.owner, whole->port.owner);
    assert_true(port->port.has_mac);
    assert_memory_equal(port->port.mac, whole->port.mac, 6);
    assert_false(port->has_network);
    assert_null(port->network.name);

    /* The network's part is not read: not even well-formed, it is not
     * seen. */
    g_autofree char *unclosed = g_strdup(text);
    char *bridge = strstr(unclosed, "<bridge name='cn-md' stp='on' delay='0'/>");
    assert_non_null(bridge);
    memcpy(strstr(bridge, "/>"), " >", 2);
    g_autoptr(HookInput) despite = parse_port(unclosed, NULL);
    assert_non_null(despite);
    assert_true(despite->port.has_mac);
    assert_memory_equal(despite->port.mac, whole->port.mac, 6);
    assert_null(hook_input_parse(unclosed, strlen(unclosed), NULL));

    /* The last port is libvirt's: a decoy in the network's own metadata
     * (an operator's CDATA) comes before it. */
    g_autofree char *forged = read_data("network-port-created-forged.xml");
    const char *decoy = "<![CDATA[<networkport><owner><name>m1</name></owner></networkport>]]>";
    char *metadata = strstr(forged, "<metadata>");
    assert_non_null(metadata);
    g_autofree char *with_decoy = g_strdup_printf("%.*s<metadata>%s%s", (int)(metadata - forged), forged, decoy,
                                                  metadata + strlen("<metadata>"));
    g_autoptr(HookInput) real = parse_port(with_decoy, NULL);
    assert_non_null(real);
    assert_string_equal(real->port.owner, "m3");
    g_autoptr(HookInput) whole_decoy = hook_input_parse(with_decoy, strlen(with_decoy), NULL);
    assert_non_null(whole_decoy);
    assert_string_equal(whole_decoy->port.owner, "m3");

    /* No port at the end: NULL without an error (read it whole then). */
    const char *without[] = { "network-start.xml", "qemu-start.xml" };
    for (gsize i = 0; i < G_N_ELEMENTS(without); i++) {
        g_autofree char *other = read_data(without[i]);
        g_autoptr(GError) error = NULL;
        assert_null(parse_port(other, &error));
        assert_null(error);
    }
    const char *not_ports[] = {
        "", "</networkport>", "<networkportx></networkport></hookData>", "<networkport",
        "x</networkport><networkport>",
        /* not hookData's last child: nested, or something after it */
        "<hookData><networkport/><x><networkport><mac address='52:54:00:00:00:01'/></networkport></x></hookData>",
        "<hookData><networkport><mac address='52:54:00:00:00:01'/></networkport></hookData>x",
        "<hookData><networkport><mac address='52:54:00:00:00:01'/></networkport><!-- --></hookData>",
        "<hookData><networkport><mac address='52:54:00:00:00:01'/></networkport>",
    };
    for (gsize i = 0; i < G_N_ELEMENTS(not_ports); i++) {
        g_autoptr(GError) error = NULL;
        assert_null(parse_port(not_ports[i], &error));
        assert_null(error);
    }
    /* A port that is there but broken is an error, as it is read whole. */
    g_autoptr(GError) error = NULL;
    assert_null(parse_port("<hookData><networkport><mac address='zz'/></networkport></hookData>", &error));
    assert_non_null(error);
    assert_non_null(strstr(error->message, "bad MAC"));
    g_clear_error(&error);
    /* GMarkup's position is the port's: where it starts is said. */
    assert_null(parse_port("<hookData>\n<networkport><mac></networkport>\n</hookData>\n", &error));
    assert_non_null(strstr(error->message, "in <networkport> at byte 11 of stdin: "));
    /* Spaces and a newline around the end tag are libvirt's. */
    g_autoptr(HookInput) spaced =
        parse_port("<hookData>\n  <networkport>\n<mac address='52:54:00:00:00:01'/></networkport>\n</hookData>\n", NULL);
    assert_non_null(spaced);
    assert_true(spaced->port.has_mac);
}

static void test_qemu_start(void **state)
{
    g_autoptr(HookInput) in = parse_file("qemu-start.xml");
    assert_true(in->has_domain);
    assert_false(in->has_network);
    assert_string_equal(in->domain.name, "m1");
    assert_int_equal(in->domain.interfaces->len, 1);
    const HookInterface *iface = in->domain.interfaces->pdata[0];
    assert_string_equal(iface->type, "network");
    assert_string_equal(iface->network, "md");
    assert_string_equal(iface->tap, "vnet0");
    assert_true(iface->has_mac);
    const HookLink *link = hook_domain_link(&in->domain, iface->mac);
    assert_non_null(link);
    assert_string_equal(link->network, "md");
    assert_int_equal(link->addresses->len, 1);
    assert_int_equal(g_array_index(link->addresses, uint32_t, 0), 0x0a3f000b);
    assert_true(link->handler.set);
    assert_int_equal(link->handler.port, 9001);
}

static void test_qemu_start_ovn(void **state)
{
    /* A guest on an OVN network: a port of br-int; its link names its
     * logical port and the router's SNAT address, and no handler (OVN
     * serves the metadata on the chassis). */
    g_autoptr(HookInput) in = parse_file("qemu-start-ovn.xml");
    const HookInterface *iface = in->domain.interfaces->pdata[0];
    assert_string_equal(iface->type, "bridge");
    assert_null(iface->network);
    assert_string_equal(iface->tap, "vnet0");
    const HookLink *link = hook_domain_link(&in->domain, iface->mac);
    assert_non_null(link);
    assert_string_equal(link->network, "lab");
    assert_string_equal(link->ovn_port, "21a63326-9515-8afd-8354-e09978bc5f30");
    assert_int_equal(link->snat, 0xc000020a);
    assert_int_equal(link->nat->len, 1);
    assert_false(link->handler.set);
    expect_error("<domain><name>x</name><metadata><cn:machine xmlns:cn='" CN_XML_NS "' version='1' name='x'>"
                 "<cn:link iface='eth0' network='lab' mac='02:00:00:00:00:01' snat='192.0.2'/>"
                 "</cn:machine></metadata></domain>",
                 "bad SNAT address");
}

static void test_qemu_stopped_has_no_tap(void **state)
{
    /* Why the hook keeps its own record of the ports it isolated. */
    g_autoptr(HookInput) in = parse_file("qemu-stopped.xml");
    assert_int_equal(in->domain.interfaces->len, 1);
    assert_null(((HookInterface *)in->domain.interfaces->pdata[0])->tap);
}

static void test_qemu_pool_interface(void **state)
{
    g_autoptr(HookInput) in = parse_file("qemu-start-pool.xml");
    const HookInterface *iface = in->domain.interfaces->pdata[0];
    assert_string_equal(iface->type, "ethernet");
    assert_null(iface->network);
    assert_string_equal(iface->tap, "citap3");
    const HookLink *link = hook_domain_link(&in->domain, iface->mac);
    assert_non_null(link);
    assert_string_equal(link->network, "md");
    assert_string_equal(link->tap, "citap3");
}

static void test_every_recorded_event_parses(void **state)
{
    const char *files[] = { "network-start.xml", "network-started.xml", "network-port-created.xml",
                            "network-port-deleted.xml", "qemu-prepare.xml", "qemu-start.xml",
                            "qemu-started.xml", "qemu-stopped.xml", "qemu-release.xml" };
    for (gsize i = 0; i < G_N_ELEMENTS(files); i++) {
        g_autoptr(HookInput) in = parse_file(files[i]);
        assert_true(in->has_network || in->has_domain);
    }
}

static void test_other_prefix_is_ours(void **state)
{
    g_autoptr(GError) error = NULL;
    const char *text = "<hookData><network><name>n</name><metadata>"
                       "<x:network xmlns:x='" CN_XML_NS "' name='n' bridge='br'>"
                       "<x:guest machine='a' mac='52:54:00:00:00:01' ipv4='10.0.0.2'/></x:network>"
                       "</metadata></network></hookData>";
    g_autoptr(HookInput) in = hook_input_parse(text, strlen(text), &error);
    assert_non_null(in);
    assert_true(in->network.ours);
    assert_int_equal(in->network.iso->reservations->len, 1);
}

static void test_foreign_namespace_is_not_ours(void **state)
{
    g_autoptr(GError) error = NULL;
    const char *text = "<hookData><network><name>n</name><metadata>"
                       "<cn:network xmlns:cn='http://example.org/other' name='n' bridge='br'/>"
                       "</metadata></network></hookData>";
    g_autoptr(HookInput) in = hook_input_parse(text, strlen(text), &error);
    assert_non_null(in);
    assert_false(in->network.ours);
}

/* libvirt masquerades forward mode nat (and only that): the qemu hook's
 * public_address events for such networks depend on it (found in review:
 * <nat><address> and dev= were announced with the wrong address). */
static void test_forward_nat_is_masquerade(void **state)
{
    static const struct {
        const char *forward;
        gboolean masquerade;
    } cases[] = {
        { "<forward mode='nat'/>", TRUE },
        { "<forward mode='nat'><nat><port start='1024' end='65535'/></nat></forward>", TRUE },
        /* libvirt's own address range, or only out of one device: the
         * host's outbound address is not what the guests leave with. */
        { "<forward mode='nat'><nat><address start='192.0.2.1' end='192.0.2.9'/></nat></forward>", FALSE },
        { "<forward mode='nat' dev='eth1'/>", FALSE },
        { "<forward mode='route'/>", FALSE },
        { "<forward mode='open'/>", FALSE },
        { "", FALSE },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GError) error = NULL;
        g_autofree char *text = g_strdup_printf("<hookData><network><name>n</name>%s<bridge name='br'/>"
                                                "</network></hookData>", cases[i].forward);
        g_autoptr(HookInput) in = hook_input_parse(text, strlen(text), &error);
        assert_non_null(in);
        if (in->network.masquerade != cases[i].masquerade)
            fail_msg("%s: masquerade %d", cases[i].forward, in->network.masquerade);
    }
    g_autoptr(HookInput) recorded = parse_file("network-start.xml"); /* isolated */
    assert_false(recorded->network.masquerade);
}

/* Found by fuzz-hook-xml: a repeated element leaked the earlier value. */
static void test_repeated_elements_keep_the_last(void **state)
{
    g_autoptr(GError) error = NULL;
    const char *text = "<domain><name>d</name><devices><interface type='network'>"
                       "<target dev='vnet0'/><target dev='vnet1'/><source network='a'/><source network='b'/>"
                       "</interface></devices></domain>";
    g_autoptr(HookInput) in = hook_input_parse(text, strlen(text), &error);
    assert_non_null(in);
    const HookInterface *iface = in->domain.interfaces->pdata[0];
    assert_string_equal(iface->tap, "vnet1");
    assert_string_equal(iface->network, "b");
}

static void test_malformed(void **state)
{
    expect_error("", "empty");
    expect_error("<hookData><network><name>x</name>", "");
    expect_error("not xml at all", "");
    expect_error("<foo/>", "neither");
    expect_error("<hookData><network></network></hookData>", "without a <name>");
    expect_error("<hookData><network><name>n</name><metadata><cn:network xmlns:cn='" CN_XML_NS
                 "' name='n' bridge='b'><cn:guest machine='a' mac='zz'/></cn:network></metadata>"
                 "</network></hookData>", "bad MAC");
    expect_error("<hookData><network><name>n</name><metadata><cn:network xmlns:cn='" CN_XML_NS
                 "' name='n' bridge='b' metadata='nowhere'/></metadata></network></hookData>",
                 "bad metadata endpoint");
    expect_error("<hookData><network><name>n</name><metadata><cn:network xmlns:cn='" CN_XML_NS
                 "' name='n'/></metadata></network></hookData>", "without name or bridge");
    expect_error("<domain><name>d</name><metadata><cn:machine xmlns:cn='" CN_XML_NS "'>"
                 "<cn:link network='n' mac='52:54:00:00:00:01' ipv4='300.1.1.1'/></cn:machine></metadata></domain>",
                 "bad IPv4");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_network_start),
        cmocka_unit_test(test_network_not_ours),
        cmocka_unit_test(test_port_created),
        cmocka_unit_test(test_port_only),
        cmocka_unit_test(test_qemu_start),
        cmocka_unit_test(test_qemu_start_ovn),
        cmocka_unit_test(test_qemu_stopped_has_no_tap),
        cmocka_unit_test(test_qemu_pool_interface),
        cmocka_unit_test(test_every_recorded_event_parses),
        cmocka_unit_test(test_other_prefix_is_ours),
        cmocka_unit_test(test_forward_nat_is_masquerade),
        cmocka_unit_test(test_foreign_namespace_is_not_ours),
        cmocka_unit_test(test_repeated_elements_keep_the_last),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
