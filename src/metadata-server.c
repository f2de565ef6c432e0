/* metadata-server.c - see metadata-server.h */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <gio/gio.h>
#include <libsoup/soup.h>

#include "metadata-server.h"
#include "netaddr.h"
#include "outbound.h"
#include "state.h"

/* --- the snapshot ------------------------------------------------------------ */

struct CnMetadataSnapshot {
    gint refs;
    CnSite *site;
    CnMetadataIndex *index;
    GHashTable *files; /* machine name -> CnMetadataFiles* */
    char *run_dir;
};

/* DIR/NAME, at most CN_METADATA_FILE_MAX bytes; NULL when missing or
 * unusable (then WARNINGS says why). */
static GBytes *read_data_file(const char *dir, const char *name, GPtrArray *warnings)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    g_autoptr(GError) error = NULL;
    char *contents;
    gsize length;
    if (!g_file_test(path, G_FILE_TEST_EXISTS))
        return NULL;
    if (!g_file_get_contents(path, &contents, &length, &error)) {
        g_ptr_array_add(warnings, g_strdup_printf("%s: %s (left out)", path, error->message));
        return NULL;
    }
    if (length > CN_METADATA_FILE_MAX) {
        g_ptr_array_add(warnings, g_strdup_printf("%s: %zu bytes, more than %d (left out)", path, (size_t)length,
                                                  CN_METADATA_FILE_MAX));
        g_free(contents);
        return NULL;
    }
    return g_bytes_new_take(contents, length);
}

/* The first line of instance-id: 1-128 printable ASCII characters. */
static char *read_instance_id(const char *dir, GPtrArray *warnings)
{
    g_autoptr(GBytes) data = read_data_file(dir, "instance-id", warnings);
    if (!data)
        return NULL;
    gsize length;
    const char *text = g_bytes_get_data(data, &length);
    gsize end = 0;
    while (end < length && text[end] != '\n' && text[end] != '\r')
        end++;
    gboolean ok = end > 0 && end <= 128;
    for (gsize i = 0; ok && i < end; i++)
        ok = g_ascii_isgraph(text[i]);
    if (!ok) {
        g_ptr_array_add(warnings, g_strdup_printf("%s/instance-id: expected one line of 1-128 printable characters "
                                                  "without spaces (left out)", dir));
        return NULL;
    }
    return g_strndup(text, end);
}

CnMetadataSnapshot *cn_metadata_snapshot_new(CnSite *site, const char *data_dir, const char *run_dir,
                                             GPtrArray *warnings)
{
    CnMetadataSnapshot *snapshot = g_new0(CnMetadataSnapshot, 1);
    snapshot->refs = 1;
    snapshot->site = site;
    snapshot->index = cn_metadata_index_new(site);
    snapshot->files = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)cn_metadata_files_free);
    snapshot->run_dir = g_strdup(run_dir);
    for (guint i = 0; i < site->machines->len; i++) {
        const CnMachine *machine = site->machines->pdata[i];
        g_autofree char *dir = g_build_filename(data_dir, machine->name, NULL);
        if (!g_file_test(dir, G_FILE_TEST_IS_DIR))
            continue;
        CnMetadataFiles *files = g_new0(CnMetadataFiles, 1);
        files->user_data = read_data_file(dir, "user-data", warnings);
        files->vendor_data = read_data_file(dir, "vendor-data", warnings);
        files->instance_id = read_instance_id(dir, warnings);
        g_hash_table_insert(snapshot->files, machine->name, files);
    }
    return snapshot;
}

CnMetadataSnapshot *cn_metadata_snapshot_ref(CnMetadataSnapshot *snapshot)
{
    g_atomic_int_inc(&snapshot->refs);
    return snapshot;
}

void cn_metadata_snapshot_unref(CnMetadataSnapshot *snapshot)
{
    if (!snapshot || !g_atomic_int_dec_and_test(&snapshot->refs))
        return;
    g_hash_table_unref(snapshot->files);
    cn_metadata_index_free(snapshot->index);
    cn_site_free(snapshot->site);
    g_free(snapshot->run_dir);
    g_free(snapshot);
}

const CnSite *cn_metadata_snapshot_site(const CnMetadataSnapshot *snapshot)
{
    return snapshot->site;
}

/* The host's outbound address as last announced (outbound.h); 0 when
 * none is recorded. */
static uint32_t recorded_outbound(const char *run_dir)
{
    g_autofree char *text = NULL;
    gsize length;
    CnOutbound outbound = { 0 };
    if (run_dir && cn_runtime_read(run_dir, CN_OUTBOUND_FILE, &text, &length, NULL) && text)
        cn_outbound_parse(CN_OUTBOUND_FILE, text, length, &outbound, NULL);
    return outbound.address;
}

