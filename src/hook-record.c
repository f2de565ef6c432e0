/* hook-record.c - see hook-record.h */
#include <string.h>

#include "hook-record.h"
#include "netaddr.h"
#include "records.h"

#define HOOK_HEADER "carthage-net-hook-network 1"
#define HOOK_USAGE "network NAME BRIDGE metadata|plain [masquerade] [handler=ADDRESS:PORT], once"

void cn_hook_record_free(CnHookRecord *record)
{
    if (!record)
        return;
    g_free(record->name);
    g_free(record->bridge);
    g_free(record);
}

char *cn_hook_record_file_name(const char *network)
{
    return g_strconcat("hook-network-", network, NULL);
}

CnHookRecord *cn_hook_record_parse(const char *file, const char *text, gsize length, GError **error)
{
    g_autoptr(GPtrArray) records = cn_records_parse(file, text, length, HOOK_HEADER, error);
    if (!records)
        return NULL;
    if (records->len != 1) {
        g_set_error(error, CN_RECORDS_ERROR, 0, "%s: expected exactly one '%s' line", file, HOOK_USAGE);
        return NULL;
    }
    const CnRecord *record = records->pdata[0];
    char **words = record->words;
    guint count = g_strv_length(words);
    gboolean masquerade = FALSE;
    CnEndpoint handler = { 0 };
    gboolean ok = count >= 4 && count <= 6 && strcmp(words[0], "network") == 0 && cn_name_is_valid(words[1]) &&
                  cn_ifname_is_valid(words[2]) &&
                  (strcmp(words[3], "metadata") == 0 || strcmp(words[3], "plain") == 0);
    /* The optional words, each at most once, in this order. */
    guint i = 4;
    if (ok && i < count && strcmp(words[i], "masquerade") == 0) {
        masquerade = TRUE;
        i++;
    }
    if (ok && i < count && g_str_has_prefix(words[i], "handler=") &&
        cn_endpoint_parse(words[i] + strlen("handler="), FALSE, &handler))
        i++;
    if (!ok || i != count) {
        cn_records_set_error(error, file, record, HOOK_USAGE);
        return NULL;
    }
    CnHookRecord *out = g_new0(CnHookRecord, 1);
    out->name = g_strdup(words[1]);
    out->bridge = g_strdup(words[2]);
    out->metadata = strcmp(words[3], "metadata") == 0;
    out->masquerade = masquerade;
    out->default_handler = handler;
    return out;
}

char *cn_hook_record_format(const CnHookRecord *record)
{
    char handler[CN_ENDPOINT_STR_MAX] = "";
    if (record->default_handler.set)
        cn_endpoint_format(record->default_handler, handler);
    return g_strdup_printf(HOOK_HEADER "\nnetwork %s %s %s%s%s%s\n", record->name, record->bridge,
                           record->metadata ? "metadata" : "plain", record->masquerade ? " masquerade" : "",
                           handler[0] ? " handler=" : "", handler);
}

#define PORTS_HEADER "carthage-net-hook-domain 1"
#define PORTS_USAGE "port NETWORK TAP MAC [A.B.C.D ...]"

static void port_free(gpointer data)
{
    CnHookPort *port = data;
    g_free(port->network);
    g_array_unref(port->addresses);
    g_free(port);
}

GPtrArray *cn_hook_ports_new(void)
{
    return g_ptr_array_new_with_free_func(port_free);
}

void cn_hook_ports_add(GPtrArray *ports, const char *network, const char *tap, const uint8_t mac[6],
                       const GArray *addresses)
{
    CnHookPort *port = g_new0(CnHookPort, 1);
    port->network = g_strdup(network);
    g_strlcpy(port->tap, tap, sizeof port->tap);
    memcpy(port->mac, mac, 6);
    port->addresses = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    if (addresses)
        g_array_append_vals(port->addresses, addresses->data, addresses->len);
    g_ptr_array_add(ports, port);
}

char *cn_hook_ports_file_name(const char *domain)
{
    return g_strconcat("hook-domain-", domain, NULL);
}

GPtrArray *cn_hook_ports_parse(const char *file, const char *text, gsize length, GError **error)
{
    g_autoptr(GPtrArray) records = cn_records_parse(file, text, length, PORTS_HEADER, error);
    if (!records)
        return NULL;
    g_autoptr(GPtrArray) ports = cn_hook_ports_new();
    for (guint i = 0; i < records->len; i++) {
        const CnRecord *record = records->pdata[i];
        char **words = record->words;
        uint8_t mac[6];
        g_autoptr(GArray) addresses = g_array_new(FALSE, FALSE, sizeof(uint32_t));
        gboolean ok = g_strv_length(words) >= 4 && strcmp(words[0], "port") == 0 && cn_name_is_valid(words[1]) &&
                      cn_ifname_is_valid(words[2]) && cn_mac_parse(words[3], mac);
        for (guint j = 4; ok && words[j]; j++) {
            uint32_t address;
            ok = cn_v4_parse(words[j], &address);
            g_array_append_val(addresses, address);
        }
        if (!ok) {
            cn_records_set_error(error, file, record, PORTS_USAGE);
            return NULL;
        }
        cn_hook_ports_add(ports, words[1], words[2], mac, addresses);
    }
    return g_steal_pointer(&ports);
}

char *cn_hook_ports_format(GPtrArray *ports)
{
    GString *out = g_string_new(PORTS_HEADER "\n");
    for (guint i = 0; i < ports->len; i++) {
        const CnHookPort *port = ports->pdata[i];
        char mac[CN_MAC_STR_MAX];
        cn_mac_format(port->mac, mac);
        g_string_append_printf(out, "port %s %s %s", port->network, port->tap, mac);
        for (guint j = 0; j < port->addresses->len; j++) {
            char address[CN_V4_STR_MAX];
            cn_v4_format(g_array_index(port->addresses, uint32_t, j), address);
            g_string_append_printf(out, " %s", address);
        }
        g_string_append_c(out, '\n');
    }
    return g_string_free(out, FALSE);
}
