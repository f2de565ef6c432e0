/* outbound.c - see outbound.h: the record and the events (pure). */
#include <string.h>

#include "hook-record.h"
#include "netaddr.h"
#include "outbound.h"
#include "records.h"

#define OUTBOUND_HEADER "carthage-net-outbound 1"
#define OUTBOUND_USAGE "address A.B.C.D [DEVICE] or address none, once"

gboolean cn_outbound_parse(const char *file, const char *text, gsize length, CnOutbound *outbound,
                           GError **error)
{
    memset(outbound, 0, sizeof *outbound);
    g_autoptr(GPtrArray) records = cn_records_parse(file, text, length, OUTBOUND_HEADER, error);
    if (!records)
        return FALSE;
    if (records->len != 1) {
        g_set_error(error, CN_RECORDS_ERROR, 0, "%s: expected exactly one '%s' line", file, OUTBOUND_USAGE);
        return FALSE;
    }
    const CnRecord *record = records->pdata[0];
    char **words = record->words;
    guint count = g_strv_length(words);
    gboolean none = count == 2 && strcmp(words[1], "none") == 0;
    gboolean ok = count >= 2 && count <= 3 && strcmp(words[0], "address") == 0 &&
                  (none || cn_v4_parse(words[1], &outbound->address)) &&
                  (count == 2 || (!none && cn_ifname_is_valid(words[2])));
    if (!ok) {
        memset(outbound, 0, sizeof *outbound);
        cn_records_set_error(error, file, record, OUTBOUND_USAGE);
        return FALSE;
    }
    if (count == 3)
        g_strlcpy(outbound->device, words[2], sizeof outbound->device);
    return TRUE;
}

char *cn_outbound_format(const CnOutbound *outbound)
{
    if (!outbound->address)
        return g_strdup(OUTBOUND_HEADER "\naddress none\n");
    char address[CN_V4_STR_MAX];
    cn_v4_format(outbound->address, address);
    return g_strdup_printf(OUTBOUND_HEADER "\naddress %s%s%s\n", address, outbound->device[0] ? " " : "",
                           outbound->device);
}

CnEvent *cn_event_public_address(const char *machine, const char *network, uint32_t address,
                                 uint32_t public_address, const char *nat, const char *device)
{
    char private_text[CN_V4_STR_MAX], public_text[CN_V4_STR_MAX];
    cn_v4_format(address, private_text);
    cn_v4_format(public_address, public_text);
    CnEvent *event = cn_event_new("public_address");
    cn_event_add_string(event, "machine", machine);
    cn_event_add_string(event, "network", network ? network : "");
    cn_event_add_string(event, "address", private_text);
    cn_event_add_string(event, "public_address", public_text);
    cn_event_add_string(event, "nat", nat);
    if (device && device[0])
        cn_event_add_string(event, "device", device);
    return event;
}

void cn_outbound_port_events(GPtrArray *events, const char *domain, GPtrArray *ports, GHashTable *masquerading,
                             const CnOutbound *outbound)
{
    if (!outbound->address)
        return;
    for (guint i = 0; i < ports->len; i++) {
        const CnHookPort *port = ports->pdata[i];
        if (!g_hash_table_lookup(masquerading, port->network))
            continue;
        for (guint j = 0; j < port->addresses->len; j++)
            g_ptr_array_add(events, cn_event_public_address(domain, port->network,
                                                            g_array_index(port->addresses, uint32_t, j),
                                                            outbound->address, "masquerade", outbound->device));
    }
}
