/* test-nft-state.c - the isolation engine's view of what the kernel must
 * hold, compared element by element, without a kernel: the shapes and
 * fingerprints of the tables, the expected elements, drift found and
 * named, IPv6 addresses derived from MACs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "netaddr.h"
#include "nft-batch.h"
#include "nft-private.h"
#include "nft.h"

static const uint8_t MAC_A[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint8_t MAC_B[6] = { 0x52, 0x54, 0x00, 0x00, 0x00, 0x0b };

static uint32_t v4(const char *text)
{
    uint32_t address = 0;
    assert_true(cn_v4_parse(text, &address));
    return address;
}

static CnV6Address v6(const char *text)
{
    CnV6Address address;
    assert_true(cn_v6_parse(text, &address));
    return address;
}

static CnIsoNetwork *network(CnIpv6Mode ipv6)
{
    CnIsoNetwork *net = cn_iso_network_new("lab", "cn-lab");
    net->ipv6 = ipv6;
    net->broadcast_limit = 1000;
    net->has_v6_prefix = ipv6 == CN_IPV6_PINNED;
    net->v6_prefix = v6("fd00:60::");
    CnIsoReservation reservation = { v4("10.60.0.10"), { 0 } };
    memcpy(reservation.mac, MAC_A, 6);
    g_array_append_val(net->reservations, reservation);
    uint16_t lldp = 0x88cc;
    g_array_append_val(net->ethertypes, lldp);
    return net;
}

static GPtrArray *guests(const CnIsoNetwork *net)
{
    GPtrArray *list = g_ptr_array_new_with_free_func((GDestroyNotify)cn_iso_guest_free);
    CnIsoGuest *a = cn_iso_guest_new("vnet0", MAC_A);
    a->rendered = TRUE;
    cn_iso_guest_add_v6(a, net, NULL);
    g_ptr_array_add(list, a);
    CnIsoGuest *b = cn_iso_guest_new("vnet1", MAC_B);
    cn_iso_guest_add_v6(b, net, NULL);
    g_ptr_array_add(list, b);
    return list;
}

/* How many lines of TEXT are LINE. */
static guint count_lines(const char *text, const char *line)
{
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    guint n = 0;
    for (guint i = 0; lines[i]; i++)
        n += strcmp(lines[i], line) == 0;
    return n;
}

/* A batch with one table named NAME (its padding left to the buffer),
 * its bytes with the sequence numbers zeroed (each batch has its own). */
static GByteArray *table_batch_bytes(const char *name)
{
    g_autoptr(CnNftBatch) batch = cn_nft_batch_new();
    struct nftnl_table *table = nftnl_table_alloc();
    nftnl_table_set_u32(table, NFTNL_TABLE_FAMILY, NFPROTO_INET);
    nftnl_table_set_str(table, NFTNL_TABLE_NAME, name);
    cn_nft_batch_table(batch, NFT_MSG_NEWTABLE, NLM_F_CREATE, table, name);
    nftnl_table_free(table);
    gsize length;
    const guint8 *bytes = cn_nft_batch_bytes(batch, &length);
    GByteArray *copy = g_byte_array_new();
    g_byte_array_append(copy, bytes, (guint)length);
    int left = (int)copy->len;
    for (struct nlmsghdr *header = (struct nlmsghdr *)copy->data; mnl_nlmsg_ok(header, left);
         header = mnl_nlmsg_next(header, &left))
        header->nlmsg_seq = 0;
    return copy;
}

/* A process's batches share one buffer, one after the other: what an
 * earlier batch wrote must not show in a later one's padding. */
static void test_batch_buffer_reused_clean(void **state)
{
    g_autoptr(GByteArray) first = table_batch_bytes("t");
    /* Dirty the buffer: a batch of long names, none of them 4-byte aligned. */
    {
        g_autoptr(CnNftBatch) batch = cn_nft_batch_new();
        for (int i = 0; i < 200; i++) {
            struct nftnl_table *table = nftnl_table_alloc();
            nftnl_table_set_u32(table, NFTNL_TABLE_FAMILY, NFPROTO_INET);
            g_autofree char *name = g_strdup_printf("dirty-%0200d", i);
            memset(name, 0xff, 5);
            nftnl_table_set_str(table, NFTNL_TABLE_NAME, name);
            cn_nft_batch_table(batch, NFT_MSG_NEWTABLE, NLM_F_CREATE, table, "dirty");
            nftnl_table_free(table);
        }
    }
    g_autoptr(GByteArray) again = table_batch_bytes("t");
    assert_int_equal(first->len, again->len);
    assert_memory_equal(first->data, again->data, first->len);
}

