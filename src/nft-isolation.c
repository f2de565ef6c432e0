/* nft-isolation.c - the per-network skeleton and the per-guest elements.
 * See nft.h for the policy and docs/isolation.md for the ruleset. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_conntrack_tuple_common.h>
#include <linux/netlink.h>
#include <linux/netfilter_bridge.h>
#include <netinet/in.h>
#include <string.h>

#include <libnftnl/udata.h>

#include "netaddr.h"
#include "nft-batch.h"
#include "nft-expr.h"
#include "nft.h"

/* nftables datatype ids, for `nft list` to show the sets readably. */
enum { TYPE_IPADDR = 7, TYPE_ETHERADDR = 9, TYPE_INET_SERVICE = 13, TYPE_IFNAME = 41 };
#define CONCAT(a, b) (((a) << 6) | (b))

/* Set names and their ids within a batch. */
enum {
    SET_PORTS = 1,    /* ifname: guest ports of this network */
    SET_PORT_MAC,     /* ifname . ether_addr: each port's MAC */
    SET_PINNED_IP,    /* ifname: ports limited to their reserved addresses */
    SET_RESERVED,     /* ipv4_addr . ether_addr: who may use an address */
    SET_RESERVED_ADDR,/* ipv4_addr: every reserved address */
    SET_HANDLERS,     /* ether_addr : ipv4_addr . inet_service */
    SET_PUB2PRIV,     /* ipv4_addr : ipv4_addr */
    SET_PRIV2PUB,     /* ipv4_addr : ipv4_addr */
    SET_HANDLER_ENDPOINTS, /* ipv4_addr . inet_service: where handlers listen */
    SET_LAST = SET_HANDLER_ENDPOINTS,
};

static const struct {
    const char *name;
    uint32_t family;
    uint32_t key_type, key_len;
    uint32_t data_type, data_len; /* 0: a plain set */
} sets[] = {
    [SET_PORTS] = { "ports", NFPROTO_BRIDGE, TYPE_IFNAME, CN_NFT_IFNAME_LEN },
    [SET_PORT_MAC] = { "port_mac", NFPROTO_BRIDGE, CONCAT(TYPE_IFNAME, TYPE_ETHERADDR),
                       CN_NFT_IFNAME_LEN + CN_NFT_ETHER_LEN },
    [SET_PINNED_IP] = { "pinned_ip", NFPROTO_BRIDGE, TYPE_IFNAME, CN_NFT_IFNAME_LEN },
    [SET_RESERVED] = { "reserved", NFPROTO_BRIDGE, CONCAT(TYPE_IPADDR, TYPE_ETHERADDR),
                       CN_NFT_IPV4_LEN + CN_NFT_ETHER_LEN },
    [SET_RESERVED_ADDR] = { "reserved_addr", NFPROTO_BRIDGE, TYPE_IPADDR, CN_NFT_IPV4_LEN },
    [SET_HANDLERS] = { "handlers", NFPROTO_INET, TYPE_ETHERADDR, 6, CONCAT(TYPE_IPADDR, TYPE_INET_SERVICE),
                       CN_NFT_IPV4_LEN + CN_NFT_PORT_LEN },
    [SET_PUB2PRIV] = { "pub2priv", NFPROTO_INET, TYPE_IPADDR, 4, TYPE_IPADDR, 4 },
    [SET_PRIV2PUB] = { "priv2pub", NFPROTO_INET, TYPE_IPADDR, 4, TYPE_IPADDR, 4 },
    [SET_HANDLER_ENDPOINTS] = { "handler_endpoints", NFPROTO_INET, CONCAT(TYPE_IPADDR, TYPE_INET_SERVICE),
                                CN_NFT_IPV4_LEN + CN_NFT_PORT_LEN },
};

#define R0 NFT_REG32_00
#define ETHER_SADDR NFT_PAYLOAD_LL_HEADER, 6, 6
#define ETHER_TYPE NFT_PAYLOAD_LL_HEADER, 12, 2
#define ARP_SHA NFT_PAYLOAD_NETWORK_HEADER, 8, 6
#define ARP_SPA NFT_PAYLOAD_NETWORK_HEADER, 14, 4
#define IP_PROTO_FIELD NFT_PAYLOAD_NETWORK_HEADER, 9, 1
#define IP_SADDR NFT_PAYLOAD_NETWORK_HEADER, 12, 4
#define IP_DADDR NFT_PAYLOAD_NETWORK_HEADER, 16, 4
#define TH_DPORT NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2
#define ICMP_TYPE NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1

