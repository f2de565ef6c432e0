/* nft-batch.c - see nft-batch.h */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>

#include "nft-batch.h"
#include "nft.h"

G_DEFINE_QUARK(cn-nft-error-quark, cn_nft_error)

struct CnNftBatch {
    GByteArray *buffer;
    uint32_t first_seq;
    uint32_t seq;
    GPtrArray *descriptions; /* by seq - first_seq */
};

/* Room for one message (a rule or a chunk of elements): libnftnl fills an
 * element list up to 64 KiB and may write one element past that before
 * trimming it, so leave slack. */
#define MESSAGE_MAX (72 * 1024)

CnNftBatch *cn_nft_batch_new(void)
{
    CnNftBatch *batch = g_new0(CnNftBatch, 1);
    batch->buffer = g_byte_array_sized_new(16 * 1024);
    /* Sequence numbers unique within the process: replies to an earlier
     * batch on the shared socket are told apart by them. */
    static uint32_t next_seq;
    if (next_seq == 0)
        next_seq = (uint32_t)time(NULL);
    batch->first_seq = batch->seq = next_seq;
    next_seq += 1u << 20; /* room for a million messages a batch */
    batch->descriptions = g_ptr_array_new_with_free_func(g_free);
    char header[MNL_NLMSG_HDRLEN + 64];
    struct nlmsghdr *begin = nftnl_batch_begin(header, batch->seq++);
    g_byte_array_append(batch->buffer, (guint8 *)begin, begin->nlmsg_len);
    g_ptr_array_add(batch->descriptions, g_strdup("batch begin"));
    return batch;
}

void cn_nft_batch_free(CnNftBatch *batch)
{
    if (!batch)
        return;
    g_byte_array_unref(batch->buffer);
    g_ptr_array_unref(batch->descriptions);
    g_free(batch);
}

guint cn_nft_batch_count(const CnNftBatch *batch)
{
    return batch->descriptions->len - 1;
}

/* Reserves room for one message, returns where to build it. */
static char *reserve(CnNftBatch *batch, gsize size)
{
    guint offset = batch->buffer->len;
    g_byte_array_set_size(batch->buffer, offset + size);
    return (char *)batch->buffer->data + offset;
}

static void commit_message(CnNftBatch *batch, char *start, const char *description)
{
    struct nlmsghdr *header = (struct nlmsghdr *)start;
    guint offset = (guint)(start - (char *)batch->buffer->data);
    g_byte_array_set_size(batch->buffer, offset + NLMSG_ALIGN(header->nlmsg_len));
    g_ptr_array_add(batch->descriptions, g_strdup(description));
}

#define BUILD(batch, type, family, flags, build_payload, object, description)                    \
    do {                                                                                         \
        char *start = reserve((batch), MESSAGE_MAX);                                            \
        struct nlmsghdr *header = nftnl_nlmsg_build_hdr(start, (type), (family),               \
                                                        (flags) | NLM_F_ACK, (batch)->seq++);  \
        build_payload(header, (object));                                                         \
        commit_message((batch), start, (description));                                           \
    } while (0)

void cn_nft_batch_table(CnNftBatch *batch, uint16_t type, uint16_t flags, struct nftnl_table *table,
                        const char *description)
{
    BUILD(batch, type, nftnl_table_get_u32(table, NFTNL_TABLE_FAMILY), flags,
          nftnl_table_nlmsg_build_payload, table, description);
}

void cn_nft_batch_chain(CnNftBatch *batch, uint16_t type, uint16_t flags, struct nftnl_chain *chain,
                        const char *description)
{
    BUILD(batch, type, nftnl_chain_get_u32(chain, NFTNL_CHAIN_FAMILY), flags,
          nftnl_chain_nlmsg_build_payload, chain, description);
}

void cn_nft_batch_rule(CnNftBatch *batch, uint16_t type, uint16_t flags, struct nftnl_rule *rule,
                       const char *description)
{
    BUILD(batch, type, nftnl_rule_get_u32(rule, NFTNL_RULE_FAMILY), flags,
          nftnl_rule_nlmsg_build_payload, rule, description);
}

void cn_nft_batch_set(CnNftBatch *batch, uint16_t type, uint16_t flags, struct nftnl_set *set,
                      const char *description)
{
    BUILD(batch, type, nftnl_set_get_u32(set, NFTNL_SET_FAMILY), flags, nftnl_set_nlmsg_build_payload,
          set, description);
}

