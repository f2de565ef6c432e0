/* defs-parse.c - CnRawDefs -> CnSite: group kinds and typed keys.
 *
 * Each group kind has one table of keys; each key names its type and the
 * field it fills.  Adding a key is one line here plus its rules in
 * defs-validate.c.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "defs.h"
#include "netaddr.h"
#include "ovsdb-remote.h"

typedef enum {
    V_NAME,        /* [A-Za-z0-9_.-]{1,64} */
    V_IFNAME,      /* Linux interface name */
    V_DNS_NAME,
    V_WORD,        /* [A-Za-z0-9_.-]+: models, users, groups */
    V_BOOL,
    V_UINT,
    V_TECHNOLOGY,
    V_FORWARD,
    V_V4,
    V_V4_SUBNET,
    V_V4_RANGE,
    V_V4_RANGES,
    V_V4_LIST,
    V_ENDPOINT,
    V_MAC,
    V_VLAN_RANGES,
    V_SECONDARIES,
    V_IPV6_MODE,
    V_V6,
    V_V6_SUBNET,
    V_ETHERTYPES,
    V_OVSDB_REMOTE, /* unix:PATH, tcp:HOST[:PORT], ssl:HOST[:PORT] */
    V_PATH,         /* an absolute file name */
    V_V4_INTERFACE, /* A.B.C.D/N: an address and its network's prefix */
    V_WORDS,        /* WORD;WORD;... */
    V_TOKEN_MODE,   /* optional, required */
    V_MACHINE_HANDLER, /* [HOST:]PORT, or /PATH of a UNIX socket: [machine] metadata.handler only */
} ValueType;

typedef struct {
    const char *key;
    ValueType type;
    size_t offset;
    size_t width; /* V_UINT: sizeof the field */
    uint32_t min, max;
} KeySpec;

#define FIELD(type, field) offsetof(type, field), sizeof(((type *)0)->field)
#define KEY(obj, name, vtype, field) { name, vtype, FIELD(obj, field), 0, 0 }
#define UINT_KEY(obj, name, field, lo, hi) { name, V_UINT, FIELD(obj, field), lo, hi }

static const KeySpec network_keys[] = {
    UINT_KEY(CnNetwork, "vlan_id", vlan_id, 1, 4094),
    KEY(CnNetwork, "technology", V_TECHNOLOGY, technology),
    KEY(CnNetwork, "bridge_name", V_IFNAME, bridge_name),
    KEY(CnNetwork, "delete_bridge", V_BOOL, delete_bridge),
    KEY(CnNetwork, "forward", V_FORWARD, forward),
    UINT_KEY(CnNetwork, "mtu", mtu, 68, 65535),
    KEY(CnNetwork, "isolate_guests", V_BOOL, isolate_guests),
    KEY(CnNetwork, "metadata", V_BOOL, metadata),
    KEY(CnNetwork, "metadata.address", V_V4, metadata_address),
    UINT_KEY(CnNetwork, "metadata.port", metadata_port, 1, 65535),
    KEY(CnNetwork, "metadata.hostname", V_DNS_NAME, metadata_hostname),
    KEY(CnNetwork, "metadata.handler", V_ENDPOINT, metadata_handler),
    KEY(CnNetwork, "metadata.tokens", V_TOKEN_MODE, metadata_tokens),
    UINT_KEY(CnNetwork, "metadata.hop_limit", metadata_hop_limit, 1, 64),
    KEY(CnNetwork, "v4.network", V_V4_SUBNET, v4_subnet),
    KEY(CnNetwork, "v4.gateway", V_V4, v4_gateway),
    KEY(CnNetwork, "v4.dhcp", V_BOOL, v4_dhcp),
    KEY(CnNetwork, "v4.dhcp_ranges", V_V4_RANGES, v4_dhcp_ranges),
    KEY(CnNetwork, "v4.dns_servers", V_V4_LIST, v4_dns_servers),
    KEY(CnNetwork, "v4.domains", V_DNS_NAME, v4_domain),
    KEY(CnNetwork, "v4.masquerade", V_BOOL, v4_masquerade),
    KEY(CnNetwork, "v4.pool", V_V4_RANGE, v4_pool),
    KEY(CnNetwork, "ipv6", V_IPV6_MODE, ipv6),
    KEY(CnNetwork, "v6.network", V_V6_SUBNET, v6_subnet),
    KEY(CnNetwork, "v6.gateway", V_V6, v6_gateway),
    KEY(CnNetwork, "allowed_ethertypes", V_ETHERTYPES, allowed_ethertypes),
    UINT_KEY(CnNetwork, "broadcast_limit", broadcast_limit, 0, 1000000),
    KEY(CnNetwork, "ovn.northbound", V_OVSDB_REMOTE, ovn_northbound),
    KEY(CnNetwork, "ovn.private_key", V_PATH, ovn_private_key),
    KEY(CnNetwork, "ovn.certificate", V_PATH, ovn_certificate),
    KEY(CnNetwork, "ovn.ca_certificate", V_PATH, ovn_ca_certificate),
    KEY(CnNetwork, "ovn.uplink", V_WORD, ovn_uplink),
    KEY(CnNetwork, "ovn.uplink_address", V_V4_INTERFACE, ovn_uplink_address),
    KEY(CnNetwork, "ovn.uplink_gateway", V_V4, ovn_uplink_gateway),
    KEY(CnNetwork, "ovn.gateway_chassis", V_WORDS, ovn_gateway_chassis),
    KEY(CnNetwork, "ovn.distributed_nat", V_BOOL, ovn_distributed_nat),
};