/* Model -> engine view */

CnIsoNetwork *cn_iso_network_new(const char *name, const char *bridge)
{
    CnIsoNetwork *net = g_new0(CnIsoNetwork, 1);
    net->name = g_strdup(name);
    net->bridge = g_strdup(bridge);
    net->reservations = g_array_new(FALSE, FALSE, sizeof(CnIsoReservation));
    net->handlers = g_array_new(FALSE, FALSE, sizeof(CnIsoHandler));
    net->nat = g_array_new(FALSE, FALSE, sizeof(CnIsoNat));
    return net;
}

void cn_iso_network_free(CnIsoNetwork *net)
{
    if (!net)
        return;
    g_free(net->name);
    g_free(net->bridge);
    g_array_unref(net->reservations);
    g_array_unref(net->handlers);
    g_array_unref(net->nat);
    g_free(net);
}

CnIsoGuest *cn_iso_guest_new(const char *tap, const uint8_t mac[6])
{
    CnIsoGuest *guest = g_new0(CnIsoGuest, 1);
    g_strlcpy(guest->tap, tap, sizeof guest->tap);
    memcpy(guest->mac, mac, 6);
    guest->addresses = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    return guest;
}

void cn_iso_guest_free(CnIsoGuest *guest)
{
    if (!guest)
        return;
    g_array_unref(guest->addresses);
    g_free(guest);
}

static void reserve(CnIsoNetwork *iso, uint32_t address, const uint8_t mac[6])
{
    CnIsoReservation reservation = { address, { 0 } };
    memcpy(reservation.mac, mac, 6);
    g_array_append_val(iso->reservations, reservation);
}

CnIsoNetwork *cn_iso_network_from_model(const CnNetwork *net)
{
    CnIsoNetwork *iso = cn_iso_network_new(net->name, net->bridge_name);
    iso->isolate_guests = net->isolate_guests;
    iso->metadata = net->metadata;
    iso->metadata_address = net->metadata_address;
    iso->metadata_port = net->metadata_port;
    iso->default_handler = net->metadata_handler;
    iso->gateway = net->has_v4 ? net->v4_gateway : 0;
    for (guint i = 0; i < net->links->len; i++) {
        const CnLink *link = net->links->pdata[i];
        if (link->v4_source != CN_V4_NONE && link->v4_address) {
            reserve(iso, link->v4_address, link->mac);
            if (link->v4_public_address) {
                CnIsoNat pair = { link->v4_address, link->v4_public_address };
                g_array_append_val(iso->nat, pair);
            }
        }
        for (guint j = 0; j < link->v4_secondary->len; j++) {
            const CnSecondaryAddress *secondary = &g_array_index(link->v4_secondary, CnSecondaryAddress, j);
            reserve(iso, secondary->private_address, link->mac);
            if (secondary->public_address) {
                CnIsoNat pair = { secondary->private_address, secondary->public_address };
                g_array_append_val(iso->nat, pair);
            }
        }
        if (net->metadata && link->machine && link->machine->metadata_handler.set) {
            CnIsoHandler handler = { { 0 }, cn_link_metadata_handler(link) };
            memcpy(handler.mac, link->mac, 6);
            g_array_append_val(iso->handlers, handler);
        }
    }
    return iso;
}

CnIsoGuest *cn_iso_guest_from_link(const CnLink *link, const char *tap)
{
    CnIsoGuest *guest = cn_iso_guest_new(tap, link->mac);
    guest->rendered = TRUE;
    if (link->v4_source != CN_V4_NONE && link->v4_address)
        g_array_append_val(guest->addresses, link->v4_address);
    for (guint i = 0; i < link->v4_secondary->len; i++)
        g_array_append_val(guest->addresses,
                           g_array_index(link->v4_secondary, CnSecondaryAddress, i).private_address);
    if (link->net && link->net->metadata)
        guest->handler = cn_link_metadata_handler(link);
    return guest;
}

