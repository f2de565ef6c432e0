/* test-events.c - the event log and its subscribers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "events-notify.h"
#include "events.h"

static char *temp_dir(void)
{
    char *dir = g_dir_make_tmp("cn-events-XXXXXX", NULL);
    assert_non_null(dir);
    return dir;
}

static void remove_tree(const char *dir)
{
    g_autofree char *command = g_strdup_printf("rm -rf '%s'", dir);
    assert_int_equal(system(command), 0);
}

static void collect(const char *line, guint64 seq, gpointer data)
{
    g_array_append_val((GArray *)data, seq);
}

static void test_format_is_json_with_escapes(void **state)
{
    g_autoptr(CnEvent) event = cn_event_new("guest-attached");
    cn_event_add_string(event, "network", "a\"b\\c\n");
    cn_event_add_raw(event, "ipv4", "[\"10.0.0.1\"]");
    g_autofree char *line = cn_event_format(event, 7, 1700000000123456);
    assert_string_equal(line, "{\"seq\":7,\"time\":\"2023-11-14T22:13:20.123456Z\",\"event\":\"guest-attached\","
                              "\"network\":\"a\\\"b\\\\c\\u000a\",\"ipv4\":[\"10.0.0.1\"]}");
    assert_int_equal(cn_event_line_seq(line), 7);
}

/* What gmtime_r and strftime make of TIME_USEC (non-negative). */
static void libc_utc(gint64 time_usec, char *out, gsize size)
{
    time_t seconds = (time_t)(time_usec / G_USEC_PER_SEC);
    struct tm utc;
    char stamp[40];
    assert_non_null(gmtime_r(&seconds, &utc));
    assert_true(strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc) > 0);
    g_snprintf(out, size, "%s.%06dZ", stamp, (int)(time_usec % G_USEC_PER_SEC));
}

static void test_utc_stamp_is_the_calendar(void **state)
{
    char ours[CN_UTC_STAMP_MAX], libc[64];
    /* Edges: the epoch, leap days (2000 is a leap year, 2100 is not), the
     * end of a 400-year era, the last second of 9999. */
    const gint64 seconds[] = { 0,          59,         86399,      86400,       951782400,  951868799,
                               951868800,  4107542399, 4107542400, 4107628800,  13569465599,
                               13569465600, 253402300799 };
    for (gsize i = 0; i < G_N_ELEMENTS(seconds); i++) {
        gint64 usec = seconds[i] * G_USEC_PER_SEC + 999999;
        cn_format_utc(usec, ours);
        libc_utc(usec, libc, sizeof libc);
        assert_string_equal(ours, libc);
    }
    /* Every day from 1970 to 2200, at a varying time of day. */
    for (gint64 day = 0; day < 84000; day++) {
        gint64 usec = (day * 86400 + day * 7919 % 86400) * G_USEC_PER_SEC + day % 1000000;
        cn_format_utc(usec, ours);
        libc_utc(usec, libc, sizeof libc);
        assert_string_equal(ours, libc);
    }
    cn_format_utc(-1, ours);
    assert_string_equal(ours, "1969-12-31T23:59:59.999999Z");
    /* Past year 9999 (not four digits): the epoch, as for a failed gmtime_r. */
    cn_format_utc(253402300800 * G_USEC_PER_SEC, ours);
    assert_string_equal(ours, "1970-01-01T00:00:00.000000Z");
}

static void test_sequence_numbers_follow_on(void **state)
{
    g_autofree char *dir = temp_dir();
    for (int i = 1; i <= 5; i++) {
        g_autoptr(CnEvent) event = cn_event_new("network-started");
        guint64 seq;
        g_autofree char *line = NULL;
        assert_true(cn_events_append(dir, event, 0, &seq, &line, NULL));
        assert_int_equal(seq, (guint64)i);
        assert_int_equal(cn_event_line_seq(line), (guint64)i);
    }
    g_autoptr(GArray) seen = g_array_new(FALSE, FALSE, sizeof(guint64));
    guint64 last;
    assert_true(cn_events_read(dir, 2, collect, seen, &last, NULL));
    assert_int_equal(seen->len, 3);
    assert_int_equal(g_array_index(seen, guint64, 0), 3);
    assert_int_equal(last, 5);
    remove_tree(dir);
}

static void test_rotation_keeps_numbering_and_unseen_events(void **state)
{
    g_autofree char *dir = temp_dir();
    /* Rotate after every ~3 lines. */
    for (int i = 1; i <= 10; i++) {
        g_autoptr(CnEvent) event = cn_event_new("guest-detached");
        cn_event_add_string(event, "port", "vnet0");
        guint64 seq;
        assert_true(cn_events_append(dir, event, 300, &seq, NULL, NULL));
        assert_int_equal(seq, (guint64)i);
    }
    g_autofree char *rotated = g_build_filename(dir, CN_EVENTS_LOG ".1", NULL);
    assert_true(g_file_test(rotated, G_FILE_TEST_EXISTS));
    /* A reader that saw 8 finds 9 and 10, wherever they are. */
    g_autoptr(GArray) seen = g_array_new(FALSE, FALSE, sizeof(guint64));
    guint64 last;
    assert_true(cn_events_read(dir, 8, collect, seen, &last, NULL));
    assert_int_equal(seen->len, 2);
    assert_int_equal(g_array_index(seen, guint64, 0), 9);
    assert_int_equal(g_array_index(seen, guint64, 1), 10);
    remove_tree(dir);
}

