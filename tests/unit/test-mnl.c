/* test-mnl.c - the part of libmnl's API the hook carries (hooks/hook-mnl.c).
 *
 * Built twice from this one source: test-mnl-hook links hooks/hook-mnl.c,
 * test-mnl-libmnl links libmnl itself.  Every expectation here (the bytes
 * a message is built to, what validation refuses and with which errno,
 * how a datagram of replies is walked) therefore holds for libmnl too:
 * were the hook's copy to differ from libmnl on any of them, one of the
 * two programs would fail.  A few checks are the hook's copy's alone
 * (CN_TEST_HOOK_MNL), where it is stricter than libmnl 1.0.4 on purpose:
 * attribute padding zeroed, a message length of 2^31 or more refused, an
 * attribute shorter than its header refused by validation.  The socket test asks the kernel (the routing
 * family, NETLINK_ROUTE) only for the acknowledgement of a no-op: it
 * changes nothing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>

/* 8-byte aligned, as the hook's batch buffer is. */
static union {
    uint64_t align;
    char bytes[4096];
} buffer;

/* ---- building a message ---- */

static void test_build_header_and_attributes(void **state)
{
    /* The header and the extra header are zeroed by both; an attribute's
     * padding only by the hook's copy (libmnl 1.0.4 leaves it as it finds
     * it), so the buffer starts zeroed here: the hook's batch buffer is. */
    memset(buffer.bytes, 0xaa, sizeof buffer.bytes);
    memset(buffer.bytes + MNL_NLMSG_HDRLEN + 4, 0, 128);
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buffer.bytes);
    nlh->nlmsg_type = 0x0a00;
    nlh->nlmsg_flags = NLM_F_REQUEST;
    nlh->nlmsg_seq = 7;
    char *extra = mnl_nlmsg_put_extra_header(nlh, 3);
    memcpy(extra, "\x02\x00\x01", 3);
    mnl_attr_put_u8(nlh, 1, 0x11);
    mnl_attr_put_u16(nlh, 2, 0x2233);
    mnl_attr_put_u32(nlh, 3, 0x44556677);
    mnl_attr_put_u64(nlh, 4, 0x8899aabbccddeeffull);
    mnl_attr_put_str(nlh, 5, "ab");
    mnl_attr_put_strz(nlh, 6, "cde");
    struct nlattr *nest = mnl_attr_nest_start(nlh, 7);
    mnl_attr_put_u32(nlh, 1, 1);
    mnl_attr_nest_end(nlh, nest);
    mnl_attr_put(nlh, 8, 0, NULL);

    static const unsigned char expected[] = {
        /* header: length 88, type, flags, seq 7, port 0 */
        88, 0, 0, 0, 0x00, 0x0a, 0x01, 0x00, 7, 0, 0, 0, 0, 0, 0, 0,
        /* extra header of 3, padded with zeros to 4 */
        0x02, 0x00, 0x01, 0x00,
        /* u8: length 5, padded */
        5, 0, 1, 0, 0x11, 0, 0, 0,
        /* u16 */
        6, 0, 2, 0, 0x33, 0x22, 0, 0,
        /* u32 */
        8, 0, 3, 0, 0x77, 0x66, 0x55, 0x44,
        /* u64 */
        12, 0, 4, 0, 0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x99, 0x88,
        /* "ab" without its NUL */
        6, 0, 5, 0, 'a', 'b', 0, 0,
        /* "cde" with it */
        8, 0, 6, 0, 'c', 'd', 'e', 0,
        /* nest 7 (NLA_F_NESTED) holding one u32 */
        12, 0, 7, 0x80, 8, 0, 1, 0, 1, 0, 0, 0,
        /* an empty attribute */
        4, 0, 8, 0,
    };
    assert_int_equal(nlh->nlmsg_len, sizeof expected);
    assert_memory_equal(buffer.bytes, expected, sizeof expected);
    assert_int_equal(mnl_nlmsg_get_payload_len(nlh), sizeof expected - MNL_NLMSG_HDRLEN);
    assert_ptr_equal(mnl_nlmsg_get_payload(nlh), buffer.bytes + 16);
    assert_ptr_equal(mnl_nlmsg_get_payload_offset(nlh, 3), buffer.bytes + 20);
    assert_ptr_equal(mnl_nlmsg_get_payload_tail(nlh), buffer.bytes + sizeof expected);
    assert_int_equal(mnl_nlmsg_size(4), 20);
}

