/* test-alloc.c - hashed MACs, the IPv4 pool allocator and the
 * assignments file. */
#include "defs-fixture.h"

#define LAN                                                                                      \
    "[network lan]\n"                                                                            \
    "v4.network = 10.0.0.0/24\n"

/* ---- MACs ------------------------------------------------------------- */

static void test_mac_deterministic(void **state)
{
    uint8_t a[6], b[6];
    char text[CN_MAC_STR_MAX];
    cn_mac_for_link("web", "eth0", a);
    cn_mac_for_link("web", "eth0", b);
    assert_memory_equal(a, b, 6);
    /* the same on every host and every build: changing it renumbers every
     * guest's MAC, so a change here must be deliberate */
    cn_mac_format(a, text);
    assert_string_equal(text, "9e:71:f6:42:cb:63");
}

static void test_mac_locally_administered_unicast(void **state)
{
    for (unsigned i = 0; i < 2000; i++) {
        uint8_t mac[6];
        g_autofree char *machine = g_strdup_printf("machine%u", i);
        g_autofree char *iface = g_strdup_printf("eth%u", i % 7);
        cn_mac_for_link(machine, iface, mac);
        assert_true(mac[0] & 0x02);
        assert_false(mac[0] & 0x01);
        assert_false(cn_mac_is_multicast(mac));
    }
}

static void test_mac_name_boundary(void **state)
{
    uint8_t a[6], b[6];
    cn_mac_for_link("ab", "c", a);
    cn_mac_for_link("a", "bc", b);
    assert_memory_not_equal(a, b, 6);
}

static void test_mac_machine_and_iface_matter(void **state)
{
    uint8_t a[6], b[6], c[6];
    cn_mac_for_link("web", "eth0", a);
    cn_mac_for_link("web", "eth1", b);
    cn_mac_for_link("db", "eth0", c);
    assert_memory_not_equal(a, b, 6);
    assert_memory_not_equal(a, c, 6);
}

static void test_mac_no_collisions_in_a_thousand(void **state)
{
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (unsigned m = 0; m < 250; m++) {
        for (unsigned i = 0; i < 4; i++) {
            uint8_t mac[6];
            char text[CN_MAC_STR_MAX];
            g_autofree char *machine = g_strdup_printf("vm-%u", m);
            g_autofree char *iface = g_strdup_printf("eth%u", i);
            cn_mac_for_link(machine, iface, mac);
            cn_mac_format(mac, text);
            assert_false(g_hash_table_contains(seen, text));
            g_hash_table_add(seen, g_strdup(text));
        }
    }
}

static void test_alloc_macs_fills_defaults_only(void **state)
{
    g_autoptr(CnSite) site = defs_parse_ok(LAN "[link a eth0]\nnet = lan\nmac = 52:54:00:00:00:0a\n"
                                               "[link b eth0]\nnet = lan\n");
    CnLink *a = cn_site_find_link(site, "a", "eth0");
    CnLink *b = cn_site_find_link(site, "b", "eth0");
    static const uint8_t explicit_mac[6] = { 0x52, 0x54, 0x00, 0x00, 0x00, 0x0a };
    uint8_t hashed[6];
    cn_mac_for_link("b", "eth0", hashed);
    assert_true(a->mac_explicit);
    assert_memory_equal(a->mac, explicit_mac, 6);
    assert_false(b->mac_explicit);
    assert_memory_equal(b->mac, hashed, 6);
}

/* ---- the v4 pool ------------------------------------------------------ */

/* Definitions for a network with POOL and one link "mNNN eth0" for each
 * machine number in [FIRST, LAST] whose bit is not set in SKIP (a mask
 * over the low 64 numbers), then EXTRA. */
static char *pool_site(const char *pool, unsigned first, unsigned last, guint64 skip,
                       const char *extra)
{
    GString *text = g_string_new(LAN);
    g_string_append_printf(text, "v4.pool = %s\n", pool);
    for (unsigned i = first; i <= last; i++) {
        if (i < 64 && (skip >> i) & 1)
            continue;
        g_string_append_printf(text, "[link m%03u eth0]\nnet = lan\n", i);
    }
    g_string_append(text, extra ? extra : "");
    return g_string_free(text, FALSE);
}

