/* test-keyfile.c - the key-file reader: syntax, locations, layering. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "defs-keyfile.h"

/* Parses TEXT as FILE into DEFS, appending to DIAGS. */
static void parse_into(CnRawDefs *defs, const char *file, const char *text, CnDiagList *diags)
{
    cn_raw_defs_parse(defs, file, text, strlen(text), diags);
}

static void dump(const CnDiagList *diags)
{
    for (guint i = 0; i < diags->items->len; i++) {
        g_autofree char *line = cn_diag_format(diags->items->pdata[i]);
        print_error("#   diag: %s\n", line);
    }
}

static void expect_no_diags(const CnDiagList *diags)
{
    if (cn_diag_count(diags) != 0) {
        dump(diags);
        fail_msg("expected no diagnostics");
    }
}

static const CnRawGroup *group(const CnRawDefs *defs, const char *header)
{
    const CnRawGroup *g = g_hash_table_lookup(defs->by_header, header);
    if (!g)
        fail_msg("no group [%s]", header);
    return g;
}

static const CnRawEntry *entry(const CnRawDefs *defs, const char *header, const char *key)
{
    const CnRawEntry *e = g_hash_table_lookup(group(defs, header)->by_key, key);
    if (!e)
        fail_msg("no key %s in [%s]", key, header);
    return e;
}

static const char *value(const CnRawDefs *defs, const char *header, const char *key)
{
    return entry(defs, header, key)->value;
}

/* The only diagnostic must be at LINE with KEY (NULL: none) and a message
 * containing SUBSTRING. */
static void expect_one_diag(const CnDiagList *diags, const char *file, int line, const char *key,
                            const char *substring)
{
    if (cn_diag_count(diags) != 1) {
        dump(diags);
        fail_msg("expected exactly one diagnostic");
    }
    const CnDiag *d = diags->items->pdata[0];
    assert_string_equal(d->file, file);
    assert_int_equal(d->line, line);
    if (key)
        assert_string_equal(d->key, key);
    else
        assert_null(d->key);
    if (!strstr(d->message, substring))
        fail_msg("message '%s' lacks '%s'", d->message, substring);
}

/* Groups and entries */

static void test_groups_and_locations(void **state)
{
    g_autoptr(CnRawDefs) defs = cn_raw_defs_new();
    g_autoptr(CnDiagList) diags = cn_diag_list_new();
    parse_into(defs, "a.conf",
               "[network lan]\n"        /* 1 */
               "mtu = 1500\n"           /* 2 */
               "\n"                     /* 3 */
               "[machine web]\n"        /* 4 */
               "metadata.handler = 80\n" /* 5 */
               "[link web eth0]\n"      /* 6 */
               "net = lan\n",           /* 7 */
               diags);
    expect_no_diags(diags);
    assert_int_equal(defs->groups->len, 3);
    const CnRawGroup *g0 = defs->groups->pdata[0];
    const CnRawGroup *g2 = defs->groups->pdata[2];
    assert_string_equal(g0->header, "network lan");
    assert_string_equal(g2->header, "link web eth0");
    assert_string_equal(g0->loc.file, "a.conf");
    assert_int_equal(g0->loc.line, 1);
    assert_int_equal(group(defs, "machine web")->loc.line, 4);
    assert_int_equal(g2->loc.line, 6);
    assert_int_equal(entry(defs, "network lan", "mtu")->loc.line, 2);
    assert_int_equal(entry(defs, "machine web", "metadata.handler")->loc.line, 5);
    assert_int_equal(entry(defs, "link web eth0", "net")->loc.line, 7);
    assert_string_equal(entry(defs, "link web eth0", "net")->loc.file, "a.conf");
    assert_string_equal(value(defs, "network lan", "mtu"), "1500");
}

