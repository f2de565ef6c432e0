/* ovn-nb.c - a snapshot of the northbound rows carthage-net works on. */
#include <string.h>

#include "ovn-nb.h"

static const char *const switch_columns[] = { "_uuid", "name", "ports", "dns_records", "external_ids", NULL };
static const char *const port_columns[] = { "_uuid", "name", "type", "addresses", "port_security",
                                            "dhcpv4_options", "external_ids", NULL };
static const char *const dhcp_columns[] = { "_uuid", "cidr", "options", "external_ids", NULL };
static const char *const dns_columns[] = { "_uuid", "records", "external_ids", NULL };

GPtrArray *cn_nb_snapshot_ops(void)
{
    GPtrArray *ops = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
    g_ptr_array_add(ops, cn_ovsdb_op_select_all("Logical_Switch", switch_columns));
    g_ptr_array_add(ops, cn_ovsdb_op_select_all("Logical_Switch_Port", port_columns));
    g_ptr_array_add(ops, cn_ovsdb_op_select_all("DHCP_Options", dhcp_columns));
    g_ptr_array_add(ops, cn_ovsdb_op_select_all("DNS", dns_columns));
    return ops;
}

static GHashTable *string_map_new(void)
{
    return g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
}

static GPtrArray *strings_new(void)
{
    return g_ptr_array_new_with_free_func(g_free);
}

static void switch_free(gpointer data)
{
    CnNbSwitch *ls = data;
    g_free(ls->uuid);
    g_free(ls->name);
    g_ptr_array_unref(ls->ports);
    g_ptr_array_unref(ls->dns_records);
    g_hash_table_unref(ls->external_ids);
    g_free(ls);
}

static void port_free(gpointer data)
{
    CnNbPort *port = data;
    g_free(port->uuid);
    g_free(port->name);
    g_free(port->type);
    g_ptr_array_unref(port->addresses);
    g_ptr_array_unref(port->port_security);
    g_free(port->dhcpv4_options);
    g_hash_table_unref(port->external_ids);
    g_free(port);
}

static void dhcp_free(gpointer data)
{
    CnNbDhcp *dhcp = data;
    g_free(dhcp->uuid);
    g_free(dhcp->cidr);
    g_hash_table_unref(dhcp->options);
    g_hash_table_unref(dhcp->external_ids);
    g_free(dhcp);
}

static void dns_free(gpointer data)
{
    CnNbDns *dns = data;
    g_free(dns->uuid);
    g_hash_table_unref(dns->records);
    g_hash_table_unref(dns->external_ids);
    g_free(dns);
}

CnNbSnapshot *cn_nb_snapshot_new(void)
{
    CnNbSnapshot *nb = g_new0(CnNbSnapshot, 1);
    nb->switches = g_ptr_array_new_with_free_func(switch_free);
    nb->ports = g_ptr_array_new_with_free_func(port_free);
    nb->dhcp = g_ptr_array_new_with_free_func(dhcp_free);
    nb->dns = g_ptr_array_new_with_free_func(dns_free);
    nb->port_by_uuid = g_hash_table_new(g_str_hash, g_str_equal);
    nb->port_by_name = g_hash_table_new(g_str_hash, g_str_equal);
    nb->dns_by_uuid = g_hash_table_new(g_str_hash, g_str_equal);
    return nb;
}

