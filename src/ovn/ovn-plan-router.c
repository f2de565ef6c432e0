/* ovn-plan-router.c - what an OVN network has beyond its switch: the
 * logical router of forward nat or route (its two ports, the gateway
 * chassis of the uplink side, the default route, SNAT and 1:1 NAT), the
 * uplink switch with its localnet port, and the port group whose four ACLs
 * keep isolate_guests' guests apart.
 *
 *   switch NET ── port NET-router ── router port NET-lan (gateway/prefix)
 *                                     router carthage-net-NET
 *   switch carthage-net-NET-uplink ── router port NET-uplink (uplink address,
 *     + localnet port (ovn.uplink)       gateway chassis)
 *
 * Rows are compared one by one, so that status names what differs; each
 * change lands in the network's plan and so behind its switch's version
 * wait (ovn-plan.c). */
#include <string.h>

#include "netaddr.h"
#include "ops.h"
#include "ovn-plan-private.h"

char *cn_ovn_router_name(const char *network)
{
    return g_strdup_printf("carthage-net-%s", network);
}

char *cn_ovn_router_port_name(const char *network)
{
    return g_strdup_printf("carthage-net-%s-router", network);
}

char *cn_ovn_uplink_switch_name(const char *network)
{
    return g_strdup_printf("carthage-net-%s-uplink", network);
}

/* Port group names are names in OVN's match language ([A-Za-z_.][A-Za-z0-9_.]*):
 * '-' becomes '_', and a hash of the real name keeps "a-b" and "a_b" apart. */
char *cn_ovn_port_group_name(const char *network)
{
    g_autofree char *digest = g_compute_checksum_for_string(G_CHECKSUM_SHA256, network, -1);
    g_autofree char *safe = g_strdup(network);
    g_strdelimit(safe, "-", '_');
    return g_strdup_printf("carthage_net_%s_%.8s", safe, digest);
}

static char *v4_cidr(uint32_t address, unsigned prefix)
{
    char text[CN_V4_STR_MAX];
    cn_v4_format(address, text);
    return g_strdup_printf("%s/%u", text, prefix);
}

static char *mac_text(const uint8_t mac[6])
{
    char text[CN_MAC_STR_MAX];
    cn_mac_format(mac, text);
    return g_strdup(text);
}

/* Fails when a row named NAME is someone else's (no external_ids of
 * network NET): carthage-net never takes over what it did not make. */
static gboolean check_ours(const NetPlan *np, const char *what, const char *name, const char *uuid,
                           GHashTable *external_ids, GError **error)
{
    if (g_strcmp0(cn_nb_owner_network(external_ids), np->net->name) == 0)
        return TRUE;
    g_set_error(error, CN_OPS_ERROR, CN_OPS_ERROR_INVALID,
                "network %s: the northbound database has a %s %s (%s) that is not carthage-net's "
                "(no external_ids:%s=%s); rename the network or that %s", np->net->name, what, name, uuid,
                CN_OVN_KEY_NETWORK, np->net->name, what);
    return FALSE;
}

/* One router port as it should be. */
typedef struct {
    const char *name;
    char *mac, *network;
    GArray *chassis; /* char*, highest priority first; NULL: not a gateway port */
    const char *uuid_kind;
} WantRouterPort;

static const CnNbRouterPort *find_router_port(const NetPlan *np, const CnNbRouter *router, const char *name)
{
    for (guint i = 0; router && i < router->ports->len; i++) {
        const CnNbRouterPort *port = g_hash_table_lookup(np->nb->router_port_by_uuid, router->ports->pdata[i]);
        if (port && strcmp(port->name, name) == 0)
            return port;
    }
    return NULL;
}

/* "hv1:2 hv2:1": the gateway chassis as configured or wanted. */
static char *chassis_text_have(const NetPlan *np, const CnNbRouterPort *port)
{
    g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < port->gateway_chassis->len; i++) {
        const CnNbGatewayChassis *gc = g_hash_table_lookup(np->nb->gateway_chassis_by_uuid,
                                                           port->gateway_chassis->pdata[i]);
        if (gc)
            g_ptr_array_add(items, g_strdup_printf("%s:%" G_GINT64_FORMAT, gc->chassis_name, gc->priority));
    }
    g_ptr_array_sort(items, cn_compare_string_ptrs);
    g_ptr_array_add(items, NULL);
    return g_strjoinv(" ", (char **)items->pdata);
}