static void test_concurrent_writers_never_share_a_number(void **state)
{
    g_autofree char *dir = temp_dir();
    const int writers = 8, each = 40;
    for (int w = 0; w < writers; w++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            for (int i = 0; i < each; i++) {
                CnEvent *event = cn_event_new("guest-attached");
                guint64 seq;
                if (!cn_events_append(dir, event, 4096, &seq, NULL, NULL))
                    _exit(1);
                cn_event_free(event);
            }
            _exit(0);
        }
    }
    for (int w = 0; w < writers; w++) {
        int status;
        wait(&status);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    /* The last rotation may have dropped the oldest; what remains is
     * gapless and ends at writers*each. */
    g_autoptr(GArray) seen = g_array_new(FALSE, FALSE, sizeof(guint64));
    guint64 last;
    assert_true(cn_events_read(dir, 0, collect, seen, &last, NULL));
    assert_int_equal(last, (guint64)(writers * each));
    for (guint i = 1; i < seen->len; i++)
        assert_int_equal(g_array_index(seen, guint64, i), g_array_index(seen, guint64, i - 1) + 1);
    remove_tree(dir);
}

static void write_script(const char *path, const char *body)
{
    g_autofree char *text = g_strdup_printf("#!/bin/sh\n%s\n", body);
    assert_true(g_file_set_contents(path, text, -1, NULL));
    assert_int_equal(chmod(path, 0755), 0);
}

static gboolean wait_for_file(const char *path, int tenths)
{
    for (int i = 0; i < tenths; i++) {
        if (g_file_test(path, G_FILE_TEST_EXISTS))
            return TRUE;
        g_usleep(100 * 1000);
    }
    return FALSE;
}

/* Subscribers run as root: one that others may change is not run, nor
 * anything in a directory that others may change. */
static void test_untrusted_subscribers_are_not_run(void **state)
{
    g_autofree char *dir = temp_dir();
    g_autofree char *subscribers = g_build_filename(dir, "events.d", NULL);
    g_autofree char *ran = g_build_filename(dir, "ran", NULL);
    g_autofree char *trusted_ran = g_build_filename(dir, "trusted-ran", NULL);
    assert_int_equal(mkdir(subscribers, 0755), 0);
    g_autofree char *open_one = g_build_filename(subscribers, "10-open", NULL);
    g_autofree char *body = g_strdup_printf("touch '%s'", ran);
    write_script(open_one, body);
    assert_int_equal(chmod(open_one, 0777), 0);
    g_autofree char *good = g_build_filename(subscribers, "20-good", NULL);
    g_autofree char *good_body = g_strdup_printf("touch '%s'", trusted_ran);
    write_script(good, good_body);
    g_autoptr(GPtrArray) lines = g_ptr_array_new();
    g_ptr_array_add(lines, "{\"seq\":1}");
    assert_true(cn_events_notify(subscribers, lines, 5, NULL));
    assert_true(wait_for_file(trusted_ran, 10)); /* the trusted one ran ... */
    g_usleep(200 * 1000);
    assert_false(g_file_test(ran, G_FILE_TEST_EXISTS)); /* ... the world-writable one did not */

    assert_int_equal(unlink(trusted_ran), 0);
    assert_int_equal(chmod(subscribers, 0777), 0);
    assert_true(cn_events_notify(subscribers, lines, 5, NULL));
    g_usleep(500 * 1000);
    assert_false(g_file_test(trusted_ran, G_FILE_TEST_EXISTS)); /* a world-writable directory: none */
    remove_tree(dir);
}

static void test_line_seq_is_strict(void **state)
{
    assert_int_equal(cn_event_line_seq("{\"seq\":12,\"time\":\"x\"}"), 12);
    assert_int_equal(cn_event_line_seq("{\"seq\":12}"), 12);
    assert_int_equal(cn_event_line_seq("{\"seq\":12"), 0);        /* cut short */
    assert_int_equal(cn_event_line_seq("{\"seq\":12x,"), 0);
    assert_int_equal(cn_event_line_seq("{\"seq\":-1,"), 0);
    assert_int_equal(cn_event_line_seq("{\"seq\":,"), 0);
    assert_int_equal(cn_event_line_seq("{\"seq\":9007199254740991,"), CN_EVENTS_SEQ_MAX);
    assert_int_equal(cn_event_line_seq("{\"seq\":9007199254740992,"), 0); /* beyond what JSON holds */
    assert_int_equal(cn_event_line_seq("{\"seq\":18446744073709551616,"), 0);
    assert_int_equal(cn_event_line_seq(" {\"seq\":1,"), 0);
}

