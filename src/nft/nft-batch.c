/* nft-batch.c - see nft-batch.h */
#define _GNU_SOURCE /* clone */
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
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
    GByteArray *exclusive;   /* by seq - first_seq: 1 when the message asked NLM_F_EXCL */
    gsize zeroed_to;         /* the buffer's bytes from its length to here are zero */
    gsize last_message;      /* the offset of the last message; 0: none yet */
};

/* Room for one message (a rule or a chunk of elements): libnftnl fills an
 * element list up to 64 KiB and may write one element past that before
 * trimming it, so leave slack. */
#define MESSAGE_MAX (72 * 1024)
#define BUFFER_INITIAL (MESSAGE_MAX + 64 * 1024)

/* A buffer of BUFFER_INITIAL bytes, all zero, kept from the process's
 * last batch for its next: an allocation this large is a mapping of its
 * own, and unmapping it cost a hook call a system call and a TLB flush
 * (the process's exit unmaps it with everything else).  One at most, so a
 * long-lived process keeps BUFFER_INITIAL bytes; atomic, so two threads
 * never share it. */
static GByteArray *spare_buffer;

static GByteArray *take_buffer(void)
{
    /* Taken with a compare-and-exchange (GLib 2.70 has no exchange). */
    GByteArray *buffer;
    do
        buffer = g_atomic_pointer_get(&spare_buffer);
    while (buffer && !g_atomic_pointer_compare_and_exchange(&spare_buffer, buffer, NULL));
    if (buffer)
        return buffer;
    /* Zeroed by calloc: an allocation this large is fresh pages from the
     * kernel, zero without a write, and a page is touched (a page fault:
     * tens of microseconds on a VM) only when a message lands on it.
     * Clearing MESSAGE_MAX for the first message touched all of them: a
     * sixth of the hook's start. */
    guint8 *zeroed = g_malloc0(BUFFER_INITIAL);
    buffer = g_byte_array_new_take(zeroed, BUFFER_INITIAL);
    g_byte_array_set_size(buffer, 0);
    return buffer;
}

/* Keeps BATCH's buffer as the spare when it never grew (it is then zero
 * from its length to BUFFER_INITIAL: clears up to its length). */
static void give_back_buffer(CnNftBatch *batch)
{
    GByteArray *buffer = g_steal_pointer(&batch->buffer);
    if (batch->zeroed_to == BUFFER_INITIAL) {
        memset(buffer->data, 0, buffer->len);
        g_byte_array_set_size(buffer, 0);
        if (g_atomic_pointer_compare_and_exchange(&spare_buffer, NULL, buffer))
            return;
    }
    g_byte_array_unref(buffer);
}

CnNftBatch *cn_nft_batch_new(void)
{
    CnNftBatch *batch = g_new0(CnNftBatch, 1);
    batch->buffer = take_buffer();
    batch->zeroed_to = BUFFER_INITIAL;
    /* Sequence numbers unique within the process: replies to an earlier
     * batch on the shared socket are told apart by them. */
    static uint32_t next_seq;
    if (next_seq == 0)
        next_seq = (uint32_t)time(NULL);
    batch->first_seq = batch->seq = next_seq;
    next_seq += 1u << 20; /* room for a million messages a batch */
    batch->descriptions = g_ptr_array_new_with_free_func(g_free);
    batch->exclusive = g_byte_array_new();
    char header[MNL_NLMSG_HDRLEN + 64];
    struct nlmsghdr *begin = nftnl_batch_begin(header, batch->seq++);
    g_byte_array_append(batch->buffer, (guint8 *)begin, begin->nlmsg_len);
    g_ptr_array_add(batch->descriptions, g_strdup("batch begin"));
    g_byte_array_append(batch->exclusive, (const guint8[]){ 0 }, 1);
    return batch;
}

void cn_nft_batch_free(CnNftBatch *batch)
{
    if (!batch)
        return;
    give_back_buffer(batch);
    g_ptr_array_unref(batch->descriptions);
    g_byte_array_unref(batch->exclusive);
    g_free(batch);
}

guint cn_nft_batch_count(const CnNftBatch *batch)
{
    return batch->descriptions->len - 1;
}

/* What a builder may write past the message it ends with: libnftnl's
 * element iterator builds one element too many, then takes it back (an
 * element is under 1 KiB: key, data and key end of at most 64 bytes each,
 * user data of at most 256). */
