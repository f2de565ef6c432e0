/* link-socket.c - what every rtnetlink user here shares: the error domain,
 * libnl's errors as GErrors, and a connected socket.  Apart from the
 * bridge code (libnl-route) so that a program that needs only these
 * (the hook) does not load libnl-route. */
#include <netlink/errno.h>

#include "link-private.h"

G_DEFINE_QUARK(cn-link-error-quark, cn_link_error)

gboolean cn_link_fail(GError **error, int nl_error, const char *what, const char *name)
{
    g_set_error(error, CN_LINK_ERROR, 0, "%s %s: %s", what, name, nl_geterror(nl_error));
    return FALSE;
}

struct nl_sock *cn_route_socket(GError **error)
{
    struct nl_sock *sock = nl_socket_alloc();
    int rc;
    if (!sock) {
        g_set_error(error, CN_LINK_ERROR, 0, "cannot allocate a netlink socket");
        return NULL;
    }
    if ((rc = nl_connect(sock, NETLINK_ROUTE)) < 0) {
        cn_link_fail(error, rc, "cannot open rtnetlink", "socket");
        nl_socket_free(sock);
        return NULL;
    }
    return sock;
}
