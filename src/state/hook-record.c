/* hook-record.c - see hook-record.h */
#include <string.h>

#include "hook-record.h"
#include "netaddr.h"
#include "records.h"

#define NETWORK_KIND "carthage-net-hook-network"
#define NETWORK_VERSION 2
#define NETWORK_USAGE "network NAME BRIDGE metadata|plain [masquerade] [handler=ADDRESS:PORT] [ipv6[=PREFIX/64]], once"
#define GUEST_USAGE "guest MACHINE IFACE MAC [A.B.C.D ...] [handler=ADDRESS:PORT]"
#define RETIRED_USAGE "retired A.B.C.D"

static void guest_free(gpointer data)
{
    CnHookGuest *guest = data;
    g_free(guest->machine);
    g_free(guest->iface);
    g_array_unref(guest->addresses);
    g_free(guest);
}

CnHookRecord *cn_hook_record_new(const char *name, const char *bridge)
{
    CnHookRecord *record = g_new0(CnHookRecord, 1);
    record->version = NETWORK_VERSION;
    record->name = g_strdup(name);
    record->bridge = g_strdup(bridge);
    record->guests = g_ptr_array_new_with_free_func(guest_free);
    record->retired = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    return record;
}

void cn_hook_record_free(CnHookRecord *record)
{
    if (!record)
        return;
    g_free(record->name);
    g_free(record->bridge);
    g_ptr_array_unref(record->guests);
    g_array_unref(record->retired);
    g_free(record);
}

char *cn_hook_record_file_name(const char *network)
{
    return g_strconcat("hook-network-", network, NULL);
}

CnHookGuest *cn_hook_record_add_guest(CnHookRecord *record, const char *machine, const char *iface,
                                      const uint8_t mac[6], const GArray *addresses, CnEndpoint handler)
{
    CnHookGuest *guest = g_new0(CnHookGuest, 1);
    guest->machine = g_strdup(machine);
    guest->iface = g_strdup(iface);
    memcpy(guest->mac, mac, 6);
    guest->addresses = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    if (addresses)
        g_array_append_vals(guest->addresses, addresses->data, addresses->len);
    guest->handler = handler;
    g_ptr_array_add(record->guests, guest);
    return guest;
}

const char *cn_hook_record_mac_owner(const CnHookRecord *record, const uint8_t mac[6])
{
    for (guint i = 0; i < record->guests->len; i++) {
        const CnHookGuest *guest = record->guests->pdata[i];
        if (memcmp(guest->mac, mac, 6) == 0)
            return guest->machine;
    }
    return NULL;
}

/* The "network" line's words; FALSE when they are not its shape. */
static gboolean parse_network_line(CnHookRecord *out, char **words)
{
    guint count = g_strv_length(words);
    if (count < 4 || strcmp(words[0], "network") != 0 || !cn_name_is_valid(words[1]) ||
        !cn_ifname_is_valid(words[2]) || (strcmp(words[3], "metadata") != 0 && strcmp(words[3], "plain") != 0))
        return FALSE;
    g_free(out->name);
    g_free(out->bridge);
    out->name = g_strdup(words[1]);
    out->bridge = g_strdup(words[2]);
    out->metadata = strcmp(words[3], "metadata") == 0;
    /* The optional words, each at most once, in this order. */
    guint i = 4;
    if (i < count && strcmp(words[i], "masquerade") == 0) {
        out->masquerade = TRUE;
        i++;
    }
    if (i < count && g_str_has_prefix(words[i], "handler=")) {
        if (!cn_endpoint_parse(words[i] + strlen("handler="), FALSE, &out->default_handler))
            return FALSE;
        i++;
    }
    if (i < count && out->version >= 2 && (strcmp(words[i], "ipv6") == 0 || g_str_has_prefix(words[i], "ipv6="))) {
        out->ipv6 = CN_IPV6_PINNED;
        if (words[i][4] == '=') {
            unsigned prefix;
            if (!cn_v6_cidr_parse(words[i] + 5, &out->v6_prefix, &prefix) || prefix != 64)
                return FALSE;
            out->has_v6_prefix = TRUE;
        }
        i++;
    }
    return i == count;
}

/* A "guest" line, checked whole; kept in OUT unless ONLY_MAC is set and
 * its MAC is another's (then nothing is allocated for it). */
static gboolean parse_guest_line(CnHookRecord *out, char **words, const uint8_t *only_mac)
{
    uint8_t mac[6];
    guint count = g_strv_length(words);
    if (count < 4 || !cn_dns_name_is_valid(words[1]) || !cn_ifname_is_valid(words[2]) || !cn_mac_parse(words[3], mac))
        return FALSE;
    CnEndpoint handler = { 0 };
    guint i = 4;
    for (uint32_t address; i < count && cn_v4_parse(words[i], &address); i++)
        ;
    guint addresses_end = i;
    if (i < count && g_str_has_prefix(words[i], "handler=")) {
        if (!cn_endpoint_parse(words[i] + strlen("handler="), FALSE, &handler))
            return FALSE;
        i++;
    }
    if (i != count)
        return FALSE;
    if (only_mac && memcmp(mac, only_mac, 6) != 0)
        return TRUE;
    CnHookGuest *guest = cn_hook_record_add_guest(out, words[1], words[2], mac, NULL, handler);
    for (guint a = 4; a < addresses_end; a++) {
        uint32_t address;
        cn_v4_parse(words[a], &address);
        g_array_append_val(guest->addresses, address);
    }
    return TRUE;
}

