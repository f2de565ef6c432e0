/* records.h - the shape all state files share: a first line naming the
 * format and its version ("carthage-net-assignments 1"), then one record
 * per line of space-separated words.  Blank lines are ignored.  Each
 * state file's module checks the words; this checks the shape. */
#pragma once

#include <glib.h>

#define CN_RECORDS_ERROR (cn_records_error_quark())
GQuark cn_records_error_quark(void);

typedef struct {
    int line;
    char **words; /* NULL-terminated */
} CnRecord;

/* What a visitor says after a record: go on, stop there (the rest of
 * the file is not read), or fail (the visitor set the error). */
typedef enum { CN_RECORDS_NEXT, CN_RECORDS_STOP, CN_RECORDS_BAD } CnRecordsStep;
/* RECORD and its words are valid only during the call. */
typedef CnRecordsStep (*CnRecordVisit)(const CnRecord *record, gpointer data, GError **error);

/* Calls VISIT for each record of TEXT (from FILE), in order, after
 * checking the first line is exactly HEADER; no allocation per record,
 * so that a reader that needs one line of a long file, or keeps only a
 * few, does not pay for the rest.  FALSE with an error naming the file
 * and line, or VISIT's. */
gboolean cn_records_visit(const char *file, const char *text, gsize length, const char *header,
                          CnRecordVisit visit, gpointer data, GError **error);
/* As cn_records_visit, for a first line "KIND N" with N a version from
 * OLDEST (at least 1) to NEWEST: *VERSION is N before the first visit. */
gboolean cn_records_visit_versions(const char *file, const char *text, gsize length, const char *kind, int oldest,
                                   int newest, int *version, CnRecordVisit visit, gpointer data, GError **error);

/* Splits TEXT (from FILE) into records after checking the first line is
 * exactly HEADER.  Returns a GPtrArray of CnRecord*, or NULL with an
 * error naming the file and line. */
GPtrArray *cn_records_parse(const char *file, const char *text, gsize length, const char *header,
                            GError **error);
/* As cn_records_parse, for a first line "KIND N" with N a version from
 * OLDEST (at least 1) to NEWEST: *VERSION is N. */
GPtrArray *cn_records_parse_versions(const char *file, const char *text, gsize length, const char *kind,
                                     int oldest, int newest, int *version, GError **error);
/* The error for record R of FILE: "FILE:LINE: expected USAGE". */
void cn_records_set_error(GError **error, const char *file, const CnRecord *record, const char *usage);
