/* test-hook-roundtrip.c - what the hook reads from a network's XML is what
 * the helper rendered it from: for every isolated network of the bundled
 * definitions, the network XML carthage-net renders, wrapped as libvirt
 * hands it to the hook, parsed by the hook, gives the same isolation view
 * (cn_iso_network_from_model) and the same record of guests as the model
 * itself.  A renderer writing an attribute the hook reads otherwise (or
 * not at all) fails here, without libvirt or a kernel. */
#include "defs-fixture.h"

#include "hook.h"
#include "render.h"
#include "templates.h"
#include "xml-util.h"
#include "tests/unit/test-paths.h"

static char *read_text(const char *path)
{
    char *text = NULL;
    g_autoptr(GError) error = NULL;
    if (!g_file_get_contents(path, &text, NULL, &error))
        fail_msg("cannot read %s: %s", path, error->message);
    return text;
}

static CnSite *load(const char *const *files)
{
    g_autoptr(GArray) defs = g_array_new(FALSE, FALSE, sizeof(DefsFile));
    g_autoptr(GPtrArray) texts = g_ptr_array_new_with_free_func(g_free);
    for (const char *const *f = files; *f; f++) {
        g_autofree char *path = g_build_filename(TEST_TOP_DIR, *f, NULL);
        char *text = read_text(path);
        g_ptr_array_add(texts, text);
        DefsFile file = { *f, text };
        g_array_append_val(defs, file);
    }
    CnDiagList *diags = NULL;
    CnSite *site = defs_parse_files((DefsFile *)defs->data, defs->len, &diags);
    if (cn_diag_count(diags) > 0)
        diags_dump(diags);
    assert_int_equal(cn_diag_count(diags), 0);
    cn_diag_list_free(diags);
    /* Pool links get an address, as the helper gives them. */
    g_autoptr(CnDiagList) alloc_diags = cn_diag_list_new();
    g_autoptr(CnAssignments) none = cn_assignments_new();
    g_autoptr(CnAssignments) assigned = cn_alloc_v4(site, none, alloc_diags);
    assert_int_equal(cn_diag_count(alloc_diags), 0);
    return site;
}

/* Field by field (the structs have padding). */
static gint compare_reservations(gconstpointer a, gconstpointer b)
{
    const CnIsoReservation *x = a, *y = b;
    return x->address != y->address ? (x->address < y->address ? -1 : 1) : memcmp(x->mac, y->mac, 6);
}

static gint compare_handlers(gconstpointer a, gconstpointer b)
{
    const CnIsoHandler *x = a, *y = b;
    int c = memcmp(x->mac, y->mac, 6);
    if (c)
        return c;
    return cn_endpoint_equal(x->handler, y->handler) ? 0 : 1;
}

static gint compare_nat(gconstpointer a, gconstpointer b)
{
    const CnIsoNat *x = a, *y = b;
    if (x->private_address != y->private_address)
        return x->private_address < y->private_address ? -1 : 1;
    return x->public_address == y->public_address ? 0 : (x->public_address < y->public_address ? -1 : 1);
}

/* Equal arrays, in any order. */
static void assert_same_items(GArray *a, GArray *b, GCompareFunc compare, const char *what)
{
    if (a->len != b->len)
        fail_msg("%s: %u items rendered, %u read back", what, a->len, b->len);
    g_autoptr(GArray) x = g_array_copy(a);
    g_autoptr(GArray) y = g_array_copy(b);
    g_array_sort(x, compare);
    g_array_sort(y, compare);
    guint size = g_array_get_element_size(x);
    for (guint i = 0; i < x->len; i++) {
        if (compare(x->data + i * size, y->data + i * size) != 0)
            fail_msg("%s: item %u rendered and read back differ", what, i);
    }
}

