/* records.c - see records.h */
#include <string.h>

#include "records.h"

G_DEFINE_QUARK(cn-records-error-quark, cn_records_error)

static void record_free(gpointer data)
{
    CnRecord *record = data;
    g_strfreev(record->words);
    g_free(record);
}

GPtrArray *cn_records_parse(const char *file, const char *text, gsize length, const char *header,
                            GError **error)
{
    if (memchr(text, '\0', length)) {
        g_set_error(error, CN_RECORDS_ERROR, 0, "%s: contains a NUL byte", file);
        return NULL;
    }
    g_autofree char *copy = g_strndup(text, length);
    g_auto(GStrv) lines = g_strsplit(copy, "\n", -1);
    if (!lines[0] || strcmp(lines[0], header) != 0) {
        g_set_error(error, CN_RECORDS_ERROR, 0,
                    "%s:1: expected '%s' (not this kind of file, or a version this carthage-net "
                    "does not know)", file, header);
        return NULL;
    }
    GPtrArray *records = g_ptr_array_new_with_free_func(record_free);
    for (int i = 1; lines[i]; i++) {
        if (lines[i][0] == '\0')
            continue;
        CnRecord *record = g_new0(CnRecord, 1);
        record->line = i + 1;
        record->words = g_strsplit(lines[i], " ", -1);
        g_ptr_array_add(records, record);
    }
    return records;
}

GPtrArray *cn_records_parse_versions(const char *file, const char *text, gsize length, const char *kind,
                                     int oldest, int newest, int *version, GError **error)
{
    for (int v = newest; v >= oldest; v--) {
        g_autofree char *header = g_strdup_printf("%s %d", kind, v);
        gsize header_length = strlen(header);
        if (length >= header_length && memcmp(text, header, header_length) == 0 &&
            (length == header_length || text[header_length] == '\n')) {
            *version = v;
            return cn_records_parse(file, text, length, header, error);
        }
    }
    g_set_error(error, CN_RECORDS_ERROR, 0,
                "%s:1: expected '%s %d' (not this kind of file, or a version this carthage-net does not know)",
                file, kind, newest);
    return NULL;
}

void cn_records_set_error(GError **error, const char *file, const CnRecord *record, const char *usage)
{
    g_set_error(error, CN_RECORDS_ERROR, 0, "%s:%d: expected '%s'", file, record->line, usage);
}
