/* link-netns.c - a veth pair whose one end is alone in a network
 * namespace of its own: on an OVN chassis, the local end of a network's
 * metadata localport, where the metadata service listens. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netlink/route/addr.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

#include "link-private.h"

typedef struct rtnl_addr rtnl_addr_t;
typedef struct rtnl_route rtnl_route_t;
typedef struct nl_addr nl_addr_t;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(rtnl_addr_t, rtnl_addr_put)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(rtnl_route_t, rtnl_route_put)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(nl_addr_t, nl_addr_put)

static gboolean fail_errno(GError **error, const char *what)
{
    int saved = errno;
    g_set_error(error, CN_LINK_ERROR, 0, "%s: %s", what, g_strerror(saved));
    return FALSE;
}

static int open_own_netns(void)
{
    return open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
}

gboolean cn_link_netns_enter(int fd, GError **error)
{
    if (setns(fd, CLONE_NEWNET) < 0)
        return fail_errno(error, "cannot enter network namespace");
    return TRUE;
}

/* Back to the namespace this thread came from.  Not being able to is not
 * an error to report and go on from: everything after would act in the
 * wrong namespace. */
static void return_home(int host_netns)
{
    g_autoptr(GError) error = NULL;
    if (!cn_link_netns_enter(host_netns, &error))
        g_error("%s: cannot go on", error->message);
}

static nl_addr_t *v4_nl_addr(uint32_t address, unsigned prefix)
{
    uint32_t be = htonl(address);
    nl_addr_t *addr = nl_addr_build(AF_INET, &be, sizeof be);
    nl_addr_set_prefixlen(addr, (int)prefix);
    return addr;
}

static gboolean set_up(struct nl_sock *sock, const char *name, GError **error)
{
    g_autoptr(rtnl_link_t) link = NULL;
    int rc = rtnl_link_get_kernel(sock, 0, name, &link);
    if (rc < 0)
        return cn_link_fail(error, rc, "cannot find link", name);
    g_autoptr(rtnl_link_t) change = rtnl_link_alloc();
    rtnl_link_set_flags(change, IFF_UP);
    rc = rtnl_link_change(sock, link, change, 0);
    if (rc < 0)
        return cn_link_fail(error, rc, "cannot bring up link", name);
    return TRUE;
}

/* Checksums computed before a frame leaves NAME.  A veth hands the other
 * end frames whose TCP and UDP checksums are left for hardware to fill
 * in; Open vSwitch's userspace datapath forwards them as they are, and
 * the guest drops them (ICMP, summed in software, would still pass). */
static gboolean checksum_in_software(const char *name, GError **error)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return fail_errno(error, "socket");
    struct ethtool_value value = { .cmd = ETHTOOL_STXCSUM, .data = 0 };
    struct ifreq request = { 0 };
    g_strlcpy(request.ifr_name, name, sizeof request.ifr_name);
    request.ifr_data = (char *)&value;
    int rc = ioctl(fd, SIOCETHTOOL, &request);
    int saved = errno;
    close(fd);
    if (rc < 0) {
        errno = saved;
        g_autofree char *what = g_strdup_printf("cannot turn off checksum offload on link %s", name);
        return fail_errno(error, what);
    }
    return TRUE;
}

/* Inside the new namespace: lo and the peer up, its address, and the
 * guests' network on-link through it. */
