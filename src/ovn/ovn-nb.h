/* ovn-nb.h - what carthage-net reads of OVN's northbound database: the
 * logical switches, their ports, DHCP options and DNS records, as one
 * consistent snapshot (four selects in one transact).  Pure: the select
 * operations to send, and the parsing of their results. */
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
} CnNbSwitch;

typedef struct {
    char *uuid, *name, *type;
    GPtrArray *addresses, *port_security; /* strings */
    char *dhcpv4_options;                 /* uuid, NULL: none */
    GHashTable *external_ids;
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
    GPtrArray *switches, *ports, *dhcp, *dns; /* CnNb* */
    GHashTable *port_by_uuid, *port_by_name;  /* -> CnNbPort* */
    GHashTable *dns_by_uuid;                  /* -> CnNbDns* */
} CnNbSnapshot;

/* The four selects, in order, to send in one transact. */
GPtrArray *cn_nb_snapshot_ops(void);
/* Their results (the transact's result array). */
CnNbSnapshot *cn_nb_snapshot_parse(JsonArray *results, GError **error);
CnNbSnapshot *cn_nb_snapshot_new(void);
void cn_nb_snapshot_free(CnNbSnapshot *nb);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CnNbSnapshot, cn_nb_snapshot_free)

const CnNbSwitch *cn_nb_find_switch(const CnNbSnapshot *nb, const char *name);
/* The DHCP options carthage-net made for NETWORK (the first, by uuid, when
 * someone made more). */
const CnNbDhcp *cn_nb_find_dhcp(const CnNbSnapshot *nb, const char *network);
/* A switch's DNS row carthage-net made for it, NULL: none. */
const CnNbDns *cn_nb_switch_dns(const CnNbSnapshot *nb, const CnNbSwitch *ls);
/* The network a row says it belongs to (its CN_OVN_KEY_NETWORK), NULL:
 * not carthage-net's. */
const char *cn_nb_owner_network(GHashTable *external_ids);
