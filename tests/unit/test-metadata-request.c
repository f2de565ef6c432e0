/* test-metadata-request.c - IMDSv2 tokens (metadata-token.c) and what the
 * built-in metadata handler answers each request with (metadata-request.c):
 * methods, X-Forwarded-For, unknown guests, token issue and checks under
 * metadata.tokens = optional|required, the token reply's hop limit; the keys'
 * rules in the definitions; the signed instance identity document
 * (metadata-docs.c, metadata-signer.c), its signature checked against one
 * made apart with openssl for a fixed key. */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "defs-fixture.h"
#include "metadata-request.h"
#include "metadata-signer.h"
#include "render.h"

static const char *const DEFS =
    "[network md]\n"
    "v4.network = 10.63.0.0/24\n"
    "metadata = true\n"
    "metadata.handler = 8000\n"
    "[machine m1]\n"
    "[link m1 eth0]\n"
    "net = md\n"
    "v4.address = 10.63.0.11\n"
    "mac = 52:54:00:00:00:11\n"
    "[machine strict]\n"
    "metadata.tokens = required\n"
    "metadata.hop_limit = 3\n"
    "[link strict eth0]\n"
    "net = md\n"
    "v4.address = 10.63.0.12\n"
    "[network tight]\n"
    "v4.network = 10.66.0.0/24\n"
    "metadata = true\n"
    "metadata.handler = 8000\n"
    "metadata.tokens = required\n"
    "metadata.hop_limit = 2\n"
    "[link t1 eth0]\n"
    "net = tight\n"
    "v4.address = 10.66.0.11\n"
    "[machine loose]\n"
    "metadata.tokens = optional\n"
    "[link loose eth0]\n"
    "net = tight\n"
    "v4.address = 10.66.0.12\n";

#define NOW 1700000000

typedef struct {
    CnMetadataSnapshot *snapshot;
    CnMetadataTokenKey key;
} Fixture;

static int setup(void **state)
{
    Fixture *fixture = g_new0(Fixture, 1);
    g_autoptr(CnDiagList) diags = NULL;
    CnSite *site = defs_parse(DEFS, &diags);
    if (diags->items->len) {
        diags_dump(diags);
        cn_site_free(site);
        g_free(fixture);
        return -1;
    }
    g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);
    fixture->snapshot = cn_metadata_snapshot_new(site, "/nonexistent", "/nonexistent", warnings);
    for (guint i = 0; i < CN_METADATA_TOKEN_KEY_BYTES; i++)
        fixture->key.bytes[i] = (guint8)i;
    *state = fixture;
    return 0;
}

static int teardown(void **state)
{
    Fixture *fixture = *state;
    cn_metadata_snapshot_unref(fixture->snapshot);
    g_free(fixture);
    return 0;
}

static const CnLink *link_of(Fixture *fixture, const char *machine)
{
    const CnLink *link = cn_site_find_link(cn_metadata_snapshot_site(fixture->snapshot), machine, "eth0");
    assert_non_null(link);
    return link;
}

static void test_ttl_header(void **state)
{
    guint ttl = 0;
    assert_true(cn_metadata_token_ttl_parse("1", &ttl));
    assert_int_equal(ttl, 1);
    assert_true(cn_metadata_token_ttl_parse("21600", &ttl));
    assert_int_equal(ttl, 21600);
    static const char *const bad[] = { "0", "21601", "", "+5", " 5", "5 ", "05", "1e3", "-1", "99999999999", "6o" };
    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        if (cn_metadata_token_ttl_parse(bad[i], &ttl))
            fail_msg("TTL '%s' taken", bad[i]);
    }
    assert_false(cn_metadata_token_ttl_parse(NULL, &ttl));
}

/* The token's format is a contract with tokens already in guests' hands
 * (a restarted server must accept them): computed apart, with Python's
 * hmac, from the binding metadata-token.h documents. */
static void test_token_golden(void **state)
{
    Fixture *fixture = *state;
    g_autofree char *token = cn_metadata_token_issue(&fixture->key, link_of(fixture, "m1"), NOW, 60);
    assert_string_equal(token, "v1.1700000060.6VzvuTFawrxtkq8yNq6P9c8SYfxXnppX-ewlll3cQDQ");
}

