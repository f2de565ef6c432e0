/* fuzz-metadata-request.c - libFuzzer target: what a guest controls in a
 * request to the built-in metadata handler besides the bytes of HTTP
 * (fuzz-metadata-http covers those): the method, the path, the token and
 * TTL headers and X-Forwarded-For, through the request decisions
 * (metadata-request.c), for a guest whose tokens are optional and one whose
 * tokens are required.  The input is lines: METHOD, PATH, TOKEN, TTL,
 * FORWARDED ("" = no header; a line "-" = absent).  Checks beyond crashes:
 * a guest gets 200 only with a valid token or none when optional; a token
 * comes only from PUT /latest/api/token with a TTL in 1-21600, with the
 * hop limit as its IP TTL, and checks out for that link; nothing is
 * answered through X-Forwarded-For; refusals carry no body. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "defs.h"
#include "metadata-request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char DEFS[] = "[network md]\nv4.network = 10.63.0.0/24\nmetadata = true\nmetadata.handler = 8000\n"
                           "[link m1 eth0]\nnet = md\nv4.address = 10.63.0.11\n"
                           "[machine m2]\nmetadata.tokens = required\nmetadata.hop_limit = 2\n"
                           "[link m2 eth0]\nnet = md\nv4.address = 10.63.0.12\n";

#define NOW 1700000000

static CnMetadataSnapshot *snapshot(void)
{
    static CnMetadataSnapshot *made;
    if (!made) {
        g_autoptr(CnRawDefs) raw = cn_raw_defs_new();
        g_autoptr(CnDiagList) diags = cn_diag_list_new();
        cn_raw_defs_parse(raw, "fuzz.conf", DEFS, strlen(DEFS), diags);
        CnSite *site = cn_defs_build(raw, diags);
        cn_alloc_macs(site);
        cn_defs_validate(site, diags);
        if (diags->items->len)
            abort();
        g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);
        made = cn_metadata_snapshot_new(site, "/nonexistent", "/nonexistent", warnings);
    }
    return made;
}

static const char *field(char **lines, guint n, guint i)
{
    if (i >= n || strcmp(lines[i], "-") == 0)
        return NULL;
    return lines[i];
}

static void check(const CnMetadataTokenKey *key, const CnMetadataRequest *request)
{
    g_auto(CnMetadataReply) reply = { 0 };
    cn_metadata_reply(snapshot(), key, request, &reply);
    gboolean token_path = strcmp(request->path, CN_METADATA_TOKEN_PATH) == 0;
    gboolean put = strcmp(request->method, "PUT") == 0;
    if (reply.status != 200 && reply.status != 404 && reply.body)
        abort(); /* a refusal with a document */
    if (reply.status == 200 && request->forwarded)
        abort();
    if (reply.token_ttl || reply.ip_ttl) {
        guint ttl;
        if (!token_path || !put || reply.status != 200 || !cn_metadata_token_ttl_parse(request->token_ttl, &ttl) ||
            reply.ip_ttl != cn_link_metadata_hop_limit(request->link))
            abort();
        g_autofree char *token = g_strndup(g_bytes_get_data(reply.body, NULL), g_bytes_get_size(reply.body));
        if (cn_metadata_token_check(key, request->link, token, NOW) != CN_TOKEN_VALID ||
            cn_metadata_token_check(key, request->link, token, NOW + ttl) != CN_TOKEN_EXPIRED)
            abort();
        return;
    }
    if (reply.status == 200) {
        if (token_path)
            abort();
        gboolean valid = request->token &&
                         cn_metadata_token_check(key, request->link, request->token, NOW) == CN_TOKEN_VALID;
        if (request->token ? !valid : cn_link_metadata_tokens(request->link) == CN_TOKENS_REQUIRED)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const CnMetadataTokenKey key = { { 7, 1, 2, 3 } };
    g_autofree char *text = g_strndup((const char *)data, size);
    g_auto(GStrv) lines = g_strsplit(text, "\n", 6);
    guint n = g_strv_length(lines);
    const CnSite *site = cn_metadata_snapshot_site(snapshot());
    for (guint i = 0; i < site->links->len; i++) {
        const CnLink *link = site->links->pdata[i];
        /* "T" as the token: a valid one for this link. */
        g_autofree char *valid = cn_metadata_token_issue(&key, link, NOW, 60);
        const char *token = field(lines, n, 2);
        CnMetadataRequest request = {
            .method = field(lines, n, 0) ? field(lines, n, 0) : "GET",
            .path = field(lines, n, 1) ? field(lines, n, 1) : "/",
            .token = token && strcmp(token, "T") == 0 ? valid : token,
            .token_ttl = field(lines, n, 3),
            .forwarded = field(lines, n, 4) != NULL,
            .link = link,
            .address = link->v4_address,
            .now = NOW,
        };
        check(&key, &request);
    }
    return 0;
}
