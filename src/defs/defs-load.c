/* defs-load.c - reading definition files and directories, and the
 * one-call path from sources to a validated site. */
#include <errno.h>
#include <string.h>

#include "alloc.h"
#include "defs.h"

static void load_file(CnRawDefs *defs, const char *path, CnDiagList *diags)
{
    g_autofree char *text = NULL;
    gsize length = 0;
    g_autoptr(GError) error = NULL;

    if (!g_file_get_contents(path, &text, &length, &error)) {
        CnLoc loc = { cn_loc_intern(path), 0 };
        cn_diag_add(diags, &loc, NULL, NULL, "cannot read: %s", error->message);
        return;
    }
    cn_raw_defs_parse(defs, path, text, length, diags);
}

static int compare_strings(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void load_dir(CnRawDefs *defs, const char *path, CnDiagList *diags)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GDir) dir = g_dir_open(path, 0, &error);
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);

    if (!dir) {
        CnLoc loc = { cn_loc_intern(path), 0 };
        cn_diag_add(diags, &loc, NULL, NULL, "cannot read directory: %s", error->message);
        return;
    }
    for (const char *name; (name = g_dir_read_name(dir));) {
        if (g_str_has_suffix(name, ".conf") && name[0] != '.')
            g_ptr_array_add(names, g_strdup(name));
    }
    g_ptr_array_sort(names, compare_strings);
    for (guint i = 0; i < names->len; i++) {
        g_autofree char *file = g_build_filename(path, names->pdata[i], NULL);
        load_file(defs, file, diags);
    }
}

void cn_defs_load(CnRawDefs *defs, const CnSource *sources, gsize n_sources, CnDiagList *diags)
{
    for (gsize i = 0; i < n_sources; i++) {
        if (sources[i].kind == CN_SOURCE_DIR)
            load_dir(defs, sources[i].path, diags);
        else
            load_file(defs, sources[i].path, diags);
    }
}

CnSite *cn_defs_load_site(const CnSource *sources, gsize n_sources, CnDiagList *diags)
{
    g_autoptr(CnRawDefs) defs = cn_raw_defs_new();
    cn_defs_load(defs, sources, n_sources, diags);

    g_autoptr(CnSite) site = cn_defs_build(defs, diags);
    cn_alloc_macs(site);
    cn_defs_validate(site, diags);
    cn_diag_sort(diags);
    if (cn_diag_count(diags) > 0)
        return NULL;
    return g_steal_pointer(&site);
}