static gint64 chassis_priority(const WantRouterPort *want, guint i)
{
    return (gint64)(want->chassis->len - i);
}

static char *chassis_text_want(const WantRouterPort *want)
{
    g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; want->chassis && i < want->chassis->len; i++)
        g_ptr_array_add(items, g_strdup_printf("%s:%" G_GINT64_FORMAT, g_array_index(want->chassis, char *, i),
                                               chassis_priority(want, i)));
    g_ptr_array_sort(items, cn_compare_string_ptrs);
    g_ptr_array_add(items, NULL);
    return g_strjoinv(" ", (char **)items->pdata);
}

/* Inserts WANT's Gateway_Chassis rows; their references. */
static GPtrArray *insert_gateway_chassis(NetPlan *np, const WantRouterPort *want)
{
    GPtrArray *refs = g_ptr_array_new();
    for (guint i = 0; want->chassis && i < want->chassis->len; i++) {
        const char *chassis = g_array_index(want->chassis, char *, i);
        g_autofree char *uuid_name = cn_ovn_named("gateway_chassis", np->index, i);
        g_autofree char *name = g_strdup_printf("%s-%s", want->name, chassis);
        JsonObject *row = json_object_new();
        json_object_set_string_member(row, "name", name);
        json_object_set_string_member(row, "chassis_name", chassis);
        json_object_set_int_member(row, "priority", chassis_priority(want, i));
        g_ptr_array_add(np->ops, cn_ovsdb_op_insert("Gateway_Chassis", uuid_name, row));
        g_ptr_array_add(refs, cn_ovsdb_named_uuid(uuid_name));
    }
    return refs;
}

static void plan_router_port(NetPlan *np, const CnNbRouter *router, const WantRouterPort *want, GPtrArray *ports_in)
{
    const CnNetwork *net = np->net;
    const CnNbRouterPort *have = find_router_port(np, router, want->name);
    g_autofree char *object = g_strdup_printf("router port %s", want->name);
    g_autofree char *chassis_want = chassis_text_want(want);
    g_autofree char *chassis_have = have ? chassis_text_have(np, have) : NULL;
    gboolean chassis_same = have && strcmp(chassis_have, chassis_want) == 0;
    if (have && strcmp(have->mac, want->mac) == 0 && cn_ovn_strings_equal_one(have->networks, want->network) &&
        chassis_same)
        return;
    JsonObject *row = json_object_new();
    json_object_set_string_member(row, "mac", want->mac);
    g_autoptr(GPtrArray) networks = g_ptr_array_new();
    g_ptr_array_add(networks, want->network);
    json_object_set_member(row, "networks", cn_ovsdb_string_set(networks));
    if (!have || !chassis_same) {
        /* The old rows go (Gateway_Chassis names are unique). */
        for (guint i = 0; have && i < have->gateway_chassis->len; i++)
            g_ptr_array_add(np->ops, cn_ovsdb_op_delete("Gateway_Chassis", have->gateway_chassis->pdata[i]));
        g_autoptr(GPtrArray) chassis = insert_gateway_chassis(np, want);
        json_object_set_member(row, "gateway_chassis", cn_ovsdb_set(chassis));
    }
    g_autoptr(GHashTable) ids = cn_ovn_network_external_ids(net);
    json_object_set_member(row, "external_ids", cn_ovsdb_string_map(ids));
    if (!have) {
        g_autofree char *uuid_name = cn_ovn_named(want->uuid_kind, np->index, 0);
        json_object_set_string_member(row, "name", want->name);
        cn_ovn_add_change(np->changes, net->name, object, CN_OVN_MISSING, NULL);
        g_ptr_array_add(np->ops, cn_ovsdb_op_insert("Logical_Router_Port", uuid_name, row));
        g_ptr_array_add(ports_in, cn_ovsdb_named_uuid(uuid_name));
        return;
    }
    g_autofree char *networks_have = cn_ovn_strings_text(have->networks);
    cn_ovn_add_change(np->changes, net->name, object, CN_OVN_CHANGED,
                      g_strdup_printf("mac %s, networks %s, gateway chassis [%s] (want %s, [\"%s\"], [%s])",
                                      have->mac, networks_have, chassis_have, want->mac, want->network,
                                      chassis_want));
    g_ptr_array_add(np->ops, cn_ovsdb_op_update("Logical_Router_Port", have->uuid, row));
}

/* One row of a set column (routes, NAT) as it should be: KEY compares,
 * OBJECT names it in changes, ROW is what to insert. */