char *cn_nft_table_name(const char *network)
{
    GString *name = g_string_new("cn_");
    gboolean changed = FALSE;
    for (const char *p = network; *p; p++) {
        gboolean plain = g_ascii_isalnum(*p) || *p == '_';
        g_string_append_c(name, plain ? *p : '_');
        changed |= !plain;
    }
    /* "a-b" and "a_b" must not share a table. */
    if (changed)
        g_string_append_printf(name, "_%04x", g_str_hash(network) & 0xffff);
    return g_string_free(name, FALSE);
}

/* Batch building */

typedef struct {
    CnNftBatch *batch;
    char *table;
} Builder;

static void add_table(Builder *b, uint32_t family, gboolean replace)
{
    struct nftnl_table *table = nftnl_table_alloc();
    nftnl_table_set_u32(table, NFTNL_TABLE_FAMILY, family);
    nftnl_table_set_str(table, NFTNL_TABLE_NAME, b->table);
    g_autofree char *what = g_strdup_printf("table %s %s", family == NFPROTO_BRIDGE ? "bridge" : "inet", b->table);
    /* Create (a no-op when it exists) and delete: the table is then gone
     * whether or not it was there, without failing the batch. */
    cn_nft_batch_table(b->batch, NFT_MSG_NEWTABLE, NLM_F_CREATE, table, what);
    cn_nft_batch_table(b->batch, NFT_MSG_DELTABLE, 0, table, what);
    if (replace)
        cn_nft_batch_table(b->batch, NFT_MSG_NEWTABLE, NLM_F_CREATE, table, what);
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
    g_autofree char *what = g_strdup_printf("chain %s %s", b->table, name);
    cn_nft_batch_chain(b->batch, NFT_MSG_NEWCHAIN, NLM_F_CREATE, chain, what);
    nftnl_chain_free(chain);
}

static struct nftnl_set *set_object(const char *table, int id)
{
    struct nftnl_set *set = nftnl_set_alloc();
    nftnl_set_set_u32(set, NFTNL_SET_FAMILY, sets[id].family);
    nftnl_set_set_str(set, NFTNL_SET_TABLE, table);
    nftnl_set_set_str(set, NFTNL_SET_NAME, sets[id].name);
    nftnl_set_set_u32(set, NFTNL_SET_ID, (uint32_t)id);
    return set;
}

static void add_set(Builder *b, int id)
{
    struct nftnl_set *set = set_object(b->table, id);
    nftnl_set_set_u32(set, NFTNL_SET_KEY_TYPE, sets[id].key_type);
    nftnl_set_set_u32(set, NFTNL_SET_KEY_LEN, sets[id].key_len);
    uint32_t flags = 0;
    if (sets[id].data_len) {
        flags |= NFT_SET_MAP;
        nftnl_set_set_u32(set, NFTNL_SET_DATA_TYPE, sets[id].data_type);
        nftnl_set_set_u32(set, NFTNL_SET_DATA_LEN, sets[id].data_len);
    }
    nftnl_set_set_u32(set, NFTNL_SET_FLAGS, flags);
    if (sets[id].key_type == TYPE_IFNAME) {
        /* Interface names are strings in host byte order; without this
         * note `nft list` shows them as "". */
        struct nftnl_udata_buf *udata = nftnl_udata_buf_alloc(64);
        nftnl_udata_put_u32(udata, NFTNL_UDATA_SET_KEYBYTEORDER, 1 /* BYTEORDER_HOST_ENDIAN */);
        nftnl_set_set_data(set, NFTNL_SET_USERDATA, nftnl_udata_buf_data(udata), nftnl_udata_buf_len(udata));
        nftnl_udata_buf_free(udata);
    }
    g_autofree char *what = g_strdup_printf("set %s %s", b->table, sets[id].name);
    cn_nft_batch_set(b->batch, NFT_MSG_NEWSET, NLM_F_CREATE, set, what);
    nftnl_set_free(set);
}

static void add_rule(Builder *b, struct nftnl_rule *rule, const char *what)
{
    g_autofree char *description = g_strdup_printf("rule in %s %s: %s", b->table,
                                                   nftnl_rule_get_str(rule, NFTNL_RULE_CHAIN), what);
    cn_nft_batch_rule(b->batch, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, rule, description);
    nftnl_rule_free(rule);
}

static void lookup(struct nftnl_rule *rule, uint32_t sreg, int id, int invert)
{
    cn_nft_lookup(rule, sreg, sets[id].name, (uint32_t)id, invert, 0);
}

