/* test-metadata.c - the built-in metadata handler's documents and its
 * guest index (metadata-docs.c): which link a source address is, what each
 * path answers, what is 404. */
#include "defs-fixture.h"
#include "metadata-docs.h"

static const char *const DEFS =
    "[network md]\n"
    "v4.network = 10.63.0.0/24\n"
    "v4.dhcp = true\n"
    "metadata = true\n"
    "metadata.handler = 8000\n"
    "v4.masquerade = true\n"
    "[network md2]\n"
    "v4.network = 10.64.0.0/24\n"
    "metadata = true\n"
    "metadata.handler = 10.64.0.1:8000\n"
    "forward = route\n"
    "v4.domains = lab.example\n"
    "[network plain]\n"
    "v4.network = 10.65.0.0/24\n"
    "[machine m1.lab.example]\n"
    "metadata.handler = 9001\n"
    "[link m1.lab.example eth0]\n"
    "net = md\n"
    "v4.address = 10.63.0.11\n"
    "mac = 52:54:00:00:00:11\n"
    "[link m1.lab.example eth1]\n"
    "net = md2\n"
    "v4.address = 10.64.0.11\n"
    "v4.public_address = 203.0.113.11\n"
    "v4.secondary_addresses = 10.64.0.50=203.0.113.50;10.64.0.51\n"
    "mac = 52:54:00:00:01:11\n"
    "[network twin]\n"
    "v4.network = 10.63.0.0/24\n"
    "metadata = true\n"
    "metadata.handler = 8000\n"
    "[link m2 eth0]\n"
    "net = twin\n"
    "v4.address = 10.63.0.12\n"
    "[link m4 eth0]\n"
    "net = twin\n"
    "v4.address = 10.63.0.11\n"
    "[link m3 eth0]\n"
    "net = plain\n"
    "v4.address = 10.65.0.9\n";

typedef struct {
    CnSite *site;
    CnMetadataIndex *index;
} Fixture;

static int setup(void **state)
{
    Fixture *fixture = g_new0(Fixture, 1);
    g_autoptr(CnDiagList) diags = NULL;
    fixture->site = defs_parse(DEFS, &diags);
    if (diags->items->len) {
        diags_dump(diags);
        return -1;
    }
    fixture->index = cn_metadata_index_new(fixture->site);
    *state = fixture;
    return 0;
}

static int teardown(void **state)
{
    Fixture *fixture = *state;
    cn_metadata_index_free(fixture->index);
    cn_site_free(fixture->site);
    g_free(fixture);
    return 0;
}

/* The body at PATH as a string, or NULL for 404. */
static char *answer(const CnMetadataGuest *guest, const char *path, const char **type)
{
    g_autoptr(GBytes) body = NULL;
    const char *content_type = NULL;
    if (cn_metadata_document(guest, path, &body, &content_type) != CN_METADATA_FOUND)
        return NULL;
    if (type)
        *type = content_type;
    gsize length;
    const char *data = g_bytes_get_data(body, &length);
    return g_strndup(data, length);
}

static void assert_answer(const CnMetadataGuest *guest, const char *path, const char *expected)
{
    g_autofree char *got = answer(guest, path, NULL);
    if (!expected && got)
        fail_msg("%s: expected 404, got '%s'", path, got);
    if (expected && !got)
        fail_msg("%s: expected '%s', got 404", path, expected);
    if (expected)
        assert_string_equal(got, expected);
}

/* The one link of SOURCE, or NULL when none or several. */
static const CnLink *only_link(const Fixture *f, const char *source)
{
    GPtrArray *links = cn_metadata_index_lookup(f->index, v4(source));
    return links && links->len == 1 ? links->pdata[0] : NULL;
}

static void test_index_by_source_address(void **state)
{
    Fixture *f = *state;
    const CnLink *m1 = only_link(f, "10.64.0.11");
    assert_non_null(m1);
    assert_string_equal(m1->machine_name, "m1.lab.example");
    assert_string_equal(m1->iface, "eth1");
    /* A secondary address is the same link. */
    assert_ptr_equal(only_link(f, "10.64.0.51"), m1);
    /* Unknown addresses, and links on networks without metadata, are nobody. */
    assert_null(cn_metadata_index_lookup(f->index, v4("10.64.0.99")));
    assert_null(cn_metadata_index_lookup(f->index, v4("10.65.0.9")));
}

