/* ovsdb-json.c - RFC 7047 values and operations over json-glib. */
#include <string.h>

#include "ovsdb-json.h"

G_DEFINE_QUARK(cn-ovsdb-error-quark, cn_ovsdb_error)

JsonNode *cn_ovsdb_string(const char *value)
{
    JsonNode *node = json_node_new(JSON_NODE_VALUE);
    json_node_set_string(node, value);
    return node;
}

static JsonNode *pair(const char *tag, JsonNode *value)
{
    JsonArray *array = json_array_new();
    json_array_add_string_element(array, tag);
    json_array_add_element(array, value);
    JsonNode *node = json_node_init_array(json_node_alloc(), array);
    json_array_unref(array);
    return node;
}

static JsonNode *take_array(JsonArray *array)
{
    JsonNode *node = json_node_init_array(json_node_alloc(), array);
    json_array_unref(array);
    return node;
}

static JsonNode *take_object(JsonObject *object)
{
    JsonNode *node = json_node_init_object(json_node_alloc(), object);
    json_object_unref(object);
    return node;
}

JsonNode *cn_ovsdb_uuid(const char *uuid)
{
    return pair("uuid", cn_ovsdb_string(uuid));
}

JsonNode *cn_ovsdb_named_uuid(const char *name)
{
    return pair("named-uuid", cn_ovsdb_string(name));
}

JsonNode *cn_ovsdb_set(GPtrArray *nodes)
{
    JsonArray *members = json_array_new();
    gsize n = 0;
    g_autofree gpointer *items = nodes ? g_ptr_array_steal(nodes, &n) : NULL;
    for (gsize i = 0; i < n; i++)
        json_array_add_element(members, items[i]);
    return pair("set", take_array(members));
}

JsonNode *cn_ovsdb_string_set(GPtrArray *strings)
{
    g_autoptr(GPtrArray) nodes = g_ptr_array_new();
    for (guint i = 0; strings && i < strings->len; i++)
        g_ptr_array_add(nodes, cn_ovsdb_string(strings->pdata[i]));
    return cn_ovsdb_set(nodes);
}