#define WRITTEN_PAST_MAX 4096

/* Reserves room for one message, returns where to build it.  Zeroed:
 * libmnl 1.0.4 leaves attribute padding as it finds it, and dumps and
 * fingerprints must not depend on what was there.  Only what was not
 * zero already is cleared (a batch of small messages would otherwise
 * clear MESSAGE_MAX bytes for each). */
static char *reserve(CnNftBatch *batch, gsize size)
{
    gsize offset = batch->buffer->len;
    g_byte_array_set_size(batch->buffer, (guint)(offset + size));
    if (batch->zeroed_to < offset + size) {
        gsize from = MAX(batch->zeroed_to, offset);
        memset(batch->buffer->data + from, 0, offset + size - from);
        batch->zeroed_to = offset + size;
    }
    return (char *)batch->buffer->data + offset;
}

static void commit_message(CnNftBatch *batch, char *start, const char *description)
{
    struct nlmsghdr *header = (struct nlmsghdr *)start;
    gsize offset = (gsize)(start - (char *)batch->buffer->data);
    gsize end = offset + NLMSG_ALIGN(header->nlmsg_len);
    /* The bytes the builder wrote past the message go back to zero; the
     * reserved room beyond them was not touched.  (The array keeps its
     * allocation when shortened.) */
    gsize written_to = MIN(end + WRITTEN_PAST_MAX, batch->zeroed_to);
    if (written_to > end)
        memset(batch->buffer->data + end, 0, written_to - end);
    g_byte_array_set_size(batch->buffer, (guint)end);
    g_ptr_array_add(batch->descriptions, g_strdup(description));
    g_byte_array_append(batch->exclusive, (const guint8[]){ (header->nlmsg_flags & NLM_F_EXCL) != 0 }, 1);
    batch->last_message = offset;
}

#define BUILD(batch, type, family, flags, build_payload, object, description)                    \
    do {                                                                                         \
        char *start = reserve((batch), MESSAGE_MAX);                                            \
        struct nlmsghdr *header = nftnl_nlmsg_build_hdr(start, (type), (family),               \
                                                        (flags), (batch)->seq++);              \
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
                                                        flags, batch->seq++);
        /* 1 when elements are left over for another message. */
        more = nftnl_set_elems_nlmsg_build_payload_iter(header, iter);
        commit_message(batch, start, description);
    } while (more > 0);
    nftnl_set_elems_iter_destroy(iter);
}

static const char *family_name(uint8_t family)
{
    return family == NFPROTO_BRIDGE ? "bridge" : family == NFPROTO_INET ? "inet" : "?";
}

static const char *command_name(uint16_t type, uint16_t flags)
{
    switch (type) {
    case NFT_MSG_NEWTABLE:
    case NFT_MSG_NEWCHAIN:
    case NFT_MSG_NEWSET:
    case NFT_MSG_NEWRULE:
    case NFT_MSG_NEWSETELEM:
        return (flags & NLM_F_EXCL) ? "create" : (flags & NLM_F_CREATE) ? "add" : "new";
    case NFT_MSG_DELTABLE:
    case NFT_MSG_DELCHAIN:
    case NFT_MSG_DELSET:
    case NFT_MSG_DELRULE:
    case NFT_MSG_DELSETELEM:
        return "delete";
    default:
        return "?";
    }
}

/* libnftnl's text for one object, into OUT. */
#define DUMP_OBJECT(out, type_name, alloc, parse, snprintf_fn, free_fn, header)                   \
    do {                                                                                          \
        struct type_name *object = alloc();                                                        \
        char text[16384] = "";                                                                     \
        if (parse(header, object) == 0)                                                            \
            snprintf_fn(text, sizeof text, object, NFTNL_OUTPUT_DEFAULT, 0);                       \
        g_string_append_printf(out, "%s\n", text);                                                 \
        free_fn(object);                                                                           \
    } while (0)

static void dump_comment(GString *out, const void *data, uint32_t len, uint8_t type)
{
    const struct nftnl_udata *attr;
    if (!data)
        return;
    nftnl_udata_for_each_data(data, len, attr)
    {
        if (nftnl_udata_type(attr) == type)
            g_string_append_printf(out, "  comment \"%.*s\"\n", (int)nftnl_udata_len(attr) - 1,
                                   (const char *)nftnl_udata_get(attr));
    }
}