CnMetadataResult cn_metadata_snapshot_answer(const CnMetadataSnapshot *snapshot, const CnLink *link,
                                             uint32_t address, const char *path, GBytes **body,
                                             const char **content_type)
{
    uint32_t outbound = link->net && link->net->forward == CN_FORWARD_NAT ? recorded_outbound(snapshot->run_dir) : 0;
    CnMetadataGuest guest = {
        .link = link,
        .address = address,
        .public_address = cn_metadata_public_address(link, address, outbound),
        .files = g_hash_table_lookup(snapshot->files, link->machine_name),
    };
    return cn_metadata_document(&guest, path, body, content_type);
}

/* --- a byte limit per request: a pass-through GConverter ------------------- */

#define CN_TYPE_REQUEST_LIMIT (cn_request_limit_get_type())
G_DECLARE_FINAL_TYPE(CnRequestLimit, cn_request_limit, CN, REQUEST_LIMIT, GObject)

struct _CnRequestLimit {
    GObject parent;
    gsize limit, count;
};

static GConverterResult request_limit_convert(GConverter *converter, const void *in, gsize in_size, void *out,
                                              gsize out_size, GConverterFlags flags, gsize *bytes_read,
                                              gsize *bytes_written, GError **error)
{
    CnRequestLimit *self = CN_REQUEST_LIMIT(converter);
    gsize n = MIN(in_size, out_size);
    *bytes_read = *bytes_written = 0;
    if (n == 0) {
        if (flags & G_CONVERTER_INPUT_AT_END)
            return G_CONVERTER_FINISHED;
        if (flags & G_CONVERTER_FLUSH)
            return G_CONVERTER_FLUSHED;
        if (out_size == 0) {
            g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "no room");
            return G_CONVERTER_ERROR;
        }
        g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT, "more input needed");
        return G_CONVERTER_ERROR;
    }
    if (self->count + n > self->limit) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE, "request larger than %zu bytes",
                    (size_t)self->limit);
        return G_CONVERTER_ERROR;
    }
    memcpy(out, in, n);
    self->count += n;
    *bytes_read = *bytes_written = n;
    if ((flags & G_CONVERTER_INPUT_AT_END) && n == in_size)
        return G_CONVERTER_FINISHED;
    return G_CONVERTER_CONVERTED;
}

static void request_limit_reset(GConverter *converter)
{
    CN_REQUEST_LIMIT(converter)->count = 0;
}

static void request_limit_converter_init(GConverterIface *iface)
{
    iface->convert = request_limit_convert;
    iface->reset = request_limit_reset;
}

G_DEFINE_FINAL_TYPE_WITH_CODE(CnRequestLimit, cn_request_limit, G_TYPE_OBJECT,
                              G_IMPLEMENT_INTERFACE(G_TYPE_CONVERTER, request_limit_converter_init))

static void cn_request_limit_class_init(CnRequestLimitClass *klass)
{
}

static void cn_request_limit_init(CnRequestLimit *self)
{
}

/* --- the server ---------------------------------------------------------------- */

struct CnMetadataServer {
    CnMetadataLimits limits;
    CnMetadataSnapshot *snapshot;
    SoupServer *soup;
    GSocketService *service;
    GHashTable *connections; /* "ip:port" -> Connection* */
    GHashTable *per_guest;   /* "ip" -> count */
};

typedef struct {
    CnMetadataServer *server;
    GSocketConnection *socket_connection;
    CnRequestLimit *limit;
    char *key, *guest;
    guint timer;
} Connection;

static char *address_text(GSocketAddress *address, gboolean with_port)
{
    if (!G_IS_INET_SOCKET_ADDRESS(address))
        return g_strdup("?");
    GInetSocketAddress *inet = G_INET_SOCKET_ADDRESS(address);
    g_autofree char *ip = g_inet_address_to_string(g_inet_socket_address_get_address(inet));
    if (!with_port)
        return g_steal_pointer(&ip);
    return g_strdup_printf("%s:%u", ip, g_inet_socket_address_get_port(inet));
}

/* The IPv4 address of ADDRESS in host order; 0 when it has none. */
static uint32_t address_v4(GSocketAddress *address)
{
    g_autofree char *ip = address_text(address, FALSE);
    uint32_t v4 = 0;
    if (!cn_v4_parse(ip, &v4) && g_str_has_prefix(ip, "::ffff:"))
        cn_v4_parse(ip + 7, &v4);
    return v4;
}

/* Out of time: shut the socket down; libsoup sees the connection end and
 * lets go of it, which ends ours (connection_gone). */
