/* nft-ruleset.c - carthage-net's tables for one network, and the batches
 * that apply them and their elements.  See nft.h for the policy and
 * docs/isolation.md for every chain, hook, priority and set.
 *
 * Every rule carries its description as its comment, and each table a
 * fingerprint of everything in it but elements: status compares both with
 * what this code builds, so a rule changed by hand, or tables made by
 * another version or for other definitions, are found without parsing
 * the kernel's expressions back. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_conntrack_tuple_common.h>
#include <linux/netfilter_bridge.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <libnftnl/udata.h>

#include "netaddr.h"
#include "nft-expr.h"
#include "nft-private.h"

#define IFNAME CN_NFT_IFNAME_LEN
#define ETHER CN_NFT_ETHER_LEN
#define IPV4 CN_NFT_IPV4_LEN
#define IPV6 16
#define PORT CN_NFT_PORT_LEN

const CnNftSetSpec cn_nft_sets[CN_SET_LAST + 1] = {
    [CN_SET_PORTS] = { "ports", NFPROTO_BRIDGE, CN_NFT_TYPE_IFNAME, IFNAME, 0, 0, TRUE, FALSE },
    [CN_SET_PORT_MAC] = { "port_mac", NFPROTO_BRIDGE, CN_NFT_CONCAT(CN_NFT_TYPE_IFNAME, CN_NFT_TYPE_ETHERADDR),
                          IFNAME + ETHER, 0, 0, TRUE, FALSE },
    [CN_SET_PINNED_IP] = { "pinned_ip", NFPROTO_BRIDGE, CN_NFT_TYPE_IFNAME, IFNAME, 0, 0, TRUE, FALSE },
    [CN_SET_PORT_IP6] = { "port_ip6", NFPROTO_BRIDGE, CN_NFT_CONCAT(CN_NFT_TYPE_IFNAME, CN_NFT_TYPE_IP6ADDR),
                          IFNAME + IPV6, 0, 0, TRUE, FALSE },
    [CN_SET_RESERVED] = { "reserved", NFPROTO_BRIDGE, CN_NFT_CONCAT(CN_NFT_TYPE_IPADDR, CN_NFT_TYPE_ETHERADDR),
                          IPV4 + ETHER, 0, 0, FALSE, FALSE },
    [CN_SET_RESERVED_ADDR] = { "reserved_addr", NFPROTO_BRIDGE, CN_NFT_TYPE_IPADDR, IPV4, 0, 0, FALSE, FALSE },
    [CN_SET_ETHERTYPES] = { "ethertypes", NFPROTO_BRIDGE, CN_NFT_TYPE_ETHERTYPE, 2, 0, 0, FALSE, FALSE },
    [CN_SET_STORM] = { "storm", NFPROTO_BRIDGE, CN_NFT_TYPE_IFNAME, IFNAME, 0, 0, TRUE, TRUE },
    [CN_SET_SPOOFERS] = { "spoofers", NFPROTO_BRIDGE, CN_NFT_TYPE_IFNAME, IFNAME, 0, 0, TRUE, TRUE },
    [CN_SET_HANDLERS] = { "handlers", NFPROTO_INET, CN_NFT_TYPE_ETHERADDR, 6,
                          CN_NFT_CONCAT(CN_NFT_TYPE_IPADDR, CN_NFT_TYPE_INET_SERVICE), IPV4 + PORT, FALSE, FALSE },
    [CN_SET_PUB2PRIV] = { "pub2priv", NFPROTO_INET, CN_NFT_TYPE_IPADDR, 4, CN_NFT_TYPE_IPADDR, 4, FALSE, FALSE },
    [CN_SET_PRIV2PUB] = { "priv2pub", NFPROTO_INET, CN_NFT_TYPE_IPADDR, 4, CN_NFT_TYPE_IPADDR, 4, FALSE, FALSE },
    [CN_SET_HANDLER_ENDPOINTS] = { "handler_endpoints", NFPROTO_INET,
                                   CN_NFT_CONCAT(CN_NFT_TYPE_IPADDR, CN_NFT_TYPE_INET_SERVICE), IPV4 + PORT, 0, 0,
                                   FALSE, FALSE },
};

/* How long a port's broadcast limiter (or forged-frame counter) outlives
 * its last frame. */
#define STORM_TIMEOUT_MS 60000
#define STORM_SIZE 65535

#define R0 NFT_REG32_00
#define ETHER_DADDR_FIRST NFT_PAYLOAD_LL_HEADER, 0, 1
#define ETHER_SADDR NFT_PAYLOAD_LL_HEADER, 6, 6
#define ETHER_TYPE NFT_PAYLOAD_LL_HEADER, 12, 2
#define ARP_SHA NFT_PAYLOAD_NETWORK_HEADER, 8, 6
#define ARP_SPA NFT_PAYLOAD_NETWORK_HEADER, 14, 4
#define IP_PROTO_FIELD NFT_PAYLOAD_NETWORK_HEADER, 9, 1
#define IP_SADDR NFT_PAYLOAD_NETWORK_HEADER, 12, 4
#define IP_DADDR NFT_PAYLOAD_NETWORK_HEADER, 16, 4
#define IP6_SADDR NFT_PAYLOAD_NETWORK_HEADER, 8, 16
#define TH_SPORT NFT_PAYLOAD_TRANSPORT_HEADER, 0, 2
#define TH_DPORT NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2
#define ICMP_TYPE NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1
#define ND_TARGET NFT_PAYLOAD_TRANSPORT_HEADER, 8, 16

enum { ICMP6_MLD_REPORT = 131, ICMP6_RS = 133, ICMP6_RA = 134, ICMP6_NS = 135, ICMP6_NA = 136,
       ICMP6_REDIRECT = 137, ICMP6_ROUTER_RENUMBERING = 138, ICMP6_MLD2_REPORT = 143 };

/* Building: into a batch, or (batch NULL) only into the shape. */

typedef struct {
    CnNftBatch *batch;
    const char *table;
    CnNftShape *shape;
    int current;          /* 0: the bridge table, 1: inet */
    GChecksum *sums[2];
} Builder;

static CnNftTableShape *current_shape(Builder *b)
{
    return &b->shape->tables[b->current];
}

/* Feeds the fingerprint with one object's netlink payload (zeroed first:
 * libmnl 1.0.4 leaves attribute padding as it finds it). */
#define FINGERPRINT(b, build_payload, object)                                                      \
    do {                                                                                           \
        char scratch[8192] = { 0 };                                                                \
        struct nlmsghdr *header = nftnl_nlmsg_build_hdr(scratch, 0, 0, 0, 0);                    \
        build_payload(header, (object));                                                           \
        g_checksum_update((b)->sums[(b)->current], (const guchar *)mnl_nlmsg_get_payload(header), \
                          mnl_nlmsg_get_payload_len(header));                                      \
    } while (0)

static struct nftnl_table *table_object(const char *name, uint32_t family, const char *comment)
{
    struct nftnl_table *table = nftnl_table_alloc();
    nftnl_table_set_u32(table, NFTNL_TABLE_FAMILY, family);
    nftnl_table_set_str(table, NFTNL_TABLE_NAME, name);
    if (comment) {
        struct nftnl_udata_buf *udata = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);
        nftnl_udata_put_strz(udata, NFTNL_UDATA_TABLE_COMMENT, comment);
        nftnl_table_set_data(table, NFTNL_TABLE_USERDATA, nftnl_udata_buf_data(udata), nftnl_udata_buf_len(udata));
        nftnl_udata_buf_free(udata);
    }
    return table;
}

/* Replaces (or, REPLACE FALSE, removes) the table: create (a no-op when it
 * exists), delete, create, so that "replace" never fails on an absent
 * table and the kernel switches from the old to the new in one step. */
static void add_table(Builder *b, uint32_t family, gboolean replace)
{
    b->current = family == NFPROTO_BRIDGE ? 0 : 1;
    if (!b->batch)
        return;
    const char *comment = replace ? current_shape(b)->comment : NULL;
    struct nftnl_table *plain = table_object(b->table, family, NULL);
    struct nftnl_table *table = table_object(b->table, family, comment);
    g_autofree char *what = g_strdup_printf("table %s %s", family == NFPROTO_BRIDGE ? "bridge" : "inet", b->table);
    cn_nft_batch_table(b->batch, NFT_MSG_NEWTABLE, NLM_F_CREATE, plain, what);
    cn_nft_batch_table(b->batch, NFT_MSG_DELTABLE, 0, plain, what);
    if (replace)
        cn_nft_batch_table(b->batch, NFT_MSG_NEWTABLE, NLM_F_CREATE, table, what);
    nftnl_table_free(plain);
    nftnl_table_free(table);
}

