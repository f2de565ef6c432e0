/* nft-isolation.c - the engine's view of a network and its guests, built
 * from the model (the helper) or from libvirt's XML and the hook's records
 * (the hook).  See nft.h for the policy and docs/isolation.md for the
 * ruleset (nft-ruleset.c). */
#include <string.h>

#include "netaddr.h"
#include "nft.h"

CnIsoNetwork *cn_iso_network_new(const char *name, const char *bridge)
{
    CnIsoNetwork *net = g_new0(CnIsoNetwork, 1);
    net->name = g_strdup(name);
    net->bridge = g_strdup(bridge);
    net->ethertypes = g_array_new(FALSE, FALSE, sizeof(uint16_t));
    net->reservations = g_array_new(FALSE, FALSE, sizeof(CnIsoReservation));
    net->retired = g_array_new(FALSE, FALSE, sizeof(uint32_t));
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
    g_array_unref(net->ethertypes);
    g_array_unref(net->reservations);
    g_array_unref(net->retired);
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
    guest->addresses6 = g_array_new(FALSE, FALSE, sizeof(CnV6Address));
    return guest;
}

void cn_iso_guest_free(CnIsoGuest *guest)
{
    if (!guest)
        return;
    g_array_unref(guest->addresses);
    g_array_unref(guest->addresses6);
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
    iso->ipv6 = net->ipv6;
    iso->has_v6_prefix = net->has_v6;
    iso->v6_prefix = net->v6_subnet.network;
    iso->broadcast_limit = net->broadcast_limit;
    g_array_append_vals(iso->ethertypes, net->allowed_ethertypes->data, net->allowed_ethertypes->len);
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

static void add_v6(GArray *addresses, const CnV6Address *address)
{
    for (guint i = 0; i < addresses->len; i++) {
        if (cn_v6_equal(&g_array_index(addresses, CnV6Address, i), address))
            return;
    }
    g_array_append_val(addresses, *address);
}

void cn_iso_guest_add_v6(CnIsoGuest *guest, const CnIsoNetwork *net, const CnV6Address *static_address)
{
    if (net->ipv6 != CN_IPV6_PINNED)
        return;
    CnV6Address address;
    cn_v6_eui64(NULL, guest->mac, &address);
    add_v6(guest->addresses6, &address);
    if (net->has_v6_prefix) {
        cn_v6_eui64(&net->v6_prefix, guest->mac, &address);
        add_v6(guest->addresses6, &address);
    }
    if (static_address)
        add_v6(guest->addresses6, static_address);
}

CnIsoGuest *cn_iso_guest_from_link(const CnLink *link, const char *tap)
{
    CnIsoGuest *guest = cn_iso_guest_new(tap, link->mac);
    if (link->v4_source != CN_V4_NONE && link->v4_address)
        g_array_append_val(guest->addresses, link->v4_address);
    for (guint i = 0; i < link->v4_secondary->len; i++)
        g_array_append_val(guest->addresses,
                           g_array_index(link->v4_secondary, CnSecondaryAddress, i).private_address);
    /* Pinned to the addresses carthage-net gave it; a link it gave none
     * (a host bridge's, a DHCP range's) may use any nobody reserved. */
    guest->rendered = guest->addresses->len > 0;
    if (link->net && link->net->metadata)
        guest->handler = cn_link_metadata_handler(link);
    if (link->net && link->net->ipv6 == CN_IPV6_PINNED) {
        CnIsoNetwork view = { .ipv6 = CN_IPV6_PINNED, .has_v6_prefix = link->net->has_v6,
                              .v6_prefix = link->net->v6_subnet.network };
        cn_iso_guest_add_v6(guest, &view, link->has_v6_address ? &link->v6_address : NULL);
    }
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
