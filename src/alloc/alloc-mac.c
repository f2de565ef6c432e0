/* alloc-mac.c - default MACs hashed from machine and interface. */
#include <string.h>

#include "alloc.h"

void cn_mac_for_link(const char *machine, const char *iface, uint8_t mac[6])
{
    g_autoptr(GChecksum) checksum = g_checksum_new(G_CHECKSUM_SHA256);
    guint8 digest[32];
    gsize length = sizeof digest;

    /* The NULs keep ("ab", "c") and ("a", "bc") apart. */
    g_checksum_update(checksum, (const guchar *)"carthage-net", sizeof "carthage-net");
    g_checksum_update(checksum, (const guchar *)machine, strlen(machine) + 1);
    g_checksum_update(checksum, (const guchar *)iface, strlen(iface) + 1);
    g_checksum_get_digest(checksum, digest, &length);

    memcpy(mac, digest, 6);
    mac[0] = (uint8_t)((mac[0] & 0xfc) | 0x02); /* locally administered, unicast */
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