static gboolean configure_peer(const CnVethSpec *spec, GError **error)
{
    g_autoptr(nl_sock_t) sock = cn_route_socket(error);
    if (!sock || !set_up(sock, "lo", error) || !checksum_in_software(spec->peer_name, error) ||
        !set_up(sock, spec->peer_name, error))
        return FALSE;
    int ifindex = (int)if_nametoindex(spec->peer_name);
    if (ifindex == 0)
        return fail_errno(error, spec->peer_name);
    g_autoptr(rtnl_addr_t) addr = rtnl_addr_alloc();
    g_autoptr(nl_addr_t) local = v4_nl_addr(spec->address, spec->prefix);
    rtnl_addr_set_ifindex(addr, ifindex);
    rtnl_addr_set_local(addr, local);
    int rc = rtnl_addr_add(sock, addr, 0);
    if (rc < 0)
        return cn_link_fail(error, rc, "cannot add the address of link", spec->peer_name);
    g_autoptr(rtnl_route_t) route = rtnl_route_alloc();
    g_autoptr(nl_addr_t) dst = v4_nl_addr(spec->route_network, spec->route_prefix);
    rtnl_route_set_family(route, AF_INET);
    rtnl_route_set_dst(route, dst);
    rtnl_route_set_scope(route, RT_SCOPE_LINK);
    rtnl_route_set_table(route, RT_TABLE_MAIN);
    rtnl_route_set_protocol(route, RTPROT_STATIC);
    struct rtnl_nexthop *nexthop = rtnl_route_nh_alloc();
    rtnl_route_nh_set_ifindex(nexthop, ifindex);
    rtnl_route_add_nexthop(route, nexthop); /* the route owns it now */
    rc = rtnl_route_add(sock, route, NLM_F_CREATE);
    if (rc < 0)
        return cn_link_fail(error, rc, "cannot add the on-link route of link", spec->peer_name);
    return TRUE;
}

/* In this namespace: the pair, the host end up; any link of the host
 * end's name (left by a run that was killed) goes first. */
static gboolean make_pair(const CnVethSpec *spec, GError **error)
{
    if (!cn_link_delete(spec->host_name, error))
        return FALSE;
    g_autoptr(nl_sock_t) sock = cn_route_socket(error);
    if (!sock)
        return FALSE;
    g_autoptr(rtnl_link_t) veth = rtnl_link_veth_alloc();
    if (!veth) {
        g_set_error(error, CN_LINK_ERROR, 0, "cannot allocate a veth link");
        return FALSE;
    }
    rtnl_link_set_name(veth, spec->host_name);
    rtnl_link_set_flags(veth, IFF_UP);
    g_autoptr(rtnl_link_t) peer = rtnl_link_veth_get_peer(veth);
    rtnl_link_set_name(peer, spec->peer_name);
    g_autoptr(nl_addr_t) mac = nl_addr_build(AF_LLC, spec->peer_mac, 6);
    rtnl_link_set_addr(peer, mac);
    int rc = rtnl_link_add(sock, veth, NLM_F_CREATE | NLM_F_EXCL);
    if (rc < 0)
        return cn_link_fail(error, rc, "cannot create veth pair", spec->host_name);
    return TRUE;
}

static gboolean move_peer(const CnVethSpec *spec, int netns_fd, GError **error)
{
    g_autoptr(nl_sock_t) sock = cn_route_socket(error);
    if (!sock)
        return FALSE;
    g_autoptr(rtnl_link_t) link = NULL;
    int rc = rtnl_link_get_kernel(sock, 0, spec->peer_name, &link);
    if (rc < 0)
        return cn_link_fail(error, rc, "cannot find link", spec->peer_name);
    g_autoptr(rtnl_link_t) change = rtnl_link_alloc();
    rtnl_link_set_ns_fd(change, netns_fd);
    rc = rtnl_link_change(sock, link, change, 0);
    if (rc < 0)
        return cn_link_fail(error, rc, "cannot move into the new network namespace: link", spec->peer_name);
    return TRUE;
}

gboolean cn_link_veth_netns_new(const CnVethSpec *spec, int *host_netns, GError **error)
{
    *host_netns = open_own_netns();
    if (*host_netns < 0)
        return fail_errno(error, "cannot open this network namespace");
    if (!make_pair(spec, error))
        goto fail;
    if (unshare(CLONE_NEWNET) < 0) {
        fail_errno(error, "cannot make a network namespace");
        goto fail_pair;
    }
    int new_netns = open_own_netns();
    if (new_netns < 0) {
        fail_errno(error, "cannot open the new network namespace");
        return_home(*host_netns);
        goto fail_pair;
    }
    gboolean ok = cn_link_netns_enter(*host_netns, error) && move_peer(spec, new_netns, error) &&
                  cn_link_netns_enter(new_netns, error) && configure_peer(spec, error);
    close(new_netns);
    if (ok)
        return TRUE;
    /* Wherever it stopped, back home; the new namespace (with the peer,
     * if it got there) goes when nothing holds it. */
    return_home(*host_netns);
fail_pair:
    cn_link_delete(spec->host_name, NULL);
fail:
    close(*host_netns);
    *host_netns = -1;
    return FALSE;
}