/* Validates TEXT (which must be valid) and allocates with PREVIOUS. */
static CnAssignments *allocate_at(const char *text, const CnAssignments *previous, CnSite **site_out,
                                  CnDiagList **diags_out, const char *src_file, int src_line)
{
    CnSite *site = defs_parse_ok_at(text, src_file, src_line);
    CnDiagList *diags = cn_diag_list_new();
    CnAssignments *table = cn_alloc_v4(site, previous, diags);
    if (diags_out) {
        *diags_out = diags;
    } else {
        assert_diag_count_at(diags, 0, src_file, src_line);
        cn_diag_list_free(diags);
    }
    if (site_out)
        *site_out = site;
    else
        cn_site_free(site);
    return table;
}

#define allocate(text, previous, site_out, diags_out) \
    allocate_at((text), (previous), (site_out), (diags_out), __FILE__, __LINE__)

static uint32_t address_of(const CnAssignments *table, const char *machine)
{
    const CnV4Assignment *a = cn_assignments_find(table, "lan", machine, "eth0");
    if (!a)
        fail_msg("no assignment for %s", machine);
    return a->address;
}

static void test_pool_addresses_distinct_and_inside(void **state)
{
    g_autofree char *text = pool_site("10.0.0.100-10.0.0.199", 0, 59, 0,
                                      "[link fixed eth0]\nnet = lan\nv4.address = 10.0.0.150\n"
                                      "v4.secondary_addresses = 10.0.0.151;10.0.0.152\n");
    CnSite *site = NULL;
    g_autoptr(CnAssignments) table = allocate(text, NULL, &site, NULL);
    g_autoptr(CnSite) owned = site;
    g_autoptr(GHashTable) seen = g_hash_table_new(NULL, NULL);

    assert_int_equal(table->items->len, 60);
    for (guint i = 0; i < site->links->len; i++) {
        CnLink *link = site->links->pdata[i];
        if (link->v4_source != CN_V4_POOL)
            continue;
        uint32_t address = link->v4_address;
        assert_in_range(address, v4("10.0.0.100"), v4("10.0.0.199"));
        assert_int_not_equal(address, v4("10.0.0.150"));
        assert_int_not_equal(address, v4("10.0.0.151"));
        assert_int_not_equal(address, v4("10.0.0.152"));
        assert_false(g_hash_table_contains(seen, GUINT_TO_POINTER(address)));
        g_hash_table_add(seen, GUINT_TO_POINTER(address));
        assert_int_equal(address_of(table, link->machine_name), address);
    }
    assert_int_equal(g_hash_table_size(seen), 60);
    /* the static link keeps its own address and is not in the table */
    assert_int_equal(cn_site_find_link(site, "fixed", "eth0")->v4_address, v4("10.0.0.150"));
    assert_null(cn_assignments_find(table, "lan", "fixed", "eth0"));
}

static void test_pool_skips_gateway_statics_secondaries(void **state)
{
    /* six pool addresses, three of them already used: exactly .4 .5 .6 remain */
    g_autofree char *text = pool_site("10.0.0.1-10.0.0.6", 0, 2, 0,
                                      "[link fixed eth0]\nnet = lan\nv4.address = 10.0.0.2\n"
                                      "v4.secondary_addresses = 10.0.0.3\n");
    g_autoptr(CnAssignments) table = allocate(text, NULL, NULL, NULL);
    assert_int_equal(table->items->len, 3);
    guint found = 0;
    for (guint i = 0; i < table->items->len; i++) {
        uint32_t address = ((CnV4Assignment *)table->items->pdata[i])->address;
        assert_in_range(address, v4("10.0.0.4"), v4("10.0.0.6"));
        found |= 1u << (address - v4("10.0.0.4"));
    }
    assert_int_equal(found, 7);
}

static void test_pool_never_network_or_broadcast(void **state)
{
    /* a /29 whose pool is the whole of its host range */
    g_autoptr(CnAssignments) table = allocate("[network lan]\nv4.network = 10.0.0.8/29\n"
                                              "v4.pool = 10.0.0.9-10.0.0.14\n"
                                              "[link a eth0]\nnet = lan\n[link b eth0]\nnet = lan\n"
                                              "[link c eth0]\nnet = lan\n[link d eth0]\nnet = lan\n"
                                              "[link e eth0]\nnet = lan\n",
                                              NULL, NULL, NULL);
    assert_int_equal(table->items->len, 5);
    for (guint i = 0; i < table->items->len; i++) {
        uint32_t address = ((CnV4Assignment *)table->items->pdata[i])->address;
        assert_in_range(address, v4("10.0.0.10"), v4("10.0.0.14")); /* .9 is the gateway */
    }
}

