/* bench-isolation.c - the nftables isolation engine (src/nft-isolation.c)
 * at growing numbers of guests: per count N, one metadata network is
 * prefilled with N guests in one batch (cn_nft_network_apply), then S
 * other guests are added one at a time (cn_nft_guest_add, one batch
 * each) and removed one at a time (cn_nft_guest_remove), each call timed
 * with CLOCK_MONOTONIC.  bench-isolation.sh builds and runs it as root
 * inside a network namespace of its own; it is not meant to run on a
 * host's own firewall.
 *
 * Environment: BENCH_COUNTS (counts, default "1 100 1000 4000"),
 * BENCH_SAMPLES (S, default 200), BENCH_BRIDGE (default cnbench0).
 *
 * Output, one line per count on stdout (times in microseconds, the
 * prefill in milliseconds):
 *   N ADD_MEDIAN ADD_P99 REMOVE_MEDIAN REMOVE_P99 PREFILL_MS
 * Progress and errors go to stderr.  Each step is checked by reading the
 * sets back from the kernel (outside the timed calls).  Exits 1 when a
 * call or a check fails, never because of the timings. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <libnftnl/set.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "nft.h"

#define NETWORK "bench"
#define SUBNET 0x0a000000u       /* 10.0.0.0/16 */
#define GATEWAY (SUBNET | 1)     /* 10.0.0.1 */
#define METADATA_ADDRESS 0xa9fea9feu /* 169.254.169.254 */
#define METADATA_PORT 80
#define DEFAULT_HANDLER_PORT 8775