typedef struct {
    char *key, *object;
    JsonObject *row;
} WantItem;

static void want_item_clear(gpointer data)
{
    WantItem *item = data;
    g_free(item->key);
    g_free(item->object);
    if (item->row)
        json_object_unref(item->row);
}

/* Brings carthage-net's rows of set column COLUMN of ROUTER (NULL: being
 * made) to WANTED: missing ones inserted into REFS_IN, extra ones deleted
 * (HAVE_KEYS: uuid -> key of each of ours there now). */
static void plan_items(NetPlan *np, const CnNbRouter *router, const char *table, const char *column,
                       GArray *wanted, GHashTable *have_keys, GPtrArray *refs_in)
{
    const CnNetwork *net = np->net;
    g_autoptr(GHashTable) kept = g_hash_table_new(g_str_hash, g_str_equal);
    GHashTableIter iter;
    gpointer uuid, key;
    g_hash_table_iter_init(&iter, have_keys);
    while (g_hash_table_iter_next(&iter, &uuid, &key))
        g_hash_table_add(kept, key);
    for (guint i = 0; i < wanted->len; i++) {
        WantItem *item = &g_array_index(wanted, WantItem, i);
        if (g_hash_table_contains(kept, item->key))
            continue;
        g_autofree char *uuid_name = cn_ovn_named(column, np->index, i);
        cn_ovn_add_change(np->changes, net->name, item->object, CN_OVN_MISSING, NULL);
        g_ptr_array_add(np->ops, cn_ovsdb_op_insert(table, uuid_name, g_steal_pointer(&item->row)));
        g_ptr_array_add(refs_in, cn_ovsdb_named_uuid(uuid_name));
    }
    g_autoptr(GHashTable) wanted_keys = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = 0; i < wanted->len; i++)
        g_hash_table_add(wanted_keys, g_array_index(wanted, WantItem, i).key);
    g_autoptr(GPtrArray) uuids = g_ptr_array_new();
    g_hash_table_iter_init(&iter, have_keys);
    while (g_hash_table_iter_next(&iter, &uuid, NULL))
        g_ptr_array_add(uuids, uuid);
    g_ptr_array_sort(uuids, cn_compare_string_ptrs);
    g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = 0; i < uuids->len; i++) {
        const char *key_have = g_hash_table_lookup(have_keys, uuids->pdata[i]);
        /* A duplicate of one we keep goes too. */
        if (g_hash_table_contains(wanted_keys, key_have) && g_hash_table_add(seen, (gpointer)key_have))
            continue;
        g_autofree char *object = g_strdup_printf("%s %s", strcmp(column, "nat") == 0 ? "nat" : "route", key_have);
        cn_ovn_add_change(np->changes, net->name, object, CN_OVN_EXTRA, NULL);
        g_ptr_array_add(np->ops, cn_ovn_op_list_delete("Logical_Router", router->uuid, column, uuids->pdata[i]));
    }
}

static void add_item(GArray *wanted, char *key, char *object, JsonObject *row)
{
    WantItem item = { key, object, row };
    g_array_append_val(wanted, item);
}

static GArray *items_new(void)
{
    GArray *items = g_array_new(FALSE, TRUE, sizeof(WantItem));
    g_array_set_clear_func(items, want_item_clear);
    return items;
}

static void plan_routes(NetPlan *np, const CnNbRouter *router, GPtrArray *refs_in)
{
    const CnNetwork *net = np->net;
    g_autoptr(GArray) wanted = items_new();
    if (net->ovn_uplink_gateway) {
        g_autofree char *nexthop = cn_v4_str(net->ovn_uplink_gateway);
        JsonObject *row = json_object_new();
        json_object_set_string_member(row, "ip_prefix", "0.0.0.0/0");
        json_object_set_string_member(row, "nexthop", nexthop);
        g_autoptr(GHashTable) ids = cn_ovn_network_external_ids(net);
        json_object_set_member(row, "external_ids", cn_ovsdb_string_map(ids));
        add_item(wanted, g_strdup_printf("0.0.0.0/0 via %s", nexthop),
                 g_strdup_printf("route 0.0.0.0/0 via %s", nexthop), row);
    }
    g_autoptr(GHashTable) have = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
    for (guint i = 0; router && i < router->static_routes->len; i++) {
        const CnNbRoute *route = g_hash_table_lookup(np->nb->route_by_uuid, router->static_routes->pdata[i]);
        if (route && g_strcmp0(cn_nb_owner_network(route->external_ids), net->name) == 0)
            g_hash_table_insert(have, route->uuid, g_strdup_printf("%s via %s", route->ip_prefix, route->nexthop));
    }
    plan_items(np, router, "Logical_Router_Static_Route", "static_routes", wanted, have, refs_in);
}

