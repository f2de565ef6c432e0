/* ovn-nb.c - a snapshot of the northbound rows carthage-net works on.
 *
 * Each table is described once (its columns, their kinds and where they
 * go in its C struct); selecting, parsing and freeing follow from that. */
#include <stddef.h>
#include <string.h>

#include "model.h"
#include "ovn-nb.h"

typedef enum {
    COL_UUID,     /* char* */
    COL_STRING,   /* char* */
    COL_OPTIONAL_STRING, /* char*, NULL: empty set */
    COL_OPTIONAL_UUID,   /* char*, NULL: empty set */
    COL_STRINGS,  /* GPtrArray* of char* */
    COL_UUIDS,    /* GPtrArray* of char* */
    COL_MAP,      /* GHashTable* string -> string */
    COL_INTEGER,  /* gint64 */
} ColumnKind;

typedef struct {
    const char *name;
    ColumnKind kind;
    size_t offset;
} Column;

typedef struct {
    const char *name;
    size_t row_size;
    const Column *columns;
    size_t snapshot_offset; /* its GPtrArray* in CnNbSnapshot */
    size_t index_offset;    /* a GHashTable* by uuid in CnNbSnapshot, 0: none */
} Table;

#define COL(type, column, kind, field) { column, kind, offsetof(type, field) }
#define END { NULL, 0, 0 }

static const Column switch_columns[] = {
    COL(CnNbSwitch, "_uuid", COL_UUID, uuid), COL(CnNbSwitch, "name", COL_STRING, name),
    COL(CnNbSwitch, "ports", COL_UUIDS, ports), COL(CnNbSwitch, "dns_records", COL_UUIDS, dns_records),
    COL(CnNbSwitch, "external_ids", COL_MAP, external_ids), COL(CnNbSwitch, "acls", COL_UUIDS, acls), END,
};
static const Column port_columns[] = {
    COL(CnNbPort, "_uuid", COL_UUID, uuid), COL(CnNbPort, "name", COL_STRING, name),
    COL(CnNbPort, "type", COL_STRING, type), COL(CnNbPort, "addresses", COL_STRINGS, addresses),
    COL(CnNbPort, "port_security", COL_STRINGS, port_security),
    COL(CnNbPort, "dhcpv4_options", COL_OPTIONAL_UUID, dhcpv4_options),
    COL(CnNbPort, "options", COL_MAP, options), COL(CnNbPort, "external_ids", COL_MAP, external_ids), END,
};
static const Column dhcp_columns[] = {
    COL(CnNbDhcp, "_uuid", COL_UUID, uuid), COL(CnNbDhcp, "cidr", COL_STRING, cidr),
    COL(CnNbDhcp, "options", COL_MAP, options), COL(CnNbDhcp, "external_ids", COL_MAP, external_ids), END,
};
static const Column dns_columns[] = {
    COL(CnNbDns, "_uuid", COL_UUID, uuid), COL(CnNbDns, "records", COL_MAP, records),
    COL(CnNbDns, "external_ids", COL_MAP, external_ids), END,
};
static const Column router_columns[] = {
    COL(CnNbRouter, "_uuid", COL_UUID, uuid), COL(CnNbRouter, "name", COL_STRING, name),
    COL(CnNbRouter, "ports", COL_UUIDS, ports), COL(CnNbRouter, "static_routes", COL_UUIDS, static_routes),
    COL(CnNbRouter, "nat", COL_UUIDS, nat), COL(CnNbRouter, "external_ids", COL_MAP, external_ids), END,
};
static const Column router_port_columns[] = {
    COL(CnNbRouterPort, "_uuid", COL_UUID, uuid), COL(CnNbRouterPort, "name", COL_STRING, name),
    COL(CnNbRouterPort, "mac", COL_STRING, mac), COL(CnNbRouterPort, "networks", COL_STRINGS, networks),
    COL(CnNbRouterPort, "gateway_chassis", COL_UUIDS, gateway_chassis),
    COL(CnNbRouterPort, "external_ids", COL_MAP, external_ids), END,
};
static const Column gateway_chassis_columns[] = {
    COL(CnNbGatewayChassis, "_uuid", COL_UUID, uuid), COL(CnNbGatewayChassis, "name", COL_STRING, name),
    COL(CnNbGatewayChassis, "chassis_name", COL_STRING, chassis_name),
    COL(CnNbGatewayChassis, "priority", COL_INTEGER, priority), END,
};
static const Column nat_columns[] = {
    COL(CnNbNat, "_uuid", COL_UUID, uuid), COL(CnNbNat, "type", COL_STRING, type),
    COL(CnNbNat, "external_ip", COL_STRING, external_ip), COL(CnNbNat, "logical_ip", COL_STRING, logical_ip),
    COL(CnNbNat, "logical_port", COL_OPTIONAL_STRING, logical_port),
    COL(CnNbNat, "external_mac", COL_OPTIONAL_STRING, external_mac),
    COL(CnNbNat, "external_ids", COL_MAP, external_ids), END,
};
static const Column route_columns[] = {
    COL(CnNbRoute, "_uuid", COL_UUID, uuid), COL(CnNbRoute, "ip_prefix", COL_STRING, ip_prefix),
    COL(CnNbRoute, "nexthop", COL_STRING, nexthop), COL(CnNbRoute, "external_ids", COL_MAP, external_ids), END,
};
static const Column port_group_columns[] = {
    COL(CnNbPortGroup, "_uuid", COL_UUID, uuid), COL(CnNbPortGroup, "name", COL_STRING, name),
    COL(CnNbPortGroup, "ports", COL_UUIDS, ports), COL(CnNbPortGroup, "acls", COL_UUIDS, acls),
    COL(CnNbPortGroup, "external_ids", COL_MAP, external_ids), END,
};
static const Column acl_columns[] = {
    COL(CnNbAcl, "_uuid", COL_UUID, uuid), COL(CnNbAcl, "direction", COL_STRING, direction),
    COL(CnNbAcl, "match", COL_STRING, match), COL(CnNbAcl, "action", COL_STRING, action),
    COL(CnNbAcl, "priority", COL_INTEGER, priority), COL(CnNbAcl, "external_ids", COL_MAP, external_ids), END,
};