static void test_token_checks(void **state)
{
    Fixture *fixture = *state;
    const CnLink *m1 = link_of(fixture, "m1"), *strict = link_of(fixture, "strict");
    g_autofree char *token = cn_metadata_token_issue(&fixture->key, m1, NOW, 60);
    assert_int_equal(cn_metadata_token_check(&fixture->key, m1, token, NOW), CN_TOKEN_VALID);
    assert_int_equal(cn_metadata_token_check(&fixture->key, m1, token, NOW + 59), CN_TOKEN_VALID);
    assert_int_equal(cn_metadata_token_check(&fixture->key, m1, token, NOW + 60), CN_TOKEN_EXPIRED);
    /* Another link's, another key's. */
    assert_int_equal(cn_metadata_token_check(&fixture->key, strict, token, NOW), CN_TOKEN_INVALID);
    CnMetadataTokenKey other = fixture->key;
    other.bytes[31] ^= 1;
    assert_int_equal(cn_metadata_token_check(&other, m1, token, NOW), CN_TOKEN_INVALID);
    /* A later expiry written over the signed one. */
    g_autofree char *stretched = g_strdup(token);
    stretched[3] = '2';
    assert_int_equal(cn_metadata_token_check(&fixture->key, m1, stretched, NOW), CN_TOKEN_INVALID);
    /* Every single-character change of the signature. */
    for (gsize i = strlen("v1.1700000060."); token[i]; i++) {
        g_autofree char *changed = g_strdup(token);
        changed[i] = changed[i] == 'A' ? 'B' : 'A';
        assert_int_equal(cn_metadata_token_check(&fixture->key, m1, changed, NOW), CN_TOKEN_INVALID);
    }
    static const char *const malformed[] = {
        "", "v1.", "v1..", "v2.1700000060.x", "v1.01700000060.x", "v1.17000x0060.x", "v1.1700000060",
        "v1.1700000060.", "v1.9999999999999.x",
    };
    for (gsize i = 0; i < G_N_ELEMENTS(malformed); i++)
        assert_int_equal(cn_metadata_token_check(&fixture->key, m1, malformed[i], NOW), CN_TOKEN_INVALID);
    g_autofree char *long_token = g_strnfill(4096, 'A');
    assert_int_equal(cn_metadata_token_check(&fixture->key, m1, long_token, NOW), CN_TOKEN_INVALID);
    assert_int_equal(cn_metadata_token_check(&fixture->key, m1, NULL, NOW), CN_TOKEN_INVALID);
}

static void reply_to(Fixture *fixture, const CnMetadataRequest *request, CnMetadataReply *reply)
{
    cn_metadata_reply(fixture->snapshot, &fixture->key, request, reply);
}

static void test_token_request(void **state)
{
    Fixture *fixture = *state;
    const CnLink *m1 = link_of(fixture, "m1");
    CnMetadataRequest request = { .method = "PUT", .path = "/latest/api/token", .link = m1,
                                  .address = m1->v4_address, .now = NOW };
    g_auto(CnMetadataReply) reply = { 0 };
    reply_to(fixture, &request, &reply);
    assert_int_equal(reply.status, 400);
    assert_string_equal(reply.refusal, "token request without X-aws-ec2-metadata-token-ttl-seconds");
    cn_metadata_reply_clear(&reply);

    request.token_ttl = "21601";
    reply_to(fixture, &request, &reply);
    assert_int_equal(reply.status, 400);
    assert_null(reply.body);
    cn_metadata_reply_clear(&reply);

    request.token_ttl = "60";
    reply_to(fixture, &request, &reply);
    assert_int_equal(reply.status, 200);
    assert_string_equal(reply.token_ttl, "60");
    assert_int_equal(reply.ip_ttl, 1); /* EC2's default hop limit */
    g_autofree char *token = g_strndup(g_bytes_get_data(reply.body, NULL), g_bytes_get_size(reply.body));
    assert_string_equal(token, "v1.1700000060.6VzvuTFawrxtkq8yNq6P9c8SYfxXnppX-ewlll3cQDQ");
    cn_metadata_reply_clear(&reply);

    /* The machine's hop limit, else the network's. */
    const CnLink *strict = link_of(fixture, "strict"), *t1 = link_of(fixture, "t1");
    request.link = strict;
    reply_to(fixture, &request, &reply);
    assert_int_equal(reply.ip_ttl, 3);
    cn_metadata_reply_clear(&reply);
    request.link = t1;
    reply_to(fixture, &request, &reply);
    assert_int_equal(reply.ip_ttl, 2);
    cn_metadata_reply_clear(&reply);

    /* Through a proxy: refused, token or not. */
    request.forwarded = TRUE;
    reply_to(fixture, &request, &reply);
    assert_int_equal(reply.status, 403);
    assert_string_equal(reply.refusal, "X-Forwarded-For");
    assert_null(reply.body);
}

