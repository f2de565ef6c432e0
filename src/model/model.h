/* model.h - the plain data model every part of carthage-net reads.
 *
 * Only the definitions parser (defs-*.c) and the allocators (alloc-*.c)
 * build or fill it; renderers and edge modules read it.  Addresses are
 * kept in host byte order so that ranges compare with plain integers.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "netaddr.h"

/* Where a value came from: the file and line of the key that set it. */
typedef struct {
    const char *file; /* interned: lives as long as the process */
    int line;         /* 0 when unknown */
} CnLoc;

typedef enum {
    CN_TECH_LIBVIRT = 0,
    CN_TECH_BRIDGE,
    CN_TECH_OPENVSWITCH,
    CN_TECH_OVN,
} CnTechnology;

typedef enum {
    CN_FORWARD_NAT = 0,
    CN_FORWARD_ROUTE,
    CN_FORWARD_OPEN,
    CN_FORWARD_ISOLATED,
} CnForward;

/* What guest ports may send over IPv6 (network key ipv6). */
typedef enum {
    CN_IPV6_DROP = 0, /* nothing */
    CN_IPV6_PINNED,   /* from the port's own addresses only; no router or DHCPv6 server messages */
} CnIpv6Mode;

/* IMDSv2 session tokens on the built-in metadata handler. */
typedef enum {
    CN_TOKENS_UNSET = 0, /* the network's, else optional */
    CN_TOKENS_OPTIONAL,  /* reads without a token answered; a bad token refused */
    CN_TOKENS_REQUIRED,  /* every read needs a valid token */
} CnTokenMode;

#define CN_METADATA_HOP_LIMIT_DEFAULT 1 /* as EC2's HttpPutResponseHopLimit */

typedef struct {
    CnV6Address network; /* host bits zero */
    unsigned prefix;
} CnV6Subnet;

typedef struct {
    uint32_t first; /* inclusive, host order */
    uint32_t last;  /* inclusive, host order */
} CnV4Range;

typedef struct {
    uint32_t network; /* host order, host bits zero */
    unsigned prefix;
} CnV4Subnet;

typedef struct {
    uint16_t first;
    uint16_t last;
} CnVlanRange;

/* An address with its prefix length: "192.0.2.10/24". */
typedef struct {
    uint32_t address; /* host order */
    unsigned prefix;
} CnV4Interface;

/* A metadata handler endpoint "[HOST:]PORT"; host 0 means "the network's
 * v4.gateway", resolved when the model is finished. */
typedef struct {
    gboolean set;
    uint32_t host;
    uint16_t port;
} CnEndpoint;

typedef struct {
    uint32_t private_address;
    uint32_t public_address; /* 0: no 1:1 NAT */
} CnSecondaryAddress;

/* QEMU user-mode networking (render netdev --user): the user network
 * (QEMU 7.2 takes guestfwd only for an address inside it, hence around
 * 169.254.169.254) and the address its DHCP gives the guest. */
#define CN_USER_NET "169.254.0.0/16"
#define CN_USER_GUEST "169.254.0.15"
#define CN_USER_GUEST_V4 0xa9fe000fu
/* sizeof(struct sockaddr_un.sun_path) on Linux */
#define CN_UNIX_PATH_MAX 108

typedef struct CnNetwork CnNetwork;
typedef struct CnMachine CnMachine;
typedef struct CnLink CnLink;
typedef struct CnPool CnPool;

struct CnNetwork {
    GHashTable *key_locs; /* key (static string) -> CnLoc*: where each set key came from */
    char *name;
    CnLoc loc;
    CnTechnology technology;
    uint16_t vlan_id; /* 0: untagged */
    char *bridge_name;
    gboolean delete_bridge;
    CnForward forward;
    uint32_t mtu; /* 0: unset */
    gboolean isolate_guests;

    gboolean metadata;
    uint32_t metadata_address;
    uint16_t metadata_port;
    char *metadata_hostname;
    CnEndpoint metadata_handler;
    CnTokenMode metadata_tokens;
    uint32_t metadata_hop_limit; /* 0: CN_METADATA_HOP_LIMIT_DEFAULT */

    gboolean has_v4;
    CnV4Subnet v4_subnet;
    uint32_t v4_gateway;
    gboolean v4_dhcp;
    GArray *v4_dhcp_ranges; /* CnV4Range */
    GArray *v4_dns_servers; /* uint32_t */
    char *v4_domain;
    gboolean v4_masquerade;
    gboolean has_v4_pool;
    CnV4Range v4_pool;

