/* ovn-plan.c - the northbound transaction that brings OVN networks in step. */
#include <string.h>

#include "alloc.h"
#include "netaddr.h"
#include "ops.h"
#include "ovn-plan-private.h"

static void change_free(gpointer data)
{
    cn_ovn_change_free(data);
}

void cn_ovn_change_free(CnOvnChange *change)
{
    g_free(change->network);
    g_free(change->object);
    g_free(change->detail);
    g_free(change);
}

void cn_ovn_plan_free(CnOvnPlan *plan)
{
    if (!plan)
        return;
    g_ptr_array_unref(plan->ops);
    g_ptr_array_unref(plan->changes);
    g_ptr_array_unref(plan->notes);
    g_free(plan);
}

static CnOvnPlan *plan_new(void)
{
    CnOvnPlan *plan = g_new0(CnOvnPlan, 1);
    plan->ops = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
    plan->changes = g_ptr_array_new_with_free_func(change_free);
    plan->notes = g_ptr_array_new_with_free_func(g_free);
    return plan;
}

const char *cn_ovn_change_kind_name(CnOvnChangeKind kind)
{
    static const char *const names[] = { "missing", "extra", "changed" };
    return names[kind];
}

char *cn_ovn_change_describe(const CnOvnChange *change)
{
    return g_strdup_printf("network %s: ovn: %s: %s%s%s", change->network, change->object,
                           cn_ovn_change_kind_name(change->kind), change->detail ? ": " : "",
                           change->detail ? change->detail : "");
}

void cn_ovn_add_change(GPtrArray *changes, const char *network, const char *object, CnOvnChangeKind kind,
                       char *detail)
{
    CnOvnChange *change = g_new0(CnOvnChange, 1);
    change->network = g_strdup(network);
    change->object = g_strdup(object);
    change->kind = kind;
    change->detail = detail;
    g_ptr_array_add(changes, change);
}

GHashTable *cn_ovn_string_map_new(void)
{
    return g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
}

void cn_ovn_map_set(GHashTable *map, const char *key, const char *value)
{
    g_hash_table_replace(map, g_strdup(key), g_strdup(value));
}

static GHashTable *map_copy(GHashTable *from)
{
    GHashTable *copy = cn_ovn_string_map_new();
    GHashTableIter iter;
    gpointer key, value;
    g_hash_table_iter_init(&iter, from);
    while (g_hash_table_iter_next(&iter, &key, &value))
        cn_ovn_map_set(copy, key, value);
    return copy;
}

/* "{k=v, ...}", sorted: for change details. */
static char *map_text(GHashTable *map)
{
    g_autoptr(GPtrArray) keys = cn_ovsdb_sorted_keys(map);
    GString *text = g_string_new("{");
    for (guint i = 0; i < keys->len; i++)
        g_string_append_printf(text, "%s%s=%s", i ? ", " : "", (char *)keys->pdata[i],
                               (char *)g_hash_table_lookup(map, keys->pdata[i]));
    g_string_append_c(text, '}');
    return g_string_free(text, FALSE);
}

/* "k=v (want w), k2=v2 (want none), k3 (want x)": what differs. */
char *cn_ovn_map_difference(GHashTable *have, GHashTable *want)
{
    GString *text = g_string_new(NULL);
    g_autoptr(GPtrArray) keys = cn_ovsdb_sorted_keys(want);
    for (guint i = 0; i < keys->len; i++) {
        const char *was = g_hash_table_lookup(have, keys->pdata[i]);
        const char *now = g_hash_table_lookup(want, keys->pdata[i]);
        if (g_strcmp0(was, now) == 0)
            continue;
        if (was)
            g_string_append_printf(text, "%s%s=%s (want %s)", text->len ? ", " : "", (char *)keys->pdata[i], was,
                                   now);
        else
            g_string_append_printf(text, "%s%s missing (want %s)", text->len ? ", " : "", (char *)keys->pdata[i],
                                   now);
    }
    g_autoptr(GPtrArray) extra = cn_ovsdb_sorted_keys(have);
    for (guint i = 0; i < extra->len; i++)
        if (!g_hash_table_contains(want, extra->pdata[i]))
            g_string_append_printf(text, "%s%s=%s (want none)", text->len ? ", " : "", (char *)extra->pdata[i],
                                   (char *)g_hash_table_lookup(have, extra->pdata[i]));
    return g_string_free(text, FALSE);
}

gboolean cn_ovn_maps_equal(GHashTable *a, GHashTable *b)
{
    if (g_hash_table_size(a) != g_hash_table_size(b))
        return FALSE;
    GHashTableIter iter;
    gpointer key, value;
    g_hash_table_iter_init(&iter, a);
    while (g_hash_table_iter_next(&iter, &key, &value))
        if (g_strcmp0(value, g_hash_table_lookup(b, key)) != 0)
            return FALSE;
    return TRUE;
}

/* OUR keys of WANT are in HAVE with the same values (other keys are left to
 * whoever set them). */
gboolean cn_ovn_map_has(GHashTable *have, GHashTable *want)
{
    GHashTableIter iter;
    gpointer key, value;
    g_hash_table_iter_init(&iter, want);
    while (g_hash_table_iter_next(&iter, &key, &value))
        if (g_strcmp0(value, g_hash_table_lookup(have, key)) != 0)
            return FALSE;
    return TRUE;
}

/* The IPv4 addresses in an OVN addresses string ("MAC IP IP6 ..."). */
static void addresses_v4(const char *text, GHashTable *into)
{
    g_auto(GStrv) words = g_strsplit(text, " ", -1);
    for (gsize i = 0; words[i]; i++) {
        uint32_t address;
        if (cn_v4_parse(words[i], &address))
            g_hash_table_add(into, GUINT_TO_POINTER(address));
    }
}

/* The port's own address: the first IPv4 of its one addresses entry
 * ("MAC IP [SECONDARY...]"), 0: none. */
static uint32_t first_v4(GPtrArray *addresses)
{
    if (addresses->len != 1)
        return 0;
    g_auto(GStrv) words = g_strsplit(addresses->pdata[0], " ", -1);
    uint32_t address = 0;
    for (gsize i = 0; words[i] && !address; i++)
        if (!cn_v4_parse(words[i], &address))
            address = 0;
    return address;
}

