/* fuzz-outbound.c - libFuzzer target: the outbound-address record. */
#include "fuzz-roundtrip.h"
#include "outbound.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void *parse(const char *file, const char *text, gsize length, GError **error)
{
    CnOutbound *outbound = g_new(CnOutbound, 1);
    if (cn_outbound_parse(file, text, length, outbound, error))
        return outbound;
    g_free(outbound);
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_roundtrip(data, size, parse, (FuzzFormat)cn_outbound_format, g_free);
}
