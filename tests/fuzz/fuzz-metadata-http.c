/* fuzz-metadata-http.c - libFuzzer target: the bytes a guest sends to the
 * built-in metadata handler, through the whole server (our connection
 * handling, the byte limit, libsoup's parser, our handler), over a socket
 * pair.  Checks: every connection ends (answered, or cut off) within a
 * bounded number of main loop turns; what comes back is an HTTP response
 * or nothing; nothing leaks or crashes (ASan, UBSan).  A socket pair has no
 * IP addresses, so the guest is never known: the answers are 403, 405, 400,
 * 505 or none. */
/* fuzz-extra: src/metadata/metadata-limiter.c src/metadata/metadata-server.c src/nft/nft-query.c src/nft/nft-isolation.c src/nft/nft-batch.c src/nft/nft-expr.c */
/* fuzz-pkgs: libsoup-3.0 libnftnl libmnl */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib-unix.h>

#include "alloc.h"
#include "defs.h"
#include "metadata-server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char DEFS[] = "[network md]\nv4.network = 10.63.0.0/24\nmetadata = true\nmetadata.handler = 8000\n"
                           "[link m1 eth0]\nnet = md\nv4.address = 10.63.0.11\n";

static CnMetadataServer *server(void)
{
    static CnMetadataServer *made;
    if (made)
        return made;
    g_autoptr(CnRawDefs) raw = cn_raw_defs_new();
    g_autoptr(CnDiagList) diags = cn_diag_list_new();
    cn_raw_defs_parse(raw, "fuzz.conf", DEFS, strlen(DEFS), diags);
    CnSite *site = cn_defs_build(raw, diags);
    cn_alloc_macs(site);
    cn_defs_validate(site, diags);
    g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);
    CnMetadataLimits limits = { 4, 2, 2, 4096, 20 };
    static const CnMetadataTokenKey key = { { 1, 2, 3, 4 } };
    made = cn_metadata_server_new(&limits, &key, cn_metadata_snapshot_new(site, "/nonexistent", "/nonexistent", warnings));
    return made;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    CnMetadataServer *srv = server();
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0)
        abort();
    GSocket *socket = g_socket_new_from_fd(fds[0], NULL);
    if (!socket)
        abort();
    GSocketConnection *connection = g_socket_connection_factory_create_connection(socket);
    g_object_unref(socket);
    cn_metadata_server_take(srv, connection);
    g_object_unref(connection);

    /* Send the input (as much as the server takes), then the end. */
    int client = fds[1];
    g_unix_set_fd_nonblocking(client, TRUE, NULL);
    size_t sent = 0;
    GString *answer = g_string_new(NULL);
    gboolean closed = FALSE, shut = FALSE;
    for (int turn = 0; turn < 20000 && !(closed && cn_metadata_server_connections(srv) == 0); turn++) {
        if (sent < size) {
            ssize_t n = send(client, data + sent, size - sent, MSG_NOSIGNAL);
            if (n > 0)
                sent += (size_t)n;
            else if (n < 0 && errno != EAGAIN)
                sent = size; /* the server is gone */
        }
        if (sent >= size && !shut) {
            shutdown(client, SHUT_WR);
            shut = TRUE;
        }
        char buffer[4096];
        ssize_t n = recv(client, buffer, sizeof buffer, 0);
        if (n > 0)
            g_string_append_len(answer, buffer, n);
        else if (n == 0 || (n < 0 && errno != EAGAIN))
            closed = TRUE;
        g_main_context_iteration(NULL, FALSE);
    }
    if (!closed || cn_metadata_server_connections(srv) != 0) {
        fprintf(stderr, "connection not ended (%u open)\n", cn_metadata_server_connections(srv));
        abort();
    }
    if (answer->len && !g_str_has_prefix(answer->str, "HTTP/1.")) {
        fprintf(stderr, "not an HTTP response: %.40s\n", answer->str);
        abort();
    }
    g_string_free(answer, TRUE);
    close(client);
    return 0;
}