/* Found while writing fuzz-events: a log whose last line was cut short (no
 * newline) took the next event into that line, a seq at the top of the
 * range wrapped to 0; and (by the fuzzer) NUL bytes hid later records from
 * readers, and a cut line that looked whole became a record with a higher
 * number than the event appended after it. */
static void test_append_after_damage(void **state)
{
    g_autofree char *dir = temp_dir();
    g_autofree char *path = g_build_filename(dir, CN_EVENTS_LOG, NULL);
    assert_true(g_file_set_contents(path, "{\"seq\":4,\"event\":\"a\"}\n{\"seq\":5,\"ev", -1, NULL));
    g_autoptr(CnEvent) event = cn_event_new("b");
    guint64 seq = 0;
    g_autofree char *line = NULL;
    assert_true(cn_events_append(dir, event, 0, &seq, &line, NULL));
    assert_int_equal(seq, 5); /* the cut line is no record: its number is free */
    g_autoptr(GArray) seqs = g_array_new(FALSE, FALSE, sizeof(guint64));
    guint64 last = 0;
    assert_true(cn_events_read(dir, 0, collect, seqs, &last, NULL));
    assert_int_equal(seqs->len, 2);
    assert_int_equal(last, 5);
    g_autofree char *text = NULL;
    assert_true(g_file_get_contents(path, &text, NULL, NULL));
    g_autofree char *tail = g_strconcat("\n", line, "\n", NULL);
    assert_true(g_str_has_suffix(text, tail));

    /* NUL bytes (blocks a crash never wrote) do not hide what follows. */
    static const char nuls[] = "{\"seq\":1,\"event\":\"a\"}\n\0\0\0\n{\"seq\":2,\"event\":\"b\"}\n";
    assert_true(g_file_set_contents(path, nuls, sizeof nuls - 1, NULL));
    g_array_set_size(seqs, 0);
    assert_true(cn_events_read(dir, 0, collect, seqs, &last, NULL));
    assert_int_equal(seqs->len, 2);
    assert_int_equal(last, 2);

    /* A cut last line that looks whole counts, since the append ends it. */
    assert_true(g_file_set_contents(path, "{\"seq\":7,\"event\":\"a\"}", -1, NULL));
    assert_true(cn_events_append(dir, event, 0, &seq, NULL, NULL));
    assert_int_equal(seq, 8);

    g_autofree char *full = g_strdup_printf("{\"seq\":%" G_GUINT64_FORMAT ",\"event\":\"a\"}\n", CN_EVENTS_SEQ_MAX);
    assert_true(g_file_set_contents(path, full, -1, NULL));
    g_autoptr(GError) error = NULL;
    assert_false(cn_events_append(dir, event, 0, &seq, NULL, &error));
    assert_non_null(strstr(error->message, "sequence numbers exhausted"));
    remove_tree(dir);
}

static void test_subscribers_get_the_line_detached(void **state)
{
    g_autofree char *dir = temp_dir();
    g_autofree char *subscribers = g_build_filename(dir, "events.d", NULL);
    g_autofree char *got = g_build_filename(dir, "got", NULL);
    g_autofree char *hung = g_build_filename(dir, "hung", NULL);
    assert_int_equal(mkdir(subscribers, 0755), 0);
    g_autofree char *hang = g_build_filename(subscribers, "10-hang", NULL);
    g_autofree char *copy = g_build_filename(subscribers, "20-copy", NULL);
    g_autofree char *hang_body = g_strdup_printf("touch '%s'; exec sleep 60", hung);
    g_autofree char *copy_body = g_strdup_printf("cat >'%s.tmp' && mv '%s.tmp' '%s'", got, got, got);
    write_script(hang, hang_body);
    write_script(copy, copy_body);

    gint64 start = g_get_monotonic_time();
    g_autoptr(GPtrArray) lines = g_ptr_array_new();
    g_ptr_array_add(lines, "{\"seq\":1}");
    assert_true(cn_events_notify(subscribers, lines, 1, NULL));
    /* The caller (the hook) does not wait for any of them. */
    assert_true(g_get_monotonic_time() - start < G_USEC_PER_SEC / 2);
    assert_true(wait_for_file(hung, 30));
    /* The hanging one delays nobody else. */
    assert_true(wait_for_file(got, 10));
    g_autofree char *text = NULL;
    assert_true(g_file_get_contents(got, &text, NULL, NULL));
    assert_string_equal(text, "{\"seq\":1}\n");
    remove_tree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_is_json_with_escapes),
        cmocka_unit_test(test_utc_stamp_is_the_calendar),
        cmocka_unit_test(test_sequence_numbers_follow_on),
        cmocka_unit_test(test_rotation_keeps_numbering_and_unseen_events),
        cmocka_unit_test(test_concurrent_writers_never_share_a_number),
        cmocka_unit_test(test_untrusted_subscribers_are_not_run),
        cmocka_unit_test(test_line_seq_is_strict),
        cmocka_unit_test(test_append_after_damage),
        cmocka_unit_test(test_subscribers_get_the_line_detached),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
