/* ovn-plan.h - OVN logical switches as the definitions say, planned
 * against a northbound snapshot.  Pure.
 *
 * Network -> Logical_Switch (named as the network); link ->
 * Logical_Switch_Port named cn_ovn_port_name() with addresses and
 * port_security "MAC IP"; v4.dhcp -> one DHCP_Options row the ports
 * point at; dns_name -> the switch's DNS records.  v4.pool addresses are
 * given out here, from the snapshot: a port keeps the address it has in
 * the database (on whichever host it was given), a new one takes the
 * lowest free.  Every row carthage-net writes carries
 * external_ids:carthage-net:network; rows without it are never changed,
 * and their addresses are never handed out.
 *
 * The plan is one transaction: for each network, a wait that the switch
 * is as read (its external_ids, with the version carthage-net bumps on
 * each change) or still absent, then the changes.  Another host's define
 * in between makes the wait fail, and the caller plans again. */
#pragma once

#include "model.h"
#include "ovn-nb.h"

typedef enum {
    CN_OVN_MISSING,
    CN_OVN_EXTRA,
    CN_OVN_CHANGED,
} CnOvnChangeKind;

typedef struct {
    char *network;
    char *object;  /* "switch", "port app eth0", "dhcp options", "dns records" */
    CnOvnChangeKind kind;
    char *detail;  /* what differs, NULL for missing and extra */
} CnOvnChange;

typedef struct {
    GPtrArray *ops;     /* JsonNode*: the transaction's operations; empty when in step */
    GPtrArray *changes; /* CnOvnChange* */
    GPtrArray *notes;   /* char*: "network lab: port app eth0: 10.80.0.20 from v4.pool" */
} CnOvnPlan;

void cn_ovn_plan_free(CnOvnPlan *plan);
void cn_ovn_change_free(CnOvnChange *change);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CnOvnPlan, cn_ovn_plan_free)

/* NETWORKS: the CnNetwork* (technology ovn) to bring in step.  COMMENT
 * goes into the transaction (ovsdb-server logs it).  Errors are
 * CN_OPS_ERROR: INVALID for a switch of that name that is not
 * carthage-net's, BUSY for an exhausted v4.pool. */
CnOvnPlan *cn_ovn_plan_networks(GPtrArray *networks, const CnNbSnapshot *nb, const char *comment, GError **error);
/* Removes network NAME's switch (its ports and DNS records go with it)
 * and DHCP options; empty when there is none of carthage-net's. */
CnOvnPlan *cn_ovn_plan_removal(const char *name, const CnNbSnapshot *nb, const char *comment, GError **error);
/* Everything carthage-net wrote to the database (rows whose external_ids
 * name a network), and nothing else: repair --purge. */
CnOvnPlan *cn_ovn_plan_purge(const CnNbSnapshot *nb, const char *comment);
/* carthage-net's switches the site has no ovn network for, as changes
 * (extra switch); never removed but by undefine. */
void cn_ovn_extra_switches(const CnSite *site, const CnNbSnapshot *nb, GPtrArray *changes);

/* The metadata localport of NETWORK (each chassis binds its end by this
 * iface-id). */
char *cn_ovn_metadata_port_name(const char *network);

/* A port's own IPv4 address (the first of "MAC IP [SECONDARY...]"), 0:
 * none. */
uint32_t cn_ovn_port_address(const CnNbPort *port);

/* "missing", "extra", "changed". */
const char *cn_ovn_change_kind_name(CnOvnChangeKind kind);
/* "network lab: ovn: port app eth0: changed: addresses ..." */
char *cn_ovn_change_describe(const CnOvnChange *change);
