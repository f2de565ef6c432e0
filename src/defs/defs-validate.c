/* defs-validate.c - defaults and every cross-object rule of the
 * definitions spec.  Each check names the key it is about and reports at
 * the line that set it (or the group's line when the key is missing). */
#include <string.h>

#include "defs.h"
#include "netaddr.h"

#define METADATA_DEFAULT_ADDRESS 0xa9fea9feu /* 169.254.169.254 */
#define METADATA_DEFAULT_PORT 80
#define BROADCAST_LIMIT_DEFAULT 1000 /* frames a second per guest port */

char *cn_network_group(const CnNetwork *net)
{
    return g_strdup_printf("network %s", net->name);
}

char *cn_machine_group(const CnMachine *machine)
{
    return g_strdup_printf("machine %s", machine->name);
}

char *cn_link_group(const CnLink *link)
{
    return g_strdup_printf("link %s %s", link->machine_name, link->iface);
}

char *cn_pool_group(const CnPool *pool)
{
    return g_strdup_printf("pool %s", pool->name);
}

/* A short stable tag for derived interface names. */
static uint32_t name_hash(const char *text)
{
    uint32_t hash = 2166136261u; /* FNV-1a: stable across hosts and GLib versions */
    for (const char *p = text; *p; p++)
        hash = (hash ^ (uint8_t)*p) * 16777619u;
    return hash;
}

/* An interface name "START" + NAME that fits MAX bytes, or, when NAME is
 * too long, its first characters and a hash so different names stay
 * different. */
static char *derive_ifname(const char *start, const char *name, const char *end, gsize max)
{
    char *plain = g_strconcat(start, name, end, NULL);
    if (strlen(plain) <= max)
        return plain;
    g_free(plain);
    int keep = (int)(max - strlen(start) - strlen(end) - 6);
    return g_strdup_printf("%s%.*s%06x%s", start, MAX(keep, 0), name,
                           name_hash(name) & 0xffffff, end);
}

static unsigned decimal_digits(uint32_t value)
{
    unsigned digits = 1;
    while (value >= 10) {
        value /= 10;
        digits++;
    }
    return digits;
}

/* Context shared by every check, so each can report in one line. */
typedef struct {
    CnSite *site;
    CnDiagList *diags;
} Check;

/* Reports about KEY of an object whose key locations are KEY_LOCS, at the
 * key's own line when it was set, else at the group's. */
#define REPORT(ctx, key_locs, group_loc, group, key, ...)                                       \
    cn_diag_add((ctx)->diags, cn_key_loc((key_locs), (key), (group_loc)), (group), (key),       \
                __VA_ARGS__)

/* Defaults */

static void network_defaults(CnNetwork *net)
{
    if (net->technology == CN_TECH_LIBVIRT && !net->bridge_name)
        net->bridge_name = derive_ifname("cn-", net->name, "", CN_IFNAME_MAX);
    if (!cn_key_is_set(net->key_locs, "forward"))
        net->forward = net->v4_masquerade ? CN_FORWARD_NAT : CN_FORWARD_ISOLATED;
    if (!cn_key_is_set(net->key_locs, "metadata.address"))
        net->metadata_address = METADATA_DEFAULT_ADDRESS;
    if (!cn_key_is_set(net->key_locs, "metadata.port"))
        net->metadata_port = METADATA_DEFAULT_PORT;
    if (!net->metadata_hostname)
        net->metadata_hostname = g_strdup("metadata");
    net->has_v4 = cn_key_is_set(net->key_locs, "v4.network");
    net->has_v4_pool = cn_key_is_set(net->key_locs, "v4.pool");
    if (net->has_v4 && !cn_key_is_set(net->key_locs, "v4.gateway"))
        net->v4_gateway = net->v4_subnet.network + 1;
    /* OVN answers DHCP for each port's own address: on by default there. */
    if (!cn_key_is_set(net->key_locs, "v4.dhcp"))
        net->v4_dhcp = cn_network_in_ovn(net) ? net->has_v4 : net->v4_dhcp_ranges->len > 0;
    if (cn_network_in_ovn(net) && !net->bridge_name)
        net->bridge_name = g_strdup(CN_OVN_BRIDGE_DEFAULT);
    if (net->metadata_handler.set && net->metadata_handler.host == 0)
        net->metadata_handler.host = net->v4_gateway;
    /* A metadata network has no IPv6 unless asked: the metadata routing
     * and its identity model are IPv4's. */
    if (!cn_key_is_set(net->key_locs, "ipv6"))
        net->ipv6 = net->metadata ? CN_IPV6_DROP : CN_IPV6_PINNED;
    net->has_v6 = cn_key_is_set(net->key_locs, "v6.network");
    if (net->has_v6 && cn_network_serves_addresses(net) && !cn_key_is_set(net->key_locs, "v6.gateway")) {
        net->v6_gateway = net->v6_subnet.network;
        net->v6_gateway.bytes[15] |= 1;
    }
    if (!cn_key_is_set(net->key_locs, "broadcast_limit"))
        net->broadcast_limit = BROADCAST_LIMIT_DEFAULT;
}

static void link_defaults(CnLink *link)
{
    if (!link->model)
        link->model = g_strdup("virtio");
    link->has_v6_address = cn_key_is_set(link->key_locs, "v6.address");
    if (cn_key_is_set(link->key_locs, "v4.address"))
        link->v4_source = CN_V4_STATIC;
    else if (link->net && link->net->has_v4_pool && cn_network_serves_addresses(link->net))
        link->v4_source = CN_V4_POOL;
    else
        link->v4_source = CN_V4_NONE;
}

static void pool_defaults(CnPool *pool)
{
    if (!pool->prefix && pool->size > 0)
        pool->prefix = derive_ifname("", pool->name, "-", CN_IFNAME_MAX - decimal_digits(pool->size - 1));
}

/* Networks */

static const char *const libvirt_only_keys[] = {
    "forward", "metadata", "metadata.address", "metadata.port", "metadata.hostname",
    "metadata.handler", "metadata.tokens", "metadata.hop_limit", "v4.network", "v4.gateway", "v4.dhcp", "v4.dhcp_ranges",
    "v4.dns_servers", "v4.domains", "v4.masquerade", "v4.pool", "v6.gateway",
};