static void test_entries_keep_first_seen_order(void **state)
{
    g_autoptr(CnRawDefs) defs = cn_raw_defs_new();
    g_autoptr(CnDiagList) diags = cn_diag_list_new();
    parse_into(defs, "a.conf", "[g]\nz = 1\na = 2\nm = 3\na = 4\n", diags);
    expect_no_diags(diags);
    const CnRawGroup *g = group(defs, "g");
    assert_int_equal(g->entries->len, 3);
    assert_string_equal(((CnRawEntry *)g->entries->pdata[0])->key, "z");
    assert_string_equal(((CnRawEntry *)g->entries->pdata[1])->key, "a");
    assert_string_equal(((CnRawEntry *)g->entries->pdata[2])->key, "m");
    /* a repeated key in one file: the last value and its line win */
    assert_string_equal(value(defs, "g", "a"), "4");
    assert_int_equal(entry(defs, "g", "a")->loc.line, 5);
}

static void test_header_whitespace_normalised(void **state)
{
    g_autoptr(CnRawDefs) defs = cn_raw_defs_new();
    g_autoptr(CnDiagList) diags = cn_diag_list_new();
    parse_into(defs, "a.conf",
               "[  network \t  lan  ]\n"
               "mtu = 1500\n"
               "  [link   web\teth0]  \n"
               "net = lan\n",
               diags);
    expect_no_diags(diags);
    assert_int_equal(defs->groups->len, 2);
    assert_string_equal(((CnRawGroup *)defs->groups->pdata[0])->header, "network lan");
    assert_string_equal(((CnRawGroup *)defs->groups->pdata[1])->header, "link web eth0");
}

static void test_differently_spaced_headers_are_one_group(void **state)
{
    g_autoptr(CnRawDefs) defs = cn_raw_defs_new();
    g_autoptr(CnDiagList) diags = cn_diag_list_new();
    parse_into(defs, "a.conf", "[network lan]\nmtu = 1500\n[network    lan]\nforward = nat\n", diags);
    expect_no_diags(diags);
    assert_int_equal(defs->groups->len, 1);
    assert_string_equal(value(defs, "network lan", "mtu"), "1500");
    assert_string_equal(value(defs, "network lan", "forward"), "nat");
}

static void test_comments_and_blank_lines(void **state)
{
    g_autoptr(CnRawDefs) defs = cn_raw_defs_new();
    g_autoptr(CnDiagList) diags = cn_diag_list_new();
    parse_into(defs, "a.conf",
               "# leading comment\n"        /* 1 */
               "\n"                         /* 2 */
               "   \t \n"                   /* 3 */
               "[g]\n"                      /* 4 */
               "   # indented comment\n"    /* 5 */
               "#key = not a key\n"         /* 6 */
               "\n"                         /* 7 */
               "k = v # not a comment\n",   /* 8 */
               diags);
    expect_no_diags(diags);
    const CnRawGroup *g = group(defs, "g");
    assert_int_equal(g->loc.line, 4);
    assert_int_equal(g->entries->len, 1);
    /* as in GKeyFile, '#' starts a comment only at the start of a line */
    assert_string_equal(value(defs, "g", "k"), "v # not a comment");
    assert_int_equal(entry(defs, "g", "k")->loc.line, 8);
}

static void test_key_value_trimming(void **state)
{
    g_autoptr(CnRawDefs) defs = cn_raw_defs_new();
    g_autoptr(CnDiagList) diags = cn_diag_list_new();
    parse_into(defs, "a.conf",
               "[g]\n"
               "  spaced   =   value with  inner   spaces   \n"
               "tight=value\n"
               "empty =\n"
               "tabs\t=\tv\t\n"
               "eq = a = b\n",
               diags);
    expect_no_diags(diags);
    assert_string_equal(value(defs, "g", "spaced"), "value with  inner   spaces");
    assert_string_equal(value(defs, "g", "tight"), "value");
    assert_string_equal(value(defs, "g", "empty"), "");
    assert_string_equal(value(defs, "g", "tabs"), "v");
    assert_string_equal(value(defs, "g", "eq"), "a = b");
}

