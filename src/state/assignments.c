/* assignments.c - see assignments.h */
#include <string.h>

#include "assignments.h"
#include "netaddr.h"
#include "records.h"

static void assignment_free(gpointer data)
{
    CnV4Assignment *a = data;
    g_free(a->network);
    g_free(a->machine);
    g_free(a->iface);
    g_free(a);
}

CnAssignments *cn_assignments_new(void)
{
    CnAssignments *assignments = g_new0(CnAssignments, 1);
    assignments->items = g_ptr_array_new_with_free_func(assignment_free);
    return assignments;
}

void cn_assignments_free(CnAssignments *assignments)
{
    if (!assignments)
        return;
    g_ptr_array_unref(assignments->items);
    g_free(assignments);
}

void cn_assignments_add(CnAssignments *assignments, const char *network, const char *machine,
                        const char *iface, uint32_t address)
{
    CnV4Assignment *a = g_new0(CnV4Assignment, 1);
    a->network = g_strdup(network);
    a->machine = g_strdup(machine);
    a->iface = g_strdup(iface);
    a->address = address;
    g_ptr_array_add(assignments->items, a);
}

const CnV4Assignment *cn_assignments_find(const CnAssignments *assignments, const char *network,
                                          const char *machine, const char *iface)
{
    if (!assignments)
        return NULL;
    for (guint i = 0; i < assignments->items->len; i++) {
        const CnV4Assignment *a = assignments->items->pdata[i];
        if (strcmp(a->network, network) == 0 && strcmp(a->machine, machine) == 0 &&
            strcmp(a->iface, iface) == 0)
            return a;
    }
    return NULL;
}

gboolean cn_assignments_equal(const CnAssignments *a, const CnAssignments *b)
{
    if (a->items->len != b->items->len)
        return FALSE;
    for (guint i = 0; i < a->items->len; i++) {
        const CnV4Assignment *x = a->items->pdata[i];
        const CnV4Assignment *y = b->items->pdata[i];
        if (strcmp(x->network, y->network) || strcmp(x->machine, y->machine) ||
            strcmp(x->iface, y->iface) || x->address != y->address)
            return FALSE;
    }
    return TRUE;
}

#define ASSIGNMENTS_HEADER "carthage-net-assignments 1"
#define ASSIGNMENTS_USAGE "v4 NETWORK MACHINE IFACE ADDRESS"

CnAssignments *cn_assignments_parse(const char *file, const char *text, gsize length, GError **error)
{
    g_autoptr(GPtrArray) records = cn_records_parse(file, text, length, ASSIGNMENTS_HEADER, error);
    if (!records)
        return NULL;
    g_autoptr(CnAssignments) assignments = cn_assignments_new();
    for (guint i = 0; i < records->len; i++) {
        const CnRecord *record = records->pdata[i];
        char **words = record->words;
        uint32_t address;
        if (g_strv_length(words) != 5 || strcmp(words[0], "v4") != 0 || !cn_name_is_valid(words[1]) ||
            !cn_dns_name_is_valid(words[2]) || !cn_ifname_is_valid(words[3]) ||
            !cn_v4_parse(words[4], &address)) {
            cn_records_set_error(error, file, record, ASSIGNMENTS_USAGE);
            return NULL;
        }
        if (cn_assignments_find(assignments, words[1], words[2], words[3])) {
            cn_records_set_error(error, file, record, ASSIGNMENTS_USAGE " once per link");
            return NULL;
        }
        cn_assignments_add(assignments, words[1], words[2], words[3], address);
    }
    return g_steal_pointer(&assignments);
}

char *cn_assignments_format(const CnAssignments *assignments)
{
    GString *out = g_string_new(ASSIGNMENTS_HEADER "\n");
    for (guint i = 0; i < assignments->items->len; i++) {
        const CnV4Assignment *a = assignments->items->pdata[i];
        char address[CN_V4_STR_MAX];
        cn_v4_format(a->address, address);
        g_string_append_printf(out, "v4 %s %s %s %s\n", a->network, a->machine, a->iface, address);
    }
    return g_string_free(out, FALSE);
}