static void test_pool_exhaustion(void **state)
{
    g_autofree char *text = pool_site("10.0.0.10-10.0.0.12", 0, 4, 0, NULL);
    CnSite *site = NULL;
    CnDiagList *diags = NULL;
    g_autoptr(CnAssignments) table = allocate(text, NULL, &site, &diags);
    g_autoptr(CnSite) owned_site = site;
    g_autoptr(CnDiagList) owned_diags = diags;

    assert_diag(diags, FIXTURE_FILE, line_of(text, "v4.pool"), "network lan", "v4.pool",
                "10.0.0.10-10.0.0.12 is exhausted: 2 more link(s) need an address");
    assert_diag_count(diags, 1);
    assert_int_equal(table->items->len, 3);
    guint without = 0;
    for (guint i = 0; i < site->links->len; i++)
        without += ((CnLink *)site->links->pdata[i])->v4_address == 0;
    assert_int_equal(without, 2);
}

static void test_pool_exactly_full(void **state)
{
    g_autofree char *text = pool_site("10.0.0.10-10.0.0.14", 0, 4, 0, NULL);
    g_autoptr(CnAssignments) table = allocate(text, NULL, NULL, NULL);
    assert_int_equal(table->items->len, 5);
}

static void test_stable_when_machines_added(void **state)
{
    g_autofree char *before = pool_site("10.0.0.100-10.0.0.199", 0, 19, 0, NULL);
    g_autofree char *after = pool_site("10.0.0.100-10.0.0.199", 0, 59, 0, NULL);
    g_autoptr(CnAssignments) first = allocate(before, NULL, NULL, NULL);
    g_autoptr(CnAssignments) second = allocate(after, first, NULL, NULL);

    assert_int_equal(second->items->len, 60);
    for (guint i = 0; i < first->items->len; i++) {
        const CnV4Assignment *old = first->items->pdata[i];
        assert_int_equal(address_of(second, old->machine), old->address);
    }
}

static void test_stable_when_machines_added_before_in_order(void **state)
{
    /* newcomers that sort first, into a pool they fill, take no old address */
    g_autofree char *before = pool_site("10.0.0.100-10.0.0.109", 50, 54, 0, NULL);
    g_autofree char *after = pool_site("10.0.0.100-10.0.0.109", 50, 54, 0,
                                       "[link m000 eth0]\nnet = lan\n[link m001 eth0]\nnet = lan\n"
                                       "[link m002 eth0]\nnet = lan\n[link m003 eth0]\nnet = lan\n"
                                       "[link m004 eth0]\nnet = lan\n");
    g_autoptr(CnAssignments) first = allocate(before, NULL, NULL, NULL);
    g_autoptr(CnAssignments) second = allocate(after, first, NULL, NULL);
    assert_int_equal(second->items->len, 10);
    for (guint i = 0; i < first->items->len; i++) {
        const CnV4Assignment *old = first->items->pdata[i];
        assert_int_equal(address_of(second, old->machine), old->address);
    }
}

static void test_stable_when_machines_removed(void **state)
{
    const guint64 odd = 0xaaaaaaaaaaaaaaaaull;
    g_autofree char *before = pool_site("10.0.0.100-10.0.0.199", 0, 39, 0, NULL);
    g_autofree char *after = pool_site("10.0.0.100-10.0.0.199", 0, 39, odd, NULL);
    g_autoptr(CnAssignments) first = allocate(before, NULL, NULL, NULL);
    g_autoptr(CnAssignments) second = allocate(after, first, NULL, NULL);

    assert_int_equal(second->items->len, 20);
    for (guint i = 0; i < second->items->len; i++) {
        const CnV4Assignment *now = second->items->pdata[i];
        assert_int_equal(address_of(first, now->machine), now->address);
    }
    /* removed links leave the table */
    assert_null(cn_assignments_find(second, "lan", "m001", "eth0"));
}