/* The guards nftables applies on Linux bridges. */
static const char *const isolation_keys[] = {
    "ipv6", "v6.network", "allowed_ethertypes", "broadcast_limit",
};

/* libvirt's, which OVN's logical switches do not have: no logical router
 * (so no forwarding or NAT), no dnsmasq ranges, no metadata service. */
static const char *const ovn_refused_keys[] = {
    "v4.dhcp_ranges", "v6.network", "v6.gateway",
};

static const char *const ovn_keys[] = {
    "ovn.northbound", "ovn.private_key", "ovn.certificate", "ovn.ca_certificate",
    "ovn.uplink", "ovn.uplink_address", "ovn.uplink_gateway", "ovn.gateway_chassis",
    "ovn.distributed_nat",
};

/* What an OVN network's logical router needs: where it meets the outside. */
static const char *const ovn_router_keys[] = {
    "ovn.uplink", "ovn.uplink_address", "ovn.gateway_chassis",
};
static const char *const ovn_router_optional_keys[] = {
    "ovn.uplink_gateway", "ovn.distributed_nat",
};

static const char *const v4_dependent_keys[] = {
    "v4.gateway", "v4.dhcp", "v4.dhcp_ranges", "v4.dns_servers", "v4.domains",
    "v4.masquerade", "v4.pool",
};

static gboolean ranges_overlap(uint32_t a_first, uint32_t a_last, uint32_t b_first, uint32_t b_last)
{
    return a_first <= b_last && b_first <= a_last;
}

/* Why a guest could hold ADDRESS on NET (a DHCP range, the pool, a link's
 * address), or NULL when none can: handlers must listen on the host. */
static char *guest_use_of(const CnNetwork *net, uint32_t address)
{
    for (guint i = 0; i < net->v4_dhcp_ranges->len; i++) {
        const CnV4Range *range = &g_array_index(net->v4_dhcp_ranges, CnV4Range, i);
        if (address >= range->first && address <= range->last)
            return g_strdup("it is inside v4.dhcp_ranges");
    }
    if (net->has_v4_pool && address >= net->v4_pool.first && address <= net->v4_pool.last)
        return g_strdup("it is inside v4.pool");
    for (guint i = 0; i < net->links->len; i++) {
        const CnLink *link = net->links->pdata[i];
        gboolean held = cn_key_is_set(link->key_locs, "v4.address") && link->v4_address == address;
        for (guint j = 0; j < link->v4_secondary->len && !held; j++)
            held = g_array_index(link->v4_secondary, CnSecondaryAddress, j).private_address == address;
        if (held)
            return g_strdup_printf("it is an address of [link %s %s]", link->machine_name, link->iface);
    }
    return NULL;
}

/* A handler endpoint's HOST: inside the network, and not a guest's. */
static void check_handler_host(Check *ctx, GHashTable *key_locs, const CnLoc *group_loc,
                               const char *group, const CnNetwork *net, uint32_t host)
{
    g_autofree char *text = cn_v4_str(host);
    g_autofree char *why = NULL;
    if (!cn_v4_is_host(host, net->v4_subnet.network, net->v4_subnet.prefix))
        REPORT(ctx, key_locs, group_loc, group, "metadata.handler",
               "HOST must be an address of this host inside [network %s] v4.network (%s is not)",
               net->name, text);
    else if ((why = guest_use_of(net, host)))
        REPORT(ctx, key_locs, group_loc, group, "metadata.handler",
               "HOST must be an address of this host on [network %s], but %s could be a guest's: %s",
               net->name, text, why);
}

static void check_network_technology(Check *ctx, CnNetwork *net, const char *group)
{
    const char *tech = cn_technology_name(net->technology);

    if (net->vlan_id && !cn_network_has_vlans(net))
        REPORT(ctx, net->key_locs, &net->loc, group, "vlan_id",
               "needs technology = openvswitch: libvirt 9 applies VLAN tags only on Open vSwitch "
               "bridges (this network is %s)", tech);
    if (net->technology != CN_TECH_LIBVIRT && !cn_network_in_ovn(net) && !net->bridge_name)
        REPORT(ctx, net->key_locs, &net->loc, group, "bridge_name",
               "required with technology = %s: the host bridge the network uses", tech);
    if (net->delete_bridge && !cn_network_uses_host_bridge(net))
        REPORT(ctx, net->key_locs, &net->loc, group, "delete_bridge",
               "applies only to technology = bridge (this network is %s)", tech);
    /* OVN switches inside Open vSwitch too, and guards its ports itself. */
    const char *why_not = cn_network_in_ovn(net) ? "; OVN's port_security does the anti-spoofing" : "";
    if (net->isolate_guests && !cn_network_has_isolation(net) && !cn_network_in_ovn(net))
        REPORT(ctx, net->key_locs, &net->loc, group, "isolate_guests",
               "not available with technology = %s: nftables does not see traffic "
               "switched inside Open vSwitch%s", tech, why_not);
    for (gsize i = 0; i < G_N_ELEMENTS(isolation_keys) && !cn_network_has_isolation(net); i++) {
        if (cn_key_is_set(net->key_locs, isolation_keys[i]))
            REPORT(ctx, net->key_locs, &net->loc, group, isolation_keys[i],
                   "not available with technology = %s: nftables does not see traffic switched "
                   "inside Open vSwitch%s", tech, why_not);
    }
    for (gsize i = 0; i < G_N_ELEMENTS(ovn_keys) && !cn_network_in_ovn(net); i++) {
        if (cn_key_is_set(net->key_locs, ovn_keys[i]))
            REPORT(ctx, net->key_locs, &net->loc, group, ovn_keys[i],
                   "applies only to technology = ovn (this network is %s)", tech);
    }
    if (cn_network_serves_addresses(net))
        return;
    for (gsize i = 0; i < G_N_ELEMENTS(libvirt_only_keys); i++) {
        if (cn_key_is_set(net->key_locs, libvirt_only_keys[i]))
            REPORT(ctx, net->key_locs, &net->loc, group, libvirt_only_keys[i],
                   "applies only to technology = libvirt: libvirt 9 serves addresses, DNS and "
                   "forwarding only on its own virtual networks (this network is %s)", tech);
    }
}

/* OVN: forward nat or route is a logical router with an uplink; the
 * uplink's network may not overlap the network's own. */