/* The bridge table: pinning and guest isolation. */
static void build_bridge(Builder *b, const CnIsoNetwork *net)
{
    const uint32_t F = NFPROTO_BRIDGE;
    uint32_t r_mac = cn_nft_next_reg(R0, CN_NFT_IFNAME_LEN);
    uint32_t r_ip_mac = cn_nft_next_reg(R0, CN_NFT_IPV4_LEN);
    struct nftnl_rule *r;

    add_table(b, F, TRUE);
    for (int id = SET_PORTS; id <= SET_RESERVED_ADDR; id++)
        add_set(b, id);
    add_chain(b, F, "pin", NF_BR_PRE_ROUTING, -300, "filter");
    add_chain(b, F, "pin_arp", -1, 0, NULL);
    add_chain(b, F, "pin_ip4", -1, 0, NULL);

    /* Bridge-family chains see every bridge of the host (and the kernel
     * here refuses meta ibrname): only this network's ports are ours. */
    r = cn_nft_rule_new(F, b->table, "pin");
    cn_nft_meta(r, NFT_META_IIFNAME, R0);
    lookup(r, R0, SET_PORTS, 1);
    cn_nft_verdict(r, NF_ACCEPT);
    add_rule(b, r, "iifname != @ports accept");

    r = cn_nft_rule_new(F, b->table, "pin");
    cn_nft_meta(r, NFT_META_IIFNAME, R0);
    cn_nft_payload(r, ETHER_SADDR, r_mac);
    lookup(r, R0, SET_PORT_MAC, 1);
    cn_nft_verdict(r, NF_DROP);
    add_rule(b, r, "iifname . ether saddr != @port_mac drop");

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

    if (net->metadata) {
        r = cn_nft_rule_new(F, b->table, "pin");
        cn_nft_payload(r, ETHER_TYPE, R0);
        cn_nft_cmp_be16(r, R0, NFT_CMP_EQ, 0x86dd);
        cn_nft_verdict(r, NF_DROP);
        add_rule(b, r, "ether type ip6 drop");
    }
    r = cn_nft_rule_new(F, b->table, "pin");
    cn_nft_payload(r, ETHER_TYPE, R0);
    cn_nft_cmp_be16(r, R0, NFT_CMP_EQ, 0x0806);
    cn_nft_jump(r, "pin_arp");
    add_rule(b, r, "ether type arp jump pin_arp");

    r = cn_nft_rule_new(F, b->table, "pin");
    cn_nft_payload(r, ETHER_TYPE, R0);
    cn_nft_cmp_be16(r, R0, NFT_CMP_EQ, 0x0800);
    cn_nft_jump(r, "pin_ip4");
    add_rule(b, r, "ether type ip jump pin_ip4");

    /* ARP: the sender MAC is the port's; the sender address is reserved
     * for that MAC, or a probe from 0.0.0.0, or not reserved at all (for
     * a port whose addresses are not pinned). */
    r = cn_nft_rule_new(F, b->table, "pin_arp");
    cn_nft_meta(r, NFT_META_IIFNAME, R0);
    cn_nft_payload(r, ARP_SHA, r_mac);
    lookup(r, R0, SET_PORT_MAC, 1);
    cn_nft_verdict(r, NF_DROP);
    add_rule(b, r, "iifname . arp saddr ether != @port_mac drop");

    r = cn_nft_rule_new(F, b->table, "pin_arp");
    cn_nft_payload(r, ARP_SPA, R0);
    cn_nft_cmp_ipv4(r, R0, NFT_CMP_EQ, 0);
    cn_nft_verdict(r, NF_ACCEPT);
    add_rule(b, r, "arp saddr ip 0.0.0.0 accept");

    r = cn_nft_rule_new(F, b->table, "pin_arp");
    cn_nft_payload(r, ARP_SPA, R0);
    cn_nft_payload(r, ARP_SHA, r_ip_mac);
    lookup(r, R0, SET_RESERVED, 0);
    cn_nft_verdict(r, NF_ACCEPT);
    add_rule(b, r, "arp saddr ip . arp saddr ether @reserved accept");

    /* IPv4: DHCP from 0.0.0.0; otherwise the same address rules. */
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
    lookup(r, R0, SET_RESERVED, 0);
    cn_nft_verdict(r, NF_ACCEPT);
    add_rule(b, r, "ip saddr . ether saddr @reserved accept");

    const struct {
        const char *chain;
        uint32_t base, offset, len;
    } address_of[] = { { "pin_arp", ARP_SPA }, { "pin_ip4", IP_SADDR } };
    for (gsize i = 0; i < G_N_ELEMENTS(address_of); i++) {
        r = cn_nft_rule_new(F, b->table, address_of[i].chain);
        cn_nft_payload(r, address_of[i].base, address_of[i].offset, address_of[i].len, R0);
        lookup(r, R0, SET_RESERVED_ADDR, 0);
        cn_nft_verdict(r, NF_DROP);
        add_rule(b, r, "source address reserved for another MAC: drop");

        r = cn_nft_rule_new(F, b->table, address_of[i].chain);
        cn_nft_meta(r, NFT_META_IIFNAME, R0);
        lookup(r, R0, SET_PINNED_IP, 0);
        cn_nft_verdict(r, NF_DROP);
        add_rule(b, r, "iifname @pinned_ip drop");
    }

    if (net->isolate_guests) {
        add_chain(b, F, "isolate", NF_BR_FORWARD, -200, "filter");
        r = cn_nft_rule_new(F, b->table, "isolate");
        cn_nft_meta(r, NFT_META_IIFNAME, R0);
        lookup(r, R0, SET_PORTS, 0);
        cn_nft_meta(r, NFT_META_OIFNAME, R0);
        lookup(r, R0, SET_PORTS, 0);
        cn_nft_verdict(r, NF_DROP);
        add_rule(b, r, "iifname @ports oifname @ports drop");
    }
}

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
    uint32_t r_port = cn_nft_next_reg(R0, CN_NFT_IPV4_LEN);
    struct nftnl_rule *r;

    r = cn_nft_rule_new(F, b->table, "dnat");
    match_metadata(r, net);
    match_attached(r, TRUE);
    cn_nft_payload(r, ETHER_SADDR, R0);
    cn_nft_lookup(r, R0, sets[SET_HANDLERS].name, SET_HANDLERS, 0, NFT_REG_1);
    cn_nft_nat(r, NFT_NAT_DNAT, NFT_REG_1, r_port);
    add_rule(b, r, "metadata: dnat ip to ether saddr map @handlers");

    if (net->default_handler.set) {
        uint32_t address = htonl(net->default_handler.host);
        uint16_t port = htons(net->default_handler.port);
        r = cn_nft_rule_new(F, b->table, "dnat");
        match_metadata(r, net);
        match_attached(r, TRUE);
        cn_nft_immediate(r, R0, &address, 4);
        cn_nft_immediate(r, r_port, &port, 2);
        cn_nft_nat(r, NFT_NAT_DNAT, R0, r_port);
        add_rule(b, r, "metadata: dnat to the network's handler");
    }

    /* From a port nobody attached: nothing goes through the host. */
    r = cn_nft_rule_new(F, b->table, "forward");
    match_from_bridge(r, net, NFT_CMP_EQ);
    match_attached(r, FALSE);
    cn_nft_verdict(r, NF_DROP);
    add_rule(b, r, "from an unattached port: drop");

    /* Not DNATed (no handler): a fast reset, never routed onwards. */
    r = cn_nft_rule_new(F, b->table, "forward");
    match_metadata(r, net);
    cn_nft_reject_tcp_reset(r);
    add_rule(b, r, "metadata without a handler: reject with tcp reset");
    r = cn_nft_rule_new(F, b->table, "forward");
    match_from_bridge(r, net, NFT_CMP_EQ);
    cn_nft_meta(r, NFT_META_NFPROTO, R0);
    cn_nft_cmp_u8(r, R0, NFT_CMP_EQ, NFPROTO_IPV4);
    cn_nft_payload(r, IP_DADDR, R0);
    cn_nft_cmp_ipv4(r, R0, NFT_CMP_EQ, net->metadata_address);
    cn_nft_verdict(r, NF_DROP);
    add_rule(b, r, "anything else to the metadata address: drop");

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
    cn_nft_verdict(r, NF_DROP);
    add_rule(b, r, "from an unattached port: drop");

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
    lookup(r, R0, SET_HANDLER_ENDPOINTS, 0);
    cn_nft_reject_tcp_reset(r);
    add_rule(b, r, "ip daddr . tcp dport @handler_endpoints reject with tcp reset");

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

    r = cn_nft_rule_new(F, b->table, "host");
    cn_nft_meta(r, NFT_META_L4PROTO, R0);
    cn_nft_cmp_u8(r, R0, NFT_CMP_EQ, IPPROTO_TCP);
    cn_nft_reject_tcp_reset(r);
    add_rule(b, r, "other tcp: reject with tcp reset");

    r = cn_nft_rule_new(F, b->table, "host");
    cn_nft_verdict(r, NF_DROP);
    add_rule(b, r, "everything else from guests: drop");
}

