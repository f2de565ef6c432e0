/* metadata-server.c - see metadata-server.h */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <libsoup/soup.h>

#include "metadata-limiter.h"
#include "metadata-request.h"
#include "metadata-server.h"
#include "netaddr.h"
#include "nft.h"
#include "outbound.h"
#include "state.h"

/* --- the server ---------------------------------------------------------------- */

#define LOG_WINDOW_USEC (10 * G_USEC_PER_SEC)
/* 127.254.0.0/16: the stand-ins of user-mode guests' sockets. */
#define CN_STAND_IN_NET 0x7ffeu
#define LOG_PATH_MAX 200

struct CnMetadataServer {
    CnMetadataLimits limits;
    CnMetadataSnapshot *snapshot;
    CnMetadataTokenKey token_key;
    SoupServer *soup;
    GSocketService *service;
    GHashTable *connections; /* "local remote" (ip:port each) -> Connection*, while libsoup has it */
    GHashTable *per_guest;   /* "local-ip remote-ip" -> open connections */
    GHashTable *log_budget;  /* "remote-ip" -> LogBudget* */
    GHashTable *event_budget; /* "remote-ip" -> LogBudget*: refusal events */
    CnMetadataRefusalFunc on_refusal;
    gpointer on_refusal_data;
    GHashTable *waiters;      /* SoupServerMessage* -> Waiter*: long-polls held */
    guint open;              /* connections from accept to finish */
    char *ovn_network;       /* the OVN network whose chassis end this serves, NULL: none */
    CnMetadataOvnVerify ovn_verify;
    gpointer ovn_verify_data;
    /* User-mode guests (listen_unix): a connection to a machine's UNIX
     * socket is handed to libsoup with made-up IPv4 addresses (libsoup
     * takes every address for an inet one), the local one standing for
     * the socket: 127.254.X.Y:80, one per socket. */
    GHashTable *socket_stand_in; /* UNIX socket path -> GUINT (127.254.X.Y) */
    GHashTable *stand_in_machine; /* GUINT (127.254.X.Y) -> machine name */
    guint next_stand_in;
    guint unix_serial;           /* the made-up remote port */
};

typedef struct {
    gint64 window_start;
    guint lines, suppressed;
} LogBudget;

/* A connection lives from accept until the guest has closed its side after
 * the response, or the time limit: libsoup lets go of it as soon as the
 * response is in the kernel's buffer, and counting it only until then would
 * let a guest that never reads hold any number of connections (and their
 * buffered responses). */
typedef struct {
    CnMetadataServer *server;
    GSocketConnection *socket_connection;
    GSocket *socket; /* borrowed from socket_connection */
    CnRequestLimit *limit;
    char *key, *guest;
    guint timer;
    GSource *drain;      /* after libsoup: waiting for the guest to close */
    gboolean soup_done;  /* libsoup let go of it */
    gboolean timed_out;
} Connection;

/* The path of a named UNIX socket address, else NULL. */
static const char *unix_path(GSocketAddress *address)
{
    if (!G_IS_UNIX_SOCKET_ADDRESS(address))
        return NULL;
    GUnixSocketAddress *unix_address = G_UNIX_SOCKET_ADDRESS(address);
    if (g_unix_socket_address_get_address_type(unix_address) != G_UNIX_SOCKET_ADDRESS_PATH)
        return NULL;
    return g_unix_socket_address_get_path(unix_address);
}

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

/* The IPv4 address (host order) and port of ADDRESS; 0 when not IPv4. */
static uint32_t address_v4(GSocketAddress *address, uint16_t *port)
{
    if (port)
        *port = 0;
    if (!G_IS_INET_SOCKET_ADDRESS(address))
        return 0;
    GInetSocketAddress *inet = G_INET_SOCKET_ADDRESS(address);
    GInetAddress *ip = g_inet_socket_address_get_address(inet);
    if (g_inet_address_get_family(ip) != G_SOCKET_FAMILY_IPV4)
        return 0;
    const guint8 *bytes = g_inet_address_to_bytes(ip);
    if (port)
        *port = g_inet_socket_address_get_port(inet);
    return (uint32_t)bytes[0] << 24 | (uint32_t)bytes[1] << 16 | (uint32_t)bytes[2] << 8 | bytes[3];
}