static void test_crlf_line_endings(void **state)
{
    g_autoptr(CnRawDefs) defs = cn_raw_defs_new();
    g_autoptr(CnDiagList) diags = cn_diag_list_new();
    parse_into(defs, "a.conf", "[network lan]\r\nmtu = 1500\r\n\r\nforward = nat\r\n", diags);
    expect_no_diags(diags);
    assert_string_equal(value(defs, "network lan", "mtu"), "1500");
    assert_int_equal(entry(defs, "network lan", "forward")->loc.line, 4);
}

static void test_last_line_without_newline(void **state)
{
    g_autoptr(CnRawDefs) defs = cn_raw_defs_new();
    g_autoptr(CnDiagList) diags = cn_diag_list_new();
    parse_into(defs, "a.conf", "[g]\nk = v", diags);
    expect_no_diags(diags);
    assert_string_equal(value(defs, "g", "k"), "v");
    assert_int_equal(entry(defs, "g", "k")->loc.line, 2);
}

static void test_value_kept_escaped(void **state)
{
    g_autoptr(CnRawDefs) defs = cn_raw_defs_new();
    g_autoptr(CnDiagList) diags = cn_diag_list_new();
    parse_into(defs, "a.conf", "[g]\nk = a\\sb\\;c\n", diags);
    expect_no_diags(diags);
    assert_string_equal(value(defs, "g", "k"), "a\\sb\\;c");
}

static void test_empty_input(void **state)
{
    g_autoptr(CnRawDefs) defs = cn_raw_defs_new();
    g_autoptr(CnDiagList) diags = cn_diag_list_new();
    cn_raw_defs_parse(defs, "a.conf", "", 0, diags);
    parse_into(defs, "b.conf", "\n\n# only comments\n", diags);
    expect_no_diags(diags);
    assert_int_equal(defs->groups->len, 0);
}

static void test_length_bounds_the_text(void **state)
{
    g_autoptr(CnRawDefs) defs = cn_raw_defs_new();
    g_autoptr(CnDiagList) diags = cn_diag_list_new();
    static const char text[] = "[g]\nk = value-cut-here";
    /* not NUL-terminated at LENGTH: the reader must stop there */
    cn_raw_defs_parse(defs, "a.conf", text, strlen("[g]\nk = value"), diags);
    expect_no_diags(diags);
    assert_string_equal(value(defs, "g", "k"), "value");
}

/* Escapes */

static void test_unescape(void **state)
{
    g_autofree char *out = NULL;
    assert_true(cn_keyfile_unescape("a\\sb\\nc\\td\\re\\\\f", &out));
    assert_string_equal(out, "a b\nc\td\re\\f");
}

static void test_unescape_plain(void **state)
{
    g_autofree char *out = NULL;
    g_autofree char *empty = NULL;
    assert_true(cn_keyfile_unescape("plain text; with semicolon", &out));
    assert_string_equal(out, "plain text; with semicolon");
    assert_true(cn_keyfile_unescape("", &empty));
    assert_string_equal(empty, "");
}

static void test_unescape_semicolon_outside_list(void **state)
{
    g_autofree char *out = NULL;
    /* \; means something only in lists; a plain string keeps it as written */
    assert_true(cn_keyfile_unescape("a\\;b", &out));
    assert_string_equal(out, "a\\;b");
}

static void test_unescape_bad_escape(void **state)
{
    char *out = NULL;
    assert_false(cn_keyfile_unescape("a\\xb", &out));
    assert_null(out);
    assert_false(cn_keyfile_unescape("a\\", &out));
    assert_false(cn_keyfile_unescape("\\0", &out));
    assert_false(cn_keyfile_unescape("\\ ", &out));
    assert_null(out);
}

/* Lists */

static void expect_list(const char *raw, const char *const *expected, guint n)
{
    g_autoptr(GPtrArray) items = NULL;
    if (!cn_keyfile_split_list(raw, &items))
        fail_msg("'%s' refused", raw);
    if (items->len != n)
        fail_msg("'%s': %u items, expected %u", raw, items->len, n);
    for (guint i = 0; i < n; i++)
        assert_string_equal(items->pdata[i], expected[i]);
}

