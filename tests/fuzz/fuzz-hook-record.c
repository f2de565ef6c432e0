/* fuzz-hook-record.c - libFuzzer target: the hook's per-network record. */
#include "fuzz-roundtrip.h"
#include "hook-record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_roundtrip(data, size, (FuzzParse)cn_hook_record_parse, (FuzzFormat)cn_hook_record_format,
                          (GDestroyNotify)cn_hook_record_free);
}