/* Guests that route through the host to each other (a /32 route via the
 * gateway) would get around the bridge's isolation. */
static void build_routed_isolation(Builder *b, const CnIsoNetwork *net)
{
    struct nftnl_rule *r = cn_nft_rule_new(NFPROTO_INET, b->table, "forward");
    match_from_bridge(r, net, NFT_CMP_EQ);
    cn_nft_meta(r, NFT_META_OIFNAME, R0);
    cn_nft_cmp_ifname(r, R0, NFT_CMP_EQ, net->bridge);
    cn_nft_verdict(r, NF_DROP);
    add_rule(b, r, "iifname BRIDGE oifname BRIDGE drop (isolate_guests)");
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
    cn_nft_lookup(r, R0, sets[SET_PUB2PRIV].name, SET_PUB2PRIV, 0, NFT_REG_1);
    cn_nft_nat(r, NFT_NAT_DNAT, NFT_REG_1, 0);
    add_rule(b, r, "1:1 NAT in: dnat ip to ip daddr map @pub2priv");

    add_chain(b, F, "snat", NF_INET_POST_ROUTING, 100, "nat");
    r = cn_nft_rule_new(F, b->table, "snat");
    cn_nft_meta(r, NFT_META_OIFNAME, R0);
    cn_nft_cmp_ifname(r, R0, NFT_CMP_NEQ, net->bridge);
    cn_nft_meta(r, NFT_META_NFPROTO, R0);
    cn_nft_cmp_u8(r, R0, NFT_CMP_EQ, NFPROTO_IPV4);
    cn_nft_payload(r, IP_SADDR, R0);
    cn_nft_lookup(r, R0, sets[SET_PRIV2PUB].name, SET_PRIV2PUB, 0, NFT_REG_1);
    cn_nft_nat(r, NFT_NAT_SNAT, NFT_REG_1, 0);
    add_rule(b, r, "1:1 NAT out: snat ip to ip saddr map @priv2pub");
}