uint32_t cn_ovn_port_address(const CnNbPort *port)
{
    return first_v4(port->addresses);
}

static gboolean in_pool(const CnNetwork *net, uint32_t address)
{
    return net->has_v4_pool && address >= net->v4_pool.first && address <= net->v4_pool.last;
}

static char *link_label(const CnLink *link)
{
    return g_strdup_printf("%s %s", link->machine_name, link->iface);
}

/* Gives every link its address: static ones as defined; pool ones the
 * address their port already has in the database when it is still theirs
 * alone, else the lowest free.  Free: not the gateway, not defined for a
 * link, not on any other port of the switch (carthage-net's or not). */
static gboolean assign_addresses(NetPlan *np, GError **error)
{
    const CnNetwork *net = np->net;
    g_autoptr(GHashTable) taken = g_hash_table_new(NULL, NULL);
    g_autoptr(GHashTable) ours = g_hash_table_new(g_str_hash, g_str_equal);
    g_hash_table_add(taken, GUINT_TO_POINTER(net->v4_gateway));
    for (guint i = 0; i < np->ports->len; i++) {
        WantPort *want = &g_array_index(np->ports, WantPort, i);
        g_hash_table_add(ours, want->name);
        if (want->link->v4_source == CN_V4_STATIC) {
            want->address = want->link->v4_address;
            g_hash_table_add(taken, GUINT_TO_POINTER(want->address));
        }
        for (guint j = 0; j < want->link->v4_secondary->len; j++)
            g_hash_table_add(taken, GUINT_TO_POINTER(g_array_index(want->link->v4_secondary, CnSecondaryAddress,
                                                                   j).private_address));
    }
    /* Ports of the switch that are not the definitions' keep theirs:
     * someone else's, or carthage-net's on their way out (removed in this
     * same transaction, but a guest may still hold the lease). */
    if (np->ls) {
        for (guint i = 0; i < np->ls->ports->len; i++) {
            const CnNbPort *port = g_hash_table_lookup(np->nb->port_by_uuid, np->ls->ports->pdata[i]);
            if (port && !g_hash_table_contains(ours, port->name))
                for (guint j = 0; j < port->addresses->len; j++)
                    addresses_v4(port->addresses->pdata[j], taken);
        }
    }
    /* Pool links keep their address when it is theirs alone. */
    for (guint i = 0; i < np->ports->len; i++) {
        WantPort *want = &g_array_index(np->ports, WantPort, i);
        if (want->link->v4_source != CN_V4_POOL || !want->existing)
            continue;
        uint32_t have = first_v4(want->existing->addresses);
        if (in_pool(net, have) && !g_hash_table_contains(taken, GUINT_TO_POINTER(have))) {
            want->address = have;
            g_hash_table_add(taken, GUINT_TO_POINTER(have));
        }
    }
    uint32_t next = net->v4_pool.first;
    for (guint i = 0; i < np->ports->len; i++) {
        WantPort *want = &g_array_index(np->ports, WantPort, i);
        if (want->link->v4_source != CN_V4_POOL || want->address)
            continue;
        while (next <= net->v4_pool.last && g_hash_table_contains(taken, GUINT_TO_POINTER(next)))
            next++;
        if (next > net->v4_pool.last || next < net->v4_pool.first) {
            g_autofree char *first = cn_v4_str(net->v4_pool.first);
            g_autofree char *last = cn_v4_str(net->v4_pool.last);
            g_set_error(error, CN_OPS_ERROR, CN_OPS_ERROR_BUSY,
                        "network %s: v4.pool %s-%s is exhausted: no address left for [link %s]", net->name, first,
                        last, want->label);
            return FALSE;
        }
        want->address = next;
        g_hash_table_add(taken, GUINT_TO_POINTER(next));
        g_autofree char *text = cn_v4_str(next);
        g_ptr_array_add(np->notes, g_strdup_printf("network %s: ovn: port %s: %s from v4.pool", net->name,
                                                   want->label, text));
    }
    return TRUE;
}

static void want_port_clear(gpointer data)
{
    WantPort *want = data;
    g_clear_pointer(&want->ref, json_node_unref);
    g_free(want->label);
    g_free(want->address_text);
}

static void collect_ports(NetPlan *np)
{
    for (guint i = 0; i < np->net->links->len; i++) {
        const CnLink *link = np->net->links->pdata[i];
        WantPort want = { .link = link, .label = link_label(link) };
        cn_ovn_port_name(link->machine_name, link->iface, want.name);
        want.existing = g_hash_table_lookup(np->nb->port_by_name, want.name);
        g_array_append_val(np->ports, want);
    }
}

static GHashTable *port_external_ids(const CnLink *link)
{
    GHashTable *ids = cn_ovn_string_map_new();
    cn_ovn_map_set(ids, CN_OVN_KEY_NETWORK, link->net->name);
    cn_ovn_map_set(ids, CN_OVN_KEY_MACHINE, link->machine_name);
    cn_ovn_map_set(ids, CN_OVN_KEY_IFACE, link->iface);
    return ids;
}

GHashTable *cn_ovn_network_external_ids(const CnNetwork *net)
{
    GHashTable *ids = cn_ovn_string_map_new();
    cn_ovn_map_set(ids, CN_OVN_KEY_NETWORK, net->name);
    return ids;
}

char *cn_ovn_named(const char *kind, guint network, guint item)
{
    return g_strdup_printf("%s_%u_%u", kind, network, item);
}

