/* netaddr.c - see netaddr.h */
#include "netaddr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

/* Strict decimal 0..max with no sign, no leading '+', no empty string; leading
 * zeros are refused for octets so "010" cannot be mistaken for octal. */
static gboolean parse_decimal(const char **cursor, unsigned max, unsigned *out)
{
    const char *p = *cursor;
    unsigned value = 0;
    int digits = 0;

    while (*p >= '0' && *p <= '9') {
        if (digits > 0 && value == 0)
            return FALSE; /* leading zero */
        value = value * 10 + (unsigned)(*p - '0');
        if (value > max)
            return FALSE;
        digits++;
        p++;
    }
    if (digits == 0)
        return FALSE;
    *cursor = p;
    *out = value;
    return TRUE;
}

static gboolean v4_parse_prefix(const char **cursor, uint32_t *out)
{
    uint32_t address = 0;
    for (int i = 0; i < 4; i++) {
        unsigned octet;
        if (i > 0) {
            if (**cursor != '.')
                return FALSE;
            (*cursor)++;
        }
        if (!parse_decimal(cursor, 255, &octet))
            return FALSE;
        address = (address << 8) | octet;
    }
    *out = address;
    return TRUE;
}

gboolean cn_v4_parse(const char *text, uint32_t *out)
{
    const char *p = text;
    uint32_t address;
    if (!v4_parse_prefix(&p, &address) || *p != '\0')
        return FALSE;
    *out = address;
    return TRUE;
}

uint32_t cn_v4_netmask(unsigned prefix)
{
    return prefix == 0 ? 0 : (uint32_t)(0xffffffffu << (32 - prefix));
}

gboolean cn_v4_cidr_parse(const char *text, uint32_t *network, unsigned *prefix)
{
    const char *p = text;
    uint32_t address;
    unsigned length;

    if (!v4_parse_prefix(&p, &address) || *p != '/')
        return FALSE;
    p++;
    if (!parse_decimal(&p, 32, &length) || *p != '\0')
        return FALSE;
    if ((address & ~cn_v4_netmask(length)) != 0)
        return FALSE;
    *network = address;
    *prefix = length;
    return TRUE;
}

gboolean cn_v4_range_parse(const char *text, uint32_t *first, uint32_t *last)
{
    const char *p = text;
    uint32_t a, b;
    if (!v4_parse_prefix(&p, &a) || *p != '-')
        return FALSE;
    p++;
    if (!v4_parse_prefix(&p, &b) || *p != '\0' || a > b)
        return FALSE;
    *first = a;
    *last = b;
    return TRUE;
}

void cn_v4_format(uint32_t address, char out[CN_V4_STR_MAX])
{
    snprintf(out, CN_V4_STR_MAX, "%u.%u.%u.%u", address >> 24, (address >> 16) & 0xff,
             (address >> 8) & 0xff, address & 0xff);
}

char *cn_v4_str(uint32_t address)
{
    char buf[CN_V4_STR_MAX];
    cn_v4_format(address, buf);
    return g_strdup(buf);
}

gboolean cn_v4_in_network(uint32_t address, uint32_t network, unsigned prefix)
{
    return (address & cn_v4_netmask(prefix)) == network;
}

