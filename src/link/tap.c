/* tap.c - see tap.h */
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "link.h"
#include "tap.h"

/* TAPs per batch: their descriptors stay open until the batch is done
 * (well under RLIMIT_NOFILE's usual 1024) and their requests fit one
 * sendmsg (under the socket's default send buffer). */
#define TAPS_PER_BATCH 256
/* Room for one RTM_NEWLINK of ours (header, name, four attributes). */
#define MESSAGE_ROOM 128
/* A dump's reply is at most 32 KiB a read; twice that for safety. */
#define DUMP_BUFFER_SIZE 65536

struct CnTapContext {
    struct mnl_socket *socket;
    uint32_t portid;
    uint32_t seq;
};

typedef struct {
    CnTapInfo info;
    char name[IFNAMSIZ];
    int ifindex;
    int master_index;
} ScannedLink;

struct CnTapScan {
    GHashTable *by_name;  /* name -> ScannedLink (owned) */
    GHashTable *by_index; /* ifindex -> ScannedLink */
};

static gboolean errno_fail(GError **error, const char *what, const char *name)
{
    int saved = errno;
    g_set_error(error, CN_LINK_ERROR, 0, "%s %s: %s", what, name, g_strerror(saved));
    return FALSE;
}

CnTapContext *cn_tap_context_new(GError **error)
{
    struct mnl_socket *socket = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
    if (!socket || mnl_socket_bind(socket, 0, MNL_SOCKET_AUTOPID) < 0) {
        errno_fail(error, "cannot open a", "NETLINK_ROUTE socket");
        if (socket)
            mnl_socket_close(socket);
        return NULL;
    }
    CnTapContext *context = g_new0(CnTapContext, 1);
    context->socket = socket;
    context->portid = mnl_socket_get_portid(socket);
    context->seq = (uint32_t)g_get_monotonic_time();
    return context;
}

void cn_tap_context_free(CnTapContext *context)
{
    if (!context)
        return;
    mnl_socket_close(context->socket);
    g_free(context);
}

/* ------------------------------------------------------------ the dump */

static void scanned_link_free(gpointer link)
{
    g_free(link);
}

void cn_tap_scan_free(CnTapScan *scan)
{
    if (!scan)
        return;
    g_hash_table_destroy(scan->by_index);
    g_hash_table_destroy(scan->by_name);
    g_free(scan);
}

static const struct nlattr *nested(const struct nlattr *attr, uint16_t type)
{
    const struct nlattr *inner;
    mnl_attr_for_each_nested(inner, attr)
    {
        if (mnl_attr_get_type(inner) == type)
            return inner;
    }
    return NULL;
}

