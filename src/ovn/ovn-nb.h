/* ovn-nb.h - what carthage-net reads of OVN's northbound database: the
 * logical switches and their ports, DHCP options, DNS records, logical
 * routers with their ports, gateway chassis, static routes and NAT rules,
 * port groups and their ACLs, as one consistent snapshot (one select per
 * table in one transact).  Pure: the select operations to send, and the
 * parsing of their results. */
#pragma once

#include "ovsdb-json.h"

#define CN_OVN_NB_DB "OVN_Northbound"

/* external_ids keys carthage-net sets on every row it owns. */
#define CN_OVN_KEY_NETWORK "carthage-net:network"
#define CN_OVN_KEY_MACHINE "carthage-net:machine"
#define CN_OVN_KEY_IFACE "carthage-net:iface"
/* On a switch: bumped by every change carthage-net makes to the network,
 * so that a define on another host that read it before fails its wait and
 * reads again (optimistic concurrency across hosts). */
#define CN_OVN_KEY_VERSION "carthage-net:version"

typedef struct {
    char *uuid, *name;
    GPtrArray *ports;       /* uuid strings */
    GPtrArray *dns_records; /* uuid strings */
    GHashTable *external_ids;
    GPtrArray *acls;        /* uuid strings */
} CnNbSwitch;

typedef struct {
    char *uuid, *name, *type;
    GPtrArray *addresses, *port_security; /* strings */
    char *dhcpv4_options;                 /* uuid, NULL: none */
    GHashTable *options, *external_ids;
    const CnNbSwitch *owner;              /* the switch listing it, NULL: none */
} CnNbPort;

typedef struct {
    char *uuid, *cidr;
    GHashTable *options, *external_ids;
} CnNbDhcp;

typedef struct {
    char *uuid;
    GHashTable *records, *external_ids;
} CnNbDns;

typedef struct {
    char *uuid, *name;
    GPtrArray *ports, *static_routes, *nat; /* uuid strings */
    GHashTable *external_ids;
} CnNbRouter;

typedef struct {
    char *uuid, *name, *mac;
    GPtrArray *networks;        /* strings: "A.B.C.D/N" */
    GPtrArray *gateway_chassis; /* uuid strings */
    GHashTable *external_ids;
} CnNbRouterPort;

typedef struct {
    char *uuid, *name, *chassis_name;
    gint64 priority;
} CnNbGatewayChassis;

typedef struct {
    char *uuid, *type, *external_ip, *logical_ip;
    char *logical_port, *external_mac; /* NULL: none */
    GHashTable *external_ids;
} CnNbNat;

typedef struct {
    char *uuid, *ip_prefix, *nexthop;
    GHashTable *external_ids;
} CnNbRoute;

typedef struct {
    char *uuid, *name;
    GPtrArray *ports, *acls; /* uuid strings */
    GHashTable *external_ids;
} CnNbPortGroup;

typedef struct {
    char *uuid, *direction, *match, *action;
    gint64 priority;
    GHashTable *external_ids;
} CnNbAcl;

typedef struct {
    GPtrArray *switches, *ports, *dhcp, *dns;      /* CnNb* */
    GPtrArray *routers, *router_ports, *gateway_chassis, *nat, *routes, *port_groups, *acls;
    GHashTable *port_by_uuid, *port_by_name;       /* -> CnNbPort* */
    GHashTable *dns_by_uuid;                       /* -> CnNbDns* */
    GHashTable *router_port_by_uuid;               /* -> CnNbRouterPort* */
    GHashTable *gateway_chassis_by_uuid;           /* -> CnNbGatewayChassis* */
    GHashTable *nat_by_uuid, *route_by_uuid, *acl_by_uuid;
} CnNbSnapshot;

/* The selects, one per table, in order, to send in one transact. */
GPtrArray *cn_nb_snapshot_ops(void);
/* Their results (the transact's result array). */
CnNbSnapshot *cn_nb_snapshot_parse(JsonArray *results, GError **error);
CnNbSnapshot *cn_nb_snapshot_new(void);
void cn_nb_snapshot_free(CnNbSnapshot *nb);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CnNbSnapshot, cn_nb_snapshot_free)

const CnNbSwitch *cn_nb_find_switch(const CnNbSnapshot *nb, const char *name);
const CnNbRouter *cn_nb_find_router(const CnNbSnapshot *nb, const char *name);
const CnNbPortGroup *cn_nb_find_port_group(const CnNbSnapshot *nb, const char *name);
/* The DHCP options carthage-net made for NETWORK (the first, by uuid, when
 * someone made more). */
const CnNbDhcp *cn_nb_find_dhcp(const CnNbSnapshot *nb, const char *network);
/* A switch's DNS row carthage-net made for it, NULL: none. */
const CnNbDns *cn_nb_switch_dns(const CnNbSnapshot *nb, const CnNbSwitch *ls);
/* The network a row says it belongs to (its CN_OVN_KEY_NETWORK), NULL:
 * not carthage-net's. */
const char *cn_nb_owner_network(GHashTable *external_ids);