/* The DHCP options OVN answers with on NET. */
static GHashTable *dhcp_options(const CnNetwork *net)
{
    GHashTable *options = cn_ovn_string_map_new();
    char gateway[CN_V4_STR_MAX], mac[CN_MAC_STR_MAX];
    uint8_t server_mac[6];
    cn_v4_format(net->v4_gateway, gateway);
    cn_ovn_dhcp_server_mac(net->name, server_mac);
    cn_mac_format(server_mac, mac);
    cn_ovn_map_set(options, "lease_time", "3600");
    cn_ovn_map_set(options, "router", gateway);
    cn_ovn_map_set(options, "server_id", gateway);
    cn_ovn_map_set(options, "server_mac", mac);
    /* Without servers of its own the network's names are OVN's to answer
     * (it answers queries for its records whatever their destination). */
    if (net->v4_dns_servers->len == 0) {
        cn_ovn_map_set(options, "dns_server", gateway);
    } else {
        GString *servers = g_string_new(net->v4_dns_servers->len > 1 ? "{" : "");
        for (guint i = 0; i < net->v4_dns_servers->len; i++) {
            char server[CN_V4_STR_MAX];
            cn_v4_format(g_array_index(net->v4_dns_servers, uint32_t, i), server);
            g_string_append_printf(servers, "%s%s", i ? ", " : "", server);
        }
        if (net->v4_dns_servers->len > 1)
            g_string_append_c(servers, '}');
        cn_ovn_map_set(options, "dns_server", servers->str);
        g_string_free(servers, TRUE);
    }
    if (net->v4_domain) {
        g_autofree char *quoted = g_strdup_printf("\"%s\"", net->v4_domain);
        cn_ovn_map_set(options, "domain_name", quoted);
    }
    if (net->mtu) {
        g_autofree char *mtu = g_strdup_printf("%u", net->mtu);
        cn_ovn_map_set(options, "mtu", mtu);
    }
    /* Option 121: the metadata address on-link (the metadata localport on
     * the guest's own chassis answers for it), and with it the default
     * route, which clients given option 121 take from there alone. */
    if (net->metadata) {
        char metadata[CN_V4_STR_MAX];
        cn_v4_format(net->metadata_address, metadata);
        g_autofree char *routes = g_strdup_printf("{%s/32,0.0.0.0, 0.0.0.0/0,%s}", metadata, gateway);
        cn_ovn_map_set(options, "classless_static_route", routes);
    }
    return options;
}

static char *cidr_text(const CnNetwork *net)
{
    char network[CN_V4_STR_MAX];
    cn_v4_format(net->v4_subnet.network, network);
    return g_strdup_printf("%s/%u", network, net->v4_subnet.prefix);
}

static void plan_dhcp(NetPlan *np)
{
    const CnNetwork *net = np->net;
    const CnNbDhcp *have = cn_nb_find_dhcp(np->nb, net->name);
    if (!net->v4_dhcp || !net->has_v4) {
        if (have) {
            cn_ovn_add_change(np->changes, net->name, "dhcp options", CN_OVN_EXTRA, NULL);
            g_ptr_array_add(np->ops, cn_ovsdb_op_delete("DHCP_Options", have->uuid));
        }
        return;
    }
    g_autoptr(GHashTable) options = dhcp_options(net);
    g_autofree char *cidr = cidr_text(net);
    if (have && strcmp(have->cidr, cidr) == 0 && cn_ovn_maps_equal(have->options, options)) {
        np->dhcp_ref = cn_ovsdb_uuid(have->uuid);
        return;
    }
    JsonObject *row = json_object_new();
    json_object_set_string_member(row, "cidr", cidr);
    json_object_set_member(row, "options", cn_ovsdb_string_map(options));
    if (have) {
        g_autofree char *options_diff = cn_ovn_map_difference(have->options, options);
        GString *detail = g_string_new(NULL);
        if (strcmp(have->cidr, cidr) != 0)
            g_string_append_printf(detail, "cidr %s (want %s)", have->cidr, cidr);
        if (*options_diff)
            g_string_append_printf(detail, "%soptions: %s", detail->len ? ", " : "", options_diff);
        cn_ovn_add_change(np->changes, net->name, "dhcp options", CN_OVN_CHANGED, g_string_free(detail, FALSE));
        g_ptr_array_add(np->ops, cn_ovsdb_op_update("DHCP_Options", have->uuid, row));
        np->dhcp_ref = cn_ovsdb_uuid(have->uuid);
    } else {
        g_autoptr(GHashTable) ids = cn_ovn_network_external_ids(net);
        json_object_set_member(row, "external_ids", cn_ovsdb_string_map(ids));
        g_autofree char *name = cn_ovn_named("dhcp", np->index, 0);
        cn_ovn_add_change(np->changes, net->name, "dhcp options", CN_OVN_MISSING, NULL);
        g_ptr_array_add(np->ops, cn_ovsdb_op_insert("DHCP_Options", name, row));
        np->dhcp_ref = cn_ovsdb_named_uuid(name);
    }
}

static JsonNode *dhcp_ref_copy(const NetPlan *np)
{
    return np->dhcp_ref ? json_node_copy(np->dhcp_ref) : NULL;
}

/* A port's columns as they should be. */
static JsonObject *port_row(const NetPlan *np, const WantPort *want, gboolean with_dhcp)
{
    JsonObject *row = json_object_new();
    g_autoptr(GPtrArray) addresses = g_ptr_array_new();
    g_ptr_array_add(addresses, want->address_text);
    json_object_set_member(row, "addresses", cn_ovsdb_string_set(addresses));
    json_object_set_member(row, "port_security", cn_ovsdb_string_set(addresses));
    g_autoptr(GPtrArray) dhcp = g_ptr_array_new();
    if (with_dhcp && np->dhcp_ref)
        g_ptr_array_add(dhcp, dhcp_ref_copy(np));
    json_object_set_member(row, "dhcpv4_options", cn_ovsdb_set(dhcp));
    g_autoptr(GHashTable) ids = port_external_ids(want->link);
    if (want->existing) {
        /* Keys of others on the row are kept. */
        g_autoptr(GHashTable) merged = map_copy(want->existing->external_ids);
        GHashTableIter iter;
        gpointer key, value;
        g_hash_table_iter_init(&iter, ids);
        while (g_hash_table_iter_next(&iter, &key, &value))
            cn_ovn_map_set(merged, key, value);
        json_object_set_member(row, "external_ids", cn_ovsdb_string_map(merged));
    } else {
        json_object_set_member(row, "external_ids", cn_ovsdb_string_map(ids));
    }
    return row;
}

gboolean cn_ovn_strings_equal_one(GPtrArray *have, const char *want)
{
    return have->len == 1 && strcmp(have->pdata[0], want) == 0;
}

char *cn_ovn_strings_text(GPtrArray *strings)
{
    GString *text = g_string_new("[");
    for (guint i = 0; i < strings->len; i++)
        g_string_append_printf(text, "%s\"%s\"", i ? ", " : "", (char *)strings->pdata[i]);
    g_string_append_c(text, ']');
    return g_string_free(text, FALSE);
}

