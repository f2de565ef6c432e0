/* test-records.c - the shape every state file shares (records.c), read by
 * a visitor or whole, and the hook's network record read whole, up to its
 * network line only, or for one MAC: the three readings agree on what
 * they share, and the partial ones stay cheap on a long record. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "hook-record.h"
#include "netaddr.h"
#include "records.h"
#include "state.h"

static GPtrArray *parse(const char *text, GError **error)
{
    return cn_records_parse("f", text, strlen(text), "kind 1", error);
}

/* As g_strsplit(line, " ", -1) splits: empty words kept, blank lines
 * skipped, line numbers counted from the header. */
static void test_words_and_lines(void **state)
{
    g_autoptr(GPtrArray) records = parse("kind 1\na b\n\n c  d \nlast", NULL);
    assert_non_null(records);
    assert_int_equal(records->len, 3);
    const CnRecord *first = records->pdata[0], *second = records->pdata[1], *third = records->pdata[2];
    assert_int_equal(first->line, 2);
    assert_int_equal(g_strv_length(first->words), 2);
    assert_int_equal(second->line, 4);
    const char *const expected[] = { "", "c", "", "d", "", NULL };
    assert_int_equal(g_strv_length(second->words), 5);
    for (int i = 0; expected[i]; i++)
        assert_string_equal(second->words[i], expected[i]);
    assert_int_equal(third->line, 5);
    assert_string_equal(third->words[0], "last");
}

static void test_header_and_nul(void **state)
{
    g_autoptr(GError) error = NULL;
    assert_null(parse("kind 2\na\n", &error));
    assert_non_null(strstr(error->message, "f:1: expected 'kind 1'"));
    g_clear_error(&error);
    assert_null(parse("kind 1 \n", &error));
    g_clear_error(&error);
    assert_null(parse("", &error));
    g_clear_error(&error);
    const char nul[] = "kind 1\na\0b\n";
    assert_null(cn_records_parse("f", nul, sizeof nul - 1, "kind 1", &error));
    assert_non_null(strstr(error->message, "NUL"));
    g_autoptr(GPtrArray) header_only = parse("kind 1", NULL);
    assert_non_null(header_only);
    assert_int_equal(header_only->len, 0);
}

static CnRecordsStep stop_at_b(const CnRecord *record, gpointer data, GError **error)
{
    int *seen = data;
    (*seen)++;
    return strcmp(record->words[0], "b") == 0 ? CN_RECORDS_STOP : CN_RECORDS_NEXT;
}

static CnRecordsStep refuse_b(const CnRecord *record, gpointer data, GError **error)
{
    if (strcmp(record->words[0], "b") != 0)
        return CN_RECORDS_NEXT;
    cn_records_set_error(error, "f", record, "not b");
    return CN_RECORDS_BAD;
}

/* A visitor that stops is not shown the rest, however it looks. */
static void test_visit_stops_and_fails(void **state)
{
    const char *text = "kind 1\na\nb\nc\n";
    int seen = 0;
    assert_true(cn_records_visit("f", text, strlen(text), "kind 1", stop_at_b, &seen, NULL));
    assert_int_equal(seen, 2);
    g_autoptr(GError) error = NULL;
    assert_false(cn_records_visit("f", text, strlen(text), "kind 1", refuse_b, NULL, &error));
    assert_string_equal(error->message, "f:3: expected 'not b'");
    int version = 0;
    const char *v2 = "kind 2\na\n";
    seen = 0;
    assert_true(cn_records_visit_versions("f", v2, strlen(v2), "kind", 1, 2, &version, stop_at_b, &seen, NULL));
    assert_int_equal(version, 2);
    assert_int_equal(seen, 1);
}

#define RECORD_HEAD "carthage-net-hook-network 2\nnetwork md cn-md metadata handler=10.63.0.1:8000\n"

/* A record of N guests g0..gN-1 (MACs 52:54:00:00:xx:xx), then LAST. */
static char *long_record(int guests, const char *last)
{
    GString *text = g_string_new(RECORD_HEAD);
    for (int i = 0; i < guests; i++)
        g_string_append_printf(text, "guest g%d eth0 52:54:00:00:%02x:%02x 10.64.%d.%d handler=10.63.0.1:%d\n", i,
                               i / 256, i % 256, i / 256, i % 256, 10000 + i);
    g_string_append(text, last);
    return g_string_free(text, FALSE);
}

