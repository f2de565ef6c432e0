/* link-private.h - what the link-*.c and tap-*.c files share. */
#pragma once

#include <netlink/netlink.h>
#include <netlink/route/link.h>

#include "link.h"

typedef struct nl_sock nl_sock_t;
typedef struct rtnl_link rtnl_link_t;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(nl_sock_t, nl_socket_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(rtnl_link_t, rtnl_link_put)

/* A connected NETLINK_ROUTE socket, or NULL with ERROR set. */
struct nl_sock *cn_route_socket(GError **error);
/* Sets ERROR to "WHAT NAME: <libnl's message for NL_ERROR>"; FALSE. */
gboolean cn_link_fail(GError **error, int nl_error, const char *what, const char *name);