static const KeySpec machine_keys[] = {
    KEY(CnMachine, "domain_name", V_DNS_NAME, domain_name),
    KEY(CnMachine, "metadata.handler", V_MACHINE_HANDLER, metadata_handler),
    KEY(CnMachine, "metadata.tokens", V_TOKEN_MODE, metadata_tokens),
    UINT_KEY(CnMachine, "metadata.hop_limit", metadata_hop_limit, 1, 64),
};

static const KeySpec link_keys[] = {
    KEY(CnLink, "net", V_NAME, net_name),
    KEY(CnLink, "mac", V_MAC, mac),
    KEY(CnLink, "model", V_WORD, model),
    UINT_KEY(CnLink, "mtu", mtu, 68, 65535),
    KEY(CnLink, "v4.address", V_V4, v4_address),
    KEY(CnLink, "v4.public_address", V_V4, v4_public_address),
    KEY(CnLink, "v4.secondary_addresses", V_SECONDARIES, v4_secondary),
    KEY(CnLink, "v6.address", V_V6, v6_address),
    KEY(CnLink, "dns_name", V_DNS_NAME, dns_name),
    UINT_KEY(CnLink, "untagged_vlan", untagged_vlan, 1, 4094),
    KEY(CnLink, "allowed_vlans", V_VLAN_RANGES, allowed_vlans),
    KEY(CnLink, "pool", V_NAME, pool_name),
};

static const KeySpec pool_keys[] = {
    UINT_KEY(CnPool, "size", size, 1, 4096),
    KEY(CnPool, "net", V_NAME, net_name),
    KEY(CnPool, "prefix", V_IFNAME, prefix),
    KEY(CnPool, "owner", V_WORD, owner),
    KEY(CnPool, "group", V_WORD, group),
};

#define WORD_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-"

static const char *const technology_names[] = { "libvirt", "bridge", "openvswitch", "ovn", NULL };
static const char *const forward_names[] = { "nat", "route", "open", "isolated", NULL };
static const char *const ipv6_mode_names[] = { "drop", "pinned", NULL };
/* From 1: 0 is "unset". */
static const char *const token_mode_names[] = { "optional", "required", NULL };

/* Ethertypes a network may let guests send besides ARP, IPv4 and IPv6,
 * by name; others by number (0x0600-0xffff). */
static const struct {
    const char *name;
    uint16_t type;
} ethertype_names[] = {
    { "lldp", 0x88cc }, { "rarp", 0x8035 }, { "eapol", 0x888e }, { "ptp", 0x88f7 },
    { "mpls", 0x8847 }, { "pppoe-discovery", 0x8863 }, { "pppoe", 0x8864 }, { "macsec", 0x88e5 },
    { "wol", 0x0842 },
};