/* What differs between an existing port and WANT; NULL: nothing. */
static char *port_difference(const NetPlan *np, const WantPort *want, gboolean with_dhcp)
{
    const CnNbPort *have = want->existing;
    GString *diff = g_string_new(NULL);
    if (!cn_ovn_strings_equal_one(have->addresses, want->address_text)) {
        g_autofree char *text = cn_ovn_strings_text(have->addresses);
        g_string_append_printf(diff, "addresses %s (want [\"%s\"])", text, want->address_text);
    }
    if (!cn_ovn_strings_equal_one(have->port_security, want->address_text)) {
        g_autofree char *text = cn_ovn_strings_text(have->port_security);
        g_string_append_printf(diff, "%sport_security %s (want [\"%s\"])", diff->len ? ", " : "", text,
                               want->address_text);
    }
    const char *want_dhcp = NULL;
    gboolean dhcp_named = FALSE;
    if (with_dhcp && np->dhcp_ref) {
        JsonArray *ref = json_node_get_array(np->dhcp_ref);
        dhcp_named = strcmp(json_array_get_string_element(ref, 0), "named-uuid") == 0;
        want_dhcp = json_array_get_string_element(ref, 1);
    }
    if (dhcp_named || g_strcmp0(have->dhcpv4_options, want_dhcp) != 0)
        g_string_append_printf(diff, "%sdhcpv4_options %s (want %s)", diff->len ? ", " : "",
                               have->dhcpv4_options ? have->dhcpv4_options : "none",
                               dhcp_named ? "the new DHCP options" : want_dhcp ? want_dhcp : "none");
    g_autoptr(GHashTable) ids = port_external_ids(want->link);
    if (!cn_ovn_map_has(have->external_ids, ids)) {
        g_autofree char *text = map_text(have->external_ids);
        g_string_append_printf(diff, "%sexternal_ids %s", diff->len ? ", " : "", text);
    }
    if (strcmp(have->type, "") != 0)
        g_string_append_printf(diff, "%stype \"%s\" (want \"\")", diff->len ? ", " : "", have->type);
    if (np->ls && have->owner != np->ls)
        g_string_append_printf(diff, "%son switch %s", diff->len ? ", " : "",
                               have->owner ? have->owner->name : "(none)");
    if (!np->ls && have->owner)
        g_string_append_printf(diff, "%son switch %s", diff->len ? ", " : "", have->owner->name);
    if (diff->len == 0) {
        g_string_free(diff, TRUE);
        return NULL;
    }
    return g_string_free(diff, FALSE);
}

static char *service_port_name(const CnNetwork *net)
{
    return g_strdup_printf("carthage-net-%s", net->name);
}

gboolean cn_ovn_plan_own_port(NetPlan *np, const CnNbSwitch *ls, const char *name, const char *object,
                              const char *type, const char *address, GHashTable *options, GPtrArray *ports_in,
                              const char *uuid_kind, GError **error)
{
    const CnNetwork *net = np->net;
    const CnNbPort *have = g_hash_table_lookup(np->nb->port_by_name, name);
    const char *owner = have ? cn_nb_owner_network(have->external_ids) : NULL;
    if (have && g_strcmp0(owner, net->name) != 0) {
        /* Someone else's, or another network's (network "lab-router"'s
         * own port is named like "lab"'s router port). */
        g_autofree char *whose = owner ? g_strdup_printf("network %s's", owner) : g_strdup("not carthage-net's");
        g_set_error(error, CN_OPS_ERROR, CN_OPS_ERROR_INVALID,
                    "network %s: the northbound database has a logical switch port %s (%s) that is %s; rename "
                    "the network or that port", net->name, name, have->uuid, whose);
        return FALSE;
    }
    g_autoptr(GHashTable) ids = cn_ovn_network_external_ids(net);
    gboolean same_owner = have && (ls ? have->owner == ls : FALSE);
    if (same_owner && strcmp(have->type, type) == 0 && cn_ovn_strings_equal_one(have->addresses, address) &&
        have->port_security->len == 0 && cn_ovn_map_has(have->external_ids, ids) &&
        (!options || cn_ovn_maps_equal(have->options, options)))
        return TRUE;
    JsonObject *row = json_object_new();
    json_object_set_string_member(row, "type", type);
    g_autoptr(GPtrArray) addresses = g_ptr_array_new();
    g_ptr_array_add(addresses, (char *)address);
    json_object_set_member(row, "addresses", cn_ovsdb_string_set(addresses));
    json_object_set_member(row, "port_security", cn_ovsdb_string_set(NULL));
    if (options)
        json_object_set_member(row, "options", cn_ovsdb_string_map(options));
    json_object_set_member(row, "external_ids", cn_ovsdb_string_map(ids));
    if (!have) {
        g_autofree char *uuid_name = cn_ovn_named(uuid_kind, np->index, 0);
        json_object_set_string_member(row, "name", name);
        cn_ovn_add_change(np->changes, net->name, object, CN_OVN_MISSING, NULL);
        g_ptr_array_add(np->ops, cn_ovsdb_op_insert("Logical_Switch_Port", uuid_name, row));
        g_ptr_array_add(ports_in, cn_ovsdb_named_uuid(uuid_name));
        return TRUE;
    }
    g_autofree char *was = cn_ovn_strings_text(have->addresses);
    GString *detail = g_string_new(NULL);
    g_string_append_printf(detail, "type \"%s\", addresses %s (want %s, [\"%s\"])", have->type, was, type, address);
    if (options && !cn_ovn_maps_equal(have->options, options)) {
        g_autofree char *diff = cn_ovn_map_difference(have->options, options);
        g_string_append_printf(detail, ", options: %s", diff);
    }
    cn_ovn_add_change(np->changes, net->name, object, CN_OVN_CHANGED, g_string_free(detail, FALSE));
    g_ptr_array_add(np->ops, cn_ovsdb_op_update("Logical_Switch_Port", have->uuid, row));
    if (!same_owner) {
        if (have->owner)
            g_ptr_array_add(np->ops, cn_ovn_op_list_delete("Logical_Switch", have->owner->uuid, "ports", have->uuid));
        g_ptr_array_add(ports_in, cn_ovsdb_uuid(have->uuid));
    }
    return TRUE;
}

