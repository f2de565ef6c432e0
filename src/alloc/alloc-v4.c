/* alloc-v4.c - stable addresses from each network's v4.pool. */
#include <string.h>

#include "alloc.h"
#include "defs.h"
#include "netaddr.h"


/* Where a link starts looking in its pool: a hash of its names, so that
 * the result does not depend on the order links are processed in. */
static uint32_t preferred_offset(const CnLink *link, uint32_t size)
{
    uint8_t hash[6];
    cn_mac_for_link(link->machine_name, link->iface, hash);
    uint32_t value = (uint32_t)hash[2] << 24 | (uint32_t)hash[3] << 16 | (uint32_t)hash[4] << 8 | hash[5];
    return value % size;
}

static void reserve_fixed_addresses(const CnNetwork *net, GHashTable *taken)
{
    g_hash_table_add(taken, GUINT_TO_POINTER(net->v4_gateway));
    for (guint i = 0; i < net->links->len; i++) {
        const CnLink *link = net->links->pdata[i];
        if (link->v4_source == CN_V4_STATIC)
            g_hash_table_add(taken, GUINT_TO_POINTER(link->v4_address));
        for (guint j = 0; j < link->v4_secondary->len; j++)
            g_hash_table_add(taken, GUINT_TO_POINTER(
                g_array_index(link->v4_secondary, CnSecondaryAddress, j).private_address));
    }
}

static gboolean is_usable(const CnNetwork *net, GHashTable *taken, uint32_t address)
{
    return address >= net->v4_pool.first && address <= net->v4_pool.last &&
           cn_v4_is_host(address, net->v4_subnet.network, net->v4_subnet.prefix) &&
           !g_hash_table_contains(taken, GUINT_TO_POINTER(address));
}

static void allocate_network(CnNetwork *net, const CnAssignments *previous, CnAssignments *next,
                             CnDiagList *diags)
{
    g_autoptr(GHashTable) taken = g_hash_table_new(NULL, NULL);
    uint32_t size = net->v4_pool.last - net->v4_pool.first + 1;
    guint exhausted = 0;

    reserve_fixed_addresses(net, taken);

    /* Existing assignments first, so newcomers never displace them. */
    for (guint i = 0; i < net->links->len; i++) {
        CnLink *link = net->links->pdata[i];
        if (link->v4_source != CN_V4_POOL)
            continue;
        const CnV4Assignment *old = cn_assignments_find(previous, net->name, link->machine_name, link->iface);
        if (old && is_usable(net, taken, old->address)) {
            link->v4_address = old->address;
            g_hash_table_add(taken, GUINT_TO_POINTER(old->address));
        }
    }
    for (guint i = 0; i < net->links->len; i++) {
        CnLink *link = net->links->pdata[i];
        if (link->v4_source != CN_V4_POOL || link->v4_address)
            continue;
        uint32_t start = preferred_offset(link, size);
        for (uint32_t probe = 0; probe < size; probe++) {
            uint32_t candidate = net->v4_pool.first + (start + probe) % size;
            if (is_usable(net, taken, candidate)) {
                link->v4_address = candidate;
                g_hash_table_add(taken, GUINT_TO_POINTER(candidate));
                break;
            }
        }
        if (!link->v4_address)
            exhausted++;
    }
    if (exhausted) {
        g_autofree char *group = cn_network_group(net);
        g_autofree char *first = cn_v4_str(net->v4_pool.first);
        g_autofree char *last = cn_v4_str(net->v4_pool.last);
        cn_diag_add(diags, cn_key_loc(net->key_locs, "v4.pool", &net->loc), group, "v4.pool",
                    "%s-%s is exhausted: %u more link(s) need an address", first, last, exhausted);
    }
    for (guint i = 0; i < net->links->len; i++) {
        CnLink *link = net->links->pdata[i];
        if (link->v4_source == CN_V4_POOL && link->v4_address)
            cn_assignments_add(next, net->name, link->machine_name, link->iface, link->v4_address);
    }
}

CnAssignments *cn_alloc_v4(CnSite *site, const CnAssignments *previous, CnDiagList *diags)
{
    CnAssignments *next = cn_assignments_new();
    /* Networks are sorted by name and their links by machine and iface, so
     * NEXT comes out sorted. */
    for (guint i = 0; i < site->networks->len; i++) {
        CnNetwork *net = site->networks->pdata[i];
        /* OVN's pool addresses are the fleet's: given out in its northbound
         * database (src/ovn), never from this host's state. */
        if (cn_network_serves_addresses(net) && cn_network_in_libvirt(net) && net->has_v4 && net->has_v4_pool)
            allocate_network(net, previous, next, diags);
    }
    return next;
}
