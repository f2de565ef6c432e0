/* pool-state.c - see pool-state.h */
#include <string.h>

#include "netaddr.h"
#include "pool-state.h"
#include "records.h"


#define POOL_HEADER "carthage-net-pool 1"

static void pool_tap_free(gpointer data)
{
    CnPoolTap *tap = data;
    g_free(tap->tap);
    g_free(tap->machine);
    g_free(tap);
}

CnPoolState *cn_pool_state_new(void)
{
    CnPoolState *state = g_new0(CnPoolState, 1);
    state->taps = g_ptr_array_new_with_free_func(pool_tap_free);
    return state;
}

void cn_pool_state_free(CnPoolState *state)
{
    if (!state)
        return;
    g_ptr_array_unref(state->taps);
    g_free(state);
}

CnPoolTap *cn_pool_state_add(CnPoolState *state, const char *tap)
{
    CnPoolTap *entry = g_new0(CnPoolTap, 1);
    entry->tap = g_strdup(tap);
    g_ptr_array_add(state->taps, entry);
    return entry;
}

char *cn_pool_state_file_name(const char *pool)
{
    return g_strconcat("pool-", pool, NULL);
}

#define POOL_USAGE "tap TAP HOLDER|- MAC|- SINCE, each TAP once"

static gboolean parse_record(CnPoolState *state, char **words)
{
    if (g_strv_length(words) != 5 || strcmp(words[0], "tap") != 0 || !cn_ifname_is_valid(words[1]))
        return FALSE;
    gboolean free_tap = strcmp(words[2], "-") == 0;
    if (!free_tap && !cn_dns_name_is_valid(words[2]))
        return FALSE;
    uint8_t mac[6];
    gboolean has_mac = strcmp(words[3], "-") != 0;
    if (has_mac && !cn_mac_parse(words[3], mac))
        return FALSE;
    guint64 since;
    if (!g_ascii_string_to_unsigned(words[4], 10, 0, G_MAXINT64, &since, NULL))
        return FALSE;
    for (guint i = 0; i < state->taps->len; i++) {
        if (strcmp(((CnPoolTap *)state->taps->pdata[i])->tap, words[1]) == 0)
            return FALSE;
    }
    CnPoolTap *tap = cn_pool_state_add(state, words[1]);
    tap->machine = free_tap ? NULL : g_strdup(words[2]);
    tap->has_mac = has_mac;
    if (has_mac)
        memcpy(tap->mac, mac, 6);
    tap->since = (gint64)since;
    return TRUE;
}

CnPoolState *cn_pool_state_parse(const char *file, const char *text, gsize length, GError **error)
{
    g_autoptr(GPtrArray) records = cn_records_parse(file, text, length, POOL_HEADER, error);
    if (!records)
        return NULL;
    g_autoptr(CnPoolState) state = cn_pool_state_new();
    for (guint i = 0; i < records->len; i++) {
        const CnRecord *record = records->pdata[i];
        if (!parse_record(state, record->words)) {
            cn_records_set_error(error, file, record, POOL_USAGE);
            return NULL;
        }
    }
    return g_steal_pointer(&state);
}

char *cn_pool_state_format(const CnPoolState *state)
{
    GString *out = g_string_new(POOL_HEADER "\n");
    for (guint i = 0; i < state->taps->len; i++) {
        const CnPoolTap *tap = state->taps->pdata[i];
        char mac[CN_MAC_STR_MAX] = "-";
        if (tap->has_mac)
            cn_mac_format(tap->mac, mac);
        g_string_append_printf(out, "tap %s %s %s %" G_GINT64_FORMAT "\n", tap->tap,
                               tap->machine ? tap->machine : "-", mac, tap->since);
    }
    return g_string_free(out, FALSE);
}

const CnPoolTap *cn_pool_state_find_held(const CnPoolState *state, const char *machine,
                                         const uint8_t mac[6])
{
    const CnPoolTap *without_mac = NULL;
    guint n_without_mac = 0;
    for (guint i = 0; i < state->taps->len; i++) {
        const CnPoolTap *tap = state->taps->pdata[i];
        if (!tap->machine || strcmp(tap->machine, machine) != 0)
            continue;
        if (tap->has_mac && memcmp(tap->mac, mac, 6) == 0)
            return tap;
        if (!tap->has_mac) {
            without_mac = tap;
            n_without_mac++;
        }
    }
    return n_without_mac == 1 ? without_mac : NULL;
}
