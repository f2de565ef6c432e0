/* hook-mnl.c - the part of libmnl's API that carthage-net-hook and the
 * objects of libnftnl's archive it links call, for a hook linked fully
 * static.
 *
 * Why: libvirt runs the hook, and waits for it, on every network and
 * domain event.  Linked with -static-pie (glibc's libc.a, GLib's, libnl's
 * and libnftnl's archives; ASLR kept) the hook starts about 0.5 ms sooner
 * than with the loader mapping and relocating libc and libmnl, and takes
 * some 55 page faults fewer (docs/performance.md).  Debian ships no archive
 * of libmnl (libmnl-dev has only the shared library), so the hook carries
 * these functions itself, written to libmnl's documented behaviour
 * (<libmnl/libmnl.h>, whose declarations these definitions must match:
 * the header is included for that).  Only the hook links this file, in
 * every build (so the sanitizer build checks it too); carthage-net and the
 * tests link libmnl itself.  tests/unit/test-mnl.c runs the same checks
 * against this file and against libmnl.
 *
 * Not here: what neither the hook nor libnftnl's objects call (the _check
 * variants of the put functions, fdopen, the socket options, nest_cancel,
 * batch_reset, fprintf).  A link that needs one fails, naming it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libmnl/libmnl.h>

/* ---- sockets ---- */

struct mnl_socket {
    int fd;
    struct sockaddr_nl addr;
};

struct mnl_socket *mnl_socket_open2(int bus, int flags)
{
    struct mnl_socket *nl = calloc(1, sizeof *nl);
    if (!nl)
        return NULL;
    nl->fd = socket(AF_NETLINK, SOCK_RAW | flags, bus);
    if (nl->fd < 0) {
        int saved = errno;
        free(nl);
        errno = saved;
        return NULL;
    }
    return nl;
}

struct mnl_socket *mnl_socket_open(int bus)
{
    return mnl_socket_open2(bus, 0);
}

int mnl_socket_bind(struct mnl_socket *nl, unsigned int groups, pid_t pid)
{
    struct sockaddr_nl addr = {.nl_family = AF_NETLINK, .nl_groups = groups, .nl_pid = (__u32)pid};
    if (bind(nl->fd, (struct sockaddr *)&addr, sizeof addr) < 0)
        return -1;
    /* The kernel picks the port id when PID is 0 (MNL_SOCKET_AUTOPID):
     * read back what it chose, for mnl_socket_get_portid. */
    socklen_t addr_len = sizeof nl->addr;
    if (getsockname(nl->fd, (struct sockaddr *)&nl->addr, &addr_len) < 0)
        return -1;
    if (addr_len != sizeof nl->addr || nl->addr.nl_family != AF_NETLINK) {
        errno = EINVAL;
        return -1;
    }
    return 0;
}

int mnl_socket_close(struct mnl_socket *nl)
{
    int ret = close(nl->fd);
    free(nl);
    return ret;
}

int mnl_socket_get_fd(const struct mnl_socket *nl)
{
    return nl->fd;
}

unsigned int mnl_socket_get_portid(const struct mnl_socket *nl)
{
    return nl->addr.nl_pid;
}

ssize_t mnl_socket_sendto(const struct mnl_socket *nl, const void *req, size_t siz)
{
    static const struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    return sendto(nl->fd, req, siz, 0, (const struct sockaddr *)&kernel, sizeof kernel);
}

/* One datagram.  A message cut short by a buffer too small is an error
 * (ENOSPC), never a short read passed on to a parser; so is a sender
 * address that is not a netlink one (EINVAL). */
ssize_t mnl_socket_recvfrom(const struct mnl_socket *nl, void *buf, size_t siz)
{
    struct sockaddr_nl from;
    struct iovec iov = {.iov_base = buf, .iov_len = siz};
    struct msghdr msg = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1};
    ssize_t got = recvmsg(nl->fd, &msg, 0);
    if (got < 0)
        return got;
    if (msg.msg_flags & MSG_TRUNC) {
        errno = ENOSPC;
        return -1;
    }
    if (msg.msg_namelen != sizeof from) {
        errno = EINVAL;
        return -1;
    }
    return got;
}

/* ---- messages ---- */

size_t mnl_nlmsg_size(size_t len)
{
    return len + MNL_NLMSG_HDRLEN;
}

size_t mnl_nlmsg_get_payload_len(const struct nlmsghdr *nlh)
{
    return nlh->nlmsg_len - MNL_NLMSG_HDRLEN;
}

struct nlmsghdr *mnl_nlmsg_put_header(void *buf)
{
    struct nlmsghdr *nlh = buf;
    memset(nlh, 0, MNL_NLMSG_HDRLEN);
    nlh->nlmsg_len = MNL_NLMSG_HDRLEN;
    return nlh;
}