static gboolean attr_u32(const struct nlattr *attr, uint32_t *value)
{
    if (!attr || mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
        return FALSE;
    *value = mnl_attr_get_u32(attr);
    return TRUE;
}

/* IFLA_LINKINFO: the kind ("tun"), tun's owner and group, and the bridge
 * port's isolated flag. */
static void parse_link_info(const struct nlattr *linkinfo, CnTapInfo *info)
{
    const struct nlattr *kind = nested(linkinfo, IFLA_INFO_KIND);
    gboolean is_tun = kind && mnl_attr_validate(kind, MNL_TYPE_NUL_STRING) == 0 &&
                      strcmp(mnl_attr_get_str(kind), "tun") == 0;
    const struct nlattr *data = nested(linkinfo, IFLA_INFO_DATA);
    /* A TUN device (layer 3) is not a TAP, whatever its name. */
    const struct nlattr *tun_type = data ? nested(data, IFLA_TUN_TYPE) : NULL;
    info->is_tap = is_tun && tun_type && mnl_attr_validate(tun_type, MNL_TYPE_U8) == 0 &&
                   mnl_attr_get_u8(tun_type) == IFF_TAP;
    if (info->is_tap && data) {
        uint32_t value;
        if (attr_u32(nested(data, IFLA_TUN_OWNER), &value))
            info->owner = value;
        if (attr_u32(nested(data, IFLA_TUN_GROUP), &value))
            info->group = value;
    }
    const struct nlattr *slave_kind = nested(linkinfo, IFLA_INFO_SLAVE_KIND);
    const struct nlattr *slave_data = nested(linkinfo, IFLA_INFO_SLAVE_DATA);
    if (slave_kind && slave_data && mnl_attr_validate(slave_kind, MNL_TYPE_NUL_STRING) == 0 &&
        strcmp(mnl_attr_get_str(slave_kind), "bridge") == 0) {
        const struct nlattr *isolated = nested(slave_data, IFLA_BRPORT_ISOLATED);
        info->isolated = isolated && mnl_attr_validate(isolated, MNL_TYPE_U8) == 0 &&
                         mnl_attr_get_u8(isolated) != 0;
    }
}

static int scan_one_link(const struct nlmsghdr *header, void *data)
{
    CnTapScan *scan = data;
    if (header->nlmsg_type != RTM_NEWLINK)
        return MNL_CB_OK;
    const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(header);
    ScannedLink *link = g_new0(ScannedLink, 1);
    link->ifindex = ifm->ifi_index;
    link->info.exists = TRUE;
    link->info.up = (ifm->ifi_flags & IFF_UP) != 0;
    link->info.owner = link->info.group = -1;
    const struct nlattr *attr;
    mnl_attr_for_each(attr, header, sizeof *ifm)
    {
        uint32_t value;
        switch (mnl_attr_get_type(attr)) {
        case IFLA_IFNAME:
            if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
                g_strlcpy(link->name, mnl_attr_get_str(attr), sizeof link->name);
            break;
        case IFLA_MTU:
            attr_u32(attr, &link->info.mtu);
            break;
        case IFLA_GROUP:
            attr_u32(attr, &link->info.ifgroup);
            break;
        case IFLA_CARRIER:
            link->info.carrier = mnl_attr_validate(attr, MNL_TYPE_U8) == 0 && mnl_attr_get_u8(attr) != 0;
            break;
        case IFLA_MASTER:
            if (attr_u32(attr, &value))
                link->master_index = (int)value;
            break;
        case IFLA_LINKINFO:
            parse_link_info(attr, &link->info);
            break;
        }
    }
    if (!*link->name) {
        g_free(link);
        return MNL_CB_OK;
    }
    g_hash_table_replace(scan->by_index, GINT_TO_POINTER(link->ifindex), link);
    g_hash_table_replace(scan->by_name, link->name, link);
    return MNL_CB_OK;
}

/* One dump into SCAN on a socket of its own (an interrupted dump leaves
 * the rest of its replies queued on the socket).  FALSE with errno set:
 * EINTR when links changed during it (NLM_F_DUMP_INTR). */
static gboolean dump_links(CnTapScan *scan, uint32_t seq)
{
    struct mnl_socket *socket = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
    if (!socket || mnl_socket_bind(socket, 0, MNL_SOCKET_AUTOPID) < 0) {
        int saved = errno;
        if (socket)
            mnl_socket_close(socket);
        errno = saved;
        return FALSE;
    }
    char request[MNL_SOCKET_BUFFER_SIZE];
    struct nlmsghdr *header = mnl_nlmsg_put_header(request);
    header->nlmsg_type = RTM_GETLINK;
    header->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    header->nlmsg_seq = seq;
    struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(header, sizeof *ifm);
    ifm->ifi_family = AF_UNSPEC;
    g_autofree char *reply = g_malloc(DUMP_BUFFER_SIZE);
    int rc = mnl_socket_sendto(socket, request, header->nlmsg_len) < 0 ? -1 : MNL_CB_OK;
    while (rc > MNL_CB_STOP) {
        ssize_t n = mnl_socket_recvfrom(socket, reply, DUMP_BUFFER_SIZE);
        rc = n < 0 ? -1 : mnl_cb_run(reply, (size_t)n, seq, mnl_socket_get_portid(socket), scan_one_link, scan);
    }
    int saved = errno;
    mnl_socket_close(socket);
    errno = saved;
    return rc == MNL_CB_STOP;
}

/* Dumps interrupted by links coming or going (VMs starting, say) are
 * tried again, this many times in all. */
#define DUMP_TRIES 8

CnTapScan *cn_tap_scan(CnTapContext *context, GError **error)
{
    g_autoptr(CnTapScan) scan = g_new0(CnTapScan, 1);
    scan->by_name = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, scanned_link_free);
    scan->by_index = g_hash_table_new(g_direct_hash, g_direct_equal);
    for (int tries = 1;; tries++) {
        if (dump_links(scan, ++context->seq))
            break;
        if (errno != EINTR || tries == DUMP_TRIES) {
            errno_fail(error, "cannot list", "links");
            return NULL;
        }
        g_hash_table_remove_all(scan->by_index);
        g_hash_table_remove_all(scan->by_name);
    }
    /* Masters by name, now that every index is known. */
    GHashTableIter iter;
    gpointer value;
    g_hash_table_iter_init(&iter, scan->by_name);
    while (g_hash_table_iter_next(&iter, NULL, &value)) {
        ScannedLink *link = value;
        const ScannedLink *master = g_hash_table_lookup(scan->by_index, GINT_TO_POINTER(link->master_index));
        if (link->master_index > 0 && master)
            g_strlcpy(link->info.master, master->name, sizeof link->info.master);
    }
    return g_steal_pointer(&scan);
}