static gboolean connection_timeout(gpointer data)
{
    Connection *connection = data;
    connection->timer = 0;
    g_socket_shutdown(g_socket_connection_get_socket(connection->socket_connection), TRUE, TRUE, NULL);
    return G_SOURCE_REMOVE;
}

static void connection_arm(Connection *connection)
{
    if (connection->timer)
        g_source_remove(connection->timer);
    connection->timer = g_timeout_add_seconds(connection->server->limits.timeout_seconds, connection_timeout,
                                              connection);
}

/* libsoup dropped the stream we gave it. */
static void connection_gone(gpointer data, GObject *stream)
{
    Connection *connection = data;
    CnMetadataServer *server = connection->server;
    if (connection->timer)
        g_source_remove(connection->timer);
    guint count = GPOINTER_TO_UINT(g_hash_table_lookup(server->per_guest, connection->guest));
    if (count > 1)
        g_hash_table_insert(server->per_guest, g_strdup(connection->guest), GUINT_TO_POINTER(count - 1));
    else
        g_hash_table_remove(server->per_guest, connection->guest);
    g_hash_table_remove(server->connections, connection->key);
    g_io_stream_close(G_IO_STREAM(connection->socket_connection), NULL, NULL);
    g_object_unref(connection->socket_connection);
    g_object_unref(connection->limit);
    g_free(connection->key);
    g_free(connection->guest);
    g_free(connection);
}

static gboolean incoming(GSocketService *service, GSocketConnection *socket_connection, GObject *source,
                         gpointer data)
{
    CnMetadataServer *server = data;
    g_autoptr(GSocketAddress) remote = g_socket_connection_get_remote_address(socket_connection, NULL);
    g_autoptr(GSocketAddress) local = g_socket_connection_get_local_address(socket_connection, NULL);
    if (!remote || !local)
        return TRUE; /* gone already; the service closes it */
    g_autofree char *guest = address_text(remote, FALSE);
    guint count = GPOINTER_TO_UINT(g_hash_table_lookup(server->per_guest, guest));
    if (g_hash_table_size(server->connections) >= server->limits.max_connections ||
        count >= server->limits.max_per_guest) {
        printf("%s - - - refused: %u connection(s) open, %u from this guest\n", guest,
               g_hash_table_size(server->connections), count);
        fflush(stdout);
        g_io_stream_close(G_IO_STREAM(socket_connection), NULL, NULL);
        return TRUE;
    }

    Connection *connection = g_new0(Connection, 1);
    connection->server = server;
    connection->socket_connection = g_object_ref(socket_connection);
    connection->limit = g_object_new(CN_TYPE_REQUEST_LIMIT, NULL);
    connection->limit->limit = server->limits.max_request_bytes;
    connection->key = address_text(remote, TRUE);
    connection->guest = g_steal_pointer(&guest);
    g_autoptr(GInputStream) input = g_converter_input_stream_new(
        g_io_stream_get_input_stream(G_IO_STREAM(socket_connection)), G_CONVERTER(connection->limit));
    g_autoptr(GIOStream) stream =
        g_simple_io_stream_new(input, g_io_stream_get_output_stream(G_IO_STREAM(socket_connection)));
    g_hash_table_insert(server->connections, connection->key, connection);
    g_hash_table_insert(server->per_guest, g_strdup(connection->guest), GUINT_TO_POINTER(count + 1));
    g_object_weak_ref(G_OBJECT(stream), connection_gone, connection);
    connection_arm(connection);
    g_autoptr(GError) error = NULL;
    if (!soup_server_accept_iostream(server->soup, stream, local, remote, &error)) {
        printf("%s - - - not accepted: %s\n", connection->guest, error->message);
        fflush(stdout);
    }
    return TRUE;
}

static Connection *message_connection(CnMetadataServer *server, SoupServerMessage *msg)
{
    g_autofree char *key = address_text(soup_server_message_get_remote_address(msg), TRUE);
    return g_hash_table_lookup(server->connections, key);
}

/* A response went out (or the request failed): the next request starts
 * with a fresh byte count and time limit. */
static void request_done(SoupServer *soup, SoupServerMessage *msg, gpointer data)
{
    Connection *connection = message_connection(data, msg);
    if (!connection)
        return;
    request_limit_reset(G_CONVERTER(connection->limit));
    connection_arm(connection);
}

