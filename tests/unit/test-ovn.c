/* test-ovn.c - the OVSDB protocol code and the OVN planner, without a
 * server: remotes, the stream framer, RFC 7047 values, transact replies,
 * the northbound snapshot, and the plan against snapshots written out. */
#include "defs-fixture.h"
#include "tests/unit/test-paths.h"
#include "ops.h"
#include "ovn-nb.h"
#include "ovn-plan.h"
#include "ovsdb-client.h"
#include "ovsdb-remote.h"
#include "ovsdb-stream.h"

/* --- remotes ---------------------------------------------------------------- */

static void test_remote_parse(void **state)
{
    g_auto(CnOvsdbRemote) unix_remote = { 0 };
    assert_true(cn_ovsdb_remote_parse("unix:/var/run/ovn/ovnnb_db.sock", &unix_remote, NULL));
    assert_int_equal(unix_remote.transport, CN_OVSDB_UNIX);
    assert_string_equal(unix_remote.path, "/var/run/ovn/ovnnb_db.sock");

    g_auto(CnOvsdbRemote) tcp = { 0 };
    assert_true(cn_ovsdb_remote_parse("tcp:10.99.0.1:6641", &tcp, NULL));
    assert_int_equal(tcp.transport, CN_OVSDB_TCP);
    assert_string_equal(tcp.host, "10.99.0.1");
    assert_int_equal(tcp.port, 6641);

    g_auto(CnOvsdbRemote) ssl = { 0 };
    assert_true(cn_ovsdb_remote_parse("ssl:central.example", &ssl, NULL));
    assert_int_equal(ssl.transport, CN_OVSDB_SSL);
    assert_string_equal(ssl.host, "central.example");
    assert_int_equal(ssl.port, CN_OVSDB_NB_PORT);

    g_auto(CnOvsdbRemote) v6 = { 0 };
    assert_true(cn_ovsdb_remote_parse("tcp:[2001:db8::1]:7000", &v6, NULL));
    assert_string_equal(v6.host, "2001:db8::1");
    assert_int_equal(v6.port, 7000);
}

static void test_remote_refused(void **state)
{
    static const struct {
        const char *text, *why;
    } cases[] = {
        { "", "is none of" },
        { "http://x", "is none of" },
        { "unix:", "needs the socket's file name" },
        { "tcp:", "is not an IPv4 address or DNS name" },
        { "tcp:10.0.0.1:0", "is not a port" },
        { "tcp:10.0.0.1:65536", "is not a port" },
        { "tcp:10.0.0.1:66x", "is not a port" },
        { "tcp:2001:db8::1", "is not a port" },
        { "tcp:[2001:db8::1", "closing ']'" },
        { "tcp:[nothing]:1", "is not an IPv6 address" },
        { "ssl:bad_name!", "is not an IPv4 address or DNS name" },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_auto(CnOvsdbRemote) remote = { 0 };
        g_autofree char *why = NULL;
        assert_false(cn_ovsdb_remote_parse(cases[i].text, &remote, &why));
        assert_non_null(strstr(why, cases[i].why));
        assert_false(cn_ovsdb_remote_is_valid(cases[i].text));
    }
}

/* --- the framer ------------------------------------------------------------- */

static void test_framer_back_to_back(void **state)
{
    g_autoptr(CnOvsdbFramer) framer = cn_ovsdb_framer_new(1024);
    g_autoptr(GError) error = NULL;
    const char *stream = " {\"id\":1,\"s\":\"a}b{\\\"c\"}\n{\"id\":2,\"r\":[{}]}{\"id\"";
    /* Byte by byte: message ends found across every split. */
    g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func(g_free);
    for (const char *c = stream; *c; c++) {
        cn_ovsdb_framer_feed(framer, c, 1);
        char *message;
        while ((message = cn_ovsdb_framer_next(framer, &error)))
            g_ptr_array_add(messages, message);
        assert_null(error);
    }
    assert_int_equal(messages->len, 2);
    assert_string_equal(messages->pdata[0], "{\"id\":1,\"s\":\"a}b{\\\"c\"}");
    assert_string_equal(messages->pdata[1], "{\"id\":2,\"r\":[{}]}");
    cn_ovsdb_framer_feed(framer, ":3}", 3);
    g_autofree char *third = cn_ovsdb_framer_next(framer, &error);
    assert_string_equal(third, "{\"id\":3}");
}