static void add_chain(Builder *b, uint32_t family, const char *name, int hook, int priority, const char *type)
{
    struct nftnl_chain *chain = nftnl_chain_alloc();
    nftnl_chain_set_u32(chain, NFTNL_CHAIN_FAMILY, family);
    nftnl_chain_set_str(chain, NFTNL_CHAIN_TABLE, b->table);
    nftnl_chain_set_str(chain, NFTNL_CHAIN_NAME, name);
    if (hook >= 0) {
        nftnl_chain_set_u32(chain, NFTNL_CHAIN_HOOKNUM, (uint32_t)hook);
        nftnl_chain_set_s32(chain, NFTNL_CHAIN_PRIO, priority);
        nftnl_chain_set_str(chain, NFTNL_CHAIN_TYPE, type);
        nftnl_chain_set_u32(chain, NFTNL_CHAIN_POLICY, NF_ACCEPT);
    }
    g_ptr_array_add(current_shape(b)->chains, g_strdup(name));
    FINGERPRINT(b, nftnl_chain_nlmsg_build_payload, chain);
    if (b->batch) {
        g_autofree char *what = g_strdup_printf("chain %s %s", b->table, name);
        cn_nft_batch_chain(b->batch, NFT_MSG_NEWCHAIN, NLM_F_CREATE, chain, what);
    }
    nftnl_chain_free(chain);
}

static struct nftnl_set *set_object(const char *table, int id)
{
    struct nftnl_set *set = nftnl_set_alloc();
    nftnl_set_set_u32(set, NFTNL_SET_FAMILY, cn_nft_sets[id].family);
    nftnl_set_set_str(set, NFTNL_SET_TABLE, table);
    nftnl_set_set_str(set, NFTNL_SET_NAME, cn_nft_sets[id].name);
    nftnl_set_set_u32(set, NFTNL_SET_ID, (uint32_t)id);
    return set;
}

static void add_set(Builder *b, int id)
{
    const CnNftSetSpec *spec = &cn_nft_sets[id];
    struct nftnl_set *set = set_object(b->table, id);
    nftnl_set_set_u32(set, NFTNL_SET_KEY_TYPE, spec->key_type);
    nftnl_set_set_u32(set, NFTNL_SET_KEY_LEN, spec->key_len);
    uint32_t flags = 0;
    if (spec->data_len) {
        flags |= NFT_SET_MAP;
        nftnl_set_set_u32(set, NFTNL_SET_DATA_TYPE, spec->data_type);
        nftnl_set_set_u32(set, NFTNL_SET_DATA_LEN, spec->data_len);
    }
    if (spec->dynamic) {
        /* Filled by the packets themselves (one limiter or counter per
         * port), and emptied by the timeout: nothing to add or remove per
         * guest. */
        flags |= NFT_SET_EVAL | NFT_SET_TIMEOUT;
        nftnl_set_set_u64(set, NFTNL_SET_TIMEOUT, STORM_TIMEOUT_MS);
        nftnl_set_set_u32(set, NFTNL_SET_DESC_SIZE, STORM_SIZE);
    }
    nftnl_set_set_u32(set, NFTNL_SET_FLAGS, flags);
    if (spec->key_type == CN_NFT_TYPE_IFNAME) {
        /* Interface names are strings in host byte order; without this
         * note `nft list` shows them as "". */
        struct nftnl_udata_buf *udata = nftnl_udata_buf_alloc(64);
        nftnl_udata_put_u32(udata, NFTNL_UDATA_SET_KEYBYTEORDER, 1 /* BYTEORDER_HOST_ENDIAN */);
        nftnl_set_set_data(set, NFTNL_SET_USERDATA, nftnl_udata_buf_data(udata), nftnl_udata_buf_len(udata));
        nftnl_udata_buf_free(udata);
    }
    FINGERPRINT(b, nftnl_set_nlmsg_build_payload, set);
    if (b->batch) {
        g_autofree char *what = g_strdup_printf("set %s %s", b->table, spec->name);
        cn_nft_batch_set(b->batch, NFT_MSG_NEWSET, NLM_F_CREATE, set, what);
    }
    nftnl_set_free(set);
}

static void add_rule(Builder *b, struct nftnl_rule *rule, const char *what)
{
    const char *chain = nftnl_rule_get_str(rule, NFTNL_RULE_CHAIN);
    struct nftnl_udata_buf *udata = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);
    nftnl_udata_put_strz(udata, NFTNL_UDATA_RULE_COMMENT, what);
    nftnl_rule_set_data(rule, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(udata), nftnl_udata_buf_len(udata));
    nftnl_udata_buf_free(udata);
    g_ptr_array_add(current_shape(b)->rules, g_strdup_printf("%s: %s", chain, what));
    FINGERPRINT(b, nftnl_rule_nlmsg_build_payload, rule);
    if (b->batch) {
        g_autofree char *description = g_strdup_printf("rule in %s %s: %s", b->table, chain, what);
        cn_nft_batch_rule(b->batch, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, rule, description);
    }
    nftnl_rule_free(rule);
}

/* A drop, counted: the counter runs only for the packets dropped, and
 * isolation show reads it by the rule's comment (one reason each). */
static void add_drop(Builder *b, struct nftnl_rule *rule, const char *what)
{
    cn_nft_counter(rule);
    cn_nft_verdict(rule, NF_DROP);
    add_rule(b, rule, what);
}

/* A drop of a forged frame: counted for the reason here, then chain
 * `spoofed` counts it per port in @spoofers (what carthage-net events
 * watch reports as spoof-dropped) and drops it.  The per-port update is a
 * rule of its own: should it fail (no memory for the element), the drop
 * that follows still happens. */
static void add_spoof_drop(Builder *b, struct nftnl_rule *rule, const char *what)
{
    cn_nft_counter(rule);
    cn_nft_jump(rule, "spoofed");
    add_rule(b, rule, what);
}

static void build_spoofed(Builder *b)
{
    struct nftnl_rule *r = cn_nft_rule_new(NFPROTO_BRIDGE, b->table, "spoofed");
    cn_nft_meta(r, NFT_META_IIFNAME, R0);
    cn_nft_dynset_counter(r, R0, cn_nft_sets[CN_SET_SPOOFERS].name, CN_SET_SPOOFERS);
    add_rule(b, r, "update @spoofers { iifname counter }");
    r = cn_nft_rule_new(NFPROTO_BRIDGE, b->table, "spoofed");
    cn_nft_verdict(r, NF_DROP);
    add_rule(b, r, "drop (forged: counted by the rule that sent it here)");
}

/* The same for a refusal with a TCP reset. */
static void add_reject(Builder *b, struct nftnl_rule *rule, const char *what)
{
    cn_nft_counter(rule);
    cn_nft_reject_tcp_reset(rule);
    add_rule(b, rule, what);
}

static void lookup(struct nftnl_rule *rule, uint32_t sreg, int id, int invert)
{
    cn_nft_lookup(rule, sreg, cn_nft_sets[id].name, (uint32_t)id, invert, 0);
}

/* meta l4proto PROTO */
static void match_l4proto(struct nftnl_rule *r, uint8_t proto)
{
    cn_nft_meta(r, NFT_META_L4PROTO, R0);
    cn_nft_cmp_u8(r, R0, NFT_CMP_EQ, proto);
}

static void match_icmp6_type(struct nftnl_rule *r, uint8_t type)
{
    match_l4proto(r, IPPROTO_ICMPV6);
    cn_nft_payload(r, ICMP_TYPE, R0);
    cn_nft_cmp_u8(r, R0, NFT_CMP_EQ, type);
}

static const uint8_t unspecified[16];

/* One rule per ICMPv6 type, each with VERDICT; FROM_UNSPECIFIED: only
 * from :: (what a host sends before it has an address). */