static char *nat_key(const char *type, const char *external_ip, const char *logical_ip, const char *logical_port,
                     const char *external_mac)
{
    GString *key = g_string_new(NULL);
    g_string_append_printf(key, "%s %s %s %s", type, external_ip, strcmp(type, "snat") == 0 ? "<-" : "<->",
                           logical_ip);
    if (logical_port)
        g_string_append_printf(key, " port %s mac %s", logical_port, external_mac ? external_mac : "none");
    return g_string_free(key, FALSE);
}

static void want_nat(NetPlan *np, GArray *wanted, const char *type, uint32_t external, const char *logical_ip,
                     const WantPort *port)
{
    const CnNetwork *net = np->net;
    g_autofree char *external_ip = cn_v4_str(external);
    g_autofree char *external_mac = NULL;
    const char *logical_port = NULL;
    JsonObject *row = json_object_new();
    json_object_set_string_member(row, "type", type);
    json_object_set_string_member(row, "external_ip", external_ip);
    json_object_set_string_member(row, "logical_ip", logical_ip);
    if (port && net->ovn_distributed_nat) {
        /* Distributed: answered and translated on the guest's own chassis,
         * which must then reach ovn.uplink too. */
        uint8_t mac[6];
        cn_ovn_nat_mac(net->name, external_ip, mac);
        external_mac = mac_text(mac);
        logical_port = port->name;
        json_object_set_string_member(row, "logical_port", logical_port);
        json_object_set_string_member(row, "external_mac", external_mac);
    }
    g_autoptr(GHashTable) ids = cn_ovn_network_external_ids(net);
    json_object_set_member(row, "external_ids", cn_ovsdb_string_map(ids));
    char *key = nat_key(type, external_ip, logical_ip, logical_port, external_mac);
    char *object = port ? g_strdup_printf("nat %s (%s)", key, port->label) : g_strdup_printf("nat %s", key);
    add_item(wanted, key, object, row);
}

static void plan_nat(NetPlan *np, const CnNbRouter *router, GPtrArray *refs_in)
{
    const CnNetwork *net = np->net;
    g_autoptr(GArray) wanted = items_new();
    if (net->forward == CN_FORWARD_NAT) {
        g_autofree char *cidr = v4_cidr(net->v4_subnet.network, net->v4_subnet.prefix);
        want_nat(np, wanted, "snat", net->ovn_uplink_address.address, cidr, NULL);
    }
    for (guint i = 0; i < np->ports->len; i++) {
        const WantPort *port = &g_array_index(np->ports, WantPort, i);
        const CnLink *link = port->link;
        if (link->v4_public_address && port->address) {
            g_autofree char *logical = cn_v4_str(port->address);
            want_nat(np, wanted, "dnat_and_snat", link->v4_public_address, logical, port);
        }
        for (guint j = 0; j < link->v4_secondary->len; j++) {
            const CnSecondaryAddress *secondary = &g_array_index(link->v4_secondary, CnSecondaryAddress, j);
            if (!secondary->public_address)
                continue;
            g_autofree char *logical = cn_v4_str(secondary->private_address);
            want_nat(np, wanted, "dnat_and_snat", secondary->public_address, logical, port);
        }
    }
    g_autoptr(GHashTable) have = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
    for (guint i = 0; router && i < router->nat->len; i++) {
        const CnNbNat *nat = g_hash_table_lookup(np->nb->nat_by_uuid, router->nat->pdata[i]);
        if (nat && g_strcmp0(cn_nb_owner_network(nat->external_ids), net->name) == 0)
            g_hash_table_insert(have, nat->uuid, nat_key(nat->type, nat->external_ip, nat->logical_ip,
                                                         nat->logical_port, nat->external_mac));
    }
    plan_items(np, router, "NAT", "nat", wanted, have, refs_in);
}

/* forward nat lets nothing in but what NAT answers: on the uplink switch,
 * before the router, what is addressed to the network itself is dropped
 * (1:1 NAT arrives addressed to public addresses, SNAT's replies to the
 * router's).  forward route routes it in. */
static gboolean want_inbound_drop(const CnNetwork *net)
{
    return net->forward == CN_FORWARD_NAT;
}