static void test_framer_broken(void **state)
{
    g_autoptr(CnOvsdbFramer) framer = cn_ovsdb_framer_new(1024);
    g_autoptr(GError) error = NULL;
    cn_ovsdb_framer_feed(framer, "[1]", 3);
    assert_null(cn_ovsdb_framer_next(framer, &error));
    assert_true(g_error_matches(error, CN_OVSDB_STREAM_ERROR, CN_OVSDB_STREAM_ERROR_SYNTAX));
    g_clear_error(&error);
    /* Broken stays broken. */
    cn_ovsdb_framer_feed(framer, "{}", 2);
    assert_null(cn_ovsdb_framer_next(framer, &error));
    assert_non_null(error);

    g_autoptr(CnOvsdbFramer) small = cn_ovsdb_framer_new(8);
    g_autoptr(GError) too_big = NULL;
    cn_ovsdb_framer_feed(small, "{\"a\":\"0123456789\"", 17);
    assert_null(cn_ovsdb_framer_next(small, &too_big));
    assert_true(g_error_matches(too_big, CN_OVSDB_STREAM_ERROR, CN_OVSDB_STREAM_ERROR_TOO_BIG));

    g_autoptr(CnOvsdbFramer) unbalanced = cn_ovsdb_framer_new(64);
    g_autoptr(GError) close_error = NULL;
    cn_ovsdb_framer_feed(unbalanced, "{]]", 3);
    g_free(cn_ovsdb_framer_next(unbalanced, &close_error));
    /* "{]" closes the object at depth 0: a message, then "]" is garbage. */
    assert_null(cn_ovsdb_framer_next(unbalanced, &close_error));
    assert_non_null(close_error);
}

/* --- values and replies ------------------------------------------------------- */

static JsonNode *parse(const char *text)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    assert_true(json_parser_load_from_data(parser, text, -1, NULL));
    return json_node_copy(json_parser_get_root(parser));
}

static void test_row_readers(void **state)
{
    g_autoptr(JsonNode) node =
        parse("{\"one\":\"a\",\"many\":[\"set\",[\"a\",\"b\"]],\"empty\":[\"set\",[]],"
              "\"ref\":[\"uuid\",\"01234567-89ab-cdef-0123-456789abcdef\"],"
              "\"map\":[\"map\",[[\"k\",\"v\"]]],\"bad\":[\"map\",[[\"k\",1]]],\"num\":3}");
    JsonObject *row = json_node_get_object(node);
    g_autoptr(GPtrArray) set = g_ptr_array_new_with_free_func(g_free);
    assert_true(cn_ovsdb_row_set(row, "T", "one", "string", set, NULL));
    assert_true(cn_ovsdb_row_set(row, "T", "many", "string", set, NULL));
    assert_int_equal(set->len, 3);
    g_autofree char *none = NULL, *ref = NULL;
    assert_true(cn_ovsdb_row_optional_uuid(row, "T", "empty", &none, NULL));
    assert_null(none);
    assert_true(cn_ovsdb_row_optional_uuid(row, "T", "ref", &ref, NULL));
    assert_string_equal(ref, "01234567-89ab-cdef-0123-456789abcdef");
    g_autoptr(GHashTable) map = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    assert_true(cn_ovsdb_row_map(row, "T", "map", map, NULL));
    assert_string_equal(g_hash_table_lookup(map, "k"), "v");

    g_autoptr(GError) error = NULL;
    assert_false(cn_ovsdb_row_map(row, "T", "bad", map, &error));
    assert_non_null(strstr(error->message, "T row: column bad is not a map of strings"));
    g_clear_error(&error);
    g_autofree char *string = NULL;
    assert_false(cn_ovsdb_row_string(row, "T", "num", &string, &error));
    g_clear_error(&error);
    assert_false(cn_ovsdb_row_string(row, "T", "absent", &string, &error));
    assert_non_null(strstr(error->message, "T row without column absent"));
}