gboolean cn_v4_is_host(uint32_t address, uint32_t network, unsigned prefix)
{
    if (!cn_v4_in_network(address, network, prefix))
        return FALSE;
    if (prefix >= 31)
        return TRUE;
    uint32_t broadcast = network | ~cn_v4_netmask(prefix);
    return address != network && address != broadcast;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

gboolean cn_mac_parse(const char *text, uint8_t out[6])
{
    uint8_t mac[6];
    const char *p = text;
    for (int i = 0; i < 6; i++) {
        if (i > 0 && *p++ != ':')
            return FALSE;
        int hi = hex_value(p[0]);
        int lo = hi < 0 ? -1 : hex_value(p[1]);
        if (lo < 0)
            return FALSE;
        mac[i] = (uint8_t)(hi << 4 | lo);
        p += 2;
    }
    if (*p != '\0')
        return FALSE;
    memcpy(out, mac, 6);
    return TRUE;
}

void cn_mac_format(const uint8_t mac[6], char out[CN_MAC_STR_MAX])
{
    snprintf(out, CN_MAC_STR_MAX, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
             mac[4], mac[5]);
}

gboolean cn_mac_is_multicast(const uint8_t mac[6])
{
    return (mac[0] & 0x01) != 0;
}

gboolean cn_name_is_valid(const char *name)
{
    size_t length = strlen(name);
    if (length == 0 || length > 64 || name[0] == '-' || name[0] == '.')
        return FALSE;
    for (const char *p = name; *p; p++) {
        if (!g_ascii_isalnum(*p) && *p != '_' && *p != '.' && *p != '-')
            return FALSE;
    }
    return TRUE;
}

gboolean cn_ifname_is_valid(const char *name)
{
    size_t length = strlen(name);
    if (length == 0 || length > CN_IFNAME_MAX || name[0] == '-' || name[0] == '.')
        return FALSE;
    for (const char *p = name; *p; p++) {
        if (!g_ascii_isalnum(*p) && *p != '_' && *p != '.' && *p != '-')
            return FALSE;
    }
    return TRUE;
}

gboolean cn_dns_name_is_valid(const char *name)
{
    size_t length = strlen(name);
    if (length == 0 || length > 253)
        return FALSE;
    size_t label = 0;
    for (const char *p = name;; p++) {
        if (*p == '.' || *p == '\0') {
            if (label == 0 || label > 63 || p[-1] == '-')
                return FALSE;
            if (*p == '\0')
                return TRUE;
            label = 0;
            continue;
        }
        if (!g_ascii_isalnum(*p) && *p != '-')
            return FALSE;
        if (label == 0 && *p == '-')
            return FALSE;
        label++;
    }
}

gboolean cn_v6_parse(const char *text, CnV6Address *out)
{
    /* inet_pton takes only the plain forms: no zone, no prefix. */
    return strchr(text, ':') != NULL && inet_pton(AF_INET6, text, out->bytes) == 1;
}

gboolean cn_v6_cidr_parse(const char *text, CnV6Address *network, unsigned *prefix)
{
    const char *slash = strchr(text, '/');
    unsigned length;
    if (!slash)
        return FALSE;
    g_autofree char *address = g_strndup(text, (gsize)(slash - text));
    const char *p = slash + 1;
    if (!parse_decimal(&p, 128, &length) || *p != '\0' || !cn_v6_parse(address, network))
        return FALSE;
    for (unsigned bit = length; bit < 128; bit++) {
        if (network->bytes[bit / 8] & (0x80 >> (bit % 8)))
            return FALSE; /* host bits set */
    }
    *prefix = length;
    return TRUE;
}

void cn_v6_format(const CnV6Address *address, char out[CN_V6_STR_MAX])
{
    inet_ntop(AF_INET6, address->bytes, out, CN_V6_STR_MAX);
}

char *cn_v6_str(const CnV6Address *address)
{
    char text[CN_V6_STR_MAX];
    cn_v6_format(address, text);
    return g_strdup(text);
}

gboolean cn_v6_equal(const CnV6Address *a, const CnV6Address *b)
{
    return memcmp(a->bytes, b->bytes, 16) == 0;
}

gboolean cn_v6_in_network(const CnV6Address *address, const CnV6Address *network, unsigned prefix)
{
    for (unsigned bit = 0; bit < prefix && bit < 128; bit++) {
        uint8_t mask = (uint8_t)(0x80 >> (bit % 8));
        if ((address->bytes[bit / 8] & mask) != (network->bytes[bit / 8] & mask))
            return FALSE;
    }
    return TRUE;
}

gboolean cn_v6_is_unspecified(const CnV6Address *address)
{
    static const CnV6Address zero;
    return cn_v6_equal(address, &zero);
}

void cn_v6_eui64(const CnV6Address *prefix, const uint8_t mac[6], CnV6Address *out)
{
    static const CnV6Address link_local = { { 0xfe, 0x80 } };
    memcpy(out->bytes, (prefix ? prefix : &link_local)->bytes, 8);
    out->bytes[8] = mac[0] ^ 0x02; /* the universal/local bit, inverted */
    out->bytes[9] = mac[1];
    out->bytes[10] = mac[2];
    out->bytes[11] = 0xff;
    out->bytes[12] = 0xfe;
    out->bytes[13] = mac[3];
    out->bytes[14] = mac[4];
    out->bytes[15] = mac[5];
}