typedef struct {
    uint8_t type;
    const char *what;
} Icmp6Rule;

static void icmp6_rules(Builder *b, uint32_t family, const char *chain, const Icmp6Rule *rules, gsize n,
                        gboolean from_unspecified, int verdict)
{
    for (gsize i = 0; i < n; i++) {
        struct nftnl_rule *r = cn_nft_rule_new(family, b->table, chain);
        if (from_unspecified) {
            cn_nft_payload(r, IP6_SADDR, R0);
            cn_nft_cmp(r, R0, NFT_CMP_EQ, unspecified, 16);
        }
        match_icmp6_type(r, rules[i].type);
        if (verdict == NF_DROP) {
            add_drop(b, r, rules[i].what);
            continue;
        }
        cn_nft_verdict(r, verdict);
        add_rule(b, r, rules[i].what);
    }
}

/* The bridge table: pinning, the layer-2 guards, guest isolation. */

static void build_pin(Builder *b, const CnIsoNetwork *net)
{
    const uint32_t F = NFPROTO_BRIDGE;
    uint32_t r_mac = cn_nft_next_reg(R0, IFNAME);
    struct nftnl_rule *r;

    add_chain(b, F, "pin", NF_BR_PRE_ROUTING, -300, "filter");
    add_chain(b, F, "spoofed", -1, 0, NULL);
    build_spoofed(b);
    add_chain(b, F, "pin_arp", -1, 0, NULL);
    add_chain(b, F, "pin_ip4", -1, 0, NULL);
    if (net->ipv6 == CN_IPV6_PINNED)
        add_chain(b, F, "pin_ip6", -1, 0, NULL);

    /* Bridge-family chains see every bridge of the host (and the kernel
     * here refuses meta ibrname): only this network's ports are ours. */
    r = cn_nft_rule_new(F, b->table, "pin");
    cn_nft_meta(r, NFT_META_IIFNAME, R0);
    lookup(r, R0, CN_SET_PORTS, 1);
    cn_nft_verdict(r, NF_ACCEPT);
    add_rule(b, r, "iifname != @ports accept");

    r = cn_nft_rule_new(F, b->table, "pin");
    cn_nft_meta(r, NFT_META_IIFNAME, R0);
    cn_nft_payload(r, ETHER_SADDR, r_mac);
    lookup(r, R0, CN_SET_PORT_MAC, 1);
    add_spoof_drop(b, r, "iifname . ether saddr != @port_mac drop");

    /* Marked: it came from an attached port with its own MAC.  The inet
     * table serves only marked packets on metadata networks, so a port
     * nobody attached (a pool TAP between VMs, a NIC hot-plugged by hand)
     * gets nothing from the host. */
    uint32_t keep = ~(uint32_t)CN_NFT_ATTACHED_MARK, set_bit = CN_NFT_ATTACHED_MARK;
    r = cn_nft_rule_new(F, b->table, "pin");
    cn_nft_meta(r, NFT_META_MARK, R0);
    cn_nft_bitwise(r, R0, &keep, &set_bit, 4);
    cn_nft_meta_set(r, NFT_META_MARK, R0);
    add_rule(b, r, "meta mark set meta mark | attached");

    /* One limiter per port, in a set the packets fill: the rule is the
     * same for 1 or 4,000 guests. */
    if (net->broadcast_limit) {
        uint8_t group_bit = 0x01;
        g_autofree char *what = g_strdup_printf("ether daddr & 01:00:00:00:00:00 != 0 add @storm { iifname limit "
                                                "rate over %u/second burst %u packets } drop",
                                                net->broadcast_limit, net->broadcast_limit);
        r = cn_nft_rule_new(F, b->table, "pin");
        cn_nft_payload(r, ETHER_DADDR_FIRST, R0);
        cn_nft_and(r, R0, &group_bit, 1);
        cn_nft_cmp_u8(r, R0, NFT_CMP_EQ, 0x01);
        cn_nft_meta(r, NFT_META_IIFNAME, R0);
        cn_nft_dynset_limit(r, R0, cn_nft_sets[CN_SET_STORM].name, CN_SET_STORM, net->broadcast_limit,
                            net->broadcast_limit);
        add_drop(b, r, what);
    }

    /* An allow-list of ethertypes: 802.1Q and 802.1ad tags (which could
     * carry IPv4 and ARP past the pinning below), LLC frames and anything
     * else fall to the last rule. */
    static const struct {
        uint16_t type;
        const char *chain, *what;
    } dispatch[] = {
        { 0x0806, "pin_arp", "ether type arp jump pin_arp" },
        { 0x0800, "pin_ip4", "ether type ip jump pin_ip4" },
        { 0x86dd, "pin_ip6", "ether type ip6 jump pin_ip6" },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(dispatch); i++) {
        if (dispatch[i].type == 0x86dd && net->ipv6 != CN_IPV6_PINNED)
            continue;
        r = cn_nft_rule_new(F, b->table, "pin");
        cn_nft_payload(r, ETHER_TYPE, R0);
        cn_nft_cmp_be16(r, R0, NFT_CMP_EQ, dispatch[i].type);
        cn_nft_jump(r, dispatch[i].chain);
        add_rule(b, r, dispatch[i].what);
    }
    r = cn_nft_rule_new(F, b->table, "pin");
    cn_nft_payload(r, ETHER_TYPE, R0);
    lookup(r, R0, CN_SET_ETHERTYPES, 0);
    cn_nft_verdict(r, NF_ACCEPT);
    add_rule(b, r, "ether type @ethertypes accept");

    r = cn_nft_rule_new(F, b->table, "pin");
    add_drop(b, r, net->ipv6 == CN_IPV6_PINNED ? "any other ethertype (802.1Q, 802.1ad, LLC, ...): drop"
                                               : "any other ethertype (IPv6, 802.1Q, 802.1ad, LLC, ...): drop");
}

/* The address rules ARP and IPv4 share: a sender address reserved for
 * this MAC passes, one reserved for another drops, a pinned port using
 * any other address drops; others pass (guests carthage-net did not
 * render, with addresses nobody reserved). */
static void build_address_rules(Builder *b, const char *chain, uint32_t base, uint32_t offset, uint32_t len)
{
    struct nftnl_rule *r;
    r = cn_nft_rule_new(NFPROTO_BRIDGE, b->table, chain);
    cn_nft_payload(r, base, offset, len, R0);
    lookup(r, R0, CN_SET_RESERVED_ADDR, 0);
    add_spoof_drop(b, r, "source address reserved for another MAC: drop");

    r = cn_nft_rule_new(NFPROTO_BRIDGE, b->table, chain);
    cn_nft_meta(r, NFT_META_IIFNAME, R0);
    lookup(r, R0, CN_SET_PINNED_IP, 0);
    add_spoof_drop(b, r, "iifname @pinned_ip drop");

    r = cn_nft_rule_new(NFPROTO_BRIDGE, b->table, chain);
    cn_nft_verdict(r, NF_ACCEPT);
    add_rule(b, r, "an address nobody reserved, from a port not pinned: accept");
}

static void build_pin_arp(Builder *b)
{
    const uint32_t F = NFPROTO_BRIDGE;
    uint32_t r_mac = cn_nft_next_reg(R0, IFNAME);
    uint32_t r_ip_mac = cn_nft_next_reg(R0, IPV4);
    struct nftnl_rule *r;

    /* The sender MAC is the port's; a probe from 0.0.0.0 passes. */
    r = cn_nft_rule_new(F, b->table, "pin_arp");
    cn_nft_meta(r, NFT_META_IIFNAME, R0);
    cn_nft_payload(r, ARP_SHA, r_mac);
    lookup(r, R0, CN_SET_PORT_MAC, 1);
    add_spoof_drop(b, r, "iifname . arp saddr ether != @port_mac drop");

    r = cn_nft_rule_new(F, b->table, "pin_arp");
    cn_nft_payload(r, ARP_SPA, R0);
    cn_nft_cmp_ipv4(r, R0, NFT_CMP_EQ, 0);
    cn_nft_verdict(r, NF_ACCEPT);
    add_rule(b, r, "arp saddr ip 0.0.0.0 accept");

    r = cn_nft_rule_new(F, b->table, "pin_arp");
    cn_nft_payload(r, ARP_SPA, R0);
    cn_nft_payload(r, ARP_SHA, r_ip_mac);
    lookup(r, R0, CN_SET_RESERVED, 0);
    cn_nft_verdict(r, NF_ACCEPT);
    add_rule(b, r, "arp saddr ip . arp saddr ether @reserved accept");
    build_address_rules(b, "pin_arp", ARP_SPA);
}