static void test_list_split(void **state)
{
    static const char *const abc[] = { "a", "b", "c" };
    expect_list("a;b;c", abc, 3);
    expect_list(" a ; b ;  c ", abc, 3);
    expect_list("only", (const char *const[]){ "only" }, 1);
}

static void test_list_trailing_semicolon(void **state)
{
    static const char *const ab[] = { "a", "b" };
    expect_list("a;b;", ab, 2);
    expect_list("a;", ab, 1);
}

static void test_list_empty(void **state)
{
    expect_list("", NULL, 0);
}

static void test_list_escaped_semicolon(void **state)
{
    static const char *const items[] = { "a;b", "c" };
    expect_list("a\\;b;c", items, 2);
    static const char *const tail[] = { "x", "y;" };
    expect_list("x;y\\;", tail, 2);
}

static void test_list_escapes_in_items(void **state)
{
    static const char *const items[] = { "a\tb", "c\\d", "e\nf" };
    expect_list("a\\tb;c\\\\d;e\\nf", items, 3);
}

static void test_list_escaped_backslash_then_separator(void **state)
{
    /* "\\;" is an escaped backslash followed by a separator */
    static const char *const items[] = { "a\\", "b" };
    expect_list("a\\\\;b", items, 2);
}

static void test_list_bad_escape(void **state)
{
    GPtrArray *items = NULL;
    assert_false(cn_keyfile_split_list("a;b\\q;c", &items));
    assert_null(items);
    assert_false(cn_keyfile_split_list("a;b\\", &items));
    assert_null(items);
}

/* Layering */

static void test_layering_replaces_value_and_location(void **state)
{
    g_autoptr(CnRawDefs) defs = cn_raw_defs_new();
    g_autoptr(CnDiagList) diags = cn_diag_list_new();
    parse_into(defs, "site.conf",
               "[network lan]\n"  /* 1 */
               "mtu = 1500\n"     /* 2 */
               "forward = nat\n", /* 3 */
               diags);
    parse_into(defs, "env.conf",
               "# environment\n"  /* 1 */
               "[network lan]\n"  /* 2 */
               "mtu = 9000\n",    /* 3 */
               diags);
    expect_no_diags(diags);
    assert_int_equal(defs->groups->len, 1);
    const CnRawEntry *mtu = entry(defs, "network lan", "mtu");
    assert_string_equal(mtu->value, "9000");
    assert_string_equal(mtu->loc.file, "env.conf");
    assert_int_equal(mtu->loc.line, 3);
    const CnRawEntry *forward = entry(defs, "network lan", "forward");
    assert_string_equal(forward->value, "nat");
    assert_string_equal(forward->loc.file, "site.conf");
    assert_int_equal(forward->loc.line, 3);
    /* the group stays where it was first opened */
    assert_string_equal(group(defs, "network lan")->loc.file, "site.conf");
    assert_int_equal(group(defs, "network lan")->loc.line, 1);
    assert_int_equal(group(defs, "network lan")->entries->len, 2);
}

static void test_layering_adds_groups_and_keys(void **state)
{
    g_autoptr(CnRawDefs) defs = cn_raw_defs_new();
    g_autoptr(CnDiagList) diags = cn_diag_list_new();
    parse_into(defs, "a.conf", "[network lan]\nmtu = 1500\n", diags);
    parse_into(defs, "b.conf", "[network lan]\nisolate_guests = true\n[machine web]\n", diags);
    expect_no_diags(diags);
    assert_int_equal(defs->groups->len, 2);
    assert_string_equal(value(defs, "network lan", "mtu"), "1500");
    assert_string_equal(value(defs, "network lan", "isolate_guests"), "true");
    assert_string_equal(entry(defs, "network lan", "isolate_guests")->loc.file, "b.conf");
    assert_string_equal(group(defs, "machine web")->loc.file, "b.conf");
}