#ifdef CN_TEST_HOOK_MNL
/* The hook's copy zeroes an attribute's padding whatever the buffer held. */
static void test_build_padding_zeroed(void **state)
{
    memset(buffer.bytes, 0xaa, sizeof buffer.bytes);
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buffer.bytes);
    mnl_attr_put_u8(nlh, 1, 0x11);
    mnl_attr_put_str(nlh, 2, "abcde");
    static const unsigned char expected[] = {
        36, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        5, 0, 1, 0, 0x11, 0, 0, 0,
        9, 0, 2, 0, 'a', 'b', 'c', 'd', 'e', 0, 0, 0,
    };
    assert_int_equal(nlh->nlmsg_len, sizeof expected);
    assert_memory_equal(buffer.bytes, expected, sizeof expected);
}
#endif

/* ---- reading attributes ---- */

typedef struct {
    uint16_t types[16];
    int count;
    uint16_t stop_at;
} Seen;

static int collect(const struct nlattr *attr, void *data)
{
    Seen *seen = data;
    seen->types[seen->count++] = mnl_attr_get_type(attr);
    return mnl_attr_get_type(attr) == seen->stop_at ? MNL_CB_STOP : MNL_CB_OK;
}

static int refuse(const struct nlattr *attr, void *data)
{
    return MNL_CB_ERROR;
}

static struct nlmsghdr *three_attributes(void)
{
    memset(buffer.bytes, 0, sizeof buffer.bytes);
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buffer.bytes);
    mnl_nlmsg_put_extra_header(nlh, 4);
    mnl_attr_put_u32(nlh, 1, 0x01020304);
    struct nlattr *nest = mnl_attr_nest_start(nlh, 2);
    mnl_attr_put_u8(nlh, 5, 9);
    mnl_attr_put_strz(nlh, 6, "x");
    mnl_attr_nest_end(nlh, nest);
    mnl_attr_put_u64(nlh, 3, 0x0102030405060708ull);
    return nlh;
}

static void test_parse_and_get(void **state)
{
    struct nlmsghdr *nlh = three_attributes();
    Seen seen = {.stop_at = 0xffff};
    assert_int_equal(mnl_attr_parse(nlh, 4, collect, &seen), MNL_CB_OK);
    assert_int_equal(seen.count, 3);
    assert_int_equal(seen.types[0], 1);
    assert_int_equal(seen.types[1], 2); /* NLA_F_NESTED masked off */
    assert_int_equal(seen.types[2], 3);

    const struct nlattr *first = mnl_nlmsg_get_payload_offset(nlh, 4);
    assert_int_equal(mnl_attr_get_u32(first), 0x01020304);
    assert_int_equal(mnl_attr_get_len(first), 8);
    assert_int_equal(mnl_attr_get_payload_len(first), 4);
    const struct nlattr *nest = mnl_attr_next(first);
    Seen inner = {.stop_at = 0xffff};
    assert_int_equal(mnl_attr_parse_nested(nest, collect, &inner), MNL_CB_OK);
    assert_int_equal(inner.count, 2);
    assert_int_equal(inner.types[0], 5);
    assert_int_equal(inner.types[1], 6);
    const struct nlattr *u8 = mnl_attr_get_payload(nest);
    assert_int_equal(mnl_attr_get_u8(u8), 9);
    assert_string_equal(mnl_attr_get_str(mnl_attr_next(u8)), "x");
    /* a u64 at an address 4- but not 8-aligned (16 + 4 + 8 + 16) */
    const struct nlattr *last = mnl_attr_next(nest);
    assert_int_equal((uintptr_t)mnl_attr_get_payload(last) % 8, 4);
    assert_true(mnl_attr_get_u64(last) == 0x0102030405060708ull);
}

