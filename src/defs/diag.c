/* diag.c - see diag.h */
#include <stdio.h>

#include "diag.h"

static void diag_free(gpointer data)
{
    CnDiag *diag = data;
    g_free(diag->file);
    g_free(diag->group);
    g_free(diag->key);
    g_free(diag->message);
    g_free(diag);
}

CnDiagList *cn_diag_list_new(void)
{
    CnDiagList *list = g_new0(CnDiagList, 1);
    list->items = g_ptr_array_new_with_free_func(diag_free);
    return list;
}

void cn_diag_list_free(CnDiagList *list)
{
    if (!list)
        return;
    g_ptr_array_unref(list->items);
    g_free(list);
}

void cn_diag_add(CnDiagList *list, const CnLoc *loc, const char *group, const char *key,
                 const char *format, ...)
{
    CnDiag *diag = g_new0(CnDiag, 1);
    va_list args;

    diag->file = g_strdup(loc ? loc->file : NULL);
    diag->line = loc ? loc->line : 0;
    diag->group = g_strdup(group);
    diag->key = g_strdup(key);
    va_start(args, format);
    diag->message = g_strdup_vprintf(format, args);
    va_end(args);
    g_ptr_array_add(list->items, diag);
}

guint cn_diag_count(const CnDiagList *list)
{
    return list->items->len;
}

static int diag_compare(gconstpointer a, gconstpointer b)
{
    const CnDiag *x = *(CnDiag *const *)a;
    const CnDiag *y = *(CnDiag *const *)b;
    int c = g_strcmp0(x->file, y->file);
    if (c)
        return c;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    c = g_strcmp0(x->group, y->group);
    if (c)
        return c;
    c = g_strcmp0(x->key, y->key);
    if (c)
        return c;
    return g_strcmp0(x->message, y->message);
}

void cn_diag_sort(CnDiagList *list)
{
    g_ptr_array_sort(list->items, diag_compare);
}

char *cn_diag_format(const CnDiag *diag)
{
    GString *out = g_string_new(NULL);
    if (diag->file) {
        g_string_append(out, diag->file);
        if (diag->line > 0)
            g_string_append_printf(out, ":%d", diag->line);
        g_string_append(out, ": ");
    }
    if (diag->group)
        g_string_append_printf(out, "[%s] ", diag->group);
    if (diag->key)
        g_string_append_printf(out, "%s: ", diag->key);
    g_string_append(out, diag->message);
    return g_string_free(out, FALSE);
}

void cn_diag_print(const CnDiagList *list, FILE *stream, const char *prefix)
{
    for (guint i = 0; i < list->items->len; i++) {
        g_autofree char *line = cn_diag_format(list->items->pdata[i]);
        fprintf(stream, "%s%s\n", prefix, line);
    }
}

const char *cn_loc_intern(const char *file)
{
    return g_intern_string(file);
}
