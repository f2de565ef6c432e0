/* ovsdb-client.c - JSON-RPC over a GIO stream. */
#include <gio/gio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "ovsdb-client.h"
#include "ovsdb-stream.h"

struct CnOvsdbClient {
    char *remote;
    const char *label; /* "northbound database", "Open vSwitch database": static */
    GIOStream *stream;
    GSocketConnection *connection; /* the socket under TLS */
    CnOvsdbFramer *framer;
    gint64 next_id;
};

const char *cn_ovsdb_client_remote(const CnOvsdbClient *client)
{
    return client->remote;
}

static GSocketAddress *unix_address(const char *path, GError **error)
{
    struct sockaddr_un address = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof address.sun_path) {
        g_set_error(error, CN_OVSDB_ERROR, CN_OVSDB_ERROR_CONNECT, "unix:%s: the socket's file name is too long", path);
        return NULL;
    }
    memcpy(address.sun_path, path, strlen(path) + 1);
    return g_socket_address_new_from_native(&address, sizeof address);
}

/* Accepts a server certificate the CA signed, whatever name it carries:
 * OVN's PKI (ovs-pki) names certificates by role, not by host. */
static gboolean accept_by_chain(GTlsConnection *conn, GTlsCertificate *peer, GTlsCertificateFlags errors,
                                gpointer database)
{
    GTlsCertificateFlags chain = g_tls_database_verify_chain(database, peer, G_TLS_DATABASE_PURPOSE_AUTHENTICATE_SERVER,
                                                             NULL, NULL, G_TLS_DATABASE_VERIFY_NONE, NULL, NULL);
    return chain == 0;
}

static GIOStream *start_tls(GSocketConnection *connection, const char *host, const CnOvsdbTls *tls, GError **error)
{
    if (!tls || !tls->private_key || !tls->certificate || !tls->ca_certificate) {
        g_set_error(error, CN_OVSDB_ERROR, CN_OVSDB_ERROR_CONNECT,
                    "ssl: needs ovn.private_key, ovn.certificate and ovn.ca_certificate");
        return NULL;
    }
    g_autoptr(GTlsCertificate) own = g_tls_certificate_new_from_files(tls->certificate, tls->private_key, error);
    if (!own) {
        g_prefix_error(error, "%s / %s: ", tls->certificate, tls->private_key);
        return NULL;
    }
    g_autoptr(GTlsDatabase) database = g_tls_file_database_new(tls->ca_certificate, error);
    if (!database) {
        g_prefix_error(error, "%s: ", tls->ca_certificate);
        return NULL;
    }
    g_autoptr(GSocketConnectable) identity = g_network_address_new(host, 0);
    GIOStream *stream = g_tls_client_connection_new(G_IO_STREAM(connection), identity, error);
    if (!stream)
        return NULL;
    g_tls_connection_set_certificate(G_TLS_CONNECTION(stream), own);
    /* The chain is checked in accept_by_chain against this CA alone. */
    g_tls_connection_set_database(G_TLS_CONNECTION(stream), NULL);
    g_signal_connect_data(stream, "accept-certificate", G_CALLBACK(accept_by_chain), g_object_ref(database),
                          (GClosureNotify)(void (*)(void))g_object_unref, 0);
    if (!g_tls_connection_handshake(G_TLS_CONNECTION(stream), NULL, error)) {
        g_object_unref(stream);
        return NULL;
    }
    return stream;
}

