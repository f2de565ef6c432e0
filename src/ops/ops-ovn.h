/* ops-ovn.h - technology = ovn networks kept as the definitions say, in
 * OVN's northbound database (src/ovn): define (one transaction for every
 * network on one database, planned again when another host changed them
 * in between), status (what differs, read-only), undefine.
 *
 * The northbound database is the fleet's truth: switch, ports with their
 * addresses (v4.pool ones given out there, never from this host's state),
 * DHCP options and DNS records.  What was done goes into REPORT; errors are
 * CN_OPS_ERROR for the caller's mistakes (INVALID) and for a database too
 * busy to take the change (BUSY), CN_OVSDB_ERROR for the database's. */
#pragma once

#include "model.h"
#include "ops.h"

typedef struct {
    const char *northbound; /* overrides every network's ovn.northbound; NULL: theirs */
    gboolean dry_run;       /* report and print the transaction; change nothing */
} CnOvnOptions;

gboolean cn_ops_ovn_define(GPtrArray *networks, const CnOvnOptions *options, GPtrArray *report, GError **error);
/* The CnOvnChange* of NETWORKS (and, with SITE, carthage-net's switches
 * the site does not define) into CHANGES. */
gboolean cn_ops_ovn_status(const CnSite *site, GPtrArray *networks, const CnOvnOptions *options, GPtrArray *changes,
                           GError **error);
/* Removes network NAME's switch and DHCP options from the database NET
 * names (NET NULL: the default or OPTIONS'). */
gboolean cn_ops_ovn_undefine(const char *name, const CnNetwork *net, const CnOvnOptions *options, GPtrArray *report,
                             GError **error);
/* Removes everything carthage-net wrote to the databases of NETWORKS (or
 * OPTIONS' northbound alone when NETWORKS is empty), and nothing else. */
gboolean cn_ops_ovn_purge(GPtrArray *networks, const CnOvnOptions *options, GPtrArray *report, GError **error);
/* The transaction define would send to an empty database (render ovn,
 * the goldens), as indented JSON. */
char *cn_ops_ovn_render(GPtrArray *networks, GError **error);
