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

/* LINE (LENGTH bytes, no newline) split at each space into WORDS, in
 * place in BUFFER: as g_strsplit(line, " ", -1) would, empty words
 * included, without an allocation per line. */
static void split_words(GString *buffer, GPtrArray *words, const char *line, gsize length)
{
    g_string_truncate(buffer, 0);
    g_string_append_len(buffer, line, (gssize)length);
    g_ptr_array_set_size(words, 0);
    char *word = buffer->str;
    for (char *space; (space = strchr(word, ' '));) {
        *space = '\0';
        g_ptr_array_add(words, word);
        word = space + 1;
    }
    g_ptr_array_add(words, word);
    g_ptr_array_add(words, NULL);
}

gboolean cn_records_visit(const char *file, const char *text, gsize length, const char *header,
                          CnRecordVisit visit, gpointer data, GError **error)
{
    if (memchr(text, '\0', length)) {
        g_set_error(error, CN_RECORDS_ERROR, 0, "%s: contains a NUL byte", file);
        return FALSE;
    }
    const char *end = text + length;
    const char *newline = memchr(text, '\n', length);
    gsize header_length = strlen(header);
    if ((gsize)((newline ? newline : end) - text) != header_length || memcmp(text, header, header_length) != 0) {
        g_set_error(error, CN_RECORDS_ERROR, 0,
                    "%s:1: expected '%s' (not this kind of file, or a version this carthage-net "
                    "does not know)", file, header);
        return FALSE;
    }
    g_autoptr(GString) buffer = g_string_new(NULL);
    g_autoptr(GPtrArray) words = g_ptr_array_new();
    int number = 1;
    for (const char *line = newline ? newline + 1 : end; line < end; number++) {
        const char *line_end = memchr(line, '\n', (gsize)(end - line));
        if (!line_end)
            line_end = end;
        if (line_end > line) {
            split_words(buffer, words, line, (gsize)(line_end - line));
            CnRecord record = { number + 1, (char **)words->pdata };
            switch (visit(&record, data, error)) {
            case CN_RECORDS_NEXT:
                break;
            case CN_RECORDS_STOP:
                return TRUE;
            case CN_RECORDS_BAD:
                return FALSE;
            }
        }
        if (line_end == end)
            break;
        line = line_end + 1;
    }
    return TRUE;
}

static CnRecordsStep keep_record(const CnRecord *record, gpointer records, GError **error)
{
    CnRecord *copy = g_new0(CnRecord, 1);
    copy->line = record->line;
    copy->words = g_strdupv(record->words);
    g_ptr_array_add(records, copy);
    return CN_RECORDS_NEXT;
}

GPtrArray *cn_records_parse(const char *file, const char *text, gsize length, const char *header,
                            GError **error)
{
    g_autoptr(GPtrArray) records = g_ptr_array_new_with_free_func(record_free);
    if (!cn_records_visit(file, text, length, header, keep_record, records, error))
        return NULL;
    return g_steal_pointer(&records);
}

/* The first line "KIND N" with N from OLDEST to NEWEST: N, or 0 with an
 * error. */
static int header_version(const char *file, const char *text, gsize length, const char *kind, int oldest,
                          int newest, GError **error)
{
    for (int v = newest; v >= oldest; v--) {
        g_autofree char *header = g_strdup_printf("%s %d", kind, v);
        gsize header_length = strlen(header);
        if (length >= header_length && memcmp(text, header, header_length) == 0 &&
            (length == header_length || text[header_length] == '\n'))
            return v;
    }
    g_set_error(error, CN_RECORDS_ERROR, 0,
                "%s:1: expected '%s %d' (not this kind of file, or a version this carthage-net does not know)",
                file, kind, newest);
    return 0;
}

GPtrArray *cn_records_parse_versions(const char *file, const char *text, gsize length, const char *kind,
                                     int oldest, int newest, int *version, GError **error)
{
    *version = header_version(file, text, length, kind, oldest, newest, error);
    if (!*version)
        return NULL;
    g_autofree char *header = g_strdup_printf("%s %d", kind, *version);
    return cn_records_parse(file, text, length, header, error);
}

gboolean cn_records_visit_versions(const char *file, const char *text, gsize length, const char *kind, int oldest,
                                   int newest, int *version, CnRecordVisit visit, gpointer data, GError **error)
{
    *version = header_version(file, text, length, kind, oldest, newest, error);
    if (!*version)
        return FALSE;
    g_autofree char *header = g_strdup_printf("%s %d", kind, *version);
    return cn_records_visit(file, text, length, header, visit, data, error);
}

void cn_records_set_error(GError **error, const char *file, const CnRecord *record, const char *usage)
{
    g_set_error(error, CN_RECORDS_ERROR, 0, "%s:%d: expected '%s'", file, record->line, usage);
}