static void assert_same_view(const CnIsoNetwork *model, const CnIsoNetwork *hook)
{
    assert_string_equal(model->name, hook->name);
    assert_string_equal(model->bridge, hook->bridge);
    assert_int_equal(model->isolate_guests, hook->isolate_guests);
    assert_int_equal(model->metadata, hook->metadata);
    if (model->metadata) {
        assert_int_equal(model->metadata_address, hook->metadata_address);
        assert_int_equal(model->metadata_port, hook->metadata_port);
        assert_true(cn_endpoint_equal(model->default_handler, hook->default_handler));
    }
    assert_int_equal(model->gateway, hook->gateway);
    assert_int_equal(model->ipv6, hook->ipv6);
    assert_int_equal(model->has_v6_prefix, hook->has_v6_prefix);
    if (model->has_v6_prefix)
        assert_true(cn_v6_equal(&model->v6_prefix, &hook->v6_prefix));
    assert_int_equal(model->broadcast_limit, hook->broadcast_limit);
    assert_int_equal(model->ethertypes->len, hook->ethertypes->len);
    if (model->ethertypes->len)
        assert_memory_equal(model->ethertypes->data, hook->ethertypes->data, model->ethertypes->len * sizeof(uint16_t));
    assert_same_items(model->reservations, hook->reservations, compare_reservations, "reservations");
    assert_same_items(model->handlers, hook->handlers, compare_handlers, "handlers");
    assert_same_items(model->nat, hook->nat, compare_nat, "1:1 NAT pairs");
}

/* The record's guests: one per link, with its MAC, addresses and handler. */
static void assert_same_guests(const CnNetwork *net, const CnHookRecord *record)
{
    assert_int_equal(record->guests->len, net->links->len);
    for (guint i = 0; i < net->links->len; i++) {
        const CnLink *link = net->links->pdata[i];
        const CnHookGuest *guest = record->guests->pdata[i];
        assert_string_equal(guest->machine, link->machine_name);
        assert_string_equal(guest->iface, link->iface);
        assert_memory_equal(guest->mac, link->mac, 6);
        g_autoptr(CnIsoGuest) want = cn_iso_guest_from_link(link, "t");
        assert_int_equal(guest->addresses->len, want->addresses->len);
        if (want->addresses->len)
            assert_memory_equal(guest->addresses->data, want->addresses->data, want->addresses->len * sizeof(uint32_t));
        CnEndpoint handler = { 0 };
        if (net->metadata && link->machine && link->machine->metadata_handler.set)
            handler = cn_link_metadata_handler(link);
        assert_true(cn_endpoint_equal(guest->handler, handler));
        assert_string_equal(cn_hook_record_mac_owner(record, link->mac), link->machine_name);
    }
}

static guint round_trip(const char *const *files)
{
    g_autoptr(CnSite) site = load(files);
    g_autoptr(GError) error = NULL;
    g_autoptr(xmlDoc) template = cn_template_load("network.xml", &error);
    assert_non_null(template);
    guint checked = 0;
    for (guint i = 0; i < site->networks->len; i++) {
        const CnNetwork *net = site->networks->pdata[i];
        if (!cn_network_has_isolation(net))
            continue;
        g_autoptr(xmlDoc) doc = cn_render_network(net, template);
        g_autofree char *xml = cn_xml_format(doc);
        /* libvirt's <hookData>: the network XML, without the declaration. */
        const char *root = strstr(xml, "<network");
        g_autofree char *hook_data = g_strdup_printf("<hookData>%s</hookData>", root);
        g_autoptr(HookInput) input = hook_input_parse(hook_data, strlen(hook_data), &error);
        if (!input)
            fail_msg("network %s: the hook cannot read what was rendered: %s", net->name, error->message);
        assert_true(input->network.ours);
        g_autoptr(CnIsoNetwork) model = cn_iso_network_from_model(net);
        assert_same_view(model, input->network.iso);
        assert_same_guests(net, input->network.record);
        checked++;
    }
    return checked;
}

static void test_examples(void **state)
{
    static const char *const files[] = { "examples/site/10-networks.conf", "examples/site/20-machines.conf",
                                         "examples/site/30-pools.conf", NULL };
    assert_true(round_trip(files) >= 3);
}

static void test_guards(void **state)
{
    static const char *const files[] = { "tests/golden/cases/l2-guards/defs.conf", NULL };
    assert_int_equal(round_trip(files), 3);
}

static void test_metadata_and_nat(void **state)
{
    static const char *const files[] = { "tests/golden/nft/defs.conf", NULL };
    assert_int_equal(round_trip(files), 2);
}

int main(void)
{
    g_setenv("CARTHAGE_NET_TEMPLATE_DIR", TEST_TOP_DIR "/xml-templates", TRUE);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_examples),
        cmocka_unit_test(test_guards),
        cmocka_unit_test(test_metadata_and_nat),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
