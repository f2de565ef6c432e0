/* tap.c - see tap.h */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <netlink/errno.h>
#include <netlink/msg.h>

#include "link-private.h"
#include "tap.h"

struct CnTapContext {
    struct nl_sock *sock;
    struct nl_cache *links; /* filled on demand for inspect */
};

static gboolean errno_fail(GError **error, const char *what, const char *name)
{
    int saved = errno;
    g_set_error(error, CN_LINK_ERROR, 0, "%s %s: %s", what, name, g_strerror(saved));
    return FALSE;
}

CnTapContext *cn_tap_context_new(GError **error)
{
    struct nl_sock *sock = cn_route_socket(error);
    if (!sock)
        return NULL;
    CnTapContext *context = g_new0(CnTapContext, 1);
    context->sock = sock;
    return context;
}

void cn_tap_context_free(CnTapContext *context)
{
    if (!context)
        return;
    if (context->links)
        nl_cache_free(context->links);
    nl_socket_free(context->sock);
    g_free(context);
}

/* Opens the TAP NAME (creating it when missing) on /dev/net/tun. */
static int tun_open(const char *name, GError **error)
{
    struct ifreq request = { 0 };
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        errno_fail(error, "cannot open", "/dev/net/tun");
        return -1;
    }
    g_strlcpy(request.ifr_name, name, IFNAMSIZ);
    request.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    if (ioctl(fd, TUNSETIFF, &request) < 0) {
        errno_fail(error, "cannot create TAP", name);
        close(fd);
        return -1;
    }
    return fd;
}

gboolean cn_tap_ensure(CnTapContext *context, const char *name, const CnTapConfig *config,
                       gboolean *created, GError **error)
{
    *created = if_nametoindex(name) == 0;
    int fd = tun_open(name, error);
    if (fd < 0)
        return FALSE;
    /* Configured while our descriptor keeps it alive, persistent last: a
     * process killed in between leaves no half-made TAP behind (the last
     * close removes a TAP that is not persistent). */
    gboolean ok = (config->owner == (uid_t)-1 || ioctl(fd, TUNSETOWNER, (unsigned long)config->owner) == 0 ||
                   errno_fail(error, "cannot set the owner of TAP", name)) &&
                  (config->group == (gid_t)-1 || ioctl(fd, TUNSETGROUP, (unsigned long)config->group) == 0 ||
                   errno_fail(error, "cannot set the group of TAP", name)) &&
                  cn_tap_configure(context, name, config, error) &&
                  (ioctl(fd, TUNSETPERSIST, 1UL) == 0 || errno_fail(error, "cannot make TAP persistent", name));
    close(fd);
    return ok;
}

/* IFLA_PROTINFO { IFLA_BRPORT_ISOLATED } on an AF_BRIDGE RTM_SETLINK. */
static gboolean set_port_isolated(CnTapContext *context, int ifindex, gboolean isolated,
                                  const char *name, GError **error)
{
    struct nl_msg *msg = nlmsg_alloc_simple(RTM_SETLINK, NLM_F_REQUEST | NLM_F_ACK);
    struct ifinfomsg header = { .ifi_family = AF_BRIDGE, .ifi_index = ifindex };
    struct nlattr *protinfo;
    int rc = -NLE_NOMEM;

    if (!msg)
        goto out;
    if ((rc = nlmsg_append(msg, &header, sizeof header, NLMSG_ALIGNTO)) < 0)
        goto out;
    if (!(protinfo = nla_nest_start(msg, IFLA_PROTINFO | NLA_F_NESTED))) {
        rc = -NLE_NOMEM;
        goto out;
    }
    if ((rc = nla_put_u8(msg, IFLA_BRPORT_ISOLATED, isolated ? 1 : 0)) < 0)
        goto out;
    nla_nest_end(msg, protinfo);
    if ((rc = nl_send_auto(context->sock, msg)) < 0)
        goto out;
    rc = nl_wait_for_ack(context->sock);
out:
    nlmsg_free(msg);
    return rc < 0 ? cn_link_fail(error, rc, "cannot set the isolated flag of bridge port", name) : TRUE;
}

gboolean cn_tap_configure(CnTapContext *context, const char *name, const CnTapConfig *config,
                          GError **error)
{
    int ifindex = (int)if_nametoindex(name);
    int master = 0;
    if (ifindex == 0)
        return errno_fail(error, "no such link", name);
    if (config->master && (master = (int)if_nametoindex(config->master)) == 0)
        return errno_fail(error, "no such bridge", config->master);

    g_autoptr(rtnl_link_t) current = rtnl_link_alloc();
    g_autoptr(rtnl_link_t) change = rtnl_link_alloc();
    rtnl_link_set_ifindex(current, ifindex);
    rtnl_link_set_flags(change, IFF_UP);
    if (config->mtu)
        rtnl_link_set_mtu(change, config->mtu);
    if (master)
        rtnl_link_set_master(change, master);
    int rc = rtnl_link_change(context->sock, current, change, 0);
    if (rc < 0)
        return cn_link_fail(error, rc, "cannot configure", name);
    if (master && config->isolated)
        return set_port_isolated(context, ifindex, TRUE, name, error);
    return TRUE;
}

static long read_sysfs_long(const char *name, const char *attribute)
{
    g_autofree char *path = g_strdup_printf("/sys/class/net/%s/%s", name, attribute);
    g_autofree char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return -1;
    return strtol(text, NULL, 10);
}

gboolean cn_tap_inspect(CnTapContext *context, const char *name, CnTapInfo *info, GError **error)
{
    memset(info, 0, sizeof *info);
    info->owner = info->group = -1;
    g_autoptr(rtnl_link_t) link = NULL;
    int rc = rtnl_link_get_kernel(context->sock, 0, name, &link);
    if (rc == -NLE_OBJ_NOTFOUND || rc == -NLE_NODEV)
        return TRUE;
    if (rc < 0)
        return cn_link_fail(error, rc, "cannot look up link", name);
    info->exists = TRUE;
    const char *type = rtnl_link_get_type(link);
    info->is_tap = type && strcmp(type, "tun") == 0;
    info->up = (rtnl_link_get_flags(link) & IFF_UP) != 0;
    info->mtu = rtnl_link_get_mtu(link);
    int master = rtnl_link_get_master(link);
    if (master > 0)
        if_indextoname((unsigned)master, info->master);
    /* tun's owner and group are not in libnl 3.7's link object. */
    info->owner = read_sysfs_long(name, "owner");
    info->group = read_sysfs_long(name, "group");
    info->isolated = read_sysfs_long(name, "brport/isolated") == 1;
    return TRUE;
}

gboolean cn_tap_delete(CnTapContext *context, const char *name, GError **error)
{
    if (if_nametoindex(name) == 0)
        return TRUE;
    int fd = tun_open(name, error);
    if (fd < 0)
        return FALSE;
    gboolean ok = ioctl(fd, TUNSETPERSIST, 0UL) == 0 || errno_fail(error, "cannot delete TAP", name);
    close(fd); /* the last close of a non-persistent TAP removes it */
    return ok;
}
