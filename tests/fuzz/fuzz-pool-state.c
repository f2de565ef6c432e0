/* fuzz-pool-state.c - libFuzzer target: the TAP pool state file. */
#include "fuzz-roundtrip.h"
#include "pool-state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_roundtrip(data, size, (FuzzParse)cn_pool_state_parse, (FuzzFormat)cn_pool_state_format,
                          (GDestroyNotify)cn_pool_state_free);
}