static void test_methods(void **state)
{
    Fixture *fixture = *state;
    const CnLink *m1 = link_of(fixture, "m1");
    static const struct {
        const char *method, *path;
        guint status;
        const char *allow;
    } cases[] = {
        { "GET", "/latest/api/token", 405, "PUT" },
        { "HEAD", "/latest/api/token", 405, "PUT" },
        { "POST", "/latest/api/token", 405, "PUT" },
        { "PUT", "/latest/meta-data/", 405, "GET, HEAD" },
        { "PUT", "/latest/api/token/", 405, "GET, HEAD" },
        { "DELETE", "/meta-data", 405, "GET, HEAD" },
        { "GET", "/meta-data", 200, NULL },
        { "HEAD", "/latest/meta-data/mac", 200, NULL },
        { "GET", "/latest/api/", 404, NULL },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        CnMetadataRequest request = { .method = cases[i].method, .path = cases[i].path, .link = m1,
                                      .address = m1->v4_address, .now = NOW, .token_ttl = "60" };
        g_auto(CnMetadataReply) reply = { 0 };
        reply_to(fixture, &request, &reply);
        if (reply.status != cases[i].status || g_strcmp0(reply.allow, cases[i].allow) != 0)
            fail_msg("%s %s: %u (Allow %s), expected %u (Allow %s)", cases[i].method, cases[i].path, reply.status,
                     reply.allow, cases[i].status, cases[i].allow);
    }
}

static void test_unknown_guest(void **state)
{
    Fixture *fixture = *state;
    CnMetadataRequest request = { .method = "PUT", .path = "/latest/api/token", .token_ttl = "60",
                                  .address = 0x0a3f0063, .now = NOW };
    g_auto(CnMetadataReply) reply = { 0 };
    reply_to(fixture, &request, &reply);
    assert_int_equal(reply.status, 403);
    assert_null(reply.body);
    cn_metadata_reply_clear(&reply);
    request.method = "GET";
    request.path = "/meta-data";
    reply_to(fixture, &request, &reply);
    assert_int_equal(reply.status, 403);
}

static void assert_read(Fixture *fixture, const char *machine, const char *token, guint status, const char *refusal)
{
    const CnLink *link = link_of(fixture, machine);
    CnMetadataRequest request = { .method = "GET", .path = "/latest/meta-data/instance-id", .token = token,
                                  .link = link, .address = link->v4_address, .now = NOW };
    g_auto(CnMetadataReply) reply = { 0 };
    reply_to(fixture, &request, &reply);
    if (reply.status != status || g_strcmp0(reply.refusal, refusal) != 0)
        fail_msg("%s with token %s: %u (%s), expected %u (%s)", machine, token, reply.status, reply.refusal, status,
                 refusal);
    if (status == 200) {
        g_autofree char *expected = g_strconcat(machine, "\n", NULL);
        g_autofree char *body = g_strndup(g_bytes_get_data(reply.body, NULL), g_bytes_get_size(reply.body));
        assert_string_equal(body, expected);
    } else {
        assert_null(reply.body);
    }
}