/* An ACL carthage-net keeps. */
typedef struct {
    const char *direction;
    gint64 priority;
    const char *action;
    char *match;
} WantAcl;

/* Brings the ACLs of a row (a switch, a port group; HAVE_ACLS its acls
 * column, NULL: being made) to WANTED: ours kept when right, others'
 * kept, the rest of ours dropped.  The references the column should hold
 * go into ACLS; TRUE when that differs from what it holds. */
static gboolean plan_acls(NetPlan *np, GPtrArray *have_acls, const WantAcl *wanted, guint n_wanted,
                          const char *where, const char *uuid_kind, GPtrArray *acls)
{
    const CnNetwork *net = np->net;
    gboolean found[8] = { FALSE }, differ = FALSE;
    g_assert(n_wanted <= G_N_ELEMENTS(found));
    for (guint i = 0; have_acls && i < have_acls->len; i++) {
        const CnNbAcl *acl = g_hash_table_lookup(np->nb->acl_by_uuid, have_acls->pdata[i]);
        if (!acl)
            continue;
        if (g_strcmp0(cn_nb_owner_network(acl->external_ids), net->name) != 0) {
            g_ptr_array_add(acls, cn_ovsdb_uuid(acl->uuid));
            continue;
        }
        guint match = n_wanted;
        for (guint w = 0; w < n_wanted && match == n_wanted; w++)
            if (!found[w] && acl->priority == wanted[w].priority && strcmp(acl->direction, wanted[w].direction) == 0 &&
                strcmp(acl->action, wanted[w].action) == 0 && strcmp(acl->match, wanted[w].match) == 0)
                match = w;
        if (match < n_wanted) {
            found[match] = TRUE;
            g_ptr_array_add(acls, cn_ovsdb_uuid(acl->uuid));
            continue;
        }
        differ = TRUE;
        g_autofree char *text = g_strdup_printf("acl %s %" G_GINT64_FORMAT " \"%s\" %s%s", acl->direction,
                                                acl->priority, acl->match, acl->action, where);
        cn_ovn_add_change(np->changes, net->name, text, CN_OVN_EXTRA, NULL);
    }
    for (guint w = 0; w < n_wanted; w++) {
        if (found[w])
            continue;
        differ = TRUE;
        g_autofree char *uuid_name = cn_ovn_named(uuid_kind, np->index, w);
        JsonObject *row = json_object_new();
        json_object_set_string_member(row, "direction", wanted[w].direction);
        json_object_set_int_member(row, "priority", wanted[w].priority);
        json_object_set_string_member(row, "match", wanted[w].match);
        json_object_set_string_member(row, "action", wanted[w].action);
        g_autoptr(GHashTable) ids = cn_ovn_network_external_ids(net);
        json_object_set_member(row, "external_ids", cn_ovsdb_string_map(ids));
        g_ptr_array_add(np->ops, cn_ovsdb_op_insert("ACL", uuid_name, row));
        g_ptr_array_add(acls, cn_ovsdb_named_uuid(uuid_name));
        if (have_acls) {
            g_autofree char *text = g_strdup_printf("acl %s %" G_GINT64_FORMAT " \"%s\" %s%s", wanted[w].direction,
                                                    wanted[w].priority, wanted[w].match, wanted[w].action, where);
            cn_ovn_add_change(np->changes, net->name, text, CN_OVN_MISSING, NULL);
        }
    }
    return differ;
}

/* The uplink switch's ACLs: see want_inbound_drop(). */
static gboolean plan_uplink_acls(NetPlan *np, const CnNbSwitch *have, GPtrArray *acls)
{
    const CnNetwork *net = np->net;
    g_autofree char *cidr = v4_cidr(net->v4_subnet.network, net->v4_subnet.prefix);
    WantAcl drop_inbound = { "from-lport", 1000, "drop", g_strdup_printf("ip4.dst == %s", cidr) };
    gboolean differ = plan_acls(np, have ? have->acls : NULL, &drop_inbound, want_inbound_drop(net) ? 1 : 0,
                                " (uplink)", "uplink_acl", acls);
    g_free(drop_inbound.match);
    return differ;
}

/* The uplink switch: the router's uplink port and the localnet port onto
 * ovn.uplink. */
