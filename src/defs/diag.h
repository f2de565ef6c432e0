/* diag.h - diagnostics about the definitions.
 *
 * Validation reports every problem it finds, not just the first, so
 * problems are collected here and printed together.  Each one renders as
 * "FILE:LINE: [group] key: message", leaving out the parts not known.
 */
#pragma once

#include <stdio.h>

#include "model.h"

typedef struct {
    char *file;
    int line;
    char *group; /* "network lan", without brackets; NULL when not known */
    char *key;   /* NULL when not known */
    char *message;
} CnDiag;

typedef struct {
    GPtrArray *items; /* CnDiag* */
} CnDiagList;

CnDiagList *cn_diag_list_new(void);
void cn_diag_list_free(CnDiagList *list);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CnDiagList, cn_diag_list_free)

void cn_diag_add(CnDiagList *list, const CnLoc *loc, const char *group, const char *key,
                 const char *format, ...) G_GNUC_PRINTF(5, 6);
guint cn_diag_count(const CnDiagList *list);
/* Sorts by file, line, then message, so output order does not depend on
 * the order checks ran in. */
void cn_diag_sort(CnDiagList *list);
char *cn_diag_format(const CnDiag *diag);
/* Writes every diagnostic to STREAM, one per line, after PREFIX. */
void cn_diag_print(const CnDiagList *list, FILE *stream, const char *prefix);

/* Interns a file name so CnLoc can point at it for the process lifetime. */
const char *cn_loc_intern(const char *file);