static void test_reads_optional_and_required(void **state)
{
    Fixture *fixture = *state;
    g_autofree char *m1_token = cn_metadata_token_issue(&fixture->key, link_of(fixture, "m1"), NOW, 60);
    g_autofree char *old_token = cn_metadata_token_issue(&fixture->key, link_of(fixture, "m1"), NOW - 61, 60);
    g_autofree char *strict_token = cn_metadata_token_issue(&fixture->key, link_of(fixture, "strict"), NOW, 60);
    g_autofree char *t1_token = cn_metadata_token_issue(&fixture->key, link_of(fixture, "t1"), NOW, 60);
    /* Optional (the default): without a token, or with a valid one. */
    assert_read(fixture, "m1", NULL, 200, NULL);
    assert_read(fixture, "m1", m1_token, 200, NULL);
    /* ... but a bad one is refused, as EC2 does. */
    assert_read(fixture, "m1", old_token, 401, "expired token");
    assert_read(fixture, "m1", strict_token, 401, "invalid token");
    assert_read(fixture, "m1", "nonsense", 401, "invalid token");
    /* Required on the machine, or on the network. */
    assert_read(fixture, "strict", NULL, 401, "read without a token (required)");
    assert_read(fixture, "strict", strict_token, 200, NULL);
    assert_read(fixture, "strict", m1_token, 401, "invalid token");
    assert_read(fixture, "t1", NULL, 401, "read without a token (required)");
    assert_read(fixture, "t1", t1_token, 200, NULL);
    /* A machine's optional over its network's required. */
    assert_read(fixture, "loose", NULL, 200, NULL);
}

static void test_keys_rules(void **state)
{
    static const char *const text =
        "[network br]\n"
        "technology = bridge\n"
        "bridge_name = br0\n"
        "metadata.tokens = required\n"
        "[network md]\n"
        "v4.network = 10.63.0.0/24\n"
        "metadata = true\n"
        "metadata.handler = 8000\n"
        "metadata.tokens = sometimes\n"
        "metadata.hop_limit = 65\n"
        "[machine m1]\n"
        "metadata.tokens = required\n"
        "metadata.hop_limit = 2\n"
        "[link m1 eth0]\n"
        "net = br\n";
    g_autoptr(CnDiagList) diags = NULL;
    g_autoptr(CnSite) site = defs_parse(text, &diags);
    assert_diag(diags, FIXTURE_FILE, line_of(text, "metadata.tokens = required"), "network br", "metadata.tokens",
                "applies only to technology = libvirt");
    assert_diag(diags, FIXTURE_FILE, line_of(text, "sometimes"), "network md", "metadata.tokens",
                "'sometimes' is not one of optional, required");
    assert_diag(diags, FIXTURE_FILE, line_of(text, "= 65"), "network md", "metadata.hop_limit",
                "is not an integer in 1-64");
    assert_diag(diags, FIXTURE_FILE, line_of_nth(text, "metadata.tokens = required", 2), "machine m1",
                "metadata.tokens", "has no effect: no link of this machine joins a network with metadata = true");
    assert_diag(diags, FIXTURE_FILE, line_of(text, "hop_limit = 2"), "machine m1", "metadata.hop_limit",
                "has no effect");
    assert_diag_count(diags, 5);
}

/* A key for these tests only (openssl genpkey -algorithm ed25519). */
static const char TEST_KEY[] = "-----BEGIN PRIVATE KEY-----\n"
                               "MC4CAQAwBQYDK2VwBCIEINa2oT8kQ21xgDEX+fikjEZ0wP/tl9GEds1ocE13Eryx\n"
                               "-----END PRIVATE KEY-----\n";
/* openssl pkey -pubin -in PUB -outform DER | sha256sum */
#define TEST_KEY_ID "sha256:58c1d5c52785b22a33fb6d5fa4b50afa6d0cbf61c015dc5f3a4b48577c511119"
#define TEST_DOCUMENT                                                                                              \
    "{\"version\":\"carthage-net/1\",\"instanceId\":\"m1\",\"machine\":\"m1\",\"interface\":\"eth0\",\"network\":\"md\","  \
    "\"mac\":\"52:54:00:00:00:11\",\"privateIp\":\"10.63.0.11\",\"publicIp\":null,\"hypervisor\":\"hv1.example\","       \
    "\"keyId\":\"" TEST_KEY_ID "\"}"
