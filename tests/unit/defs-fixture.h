/* defs-fixture.h - definitions text to a validated site, and assertions
 * about the diagnostics that came out.
 *
 * Tests write definitions as C strings and find the line they expect an
 * error on with line_of() rather than by counting, so that editing a case
 * does not silently shift every expected line number.
 */
#pragma once

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "alloc.h"
#include "defs.h"
#include "netaddr.h"

/* The name every single-file case is parsed as. */
#define FIXTURE_FILE "test.conf"

typedef struct {
    const char *file;
    const char *text;
} DefsFile;

/* Parses FILES in order into one layered set of definitions, then builds,
 * gives MACs and validates, as cn_defs_load_site() does; the site is
 * returned even when there are diagnostics. */
static inline CnSite *defs_parse_files(const DefsFile *files, gsize n_files, CnDiagList **diags_out)
{
    g_autoptr(CnRawDefs) raw = cn_raw_defs_new();
    CnDiagList *diags = cn_diag_list_new();

    for (gsize i = 0; i < n_files; i++)
        cn_raw_defs_parse(raw, files[i].file, files[i].text, strlen(files[i].text), diags);
    CnSite *site = cn_defs_build(raw, diags);
    cn_alloc_macs(site);
    cn_defs_validate(site, diags);
    cn_diag_sort(diags);
    *diags_out = diags;
    return site;
}

static inline CnSite *defs_parse(const char *text, CnDiagList **diags_out)
{
    const DefsFile file = { FIXTURE_FILE, text };
    return defs_parse_files(&file, 1, diags_out);
}

/* Only the build step: values parsed into fields, no defaults, no rules. */
static inline CnSite *defs_build_only(const char *text, CnDiagList **diags_out)
{
    g_autoptr(CnRawDefs) raw = cn_raw_defs_new();
    CnDiagList *diags = cn_diag_list_new();
    cn_raw_defs_parse(raw, FIXTURE_FILE, text, strlen(text), diags);
    *diags_out = diags;
    return cn_defs_build(raw, diags);
}

static inline void diags_dump(const CnDiagList *diags)
{
    for (guint i = 0; i < diags->items->len; i++) {
        g_autofree char *line = cn_diag_format(diags->items->pdata[i]);
        print_error("#   diag: %s\n", line);
    }
}

/* 1-based line of the Nth (1-based) line of TEXT that contains NEEDLE; 0
 * when there is none. */
static inline int line_of_nth(const char *text, const char *needle, int nth)
{
    int line = 1;
    const char *start = text;
    while (*start) {
        const char *end = strchr(start, '\n');
        gsize length = end ? (gsize)(end - start) : strlen(start);
        g_autofree char *copy = g_strndup(start, length);
        if (strstr(copy, needle) && --nth == 0)
            return line;
        if (!end)
            break;
        start = end + 1;
        line++;
    }
    return 0;
}

static inline int line_of(const char *text, const char *needle)
{
    return line_of_nth(text, needle, 1);
}

/* The diagnostic with exactly FILE, LINE, GROUP and KEY (NULL: none) whose
 * message contains SUBSTRING, or NULL. */
static inline const CnDiag *diag_find(const CnDiagList *diags, const char *file, int line,
                                      const char *group, const char *key, const char *substring)
{
    for (guint i = 0; i < diags->items->len; i++) {
        const CnDiag *diag = diags->items->pdata[i];
        if (g_strcmp0(diag->file, file) == 0 && diag->line == line &&
            g_strcmp0(diag->group, group) == 0 && g_strcmp0(diag->key, key) == 0 &&
            strstr(diag->message, substring))
            return diag;
    }
    return NULL;
}

static inline void assert_diag_at(const CnDiagList *diags, const char *file, int line,
                                  const char *group, const char *key, const char *substring,
                                  const char *src_file, int src_line)
{
    if (line <= 0) {
        print_error("#   expected line for '%s' not found in the test's text\n", substring);
        _fail(src_file, src_line);
    }
    if (diag_find(diags, file, line, group, key, substring))
        return;
    print_error("#   expected: %s:%d: [%s] %s: ...%s...\n", file, line, group ? group : "(none)",
                key ? key : "(none)", substring);
    diags_dump(diags);
    _fail(src_file, src_line);
}

#define assert_diag(diags, file, line, group, key, substring) \
    assert_diag_at((diags), (file), (line), (group), (key), (substring), __FILE__, __LINE__)

static inline void assert_diag_count_at(const CnDiagList *diags, guint expected,
                                        const char *src_file, int src_line)
{
    if (cn_diag_count(diags) == expected)
        return;
    print_error("#   expected %u diagnostic(s), got %u\n", expected, cn_diag_count(diags));
    diags_dump(diags);
    _fail(src_file, src_line);
}

#define assert_diag_count(diags, expected) \
    assert_diag_count_at((diags), (expected), __FILE__, __LINE__)

/* A site that must come out without any diagnostic. */
static inline CnSite *defs_parse_ok_at(const char *text, const char *src_file, int src_line)
{
    g_autoptr(CnDiagList) diags = NULL;
    CnSite *site = defs_parse(text, &diags);
    assert_diag_count_at(diags, 0, src_file, src_line);
    return site;
}

#define defs_parse_ok(text) defs_parse_ok_at((text), __FILE__, __LINE__)

static inline uint32_t v4(const char *text)
{
    uint32_t address = 0;
    if (!cn_v4_parse(text, &address)) {
        print_error("#   bad address in test: %s\n", text);
        fail();
    }
    return address;
}