void *mnl_nlmsg_put_extra_header(struct nlmsghdr *nlh, size_t size)
{
    char *extra = (char *)nlh + nlh->nlmsg_len;
    size_t aligned = MNL_ALIGN(size);
    nlh->nlmsg_len += aligned;
    memset(extra, 0, aligned);
    return extra;
}

void *mnl_nlmsg_get_payload(const struct nlmsghdr *nlh)
{
    return (char *)nlh + MNL_NLMSG_HDRLEN;
}

void *mnl_nlmsg_get_payload_offset(const struct nlmsghdr *nlh, size_t offset)
{
    return (char *)nlh + MNL_NLMSG_HDRLEN + MNL_ALIGN(offset);
}

void *mnl_nlmsg_get_payload_tail(const struct nlmsghdr *nlh)
{
    return (char *)nlh + MNL_ALIGN(nlh->nlmsg_len);
}

/* LEN bytes are left in the buffer from NLH: a whole header fits, the
 * message claims at least a header, and no more than what is left.  The
 * length is compared unsigned: libmnl's cast to int takes a length of 2^31
 * or more (negative) for one that fits. */
bool mnl_nlmsg_ok(const struct nlmsghdr *nlh, int len)
{
    return len >= (int)sizeof *nlh && nlh->nlmsg_len >= sizeof *nlh && nlh->nlmsg_len <= (unsigned int)len;
}

/* Only after mnl_nlmsg_ok: the aligned length is then at most LEN + 3,
 * and LEN is left at -3 to 0 past the last message. */
struct nlmsghdr *mnl_nlmsg_next(const struct nlmsghdr *nlh, int *len)
{
    *len -= (int)MNL_ALIGN(nlh->nlmsg_len);
    return (struct nlmsghdr *)((char *)nlh + MNL_ALIGN(nlh->nlmsg_len));
}

/* 0 on either side means "any" (the kernel's own notifications carry
 * neither a sequence number nor a port id). */
bool mnl_nlmsg_seq_ok(const struct nlmsghdr *nlh, unsigned int seq)
{
    return nlh->nlmsg_seq && seq ? nlh->nlmsg_seq == seq : true;
}

bool mnl_nlmsg_portid_ok(const struct nlmsghdr *nlh, unsigned int portid)
{
    return nlh->nlmsg_pid && portid ? nlh->nlmsg_pid == portid : true;
}

/* ---- batches: messages laid one after another in a caller's buffer ---- */

struct mnl_nlmsg_batch {
    char *buf;
    size_t limit;
    size_t used;
    char *current;
    bool overflow;
};

/* LIMIT is what a batch may hold; the buffer must have room past it for
 * the one message that overflows (libmnl's callers give it twice). */
struct mnl_nlmsg_batch *mnl_nlmsg_batch_start(void *buf, size_t limit)
{
    struct mnl_nlmsg_batch *batch = calloc(1, sizeof *batch);
    if (!batch)
        return NULL;
    batch->buf = buf;
    batch->limit = limit;
    batch->current = buf;
    return batch;
}

/* The message at the current position joins the batch, unless it would
 * take the batch past its limit: then false, and it stays where it is. */
bool mnl_nlmsg_batch_next(struct mnl_nlmsg_batch *batch)
{
    const struct nlmsghdr *nlh = (const struct nlmsghdr *)batch->current;
    if (batch->used + nlh->nlmsg_len > batch->limit) {
        batch->overflow = true;
        return false;
    }
    batch->used += nlh->nlmsg_len;
    batch->current = batch->buf + batch->used;
    return true;
}

void mnl_nlmsg_batch_stop(struct mnl_nlmsg_batch *batch)
{
    free(batch);
}

size_t mnl_nlmsg_batch_size(struct mnl_nlmsg_batch *batch)
{
    return batch->used;
}

void *mnl_nlmsg_batch_head(struct mnl_nlmsg_batch *batch)
{
    return batch->buf;
}

void *mnl_nlmsg_batch_current(struct mnl_nlmsg_batch *batch)
{
    return batch->current;
}

bool mnl_nlmsg_batch_is_empty(struct mnl_nlmsg_batch *batch)
{
    return batch->used == 0;
}

/* ---- attributes ---- */

uint16_t mnl_attr_get_type(const struct nlattr *attr)
{
    return attr->nla_type & NLA_TYPE_MASK;
}

uint16_t mnl_attr_get_len(const struct nlattr *attr)
{
    return attr->nla_len;
}

uint16_t mnl_attr_get_payload_len(const struct nlattr *attr)
{
    return (uint16_t)(attr->nla_len - MNL_ATTR_HDRLEN);
}

void *mnl_attr_get_payload(const struct nlattr *attr)
{
    return (char *)attr + MNL_ATTR_HDRLEN;
}