/* Elements */

static void put_ifname(uint8_t *out, const char *name)
{
    memset(out, 0, CN_NFT_IFNAME_LEN);
    memcpy(out, name, MIN(strlen(name), CN_NFT_IFNAME_LEN - 1));
}

static void put_ipv4(uint8_t *out, uint32_t address)
{
    uint32_t be = htonl(address);
    memcpy(out, &be, 4);
}

typedef struct {
    struct nftnl_set *sets[SET_LAST + 1];
    guint counts[SET_LAST + 1];
} Elements;

static void element(Elements *e, const char *table, int id, const void *key, uint32_t key_len,
                    const void *data, uint32_t data_len)
{
    if (!e->sets[id])
        e->sets[id] = set_object(table, id);
    struct nftnl_set_elem *elem = nftnl_set_elem_alloc();
    nftnl_set_elem_set(elem, NFTNL_SET_ELEM_KEY, key, key_len);
    if (data)
        nftnl_set_elem_set(elem, NFTNL_SET_ELEM_DATA, data, data_len);
    nftnl_set_elem_add(e->sets[id], elem);
    e->counts[id]++;
}

static void reservation_elements(Elements *e, const char *table, uint32_t address, const uint8_t mac[6])
{
    uint8_t key[CN_NFT_IPV4_LEN + CN_NFT_ETHER_LEN] = { 0 };
    put_ipv4(key, address);
    memcpy(key + CN_NFT_IPV4_LEN, mac, 6);
    element(e, table, SET_RESERVED, key, sizeof key, NULL, 0);
    element(e, table, SET_RESERVED_ADDR, key, CN_NFT_IPV4_LEN, NULL, 0);
}

static void endpoint_bytes(uint8_t out[CN_NFT_IPV4_LEN + CN_NFT_PORT_LEN], CnEndpoint endpoint)
{
    uint16_t port = htons(endpoint.port);
    memset(out, 0, CN_NFT_IPV4_LEN + CN_NFT_PORT_LEN);
    put_ipv4(out, endpoint.host);
    memcpy(out + CN_NFT_IPV4_LEN, &port, 2);
}