static void test_parse_stops_where_told(void **state)
{
    struct nlmsghdr *nlh = three_attributes();
    Seen seen = {.stop_at = 2};
    assert_int_equal(mnl_attr_parse(nlh, 4, collect, &seen), MNL_CB_STOP);
    assert_int_equal(seen.count, 2);
    assert_int_equal(mnl_attr_parse(nlh, 4, refuse, NULL), MNL_CB_ERROR);
    const struct nlattr *nest = mnl_attr_next(mnl_nlmsg_get_payload_offset(nlh, 4));
    Seen inner = {.stop_at = 5};
    assert_int_equal(mnl_attr_parse_nested(nest, collect, &inner), MNL_CB_STOP);
    assert_int_equal(inner.count, 1);
    assert_int_equal(mnl_attr_parse_nested(nest, refuse, NULL), MNL_CB_ERROR);
}

/* An attribute that claims more than the message holds is not visited,
 * nor is one shorter than its own header: parsing ends there. */
static void test_parse_skips_what_does_not_fit(void **state)
{
    struct nlmsghdr *nlh = three_attributes();
    struct nlattr *last = mnl_attr_next(mnl_attr_next(mnl_nlmsg_get_payload_offset(nlh, 4)));
    last->nla_len = 200;
    Seen seen = {.stop_at = 0xffff};
    assert_int_equal(mnl_attr_parse(nlh, 4, collect, &seen), MNL_CB_OK);
    assert_int_equal(seen.count, 2);
    last->nla_len = 2;
    seen.count = 0;
    mnl_attr_parse(nlh, 4, collect, &seen);
    assert_int_equal(seen.count, 2);
    assert_false(mnl_attr_ok(last, 12));
    last->nla_len = 12;
    assert_true(mnl_attr_ok(last, 12));
    assert_false(mnl_attr_ok(last, 11));
    assert_false(mnl_attr_ok(last, 3));
}

/* ---- validation ---- */

/* A failure that left errno 0: told apart from any errno and from 0. */
#define ERRNO_NOT_SET (-100000)

static int validate(enum mnl_attr_data_type type, const void *payload, size_t len)
{
    memset(buffer.bytes, 0, sizeof buffer.bytes);
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buffer.bytes);
    mnl_attr_put(nlh, 1, len, payload);
    errno = 0;
    int ret = mnl_attr_validate(mnl_nlmsg_get_payload(nlh), type);
    return ret == 0 ? 0 : errno ? -errno : ERRNO_NOT_SET;
}