JsonNode *cn_ovn_op_list_delete(const char *table, const char *uuid, const char *column, const char *member_uuid)
{
    g_autoptr(GPtrArray) out = g_ptr_array_new();
    g_ptr_array_add(out, cn_ovsdb_uuid(member_uuid));
    return cn_ovsdb_op_mutate(table, uuid, column, "delete", cn_ovsdb_set(out));
}

/* metadata = true: the localport each chassis binds its end of the
 * metadata service to. */
gboolean cn_ovn_plan_metadata_port(NetPlan *np, GError **error)
{
    const CnNetwork *net = np->net;
    g_autofree char *name = cn_ovn_metadata_port_name(net->name);
    g_autofree char *object = g_strdup_printf("port %s (metadata)", name);
    const CnNbPort *have = g_hash_table_lookup(np->nb->port_by_name, name);
    if (!net->metadata || !net->has_v4) {
        if (have && np->ls && have->owner == np->ls &&
            g_strcmp0(cn_nb_owner_network(have->external_ids), net->name) == 0) {
            cn_ovn_add_change(np->changes, net->name, object, CN_OVN_EXTRA, NULL);
            g_ptr_array_add(np->ports_out, cn_ovsdb_uuid(have->uuid));
        }
        return TRUE;
    }
    char mac[CN_MAC_STR_MAX], metadata[CN_V4_STR_MAX];
    uint8_t metadata_mac[6];
    cn_ovn_metadata_mac(net->name, metadata_mac);
    cn_mac_format(metadata_mac, mac);
    cn_v4_format(net->metadata_address, metadata);
    g_autofree char *address = g_strdup_printf("%s %s", mac, metadata);
    return cn_ovn_plan_own_port(np, np->ls, name, object, "localport", address, NULL, np->ports_in, "metadata",
                                error);
}

char *cn_ovn_metadata_port_name(const char *network)
{
    return g_strdup_printf("carthage-net-%s-metadata", network);
}

/* The network's own port: a localport with the DHCP server's MAC and the
 * gateway address, so that OVN answers ARP for the address guests send
 * DNS queries to (OVN answers the queries themselves on the switch).
 * Only on networks where OVN serves DHCP and no logical router holds the
 * gateway address. */
static gboolean plan_service_port(NetPlan *np, GError **error)
{
    const CnNetwork *net = np->net;
    g_autofree char *name = service_port_name(net);
    const CnNbPort *have = g_hash_table_lookup(np->nb->port_by_name, name);
    gboolean want = net->has_v4 && net->v4_dhcp && !cn_network_has_ovn_router(net);
    g_autofree char *object = g_strdup_printf("port %s (DHCP and DNS)", name);
    if (!want) {
        if (have && have->owner == np->ls && np->ls &&
            g_strcmp0(cn_nb_owner_network(have->external_ids), net->name) == 0) {
            cn_ovn_add_change(np->changes, net->name, object, CN_OVN_EXTRA, NULL);
            g_ptr_array_add(np->ports_out, cn_ovsdb_uuid(have->uuid));
        }
        return TRUE;
    }
    char mac[CN_MAC_STR_MAX], gateway[CN_V4_STR_MAX];
    uint8_t server_mac[6];
    cn_ovn_dhcp_server_mac(net->name, server_mac);
    cn_mac_format(server_mac, mac);
    cn_v4_format(net->v4_gateway, gateway);
    g_autofree char *address = g_strdup_printf("%s %s", mac, gateway);
    return cn_ovn_plan_own_port(np, np->ls, name, object, "localport", address, NULL, np->ports_in, "service",
                                error);
}

static void plan_ports(NetPlan *np)
{
    const CnNetwork *net = np->net;
    for (guint i = 0; i < np->ports->len; i++) {
        WantPort *want = &g_array_index(np->ports, WantPort, i);
        char mac[CN_MAC_STR_MAX];
        cn_mac_format(want->link->mac, mac);
        if (want->address) {
            /* "MAC IP [SECONDARY...]": port security lets the guest send
             * from each, OVN answers ARP for each. */
            GString *text = g_string_new(mac);
            char address[CN_V4_STR_MAX];
            cn_v4_format(want->address, address);
            g_string_append_printf(text, " %s", address);
            for (guint j = 0; j < want->link->v4_secondary->len; j++) {
                cn_v4_format(g_array_index(want->link->v4_secondary, CnSecondaryAddress, j).private_address, address);
                g_string_append_printf(text, " %s", address);
            }
            want->address_text = g_string_free(text, FALSE);
        } else {
            want->address_text = g_strdup(mac);
        }
        gboolean with_dhcp = want->address != 0;
        g_autofree char *object = g_strdup_printf("port %s", want->label);
        if (!want->existing) {
            g_autofree char *name = cn_ovn_named("port", np->index, i);
            JsonObject *row = port_row(np, want, with_dhcp);
            json_object_set_string_member(row, "name", want->name);
            cn_ovn_add_change(np->changes, net->name, object, CN_OVN_MISSING, NULL);
            g_ptr_array_add(np->ops, cn_ovsdb_op_insert("Logical_Switch_Port", name, row));
            g_ptr_array_add(np->ports_in, cn_ovsdb_named_uuid(name));
            want->ref = cn_ovsdb_named_uuid(name);
            continue;
        }
        want->ref = cn_ovsdb_uuid(want->existing->uuid);
        char *diff = port_difference(np, want, with_dhcp);
        if (!diff)
            continue;
        cn_ovn_add_change(np->changes, net->name, object, CN_OVN_CHANGED, diff);
        g_ptr_array_add(np->ops, cn_ovsdb_op_update("Logical_Switch_Port", want->existing->uuid,
                                                    port_row(np, want, with_dhcp)));
        const CnNbSwitch *owner = want->existing->owner;
        if (owner != np->ls) {
            /* Moved from another switch (the link changed network), or
             * listed by none: the row is kept, its reference moves. */
            if (owner) {
                g_autoptr(GPtrArray) out = g_ptr_array_new();
                g_ptr_array_add(out, cn_ovsdb_uuid(want->existing->uuid));
                g_ptr_array_add(np->ops, cn_ovsdb_op_mutate("Logical_Switch", owner->uuid, "ports", "delete",
                                                            cn_ovsdb_set(out)));
            }
            g_ptr_array_add(np->ports_in, cn_ovsdb_uuid(want->existing->uuid));
        }
    }
    if (!np->ls)
        return;
    /* carthage-net's ports of this network that the definitions no longer
     * have: removed (the definitions are the whole site's). */
    g_autoptr(GHashTable) wanted = g_hash_table_new(g_str_hash, g_str_equal);
    g_autofree char *service = service_port_name(net);
    g_autofree char *router_port = cn_ovn_router_port_name(net->name);
    g_autofree char *metadata_port = cn_ovn_metadata_port_name(net->name);
    g_hash_table_add(wanted, service);
    g_hash_table_add(wanted, router_port);
    g_hash_table_add(wanted, metadata_port);
    for (guint i = 0; i < np->ports->len; i++)
        g_hash_table_add(wanted, g_array_index(np->ports, WantPort, i).name);
    for (guint i = 0; i < np->ls->ports->len; i++) {
        const CnNbPort *port = g_hash_table_lookup(np->nb->port_by_uuid, np->ls->ports->pdata[i]);
        if (!port || g_strcmp0(cn_nb_owner_network(port->external_ids), net->name) != 0 ||
            g_hash_table_contains(wanted, port->name))
            continue;
        g_autofree char *object = g_strdup_printf("port %s %s (%s)",
                                                  (char *)g_hash_table_lookup(port->external_ids, CN_OVN_KEY_MACHINE) ?: "?",
                                                  (char *)g_hash_table_lookup(port->external_ids, CN_OVN_KEY_IFACE) ?: "?",
                                                  port->name);
        cn_ovn_add_change(np->changes, net->name, object, CN_OVN_EXTRA, NULL);
        g_ptr_array_add(np->ports_out, cn_ovsdb_uuid(port->uuid));
    }
}