/* Governed by their own rules: never through allowed_ethertypes.  The VLAN
 * tags would carry IPv4 and ARP past the address pinning. */
static const struct {
    uint16_t type;
    const char *why;
} ethertypes_refused[] = {
    { 0x0800, "IPv4 is always allowed, from the port's own addresses" },
    { 0x0806, "ARP is always allowed, from the port's own addresses" },
    { 0x86dd, "IPv6 is governed by the ipv6 key" },
    { 0x8100, "802.1Q tagged frames would carry IPv4 and ARP past the address pinning" },
    { 0x88a8, "802.1ad tagged frames would carry IPv4 and ARP past the address pinning" },
    { 0x9100, "QinQ tagged frames would carry IPv4 and ARP past the address pinning" },
};

static gboolean parse_ethertypes(GPtrArray *items, GArray *out, char **why)
{
    for (guint i = 0; i < items->len; i++) {
        const char *item = items->pdata[i];
        guint64 value = 0;
        gboolean known = FALSE;
        for (gsize j = 0; j < G_N_ELEMENTS(ethertype_names) && !known; j++) {
            if (g_ascii_strcasecmp(item, ethertype_names[j].name) == 0) {
                value = ethertype_names[j].type;
                known = TRUE;
            }
        }
        if (!known && !(g_str_has_prefix(item, "0x") && item[2] &&
                        g_ascii_string_to_unsigned(item + 2, 16, 0x0600, 0xffff, &value, NULL))) {
            *why = g_strdup_printf("'%s' is not an ethertype: a name (lldp, rarp, eapol, ptp, mpls, "
                                   "pppoe-discovery, pppoe, macsec, wol) or a number 0x0600-0xffff", item);
            return FALSE;
        }
        for (gsize j = 0; j < G_N_ELEMENTS(ethertypes_refused); j++) {
            if (ethertypes_refused[j].type == value) {
                if (known)
                    *why = g_strdup_printf("'%s' (0x%04x) may not be listed: %s", item, (unsigned)value,
                                           ethertypes_refused[j].why);
                else
                    *why = g_strdup_printf("'%s' may not be listed: %s", item, ethertypes_refused[j].why);
                return FALSE;
            }
        }
        uint16_t type = (uint16_t)value;
        gboolean seen = FALSE;
        for (guint j = 0; j < out->len && !seen; j++)
            seen = g_array_index(out, uint16_t, j) == type;
        if (!seen)
            g_array_append_val(out, type);
    }
    return TRUE;
}

/* Parsing one value.  On failure, WHY says what was expected. */

static gboolean parse_uint(const char *text, uint32_t min, uint32_t max, uint32_t *out)
{
    if (*text == '\0' || !g_ascii_isdigit(*text))
        return FALSE;
    guint64 value;
    if (!g_ascii_string_to_unsigned(text, 10, min, max, &value, NULL))
        return FALSE;
    *out = (uint32_t)value;
    return TRUE;
}

static gboolean parse_choice(const char *text, const char *const *names, int *out)
{
    for (int i = 0; names[i]; i++) {
        if (strcmp(text, names[i]) == 0) {
            *out = i;
            return TRUE;
        }
    }
    return FALSE;
}


static gboolean parse_vlan_ranges(GPtrArray *items, GArray *out, char **why)
{
    for (guint i = 0; i < items->len; i++) {
        const char *item = items->pdata[i];
        const char *dash = strchr(item, '-');
        uint32_t first, last;
        if (dash) {
            g_autofree char *head = g_strndup(item, (gsize)(dash - item));
            if (!parse_uint(head, 1, 4094, &first) || !parse_uint(dash + 1, 1, 4094, &last) ||
                first > last) {
                *why = g_strdup_printf("'%s' is not a VLAN range N-M within 1-4094", item);
                return FALSE;
            }
        } else if (parse_uint(item, 1, 4094, &first)) {
            last = first;
        } else {
            *why = g_strdup_printf("'%s' is not a VLAN id within 1-4094", item);
            return FALSE;
        }
        CnVlanRange range = { (uint16_t)first, (uint16_t)last };
        g_array_append_val(out, range);
    }
    if (out->len == 0) {
        *why = g_strdup("expected a list of VLAN ids or ranges such as 10;20;30-40");
        return FALSE;
    }
    return TRUE;
}

