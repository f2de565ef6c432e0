/* fuzz-roundtrip.h - the check every state-file target makes: whatever
 * parses formats to text that parses again and formats to the same text;
 * whatever does not parse says why. */
#pragma once

#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void *(*FuzzParse)(const char *file, const char *text, gsize length, GError **error);
typedef char *(*FuzzFormat)(const void *object);

static inline int fuzz_roundtrip(const uint8_t *data, size_t size, FuzzParse parse, FuzzFormat format,
                                 GDestroyNotify destroy)
{
    GError *error = NULL;
    void *object = parse("fuzz", (const char *)data, size, &error);
    if (!object) {
        if (!error || !error->message) {
            fprintf(stderr, "refused without an error\n");
            abort();
        }
        g_error_free(error);
        return 0;
    }
    char *text = format(object);
    void *again = parse("fuzz", text, strlen(text), &error);
    if (!again) {
        fprintf(stderr, "formatted state does not parse: %s\n%s", error->message, text);
        abort();
    }
    char *text_again = format(again);
    if (strcmp(text, text_again) != 0) {
        fprintf(stderr, "round trip changed the state:\n%s---\n%s", text, text_again);
        abort();
    }
    g_free(text);
    g_free(text_again);
    destroy(object);
    destroy(again);
    return 0;
}