CnOvsdbClient *cn_ovsdb_connect(const char *text, const CnOvsdbTls *tls, GError **error)
{
    g_auto(CnOvsdbRemote) remote = { 0 };
    g_autofree char *why = NULL;
    if (!cn_ovsdb_remote_parse(text, &remote, &why)) {
        g_set_error(error, CN_OVSDB_ERROR, CN_OVSDB_ERROR_CONNECT, "%s", why);
        return NULL;
    }
    guint timeout = tls && tls->timeout_seconds ? tls->timeout_seconds : 30;
    const char *label = tls && tls->label ? tls->label : "northbound database";
    g_autoptr(GSocketClient) socket_client = g_socket_client_new();
    g_socket_client_set_timeout(socket_client, timeout);
    g_autoptr(GSocketConnection) connection = NULL;
    g_autoptr(GError) local = NULL;
    if (remote.transport == CN_OVSDB_UNIX) {
        g_autoptr(GSocketAddress) address = unix_address(remote.path, error);
        if (!address)
            return NULL;
        connection = g_socket_client_connect(socket_client, G_SOCKET_CONNECTABLE(address), NULL, &local);
    } else {
        connection = g_socket_client_connect_to_host(socket_client, remote.host, remote.port, NULL, &local);
    }
    if (!connection) {
        g_set_error(error, CN_OVSDB_ERROR, CN_OVSDB_ERROR_CONNECT, "%s %s: %s", label, text,
                    local->message);
        return NULL;
    }
    g_socket_set_timeout(g_socket_connection_get_socket(connection), timeout);
    GIOStream *stream = G_IO_STREAM(g_object_ref(connection));
    if (remote.transport == CN_OVSDB_SSL) {
        g_object_unref(stream);
        stream = start_tls(connection, remote.host, tls, &local);
        if (!stream) {
            g_set_error(error, CN_OVSDB_ERROR, CN_OVSDB_ERROR_CONNECT, "%s %s: TLS: %s", label, text,
                        local->message);
            return NULL;
        }
    }
    CnOvsdbClient *client = g_new0(CnOvsdbClient, 1);
    client->remote = g_strdup(text);
    client->label = label;
    client->stream = stream;
    client->connection = g_steal_pointer(&connection);
    client->framer = cn_ovsdb_framer_new(CN_OVSDB_MESSAGE_MAX);
    client->next_id = 1;
    return client;
}

void cn_ovsdb_close(CnOvsdbClient *client)
{
    if (!client)
        return;
    g_io_stream_close(client->stream, NULL, NULL);
    g_object_unref(client->stream);
    g_clear_object(&client->connection);
    cn_ovsdb_framer_free(client->framer);
    g_free(client->remote);
    g_free(client);
}

static gboolean send_node(CnOvsdbClient *client, JsonNode *node, GError **error)
{
    g_autofree char *text = cn_ovsdb_to_text(node, FALSE);
    GOutputStream *out = g_io_stream_get_output_stream(client->stream);
    g_autoptr(GError) local = NULL;
    if (!g_output_stream_write_all(out, text, strlen(text), NULL, NULL, &local)) {
        g_set_error(error, CN_OVSDB_ERROR, CN_OVSDB_ERROR_CONNECT, "%s %s: sending: %s",
                    client->label, client->remote, local->message);
        return FALSE;
    }
    return TRUE;
}

/* The next message from the server, parsed. */
static JsonNode *receive_node(CnOvsdbClient *client, GError **error)
{
    GInputStream *in = g_io_stream_get_input_stream(client->stream);
    for (;;) {
        g_autoptr(GError) local = NULL;
        g_autofree char *text = cn_ovsdb_framer_next(client->framer, &local);
        if (text) {
            g_autoptr(JsonParser) parser = json_parser_new();
            if (!json_parser_load_from_data(parser, text, -1, &local)) {
                g_set_error(error, CN_OVSDB_ERROR, CN_OVSDB_ERROR_PROTOCOL, "%s %s: %s",
                            client->label, client->remote, local->message);
                return NULL;
            }
            return json_node_copy(json_parser_get_root(parser));
        }
        if (local) {
            g_set_error(error, CN_OVSDB_ERROR, CN_OVSDB_ERROR_PROTOCOL, "%s %s: %s",
                        client->label, client->remote, local->message);
            return NULL;
        }
        char buffer[65536];
        gssize got = g_input_stream_read(in, buffer, sizeof buffer, NULL, &local);
        if (got <= 0) {
            g_set_error(error, CN_OVSDB_ERROR, CN_OVSDB_ERROR_CONNECT, "%s %s: %s",
                        client->label, client->remote, got == 0 ? "the server closed the connection" : local->message);
            return NULL;
        }
        cn_ovsdb_framer_feed(client->framer, buffer, (gsize)got);
    }
}

/* An echo request from the server: answered with its own params. */
static gboolean answer_echo(CnOvsdbClient *client, JsonObject *message, GError **error)
{
    JsonObject *reply = json_object_new();
    JsonNode *params = json_object_get_member(message, "params");
    json_object_set_member(reply, "result", params ? json_node_copy(params)
                                                   : json_node_init_array(json_node_alloc(), json_array_new()));
    json_object_set_null_member(reply, "error");
    JsonNode *id = json_object_get_member(message, "id");
    json_object_set_member(reply, "id", id ? json_node_copy(id) : json_node_new(JSON_NODE_NULL));
    g_autoptr(JsonNode) node = json_node_init_object(json_node_alloc(), reply);
    json_object_unref(reply);
    return send_node(client, node, error);
}