static gboolean parse_secondaries(GPtrArray *items, GArray *out, char **why)
{
    for (guint i = 0; i < items->len; i++) {
        const char *item = items->pdata[i];
        const char *equals = strchr(item, '=');
        CnSecondaryAddress address = { 0, 0 };
        g_autofree char *private_text =
            g_strndup(item, equals ? (gsize)(equals - item) : strlen(item));
        g_autofree char *public_text = g_strdup(equals ? equals + 1 : NULL);
        if (!cn_v4_parse(g_strstrip(private_text), &address.private_address) ||
            (public_text && !cn_v4_parse(g_strstrip(public_text), &address.public_address))) {
            *why = g_strdup_printf("'%s' is not PRIVATE or PRIVATE=PUBLIC (IPv4 addresses)", item);
            return FALSE;
        }
        g_array_append_val(out, address);
    }
    return TRUE;
}

static gboolean parse_v4_ranges(GPtrArray *items, GArray *out, char **why)
{
    for (guint i = 0; i < items->len; i++) {
        CnV4Range range;
        if (!cn_v4_range_parse(items->pdata[i], &range.first, &range.last)) {
            *why = g_strdup_printf("'%s' is not an IPv4 range A-B with A <= B", (char *)items->pdata[i]);
            return FALSE;
        }
        g_array_append_val(out, range);
    }
    return TRUE;
}

static gboolean parse_v4_list(GPtrArray *items, GArray *out, char **why)
{
    for (guint i = 0; i < items->len; i++) {
        uint32_t address;
        if (!cn_v4_parse(items->pdata[i], &address)) {
            *why = g_strdup_printf("'%s' is not an IPv4 address", (char *)items->pdata[i]);
            return FALSE;
        }
        g_array_append_val(out, address);
    }
    return TRUE;
}

static gboolean parse_words(GPtrArray *items, GArray *out, char **why)
{
    for (guint i = 0; i < items->len; i++) {
        const char *word = items->pdata[i];
        if (!*word || strspn(word, WORD_CHARS) != strlen(word)) {
            *why = g_strdup_printf("'%s' is not one word of [A-Za-z0-9_.-]", word);
            return FALSE;
        }
        char *copy = g_strdup(word);
        g_array_append_val(out, copy);
    }
    if (out->len == 0) {
        *why = g_strdup("is empty");
        return FALSE;
    }
    return TRUE;
}

/* Scalar values: each parser takes the unescaped TEXT (ownership, for
 * strings) and fills FIELD; FALSE when TEXT is not of its kind. */
typedef gboolean (*ScalarParser)(const KeySpec *spec, char **text, void *field);
/* Lists: each parser fills OUT from the items; on failure WHY says which
 * item was wrong and why. */
typedef gboolean (*ListParser)(GPtrArray *items, GArray *out, char **why);

static gboolean store_string(char **text, void *field, gboolean valid)
{
    if (!valid)
        return FALSE;
    char **slot = field;
    g_free(*slot);
    *slot = g_steal_pointer(text);
    return TRUE;
}

static gboolean scalar_name(const KeySpec *spec, char **text, void *field)
{
    return store_string(text, field, cn_name_is_valid(*text));
}

static gboolean scalar_ifname(const KeySpec *spec, char **text, void *field)
{
    return store_string(text, field, cn_ifname_is_valid(*text));
}

static gboolean scalar_dns_name(const KeySpec *spec, char **text, void *field)
{
    return store_string(text, field, cn_dns_name_is_valid(*text));
}

static gboolean scalar_word(const KeySpec *spec, char **text, void *field)
{
    return store_string(text, field, **text != '\0' && strspn(*text, WORD_CHARS) == strlen(*text));
}

static gboolean scalar_ovsdb_remote(const KeySpec *spec, char **text, void *field)
{
    return store_string(text, field, cn_ovsdb_remote_is_valid(*text));
}

