/* nft.h - the nftables isolation engine (libnftnl + libmnl, no exec).
 *
 * Per carthage-net network two tables, named cn_<network> (see
 * docs/isolation.md for every chain, hook, priority and set):
 *   bridge cn_N  pins guest ports: a port may send only from its MAC, and
 *                IPv4/ARP only from addresses reserved for that MAC (or,
 *                for guests carthage-net did not render, any address not
 *                reserved for someone else); DHCP from 0.0.0.0 allowed;
 *                IPv6 dropped, or pinned to the port's own addresses;
 *                ARP, IPv4, IPv6 and the network's allowed ethertypes
 *                only (no VLAN tags); no DHCP, DHCPv6 or router messages
 *                from guests; broadcast and multicast rate-limited per
 *                port; guest-to-guest traffic dropped when the network
 *                isolates guests.
 *   inet cn_N    metadata DNAT by (pinned) source MAC to each guest's own
 *                handler, else the network's; host protection; 1:1 NAT.
 * The rules are fixed per network; guests are only set and map elements,
 * so adding one is a small batch whatever the number of guests.  Every
 * change is one netlink batch: all of it applies or none does.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "model.h"

/* The packet mark bit the bridge table sets on frames from attached guest
 * ports; the inet table serves only such packets on metadata networks. */
#define CN_NFT_ATTACHED_MARK 0x01000000u

/* A network as the isolation engine sees it (built from the model by the
 * helper, or from carthage-net's <metadata> by the hook). */
typedef struct {
    uint32_t address;
    uint8_t mac[6];
} CnIsoReservation;

typedef struct {
    uint8_t mac[6];
    CnEndpoint handler;
} CnIsoHandler;

typedef struct {
    uint32_t private_address;
    uint32_t public_address;
} CnIsoNat;

typedef struct {
    char *name;
    char *bridge;
    gboolean isolate_guests;
    gboolean metadata;
    uint32_t metadata_address;
    uint16_t metadata_port;
    CnEndpoint default_handler; /* set: FALSE when none */
    uint32_t gateway;           /* 0 when the network has no IPv4 */
    CnIpv6Mode ipv6;
    gboolean has_v6_prefix;
    CnV6Address v6_prefix;      /* the on-link /64 of SLAAC addresses */
    uint32_t broadcast_limit;   /* frames a second per port; 0: none */
    GArray *ethertypes;         /* uint16_t: allowed besides ARP, IPv4, IPv6 */
    GArray *reservations;       /* CnIsoReservation: every reserved address */
    GArray *retired;            /* uint32_t: addresses nobody may use (machines removed live) */
    GArray *handlers;           /* CnIsoHandler: machine handlers by MAC */
    GArray *nat;                /* CnIsoNat: 1:1 NAT pairs */
} CnIsoNetwork;

/* One guest port. */
typedef struct {
    char tap[16];
    uint8_t mac[6];
    gboolean rendered;      /* carthage-net gave it addresses: pinned to them */
    GArray *addresses;      /* uint32_t: what it may use (primary, secondaries) */
    GArray *addresses6;     /* CnV6Address: what it may use over IPv6 */
    CnEndpoint handler;     /* set: its own handler */
} CnIsoGuest;

CnIsoNetwork *cn_iso_network_new(const char *name, const char *bridge);
void cn_iso_network_free(CnIsoNetwork *net);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CnIsoNetwork, cn_iso_network_free)
CnIsoGuest *cn_iso_guest_new(const char *tap, const uint8_t mac[6]);
void cn_iso_guest_free(CnIsoGuest *guest);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CnIsoGuest, cn_iso_guest_free)

/* From the model (the helper's view). */
CnIsoNetwork *cn_iso_network_from_model(const CnNetwork *net);
/* LINK's guest on port TAP, as carthage-net rendered it: its addresses
 * pinned, its handler on metadata networks. */
CnIsoGuest *cn_iso_guest_from_link(const CnLink *link, const char *tap);
/* On a network that pins IPv6: the guest's link-local and SLAAC (EUI-64)
 * addresses from its MAC, and STATIC_ADDRESS when not NULL. */
void cn_iso_guest_add_v6(CnIsoGuest *guest, const CnIsoNetwork *net, const CnV6Address *static_address);