static void test_network_line_only(void **state)
{
    /* What follows the network line is not read: not even a damaged line. */
    g_autofree char *text = long_record(1000, "guest damaged\n");
    g_autoptr(CnHookRecord) head = cn_hook_record_parse_network("f", text, strlen(text), NULL);
    assert_non_null(head);
    assert_string_equal(head->name, "md");
    assert_string_equal(head->bridge, "cn-md");
    assert_true(head->metadata);
    assert_true(head->default_handler.set);
    assert_int_equal(head->guests->len, 0);
    g_autoptr(GError) error = NULL;
    assert_null(cn_hook_record_parse("f", text, strlen(text), &error));
    assert_non_null(strstr(error->message, "f:1003: expected 'guest MACHINE"));
    /* The network line comes first, for all readers. */
    const char *guest_first = "carthage-net-hook-network 2\nguest m1 eth0 52:54:00:00:00:01\nnetwork md cn-md plain\n";
    g_clear_error(&error);
    assert_null(cn_hook_record_parse_network("f", guest_first, strlen(guest_first), &error));
    assert_non_null(strstr(error->message, "f:2: expected 'network NAME"));
    g_clear_error(&error);
    assert_null(cn_hook_record_parse("f", guest_first, strlen(guest_first), &error));
    assert_non_null(strstr(error->message, "f:2: expected 'network NAME"));
    /* One network line. */
    const char *twice = RECORD_HEAD "network md cn-md plain\n";
    g_clear_error(&error);
    assert_null(cn_hook_record_parse("f", twice, strlen(twice), &error));
    assert_non_null(strstr(error->message, "f:3: expected 'guest MACHINE"));
    g_clear_error(&error);
    const char *none = "carthage-net-hook-network 2\n";
    assert_null(cn_hook_record_parse_network("f", none, strlen(none), &error));
    assert_non_null(strstr(error->message, "expected exactly one 'network"));
}

static void test_one_mac(void **state)
{
    g_autofree char *text = long_record(1000, "retired 10.64.9.9\n");
    g_autoptr(CnHookRecord) whole = cn_hook_record_parse("f", text, strlen(text), NULL);
    assert_non_null(whole);
    assert_int_equal(whole->guests->len, 1000);
    uint8_t mac[6];
    assert_true(cn_mac_parse("52:54:00:00:03:e7", mac)); /* g999 */
    g_autoptr(CnHookRecord) one = cn_hook_record_parse_mac("f", text, strlen(text), mac, NULL);
    assert_non_null(one);
    assert_int_equal(one->guests->len, 1);
    assert_string_equal(cn_hook_record_mac_owner(one, mac), "g999");
    assert_string_equal(cn_hook_record_mac_owner(whole, mac), "g999");
    const CnHookGuest *guest = one->guests->pdata[0];
    const CnHookGuest *same = whole->guests->pdata[999];
    assert_string_equal(guest->iface, same->iface);
    assert_int_equal(guest->addresses->len, 1);
    assert_int_equal(g_array_index(guest->addresses, uint32_t, 0), g_array_index(same->addresses, uint32_t, 0));
    assert_int_equal(guest->handler.port, 10999);
    assert_int_equal(whole->retired->len, 1);
    assert_int_equal(one->retired->len, 0); /* checked, not kept */
    /* A MAC nobody has: no guest, the record still read. */
    assert_true(cn_mac_parse("02:00:00:00:00:01", mac));
    g_autoptr(CnHookRecord) nobody = cn_hook_record_parse_mac("f", text, strlen(text), mac, NULL);
    assert_non_null(nobody);
    assert_int_equal(nobody->guests->len, 0);
    /* Every line is still checked: another guest's damaged line fails it. */
    g_autofree char *damaged = long_record(3, "guest g9 eth0 52:54:00:00:00:09 10.64.0\n");
    g_autoptr(GError) error = NULL;
    assert_null(cn_hook_record_parse_mac("f", damaged, strlen(damaged), mac, &error));
    assert_non_null(strstr(error->message, "f:6: expected 'guest MACHINE"));
    /* Retired lines too, though none is kept. */
    g_autofree char *damaged_retired = long_record(3, "retired 10.64.9\n");
    g_clear_error(&error);
    assert_null(cn_hook_record_parse_mac("f", damaged_retired, strlen(damaged_retired), mac, &error));
    assert_non_null(strstr(error->message, "f:6: expected 'retired A.B.C.D'"));
}

/* Only the first MAX bytes are read: the network line of a record that
 * ends past them in a damaged line. */
static void test_load_head(void **state)
{
    g_autofree char *dir = g_dir_make_tmp("cn-records-XXXXXX", NULL);
    assert_non_null(dir);
    g_autofree char *text = long_record(1000, "guest damaged\n");
    assert_true(cn_runtime_write(dir, "hook-network-md", text, NULL));
    CnHookRecord *record = NULL;
    assert_true(cn_runtime_load_head(dir, "hook-network-md", CN_HOOK_RECORD_HEAD_MAX,
                                     (CnStateParser)cn_hook_record_parse_network, (gpointer *)&record, NULL));
    assert_non_null(record);
    assert_string_equal(record->name, "md");
    cn_hook_record_free(record);
    g_autoptr(GError) error = NULL;
    assert_false(cn_runtime_load_head(dir, "hook-network-md", strlen(RECORD_HEAD) + 10,
                                      (CnStateParser)cn_hook_record_parse, (gpointer *)&record, &error));
    assert_non_null(strstr(error->message, "hook-network-md:3: expected 'guest MACHINE"));
    /* Missing: TRUE and nothing. */
    record = (CnHookRecord *)dir;
    assert_true(cn_runtime_load_head(dir, "hook-network-other", 4096, (CnStateParser)cn_hook_record_parse_network,
                                     (gpointer *)&record, NULL));
    assert_null(record);
    assert_true(cn_runtime_remove(dir, "hook-network-md", NULL));
    assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_words_and_lines),
        cmocka_unit_test(test_header_and_nul),
        cmocka_unit_test(test_visit_stops_and_fails),
        cmocka_unit_test(test_network_line_only),
        cmocka_unit_test(test_one_mac),
        cmocka_unit_test(test_load_head),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