static gboolean scalar_path(const KeySpec *spec, char **text, void *field)
{
    gboolean ok = **text == '/';
    for (const char *c = *text; ok && *c; c++)
        ok = !g_ascii_iscntrl(*c);
    return store_string(text, field, ok);
}

/* A machine's handler: an endpoint, or (user mode, docs/tap-pool.md) the
 * absolute path of its UNIX socket.  FIELD is the machine's
 * metadata_handler: the only key of this type. */
static gboolean scalar_machine_handler(const KeySpec *spec, char **text, void *field)
{
    CnMachine *machine = (CnMachine *)((char *)field - offsetof(CnMachine, metadata_handler));
    if (**text != '/') {
        g_clear_pointer(&machine->metadata_handler_socket, g_free);
        return cn_endpoint_parse(*text, TRUE, field);
    }
    if (strlen(*text) >= CN_UNIX_PATH_MAX)
        return FALSE;
    *(CnEndpoint *)field = (CnEndpoint){ 0 };
    return scalar_path(spec, text, &machine->metadata_handler_socket);
}

static gboolean scalar_bool(const KeySpec *spec, char **text, void *field)
{
    if (strcmp(*text, "true") == 0 || strcmp(*text, "1") == 0)
        *(gboolean *)field = TRUE;
    else if (strcmp(*text, "false") == 0 || strcmp(*text, "0") == 0)
        *(gboolean *)field = FALSE;
    else
        return FALSE;
    return TRUE;
}

static gboolean scalar_uint(const KeySpec *spec, char **text, void *field)
{
    uint32_t value;
    if (!parse_uint(*text, spec->min, spec->max, &value))
        return FALSE;
    if (spec->width == sizeof(uint16_t))
        *(uint16_t *)field = (uint16_t)value;
    else
        *(uint32_t *)field = value;
    return TRUE;
}

static gboolean scalar_technology(const KeySpec *spec, char **text, void *field)
{
    return parse_choice(*text, technology_names, (int *)field);
}

static gboolean scalar_forward(const KeySpec *spec, char **text, void *field)
{
    return parse_choice(*text, forward_names, (int *)field);
}

static gboolean scalar_ipv6_mode(const KeySpec *spec, char **text, void *field)
{
    return parse_choice(*text, ipv6_mode_names, (int *)field);
}

static gboolean scalar_token_mode(const KeySpec *spec, char **text, void *field)
{
    int index;
    if (!parse_choice(*text, token_mode_names, &index))
        return FALSE;
    *(CnTokenMode *)field = (CnTokenMode)(index + CN_TOKENS_OPTIONAL);
    return TRUE;
}

static gboolean scalar_v4(const KeySpec *spec, char **text, void *field)
{
    return cn_v4_parse(*text, field);
}

static gboolean scalar_v4_subnet(const KeySpec *spec, char **text, void *field)
{
    CnV4Subnet *subnet = field;
    return cn_v4_cidr_parse(*text, &subnet->network, &subnet->prefix);
}

static gboolean scalar_v4_interface(const KeySpec *spec, char **text, void *field)
{
    CnV4Interface *iface = field;
    const char *slash = strchr(*text, '/');
    if (!slash || slash[1] == '\0' || strspn(slash + 1, "0123456789") != strlen(slash + 1) || strlen(slash + 1) > 2)
        return FALSE;
    g_autofree char *address = g_strndup(*text, (gsize)(slash - *text));
    unsigned prefix = (unsigned)atoi(slash + 1);
    if (prefix < 1 || prefix > 30 || !cn_v4_parse(address, &iface->address))
        return FALSE;
    iface->prefix = prefix;
    return cn_v4_is_host(iface->address, iface->address & cn_v4_netmask(prefix), prefix);
}

static gboolean scalar_v4_range(const KeySpec *spec, char **text, void *field)
{
    CnV4Range *range = field;
    return cn_v4_range_parse(*text, &range->first, &range->last);
}

static gboolean scalar_v6(const KeySpec *spec, char **text, void *field)
{
    return cn_v6_parse(*text, field);
}