/* A domain's ports on two networks, interleaved, go with a message per
 * set of each network (not one per port and set); a port named twice
 * goes once (deleting its elements twice would have the batch refused). */
static void test_guests_grouped(void **state)
{
    (void)state;
    g_autoptr(CnIsoNetwork) lab = cn_iso_network_new("lab", "cn-lab");
    g_autoptr(CnIsoNetwork) other = cn_iso_network_new("other", "cn-other");
    g_autoptr(GPtrArray) nets = g_ptr_array_new();
    g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func((GDestroyNotify)cn_iso_guest_free);
    static const char *const taps[] = { "vnet0", "vnet1", "vnet2", "vnet3", "vnet0" };
    for (guint i = 0; i < G_N_ELEMENTS(taps); i++) {
        g_ptr_array_add(nets, i % 2 ? other : lab);
        g_ptr_array_add(list, cn_iso_guest_new(taps[i], i == 4 ? MAC_A : (i % 2 ? MAC_B : MAC_A)));
    }
    g_autofree char *added = cn_nft_guests_dump(nets, list, FALSE);
    assert_int_equal(count_lines(added, "add bridge elements cn_lab ports"), 1);
    assert_int_equal(count_lines(added, "add bridge elements cn_other ports"), 1);
    assert_int_equal(count_lines(added, "add bridge elements cn_lab port_mac"), 1);
    assert_int_equal(count_lines(added, "add bridge elements cn_other port_mac"), 1);
    g_autofree char *removed = cn_nft_guests_dump(nets, list, TRUE);
    assert_int_equal(count_lines(removed, "delete bridge elements cn_lab ports"), 1);
    assert_int_equal(count_lines(removed, "delete bridge elements cn_other ports"), 1);
    /* vnet0 and vnet2 on lab, once each, in the add and the delete */
    const char *deleted = strstr(removed, "delete bridge elements cn_lab ports\n");
    assert_non_null(deleted);
    const char *next = strstr(deleted + 1, "\nadd ");
    const char *next_delete = strstr(deleted + 1, "\ndelete ");
    gsize span = strlen(deleted);
    if (next && (gsize)(next - deleted) < span)
        span = (gsize)(next - deleted);
    if (next_delete && (gsize)(next_delete - deleted) < span)
        span = (gsize)(next_delete - deleted);
    g_autofree char *section = g_strndup(deleted, span);
    g_auto(GStrv) section_lines = g_strsplit(section, "\n", -1);
    assert_int_equal(g_strv_length(section_lines), 3); /* the header and two elements */
}

/* A claim creates the ports (NLM_F_EXCL: "create"), and adds the rest;
 * a replace removes the old guest's port elements (added first, so that
 * absent ones are no error) before it adds or claims the new guest's, in
 * one batch. */