static void test_stable_over_remove_then_add(void **state)
{
    g_autofree char *all = pool_site("10.0.0.100-10.0.0.119", 0, 15, 0, NULL);
    g_autofree char *fewer = pool_site("10.0.0.100-10.0.0.119", 0, 15, 0xf0, NULL);
    g_autoptr(CnAssignments) first = allocate(all, NULL, NULL, NULL);
    g_autoptr(CnAssignments) second = allocate(fewer, first, NULL, NULL);
    g_autoptr(CnAssignments) third = allocate(all, second, NULL, NULL);
    for (guint i = 0; i < second->items->len; i++) {
        const CnV4Assignment *kept = second->items->pdata[i];
        assert_int_equal(address_of(third, kept->machine), kept->address);
    }
    assert_int_equal(third->items->len, 16);
}

static void test_previous_colliding_with_new_static_moves(void **state)
{
    g_autofree char *before = pool_site("10.0.0.100-10.0.0.199", 0, 9, 0, NULL);
    g_autoptr(CnAssignments) first = allocate(before, NULL, NULL, NULL);
    uint32_t taken = address_of(first, "m003");
    char taken_text[CN_V4_STR_MAX];
    cn_v4_format(taken, taken_text);

    g_autofree char *extra = g_strdup_printf("[link fixed eth0]\nnet = lan\nv4.address = %s\n",
                                             taken_text);
    g_autofree char *after = pool_site("10.0.0.100-10.0.0.199", 0, 9, 0, extra);
    CnSite *site = NULL;
    g_autoptr(CnAssignments) second = allocate(after, first, &site, NULL);
    g_autoptr(CnSite) owned = site;

    uint32_t moved = address_of(second, "m003");
    assert_int_not_equal(moved, taken);
    assert_in_range(moved, v4("10.0.0.100"), v4("10.0.0.199"));
    assert_int_equal(cn_site_find_link(site, "fixed", "eth0")->v4_address, taken);
    for (guint i = 0; i < first->items->len; i++) {
        const CnV4Assignment *old = first->items->pdata[i];
        if (strcmp(old->machine, "m003") != 0)
            assert_int_equal(address_of(second, old->machine), old->address);
        else
            assert_int_not_equal(address_of(second, old->machine), old->address);
    }
    for (guint i = 0; i < second->items->len; i++)
        assert_int_not_equal(((CnV4Assignment *)second->items->pdata[i])->address, taken);
}

static void test_previous_colliding_with_new_secondary_moves(void **state)
{
    g_autofree char *before = pool_site("10.0.0.100-10.0.0.199", 0, 9, 0, NULL);
    g_autoptr(CnAssignments) first = allocate(before, NULL, NULL, NULL);
    uint32_t taken = address_of(first, "m007");
    char taken_text[CN_V4_STR_MAX];
    cn_v4_format(taken, taken_text);

    g_autofree char *extra = g_strdup_printf("[link fixed eth0]\nnet = lan\nv4.address = 10.0.0.5\n"
                                             "v4.secondary_addresses = %s\n", taken_text);
    g_autofree char *after = pool_site("10.0.0.100-10.0.0.199", 0, 9, 0, extra);
    g_autoptr(CnAssignments) second = allocate(after, first, NULL, NULL);
    assert_int_not_equal(address_of(second, "m007"), taken);
    assert_int_equal(address_of(second, "m000"), address_of(first, "m000"));
}

static void test_previous_outside_shrunk_pool_moves(void **state)
{
    g_autofree char *wide = pool_site("10.0.0.100-10.0.0.199", 0, 9, 0, NULL);
    g_autoptr(CnAssignments) first = allocate(wide, NULL, NULL, NULL);
    g_autofree char *narrow = pool_site("10.0.0.100-10.0.0.149", 0, 9, 0, NULL);
    g_autoptr(CnAssignments) second = allocate(narrow, first, NULL, NULL);

    for (guint i = 0; i < first->items->len; i++) {
        const CnV4Assignment *old = first->items->pdata[i];
        uint32_t now = address_of(second, old->machine);
        assert_in_range(now, v4("10.0.0.100"), v4("10.0.0.149"));
        if (old->address <= v4("10.0.0.149"))
            assert_int_equal(now, old->address);
    }
}