bool mnl_attr_ok(const struct nlattr *attr, int len)
{
    return len >= (int)sizeof *attr && attr->nla_len >= sizeof *attr && (int)attr->nla_len <= len;
}

struct nlattr *mnl_attr_next(const struct nlattr *attr)
{
    return (struct nlattr *)((char *)attr + MNL_ALIGN(attr->nla_len));
}

int mnl_attr_type_valid(const struct nlattr *attr, uint16_t max)
{
    if (mnl_attr_get_type(attr) > max) {
        errno = EOPNOTSUPP;
        return -1;
    }
    return 1;
}

/* The payload length each fixed-size type must have (0: any). */
static size_t fixed_length(enum mnl_attr_data_type type)
{
    switch (type) {
    case MNL_TYPE_U8:
        return sizeof(uint8_t);
    case MNL_TYPE_U16:
        return sizeof(uint16_t);
    case MNL_TYPE_U32:
        return sizeof(uint32_t);
    case MNL_TYPE_U64:
    case MNL_TYPE_MSECS:
        return sizeof(uint64_t);
    default:
        return 0;
    }
}

static int invalid(int reason)
{
    errno = reason;
    return -1;
}

/* What the kernel sent is read by the get functions only after this: an
 * integer's payload is exactly its size, a NUL string ends in its NUL, a
 * flag has no payload, a nest that is not empty holds at least one
 * attribute header.  -1 with errno ERANGE (length) or EINVAL (content, or
 * TYPE unknown). */
int mnl_attr_validate(const struct nlattr *attr, enum mnl_attr_data_type type)
{
    if (type >= MNL_TYPE_MAX)
        return invalid(EINVAL);
    /* Shorter than its own header (which mnl_attr_ok, and so every walk
     * over attributes, rules out): libmnl would read its payload's length
     * as some 65,000 bytes. */
    if (attr->nla_len < MNL_ATTR_HDRLEN)
        return invalid(ERANGE);
    size_t len = mnl_attr_get_payload_len(attr);
    size_t expected = fixed_length(type);
    const char *payload = mnl_attr_get_payload(attr);
    if (len < expected)
        return invalid(ERANGE);
    switch (type) {
    case MNL_TYPE_FLAG:
        if (len > 0)
            return invalid(ERANGE);
        break;
    case MNL_TYPE_NUL_STRING:
        if (len == 0)
            return invalid(ERANGE);
        if (payload[len - 1] != '\0')
            return invalid(EINVAL);
        break;
    case MNL_TYPE_STRING:
        if (len == 0)
            return invalid(ERANGE);
        break;
    case MNL_TYPE_NESTED:
        if (len > 0 && len < MNL_ATTR_HDRLEN)
            return invalid(ERANGE);
        break;
    default:
        break;
    }
    if (expected && len > expected)
        return invalid(ERANGE);
    return 0;
}

uint8_t mnl_attr_get_u8(const struct nlattr *attr)
{
    return *(const uint8_t *)mnl_attr_get_payload(attr);
}

uint16_t mnl_attr_get_u16(const struct nlattr *attr)
{
    uint16_t value;
    memcpy(&value, mnl_attr_get_payload(attr), sizeof value);
    return value;
}

uint32_t mnl_attr_get_u32(const struct nlattr *attr)
{
    uint32_t value;
    memcpy(&value, mnl_attr_get_payload(attr), sizeof value);
    return value;
}

/* A u64's payload is 4-aligned, not 8: copied out. */
uint64_t mnl_attr_get_u64(const struct nlattr *attr)
{
    uint64_t value;
    memcpy(&value, mnl_attr_get_payload(attr), sizeof value);
    return value;
}

const char *mnl_attr_get_str(const struct nlattr *attr)
{
    return mnl_attr_get_payload(attr);
}

/* Calls CB for each whole attribute of NLH's payload past OFFSET (the
 * family's own header), until one returns MNL_CB_STOP or MNL_CB_ERROR. */
int mnl_attr_parse(const struct nlmsghdr *nlh, unsigned int offset, mnl_attr_cb_t cb, void *data)
{
    int ret = MNL_CB_OK;
    const struct nlattr *attr;
    mnl_attr_for_each(attr, nlh, offset) {
        ret = cb(attr, data);
        if (ret <= MNL_CB_STOP)
            return ret;
    }
    return ret;
}

int mnl_attr_parse_nested(const struct nlattr *nested, mnl_attr_cb_t cb, void *data)
{
    int ret = MNL_CB_OK;
    const struct nlattr *attr;
    mnl_attr_for_each_nested(attr, nested) {
        ret = cb(attr, data);
        if (ret <= MNL_CB_STOP)
            return ret;
    }
    return ret;
}