static void test_guests_claim_and_take_over(void **state)
{
    (void)state;
    g_autoptr(CnIsoNetwork) lab = cn_iso_network_new("lab", "cn-lab");
    g_autoptr(GPtrArray) nets = g_ptr_array_new();
    g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func((GDestroyNotify)cn_iso_guest_free);
    g_ptr_array_add(nets, lab);
    g_ptr_array_add(list, cn_iso_guest_new("vnet3", MAC_B));
    g_autofree char *claimed = cn_nft_guests_replace_dump(NULL, NULL, nets, list, TRUE);
    assert_int_equal(count_lines(claimed, "create bridge elements cn_lab ports"), 1);
    assert_int_equal(count_lines(claimed, "add bridge elements cn_lab ports"), 0);
    assert_int_equal(count_lines(claimed, "add bridge elements cn_lab port_mac"), 1);
    g_autofree char *added = cn_nft_guests_dump(nets, list, FALSE);
    assert_int_equal(count_lines(added, "create bridge elements cn_lab ports"), 0);

    /* The tap's old guest, on the same network. */
    g_autoptr(GPtrArray) old_list = g_ptr_array_new_with_free_func((GDestroyNotify)cn_iso_guest_free);
    g_ptr_array_add(old_list, cn_iso_guest_new("vnet3", MAC_A));
    g_autofree char *taken = cn_nft_guests_replace_dump(nets, old_list, nets, list, FALSE);
    assert_int_equal(count_lines(taken, "delete bridge elements cn_lab ports"), 1);
    assert_int_equal(count_lines(taken, "delete bridge elements cn_lab port_mac"), 1);
    assert_int_equal(count_lines(taken, "delete bridge elements cn_lab pinned_ip"), 1);
    assert_int_equal(count_lines(taken, "add bridge elements cn_lab ports"), 2);
    assert_int_equal(count_lines(taken, "create bridge elements cn_lab ports"), 0);
    /* The old ones go before the new ones come: no delete after the
     * new guest's port goes in. */
    const char *new_port = g_strrstr(taken, "add bridge elements cn_lab ports\n");
    const char *last_delete = g_strrstr(taken, "delete bridge elements ");
    assert_non_null(new_port);
    assert_non_null(last_delete);
    assert_true(last_delete < new_port);
    /* A start with its own previous run's port: removed, then claimed. */
    g_autofree char *again = cn_nft_guests_replace_dump(nets, old_list, nets, list, TRUE);
    const char *created = strstr(again, "create bridge elements cn_lab ports\n");
    assert_non_null(created);
    assert_true(g_strrstr(again, "delete bridge elements ") < created);
}

/* LINE's index in LINES, or -1. */
static int line_index(GPtrArray *lines, const char *line)
{
    for (guint i = 0; i < lines->len; i++) {
        if (strcmp(lines->pdata[i], line) == 0)
            return (int)i;
    }
    return -1;
}

static gboolean has_line(GPtrArray *lines, const char *line)
{
    return line_index(lines, line) >= 0;
}

static void test_eui64(void **state)
{
    CnV6Address address, prefix = v6("fd00:60::");
    char text[CN_V6_STR_MAX];
    cn_v6_eui64(NULL, MAC_A, &address);
    cn_v6_format(&address, text);
    assert_string_equal(text, "fe80::5054:ff:fe12:3456");
    cn_v6_eui64(&prefix, MAC_A, &address);
    cn_v6_format(&address, text);
    assert_string_equal(text, "fd00:60::5054:ff:fe12:3456");
}

static void test_guest_v6_addresses(void **state)
{
    g_autoptr(CnIsoNetwork) pinned = network(CN_IPV6_PINNED);
    g_autoptr(CnIsoNetwork) dropped = network(CN_IPV6_DROP);
    CnV6Address fixed = v6("fd00:60::10");
    g_autoptr(CnIsoGuest) guest = cn_iso_guest_new("vnet0", MAC_A);
    cn_iso_guest_add_v6(guest, pinned, &fixed);
    cn_iso_guest_add_v6(guest, pinned, &fixed); /* no duplicates */
    assert_int_equal(guest->addresses6->len, 3);
    char text[CN_V6_STR_MAX];
    cn_v6_format(&g_array_index(guest->addresses6, CnV6Address, 2), text);
    assert_string_equal(text, "fd00:60::10");
    g_autoptr(CnIsoGuest) none = cn_iso_guest_new("vnet1", MAC_A);
    cn_iso_guest_add_v6(none, dropped, &fixed);
    assert_int_equal(none->addresses6->len, 0);
}