#define TABLE(name, type, columns, array, index) \
    { name, sizeof(type), columns, offsetof(CnNbSnapshot, array), index }
#define INDEX(field) offsetof(CnNbSnapshot, field)

/* In the order of the selects (and of their results). */
static const Table tables[] = {
    TABLE("Logical_Switch", CnNbSwitch, switch_columns, switches, 0),
    TABLE("Logical_Switch_Port", CnNbPort, port_columns, ports, INDEX(port_by_uuid)),
    TABLE("DHCP_Options", CnNbDhcp, dhcp_columns, dhcp, 0),
    TABLE("DNS", CnNbDns, dns_columns, dns, INDEX(dns_by_uuid)),
    TABLE("Logical_Router", CnNbRouter, router_columns, routers, 0),
    TABLE("Logical_Router_Port", CnNbRouterPort, router_port_columns, router_ports, INDEX(router_port_by_uuid)),
    TABLE("Gateway_Chassis", CnNbGatewayChassis, gateway_chassis_columns, gateway_chassis,
          INDEX(gateway_chassis_by_uuid)),
    TABLE("NAT", CnNbNat, nat_columns, nat, INDEX(nat_by_uuid)),
    TABLE("Logical_Router_Static_Route", CnNbRoute, route_columns, routes, INDEX(route_by_uuid)),
    TABLE("Port_Group", CnNbPortGroup, port_group_columns, port_groups, 0),
    TABLE("ACL", CnNbAcl, acl_columns, acls, INDEX(acl_by_uuid)),
};

#define FIELD(row, column) ((char *)(row) + (column)->offset)
#define SNAPSHOT_MEMBER(nb, offset, type) (*(type *)((char *)(nb) + (offset)))

GPtrArray *cn_nb_snapshot_ops(void)
{
    GPtrArray *ops = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
    for (gsize t = 0; t < G_N_ELEMENTS(tables); t++) {
        const char *names[16];
        gsize n = 0;
        for (const Column *c = tables[t].columns; c->name; c++)
            names[n++] = c->name;
        names[n] = NULL;
        g_ptr_array_add(ops, cn_ovsdb_op_select_all(tables[t].name, names));
    }
    return ops;
}

static void row_free(const Table *table, gpointer row)
{
    for (const Column *c = table->columns; c->name; c++) {
        void *field = FIELD(row, c);
        switch (c->kind) {
        case COL_UUID:
        case COL_STRING:
        case COL_OPTIONAL_STRING:
        case COL_OPTIONAL_UUID:
            g_free(*(char **)field);
            break;
        case COL_STRINGS:
        case COL_UUIDS:
            g_clear_pointer((GPtrArray **)field, g_ptr_array_unref);
            break;
        case COL_MAP:
            g_clear_pointer((GHashTable **)field, g_hash_table_unref);
            break;
        case COL_INTEGER:
            break;
        }
    }
    g_free(row);
}