static void handler_element(Elements *e, const char *table, const uint8_t mac[6], CnEndpoint handler)
{
    uint8_t data[CN_NFT_IPV4_LEN + CN_NFT_PORT_LEN];
    endpoint_bytes(data, handler);
    element(e, table, SET_HANDLERS, mac, 6, data, sizeof data);
    element(e, table, SET_HANDLER_ENDPOINTS, data, sizeof data, NULL, 0);
}

static void guest_elements(Elements *e, const char *table, const CnIsoNetwork *net, const CnIsoGuest *guest,
                           gboolean with_network_wide)
{
    uint8_t port[CN_NFT_IFNAME_LEN];
    uint8_t port_mac[CN_NFT_IFNAME_LEN + CN_NFT_ETHER_LEN] = { 0 };
    put_ifname(port, guest->tap);
    memcpy(port_mac, port, sizeof port);
    memcpy(port_mac + CN_NFT_IFNAME_LEN, guest->mac, 6);
    element(e, table, SET_PORTS, port, sizeof port, NULL, 0);
    element(e, table, SET_PORT_MAC, port_mac, sizeof port_mac, NULL, 0);
    /* Removal takes the pinned flag whatever the guest says: the next
     * user of the port may be another guest. */
    if (guest->rendered || !with_network_wide)
        element(e, table, SET_PINNED_IP, port, sizeof port, NULL, 0);
    if (!with_network_wide)
        return;
    /* A guest's reservations and handler are network-wide facts the
     * network may not know yet (a machine added while it runs). */
    for (guint i = 0; i < guest->addresses->len; i++)
        reservation_elements(e, table, g_array_index(guest->addresses, uint32_t, i), guest->mac);
    /* Only a handler of the guest's own: the network's is where guests
     * without an element go anyway, and an element for it would outlive
     * the guest (removal leaves handlers, network-wide facts, alone). */
    if (net->metadata && guest->handler.set && !cn_endpoint_equal(guest->handler, net->default_handler))
        handler_element(e, table, guest->mac, guest->handler);
}

static void network_elements(Elements *e, const char *table, const CnIsoNetwork *net)
{
    for (guint i = 0; i < net->reservations->len; i++) {
        const CnIsoReservation *reservation = &g_array_index(net->reservations, CnIsoReservation, i);
        reservation_elements(e, table, reservation->address, reservation->mac);
    }
    if (net->metadata && net->default_handler.set) {
        uint8_t endpoint[CN_NFT_IPV4_LEN + CN_NFT_PORT_LEN];
        endpoint_bytes(endpoint, net->default_handler);
        element(e, table, SET_HANDLER_ENDPOINTS, endpoint, sizeof endpoint, NULL, 0);
    }
    if (net->metadata) {
        for (guint i = 0; i < net->handlers->len; i++) {
            const CnIsoHandler *handler = &g_array_index(net->handlers, CnIsoHandler, i);
            handler_element(e, table, handler->mac, handler->handler);
        }
    }
    for (guint i = 0; i < net->nat->len; i++) {
        const CnIsoNat *pair = &g_array_index(net->nat, CnIsoNat, i);
        uint8_t private_address[4], public_address[4];
        put_ipv4(private_address, pair->private_address);
        put_ipv4(public_address, pair->public_address);
        element(e, table, SET_PUB2PRIV, public_address, 4, private_address, 4);
        element(e, table, SET_PRIV2PUB, private_address, 4, public_address, 4);
    }
}

/* Adds E's elements to the batch: COMMAND is NEWSETELEM or DELSETELEM. */
static void flush_elements(Builder *b, Elements *e, uint16_t command)
{
    for (int id = SET_PORTS; id <= SET_LAST; id++) {
        if (!e->sets[id])
            continue;
        g_autofree char *what = g_strdup_printf("%u element(s) of set %s %s", e->counts[id], b->table,
                                                sets[id].name);
        cn_nft_batch_elements(b->batch, command, command == NFT_MSG_NEWSETELEM ? NLM_F_CREATE : 0,
                              e->sets[id], what);
    }
}

static void elements_free(Elements *e)
{
    for (int id = SET_PORTS; id <= SET_LAST; id++) {
        if (e->sets[id])
            nftnl_set_free(e->sets[id]);
    }
}