/* The rules say what the guards are; the fingerprint changes with them. */
static void test_shape(void **state)
{
    g_autoptr(CnIsoNetwork) pinned = network(CN_IPV6_PINNED);
    g_autoptr(CnIsoNetwork) dropped = network(CN_IPV6_DROP);
    CnNftShape a, b, c;
    cn_nft_shape_build(pinned, &a);
    cn_nft_shape_build(dropped, &b);
    cn_nft_shape_build(pinned, &c);
    GPtrArray *rules = a.tables[0].rules;
    assert_true(has_line(rules, "pin_ip4: udp sport 67 drop (DHCP server messages)"));
    assert_true(has_line(rules, "pin_ip6: udp sport 547 drop (DHCPv6 server and relay messages)"));
    assert_true(has_line(rules, "pin_ip6: icmpv6 type nd-router-advert drop"));
    assert_true(has_line(rules, "pin_ip6: icmpv6 type nd-redirect drop"));
    assert_true(has_line(rules, "pin_ip6: icmpv6 type router-renumbering drop"));
    assert_true(has_line(rules, "pin: ether type ip6 jump pin_ip6"));
    assert_true(has_line(rules, "pin: ether type @ethertypes accept"));
    /* The allow-list ends in a drop: tagged frames, LLC, anything else. */
    int allowed = line_index(rules, "pin: ether type @ethertypes accept");
    assert_true(allowed >= 0 && (guint)allowed + 1 < rules->len);
    assert_string_equal(g_ptr_array_index(rules, allowed + 1),
                        "pin: any other ethertype (802.1Q, 802.1ad, LLC, ...): drop");
    /* Forged frames: counted per port, then dropped, in rules of their own. */
    assert_true(has_line(a.tables[0].chains, "spoofed"));
    int update = line_index(rules, "spoofed: update @spoofers { iifname counter }");
    assert_true(update >= 0);
    assert_string_equal(g_ptr_array_index(rules, update + 1),
                        "spoofed: drop (forged: counted by the rule that sent it here)");
    assert_false(has_line(b.tables[0].rules, "pin: ether type ip6 jump pin_ip6"));
    assert_true(has_line(b.tables[0].chains, "pin") && !has_line(b.tables[0].chains, "pin_ip6"));
    assert_string_not_equal(a.tables[0].comment, b.tables[0].comment);
    assert_string_equal(a.tables[0].comment, c.tables[0].comment);
    assert_true(g_str_has_prefix(a.tables[0].comment, "carthage-net network lab rules "));
    /* The rule count does not depend on the guests: they are elements. */
    assert_false(a.has_inet);
    pinned->broadcast_limit = 0;
    CnNftShape d;
    cn_nft_shape_build(pinned, &d);
    assert_int_equal(d.tables[0].rules->len, a.tables[0].rules->len - 1);
    assert_string_not_equal(d.tables[0].comment, a.tables[0].comment);
    cn_nft_shape_clear(&a);
    cn_nft_shape_clear(&b);
    cn_nft_shape_clear(&c);
    cn_nft_shape_clear(&d);
}

static void test_in_step(void **state)
{
    g_autoptr(CnIsoNetwork) net = network(CN_IPV6_PINNED);
    g_autoptr(GPtrArray) list = guests(net);
    g_autoptr(CnNftSnapshot) kernel = cn_nft_snapshot_expected(net, list);
    g_autoptr(CnNftDrift) drift = cn_nft_snapshot_compare(kernel, net, list, FALSE);
    assert_true(cn_nft_drift_is_empty(drift));
    assert_true(drift->bridge_table);
    /* Two link-local and two SLAAC addresses, one pinned port. */
    CnNftElements *e = cn_nft_snapshot_elements(kernel);
    assert_int_equal(e->sets[CN_SET_PORT_IP6]->len, 4);
    assert_int_equal(e->sets[CN_SET_PINNED_IP]->len, 1);
    assert_int_equal(e->sets[CN_SET_ETHERTYPES]->len, 1);
}

static const CnNftElementDrift *find_drift(const CnNftDrift *drift, const char *set, CnNftChange change)
{
    for (guint i = 0; i < drift->elements->len; i++) {
        const CnNftElementDrift *item = drift->elements->pdata[i];
        if (strcmp(item->set, set) == 0 && item->change == change)
            return item;
    }
    return NULL;
}

/* An element removed by hand, one forged, one map value changed: each is
 * found, and says whose it is. */