static void respond(SoupServerMessage *msg, guint status, const char *content_type, GBytes *body)
{
    SoupMessageHeaders *headers = soup_server_message_get_response_headers(msg);
    soup_message_headers_replace(headers, "Cache-Control", "no-store");
    soup_message_headers_replace(headers, "Server", "carthage-net");
    /* libsoup 3.2 keeps a connection it did not accept itself for one
     * request only (keep-alive needs listeners of its own); say so. */
    soup_message_headers_replace(headers, "Connection", "close");
    if (!body) {
        const char *reason = soup_status_get_phrase(status);
        g_autofree char *text = g_strdup_printf("%u %s\n", status, reason ? reason : "");
        soup_server_message_set_status(msg, status, NULL);
        soup_server_message_set_response(msg, "text/plain; charset=utf-8", SOUP_MEMORY_COPY, text, strlen(text));
        return;
    }
    gsize length;
    const char *data = g_bytes_get_data(body, &length);
    soup_server_message_set_status(msg, status, NULL);
    soup_server_message_set_response(msg, content_type, SOUP_MEMORY_COPY, data, length);
}

static void handle(SoupServer *soup, SoupServerMessage *msg, const char *path, GHashTable *query, gpointer data)
{
    CnMetadataServer *server = data;
    const char *method = soup_server_message_get_method(msg);
    GSocketAddress *remote = soup_server_message_get_remote_address(msg);
    g_autofree char *peer = address_text(remote, FALSE);
    const CnLink *link = NULL;
    guint status;

    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Allow", "GET, HEAD");
        status = SOUP_STATUS_METHOD_NOT_ALLOWED;
        respond(msg, status, NULL, NULL);
    } else if (!(link = cn_metadata_index_lookup(server->snapshot->index, address_v4(remote),
                                                 address_v4(soup_server_message_get_local_address(msg))))) {
        status = SOUP_STATUS_FORBIDDEN; /* not a guest carthage-net knows */
        respond(msg, status, NULL, NULL);
    } else {
        g_autoptr(GBytes) body = NULL;
        const char *content_type = NULL;
        if (cn_metadata_snapshot_answer(server->snapshot, link, address_v4(remote), path, &body, &content_type) ==
            CN_METADATA_FOUND)
            status = SOUP_STATUS_OK;
        else
            status = SOUP_STATUS_NOT_FOUND;
        respond(msg, status, content_type, body);
    }
    /* One line per request: guest, machine, method, path, status. */
    printf("%s %s %s %s %u\n", peer, link ? link->machine_name : "-", method, path, status);
    fflush(stdout);
}

CnMetadataServer *cn_metadata_server_new(const CnMetadataLimits *limits, CnMetadataSnapshot *snapshot)
{
    CnMetadataServer *server = g_new0(CnMetadataServer, 1);
    server->limits = *limits;
    server->snapshot = snapshot;
    server->soup = soup_server_new("server-header", NULL, NULL);
    server->connections = g_hash_table_new(g_str_hash, g_str_equal);
    server->per_guest = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    soup_server_add_handler(server->soup, NULL, handle, server, NULL);
    g_signal_connect(server->soup, "request-finished", G_CALLBACK(request_done), server);
    g_signal_connect(server->soup, "request-aborted", G_CALLBACK(request_done), server);
    server->service = g_socket_service_new();
    g_signal_connect(server->service, "incoming", G_CALLBACK(incoming), server);
    return server;
}

void cn_metadata_server_free(CnMetadataServer *server)
{
    if (!server)
        return;
    g_socket_service_stop(server->service);
    g_socket_listener_close(G_SOCKET_LISTENER(server->service));
    g_object_unref(server->service);
    soup_server_disconnect(server->soup);
    g_object_unref(server->soup);
    g_hash_table_unref(server->connections);
    g_hash_table_unref(server->per_guest);
    cn_metadata_snapshot_unref(server->snapshot);
    g_free(server);
}

gboolean cn_metadata_server_listen(CnMetadataServer *server, uint32_t host, uint16_t port, GError **error)
{
    char host_text[CN_V4_STR_MAX];
    cn_v4_format(host, host_text);
    g_autoptr(GSocket) socket = g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, error);
    if (!socket)
        return FALSE;
    g_autoptr(GInetAddress) address = g_inet_address_new_from_string(host_text);
    g_autoptr(GSocketAddress) endpoint = g_inet_socket_address_new(address, port);
    if (!g_socket_set_option(socket, IPPROTO_IP, IP_FREEBIND, 1, error) ||
        !g_socket_bind(socket, endpoint, TRUE, error) || !g_socket_listen(socket, error) ||
        !g_socket_listener_add_socket(G_SOCKET_LISTENER(server->service), socket, NULL, error)) {
        g_prefix_error(error, "cannot listen on %s:%u: ", host_text, port);
        return FALSE;
    }
    g_socket_service_start(server->service);
    return TRUE;
}

void cn_metadata_server_set_snapshot(CnMetadataServer *server, CnMetadataSnapshot *snapshot)
{
    cn_metadata_snapshot_unref(server->snapshot);
    server->snapshot = snapshot;
}

guint cn_metadata_server_connections(const CnMetadataServer *server)
{
    return g_hash_table_size(server->connections);
}
