/* bench-pool-floor.c - the kernel's floor for making a pool of TAPs: the
 * least a program can do to get N persistent TAPs up on a bridge, with
 * nothing of carthage-net's (no definitions, no state file, no check of
 * what exists).  bench-pool.sh times it next to `carthage-net pool
 * create` and the `ip` loop.
 *
 *   bench-pool-floor create PREFIX N BRIDGE MTU ISOLATED OWNER_UID
 *   bench-pool-floor delete GROUP
 *
 * create: per TAP, open /dev/net/tun, TUNSETIFF, TUNSETOWNER (unless
 * OWNER_UID is -1), TUNSETPERSIST, close; then one netlink batch (one
 * sendmsg, or more past what a sendmsg takes) with, per TAP, an RTM_NEWLINK setting MTU and master and, when
 * ISOLATED is 1, a second one setting the bridge port's isolated flag,
 * and IFF_UP.  The TAPs join interface group 4242 (bench-pool.sh deletes
 * the baseline's group with `delete`).
 * delete GROUP: one RTM_DELLINK for the whole interface group.
 *
 * Exits 0 when every request succeeded, 1 (with a message) otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <net/if.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define FLOOR_GROUP 4242

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static struct nlmsghdr *put_link(char *buf, int type, unsigned flags, unsigned seq, unsigned ifi_flags,
                                 unsigned ifi_change)
{
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = NLM_F_REQUEST | flags;
    nlh->nlmsg_seq = seq;
    struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof *ifm);
    ifm->ifi_family = AF_UNSPEC;
    ifm->ifi_flags = ifi_flags;
    ifm->ifi_change = ifi_change;
    return nlh;
}

/* Sends the batch in BUF (LEN bytes, the last message asks for an ACK
 * with sequence LAST) and reads until that ACK; any error fails. */
static void send_batch(struct mnl_socket *nl, char *buf, size_t len, unsigned last)
{
    if (mnl_socket_sendto(nl, buf, len) < 0)
        die("sendto");
    char reply[MNL_SOCKET_BUFFER_SIZE];
    for (;;) {
        ssize_t n = mnl_socket_recvfrom(nl, reply, sizeof reply);
        if (n < 0)
            die("recvfrom");
        int left = (int)n;
        for (struct nlmsghdr *nlh = (struct nlmsghdr *)reply; mnl_nlmsg_ok(nlh, left);
             nlh = mnl_nlmsg_next(nlh, &left)) {
            if (nlh->nlmsg_type != NLMSG_ERROR)
                continue;
            const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);
            if (err->error) {
                errno = -err->error;
                die("netlink request");
            }
            if (nlh->nlmsg_seq == last)
                return;
        }
    }
}

static int create(const char *prefix, unsigned count, const char *bridge, unsigned mtu, int isolated,
                  long owner)
{
    for (unsigned i = 0; i < count; i++) {
        struct ifreq request = { 0 };
        int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
        if (fd < 0)
            die("/dev/net/tun");
        snprintf(request.ifr_name, IFNAMSIZ, "%s%u", prefix, i);
        request.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
        if (ioctl(fd, TUNSETIFF, &request) < 0 ||
            (owner >= 0 && ioctl(fd, TUNSETOWNER, (unsigned long)owner) < 0) ||
            ioctl(fd, TUNSETPERSIST, 1UL) < 0)
            die(request.ifr_name);
        close(fd);
    }

    struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);
    if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
        die("netlink");
    /* IFLA_MASTER is an index: looked up once. */
    unsigned master = if_nametoindex(bridge);
    if (!master)
        die(bridge);
    size_t size = (size_t)count * 2 * 128;
    char *buf = calloc(1, size);
    if (!buf)
        die("calloc");
    size_t len = 0;
    unsigned seq = 0;
    for (unsigned i = 0; i < count; i++) {
        char name[IFNAMSIZ];
        snprintf(name, sizeof name, "%s%u", prefix, i);
        struct nlmsghdr *nlh = put_link(buf + len, RTM_NEWLINK, 0, ++seq, isolated ? 0 : IFF_UP,
                                        isolated ? 0 : IFF_UP);
        mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
        mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
        mnl_attr_put_u32(nlh, IFLA_MASTER, master);
        mnl_attr_put_u32(nlh, IFLA_GROUP, FLOOR_GROUP);
        len += nlh->nlmsg_len;
        if (isolated) {
            nlh = put_link(buf + len, RTM_NEWLINK, 0, ++seq, IFF_UP, IFF_UP);
            mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
            struct nlattr *info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
            struct nlattr *data = mnl_attr_nest_start(nlh, IFLA_INFO_SLAVE_DATA);
            mnl_attr_put_u8(nlh, IFLA_BRPORT_ISOLATED, 1);
            mnl_attr_nest_end(nlh, data);
            mnl_attr_nest_end(nlh, info);
            len += nlh->nlmsg_len;
        }
        /* One sendmsg is at most the socket's send buffer (about 208
         * KiB): a batch sent whenever the next TAP's requests might not
         * fit (one batch in all at the default 1000 TAPs). */
        if (i + 1 == count || len + 2 * 128 * 2 > 200 * 1024) {
            nlh->nlmsg_flags |= NLM_F_ACK;
            send_batch(nl, buf, len, seq);
            len = 0;
        }
    }
    free(buf);
    mnl_socket_close(nl);
    return 0;
}

static int delete_group(unsigned group)
{
    struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);
    if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
        die("netlink");
    char buf[MNL_SOCKET_BUFFER_SIZE];
    struct nlmsghdr *nlh = put_link(buf, RTM_DELLINK, NLM_F_ACK, 1, 0, 0);
    mnl_attr_put_u32(nlh, IFLA_GROUP, group);
    send_batch(nl, buf, nlh->nlmsg_len, 1);
    mnl_socket_close(nl);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 8 && strcmp(argv[1], "create") == 0)
        return create(argv[2], (unsigned)atoi(argv[3]), argv[4], (unsigned)atoi(argv[5]),
                      atoi(argv[6]) == 1, atol(argv[7]));
    if (argc == 3 && strcmp(argv[1], "delete") == 0)
        return delete_group((unsigned)atoi(argv[2]));
    fprintf(stderr, "usage: %s create PREFIX N BRIDGE MTU ISOLATED OWNER_UID | delete GROUP\n", argv[0]);
    return 2;
}