void cn_nft_batch_elements(CnNftBatch *batch, uint16_t type, uint16_t flags, struct nftnl_set *set,
                           const char *description)
{
    /* Large element lists are split by libnftnl's iterator into messages
     * that each fit. */
    struct nftnl_set_elems_iter *iter = nftnl_set_elems_iter_create(set);
    int more;
    do {
        char *start = reserve(batch, MESSAGE_MAX);
        struct nlmsghdr *header = nftnl_nlmsg_build_hdr(start, type, nftnl_set_get_u32(set, NFTNL_SET_FAMILY),
                                                        flags | NLM_F_ACK, batch->seq++);
        /* 1 when elements are left over for another message. */
        more = nftnl_set_elems_nlmsg_build_payload_iter(header, iter);
        commit_message(batch, start, description);
    } while (more > 0);
    nftnl_set_elems_iter_destroy(iter);
}

static gboolean read_errors(struct mnl_socket *socket, CnNftBatch *batch, GError **error)
{
    g_autofree char *buffer = g_malloc(MNL_SOCKET_BUFFER_SIZE * 4);
    uint32_t portid = mnl_socket_get_portid(socket);
    uint32_t last_seq = batch->seq - 1;
    int fd = mnl_socket_get_fd(socket);

    /* nfnetlink processes the batch inside sendmsg: every reply is queued
     * by now.  One ack per message; an error names its message's seq. */
    for (;;) {
        ssize_t n = recv(fd, buffer, MNL_SOCKET_BUFFER_SIZE * 4, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            g_set_error(error, CN_NFT_ERROR, errno, "nftables: cannot read the kernel's answer: %s",
                        g_strerror(errno));
            return FALSE;
        }
        int left = (int)n;
        for (struct nlmsghdr *header = (struct nlmsghdr *)buffer; mnl_nlmsg_ok(header, left);
             header = mnl_nlmsg_next(header, &left)) {
            if (header->nlmsg_pid != portid || header->nlmsg_type != NLMSG_ERROR ||
                header->nlmsg_seq - batch->first_seq > last_seq - batch->first_seq)
                continue; /* not about this batch */
            const struct nlmsgerr *err = mnl_nlmsg_get_payload(header);
            if (err->error != 0) {
                guint index = header->nlmsg_seq - batch->first_seq;
                const char *what = index < batch->descriptions->len ? batch->descriptions->pdata[index]
                                                                     : "a message";
                g_set_error(error, CN_NFT_ERROR, -err->error, "nftables refused %s: %s", what,
                            g_strerror(-err->error));
                return FALSE;
            }
            if (header->nlmsg_seq == last_seq)
                return TRUE;
        }
    }
}

/* One netfilter socket for the process.  Closing one waits for the
 * kernel's deferred cleanup of what the batches deleted (about 10 ms here,
 * an RCU grace period): paid once, when the process exits, rather than per
 * batch. */
static struct mnl_socket *shared_socket(GError **error)
{
    static struct mnl_socket *socket;
    if (socket)
        return socket;
    socket = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
    if (!socket || mnl_socket_bind(socket, 0, MNL_SOCKET_AUTOPID) < 0) {
        g_set_error(error, CN_NFT_ERROR, errno, "nftables: cannot open a netfilter socket: %s",
                    g_strerror(errno));
        if (socket)
            mnl_socket_close(socket);
        socket = NULL;
    }
    return socket;
}

gboolean cn_nft_batch_commit(CnNftBatch *batch, GError **error)
{
    char header[MNL_NLMSG_HDRLEN + 64];
    struct nlmsghdr *end = nftnl_batch_end(header, batch->seq++);
    g_byte_array_append(batch->buffer, (guint8 *)end, end->nlmsg_len);
    g_ptr_array_add(batch->descriptions, g_strdup("batch end"));
    /* The end message is not acked; the last object's ack ends the read. */
    batch->seq--;

    struct mnl_socket *socket = shared_socket(error);
    if (!socket)
        return FALSE;
    int size = (int)MAX(batch->buffer->len, 256 * 1024);
    setsockopt(mnl_socket_get_fd(socket), SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size);
    setsockopt(mnl_socket_get_fd(socket), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size);
    if (mnl_socket_sendto(socket, batch->buffer->data, batch->buffer->len) < 0) {
        g_set_error(error, CN_NFT_ERROR, errno, "nftables: cannot send the batch: %s", g_strerror(errno));
        return FALSE;
    }
    return batch->seq == batch->first_seq + 1 || read_errors(socket, batch, error);
}