static gboolean plan_uplink_switch(NetPlan *np, const CnNbSwitch *have, const char *name, const char *lrp_name,
                                   GError **error)
{
    const CnNetwork *net = np->net;
    g_autoptr(GPtrArray) ports_in = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
    g_autoptr(GPtrArray) acls = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
    g_autofree char *router_side = g_strdup_printf("%s-router", name);
    g_autofree char *localnet = g_strdup_printf("carthage-net-%s-localnet", net->name);
    g_autoptr(GHashTable) router_options = cn_ovn_string_map_new();
    cn_ovn_map_set(router_options, "router-port", lrp_name);
    g_autoptr(GHashTable) localnet_options = cn_ovn_string_map_new();
    cn_ovn_map_set(localnet_options, "network_name", net->ovn_uplink);
    g_autofree char *router_object = g_strdup_printf("port %s (uplink to the router)", router_side);
    g_autofree char *localnet_object = g_strdup_printf("port %s (localnet %s)", localnet, net->ovn_uplink);
    if (!cn_ovn_plan_own_port(np, have, router_side, router_object, "router", "router", router_options, ports_in,
                              "uplink_router", error) ||
        !cn_ovn_plan_own_port(np, have, localnet, localnet_object, "localnet", "unknown", localnet_options,
                              ports_in, "localnet", error))
        return FALSE;
    gboolean acls_differ = plan_uplink_acls(np, have, acls);
    if (have) {
        if (ports_in->len)
            g_ptr_array_add(np->ops, cn_ovsdb_op_mutate("Logical_Switch", have->uuid, "ports", "insert",
                                                        cn_ovsdb_set(ports_in)));
        if (acls_differ) {
            JsonObject *row = json_object_new();
            json_object_set_member(row, "acls", cn_ovsdb_set(acls));
            g_ptr_array_add(np->ops, cn_ovsdb_op_update("Logical_Switch", have->uuid, row));
        }
        return TRUE;
    }
    g_autofree char *uuid_name = cn_ovn_named("uplink_switch", np->index, 0);
    JsonObject *row = json_object_new();
    json_object_set_string_member(row, "name", name);
    json_object_set_member(row, "ports", cn_ovsdb_set(ports_in));
    json_object_set_member(row, "acls", cn_ovsdb_set(acls));
    g_autoptr(GHashTable) ids = cn_ovn_network_external_ids(net);
    json_object_set_member(row, "external_ids", cn_ovsdb_string_map(ids));
    g_autofree char *object = g_strdup_printf("switch %s (uplink)", name);
    cn_ovn_add_change(np->changes, net->name, object, CN_OVN_MISSING, NULL);
    g_ptr_array_add(np->ops, cn_ovsdb_op_insert("Logical_Switch", uuid_name, row));
    return TRUE;
}

/* Removes what a network no longer has a router for. */
static void plan_router_gone(NetPlan *np, const CnNbRouter *router, const CnNbSwitch *uplink, const char *lsp_name)
{
    const CnNetwork *net = np->net;
    if (router) {
        g_autofree char *object = g_strdup_printf("router %s", router->name);
        cn_ovn_add_change(np->changes, net->name, object, CN_OVN_EXTRA, NULL);
        g_ptr_array_add(np->ops, cn_ovsdb_op_delete("Logical_Router", router->uuid));
    }
    if (uplink) {
        g_autofree char *object = g_strdup_printf("switch %s (uplink)", uplink->name);
        cn_ovn_add_change(np->changes, net->name, object, CN_OVN_EXTRA, NULL);
        g_ptr_array_add(np->ops, cn_ovsdb_op_delete("Logical_Switch", uplink->uuid));
    }
    const CnNbPort *lsp = g_hash_table_lookup(np->nb->port_by_name, lsp_name);
    if (lsp && np->ls && lsp->owner == np->ls && g_strcmp0(cn_nb_owner_network(lsp->external_ids), net->name) == 0) {
        g_autofree char *object = g_strdup_printf("port %s (to the router)", lsp_name);
        cn_ovn_add_change(np->changes, net->name, object, CN_OVN_EXTRA, NULL);
        g_ptr_array_add(np->ports_out, cn_ovsdb_uuid(lsp->uuid));
    }
}