static gboolean needs_inet(const CnIsoNetwork *net)
{
    return net->metadata || net->nat->len > 0 || net->isolate_guests;
}

gboolean cn_nft_network_apply(const CnIsoNetwork *net, GPtrArray *guests, GError **error)
{
    g_autoptr(CnNftBatch) batch = cn_nft_batch_new();
    g_autofree char *table = cn_nft_table_name(net->name);
    Builder b = { batch, table };
    Elements e = { 0 };

    build_bridge(&b, net);
    if (needs_inet(net)) {
        add_table(&b, NFPROTO_INET, TRUE);
        for (int id = SET_HANDLERS; id <= SET_LAST; id++)
            add_set(&b, id);
        add_chain(&b, NFPROTO_INET, "dnat", NF_INET_PRE_ROUTING, -100, "nat");
        add_chain(&b, NFPROTO_INET, "forward", NF_INET_FORWARD, 0, "filter");
        if (net->isolate_guests)
            build_routed_isolation(&b, net);
        if (net->metadata)
            build_metadata(&b, net);
        if (net->nat->len > 0)
            build_nat(&b, net);
    } else {
        add_table(&b, NFPROTO_INET, FALSE); /* a stale one goes */
    }
    network_elements(&e, table, net);
    for (guint i = 0; guests && i < guests->len; i++)
        guest_elements(&e, table, net, guests->pdata[i], TRUE);
    flush_elements(&b, &e, NFT_MSG_NEWSETELEM);
    elements_free(&e);
    return cn_nft_batch_commit(batch, error);
}

gboolean cn_nft_network_remove(const char *network, GError **error)
{
    g_autoptr(CnNftBatch) batch = cn_nft_batch_new();
    g_autofree char *table = cn_nft_table_name(network);
    Builder b = { batch, table };
    add_table(&b, NFPROTO_BRIDGE, FALSE);
    add_table(&b, NFPROTO_INET, FALSE);
    return cn_nft_batch_commit(batch, error);
}

static gboolean guest_add_batch(const CnIsoNetwork *net, const CnIsoGuest *guest, gboolean replace_handler,
                                GError **error)
{
    g_autoptr(CnNftBatch) batch = cn_nft_batch_new();
    g_autofree char *table = cn_nft_table_name(net->name);
    Builder b = { batch, table };
    if (replace_handler) {
        /* A map element's value changes by delete and add in one batch. */
        Elements old = { 0 };
        element(&old, table, SET_HANDLERS, guest->mac, 6, NULL, 0);
        flush_elements(&b, &old, NFT_MSG_DELSETELEM);
        elements_free(&old);
    }
    Elements e = { 0 };
    guest_elements(&e, table, net, guest, TRUE);
    flush_elements(&b, &e, NFT_MSG_NEWSETELEM);
    elements_free(&e);
    return cn_nft_batch_commit(batch, error);
}

gboolean cn_nft_guest_add(const CnIsoNetwork *net, const CnIsoGuest *guest, GError **error)
{
    g_autoptr(GError) local = NULL;
    if (guest_add_batch(net, guest, FALSE, &local))
        return TRUE;
    /* EEXIST: the guest's handler is in the map with another value (it
     * changed while the network ran).  The failed batch changed nothing. */
    if (net->metadata && guest->handler.set && g_error_matches(local, CN_NFT_ERROR, EEXIST))
        return guest_add_batch(net, guest, TRUE, error);
    g_propagate_error(error, g_steal_pointer(&local));
    return FALSE;
}

gboolean cn_nft_guest_remove(const CnIsoNetwork *net, const CnIsoGuest *guest, GError **error)
{
    g_autoptr(CnNftBatch) batch = cn_nft_batch_new();
    g_autofree char *table = cn_nft_table_name(net->name);
    Builder b = { batch, table };
    Elements e = { 0 };
    /* The port's own elements only: reservations and handlers outlive the
     * guest ("an address reserved for a machine can be used by no other
     * port, whether that machine is running or not").  Added first, so
     * that deleting never fails on an element already gone. */
    guest_elements(&e, table, net, guest, FALSE);
    flush_elements(&b, &e, NFT_MSG_NEWSETELEM);
    flush_elements(&b, &e, NFT_MSG_DELSETELEM);
    elements_free(&e);
    return cn_nft_batch_commit(batch, error);
}