void cn_tap_scan_lookup(const CnTapScan *scan, const char *name, CnTapInfo *info)
{
    const ScannedLink *link = g_hash_table_lookup(scan->by_name, name);
    if (link) {
        *info = link->info;
        return;
    }
    memset(info, 0, sizeof *info);
    info->owner = info->group = -1;
}

/* ------------------------------------------------------------ batches */

typedef struct {
    char *buffer;
    size_t len;
    uint32_t first_seq;
    GPtrArray *subjects; /* the TAP each message is about, by seq - first_seq */
} Batch;

static void batch_init(Batch *batch, CnTapContext *context, guint messages)
{
    batch->buffer = g_malloc0((gsize)messages * MESSAGE_ROOM);
    batch->len = 0;
    batch->first_seq = context->seq + 1;
    batch->subjects = g_ptr_array_new();
}

static void batch_clear(Batch *batch)
{
    g_free(batch->buffer);
    g_ptr_array_free(batch->subjects, TRUE);
}

/* A new link request about SUBJECT at the end of BATCH. */
static struct nlmsghdr *batch_put(Batch *batch, CnTapContext *context, uint16_t type, unsigned flags,
                                  unsigned change, const char *subject)
{
    struct nlmsghdr *header = mnl_nlmsg_put_header(batch->buffer + batch->len);
    header->nlmsg_type = type;
    header->nlmsg_flags = NLM_F_REQUEST;
    header->nlmsg_seq = ++context->seq;
    struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(header, sizeof *ifm);
    ifm->ifi_family = AF_UNSPEC;
    ifm->ifi_flags = flags;
    ifm->ifi_change = change;
    g_ptr_array_add(batch->subjects, (gpointer)subject);
    return header;
}

static void batch_end(Batch *batch, struct nlmsghdr *header)
{
    batch->len += header->nlmsg_len;
}

/* Sends BATCH in one sendmsg (the kernel runs every request in it before
 * the call returns) and reads the answers: only failures answer, and the
 * last request, which asks for an acknowledgement.  WHAT names the action
 * in the error of the first request that failed. */