static void test_transact_reply(void **state)
{
    g_autoptr(JsonNode) ok = parse("{\"id\":1,\"result\":[{},{\"count\":1}],\"error\":null}");
    g_autoptr(JsonArray) results = cn_ovsdb_parse_transact_reply(ok, 2, NULL);
    assert_non_null(results);

    static const struct {
        const char *reply;
        int code;
        const char *message;
    } failures[] = {
        { "{\"id\":1,\"result\":[{\"error\":\"timed out\"},null],\"error\":null}", CN_OVSDB_ERROR_CONFLICT, "timed out" },
        { "{\"id\":1,\"result\":[{},{\"error\":\"constraint violation\",\"details\":\"no\"}],\"error\":null}",
          CN_OVSDB_ERROR_REFUSED, "constraint violation: no" },
        { "{\"id\":1,\"result\":[{},{},{\"error\":\"referential integrity violation\"}],\"error\":null}",
          CN_OVSDB_ERROR_REFUSED, "commit: referential integrity violation" },
        { "{\"id\":1,\"result\":null,\"error\":\"unknown database\"}", CN_OVSDB_ERROR_REFUSED, "unknown database" },
        { "{\"id\":1,\"result\":[{}],\"error\":null}", CN_OVSDB_ERROR_PROTOCOL, "1 results for 2 operations" },
        { "{\"id\":1}", CN_OVSDB_ERROR_PROTOCOL, "without a result array" },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(failures); i++) {
        g_autoptr(JsonNode) reply = parse(failures[i].reply);
        g_autoptr(GError) error = NULL;
        assert_null(cn_ovsdb_parse_transact_reply(reply, 2, &error));
        assert_int_equal(error->code, failures[i].code);
        assert_non_null(strstr(error->message, failures[i].message));
    }
}

/* --- snapshots and plans ------------------------------------------------------ */

#define LAB_SITE                                                                                                      \
    "[network lab]\ntechnology = ovn\nv4.network = 10.90.0.0/24\nv4.pool = 10.90.0.100-10.90.0.102\n"             \
    "[link web eth0]\nnet = lab\nv4.address = 10.90.0.10\ndns_name = web.lab.example\n"                             \
    "[link db eth0]\nnet = lab\ndns_name = db.lab.example\n"                                                        \
    "[link cache eth0]\nnet = lab\n"

static CnSite *load(const char *text)
{
    CnDiagList *diags = NULL;
    CnSite *site = defs_parse(text, &diags);
    diags_dump(diags);
    assert_int_equal(diags->items->len, 0);
    cn_diag_list_free(diags);
    return site;
}

static CnNbSnapshot *snapshot(const char *results)
{
    g_autoptr(JsonNode) node = parse(results);
    g_autoptr(GError) error = NULL;
    CnNbSnapshot *nb = cn_nb_snapshot_parse(json_node_get_array(node), &error);
    assert_null(error);
    return nb;
}

/* The switch lab of carthage-net's with ports: PORTS (JSON rows). */
static char *lab_snapshot(const char *switch_ports, const char *ports)
{
    return g_strdup_printf("[{\"rows\":[{\"_uuid\":[\"uuid\",\"00000000-0000-0000-0000-00000000000a\"],\"name\":\"lab\","
                           "\"ports\":[\"set\",[%s]],\"dns_records\":[\"set\",[]],\"acls\":[\"set\",[]],"
                           "\"external_ids\":[\"map\",[[\"carthage-net:network\",\"lab\"],[\"carthage-net:version\",\"4\"]]]}]},"
                           "{\"rows\":[%s]},{\"rows\":[]},{\"rows\":[]},{\"rows\":[]},{\"rows\":[]},{\"rows\":[]},{\"rows\":[]},{\"rows\":[]},{\"rows\":[]},{\"rows\":[]}]",
                           switch_ports, ports);
}

