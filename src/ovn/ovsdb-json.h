/* ovsdb-json.h - RFC 7047's values and operations, as json-glib nodes.
 *
 * Values: atoms (strings, integers), ["uuid", U], ["named-uuid", N],
 * ["set", [...]] (a one-element set may also come as the atom alone) and
 * ["map", [[K, V], ...]].  Readers take a row (a JSON object) as a
 * select returns it and fail, naming the table and column, on anything
 * else.  Maps are written sorted by key, so a transaction is a function of
 * its inputs.  Pure. */
#pragma once

#include <json-glib/json-glib.h>

#define CN_OVSDB_ERROR (cn_ovsdb_error_quark())
GQuark cn_ovsdb_error_quark(void);

typedef enum {
    CN_OVSDB_ERROR_PROTOCOL, /* the server said something RFC 7047 does not */
    CN_OVSDB_ERROR_REFUSED,  /* the server refused a request or an operation */
    CN_OVSDB_ERROR_CONFLICT, /* a wait operation failed: someone changed what we read */
    CN_OVSDB_ERROR_CONNECT,  /* cannot reach the server */
} CnOvsdbError;

/* Values. */
JsonNode *cn_ovsdb_string(const char *value);
JsonNode *cn_ovsdb_uuid(const char *uuid);
JsonNode *cn_ovsdb_named_uuid(const char *name);
/* ["set", [...]] of NODES (taken); NULL or empty: the empty set. */
JsonNode *cn_ovsdb_set(GPtrArray *nodes);
JsonNode *cn_ovsdb_string_set(GPtrArray *strings);
/* ["map", ...] of a string -> string table, sorted by key. */
JsonNode *cn_ovsdb_string_map(GHashTable *map);

/* Operations (the objects of a transact's params). */
JsonNode *cn_ovsdb_op_insert(const char *table, const char *uuid_name, JsonObject *row);
JsonNode *cn_ovsdb_op_update(const char *table, const char *uuid, JsonObject *row);
JsonNode *cn_ovsdb_op_delete(const char *table, const char *uuid);
/* MUTATOR "insert" or "delete" of VALUE (taken) into COLUMN of row UUID. */
JsonNode *cn_ovsdb_op_mutate(const char *table, const char *uuid, const char *column, const char *mutator,
                             JsonNode *value);
/* Fails the transaction unless COLUMN of row UUID still equals VALUE
 * (taken); with UUID NULL, unless no row has column "name" == NAME. */
JsonNode *cn_ovsdb_op_wait_column(const char *table, const char *uuid, const char *column, JsonNode *value);
JsonNode *cn_ovsdb_op_wait_no_name(const char *table, const char *name);
JsonNode *cn_ovsdb_op_select_all(const char *table, const char *const *columns);
/* The rows of TABLE whose column "name" is NAME (COLUMNS NULL-terminated). */
JsonNode *cn_ovsdb_op_select_named(const char *table, const char *name, const char *const *columns);
JsonNode *cn_ovsdb_op_comment(const char *text);

/* Readers: a row's column.  Missing columns are errors. */
gboolean cn_ovsdb_row_string(JsonObject *row, const char *table, const char *column, char **out, GError **error);
gboolean cn_ovsdb_row_uuid(JsonObject *row, const char *table, const char *column, char **out, GError **error);
/* A set of strings or of uuids (KIND "string" or "uuid"): char* into OUT. */
gboolean cn_ovsdb_row_set(JsonObject *row, const char *table, const char *column, const char *kind,
                          GPtrArray *out, GError **error);
/* An optional uuid (a set of zero or one): *OUT NULL when empty. */
gboolean cn_ovsdb_row_optional_uuid(JsonObject *row, const char *table, const char *column, char **out,
                                    GError **error);
/* An optional string (a set of zero or one): *OUT NULL when empty. */
gboolean cn_ovsdb_row_optional_string(JsonObject *row, const char *table, const char *column, char **out,
                                      GError **error);
gboolean cn_ovsdb_row_integer(JsonObject *row, const char *table, const char *column, gint64 *out, GError **error);
/* A string -> string map into OUT. */
gboolean cn_ovsdb_row_map(JsonObject *row, const char *table, const char *column, GHashTable *out, GError **error);

/* MAP's keys (borrowed), sorted. */
GPtrArray *cn_ovsdb_sorted_keys(GHashTable *map);

/* The text of NODE, compact or indented (two spaces). */
char *cn_ovsdb_to_text(JsonNode *node, gboolean pretty);