static void check_network_ovn_router(Check *ctx, CnNetwork *net, const char *group)
{
    const char *forward = cn_forward_name(net->forward);
    if (net->forward == CN_FORWARD_OPEN) {
        REPORT(ctx, net->key_locs, &net->loc, group, "forward",
               "open is not available with technology = ovn (there is no host firewall to leave "
               "open): use route, or nat");
        return;
    }
    if (!cn_network_has_ovn_router(net)) {
        for (gsize i = 0; i < G_N_ELEMENTS(ovn_router_keys); i++)
            if (cn_key_is_set(net->key_locs, ovn_router_keys[i]))
                REPORT(ctx, net->key_locs, &net->loc, group, ovn_router_keys[i],
                       "applies only with forward = nat or route (a logical router; forward is %s)", forward);
        for (gsize i = 0; i < G_N_ELEMENTS(ovn_router_optional_keys); i++)
            if (cn_key_is_set(net->key_locs, ovn_router_optional_keys[i]))
                REPORT(ctx, net->key_locs, &net->loc, group, ovn_router_optional_keys[i],
                       "applies only with forward = nat or route (a logical router; forward is %s)", forward);
        return;
    }
    if (!net->has_v4)
        REPORT(ctx, net->key_locs, &net->loc, group, "forward",
               "forward = %s on technology = ovn is a logical router: needs v4.network", forward);
    for (gsize i = 0; i < G_N_ELEMENTS(ovn_router_keys); i++)
        if (!cn_key_is_set(net->key_locs, ovn_router_keys[i]))
            REPORT(ctx, net->key_locs, &net->loc, group, ovn_router_keys[i],
                   "required with forward = %s on technology = ovn: the logical router's uplink "
                   "(ovn.uplink the physical network its gateway chassis map with "
                   "ovn-bridge-mappings, ovn.uplink_address its address there, "
                   "ovn.gateway_chassis where it runs)", forward);
    if (!cn_key_is_set(net->key_locs, "ovn.uplink_address"))
        return;
    const CnV4Interface *up = &net->ovn_uplink_address;
    uint32_t up_network = up->address & cn_v4_netmask(up->prefix);
    g_autofree char *up_text = cn_v4_str(up->address);
    if (net->has_v4 && (cn_v4_in_network(net->v4_subnet.network, up_network, up->prefix) ||
                        cn_v4_in_network(up_network, net->v4_subnet.network, net->v4_subnet.prefix)))
        REPORT(ctx, net->key_locs, &net->loc, group, "ovn.uplink_address",
               "%s/%u overlaps v4.network: the router would have one network on both sides", up_text,
               up->prefix);
    if (cn_key_is_set(net->key_locs, "ovn.uplink_gateway") &&
        (!cn_v4_is_host(net->ovn_uplink_gateway, up_network, up->prefix) ||
         net->ovn_uplink_gateway == up->address)) {
        g_autofree char *gateway = cn_v4_str(net->ovn_uplink_gateway);
        REPORT(ctx, net->key_locs, &net->loc, group, "ovn.uplink_gateway",
               "%s is not another host address of ovn.uplink_address's network %s/%u", gateway, up_text,
               up->prefix);
    }
    GArray *chassis = net->ovn_gateway_chassis;
    for (guint i = 0; i < chassis->len; i++)
        for (guint j = 0; j < i; j++)
            if (strcmp(g_array_index(chassis, char *, i), g_array_index(chassis, char *, j)) == 0)
                REPORT(ctx, net->key_locs, &net->loc, group, "ovn.gateway_chassis", "'%s' is listed twice",
                       g_array_index(chassis, char *, i));
}

/* OVN: a logical switch; the northbound database it lives in, and what
 * OVN's switches do not do. */
static void check_network_ovn(Check *ctx, CnNetwork *net, const char *group)
{
    for (gsize i = 0; i < G_N_ELEMENTS(ovn_refused_keys); i++) {
        if (cn_key_is_set(net->key_locs, ovn_refused_keys[i]))
            REPORT(ctx, net->key_locs, &net->loc, group, ovn_refused_keys[i],
                   "not available with technology = ovn: a logical switch has no dnsmasq ranges "
                   "or IPv6 here (OVN answers DHCP for each port's own address)");
    }
    if (net->metadata && net->has_v4 && !net->v4_dhcp)
        REPORT(ctx, net->key_locs, &net->loc, group, "metadata",
               "metadata = true on technology = ovn needs v4.dhcp: guests learn the route to metadata.address "
               "from OVN's DHCP (option 121)");
    if (cn_key_is_set(net->key_locs, "metadata.handler"))
        REPORT(ctx, net->key_locs, &net->loc, group, "metadata.handler",
               "not available with technology = ovn: guests reach the metadata service on their own "
               "chassis at metadata.address (carthage-net metadata serve --ovn %s there)", net->name);
    check_network_ovn_router(ctx, net, group);
    const char *remote = net->ovn_northbound ? net->ovn_northbound : CN_OVN_NB_DEFAULT;
    if (g_str_has_prefix(remote, "ssl:")) {
        static const char *const tls_keys[] = { "ovn.private_key", "ovn.certificate", "ovn.ca_certificate" };
        for (gsize i = 0; i < G_N_ELEMENTS(tls_keys); i++) {
            if (!cn_key_is_set(net->key_locs, tls_keys[i]))
                REPORT(ctx, net->key_locs, &net->loc, group, tls_keys[i],
                       "required with ovn.northbound = %s (TLS: this host's key and certificate, "
                       "and the CA that signed the server's)", remote);
        }
    } else {
        static const char *const tls_keys[] = { "ovn.private_key", "ovn.certificate", "ovn.ca_certificate" };
        for (gsize i = 0; i < G_N_ELEMENTS(tls_keys); i++) {
            if (cn_key_is_set(net->key_locs, tls_keys[i]))
                REPORT(ctx, net->key_locs, &net->loc, group, tls_keys[i],
                       "applies only to an ssl: ovn.northbound (it is %s)", remote);
        }
    }
}