static char *connection_key(GSocketAddress *local, GSocketAddress *remote, gboolean with_ports)
{
    g_autofree char *local_text = address_text(local, with_ports);
    g_autofree char *remote_text = address_text(remote, with_ports);
    return g_strconcat(local_text, " ", remote_text, NULL);
}

static char *path_for_log(const char *path);

/* Whether GUEST may have one more of BURST lines (or events) in this
 * 10 s window of BUDGETS; *SUPPRESSED gets how many it was refused since
 * its last one. */
static gboolean budget_take(GHashTable *budgets, const char *guest, guint burst, guint *suppressed)
{
    gint64 now = g_get_monotonic_time();
    if (g_hash_table_size(budgets) > 4096) {
        GHashTableIter iter;
        gpointer value;
        g_hash_table_iter_init(&iter, budgets);
        while (g_hash_table_iter_next(&iter, NULL, &value))
            if (now - ((LogBudget *)value)->window_start > LOG_WINDOW_USEC && !((LogBudget *)value)->suppressed)
                g_hash_table_iter_remove(&iter);
    }
    LogBudget *budget = g_hash_table_lookup(budgets, guest);
    if (!budget) {
        budget = g_new0(LogBudget, 1);
        budget->window_start = now;
        g_hash_table_insert(budgets, g_strdup(guest), budget);
    }
    if (now - budget->window_start > LOG_WINDOW_USEC) {
        budget->window_start = now;
        budget->lines = 0;
    }
    if (++budget->lines > burst) {
        budget->suppressed++;
        return FALSE;
    }
    if (suppressed)
        *suppressed = budget->suppressed;
    budget->suppressed = 0;
    return TRUE;
}

/* A log line about GUEST, unless it has had its share of this window. */
static void G_GNUC_PRINTF(3, 4) log_guest(CnMetadataServer *server, const char *guest, const char *format, ...)
{
    guint suppressed = 0;
    if (!budget_take(server->log_budget, guest, server->limits.log_burst, &suppressed))
        return;
    if (suppressed)
        printf("%s - - - %u more line(s) not logged\n", guest, suppressed);
    va_list args;
    va_start(args, format);
    vprintf(format, args);
    va_end(args);
    fflush(stdout);
}

/* A refusal for the events, at most CN_METADATA_REFUSAL_BURST per guest
 * per 10 s; the next one that goes out counts those that did not. */
static void report_refusal(CnMetadataServer *server, const char *guest, const CnLink *link, const char *method,
                           const char *path, guint status, const char *reason)
{
    guint suppressed = 0;
    if (!server->on_refusal || !budget_take(server->event_budget, guest, CN_METADATA_REFUSAL_BURST, &suppressed))
        return;
    g_autofree char *shown_method = method ? path_for_log(method) : NULL;
    g_autofree char *shown_path = path ? path_for_log(path) : NULL;
    const CnMetadataRefusal refusal = { guest, link, shown_method, shown_path, status, reason, suppressed };
    server->on_refusal(&refusal, server->on_refusal_data);
}

/* PATH as the log shows it: printable ASCII, everything else \xNN, so
 * that a guest cannot write lines of its own into the log. */
static char *path_for_log(const char *path)
{
    GString *out = g_string_new(NULL);
    for (const unsigned char *c = (const unsigned char *)path; *c && out->len < LOG_PATH_MAX; c++) {
        if (*c > 0x20 && *c < 0x7f && *c != '\\')
            g_string_append_c(out, (char)*c);
        else
            g_string_append_printf(out, "\\x%02x", *c);
    }
    if (out->len >= LOG_PATH_MAX)
        g_string_append(out, "...");
    return g_string_free(out, FALSE);
}

static void connection_finish(Connection *connection, gboolean discard)
{
    CnMetadataServer *server = connection->server;
    if (connection->timer)
        g_source_remove(connection->timer);
    if (connection->drain) {
        g_source_destroy(connection->drain);
        g_source_unref(connection->drain);
    }
    if (discard) {
        /* What the guest did not read goes, with a reset, not a FIN queued
         * behind it. */
        struct linger linger = { 1, 0 };
        setsockopt(g_socket_get_fd(connection->socket), SOL_SOCKET, SO_LINGER, &linger, sizeof linger);
    }
    server->open--;
    guint count = GPOINTER_TO_UINT(g_hash_table_lookup(server->per_guest, connection->guest));
    if (count > 1)
        g_hash_table_insert(server->per_guest, g_strdup(connection->guest), GUINT_TO_POINTER(count - 1));
    else
        g_hash_table_remove(server->per_guest, connection->guest);
    g_io_stream_close(G_IO_STREAM(connection->socket_connection), NULL, NULL);
    g_object_unref(connection->socket_connection);
    g_object_unref(connection->limit);
    g_free(connection->key);
    g_free(connection->guest);
    g_free(connection);
}

