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