static void check_network_v4(Check *ctx, CnNetwork *net, const char *group)
{
    const CnV4Subnet *subnet = &net->v4_subnet;
    g_autofree char *cidr = NULL;

    if (!net->has_v4) {
        for (gsize i = 0; i < G_N_ELEMENTS(v4_dependent_keys); i++) {
            if (cn_key_is_set(net->key_locs, v4_dependent_keys[i]))
                REPORT(ctx, net->key_locs, &net->loc, group, v4_dependent_keys[i],
                       "needs v4.network");
        }
        if (net->metadata)
            REPORT(ctx, net->key_locs, &net->loc, group, "metadata",
                   "metadata = true needs v4.network: handlers listen on the network's gateway");
        return;
    }
    char network_text[CN_V4_STR_MAX];
    cn_v4_format(subnet->network, network_text);
    cidr = g_strdup_printf("%s/%u", network_text, subnet->prefix);

    if (subnet->prefix < 8 || subnet->prefix > 30) {
        REPORT(ctx, net->key_locs, &net->loc, group, "v4.network",
               "prefix /%u leaves no room for a gateway and guests; use /8 to /30",
               subnet->prefix);
        return;
    }
    if (!cn_v4_is_host(net->v4_gateway, subnet->network, subnet->prefix)) {
        g_autofree char *gw = cn_v4_str(net->v4_gateway);
        REPORT(ctx, net->key_locs, &net->loc, group, "v4.gateway",
               "%s is not a host address of v4.network %s", gw, cidr);
    }

    GArray *ranges = net->v4_dhcp_ranges;
    if (ranges->len > 0 && cn_key_is_set(net->key_locs, "v4.dhcp") && !net->v4_dhcp)
        REPORT(ctx, net->key_locs, &net->loc, group, "v4.dhcp_ranges",
               "given while v4.dhcp = false");
    for (guint i = 0; i < ranges->len; i++) {
        const CnV4Range *range = &g_array_index(ranges, CnV4Range, i);
        g_autofree char *first = cn_v4_str(range->first);
        g_autofree char *last = cn_v4_str(range->last);
        if (!cn_v4_is_host(range->first, subnet->network, subnet->prefix) ||
            !cn_v4_is_host(range->last, subnet->network, subnet->prefix)) {
            REPORT(ctx, net->key_locs, &net->loc, group, "v4.dhcp_ranges",
                   "range %s-%s is not inside the host addresses of v4.network %s", first, last,
                   cidr);
            continue;
        }
        if (net->v4_gateway >= range->first && net->v4_gateway <= range->last)
            REPORT(ctx, net->key_locs, &net->loc, group, "v4.dhcp_ranges",
                   "range %s-%s contains the gateway", first, last);
        for (guint j = 0; j < i; j++) {
            const CnV4Range *other = &g_array_index(ranges, CnV4Range, j);
            if (ranges_overlap(range->first, range->last, other->first, other->last)) {
                g_autofree char *other_first = cn_v4_str(other->first);
                g_autofree char *other_last = cn_v4_str(other->last);
                REPORT(ctx, net->key_locs, &net->loc, group, "v4.dhcp_ranges",
                       "ranges %s-%s and %s-%s overlap", other_first, other_last, first, last);
            }
        }
        if (net->has_v4_pool &&
            ranges_overlap(range->first, range->last, net->v4_pool.first, net->v4_pool.last))
            REPORT(ctx, net->key_locs, &net->loc, group, "v4.pool",
                   "overlaps v4.dhcp_ranges range %s-%s: dnsmasq would hand pool addresses to "
                   "other guests", first, last);
    }
    if (net->has_v4_pool && (!cn_v4_is_host(net->v4_pool.first, subnet->network, subnet->prefix) ||
                             !cn_v4_is_host(net->v4_pool.last, subnet->network, subnet->prefix))) {
        g_autofree char *first = cn_v4_str(net->v4_pool.first);
        g_autofree char *last = cn_v4_str(net->v4_pool.last);
        REPORT(ctx, net->key_locs, &net->loc, group, "v4.pool",
               "%s-%s is not inside the host addresses of v4.network %s", first, last, cidr);
    }
    if (net->v4_masquerade && net->forward != CN_FORWARD_NAT)
        REPORT(ctx, net->key_locs, &net->loc, group, "v4.masquerade",
               "v4.masquerade = true needs forward = nat (forward is %s)",
               cn_forward_name(net->forward));

    if (net->metadata) {
        if (cn_v4_in_network(net->metadata_address, subnet->network, subnet->prefix))
            REPORT(ctx, net->key_locs, &net->loc, group, "metadata.address",
                   "must be outside v4.network %s, or guests could hold it", cidr);
    }
    if (net->metadata_handler.set)
        check_handler_host(ctx, net->key_locs, &net->loc, group, net, net->metadata_handler.host);
}

/* IPv6 is pinned to each port's link-local and SLAAC (EUI-64) addresses
 * and its static one, so the on-link prefix must be a /64. */
static void check_network_v6(Check *ctx, CnNetwork *net, const char *group)
{
    if (!net->has_v6) {
        if (cn_key_is_set(net->key_locs, "v6.gateway"))
            REPORT(ctx, net->key_locs, &net->loc, group, "v6.gateway", "needs v6.network");
        return;
    }
    g_autofree char *prefix = cn_v6_str(&net->v6_subnet.network);
    static const CnV6Address link_local = { { 0xfe, 0x80 } };
    if (net->ipv6 == CN_IPV6_DROP)
        REPORT(ctx, net->key_locs, &net->loc, group, "v6.network",
               "needs ipv6 = pinned: this network drops guest IPv6%s",
               cn_key_is_set(net->key_locs, "ipv6") ? "" : " (the default on metadata networks)");
    if (net->v6_subnet.prefix != 64) {
        REPORT(ctx, net->key_locs, &net->loc, group, "v6.network",
               "must be a /64 (it is /%u): guests form SLAAC addresses in it, and carthage-net pins "
               "them by their EUI-64 interface identifiers", net->v6_subnet.prefix);
        return;
    }
    if (cn_v6_in_network(&net->v6_subnet.network, &link_local, 10) || net->v6_subnet.network.bytes[0] == 0xff)
        REPORT(ctx, net->key_locs, &net->loc, group, "v6.network",
               "%s/64 is link-local or multicast; give the network's own prefix", prefix);
    if (cn_network_serves_addresses(net) && cn_key_is_set(net->key_locs, "v6.gateway")) {
        g_autofree char *gateway = cn_v6_str(&net->v6_gateway);
        if (!cn_v6_in_network(&net->v6_gateway, &net->v6_subnet.network, 64) ||
            cn_v6_equal(&net->v6_gateway, &net->v6_subnet.network))
            REPORT(ctx, net->key_locs, &net->loc, group, "v6.gateway",
                   "%s is not a host address of v6.network %s/64", gateway, prefix);
    }
}

