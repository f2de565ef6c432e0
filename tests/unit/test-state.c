/* test-state.c - the state directory: creation, atomic writes, locking. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <glib/gstdio.h>

#include "spoof-seen.h"
#include "state.h"

/* Each test gets a fresh temporary directory in *state, removed after. */

static void remove_tree(const char *path)
{
    GDir *dir = g_dir_open(path, 0, NULL);
    if (dir) {
        for (const char *name; (name = g_dir_read_name(dir));) {
            g_autofree char *child = g_build_filename(path, name, NULL);
            remove_tree(child);
        }
        g_dir_close(dir);
        g_rmdir(path);
    } else {
        g_unlink(path);
    }
}

static int setup_tmp(void **state)
{
    g_autoptr(GError) error = NULL;
    char *dir = g_dir_make_tmp("cn-test-state-XXXXXX", &error);
    if (!dir)
        return -1;
    *state = dir;
    return 0;
}

static int teardown_tmp(void **state)
{
    char *dir = *state;
    remove_tree(dir);
    g_free(dir);
    return 0;
}

static char *path_in(void **state, const char *name)
{
    return g_build_filename((const char *)*state, name, NULL);
}

static GPtrArray *list_dir(const char *path)
{
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
    assert_non_null(dir);
    for (const char *name; (name = g_dir_read_name(dir));)
        g_ptr_array_add(names, g_strdup(name));
    return names;
}