void cn_nb_snapshot_free(CnNbSnapshot *nb)
{
    if (!nb)
        return;
    g_hash_table_unref(nb->port_by_uuid);
    g_hash_table_unref(nb->port_by_name);
    g_hash_table_unref(nb->dns_by_uuid);
    g_ptr_array_unref(nb->ports);
    g_ptr_array_unref(nb->switches);
    g_ptr_array_unref(nb->dhcp);
    g_ptr_array_unref(nb->dns);
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

static JsonObject *row_at(JsonArray *rows, guint i, const char *table, GError **error)
{
    JsonNode *node = json_array_get_element(rows, i);
    if (!JSON_NODE_HOLDS_OBJECT(node)) {
        g_set_error(error, CN_OVSDB_ERROR, CN_OVSDB_ERROR_PROTOCOL, "a %s row that is not an object", table);
        return NULL;
    }
    return json_node_get_object(node);
}

static gboolean parse_switches(JsonArray *rows, CnNbSnapshot *nb, GError **error)
{
    static const char table[] = "Logical_Switch";
    for (guint i = 0; i < json_array_get_length(rows); i++) {
        JsonObject *row = row_at(rows, i, table, error);
        if (!row)
            return FALSE;
        CnNbSwitch *ls = g_new0(CnNbSwitch, 1);
        ls->ports = strings_new();
        ls->dns_records = strings_new();
        ls->external_ids = string_map_new();
        g_ptr_array_add(nb->switches, ls);
        if (!cn_ovsdb_row_uuid(row, table, "_uuid", &ls->uuid, error) ||
            !cn_ovsdb_row_string(row, table, "name", &ls->name, error) ||
            !cn_ovsdb_row_set(row, table, "ports", "uuid", ls->ports, error) ||
            !cn_ovsdb_row_set(row, table, "dns_records", "uuid", ls->dns_records, error) ||
            !cn_ovsdb_row_map(row, table, "external_ids", ls->external_ids, error))
            return FALSE;
    }
    return TRUE;
}

static gboolean parse_ports(JsonArray *rows, CnNbSnapshot *nb, GError **error)
{
    static const char table[] = "Logical_Switch_Port";
    for (guint i = 0; i < json_array_get_length(rows); i++) {
        JsonObject *row = row_at(rows, i, table, error);
        if (!row)
            return FALSE;
        CnNbPort *port = g_new0(CnNbPort, 1);
        port->addresses = strings_new();
        port->port_security = strings_new();
        port->external_ids = string_map_new();
        g_ptr_array_add(nb->ports, port);
        if (!cn_ovsdb_row_uuid(row, table, "_uuid", &port->uuid, error) ||
            !cn_ovsdb_row_string(row, table, "name", &port->name, error) ||
            !cn_ovsdb_row_string(row, table, "type", &port->type, error) ||
            !cn_ovsdb_row_set(row, table, "addresses", "string", port->addresses, error) ||
            !cn_ovsdb_row_set(row, table, "port_security", "string", port->port_security, error) ||
            !cn_ovsdb_row_optional_uuid(row, table, "dhcpv4_options", &port->dhcpv4_options, error) ||
            !cn_ovsdb_row_map(row, table, "external_ids", port->external_ids, error))
            return FALSE;
        g_hash_table_insert(nb->port_by_uuid, port->uuid, port);
        g_hash_table_insert(nb->port_by_name, port->name, port);
    }
    return TRUE;
}

static gboolean parse_dhcp(JsonArray *rows, CnNbSnapshot *nb, GError **error)
{
    static const char table[] = "DHCP_Options";
    for (guint i = 0; i < json_array_get_length(rows); i++) {
        JsonObject *row = row_at(rows, i, table, error);
        if (!row)
            return FALSE;
        CnNbDhcp *dhcp = g_new0(CnNbDhcp, 1);
        dhcp->options = string_map_new();
        dhcp->external_ids = string_map_new();
        g_ptr_array_add(nb->dhcp, dhcp);
        if (!cn_ovsdb_row_uuid(row, table, "_uuid", &dhcp->uuid, error) ||
            !cn_ovsdb_row_string(row, table, "cidr", &dhcp->cidr, error) ||
            !cn_ovsdb_row_map(row, table, "options", dhcp->options, error) ||
            !cn_ovsdb_row_map(row, table, "external_ids", dhcp->external_ids, error))
            return FALSE;
    }
    return TRUE;
}

static gboolean parse_dns(JsonArray *rows, CnNbSnapshot *nb, GError **error)
{
    static const char table[] = "DNS";
    for (guint i = 0; i < json_array_get_length(rows); i++) {
        JsonObject *row = row_at(rows, i, table, error);
        if (!row)
            return FALSE;
        CnNbDns *dns = g_new0(CnNbDns, 1);
        dns->records = string_map_new();
        dns->external_ids = string_map_new();
        g_ptr_array_add(nb->dns, dns);
        if (!cn_ovsdb_row_uuid(row, table, "_uuid", &dns->uuid, error) ||
            !cn_ovsdb_row_map(row, table, "records", dns->records, error) ||
            !cn_ovsdb_row_map(row, table, "external_ids", dns->external_ids, error))
            return FALSE;
        g_hash_table_insert(nb->dns_by_uuid, dns->uuid, dns);
    }
    return TRUE;
}

static gint compare_switches(gconstpointer a, gconstpointer b)
{
    const CnNbSwitch *x = *(const CnNbSwitch *const *)a, *y = *(const CnNbSwitch *const *)b;
    int by_name = strcmp(x->name, y->name);
    return by_name ? by_name : strcmp(x->uuid, y->uuid);
}

static gint compare_dhcp(gconstpointer a, gconstpointer b)
{
    return strcmp((*(const CnNbDhcp *const *)a)->uuid, (*(const CnNbDhcp *const *)b)->uuid);
}

CnNbSnapshot *cn_nb_snapshot_parse(JsonArray *results, GError **error)
{
    g_autoptr(CnNbSnapshot) nb = cn_nb_snapshot_new();
    JsonArray *rows;
    if (!(rows = rows_of(results, 0, "Logical_Switch", error)) || !parse_switches(rows, nb, error) ||
        !(rows = rows_of(results, 1, "Logical_Switch_Port", error)) || !parse_ports(rows, nb, error) ||
        !(rows = rows_of(results, 2, "DHCP_Options", error)) || !parse_dhcp(rows, nb, error) ||
        !(rows = rows_of(results, 3, "DNS", error)) || !parse_dns(rows, nb, error))
        return NULL;
    /* Sorted, so that what is derived from it does not depend on the
     * server's order. */
    g_ptr_array_sort(nb->switches, compare_switches);
    g_ptr_array_sort(nb->dhcp, compare_dhcp);
    for (guint i = 0; i < nb->switches->len; i++) {
        const CnNbSwitch *ls = nb->switches->pdata[i];
        g_ptr_array_sort(ls->ports, (GCompareFunc)g_strcmp0);
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

const CnNbSwitch *cn_nb_find_switch(const CnNbSnapshot *nb, const char *name)
{
    for (guint i = 0; i < nb->switches->len; i++) {
        const CnNbSwitch *ls = nb->switches->pdata[i];
        if (strcmp(ls->name, name) == 0)
            return ls;
    }
    return NULL;
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