/* openssl pkeyutl -sign -inkey KEY -rawin -in DOCUMENT | base64 */
#define TEST_SIGNATURE "7e9TQ+AsNAn29BofSASoZuiJMnlThwgh/brhqJLioptiCaxsOLkqlxBIMipJezy5k/iNHPJ531KtxecUIR6IBA==\n"

static char *write_key(const char *dir, const char *text, mode_t mode)
{
    char *path = g_build_filename(dir, "identity.key", NULL);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    fchmod(fd, mode);
    close(fd);
    return path;
}

static char *body_text(const CnMetadataReply *reply)
{
    return g_strndup(g_bytes_get_data(reply->body, NULL), g_bytes_get_size(reply->body));
}

static void test_identity_document_and_signature(void **state)
{
    Fixture *fixture = *state;
    g_autofree char *dir = g_dir_make_tmp("cn-identity-XXXXXX", NULL);
    g_autofree char *path = write_key(dir, TEST_KEY, 0600);
    g_autoptr(GError) error = NULL;
    g_autoptr(CnMetadataSigner) signer = cn_metadata_signer_load(path, &error);
    assert_non_null(signer);
    assert_string_equal(cn_metadata_signer_key_id(signer), TEST_KEY_ID);
    assert_true(g_str_has_prefix(cn_metadata_signer_public_pem(signer), "-----BEGIN PUBLIC KEY-----\n"));

    /* Before: no identity key, no such documents, and /latest/ says so. */
    const CnLink *m1 = link_of(fixture, "m1");
    CnMetadataRequest request = { .method = "GET", .path = "/latest/dynamic/instance-identity/document",
                                  .link = m1, .address = m1->v4_address, .now = NOW };
    g_auto(CnMetadataReply) reply = { 0 };
    reply_to(fixture, &request, &reply);
    assert_int_equal(reply.status, 404);
    cn_metadata_reply_clear(&reply);

    cn_metadata_snapshot_set_identity(fixture->snapshot, "hv1.example", cn_metadata_signer_key_id(signer),
                                      cn_metadata_signer_sign, cn_metadata_signer_ref(signer),
                                      (GDestroyNotify)cn_metadata_signer_unref);
    reply_to(fixture, &request, &reply);
    assert_int_equal(reply.status, 200);
    assert_string_equal(reply.content_type, "application/json");
    g_autofree char *document = body_text(&reply);
    assert_string_equal(document, TEST_DOCUMENT);
    cn_metadata_reply_clear(&reply);

    request.path = "/latest/dynamic/instance-identity/signature";
    reply_to(fixture, &request, &reply);
    assert_int_equal(reply.status, 200);
    g_autofree char *signature = body_text(&reply);
    assert_string_equal(signature, TEST_SIGNATURE);
    cn_metadata_reply_clear(&reply);
    gsize length;
    g_autofree guchar *raw = g_base64_decode(signature, &length);
    g_autoptr(GBytes) raw_bytes = g_bytes_new(raw, length);
    g_autoptr(GBytes) document_bytes = g_bytes_new(document, strlen(document));
    assert_true(cn_metadata_signer_verify(signer, document_bytes, raw_bytes));
    /* One byte changed: not the document signed. */
    document[strlen("{\"version\":\"carthage-net/1\",\"instanceId\":\"m")] = '2';
    g_autoptr(GBytes) forged = g_bytes_new(document, strlen(document));
    assert_false(cn_metadata_signer_verify(signer, forged, raw_bytes));

    static const struct {
        const char *path, *body;
    } listings[] = {
        { "/latest/", "dynamic/\nmeta-data/\nuser-data\n" },
        { "/latest/dynamic/", "instance-identity/\n" },
        { "/latest/dynamic/instance-identity/", "document\nsignature\n" },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(listings); i++) {
        request.path = listings[i].path;
        reply_to(fixture, &request, &reply);
        g_autofree char *body = body_text(&reply);
        assert_string_equal(body, listings[i].body);
        cn_metadata_reply_clear(&reply);
    }
    /* Tokens still rule: strict's document needs one. */
    const CnLink *strict = link_of(fixture, "strict");
    request = (CnMetadataRequest){ .method = "GET", .path = "/latest/dynamic/instance-identity/document",
                                   .link = strict, .address = strict->v4_address, .now = NOW };
    reply_to(fixture, &request, &reply);
    assert_int_equal(reply.status, 401);
    unlink(path);
    rmdir(dir);
}