static void test_validate(void **state)
{
    static const char zeros[16];
    assert_int_equal(validate(MNL_TYPE_U8, zeros, 1), 0);
    assert_int_equal(validate(MNL_TYPE_U8, zeros, 0), -ERANGE);
    assert_int_equal(validate(MNL_TYPE_U8, zeros, 2), -ERANGE);
    assert_int_equal(validate(MNL_TYPE_U16, zeros, 2), 0);
    assert_int_equal(validate(MNL_TYPE_U16, zeros, 4), -ERANGE);
    assert_int_equal(validate(MNL_TYPE_U32, zeros, 4), 0);
    assert_int_equal(validate(MNL_TYPE_U32, zeros, 3), -ERANGE);
    assert_int_equal(validate(MNL_TYPE_U32, zeros, 8), -ERANGE);
    assert_int_equal(validate(MNL_TYPE_U64, zeros, 8), 0);
    assert_int_equal(validate(MNL_TYPE_U64, zeros, 4), -ERANGE);
    assert_int_equal(validate(MNL_TYPE_MSECS, zeros, 8), 0);
    assert_int_equal(validate(MNL_TYPE_MSECS, zeros, 12), -ERANGE);
    assert_int_equal(validate(MNL_TYPE_FLAG, zeros, 0), 0);
    assert_int_equal(validate(MNL_TYPE_FLAG, zeros, 1), -ERANGE);
    assert_int_equal(validate(MNL_TYPE_NUL_STRING, "ab", 3), 0);
    assert_int_equal(validate(MNL_TYPE_NUL_STRING, "ab", 2), -EINVAL);
    assert_int_equal(validate(MNL_TYPE_NUL_STRING, "", 0), -ERANGE);
    assert_int_equal(validate(MNL_TYPE_STRING, "ab", 2), 0);
    assert_int_equal(validate(MNL_TYPE_STRING, "", 0), -ERANGE);
    assert_int_equal(validate(MNL_TYPE_NESTED, zeros, 0), 0);
    assert_int_equal(validate(MNL_TYPE_NESTED, zeros, 2), -ERANGE);
    assert_int_equal(validate(MNL_TYPE_NESTED, zeros, 4), 0);
    assert_int_equal(validate(MNL_TYPE_BINARY, zeros, 0), 0);
    assert_int_equal(validate(MNL_TYPE_BINARY, zeros, 13), 0);
    assert_int_equal(validate(MNL_TYPE_UNSPEC, zeros, 5), 0);
    assert_int_equal(validate(MNL_TYPE_MAX, zeros, 4), -EINVAL);
#ifdef CN_TEST_HOOK_MNL
    /* shorter than its own header: refused, its payload never read */
    struct nlattr *attr = mnl_nlmsg_get_payload((struct nlmsghdr *)buffer.bytes);
    attr->nla_len = 3;
    errno = 0;
    assert_int_equal(mnl_attr_validate(attr, MNL_TYPE_NUL_STRING), -1);
    assert_int_equal(errno, ERANGE);
#endif
}

static void test_type_valid(void **state)
{
    memset(buffer.bytes, 0, sizeof buffer.bytes);
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buffer.bytes);
    mnl_attr_put_u32(nlh, 5 | NLA_F_NESTED, 0);
    const struct nlattr *attr = mnl_nlmsg_get_payload(nlh);
    assert_int_equal(mnl_attr_type_valid(attr, 5), 1);
    errno = 0;
    assert_int_equal(mnl_attr_type_valid(attr, 4), -1);
    assert_int_equal(errno, EOPNOTSUPP);
}

/* ---- messages one after another ---- */

static struct nlmsghdr *put_message(char *at, uint16_t type, uint16_t flags, uint32_t seq, uint32_t portid,
                                    size_t payload)
{
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(at);
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = flags;
    nlh->nlmsg_seq = seq;
    nlh->nlmsg_pid = portid;
    mnl_nlmsg_put_extra_header(nlh, payload);
    return nlh;
}

static void test_message_ok_and_next(void **state)
{
    memset(buffer.bytes, 0, sizeof buffer.bytes);
    struct nlmsghdr *first = put_message(buffer.bytes, 20, 0, 1, 0, 6); /* 16 + 8 */
    put_message(buffer.bytes + 24, 21, 0, 1, 0, 0);
    int len = 40;
    assert_true(mnl_nlmsg_ok(first, len));
    assert_false(mnl_nlmsg_ok(first, 23));
    assert_false(mnl_nlmsg_ok(first, 15));
    struct nlmsghdr *second = mnl_nlmsg_next(first, &len);
    assert_ptr_equal(second, buffer.bytes + 24);
    assert_int_equal(len, 16);
    assert_true(mnl_nlmsg_ok(second, len));
    second->nlmsg_len = 8;
    assert_false(mnl_nlmsg_ok(second, len));
    assert_true(mnl_nlmsg_seq_ok(first, 1));
    assert_false(mnl_nlmsg_seq_ok(first, 2));
    assert_true(mnl_nlmsg_seq_ok(first, 0));
    assert_true(mnl_nlmsg_portid_ok(first, 99)); /* the message names no port */
    first->nlmsg_pid = 98;
    assert_false(mnl_nlmsg_portid_ok(first, 99));
    assert_true(mnl_nlmsg_portid_ok(first, 0));
#ifdef CN_TEST_HOOK_MNL
    /* a length of 2^31 or more is not one that fits */
    first->nlmsg_len = 0x80000010u;
    assert_false(mnl_nlmsg_ok(first, 40));
    first->nlmsg_len = 0xfffffffeu;
    assert_false(mnl_nlmsg_ok(first, 40));
#endif
}

