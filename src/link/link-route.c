/* link-route.c - the route toward the outside, and watching for changes
 * to it (libnl). */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <string.h>

#include <linux/rtnetlink.h>
#include <netlink/errno.h>
#include <netlink/msg.h>

#include "link-private.h"
#include "netaddr.h"

typedef struct {
    uint32_t address;
    int ifindex;
    int kernel_errno; /* from the kernel's NLMSG_ERROR, when it refused */
    gboolean answered;
} RouteAnswer;

static int route_answer(struct nl_msg *msg, void *data)
{
    RouteAnswer *answer = data;
    struct nlattr *attrs[RTA_MAX + 1];
    if (nlmsg_parse(nlmsg_hdr(msg), sizeof(struct rtmsg), attrs, RTA_MAX, NULL) < 0)
        return NL_SKIP;
    answer->answered = TRUE;
    if (attrs[RTA_PREFSRC] && nla_len(attrs[RTA_PREFSRC]) == 4)
        answer->address = ntohl(nla_get_u32(attrs[RTA_PREFSRC]));
    if (attrs[RTA_OIF])
        answer->ifindex = (int)nla_get_u32(attrs[RTA_OIF]);
    return NL_OK;
}

static int route_refused(struct sockaddr_nl *peer, struct nlmsgerr *error, void *data)
{
    RouteAnswer *answer = data;
    answer->kernel_errno = -error->error;
    return NL_STOP;
}

gboolean cn_link_outbound_address(uint32_t *address, char device[16], GError **error)
{
    *address = 0;
    device[0] = '\0';
    g_autoptr(nl_sock_t) sock = cn_route_socket(error);
    if (!sock)
        return FALSE;
    uint32_t probe;
    cn_v4_parse(CN_LINK_OUTSIDE_PROBE, &probe);
    struct nl_msg *msg = nlmsg_alloc_simple(RTM_GETROUTE, NLM_F_REQUEST);
    struct rtmsg request = { .rtm_family = AF_INET, .rtm_dst_len = 32 };
    if (!msg || nlmsg_append(msg, &request, sizeof request, NLMSG_ALIGNTO) < 0 ||
        nla_put_u32(msg, RTA_DST, htonl(probe)) < 0) {
        nlmsg_free(msg);
        return cn_link_fail(error, -NLE_NOMEM, "cannot build the route request for", CN_LINK_OUTSIDE_PROBE);
    }
    RouteAnswer answer = { 0 };
    nl_socket_modify_cb(sock, NL_CB_VALID, NL_CB_CUSTOM, route_answer, &answer);
    nl_socket_modify_err_cb(sock, NL_CB_CUSTOM, route_refused, &answer);
    int rc = nl_send_auto(sock, msg);
    nlmsg_free(msg);
    if (rc >= 0)
        rc = nl_recvmsgs_default(sock);
    if (answer.kernel_errno == ENETUNREACH || answer.kernel_errno == EHOSTUNREACH ||
        answer.kernel_errno == EINVAL || answer.kernel_errno == EACCES)
        return TRUE; /* no route (or an unreachable/prohibit/blackhole one) */
    if (answer.kernel_errno) {
        g_set_error(error, CN_LINK_ERROR, 0, "cannot look up the route to %s: %s", CN_LINK_OUTSIDE_PROBE,
                    g_strerror(answer.kernel_errno));
        return FALSE;
    }
    if (rc < 0)
        return cn_link_fail(error, rc, "cannot look up the route to", CN_LINK_OUTSIDE_PROBE);
    if (!answer.answered)
        return TRUE;
    *address = answer.address;
    char name[IF_NAMESIZE];
    if (answer.address && answer.ifindex > 0 && if_indextoname((unsigned)answer.ifindex, name))
        g_strlcpy(device, name, 16);
    return TRUE;
}

struct CnRouteWatch {
    struct nl_sock *sock;
    gboolean changed;
};

static int route_notified(struct nl_msg *msg, void *data)
{
    CnRouteWatch *watch = data;
    watch->changed = TRUE;
    return NL_OK;
}

CnRouteWatch *cn_route_watch_new(GError **error)
{
    CnRouteWatch *watch = g_new0(CnRouteWatch, 1);
    watch->sock = nl_socket_alloc();
    if (!watch->sock) {
        g_set_error(error, CN_LINK_ERROR, 0, "cannot allocate a netlink socket");
        cn_route_watch_free(watch);
        return NULL;
    }
    nl_socket_disable_seq_check(watch->sock);
    nl_socket_modify_cb(watch->sock, NL_CB_VALID, NL_CB_CUSTOM, route_notified, watch);
    int rc = nl_connect(watch->sock, NETLINK_ROUTE);
    if (rc >= 0)
        rc = nl_socket_add_memberships(watch->sock, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV4_ROUTE, RTNLGRP_LINK, 0);
    if (rc >= 0)
        rc = nl_socket_set_nonblocking(watch->sock);
    if (rc < 0) {
        cn_link_fail(error, rc, "cannot watch", "routes and addresses");
        cn_route_watch_free(watch);
        return NULL;
    }
    return watch;
}

void cn_route_watch_free(CnRouteWatch *watch)
{
    if (!watch)
        return;
    if (watch->sock)
        nl_socket_free(watch->sock);
    g_free(watch);
}

int cn_route_watch_fd(const CnRouteWatch *watch)
{
    return nl_socket_get_fd(watch->sock);
}

gboolean cn_route_watch_drain(CnRouteWatch *watch, gboolean *changed, GError **error)
{
    watch->changed = FALSE;
    for (;;) {
        int rc = nl_recvmsgs_default(watch->sock);
        if (rc == -NLE_AGAIN)
            break;
        if (rc == -NLE_NOMEM) {
            /* ENOBUFS: the kernel dropped notifications; look again. */
            watch->changed = TRUE;
            continue;
        }
        if (rc < 0)
            return cn_link_fail(error, rc, "cannot read", "route notifications");
    }
    *changed = watch->changed;
    return TRUE;
}