/* The switch's DNS records: one row of carthage-net's per switch. */
static void plan_dns(NetPlan *np, GPtrArray *dns_in, GPtrArray *dns_out)
{
    const CnNetwork *net = np->net;
    g_autoptr(GHashTable) records = cn_ovn_string_map_new();
    for (guint i = 0; i < np->ports->len; i++) {
        const WantPort *want = &g_array_index(np->ports, WantPort, i);
        if (!want->link->dns_name || !want->address)
            continue;
        g_autofree char *name = g_ascii_strdown(want->link->dns_name, -1);
        g_autofree char *address = cn_v4_str(want->address);
        cn_ovn_map_set(records, name, address);
    }
    if (net->metadata) {
        g_autofree char *address = cn_v4_str(net->metadata_address);
        g_autofree char *name = g_ascii_strdown(net->metadata_hostname, -1);
        cn_ovn_map_set(records, name, address);
        if (net->v4_domain) {
            g_autofree char *full = g_strdup_printf("%s.%s", name, net->v4_domain);
            g_autofree char *lower = g_ascii_strdown(full, -1);
            cn_ovn_map_set(records, lower, address);
        }
    }
    const CnNbDns *have = np->ls ? cn_nb_switch_dns(np->nb, np->ls) : NULL;
    if (g_hash_table_size(records) == 0) {
        if (have) {
            cn_ovn_add_change(np->changes, net->name, "dns records", CN_OVN_EXTRA, NULL);
            g_ptr_array_add(dns_out, cn_ovsdb_uuid(have->uuid));
        }
        return;
    }
    if (have && cn_ovn_maps_equal(have->records, records))
        return;
    JsonObject *row = json_object_new();
    json_object_set_member(row, "records", cn_ovsdb_string_map(records));
    if (have) {
        cn_ovn_add_change(np->changes, net->name, "dns records", CN_OVN_CHANGED, cn_ovn_map_difference(have->records, records));
        g_ptr_array_add(np->ops, cn_ovsdb_op_update("DNS", have->uuid, row));
        return;
    }
    g_autoptr(GHashTable) ids = cn_ovn_network_external_ids(net);
    json_object_set_member(row, "external_ids", cn_ovsdb_string_map(ids));
    g_autofree char *name = cn_ovn_named("dns", np->index, 0);
    cn_ovn_add_change(np->changes, net->name, "dns records", CN_OVN_MISSING, NULL);
    g_ptr_array_add(np->ops, cn_ovsdb_op_insert("DNS", name, row));
    g_ptr_array_add(dns_in, cn_ovsdb_named_uuid(name));
}

static guint64 switch_version(const CnNbSwitch *ls)
{
    const char *text = g_hash_table_lookup(ls->external_ids, CN_OVN_KEY_VERSION);
    return text ? g_ascii_strtoull(text, NULL, 10) : 0;
}

/* The switch itself: made with everything, or changed where it differs,
 * its version bumped whenever anything of the network changes. */
static void plan_switch(NetPlan *np, GPtrArray *dns_in, GPtrArray *dns_out, GPtrArray *out)
{
    const CnNetwork *net = np->net;
    if (!np->ls) {
        g_autofree char *name = cn_ovn_named("switch", np->index, 0);
        JsonObject *row = json_object_new();
        json_object_set_string_member(row, "name", net->name);
        json_object_set_member(row, "ports", cn_ovsdb_set(np->ports_in));
        json_object_set_member(row, "dns_records", cn_ovsdb_set(dns_in));
        g_autoptr(GHashTable) ids = cn_ovn_network_external_ids(net);
        cn_ovn_map_set(ids, CN_OVN_KEY_VERSION, "1");
        json_object_set_member(row, "external_ids", cn_ovsdb_string_map(ids));
        cn_ovn_add_change(np->changes, net->name, "switch", CN_OVN_MISSING, NULL);
        g_ptr_array_add(out, cn_ovsdb_op_wait_no_name("Logical_Switch", net->name));
        g_ptr_array_extend_and_steal(out, g_steal_pointer(&np->ops));
        g_ptr_array_add(out, cn_ovsdb_op_insert("Logical_Switch", name, row));
        np->ops = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
        return;
    }
    const char *uuid = np->ls->uuid;
    if (np->ports_in->len)
        g_ptr_array_add(np->ops, cn_ovsdb_op_mutate("Logical_Switch", uuid, "ports", "insert",
                                                    cn_ovsdb_set(np->ports_in)));
    if (np->ports_out->len)
        g_ptr_array_add(np->ops, cn_ovsdb_op_mutate("Logical_Switch", uuid, "ports", "delete",
                                                    cn_ovsdb_set(np->ports_out)));
    if (dns_in->len)
        g_ptr_array_add(np->ops, cn_ovsdb_op_mutate("Logical_Switch", uuid, "dns_records", "insert",
                                                    cn_ovsdb_set(dns_in)));
    if (dns_out->len)
        g_ptr_array_add(np->ops, cn_ovsdb_op_mutate("Logical_Switch", uuid, "dns_records", "delete",
                                                    cn_ovsdb_set(dns_out)));
    if (np->ops->len == 0)
        return;
    /* As read, or another host changed the network since: plan again. */
    g_ptr_array_add(out, cn_ovsdb_op_wait_column("Logical_Switch", uuid, "external_ids",
                                                 cn_ovsdb_string_map(np->ls->external_ids)));
    g_ptr_array_extend_and_steal(out, g_steal_pointer(&np->ops));
    np->ops = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
    g_autoptr(GHashTable) ids = map_copy(np->ls->external_ids);
    g_autofree char *version = g_strdup_printf("%" G_GUINT64_FORMAT, switch_version(np->ls) + 1);
    cn_ovn_map_set(ids, CN_OVN_KEY_VERSION, version);
    JsonObject *row = json_object_new();
    json_object_set_member(row, "external_ids", cn_ovsdb_string_map(ids));
    g_ptr_array_add(out, cn_ovsdb_op_update("Logical_Switch", uuid, row));
}