static void test_previous_static_link_leaves_table(void **state)
{
    g_autofree char *before = pool_site("10.0.0.100-10.0.0.199", 0, 4, 0, NULL);
    g_autoptr(CnAssignments) first = allocate(before, NULL, NULL, NULL);
    /* m002 now has a static address: layered on top */
    const DefsFile files[] = {
        { "a.conf", before },
        { "b.conf", "[link m002 eth0]\nv4.address = 10.0.0.7\n" },
    };
    g_autoptr(CnDiagList) diags = NULL;
    g_autoptr(CnSite) site = defs_parse_files(files, G_N_ELEMENTS(files), &diags);
    assert_diag_count(diags, 0);
    g_autoptr(CnAssignments) second = cn_alloc_v4(site, first, diags);
    assert_diag_count(diags, 0);
    assert_int_equal(second->items->len, 4);
    assert_null(cn_assignments_find(second, "lan", "m002", "eth0"));
    assert_int_equal(cn_site_find_link(site, "m002", "eth0")->v4_address, v4("10.0.0.7"));
}

static void test_previous_duplicates_resolved(void **state)
{
    /* a damaged state file that gives two links one address */
    g_autofree char *text = pool_site("10.0.0.100-10.0.0.199", 0, 2, 0, NULL);
    g_autoptr(CnAssignments) previous = cn_assignments_new();
    cn_assignments_add(previous, "lan", "m000", "eth0", v4("10.0.0.150"));
    cn_assignments_add(previous, "lan", "m001", "eth0", v4("10.0.0.150"));
    cn_assignments_add(previous, "lan", "m002", "eth0", v4("10.0.0.1")); /* the gateway */
    g_autoptr(CnAssignments) table = allocate(text, previous, NULL, NULL);
    assert_int_equal(address_of(table, "m000"), v4("10.0.0.150"));
    assert_int_not_equal(address_of(table, "m001"), v4("10.0.0.150"));
    assert_in_range(address_of(table, "m001"), v4("10.0.0.100"), v4("10.0.0.199"));
    assert_in_range(address_of(table, "m002"), v4("10.0.0.100"), v4("10.0.0.199"));
}

static void test_previous_of_other_network_ignored(void **state)
{
    g_autofree char *text = pool_site("10.0.0.100-10.0.0.199", 0, 0, 0, NULL);
    g_autoptr(CnAssignments) fresh = allocate(text, NULL, NULL, NULL);
    uint32_t natural = address_of(fresh, "m000");
    uint32_t other = natural == v4("10.0.0.120") ? v4("10.0.0.121") : v4("10.0.0.120");

    g_autoptr(CnAssignments) previous = cn_assignments_new();
    cn_assignments_add(previous, "elsewhere", "m000", "eth0", other);
    cn_assignments_add(previous, "lan", "m000", "eth1", other);
    g_autoptr(CnAssignments) table = allocate(text, previous, NULL, NULL);
    assert_int_equal(address_of(table, "m000"), natural);

    g_autoptr(CnAssignments) right = cn_assignments_new();
    cn_assignments_add(right, "lan", "m000", "eth0", other);
    g_autoptr(CnAssignments) kept = allocate(text, right, NULL, NULL);
    assert_int_equal(address_of(kept, "m000"), other);
}

static void test_same_result_on_two_runs(void **state)
{
    g_autofree char *text = pool_site("10.0.0.100-10.0.0.199", 0, 49, 0, NULL);
    g_autoptr(CnAssignments) a = allocate(text, NULL, NULL, NULL);
    g_autoptr(CnAssignments) b = allocate(text, NULL, NULL, NULL);
    assert_true(cn_assignments_equal(a, b));
    g_autofree char *fa = cn_assignments_format(a);
    g_autofree char *fb = cn_assignments_format(b);
    assert_string_equal(fa, fb);
}