static void test_batch(void **state)
{
    memset(buffer.bytes, 0, sizeof buffer.bytes);
    struct mnl_nlmsg_batch *batch = mnl_nlmsg_batch_start(buffer.bytes, 48);
    assert_non_null(batch);
    assert_true(mnl_nlmsg_batch_is_empty(batch));
    assert_ptr_equal(mnl_nlmsg_batch_head(batch), buffer.bytes);
    put_message(mnl_nlmsg_batch_current(batch), 20, 0, 1, 0, 4);
    assert_true(mnl_nlmsg_batch_next(batch));
    assert_int_equal(mnl_nlmsg_batch_size(batch), 20);
    assert_ptr_equal(mnl_nlmsg_batch_current(batch), buffer.bytes + 20);
    put_message(mnl_nlmsg_batch_current(batch), 21, 0, 2, 0, 8);
    assert_true(mnl_nlmsg_batch_next(batch));
    assert_int_equal(mnl_nlmsg_batch_size(batch), 44);
    assert_false(mnl_nlmsg_batch_is_empty(batch));
    /* 44 + 16 is past the limit: refused, and left where it was put */
    put_message(mnl_nlmsg_batch_current(batch), 22, 0, 3, 0, 0);
    assert_false(mnl_nlmsg_batch_next(batch));
    assert_int_equal(mnl_nlmsg_batch_size(batch), 44);
    assert_ptr_equal(mnl_nlmsg_batch_current(batch), buffer.bytes + 44);
    mnl_nlmsg_batch_stop(batch);

    /* a message that ends exactly at the limit joins */
    batch = mnl_nlmsg_batch_start(buffer.bytes, 36);
    put_message(mnl_nlmsg_batch_current(batch), 20, 0, 1, 0, 4);
    assert_true(mnl_nlmsg_batch_next(batch));
    put_message(mnl_nlmsg_batch_current(batch), 21, 0, 2, 0, 0);
    assert_true(mnl_nlmsg_batch_next(batch));
    assert_int_equal(mnl_nlmsg_batch_size(batch), 36);
    put_message(mnl_nlmsg_batch_current(batch), 22, 0, 3, 0, 0);
    assert_false(mnl_nlmsg_batch_next(batch));
    mnl_nlmsg_batch_stop(batch);
}

/* ---- walking the kernel's replies ---- */

typedef struct {
    int data_messages;
    int verdict;
} Replies;

static int on_data(const struct nlmsghdr *nlh, void *data)
{
    Replies *replies = data;
    replies->data_messages++;
    return replies->verdict;
}

static struct nlmsghdr *put_error(char *at, uint32_t seq, uint32_t portid, int error)
{
    struct nlmsghdr *nlh = put_message(at, NLMSG_ERROR, 0, seq, portid, 0);
    struct nlmsgerr *err = mnl_nlmsg_put_extra_header(nlh, sizeof *err);
    err->error = error;
    return nlh;
}

/* Runs mnl_cb_run over the LEN bytes of the buffer: its return, or -errno
 * when it fails. */
static int run(size_t len, unsigned int seq, unsigned int portid, Replies *replies)
{
    errno = 0;
    int ret = mnl_cb_run(buffer.bytes, len, seq, portid, on_data, replies);
    return ret != MNL_CB_ERROR ? ret : errno ? -errno : ERRNO_NOT_SET;
}

