/* link-bridge.c - Linux bridges for technology=bridge networks (libnl). */
#include <net/if.h>

#include <netlink/errno.h>
#include <netlink/route/link/bridge.h>

#include "link-private.h"

gboolean cn_link_exists(const char *name, gboolean *exists, GError **error)
{
    g_autoptr(nl_sock_t) sock = cn_route_socket(error);
    g_autoptr(rtnl_link_t) link = NULL;
    if (!sock)
        return FALSE;
    int rc = rtnl_link_get_kernel(sock, 0, name, &link);
    if (rc == -NLE_OBJ_NOTFOUND || rc == -NLE_NODEV) {
        *exists = FALSE;
        return TRUE;
    }
    if (rc < 0)
        return cn_link_fail(error, rc, "cannot look up link", name);
    *exists = TRUE;
    return TRUE;
}

gboolean cn_link_bridge_ensure(const char *name, uint32_t mtu, gboolean *created, GError **error)
{
    gboolean exists;
    *created = FALSE;
    if (!cn_link_exists(name, &exists, error))
        return FALSE;
    if (exists)
        return TRUE;

    g_autoptr(nl_sock_t) sock = cn_route_socket(error);
    if (!sock)
        return FALSE;
    g_autoptr(rtnl_link_t) link = rtnl_link_bridge_alloc();
    rtnl_link_set_name(link, name);
    if (mtu)
        rtnl_link_set_mtu(link, mtu);
    rtnl_link_set_flags(link, IFF_UP);
    int rc = rtnl_link_add(sock, link, NLM_F_CREATE | NLM_F_EXCL);
    if (rc < 0)
        return cn_link_fail(error, rc, "cannot create bridge", name);
    *created = TRUE;
    return TRUE;
}

gboolean cn_link_delete(const char *name, GError **error)
{
    g_autoptr(nl_sock_t) sock = cn_route_socket(error);
    if (!sock)
        return FALSE;
    g_autoptr(rtnl_link_t) link = rtnl_link_alloc();
    rtnl_link_set_name(link, name);
    int rc = rtnl_link_delete(sock, link);
    if (rc < 0 && rc != -NLE_OBJ_NOTFOUND && rc != -NLE_NODEV)
        return cn_link_fail(error, rc, "cannot delete link", name);
    return TRUE;
}
