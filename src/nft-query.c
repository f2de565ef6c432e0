/* nft-query.c - reading set elements back from the kernel. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/set.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "nft-expr.h"
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

/* Sends HEADER (a GETSETELEM about SET) and parses the answer into SET.
 * *EXISTS: the kernel had what was asked (FALSE on ENOENT: no such table,
 * set or element). */
static gboolean ask(struct nlmsghdr *header, struct nftnl_set *set, const char *what, uint32_t seq,
                    gboolean *exists, GError **error)
{
    char buffer[MNL_SOCKET_BUFFER_SIZE];
    gboolean ok = FALSE;
    *exists = FALSE;
    struct mnl_socket *socket = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
    if (!socket || mnl_socket_bind(socket, 0, MNL_SOCKET_AUTOPID) < 0) {
        g_set_error(error, CN_NFT_ERROR, errno, "nftables: cannot open a netfilter socket: %s",
                    g_strerror(errno));
        goto out;
    }
    if (mnl_socket_sendto(socket, header, header->nlmsg_len) < 0) {
        g_set_error(error, CN_NFT_ERROR, errno, "nftables: cannot ask for %s: %s", what, g_strerror(errno));
        goto out;
    }
    DumpContext context = { set };
    uint32_t portid = mnl_socket_get_portid(socket);
    int rc;
    for (;;) {
        ssize_t n = mnl_socket_recvfrom(socket, buffer, sizeof buffer);
        if (n < 0) {
            g_set_error(error, CN_NFT_ERROR, errno, "nftables: cannot read %s: %s", what, g_strerror(errno));
            goto out;
        }
        rc = mnl_cb_run(buffer, (size_t)n, seq, portid, on_message, &context);
        if (rc <= MNL_CB_STOP)
            break;
    }
    if (rc < 0) {
        if (errno == ENOENT) {
            ok = TRUE;
            goto out;
        }
        g_set_error(error, CN_NFT_ERROR, errno, "nftables: cannot read %s: %s", what, g_strerror(errno));
        goto out;
    }
    *exists = TRUE;
    ok = TRUE;
out:
    if (socket)
        mnl_socket_close(socket);
    return ok;
}

gboolean cn_nft_set_elements(const char *network, uint32_t family, const char *set_name, GArray **elements,
                             gboolean *exists, GError **error)
{
    g_autofree char *table = cn_nft_table_name(network);
    g_autofree char *what = g_strdup_printf("%s %s", table, set_name);
    char buffer[MNL_SOCKET_BUFFER_SIZE];
    uint32_t seq = (uint32_t)time(NULL);

    *elements = g_array_new(FALSE, TRUE, sizeof(CnNftElement));
    struct nftnl_set *set = nftnl_set_alloc();
    nftnl_set_set_str(set, NFTNL_SET_TABLE, table);
    nftnl_set_set_str(set, NFTNL_SET_NAME, set_name);
    struct nlmsghdr *header = nftnl_nlmsg_build_hdr(buffer, NFT_MSG_GETSETELEM, (uint16_t)family,
                                                    NLM_F_DUMP | NLM_F_ACK, seq);
    nftnl_set_elems_nlmsg_build_payload(header, set);
    gboolean ok = ask(header, set, what, seq, exists, error);
    if (ok && *exists)
        nftnl_set_elem_foreach(set, collect, *elements);
    nftnl_set_free(set);
    return ok;
}

gboolean cn_nft_address_reserved(const char *network, uint32_t address, const uint8_t mac[6], gboolean *reserved,
                                 GError **error)
{
    g_autofree char *table = cn_nft_table_name(network);
    g_autofree char *what = g_strdup_printf("%s reserved", table);
    char buffer[MNL_SOCKET_BUFFER_SIZE];
    uint32_t seq = (uint32_t)time(NULL);
    uint8_t key[CN_NFT_IPV4_LEN + CN_NFT_ETHER_LEN] = { 0 };
    uint32_t address_be = htonl(address);
    memcpy(key, &address_be, 4);
    memcpy(key + CN_NFT_IPV4_LEN, mac, 6);

    struct nftnl_set *set = nftnl_set_alloc();
    nftnl_set_set_str(set, NFTNL_SET_TABLE, table);
    nftnl_set_set_str(set, NFTNL_SET_NAME, "reserved");
    struct nftnl_set_elem *elem = nftnl_set_elem_alloc();
    nftnl_set_elem_set(elem, NFTNL_SET_ELEM_KEY, key, sizeof key);
    nftnl_set_elem_add(set, elem);
    struct nlmsghdr *header = nftnl_nlmsg_build_hdr(buffer, NFT_MSG_GETSETELEM, NFPROTO_BRIDGE, NLM_F_ACK, seq);
    nftnl_set_elems_nlmsg_build_payload(header, set);
    /* The answer is parsed into a set of its own. */
    struct nftnl_set *answer = nftnl_set_alloc();
    gboolean ok = ask(header, answer, what, seq, reserved, error);
    nftnl_set_free(answer);
    nftnl_set_free(set);
    return ok;
}