static void build_pin_ip4(Builder *b)
{
    const uint32_t F = NFPROTO_BRIDGE;
    uint32_t r_ip_mac = cn_nft_next_reg(R0, IPV4);
    struct nftnl_rule *r;

    /* DHCP guard: a guest is never a DHCP server (or relay) to its
     * neighbours; the network's own dnsmasq answers from the host. */
    r = cn_nft_rule_new(F, b->table, "pin_ip4");
    match_l4proto(r, IPPROTO_UDP);
    cn_nft_payload(r, TH_SPORT, R0);
    cn_nft_cmp_be16(r, R0, NFT_CMP_EQ, 67);
    add_drop(b, r, "udp sport 67 drop (DHCP server messages)");

    r = cn_nft_rule_new(F, b->table, "pin_ip4");
    cn_nft_payload(r, IP_SADDR, R0);
    cn_nft_cmp_ipv4(r, R0, NFT_CMP_EQ, 0);
    cn_nft_payload(r, IP_PROTO_FIELD, R0);
    cn_nft_cmp_u8(r, R0, NFT_CMP_EQ, IPPROTO_UDP);
    cn_nft_payload(r, TH_DPORT, R0);
    cn_nft_cmp_be16(r, R0, NFT_CMP_EQ, 67);
    cn_nft_verdict(r, NF_ACCEPT);
    add_rule(b, r, "ip saddr 0.0.0.0 udp dport 67 accept");

    r = cn_nft_rule_new(F, b->table, "pin_ip4");
    cn_nft_payload(r, IP_SADDR, R0);
    cn_nft_payload(r, ETHER_SADDR, r_ip_mac);
    lookup(r, R0, CN_SET_RESERVED, 0);
    cn_nft_verdict(r, NF_ACCEPT);
    add_rule(b, r, "ip saddr . ether saddr @reserved accept");
    build_address_rules(b, "pin_ip4", IP_SADDR);
}

/* IPv6, pinned: every port to its own addresses (link-local and SLAAC
 * from its MAC, its static one), with no router or DHCPv6 server messages
 * and neighbour advertisements for its own addresses only. */
static void build_pin_ip6(Builder *b)
{
    const uint32_t F = NFPROTO_BRIDGE;
    uint32_t r_addr = cn_nft_next_reg(R0, IFNAME);
    struct nftnl_rule *r;

    r = cn_nft_rule_new(F, b->table, "pin_ip6");
    match_l4proto(r, IPPROTO_UDP);
    cn_nft_payload(r, TH_SPORT, R0);
    cn_nft_cmp_be16(r, R0, NFT_CMP_EQ, 547);
    add_drop(b, r, "udp sport 547 drop (DHCPv6 server and relay messages)");

    static const Icmp6Rule router_only[] = {
        { ICMP6_RA, "icmpv6 type nd-router-advert drop" },
        { ICMP6_REDIRECT, "icmpv6 type nd-redirect drop" },
        { ICMP6_ROUTER_RENUMBERING, "icmpv6 type router-renumbering drop" },
    };
    icmp6_rules(b, F, "pin_ip6", router_only, G_N_ELEMENTS(router_only), FALSE, NF_DROP);

    /* From ::, only what a host sends before it has an address: duplicate
     * address detection for one of its own addresses (so no guest can
     * make another's address look taken), router solicitations, MLD
     * reports. */
    r = cn_nft_rule_new(F, b->table, "pin_ip6");
    cn_nft_payload(r, IP6_SADDR, R0);
    cn_nft_cmp(r, R0, NFT_CMP_EQ, unspecified, 16);
    match_icmp6_type(r, ICMP6_NS);
    cn_nft_meta(r, NFT_META_IIFNAME, R0);
    cn_nft_payload(r, ND_TARGET, r_addr);
    lookup(r, R0, CN_SET_PORT_IP6, 0);
    cn_nft_verdict(r, NF_ACCEPT);
    add_rule(b, r, "ip6 saddr :: icmpv6 type nd-neighbor-solicit iifname . nd target @port_ip6 accept (DAD)");
    static const Icmp6Rule before_address[] = {
        { ICMP6_RS, "ip6 saddr :: icmpv6 type nd-router-solicit accept" },
        { ICMP6_MLD2_REPORT, "ip6 saddr :: icmpv6 type mld2-listener-report accept" },
        { ICMP6_MLD_REPORT, "ip6 saddr :: icmpv6 type mld-listener-report accept" },
    };
    icmp6_rules(b, F, "pin_ip6", before_address, G_N_ELEMENTS(before_address), TRUE, NF_ACCEPT);
    r = cn_nft_rule_new(F, b->table, "pin_ip6");
    cn_nft_payload(r, IP6_SADDR, R0);
    cn_nft_cmp(r, R0, NFT_CMP_EQ, unspecified, 16);
    add_drop(b, r, "ip6 saddr :: drop");

    r = cn_nft_rule_new(F, b->table, "pin_ip6");
    match_icmp6_type(r, ICMP6_NA);
    cn_nft_meta(r, NFT_META_IIFNAME, R0);
    cn_nft_payload(r, ND_TARGET, r_addr);
    lookup(r, R0, CN_SET_PORT_IP6, 1);
    add_spoof_drop(b, r, "icmpv6 type nd-neighbor-advert iifname . nd target != @port_ip6 drop");

    r = cn_nft_rule_new(F, b->table, "pin_ip6");
    cn_nft_meta(r, NFT_META_IIFNAME, R0);
    cn_nft_payload(r, IP6_SADDR, r_addr);
    lookup(r, R0, CN_SET_PORT_IP6, 0);
    cn_nft_verdict(r, NF_ACCEPT);
    add_rule(b, r, "iifname . ip6 saddr @port_ip6 accept");

    r = cn_nft_rule_new(F, b->table, "pin_ip6");
    add_spoof_drop(b, r, "any other source address: drop");
}

static void build_bridge(Builder *b, const CnIsoNetwork *net)
{
    add_table(b, NFPROTO_BRIDGE, TRUE);
    for (int id = CN_SET_PORTS; id <= CN_SET_LAST_BRIDGE; id++)
        add_set(b, id);
    build_pin(b, net);
    build_pin_arp(b);
    build_pin_ip4(b);
    if (net->ipv6 == CN_IPV6_PINNED)
        build_pin_ip6(b);

    if (net->isolate_guests) {
        add_chain(b, NFPROTO_BRIDGE, "isolate", NF_BR_FORWARD, -200, "filter");
        struct nftnl_rule *r = cn_nft_rule_new(NFPROTO_BRIDGE, b->table, "isolate");
        cn_nft_meta(r, NFT_META_IIFNAME, R0);
        lookup(r, R0, CN_SET_PORTS, 0);
        cn_nft_meta(r, NFT_META_OIFNAME, R0);
        lookup(r, R0, CN_SET_PORTS, 0);
        add_drop(b, r, "iifname @ports oifname @ports drop");
    }
}

/* The inet table: metadata, host protection, 1:1 NAT. */

/* meta mark & attached == 0 (EQUAL FALSE) or != 0 (TRUE) */
static void match_attached(struct nftnl_rule *r, gboolean attached)
{
    uint32_t bit = CN_NFT_ATTACHED_MARK, zero = 0;
    cn_nft_meta(r, NFT_META_MARK, R0);
    cn_nft_and(r, R0, &bit, 4);
    cn_nft_cmp(r, R0, attached ? NFT_CMP_NEQ : NFT_CMP_EQ, &zero, 4);
}

