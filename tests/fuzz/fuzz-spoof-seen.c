/* fuzz-spoof-seen.c - libFuzzer target: the runtime file events watch keeps
 * of the forged frames each port had sent (spoof-seen.h).  Checks beyond
 * crashes: what parses formats to text that parses to the same counts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spoof-seen.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    GError *error = NULL;
    GHashTable *seen = cn_spoof_seen_parse("fuzz", (const char *)data, size, &error);
    if (!seen) {
        if (!error)
            abort();
        g_error_free(error);
        return 0;
    }
    char *text = cn_spoof_seen_format(seen);
    GHashTable *again = cn_spoof_seen_parse("fuzz", text, strlen(text), &error);
    if (!again)
        abort();
    char *text_again = cn_spoof_seen_format(again);
    if (strcmp(text, text_again) != 0 || g_hash_table_size(seen) != g_hash_table_size(again))
        abort();
    g_free(text);
    g_free(text_again);
    g_hash_table_unref(seen);
    g_hash_table_unref(again);
    return 0;
}