static char *port_row(const char *uuid, const char *machine, const char *addresses, gboolean ours)
{
    char name[CN_UUID_STR_MAX];
    cn_ovn_port_name(machine, "eth0", name);
    g_autofree char *ids = ours ? g_strdup_printf("[\"carthage-net:iface\",\"eth0\"],[\"carthage-net:machine\",\"%s\"],"
                                                  "[\"carthage-net:network\",\"lab\"]", machine)
                                : g_strdup("");
    return g_strdup_printf("{\"_uuid\":[\"uuid\",\"%s\"],\"name\":\"%s\",\"type\":\"\",\"addresses\":\"%s\","
                           "\"port_security\":[\"set\",[]],\"dhcpv4_options\":[\"set\",[]],\"options\":[\"map\",[]],"
                           "\"external_ids\":[\"map\",[%s]]}",
                           uuid, ours ? name : machine, addresses, ids);
}

static const CnOvnChange *find_change(const CnOvnPlan *plan, const char *object)
{
    for (guint i = 0; i < plan->changes->len; i++) {
        const CnOvnChange *change = plan->changes->pdata[i];
        if (strcmp(change->object, object) == 0)
            return change;
    }
    return NULL;
}

static gboolean plan_mentions(const CnOvnPlan *plan, const char *needle)
{
    for (guint i = 0; i < plan->ops->len; i++) {
        g_autofree char *text = cn_ovsdb_to_text(plan->ops->pdata[i], FALSE);
        if (strstr(text, needle))
            return TRUE;
    }
    return FALSE;
}

static void test_plan_empty_database(void **state)
{
    g_autoptr(CnSite) site = load(LAB_SITE);
    g_autoptr(CnNbSnapshot) nb = cn_nb_snapshot_new();
    g_autoptr(GError) error = NULL;
    g_autoptr(CnOvnPlan) plan = cn_ovn_plan_networks(site->networks, nb, "c", &error);
    assert_non_null(plan);
    /* comment, wait, DHCP, 3 ports, the DHCP and DNS localport, DNS, switch */
    assert_int_equal(plan->ops->len, 9);
    assert_int_equal(plan->changes->len, 7);
    assert_true(plan_mentions(plan, "\"type\":\"localport\""));
    /* Pool addresses in link order (cache, db): the lowest free. */
    assert_true(plan_mentions(plan, " 10.90.0.100\""));
    assert_true(plan_mentions(plan, " 10.90.0.101\""));
    assert_true(plan_mentions(plan, "\"db.lab.example\",\"10.90.0.101\""));
    assert_int_equal(plan->notes->len, 2);
}

static void test_plan_keeps_database_addresses(void **state)
{
    g_autoptr(CnSite) site = load(LAB_SITE);
    /* db already has .102 (given on another host); a port that is not
     * carthage-net's holds .100: cache gets .101. */
    g_autofree char *db = port_row("00000000-0000-0000-0000-0000000000d1", "db", "02:00:00:00:00:01 10.90.0.102", TRUE);
    g_autofree char *foreign =
        port_row("00000000-0000-0000-0000-0000000000f1", "router", "02:00:00:00:00:02 10.90.0.100", FALSE);
    g_autofree char *ports = g_strdup_printf("%s,%s", db, foreign);
    g_autofree char *text = lab_snapshot("[\"uuid\",\"00000000-0000-0000-0000-0000000000d1\"],"
                                         "[\"uuid\",\"00000000-0000-0000-0000-0000000000f1\"]",
                                         ports);
    g_autoptr(CnNbSnapshot) nb = snapshot(text);
    g_autoptr(GError) error = NULL;
    g_autoptr(CnOvnPlan) plan = cn_ovn_plan_networks(site->networks, nb, NULL, &error);
    assert_non_null(plan);
    assert_true(plan_mentions(plan, " 10.90.0.102\""));
    assert_true(plan_mentions(plan, " 10.90.0.101\""));
    assert_false(plan_mentions(plan, " 10.90.0.100\""));
    /* The foreign port is neither changed nor removed. */
    assert_false(plan_mentions(plan, "0000000000f1"));
    /* The switch is waited on as read, then its version bumped. */
    assert_true(plan_mentions(plan, "\"op\":\"wait\""));
    assert_true(plan_mentions(plan, "[\"carthage-net:version\",\"5\"]"));
    const CnOvnChange *change = find_change(plan, "port db eth0");
    assert_non_null(change);
    assert_int_equal(change->kind, CN_OVN_CHANGED);
    assert_non_null(strstr(change->detail, "want [\""));
    assert_non_null(find_change(plan, "port cache eth0"));
}

