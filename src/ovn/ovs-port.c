/* ovs-port.c - a port on this host's Open vSwitch, through its database. */
#include <string.h>

#include "ovs-port.h"
#include "ovsdb-client.h"

#define OVS_DB "Open_vSwitch"


/* The _uuid of each row of select result INDEX. */
static gboolean row_uuids(JsonArray *results, guint index, const char *table, GPtrArray *out, GError **error)
{
    JsonObject *result = json_array_get_object_element(results, index);
    JsonArray *rows = result && json_object_has_member(result, "rows") ? json_object_get_array_member(result, "rows")
                                                                      : NULL;
    for (guint i = 0; rows && i < json_array_get_length(rows); i++) {
        char *uuid = NULL;
        JsonNode *row = json_array_get_element(rows, i);
        if (!JSON_NODE_HOLDS_OBJECT(row) || !cn_ovsdb_row_uuid(json_node_get_object(row), table, "_uuid", &uuid, error))
            return FALSE;
        g_ptr_array_add(out, uuid);
    }
    if (!rows) {
        g_set_error(error, CN_OVSDB_ERROR, CN_OVSDB_ERROR_PROTOCOL, "the select of %s returned no rows array", table);
        return FALSE;
    }
    return TRUE;
}

/* Reads BRIDGE's uuid and the uuids of ports named NAME into *BRIDGE_UUID
 * and PORTS. */
static gboolean read_state(CnOvsdbClient *client, const char *bridge, const char *name, char **bridge_uuid,
                           GPtrArray *ports, GError **error)
{
    static const char *const columns[] = { "_uuid", NULL };
    g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
    g_ptr_array_add(ops, cn_ovsdb_op_select_named("Bridge", bridge, columns));
    g_ptr_array_add(ops, cn_ovsdb_op_select_named("Port", name, columns));
    g_autoptr(JsonArray) results = cn_ovsdb_transact(client, OVS_DB, ops, error);
    if (!results)
        return FALSE;
    g_autoptr(GPtrArray) bridges = g_ptr_array_new_with_free_func(g_free);
    if (!row_uuids(results, 0, "Bridge", bridges, error) || !row_uuids(results, 1, "Port", ports, error))
        return FALSE;
    if (bridges->len != 1) {
        g_set_error(error, CN_OVSDB_ERROR, CN_OVSDB_ERROR_REFUSED, "Open vSwitch database %s: no bridge %s (is "
                    "ovn-controller running on this host?)", cn_ovsdb_client_remote(client), bridge);
        return FALSE;
    }
    *bridge_uuid = g_strdup(bridges->pdata[0]);
    return TRUE;
}

/* Ports are not roots: taken off the bridge, they go (and their
 * interfaces with them). */
static void remove_ops(GPtrArray *ops, const char *bridge_uuid, GPtrArray *ports)
{
    if (ports->len == 0)
        return;
    g_autoptr(GPtrArray) refs = g_ptr_array_new();
    for (guint i = 0; i < ports->len; i++)
        g_ptr_array_add(refs, cn_ovsdb_uuid(ports->pdata[i]));
    g_ptr_array_add(ops, cn_ovsdb_op_mutate("Bridge", bridge_uuid, "ports", "delete", cn_ovsdb_set(refs)));
}

static gboolean change(const char *remote, const char *bridge, const char *name, const char *iface_id,
                       GError **error)
{
    const CnOvsdbTls options = { .label = "Open vSwitch database" };
    g_autoptr(CnOvsdbClient) client = cn_ovsdb_connect(remote, &options, error);
    if (!client)
        return FALSE;
    g_autofree char *bridge_uuid = NULL;
    g_autoptr(GPtrArray) ports = g_ptr_array_new_with_free_func(g_free);
    if (!read_state(client, bridge, name, &bridge_uuid, ports, error))
        return FALSE;
    g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
    remove_ops(ops, bridge_uuid, ports);
    if (iface_id) {
        JsonObject *iface = json_object_new();
        json_object_set_string_member(iface, "name", name);
        g_autoptr(GHashTable) ids = g_hash_table_new(g_str_hash, g_str_equal);
        g_hash_table_insert(ids, (gpointer) "iface-id", (gpointer)iface_id);
        json_object_set_member(iface, "external_ids", cn_ovsdb_string_map(ids));
        g_ptr_array_add(ops, cn_ovsdb_op_insert("Interface", "iface", iface));
        JsonObject *port = json_object_new();
        json_object_set_string_member(port, "name", name);
        g_autoptr(GPtrArray) interfaces = g_ptr_array_new();
        g_ptr_array_add(interfaces, cn_ovsdb_named_uuid("iface"));
        json_object_set_member(port, "interfaces", cn_ovsdb_set(interfaces));
        g_ptr_array_add(ops, cn_ovsdb_op_insert("Port", "port", port));
        g_autoptr(GPtrArray) refs = g_ptr_array_new();
        g_ptr_array_add(refs, cn_ovsdb_named_uuid("port"));
        g_ptr_array_add(ops, cn_ovsdb_op_mutate("Bridge", bridge_uuid, "ports", "insert", cn_ovsdb_set(refs)));
    }
    if (ops->len == 0)
        return TRUE;
    g_autoptr(JsonArray) results = cn_ovsdb_transact(client, OVS_DB, ops, error);
    return results != NULL;
}

gboolean cn_ovs_port_add(const char *remote, const char *bridge, const char *name, const char *iface_id,
                         GError **error)
{
    return change(remote, bridge, name, iface_id, error);
}

gboolean cn_ovs_port_remove(const char *remote, const char *bridge, const char *name, GError **error)
{
    return change(remote, bridge, name, NULL, error);
}