/* Two networks with the same subnet (on different hosts, say): the
 * definitions alone cannot tell which link an address both use is; the
 * server asks the kernel which one it reserves here. */
static void test_index_shared_address_has_every_link(void **state)
{
    Fixture *f = *state;
    GPtrArray *links = cn_metadata_index_lookup(f->index, v4("10.63.0.11"));
    assert_non_null(links);
    assert_int_equal(links->len, 2);
    const CnLink *m2 = only_link(f, "10.63.0.12");
    assert_non_null(m2);
    assert_string_equal(m2->machine_name, "m2");
}

static void test_meta_data_and_instance_id(void **state)
{
    Fixture *f = *state;
    const CnLink *link = cn_site_find_link(f->site, "m1.lab.example", "eth0");
    CnMetadataGuest guest = { link, v4("10.63.0.11"), 0, NULL };
    const char *type = NULL;
    g_autofree char *meta = answer(&guest, "/meta-data", &type);
    assert_string_equal(meta, "instance-id: \"m1.lab.example\"\nlocal-hostname: \"m1.lab.example\"\n");
    assert_string_equal(type, "text/yaml; charset=utf-8");

    CnMetadataFiles files = { NULL, NULL, (char *)"i-\"odd\\id" };
    guest.files = &files;
    assert_answer(&guest, "/meta-data", "instance-id: \"i-\\\"odd\\\\id\"\nlocal-hostname: \"m1.lab.example\"\n");
    assert_answer(&guest, "/latest/meta-data/instance-id", "i-\"odd\\id\n");
}

static void test_user_and_vendor_data(void **state)
{
    Fixture *f = *state;
    const CnLink *link = cn_site_find_link(f->site, "m1.lab.example", "eth0");
    CnMetadataGuest guest = { link, v4("10.63.0.11"), 0, NULL };
    /* Nothing given: NoCloud gets empty documents, EC2 a 404 as EC2 does. */
    assert_answer(&guest, "/user-data", "");
    assert_answer(&guest, "/vendor-data", "");
    assert_answer(&guest, "/latest/user-data", NULL);
    CnMetadataFiles files = { g_bytes_new_static("#cloud-config\n", 14), g_bytes_new_static("vendor", 6), NULL };
    guest.files = &files;
    const char *type = NULL;
    g_autofree char *user = answer(&guest, "/user-data", &type);
    assert_string_equal(user, "#cloud-config\n");
    assert_string_equal(type, "application/octet-stream");
    assert_answer(&guest, "/vendor-data", "vendor");
    assert_answer(&guest, "/latest/user-data", "#cloud-config\n");
    assert_answer(&guest, "/2009-04-04/user-data", "#cloud-config\n");
    g_bytes_unref(files.user_data);
    g_bytes_unref(files.vendor_data);
}

static void test_ec2_meta_data(void **state)
{
    Fixture *f = *state;
    const CnLink *link = cn_site_find_link(f->site, "m1.lab.example", "eth1");
    CnMetadataGuest guest = { link, v4("10.64.0.50"), v4("203.0.113.50"), NULL };
    assert_answer(&guest, "/", "2009-04-04\nlatest\n");
    assert_answer(&guest, "/latest", "meta-data/\nuser-data\n");
    assert_answer(&guest, "/latest/", "meta-data/\nuser-data\n");
    assert_answer(&guest, "/latest/meta-data", "instance-id\nlocal-hostname\nlocal-ipv4\nmac\npublic-ipv4\n");
    assert_answer(&guest, "/latest/meta-data/local-hostname", "m1.lab.example\n");
    assert_answer(&guest, "/latest/meta-data/local-ipv4", "10.64.0.50\n"); /* the address it called from */
    assert_answer(&guest, "/latest/meta-data/public-ipv4", "203.0.113.50\n");
    assert_answer(&guest, "/latest/meta-data/mac", "52:54:00:00:01:11\n");
    guest.public_address = 0;
    assert_answer(&guest, "/latest/meta-data/public-ipv4", NULL);
    assert_answer(&guest, "/latest/meta-data", "instance-id\nlocal-hostname\nlocal-ipv4\nmac\n");
}

