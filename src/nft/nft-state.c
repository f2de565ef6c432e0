/* nft-state.c - what a network's tables hold against what they must hold,
 * element by element, and the one batch that brings them in step. */
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <string.h>

#include "netaddr.h"
#include "nft-batch.h"
#include "nft-expr.h"
#include "nft-private.h"

/* Formatting, as `nft list` shows elements */

static void append_ifname(GString *out, const uint8_t *bytes)
{
    g_autofree char *name = g_strndup((const char *)bytes, CN_NFT_IFNAME_LEN);
    g_string_append_printf(out, "\"%s\"", name);
}

static void append_mac(GString *out, const uint8_t *bytes)
{
    char mac[CN_MAC_STR_MAX];
    cn_mac_format(bytes, mac);
    g_string_append(out, mac);
}

static uint32_t be32_at(const uint8_t *bytes)
{
    return (uint32_t)bytes[0] << 24 | (uint32_t)bytes[1] << 16 | (uint32_t)bytes[2] << 8 | bytes[3];
}

static void append_ipv4(GString *out, const uint8_t *bytes)
{
    char text[CN_V4_STR_MAX];
    cn_v4_format(be32_at(bytes), text);
    g_string_append(out, text);
}

static void append_ipv6(GString *out, const uint8_t *bytes)
{
    CnV6Address address;
    char text[CN_V6_STR_MAX];
    memcpy(address.bytes, bytes, 16);
    cn_v6_format(&address, text);
    g_string_append(out, text);
}

static void append_endpoint(GString *out, const uint8_t *bytes)
{
    append_ipv4(out, bytes);
    g_string_append_printf(out, " . %u", (unsigned)(bytes[4] << 8 | bytes[5]));
}

static int set_id_of(const char *set)
{
    for (int id = CN_SET_PORTS; id <= CN_SET_LAST; id++) {
        if (strcmp(cn_nft_sets[id].name, set) == 0)
            return id;
    }
    return 0;
}

static void append_key(GString *out, int id, const CnNftElement *element)
{
    const uint8_t *k = element->key;
    switch (id) {
    case CN_SET_PORTS:
    case CN_SET_PINNED_IP:
    case CN_SET_STORM:
        append_ifname(out, k);
        break;
    case CN_SET_PORT_MAC:
        append_ifname(out, k);
        g_string_append(out, " . ");
        append_mac(out, k + CN_NFT_IFNAME_LEN);
        break;
    case CN_SET_PORT_IP6:
        append_ifname(out, k);
        g_string_append(out, " . ");
        append_ipv6(out, k + CN_NFT_IFNAME_LEN);
        break;
    case CN_SET_RESERVED:
        append_ipv4(out, k);
        g_string_append(out, " . ");
        append_mac(out, k + CN_NFT_IPV4_LEN);
        break;
    case CN_SET_RESERVED_ADDR:
    case CN_SET_PUB2PRIV:
    case CN_SET_PRIV2PUB:
        append_ipv4(out, k);
        break;
    case CN_SET_ETHERTYPES:
        g_string_append_printf(out, "0x%04x", (unsigned)(k[0] << 8 | k[1]));
        break;
    case CN_SET_HANDLERS:
        append_mac(out, k);
        break;
    case CN_SET_HANDLER_ENDPOINTS:
        append_endpoint(out, k);
        break;
    default:
        for (guint i = 0; i < element->key_len; i++)
            g_string_append_printf(out, "%02x", k[i]);
    }
}

static void append_data(GString *out, int id, const CnNftElement *element)
{
    if (id == CN_SET_HANDLERS)
        append_endpoint(out, element->data);
    else if (id == CN_SET_PUB2PRIV || id == CN_SET_PRIV2PUB)
        append_ipv4(out, element->data);
}

static char *format_element(int id, const CnNftElement *element, gboolean with_data)
{
    GString *out = g_string_new(NULL);
    append_key(out, id, element);
    if (with_data && cn_nft_sets[id].data_len) {
        g_string_append(out, " : ");
        append_data(out, id, element);
    }
    return g_string_free(out, FALSE);
}

char *cn_nft_element_format(const char *set, const CnNftElement *element)
{
    return format_element(set_id_of(set), element, TRUE);
}