static void test_plan_removes_extra_ports(void **state)
{
    g_autoptr(CnSite) site = load(LAB_SITE);
    g_autofree char *gone = port_row("00000000-0000-0000-0000-0000000000e1", "gone", "02:00:00:00:00:03", TRUE);
    g_autofree char *text = lab_snapshot("[\"uuid\",\"00000000-0000-0000-0000-0000000000e1\"]", gone);
    g_autoptr(CnNbSnapshot) nb = snapshot(text);
    g_autoptr(CnOvnPlan) plan = cn_ovn_plan_networks(site->networks, nb, NULL, NULL);
    assert_non_null(plan);
    assert_true(plan_mentions(plan, "[\"ports\",\"delete\",[\"set\",[[\"uuid\",\"00000000-0000-0000-0000-0000000000e1\"]]]]"));
    gboolean found = FALSE;
    for (guint i = 0; i < plan->changes->len; i++) {
        const CnOvnChange *change = plan->changes->pdata[i];
        found |= change->kind == CN_OVN_EXTRA && g_str_has_prefix(change->object, "port gone eth0");
    }
    assert_true(found);
}

static void test_plan_refusals(void **state)
{
    /* A switch of the same name that is not carthage-net's. */
    g_autoptr(CnSite) site = load(LAB_SITE);
    g_autoptr(CnNbSnapshot) foreign =
        snapshot("[{\"rows\":[{\"_uuid\":[\"uuid\",\"00000000-0000-0000-0000-00000000000b\"],\"name\":\"lab\","
                 "\"ports\":[\"set\",[]],\"dns_records\":[\"set\",[]],\"acls\":[\"set\",[]],\"external_ids\":[\"map\",[]]}]},"
                 "{\"rows\":[]},{\"rows\":[]},{\"rows\":[]},{\"rows\":[]},{\"rows\":[]},{\"rows\":[]},{\"rows\":[]},{\"rows\":[]},{\"rows\":[]},{\"rows\":[]}]");
    g_autoptr(GError) error = NULL;
    assert_null(cn_ovn_plan_networks(site->networks, foreign, NULL, &error));
    assert_true(g_error_matches(error, CN_OPS_ERROR, CN_OPS_ERROR_INVALID));
    assert_non_null(strstr(error->message, "not carthage-net's"));

    /* Pool of three, two held by others: exhausted. */
    g_autofree char *a = port_row("00000000-0000-0000-0000-0000000000f1", "r1", "02:00:00:00:00:01 10.90.0.100", FALSE);
    g_autofree char *b = port_row("00000000-0000-0000-0000-0000000000f2", "r2", "02:00:00:00:00:02 10.90.0.101", FALSE);
    g_autofree char *c = port_row("00000000-0000-0000-0000-0000000000f3", "r3", "02:00:00:00:00:03 10.90.0.102", FALSE);
    g_autofree char *ports = g_strdup_printf("%s,%s,%s", a, b, c);
    g_autofree char *text = lab_snapshot("[\"uuid\",\"00000000-0000-0000-0000-0000000000f1\"],"
                                         "[\"uuid\",\"00000000-0000-0000-0000-0000000000f2\"],"
                                         "[\"uuid\",\"00000000-0000-0000-0000-0000000000f3\"]",
                                         ports);
    g_autoptr(CnNbSnapshot) full = snapshot(text);
    g_autoptr(GError) busy = NULL;
    assert_null(cn_ovn_plan_networks(site->networks, full, NULL, &busy));
    assert_true(g_error_matches(busy, CN_OPS_ERROR, CN_OPS_ERROR_BUSY));
    assert_non_null(strstr(busy->message, "v4.pool 10.90.0.100-10.90.0.102 is exhausted"));
}