static void dump_bytes(GString *out, const struct nlattr *value)
{
    const uint8_t *bytes = mnl_attr_get_payload(value);
    uint16_t len = mnl_attr_get_payload_len(value);
    for (uint16_t i = 0; i < len; i += 4) {
        g_string_append_c(out, ' ');
        for (uint16_t j = i; j < i + 4 && j < len; j++)
            g_string_append_printf(out, "%02x", bytes[j]);
    }
}

/* NFTA_DATA_VALUE inside ATTR, or NULL. */
static const struct nlattr *data_value(const struct nlattr *attr)
{
    const struct nlattr *inner;
    mnl_attr_for_each_nested(inner, attr)
    {
        if (mnl_attr_get_type(inner) == NFTA_DATA_VALUE)
            return inner;
    }
    return NULL;
}

/* Elements by hand: libnftnl numbers the nested elements of a list it
 * builds 1, 2, 3..., and its own parser takes only the first. */
static void dump_elements(GString *out, const struct nlmsghdr *header)
{
    const struct nlattr *attr;
    const char *table = "?", *set = "?";
    const struct nlattr *list = NULL;
    mnl_attr_for_each(attr, header, sizeof(struct nfgenmsg))
    {
        switch (mnl_attr_get_type(attr)) {
        case NFTA_SET_ELEM_LIST_TABLE:
            table = mnl_attr_get_str(attr);
            break;
        case NFTA_SET_ELEM_LIST_SET:
            set = mnl_attr_get_str(attr);
            break;
        case NFTA_SET_ELEM_LIST_ELEMENTS:
            list = attr;
            break;
        }
    }
    g_string_append_printf(out, "elements %s %s\n", table, set);
    if (!list)
        return;
    const struct nlattr *element;
    mnl_attr_for_each_nested(element, list)
    {
        const struct nlattr *field, *key = NULL, *value = NULL;
        mnl_attr_for_each_nested(field, element)
        {
            if (mnl_attr_get_type(field) == NFTA_SET_ELEM_KEY)
                key = data_value(field);
            else if (mnl_attr_get_type(field) == NFTA_SET_ELEM_DATA)
                value = data_value(field);
        }
        g_string_append(out, "  element");
        if (key)
            dump_bytes(out, key);
        if (value) {
            g_string_append(out, " :");
            dump_bytes(out, value);
        }
        g_string_append_c(out, '\n');
    }
}

const guint8 *cn_nft_batch_bytes(const CnNftBatch *batch, gsize *length)
{
    *length = batch->buffer->len;
    return batch->buffer->data;
}