/* Comparing */

struct CnNftSnapshot {
    CnNftShape shape;
    gboolean tables_exist[2];
    CnNftElements elements;
};
typedef CnNftSnapshot Snapshot;

void cn_nft_snapshot_free(CnNftSnapshot *snapshot)
{
    if (!snapshot)
        return;
    cn_nft_shape_clear(&snapshot->shape);
    cn_nft_elements_clear(&snapshot->elements);
    g_free(snapshot);
}

CnNftSnapshot *cn_nft_snapshot_read(const char *network, GError **error)
{
    g_autofree char *table = cn_nft_table_name(network);
    static const uint32_t families[2] = { NFPROTO_BRIDGE, NFPROTO_INET };
    g_autoptr(CnNftSnapshot) snapshot = g_new0(CnNftSnapshot, 1);
    for (int i = 0; i < 2; i++) {
        snapshot->shape.tables[i].chains = g_ptr_array_new_with_free_func(g_free);
        snapshot->shape.tables[i].rules = g_ptr_array_new_with_free_func(g_free);
        if (!cn_nft_read_table(table, families[i], &snapshot->tables_exist[i], &snapshot->shape.tables[i], error))
            return NULL;
    }
    for (int id = CN_SET_PORTS; id <= CN_SET_LAST; id++) {
        const CnNftSetSpec *spec = &cn_nft_sets[id];
        gboolean exists;
        if (spec->dynamic || !snapshot->tables_exist[spec->family == NFPROTO_BRIDGE ? 0 : 1])
            continue;
        if (!cn_nft_read_set(table, spec->family, spec->name, &snapshot->elements.sets[id], &exists, error))
            return NULL;
        if (!exists)
            g_clear_pointer(&snapshot->elements.sets[id], g_array_unref);
    }
    return g_steal_pointer(&snapshot);
}

/* "CHAIN: comment" lists in chain order, each chain's rules in order. */
static gint by_chain(gconstpointer a, gconstpointer b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    gsize lx = strcspn(x, ":"), ly = strcspn(y, ":");
    int c = strncmp(x, y, MIN(lx, ly));
    return c ? c : (int)lx - (int)ly;
}

static GPtrArray *sorted_copy(GPtrArray *items, GCompareFunc compare)
{
    GPtrArray *copy = g_ptr_array_new();
    for (guint i = 0; i < items->len; i++)
        g_ptr_array_add(copy, items->pdata[i]);
    /* g_ptr_array_sort is a merge sort: stable, so rules keep their order
     * within a chain. */
    g_ptr_array_sort(copy, compare);
    return copy;
}