static void test_snapshot_refuses_bad_rows(void **state)
{
    static const char *const bad[] = {
        "[]",
        "[{\"rows\":[1]},{\"rows\":[]},{\"rows\":[]},{\"rows\":[]}]",
        "[{\"rows\":[{\"_uuid\":[\"uuid\",\"short\"],\"name\":\"x\",\"ports\":[\"set\",[]],\"dns_records\":[\"set\",[]],\"acls\":[\"set\",[]],"
        "\"external_ids\":[\"map\",[]]}]},{\"rows\":[]},{\"rows\":[]},{\"rows\":[]}]",
        "[{\"rows\":[]},{\"rows\":[{\"_uuid\":[\"uuid\",\"00000000-0000-0000-0000-0000000000f1\"]}]},{\"rows\":[]},"
        "{\"rows\":[]}]",
    };
    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(JsonNode) node = parse(bad[i]);
        g_autoptr(GError) error = NULL;
        assert_null(cn_nb_snapshot_parse(json_node_get_array(node), &error));
        assert_true(g_error_matches(error, CN_OVSDB_ERROR, CN_OVSDB_ERROR_PROTOCOL));
    }
}

static void test_port_names_stable(void **state)
{
    char a[CN_UUID_STR_MAX], b[CN_UUID_STR_MAX], c[CN_UUID_STR_MAX];
    cn_ovn_port_name("web", "eth0", a);
    cn_ovn_port_name("web", "eth0", b);
    cn_ovn_port_name("we", "beth0", c);
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
    assert_int_equal(strlen(a), 36);
    assert_int_equal(a[14], '8'); /* version 8 */
}

/* --- routers, NAT, port groups ------------------------------------------------ */

#define ROUTER_SITE                                                                                                   \
    "[network lab]\ntechnology = ovn\nv4.network = 10.90.0.0/24\nv4.pool = 10.90.0.100-10.90.0.103\n"                  \
    "v4.masquerade = true\nisolate_guests = true\novn.uplink = outside\novn.uplink_address = 192.0.2.10/24\n"           \
    "ovn.uplink_gateway = 192.0.2.1\novn.gateway_chassis = hv1;hv2\n"                                                  \
    "[link web eth0]\nnet = lab\nv4.address = 10.90.0.10\ndns_name = web.lab\nv4.public_address = 192.0.2.20\n"       \
    "v4.secondary_addresses = 10.90.0.11=192.0.2.21\n"                                                                 \
    "[link db eth0]\nnet = lab\ndns_name = db.lab\n"

/* The fuzz target's seed of a database with a router that has drifted:
 * the reply after the framer's first byte. */
static CnNbSnapshot *drifted_router_snapshot(void)
{
    g_autofree char *text = NULL;
    assert_true(g_file_get_contents(TEST_TOP_DIR "/tests/fuzz/corpus/ovsdb-reply/router", &text, NULL, NULL));
    g_autoptr(JsonNode) reply = parse(text + 1);
    JsonArray *results = json_object_get_array_member(json_node_get_object(reply), "result");
    g_autoptr(GError) error = NULL;
    CnNbSnapshot *nb = cn_nb_snapshot_parse(results, &error);
    assert_null(error);
    return nb;
}

static void assert_change(const CnOvnPlan *plan, const char *object, CnOvnChangeKind kind)
{
    const CnOvnChange *change = find_change(plan, object);
    if (!change)
        fail_msg("no change for \"%s\"", object);
    assert_int_equal(change->kind, kind);
}