static void check_networks(Check *ctx)
{
    GPtrArray *networks = ctx->site->networks;
    for (guint i = 0; i < networks->len; i++) {
        CnNetwork *net = networks->pdata[i];
        if (cn_object_is_invalid(net->key_locs))
            continue;
        g_autofree char *group = cn_network_group(net);

        check_network_technology(ctx, net, group);
        if (cn_network_in_ovn(net))
            check_network_ovn(ctx, net, group);
        if (cn_network_has_ovn_router(net) && cn_key_is_set(net->key_locs, "ovn.uplink_address")) {
            /* Two routers answering for one address on the outside. */
            for (guint j = 0; j < i; j++) {
                const CnNetwork *other = networks->pdata[j];
                if (cn_network_has_ovn_router(other) && cn_key_is_set(other->key_locs, "ovn.uplink_address") &&
                    other->ovn_uplink_address.address == net->ovn_uplink_address.address)
                    REPORT(ctx, net->key_locs, &net->loc, group, "ovn.uplink_address",
                           "is also the uplink address of [network %s]", other->name);
            }
        }
        if (cn_network_serves_addresses(net))
            check_network_v4(ctx, net, group);
        if (cn_network_has_isolation(net))
            check_network_v6(ctx, net, group);
        for (guint j = 0; j < i; j++) {
            CnNetwork *other = networks->pdata[j];
            /* Open vSwitch VLAN networks share their bridge, and so may two
             * views of one host bridge; a bridge libvirt makes is its own. */
            if (net->bridge_name && other->bridge_name &&
                strcmp(net->bridge_name, other->bridge_name) == 0 &&
                (net->technology == CN_TECH_LIBVIRT || net->technology != other->technology))
                REPORT(ctx, net->key_locs, &net->loc, group, "bridge_name",
                       "bridge %s is also used by [network %s] (technology %s)", net->bridge_name,
                       other->name, cn_technology_name(other->technology));
        }
    }
}

/* Links */

/* One claim on an address within a network, to find duplicates. */
typedef struct {
    const CnLink *link;
    const char *key;
} AddressClaim;

static void claim_address(Check *ctx, GHashTable *claims, const CnLink *link, const char *key,
                          const char *group, uint32_t address)
{
    AddressClaim *previous = g_hash_table_lookup(claims, GUINT_TO_POINTER(address));
    if (previous) {
        g_autofree char *text = cn_v4_str(address);
        const CnLoc *where = cn_key_loc(previous->link->key_locs, previous->key, &previous->link->loc);
        REPORT(ctx, link->key_locs, &link->loc, group, key,
               "address %s is also claimed by [link %s %s] %s (%s:%d)", text,
               previous->link->machine_name, previous->link->iface, previous->key, where->file,
               where->line);
        return;
    }
    AddressClaim *claim = g_new(AddressClaim, 1);
    claim->link = link;
    claim->key = key;
    g_hash_table_insert(claims, GUINT_TO_POINTER(address), claim);
}

static void check_link_address(Check *ctx, const CnLink *link, const char *group, const char *key,
                               uint32_t address)
{
    const CnNetwork *net = link->net;
    g_autofree char *text = cn_v4_str(address);
    if (!cn_v4_is_host(address, net->v4_subnet.network, net->v4_subnet.prefix)) {
        char network_text[CN_V4_STR_MAX];
        cn_v4_format(net->v4_subnet.network, network_text);
        REPORT(ctx, link->key_locs, &link->loc, group, key,
               "%s is not a host address of [network %s] v4.network %s/%u", text, net->name,
               network_text, net->v4_subnet.prefix);
    } else if (address == net->v4_gateway) {
        REPORT(ctx, link->key_locs, &link->loc, group, key,
               "%s is the gateway of [network %s]", text, net->name);
    }
}

static void check_link_v6(Check *ctx, const CnLink *link, const char *group)
{
    const CnNetwork *net = link->net;
    g_autofree char *text = cn_v6_str(&link->v6_address);
    if (!net->has_v6) {
        REPORT(ctx, link->key_locs, &link->loc, group, "v6.address", "[network %s] has no v6.network",
               net->name);
        return;
    }
    g_autofree char *prefix = cn_v6_str(&net->v6_subnet.network);
    if (!cn_v6_in_network(&link->v6_address, &net->v6_subnet.network, net->v6_subnet.prefix) ||
        cn_v6_equal(&link->v6_address, &net->v6_subnet.network))
        REPORT(ctx, link->key_locs, &link->loc, group, "v6.address",
               "%s is not a host address of [network %s] v6.network %s/%u", text, net->name, prefix,
               net->v6_subnet.prefix);
    else if (cn_network_serves_addresses(net) && cn_v6_equal(&link->v6_address, &net->v6_gateway))
        REPORT(ctx, link->key_locs, &link->loc, group, "v6.address", "%s is the gateway of [network %s]",
               text, net->name);
}

static const char *const libvirt_link_keys[] = {
    "v4.address", "v4.public_address", "v4.secondary_addresses", "dns_name",
};

/* nftables' pinning of IPv6, which OVN ports do not have here. */
static const char *const ovn_refused_link_keys[] = {
    "v6.address",
};

/* A public address of a link on an OVN network: the router's uplink
 * answers ARP for it, so it is a host address of the uplink's network
 * other than the router's own and its gateway. */
static void check_ovn_public(Check *ctx, CnLink *link, const char *group, const char *key, uint32_t address)
{
    CnNetwork *net = link->net;
    if (!cn_network_has_ovn_router(net)) {
        REPORT(ctx, link->key_locs, &link->loc, group, key,
               "1:1 NAT on [network %s] (technology = ovn) needs its logical router: forward = nat or "
               "route (it is %s)", net->name, cn_forward_name(net->forward));
        return;
    }
    if (!cn_key_is_set(net->key_locs, "ovn.uplink_address"))
        return;
    const CnV4Interface *up = &net->ovn_uplink_address;
    g_autofree char *text = cn_v4_str(address);
    if (!cn_v4_is_host(address, up->address & cn_v4_netmask(up->prefix), up->prefix) ||
        address == up->address || address == net->ovn_uplink_gateway) {
        g_autofree char *up_text = cn_v4_str(up->address);
        REPORT(ctx, link->key_locs, &link->loc, group, key,
               "%s must be a free host address of [network %s] ovn.uplink_address's network %s/%u "
               "(not the router's, not ovn.uplink_gateway)", text, net->name, up_text, up->prefix);
    }
}