/* Matches IPv4 packets from the bridge to METADATA_ADDRESS:PORT/tcp. */
static void match_metadata(struct nftnl_rule *r, const CnIsoNetwork *net)
{
    cn_nft_meta(r, NFT_META_IIFNAME, R0);
    cn_nft_cmp_ifname(r, R0, NFT_CMP_EQ, net->bridge);
    cn_nft_meta(r, NFT_META_NFPROTO, R0);
    cn_nft_cmp_u8(r, R0, NFT_CMP_EQ, NFPROTO_IPV4);
    cn_nft_payload(r, IP_DADDR, R0);
    cn_nft_cmp_ipv4(r, R0, NFT_CMP_EQ, net->metadata_address);
    cn_nft_meta(r, NFT_META_L4PROTO, R0);
    cn_nft_cmp_u8(r, R0, NFT_CMP_EQ, IPPROTO_TCP);
    cn_nft_payload(r, TH_DPORT, R0);
    cn_nft_cmp_be16(r, R0, NFT_CMP_EQ, net->metadata_port);
}

static void match_from_bridge(struct nftnl_rule *r, const CnIsoNetwork *net, uint32_t op)
{
    cn_nft_meta(r, NFT_META_IIFNAME, R0);
    cn_nft_cmp_ifname(r, R0, op, net->bridge);
}

static void build_metadata(Builder *b, const CnIsoNetwork *net)
{
    const uint32_t F = NFPROTO_INET;
    uint32_t r_port = cn_nft_next_reg(R0, IPV4);
    struct nftnl_rule *r;

    r = cn_nft_rule_new(F, b->table, "dnat");
    match_metadata(r, net);
    match_attached(r, TRUE);
    cn_nft_payload(r, ETHER_SADDR, R0);
    cn_nft_lookup(r, R0, cn_nft_sets[CN_SET_HANDLERS].name, CN_SET_HANDLERS, 0, NFT_REG_1);
    cn_nft_nat(r, NFT_NAT_DNAT, NFT_REG_1, r_port);
    add_rule(b, r, "metadata: dnat ip to ether saddr map @handlers");

    if (net->default_handler.set) {
        uint32_t address = htonl(net->default_handler.host);
        uint16_t port = htons(net->default_handler.port);
        char endpoint[CN_ENDPOINT_STR_MAX];
        cn_endpoint_format(net->default_handler, endpoint);
        g_autofree char *what = g_strdup_printf("metadata: dnat to the network's handler %s", endpoint);
        r = cn_nft_rule_new(F, b->table, "dnat");
        match_metadata(r, net);
        match_attached(r, TRUE);
        cn_nft_immediate(r, R0, &address, 4);
        cn_nft_immediate(r, r_port, &port, 2);
        cn_nft_nat(r, NFT_NAT_DNAT, R0, r_port);
        add_rule(b, r, what);
    }

    /* From a port nobody attached: nothing goes through the host. */
    r = cn_nft_rule_new(F, b->table, "forward");
    match_from_bridge(r, net, NFT_CMP_EQ);
    match_attached(r, FALSE);
    add_drop(b, r, "from an unattached port: drop");

    /* Not DNATed (no handler): a fast reset, never routed onwards. */
    r = cn_nft_rule_new(F, b->table, "forward");
    match_metadata(r, net);
    add_reject(b, r, "metadata without a handler: reject with tcp reset");
    r = cn_nft_rule_new(F, b->table, "forward");
    match_from_bridge(r, net, NFT_CMP_EQ);
    cn_nft_meta(r, NFT_META_NFPROTO, R0);
    cn_nft_cmp_u8(r, R0, NFT_CMP_EQ, NFPROTO_IPV4);
    cn_nft_payload(r, IP_DADDR, R0);
    cn_nft_cmp_ipv4(r, R0, NFT_CMP_EQ, net->metadata_address);
    add_drop(b, r, "anything else to the metadata address: drop");

    /* The host: DHCP, DNS, ping, and handlers only through the DNAT. */
    add_chain(b, F, "host", NF_INET_LOCAL_IN, 0, "filter");

    uint32_t state_mask = NF_CT_STATE_BIT(IP_CT_ESTABLISHED) | NF_CT_STATE_BIT(IP_CT_RELATED);
    uint32_t zero = 0;
    r = cn_nft_rule_new(F, b->table, "host");
    cn_nft_ct(r, NFT_CT_STATE, -1, R0);
    cn_nft_and(r, R0, &state_mask, 4);
    cn_nft_cmp(r, R0, NFT_CMP_NEQ, &zero, 4);
    cn_nft_verdict(r, NF_ACCEPT);
    add_rule(b, r, "ct state established,related accept");

    r = cn_nft_rule_new(F, b->table, "host");
    match_from_bridge(r, net, NFT_CMP_EQ);
    match_attached(r, FALSE);
    add_drop(b, r, "from an unattached port: drop");

    uint32_t dnat_bit = IPS_DST_NAT;
    r = cn_nft_rule_new(F, b->table, "host");
    cn_nft_ct(r, NFT_CT_STATUS, -1, R0);
    cn_nft_and(r, R0, &dnat_bit, 4);
    cn_nft_cmp(r, R0, NFT_CMP_NEQ, &zero, 4);
    cn_nft_ct(r, NFT_CT_DST_IP, IP_CT_DIR_ORIGINAL, R0);
    cn_nft_cmp_ipv4(r, R0, NFT_CMP_EQ, net->metadata_address);
    cn_nft_ct(r, NFT_CT_PROTO_DST, IP_CT_DIR_ORIGINAL, R0);
    cn_nft_cmp_be16(r, R0, NFT_CMP_EQ, net->metadata_port);
    cn_nft_verdict(r, NF_ACCEPT);
    add_rule(b, r, "ct status dnat ct original ip daddr . proto-dst = metadata: accept");

    /* Handlers are reached only through that DNAT: not from guests of
     * other networks, not from elsewhere; only from the host itself. */
    r = cn_nft_rule_new(F, b->table, "host");
    cn_nft_meta(r, NFT_META_IIFNAME, R0);
    cn_nft_cmp_ifname(r, R0, NFT_CMP_NEQ, "lo");
    cn_nft_meta(r, NFT_META_NFPROTO, R0);
    cn_nft_cmp_u8(r, R0, NFT_CMP_EQ, NFPROTO_IPV4);
    cn_nft_meta(r, NFT_META_L4PROTO, R0);
    cn_nft_cmp_u8(r, R0, NFT_CMP_EQ, IPPROTO_TCP);
    cn_nft_payload(r, IP_DADDR, R0);
    cn_nft_payload(r, TH_DPORT, r_port);
    lookup(r, R0, CN_SET_HANDLER_ENDPOINTS, 0);
    add_reject(b, r, "ip daddr . tcp dport @handler_endpoints reject with tcp reset");

    r = cn_nft_rule_new(F, b->table, "host");
    match_from_bridge(r, net, NFT_CMP_NEQ);
    cn_nft_verdict(r, NF_ACCEPT);
    add_rule(b, r, "not from this network: accept");

    const struct {
        uint8_t proto;
        uint16_t port;
        const char *what;
    } services[] = {
        { IPPROTO_UDP, 67, "udp dport 67 accept (DHCP)" },
        { IPPROTO_UDP, 53, "udp dport 53 accept (DNS)" },
        { IPPROTO_TCP, 53, "tcp dport 53 accept (DNS)" },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(services); i++) {
        r = cn_nft_rule_new(F, b->table, "host");
        cn_nft_meta(r, NFT_META_L4PROTO, R0);
        cn_nft_cmp_u8(r, R0, NFT_CMP_EQ, services[i].proto);
        cn_nft_payload(r, TH_DPORT, R0);
        cn_nft_cmp_be16(r, R0, NFT_CMP_EQ, services[i].port);
        cn_nft_verdict(r, NF_ACCEPT);
        add_rule(b, r, services[i].what);
    }

    r = cn_nft_rule_new(F, b->table, "host");
    cn_nft_meta(r, NFT_META_NFPROTO, R0);
    cn_nft_cmp_u8(r, R0, NFT_CMP_EQ, NFPROTO_IPV4);
    cn_nft_meta(r, NFT_META_L4PROTO, R0);
    cn_nft_cmp_u8(r, R0, NFT_CMP_EQ, IPPROTO_ICMP);
    cn_nft_payload(r, ICMP_TYPE, R0);
    cn_nft_cmp_u8(r, R0, NFT_CMP_EQ, 8);
    cn_nft_verdict(r, NF_ACCEPT);
    add_rule(b, r, "icmp type echo-request accept");

    if (net->ipv6 == CN_IPV6_PINNED) {
        /* What IPv6 needs of the host: neighbour discovery, router
         * solicitations, echo. */
        static const Icmp6Rule icmp6[] = {
            { ICMP6_NS, "icmpv6 type nd-neighbor-solicit accept" },
            { ICMP6_NA, "icmpv6 type nd-neighbor-advert accept" },
            { ICMP6_RS, "icmpv6 type nd-router-solicit accept" },
            { 128, "icmpv6 type echo-request accept" },
        };
        icmp6_rules(b, F, "host", icmp6, G_N_ELEMENTS(icmp6), FALSE, NF_ACCEPT);
    }

    r = cn_nft_rule_new(F, b->table, "host");
    cn_nft_meta(r, NFT_META_L4PROTO, R0);
    cn_nft_cmp_u8(r, R0, NFT_CMP_EQ, IPPROTO_TCP);
    add_reject(b, r, "other tcp: reject with tcp reset");

    r = cn_nft_rule_new(F, b->table, "host");
    add_drop(b, r, "everything else from guests: drop");
}