gboolean cn_ovn_plan_router(NetPlan *np, GError **error)
{
    const CnNetwork *net = np->net;
    g_autofree char *name = cn_ovn_router_name(net->name);
    g_autofree char *uplink_name = cn_ovn_uplink_switch_name(net->name);
    g_autofree char *lsp_name = cn_ovn_router_port_name(net->name);
    const CnNbRouter *router = cn_nb_find_router(np->nb, name);
    const CnNbSwitch *uplink = cn_nb_find_switch(np->nb, uplink_name);
    if ((router && !check_ours(np, "logical router", name, router->uuid, router->external_ids, error)) ||
        (uplink && !check_ours(np, "logical switch", uplink_name, uplink->uuid, uplink->external_ids, error)))
        return FALSE;
    if (!cn_network_has_ovn_router(net)) {
        plan_router_gone(np, router, uplink, lsp_name);
        return TRUE;
    }

    uint8_t mac[6];
    g_autofree char *lan_name = g_strdup_printf("%s-lan", name);
    g_autofree char *up_name = g_strdup_printf("%s-uplink", name);
    cn_ovn_dhcp_server_mac(net->name, mac);
    WantRouterPort lan = { lan_name, mac_text(mac), v4_cidr(net->v4_gateway, net->v4_subnet.prefix), NULL, "lan" };
    cn_ovn_uplink_mac(net->name, mac);
    WantRouterPort up = { up_name, mac_text(mac),
                          v4_cidr(net->ovn_uplink_address.address, net->ovn_uplink_address.prefix),
                          net->ovn_gateway_chassis, "uplink" };
    g_autoptr(GPtrArray) ports_in = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
    g_autoptr(GPtrArray) routes_in = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
    g_autoptr(GPtrArray) nat_in = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
    plan_router_port(np, router, &lan, ports_in);
    plan_router_port(np, router, &up, ports_in);
    plan_routes(np, router, routes_in);
    plan_nat(np, router, nat_in);
    if (!router) {
        g_autofree char *uuid_name = cn_ovn_named("router", np->index, 0);
        JsonObject *row = json_object_new();
        json_object_set_string_member(row, "name", name);
        json_object_set_member(row, "ports", cn_ovsdb_set(ports_in));
        json_object_set_member(row, "static_routes", cn_ovsdb_set(routes_in));
        json_object_set_member(row, "nat", cn_ovsdb_set(nat_in));
        g_autoptr(GHashTable) ids = cn_ovn_network_external_ids(net);
        json_object_set_member(row, "external_ids", cn_ovsdb_string_map(ids));
        g_autofree char *object = g_strdup_printf("router %s", name);
        cn_ovn_add_change(np->changes, net->name, object, CN_OVN_MISSING, NULL);
        g_ptr_array_add(np->ops, cn_ovsdb_op_insert("Logical_Router", uuid_name, row));
    } else {
        static const char *const columns[] = { "ports", "static_routes", "nat" };
        GPtrArray **lists[] = { &ports_in, &routes_in, &nat_in };
        for (gsize i = 0; i < G_N_ELEMENTS(columns); i++)
            if ((*lists[i])->len)
                g_ptr_array_add(np->ops, cn_ovsdb_op_mutate("Logical_Router", router->uuid, columns[i], "insert",
                                                            cn_ovsdb_set(*lists[i])));
    }
    g_autoptr(GHashTable) options = cn_ovn_string_map_new();
    cn_ovn_map_set(options, "router-port", lan_name);
    g_autofree char *object = g_strdup_printf("port %s (to the router)", lsp_name);
    gboolean ok = plan_uplink_switch(np, uplink, uplink_name, up_name, error) &&
                  cn_ovn_plan_own_port(np, np->ls, lsp_name, object, "router", "router", options, np->ports_in,
                                       "router_port", error);
    g_free(lan.mac);
    g_free(lan.network);
    g_free(up.mac);
    g_free(up.network);
    return ok;
}

/* isolate_guests: guests' ports in one port group, and four ACLs, the
 * same however many guests (the router is not a member, so the gateway,
 * NAT and the outside stay reachable).  OVN's match language takes only
 * positive tests of protocols and ethertypes, so each drop comes with
 * the allow that carves its exception, one priority above:
 *  - from-lport, as a member's packet enters, on its own chassis: drop
 *    IPv4 to a member's address ($GROUP_ip4, the address set OVN makes of
 *    the members' addresses), to the network's broadcast or to a
 *    multicast group; but allow broadcast DHCP requests, which OVN's DHCP
 *    stage answers after the ACLs;
 *  - to-lport, from a member to a member: drop everything but IPv4 and
 *    ARP (IPv6 link-local, other ethertypes).  Only IPv4 and ARP may
 *    pass there because OVN's own ARP, DHCP and DNS answers go back out
 *    of the asking port (inport == outport); IPv4 between two members
 *    never gets there. */