static gboolean batch_send(Batch *batch, CnTapContext *context, const char *what, GError **error)
{
    if (batch->len == 0)
        return TRUE;
    struct nlmsghdr *last = NULL;
    int left = (int)batch->len;
    for (struct nlmsghdr *header = (struct nlmsghdr *)batch->buffer; mnl_nlmsg_ok(header, left);
         header = mnl_nlmsg_next(header, &left))
        last = header;
    last->nlmsg_flags |= NLM_F_ACK;
    g_autofree char *whole = g_strdup_printf("%s (and the %u requests after it)",
                                             (const char *)batch->subjects->pdata[0], batch->subjects->len - 1);
    if (mnl_socket_sendto(context->socket, batch->buffer, batch->len) < 0)
        return errno_fail(error, what, whole);

    int first_error = 0;
    const char *first_subject = NULL;
    char reply[MNL_SOCKET_BUFFER_SIZE];
    for (;;) {
        ssize_t n = mnl_socket_recvfrom(context->socket, reply, sizeof reply);
        if (n < 0)
            return errno_fail(error, what, whole);
        int remaining = (int)n;
        for (const struct nlmsghdr *header = (const struct nlmsghdr *)reply; mnl_nlmsg_ok(header, remaining);
             header = mnl_nlmsg_next(header, &remaining)) {
            /* (Unsigned differences: the numbers may wrap within a batch.) */
            if (header->nlmsg_type != NLMSG_ERROR ||
                header->nlmsg_seq - batch->first_seq > last->nlmsg_seq - batch->first_seq)
                continue;
            const struct nlmsgerr *answer = mnl_nlmsg_get_payload(header);
            if (answer->error && !first_error) {
                first_error = -answer->error;
                first_subject = batch->subjects->pdata[header->nlmsg_seq - batch->first_seq];
            }
            if (header->nlmsg_seq == last->nlmsg_seq) {
                if (!first_error)
                    return TRUE;
                errno = first_error;
                return errno_fail(error, what, first_subject);
            }
        }
    }
}

/* The requests that give link NAME the configuration CONFIG (MASTER is
 * the bridge's index, 0 for none): MTU, master and group first; the port
 * flag, when asked, before IFF_UP, so the port is never up unisolated. */
static void put_configuration(Batch *batch, CnTapContext *context, const char *name, const CnTapConfig *config,
                              uint32_t master)
{
    gboolean isolate = master && config->isolated;
    struct nlmsghdr *header =
        batch_put(batch, context, RTM_NEWLINK, isolate ? 0 : IFF_UP, isolate ? 0 : IFF_UP, name);
    mnl_attr_put_strz(header, IFLA_IFNAME, name);
    if (config->mtu)
        mnl_attr_put_u32(header, IFLA_MTU, config->mtu);
    if (master)
        mnl_attr_put_u32(header, IFLA_MASTER, master);
    if (config->ifgroup)
        mnl_attr_put_u32(header, IFLA_GROUP, config->ifgroup);
    batch_end(batch, header);
    if (!isolate)
        return;
    header = batch_put(batch, context, RTM_NEWLINK, IFF_UP, IFF_UP, name);
    mnl_attr_put_strz(header, IFLA_IFNAME, name);
    struct nlattr *linkinfo = mnl_attr_nest_start(header, IFLA_LINKINFO);
    struct nlattr *port = mnl_attr_nest_start(header, IFLA_INFO_SLAVE_DATA);
    mnl_attr_put_u8(header, IFLA_BRPORT_ISOLATED, 1);
    mnl_attr_nest_end(header, port);
    mnl_attr_nest_end(header, linkinfo);
    batch_end(batch, header);
}

static gboolean master_index(const CnTapConfig *config, uint32_t *master, GError **error)
{
    *master = 0;
    if (config->master && (*master = if_nametoindex(config->master)) == 0)
        return errno_fail(error, "no such bridge", config->master);
    return TRUE;
}

