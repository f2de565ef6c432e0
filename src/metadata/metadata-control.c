/* metadata-control.c - see metadata-control.h */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>

#include "metadata-control.h"

#define LINE_MAX_BYTES 256
#define IO_SECONDS 2

struct CnMetadataControl {
    char *path;
    GSocketService *service;
    CnMetadataControlFunc func;
    gpointer data;
};

char *cn_metadata_control_name(const char *ovn_network)
{
    if (ovn_network)
        return g_strdup_printf(CN_METADATA_CONTROL_PREFIX "-ovn-%s" CN_METADATA_CONTROL_SUFFIX, ovn_network);
    return g_strdup(CN_METADATA_CONTROL_PREFIX CN_METADATA_CONTROL_SUFFIX);
}

/* Root, or the user the server runs as. */
static gboolean peer_allowed(GSocket *socket)
{
    g_autoptr(GCredentials) credentials = g_socket_get_credentials(socket, NULL);
    if (!credentials)
        return FALSE;
    uid_t uid = g_credentials_get_unix_user(credentials, NULL);
    return uid == 0 || uid == geteuid();
}

/* One line, at most LINE_MAX_BYTES, within IO_SECONDS in all (however
 * slowly the peer sends). */
static char *read_line(GSocket *socket)
{
    char buffer[LINE_MAX_BYTES + 1];
    gsize length = 0;
    gint64 deadline = g_get_monotonic_time() + IO_SECONDS * G_USEC_PER_SEC;
    while (length < LINE_MAX_BYTES && g_get_monotonic_time() < deadline) {
        gssize n = g_socket_receive(socket, buffer + length, LINE_MAX_BYTES - length, NULL, NULL);
        if (n <= 0)
            break;
        length += (gsize)n;
        if (memchr(buffer, '\n', length))
            break;
    }
    char *end = memchr(buffer, '\n', length);
    if (!end)
        return NULL;
    return g_strndup(buffer, (gsize)(end - buffer));
}

static void send_line(GSocket *socket, const char *line)
{
    g_autofree char *text = g_strconcat(line, "\n", NULL);
    gsize sent = 0, length = strlen(text);
    while (sent < length) {
        gssize n = g_socket_send(socket, text + sent, length - sent, NULL, NULL);
        if (n <= 0)
            return;
        sent += (gsize)n;
    }
}

static gboolean incoming(GSocketService *service, GSocketConnection *connection, GObject *source, gpointer data)
{
    CnMetadataControl *control = data;
    GSocket *socket = g_socket_connection_get_socket(connection);
    g_socket_set_blocking(socket, TRUE);
    g_socket_set_timeout(socket, IO_SECONDS);
    if (!peer_allowed(socket)) {
        send_line(socket, "error not allowed: root only");
        return TRUE;
    }
    g_autofree char *command = read_line(socket);
    g_autofree char *reply = !command                    ? g_strdup("error expected one line of at most 256 bytes")
                             : strcmp(command, "ping") == 0 ? g_strdup("ok")
                                                            : control->func(command, control->data);
    send_line(socket, reply);
    return TRUE;
}

static GSocketAddress *unix_address(const char *path)
{
    return g_unix_socket_address_new(path);
}

CnMetadataControl *cn_metadata_control_new(const char *path, CnMetadataControlFunc func, gpointer data,
                                           GError **error)
{
    /* Someone answering there: another server; else a stale file. */
    g_autofree char *reply = NULL;
    g_autoptr(GError) probe = NULL;
    if (cn_metadata_control_send(path, "ping", &reply, &probe)) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS, "another metadata serve answers at %s", path);
        return NULL;
    }
    if (unlink(path) < 0 && errno != ENOENT) {
        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "cannot remove %s: %s", path,
                    g_strerror(errno));
        return NULL;
    }
    g_autoptr(GSocket) socket = g_socket_new(G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT,
                                             error);
    if (!socket)
        return NULL;
    g_autoptr(GSocketAddress) address = unix_address(path);
    mode_t old_mask = umask(0177); /* 0600 from the start, not after a chmod */
    gboolean bound = g_socket_bind(socket, address, FALSE, error);
    umask(old_mask);
    if (!bound || !g_socket_listen(socket, error)) {
        g_prefix_error(error, "cannot listen at %s: ", path);
        return NULL;
    }
    CnMetadataControl *control = g_new0(CnMetadataControl, 1);
    control->path = g_strdup(path);
    control->func = func;
    control->data = data;
    control->service = g_socket_service_new();
    if (!g_socket_listener_add_socket(G_SOCKET_LISTENER(control->service), socket, NULL, error)) {
        cn_metadata_control_free(control);
        return NULL;
    }
    g_signal_connect(control->service, "incoming", G_CALLBACK(incoming), control);
    g_socket_service_start(control->service);
    return control;
}

void cn_metadata_control_free(CnMetadataControl *control)
{
    if (!control)
        return;
    g_socket_service_stop(control->service);
    g_socket_listener_close(G_SOCKET_LISTENER(control->service));
    g_object_unref(control->service);
    unlink(control->path);
    g_free(control->path);
    g_free(control);
}

gboolean cn_metadata_control_send(const char *path, const char *command, char **reply, GError **error)
{
    *reply = NULL;
    g_autoptr(GSocket) socket = g_socket_new(G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT,
                                             error);
    if (!socket)
        return FALSE;
    g_socket_set_timeout(socket, 30); /* a reload reads every machine's files */
    g_autoptr(GSocketAddress) address = unix_address(path);
    if (!g_socket_connect(socket, address, NULL, error)) {
        g_prefix_error(error, "%s: ", path);
        return FALSE;
    }
    send_line(socket, command);
    g_autofree char *line = read_line(socket);
    if (!line) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: no answer", path);
        return FALSE;
    }
    *reply = g_steal_pointer(&line);
    return TRUE;
}