static gboolean plan_network(const CnNetwork *net, guint index, const CnNbSnapshot *nb, CnOvnPlan *plan,
                             GError **error)
{
    NetPlan np = {
        .net = net, .nb = nb, .index = index, .ls = cn_nb_find_switch(nb, net->name),
        .ops = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref),
        .changes = plan->changes, .notes = plan->notes,
        .ports = g_array_new(FALSE, TRUE, sizeof(WantPort)),
        .ports_in = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref),
        .ports_out = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref),
    };
    g_array_set_clear_func(np.ports, want_port_clear);
    g_autoptr(GPtrArray) dns_in = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
    g_autoptr(GPtrArray) dns_out = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
    gboolean ok = FALSE;

    if (np.ls && g_strcmp0(cn_nb_owner_network(np.ls->external_ids), net->name) != 0) {
        g_set_error(error, CN_OPS_ERROR, CN_OPS_ERROR_INVALID,
                    "network %s: the northbound database has a logical switch %s (%s) that is not carthage-net's "
                    "(no external_ids:%s=%s); rename the network or that switch", net->name, net->name,
                    np.ls->uuid, CN_OVN_KEY_NETWORK, net->name);
        goto out;
    }
    collect_ports(&np);
    if (net->has_v4 && !assign_addresses(&np, error))
        goto out;
    plan_dhcp(&np);
    plan_ports(&np);
    if (!plan_service_port(&np, error) || !cn_ovn_plan_metadata_port(&np, error) ||
        !cn_ovn_plan_router(&np, error) || !cn_ovn_plan_port_group(&np, error))
        goto out;
    plan_dns(&np, dns_in, dns_out);
    plan_switch(&np, dns_in, dns_out, plan->ops);
    ok = TRUE;
out:
    g_ptr_array_unref(np.ops);
    g_array_unref(np.ports);
    g_ptr_array_unref(np.ports_in);
    g_ptr_array_unref(np.ports_out);
    g_clear_pointer(&np.dhcp_ref, json_node_unref);
    return ok;
}

static void add_comment(CnOvnPlan *plan, const char *comment)
{
    if (plan->ops->len && comment)
        g_ptr_array_insert(plan->ops, 0, cn_ovsdb_op_comment(comment));
}

CnOvnPlan *cn_ovn_plan_networks(GPtrArray *networks, const CnNbSnapshot *nb, const char *comment, GError **error)
{
    g_autoptr(CnOvnPlan) plan = plan_new();
    for (guint i = 0; i < networks->len; i++)
        if (!plan_network(networks->pdata[i], i, nb, plan, error))
            return NULL;
    add_comment(plan, comment);
    return g_steal_pointer(&plan);
}

CnOvnPlan *cn_ovn_plan_removal(const char *name, const CnNbSnapshot *nb, const char *comment, GError **error)
{
    g_autoptr(CnOvnPlan) plan = plan_new();
    const CnNbSwitch *ls = cn_nb_find_switch(nb, name);
    if (ls && g_strcmp0(cn_nb_owner_network(ls->external_ids), name) != 0) {
        g_set_error(error, CN_OPS_ERROR, CN_OPS_ERROR_INVALID,
                    "network %s: the logical switch %s (%s) is not carthage-net's; not removed", name, name, ls->uuid);
        return NULL;
    }
    if (ls) {
        g_ptr_array_add(plan->ops, cn_ovsdb_op_wait_column("Logical_Switch", ls->uuid, "external_ids",
                                                           cn_ovsdb_string_map(ls->external_ids)));
        g_ptr_array_add(plan->ops, cn_ovsdb_op_delete("Logical_Switch", ls->uuid));
        cn_ovn_add_change(plan->changes, name, "switch", CN_OVN_EXTRA, NULL);
    } else {
        /* Without its switch, the rest is removed only if no define made
         * the network in between. */
        g_ptr_array_add(plan->ops, cn_ovsdb_op_wait_no_name("Logical_Switch", name));
    }
    for (guint i = 0; i < nb->dhcp->len; i++) {
        const CnNbDhcp *dhcp = nb->dhcp->pdata[i];
        if (g_strcmp0(cn_nb_owner_network(dhcp->external_ids), name) != 0)
            continue;
        g_ptr_array_add(plan->ops, cn_ovsdb_op_delete("DHCP_Options", dhcp->uuid));
        cn_ovn_add_change(plan->changes, name, "dhcp options", CN_OVN_EXTRA, NULL);
    }
    /* DNS rows are roots: the switch only refers to them. */
    for (guint i = 0; i < nb->dns->len; i++) {
        const CnNbDns *dns = nb->dns->pdata[i];
        if (g_strcmp0(cn_nb_owner_network(dns->external_ids), name) != 0)
            continue;
        g_ptr_array_add(plan->ops, cn_ovsdb_op_delete("DNS", dns->uuid));
        cn_ovn_add_change(plan->changes, name, "dns records", CN_OVN_EXTRA, NULL);
    }
    /* The router, its uplink switch and the port group: carthage-net's
     * rows of the network by the names it gives them. */
    g_autofree char *router_name = cn_ovn_router_name(name);
    g_autofree char *uplink_name = cn_ovn_uplink_switch_name(name);
    g_autofree char *group_name = cn_ovn_port_group_name(name);
    const CnNbRouter *router = cn_nb_find_router(nb, router_name);
    const CnNbSwitch *uplink = cn_nb_find_switch(nb, uplink_name);
    const CnNbPortGroup *group = cn_nb_find_port_group(nb, group_name);
    if (router && g_strcmp0(cn_nb_owner_network(router->external_ids), name) == 0) {
        g_ptr_array_add(plan->ops, cn_ovsdb_op_delete("Logical_Router", router->uuid));
        g_autofree char *object = g_strdup_printf("router %s", router_name);
        cn_ovn_add_change(plan->changes, name, object, CN_OVN_EXTRA, NULL);
    }
    if (uplink && g_strcmp0(cn_nb_owner_network(uplink->external_ids), name) == 0) {
        g_ptr_array_add(plan->ops, cn_ovsdb_op_delete("Logical_Switch", uplink->uuid));
        g_autofree char *object = g_strdup_printf("switch %s (uplink)", uplink_name);
        cn_ovn_add_change(plan->changes, name, object, CN_OVN_EXTRA, NULL);
    }
    if (group && g_strcmp0(cn_nb_owner_network(group->external_ids), name) == 0) {
        g_ptr_array_add(plan->ops, cn_ovsdb_op_delete("Port_Group", group->uuid));
        g_autofree char *object = g_strdup_printf("port group %s", group_name);
        cn_ovn_add_change(plan->changes, name, object, CN_OVN_EXTRA, NULL);
    }
    /* Nothing of the network's: nothing to send, not even the wait. */
    if (plan->changes->len == 0)
        g_ptr_array_set_size(plan->ops, 0);
    add_comment(plan, comment);
    return g_steal_pointer(&plan);
}

