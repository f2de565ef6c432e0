/* assignments.h - the pool addresses given out so far, and their state
 * file "assignments":
 *
 *   carthage-net-assignments 1
 *   v4 NETWORK MACHINE IFACE ADDRESS
 *
 * one line per link with an address from its network's v4.pool (the
 * allocator, alloc.h, keeps them while they stay valid). */
#pragma once

#include <glib.h>
#include <stdint.h>

#define CN_ASSIGNMENTS_FILE "assignments"

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

/* FILE names the source in errors. */
CnAssignments *cn_assignments_parse(const char *file, const char *text, gsize length, GError **error);
char *cn_assignments_format(const CnAssignments *assignments);
