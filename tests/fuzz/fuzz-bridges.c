/* fuzz-bridges.c - libFuzzer target: the owned-bridges state file. */
#include "fuzz-roundtrip.h"
#include "owned-bridges.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_roundtrip(data, size, (FuzzParse)cn_owned_bridges_parse,
                          (FuzzFormat)cn_owned_bridges_format, (GDestroyNotify)cn_owned_bridges_free);
}