static gint by_string(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void compare_tables(const CnIsoNetwork *net, const CnNftShape *wanted, const Snapshot *kernel, GPtrArray *out)
{
    g_autofree char *table = cn_nft_table_name(net->name);
    static const char *const family_names[2] = { "bridge", "inet" };
    for (int i = 0; i < 2; i++) {
        gboolean want = i == 0 || wanted->has_inet;
        if (!want) {
            if (kernel->tables_exist[i])
                g_ptr_array_add(out, g_strdup_printf("table %s %s: not needed by the definitions", family_names[i],
                                                     table));
            continue;
        }
        if (!kernel->tables_exist[i]) {
            g_ptr_array_add(out, g_strdup_printf("table %s %s: missing", family_names[i], table));
            continue;
        }
        const CnNftTableShape *w = &wanted->tables[i], *k = &kernel->shape.tables[i];
        if (g_strcmp0(w->comment, k->comment) != 0)
            g_ptr_array_add(out, g_strdup_printf("table %s %s: made for other definitions or by another version "
                                                 "(\"%s\", must be \"%s\")",
                                                 family_names[i], table, k->comment ? k->comment : "no comment",
                                                 w->comment));
        g_autoptr(GPtrArray) want_chains = sorted_copy(w->chains, by_string);
        g_autoptr(GPtrArray) have_chains = sorted_copy(k->chains, by_string);
        for (guint a = 0, b = 0; a < want_chains->len || b < have_chains->len;) {
            int c = a == want_chains->len   ? 1
                    : b == have_chains->len ? -1
                                            : strcmp(want_chains->pdata[a], have_chains->pdata[b]);
            if (c < 0)
                g_ptr_array_add(out, g_strdup_printf("table %s %s: chain %s missing", family_names[i], table,
                                                     (char *)want_chains->pdata[a++]));
            else if (c > 0)
                g_ptr_array_add(out, g_strdup_printf("table %s %s: chain %s not made by carthage-net",
                                                     family_names[i], table, (char *)have_chains->pdata[b++]));
            else
                a++, b++;
        }
        g_autoptr(GPtrArray) want_rules = sorted_copy(w->rules, by_chain);
        g_autoptr(GPtrArray) have_rules = sorted_copy(k->rules, by_chain);
        gboolean same = want_rules->len == have_rules->len;
        for (guint r = 0; same && r < want_rules->len; r++)
            same = strcmp(want_rules->pdata[r], have_rules->pdata[r]) == 0;
        if (same)
            continue;
        /* Name what is missing and what is extra, as sets of lines. */
        g_autoptr(GHashTable) have = g_hash_table_new(g_str_hash, g_str_equal);
        g_autoptr(GHashTable) wanted_set = g_hash_table_new(g_str_hash, g_str_equal);
        for (guint r = 0; r < have_rules->len; r++)
            g_hash_table_add(have, have_rules->pdata[r]);
        for (guint r = 0; r < want_rules->len; r++)
            g_hash_table_add(wanted_set, want_rules->pdata[r]);
        guint named = 0;
        for (guint r = 0; r < want_rules->len; r++) {
            if (!g_hash_table_contains(have, want_rules->pdata[r]) && ++named)
                g_ptr_array_add(out, g_strdup_printf("table %s %s: rule missing in chain %s", family_names[i], table,
                                                     (char *)want_rules->pdata[r]));
        }
        for (guint r = 0; r < have_rules->len; r++) {
            if (!g_hash_table_contains(wanted_set, have_rules->pdata[r]) && ++named)
                g_ptr_array_add(out, g_strdup_printf("table %s %s: rule not made by carthage-net in chain %s",
                                                     family_names[i], table, (char *)have_rules->pdata[r]));
        }
        if (!named)
            g_ptr_array_add(out, g_strdup_printf("table %s %s: rules out of order", family_names[i], table));
    }
}

static gboolean same_key(const CnNftElement *a, const CnNftElement *b)
{
    return a->key_len == b->key_len && memcmp(a->key, b->key, a->key_len) == 0;
}

static gboolean same_data(const CnNftElement *a, const CnNftElement *b)
{
    return a->data_len == b->data_len && memcmp(a->data, b->data, a->data_len) == 0;
}

static const CnNftElement *find_key(GArray *elements, const CnNftElement *element)
{
    for (guint i = 0; elements && i < elements->len; i++) {
        const CnNftElement *candidate = &g_array_index(elements, CnNftElement, i);
        if (same_key(candidate, element))
            return candidate;
    }
    return NULL;
}

static void element_drift_free(gpointer data)
{
    CnNftElementDrift *item = data;
    g_free(item->element);
    g_free(item->actual);
    g_free(item);
}

/* What an element says of its guest: its port, its MAC. */
static void describe_guest(CnNftElementDrift *item, int id, const CnNftElement *element)
{
    const uint8_t *k = element->key;
    switch (id) {
    case CN_SET_PORTS:
    case CN_SET_PINNED_IP:
    case CN_SET_PORT_MAC:
    case CN_SET_PORT_IP6:
        memcpy(item->port, k, MIN(sizeof item->port - 1, (gsize)CN_NFT_IFNAME_LEN));
        if (id == CN_SET_PORT_MAC) {
            memcpy(item->mac, k + CN_NFT_IFNAME_LEN, 6);
            item->has_mac = TRUE;
        }
        break;
    case CN_SET_RESERVED:
        memcpy(item->mac, k + CN_NFT_IPV4_LEN, 6);
        item->has_mac = TRUE;
        break;
    case CN_SET_HANDLERS:
        memcpy(item->mac, k, 6);
        item->has_mac = TRUE;
        break;
    default:
        break;
    }
}

static void add_element_drift(GPtrArray *out, CnNftChange change, int id, const CnNftElement *wanted,
                              const CnNftElement *kernel)
{
    CnNftElementDrift *item = g_new0(CnNftElementDrift, 1);
    item->change = change;
    item->set = cn_nft_sets[id].name;
    item->set_id = id;
    item->per_port = cn_nft_sets[id].per_port;
    if (wanted)
        item->wanted = *wanted;
    if (kernel)
        item->kernel = *kernel;
    item->element = format_element(id, wanted ? wanted : kernel, TRUE);
    if (change == CN_NFT_CHANGED) {
        GString *value = g_string_new(NULL);
        append_data(value, id, kernel);
        item->actual = g_string_free(value, FALSE);
    }
    describe_guest(item, id, wanted ? wanted : kernel);
    g_ptr_array_add(out, item);
}

static void compare_elements(const CnNftElements *wanted, const CnNftElements *kernel, const gboolean tables[2],
                             gboolean network_wide_only, GPtrArray *out)
{
    for (int id = CN_SET_PORTS; id <= CN_SET_LAST; id++) {
        const CnNftSetSpec *spec = &cn_nft_sets[id];
        /* A missing table is said once, not element by element. */
        if (spec->dynamic || (network_wide_only && spec->per_port) ||
            !tables[spec->family == NFPROTO_BRIDGE ? 0 : 1])
            continue;
        GArray *want = wanted->sets[id], *have = kernel->sets[id];
        /* Duplicates in WANT (two guests reserving one address for one
         * MAC) are one element in the kernel. */
        g_autoptr(GArray) seen = g_array_new(FALSE, FALSE, sizeof(CnNftElement));
        for (guint i = 0; want && i < want->len; i++) {
            const CnNftElement *element = &g_array_index(want, CnNftElement, i);
            if (find_key(seen, element))
                continue;
            g_array_append_val(seen, *element);
            const CnNftElement *found = find_key(have, element);
            if (!found)
                add_element_drift(out, CN_NFT_MISSING, id, element, NULL);
            else if (spec->data_len && !same_data(found, element))
                add_element_drift(out, CN_NFT_CHANGED, id, element, found);
        }
        for (guint i = 0; have && i < have->len; i++) {
            const CnNftElement *element = &g_array_index(have, CnNftElement, i);
            /* An extra element a dump shows twice is one element to
             * delete: deleting it twice in one batch fails the batch. */
            if (!find_key(seen, element)) {
                add_element_drift(out, CN_NFT_EXTRA, id, NULL, element);
                g_array_append_val(seen, *element);
            }
        }
    }
}

static void expected_elements(const CnIsoNetwork *net, GPtrArray *guests, CnNftElements *elements)
{
    cn_nft_network_elements(elements, net);
    for (guint i = 0; guests && i < guests->len; i++) {
        cn_nft_port_elements(elements, guests->pdata[i], FALSE);
        cn_nft_guest_network_elements(elements, net, guests->pdata[i]);
    }
}

CnNftDrift *cn_nft_snapshot_compare(const CnNftSnapshot *kernel, const CnIsoNetwork *net, GPtrArray *guests,
                                    gboolean network_wide_only)
{
    CnNftShape wanted;
    cn_nft_shape_build(net, &wanted);
    CnNftElements elements = { { 0 } };
    expected_elements(net, guests, &elements);

    CnNftDrift *drift = g_new0(CnNftDrift, 1);
    drift->bridge_table = kernel->tables_exist[0];
    drift->tables = g_ptr_array_new_with_free_func(g_free);
    drift->elements = g_ptr_array_new_with_free_func(element_drift_free);
    compare_tables(net, &wanted, kernel, drift->tables);
    gboolean tables[2] = { kernel->tables_exist[0], kernel->tables_exist[1] && wanted.has_inet };
    compare_elements(&elements, &kernel->elements, tables, network_wide_only, drift->elements);
    cn_nft_elements_clear(&elements);
    cn_nft_shape_clear(&wanted);
    return drift;
}

CnNftSnapshot *cn_nft_snapshot_expected(const CnIsoNetwork *net, GPtrArray *guests)
{
    CnNftSnapshot *snapshot = g_new0(CnNftSnapshot, 1);
    cn_nft_shape_build(net, &snapshot->shape);
    snapshot->tables_exist[0] = TRUE;
    snapshot->tables_exist[1] = snapshot->shape.has_inet;
    expected_elements(net, guests, &snapshot->elements);
    /* The kernel keeps one of each element. */
    for (int id = CN_SET_PORTS; id <= CN_SET_LAST; id++) {
        GArray *list = snapshot->elements.sets[id];
        for (guint i = 0; list && i < list->len; i++) {
            for (guint j = list->len; j-- > i + 1;) {
                if (same_key(&g_array_index(list, CnNftElement, i), &g_array_index(list, CnNftElement, j)))
                    g_array_remove_index(list, j);
            }
        }
        if (!snapshot->tables_exist[cn_nft_sets[id].family == NFPROTO_BRIDGE ? 0 : 1])
            g_clear_pointer(&snapshot->elements.sets[id], g_array_unref);
    }
    return snapshot;
}

CnNftElements *cn_nft_snapshot_elements(CnNftSnapshot *snapshot)
{
    return &snapshot->elements;
}

CnNftShape *cn_nft_snapshot_shape(CnNftSnapshot *snapshot)
{
    return &snapshot->shape;
}

CnNftDrift *cn_nft_drift(const CnIsoNetwork *net, GPtrArray *guests, gboolean network_wide_only, GError **error)
{
    g_autoptr(CnNftSnapshot) kernel = cn_nft_snapshot_read(net->name, error);
    return kernel ? cn_nft_snapshot_compare(kernel, net, guests, network_wide_only) : NULL;
}

void cn_nft_drift_free(CnNftDrift *drift)
{
    if (!drift)
        return;
    g_ptr_array_unref(drift->tables);
    g_ptr_array_unref(drift->elements);
    g_free(drift);
}

gboolean cn_nft_drift_is_empty(const CnNftDrift *drift)
{
    return drift->tables->len == 0 && drift->elements->len == 0;
}

char *cn_nft_element_drift_describe(const CnNftElementDrift *item)
{
    switch (item->change) {
    case CN_NFT_MISSING:
        return g_strdup_printf("set %s: missing %s", item->set, item->element);
    case CN_NFT_EXTRA:
        return g_strdup_printf("set %s: extra %s", item->set, item->element);
    case CN_NFT_CHANGED:
    default:
        return g_strdup_printf("set %s: %s (the kernel has %s)", item->set, item->element, item->actual);
    }
}

gboolean cn_nft_converge(const CnIsoNetwork *net, const CnNftDrift *drift, GError **error)
{
    if (drift->elements->len == 0)
        return TRUE;
    g_autoptr(CnNftBatch) batch = cn_nft_batch_new();
    g_autofree char *table = cn_nft_table_name(net->name);
    CnNftElements removed = { { 0 } }, added = { { 0 } };
    for (guint i = 0; i < drift->elements->len; i++) {
        const CnNftElementDrift *item = drift->elements->pdata[i];
        const CnNftElement *kernel = &item->kernel, *wanted = &item->wanted;
        if (item->change != CN_NFT_MISSING)
            cn_nft_elements_add(&removed, item->set_id, kernel->key, kernel->key_len, kernel->data, kernel->data_len);
        if (item->change != CN_NFT_EXTRA)
            cn_nft_elements_add(&added, item->set_id, wanted->key, wanted->key_len, wanted->data, wanted->data_len);
    }
    /* Removals are added first, as the kernel has them, so that one gone
     * meanwhile does not fail the batch; a changed map element goes
     * before its new value comes. */
    cn_nft_elements_to_batch(&removed, table, NFT_MSG_NEWSETELEM, batch);
    cn_nft_elements_to_batch(&removed, table, NFT_MSG_DELSETELEM, batch);
    cn_nft_elements_to_batch(&added, table, NFT_MSG_NEWSETELEM, batch);
    cn_nft_elements_clear(&removed);
    cn_nft_elements_clear(&added);
    return cn_nft_batch_commit(batch, error);
}