    /* Guest ports: what they may send besides ARP and IPv4. */
    CnIpv6Mode ipv6;
    gboolean has_v6;
    CnV6Subnet v6_subnet;       /* the on-link /64 guests form SLAAC addresses in */
    CnV6Address v6_gateway;     /* the host's address on it (libvirt networks) */
    GArray *allowed_ethertypes; /* uint16_t: further ethertypes guests may send */
    uint32_t broadcast_limit;   /* broadcast and multicast frames a second per guest port; 0: no limit */

    /* technology = ovn: the northbound database, and its TLS files for ssl: */
    char *ovn_northbound; /* NULL: CN_OVN_NB_DEFAULT */
    char *ovn_private_key;
    char *ovn_certificate;
    char *ovn_ca_certificate;
    /* technology = ovn with forward nat or route: a logical router whose
     * uplink is a localnet port onto physical network OVN_UPLINK (the
     * gateway chassis map it to a bridge with ovn-bridge-mappings). */
    char *ovn_uplink;
    CnV4Interface ovn_uplink_address; /* the router's address there, and SNAT's */
    uint32_t ovn_uplink_gateway;      /* 0: no default route */
    GArray *ovn_gateway_chassis;      /* char*: chassis names, highest priority first */
    gboolean ovn_distributed_nat;     /* 1:1 NAT on the guest's own chassis */

    GPtrArray *links; /* CnLink*, borrowed, sorted by machine then iface */
    GPtrArray *pools; /* CnPool*, borrowed: pools whose TAPs join this network */
};

struct CnMachine {
    GHashTable *key_locs; /* key (static string) -> CnLoc*: where each set key came from */
    char *name;
    CnLoc loc;
    char *domain_name;            /* the libvirt domain's name; NULL: NAME */
    CnEndpoint metadata_handler;
    char *metadata_handler_socket; /* instead: a UNIX socket (user-mode guests), NULL: none */
    CnTokenMode metadata_tokens;  /* overrides the network's */
    uint32_t metadata_hop_limit;  /* 0: the network's */
    GPtrArray *links; /* CnLink*, borrowed, in iface order */
};

/* Where a link's IPv4 address comes from. */
typedef enum {
    CN_V4_NONE = 0,   /* no address known to carthage-net */
    CN_V4_STATIC,     /* v4.address */
    CN_V4_POOL,       /* allocated from the network's v4.pool */
} CnV4Source;

struct CnLink {
    GHashTable *key_locs; /* key (static string) -> CnLoc*: where each set key came from */
    char *machine_name;
    char *iface;
    CnLoc loc;
    char *net_name;
    CnNetwork *net;   /* resolved by validation */
    CnMachine *machine;
    uint8_t mac[6];
    gboolean mac_explicit;
    char *model;
    uint32_t mtu;     /* 0: the network's */
    CnV4Source v4_source;
    uint32_t v4_address;
    uint32_t v4_public_address; /* 0: none */
    gboolean has_v6_address;
    CnV6Address v6_address;     /* static IPv6 address (v6.address) */
    GArray *v4_secondary;       /* CnSecondaryAddress */
    char *dns_name;
    uint16_t untagged_vlan;
    GArray *allowed_vlans;      /* CnVlanRange, empty: not a trunk */
    char *pool_name;
    CnPool *pool;
};

struct CnPool {
    GHashTable *key_locs; /* key (static string) -> CnLoc*: where each set key came from */
    char *name;
    CnLoc loc;
    uint32_t size;
    char *net_name;
    CnNetwork *net;
    char *prefix;
    char *owner;
    char *group;
};

/* The whole site.  Arrays are sorted by name so that every output is a
 * function of the definitions alone, never of file order. */
typedef struct {
    GPtrArray *networks; /* CnNetwork* */
    GPtrArray *machines; /* CnMachine* */
    GPtrArray *links;    /* CnLink*, sorted by machine then iface */
    GPtrArray *pools;    /* CnPool* */
} CnSite;

CnSite *cn_site_new(void);
void cn_site_free(CnSite *site);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CnSite, cn_site_free)

CnNetwork *cn_network_new(const char *name);
CnMachine *cn_machine_new(const char *name);
/* SOCKET_DIR/MACHINE.sock, a user-mode guest's metadata socket; NULL with
 * ERROR when it is too long for a UNIX socket or has characters QEMU's
 * option syntax or a shell would take apart. */
char *cn_user_socket_path(const char *socket_dir, const char *machine, GError **error);
/* The libvirt domain that is MACHINE: domain_name, else the machine's NAME. */
const char *cn_machine_domain(const CnMachine *machine);
CnLink *cn_link_new(const char *machine, const char *iface);
CnPool *cn_pool_new(const char *name);