/* Guests that route through the host to each other (a /32 route via the
 * gateway) would get around the bridge's isolation. */
static void build_routed_isolation(Builder *b, const CnIsoNetwork *net)
{
    struct nftnl_rule *r = cn_nft_rule_new(NFPROTO_INET, b->table, "forward");
    match_from_bridge(r, net, NFT_CMP_EQ);
    cn_nft_meta(r, NFT_META_OIFNAME, R0);
    cn_nft_cmp_ifname(r, R0, NFT_CMP_EQ, net->bridge);
    add_drop(b, r, "iifname BRIDGE oifname BRIDGE drop (isolate_guests)");
}

static void build_nat(Builder *b, const CnIsoNetwork *net)
{
    const uint32_t F = NFPROTO_INET;
    struct nftnl_rule *r;

    r = cn_nft_rule_new(F, b->table, "dnat");
    match_from_bridge(r, net, NFT_CMP_NEQ);
    cn_nft_meta(r, NFT_META_NFPROTO, R0);
    cn_nft_cmp_u8(r, R0, NFT_CMP_EQ, NFPROTO_IPV4);
    cn_nft_payload(r, IP_DADDR, R0);
    cn_nft_lookup(r, R0, cn_nft_sets[CN_SET_PUB2PRIV].name, CN_SET_PUB2PRIV, 0, NFT_REG_1);
    cn_nft_nat(r, NFT_NAT_DNAT, NFT_REG_1, 0);
    add_rule(b, r, "1:1 NAT in: dnat ip to ip daddr map @pub2priv");

    add_chain(b, F, "snat", NF_INET_POST_ROUTING, 100, "nat");
    r = cn_nft_rule_new(F, b->table, "snat");
    cn_nft_meta(r, NFT_META_OIFNAME, R0);
    cn_nft_cmp_ifname(r, R0, NFT_CMP_NEQ, net->bridge);
    cn_nft_meta(r, NFT_META_NFPROTO, R0);
    cn_nft_cmp_u8(r, R0, NFT_CMP_EQ, NFPROTO_IPV4);
    cn_nft_payload(r, IP_SADDR, R0);
    cn_nft_lookup(r, R0, cn_nft_sets[CN_SET_PRIV2PUB].name, CN_SET_PRIV2PUB, 0, NFT_REG_1);
    cn_nft_nat(r, NFT_NAT_SNAT, NFT_REG_1, 0);
    add_rule(b, r, "1:1 NAT out: snat ip to ip saddr map @priv2pub");
}

static gboolean needs_inet(const CnIsoNetwork *net)
{
    return net->metadata || net->nat->len > 0 || net->isolate_guests;
}

static void build_inet(Builder *b, const CnIsoNetwork *net)
{
    if (!needs_inet(net)) {
        add_table(b, NFPROTO_INET, FALSE); /* a stale one goes */
        return;
    }
    add_table(b, NFPROTO_INET, TRUE);
    for (int id = CN_SET_LAST_BRIDGE + 1; id <= CN_SET_LAST; id++)
        add_set(b, id);
    add_chain(b, NFPROTO_INET, "dnat", NF_INET_PRE_ROUTING, -100, "nat");
    add_chain(b, NFPROTO_INET, "forward", NF_INET_FORWARD, 0, "filter");
    if (net->isolate_guests)
        build_routed_isolation(b, net);
    if (net->metadata)
        build_metadata(b, net);
    if (net->nat->len > 0)
        build_nat(b, net);
}

static void shape_init(CnNftShape *shape)
{
    memset(shape, 0, sizeof *shape);
    for (int i = 0; i < 2; i++) {
        shape->tables[i].chains = g_ptr_array_new_with_free_func(g_free);
        shape->tables[i].rules = g_ptr_array_new_with_free_func(g_free);
    }
}

void cn_nft_shape_clear(CnNftShape *shape)
{
    for (int i = 0; i < 2; i++) {
        g_free(shape->tables[i].comment);
        g_clear_pointer(&shape->tables[i].chains, g_ptr_array_unref);
        g_clear_pointer(&shape->tables[i].rules, g_ptr_array_unref);
    }
}

/* Builds NET's tables into BATCH (NULL: the shape only, with its
 * fingerprints, for status and for the comments of a real batch). */
static void build(CnNftBatch *batch, const char *table, const CnIsoNetwork *net, CnNftShape *shape)
{
    Builder b = { batch, table, shape, 0, { g_checksum_new(G_CHECKSUM_SHA256), g_checksum_new(G_CHECKSUM_SHA256) } };
    build_bridge(&b, net);
    build_inet(&b, net);
    shape->has_inet = needs_inet(net);
    for (int i = 0; i < 2; i++) {
        if (!shape->tables[i].comment)
            shape->tables[i].comment = g_strdup_printf("carthage-net network %s rules %.16s", net->name,
                                                       g_checksum_get_string(b.sums[i]));
        g_checksum_free(b.sums[i]);
    }
}

void cn_nft_shape_build(const CnIsoNetwork *net, CnNftShape *shape)
{
    g_autofree char *table = cn_nft_table_name(net->name);
    shape_init(shape);
    build(NULL, table, net, shape);
}

/* Elements */

void cn_nft_elements_add(CnNftElements *elements, int set, const void *key, uint32_t key_len, const void *data,
                         uint32_t data_len)
{
    if (!elements->sets[set])
        elements->sets[set] = g_array_new(FALSE, TRUE, sizeof(CnNftElement));
    CnNftElement element = { { 0 }, MIN(key_len, sizeof element.key), { 0 }, MIN(data_len, sizeof element.data) };
    memcpy(element.key, key, element.key_len);
    if (data)
        memcpy(element.data, data, element.data_len);
    g_array_append_val(elements->sets[set], element);
}

void cn_nft_elements_clear(CnNftElements *elements)
{
    for (int id = 0; id <= CN_SET_LAST; id++)
        g_clear_pointer(&elements->sets[id], g_array_unref);
}

/* cn_nft_elements_to_batch; CLAIM: the ports set's elements are created
 * (NLM_F_EXCL), so that the kernel refuses the batch with EEXIST when one
 * of the ports is in the set already. */
static void elements_into_batch(const CnNftElements *elements, const char *table, uint16_t command, gboolean claim,
                                CnNftBatch *batch)
{
    for (int id = CN_SET_PORTS; id <= CN_SET_LAST; id++) {
        GArray *list = elements->sets[id];
        if (!list || list->len == 0)
            continue;
        struct nftnl_set *set = set_object(table, id);
        for (guint i = 0; i < list->len; i++) {
            const CnNftElement *element = &g_array_index(list, CnNftElement, i);
            struct nftnl_set_elem *elem = nftnl_set_elem_alloc();
            nftnl_set_elem_set(elem, NFTNL_SET_ELEM_KEY, element->key, element->key_len);
            if (cn_nft_sets[id].data_len && element->data_len)
                nftnl_set_elem_set(elem, NFTNL_SET_ELEM_DATA, element->data, element->data_len);
            nftnl_set_elem_add(set, elem);
        }
        g_autofree char *what = g_strdup_printf("%u element(s) of set %s %s", list->len, table, cn_nft_sets[id].name);
        uint16_t flags = command == NFT_MSG_NEWSETELEM ? NLM_F_CREATE : 0;
        if (claim && id == CN_SET_PORTS && command == NFT_MSG_NEWSETELEM)
            flags |= NLM_F_EXCL;
        cn_nft_batch_elements(batch, command, flags, set, what);
        nftnl_set_free(set);
    }
}

