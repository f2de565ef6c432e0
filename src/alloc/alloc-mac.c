/* alloc-mac.c - default MACs hashed from machine and interface. */
#include <string.h>

#include "alloc.h"

/* SHA-256 of DOMAIN and the names, each with its NUL: the NULs keep
 * ("ab", "c") and ("a", "bc") apart. */
static void hash_names(const char *domain, const char *first, const char *second, guint8 digest[32])
{
    g_autoptr(GChecksum) checksum = g_checksum_new(G_CHECKSUM_SHA256);
    gsize length = 32;

    g_checksum_update(checksum, (const guchar *)domain, (gssize)strlen(domain) + 1);
    g_checksum_update(checksum, (const guchar *)first, (gssize)strlen(first) + 1);
    if (second)
        g_checksum_update(checksum, (const guchar *)second, (gssize)strlen(second) + 1);
    g_checksum_get_digest(checksum, digest, &length);
}

static void mac_from_digest(const guint8 digest[32], uint8_t mac[6])
{
    memcpy(mac, digest, 6);
    mac[0] = (uint8_t)((mac[0] & 0xfc) | 0x02); /* locally administered, unicast */
}

void cn_mac_for_link(const char *machine, const char *iface, uint8_t mac[6])
{
    guint8 digest[32];
    hash_names("carthage-net", machine, iface, digest);
    mac_from_digest(digest, mac);
}

void cn_ovn_dhcp_server_mac(const char *network, uint8_t mac[6])
{
    guint8 digest[32];
    hash_names("carthage-net ovn dhcp", network, NULL, digest);
    mac_from_digest(digest, mac);
}

void cn_ovn_metadata_mac(const char *network, uint8_t mac[6])
{
    guint8 digest[32];
    hash_names("carthage-net ovn metadata", network, NULL, digest);
    mac_from_digest(digest, mac);
}

void cn_ovn_uplink_mac(const char *network, uint8_t mac[6])
{
    guint8 digest[32];
    hash_names("carthage-net ovn uplink", network, NULL, digest);
    mac_from_digest(digest, mac);
}

void cn_ovn_nat_mac(const char *network, const char *public_address, uint8_t mac[6])
{
    guint8 digest[32];
    hash_names("carthage-net ovn nat", network, public_address, digest);
    mac_from_digest(digest, mac);
}

void cn_ovn_port_name(const char *machine, const char *iface, char out[CN_UUID_STR_MAX])
{
    guint8 d[32];
    hash_names("carthage-net ovn port", machine, iface, d);
    d[6] = (guint8)((d[6] & 0x0f) | 0x80); /* version 8: custom (RFC 9562) */
    d[8] = (guint8)((d[8] & 0x3f) | 0x80); /* variant 10 */
    g_snprintf(out, CN_UUID_STR_MAX,
               "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
               d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9], d[10], d[11], d[12], d[13],
               d[14], d[15]);
}

void cn_alloc_macs(CnSite *site)
{
    for (guint i = 0; i < site->links->len; i++) {
        CnLink *link = site->links->pdata[i];
        link->mac_explicit = cn_key_is_set(link->key_locs, "mac");
        if (!link->mac_explicit)
            cn_mac_for_link(link->machine_name, link->iface, link->mac);
    }
}
