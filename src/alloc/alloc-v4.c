/* alloc-v4.c - stable addresses from each network's v4.pool. */
#include <string.h>

#include "alloc.h"
#include "defs.h"
#include "netaddr.h"
#include "records.h"


static void assignment_free(gpointer data)
{
    CnV4Assignment *a = data;
    g_free(a->network);
    g_free(a->machine);
    g_free(a->iface);
    g_free(a);
}

CnAssignments *cn_assignments_new(void)
{
    CnAssignments *assignments = g_new0(CnAssignments, 1);
    assignments->items = g_ptr_array_new_with_free_func(assignment_free);
    return assignments;
}

void cn_assignments_free(CnAssignments *assignments)
{
    if (!assignments)
        return;
    g_ptr_array_unref(assignments->items);
    g_free(assignments);
}

void cn_assignments_add(CnAssignments *assignments, const char *network, const char *machine,
                        const char *iface, uint32_t address)
{
    CnV4Assignment *a = g_new0(CnV4Assignment, 1);
    a->network = g_strdup(network);
    a->machine = g_strdup(machine);
    a->iface = g_strdup(iface);
    a->address = address;
    g_ptr_array_add(assignments->items, a);
}

const CnV4Assignment *cn_assignments_find(const CnAssignments *assignments, const char *network,
                                          const char *machine, const char *iface)
{
    if (!assignments)
        return NULL;
    for (guint i = 0; i < assignments->items->len; i++) {
        const CnV4Assignment *a = assignments->items->pdata[i];
        if (strcmp(a->network, network) == 0 && strcmp(a->machine, machine) == 0 &&
            strcmp(a->iface, iface) == 0)
            return a;
    }
    return NULL;
}

gboolean cn_assignments_equal(const CnAssignments *a, const CnAssignments *b)
{
    if (a->items->len != b->items->len)
        return FALSE;
    for (guint i = 0; i < a->items->len; i++) {
        const CnV4Assignment *x = a->items->pdata[i];
        const CnV4Assignment *y = b->items->pdata[i];
        if (strcmp(x->network, y->network) || strcmp(x->machine, y->machine) ||
            strcmp(x->iface, y->iface) || x->address != y->address)
            return FALSE;
    }
    return TRUE;
}

#define ASSIGNMENTS_HEADER "carthage-net-assignments 1"
#define ASSIGNMENTS_USAGE "v4 NETWORK MACHINE IFACE ADDRESS"

CnAssignments *cn_assignments_parse(const char *file, const char *text, gsize length, GError **error)
{
    g_autoptr(GPtrArray) records = cn_records_parse(file, text, length, ASSIGNMENTS_HEADER, error);
    if (!records)
        return NULL;
    g_autoptr(CnAssignments) assignments = cn_assignments_new();
    for (guint i = 0; i < records->len; i++) {
        const CnRecord *record = records->pdata[i];
        char **words = record->words;
        uint32_t address;
        if (g_strv_length(words) != 5 || strcmp(words[0], "v4") != 0 || !cn_name_is_valid(words[1]) ||
            !cn_dns_name_is_valid(words[2]) || !cn_ifname_is_valid(words[3]) ||
            !cn_v4_parse(words[4], &address)) {
            cn_records_set_error(error, file, record, ASSIGNMENTS_USAGE);
            return NULL;
        }
        if (cn_assignments_find(assignments, words[1], words[2], words[3])) {
            cn_records_set_error(error, file, record, ASSIGNMENTS_USAGE " once per link");
            return NULL;
        }
        cn_assignments_add(assignments, words[1], words[2], words[3], address);
    }
    return g_steal_pointer(&assignments);
}

char *cn_assignments_format(const CnAssignments *assignments)
{
    GString *out = g_string_new(ASSIGNMENTS_HEADER "\n");
    for (guint i = 0; i < assignments->items->len; i++) {
        const CnV4Assignment *a = assignments->items->pdata[i];
        char address[CN_V4_STR_MAX];
        cn_v4_format(a->address, address);
        g_string_append_printf(out, "v4 %s %s %s %s\n", a->network, a->machine, a->iface, address);
    }
    return g_string_free(out, FALSE);
}

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
        if (net->technology == CN_TECH_LIBVIRT && net->has_v4 && net->has_v4_pool)
            allocate_network(net, previous, next, diags);
    }
    return next;
}