static void test_element_drift(void **state)
{
    g_autoptr(CnIsoNetwork) net = network(CN_IPV6_PINNED);
    net->metadata = TRUE;
    CnIsoHandler handler = { { 0 }, { TRUE, v4("10.60.0.1"), 9001 } };
    memcpy(handler.mac, MAC_A, 6);
    g_array_append_val(net->handlers, handler);
    g_autoptr(GPtrArray) list = guests(net);
    g_autoptr(CnNftSnapshot) kernel = cn_nft_snapshot_expected(net, list);
    CnNftElements *e = cn_nft_snapshot_elements(kernel);
    /* vnet1's port_mac element gone */
    GArray *port_mac = e->sets[CN_SET_PORT_MAC];
    for (guint i = 0; i < port_mac->len; i++) {
        if (memcmp(g_array_index(port_mac, CnNftElement, i).key, "vnet1", 5) == 0)
            g_array_remove_index(port_mac, i--);
    }
    /* a reservation for a MAC no guest has */
    uint8_t forged[12] = { 10, 60, 0, 99, 0x02, 0xde, 0xad, 0, 0, 1 };
    cn_nft_elements_add(e, CN_SET_RESERVED, forged, sizeof forged, NULL, 0);
    /* the handler points elsewhere */
    CnNftElement *h = &g_array_index(e->sets[CN_SET_HANDLERS], CnNftElement, 0);
    h->data[5] = 0x2a; /* port 9001 -> 9002 */

    g_autoptr(CnNftDrift) drift = cn_nft_snapshot_compare(kernel, net, list, FALSE);
    assert_int_equal(drift->tables->len, 0);
    assert_int_equal(drift->elements->len, 3);
    const CnNftElementDrift *missing = find_drift(drift, "port_mac", CN_NFT_MISSING);
    assert_non_null(missing);
    assert_string_equal(missing->port, "vnet1");
    assert_true(missing->per_port && missing->has_mac && memcmp(missing->mac, MAC_B, 6) == 0);
    g_autofree char *line = cn_nft_element_drift_describe(missing);
    assert_string_equal(line, "set port_mac: missing \"vnet1\" . 52:54:00:00:00:0b");
    const CnNftElementDrift *extra = find_drift(drift, "reserved", CN_NFT_EXTRA);
    assert_non_null(extra);
    assert_string_equal(extra->element, "10.60.0.99 . 02:de:ad:00:00:01");
    const CnNftElementDrift *changed = find_drift(drift, "handlers", CN_NFT_CHANGED);
    assert_non_null(changed);
    assert_string_equal(changed->element, "52:54:00:12:34:56 : 10.60.0.1 . 9001");
    assert_string_equal(changed->actual, "10.60.0.1 . 9002");
    g_autofree char *changed_line = cn_nft_element_drift_describe(changed);
    assert_string_equal(changed_line, "set handlers: 52:54:00:12:34:56 : 10.60.0.1 . 9001 (the kernel has 10.60.0.1 . 9002)");

    /* Only the network's own elements: the port's are left out. */
    g_autoptr(CnNftDrift) wide = cn_nft_snapshot_compare(kernel, net, list, TRUE);
    assert_int_equal(wide->elements->len, 2);
    assert_null(find_drift(wide, "port_mac", CN_NFT_MISSING));
}

/* A dump overlapping a set's hash-table resize shows elements twice: an
 * element wanted and shown twice is no drift, an extra one shown twice is
 * one drift (deleting it twice in one batch would fail the batch). */
static void test_element_drift_duplicates(void **state)
{
    g_autoptr(CnIsoNetwork) net = network(CN_IPV6_PINNED);
    g_autoptr(GPtrArray) list = guests(net);
    g_autoptr(CnNftSnapshot) kernel = cn_nft_snapshot_expected(net, list);
    CnNftElements *e = cn_nft_snapshot_elements(kernel);
    GArray *port_mac = e->sets[CN_SET_PORT_MAC];
    assert_true(port_mac->len > 0);
    CnNftElement twice = g_array_index(port_mac, CnNftElement, 0);
    g_array_append_val(port_mac, twice);
    uint8_t forged[12] = { 10, 60, 0, 99, 0x02, 0xde, 0xad, 0, 0, 1 };
    cn_nft_elements_add(e, CN_SET_RESERVED, forged, sizeof forged, NULL, 0);
    cn_nft_elements_add(e, CN_SET_RESERVED, forged, sizeof forged, NULL, 0);

    g_autoptr(CnNftDrift) drift = cn_nft_snapshot_compare(kernel, net, list, FALSE);
    assert_int_equal(drift->elements->len, 1);
    const CnNftElementDrift *extra = find_drift(drift, "reserved", CN_NFT_EXTRA);
    assert_non_null(extra);
    assert_string_equal(extra->element, "10.60.0.99 . 02:de:ad:00:00:01");
}