gboolean cn_ovn_plan_port_group(NetPlan *np, GError **error)
{
    const CnNetwork *net = np->net;
    g_autofree char *name = cn_ovn_port_group_name(net->name);
    const CnNbPortGroup *have = cn_nb_find_port_group(np->nb, name);
    if (have && !check_ours(np, "port group", name, have->uuid, have->external_ids, error))
        return FALSE;
    g_autofree char *object = g_strdup_printf("port group %s", name);
    if (!net->isolate_guests) {
        if (have) {
            cn_ovn_add_change(np->changes, net->name, object, CN_OVN_EXTRA, NULL);
            g_ptr_array_add(np->ops, cn_ovsdb_op_delete("Port_Group", have->uuid));
        }
        return TRUE;
    }
    g_autoptr(GHashTable) ids = cn_ovn_network_external_ids(net);
    /* The members: every link's port. */
    g_autoptr(GPtrArray) members = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
    g_autoptr(GPtrArray) member_uuids = g_ptr_array_new();
    gboolean members_new = FALSE;
    for (guint i = 0; i < np->ports->len; i++) {
        const WantPort *want = &g_array_index(np->ports, WantPort, i);
        JsonArray *ref = json_node_get_array(want->ref);
        members_new |= strcmp(json_array_get_string_element(ref, 0), "named-uuid") == 0;
        g_ptr_array_add(member_uuids, (char *)json_array_get_string_element(ref, 1));
        g_ptr_array_add(members, json_node_copy(want->ref));
    }
    char broadcast[CN_V4_STR_MAX];
    cn_v4_format(net->v4_subnet.network | ~cn_v4_netmask(net->v4_subnet.prefix), broadcast);
    WantAcl wanted[] = {
        { "from-lport", 1001, "allow-stateless",
          g_strdup_printf("inport == @%s && ip4.dst == 255.255.255.255 && udp.dst == 67", name) },
        { "from-lport", 1000, "drop",
          g_strdup_printf("inport == @%s && (ip4.dst == $%s_ip4 || ip4.mcast || ip4.dst == {255.255.255.255, %s})",
                          name, name, broadcast) },
        { "to-lport", 1001, "allow-stateless",
          g_strdup_printf("inport == @%s && outport == @%s && (ip4 || arp)", name, name) },
        { "to-lport", 1000, "drop", g_strdup_printf("inport == @%s && outport == @%s", name, name) },
    };
    g_autoptr(GPtrArray) acls = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
    gboolean acls_differ = plan_acls(np, have ? have->acls : NULL, wanted, G_N_ELEMENTS(wanted), "", "acl", acls);
    for (gsize i = 0; i < G_N_ELEMENTS(wanted); i++)
        g_free(wanted[i].match);
    if (!have) {
        g_autofree char *uuid_name = cn_ovn_named("port_group", np->index, 0);
        JsonObject *row = json_object_new();
        json_object_set_string_member(row, "name", name);
        json_object_set_member(row, "ports", cn_ovsdb_set(members));
        json_object_set_member(row, "acls", cn_ovsdb_set(acls));
        json_object_set_member(row, "external_ids", cn_ovsdb_string_map(ids));
        cn_ovn_add_change(np->changes, net->name, object, CN_OVN_MISSING, NULL);
        g_ptr_array_add(np->ops, cn_ovsdb_op_insert("Port_Group", uuid_name, row));
        return TRUE;
    }
    JsonObject *row = json_object_new();
    gboolean same_members = !members_new && member_uuids->len == have->ports->len;
    g_autoptr(GHashTable) have_members = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = 0; same_members && i < have->ports->len; i++)
        g_hash_table_add(have_members, have->ports->pdata[i]);
    for (guint i = 0; same_members && i < member_uuids->len; i++)
        same_members = g_hash_table_contains(have_members, member_uuids->pdata[i]);
    if (!same_members) {
        cn_ovn_add_change(np->changes, net->name, object, CN_OVN_CHANGED,
                          g_strdup_printf("ports: %u (want %u)", have->ports->len, np->ports->len));
        json_object_set_member(row, "ports", cn_ovsdb_set(members));
    }
    if (acls_differ)
        json_object_set_member(row, "acls", cn_ovsdb_set(acls));
    if (json_object_get_size(row) == 0) {
        json_object_unref(row);
        return TRUE;
    }
    g_ptr_array_add(np->ops, cn_ovsdb_op_update("Port_Group", have->uuid, row));
    return TRUE;
}
