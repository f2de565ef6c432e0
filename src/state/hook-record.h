/* hook-record.h - what the hook needs of a running network, kept where it
 * reads it: the runtime file "hook-network-NAME", written when a
 * carthage-net network starts (by the network hook, from libvirt's XML),
 * rewritten when `carthage-net define` adds, changes or removes machines
 * while it runs, and removed when it stops:
 *
 *   carthage-net-hook-network 2
 *   network NAME BRIDGE metadata|plain [masquerade] [handler=A.B.C.D:PORT] [ipv6[=PREFIX/64]]
 *   guest MACHINE IFACE MAC [A.B.C.D ...] [handler=A.B.C.D:PORT]
 *   retired A.B.C.D
 *
 * "masquerade" when libvirt masquerades the network (forward mode nat);
 * "handler=" the network's own metadata handler; "ipv6" when guest IPv6 is
 * pinned (with the prefix of the SLAAC addresses).  One "guest" line per
 * link of the definitions (which machine a MAC is reserved for, its
 * addresses and own handler), one "retired" line per address of a machine
 * removed while the network runs (no port may use it).  This record, not
 * the live network XML, is what the hook works from once the network
 * runs: libvirt cannot change a running network's <metadata>.
 *
 * The network line comes first (a reader that needs only it stops
 * there).  Version 1 (the first line "carthage-net-hook-network 1", no
 * guest or retired lines, no ipv6) is read too: tables made by an older
 * hook. */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "model.h"

typedef struct {
    char *machine;
    char *iface;
    uint8_t mac[6];
    GArray *addresses;  /* uint32_t */
    CnEndpoint handler; /* set: the machine's own */
} CnHookGuest;

typedef struct {
    int version;
    char *name;
    char *bridge;
    gboolean metadata;
    gboolean masquerade;
    CnEndpoint default_handler; /* set: FALSE when none */
    CnIpv6Mode ipv6;
    gboolean has_v6_prefix;
    CnV6Address v6_prefix;
    GPtrArray *guests;  /* CnHookGuest* */
    GArray *retired;    /* uint32_t */
} CnHookRecord;

CnHookRecord *cn_hook_record_new(const char *name, const char *bridge);
CnHookRecord *cn_hook_record_parse(const char *file, const char *text, gsize length, GError **error);
/* What cn_hook_record_parse_network needs read of the file: the first
 * line and the network line (a name of at most 64 bytes, a bridge of 15,
 * a handler, an IPv6 prefix) fit with room to spare. */
#define CN_HOOK_RECORD_HEAD_MAX 4096
/* The first line and the network line only, without a guest or retired
 * line (nothing after the network line is read): what the qemu hook
 * needs of the network, at a cost that does not grow with its machines. */
CnHookRecord *cn_hook_record_parse_network(const char *file, const char *text, gsize length, GError **error);
/* The whole record checked as cn_hook_record_parse does, but only the
 * guests with MAC kept, and no retired address (port-created's question:
 * whose MAC is this?), so that nothing is allocated per machine of the
 * network. */
CnHookRecord *cn_hook_record_parse_mac(const char *file, const char *text, gsize length, const uint8_t mac[6],
                                       GError **error);
char *cn_hook_record_format(const CnHookRecord *record);
void cn_hook_record_free(CnHookRecord *record);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CnHookRecord, cn_hook_record_free)
char *cn_hook_record_file_name(const char *network);
/* A guest line (its strings and ADDRESSES copied; ADDRESSES may be NULL). */
CnHookGuest *cn_hook_record_add_guest(CnHookRecord *record, const char *machine, const char *iface,
                                      const uint8_t mac[6], const GArray *addresses, CnEndpoint handler);
/* Which machine the record reserves MAC for, or NULL. */
const char *cn_hook_record_mac_owner(const CnHookRecord *record, const uint8_t mac[6]);

/* The ports the qemu hook isolated for one domain, "hook-domain-NAME":
 *
 *   carthage-net-hook-domain 2
 *   port NETWORK TAP MAC [pinned] [ADDRESS ...]
 *
 * "pinned" when carthage-net rendered the guest (its addresses pinned),
 * with the port's IPv4 addresses (public_address events on masqueraded
 * networks; see outbound.h) and IPv6 ones (for removal).  libvirt drops
 * the tap names from the domain XML before the "stopped" event, so this is
 * how the hook finds them again.  Version 1 (no "pinned", IPv4 only) is
 * read too. */
typedef struct {
    char *network;
    char tap[16];
    uint8_t mac[6];
    gboolean pinned;
    GArray *addresses;  /* uint32_t */
    GArray *addresses6; /* CnV6Address */
} CnHookPort;

GPtrArray *cn_hook_ports_parse(const char *file, const char *text, gsize length, GError **error);
char *cn_hook_ports_format(GPtrArray *ports);
GPtrArray *cn_hook_ports_new(void);
void cn_hook_port_free(CnHookPort *port);
/* ADDRESSES (uint32_t) and ADDRESSES6 (CnV6Address) may be NULL. */
CnHookPort *cn_hook_ports_add(GPtrArray *ports, const char *network, const char *tap, const uint8_t mac[6],
                              gboolean pinned, const GArray *addresses, const GArray *addresses6);
char *cn_hook_ports_file_name(const char *domain);