static void test_independent_of_file_order(void **state)
{
    GString *forward = g_string_new(LAN "v4.pool = 10.0.0.100-10.0.0.129\n");
    GString *backward = g_string_new(NULL);
    for (unsigned i = 0; i < 25; i++)
        g_string_append_printf(forward, "[link m%03u eth0]\nnet = lan\n", i);
    for (unsigned i = 25; i-- > 0;)
        g_string_append_printf(backward, "[link m%03u eth0]\nnet = lan\n", i);
    g_string_append(backward, LAN "v4.pool = 10.0.0.100-10.0.0.129\n");
    g_autofree char *forward_text = g_string_free(forward, FALSE);
    g_autofree char *backward_text = g_string_free(backward, FALSE);

    g_autoptr(CnAssignments) a = allocate(forward_text, NULL, NULL, NULL);
    g_autoptr(CnAssignments) b = allocate(backward_text, NULL, NULL, NULL);
    assert_true(cn_assignments_equal(a, b));

    /* and of how the groups are split over files */
    const DefsFile split[] = {
        { "10-links.conf", "[link m024 eth0]\nnet = lan\n[link m000 eth0]\nnet = lan\n" },
        { "20-net.conf", forward_text },
    };
    g_autoptr(CnDiagList) diags = NULL;
    g_autoptr(CnSite) site = defs_parse_files(split, G_N_ELEMENTS(split), &diags);
    assert_diag_count(diags, 0);
    g_autoptr(CnAssignments) c = cn_alloc_v4(site, NULL, diags);
    assert_true(cn_assignments_equal(a, c));
}

static void test_table_sorted(void **state)
{
    g_autoptr(CnAssignments) table =
        allocate("[network zz]\nv4.network = 10.1.0.0/24\nv4.pool = 10.1.0.10-10.1.0.20\n"
                 "[network aa]\nv4.network = 10.2.0.0/24\nv4.pool = 10.2.0.10-10.2.0.20\n"
                 "[link web eth1]\nnet = aa\n[link web eth0]\nnet = zz\n"
                 "[link db eth0]\nnet = aa\n[link db eth1]\nnet = zz\n",
                 NULL, NULL, NULL);
    g_autofree char *text = cn_assignments_format(table);
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    assert_int_equal(g_strv_length(lines), 6);
    assert_true(g_str_has_prefix(lines[1], "v4 aa db eth0 10.2.0."));
    assert_true(g_str_has_prefix(lines[2], "v4 aa web eth1 10.2.0."));
    assert_true(g_str_has_prefix(lines[3], "v4 zz db eth1 10.1.0."));
    assert_true(g_str_has_prefix(lines[4], "v4 zz web eth0 10.1.0."));
}

static void test_only_pool_links_allocated(void **state)
{
    CnSite *site = NULL;
    g_autoptr(CnAssignments) table =
        allocate(LAN "v4.pool = 10.0.0.100-10.0.0.199\n"
                     "[network bare]\nv4.network = 10.1.0.0/24\n"
                     "[network host]\ntechnology = bridge\nbridge_name = br0\n"
                     "[link a eth0]\nnet = lan\n"
                     "[link b eth0]\nnet = lan\nv4.address = 10.0.0.5\n"
                     "[link c eth0]\nnet = bare\n"
                     "[link d eth0]\nnet = host\n",
                 NULL, &site, NULL);
    g_autoptr(CnSite) owned = site;
    assert_int_equal(table->items->len, 1);
    assert_non_null(cn_assignments_find(table, "lan", "a", "eth0"));
    assert_int_equal(cn_site_find_link(site, "c", "eth0")->v4_address, 0);
    assert_int_equal(cn_site_find_link(site, "d", "eth0")->v4_address, 0);
}

static void test_table_feeds_back_unchanged(void **state)
{
    g_autofree char *text = pool_site("10.0.0.100-10.0.0.139", 0, 29, 0, NULL);
    g_autoptr(CnAssignments) first = allocate(text, NULL, NULL, NULL);
    g_autofree char *saved = cn_assignments_format(first);
    g_autoptr(GError) error = NULL;
    g_autoptr(CnAssignments) loaded = cn_assignments_parse("state", saved, strlen(saved), &error);
    assert_non_null(loaded);
    g_autoptr(CnAssignments) second = allocate(text, loaded, NULL, NULL);
    assert_true(cn_assignments_equal(first, second));
}

/* ---- the assignments file -------------------------------------------- */

static void test_assignments_format(void **state)
{
    g_autoptr(CnAssignments) table = cn_assignments_new();
    cn_assignments_add(table, "lan", "db.example", "eth0", v4("10.0.0.7"));
    cn_assignments_add(table, "lan", "web", "eth1", v4("10.0.0.200"));
    g_autofree char *text = cn_assignments_format(table);
    assert_string_equal(text, "carthage-net-assignments 1\n"
                              "v4 lan db.example eth0 10.0.0.7\n"
                              "v4 lan web eth1 10.0.0.200\n");
}