void cn_nft_elements_to_batch(const CnNftElements *elements, const char *table, uint16_t command, CnNftBatch *batch)
{
    elements_into_batch(elements, table, command, FALSE, batch);
}

static void put_ifname(uint8_t *out, const char *name)
{
    memset(out, 0, IFNAME);
    memcpy(out, name, MIN(strlen(name), IFNAME - 1));
}

static void put_ipv4(uint8_t *out, uint32_t address)
{
    uint32_t be = htonl(address);
    memcpy(out, &be, 4);
}

static void reservation_elements(CnNftElements *e, uint32_t address, const uint8_t mac[6])
{
    uint8_t key[IPV4 + ETHER] = { 0 };
    put_ipv4(key, address);
    memcpy(key + IPV4, mac, 6);
    cn_nft_elements_add(e, CN_SET_RESERVED, key, sizeof key, NULL, 0);
    cn_nft_elements_add(e, CN_SET_RESERVED_ADDR, key, IPV4, NULL, 0);
}

static void endpoint_bytes(uint8_t out[IPV4 + PORT], CnEndpoint endpoint)
{
    uint16_t port = htons(endpoint.port);
    memset(out, 0, IPV4 + PORT);
    put_ipv4(out, endpoint.host);
    memcpy(out + IPV4, &port, 2);
}

static void handler_element(CnNftElements *e, const uint8_t mac[6], CnEndpoint handler)
{
    uint8_t data[IPV4 + PORT];
    endpoint_bytes(data, handler);
    cn_nft_elements_add(e, CN_SET_HANDLERS, mac, 6, data, sizeof data);
    cn_nft_elements_add(e, CN_SET_HANDLER_ENDPOINTS, data, sizeof data, NULL, 0);
}

void cn_nft_port_elements(CnNftElements *e, const CnIsoGuest *guest, gboolean for_removal)
{
    uint8_t port[IFNAME];
    uint8_t port_mac[IFNAME + ETHER] = { 0 };
    put_ifname(port, guest->tap);
    memcpy(port_mac, port, sizeof port);
    memcpy(port_mac + IFNAME, guest->mac, 6);
    cn_nft_elements_add(e, CN_SET_PORTS, port, sizeof port, NULL, 0);
    cn_nft_elements_add(e, CN_SET_PORT_MAC, port_mac, sizeof port_mac, NULL, 0);
    /* Removal takes the pinned flag whatever the guest says: the next
     * user of the port may be another guest. */
    if (guest->rendered || for_removal)
        cn_nft_elements_add(e, CN_SET_PINNED_IP, port, sizeof port, NULL, 0);
    for (guint i = 0; i < guest->addresses6->len; i++) {
        uint8_t key[IFNAME + IPV6];
        memcpy(key, port, IFNAME);
        memcpy(key + IFNAME, g_array_index(guest->addresses6, CnV6Address, i).bytes, IPV6);
        cn_nft_elements_add(e, CN_SET_PORT_IP6, key, sizeof key, NULL, 0);
    }
}

void cn_nft_guest_network_elements(CnNftElements *e, const CnIsoNetwork *net, const CnIsoGuest *guest)
{
    for (guint i = 0; i < guest->addresses->len; i++)
        reservation_elements(e, g_array_index(guest->addresses, uint32_t, i), guest->mac);
    /* Only a handler of the guest's own: the network's is where guests
     * without an element go anyway, and an element for it would outlive
     * the guest (removal leaves handlers, network-wide facts, alone). */
    if (net->metadata && guest->handler.set && !cn_endpoint_equal(guest->handler, net->default_handler))
        handler_element(e, guest->mac, guest->handler);
}

void cn_nft_network_elements(CnNftElements *e, const CnIsoNetwork *net)
{
    for (guint i = 0; i < net->reservations->len; i++) {
        const CnIsoReservation *reservation = &g_array_index(net->reservations, CnIsoReservation, i);
        reservation_elements(e, reservation->address, reservation->mac);
    }
    /* Addresses of machines removed while the network runs: reserved for
     * nobody, so that no port may use them. */
    for (guint i = 0; i < net->retired->len; i++) {
        uint8_t key[IPV4];
        put_ipv4(key, g_array_index(net->retired, uint32_t, i));
        cn_nft_elements_add(e, CN_SET_RESERVED_ADDR, key, IPV4, NULL, 0);
    }
    for (guint i = 0; i < net->ethertypes->len; i++) {
        uint16_t type = htons(g_array_index(net->ethertypes, uint16_t, i));
        cn_nft_elements_add(e, CN_SET_ETHERTYPES, &type, 2, NULL, 0);
    }
    if (net->metadata && net->default_handler.set) {
        uint8_t endpoint[IPV4 + PORT];
        endpoint_bytes(endpoint, net->default_handler);
        cn_nft_elements_add(e, CN_SET_HANDLER_ENDPOINTS, endpoint, sizeof endpoint, NULL, 0);
    }
    if (net->metadata) {
        for (guint i = 0; i < net->handlers->len; i++) {
            const CnIsoHandler *handler = &g_array_index(net->handlers, CnIsoHandler, i);
            handler_element(e, handler->mac, handler->handler);
        }
    }
    for (guint i = 0; i < net->nat->len; i++) {
        const CnIsoNat *pair = &g_array_index(net->nat, CnIsoNat, i);
        uint8_t private_address[4], public_address[4];
        put_ipv4(private_address, pair->private_address);
        put_ipv4(public_address, pair->public_address);
        cn_nft_elements_add(e, CN_SET_PUB2PRIV, public_address, 4, private_address, 4);
        cn_nft_elements_add(e, CN_SET_PRIV2PUB, private_address, 4, public_address, 4);
    }
}

/* Applying */

static CnNftBatch *apply_batch(const CnIsoNetwork *net, GPtrArray *guests)
{
    CnNftBatch *batch = cn_nft_batch_new();
    g_autofree char *table = cn_nft_table_name(net->name);
    CnNftShape shape, built;
    cn_nft_shape_build(net, &shape);
    /* The second pass writes the fingerprints the first computed. */
    shape_init(&built);
    for (int i = 0; i < 2; i++)
        built.tables[i].comment = g_strdup(shape.tables[i].comment);
    build(batch, table, net, &built);
    cn_nft_shape_clear(&shape);
    cn_nft_shape_clear(&built);

    CnNftElements e = { { 0 } };
    cn_nft_network_elements(&e, net);
    for (guint i = 0; guests && i < guests->len; i++) {
        cn_nft_port_elements(&e, guests->pdata[i], FALSE);
        cn_nft_guest_network_elements(&e, net, guests->pdata[i]);
    }
    if (!needs_inet(net)) {
        for (int id = CN_SET_LAST_BRIDGE + 1; id <= CN_SET_LAST; id++)
            g_clear_pointer(&e.sets[id], g_array_unref);
    }
    cn_nft_elements_to_batch(&e, table, NFT_MSG_NEWSETELEM, batch);
    cn_nft_elements_clear(&e);
    return batch;
}

gboolean cn_nft_network_apply(const CnIsoNetwork *net, GPtrArray *guests, GError **error)
{
    g_autoptr(CnNftBatch) batch = apply_batch(net, guests);
    return cn_nft_batch_commit(batch, error);
}

char *cn_nft_network_apply_dump(const CnIsoNetwork *net, GPtrArray *guests)
{
    g_autoptr(CnNftBatch) batch = apply_batch(net, guests);
    return cn_nft_batch_dump(batch);
}

gboolean cn_nft_network_remove(const char *network, GError **error)
{
    g_autoptr(CnNftBatch) batch = cn_nft_batch_new();
    g_autofree char *table = cn_nft_table_name(network);
    CnNftShape shape;
    shape_init(&shape);
    Builder b = { batch, table, &shape, 0, { NULL, NULL } };
    add_table(&b, NFPROTO_BRIDGE, FALSE);
    add_table(&b, NFPROTO_INET, FALSE);
    cn_nft_shape_clear(&shape);
    return cn_nft_batch_commit(batch, error);
}

