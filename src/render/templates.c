/* templates.c - see templates.h */
#include "config.h"

#include "paths.h"
#include "templates.h"

xmlDocPtr cn_template_load(const char *name, GError **error)
{
    const char *const *dirs = cn_paths_template_dirs();
    g_autoptr(GString) tried = g_string_new(NULL);

    for (gsize i = 0; dirs[i]; i++) {
        g_autofree char *path = g_build_filename(dirs[i], name, NULL);
        g_autofree char *text = NULL;
        gsize length;
        g_autoptr(GError) local = NULL;
        if (!g_file_get_contents(path, &text, &length, &local)) {
            if (!g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
                g_propagate_error(error, g_steal_pointer(&local));
                return NULL;
            }
            g_string_append_printf(tried, "%s%s", tried->len ? ", " : "", path);
            continue;
        }
        return cn_xml_parse(path, text, length, error);
    }
    g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT, "template %s not found (looked for %s)",
                name, tried->str);
    return NULL;
}