static void test_layering_list_replaced_not_appended(void **state)
{
    g_autoptr(CnRawDefs) defs = cn_raw_defs_new();
    g_autoptr(CnDiagList) diags = cn_diag_list_new();
    parse_into(defs, "a.conf", "[network lan]\nv4.dns_servers = 192.0.2.1;192.0.2.2\n", diags);
    parse_into(defs, "b.conf", "[network lan]\nv4.dns_servers = 192.0.2.3\n", diags);
    expect_no_diags(diags);
    assert_string_equal(value(defs, "network lan", "v4.dns_servers"), "192.0.2.3");
}

static void test_duplicate_group_in_one_file_merges(void **state)
{
    g_autoptr(CnRawDefs) defs = cn_raw_defs_new();
    g_autoptr(CnDiagList) diags = cn_diag_list_new();
    parse_into(defs, "a.conf",
               "[network lan]\n"  /* 1 */
               "mtu = 1500\n"     /* 2 */
               "[machine web]\n"  /* 3 */
               "[network lan]\n"  /* 4 */
               "forward = nat\n"  /* 5 */
               "mtu = 9000\n",    /* 6 */
               diags);
    expect_no_diags(diags);
    assert_int_equal(defs->groups->len, 2);
    const CnRawGroup *lan = group(defs, "network lan");
    assert_int_equal(lan->loc.line, 1);
    assert_int_equal(lan->entries->len, 2);
    assert_string_equal(value(defs, "network lan", "mtu"), "9000");
    assert_int_equal(entry(defs, "network lan", "mtu")->loc.line, 6);
    assert_int_equal(entry(defs, "network lan", "forward")->loc.line, 5);
}

/* Syntax errors */

static void test_error_header_missing_bracket(void **state)
{
    g_autoptr(CnRawDefs) defs = cn_raw_defs_new();
    g_autoptr(CnDiagList) diags = cn_diag_list_new();
    parse_into(defs, "a.conf", "# c\n[network lan\n", diags);
    expect_one_diag(diags, "a.conf", 2, NULL, "must end with ']'");
    assert_int_equal(defs->groups->len, 0);
}

static void test_error_header_malformed(void **state)
{
    static const char *const bad[] = { "[]\n", "[  ]\n", "[a]b]\n", "[a[b]\n" };
    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(CnRawDefs) defs = cn_raw_defs_new();
        g_autoptr(CnDiagList) diags = cn_diag_list_new();
        parse_into(defs, "a.conf", bad[i], diags);
        expect_one_diag(diags, "a.conf", 1, NULL, "malformed group header");
        assert_int_equal(defs->groups->len, 0);
    }
}

static void test_error_no_equals(void **state)
{
    g_autoptr(CnRawDefs) defs = cn_raw_defs_new();
    g_autoptr(CnDiagList) diags = cn_diag_list_new();
    parse_into(defs, "a.conf", "[network lan]\nmtu = 1500\njust words\nforward = nat\n", diags);
    expect_one_diag(diags, "a.conf", 3, NULL, "expected 'key = value'");
    assert_string_equal(((CnDiag *)diags->items->pdata[0])->group, "network lan");
    /* the rest of the file is still read */
    assert_string_equal(value(defs, "network lan", "forward"), "nat");
}

static void test_error_missing_key(void **state)
{
    g_autoptr(CnRawDefs) defs = cn_raw_defs_new();
    g_autoptr(CnDiagList) diags = cn_diag_list_new();
    parse_into(defs, "a.conf", "[g]\n  = value\n", diags);
    expect_one_diag(diags, "a.conf", 2, NULL, "missing key");
    assert_int_equal(group(defs, "g")->entries->len, 0);
}

static void test_error_key_outside_group(void **state)
{
    g_autoptr(CnRawDefs) defs = cn_raw_defs_new();
    g_autoptr(CnDiagList) diags = cn_diag_list_new();
    parse_into(defs, "a.conf", "\nmtu = 1500\n[g]\nk = v\n", diags);
    expect_one_diag(diags, "a.conf", 2, "mtu", "outside of any [group]");
    assert_null(((CnDiag *)diags->items->pdata[0])->group);
    assert_string_equal(value(defs, "g", "k"), "v");
}

