/* link.h - host links over rtnetlink (libnl): the bridges of technology
 * "bridge" networks.  TAP devices (pool) live in tap-pool.c.
 * Functions return FALSE with the kernel's message in ERROR. */
#pragma once

#include <glib.h>
#include <stdint.h>

#define CN_LINK_ERROR (cn_link_error_quark())
GQuark cn_link_error_quark(void);

gboolean cn_link_exists(const char *name, gboolean *exists, GError **error);
/* Makes a Linux bridge NAME (up, with MTU when non-zero) unless a link of
 * that name exists; *CREATED says which. */
gboolean cn_link_bridge_ensure(const char *name, uint32_t mtu, gboolean *created, GError **error);
/* Deletes link NAME; one that does not exist is not an error. */
gboolean cn_link_delete(const char *name, GError **error);

/* The route toward the outside: the source address and device the kernel
 * picks for a packet to CN_LINK_OUTSIDE_PROBE (RTM_GETROUTE, as `ip route
 * get`), which is the address masquerade gives guests' traffic leaving by
 * the default route.  No packet is sent.  *ADDRESS = 0 (and DEVICE "")
 * when the host has no such route. */
#define CN_LINK_OUTSIDE_PROBE "1.1.1.1"
gboolean cn_link_outbound_address(uint32_t *address, char device[16], GError **error);

/* A netlink socket told of every IPv4 address, IPv4 route and link change
 * in this network namespace. */
typedef struct CnRouteWatch CnRouteWatch;
CnRouteWatch *cn_route_watch_new(GError **error);
void cn_route_watch_free(CnRouteWatch *watch);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CnRouteWatch, cn_route_watch_free)
/* The descriptor to poll for input. */
int cn_route_watch_fd(const CnRouteWatch *watch);
/* Reads every pending notification; *CHANGED when there was one (or when
 * the kernel dropped some: the caller must look again). */
gboolean cn_route_watch_drain(CnRouteWatch *watch, gboolean *changed, GError **error);

/* A veth pair: HOST_NAME stays here (up), PEER_NAME (with PEER_MAC, up,
 * ADDRESS/PREFIX, and ROUTE_NETWORK/ROUTE_PREFIX on-link through it, lo
 * up) goes alone into a new network namespace. */
typedef struct {
    const char *host_name, *peer_name;
    uint8_t peer_mac[6];
    uint32_t address;
    unsigned prefix;
    uint32_t route_network;
    unsigned route_prefix;
} CnVethSpec;
/* Makes SPEC's pair and namespace and leaves the calling thread in the new
 * namespace (sockets it opens now live there, and keep it, and the pair,
 * alive: both go when the last of them is closed); *HOST_NETNS is a
 * descriptor of the namespace it was in, to go back with
 * cn_link_netns_enter.  A link named HOST_NAME is deleted first. */
gboolean cn_link_veth_netns_new(const CnVethSpec *spec, int *host_netns, GError **error);
gboolean cn_link_netns_enter(int fd, GError **error);