static void test_identity_key_problems(void **state)
{
    g_autofree char *dir = g_dir_make_tmp("cn-identity-XXXXXX", NULL);
    g_autofree char *missing = g_build_filename(dir, "none.key", NULL);
    g_autoptr(GError) error = NULL;
    assert_null(cn_metadata_signer_load(missing, &error));
    assert_true(g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT));
    g_clear_error(&error);

    g_autofree char *open_key = write_key(dir, TEST_KEY, 0644);
    assert_null(cn_metadata_signer_load(open_key, &error));
    assert_non_null(strstr(error->message, "readable or writable by others than its owner (chmod 600)"));
    g_clear_error(&error);
    unlink(open_key);

    g_autofree char *garbage = write_key(dir, "not a key\n", 0600);
    assert_null(cn_metadata_signer_load(garbage, &error));
    assert_non_null(strstr(error->message, "not a PEM private key"));
    g_clear_error(&error);
    unlink(garbage);

    /* keygen: made once, kept after, replaced with --rotate (the old one
     * kept beside it). */
    g_autofree char *made = g_build_filename(dir, "made.key", NULL);
    gboolean created;
    assert_true(cn_metadata_signer_generate(made, FALSE, &created, &error));
    assert_true(created);
    struct stat st;
    assert_int_equal(stat(made, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    g_autoptr(CnMetadataSigner) first = cn_metadata_signer_load(made, &error);
    assert_non_null(first);
    assert_true(cn_metadata_signer_generate(made, FALSE, &created, &error));
    assert_false(created);
    assert_true(cn_metadata_signer_generate(made, TRUE, &created, &error));
    assert_true(created);
    g_autoptr(CnMetadataSigner) second = cn_metadata_signer_load(made, &error);
    g_autofree char *previous_path = g_strconcat(made, ".previous", NULL);
    g_autoptr(CnMetadataSigner) previous = cn_metadata_signer_load(previous_path, &error);
    assert_non_null(second);
    assert_non_null(previous);
    assert_string_not_equal(cn_metadata_signer_key_id(first), cn_metadata_signer_key_id(second));
    assert_string_equal(cn_metadata_signer_key_id(first), cn_metadata_signer_key_id(previous));
    unlink(made);
    unlink(previous_path);
    rmdir(dir);
}

/* Long-poll parameters, and the ETag they compare with. */
static void test_wait_and_etag(void **state)
{
    Fixture *fixture = *state;
    g_autoptr(GHashTable) query = g_hash_table_new(g_str_hash, g_str_equal);
    g_auto(CnMetadataWait) wait = { 0 };
    assert_true(cn_metadata_wait_parse(NULL, "\"abc\"", &wait));
    assert_false(wait.asked); /* no wait=true: an answer at once */
    g_hash_table_insert(query, "wait", "true");
    assert_true(cn_metadata_wait_parse(query, "\"abc\"", &wait));
    assert_true(wait.asked);
    assert_string_equal(wait.etag, "\"abc\"");
    assert_int_equal(wait.seconds, CN_METADATA_WAIT_DEFAULT);
    cn_metadata_wait_clear(&wait);
    g_hash_table_insert(query, "last_etag", "0123");
    g_hash_table_insert(query, "timeout_sec", "600");
    assert_true(cn_metadata_wait_parse(query, "\"abc\"", &wait));
    assert_string_equal(wait.etag, "\"0123\""); /* GCE's, unquoted, wins */
    assert_int_equal(wait.seconds, 600);
    cn_metadata_wait_clear(&wait);
    static const char *const bad[] = { "0", "601", "-1", "1.5", "", "ten" };
    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_hash_table_insert(query, "timeout_sec", (gpointer)bad[i]);
        if (cn_metadata_wait_parse(query, NULL, &wait))
            fail_msg("timeout_sec=%s taken", bad[i]);
        cn_metadata_wait_clear(&wait);
    }
    g_hash_table_remove_all(query);
    g_hash_table_insert(query, "wait_for_change", "true");
    assert_true(cn_metadata_wait_parse(query, NULL, &wait));
    assert_true(wait.asked);
    assert_null(wait.etag);

    /* The ETag: the document's, stable, and another document's differs. */
    const CnLink *m1 = link_of(fixture, "m1");
    CnMetadataRequest request = { .method = "GET", .path = "/meta-data", .link = m1, .address = m1->v4_address,
                                  .now = NOW };
    g_auto(CnMetadataReply) first = { 0 }, again = { 0 }, other = { 0 }, token = { 0 };
    reply_to(fixture, &request, &first);
    reply_to(fixture, &request, &again);
    request.path = "/network-config";
    reply_to(fixture, &request, &other);
    assert_non_null(first.etag);
    assert_int_equal(strlen(first.etag), 18);
    assert_string_equal(first.etag, again.etag);
    assert_string_not_equal(first.etag, other.etag);
    request = (CnMetadataRequest){ .method = "PUT", .path = "/latest/api/token", .token_ttl = "60", .link = m1,
                                   .address = m1->v4_address, .now = NOW };
    reply_to(fixture, &request, &token);
    assert_null(token.etag); /* a token is not a document to watch */
}

