/* common-full.c - what the commands of carthage-net-full share: templates,
 * seeds, the libvirt connection, the metadata connector. */
#include <string.h>

#include "cli-full.h"
#include "metadata-snapshot.h"
#include "render.h"
#include "templates.h"
#include "virt.h"

xmlDocPtr cn_cli_load_template(const char *name, int *exit_code)
{
    g_autoptr(GError) error = NULL;
    xmlDocPtr doc = cn_template_load(name, &error);
    if (!doc) {
        cn_cli_error("%s", error->message);
        *exit_code = CN_EXIT_SYSTEM;
    }
    return doc;
}

CnVirt *cn_cli_open_virt(CnCli *cli, int *exit_code)
{
    g_autoptr(GError) error = NULL;
    CnVirt *virt = cn_virt_open(cli->uri, &error);
    if (!virt)
        *exit_code = cn_cli_fail(error);
    return virt;
}

gboolean cn_cli_seed_domain(xmlDocPtr domain, const CnMachine *machine, const char *data_dir, GError **error)
{
    g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(CnMetadataFiles) files = cn_metadata_files_read(data_dir, machine->name, warnings);
    for (guint i = 0; i < warnings->len; i++)
        cn_cli_warning("%s", (char *)warnings->pdata[i]);
    return cn_render_domain_seed(domain, machine, files, error);
}

char *cn_cli_connector(GError **error)
{
    g_autofree char *self = g_file_read_link("/proc/self/exe", error);
    if (!self)
        return NULL;
    for (const char *c = self; *c; c++) {
        if (!g_ascii_isalnum(*c) && !strchr("/_.-+@:", *c)) {
            g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                        "%s: QEMU's guestfwd cannot carry '%c' in the program's path (configure --libexecdir "
                        "where the path is letters, digits and /_.-+@:)", self, *c);
            return NULL;
        }
    }
    return g_steal_pointer(&self);
}