static void test_error_nul_byte(void **state)
{
    g_autoptr(CnRawDefs) defs = cn_raw_defs_new();
    g_autoptr(CnDiagList) diags = cn_diag_list_new();
    static const char text[] = "[g]\na = 1\nb = x\0y\nc = 3\n";
    cn_raw_defs_parse(defs, "a.conf", text, sizeof text - 1, diags);
    expect_one_diag(diags, "a.conf", 3, NULL, "NUL byte");
    assert_string_equal(value(defs, "g", "a"), "1");
    assert_string_equal(value(defs, "g", "c"), "3");
    assert_null(g_hash_table_lookup(group(defs, "g")->by_key, "b"));
}

static void test_errors_each_reported_with_line(void **state)
{
    g_autoptr(CnRawDefs) defs = cn_raw_defs_new();
    g_autoptr(CnDiagList) diags = cn_diag_list_new();
    parse_into(defs, "a.conf",
               "top = 1\n"      /* 1: outside */
               "[g]\n"          /* 2 */
               "junk\n"         /* 3: no '=' */
               "ok = 1\n"       /* 4 */
               "= 2\n"          /* 5: no key */
               "[h\n",          /* 6: header */
               diags);
    assert_int_equal(cn_diag_count(diags), 4);
    static const int lines[] = { 1, 3, 5, 6 };
    for (guint i = 0; i < 4; i++)
        assert_int_equal(((CnDiag *)diags->items->pdata[i])->line, lines[i]);
    assert_string_equal(value(defs, "g", "ok"), "1");
}

static void test_error_lines_are_per_file(void **state)
{
    g_autoptr(CnRawDefs) defs = cn_raw_defs_new();
    g_autoptr(CnDiagList) diags = cn_diag_list_new();
    parse_into(defs, "a.conf", "[g]\nk = 1\nk2 = 2\n", diags);
    parse_into(defs, "b.conf", "[g]\nbroken\n", diags);
    expect_one_diag(diags, "b.conf", 2, NULL, "expected 'key = value'");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_groups_and_locations),
        cmocka_unit_test(test_entries_keep_first_seen_order),
        cmocka_unit_test(test_header_whitespace_normalised),
        cmocka_unit_test(test_differently_spaced_headers_are_one_group),
        cmocka_unit_test(test_comments_and_blank_lines),
        cmocka_unit_test(test_key_value_trimming),
        cmocka_unit_test(test_crlf_line_endings),
        cmocka_unit_test(test_last_line_without_newline),
        cmocka_unit_test(test_value_kept_escaped),
        cmocka_unit_test(test_empty_input),
        cmocka_unit_test(test_length_bounds_the_text),
        cmocka_unit_test(test_unescape),
        cmocka_unit_test(test_unescape_plain),
        cmocka_unit_test(test_unescape_semicolon_outside_list),
        cmocka_unit_test(test_unescape_bad_escape),
        cmocka_unit_test(test_list_split),
        cmocka_unit_test(test_list_trailing_semicolon),
        cmocka_unit_test(test_list_empty),
        cmocka_unit_test(test_list_escaped_semicolon),
        cmocka_unit_test(test_list_escapes_in_items),
        cmocka_unit_test(test_list_escaped_backslash_then_separator),
        cmocka_unit_test(test_list_bad_escape),
        cmocka_unit_test(test_layering_replaces_value_and_location),
        cmocka_unit_test(test_layering_adds_groups_and_keys),
        cmocka_unit_test(test_layering_list_replaced_not_appended),
        cmocka_unit_test(test_duplicate_group_in_one_file_merges),
        cmocka_unit_test(test_error_header_missing_bracket),
        cmocka_unit_test(test_error_header_malformed),
        cmocka_unit_test(test_error_no_equals),
        cmocka_unit_test(test_error_missing_key),
        cmocka_unit_test(test_error_key_outside_group),
        cmocka_unit_test(test_error_nul_byte),
        cmocka_unit_test(test_errors_each_reported_with_line),
        cmocka_unit_test(test_error_lines_are_per_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