static void die(const char *format, ...) G_GNUC_PRINTF(1, 2) G_GNUC_NORETURN;
static void die(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    fputs("bench-isolation: ", stderr);
    vfprintf(stderr, format, args);
    fputc('\n', stderr);
    va_end(args);
    exit(1);
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static unsigned long parse_positive(const char *what, const char *text)
{
    char *end;
    errno = 0;
    unsigned long value = strtoul(text, &end, 10);
    if (errno || end == text || *end || value == 0 || text[0] == '-')
        die("%s must be positive numbers, not '%s'", what, text);
    return value;
}

/* Guest I of the prefill (KIND 0: g0, g1, ...) or of the sample (KIND 1:
 * b0, b1, ...): a distinct MAC, port, address and handler port.  Prefill
 * guests count up from 10.0.0.2, sample guests down from 10.0.255.254. */
static uint32_t guest_address(int kind, guint i)
{
    return kind == 0 ? SUBNET + 2 + i : (SUBNET | 0xfffe) - i;
}

/* BENCH_IPV6=pinned: the network pins IPv6 (guests then have their
 * link-local and SLAAC addresses as elements too). */
static gboolean ipv6_pinned(void)
{
    return g_strcmp0(g_getenv("BENCH_IPV6"), "pinned") == 0;
}

static const CnIsoNetwork *v6_view(void)
{
    static CnIsoNetwork view = { .ipv6 = CN_IPV6_PINNED, .has_v6_prefix = TRUE,
                                 .v6_prefix = { { 0xfd, 0x00, 0x00, 0x99 } } };
    return &view;
}

static CnIsoGuest *guest_new(int kind, guint i)
{
    char tap[16];
    uint8_t mac[6] = { 0x52, 0x54, (uint8_t)kind, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i };
    g_snprintf(tap, sizeof tap, "%s%u", kind == 0 ? "g" : "b", i);
    CnIsoGuest *guest = cn_iso_guest_new(tap, mac);
    uint32_t address = guest_address(kind, i);
    guest->rendered = TRUE;
    g_array_append_val(guest->addresses, address);
    guest->handler = (CnEndpoint){ TRUE, GATEWAY, (uint16_t)(9000 + i % 1000) };
    if (ipv6_pinned())
        cn_iso_guest_add_v6(guest, v6_view(), NULL);
    return guest;
}

/* The network with N guests' reservations and handlers (the sample
 * guests' are not in it: adding one brings them, as for a machine added
 * while the network runs). */
static CnIsoNetwork *network_new(const char *bridge, GPtrArray *guests)
{
    CnIsoNetwork *net = cn_iso_network_new(NETWORK, bridge);
    net->metadata = TRUE;
    net->metadata_address = METADATA_ADDRESS;
    net->metadata_port = METADATA_PORT;
    net->default_handler = (CnEndpoint){ TRUE, GATEWAY, DEFAULT_HANDLER_PORT };
    net->gateway = GATEWAY;
    if (ipv6_pinned()) {
        net->ipv6 = CN_IPV6_PINNED;
        net->has_v6_prefix = TRUE;
        net->v6_prefix = v6_view()->v6_prefix;
    }
    for (guint i = 0; i < guests->len; i++) {
        const CnIsoGuest *guest = guests->pdata[i];
        CnIsoReservation reservation = { g_array_index(guest->addresses, uint32_t, 0), { 0 } };
        memcpy(reservation.mac, guest->mac, 6);
        g_array_append_val(net->reservations, reservation);
        CnIsoHandler handler = { { 0 }, guest->handler };
        memcpy(handler.mac, guest->mac, 6);
        g_array_append_val(net->handlers, handler);
    }
    return net;
}

/* Checks: the number of elements in a set, read back with a dump:
 * distinct keys (a dump may show an element twice: see expect). */

static int count_one(struct nftnl_set_elem *elem, void *data)
{
    uint32_t len = 0;
    const void *key = nftnl_set_elem_get(elem, NFTNL_SET_ELEM_KEY, &len);
    if (key)
        g_hash_table_add(data, g_bytes_new(key, len));
    return 0;
}

static int count_cb(const struct nlmsghdr *header, void *data)
{
    struct nftnl_set *set = nftnl_set_alloc();
    if (nftnl_set_elems_nlmsg_parse(header, set) < 0) {
        nftnl_set_free(set);
        return MNL_CB_ERROR;
    }
    nftnl_set_elem_foreach(set, count_one, data);
    nftnl_set_free(set);
    return MNL_CB_OK;
}

/* The elements in set NAME of table TABLE (FAMILY); -1 with errno set
 * when the kernel refuses (ENOENT: no such table or set). */
static long set_size(uint32_t family, const char *table, const char *name)
{
    static char buffer[1 << 16];
    struct mnl_socket *socket = mnl_socket_open(NETLINK_NETFILTER);
    if (!socket || mnl_socket_bind(socket, 0, MNL_SOCKET_AUTOPID) < 0)
        die("cannot open a netfilter socket: %s", g_strerror(errno));
    uint32_t seq = (uint32_t)time(NULL), portid = mnl_socket_get_portid(socket);
    struct nftnl_set *set = nftnl_set_alloc();
    nftnl_set_set_str(set, NFTNL_SET_TABLE, table);
    nftnl_set_set_str(set, NFTNL_SET_NAME, name);
    struct nlmsghdr *header = nftnl_nlmsg_build_hdr(buffer, NFT_MSG_GETSETELEM, (uint16_t)family,
                                                   NLM_F_DUMP | NLM_F_ACK, seq);
    nftnl_set_elems_nlmsg_build_payload(header, set);
    nftnl_set_free(set);
    if (mnl_socket_sendto(socket, header, header->nlmsg_len) < 0)
        die("cannot send a dump request: %s", g_strerror(errno));
    g_autoptr(GHashTable) keys = g_hash_table_new_full(g_bytes_hash, g_bytes_equal,
                                                       (GDestroyNotify)g_bytes_unref, NULL);
    int ret;
    do {
        ssize_t n = mnl_socket_recvfrom(socket, buffer, sizeof buffer);
        if (n < 0)
            die("cannot read a dump: %s", g_strerror(errno));
        ret = mnl_cb_run(buffer, (size_t)n, seq, portid, count_cb, keys);
    } while (ret > 0);
    int saved = errno;
    mnl_socket_close(socket);
    errno = saved;
    return ret < 0 ? -1 : (long)g_hash_table_size(keys);
}

/* A dump right after a batch that grew a set by thousands can overlap the
 * kernel's deferred resize of its hash table, and then shows some
 * elements twice and misses others (seen here: 4258, then 3249 distinct,
 * for 4000; the next dump had them all).  So the count is read again,
 * for up to 2 s, before it counts as wrong. */
static void expect(uint32_t family, const char *set, long expected, const char *when)
{
    g_autofree char *table = cn_nft_table_name(NETWORK);
    long got = -1;
    for (int try = 0; try < 100; try++) {
        got = set_size(family, table, set);
        if (got < 0)
            die("%s: cannot read set %s %s: %s", when, family == NFPROTO_BRIDGE ? "bridge" : "inet", set,
                g_strerror(errno));
        if (got == expected)
            return;
        g_usleep(20 * 1000);
    }
    die("%s: set %s has %ld elements, expected %ld", when, set, got, expected);
}

/* Every set a guest touches, against the guests present (PORTS) and the
 * addresses and handlers known (KNOWN, a superset). */
static void expect_guests(long ports, long known, const char *when)
{
    expect(NFPROTO_BRIDGE, "ports", ports, when);
    expect(NFPROTO_BRIDGE, "port_mac", ports, when);
    expect(NFPROTO_BRIDGE, "pinned_ip", ports, when);
    expect(NFPROTO_BRIDGE, "reserved", known, when);
    expect(NFPROTO_BRIDGE, "reserved_addr", known, when);
    expect(NFPROTO_INET, "handlers", known, when);
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts V; the median and the nearest-rank 99th percentile. */
static void summarise(double *v, guint n, double *median, double *p99)
{
    qsort(v, n, sizeof *v, compare_double);
    *median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    guint rank = (guint)((99 * (guint64)n + 99) / 100); /* ceil(0.99 n), 1-based */
    *p99 = v[MAX(rank, 1) - 1];
}

static void run_count(const char *bridge, guint n, guint samples)
{
    g_autoptr(GPtrArray) guests = g_ptr_array_new_with_free_func((GDestroyNotify)cn_iso_guest_free);
    g_autoptr(GPtrArray) others = g_ptr_array_new_with_free_func((GDestroyNotify)cn_iso_guest_free);
    for (guint i = 0; i < n; i++)
        g_ptr_array_add(guests, guest_new(0, i));
    for (guint i = 0; i < samples; i++)
        g_ptr_array_add(others, guest_new(1, i));
    g_autoptr(CnIsoNetwork) net = network_new(bridge, guests);
    g_autofree double *add = g_new(double, samples);
    g_autofree double *remove = g_new(double, samples);
    GError *error = NULL;
    g_autofree char *when = NULL;

    double t0 = now_us();
    if (!cn_nft_network_apply(net, guests, &error))
        die("%u guests: cn_nft_network_apply: %s", n, error->message);
    double prefill_ms = (now_us() - t0) / 1000;
    when = g_strdup_printf("%u guests, after the prefill", n);
    expect_guests(n, n, when);

    for (guint i = 0; i < samples; i++) {
        t0 = now_us();
        if (!cn_nft_guest_add(net, others->pdata[i], &error))
            die("%u guests: cn_nft_guest_add %s: %s", n, ((CnIsoGuest *)others->pdata[i])->tap, error->message);
        add[i] = now_us() - t0;
    }
    g_free(when);
    when = g_strdup_printf("%u guests, after %u additions", n, samples);
    expect_guests(n + samples, n + samples, when);

    for (guint i = 0; i < samples; i++) {
        t0 = now_us();
        if (!cn_nft_guest_remove(net, others->pdata[i], &error))
            die("%u guests: cn_nft_guest_remove %s: %s", n, ((CnIsoGuest *)others->pdata[i])->tap,
                error->message);
        remove[i] = now_us() - t0;
    }
    g_free(when);
    when = g_strdup_printf("%u guests, after %u removals", n, samples);
    /* Reservations and handlers outlive a guest's port. */
    expect_guests(n, n + samples, when);

    double add_median, add_p99, remove_median, remove_p99;
    summarise(add, samples, &add_median, &add_p99);
    summarise(remove, samples, &remove_median, &remove_p99);
    printf("%u %.1f %.1f %.1f %.1f %.1f\n", n, add_median, add_p99, remove_median, remove_p99, prefill_ms);
    fflush(stdout);
    fprintf(stderr, "bench-isolation: %u guests: prefill %.1f ms; add median %.1f µs, p99 %.1f µs; "
                    "remove median %.1f µs, p99 %.1f µs (%u each)\n",
            n, prefill_ms, add_median, add_p99, remove_median, remove_p99, samples);
}

int main(void)
{
    const char *counts_text = g_getenv("BENCH_COUNTS");
    const char *samples_text = g_getenv("BENCH_SAMPLES");
    const char *bridge = g_getenv("BENCH_BRIDGE");
    if (!counts_text || !*counts_text)
        counts_text = "1 100 1000 4000";
    if (!bridge || !*bridge)
        bridge = "cnbench0";
    guint samples = samples_text && *samples_text ? (guint)parse_positive("BENCH_SAMPLES", samples_text) : 200;

    g_auto(GStrv) counts = g_strsplit_set(counts_text, " ,", -1);
    GArray *ns = g_array_new(FALSE, FALSE, sizeof(guint));
    for (char **c = counts; *c; c++) {
        if (!**c)
            continue;
        guint n = (guint)parse_positive("BENCH_COUNTS", *c);
        /* Both kinds of guest take addresses from 10.0.0.0/16. */
        if ((guint64)n + samples > 65000)
            die("BENCH_COUNTS + BENCH_SAMPLES: %u + %u guests do not fit in a /16", n, samples);
        g_array_append_val(ns, n);
    }
    if (ns->len == 0)
        die("BENCH_COUNTS has no count");

    GError *error = NULL;
    int status = 0;
    for (guint i = 0; i < ns->len; i++)
        run_count(bridge, g_array_index(ns, guint, i), samples);
    if (!cn_nft_network_remove(NETWORK, &error)) {
        fprintf(stderr, "bench-isolation: cn_nft_network_remove: %s\n", error->message);
        status = 1;
    } else {
        g_autofree char *table = cn_nft_table_name(NETWORK);
        if (set_size(NFPROTO_BRIDGE, table, "ports") >= 0 || errno != ENOENT ||
            set_size(NFPROTO_INET, table, "handlers") >= 0 || errno != ENOENT) {
            fprintf(stderr, "bench-isolation: the tables are still there after cn_nft_network_remove\n");
            status = 1;
        }
    }
    g_array_unref(ns);
    return status;
}