static gint compare_strings(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

GPtrArray *cn_ovsdb_sorted_keys(GHashTable *map)
{
    GPtrArray *keys = g_ptr_array_new();
    GHashTableIter iter;
    gpointer key;
    g_hash_table_iter_init(&iter, map);
    while (g_hash_table_iter_next(&iter, &key, NULL))
        g_ptr_array_add(keys, key);
    g_ptr_array_sort(keys, compare_strings);
    return keys;
}

JsonNode *cn_ovsdb_string_map(GHashTable *map)
{
    g_autoptr(GPtrArray) keys = map ? cn_ovsdb_sorted_keys(map) : g_ptr_array_new();
    JsonArray *entries = json_array_new();
    for (guint i = 0; i < keys->len; i++) {
        JsonArray *entry = json_array_new();
        json_array_add_string_element(entry, keys->pdata[i]);
        json_array_add_string_element(entry, g_hash_table_lookup(map, keys->pdata[i]));
        json_array_add_array_element(entries, entry);
    }
    return pair("map", take_array(entries));
}

static JsonObject *op_new(const char *op, const char *table)
{
    JsonObject *object = json_object_new();
    json_object_set_string_member(object, "op", op);
    if (table)
        json_object_set_string_member(object, "table", table);
    return object;
}

/* [["_uuid", "==", ["uuid", UUID]]] */
static JsonNode *where_uuid(const char *uuid)
{
    JsonArray *condition = json_array_new();
    json_array_add_string_element(condition, "_uuid");
    json_array_add_string_element(condition, "==");
    json_array_add_element(condition, cn_ovsdb_uuid(uuid));
    JsonArray *where = json_array_new();
    json_array_add_array_element(where, condition);
    return take_array(where);
}

JsonNode *cn_ovsdb_op_insert(const char *table, const char *uuid_name, JsonObject *row)
{
    JsonObject *op = op_new("insert", table);
    json_object_set_object_member(op, "row", row);
    if (uuid_name)
        json_object_set_string_member(op, "uuid-name", uuid_name);
    return take_object(op);
}

JsonNode *cn_ovsdb_op_update(const char *table, const char *uuid, JsonObject *row)
{
    JsonObject *op = op_new("update", table);
    json_object_set_member(op, "where", where_uuid(uuid));
    json_object_set_object_member(op, "row", row);
    return take_object(op);
}

JsonNode *cn_ovsdb_op_delete(const char *table, const char *uuid)
{
    JsonObject *op = op_new("delete", table);
    json_object_set_member(op, "where", where_uuid(uuid));
    return take_object(op);
}

JsonNode *cn_ovsdb_op_mutate(const char *table, const char *uuid, const char *column, const char *mutator,
                             JsonNode *value)
{
    JsonObject *op = op_new("mutate", table);
    json_object_set_member(op, "where", where_uuid(uuid));
    JsonArray *mutation = json_array_new();
    json_array_add_string_element(mutation, column);
    json_array_add_string_element(mutation, mutator);
    json_array_add_element(mutation, value);
    JsonArray *mutations = json_array_new();
    json_array_add_array_element(mutations, mutation);
    json_object_set_array_member(op, "mutations", mutations);
    return take_object(op);
}

static JsonNode *wait_op(const char *table, JsonNode *where, const char *column, JsonArray *rows)
{
    JsonObject *op = op_new("wait", table);
    json_object_set_int_member(op, "timeout", 0);
    json_object_set_member(op, "where", where);
    JsonArray *columns = json_array_new();
    json_array_add_string_element(columns, column);
    json_object_set_array_member(op, "columns", columns);
    json_object_set_string_member(op, "until", "==");
    json_object_set_array_member(op, "rows", rows);
    return take_object(op);
}

JsonNode *cn_ovsdb_op_wait_column(const char *table, const char *uuid, const char *column, JsonNode *value)
{
    JsonObject *row = json_object_new();
    json_object_set_member(row, column, value);
    JsonArray *rows = json_array_new();
    json_array_add_object_element(rows, row);
    return wait_op(table, where_uuid(uuid), column, rows);
}

JsonNode *cn_ovsdb_op_wait_no_name(const char *table, const char *name)
{
    JsonArray *condition = json_array_new();
    json_array_add_string_element(condition, "name");
    json_array_add_string_element(condition, "==");
    json_array_add_string_element(condition, name);
    JsonArray *where = json_array_new();
    json_array_add_array_element(where, condition);
    return wait_op(table, take_array(where), "name", json_array_new());
}

static JsonNode *select_where(const char *table, JsonArray *where, const char *const *columns)
{
    JsonObject *op = op_new("select", table);
    json_object_set_array_member(op, "where", where);
    JsonArray *list = json_array_new();
    for (gsize i = 0; columns[i]; i++)
        json_array_add_string_element(list, columns[i]);
    json_object_set_array_member(op, "columns", list);
    return take_object(op);
}

JsonNode *cn_ovsdb_op_select_all(const char *table, const char *const *columns)
{
    return select_where(table, json_array_new(), columns);
}

JsonNode *cn_ovsdb_op_select_named(const char *table, const char *name, const char *const *columns)
{
    JsonArray *condition = json_array_new();
    json_array_add_string_element(condition, "name");
    json_array_add_string_element(condition, "==");
    json_array_add_string_element(condition, name);
    JsonArray *where = json_array_new();
    json_array_add_array_element(where, condition);
    return select_where(table, where, columns);
}

JsonNode *cn_ovsdb_op_comment(const char *text)
{
    JsonObject *op = op_new("comment", NULL);
    json_object_set_string_member(op, "comment", text);
    return take_object(op);
}

/* Readers */

static gboolean bad_column(const char *table, const char *column, const char *expected, GError **error)
{
    g_set_error(error, CN_OVSDB_ERROR, CN_OVSDB_ERROR_PROTOCOL, "%s row: column %s is not %s", table, column,
                expected);
    return FALSE;
}

static JsonNode *column_of(JsonObject *row, const char *table, const char *column, GError **error)
{
    JsonNode *node = json_object_get_member(row, column);
    if (!node)
        g_set_error(error, CN_OVSDB_ERROR, CN_OVSDB_ERROR_PROTOCOL, "%s row without column %s", table, column);
    return node;
}

static const char *string_of(JsonNode *node)
{
    if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_STRING)
        return NULL;
    return json_node_get_string(node);
}

/* ["TAG", VALUE]: VALUE, else NULL. */
static JsonNode *tagged(JsonNode *node, const char *tag)
{
    if (!JSON_NODE_HOLDS_ARRAY(node))
        return NULL;
    JsonArray *array = json_node_get_array(node);
    if (json_array_get_length(array) != 2)
        return NULL;
    const char *head = string_of(json_array_get_element(array, 0));
    return head && strcmp(head, tag) == 0 ? json_array_get_element(array, 1) : NULL;
}

static const char *uuid_of(JsonNode *node)
{
    JsonNode *value = tagged(node, "uuid");
    const char *uuid = value ? string_of(value) : NULL;
    return uuid && strlen(uuid) == 36 ? uuid : NULL;
}