/* Out of time: while libsoup has the connection, shut the socket down
 * (libsoup sees it end and lets go: connection_gone finishes); after, drop
 * it and what is still unsent. */
static gboolean connection_timeout(gpointer data)
{
    Connection *connection = data;
    connection->timer = 0;
    connection->timed_out = TRUE;
    if (connection->soup_done)
        connection_finish(connection, TRUE);
    else
        g_socket_shutdown(connection->socket, TRUE, TRUE, NULL);
    return G_SOURCE_REMOVE;
}

/* After the response: read (and drop) until the guest closes. */
static gboolean connection_drain(GSocket *socket, GIOCondition condition, gpointer data)
{
    Connection *connection = data;
    char scratch[4096];
    for (;;) {
        g_autoptr(GError) error = NULL;
        gssize n = g_socket_receive(socket, scratch, sizeof scratch, NULL, &error);
        if (n > 0)
            continue;
        if (n < 0 && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            return G_SOURCE_CONTINUE;
        /* The guest closed (n == 0), or the connection failed. */
        g_source_unref(connection->drain);
        connection->drain = NULL;
        connection_finish(connection, n < 0);
        return G_SOURCE_REMOVE;
    }
}

/* libsoup let go of the stream we gave it. */
static void connection_gone(gpointer data, GObject *stream)
{
    Connection *connection = data;
    connection->soup_done = TRUE;
    g_hash_table_remove(connection->server->connections, connection->key);
    if (connection->timed_out) {
        connection_finish(connection, TRUE);
        return;
    }
    /* The response is on its way: no more to send, wait for the guest's
     * end (within the same time limit). */
    g_socket_shutdown(connection->socket, FALSE, TRUE, NULL);
    g_socket_set_blocking(connection->socket, FALSE);
    connection->drain = g_socket_create_source(connection->socket, G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
    g_source_set_callback(connection->drain, G_SOURCE_FUNC(connection_drain), connection, NULL);
    g_source_attach(connection->drain, NULL);
}

static gboolean incoming(GSocketService *service, GSocketConnection *socket_connection, GObject *source,
                         gpointer data)
{
    cn_metadata_server_take(data, socket_connection);
    return TRUE;
}

/* A connection to a user-mode guest's socket: LOCAL and REMOTE replaced
 * by the socket's stand-in and the guest's user-mode address. */
static void stand_in_addresses(CnMetadataServer *server, GSocketAddress **local, GSocketAddress **remote)
{
    const char *path = unix_path(*local);
    guint stand_in = path ? GPOINTER_TO_UINT(g_hash_table_lookup(server->socket_stand_in, path)) : 0;
    g_clear_object(local);
    g_clear_object(remote);
    if (!stand_in)
        return; /* forgotten: the connection is dropped */
    char text[CN_V4_STR_MAX];
    cn_v4_format(stand_in, text);
    *local = g_inet_socket_address_new_from_string(text, 80);
    server->unix_serial = server->unix_serial % 65535 + 1;
    *remote = g_inet_socket_address_new_from_string(CN_USER_GUEST, server->unix_serial);
}

void cn_metadata_server_take(CnMetadataServer *server, GSocketConnection *socket_connection)
{
    g_autoptr(GSocketAddress) remote = g_socket_connection_get_remote_address(socket_connection, NULL);
    g_autoptr(GSocketAddress) local = g_socket_connection_get_local_address(socket_connection, NULL);
    if (local && G_IS_UNIX_SOCKET_ADDRESS(local))
        stand_in_addresses(server, &local, &remote);
    if (!remote || !local) {
        g_io_stream_close(G_IO_STREAM(socket_connection), NULL, NULL); /* gone already */
        return;
    }
    g_autofree char *guest = connection_key(local, remote, FALSE);
    g_autofree char *peer = address_text(remote, FALSE);
    guint count = GPOINTER_TO_UINT(g_hash_table_lookup(server->per_guest, guest));
    guint total = server->open;
    if (total >= server->limits.max_connections || count >= server->limits.max_per_guest) {
        log_guest(server, peer, "%s - - - refused: %u connection(s) open, %u from this guest\n", peer, total, count);
        report_refusal(server, peer, NULL, NULL, NULL, 0, "too many connections");
        g_io_stream_close(G_IO_STREAM(socket_connection), NULL, NULL);
        return;
    }

    Connection *connection = g_new0(Connection, 1);
    connection->server = server;
    connection->socket_connection = g_object_ref(socket_connection);
    connection->socket = g_socket_connection_get_socket(socket_connection);
    connection->limit = CN_REQUEST_LIMIT(cn_request_limit_new(server->limits.max_request_bytes));
    connection->key = connection_key(local, remote, TRUE);
    connection->guest = g_steal_pointer(&guest);
    g_autoptr(GInputStream) input = g_converter_input_stream_new(
        g_io_stream_get_input_stream(G_IO_STREAM(socket_connection)), G_CONVERTER(connection->limit));
    g_autoptr(GIOStream) stream =
        g_simple_io_stream_new(input, g_io_stream_get_output_stream(G_IO_STREAM(socket_connection)));
    g_hash_table_insert(server->connections, connection->key, connection);
    server->open++;
    g_hash_table_insert(server->per_guest, g_strdup(connection->guest), GUINT_TO_POINTER(count + 1));
    g_object_weak_ref(G_OBJECT(stream), connection_gone, connection);
    connection->timer = g_timeout_add_seconds(server->limits.timeout_seconds, connection_timeout, connection);
    /* libsoup may answer (and let go) before this returns: CONNECTION is
     * not touched after it. */
    soup_server_accept_iostream(server->soup, stream, local, remote, NULL);
}

/* The link of the guest calling from REMOTE to LOCAL, or NULL: one whose
 * address it is (by the definitions), whose metadata handler is where the
 * request came to (the isolation engine sent it here), and whose address
 * the kernel's isolation reserves for that link's MAC, so that only the
 * port pinned to that MAC can send from it.  The last check makes the
 * firewall, not the definitions alone, the judge: an address of a machine
 * not defined yet, or of a network not running here, is nobody's. */
static const CnLink *identify_by_socket(CnMetadataServer *server, uint32_t stand_in)
{
    const char *name = g_hash_table_lookup(server->stand_in_machine, GUINT_TO_POINTER(stand_in));
    const CnMachine *machine = name ? cn_site_find_machine(cn_metadata_snapshot_site(server->snapshot), name) : NULL;
    for (guint i = 0; machine && i < machine->links->len; i++) {
        const CnLink *link = machine->links->pdata[i];
        if (link->net && link->net->metadata)
            return link;
    }
    return NULL;
}

static const CnLink *identify(CnMetadataServer *server, GSocketAddress *remote, GSocketAddress *local)
{
    uint16_t local_port;
    uint32_t source = address_v4(remote, NULL), local_address = address_v4(local, &local_port);
    /* A user-mode guest: QEMU connects its metadata address to this
     * machine's own socket, so the socket is the identity. */
    if ((local_address >> 16) == CN_STAND_IN_NET)
        return identify_by_socket(server, local_address);
    GPtrArray *candidates = source ? cn_metadata_snapshot_candidates(server->snapshot, source) : NULL;
    const CnLink *found = NULL;
    for (guint i = 0; candidates && i < candidates->len; i++) {
        const CnLink *link = candidates->pdata[i];
        CnEndpoint handler = cn_link_metadata_handler(link);
        if (!handler.set || handler.host != local_address || handler.port != local_port)
            continue;
        /* On OVN the judge is OVN's port security as the northbound
         * database has it now, and only the network's own switch reaches
         * this namespace (its localport). */
        if (server->ovn_network || cn_network_in_ovn(link->net)) {
            if (!cn_network_in_ovn(link->net) || g_strcmp0(server->ovn_network, link->net->name) != 0 ||
                !server->ovn_verify || !server->ovn_verify(link, source, server->ovn_verify_data))
                continue;
            if (found)
                return NULL;
            found = link;
            continue;
        }
        gboolean reserved = FALSE;
        g_autoptr(GError) error = NULL;
        if (!cn_nft_address_reserved(link->net->name, source, link->mac, &reserved, &error)) {
            printf("- - - - cannot read network %s's isolation: %s\n", link->net->name, error->message);
            fflush(stdout);
            return NULL;
        }
        if (!reserved)
            continue;
        if (found)
            return NULL; /* two links at once: nobody */
        found = link;
    }
    return found;
}

/* A response went out (or the request failed): the byte limit starts
 * again for a request that follows in the same packets. */
static void request_done(SoupServer *soup, SoupServerMessage *msg, gpointer data)
{
    CnMetadataServer *server = data;
    g_autofree char *key = connection_key(soup_server_message_get_local_address(msg),
                                          soup_server_message_get_remote_address(msg), TRUE);
    Connection *connection = g_hash_table_lookup(server->connections, key);
    if (connection)
        g_converter_reset(G_CONVERTER(connection->limit));
    g_hash_table_remove(server->waiters, msg); /* a long-poll the guest gave up */
}

static void respond(SoupServerMessage *msg, const CnMetadataReply *reply)
{
    SoupMessageHeaders *headers = soup_server_message_get_response_headers(msg);
    soup_message_headers_replace(headers, "Cache-Control", "no-store");
    soup_message_headers_replace(headers, "Server", "carthage-net");
    /* libsoup 3.2 keeps a connection it did not accept itself for one
     * request only (keep-alive needs listeners of its own); say so. */
    soup_message_headers_replace(headers, "Connection", "close");
    if (reply->allow)
        soup_message_headers_replace(headers, "Allow", reply->allow);
    if (reply->token_ttl)
        soup_message_headers_replace(headers, CN_METADATA_TOKEN_TTL_HEADER, reply->token_ttl);
    if (reply->etag)
        soup_message_headers_replace(headers, "ETag", reply->etag);
    /* libsoup 3.2 has no phrase for 429. */
    const char *reason = reply->status == 429 ? "Too Many Requests" : soup_status_get_phrase(reply->status);
    soup_server_message_set_status(msg, reply->status, reason);
    if (reply->status == SOUP_STATUS_NOT_MODIFIED)
        return; /* no body */
    if (!reply->body) {
        g_autofree char *text = g_strdup_printf("%u %s\n", reply->status, reason ? reason : "");
        soup_server_message_set_response(msg, "text/plain; charset=utf-8", SOUP_MEMORY_COPY, text, strlen(text));
        return;
    }
    /* The snapshot's bytes, shared rather than copied (libsoup takes no
     * empty ones). */
    soup_message_headers_set_content_type(headers, reply->content_type, NULL);
    if (g_bytes_get_size(reply->body) > 0)
        soup_message_body_append_bytes(soup_server_message_get_response_body(msg), reply->body);
    else
        soup_message_headers_set_content_length(headers, 0);
}

/* The token's reply goes out with the link's hop limit as its IP TTL, so
 * that it dies one router past the guest (a container or proxy inside it
 * that forwards does not get it).  One request per connection: the
 * socket carries nothing else.  libsoup has no socket for a stream we
 * accepted: ours is found by the addresses. */
static gboolean set_ip_ttl(CnMetadataServer *server, SoupServerMessage *msg, guint ttl)
{
    g_autofree char *key = connection_key(soup_server_message_get_local_address(msg),
                                          soup_server_message_get_remote_address(msg), TRUE);
    Connection *connection = g_hash_table_lookup(server->connections, key);
    g_autoptr(GError) error = NULL;
    if (!connection)
        g_set_error_literal(&error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "the connection is gone");
    else
        g_socket_set_option(connection->socket, IPPROTO_IP, IP_TTL, (gint)ttl, &error);
    if (!error)
        return TRUE;
    printf("- - - - cannot set the token reply's IP TTL: %s\n", error->message);
    fflush(stdout);
    return FALSE;
}

/* What the request MSG (for PATH) gets now; *LINK: who asked. */
static void compute_reply(CnMetadataServer *server, SoupServerMessage *msg, const char *path, CnMetadataReply *reply,
                          const CnLink **link)
{
    GSocketAddress *remote = soup_server_message_get_remote_address(msg);
    SoupMessageHeaders *headers = soup_server_message_get_request_headers(msg);
    *link = identify(server, remote, soup_server_message_get_local_address(msg));
    const CnMetadataRequest request = {
        .method = soup_server_message_get_method(msg),
        .path = path,
        .token = soup_message_headers_get_one(headers, CN_METADATA_TOKEN_HEADER),
        .token_ttl = soup_message_headers_get_one(headers, CN_METADATA_TOKEN_TTL_HEADER),
        .forwarded = soup_message_headers_get_one(headers, "X-Forwarded-For") != NULL,
        .link = *link,
        .address = address_v4(remote, NULL),
        .now = g_get_real_time() / G_USEC_PER_SEC,
    };
    cn_metadata_reply(server->snapshot, &server->token_key, &request, reply);
}

/* Sends REPLY to MSG, then the log line and any refusal event. */
static void finish(CnMetadataServer *server, SoupServerMessage *msg, const char *path, CnMetadataReply *reply,
                   const CnLink *link)
{
    const char *method = soup_server_message_get_method(msg);
    g_autofree char *peer = address_text(soup_server_message_get_remote_address(msg), FALSE);
    /* A user-mode guest's TCP ends in QEMU: there is no IP TTL to set. */
    if ((address_v4(soup_server_message_get_local_address(msg), NULL) >> 16) == CN_STAND_IN_NET)
        reply->ip_ttl = 0;
    if (reply->ip_ttl && !set_ip_ttl(server, msg, reply->ip_ttl)) {
        /* No token that could travel further than the hop limit. */
        cn_metadata_reply_clear(reply);
        reply->status = SOUP_STATUS_INTERNAL_SERVER_ERROR;
        reply->refusal = "the token's IP TTL cannot be set";
    }
    respond(msg, reply);
    /* One line per request: guest, machine, method, path, status, and
     * why when refused. */
    g_autofree char *shown_method = path_for_log(method);
    g_autofree char *shown_path = path_for_log(path);
    log_guest(server, peer, "%s %s %s %s %u%s%s\n", peer, link ? link->machine_name : "-", shown_method, shown_path,
              reply->status, reply->refusal ? " " : "", reply->refusal ? reply->refusal : "");
    if (reply->refusal || (!link && reply->status == SOUP_STATUS_FORBIDDEN))
        report_refusal(server, peer, link, method, path, reply->status,
                       reply->refusal ? reply->refusal : "unknown guest");
}

/* Long-polls */

typedef struct {
    CnMetadataServer *server;
    SoupServerMessage *msg;
    char *path;
    char *etag;  /* what the guest has */
    char *guest; /* "local-ip remote-ip", as the per-guest cap counts */
    guint timer;
} Waiter;

static void waiter_free(gpointer data)
{
    Waiter *waiter = data;
    if (waiter->timer)
        g_source_remove(waiter->timer);
    g_object_unref(waiter->msg);
    g_free(waiter->path);
    g_free(waiter->etag);
    g_free(waiter->guest);
    g_free(waiter);
}

/* MSG's connection gets TIMEOUT seconds from now. */
static void restart_timer(CnMetadataServer *server, SoupServerMessage *msg, guint timeout)
{
    g_autofree char *key = connection_key(soup_server_message_get_local_address(msg),
                                          soup_server_message_get_remote_address(msg), TRUE);
    Connection *connection = g_hash_table_lookup(server->connections, key);
    if (connection && connection->timer) {
        g_source_remove(connection->timer);
        connection->timer = g_timeout_add_seconds(timeout, connection_timeout, connection);
    }
}

/* Answers a held request with REPLY and lets libsoup go on with it; its
 * connection has the usual time from now to be done. */
static void release(Waiter *waiter, CnMetadataReply *reply, const CnLink *link)
{
    CnMetadataServer *server = waiter->server;
    SoupServerMessage *msg = g_object_ref(waiter->msg);
    restart_timer(server, msg, server->limits.timeout_seconds);
    g_autofree char *path = g_strdup(waiter->path);
    g_hash_table_remove(server->waiters, msg);
    finish(server, msg, path, reply, link);
    soup_server_message_unpause(msg);
    g_object_unref(msg);
}

static gboolean waiter_expired(gpointer data)
{
    Waiter *waiter = data;
    waiter->timer = 0;
    const CnLink *link = identify(waiter->server, soup_server_message_get_remote_address(waiter->msg),
                                  soup_server_message_get_local_address(waiter->msg));
    g_auto(CnMetadataReply) reply = { .status = SOUP_STATUS_NOT_MODIFIED, .etag = g_strdup(waiter->etag) };
    release(waiter, &reply, link);
    return G_SOURCE_REMOVE;
}

/* Long-polls GUEST ("local-ip remote-ip") holds now. */
static guint held_by(CnMetadataServer *server, const char *guest)
{
    guint count = 0;
    GHashTableIter iter;
    gpointer value;
    g_hash_table_iter_init(&iter, server->waiters);
    while (g_hash_table_iter_next(&iter, NULL, &value))
        count += g_strcmp0(((Waiter *)value)->guest, guest) == 0;
    return count;
}

/* Holds MSG until its answer's ETag is no longer ETAG, or SECONDS pass;
 * its connection's time limit waits as long. */
static void hold(CnMetadataServer *server, SoupServerMessage *msg, const char *path, const char *etag, guint seconds)
{
    restart_timer(server, msg, seconds + server->limits.timeout_seconds);
    Waiter *waiter = g_new0(Waiter, 1);
    waiter->server = server;
    waiter->msg = g_object_ref(msg);
    waiter->path = g_strdup(path);
    waiter->etag = g_strdup(etag);
    waiter->guest = connection_key(soup_server_message_get_local_address(msg),
                                   soup_server_message_get_remote_address(msg), FALSE);
    waiter->timer = g_timeout_add_seconds(seconds, waiter_expired, waiter);
    g_hash_table_insert(server->waiters, msg, waiter);
    soup_server_message_pause(msg);
}

/* After a new snapshot: the held requests whose answer changed get it. */
static void wake_waiters(CnMetadataServer *server)
{
    g_autoptr(GList) held = g_hash_table_get_values(server->waiters);
    for (GList *item = held; item; item = item->next) {
        Waiter *waiter = item->data;
        g_auto(CnMetadataReply) reply = { 0 };
        const CnLink *link;
        compute_reply(server, waiter->msg, waiter->path, &reply, &link);
        if (reply.status == SOUP_STATUS_OK && g_strcmp0(reply.etag, waiter->etag) == 0)
            continue;
        release(waiter, &reply, link);
    }
}

static void handle(SoupServer *soup, SoupServerMessage *msg, const char *path, GHashTable *query, gpointer data)
{
    CnMetadataServer *server = data;
    SoupMessageHeaders *headers = soup_server_message_get_request_headers(msg);
    g_auto(CnMetadataWait) wait = { 0 };
    g_auto(CnMetadataReply) reply = { 0 };
    const CnLink *link;
    gboolean wait_ok = cn_metadata_wait_parse(query, soup_message_headers_get_one(headers, "If-None-Match"), &wait);
    compute_reply(server, msg, path, &reply, &link);
    if (!wait_ok && reply.status == SOUP_STATUS_OK) {
        cn_metadata_reply_clear(&reply);
        reply.status = SOUP_STATUS_BAD_REQUEST;
        reply.refusal = "timeout_sec outside 1-" G_STRINGIFY(CN_METADATA_WAIT_MAX);
    }
    if (wait.asked && wait.etag && reply.status == SOUP_STATUS_OK && g_strcmp0(reply.etag, wait.etag) == 0) {
        /* Held requests hold connections: a few per guest, always one
         * connection short of its cap (for its other requests), and at
         * most half of all, so that watchers cannot lock the others out. */
        g_autofree char *guest = connection_key(soup_server_message_get_local_address(msg),
                                                soup_server_message_get_remote_address(msg), FALSE);
        guint per_guest = MIN(CN_METADATA_WAIT_PER_GUEST, MAX(server->limits.max_per_guest, 2) - 1);
        if (held_by(server, guest) < per_guest &&
            g_hash_table_size(server->waiters) < MAX(server->limits.max_connections / 2, 1)) {
            hold(server, msg, path, wait.etag, wait.seconds);
            return;
        }
        cn_metadata_reply_clear(&reply);
        reply.status = 429; /* Too Many Requests (libsoup 3.2 has no name for it) */
        reply.refusal = "too many long-polls held";
    }
    finish(server, msg, path, &reply, link);
}

CnMetadataServer *cn_metadata_server_new(const CnMetadataLimits *limits, const CnMetadataTokenKey *token_key,
                                         CnMetadataSnapshot *snapshot)
{
    g_return_val_if_fail(limits->max_connections > 0 && limits->max_per_guest > 0 && limits->timeout_seconds > 0 &&
                             limits->log_burst > 0,
                         NULL);
    CnMetadataServer *server = g_new0(CnMetadataServer, 1);
    server->limits = *limits;
    server->snapshot = snapshot;
    server->token_key = *token_key;
    server->soup = soup_server_new("server-header", NULL, NULL);
    server->connections = g_hash_table_new(g_str_hash, g_str_equal);
    server->per_guest = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    server->log_budget = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    server->event_budget = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    server->waiters = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, waiter_free);
    server->socket_stand_in = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    server->stand_in_machine = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
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
    g_hash_table_remove_all(server->waiters);
    g_socket_service_stop(server->service);
    g_socket_listener_close(G_SOCKET_LISTENER(server->service));
    g_object_unref(server->service);
    soup_server_disconnect(server->soup);
    g_object_unref(server->soup);
    g_hash_table_unref(server->connections);
    g_hash_table_unref(server->per_guest);
    g_hash_table_unref(server->log_budget);
    g_hash_table_unref(server->event_budget);
    g_hash_table_unref(server->waiters);
    g_hash_table_unref(server->socket_stand_in);
    g_hash_table_unref(server->stand_in_machine);
    g_free(server->ovn_network);
    cn_metadata_snapshot_unref(server->snapshot);
    g_free(server);
}

gboolean cn_metadata_server_listen(CnMetadataServer *server, uint32_t host, uint16_t port, GError **error)
{
    char host_text[CN_V4_STR_MAX];
    cn_v4_format(host, host_text);
    if ((host >> 16) == CN_STAND_IN_NET) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "cannot listen on %s:%u: 127.254.0.0/16 stands for user-mode guests' sockets", host_text, port);
        return FALSE;
    }
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

