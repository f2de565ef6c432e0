/* defs-keyfile.h - GLib key-file syntax with locations, layered.
 *
 * GKeyFile itself forgets line numbers, and every error carthage-net
 * prints names one, so this is a small reader for the same syntax:
 * "[group]" headers, "key = value" pairs, '#' comments, the escapes
 * \s \n \t \r \\ and, in lists, \; .  Reading several files into one
 * CnRawDefs layers them: a later value replaces an earlier one for the
 * same group and key.  Group headers are normalised to words separated
 * by one space ("network   lan" -> "network lan").
 */
#pragma once

#include "diag.h"

typedef struct {
    char *key;
    char *value; /* raw, still escaped */
    CnLoc loc;
} CnRawEntry;

typedef struct {
    char *header; /* normalised */
    CnLoc loc;    /* first place the group was opened */
    GPtrArray *entries; /* CnRawEntry*, in first-seen order */
    GHashTable *by_key; /* key -> CnRawEntry* (borrowed) */
} CnRawGroup;

typedef struct {
    GPtrArray *groups; /* CnRawGroup*, in first-seen order */
    GHashTable *by_header; /* header -> CnRawGroup* (borrowed) */
} CnRawDefs;

CnRawDefs *cn_raw_defs_new(void);
void cn_raw_defs_free(CnRawDefs *defs);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CnRawDefs, cn_raw_defs_free)

/* Parses TEXT (LENGTH bytes, need not be NUL-terminated) as FILE into
 * DEFS.  Syntax errors go to DIAGS with their line; the rest of the file
 * is still read. */
void cn_raw_defs_parse(CnRawDefs *defs, const char *file, const char *text, gsize length,
                       CnDiagList *diags);

/* A string value with escapes undone; FALSE on a bad escape. */
gboolean cn_keyfile_unescape(const char *raw, char **out);
/* A ';'-separated list, each item unescaped; a trailing ';' is allowed. */
gboolean cn_keyfile_split_list(const char *raw, GPtrArray **out);