static void test_open_writable_creates_dir(void **state)
{
    g_autofree char *dir = path_in(state, "var/lib/carthage-net");
    g_autofree char *lock = g_build_filename(dir, "lock", NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(CnState) st = cn_state_open(dir, TRUE, &error);
    assert_null(error);
    assert_non_null(st);
    assert_true(g_file_test(dir, G_FILE_TEST_IS_DIR));
    assert_true(g_file_test(lock, G_FILE_TEST_IS_REGULAR));
    assert_true(cn_state_is_writable(st));
    assert_string_equal(cn_state_dir(st), dir);
}

static void test_write_then_read(void **state)
{
    g_autofree char *dir = path_in(state, "s");
    g_autoptr(GError) error = NULL;
    g_autoptr(CnState) st = cn_state_open(dir, TRUE, &error);
    assert_non_null(st);
    static const char data[] = "carthage-net-assignments 1\nv4 lan web eth0 10.0.0.5\n";
    assert_true(cn_state_write(st, "assignments", data, strlen(data), &error));
    assert_null(error);

    g_autofree char *contents = NULL;
    gsize length = 0;
    assert_true(cn_state_read(st, "assignments", &contents, &length, &error));
    assert_non_null(contents);
    assert_int_equal(length, strlen(data));
    assert_memory_equal(contents, data, length);
}

static void test_write_binary_and_empty(void **state)
{
    g_autofree char *dir = path_in(state, "s");
    g_autoptr(GError) error = NULL;
    g_autoptr(CnState) st = cn_state_open(dir, TRUE, &error);
    static const char binary[] = { 'a', '\0', 'b', '\n', '\xff' };
    assert_true(cn_state_write(st, "bin", binary, sizeof binary, &error));
    assert_true(cn_state_write(st, "empty", "", 0, &error));

    g_autofree char *contents = NULL;
    gsize length = 0;
    assert_true(cn_state_read(st, "bin", &contents, &length, &error));
    assert_int_equal(length, sizeof binary);
    assert_memory_equal(contents, binary, sizeof binary);
    g_autofree char *empty = NULL;
    assert_true(cn_state_read(st, "empty", &empty, &length, &error));
    assert_non_null(empty); /* present but empty, unlike a missing file */
    assert_int_equal(length, 0);
}

static void test_read_missing_file(void **state)
{
    g_autofree char *dir = path_in(state, "s");
    g_autoptr(GError) error = NULL;
    g_autoptr(CnState) st = cn_state_open(dir, TRUE, &error);
    char *contents = (char *)"untouched";
    gsize length = 99;
    assert_true(cn_state_read(st, "nothing-here", &contents, &length, &error));
    assert_null(error);
    assert_null(contents);
    assert_int_equal(length, 0);
}

static void test_replace_is_atomic_and_clean(void **state)
{
    g_autofree char *dir = path_in(state, "s");
    g_autoptr(GError) error = NULL;
    g_autoptr(CnState) st = cn_state_open(dir, TRUE, &error);
    assert_true(cn_state_write(st, "f", "first version, longer\n", 22, &error));
    assert_true(cn_state_write(st, "f", "second\n", 7, &error));
    assert_true(cn_state_write(st, "g", "other\n", 6, &error));

    g_autofree char *contents = NULL;
    gsize length = 0;
    assert_true(cn_state_read(st, "f", &contents, &length, &error));
    assert_int_equal(length, 7); /* replaced, not overwritten in place */
    assert_memory_equal(contents, "second\n", 7);

    g_autoptr(GPtrArray) names = list_dir(dir);
    for (guint i = 0; i < names->len; i++) {
        const char *name = names->pdata[i];
        if (strcmp(name, "lock") && strcmp(name, "f") && strcmp(name, "g"))
            fail_msg("stray file '%s' left in the state directory", name);
    }
    assert_int_equal(names->len, 3);
}

static void test_written_file_mode(void **state)
{
    g_autofree char *dir = path_in(state, "s");
    g_autofree char *file = g_build_filename(dir, "f", NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(CnState) st = cn_state_open(dir, TRUE, &error);
    assert_true(cn_state_write(st, "f", "x", 1, &error));
    GStatBuf sb;
    assert_int_equal(g_stat(file, &sb), 0);
    assert_true(S_ISREG(sb.st_mode));
    assert_int_equal(sb.st_mode & 0022, 0); /* no one else may write state */
}

static void test_remove(void **state)
{
    g_autofree char *dir = path_in(state, "s");
    g_autofree char *file = g_build_filename(dir, "f", NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(CnState) st = cn_state_open(dir, TRUE, &error);
    assert_true(cn_state_write(st, "f", "x", 1, &error));
    assert_true(cn_state_remove(st, "f", &error));
    assert_false(g_file_test(file, G_FILE_TEST_EXISTS));
    assert_true(cn_state_remove(st, "f", &error)); /* already gone: fine */
    assert_null(error);
}

static void test_read_only_missing_dir(void **state)
{
    g_autofree char *dir = path_in(state, "never-made");
    g_autoptr(GError) error = NULL;
    g_autoptr(CnState) st = cn_state_open(dir, FALSE, &error);
    assert_null(error);
    assert_non_null(st);
    assert_false(cn_state_is_writable(st));
    char *contents = (char *)"untouched";
    gsize length = 5;
    assert_true(cn_state_read(st, "assignments", &contents, &length, &error));
    assert_null(contents);
    assert_int_equal(length, 0);
    assert_false(g_file_test(dir, G_FILE_TEST_EXISTS)); /* reading creates nothing */
}

static void test_read_only_sees_written_data(void **state)
{
    g_autofree char *dir = path_in(state, "s");
    g_autoptr(GError) error = NULL;
    CnState *writer = cn_state_open(dir, TRUE, &error);
    assert_true(cn_state_write(writer, "f", "data", 4, &error));
    cn_state_close(writer);

    g_autoptr(CnState) reader = cn_state_open(dir, FALSE, &error);
    assert_non_null(reader);
    g_autofree char *contents = NULL;
    gsize length = 0;
    assert_true(cn_state_read(reader, "f", &contents, &length, &error));
    assert_int_equal(length, 4);
    assert_memory_equal(contents, "data", 4);
}

/* BUG (src/state.c, cn_state_open): state.h promises a read-only open
 * "takes a shared lock when the directory exists, and reads nothing when
 * it does not", but when the directory exists without a lock file (made
 * by hand, restored from a backup, or by packaging) the open returns
 * lock_fd -1 and every cn_state_read() then reports "no file" although
 * the file is there: validate would ignore the saved assignments. */
static void test_read_only_dir_without_lock_file(void **state)
{
    g_autofree char *dir = path_in(state, "s");
    g_autofree char *file = g_build_filename(dir, "assignments", NULL);
    assert_int_equal(g_mkdir(dir, 0755), 0);
    assert_true(g_file_set_contents(file, "saved", 5, NULL));

    g_autoptr(GError) error = NULL;
    g_autoptr(CnState) st = cn_state_open(dir, FALSE, &error);
    assert_non_null(st);
    g_autofree char *contents = NULL;
    gsize length = 0;
    assert_true(cn_state_read(st, "assignments", &contents, &length, &error));
    assert_non_null(contents);
    assert_int_equal(length, 5);
}

static void test_writable_under_a_file_fails_readonly(void **state)
{
    /* a regular file in the path: refused even for root */
    g_autofree char *file = path_in(state, "plain-file");
    g_autofree char *dir = g_build_filename(file, "state", NULL);
    assert_true(g_file_set_contents(file, "x", 1, NULL));
    g_autoptr(GError) error = NULL;
    CnState *st = cn_state_open(dir, TRUE, &error);
    assert_null(st);
    assert_non_null(error);
    assert_true(g_error_matches(error, CN_STATE_ERROR, CN_STATE_ERROR_READONLY));
    assert_non_null(strstr(error->message, dir));
}

static void test_writable_on_a_file_fails_readonly(void **state)
{
    g_autofree char *file = path_in(state, "plain-file");
    assert_true(g_file_set_contents(file, "x", 1, NULL));
    g_autoptr(GError) error = NULL;
    CnState *st = cn_state_open(file, TRUE, &error);
    assert_null(st);
    assert_true(g_error_matches(error, CN_STATE_ERROR, CN_STATE_ERROR_READONLY));
}

/* ---- locking across processes ---------------------------------------- */

/* Waits up to TIMEOUT_MS for a byte on FD; returns it, or -1. */
static int read_byte(int fd, int timeout_ms)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    int rc;
    do {
        rc = poll(&p, 1, timeout_ms);
    } while (rc < 0 && errno == EINTR);
    if (rc <= 0)
        return -1;
    char c;
    if (read(fd, &c, 1) != 1)
        return -1;
    return (unsigned char)c;
}

/* A child that waits for 'g' on GO, says 'S' (about to open), opens DIR
 * (WRITABLE) and says 'L' once it has it, then exits.  Forked before the
 * parent opens the state, so it holds no copy of the parent's lock. */
static pid_t spawn_locker(const char *dir, gboolean writable, int *go_out, int *report_in)
{
    int go[2], report[2];
    assert_int_equal(pipe(go), 0);
    assert_int_equal(pipe(report), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(go[1]);
        close(report[0]);
        char c;
        if (read(go[0], &c, 1) != 1)
            _exit(2);
        if (write(report[1], "S", 1) != 1)
            _exit(3);
        CnState *st = cn_state_open(dir, writable, NULL);
        if (!st)
            _exit(4);
        if (write(report[1], "L", 1) != 1)
            _exit(5);
        cn_state_close(st);
        _exit(0);
    }
    close(go[0]);
    close(report[1]);
    *go_out = go[1];
    *report_in = report[0];
    return pid;
}

static void reap(pid_t pid, int go, int report)
{
    int status = 0;
    close(go);
    close(report);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_exclusive_lock_serialises_writers(void **state)
{
    g_autofree char *dir = path_in(state, "s");
    int go, report;
    pid_t pid = spawn_locker(dir, TRUE, &go, &report);

    g_autoptr(GError) error = NULL;
    CnState *held = cn_state_open(dir, TRUE, &error);
    assert_non_null(held);
    assert_int_equal(write(go, "g", 1), 1);
    assert_int_equal(read_byte(report, 5000), 'S');
    /* the child is in cn_state_open now, and must stay there */
    if (read_byte(report, 300) == 'L') {
        cn_state_close(held);
        reap(pid, go, report);
        fail_msg("a second writer got the lock while the first held it");
    }
    cn_state_close(held);
    assert_int_equal(read_byte(report, 10000), 'L');
    reap(pid, go, report);
}

static void test_writer_waits_for_reader(void **state)
{
    g_autofree char *dir = path_in(state, "s");
    CnState *made = cn_state_open(dir, TRUE, NULL); /* so the reader has a lock file */
    assert_non_null(made);
    cn_state_close(made);

    int go, report;
    pid_t pid = spawn_locker(dir, TRUE, &go, &report);
    CnState *reader = cn_state_open(dir, FALSE, NULL);
    assert_non_null(reader);
    assert_int_equal(write(go, "g", 1), 1);
    assert_int_equal(read_byte(report, 5000), 'S');
    if (read_byte(report, 300) == 'L') {
        cn_state_close(reader);
        reap(pid, go, report);
        fail_msg("a writer got the lock while a reader held it");
    }
    cn_state_close(reader);
    assert_int_equal(read_byte(report, 10000), 'L');
    reap(pid, go, report);
}

static void test_readers_share_the_lock(void **state)
{
    g_autofree char *dir = path_in(state, "s");
    CnState *made = cn_state_open(dir, TRUE, NULL);
    assert_non_null(made);
    cn_state_close(made);

    int go, report;
    pid_t pid = spawn_locker(dir, FALSE, &go, &report);
    CnState *reader = cn_state_open(dir, FALSE, NULL);
    assert_non_null(reader);
    assert_int_equal(write(go, "g", 1), 1);
    assert_int_equal(read_byte(report, 5000), 'S');
    int got = read_byte(report, 10000); /* no waiting on another reader */
    cn_state_close(reader);
    assert_int_equal(got, 'L');
    reap(pid, go, report);
}

/* Runtime temporaries (.NAME.tmp.PID): removed when their writer is gone,
 * kept while it runs; names that only look alike are left alone, records
 * of domains named like temporaries and directories included. */
static void test_runtime_orphans_removed(void **state)
{
    const char *dir = *state;
    pid_t dead = fork();
    assert_true(dead >= 0);
    if (dead == 0)
        _exit(0);
    assert_int_equal(waitpid(dead, NULL, 0), dead);

    g_autofree char *gone = g_strdup_printf(".hook-domain-a.tmp.%d", (int)dead);
    g_autofree char *alive = g_strdup_printf(".hook-domain-b.tmp.%d", (int)getpid());
    g_autofree char *record = g_strdup_printf("hook-domain-web.tmp.%d", (int)dead);
    g_autofree char *plus = g_strdup_printf(".hook-domain-c.tmp.+%d", (int)dead);
    g_autofree char *zero = g_strdup_printf(".hook-domain-c.tmp.0%d", (int)dead);
    g_autofree char *space = g_strdup_printf(".hook-domain-c.tmp. %d", (int)dead);
    const char *kept[] = { alive, record, plus, zero, space, ".hook-domain-c.tmp.x1", ".hook-domain-d.tmp.",
                           ".tmp.5", "hook-domain-e", ".f.tmp.0", ".g.tmp.99999999999" };
    assert_true(cn_runtime_write(dir, "hook-domain-a", "x", NULL)); /* its temporary is gone by now */
    g_autofree char *gone_path = path_in(state, gone);
    assert_true(g_file_set_contents(gone_path, "x", -1, NULL));
    for (size_t i = 0; i < G_N_ELEMENTS(kept); i++) {
        g_autofree char *path = path_in(state, kept[i]);
        assert_true(g_file_set_contents(path, "x", -1, NULL));
    }
    g_autofree char *subdir = g_strdup_printf("%s/.h.tmp.%d", dir, (int)dead);
    assert_int_equal(g_mkdir(subdir, 0755), 0);

    g_autoptr(GPtrArray) removed = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);
    cn_runtime_remove_orphans(dir, removed, warnings);
    assert_int_equal(warnings->len, 0);
    assert_int_equal(removed->len, 1);
    assert_string_equal(removed->pdata[0], gone);

    g_autoptr(GPtrArray) names = list_dir(dir);
    /* the kept ones, hook-domain-a and the directory */
    assert_int_equal(names->len, G_N_ELEMENTS(kept) + 2);
    assert_false(g_file_test(gone_path, G_FILE_TEST_EXISTS));

    /* A missing directory has nothing to remove. */
    g_autofree char *missing = path_in(state, "missing");
    cn_runtime_remove_orphans(missing, removed, warnings);
    assert_int_equal(removed->len, 1);
}

/* Writers leave no temporary behind, and name it with a leading dot: a
 * state file or record whose own name looks like one is never taken for
 * a temporary by the next writable open. */
static void test_record_named_like_a_temporary_survives(void **state)
{
    g_autofree char *dir = path_in(state, "s");
    g_autoptr(CnState) writer = cn_state_open(dir, TRUE, NULL);
    assert_non_null(writer);
    assert_true(cn_state_write(writer, "pool-a.tmp.1", "kept", 4, NULL));
    cn_state_close(g_steal_pointer(&writer));
    g_autoptr(CnState) again = cn_state_open(dir, TRUE, NULL);
    assert_non_null(again);
    g_autofree char *text = NULL;
    gsize length = 0;
    assert_true(cn_state_read(again, "pool-a.tmp.1", &text, &length, NULL));
    assert_non_null(text);
    assert_string_equal(text, "kept");
}

/* The spoof-seen record: counts per network and port, sorted lines, and
 * errors that name the line. */
static void test_spoof_seen(void **state)
{
    GHashTable *seen = cn_spoof_seen_new();
    cn_spoof_seen_set(seen, "md", "vnet3", 7);
    cn_spoof_seen_set(seen, "lab", "tap1", 18446744073709551615u);
    char *text = cn_spoof_seen_format(seen);
    assert_string_equal(text, "carthage-net-spoof-seen 1\nlab tap1 18446744073709551615\nmd vnet3 7\n");
    GError *error = NULL;
    GHashTable *parsed = cn_spoof_seen_parse("spoof-seen", text, strlen(text), &error);
    assert_non_null(parsed);
    assert_true(cn_spoof_seen_get(parsed, "md", "vnet3") == 7);
    assert_true(cn_spoof_seen_get(parsed, "md", "tap1") == 0);
    static const struct {
        const char *text, *message;
    } bad[] = {
        { "", "spoof-seen:1: expected \"carthage-net-spoof-seen 1\"" },
        { "carthage-net-spoof-seen 2\n", "spoof-seen:1: expected" },
        { "carthage-net-spoof-seen 1\nmd vnet3\n", "spoof-seen:2: expected NETWORK PORT PACKETS" },
        { "carthage-net-spoof-seen 1\n\nmd vnet3 -1\n", "spoof-seen:3: expected NETWORK PORT PACKETS" },
        { "carthage-net-spoof-seen 1\nmd a-name-longer-than-15 1\n", "spoof-seen:2:" },
        { "carthage-net-spoof-seen 1\nmd vnet3 18446744073709551616\n", "spoof-seen:2:" },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        assert_null(cn_spoof_seen_parse("spoof-seen", bad[i].text, strlen(bad[i].text), &error));
        if (!g_str_has_prefix(error->message, bad[i].message))
            fail_msg("'%s': %s", bad[i].text, error->message);
        g_clear_error(&error);
    }
    g_free(text);
    g_hash_table_unref(seen);
    g_hash_table_unref(parsed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spoof_seen),
        cmocka_unit_test_setup_teardown(test_open_writable_creates_dir, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_write_then_read, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_write_binary_and_empty, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_read_missing_file, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_replace_is_atomic_and_clean, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_written_file_mode, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_remove, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_read_only_missing_dir, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_read_only_sees_written_data, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_read_only_dir_without_lock_file, setup_tmp,
                                        teardown_tmp),
        cmocka_unit_test_setup_teardown(test_writable_under_a_file_fails_readonly, setup_tmp,
                                        teardown_tmp),
        cmocka_unit_test_setup_teardown(test_writable_on_a_file_fails_readonly, setup_tmp,
                                        teardown_tmp),
        cmocka_unit_test_setup_teardown(test_exclusive_lock_serialises_writers, setup_tmp,
                                        teardown_tmp),
        cmocka_unit_test_setup_teardown(test_writer_waits_for_reader, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_readers_share_the_lock, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_runtime_orphans_removed, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_record_named_like_a_temporary_survives, setup_tmp, teardown_tmp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