static gboolean scalar_v6_subnet(const KeySpec *spec, char **text, void *field)
{
    CnV6Subnet *subnet = field;
    return cn_v6_cidr_parse(*text, &subnet->network, &subnet->prefix);
}

static gboolean scalar_endpoint(const KeySpec *spec, char **text, void *field)
{
    return cn_endpoint_parse(*text, TRUE, field);
}

static gboolean scalar_mac(const KeySpec *spec, char **text, void *field)
{
    return cn_mac_parse(*text, field);
}

#define IFNAME_EXPECTED(max) "'%s' is not an interface name (1-" #max " characters from [A-Za-z0-9_.-], not starting with '-' or '.')"

/* Every value type: how it is parsed, and what a bad one is told
 * ("'%s' ..." with the value; V_UINT adds its range). */
static const struct {
    ScalarParser scalar;
    ListParser list;
    const char *expected;
} value_types[] = {
    [V_NAME] = { scalar_name, NULL,
                 "'%s' is not a name of 1-64 characters from [A-Za-z0-9_.-] not starting with '-' or '.'" },
    [V_IFNAME] = { scalar_ifname, NULL, IFNAME_EXPECTED(15) },
    [V_DNS_NAME] = { scalar_dns_name, NULL, "'%s' is not a DNS name (labels of [A-Za-z0-9-] separated by dots)" },
    [V_WORD] = { scalar_word, NULL, "'%s' must be one word of [A-Za-z0-9_.-]" },
    [V_BOOL] = { scalar_bool, NULL, "'%s' is not a boolean (true or false)" },
    [V_UINT] = { scalar_uint, NULL, "'%s' is not an integer in %u-%u" },
    [V_TECHNOLOGY] = { scalar_technology, NULL, "'%s' is not one of libvirt, bridge, openvswitch, ovn" },
    [V_FORWARD] = { scalar_forward, NULL, "'%s' is not one of nat, route, open, isolated" },
    [V_V4] = { scalar_v4, NULL, "'%s' is not an IPv4 address such as 192.0.2.1" },
    [V_V4_SUBNET] = { scalar_v4_subnet, NULL, "'%s' is not an IPv4 network such as 192.0.2.0/24 (host bits zero)" },
    [V_V4_RANGE] = { scalar_v4_range, NULL, "'%s' is not an IPv4 range A-B with A <= B" },
    [V_V4_RANGES] = { NULL, parse_v4_ranges, NULL },
    [V_V4_LIST] = { NULL, parse_v4_list, NULL },
    [V_ENDPOINT] = { scalar_endpoint, NULL, "'%s' is not [HOST:]PORT with an IPv4 HOST and PORT in 1-65535" },
    [V_MAC] = { scalar_mac, NULL, "'%s' is not a MAC address such as 52:54:00:12:34:56" },
    [V_VLAN_RANGES] = { NULL, parse_vlan_ranges, NULL },
    [V_SECONDARIES] = { NULL, parse_secondaries, NULL },
    [V_IPV6_MODE] = { scalar_ipv6_mode, NULL, "'%s' is not one of drop, pinned" },
    [V_V6] = { scalar_v6, NULL, "'%s' is not an IPv6 address such as 2001:db8::1" },
    [V_V6_SUBNET] = { scalar_v6_subnet, NULL, "'%s' is not an IPv6 network such as 2001:db8:0:1::/64 (host bits zero)" },
    [V_ETHERTYPES] = { NULL, parse_ethertypes, NULL },
    [V_OVSDB_REMOTE] = { scalar_ovsdb_remote, NULL,
                         "'%s' is not an OVSDB remote: unix:PATH, tcp:HOST[:PORT] or ssl:HOST[:PORT]" },
    [V_PATH] = { scalar_path, NULL, "'%s' is not an absolute file name" },
    [V_V4_INTERFACE] = { scalar_v4_interface, NULL,
                         "'%s' is not an IPv4 host address with its prefix such as 192.0.2.10/24 (prefix 1-30)" },
    [V_WORDS] = { NULL, parse_words, NULL },
    [V_TOKEN_MODE] = { scalar_token_mode, NULL, "'%s' is not one of optional, required" },
    [V_MACHINE_HANDLER] = { scalar_machine_handler, NULL,
                            "'%s' is not [HOST:]PORT with an IPv4 HOST and PORT in 1-65535, nor the absolute path "
                            "of a UNIX socket (under 108 characters)" },
};