char *cn_nft_batch_dump(const CnNftBatch *batch)
{
    GString *out = g_string_new(NULL);
    int left = (int)batch->buffer->len;
    for (const struct nlmsghdr *header = (const struct nlmsghdr *)batch->buffer->data; mnl_nlmsg_ok(header, left);
         header = mnl_nlmsg_next(header, &left)) {
        if ((header->nlmsg_type >> 8) != NFNL_SUBSYS_NFTABLES)
            continue; /* batch begin and end */
        uint16_t type = header->nlmsg_type & 0xff;
        const struct nfgenmsg *nfg = mnl_nlmsg_get_payload(header);
        g_string_append_printf(out, "%s %s ", command_name(type, header->nlmsg_flags), family_name(nfg->nfgen_family));
        switch (type) {
        case NFT_MSG_NEWTABLE:
        case NFT_MSG_DELTABLE: {
            struct nftnl_table *table = nftnl_table_alloc();
            if (nftnl_table_nlmsg_parse(header, table) == 0) {
                uint32_t len = 0;
                const void *udata = nftnl_table_get_data(table, NFTNL_TABLE_USERDATA, &len);
                g_string_append_printf(out, "table %s\n", nftnl_table_get_str(table, NFTNL_TABLE_NAME));
                dump_comment(out, udata, len, NFTNL_UDATA_TABLE_COMMENT);
            }
            nftnl_table_free(table);
            break;
        }
        case NFT_MSG_NEWCHAIN:
            g_string_append(out, "chain ");
            DUMP_OBJECT(out, nftnl_chain, nftnl_chain_alloc, nftnl_chain_nlmsg_parse, nftnl_chain_snprintf,
                        nftnl_chain_free, header);
            break;
        case NFT_MSG_NEWSET: {
            struct nftnl_set *set = nftnl_set_alloc();
            if (nftnl_set_nlmsg_parse(header, set) == 0) {
                g_string_append_printf(out, "set %s %s key type %u len %u", nftnl_set_get_str(set, NFTNL_SET_TABLE),
                                       nftnl_set_get_str(set, NFTNL_SET_NAME),
                                       nftnl_set_get_u32(set, NFTNL_SET_KEY_TYPE),
                                       nftnl_set_get_u32(set, NFTNL_SET_KEY_LEN));
                if (nftnl_set_is_set(set, NFTNL_SET_DATA_TYPE))
                    g_string_append_printf(out, " data type %u len %u", nftnl_set_get_u32(set, NFTNL_SET_DATA_TYPE),
                                           nftnl_set_get_u32(set, NFTNL_SET_DATA_LEN));
                g_string_append_printf(out, " flags 0x%x", nftnl_set_get_u32(set, NFTNL_SET_FLAGS));
                if (nftnl_set_is_set(set, NFTNL_SET_TIMEOUT))
                    g_string_append_printf(out, " timeout %" G_GUINT64_FORMAT " ms",
                                           nftnl_set_get_u64(set, NFTNL_SET_TIMEOUT));
                if (nftnl_set_is_set(set, NFTNL_SET_DESC_SIZE))
                    g_string_append_printf(out, " size %u", nftnl_set_get_u32(set, NFTNL_SET_DESC_SIZE));
                g_string_append_c(out, '\n');
            }
            nftnl_set_free(set);
            break;
        }
        case NFT_MSG_NEWRULE: {
            struct nftnl_rule *rule = nftnl_rule_alloc();
            char text[16384] = "";
            g_autofree char *comment = NULL;
            if (nftnl_rule_nlmsg_parse(header, rule) == 0) {
                /* The comment as text, not as libnftnl's bytes. */
                uint32_t len = 0;
                const void *udata = nftnl_rule_get_data(rule, NFTNL_RULE_USERDATA, &len);
                GString *line = g_string_new(NULL);
                dump_comment(line, udata, len, NFTNL_UDATA_RULE_COMMENT);
                comment = g_string_free(line, FALSE);
                nftnl_rule_snprintf(text, sizeof text, rule, NFTNL_OUTPUT_DEFAULT, 0);
                char *raw = strstr(text, "  userdata = ");
                if (raw)
                    *raw = '\0';
            }
            g_string_append_printf(out, "rule %s%s", text, comment ? comment : "\n");
            nftnl_rule_free(rule);
            break;
        }
        case NFT_MSG_NEWSETELEM:
        case NFT_MSG_DELSETELEM:
            dump_elements(out, header);
            break;
        default:
            g_string_append_printf(out, "message %u\n", type);
        }
    }
    return g_string_free(out, FALSE);
}

