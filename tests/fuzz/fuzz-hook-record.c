/* fuzz-hook-record.c - libFuzzer target: the hook's per-network record,
 * read whole (and round-tripped), up to its network line, and for one
 * MAC; the partial readings agree with the whole one. */
#include "fuzz-roundtrip.h"
#include "hook-record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void refused_with_error(CnHookRecord *record, GError *error)
{
    if (!record && (!error || !error->message)) {
        fprintf(stderr, "refused without an error\n");
        abort();
    }
    g_clear_error(&error);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    GError *error = NULL;
    CnHookRecord *whole = cn_hook_record_parse("fuzz", text, size, NULL);
    CnHookRecord *head = cn_hook_record_parse_network("fuzz", text, size, &error);
    refused_with_error(head, error);
    error = NULL;
    /* The MAC of the whole record's first guest, or one nobody has. */
    uint8_t mac[6] = { 0x02, 0, 0, 0, 0, 1 };
    if (whole && whole->guests->len > 0)
        memcpy(mac, ((CnHookGuest *)whole->guests->pdata[0])->mac, 6);
    CnHookRecord *one = cn_hook_record_parse_mac("fuzz", text, size, mac, &error);
    refused_with_error(one, error);
    /* Whatever reads whole reads in part, with the same network and the
     * same owner for the MAC; the MAC reading checks every line too. */
    if (whole && (!head || !one || strcmp(head->name, whole->name) != 0 ||
                  strcmp(head->bridge, whole->bridge) != 0 || head->metadata != whole->metadata ||
                  g_strcmp0(cn_hook_record_mac_owner(one, mac), cn_hook_record_mac_owner(whole, mac)) != 0)) {
        fprintf(stderr, "a partial reading disagrees with the whole record\n");
        abort();
    }
    if (!whole && one) {
        fprintf(stderr, "the record for one MAC read what the whole refused\n");
        abort();
    }
    cn_hook_record_free(whole);
    cn_hook_record_free(head);
    cn_hook_record_free(one);
    return fuzz_roundtrip(data, size, (FuzzParse)cn_hook_record_parse, (FuzzFormat)cn_hook_record_format,
                          (GDestroyNotify)cn_hook_record_free);
}