G_STATIC_ASSERT(CN_IFNAME_MAX == 15);

static gboolean parse_value(const KeySpec *spec, const char *raw, void *object, char **why)
{
    void *field = (char *)object + spec->offset;
    g_autofree char *text = NULL;

    if (value_types[spec->type].list) {
        g_autoptr(GPtrArray) items = NULL;
        if (!cn_keyfile_split_list(raw, &items)) {
            *why = g_strdup("bad escape sequence (known: \\s \\n \\t \\r \\\\ \\;)");
            return FALSE;
        }
        GArray *array = *(GArray **)field;
        g_array_set_size(array, 0);
        return value_types[spec->type].list(items, array, why);
    }
    if (!cn_keyfile_unescape(raw, &text)) {
        *why = g_strdup("bad escape sequence (known: \\s \\n \\t \\r \\\\)");
        return FALSE;
    }
    if (value_types[spec->type].scalar(spec, &text, field))
        return TRUE;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    *why = g_strdup_printf(value_types[spec->type].expected, text, spec->min, spec->max);
#pragma GCC diagnostic pop
    return FALSE;
}

/* Group kinds */

typedef gpointer (*ObjectCreate)(CnSite *site, char **args, const CnLoc *loc, CnDiagList *diags,
                                 const char *header);

typedef struct {
    const char *kind;
    guint n_args;
    const char *usage;
    const KeySpec *keys;
    gsize n_keys;
    ObjectCreate create;
} GroupKind;

/* The first two fields of every model object, so that key locations can
 * be recorded without knowing the kind. */
typedef struct {
    GHashTable *key_locs;
} ObjectHead;

#define NAME_RULE "1-64 characters from [A-Za-z0-9_.-], not starting with '-' or '.'"
#define DNS_NAME_RULE "a DNS name (labels of [A-Za-z0-9-] separated by dots)"
#define IFNAME_RULE "1-15 characters from [A-Za-z0-9_.-], not starting with '-' or '.'"

/* Checks the NAME in a group header; says what it must be when it is not. */
static gboolean header_name_ok(CnDiagList *diags, const CnLoc *loc, const char *header, const char *what,
                               const char *name, gboolean (*valid)(const char *), const char *rule)
{
    if (valid(name))
        return TRUE;
    cn_diag_add(diags, loc, header, NULL, "%s '%s' must be %s", what, name, rule);
    return FALSE;
}

static gpointer create_network(CnSite *site, char **args, const CnLoc *loc, CnDiagList *diags,
                               const char *header)
{
    if (!header_name_ok(diags, loc, header, "network name", args[0], cn_name_is_valid, NAME_RULE))
        return NULL;
    CnNetwork *net = cn_network_new(args[0]);
    net->loc = *loc;
    g_ptr_array_add(site->networks, net);
    return net;
}

static gpointer create_machine(CnSite *site, char **args, const CnLoc *loc, CnDiagList *diags,
                               const char *header)
{
    if (!header_name_ok(diags, loc, header, "machine name", args[0], cn_dns_name_is_valid, DNS_NAME_RULE))
        return NULL;
    CnMachine *machine = cn_machine_new(args[0]);
    machine->loc = *loc;
    g_ptr_array_add(site->machines, machine);
    return machine;
}

static gpointer create_link(CnSite *site, char **args, const CnLoc *loc, CnDiagList *diags,
                            const char *header)
{
    /* Both names are checked, so both problems are reported at once. */
    gboolean machine_ok =
        header_name_ok(diags, loc, header, "machine name", args[0], cn_dns_name_is_valid, DNS_NAME_RULE);
    gboolean iface_ok =
        header_name_ok(diags, loc, header, "interface name", args[1], cn_ifname_is_valid, IFNAME_RULE);
    if (!machine_ok || !iface_ok)
        return NULL;
    CnLink *link = cn_link_new(args[0], args[1]);
    link->loc = *loc;
    g_ptr_array_add(site->links, link);
    return link;
}

