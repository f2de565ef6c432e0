/* ovn-plan-private.h - what the parts of the northbound planner share:
 * one network's plan in the making, and small map and text helpers. */
#pragma once

#include "alloc.h"
#include "ovn-plan.h"

/* What one link's port should be. */
typedef struct {
    const CnLink *link;
    char name[CN_UUID_STR_MAX];
    char *label;    /* "app eth0" */
    uint32_t address; /* 0: none (a network without v4.network) */
    char *address_text; /* "MAC IP" or "MAC" */
    const CnNbPort *existing;
    JsonNode *ref;  /* its row: ["uuid", U] or ["named-uuid", N] */
} WantPort;

/* One network's plan in the making. */
typedef struct {
    const CnNetwork *net;
    const CnNbSnapshot *nb;
    const CnNbSwitch *ls;      /* NULL: to be made */
    guint index;               /* for named uuids */
    GPtrArray *ops;            /* JsonNode*, this network's changes */
    GPtrArray *changes;
    GPtrArray *notes;
    GArray *ports;             /* WantPort */
    JsonNode *dhcp_ref;        /* the DHCP row ports point at, NULL: none */
    GPtrArray *ports_in, *ports_out; /* JsonNode* uuid refs for the switch's ports column */
} NetPlan;

void cn_ovn_add_change(GPtrArray *changes, const char *network, const char *object, CnOvnChangeKind kind,
                       char *detail);
GHashTable *cn_ovn_string_map_new(void);
void cn_ovn_map_set(GHashTable *map, const char *key, const char *value);
gboolean cn_ovn_maps_equal(GHashTable *a, GHashTable *b);
/* OUR keys of WANT are in HAVE with the same values. */
gboolean cn_ovn_map_has(GHashTable *have, GHashTable *want);
char *cn_ovn_map_difference(GHashTable *have, GHashTable *want);
gboolean cn_ovn_strings_equal_one(GPtrArray *have, const char *want);
char *cn_ovn_strings_text(GPtrArray *strings);
/* A named uuid for a row inserted by network INDEX's plan. */
char *cn_ovn_named(const char *kind, guint network, guint item);
/* {carthage-net:network: NET}. */
GHashTable *cn_ovn_network_external_ids(const CnNetwork *net);
JsonNode *cn_ovn_op_list_delete(const char *table, const char *uuid, const char *column, const char *member_uuid);

/* A port carthage-net keeps on switch LS (NULL: the switch is being made)
 * for the network itself: TYPE, one ADDRESS (NULL: none), OPTIONS.  Its
 * reference goes into PORTS_IN when the switch must list it. */
gboolean cn_ovn_plan_own_port(NetPlan *np, const CnNbSwitch *ls, const char *name, const char *object,
                              const char *type, const char *address, GHashTable *options, GPtrArray *ports_in,
                              const char *uuid_kind, GError **error);

/* metadata = true: a localport with the metadata address, which each
 * chassis binds to its own end (carthage-net metadata serve --ovn). */
gboolean cn_ovn_plan_metadata_port(NetPlan *np, GError **error);
/* The logical router of a forward nat or route network, its uplink switch
 * and the switch's router port (ovn-plan-router.c). */
gboolean cn_ovn_plan_router(NetPlan *np, GError **error);
/* isolate_guests: the network's port group and its four ACLs. */
gboolean cn_ovn_plan_port_group(NetPlan *np, GError **error);
/* Names of carthage-net's rows for network NET. */
char *cn_ovn_router_name(const char *network);
char *cn_ovn_router_port_name(const char *network); /* the switch's port to the router */
char *cn_ovn_uplink_switch_name(const char *network);
char *cn_ovn_port_group_name(const char *network);
