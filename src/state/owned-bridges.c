/* owned-bridges.c - see owned-bridges.h */
#include <string.h>

#include "netaddr.h"
#include "owned-bridges.h"
#include "records.h"

#define BRIDGES_HEADER "carthage-net-bridges 1"

CnOwnedBridges *cn_owned_bridges_new(void)
{
    CnOwnedBridges *owned = g_new0(CnOwnedBridges, 1);
    owned->networks = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    return owned;
}

void cn_owned_bridges_free(CnOwnedBridges *owned)
{
    if (!owned)
        return;
    g_hash_table_unref(owned->networks);
    g_free(owned);
}

CnOwnedBridges *cn_owned_bridges_parse(const char *file, const char *text, gsize length,
                                       GError **error)
{
    g_autoptr(GPtrArray) records = cn_records_parse(file, text, length, BRIDGES_HEADER, error);
    if (!records)
        return NULL;
    g_autoptr(CnOwnedBridges) owned = cn_owned_bridges_new();
    for (guint i = 0; i < records->len; i++) {
        const CnRecord *record = records->pdata[i];
        char **words = record->words;
        if (g_strv_length(words) != 3 || strcmp(words[0], "bridge") != 0 ||
            !cn_ifname_is_valid(words[1]) || !cn_name_is_valid(words[2]) ||
            g_hash_table_contains(owned->networks, words[1])) {
            cn_records_set_error(error, file, record, "bridge NAME NETWORK, each bridge once");
            return NULL;
        }
        g_hash_table_insert(owned->networks, g_strdup(words[1]), g_strdup(words[2]));
    }
    return g_steal_pointer(&owned);
}

char *cn_owned_bridges_format(const CnOwnedBridges *owned)
{
    GString *out = g_string_new(BRIDGES_HEADER "\n");
    g_autoptr(GList) names = g_list_sort(g_hash_table_get_keys(owned->networks), (GCompareFunc)strcmp);
    for (GList *l = names; l; l = l->next)
        g_string_append_printf(out, "bridge %s %s\n", (char *)l->data,
                               (char *)g_hash_table_lookup(owned->networks, l->data));
    return g_string_free(out, FALSE);
}