static gboolean read_errors(struct mnl_socket *socket, CnNftBatch *batch, GError **error)
{
    g_autofree char *buffer = g_malloc(MNL_SOCKET_BUFFER_SIZE * 4);
    uint32_t portid = mnl_socket_get_portid(socket);
    uint32_t last_seq = batch->seq - 1;
    int fd = mnl_socket_get_fd(socket);

    /* nfnetlink processes the batch inside sendmsg: every reply is queued
     * by now.  An error for each message refused (naming its seq), and
     * an ack for the last message, which alone asked for one: the end.
     * After an error the rest is read without waiting, for a claim
     * refused later in the batch (CN_NFT_ERROR_CLAIMED is what the caller
     * acts on; the kernel goes on through the batch after an error). */
    int refused = 0;
    guint refused_index = 0;
    for (;;) {
        /* MSG_TRUNC: the datagram's whole length, to tell one cut short.
         * The socket asks for errors without the refused request
         * (NETLINK_CAP_ACK, shared_socket), so none should be; one that
         * was would hide an error, and the ack of the last message would
         * then pass a batch the kernel rolled back for success. */
        ssize_t n = recv(fd, buffer, MNL_SOCKET_BUFFER_SIZE * 4, MSG_TRUNC | (refused ? MSG_DONTWAIT : 0));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && refused && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n < 0) {
            g_set_error(error, CN_NFT_ERROR, errno, "nftables: cannot read the kernel's answer: %s",
                        g_strerror(errno));
            return FALSE;
        }
        if (n > (ssize_t)(MNL_SOCKET_BUFFER_SIZE * 4)) {
            g_set_error(error, CN_NFT_ERROR, EMSGSIZE,
                        "nftables: the kernel's answer to the batch was cut short (%zd bytes, read %ld): "
                        "not known to be applied",
                        n, (long)(MNL_SOCKET_BUFFER_SIZE * 4));
            return FALSE;
        }
        int left = (int)n;
        gboolean end = FALSE;
        for (struct nlmsghdr *header = (struct nlmsghdr *)buffer; mnl_nlmsg_ok(header, left);
             header = mnl_nlmsg_next(header, &left)) {
            if (header->nlmsg_pid != portid || header->nlmsg_type != NLMSG_ERROR ||
                header->nlmsg_seq - batch->first_seq > last_seq - batch->first_seq)
                continue; /* not about this batch */
            const struct nlmsgerr *err = mnl_nlmsg_get_payload(header);
            guint index = header->nlmsg_seq - batch->first_seq;
            gboolean claim = -err->error == EEXIST && index < batch->exclusive->len && batch->exclusive->data[index];
            if (err->error != 0 && (!refused || (claim && refused != CN_NFT_ERROR_CLAIMED))) {
                refused = claim ? CN_NFT_ERROR_CLAIMED : -err->error;
                refused_index = index;
            }
            end |= header->nlmsg_seq == last_seq;
        }
        if (end)
            break;
    }
    if (!refused)
        return TRUE;
    const char *what = refused_index < batch->descriptions->len ? batch->descriptions->pdata[refused_index]
                                                                 : "a message";
    if (refused == CN_NFT_ERROR_CLAIMED)
        g_set_error(error, CN_NFT_ERROR, refused, "nftables refused %s: one of them is there already", what);
    else
        g_set_error(error, CN_NFT_ERROR, refused, "nftables refused %s: %s", what, g_strerror(refused));
    return FALSE;
}

/* One netfilter socket for the process.  Closing it after a batch that
 * deleted something waits for the kernel's deferred cleanup of what was
 * deleted (nf_tables flushes its destroy work, an RCU grace period: 10-30
 * ms here) when the socket is released: paid once, when the process ends
 * (see cn_nft_close_detached), rather than per batch. */
static struct mnl_socket *shared;
/* A batch on it deleted or replaced something: its release will wait. */
static gboolean cleanup_pending;

static struct mnl_socket *shared_socket(GError **error)
{
    if (shared)
        return shared;
    shared = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
    /* An error names its message by the header alone: without this the
     * kernel sends each refused request back whole (up to 72 KiB).  A
     * kernel without the option (before 4.3) still fails closed: an
     * answer cut short is an error (read_errors). */
    int capped = 1;
    if (!shared ||
        (setsockopt(mnl_socket_get_fd(shared), SOL_NETLINK, NETLINK_CAP_ACK, &capped, sizeof capped) < 0 &&
         errno != ENOPROTOOPT) ||
        mnl_socket_bind(shared, 0, MNL_SOCKET_AUTOPID) < 0) {
        g_set_error(error, CN_NFT_ERROR, errno, "nftables: cannot open a netfilter socket: %s",
                    g_strerror(errno));
        if (shared)
            mnl_socket_close(shared);
        shared = NULL;
    }
    return shared;
}

/* Whether BATCH deletes or replaces anything, leaving the kernel work to
 * defer. */
static gboolean batch_defers_cleanup(const CnNftBatch *batch)
{
    int left = (int)batch->buffer->len;
    for (const struct nlmsghdr *header = (const struct nlmsghdr *)batch->buffer->data; mnl_nlmsg_ok(header, left);
         header = mnl_nlmsg_next(header, &left)) {
        switch (NFNL_MSG_TYPE(header->nlmsg_type)) {
        case NFT_MSG_DELTABLE:
        case NFT_MSG_DELCHAIN:
        case NFT_MSG_DELRULE:
        case NFT_MSG_DELSET:
        case NFT_MSG_DELSETELEM:
        case NFT_MSG_DELOBJ:
        case NFT_MSG_DELFLOWTABLE:
            return TRUE;
        default:
            if (header->nlmsg_type != NFNL_MSG_BATCH_BEGIN && header->nlmsg_type != NFNL_MSG_BATCH_END &&
                (header->nlmsg_flags & NLM_F_REPLACE))
                return TRUE;
        }
    }
    return FALSE;
}