/* The seed refuses what cannot go into XML or onto QEMU's command line,
 * and leaves the domain as it was then. */
static void test_seed_refusals(void **state)
{
    Fixture *fixture = *state;
    const CnMachine *m1 = cn_site_find_machine(cn_metadata_snapshot_site(fixture->snapshot), "m1");
    static const char base_text[] = "<domain type='qemu'><name>m1</name><os/><devices/></domain>";
    g_autoptr(xmlDoc) base = xmlReadMemory(base_text, sizeof base_text - 1, "base.xml", NULL, 0);
    g_autofree char *before = cn_xml_format(base);
    CnMetadataFiles files = { 0 };
    g_autoptr(GError) error = NULL;

    files.user_data = g_bytes_new_static("#cloud-config\n\x01\n", 16);
    assert_false(cn_render_domain_seed(base, m1, &files, &error));
    assert_non_null(strstr(error->message, "machine m1: its user-data is not text XML can carry"));
    g_bytes_unref(files.user_data);
    g_clear_error(&error);

    g_autofree char *big = g_strnfill(65537, 'a');
    files.user_data = g_bytes_new_static(big, 65537);
    assert_false(cn_render_domain_seed(base, m1, &files, &error));
    assert_non_null(strstr(error->message, "machine m1: its user-data is larger than 65536 bytes"));
    g_bytes_unref(files.user_data);
    g_autofree char *after = cn_xml_format(base);
    assert_string_equal(after, before);

    /* 64 KiB of text is fine; m1 has no tokens required: a seed URL. */
    files.user_data = g_bytes_new_static(big, 65536);
    assert_true(cn_render_domain_seed(base, m1, &files, NULL));
    g_bytes_unref(files.user_data);
    g_autofree char *seeded = cn_xml_format(base);
    assert_non_null(strstr(seeded, ">ds=nocloud-net;i=m1;h=m1;s=http://169.254.169.254/<"));
    /* strict requires tokens: no seed URL (cloud-init's NoCloud sends none). */
    const CnMachine *strict = cn_site_find_machine(cn_metadata_snapshot_site(fixture->snapshot), "strict");
    assert_true(cn_render_domain_seed(base, strict, NULL, NULL));
    g_autofree char *strict_seeded = cn_xml_format(base);
    assert_non_null(strstr(strict_seeded, ">ds=nocloud;i=strict;h=strict<"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ttl_header),
        cmocka_unit_test_setup_teardown(test_token_golden, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_methods, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_guest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reads_optional_and_required, setup, teardown),
        cmocka_unit_test(test_keys_rules),
        cmocka_unit_test_setup_teardown(test_identity_document_and_signature, setup, teardown),
        cmocka_unit_test(test_identity_key_problems),
        cmocka_unit_test_setup_teardown(test_wait_and_etag, setup, teardown),
        cmocka_unit_test_setup_teardown(test_seed_refusals, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