gboolean cn_ovsdb_row_string(JsonObject *row, const char *table, const char *column, char **out, GError **error)
{
    JsonNode *node = column_of(row, table, column, error);
    if (!node)
        return FALSE;
    const char *value = string_of(node);
    if (!value)
        return bad_column(table, column, "a string", error);
    *out = g_strdup(value);
    return TRUE;
}

gboolean cn_ovsdb_row_uuid(JsonObject *row, const char *table, const char *column, char **out, GError **error)
{
    JsonNode *node = column_of(row, table, column, error);
    if (!node)
        return FALSE;
    const char *uuid = uuid_of(node);
    if (!uuid)
        return bad_column(table, column, "a uuid", error);
    *out = g_strdup(uuid);
    return TRUE;
}

gboolean cn_ovsdb_row_set(JsonObject *row, const char *table, const char *column, const char *kind,
                          GPtrArray *out, GError **error)
{
    JsonNode *node = column_of(row, table, column, error);
    if (!node)
        return FALSE;
    gboolean uuids = strcmp(kind, "uuid") == 0;
    JsonNode *members = tagged(node, "set");
    if (!members) {
        /* A one-element set may come as the atom alone. */
        const char *atom = uuids ? uuid_of(node) : string_of(node);
        if (!atom)
            return bad_column(table, column, uuids ? "a set of uuids" : "a set of strings", error);
        g_ptr_array_add(out, g_strdup(atom));
        return TRUE;
    }
    if (!JSON_NODE_HOLDS_ARRAY(members))
        return bad_column(table, column, "a set", error);
    JsonArray *array = json_node_get_array(members);
    for (guint i = 0; i < json_array_get_length(array); i++) {
        JsonNode *member = json_array_get_element(array, i);
        const char *atom = uuids ? uuid_of(member) : string_of(member);
        if (!atom)
            return bad_column(table, column, uuids ? "a set of uuids" : "a set of strings", error);
        g_ptr_array_add(out, g_strdup(atom));
    }
    return TRUE;
}

gboolean cn_ovsdb_row_optional_uuid(JsonObject *row, const char *table, const char *column, char **out,
                                    GError **error)
{
    g_autoptr(GPtrArray) uuids = g_ptr_array_new_with_free_func(g_free);
    if (!cn_ovsdb_row_set(row, table, column, "uuid", uuids, error))
        return FALSE;
    if (uuids->len > 1)
        return bad_column(table, column, "an optional uuid", error);
    *out = uuids->len ? g_strdup(uuids->pdata[0]) : NULL;
    return TRUE;
}

gboolean cn_ovsdb_row_optional_string(JsonObject *row, const char *table, const char *column, char **out,
                                      GError **error)
{
    g_autoptr(GPtrArray) strings = g_ptr_array_new_with_free_func(g_free);
    if (!cn_ovsdb_row_set(row, table, column, "string", strings, error))
        return FALSE;
    if (strings->len > 1)
        return bad_column(table, column, "an optional string", error);
    *out = strings->len ? g_strdup(strings->pdata[0]) : NULL;
    return TRUE;
}

gboolean cn_ovsdb_row_integer(JsonObject *row, const char *table, const char *column, gint64 *out, GError **error)
{
    JsonNode *node = column_of(row, table, column, error);
    if (!node)
        return FALSE;
    if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_INT64)
        return bad_column(table, column, "an integer", error);
    *out = json_node_get_int(node);
    return TRUE;
}

gboolean cn_ovsdb_row_map(JsonObject *row, const char *table, const char *column, GHashTable *out, GError **error)
{
    JsonNode *node = column_of(row, table, column, error);
    if (!node)
        return FALSE;
    JsonNode *entries = tagged(node, "map");
    if (!entries || !JSON_NODE_HOLDS_ARRAY(entries))
        return bad_column(table, column, "a map", error);
    JsonArray *array = json_node_get_array(entries);
    for (guint i = 0; i < json_array_get_length(array); i++) {
        JsonNode *entry = json_array_get_element(array, i);
        JsonArray *kv = JSON_NODE_HOLDS_ARRAY(entry) ? json_node_get_array(entry) : NULL;
        const char *key = kv && json_array_get_length(kv) == 2 ? string_of(json_array_get_element(kv, 0)) : NULL;
        const char *value = key ? string_of(json_array_get_element(kv, 1)) : NULL;
        if (!value)
            return bad_column(table, column, "a map of strings", error);
        g_hash_table_insert(out, g_strdup(key), g_strdup(value));
    }
    return TRUE;
}

char *cn_ovsdb_to_text(JsonNode *node, gboolean pretty)
{
    g_autoptr(JsonGenerator) generator = json_generator_new();
    json_generator_set_pretty(generator, pretty);
    json_generator_set_indent(generator, 2);
    json_generator_set_root(generator, node);
    return json_generator_to_data(generator, NULL);
}