/* The closer (see cn_nft_close_detached): it shares the caller's memory
 * and descriptor table (CLONE_VM | CLONE_FILES), so starting it copies
 * nothing (a fork copies the page tables: the largest part of the hook's
 * own time), and what it closes is closed for the caller too.  Raw system
 * calls only, on a stack of its own, beside a caller that is exiting. */
__attribute__((no_sanitize("address"))) static int close_in_background(void *socket_fd)
{
    /* libvirt reads the hook's output until its end: closed first. */
    syscall(SYS_close, STDIN_FILENO);
    syscall(SYS_close, STDOUT_FILENO);
    syscall(SYS_close, STDERR_FILENO);
    syscall(SYS_close, (int)(intptr_t)socket_fd); /* the kernel's cleanup waits here */
    syscall(SYS_exit, 0);
    return 0;
}

#define CLOSER_STACK_SIZE (64 * 1024)

/* Valgrind does not emulate a clone that shares memory without being a
 * thread (it refuses it, with a page of explanation); it preloads its own
 * libraries, which is how it is told apart.  Under it the socket is closed
 * in place: nobody times a hook under valgrind. */
#if !defined(__SANITIZE_ADDRESS__)
static gboolean under_valgrind(void)
{
    const char *preload = g_getenv("LD_PRELOAD");
    return preload && strstr(preload, "/vgpreload_") != NULL;
}
#endif

/* Whether the closer may be used: not under valgrind, and not in a
 * sanitizer build, whose report at exit goes to a stderr the closer may
 * have closed already. */
static gboolean closer_usable(int socket_fd)
{
#if defined(__SANITIZE_ADDRESS__)
    (void)socket_fd;
    return FALSE;
#else
    /* (A socket on 0-2, were the hook started without them, would be
     * closed twice.) */
    return socket_fd > STDERR_FILENO && !under_valgrind();
#endif
}

void cn_nft_close_detached(void)
{
    if (!shared)
        return;
    if (cleanup_pending && closer_usable(mnl_socket_get_fd(shared))) {
        fflush(NULL);
        void *stack = mmap(NULL, CLOSER_STACK_SIZE, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
        if (stack != MAP_FAILED &&
            clone(close_in_background, (char *)stack + CLOSER_STACK_SIZE, CLONE_VM | CLONE_FILES | SIGCHLD,
                  (void *)(intptr_t)mnl_socket_get_fd(shared)) > 0)
            return; /* the descriptor is the closer's now; the stack and libmnl's handle go with the process */
        if (stack != MAP_FAILED)
            munmap(stack, CLOSER_STACK_SIZE);
    }
    /* Nothing to wait for, or no closer: closed here. */
    mnl_socket_close(shared);
    shared = NULL;
    cleanup_pending = FALSE;
}

gboolean cn_nft_batch_commit(CnNftBatch *batch, GError **error)
{
    char header[MNL_NLMSG_HDRLEN + 64];
    struct nlmsghdr *end = nftnl_batch_end(header, batch->seq++);
    g_byte_array_append(batch->buffer, (guint8 *)end, end->nlmsg_len);
    g_ptr_array_add(batch->descriptions, g_strdup("batch end"));
    g_byte_array_append(batch->exclusive, (const guint8[]){ 0 }, 1);
    /* The end message is not acked; the last object's ack ends the read.
     * Only it asks for one (the kernel reports errors whether asked or
     * not): one answer to read, not one per message. */
    batch->seq--;
    if (batch->last_message > 0)
        ((struct nlmsghdr *)(batch->buffer->data + batch->last_message))->nlmsg_flags |= NLM_F_ACK;

    struct mnl_socket *socket = shared_socket(error);
    if (!socket)
        return FALSE;
    cleanup_pending |= batch_defers_cleanup(batch);
    int size = (int)MAX(batch->buffer->len, 256 * 1024);
    setsockopt(mnl_socket_get_fd(socket), SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size);
    setsockopt(mnl_socket_get_fd(socket), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size);
    if (mnl_socket_sendto(socket, batch->buffer->data, batch->buffer->len) < 0) {
        g_set_error(error, CN_NFT_ERROR, errno, "nftables: cannot send the batch: %s", g_strerror(errno));
        return FALSE;
    }
    return batch->seq == batch->first_seq + 1 || read_errors(socket, batch, error);
}