/* The table name for network NAME ("cn_" and NAME, made safe). */
char *cn_nft_table_name(const char *network);

#define CN_NFT_ERROR (cn_nft_error_quark())
GQuark cn_nft_error_quark(void);
/* CN_NFT_ERROR's codes are the kernel's errno values, and this one: an
 * element created exclusively (NLM_F_EXCL, cn_nft_guests_replace's claim) is in its
 * set already (the kernel's EEXIST for that message). */
#define CN_NFT_ERROR_CLAIMED 0x10000

/* (Re)creates the network's tables, chains, rules and network-wide
 * elements, plus GUESTS (CnIsoGuest*, may be NULL), in one batch that
 * replaces whatever was there. */
/* Ends the process's use of its netfilter socket: the last thing a
 * process does before it exits.  After a change that deleted something,
 * the kernel makes the socket's last close wait for its deferred cleanup
 * (an RCU grace period, 10-30 ms); this hands that close to a process of
 * its own (sharing this one's memory and descriptors, so starting it is
 * cheap) that also closes stdin, stdout and stderr, so that the caller
 * (the hook, whose process and output libvirt waits for) exits at once.
 * Every change was committed and acknowledged before: the other process
 * only closes.  Without a pending cleanup, or when it cannot be started,
 * the socket is closed here.  Standard streams are flushed, and must not
 * be used afterwards. */
void cn_nft_close_detached(void);

gboolean cn_nft_network_apply(const CnIsoNetwork *net, GPtrArray *guests, GError **error);
/* The batches cn_nft_network_apply and cn_nft_guest_add, then
 * cn_nft_guest_remove, would send, as text (cn_nft_batch_dump). */
char *cn_nft_network_apply_dump(const CnIsoNetwork *net, GPtrArray *guests);
char *cn_nft_guest_dump(const CnIsoNetwork *net, const CnIsoGuest *guest);
/* Removes the network's tables (one batch); absent tables are fine. */
gboolean cn_nft_network_remove(const char *network, GError **error);
/* Adds one guest's elements (idempotent). */
gboolean cn_nft_guest_add(const CnIsoNetwork *net, const CnIsoGuest *guest, GError **error);
/* Removes one guest's elements (idempotent: absent elements are fine). */
gboolean cn_nft_guest_remove(const CnIsoNetwork *net, const CnIsoGuest *guest, GError **error);
/* Several guests at once, each GUESTS[i] on NETS[i] (networks may
 * repeat or differ): one batch, all or nothing. */
gboolean cn_nft_guests_add(GPtrArray *nets, GPtrArray *guests, GError **error);
gboolean cn_nft_guests_remove(GPtrArray *nets, GPtrArray *guests, GError **error);
/* The batch cn_nft_guests_add (REMOVE: cn_nft_guests_remove) sends, as
 * text (cn_nft_batch_dump's). */
char *cn_nft_guests_dump(GPtrArray *nets, GPtrArray *guests, gboolean remove);
/* One batch: OLD_GUESTS' port elements (on OLD_NETS; none when NULL)
 * removed, as cn_nft_guests_remove does, then GUESTS' added: a tap changes
 * hands with no moment outside its set `ports`.  CLAIM: GUESTS' ports are
 * created exclusively (NLM_F_EXCL), so that one already in its network's
 * set `ports` (another guest's, whose record still names the tap) has the
 * kernel refuse the batch (CN_NFT_ERROR_CLAIMED), changing nothing; it
 * costs nothing when none is. */
gboolean cn_nft_guests_replace(GPtrArray *old_nets, GPtrArray *old_guests, GPtrArray *nets, GPtrArray *guests,
                               gboolean claim, GError **error);
/* The batch cn_nft_guests_replace sends, as text. */
char *cn_nft_guests_replace_dump(GPtrArray *old_nets, GPtrArray *old_guests, GPtrArray *nets, GPtrArray *guests,
                                 gboolean claim);

/* Reading back (isolation show, status). */
typedef struct {
    uint8_t key[64];
    uint32_t key_len;
    uint8_t data[16];
    uint32_t data_len;
    guint64 packets; /* a dynamic element's counter; 0 when it has none */
} CnNftElement;