static void test_assignments_format_empty(void **state)
{
    g_autoptr(CnAssignments) table = cn_assignments_new();
    g_autofree char *text = cn_assignments_format(table);
    assert_string_equal(text, "carthage-net-assignments 1\n");
}

static void test_assignments_round_trip(void **state)
{
    g_autoptr(CnAssignments) table = cn_assignments_new();
    cn_assignments_add(table, "lan", "a", "eth0", v4("10.0.0.1"));
    cn_assignments_add(table, "lan", "b.example.org", "eth0", v4("10.0.0.255"));
    cn_assignments_add(table, "my_net.2", "c", "tap-1.x", v4("192.168.255.254"));
    g_autofree char *text = cn_assignments_format(table);
    g_autoptr(GError) error = NULL;
    g_autoptr(CnAssignments) back = cn_assignments_parse("f", text, strlen(text), &error);
    assert_null(error);
    assert_non_null(back);
    assert_true(cn_assignments_equal(table, back));
    g_autofree char *again = cn_assignments_format(back);
    assert_string_equal(again, text);
}

static void test_assignments_parse_lenient_layout(void **state)
{
    static const char text[] = "carthage-net-assignments 1\n"
                               "\n"
                               "v4 lan web eth0 10.0.0.5\n"
                               "\n"
                               "v4 lan db eth0 10.0.0.6"; /* no final newline */
    g_autoptr(GError) error = NULL;
    g_autoptr(CnAssignments) table = cn_assignments_parse("f", text, strlen(text), &error);
    assert_non_null(table);
    assert_int_equal(table->items->len, 2);
    const CnV4Assignment *db = cn_assignments_find(table, "lan", "db", "eth0");
    assert_non_null(db);
    assert_int_equal(db->address, v4("10.0.0.6"));
}

static void test_assignments_parse_header_only(void **state)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(CnAssignments) a = cn_assignments_parse("f", "carthage-net-assignments 1", 26, &error);
    assert_non_null(a);
    assert_int_equal(a->items->len, 0);
}

static void expect_parse_error(const char *text, gsize length, const char *substring)
{
    g_autoptr(GError) error = NULL;
    CnAssignments *table = cn_assignments_parse("/var/lib/cn/assignments", text, length, &error);
    if (table) {
        cn_assignments_free(table);
        fail_msg("accepted: %s", text);
    }
    assert_non_null(error);
    if (!strstr(error->message, substring))
        fail_msg("'%s' lacks '%s'", error->message, substring);
}

static void test_assignments_bad_magic(void **state)
{
    expect_parse_error("carthage-net-assignments 2\n", 27, "assignments:1: expected");
    expect_parse_error("", 0, "assignments:1:");
    expect_parse_error("v4 lan web eth0 10.0.0.5\n", 25, "assignments:1:");
    expect_parse_error("carthage-net-assignments 1 \n", 28, "assignments:1:");
}

static void test_assignments_bad_line(void **state)
{
    static const char *const lines[] = {
        "v4 lan web",
        "v4 lan web eth0 10.0.0.5 extra",
        "v6 lan web eth0 10.0.0.5",
        "v4 lan web eth0 10.0.0.256",
        "v4 lan  web eth0 10.0.0.5",
        "v4 la/n web eth0 10.0.0.5",
        "v4 lan -web eth0 10.0.0.5",
        "v4 lan web eth0/1 10.0.0.5",
        "v4\tlan web eth0 10.0.0.5",
        " v4 lan web eth0 10.0.0.5",
    };
    for (gsize i = 0; i < G_N_ELEMENTS(lines); i++) {
        g_autofree char *text = g_strdup_printf("carthage-net-assignments 1\n"
                                                "v4 lan ok eth0 10.0.0.4\n"
                                                "%s\n", lines[i]);
        expect_parse_error(text, strlen(text), "assignments:3: expected 'v4 NETWORK MACHINE IFACE ADDRESS");
    }
}

