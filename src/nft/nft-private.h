/* nft-private.h - what the nftables engine's files share: the sets of
 * carthage-net's tables, element lists, and the table and rule comments
 * the kernel is checked against. */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "nft-batch.h"
#include "nft.h"

/* nftables datatype ids, for `nft list` to show the sets readably. */
enum {
    CN_NFT_TYPE_IPADDR = 7,
    CN_NFT_TYPE_IP6ADDR = 8,
    CN_NFT_TYPE_ETHERADDR = 9,
    CN_NFT_TYPE_ETHERTYPE = 10,
    CN_NFT_TYPE_INET_SERVICE = 13,
    CN_NFT_TYPE_IFNAME = 41,
};
#define CN_NFT_CONCAT(a, b) (((a) << 6) | (b))

/* Set ids within a batch, and indexes into cn_nft_sets. */
enum {
    CN_SET_PORTS = 1,      /* ifname: guest ports of this network */
    CN_SET_PORT_MAC,       /* ifname . ether_addr: each port's MAC */
    CN_SET_PINNED_IP,      /* ifname: ports limited to their reserved addresses */
    CN_SET_PORT_IP6,       /* ifname . ipv6_addr: the IPv6 addresses each port may use */
    CN_SET_RESERVED,       /* ipv4_addr . ether_addr: who may use an address */
    CN_SET_RESERVED_ADDR,  /* ipv4_addr: every reserved (or retired) address */
    CN_SET_ETHERTYPES,     /* ether_type: further ethertypes guests may send */
    CN_SET_STORM,          /* ifname, dynamic: each port's broadcast limiter */
    CN_SET_SPOOFERS,       /* ifname, dynamic: what each port sent forged, counted */
    CN_SET_LAST_BRIDGE = CN_SET_SPOOFERS,
    CN_SET_HANDLERS,       /* ether_addr : ipv4_addr . inet_service */
    CN_SET_PUB2PRIV,       /* ipv4_addr : ipv4_addr */
    CN_SET_PRIV2PUB,       /* ipv4_addr : ipv4_addr */
    CN_SET_HANDLER_ENDPOINTS, /* ipv4_addr . inet_service: where handlers listen */
    CN_SET_LAST = CN_SET_HANDLER_ENDPOINTS,
};

typedef struct {
    const char *name;
    uint32_t family;
    uint32_t key_type, key_len;
    uint32_t data_type, data_len; /* 0: a plain set */
    gboolean per_port;            /* elements of one guest port, not of the network */
    gboolean dynamic;             /* filled by packets: never compared */
} CnNftSetSpec;

extern const CnNftSetSpec cn_nft_sets[CN_SET_LAST + 1];

/* Elements by set id: CnNftElement arrays, NULL where none. */
typedef struct {
    GArray *sets[CN_SET_LAST + 1];
} CnNftElements;

void cn_nft_elements_add(CnNftElements *elements, int set, const void *key, uint32_t key_len, const void *data,
                         uint32_t data_len);
void cn_nft_elements_clear(CnNftElements *elements);
/* Adds the elements of ELEMENTS to BATCH: COMMAND is NEWSETELEM or DELSETELEM. */
void cn_nft_elements_to_batch(const CnNftElements *elements, const char *table, uint16_t command, CnNftBatch *batch);

/* What carthage-net's tables of a network must hold, besides elements. */
typedef struct {
    char *comment;  /* the table's comment: "carthage-net NETWORK rules=FINGERPRINT" */
    GPtrArray *chains; /* char*: chain names, in order */
    GPtrArray *rules;  /* char*: "CHAIN: COMMENT", in order */
} CnNftTableShape;

typedef struct {
    CnNftTableShape tables[2]; /* [0] bridge, [1] inet */
    gboolean has_inet;
} CnNftShape;

void cn_nft_shape_clear(CnNftShape *shape);
/* NET's tables as the engine builds them (no elements). */
void cn_nft_shape_build(const CnIsoNetwork *net, CnNftShape *shape);

/* Elements of NET itself (reservations, handlers, NAT, ethertypes), and
 * of one guest port; for_removal: every per-port element the port may
 * have, whatever the guest says. */
void cn_nft_network_elements(CnNftElements *elements, const CnIsoNetwork *net);
void cn_nft_port_elements(CnNftElements *elements, const CnIsoGuest *guest, gboolean for_removal);
/* What a guest brings that the network may not know yet: its reservations
 * and own handler. */
void cn_nft_guest_network_elements(CnNftElements *elements, const CnIsoNetwork *net, const CnIsoGuest *guest);

/* The snapshot the kernel has right after cn_nft_network_apply (NET,
 * GUESTS): for comparing without a kernel (unit tests). */
CnNftSnapshot *cn_nft_snapshot_expected(const CnIsoNetwork *net, GPtrArray *guests);
CnNftElements *cn_nft_snapshot_elements(CnNftSnapshot *snapshot);
CnNftShape *cn_nft_snapshot_shape(CnNftSnapshot *snapshot);

/* Reading the kernel (nft-query.c). */
gboolean cn_nft_read_table(const char *table, uint32_t family, gboolean *exists, CnNftTableShape *shape,
                           GError **error);
gboolean cn_nft_read_set(const char *table, uint32_t family, const char *set_name, GArray **elements,
                         gboolean *exists, GError **error);