/* The port (ifname) that keys the per-port sets: 16 bytes. */
#define CN_NFT_PORT_KEY_LEN 16

/* "10.0.0.5 . 52:54:00:12:34:56", as `nft list` shows an element of SET. */
char *cn_nft_element_format(const char *set, const CnNftElement *element);

/* What the kernel holds against what it must hold. */
typedef enum {
    CN_NFT_MISSING,
    CN_NFT_EXTRA,
    CN_NFT_CHANGED, /* a map element with another value */
} CnNftChange;

typedef struct {
    CnNftChange change;
    const char *set;     /* the set's name */
    gboolean per_port;   /* an element of one guest port (else of the network) */
    char *element;       /* as nft shows it; for CHANGED the value it must have */
    char *actual;        /* CHANGED: the value the kernel has */
    char port[16];       /* per-port elements: the port ("" otherwise) */
    gboolean has_mac;    /* the element names a MAC: */
    uint8_t mac[6];
    int set_id;          /* for cn_nft_converge */
    CnNftElement wanted, kernel;
} CnNftElementDrift;

typedef struct {
    gboolean bridge_table; /* the kernel has the network's bridge table */
    GPtrArray *tables;   /* char*: tables, chains and rules not as built, for people */
    GPtrArray *elements; /* CnNftElementDrift* */
} CnNftDrift;

/* What the kernel has of a network's tables: their comments, chains,
 * rule comments and elements. */
typedef struct CnNftSnapshot CnNftSnapshot;
CnNftSnapshot *cn_nft_snapshot_read(const char *network, GError **error);
void cn_nft_snapshot_free(CnNftSnapshot *snapshot);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CnNftSnapshot, cn_nft_snapshot_free)
/* Compares the kernel's tables with what NET and GUESTS (CnIsoGuest*:
 * the recorded guest ports) make.  NETWORK_WIDE_ONLY: only the network's
 * own elements, not the ports'. */
CnNftDrift *cn_nft_snapshot_compare(const CnNftSnapshot *kernel, const CnIsoNetwork *net, GPtrArray *guests,
                                    gboolean network_wide_only);
/* Both at once. */
CnNftDrift *cn_nft_drift(const CnIsoNetwork *net, GPtrArray *guests, gboolean network_wide_only, GError **error);
void cn_nft_drift_free(CnNftDrift *drift);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CnNftDrift, cn_nft_drift_free)
gboolean cn_nft_drift_is_empty(const CnNftDrift *drift);
/* One line for people: "set reserved: missing 10.0.0.5 . 52:54:...". */
char *cn_nft_element_drift_describe(const CnNftElementDrift *item);
/* Adds what is missing, removes what is extra and replaces what changed,
 * in one batch: tables and other elements are left as they are, so no
 * running guest is unpinned meanwhile. */
gboolean cn_nft_converge(const CnIsoNetwork *net, const CnNftDrift *drift, GError **error);

/* The elements of SET in NETWORK's table of FAMILY (NFPROTO_BRIDGE or
 * NFPROTO_INET); *EXISTS FALSE (and an empty array) when there is no such
 * table or set. */
gboolean cn_nft_set_elements(const char *network, uint32_t family, const char *set, GArray **elements,
                             gboolean *exists, GError **error);
/* What a drop (or reject) rule of a network's tables has counted since
 * the tables were made: one entry per counted rule, its comment being the
 * reason. */
typedef struct {
    const char *family; /* "bridge" or "inet" */
    char *chain;
    char *rule;         /* the rule's comment */
    guint64 packets, bytes;
} CnNftDropCount;
void cn_nft_drop_count_free(CnNftDropCount *count);
/* *COUNTS (CnNftDropCount*, in rule order; empty when the tables are
 * not there). */
gboolean cn_nft_read_drops(const char *network, GPtrArray **counts, GError **error);

/* Does NETWORK's isolation reserve ADDRESS for MAC (only the port pinned
 * to MAC may send from it)?  One element lookup, not a dump.  FALSE in
 * *RESERVED when the network has no isolation here. */
gboolean cn_nft_address_reserved(const char *network, uint32_t address, const uint8_t mac[6], gboolean *reserved,
                                 GError **error);