/* Appends an attribute at NLH's tail, its padding zeroed (libmnl 1.0.4
 * leaves the padding as it finds it; the kernel ignores it).  Like libmnl's,
 * the caller has made sure the buffer has the room. */
void mnl_attr_put(struct nlmsghdr *nlh, uint16_t type, size_t len, const void *data)
{
    struct nlattr *attr = mnl_nlmsg_get_payload_tail(nlh);
    size_t attr_len = MNL_ATTR_HDRLEN + len;
    attr->nla_type = type;
    attr->nla_len = (uint16_t)attr_len;
    char *payload = mnl_attr_get_payload(attr);
    if (len)
        memcpy(payload, data, len);
    memset(payload + len, 0, MNL_ALIGN(len) - len);
    nlh->nlmsg_len += MNL_ALIGN(attr_len);
}

void mnl_attr_put_u8(struct nlmsghdr *nlh, uint16_t type, uint8_t data)
{
    mnl_attr_put(nlh, type, sizeof data, &data);
}

void mnl_attr_put_u16(struct nlmsghdr *nlh, uint16_t type, uint16_t data)
{
    mnl_attr_put(nlh, type, sizeof data, &data);
}

void mnl_attr_put_u32(struct nlmsghdr *nlh, uint16_t type, uint32_t data)
{
    mnl_attr_put(nlh, type, sizeof data, &data);
}

void mnl_attr_put_u64(struct nlmsghdr *nlh, uint16_t type, uint64_t data)
{
    mnl_attr_put(nlh, type, sizeof data, &data);
}

void mnl_attr_put_str(struct nlmsghdr *nlh, uint16_t type, const char *data)
{
    mnl_attr_put(nlh, type, strlen(data), data);
}

void mnl_attr_put_strz(struct nlmsghdr *nlh, uint16_t type, const char *data)
{
    mnl_attr_put(nlh, type, strlen(data) + 1, data);
}

struct nlattr *mnl_attr_nest_start(struct nlmsghdr *nlh, uint16_t type)
{
    struct nlattr *start = mnl_nlmsg_get_payload_tail(nlh);
    start->nla_type = NLA_F_NESTED | type;
    nlh->nlmsg_len += MNL_ATTR_HDRLEN;
    return start;
}

void mnl_attr_nest_end(struct nlmsghdr *nlh, struct nlattr *start)
{
    start->nla_len = (uint16_t)((char *)mnl_nlmsg_get_payload_tail(nlh) - (char *)start);
}

/* ---- callbacks over a datagram of messages ---- */

/* NLMSG_ERROR: an error code of 0 is the kernel's acknowledgement, which
 * ends the run; any other is the run's error, in errno. */
static int on_error_message(const struct nlmsghdr *nlh)
{
    const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);
    if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof *err)) {
        errno = EBADMSG;
        return MNL_CB_ERROR;
    }
    errno = err->error < 0 ? -err->error : err->error;
    return err->error == 0 ? MNL_CB_STOP : MNL_CB_ERROR;
}

/* Walks the NUMBYTES of BUF: a message from another port or with another
 * sequence number (when both sides give one) is an error (ESRCH, EPROTO),
 * as is an interrupted dump (EINTR); data messages go to CB_DATA; the
 * kernel's error or acknowledgement, and NLMSG_DONE, end the run.
 * Returns the last callback's verdict: MNL_CB_OK to read on, MNL_CB_STOP
 * when done, MNL_CB_ERROR (-1, errno set). */
int mnl_cb_run(const void *buf, size_t numbytes, unsigned int seq, unsigned int portid, mnl_cb_t cb_data,
               void *data)
{
    int ret = MNL_CB_OK;
    int len = (int)numbytes;
    const struct nlmsghdr *nlh = buf;
    while (mnl_nlmsg_ok(nlh, len)) {
        if (!mnl_nlmsg_portid_ok(nlh, portid)) {
            errno = ESRCH;
            return -1;
        }
        if (!mnl_nlmsg_seq_ok(nlh, seq)) {
            errno = EPROTO;
            return -1;
        }
        if (nlh->nlmsg_flags & NLM_F_DUMP_INTR) {
            errno = EINTR;
            return -1;
        }
        if (nlh->nlmsg_type >= NLMSG_MIN_TYPE) {
            if (cb_data) {
                ret = cb_data(nlh, data);
                if (ret <= MNL_CB_STOP)
                    return ret;
            }
        } else if (nlh->nlmsg_type == NLMSG_ERROR) {
            ret = on_error_message(nlh);
            if (ret <= MNL_CB_STOP)
                return ret;
        } else if (nlh->nlmsg_type == NLMSG_DONE) {
            return MNL_CB_STOP;
        }
        /* NLMSG_NOOP and NLMSG_OVERRUN: read on. */
        nlh = mnl_nlmsg_next(nlh, &len);
    }
    return ret;
}
