/* defs-keyfile.c - see defs-keyfile.h */
#include <string.h>

#include "defs-keyfile.h"

static void raw_entry_free(gpointer data)
{
    CnRawEntry *entry = data;
    g_free(entry->key);
    g_free(entry->value);
    g_free(entry);
}

static void raw_group_free(gpointer data)
{
    CnRawGroup *group = data;
    g_free(group->header);
    g_ptr_array_unref(group->entries);
    g_hash_table_unref(group->by_key);
    g_free(group);
}

CnRawDefs *cn_raw_defs_new(void)
{
    CnRawDefs *defs = g_new0(CnRawDefs, 1);
    defs->groups = g_ptr_array_new_with_free_func(raw_group_free);
    defs->by_header = g_hash_table_new(g_str_hash, g_str_equal);
    return defs;
}

void cn_raw_defs_free(CnRawDefs *defs)
{
    if (!defs)
        return;
    g_hash_table_unref(defs->by_header);
    g_ptr_array_unref(defs->groups);
    g_free(defs);
}

static char *normalise_header(const char *text, gsize length)
{
    g_autofree char *copy = g_strndup(text, length);
    g_auto(GStrv) words = g_strsplit_set(copy, " \t", -1);
    GString *out = g_string_new(NULL);
    for (char **w = words; *w; w++) {
        if (**w == '\0')
            continue;
        if (out->len)
            g_string_append_c(out, ' ');
        g_string_append(out, *w);
    }
    return g_string_free(out, FALSE);
}

static CnRawGroup *open_group(CnRawDefs *defs, char *header, const CnLoc *loc)
{
    CnRawGroup *group = g_hash_table_lookup(defs->by_header, header);
    if (group) {
        g_free(header);
        return group;
    }
    group = g_new0(CnRawGroup, 1);
    group->header = header;
    group->loc = *loc;
    group->entries = g_ptr_array_new_with_free_func(raw_entry_free);
    group->by_key = g_hash_table_new(g_str_hash, g_str_equal);
    g_ptr_array_add(defs->groups, group);
    g_hash_table_insert(defs->by_header, group->header, group);
    return group;
}

static void set_entry(CnRawGroup *group, const char *key, gsize key_length, const char *value,
                      gsize value_length, const CnLoc *loc)
{
    g_autofree char *name = g_strndup(key, key_length);
    CnRawEntry *entry = g_hash_table_lookup(group->by_key, name);
    if (!entry) {
        entry = g_new0(CnRawEntry, 1);
        entry->key = g_steal_pointer(&name);
        g_ptr_array_add(group->entries, entry);
        g_hash_table_insert(group->by_key, entry->key, entry);
    }
    g_free(entry->value);
    entry->value = g_strndup(value, value_length);
    entry->loc = *loc;
}

static gboolean is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

void cn_raw_defs_parse(CnRawDefs *defs, const char *file, const char *text, gsize length,
                       CnDiagList *diags)
{
    CnLoc loc = { cn_loc_intern(file), 0 };
    CnRawGroup *group = NULL;
    gsize pos = 0;

    while (pos < length) {
        const char *line = text + pos;
        const char *newline = memchr(line, '\n', length - pos);
        gsize line_length = newline ? (gsize)(newline - line) : length - pos;
        pos += line_length + (newline ? 1 : 0);
        loc.line++;

        if (memchr(line, '\0', line_length)) {
            cn_diag_add(diags, &loc, NULL, NULL, "line contains a NUL byte");
            continue;
        }
        while (line_length > 0 && is_blank(*line)) {
            line++;
            line_length--;
        }
        while (line_length > 0 && is_blank(line[line_length - 1]))
            line_length--;
        if (line_length == 0 || line[0] == '#')
            continue;

        if (line[0] == '[') {
            if (line[line_length - 1] != ']') {
                cn_diag_add(diags, &loc, NULL, NULL, "group header must end with ']'");
                group = NULL;
                continue;
            }
            char *header = normalise_header(line + 1, line_length - 2);
            if (*header == '\0' || strpbrk(header, "[]")) {
                cn_diag_add(diags, &loc, NULL, NULL, "malformed group header");
                g_free(header);
                group = NULL;
                continue;
            }
            group = open_group(defs, header, &loc);
            continue;
        }

        const char *equals = memchr(line, '=', line_length);
        if (!equals) {
            cn_diag_add(diags, &loc, group ? group->header : NULL, NULL,
                        "expected 'key = value', a '[group]' header or a '#' comment");
            continue;
        }
        gsize key_length = (gsize)(equals - line);
        while (key_length > 0 && is_blank(line[key_length - 1]))
            key_length--;
        const char *value = equals + 1;
        gsize value_length = line_length - (gsize)(value - line);
        while (value_length > 0 && is_blank(*value)) {
            value++;
            value_length--;
        }
        if (key_length == 0) {
            cn_diag_add(diags, &loc, group ? group->header : NULL, NULL, "missing key before '='");
            continue;
        }
        if (!group) {
            g_autofree char *key = g_strndup(line, key_length);
            cn_diag_add(diags, &loc, NULL, key, "key outside of any [group]");
            continue;
        }
        set_entry(group, line, key_length, value, value_length, &loc);
    }
}

/* Undoes escapes in RAW up to END (exclusive); SPLIT_LISTS also accepts \; */
static gboolean unescape_span(const char *raw, const char *end, gboolean in_list, char **out)
{
    GString *text = g_string_sized_new((gsize)(end - raw));
    for (const char *p = raw; p < end; p++) {
        if (*p != '\\') {
            g_string_append_c(text, *p);
            continue;
        }
        if (++p >= end) {
            g_string_free(text, TRUE);
            return FALSE;
        }
        switch (*p) {
        case 's': g_string_append_c(text, ' '); break;
        case 'n': g_string_append_c(text, '\n'); break;
        case 't': g_string_append_c(text, '\t'); break;
        case 'r': g_string_append_c(text, '\r'); break;
        case '\\': g_string_append_c(text, '\\'); break;
        case ';':
            if (!in_list) {
                g_string_append(text, "\\;");
                break;
            }
            g_string_append_c(text, ';');
            break;
        default:
            g_string_free(text, TRUE);
            return FALSE;
        }
    }
    *out = g_string_free(text, FALSE);
    return TRUE;
}

gboolean cn_keyfile_unescape(const char *raw, char **out)
{
    return unescape_span(raw, raw + strlen(raw), FALSE, out);
}

gboolean cn_keyfile_split_list(const char *raw, GPtrArray **out)
{
    g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func(g_free);
    const char *start = raw;
    const char *p = raw;

    for (;; p++) {
        if (*p == '\\' && p[1] != '\0') {
            p++;
            continue;
        }
        if (*p != ';' && *p != '\0')
            continue;
        if (*p == '\0' && p == start && items->len > 0)
            break; /* trailing ';' */
        char *item;
        if (!unescape_span(start, p, TRUE, &item))
            return FALSE;
        g_strstrip(item);
        g_ptr_array_add(items, item);
        if (*p == '\0')
            break;
        start = p + 1;
    }
    if (items->len == 1 && *(char *)items->pdata[0] == '\0')
        g_ptr_array_set_size(items, 0);
    *out = g_steal_pointer(&items);
    return TRUE;
}