static gpointer row_new(const Table *table)
{
    gpointer row = g_malloc0(table->row_size);
    for (const Column *c = table->columns; c->name; c++) {
        void *field = FIELD(row, c);
        if (c->kind == COL_STRINGS || c->kind == COL_UUIDS)
            *(GPtrArray **)field = g_ptr_array_new_with_free_func(g_free);
        else if (c->kind == COL_MAP)
            *(GHashTable **)field = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    }
    return row;
}

static gboolean read_column(JsonObject *json, const char *table, const Column *c, gpointer row, GError **error)
{
    void *field = FIELD(row, c);
    switch (c->kind) {
    case COL_UUID:
        return cn_ovsdb_row_uuid(json, table, c->name, field, error);
    case COL_STRING:
        return cn_ovsdb_row_string(json, table, c->name, field, error);
    case COL_OPTIONAL_STRING:
        return cn_ovsdb_row_optional_string(json, table, c->name, field, error);
    case COL_OPTIONAL_UUID:
        return cn_ovsdb_row_optional_uuid(json, table, c->name, field, error);
    case COL_STRINGS:
        return cn_ovsdb_row_set(json, table, c->name, "string", *(GPtrArray **)field, error);
    case COL_UUIDS:
        return cn_ovsdb_row_set(json, table, c->name, "uuid", *(GPtrArray **)field, error);
    case COL_MAP:
        return cn_ovsdb_row_map(json, table, c->name, *(GHashTable **)field, error);
    case COL_INTEGER:
        return cn_ovsdb_row_integer(json, table, c->name, field, error);
    }
    return FALSE;
}

CnNbSnapshot *cn_nb_snapshot_new(void)
{
    CnNbSnapshot *nb = g_new0(CnNbSnapshot, 1);
    for (gsize t = 0; t < G_N_ELEMENTS(tables); t++) {
        SNAPSHOT_MEMBER(nb, tables[t].snapshot_offset, GPtrArray *) = g_ptr_array_new();
        if (tables[t].index_offset)
            SNAPSHOT_MEMBER(nb, tables[t].index_offset, GHashTable *) = g_hash_table_new(g_str_hash, g_str_equal);
    }
    nb->port_by_name = g_hash_table_new(g_str_hash, g_str_equal);
    return nb;
}

void cn_nb_snapshot_free(CnNbSnapshot *nb)
{
    if (!nb)
        return;
    g_hash_table_unref(nb->port_by_name);
    for (gsize t = 0; t < G_N_ELEMENTS(tables); t++) {
        if (tables[t].index_offset)
            g_hash_table_unref(SNAPSHOT_MEMBER(nb, tables[t].index_offset, GHashTable *));
        GPtrArray *rows = SNAPSHOT_MEMBER(nb, tables[t].snapshot_offset, GPtrArray *);
        for (guint i = 0; i < rows->len; i++)
            row_free(&tables[t], rows->pdata[i]);
        g_ptr_array_unref(rows);
    }
    g_free(nb);
}

/* The rows of select result INDEX. */
static JsonArray *rows_of(JsonArray *results, guint index, const char *table, GError **error)
{
    JsonNode *node = index < json_array_get_length(results) ? json_array_get_element(results, index) : NULL;
    JsonObject *result = node && JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : NULL;
    JsonNode *rows = result ? json_object_get_member(result, "rows") : NULL;
    if (!rows || !JSON_NODE_HOLDS_ARRAY(rows)) {
        g_set_error(error, CN_OVSDB_ERROR, CN_OVSDB_ERROR_PROTOCOL, "the select of %s returned no rows array", table);
        return NULL;
    }
    return json_node_get_array(rows);
}

static gboolean parse_table(const Table *table, JsonArray *rows, CnNbSnapshot *nb, GError **error)
{
    GPtrArray *into = SNAPSHOT_MEMBER(nb, table->snapshot_offset, GPtrArray *);
    for (guint i = 0; i < json_array_get_length(rows); i++) {
        JsonNode *node = json_array_get_element(rows, i);
        if (!JSON_NODE_HOLDS_OBJECT(node)) {
            g_set_error(error, CN_OVSDB_ERROR, CN_OVSDB_ERROR_PROTOCOL, "a %s row that is not an object", table->name);
            return FALSE;
        }
        gpointer row = row_new(table);
        g_ptr_array_add(into, row);
        for (const Column *c = table->columns; c->name; c++)
            if (!read_column(json_node_get_object(node), table->name, c, row, error))
                return FALSE;
        /* Every table's first column is its _uuid. */
        if (table->index_offset)
            g_hash_table_insert(SNAPSHOT_MEMBER(nb, table->index_offset, GHashTable *), *(char **)row, row);
    }
    return TRUE;
}