static void test_plan_router_drift(void **state)
{
    g_autoptr(CnSite) site = load(ROUTER_SITE);
    g_autoptr(CnNbSnapshot) nb = drifted_router_snapshot();
    g_autoptr(GError) error = NULL;
    g_autoptr(CnOvnPlan) plan = cn_ovn_plan_networks(site->networks, nb, NULL, &error);
    assert_null(error);
    /* A 1:1 NAT of another address, and the route via another gateway:
     * extra; the definitions' own: missing. */
    assert_change(plan, "nat dnat_and_snat 192.0.2.99 <-> 10.90.0.10 port x mac 02:00:00:00:00:07", CN_OVN_EXTRA);
    assert_change(plan, "nat dnat_and_snat 192.0.2.20 <-> 10.90.0.10 (web eth0)", CN_OVN_MISSING);
    assert_change(plan, "nat dnat_and_snat 192.0.2.21 <-> 10.90.0.11 (web eth0)", CN_OVN_MISSING);
    assert_null(find_change(plan, "nat snat 192.0.2.10 <- 10.90.0.0/24")); /* as it should be */
    assert_change(plan, "route 0.0.0.0/0 via 192.0.2.254", CN_OVN_EXTRA);
    assert_change(plan, "route 0.0.0.0/0 via 192.0.2.1", CN_OVN_MISSING);
    assert_change(plan, "router port carthage-net-lab-lan", CN_OVN_MISSING);
    assert_change(plan, "router port carthage-net-lab-uplink", CN_OVN_CHANGED);
    assert_non_null(strstr(find_change(plan, "router port carthage-net-lab-uplink")->detail,
                           "gateway chassis [hv1:1] (want "));
    assert_change(plan, "port carthage-net-lab-localnet (localnet outside)", CN_OVN_CHANGED);
    assert_non_null(strstr(find_change(plan, "port carthage-net-lab-localnet (localnet outside)")->detail,
                           "network_name=other (want outside)"));
    assert_change(plan, "acl from-lport 1000 \"ip4.dst == 10.0.0.0/8\" drop (uplink)", CN_OVN_EXTRA);
    assert_change(plan, "acl from-lport 1000 \"ip4.dst == 10.90.0.0/24\" drop (uplink)", CN_OVN_MISSING);
    assert_change(plan, "acl to-lport 1000 \"inport == @x\" drop", CN_OVN_EXTRA);
    /* The machine that is gone: its port leaves, and with it the group. */
    assert_change(plan, "port gone eth0 (x)", CN_OVN_EXTRA);
    assert_change(plan, "port group carthage_net_lab_a51146d3", CN_OVN_CHANGED);
    /* All behind the switch's version, in one transaction. */
    assert_true(plan_mentions(plan, "\"op\":\"wait\""));
    assert_true(plan_mentions(plan, "carthage-net:version\",\"4\""));
}

static void test_plan_purge_only_ours(void **state)
{
    g_autoptr(CnNbSnapshot) nb = drifted_router_snapshot();
    g_autoptr(CnOvnPlan) plan = cn_ovn_plan_purge(nb, NULL);
    guint deletes = 0;
    for (guint i = 0; i < plan->ops->len; i++) {
        g_autofree char *text = cn_ovsdb_to_text(plan->ops->pdata[i], FALSE);
        deletes += strstr(text, "\"op\":\"delete\"") != NULL;
    }
    /* Two switches, the router, the port group, the DHCP options, the DNS
     * row: the roots; the rest goes with them. */
    assert_int_equal(deletes, 6);
    assert_true(plan_mentions(plan, "00000000-0000-0000-0000-0000000000f1"));
    g_autoptr(CnNbSnapshot) empty = cn_nb_snapshot_new();
    g_autoptr(CnOvnPlan) nothing = cn_ovn_plan_purge(empty, "purge");
    assert_int_equal(nothing->ops->len, 0);
}