/* A root row of carthage-net's (or a port of its on someone else's
 * switch): deleted, and named in the changes. */
static void purge_row(CnOvnPlan *plan, const char *table, const char *uuid, GHashTable *external_ids,
                      const char *what)
{
    const char *network = cn_nb_owner_network(external_ids);
    if (!network)
        return;
    g_autofree char *object = g_strdup_printf("%s (%s)", what, uuid);
    cn_ovn_add_change(plan->changes, network, object, CN_OVN_EXTRA, NULL);
    g_ptr_array_add(plan->ops, cn_ovsdb_op_delete(table, uuid));
}

CnOvnPlan *cn_ovn_plan_purge(const CnNbSnapshot *nb, const char *comment)
{
    g_autoptr(CnOvnPlan) plan = plan_new();
    /* Root rows: switches (their ports go with them), routers (their
     * ports, routes, NAT and gateway chassis too), port groups (their
     * ACLs), DHCP options, DNS records. */
    for (guint i = 0; i < nb->switches->len; i++) {
        const CnNbSwitch *ls = nb->switches->pdata[i];
        g_autofree char *what = g_strdup_printf("switch %s", ls->name);
        purge_row(plan, "Logical_Switch", ls->uuid, ls->external_ids, what);
        /* Ports someone else put on it go with it: said, not hidden. */
        const char *network = cn_nb_owner_network(ls->external_ids);
        for (guint j = 0; network && j < ls->ports->len; j++) {
            const CnNbPort *port = g_hash_table_lookup(nb->port_by_uuid, ls->ports->pdata[j]);
            if (port && !cn_nb_owner_network(port->external_ids)) {
                g_autofree char *object = g_strdup_printf("port %s (not carthage-net's) with switch %s", port->name,
                                                          ls->name);
                cn_ovn_add_change(plan->changes, network, object, CN_OVN_EXTRA, NULL);
            }
        }
    }
    for (guint i = 0; i < nb->routers->len; i++) {
        const CnNbRouter *router = nb->routers->pdata[i];
        g_autofree char *what = g_strdup_printf("router %s", router->name);
        purge_row(plan, "Logical_Router", router->uuid, router->external_ids, what);
    }
    for (guint i = 0; i < nb->port_groups->len; i++) {
        const CnNbPortGroup *group = nb->port_groups->pdata[i];
        g_autofree char *what = g_strdup_printf("port group %s", group->name);
        purge_row(plan, "Port_Group", group->uuid, group->external_ids, what);
    }
    for (guint i = 0; i < nb->dhcp->len; i++) {
        const CnNbDhcp *dhcp = nb->dhcp->pdata[i];
        purge_row(plan, "DHCP_Options", dhcp->uuid, dhcp->external_ids, "dhcp options");
    }
    for (guint i = 0; i < nb->dns->len; i++) {
        const CnNbDns *dns = nb->dns->pdata[i];
        purge_row(plan, "DNS", dns->uuid, dns->external_ids, "dns records");
    }
    /* Ports of carthage-net's on switches that are not: taken off them. */
    for (guint i = 0; i < nb->ports->len; i++) {
        const CnNbPort *port = nb->ports->pdata[i];
        const char *network = cn_nb_owner_network(port->external_ids);
        if (!network || !port->owner || cn_nb_owner_network(port->owner->external_ids))
            continue;
        g_autofree char *object = g_strdup_printf("port %s on switch %s", port->name, port->owner->name);
        cn_ovn_add_change(plan->changes, network, object, CN_OVN_EXTRA, NULL);
        g_ptr_array_add(plan->ops, cn_ovn_op_list_delete("Logical_Switch", port->owner->uuid, "ports", port->uuid));
    }
    add_comment(plan, comment);
    return g_steal_pointer(&plan);
}

void cn_ovn_extra_switches(const CnSite *site, const CnNbSnapshot *nb, GPtrArray *changes)
{
    for (guint i = 0; i < nb->switches->len; i++) {
        const CnNbSwitch *ls = nb->switches->pdata[i];
        const char *network = cn_nb_owner_network(ls->external_ids);
        if (!network || strcmp(network, ls->name) != 0)
            continue;
        const CnNetwork *net = cn_site_find_network(site, network);
        if (!net || !cn_network_in_ovn(net))
            cn_ovn_add_change(changes, network, "switch", CN_OVN_EXTRA,
                       g_strdup("not in the definitions; not removed (carthage-net undefine removes it)"));
    }
}