static void test_cb_run_data_then_ack(void **state)
{
    memset(buffer.bytes, 0, sizeof buffer.bytes);
    put_message(buffer.bytes, 20, 0, 5, 77, 4);       /* 20 */
    put_message(buffer.bytes + 20, NLMSG_NOOP, 0, 5, 77, 0); /* 16 */
    put_message(buffer.bytes + 36, 21, 0, 5, 77, 0);  /* 16 */
    put_error(buffer.bytes + 52, 5, 77, 0);           /* 36 */
    put_message(buffer.bytes + 88, 22, 0, 5, 77, 0);  /* after the ack: not read */
    Replies replies = {.verdict = MNL_CB_OK};
    assert_int_equal(run(104, 5, 77, &replies), MNL_CB_STOP);
    assert_int_equal(replies.data_messages, 2);
    /* no ack: the run ends with the buffer, OK (read on) */
    replies.data_messages = 0;
    assert_int_equal(run(52, 5, 77, &replies), MNL_CB_OK);
    assert_int_equal(replies.data_messages, 2);
    /* a callback's STOP or ERROR ends it at once */
    replies = (Replies){.verdict = MNL_CB_STOP};
    assert_int_equal(run(104, 5, 77, &replies), MNL_CB_STOP);
    assert_int_equal(replies.data_messages, 1);
    replies = (Replies){.verdict = MNL_CB_ERROR};
    assert_int_equal(mnl_cb_run(buffer.bytes, 104, 5, 77, on_data, &replies), MNL_CB_ERROR);
    assert_int_equal(replies.data_messages, 1);
    /* NULL data callback: data messages are passed over */
    assert_int_equal(mnl_cb_run(buffer.bytes, 104, 5, 77, NULL, NULL), MNL_CB_STOP);
}

static void test_cb_run_errors(void **state)
{
    Replies replies = {.verdict = MNL_CB_OK};
    memset(buffer.bytes, 0, sizeof buffer.bytes);
    put_error(buffer.bytes, 5, 77, -ENOENT);
    assert_int_equal(run(36, 5, 77, &replies), -ENOENT);
    assert_int_equal(run(36, 6, 77, &replies), -EPROTO);  /* another request's */
    assert_int_equal(run(36, 5, 78, &replies), -ESRCH);   /* another socket's */
    assert_int_equal(run(36, 0, 0, &replies), -ENOENT);   /* 0: any */
    /* an error message too short to hold its nlmsgerr */
    struct nlmsghdr *nlh = (struct nlmsghdr *)buffer.bytes;
    nlh->nlmsg_len = 20;
    assert_int_equal(run(36, 5, 77, &replies), -EBADMSG);

    memset(buffer.bytes, 0, sizeof buffer.bytes);
    put_message(buffer.bytes, 20, NLM_F_MULTI | NLM_F_DUMP_INTR, 5, 77, 0);
    assert_int_equal(run(16, 5, 77, &replies), -EINTR);

    memset(buffer.bytes, 0, sizeof buffer.bytes);
    put_message(buffer.bytes, 20, NLM_F_MULTI, 5, 77, 0);
    put_message(buffer.bytes + 16, NLMSG_DONE, NLM_F_MULTI, 5, 77, 4);
    put_message(buffer.bytes + 36, 20, NLM_F_MULTI, 5, 77, 0);
    replies.data_messages = 0;
    assert_int_equal(run(52, 5, 77, &replies), MNL_CB_STOP);
    assert_int_equal(replies.data_messages, 1);

    /* a positive error code is an error too, with that errno */
    memset(buffer.bytes, 0, sizeof buffer.bytes);
    put_error(buffer.bytes, 5, 77, EPERM);
    assert_int_equal(run(36, 5, 77, &replies), -EPERM);
}

/* NLMSG_OVERRUN and the other control types below NLMSG_MIN_TYPE that are
 * not an error or the end are passed over; so is a message cut short at
 * the end of the datagram (nothing read past it). */