static gpointer create_pool(CnSite *site, char **args, const CnLoc *loc, CnDiagList *diags,
                            const char *header)
{
    if (!header_name_ok(diags, loc, header, "pool name", args[0], cn_name_is_valid, NAME_RULE))
        return NULL;
    CnPool *pool = cn_pool_new(args[0]);
    pool->loc = *loc;
    g_ptr_array_add(site->pools, pool);
    return pool;
}

static const GroupKind group_kinds[] = {
    { "network", 1, "[network NAME]", network_keys, G_N_ELEMENTS(network_keys), create_network },
    { "machine", 1, "[machine NAME]", machine_keys, G_N_ELEMENTS(machine_keys), create_machine },
    { "link", 2, "[link MACHINE IFACE]", link_keys, G_N_ELEMENTS(link_keys), create_link },
    { "pool", 1, "[pool NAME]", pool_keys, G_N_ELEMENTS(pool_keys), create_pool },
};

static const GroupKind *find_kind(const char *kind)
{
    for (gsize i = 0; i < G_N_ELEMENTS(group_kinds); i++) {
        if (strcmp(group_kinds[i].kind, kind) == 0)
            return &group_kinds[i];
    }
    return NULL;
}

static const KeySpec *find_key(const GroupKind *kind, const char *key)
{
    for (gsize i = 0; i < kind->n_keys; i++) {
        if (strcmp(kind->keys[i].key, key) == 0)
            return &kind->keys[i];
    }
    return NULL;
}

static void build_group(CnSite *site, const CnRawGroup *group, CnDiagList *diags)
{
    g_auto(GStrv) words = g_strsplit(group->header, " ", -1);
    const GroupKind *kind = find_kind(words[0]);

    if (!kind) {
        cn_diag_add(diags, &group->loc, group->header, NULL,
                    "unknown group kind '%s' (expected network, machine, link or pool)", words[0]);
        return;
    }
    if (g_strv_length(words) != kind->n_args + 1) {
        cn_diag_add(diags, &group->loc, group->header, NULL, "expected a group header %s",
                    kind->usage);
        return;
    }
    ObjectHead *object = kind->create(site, words + 1, &group->loc, diags, group->header);
    if (!object)
        return;

    for (guint i = 0; i < group->entries->len; i++) {
        const CnRawEntry *entry = group->entries->pdata[i];
        const KeySpec *spec = find_key(kind, entry->key);
        g_autofree char *why = NULL;

        if (!spec) {
            cn_diag_add(diags, &entry->loc, group->header, entry->key, "unknown key in a %s group",
                        kind->usage);
            continue;
        }
        if (!parse_value(spec, entry->value, object, &why)) {
            cn_diag_add(diags, &entry->loc, group->header, entry->key, "%s", why);
            g_hash_table_replace(object->key_locs, (gpointer)CN_KEY_INVALID,
                                 g_memdup2(&entry->loc, sizeof entry->loc));
            continue;
        }
        g_hash_table_replace(object->key_locs, (gpointer)spec->key, g_memdup2(&entry->loc, sizeof entry->loc));
    }
}

CnSite *cn_defs_build(const CnRawDefs *defs, CnDiagList *diags)
{
    CnSite *site = cn_site_new();

    for (guint i = 0; i < defs->groups->len; i++)
        build_group(site, defs->groups->pdata[i], diags);

    /* A link implies its machine, as a Carthage NetworkConfig belongs to
     * one; [machine] groups only add machine-wide keys. */
    g_autoptr(GHashTable) machines = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = 0; i < site->machines->len; i++)
        g_hash_table_add(machines, ((CnMachine *)site->machines->pdata[i])->name);
    for (guint i = 0; i < site->links->len; i++) {
        CnLink *link = site->links->pdata[i];
        if (!g_hash_table_contains(machines, link->machine_name)) {
            CnMachine *machine = cn_machine_new(link->machine_name);
            machine->loc = link->loc;
            g_ptr_array_add(site->machines, machine);
            g_hash_table_add(machines, machine->name);
        }
    }
    cn_site_index(site);
    return site;
}
