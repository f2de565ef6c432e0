/* spoof-seen.c - see spoof-seen.h */
#include <string.h>

#include "model.h"
#include "netaddr.h"
#include "spoof-seen.h"

#define HEADER "carthage-net-spoof-seen 1"

CnSpoofSeen *cn_spoof_seen_new(void)
{
    return g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
}

void cn_spoof_seen_set(CnSpoofSeen *seen, const char *network, const char *port, guint64 packets)
{
    guint64 *value = g_new(guint64, 1);
    *value = packets;
    g_hash_table_insert(seen, g_strdup_printf("%s %s", network, port), value);
}

guint64 cn_spoof_seen_get(CnSpoofSeen *seen, const char *network, const char *port)
{
    g_autofree char *key = g_strdup_printf("%s %s", network, port);
    guint64 *value = g_hash_table_lookup(seen, key);
    return value ? *value : 0;
}

static gboolean valid_word(const char *word, gsize max)
{
    gsize length = strlen(word);
    if (length == 0 || length > max)
        return FALSE;
    for (const char *c = word; *c; c++)
        if (!g_ascii_isgraph(*c))
            return FALSE;
    return TRUE;
}

gpointer cn_spoof_seen_parse(const char *file, const char *text, gsize length, GError **error)
{
    g_autofree char *copy = g_strndup(text, length);
    if (strlen(copy) != length) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: a NUL byte", file);
        return NULL;
    }
    g_auto(GStrv) lines = g_strsplit(copy, "\n", -1);
    if (!lines[0] || strcmp(lines[0], HEADER) != 0) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s:1: expected \"" HEADER "\"", file);
        return NULL;
    }
    CnSpoofSeen *seen = cn_spoof_seen_new();
    for (guint i = 1; lines[i]; i++) {
        if (lines[i][0] == '\0')
            continue;
        g_auto(GStrv) words = g_strsplit(lines[i], " ", -1);
        guint64 packets = 0;
        if (g_strv_length(words) != 3 || !valid_word(words[0], 64) || !valid_word(words[1], CN_IFNAME_MAX) ||
            !g_ascii_string_to_unsigned(words[2], 10, 0, G_MAXUINT64, &packets, NULL)) {
            g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s:%u: expected NETWORK PORT PACKETS", file, i + 1);
            g_hash_table_unref(seen);
            return NULL;
        }
        cn_spoof_seen_set(seen, words[0], words[1], packets);
    }
    return seen;
}

char *cn_spoof_seen_format(CnSpoofSeen *seen)
{
    g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func(g_free);
    GHashTableIter iter;
    gpointer key, value;
    g_hash_table_iter_init(&iter, seen);
    while (g_hash_table_iter_next(&iter, &key, &value))
        g_ptr_array_add(lines, g_strdup_printf("%s %" G_GUINT64_FORMAT "\n", (char *)key, *(guint64 *)value));
    g_ptr_array_sort(lines, cn_compare_string_ptrs);
    GString *out = g_string_new(HEADER "\n");
    for (guint i = 0; i < lines->len; i++)
        g_string_append(out, lines->pdata[i]);
    return g_string_free(out, FALSE);
}
