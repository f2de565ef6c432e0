/* alloc.h - stable MAC and IPv4 pool allocation.
 *
 * MACs are a pure function of machine and interface names.  Pool
 * addresses are a function of the definitions and of the previous
 * assignments (kept in the state directory): a link keeps its address
 * while it stays valid, and new links take a free address starting at a
 * slot hashed from their names, so the result does not depend on file
 * order and, without saved state, is still the same on every run.
 */
#pragma once

#include "diag.h"

typedef struct {
    char *network;
    char *machine;
    char *iface;
    uint32_t address;
} CnV4Assignment;

typedef struct {
    GPtrArray *items; /* CnV4Assignment*, sorted by network, machine, iface */
} CnAssignments;

CnAssignments *cn_assignments_new(void);
void cn_assignments_free(CnAssignments *assignments);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CnAssignments, cn_assignments_free)
void cn_assignments_add(CnAssignments *assignments, const char *network, const char *machine,
                        const char *iface, uint32_t address);
const CnV4Assignment *cn_assignments_find(const CnAssignments *assignments, const char *network,
                                          const char *machine, const char *iface);
gboolean cn_assignments_equal(const CnAssignments *a, const CnAssignments *b);

/* The state file format, "carthage-net-assignments 1" then one line per
 * assignment: "v4 NETWORK MACHINE IFACE ADDRESS".  FILE names the source
 * in errors. */
CnAssignments *cn_assignments_parse(const char *file, const char *text, gsize length, GError **error);
char *cn_assignments_format(const CnAssignments *assignments);

/* Gives every link without an explicit MAC its hashed one. */
void cn_alloc_macs(CnSite *site);
void cn_mac_for_link(const char *machine, const char *iface, uint8_t mac[6]);

/* Fills v4_address of every CN_V4_POOL link, keeping PREVIOUS where it
 * still fits, and returns the full new table.  Exhausted pools go to
 * DIAGS (and the links concerned keep address 0). */
CnAssignments *cn_alloc_v4(CnSite *site, const CnAssignments *previous, CnDiagList *diags);
