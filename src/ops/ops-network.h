/* ops-network.h - libvirt networks kept as the definitions say, shared by
 * define, undefine and repair: defined or updated in place (the same UUID
 * and bridge MAC), reservations and DNS records changed live, the hook's
 * record and the kernel's elements following (ops-isolation.h), host
 * bridges made and recorded as carthage-net's.
 *
 * None of these holds the state lock while calling libvirt: libvirt runs
 * the hook, which takes the lock, and waits for it.  What was done goes
 * into REPORT ("network NAME: ..." lines); errors are CN_OPS_ERROR for
 * the caller's mistakes, other domains for the system's. */
#pragma once

#include <libxml/tree.h>

#include "model.h"
#include "ops.h"
#include "owned-bridges.h"
#include "state.h"
#include "virt.h"

typedef struct {
    gboolean start, autostart, dry_run;
} CnDefineOptions;

gboolean cn_ops_define_network(CnVirt *virt, const CnNetwork *net, xmlDocPtr template, const CnDefineOptions *options,
                               const char *state_dir, GPtrArray *report, GError **error);
/* Stops and undefines NAME (refused, CN_OPS_ERROR_BUSY, while domains use
 * it unless FORCE), and deletes its bridge when carthage-net made it and
 * delete_bridge says so. */
gboolean cn_ops_undefine_network(CnVirt *virt, CnSite *site, const char *name, gboolean force, const char *state_dir,
                                 GPtrArray *report, GError **error);

/* The host bridges carthage-net made (the state file "bridges"). */
CnOwnedBridges *cn_ops_read_owned_bridges(CnState *state, GError **error);

/* The domains the hook recorded ports for (in RUN_DIR) that are not
 * running: their "stopped" never ran to the end.  Names into STALE. */
gboolean cn_ops_stale_domain_records(CnVirt *virt, const char *run_dir, GPtrArray *stale, GError **error);
/* Removes those records (under cn_ports_lock), each only if it was not
 * written again since libvirt was asked (a start in between); the
 * domains' names into FORGOTTEN. */
gboolean cn_ops_forget_stale_domain_records(CnVirt *virt, const char *run_dir, GPtrArray *forgotten,
                                            GError **error);