typedef enum {
    READ_ALL,          /* every line kept */
    READ_NETWORK_LINE, /* the "network" line, then stop */
    READ_ONE_MAC,      /* every line checked, the guests of one MAC kept */
} ReadScope;

typedef struct {
    const char *file;
    CnHookRecord *out;
    ReadScope scope;
    const uint8_t *mac; /* READ_ONE_MAC */
    gboolean seen_network;
} RecordReader;

static CnRecordsStep read_line(const CnRecord *record, gpointer data, GError **error)
{
    RecordReader *reader = data;
    CnHookRecord *out = reader->out;
    char **words = record->words;
    const char *usage = NETWORK_USAGE;
    gboolean ok;
    /* The network line first: a reader that needs only it stops there. */
    if (!reader->seen_network) {
        reader->seen_network = TRUE;
        ok = strcmp(words[0], "network") == 0 && parse_network_line(out, words);
        if (ok && reader->scope == READ_NETWORK_LINE)
            return CN_RECORDS_STOP;
    } else if (out->version >= 2 && strcmp(words[0], "guest") == 0) {
        usage = GUEST_USAGE;
        ok = parse_guest_line(out, words, reader->scope == READ_ONE_MAC ? reader->mac : NULL);
    } else if (out->version >= 2 && strcmp(words[0], "retired") == 0) {
        uint32_t address;
        usage = RETIRED_USAGE;
        ok = g_strv_length(words) == 2 && cn_v4_parse(words[1], &address);
        if (ok && reader->scope != READ_ONE_MAC)
            g_array_append_val(out->retired, address);
    } else {
        usage = out->version >= 2 ? GUEST_USAGE "' or '" RETIRED_USAGE : NETWORK_USAGE;
        ok = FALSE;
    }
    if (!ok) {
        cn_records_set_error(error, reader->file, record, usage);
        return CN_RECORDS_BAD;
    }
    return CN_RECORDS_NEXT;
}

static CnHookRecord *read_record(const char *file, const char *text, gsize length, ReadScope scope,
                                 const uint8_t *mac, GError **error)
{
    g_autoptr(CnHookRecord) out = cn_hook_record_new("", "");
    RecordReader reader = { file, out, scope, mac, FALSE };
    if (!cn_records_visit_versions(file, text, length, NETWORK_KIND, 1, NETWORK_VERSION, &out->version, read_line,
                                   &reader, error))
        return NULL;
    if (!reader.seen_network) {
        g_set_error(error, CN_RECORDS_ERROR, 0, "%s: expected exactly one '%s' line", file, NETWORK_USAGE);
        return NULL;
    }
    return g_steal_pointer(&out);
}

CnHookRecord *cn_hook_record_parse(const char *file, const char *text, gsize length, GError **error)
{
    return read_record(file, text, length, READ_ALL, NULL, error);
}

CnHookRecord *cn_hook_record_parse_network(const char *file, const char *text, gsize length, GError **error)
{
    return read_record(file, text, length, READ_NETWORK_LINE, NULL, error);
}

CnHookRecord *cn_hook_record_parse_mac(const char *file, const char *text, gsize length, const uint8_t mac[6],
                                       GError **error)
{
    return read_record(file, text, length, READ_ONE_MAC, mac, error);
}

static void append_addresses(GString *out, const GArray *addresses)
{
    for (guint i = 0; i < addresses->len; i++) {
        char address[CN_V4_STR_MAX];
        cn_v4_format(g_array_index(addresses, uint32_t, i), address);
        g_string_append_printf(out, " %s", address);
    }
}

static void append_handler(GString *out, CnEndpoint handler)
{
    char text[CN_ENDPOINT_STR_MAX];
    if (!handler.set)
        return;
    cn_endpoint_format(handler, text);
    g_string_append_printf(out, " handler=%s", text);
}

char *cn_hook_record_format(const CnHookRecord *record)
{
    GString *out = g_string_new(NULL);
    g_string_append_printf(out, NETWORK_KIND " %d\nnetwork %s %s %s%s", NETWORK_VERSION, record->name, record->bridge,
                           record->metadata ? "metadata" : "plain", record->masquerade ? " masquerade" : "");
    append_handler(out, record->default_handler);
    if (record->ipv6 == CN_IPV6_PINNED) {
        g_string_append(out, " ipv6");
        if (record->has_v6_prefix) {
            char prefix[CN_V6_STR_MAX];
            cn_v6_format(&record->v6_prefix, prefix);
            g_string_append_printf(out, "=%s/64", prefix);
        }
    }
    g_string_append_c(out, '\n');
    for (guint i = 0; i < record->guests->len; i++) {
        const CnHookGuest *guest = record->guests->pdata[i];
        char mac[CN_MAC_STR_MAX];
        cn_mac_format(guest->mac, mac);
        g_string_append_printf(out, "guest %s %s %s", guest->machine, guest->iface, mac);
        append_addresses(out, guest->addresses);
        append_handler(out, guest->handler);
        g_string_append_c(out, '\n');
    }
    for (guint i = 0; i < record->retired->len; i++) {
        char address[CN_V4_STR_MAX];
        cn_v4_format(g_array_index(record->retired, uint32_t, i), address);
        g_string_append_printf(out, "retired %s\n", address);
    }
    return g_string_free(out, FALSE);
}