static void test_cb_run_passes_over(void **state)
{
    Replies replies = {.verdict = MNL_CB_OK};
    memset(buffer.bytes, 0, sizeof buffer.bytes);
    put_message(buffer.bytes, NLMSG_OVERRUN, 0, 5, 77, 0);
    put_message(buffer.bytes + 16, 0, 0, 5, 77, 0);
    put_message(buffer.bytes + 32, 7, 0, 5, 77, 0);
    put_message(buffer.bytes + 48, 20, 0, 5, 77, 0);
    put_message(buffer.bytes + 64, 21, 0, 5, 77, 16); /* 32 bytes, 24 of them sent */
    assert_int_equal(run(88, 5, 77, &replies), MNL_CB_OK);
    assert_int_equal(replies.data_messages, 1);
    replies.data_messages = 0;
    assert_int_equal(run(96, 5, 77, &replies), MNL_CB_OK);
    assert_int_equal(replies.data_messages, 2);
}

/* ---- a socket ---- */

static void test_socket_ack_from_the_kernel(void **state)
{
    struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
    assert_non_null(nl);
    assert_true(mnl_socket_get_fd(nl) >= 0);
    assert_int_equal(mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID), 0);
    unsigned int portid = mnl_socket_get_portid(nl);
    assert_true(portid != 0);

    memset(buffer.bytes, 0, sizeof buffer.bytes);
    struct nlmsghdr *nlh = put_message(buffer.bytes, NLMSG_NOOP, NLM_F_REQUEST | NLM_F_ACK, 42, 0, 0);
    assert_int_equal(mnl_socket_sendto(nl, nlh, nlh->nlmsg_len), nlh->nlmsg_len);
    ssize_t got = mnl_socket_recvfrom(nl, buffer.bytes, sizeof buffer.bytes);
    assert_true(got >= (ssize_t)mnl_nlmsg_size(sizeof(struct nlmsgerr)));
    assert_int_equal(mnl_cb_run(buffer.bytes, (size_t)got, 42, portid, NULL, NULL), MNL_CB_STOP);

    /* a reply larger than the buffer is an error, not a short read */
    nlh = put_message(buffer.bytes, NLMSG_NOOP, NLM_F_REQUEST | NLM_F_ACK, 43, 0, 0);
    assert_int_equal(mnl_socket_sendto(nl, nlh, nlh->nlmsg_len), nlh->nlmsg_len);
    errno = 0;
    assert_int_equal(mnl_socket_recvfrom(nl, buffer.bytes, 8), -1);
    assert_int_equal(errno, ENOSPC);
    /* a port id another socket holds: bind fails, with the kernel's errno */
    struct mnl_socket *other = mnl_socket_open(NETLINK_ROUTE);
    assert_non_null(other);
    errno = 0;
    assert_int_equal(mnl_socket_bind(other, 0, (pid_t)portid), -1);
    assert_int_equal(errno, EADDRINUSE);
    assert_int_equal(mnl_socket_close(other), 0);
    assert_int_equal(mnl_socket_close(nl), 0);
    errno = 0;
    assert_null(mnl_socket_open(MAX_LINKS + 1));
    assert_true(errno != 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_header_and_attributes),
#ifdef CN_TEST_HOOK_MNL
        cmocka_unit_test(test_build_padding_zeroed),
#endif
        cmocka_unit_test(test_parse_and_get),
        cmocka_unit_test(test_parse_stops_where_told),
        cmocka_unit_test(test_parse_skips_what_does_not_fit),
        cmocka_unit_test(test_validate),
        cmocka_unit_test(test_type_valid),
        cmocka_unit_test(test_message_ok_and_next),
        cmocka_unit_test(test_batch),
        cmocka_unit_test(test_cb_run_data_then_ack),
        cmocka_unit_test(test_cb_run_errors),
        cmocka_unit_test(test_cb_run_passes_over),
        cmocka_unit_test(test_socket_ack_from_the_kernel),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
