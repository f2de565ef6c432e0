/* nft-query.c - reading set elements back from the kernel. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/set.h>
#include <linux/netfilter/nf_tables.h>

#include "nft.h"

static int collect(struct nftnl_set_elem *elem, void *data)
{
    GArray *elements = data;
    CnNftElement element = { 0 };
    uint32_t len = 0;
    const void *key = nftnl_set_elem_get(elem, NFTNL_SET_ELEM_KEY, &len);
    if (key) {
        element.key_len = MIN(len, sizeof element.key);
        memcpy(element.key, key, element.key_len);
    }
    const void *value = nftnl_set_elem_get(elem, NFTNL_SET_ELEM_DATA, &len);
    if (value) {
        element.data_len = MIN(len, sizeof element.data);
        memcpy(element.data, value, element.data_len);
    }
    g_array_append_val(elements, element);
    return 0;
}

typedef struct {
    struct nftnl_set *set;
} DumpContext;

static int on_message(const struct nlmsghdr *header, void *data)
{
    DumpContext *context = data;
    nftnl_set_elems_nlmsg_parse(header, context->set);
    return MNL_CB_OK;
}

gboolean cn_nft_set_elements(const char *network, uint32_t family, const char *set_name, GArray **elements,
                             gboolean *exists, GError **error)
{
    g_autofree char *table = cn_nft_table_name(network);
    char buffer[MNL_SOCKET_BUFFER_SIZE];
    uint32_t seq = (uint32_t)time(NULL);
    gboolean ok = FALSE;

    *elements = g_array_new(FALSE, TRUE, sizeof(CnNftElement));
    *exists = FALSE;
    struct nftnl_set *set = nftnl_set_alloc();
    nftnl_set_set_str(set, NFTNL_SET_TABLE, table);
    nftnl_set_set_str(set, NFTNL_SET_NAME, set_name);
    struct nlmsghdr *header = nftnl_nlmsg_build_hdr(buffer, NFT_MSG_GETSETELEM, (uint16_t)family,
                                                    NLM_F_DUMP | NLM_F_ACK, seq);
    nftnl_set_elems_nlmsg_build_payload(header, set);

    struct mnl_socket *socket = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
    if (!socket || mnl_socket_bind(socket, 0, MNL_SOCKET_AUTOPID) < 0) {
        g_set_error(error, CN_NFT_ERROR, errno, "nftables: cannot open a netfilter socket: %s",
                    g_strerror(errno));
        goto out;
    }
    if (mnl_socket_sendto(socket, header, header->nlmsg_len) < 0) {
        g_set_error(error, CN_NFT_ERROR, errno, "nftables: cannot ask for %s: %s", set_name, g_strerror(errno));
        goto out;
    }
    DumpContext context = { set };
    uint32_t portid = mnl_socket_get_portid(socket);
    int rc;
    for (;;) {
        ssize_t n = mnl_socket_recvfrom(socket, buffer, sizeof buffer);
        if (n < 0) {
            g_set_error(error, CN_NFT_ERROR, errno, "nftables: cannot read %s: %s", set_name, g_strerror(errno));
            goto out;
        }
        rc = mnl_cb_run(buffer, (size_t)n, seq, portid, on_message, &context);
        if (rc <= MNL_CB_STOP)
            break;
    }
    if (rc < 0) {
        if (errno == ENOENT) { /* no such table or set */
            ok = TRUE;
            goto out;
        }
        g_set_error(error, CN_NFT_ERROR, errno, "nftables: cannot read %s %s: %s", table, set_name,
                    g_strerror(errno));
        goto out;
    }
    *exists = TRUE;
    nftnl_set_elem_foreach(set, collect, *elements);
    ok = TRUE;
out:
    if (socket)
        mnl_socket_close(socket);
    nftnl_set_free(set);
    return ok;
}