/* Configures NAMES[FROM, TO) in one batch. */
static gboolean configure_range(CnTapContext *context, GPtrArray *names, guint from, guint to,
                                const CnTapConfig *config, uint32_t master, GError **error)
{
    Batch batch;
    batch_init(&batch, context, 2 * (to - from));
    for (guint i = from; i < to; i++)
        put_configuration(&batch, context, names->pdata[i], config, master);
    gboolean ok = batch_send(&batch, context, "cannot configure", error);
    batch_clear(&batch);
    return ok;
}

gboolean cn_tap_configure_many(CnTapContext *context, GPtrArray *names, const CnTapConfig *config,
                               GError **error)
{
    uint32_t master;
    if (!master_index(config, &master, error))
        return FALSE;
    for (guint from = 0; from < names->len; from += TAPS_PER_BATCH) {
        if (!configure_range(context, names, from, MIN(from + TAPS_PER_BATCH, names->len), config, master,
                             error))
            return FALSE;
    }
    return TRUE;
}

/* Opens the TAP NAME (making it when missing) and sets its owner and
 * group; -1 on failure. */
static int tun_open(const char *name, const CnTapConfig *config, GError **error)
{
    struct ifreq request = { 0 };
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        errno_fail(error, "cannot open", "/dev/net/tun");
        return -1;
    }
    g_strlcpy(request.ifr_name, name, IFNAMSIZ);
    request.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    gboolean ok = (ioctl(fd, TUNSETIFF, &request) == 0 || errno_fail(error, "cannot create TAP", name)) &&
                  (config->owner == (uid_t)-1 || ioctl(fd, TUNSETOWNER, (unsigned long)config->owner) == 0 ||
                   errno_fail(error, "cannot set the owner of TAP", name)) &&
                  (config->group == (gid_t)-1 || ioctl(fd, TUNSETGROUP, (unsigned long)config->group) == 0 ||
                   errno_fail(error, "cannot set the group of TAP", name));
    if (!ok) {
        close(fd);
        return -1;
    }
    /* Our descriptor gives the TAP a carrier, and a port going up with a
     * carrier costs the kernel twice as much (IPv6 address configuration,
     * the bridge port's state) as one without, as the TAP is once closed.
     * Only speed rides on it: a kernel without TUNSETCARRIER (before 5.0)
     * goes the slower way.  The next attach (QEMU's) turns it on. */
    int carrier = 0;
    (void)ioctl(fd, TUNSETCARRIER, &carrier);
    return fd;
}

gboolean cn_tap_ensure_many(CnTapContext *context, GPtrArray *names, const CnTapConfig *config,
                            GError **error)
{
    uint32_t master;
    if (!master_index(config, &master, error))
        return FALSE;
    int fds[TAPS_PER_BATCH];
    for (guint from = 0; from < names->len; from += TAPS_PER_BATCH) {
        guint to = MIN(from + TAPS_PER_BATCH, names->len), opened = 0;
        gboolean ok = TRUE;
        for (guint i = from; ok && i < to; i++) {
            fds[opened] = tun_open(names->pdata[i], config, error);
            ok = fds[opened] >= 0;
            opened += ok;
        }
        /* Configured while our descriptors keep them alive, persistent
         * last: a process killed before leaves no half-made TAP. */
        ok = ok && configure_range(context, names, from, to, config, master, error);
        for (guint k = 0; k < opened; k++) {
            if (ok && ioctl(fds[k], TUNSETPERSIST, 1UL) < 0)
                ok = errno_fail(error, "cannot make TAP persistent", names->pdata[from + k]);
            close(fds[k]);
        }
        if (!ok)
            return FALSE;
    }
    return TRUE;
}

/* ------------------------------------------------------------ deleting */

