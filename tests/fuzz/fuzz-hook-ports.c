/* fuzz-hook-ports.c - libFuzzer target: the hook's per-domain port record. */
#include "fuzz-roundtrip.h"
#include "hook-record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *format(const void *ports)
{
    return cn_hook_ports_format((GPtrArray *)ports);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_roundtrip(data, size, (FuzzParse)cn_hook_ports_parse, format,
                          (GDestroyNotify)g_ptr_array_unref);
}