/* GUEST's elements on NET into E: its port's, and (adding) what it needs
 * of NET.  Removing, the port's own only: reservations and handlers
 * outlive the guest ("an address reserved for a machine can be used by no
 * other port, whether that machine is running or not"). */
static void guest_elements(CnNftElements *e, const CnIsoNetwork *net, const CnIsoGuest *guest, gboolean remove)
{
    cn_nft_port_elements(e, guest, remove);
    if (!remove)
        cn_nft_guest_network_elements(e, net, guest);
}

/* E into BATCH for NETWORK's tables: added, and when REMOVE deleted after
 * (added first, so that deleting never fails on an element already
 * gone).  CLAIM: the ports are created, not added (elements_into_batch). */
static void elements_to_batch(CnNftBatch *batch, const char *network, const CnNftElements *e, gboolean remove,
                              gboolean claim)
{
    g_autofree char *table = cn_nft_table_name(network);
    elements_into_batch(e, table, NFT_MSG_NEWSETELEM, claim && !remove, batch);
    if (remove)
        cn_nft_elements_to_batch(e, table, NFT_MSG_DELSETELEM, batch);
}

/* GUEST's elements on NET into BATCH (REMOVE: its port's go).
 * REPLACE_HANDLER: its handler's map element is deleted first, so that a
 * changed value can be added. */
static void append_guest(CnNftBatch *batch, const CnIsoNetwork *net, const CnIsoGuest *guest, gboolean remove,
                         gboolean replace_handler)
{
    if (replace_handler) {
        /* A map element's value changes by delete and add in one batch. */
        g_autofree char *table = cn_nft_table_name(net->name);
        CnNftElements old = { { 0 } };
        uint8_t data[IPV4 + PORT] = { 0 };
        cn_nft_elements_add(&old, CN_SET_HANDLERS, guest->mac, 6, data, sizeof data);
        g_array_index(old.sets[CN_SET_HANDLERS], CnNftElement, 0).data_len = 0;
        cn_nft_elements_to_batch(&old, table, NFT_MSG_DELSETELEM, batch);
        cn_nft_elements_clear(&old);
    }
    CnNftElements e = { { 0 } };
    guest_elements(&e, net, guest, remove);
    elements_to_batch(batch, net->name, &e, remove, FALSE);
    cn_nft_elements_clear(&e);
}

static CnNftBatch *guest_batch(const CnIsoNetwork *net, const CnIsoGuest *guest, gboolean remove,
                               gboolean replace_handler)
{
    CnNftBatch *batch = cn_nft_batch_new();
    append_guest(batch, net, guest, remove, replace_handler);
    return batch;
}

/* GUESTS (on NETS, index by index) into BATCH as append_guest does each,
 * the guests of one network together: a message per set, however many
 * guests (a domain's four ports are 6 messages, not 4 x 6).  CLAIM (when
 * adding): the ports are created (elements_into_batch). */
static void append_guests(CnNftBatch *batch, GPtrArray *nets, GPtrArray *guests, gboolean remove, gboolean claim)
{
    g_autofree gboolean *done = g_new0(gboolean, guests->len);
    for (guint i = 0; i < guests->len; i++) {
        if (done[i])
            continue;
        const CnIsoNetwork *net = nets->pdata[i];
        CnNftElements e = { { 0 } };
        /* A port named twice goes in once: deleting its elements twice in
         * one batch would have the kernel refuse the batch (ENOENT). */
        g_autoptr(GHashTable) taps = g_hash_table_new(g_str_hash, g_str_equal);
        for (guint j = i; j < guests->len; j++) {
            const CnIsoNetwork *other = nets->pdata[j];
            CnIsoGuest *guest = guests->pdata[j];
            if (done[j] || strcmp(other->name, net->name) != 0)
                continue;
            done[j] = TRUE;
            if (g_hash_table_add(taps, guest->tap))
                guest_elements(&e, other, guest, remove);
        }
        elements_to_batch(batch, net->name, &e, remove, claim);
        cn_nft_elements_clear(&e);
    }
}

/* One batch: OLD_GUESTS (on OLD_NETS; may be NULL) removed, then GUESTS
 * (on NETS) added, or removed when REMOVE; CLAIM: added with the ports
 * created (elements_into_batch). */
static CnNftBatch *guests_batch(GPtrArray *old_nets, GPtrArray *old_guests, GPtrArray *nets, GPtrArray *guests,
                                gboolean remove, gboolean claim)
{
    CnNftBatch *batch = cn_nft_batch_new();
    if (old_guests && old_guests->len > 0)
        append_guests(batch, old_nets, old_guests, TRUE, FALSE);
    append_guests(batch, nets, guests, remove, claim);
    return batch;
}

char *cn_nft_guests_dump(GPtrArray *nets, GPtrArray *guests, gboolean remove)
{
    g_autoptr(CnNftBatch) batch = guests_batch(NULL, NULL, nets, guests, remove, FALSE);
    return cn_nft_batch_dump(batch);
}

gboolean cn_nft_guests_add(GPtrArray *nets, GPtrArray *guests, GError **error)
{
    g_autoptr(CnNftBatch) batch = guests_batch(NULL, NULL, nets, guests, FALSE, FALSE);
    return cn_nft_batch_commit(batch, error);
}

gboolean cn_nft_guests_replace(GPtrArray *old_nets, GPtrArray *old_guests, GPtrArray *nets, GPtrArray *guests,
                               gboolean claim, GError **error)
{
    g_autoptr(CnNftBatch) batch = guests_batch(old_nets, old_guests, nets, guests, FALSE, claim);
    return cn_nft_batch_commit(batch, error);
}

char *cn_nft_guests_replace_dump(GPtrArray *old_nets, GPtrArray *old_guests, GPtrArray *nets, GPtrArray *guests,
                                 gboolean claim)
{
    g_autoptr(CnNftBatch) batch = guests_batch(old_nets, old_guests, nets, guests, FALSE, claim);
    return cn_nft_batch_dump(batch);
}

static gboolean guest_add_commit(const CnIsoNetwork *net, const CnIsoGuest *guest, gboolean replace_handler,
                                 GError **error)
{
    g_autoptr(CnNftBatch) batch = guest_batch(net, guest, FALSE, replace_handler);
    return cn_nft_batch_commit(batch, error);
}

gboolean cn_nft_guest_add(const CnIsoNetwork *net, const CnIsoGuest *guest, GError **error)
{
    g_autoptr(GError) local = NULL;
    if (guest_add_commit(net, guest, FALSE, &local))
        return TRUE;
    /* EEXIST: the guest's handler is in the map with another value (it
     * changed while the network ran).  The failed batch changed nothing. */
    if (net->metadata && guest->handler.set && g_error_matches(local, CN_NFT_ERROR, EEXIST))
        return guest_add_commit(net, guest, TRUE, error);
    g_propagate_error(error, g_steal_pointer(&local));
    return FALSE;
}

gboolean cn_nft_guest_remove(const CnIsoNetwork *net, const CnIsoGuest *guest, GError **error)
{
    g_autoptr(CnNftBatch) batch = guest_batch(net, guest, TRUE, FALSE);
    return cn_nft_batch_commit(batch, error);
}

gboolean cn_nft_guests_remove(GPtrArray *nets, GPtrArray *guests, GError **error)
{
    g_autoptr(CnNftBatch) batch = guests_batch(NULL, NULL, nets, guests, TRUE, FALSE);
    return cn_nft_batch_commit(batch, error);
}

char *cn_nft_guest_dump(const CnIsoNetwork *net, const CnIsoGuest *guest)
{
    g_autoptr(CnNftBatch) add = guest_batch(net, guest, FALSE, FALSE);
    g_autoptr(CnNftBatch) remove = guest_batch(net, guest, TRUE, FALSE);
    g_autofree char *added = cn_nft_batch_dump(add);
    g_autofree char *removed = cn_nft_batch_dump(remove);
    return g_strdup_printf("# guest add\n%s# guest remove\n%s", added, removed);
}