static void check_link_ovn(Check *ctx, CnLink *link, const char *group)
{
    CnNetwork *net = link->net;
    for (gsize i = 0; i < G_N_ELEMENTS(ovn_refused_link_keys); i++) {
        if (cn_key_is_set(link->key_locs, ovn_refused_link_keys[i]))
            REPORT(ctx, link->key_locs, &link->loc, group, ovn_refused_link_keys[i],
                   "not available on [network %s] (technology = ovn): the port's addresses are its "
                   "OVN addresses and port security, IPv4 only here", net->name);
    }
    if (net->has_v4 && link->v4_source == CN_V4_NONE)
        REPORT(ctx, link->key_locs, &link->loc, group, "v4.address",
               "required on [network %s] (technology = ovn) unless it has a v4.pool: OVN's port "
               "security lets a port send only from the addresses it is given", net->name);
    if (link->v4_public_address)
        check_ovn_public(ctx, link, group, "v4.public_address", link->v4_public_address);
    for (guint i = 0; i < link->v4_secondary->len; i++) {
        uint32_t address = g_array_index(link->v4_secondary, CnSecondaryAddress, i).public_address;
        if (address)
            check_ovn_public(ctx, link, group, "v4.secondary_addresses", address);
    }
}

static gboolean forward_allows_inbound(const CnNetwork *net)
{
    return net->forward == CN_FORWARD_ROUTE || net->forward == CN_FORWARD_OPEN;
}

static void check_link_net(Check *ctx, CnLink *link, const char *group, GHashTable *public_claims)
{
    CnNetwork *net = link->net;
    const char *tech = cn_technology_name(net->technology);

    if (!cn_network_serves_addresses(net)) {
        for (gsize i = 0; i < G_N_ELEMENTS(libvirt_link_keys); i++) {
            if (cn_key_is_set(link->key_locs, libvirt_link_keys[i]))
                REPORT(ctx, link->key_locs, &link->loc, group, libvirt_link_keys[i],
                       "applies only on technology = libvirt networks ([network %s] is %s)",
                       net->name, tech);
        }
    } else if (!net->has_v4) {
        for (gsize i = 0; i < G_N_ELEMENTS(libvirt_link_keys); i++) {
            if (cn_key_is_set(link->key_locs, libvirt_link_keys[i]))
                REPORT(ctx, link->key_locs, &link->loc, group, libvirt_link_keys[i],
                       "[network %s] has no v4.network", net->name);
        }
    } else {
        if (link->v4_source == CN_V4_STATIC)
            check_link_address(ctx, link, group, "v4.address", link->v4_address);
        for (guint i = 0; i < link->v4_secondary->len; i++)
            check_link_address(ctx, link, group, "v4.secondary_addresses",
                               g_array_index(link->v4_secondary, CnSecondaryAddress, i).private_address);
        gboolean has_public = link->v4_public_address != 0;
        for (guint i = 0; i < link->v4_secondary->len; i++)
            has_public |= g_array_index(link->v4_secondary, CnSecondaryAddress, i).public_address != 0;
        if (has_public && !forward_allows_inbound(net) && cn_network_in_libvirt(net))
            REPORT(ctx, link->key_locs, &link->loc, group,
                   link->v4_public_address ? "v4.public_address" : "v4.secondary_addresses",
                   "1:1 NAT needs forward = route or open on [network %s] (it is %s; libvirt's "
                   "NAT rules reject new inbound connections)", net->name,
                   cn_forward_name(net->forward));
        if (link->v4_public_address && link->v4_source == CN_V4_NONE)
            REPORT(ctx, link->key_locs, &link->loc, group, "v4.public_address",
                   "needs v4.address or a v4.pool on [network %s] to map to", net->name);
        if (link->dns_name && link->v4_source == CN_V4_NONE)
            REPORT(ctx, link->key_locs, &link->loc, group, "dns_name",
                   "needs v4.address or a v4.pool on [network %s] for the host record", net->name);
    }
    if (cn_network_in_ovn(net))
        check_link_ovn(ctx, link, group);
    else if (link->has_v6_address)
        check_link_v6(ctx, link, group);
    if (link->v4_public_address)
        claim_address(ctx, public_claims, link, "v4.public_address", group, link->v4_public_address);
    for (guint i = 0; i < link->v4_secondary->len; i++) {
        uint32_t address = g_array_index(link->v4_secondary, CnSecondaryAddress, i).public_address;
        if (address)
            claim_address(ctx, public_claims, link, "v4.secondary_addresses", group, address);
    }

    if (!cn_network_has_vlans(net)) {
        if (cn_key_is_set(link->key_locs, "allowed_vlans"))
            REPORT(ctx, link->key_locs, &link->loc, group, "allowed_vlans",
                   "trunk ports need technology = openvswitch ([network %s] is %s)", net->name, tech);
        if (cn_key_is_set(link->key_locs, "untagged_vlan"))
            REPORT(ctx, link->key_locs, &link->loc, group, "untagged_vlan",
                   "trunk ports need technology = openvswitch ([network %s] is %s)", net->name, tech);
    } else if (link->untagged_vlan && link->allowed_vlans->len == 0) {
        REPORT(ctx, link->key_locs, &link->loc, group, "untagged_vlan",
               "is the native VLAN of a trunk port: needs allowed_vlans");
    }

    if (link->pool_name && !(link->pool && cn_object_is_invalid(link->pool->key_locs))) {
        if (!link->pool)
            REPORT(ctx, link->key_locs, &link->loc, group, "pool", "unknown pool '%s'",
                   link->pool_name);
        else if (link->pool->net != net)
            REPORT(ctx, link->key_locs, &link->loc, group, "pool",
                   "[pool %s] serves network '%s', but this link joins '%s'", link->pool->name,
                   link->pool->net_name ? link->pool->net_name : "(none)", net->name);
    }
}