static void test_plan_removal_takes_router(void **state)
{
    g_autoptr(CnNbSnapshot) nb = drifted_router_snapshot();
    g_autoptr(GError) error = NULL;
    g_autoptr(CnOvnPlan) plan = cn_ovn_plan_removal("lab", nb, NULL, &error);
    assert_null(error);
    assert_change(plan, "router carthage-net-lab", CN_OVN_EXTRA);
    assert_change(plan, "switch carthage-net-lab-uplink (uplink)", CN_OVN_EXTRA);
    assert_change(plan, "port group carthage_net_lab_a51146d3", CN_OVN_EXTRA);
    assert_change(plan, "dns records", CN_OVN_EXTRA);
}

static void test_router_refusals(void **state)
{
    /* A router of that name that is not carthage-net's. */
    g_autoptr(CnSite) site = load(ROUTER_SITE);
    g_autofree char *text = g_strdup_printf(
        "[{\"rows\":[]},{\"rows\":[]},{\"rows\":[]},{\"rows\":[]},"
        "{\"rows\":[{\"_uuid\":[\"uuid\",\"00000000-0000-0000-0000-0000000000f1\"],\"name\":\"carthage-net-lab\","
        "\"ports\":[\"set\",[]],\"static_routes\":[\"set\",[]],\"nat\":[\"set\",[]],\"external_ids\":[\"map\",[]]}]},"
        "{\"rows\":[]},{\"rows\":[]},{\"rows\":[]},{\"rows\":[]},{\"rows\":[]},{\"rows\":[]}]");
    g_autoptr(CnNbSnapshot) nb = snapshot(text);
    g_autoptr(GError) error = NULL;
    assert_null(cn_ovn_plan_networks(site->networks, nb, NULL, &error));
    assert_true(g_error_matches(error, CN_OPS_ERROR, CN_OPS_ERROR_INVALID));
    assert_non_null(strstr(error->message, "a logical router carthage-net-lab"));
}

static void test_router_render_is_complete(void **state)
{
    /* Against an empty database every row is made in one transaction,
     * each network's after a wait that its switch is still absent. */
    g_autoptr(CnSite) site = load(ROUTER_SITE);
    g_autoptr(CnNbSnapshot) nb = cn_nb_snapshot_new();
    g_autoptr(GError) error = NULL;
    g_autoptr(CnOvnPlan) plan = cn_ovn_plan_networks(site->networks, nb, NULL, &error);
    assert_null(error);
    static const char *const tables[] = { "Logical_Router", "Logical_Router_Port", "Gateway_Chassis", "NAT",
                                          "Logical_Router_Static_Route", "Port_Group", "ACL" };
    for (gsize i = 0; i < G_N_ELEMENTS(tables); i++) {
        g_autofree char *needle = g_strdup_printf("\"op\":\"insert\",\"table\":\"%s\"", tables[i]);
        assert_true(plan_mentions(plan, needle));
    }
    /* A router holds the gateway: no DHCP and DNS localport. */
    assert_null(find_change(plan, "port carthage-net-lab (DHCP and DNS)"));
    assert_true(plan_mentions(plan, "10.90.0.10 10.90.0.11\"")); /* the secondary in addresses */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_remote_parse),
        cmocka_unit_test(test_remote_refused),
        cmocka_unit_test(test_framer_back_to_back),
        cmocka_unit_test(test_framer_broken),
        cmocka_unit_test(test_row_readers),
        cmocka_unit_test(test_transact_reply),
        cmocka_unit_test(test_plan_empty_database),
        cmocka_unit_test(test_plan_keeps_database_addresses),
        cmocka_unit_test(test_plan_removes_extra_ports),
        cmocka_unit_test(test_plan_refusals),
        cmocka_unit_test(test_snapshot_refuses_bad_rows),
        cmocka_unit_test(test_port_names_stable),
        cmocka_unit_test(test_plan_router_drift),
        cmocka_unit_test(test_plan_purge_only_ours),
        cmocka_unit_test(test_plan_removal_takes_router),
        cmocka_unit_test(test_router_refusals),
        cmocka_unit_test(test_router_render_is_complete),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