#define PORTS_KIND "carthage-net-hook-domain"
#define PORTS_VERSION 2
#define PORTS_USAGE "port NETWORK TAP MAC [pinned] [ADDRESS ...]"

void cn_hook_port_free(CnHookPort *port)
{
    g_free(port->network);
    g_array_unref(port->addresses);
    g_array_unref(port->addresses6);
    g_free(port);
}

GPtrArray *cn_hook_ports_new(void)
{
    return g_ptr_array_new_with_free_func((GDestroyNotify)cn_hook_port_free);
}

CnHookPort *cn_hook_ports_add(GPtrArray *ports, const char *network, const char *tap, const uint8_t mac[6],
                              gboolean pinned, const GArray *addresses, const GArray *addresses6)
{
    CnHookPort *port = g_new0(CnHookPort, 1);
    port->network = g_strdup(network);
    g_strlcpy(port->tap, tap, sizeof port->tap);
    memcpy(port->mac, mac, 6);
    port->pinned = pinned;
    port->addresses = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    port->addresses6 = g_array_new(FALSE, FALSE, sizeof(CnV6Address));
    if (addresses)
        g_array_append_vals(port->addresses, addresses->data, addresses->len);
    if (addresses6)
        g_array_append_vals(port->addresses6, addresses6->data, addresses6->len);
    g_ptr_array_add(ports, port);
    return port;
}

char *cn_hook_ports_file_name(const char *domain)
{
    return g_strconcat("hook-domain-", domain, NULL);
}

GPtrArray *cn_hook_ports_parse(const char *file, const char *text, gsize length, GError **error)
{
    int version;
    g_autoptr(GPtrArray) records =
        cn_records_parse_versions(file, text, length, PORTS_KIND, 1, PORTS_VERSION, &version, error);
    if (!records)
        return NULL;
    g_autoptr(GPtrArray) ports = cn_hook_ports_new();
    for (guint i = 0; i < records->len; i++) {
        const CnRecord *record = records->pdata[i];
        char **words = record->words;
        uint8_t mac[6];
        g_autoptr(GArray) addresses = g_array_new(FALSE, FALSE, sizeof(uint32_t));
        g_autoptr(GArray) addresses6 = g_array_new(FALSE, FALSE, sizeof(CnV6Address));
        gboolean ok = g_strv_length(words) >= 4 && strcmp(words[0], "port") == 0 && cn_name_is_valid(words[1]) &&
                      cn_ifname_is_valid(words[2]) && cn_mac_parse(words[3], mac);
        guint j = 4;
        gboolean pinned = FALSE;
        if (ok && version >= 2 && words[j] && strcmp(words[j], "pinned") == 0) {
            pinned = TRUE;
            j++;
        }
        for (; ok && words[j]; j++) {
            uint32_t address;
            CnV6Address address6;
            if (cn_v4_parse(words[j], &address))
                g_array_append_val(addresses, address);
            else if (version >= 2 && cn_v6_parse(words[j], &address6))
                g_array_append_val(addresses6, address6);
            else
                ok = FALSE;
        }
        if (!ok) {
            cn_records_set_error(error, file, record, PORTS_USAGE);
            return NULL;
        }
        /* Version 1 did not say; its rendered guests had addresses. */
        if (version < 2)
            pinned = addresses->len > 0;
        cn_hook_ports_add(ports, words[1], words[2], mac, pinned, addresses, addresses6);
    }
    return g_steal_pointer(&ports);
}

char *cn_hook_ports_format(GPtrArray *ports)
{
    GString *out = g_string_new(NULL);
    g_string_append_printf(out, PORTS_KIND " %d\n", PORTS_VERSION);
    for (guint i = 0; i < ports->len; i++) {
        const CnHookPort *port = ports->pdata[i];
        char mac[CN_MAC_STR_MAX];
        cn_mac_format(port->mac, mac);
        g_string_append_printf(out, "port %s %s %s%s", port->network, port->tap, mac, port->pinned ? " pinned" : "");
        append_addresses(out, port->addresses);
        for (guint j = 0; j < port->addresses6->len; j++) {
            char address[CN_V6_STR_MAX];
            cn_v6_format(&g_array_index(port->addresses6, CnV6Address, j), address);
            g_string_append_printf(out, " %s", address);
        }
        g_string_append_c(out, '\n');
    }
    return g_string_free(out, FALSE);
}