JsonNode *cn_ovsdb_transact_request(const char *db, GPtrArray *ops, gint64 id)
{
    JsonObject *request = json_object_new();
    json_object_set_string_member(request, "method", "transact");
    JsonArray *params = json_array_new();
    json_array_add_string_element(params, db);
    for (guint i = 0; i < ops->len; i++)
        json_array_add_element(params, json_node_copy(ops->pdata[i]));
    json_object_set_array_member(request, "params", params);
    json_object_set_int_member(request, "id", id);
    JsonNode *node = json_node_init_object(json_node_alloc(), request);
    json_object_unref(request);
    return node;
}

static const char *member_string(JsonObject *object, const char *name)
{
    JsonNode *node = json_object_get_member(object, name);
    if (!node || !JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_STRING)
        return NULL;
    return json_node_get_string(node);
}

JsonArray *cn_ovsdb_parse_transact_reply(JsonNode *reply, guint n_ops, GError **error)
{
    JsonObject *object = JSON_NODE_HOLDS_OBJECT(reply) ? json_node_get_object(reply) : NULL;
    JsonNode *error_node = object ? json_object_get_member(object, "error") : NULL;
    if (error_node && !JSON_NODE_HOLDS_NULL(error_node)) {
        g_autofree char *text = cn_ovsdb_to_text(error_node, FALSE);
        g_set_error(error, CN_OVSDB_ERROR, CN_OVSDB_ERROR_REFUSED, "the server refused the request: %s", text);
        return NULL;
    }
    JsonNode *result = object ? json_object_get_member(object, "result") : NULL;
    if (!result || !JSON_NODE_HOLDS_ARRAY(result)) {
        g_set_error(error, CN_OVSDB_ERROR, CN_OVSDB_ERROR_PROTOCOL, "a transact reply without a result array");
        return NULL;
    }
    JsonArray *results = json_node_get_array(result);
    guint n = json_array_get_length(results);
    /* Operation results, then perhaps one more: an error of the commit. */
    for (guint i = 0; i < n; i++) {
        JsonNode *each = json_array_get_element(results, i);
        JsonObject *op = JSON_NODE_HOLDS_OBJECT(each) ? json_node_get_object(each) : NULL;
        const char *what = op ? member_string(op, "error") : NULL;
        if (!what)
            continue;
        const char *details = member_string(op, "details");
        gboolean conflict = i < n_ops && strcmp(what, "timed out") == 0;
        g_set_error(error, CN_OVSDB_ERROR, conflict ? CN_OVSDB_ERROR_CONFLICT : CN_OVSDB_ERROR_REFUSED,
                    "%s%s%s%s", i < n_ops ? "" : "commit: ", what, details ? ": " : "", details ? details : "");
        return NULL;
    }
    if (n < n_ops) {
        g_set_error(error, CN_OVSDB_ERROR, CN_OVSDB_ERROR_PROTOCOL, "a transact reply with %u results for %u operations",
                    n, n_ops);
        return NULL;
    }
    return json_array_ref(results);
}

JsonArray *cn_ovsdb_transact(CnOvsdbClient *client, const char *db, GPtrArray *ops, GError **error)
{
    gint64 id = client->next_id++;
    g_autoptr(JsonNode) request = cn_ovsdb_transact_request(db, ops, id);
    if (!send_node(client, request, error))
        return NULL;
    for (;;) {
        g_autoptr(JsonNode) message = receive_node(client, error);
        if (!message)
            return NULL;
        JsonObject *object = JSON_NODE_HOLDS_OBJECT(message) ? json_node_get_object(message) : NULL;
        if (!object) {
            g_set_error(error, CN_OVSDB_ERROR, CN_OVSDB_ERROR_PROTOCOL, "%s %s: a message that is not an object",
                        client->label, client->remote);
            return NULL;
        }
        const char *method = member_string(object, "method");
        if (method) {
            if (strcmp(method, "echo") == 0 && !answer_echo(client, object, error))
                return NULL;
            continue; /* notifications (update, locked...) are not ours */
        }
        JsonNode *id_node = json_object_get_member(object, "id");
        if (!id_node || !JSON_NODE_HOLDS_VALUE(id_node) || json_node_get_value_type(id_node) != G_TYPE_INT64 ||
            json_node_get_int(id_node) != id)
            continue; /* a reply to an echo of ours would be here; we send none */
        g_autoptr(GError) local = NULL;
        JsonArray *results = cn_ovsdb_parse_transact_reply(message, ops->len, &local);
        if (!results) {
            g_set_error(error, CN_OVSDB_ERROR, local->code, "%s %s: %s", client->label, client->remote,
                        local->message);
            return NULL;
        }
        return results;
    }
}
