/* fuzz-defs.c - libFuzzer target: definitions text through the whole
 * front end (key-file reader, build, MACs, validation) and, when the
 * definitions are valid, the pool allocator, as the CLI does.
 *
 * Besides crashes and sanitizer reports it checks what every valid site
 * promises: pool addresses are distinct and inside their pool, and the
 * table survives the state file format. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "defs.h"
#include "netaddr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_allocation(CnSite *site, const CnAssignments *table)
{
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (guint i = 0; i < site->links->len; i++) {
        const CnLink *link = site->links->pdata[i];
        if (link->v4_source != CN_V4_POOL || link->v4_address == 0)
            continue;
        const CnNetwork *net = link->net;
        if (link->v4_address < net->v4_pool.first || link->v4_address > net->v4_pool.last ||
            link->v4_address == net->v4_gateway) {
            fprintf(stderr, "link %s %s got an address outside its pool\n", link->machine_name,
                    link->iface);
            abort();
        }
        g_autofree char *key = g_strdup_printf("%s/%u", net->name, link->v4_address);
        if (g_hash_table_contains(seen, key)) {
            fprintf(stderr, "address given twice: %s\n", key);
            abort();
        }
        g_hash_table_add(seen, g_steal_pointer(&key));
    }

    g_autofree char *text = cn_assignments_format(table);
    g_autoptr(GError) error = NULL;
    g_autoptr(CnAssignments) back = cn_assignments_parse("state", text, strlen(text), &error);
    if (!back || !cn_assignments_equal(table, back)) {
        fprintf(stderr, "assignments do not survive the state file: %s\n%s",
                error ? error->message : "(different)", text);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autoptr(CnRawDefs) raw = cn_raw_defs_new();
    g_autoptr(CnDiagList) diags = cn_diag_list_new();

    cn_raw_defs_parse(raw, "fuzz.conf", (const char *)data, size, diags);
    g_autoptr(CnSite) site = cn_defs_build(raw, diags);
    cn_alloc_macs(site);
    cn_defs_validate(site, diags);
    cn_diag_sort(diags);
    for (guint i = 0; i < diags->items->len; i++)
        g_free(cn_diag_format(diags->items->pdata[i]));

    /* Callers allocate only on valid definitions (cn_cli_load_site). */
    if (cn_diag_count(diags) == 0) {
        g_autoptr(CnAssignments) previous = cn_assignments_new();
        g_autoptr(CnAssignments) table = cn_alloc_v4(site, previous, diags);
        check_allocation(site, table);
    }
    return 0;
}