static void check_dns_names(Check *ctx, CnNetwork *net)
{
    g_autoptr(GHashTable) names = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = 0; i < net->links->len; i++) {
        CnLink *link = net->links->pdata[i];
        if (!link->dns_name)
            continue;
        CnLink *other = g_hash_table_lookup(names, link->dns_name);
        if (other) {
            g_autofree char *group = cn_link_group(link);
            REPORT(ctx, link->key_locs, &link->loc, group, "dns_name",
                   "'%s' is also the dns_name of [link %s %s] on [network %s]", link->dns_name,
                   other->machine_name, other->iface, net->name);
            continue;
        }
        g_hash_table_insert(names, link->dns_name, link);
    }
}

static void check_addresses_unique(Check *ctx, CnNetwork *net)
{
    g_autoptr(GHashTable) claims = g_hash_table_new_full(NULL, NULL, NULL, g_free);
    for (guint i = 0; i < net->links->len; i++) {
        CnLink *link = net->links->pdata[i];
        g_autofree char *group = cn_link_group(link);
        if (link->v4_source == CN_V4_STATIC)
            claim_address(ctx, claims, link, "v4.address", group, link->v4_address);
        for (guint j = 0; j < link->v4_secondary->len; j++)
            claim_address(ctx, claims, link, "v4.secondary_addresses", group,
                          g_array_index(link->v4_secondary, CnSecondaryAddress, j).private_address);
    }
}

static void check_v6_addresses_unique(Check *ctx, CnNetwork *net)
{
    g_autoptr(GHashTable) claims = g_hash_table_new(g_bytes_hash, g_bytes_equal);
    g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
    for (guint i = 0; i < net->links->len; i++) {
        CnLink *link = net->links->pdata[i];
        if (!link->has_v6_address || cn_object_is_invalid(link->key_locs))
            continue;
        GBytes *key = g_bytes_new(link->v6_address.bytes, 16);
        g_ptr_array_add(keys, key);
        const CnLink *other = g_hash_table_lookup(claims, key);
        if (other) {
            g_autofree char *group = cn_link_group(link);
            g_autofree char *text = cn_v6_str(&link->v6_address);
            const CnLoc *where = cn_key_loc(other->key_locs, "v6.address", &other->loc);
            REPORT(ctx, link->key_locs, &link->loc, group, "v6.address",
                   "address %s is also claimed by [link %s %s] v6.address (%s:%d)", text,
                   other->machine_name, other->iface, where->file, where->line);
            continue;
        }
        g_hash_table_insert(claims, key, link);
    }
}

static void check_links(Check *ctx)
{
    g_autoptr(GHashTable) macs = g_hash_table_new(g_int64_hash, g_int64_equal);
    g_autoptr(GHashTable) public_claims = g_hash_table_new_full(NULL, NULL, NULL, g_free);
    g_autoptr(GArray) mac_keys = g_array_sized_new(FALSE, FALSE, sizeof(gint64), ctx->site->links->len);
    g_array_set_size(mac_keys, ctx->site->links->len);

    for (guint i = 0; i < ctx->site->links->len; i++) {
        CnLink *link = ctx->site->links->pdata[i];
        if (cn_object_is_invalid(link->key_locs))
            continue;
        g_autofree char *group = cn_link_group(link);
        char mac_text[CN_MAC_STR_MAX];
        cn_mac_format(link->mac, mac_text);

        if (!link->net_name)
            REPORT(ctx, link->key_locs, &link->loc, group, "net",
                   "required: the network this link joins");
        else if (!link->net)
            REPORT(ctx, link->key_locs, &link->loc, group, "net", "unknown network '%s'",
                   link->net_name);

        static const uint8_t zero[6];
        if (cn_mac_is_multicast(link->mac) || memcmp(link->mac, zero, 6) == 0)
            REPORT(ctx, link->key_locs, &link->loc, group, "mac",
                   "%s is not a unicast address", mac_text);

        gint64 *key = &g_array_index(mac_keys, gint64, i);
        *key = 0;
        for (int b = 0; b < 6; b++)
            *key = (*key << 8) | link->mac[b];
        CnLink *other = g_hash_table_lookup(macs, key);
        if (other) {
            const CnLoc *where = cn_key_loc(other->key_locs, "mac", &other->loc);
            REPORT(ctx, link->key_locs, &link->loc, group, "mac",
                   "MAC %s collides with [link %s %s] (%s:%d)%s", mac_text, other->machine_name,
                   other->iface, where->file, where->line,
                   link->mac_explicit ? "" : "; set mac explicitly on one of them");
        } else {
            g_hash_table_insert(macs, key, link);
        }

        if (link->net && !cn_object_is_invalid(link->net->key_locs))
            check_link_net(ctx, link, group, public_claims);
    }
    for (guint i = 0; i < ctx->site->networks->len; i++) {
        CnNetwork *net = ctx->site->networks->pdata[i];
        if (cn_network_serves_addresses(net) && net->has_v4 &&
            !cn_object_is_invalid(net->key_locs)) {
            check_addresses_unique(ctx, net);
            check_dns_names(ctx, net);
        }
        if (net->has_v6 && !cn_object_is_invalid(net->key_locs))
            check_v6_addresses_unique(ctx, net);
    }
}

/* Machines */

static const char *const machine_metadata_keys[] = { "metadata.tokens", "metadata.hop_limit" };

/* metadata.tokens and metadata.hop_limit on a machine none of whose links
 * joins a metadata network. */
static void check_machine_metadata_keys(Check *ctx, CnMachine *machine)
{
    for (guint j = 0; j < machine->links->len; j++) {
        const CnLink *link = machine->links->pdata[j];
        if (!link->net || link->net->metadata)
            return;
    }
    g_autofree char *group = cn_machine_group(machine);
    for (gsize i = 0; i < G_N_ELEMENTS(machine_metadata_keys); i++)
        if (cn_key_is_set(machine->key_locs, machine_metadata_keys[i]))
            REPORT(ctx, machine->key_locs, &machine->loc, group, machine_metadata_keys[i],
                   "has no effect: no link of this machine joins a network with metadata = true");
}

/* Two machines that would be one libvirt domain: a domain_name that is
 * another machine's domain (its domain_name, else its NAME). */
