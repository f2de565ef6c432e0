/* nft-query.c - reading carthage-net's tables back from the kernel: set
 * elements, table comments, chains and rule comments. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "nft-expr.h"
#include "nft-private.h"

/* Sends HEADER and hands every answer to ON_MESSAGE.  *EXISTS: the kernel
 * had what was asked (FALSE on ENOENT: no such table, set or element). */
static gboolean ask(struct nlmsghdr *header, mnl_cb_t on_message, void *data, const char *what, gboolean *exists,
                    GError **error)
{
    char buffer[MNL_SOCKET_BUFFER_SIZE];
    gboolean ok = FALSE;
    uint32_t seq = header->nlmsg_seq;
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
    uint32_t portid = mnl_socket_get_portid(socket);
    int rc;
    for (;;) {
        ssize_t n = mnl_socket_recvfrom(socket, buffer, sizeof buffer);
        if (n < 0) {
            g_set_error(error, CN_NFT_ERROR, errno, "nftables: cannot read %s: %s", what, g_strerror(errno));
            goto out;
        }
        rc = mnl_cb_run(buffer, (size_t)n, seq, portid, on_message, data);
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

static uint32_t next_seq(void)
{
    static uint32_t seq;
    if (!seq)
        seq = (uint32_t)time(NULL) ^ 0x5a5a0000u;
    return ++seq;
}

/* Set elements */

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
    struct nftnl_expr *expr = (struct nftnl_expr *)nftnl_set_elem_get(elem, NFTNL_SET_ELEM_EXPR, &len);
    if (expr && strcmp(nftnl_expr_get_str(expr, NFTNL_EXPR_NAME), "counter") == 0)
        element.packets = nftnl_expr_get_u64(expr, NFTNL_EXPR_CTR_PACKETS);
    g_array_append_val(elements, element);
    return 0;
}

static int on_elements(const struct nlmsghdr *header, void *data)
{
    nftnl_set_elems_nlmsg_parse(header, data);
    return MNL_CB_OK;
}

gboolean cn_nft_read_set(const char *table, uint32_t family, const char *set_name, GArray **elements,
                         gboolean *exists, GError **error)
{
    g_autofree char *what = g_strdup_printf("%s %s", table, set_name);
    char buffer[MNL_SOCKET_BUFFER_SIZE];

    *elements = g_array_new(FALSE, TRUE, sizeof(CnNftElement));
    struct nftnl_set *set = nftnl_set_alloc();
    nftnl_set_set_str(set, NFTNL_SET_TABLE, table);
    nftnl_set_set_str(set, NFTNL_SET_NAME, set_name);
    struct nlmsghdr *header = nftnl_nlmsg_build_hdr(buffer, NFT_MSG_GETSETELEM, (uint16_t)family,
                                                    NLM_F_DUMP | NLM_F_ACK, next_seq());
    nftnl_set_elems_nlmsg_build_payload(header, set);
    gboolean ok = ask(header, on_elements, set, what, exists, error);
    if (ok && *exists)
        nftnl_set_elem_foreach(set, collect, *elements);
    nftnl_set_free(set);
    return ok;
}

gboolean cn_nft_set_elements(const char *network, uint32_t family, const char *set_name, GArray **elements,
                             gboolean *exists, GError **error)
{
    g_autofree char *table = cn_nft_table_name(network);
    return cn_nft_read_set(table, family, set_name, elements, exists, error);
}

gboolean cn_nft_address_reserved(const char *network, uint32_t address, const uint8_t mac[6], gboolean *reserved,
                                 GError **error)
{
    g_autofree char *table = cn_nft_table_name(network);
    g_autofree char *what = g_strdup_printf("%s reserved", table);
    char buffer[MNL_SOCKET_BUFFER_SIZE];
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
    struct nlmsghdr *header =
        nftnl_nlmsg_build_hdr(buffer, NFT_MSG_GETSETELEM, NFPROTO_BRIDGE, NLM_F_ACK, next_seq());
    nftnl_set_elems_nlmsg_build_payload(header, set);
    /* The answer is parsed into a set of its own. */
    struct nftnl_set *answer = nftnl_set_alloc();
    gboolean ok = ask(header, on_elements, answer, what, reserved, error);
    nftnl_set_free(answer);
    nftnl_set_free(set);
    return ok;
}

/* Tables, chains, rules */

/* The comment in a table's or rule's user data, or NULL. */
static char *udata_comment(const void *data, uint32_t len, uint8_t type)
{
    char *comment = NULL;
    const struct nftnl_udata *attr;
    if (!data)
        return NULL;
    nftnl_udata_for_each_data(data, len, attr)
    {
        if (nftnl_udata_type(attr) == type && nftnl_udata_len(attr) > 0)
            comment = g_strndup(nftnl_udata_get(attr), nftnl_udata_len(attr));
    }
    return comment;
}

typedef struct {
    const char *table;
    CnNftTableShape *shape;
} ReadContext;

static int on_table(const struct nlmsghdr *header, void *data)
{
    ReadContext *context = data;
    struct nftnl_table *table = nftnl_table_alloc();
    if (nftnl_table_nlmsg_parse(header, table) == 0) {
        uint32_t len = 0;
        const void *udata = nftnl_table_get_data(table, NFTNL_TABLE_USERDATA, &len);
        g_free(context->shape->comment);
        context->shape->comment = udata_comment(udata, len, NFTNL_UDATA_TABLE_COMMENT);
    }
    nftnl_table_free(table);
    return MNL_CB_OK;
}

static int on_chain(const struct nlmsghdr *header, void *data)
{
    ReadContext *context = data;
    struct nftnl_chain *chain = nftnl_chain_alloc();
    if (nftnl_chain_nlmsg_parse(header, chain) == 0 &&
        g_strcmp0(nftnl_chain_get_str(chain, NFTNL_CHAIN_TABLE), context->table) == 0)
        g_ptr_array_add(context->shape->chains, g_strdup(nftnl_chain_get_str(chain, NFTNL_CHAIN_NAME)));
    nftnl_chain_free(chain);
    return MNL_CB_OK;
}

static int on_rule(const struct nlmsghdr *header, void *data)
{
    ReadContext *context = data;
    struct nftnl_rule *rule = nftnl_rule_alloc();
    if (nftnl_rule_nlmsg_parse(header, rule) == 0 &&
        g_strcmp0(nftnl_rule_get_str(rule, NFTNL_RULE_TABLE), context->table) == 0) {
        uint32_t len = 0;
        const void *udata = nftnl_rule_get_data(rule, NFTNL_RULE_USERDATA, &len);
        g_autofree char *comment = udata_comment(udata, len, NFTNL_UDATA_RULE_COMMENT);
        g_ptr_array_add(context->shape->rules,
                        g_strdup_printf("%s: %s", nftnl_rule_get_str(rule, NFTNL_RULE_CHAIN),
                                        comment ? comment : "(a rule carthage-net did not make)"));
    }
    nftnl_rule_free(rule);
    return MNL_CB_OK;
}

gboolean cn_nft_read_table(const char *table, uint32_t family, gboolean *exists, CnNftTableShape *shape,
                           GError **error)
{
    char buffer[MNL_SOCKET_BUFFER_SIZE];
    g_autofree char *what = g_strdup_printf("table %s %s", family == NFPROTO_BRIDGE ? "bridge" : "inet", table);
    ReadContext context = { table, shape };
    gboolean unused;

    struct nftnl_table *object = nftnl_table_alloc();
    nftnl_table_set_str(object, NFTNL_TABLE_NAME, table);
    struct nlmsghdr *header = nftnl_nlmsg_build_hdr(buffer, NFT_MSG_GETTABLE, (uint16_t)family, NLM_F_ACK, next_seq());
    nftnl_table_nlmsg_build_payload(header, object);
    nftnl_table_free(object);
    if (!ask(header, on_table, &context, what, exists, error))
        return FALSE;
    if (!*exists)
        return TRUE;

    header = nftnl_nlmsg_build_hdr(buffer, NFT_MSG_GETCHAIN, (uint16_t)family, NLM_F_DUMP | NLM_F_ACK, next_seq());
    if (!ask(header, on_chain, &context, what, &unused, error))
        return FALSE;

    struct nftnl_rule *rule = nftnl_rule_alloc();
    nftnl_rule_set_str(rule, NFTNL_RULE_TABLE, table);
    header = nftnl_nlmsg_build_hdr(buffer, NFT_MSG_GETRULE, (uint16_t)family, NLM_F_DUMP | NLM_F_ACK, next_seq());
    nftnl_rule_nlmsg_build_payload(header, rule);
    nftnl_rule_free(rule);
    return ask(header, on_rule, &context, what, &unused, error);
}

/* Drop counters */

typedef struct {
    const char *table;
    const char *family;
    GPtrArray *counts;
} DropContext;

static int on_counted_rule(const struct nlmsghdr *header, void *data)
{
    DropContext *context = data;
    struct nftnl_rule *rule = nftnl_rule_alloc();
    if (nftnl_rule_nlmsg_parse(header, rule) == 0 &&
        g_strcmp0(nftnl_rule_get_str(rule, NFTNL_RULE_TABLE), context->table) == 0) {
        struct nftnl_expr_iter *iter = nftnl_expr_iter_create(rule);
        for (struct nftnl_expr *expr = nftnl_expr_iter_next(iter); expr; expr = nftnl_expr_iter_next(iter)) {
            if (strcmp(nftnl_expr_get_str(expr, NFTNL_EXPR_NAME), "counter") != 0)
                continue;
            uint32_t len = 0;
            const void *udata = nftnl_rule_get_data(rule, NFTNL_RULE_USERDATA, &len);
            CnNftDropCount *count = g_new0(CnNftDropCount, 1);
            count->family = context->family;
            count->chain = g_strdup(nftnl_rule_get_str(rule, NFTNL_RULE_CHAIN));
            count->rule = udata_comment(udata, len, NFTNL_UDATA_RULE_COMMENT);
            if (!count->rule)
                count->rule = g_strdup("(a rule carthage-net did not make)");
            count->packets = nftnl_expr_get_u64(expr, NFTNL_EXPR_CTR_PACKETS);
            count->bytes = nftnl_expr_get_u64(expr, NFTNL_EXPR_CTR_BYTES);
            g_ptr_array_add(context->counts, count);
            break;
        }
        nftnl_expr_iter_destroy(iter);
    }
    nftnl_rule_free(rule);
    return MNL_CB_OK;
}

void cn_nft_drop_count_free(CnNftDropCount *count)
{
    g_free(count->chain);
    g_free(count->rule);
    g_free(count);
}

gboolean cn_nft_read_drops(const char *network, GPtrArray **counts, GError **error)
{
    g_autofree char *table = cn_nft_table_name(network);
    *counts = g_ptr_array_new_with_free_func((GDestroyNotify)cn_nft_drop_count_free);
    static const struct {
        uint32_t family;
        const char *name;
    } families[] = { { NFPROTO_BRIDGE, "bridge" }, { NFPROTO_INET, "inet" } };
    for (gsize i = 0; i < G_N_ELEMENTS(families); i++) {
        char buffer[MNL_SOCKET_BUFFER_SIZE];
        g_autofree char *what = g_strdup_printf("table %s %s", families[i].name, table);
        DropContext context = { table, families[i].name, *counts };
        gboolean exists;
        struct nftnl_rule *rule = nftnl_rule_alloc();
        nftnl_rule_set_str(rule, NFTNL_RULE_TABLE, table);
        struct nlmsghdr *header = nftnl_nlmsg_build_hdr(buffer, NFT_MSG_GETRULE, (uint16_t)families[i].family,
                                                        NLM_F_DUMP | NLM_F_ACK, next_seq());
        nftnl_rule_nlmsg_build_payload(header, rule);
        nftnl_rule_free(rule);
        if (!ask(header, on_counted_rule, &context, what, &exists, error)) {
            g_clear_pointer(counts, g_ptr_array_unref);
            return FALSE;
        }
    }
    return TRUE;
}
