/* fuzz-assignments.c - libFuzzer target: the assignments state file.
 * Whatever parses must format to text that parses to the same table and
 * formats to the same text again. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(CnAssignments) table = cn_assignments_parse("fuzz", (const char *)data, size, &error);
    if (!table) {
        if (!error || !error->message) {
            fprintf(stderr, "refused without an error\n");
            abort();
        }
        return 0;
    }
    if (error) {
        fprintf(stderr, "parsed but set an error: %s\n", error->message);
        abort();
    }

    g_autofree char *text = cn_assignments_format(table);
    g_autoptr(CnAssignments) again = cn_assignments_parse("fuzz", text, strlen(text), &error);
    if (!again) {
        fprintf(stderr, "formatted table does not parse: %s\n%s", error->message, text);
        abort();
    }
    if (!cn_assignments_equal(table, again)) {
        fprintf(stderr, "round trip changed the table:\n%s", text);
        abort();
    }
    g_autofree char *text_again = cn_assignments_format(again);
    if (strcmp(text, text_again) != 0) {
        fprintf(stderr, "formatting is not stable:\n%s---\n%s", text, text_again);
        abort();
    }
    return 0;
}