static void check_domain_names(Check *ctx)
{
    g_autoptr(GHashTable) domains = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = 0; i < ctx->site->machines->len; i++) {
        CnMachine *machine = ctx->site->machines->pdata[i];
        if (!machine->domain_name)
            g_hash_table_insert(domains, machine->name, machine);
    }
    for (guint i = 0; i < ctx->site->machines->len; i++) {
        CnMachine *machine = ctx->site->machines->pdata[i];
        if (!machine->domain_name || cn_object_is_invalid(machine->key_locs))
            continue;
        const CnMachine *other = g_hash_table_lookup(domains, machine->domain_name);
        if (other) {
            g_autofree char *group = cn_machine_group(machine);
            REPORT(ctx, machine->key_locs, &machine->loc, group, "domain_name",
                   "'%s' is already the libvirt domain of [machine %s]", machine->domain_name, other->name);
            continue;
        }
        g_hash_table_insert(domains, machine->domain_name, machine);
    }
}

static void check_machines(Check *ctx)
{
    check_domain_names(ctx);
    for (guint i = 0; i < ctx->site->machines->len; i++) {
        CnMachine *machine = ctx->site->machines->pdata[i];
        if (cn_object_is_invalid(machine->key_locs))
            continue;
        check_machine_metadata_keys(ctx, machine);
        if (machine->metadata_handler_socket) {
            /* A socket handler serves the machine's user-mode guest
             * (render netdev --user); its TAP links keep the network's. */
            gboolean on_metadata_network = FALSE;
            for (guint j = 0; j < machine->links->len; j++) {
                const CnLink *link = machine->links->pdata[j];
                on_metadata_network |= link->net && link->net->metadata;
            }
            if (!on_metadata_network) {
                g_autofree char *group = cn_machine_group(machine);
                REPORT(ctx, machine->key_locs, &machine->loc, group, "metadata.handler",
                       "has no effect: no link of this machine joins a network with metadata = true");
            }
            continue;
        }
        if (!machine->metadata_handler.set)
            continue;
        g_autofree char *group = cn_machine_group(machine);
        gboolean on_metadata_network = FALSE, unknown = FALSE;
        for (guint j = 0; j < machine->links->len; j++) {
            CnLink *link = machine->links->pdata[j];
            CnNetwork *net = link->net;
            /* A link or network that failed to parse says nothing here. */
            if (!net || cn_object_is_invalid(net->key_locs) || cn_object_is_invalid(link->key_locs)) {
                unknown = TRUE;
                continue;
            }
            if (!net->metadata || !net->has_v4)
                continue;
            if (cn_network_in_ovn(net)) {
                REPORT(ctx, machine->key_locs, &machine->loc, group, "metadata.handler",
                       "not available for [link %s %s] on [network %s] (technology = ovn): guests there reach "
                       "the metadata service on their own chassis at metadata.address", link->machine_name,
                       link->iface, net->name);
                unknown = TRUE;
                continue;
            }
            on_metadata_network = TRUE;
            uint32_t host = machine->metadata_handler.host ? machine->metadata_handler.host
                                                           : net->v4_gateway;
            check_handler_host(ctx, machine->key_locs, &machine->loc, group, net, host);
        }
        if (!on_metadata_network && !unknown)
            REPORT(ctx, machine->key_locs, &machine->loc, group, "metadata.handler",
                   "has no effect: no link of this machine joins a network with metadata = true");
    }
}

/* Pools */

/* Two pools overlap when a TAP name could belong to both: one prefix is
 * the other followed only by digits. */
static gboolean prefixes_overlap(const char *a, const char *b)
{
    gsize la = strlen(a), lb = strlen(b);
    if (la > lb)
        return prefixes_overlap(b, a);
    if (strncmp(a, b, la) != 0)
        return FALSE;
    for (const char *p = b + la; *p; p++) {
        if (!g_ascii_isdigit(*p))
            return FALSE;
    }
    return TRUE;
}

static void check_pools(Check *ctx)
{
    GPtrArray *pools = ctx->site->pools;
    for (guint i = 0; i < pools->len; i++) {
        CnPool *pool = pools->pdata[i];
        if (cn_object_is_invalid(pool->key_locs))
            continue;
        g_autofree char *group = cn_pool_group(pool);

        if (!pool->size)
            REPORT(ctx, pool->key_locs, &pool->loc, group, "size",
                   "required: how many TAP devices to make (1-4096)");
        if (!pool->net_name)
            REPORT(ctx, pool->key_locs, &pool->loc, group, "net",
                   "required: the network whose bridge the TAPs join");
        else if (!pool->net)
            REPORT(ctx, pool->key_locs, &pool->loc, group, "net", "unknown network '%s'",
                   pool->net_name);
        else if (!cn_network_has_isolation(pool->net))
            REPORT(ctx, pool->key_locs, &pool->loc, group, "net",
                   "[network %s] is %s; pools join libvirt or bridge networks",
                   pool->net->name, cn_technology_name(pool->net->technology));
        if (!pool->prefix)
            continue;
        if (pool->size && strlen(pool->prefix) + decimal_digits(pool->size - 1) > CN_IFNAME_MAX)
            REPORT(ctx, pool->key_locs, &pool->loc, group, "prefix",
                   "'%s' plus %u digits exceeds %d characters for TAP names", pool->prefix,
                   decimal_digits(pool->size - 1), CN_IFNAME_MAX);
        for (guint j = 0; j < i; j++) {
            CnPool *other = pools->pdata[j];
            if (other->prefix && prefixes_overlap(pool->prefix, other->prefix))
                REPORT(ctx, pool->key_locs, &pool->loc, group, "prefix",
                       "TAP names '%sN' overlap those of [pool %s] ('%sN')", pool->prefix,
                       other->name, other->prefix);
        }
    }
}

void cn_defs_validate(CnSite *site, CnDiagList *diags)
{
    Check ctx = { site, diags };

    for (guint i = 0; i < site->networks->len; i++)
        network_defaults(site->networks->pdata[i]);
    for (guint i = 0; i < site->links->len; i++)
        link_defaults(site->links->pdata[i]);
    for (guint i = 0; i < site->pools->len; i++)
        pool_defaults(site->pools->pdata[i]);

    check_networks(&ctx);
    check_links(&ctx);
    check_machines(&ctx);
    check_pools(&ctx);
}