CnNetwork *cn_site_find_network(const CnSite *site, const char *name);
CnMachine *cn_site_find_machine(const CnSite *site, const char *name);
CnLink *cn_site_find_link(const CnSite *site, const char *machine, const char *iface);
CnPool *cn_site_find_pool(const CnSite *site, const char *name);

/* Sorts every array and links networks, machines and pools to their links.
 * Called once by the parser after every object exists. */
void cn_site_index(CnSite *site);

const char *cn_technology_name(CnTechnology t);
const char *cn_ipv6_mode_name(CnIpv6Mode mode);

/* What a technology gives a network, asked by capability rather than by
 * name. */
/* nftables sees traffic on Linux bridges only (not inside Open vSwitch):
 * isolation, anti-spoofing, the layer-2 guards and TAP pools need one. */
gboolean cn_network_has_isolation(const CnNetwork *net);
/* Addresses (DHCP, pools) and DNS are served on libvirt's own virtual
 * networks (libvirt 9 refuses <ip>, <dns> and <domain> on forward mode
 * bridge) and by OVN on its logical switches. */
gboolean cn_network_serves_addresses(const CnNetwork *net);
/* libvirt 9 applies VLAN tags only on Open vSwitch bridges. */
gboolean cn_network_has_vlans(const CnNetwork *net);
/* A Linux host bridge carthage-net makes when it is missing, and records
 * as its own (Carthage's BridgeNetwork). */
gboolean cn_network_uses_host_bridge(const CnNetwork *net);
/* A libvirt network per Carthage network (every technology but ovn). */
gboolean cn_network_in_libvirt(const CnNetwork *net);
/* An OVN logical switch in the northbound database: OVN serves DHCP and
 * DNS, and does the anti-spoofing in its own pipeline (port_security). */
gboolean cn_network_in_ovn(const CnNetwork *net);
/* An OVN network with a logical router (forward nat or route): the
 * gateway, SNAT and 1:1 NAT are OVN's. */
gboolean cn_network_has_ovn_router(const CnNetwork *net);
/* The default northbound database, as ovn-nbctl's. */
#define CN_OVN_NB_DEFAULT "unix:/var/run/ovn/ovnnb_db.sock"
/* The integration bridge ovn-controller manages, unless bridge_name says. */
#define CN_OVN_BRIDGE_DEFAULT "br-int"
const char *cn_forward_name(CnForward f);

/* g_ptr_array_sort's comparison for arrays of char* (it passes pointers
 * to the elements, so g_strcmp0 itself would compare addresses). */
gint cn_compare_string_ptrs(gconstpointer a, gconstpointer b);

/* Where KEY of an object was set, else FALLBACK (the object's group). */
const CnLoc *cn_key_loc(GHashTable *key_locs, const char *key, const CnLoc *fallback);
gboolean cn_key_is_set(GHashTable *key_locs, const char *key);
/* Objects with a value that failed to parse carry this pseudo key, and
 * cross-object checks skip them: their fields hold defaults, and checking
 * those would only add noise to the error already reported. */
#define CN_KEY_INVALID "(invalid)"
gboolean cn_object_is_invalid(GHashTable *key_locs);

/* The MTU a link really uses: its own, else its network's, else 0. */
uint32_t cn_link_effective_mtu(const CnLink *link);
/* "HOST:PORT", or with HOST_OPTIONAL also "PORT" (host 0); FALSE when
 * TEXT is neither. */
gboolean cn_endpoint_parse(const char *text, gboolean host_optional, CnEndpoint *out);
/* "A.B.C.D:PORT" into OUT (at least 22 bytes). */
#define CN_ENDPOINT_STR_MAX 22
void cn_endpoint_format(CnEndpoint endpoint, char out[CN_ENDPOINT_STR_MAX]);
gboolean cn_endpoint_equal(CnEndpoint a, CnEndpoint b);

/* The handler a link's guest reaches: machine's, else network's. */
CnEndpoint cn_link_metadata_handler(const CnLink *link);
/* NET's link with MAC, or NULL. */
const CnLink *cn_network_link_with_mac(const CnNetwork *net, const uint8_t mac[6]);
/* The machine's metadata.tokens, else the network's, else optional. */
CnTokenMode cn_link_metadata_tokens(const CnLink *link);
/* The IP TTL of the token's reply: the machine's, else the network's,
 * else CN_METADATA_HOP_LIMIT_DEFAULT. */
guint cn_link_metadata_hop_limit(const CnLink *link);
const char *cn_token_mode_name(CnTokenMode mode);