static void test_unknown_paths_are_404(void **state)
{
    Fixture *f = *state;
    const CnLink *link = cn_site_find_link(f->site, "m1.lab.example", "eth0");
    CnMetadataGuest guest = { link, v4("10.63.0.11"), 0, NULL };
    static const char *const paths[] = {
        "", "/meta-data/", "/meta-datax", "/latest/meta-data/nope", "/latest/meta-data/mac/x", "/latestx/meta-data",
        "/2009-04-05/meta-data/mac", "/latest/user-datax", "/../meta-data", "/user-data/", "/latest/dynamic",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(paths); i++)
        assert_answer(&guest, paths[i], NULL);
}

static void test_public_address(void **state)
{
    Fixture *f = *state;
    const CnLink *eth1 = cn_site_find_link(f->site, "m1.lab.example", "eth1");
    const CnLink *eth0 = cn_site_find_link(f->site, "m1.lab.example", "eth0");
    assert_int_equal(cn_metadata_public_address(eth1, v4("10.64.0.11"), v4("192.0.2.1")), v4("203.0.113.11"));
    assert_int_equal(cn_metadata_public_address(eth1, v4("10.64.0.50"), 0), v4("203.0.113.50"));
    /* Routed, no pair for this secondary address: none. */
    assert_int_equal(cn_metadata_public_address(eth1, v4("10.64.0.51"), v4("192.0.2.1")), 0);
    /* Masqueraded: the host's outbound address, when known. */
    assert_int_equal(cn_metadata_public_address(eth0, v4("10.63.0.11"), v4("192.0.2.1")), v4("192.0.2.1"));
    assert_int_equal(cn_metadata_public_address(eth0, v4("10.63.0.11"), 0), 0);
}

static void test_network_config(void **state)
{
    Fixture *f = *state;
    const CnLink *link = cn_site_find_link(f->site, "m1.lab.example", "eth0");
    CnMetadataGuest guest = { link, v4("10.63.0.11"), 0, NULL };
    /* Every link of the machine: DHCP on md; static on md2, with its
     * secondary addresses, the default route (forward route), the metadata
     * route and DNS from the gateway. */
    assert_answer(&guest, "/network-config",
                  "version: 2\n"
                  "ethernets:\n"
                  "  eth0:\n"
                  "    match:\n"
                  "      macaddress: \"52:54:00:00:00:11\"\n"
                  "    set-name: eth0\n"
                  "    dhcp4: true\n"
                  "  eth1:\n"
                  "    match:\n"
                  "      macaddress: \"52:54:00:00:01:11\"\n"
                  "    set-name: eth1\n"
                  "    dhcp4: false\n"
                  "    addresses:\n"
                  "      - 10.64.0.11/24\n"
                  "      - 10.64.0.50/24\n"
                  "      - 10.64.0.51/24\n"
                  "    routes:\n"
                  "      - to: 0.0.0.0/0\n"
                  "        via: 10.64.0.1\n"
                  "      - to: 169.254.169.254/32\n"
                  "        via: 10.64.0.1\n"
                  "    nameservers:\n"
                  "      addresses: [10.64.0.1]\n"
                  "      search: [lab.example]\n");
}

static void test_default_endpoints(void **state)
{
    Fixture *f = *state;
    g_autoptr(GArray) endpoints = cn_metadata_default_endpoints(f->site);
    /* The networks' handlers only (m1's own 9001 is its own service), each
     * once: md and twin share 10.63.0.1:8000. */
    assert_int_equal(endpoints->len, 2);
    const CnEndpoint *endpoint = &g_array_index(endpoints, CnEndpoint, 0);
    assert_int_equal(endpoint->host, v4("10.63.0.1"));
    assert_int_equal(endpoint->port, 8000);
    endpoint = &g_array_index(endpoints, CnEndpoint, 1);
    assert_int_equal(endpoint->host, v4("10.64.0.1"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_index_by_source_address, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_shared_address_has_every_link, setup, teardown),
        cmocka_unit_test_setup_teardown(test_meta_data_and_instance_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_user_and_vendor_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ec2_meta_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_paths_are_404, setup, teardown),
        cmocka_unit_test_setup_teardown(test_public_address, setup, teardown),
        cmocka_unit_test_setup_teardown(test_network_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_default_endpoints, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