void cn_metadata_server_set_ovn_network(CnMetadataServer *server, const char *network, CnMetadataOvnVerify verify,
                                        gpointer data)
{
    g_free(server->ovn_network);
    server->ovn_network = g_strdup(network);
    server->ovn_verify = verify;
    server->ovn_verify_data = data;
}

void cn_metadata_server_set_snapshot(CnMetadataServer *server, CnMetadataSnapshot *snapshot)
{
    cn_metadata_snapshot_unref(server->snapshot);
    server->snapshot = snapshot;
    wake_waiters(server);
}

guint cn_metadata_server_waiting(const CnMetadataServer *server)
{
    return g_hash_table_size(server->waiters);
}

void cn_metadata_server_set_refusal_handler(CnMetadataServer *server, CnMetadataRefusalFunc func, gpointer data)
{
    server->on_refusal = func;
    server->on_refusal_data = data;
}

guint cn_metadata_server_connections(const CnMetadataServer *server)
{
    return server->open;
}

gboolean cn_metadata_server_listen_unix(CnMetadataServer *server, const char *path, const char *machine,
                                        GError **error)
{
    g_autoptr(GSocket) socket = g_socket_new(G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT,
                                             error);
    if (!socket)
        return FALSE;
    g_autoptr(GSocketAddress) endpoint = g_unix_socket_address_new(path);
    /* Owner only from the start: the socket is made under a umask that
     * leaves nobody else a moment to connect. */
    mode_t mask = umask(0077);
    gboolean bound = g_socket_bind(socket, endpoint, FALSE, error);
    umask(mask);
    if (!bound || !g_socket_listen(socket, error) ||
        !g_socket_listener_add_socket(G_SOCKET_LISTENER(server->service), socket, NULL, error)) {
        g_prefix_error(error, "cannot listen on %s: ", path);
        return FALSE;
    }
    guint stand_in = (CN_STAND_IN_NET << 16) | (++server->next_stand_in & 0xffff);
    g_hash_table_insert(server->socket_stand_in, g_strdup(path), GUINT_TO_POINTER(stand_in));
    g_hash_table_insert(server->stand_in_machine, GUINT_TO_POINTER(stand_in), g_strdup(machine));
    g_socket_service_start(server->service);
    return TRUE;
}

void cn_metadata_server_forget_unix(CnMetadataServer *server, const char *path)
{
    gpointer stand_in;
    if (g_hash_table_lookup_extended(server->socket_stand_in, path, NULL, &stand_in)) {
        g_hash_table_remove(server->stand_in_machine, stand_in);
        g_hash_table_remove(server->socket_stand_in, path);
    }
}