/* Retired addresses: reserved for nobody. */
static void test_retired(void **state)
{
    g_autoptr(CnIsoNetwork) net = network(CN_IPV6_DROP);
    uint32_t gone = v4("10.60.0.77");
    g_array_append_val(net->retired, gone);
    g_autoptr(CnNftSnapshot) kernel = cn_nft_snapshot_expected(net, NULL);
    CnNftElements *e = cn_nft_snapshot_elements(kernel);
    assert_int_equal(e->sets[CN_SET_RESERVED_ADDR]->len, 2);
    assert_int_equal(e->sets[CN_SET_RESERVED]->len, 1);
}

/* Rules and tables not as built: named. */
static void test_table_drift(void **state)
{
    g_autoptr(CnIsoNetwork) net = network(CN_IPV6_PINNED);
    g_autoptr(CnNftSnapshot) kernel = cn_nft_snapshot_expected(net, NULL);
    CnNftShape *shape = cn_nft_snapshot_shape(kernel);
    g_free(shape->tables[0].comment);
    shape->tables[0].comment = g_strdup("carthage-net network lab rules 0000000000000000");
    int forged_mac = line_index(shape->tables[0].rules, "pin: iifname . ether saddr != @port_mac drop");
    assert_true(forged_mac >= 0);
    g_ptr_array_remove_index(shape->tables[0].rules, (guint)forged_mac);
    g_ptr_array_add(shape->tables[0].rules, g_strdup("pin: (a rule carthage-net did not make)"));
    g_ptr_array_add(shape->tables[0].chains, g_strdup("evil"));
    g_autoptr(CnNftDrift) drift = cn_nft_snapshot_compare(kernel, net, NULL, FALSE);
    assert_int_equal(drift->tables->len, 4);
    assert_true(g_str_has_prefix(drift->tables->pdata[0], "table bridge cn_lab: made for other definitions"));
    assert_true(has_line(drift->tables, "table bridge cn_lab: chain evil not made by carthage-net"));
    assert_true(has_line(drift->tables,
                         "table bridge cn_lab: rule missing in chain pin: iifname . ether saddr != @port_mac drop"));
    assert_true(has_line(drift->tables,
                         "table bridge cn_lab: rule not made by carthage-net in chain pin: (a rule carthage-net did not make)"));
}

static void test_element_format(void **state)
{
    CnNftElement e = { { 0 }, 2, { 0 }, 0 };
    e.key[0] = 0x88, e.key[1] = 0xcc;
    g_autofree char *type = cn_nft_element_format("ethertypes", &e);
    assert_string_equal(type, "0x88cc");
    CnNftElement p = { { 0 }, 32, { 0 }, 0 };
    memcpy(p.key, "vnet7", 5);
    CnV6Address address = v6("fe80::1");
    memcpy(p.key + 16, address.bytes, 16);
    g_autofree char *port = cn_nft_element_format("port_ip6", &p);
    assert_string_equal(port, "\"vnet7\" . fe80::1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_guests_grouped),
        cmocka_unit_test(test_guests_claim_and_take_over),
        cmocka_unit_test(test_batch_buffer_reused_clean),
        cmocka_unit_test(test_eui64),
        cmocka_unit_test(test_guest_v6_addresses),
        cmocka_unit_test(test_shape),
        cmocka_unit_test(test_in_step),
        cmocka_unit_test(test_element_drift),
        cmocka_unit_test(test_element_drift_duplicates),
        cmocka_unit_test(test_retired),
        cmocka_unit_test(test_table_drift),
        cmocka_unit_test(test_element_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
