/* netaddr.h - parsing and formatting of addresses and names.
 *
 * Pure functions, no allocation except where a string is returned.
 * IPv4 addresses are uint32_t in host byte order.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

#define CN_IFNAME_MAX 15 /* IFNAMSIZ - 1 */
#define CN_V4_STR_MAX 16 /* "255.255.255.255" + NUL */
#define CN_MAC_STR_MAX 18

gboolean cn_v4_parse(const char *text, uint32_t *out);
/* "A.B.C.D/N"; the address must be the network's first address. */
gboolean cn_v4_cidr_parse(const char *text, uint32_t *network, unsigned *prefix);
/* "A-B" with A <= B */
gboolean cn_v4_range_parse(const char *text, uint32_t *first, uint32_t *last);
void cn_v4_format(uint32_t address, char out[CN_V4_STR_MAX]);
/* A newly allocated dotted quad; for messages. */
char *cn_v4_str(uint32_t address);

uint32_t cn_v4_netmask(unsigned prefix);
gboolean cn_v4_in_network(uint32_t address, uint32_t network, unsigned prefix);
/* Is ADDRESS a usable host address of NETWORK/PREFIX (not the network or
 * broadcast address, except for /31 and /32)? */
gboolean cn_v4_is_host(uint32_t address, uint32_t network, unsigned prefix);

/* "aa:bb:cc:dd:ee:ff", case-insensitive. */
gboolean cn_mac_parse(const char *text, uint8_t out[6]);
void cn_mac_format(const uint8_t mac[6], char out[CN_MAC_STR_MAX]);
gboolean cn_mac_is_multicast(const uint8_t mac[6]);

/* IPv6: 16 bytes in network byte order. */
#define CN_V6_STR_MAX 46 /* INET6_ADDRSTRLEN */
typedef struct {
    uint8_t bytes[16];
} CnV6Address;

gboolean cn_v6_parse(const char *text, CnV6Address *out);
/* "PREFIX/N"; the address must have its host bits zero. */
gboolean cn_v6_cidr_parse(const char *text, CnV6Address *network, unsigned *prefix);
void cn_v6_format(const CnV6Address *address, char out[CN_V6_STR_MAX]);
char *cn_v6_str(const CnV6Address *address);
gboolean cn_v6_equal(const CnV6Address *a, const CnV6Address *b);
gboolean cn_v6_in_network(const CnV6Address *address, const CnV6Address *network, unsigned prefix);
gboolean cn_v6_is_unspecified(const CnV6Address *address);
/* The address a host with MAC forms in the /64 PREFIX by SLAAC with a
 * modified EUI-64 interface identifier (RFC 4291 appendix A); with
 * PREFIX NULL, its link-local address (fe80::/64). */
void cn_v6_eui64(const CnV6Address *prefix, const uint8_t mac[6], CnV6Address *out);

/* Network, pool names: 1-64 of [A-Za-z0-9_.-], not starting with '-' or
 * '.' (virsh would take "-x" for an option; TAP names derive from pool
 * names). */
gboolean cn_name_is_valid(const char *name);
/* Interface names: 1-15 of [A-Za-z0-9_.-], not starting with '-' or '.'.
 * Stricter than Linux, so a name is safe inside QEMU option strings (no
 * ','), nft and ip command lines, and file names. */
gboolean cn_ifname_is_valid(const char *name);
/* DNS names: labels of [A-Za-z0-9-], 1-63 each, no leading or trailing '-',
 * separated by single dots, 253 bytes at most. */
gboolean cn_dns_name_is_valid(const char *name);