static void test_assignments_duplicate(void **state)
{
    static const char text[] = "carthage-net-assignments 1\n"
                               "v4 lan web eth0 10.0.0.5\n"
                               "v4 lan db eth0 10.0.0.6\n"
                               "v4 lan web eth0 10.0.0.7\n";
    expect_parse_error(text, strlen(text), "assignments:4:");
}

static void test_assignments_same_link_other_network_not_duplicate(void **state)
{
    static const char text[] = "carthage-net-assignments 1\n"
                               "v4 lan web eth0 10.0.0.5\n"
                               "v4 dmz web eth0 10.9.0.5\n";
    g_autoptr(GError) error = NULL;
    g_autoptr(CnAssignments) table = cn_assignments_parse("f", text, strlen(text), &error);
    assert_non_null(table);
    assert_int_equal(table->items->len, 2);
}

static void test_assignments_nul_byte(void **state)
{
    static const char text[] = "carthage-net-assignments 1\nv4 lan web eth0 10.0.0.5\0\n";
    expect_parse_error(text, sizeof text - 1, "NUL");
}

static void test_assignments_find_and_equal(void **state)
{
    g_autoptr(CnAssignments) a = cn_assignments_new();
    g_autoptr(CnAssignments) b = cn_assignments_new();
    assert_true(cn_assignments_equal(a, b));
    assert_null(cn_assignments_find(NULL, "lan", "web", "eth0"));
    cn_assignments_add(a, "lan", "web", "eth0", 1);
    assert_false(cn_assignments_equal(a, b));
    cn_assignments_add(b, "lan", "web", "eth0", 2);
    assert_false(cn_assignments_equal(a, b));
    assert_non_null(cn_assignments_find(a, "lan", "web", "eth0"));
    assert_null(cn_assignments_find(a, "lan", "web", "eth1"));
    assert_null(cn_assignments_find(a, "dmz", "web", "eth0"));
    assert_null(cn_assignments_find(a, "lan", "db", "eth0"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mac_deterministic),
        cmocka_unit_test(test_mac_locally_administered_unicast),
        cmocka_unit_test(test_mac_name_boundary),
        cmocka_unit_test(test_mac_machine_and_iface_matter),
        cmocka_unit_test(test_mac_no_collisions_in_a_thousand),
        cmocka_unit_test(test_alloc_macs_fills_defaults_only),

        cmocka_unit_test(test_pool_addresses_distinct_and_inside),
        cmocka_unit_test(test_pool_skips_gateway_statics_secondaries),
        cmocka_unit_test(test_pool_never_network_or_broadcast),
        cmocka_unit_test(test_pool_exhaustion),
        cmocka_unit_test(test_pool_exactly_full),
        cmocka_unit_test(test_stable_when_machines_added),
        cmocka_unit_test(test_stable_when_machines_added_before_in_order),
        cmocka_unit_test(test_stable_when_machines_removed),
        cmocka_unit_test(test_stable_over_remove_then_add),
        cmocka_unit_test(test_previous_colliding_with_new_static_moves),
        cmocka_unit_test(test_previous_colliding_with_new_secondary_moves),
        cmocka_unit_test(test_previous_outside_shrunk_pool_moves),
        cmocka_unit_test(test_previous_static_link_leaves_table),
        cmocka_unit_test(test_previous_duplicates_resolved),
        cmocka_unit_test(test_previous_of_other_network_ignored),
        cmocka_unit_test(test_same_result_on_two_runs),
        cmocka_unit_test(test_independent_of_file_order),
        cmocka_unit_test(test_table_sorted),
        cmocka_unit_test(test_only_pool_links_allocated),
        cmocka_unit_test(test_table_feeds_back_unchanged),

        cmocka_unit_test(test_assignments_format),
        cmocka_unit_test(test_assignments_format_empty),
        cmocka_unit_test(test_assignments_round_trip),
        cmocka_unit_test(test_assignments_parse_lenient_layout),
        cmocka_unit_test(test_assignments_parse_header_only),
        cmocka_unit_test(test_assignments_bad_magic),
        cmocka_unit_test(test_assignments_bad_line),
        cmocka_unit_test(test_assignments_duplicate),
        cmocka_unit_test(test_assignments_same_link_other_network_not_duplicate),
        cmocka_unit_test(test_assignments_nul_byte),
        cmocka_unit_test(test_assignments_find_and_equal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