/* An interface group, from WANTED on, that no link in SCAN is in. */
static uint32_t unused_group(const CnTapScan *scan, uint32_t wanted)
{
    g_autoptr(GHashTable) used = g_hash_table_new(g_direct_hash, g_direct_equal);
    GHashTableIter iter;
    gpointer value;
    g_hash_table_iter_init(&iter, scan->by_name);
    while (g_hash_table_iter_next(&iter, NULL, &value))
        g_hash_table_add(used, GUINT_TO_POINTER(((const ScannedLink *)value)->info.ifgroup));
    uint32_t group = wanted;
    while (group == 0 || g_hash_table_contains(used, GUINT_TO_POINTER(group)))
        group++;
    return group;
}

gboolean cn_tap_delete_many(CnTapContext *context, const CnTapScan *scan, GPtrArray *names,
                            uint32_t ifgroup, GError **error)
{
    g_autoptr(GHashTable) doomed = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = 0; i < names->len; i++) {
        const ScannedLink *link = g_hash_table_lookup(scan->by_name, names->pdata[i]);
        if (!link)
            continue;
        if (!link->info.is_tap) {
            g_set_error(error, CN_LINK_ERROR, 0, "%s is not a TAP device: not deleting it (nor any other)",
                        link->name);
            return FALSE;
        }
        g_hash_table_add(doomed, (gpointer)link->name);
    }
    if (g_hash_table_size(doomed) == 0)
        return TRUE;

    /* Never a link that is not ours: a group anyone else is in is not used. */
    uint32_t group = ifgroup;
    GHashTableIter iter;
    gpointer value;
    g_hash_table_iter_init(&iter, scan->by_name);
    while (g_hash_table_iter_next(&iter, NULL, &value)) {
        const ScannedLink *link = value;
        if (link->info.ifgroup == group && !g_hash_table_contains(doomed, link->name)) {
            group = unused_group(scan, ifgroup + 1);
            break;
        }
    }

    /* Moved by index, in NAMES' order, TAPS_PER_BATCH to a batch (one
     * sendmsg is at most the socket's buffer): a link that took a TAP's
     * name since the dump is not the one moved (the kernel answers ENODEV
     * for a gone index, and nothing is deleted). */
    g_autoptr(GPtrArray) moves = g_ptr_array_new();
    g_autoptr(GHashTable) moved = g_hash_table_new(g_str_hash, g_str_equal); /* a name given twice: once */
    for (guint i = 0; i < names->len; i++) {
        const ScannedLink *link = g_hash_table_lookup(scan->by_name, names->pdata[i]);
        if (link && link->info.ifgroup != group && g_hash_table_add(moved, (gpointer)link->name))
            g_ptr_array_add(moves, (gpointer)link);
    }
    for (guint from = 0; from < moves->len; from += TAPS_PER_BATCH) {
        guint to = MIN(from + TAPS_PER_BATCH, moves->len);
        Batch batch;
        batch_init(&batch, context, to - from);
        for (guint i = from; i < to; i++) {
            const ScannedLink *link = moves->pdata[i];
            struct nlmsghdr *header = batch_put(&batch, context, RTM_NEWLINK, 0, 0, link->name);
            ((struct ifinfomsg *)mnl_nlmsg_get_payload(header))->ifi_index = link->ifindex;
            mnl_attr_put_u32(header, IFLA_GROUP, group);
            batch_end(&batch, header);
        }
        gboolean ok = batch_send(&batch, context, "cannot move to its interface group: TAP", error);
        batch_clear(&batch);
        if (!ok)
            return FALSE;
    }

    /* Between the dump and this request, only a link that joined this
     * group would go with it: the group is the pool's own or one no link
     * used, and the state directory's lock keeps other carthage-net
     * processes out. */
    Batch batch;
    g_autofree char *subject = g_strdup_printf("%u", group);
    batch_init(&batch, context, 1);
    struct nlmsghdr *header = batch_put(&batch, context, RTM_DELLINK, 0, 0, subject);
    mnl_attr_put_u32(header, IFLA_GROUP, group);
    batch_end(&batch, header);
    gboolean ok = batch_send(&batch, context, "cannot delete the TAPs of interface group", error);
    batch_clear(&batch);
    return ok;
}