static gint compare_named(gconstpointer a, gconstpointer b)
{
    /* Switches, routers and port groups: by name, then uuid. */
    const CnNbSwitch *x = *(const CnNbSwitch *const *)a, *y = *(const CnNbSwitch *const *)b;
    int by_name = strcmp(x->name, y->name);
    return by_name ? by_name : strcmp(x->uuid, y->uuid);
}

static gint compare_dhcp(gconstpointer a, gconstpointer b)
{
    return strcmp((*(const CnNbDhcp *const *)a)->uuid, (*(const CnNbDhcp *const *)b)->uuid);
}

G_STATIC_ASSERT(offsetof(CnNbSwitch, name) == offsetof(CnNbRouter, name) &&
                offsetof(CnNbSwitch, uuid) == offsetof(CnNbRouter, uuid) &&
                offsetof(CnNbSwitch, name) == offsetof(CnNbPortGroup, name) &&
                offsetof(CnNbSwitch, uuid) == offsetof(CnNbPortGroup, uuid));

CnNbSnapshot *cn_nb_snapshot_parse(JsonArray *results, GError **error)
{
    g_autoptr(CnNbSnapshot) nb = cn_nb_snapshot_new();
    for (gsize t = 0; t < G_N_ELEMENTS(tables); t++) {
        JsonArray *rows = rows_of(results, (guint)t, tables[t].name, error);
        if (!rows || !parse_table(&tables[t], rows, nb, error))
            return NULL;
    }
    for (guint i = 0; i < nb->ports->len; i++) {
        CnNbPort *port = nb->ports->pdata[i];
        g_hash_table_insert(nb->port_by_name, port->name, port);
    }
    /* Sorted, so that what is derived from it does not depend on the
     * server's order. */
    g_ptr_array_sort(nb->switches, compare_named);
    g_ptr_array_sort(nb->routers, compare_named);
    g_ptr_array_sort(nb->port_groups, compare_named);
    g_ptr_array_sort(nb->dhcp, compare_dhcp);
    for (guint i = 0; i < nb->switches->len; i++) {
        const CnNbSwitch *ls = nb->switches->pdata[i];
        g_ptr_array_sort(ls->ports, cn_compare_string_ptrs);
        for (guint j = 0; j < ls->ports->len; j++) {
            CnNbPort *port = g_hash_table_lookup(nb->port_by_uuid, ls->ports->pdata[j]);
            if (port && !port->owner)
                port->owner = ls;
        }
    }
    return g_steal_pointer(&nb);
}

const char *cn_nb_owner_network(GHashTable *external_ids)
{
    return g_hash_table_lookup(external_ids, CN_OVN_KEY_NETWORK);
}

static gconstpointer find_named(GPtrArray *rows, const char *name)
{
    for (guint i = 0; i < rows->len; i++) {
        const CnNbSwitch *row = rows->pdata[i];
        if (strcmp(row->name, name) == 0)
            return row;
    }
    return NULL;
}

const CnNbSwitch *cn_nb_find_switch(const CnNbSnapshot *nb, const char *name)
{
    return find_named(nb->switches, name);
}

const CnNbRouter *cn_nb_find_router(const CnNbSnapshot *nb, const char *name)
{
    return find_named(nb->routers, name);
}

const CnNbPortGroup *cn_nb_find_port_group(const CnNbSnapshot *nb, const char *name)
{
    return find_named(nb->port_groups, name);
}

const CnNbDhcp *cn_nb_find_dhcp(const CnNbSnapshot *nb, const char *network)
{
    for (guint i = 0; i < nb->dhcp->len; i++) {
        const CnNbDhcp *dhcp = nb->dhcp->pdata[i];
        if (g_strcmp0(cn_nb_owner_network(dhcp->external_ids), network) == 0)
            return dhcp;
    }
    return NULL;
}

const CnNbDns *cn_nb_switch_dns(const CnNbSnapshot *nb, const CnNbSwitch *ls)
{
    for (guint i = 0; i < ls->dns_records->len; i++) {
        const CnNbDns *dns = g_hash_table_lookup(nb->dns_by_uuid, ls->dns_records->pdata[i]);
        if (dns && g_strcmp0(cn_nb_owner_network(dns->external_ids), ls->name) == 0)
            return dns;
    }
    return NULL;
}
