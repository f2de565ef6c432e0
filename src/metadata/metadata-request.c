/* metadata-request.c - see metadata-request.h */
#include <string.h>

#include "metadata-request.h"

#define STATUS_OK 200
#define STATUS_BAD_REQUEST 400
#define STATUS_UNAUTHORIZED 401
#define STATUS_FORBIDDEN 403
#define STATUS_NOT_FOUND 404
#define STATUS_METHOD_NOT_ALLOWED 405

void cn_metadata_reply_clear(CnMetadataReply *reply)
{
    if (reply->body)
        g_bytes_unref(reply->body);
    g_free(reply->token_ttl);
    g_free(reply->etag);
    memset(reply, 0, sizeof *reply);
}

void cn_metadata_wait_clear(CnMetadataWait *wait)
{
    g_free(wait->etag);
    memset(wait, 0, sizeof *wait);
}

static gboolean query_true(GHashTable *query, const char *key)
{
    const char *value = query ? g_hash_table_lookup(query, key) : NULL;
    return value && (strcmp(value, "true") == 0 || strcmp(value, "1") == 0);
}

gboolean cn_metadata_wait_parse(GHashTable *query, const char *if_none_match, CnMetadataWait *wait)
{
    memset(wait, 0, sizeof *wait);
    wait->asked = query_true(query, "wait") || query_true(query, "wait_for_change");
    if (!wait->asked)
        return TRUE;
    wait->seconds = CN_METADATA_WAIT_DEFAULT;
    const char *timeout = g_hash_table_lookup(query, "timeout_sec");
    guint64 seconds;
    if (timeout && !g_ascii_string_to_unsigned(timeout, 10, 1, CN_METADATA_WAIT_MAX, &seconds, NULL))
        return FALSE;
    if (timeout)
        wait->seconds = (guint)seconds;
    /* GCE's last_etag has no quotes; If-None-Match has them. */
    const char *last = g_hash_table_lookup(query, "last_etag");
    if (last && *last)
        wait->etag = last[0] == '"' ? g_strdup(last) : g_strdup_printf("\"%s\"", last);
    else if (if_none_match && *if_none_match)
        wait->etag = g_strdup(if_none_match);
    return TRUE;
}

static char *etag_of(GBytes *body)
{
    g_autofree char *sum = g_compute_checksum_for_bytes(G_CHECKSUM_SHA256, body);
    return g_strdup_printf("\"%.16s\"", sum);
}

static void refuse(CnMetadataReply *reply, guint status, const char *why)
{
    reply->status = status;
    reply->refusal = why;
}

static void issue_token(const CnMetadataTokenKey *key, const CnMetadataRequest *request, CnMetadataReply *reply)
{
    guint ttl;
    if (!request->token_ttl) {
        refuse(reply, STATUS_BAD_REQUEST, "token request without " CN_METADATA_TOKEN_TTL_HEADER);
        return;
    }
    if (!cn_metadata_token_ttl_parse(request->token_ttl, &ttl)) {
        refuse(reply, STATUS_BAD_REQUEST, "token request with a TTL outside 1-21600");
        return;
    }
    char *token = cn_metadata_token_issue(key, request->link, request->now, ttl);
    reply->status = STATUS_OK;
    reply->body = g_bytes_new_take(token, strlen(token));
    reply->content_type = "text/plain; charset=utf-8";
    reply->token_ttl = g_strdup_printf("%u", ttl);
    reply->ip_ttl = cn_link_metadata_hop_limit(request->link);
}

/* NULL when the read may go on, else why not. */
static const char *token_refusal(const CnMetadataTokenKey *key, const CnMetadataRequest *request)
{
    if (!request->token)
        return cn_link_metadata_tokens(request->link) == CN_TOKENS_REQUIRED ? "read without a token (required)"
                                                                            : NULL;
    switch (cn_metadata_token_check(key, request->link, request->token, request->now)) {
    case CN_TOKEN_VALID:
        return NULL;
    case CN_TOKEN_EXPIRED:
        return "expired token";
    case CN_TOKEN_INVALID:
        break;
    }
    return "invalid token";
}

void cn_metadata_reply(const CnMetadataSnapshot *snapshot, const CnMetadataTokenKey *key,
                       const CnMetadataRequest *request, CnMetadataReply *reply)
{
    memset(reply, 0, sizeof *reply);
    const char *method = request->method;
    gboolean read = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    gboolean token_path = strcmp(request->path, CN_METADATA_TOKEN_PATH) == 0;
    if (token_path ? strcmp(method, "PUT") != 0 : !read) {
        reply->status = STATUS_METHOD_NOT_ALLOWED;
        reply->allow = token_path ? "PUT" : "GET, HEAD";
        return;
    }
    if (request->forwarded) {
        refuse(reply, STATUS_FORBIDDEN, "X-Forwarded-For");
        return;
    }
    if (!request->link) {
        reply->status = STATUS_FORBIDDEN; /* not a guest carthage-net knows here */
        return;
    }
    if (token_path) {
        issue_token(key, request, reply);
        return;
    }
    const char *why = token_refusal(key, request);
    if (why) {
        refuse(reply, STATUS_UNAUTHORIZED, why);
        return;
    }
    if (cn_metadata_snapshot_answer(snapshot, request->link, request->address, request->path, &reply->body,
                                    &reply->content_type) == CN_METADATA_FOUND) {
        reply->status = STATUS_OK;
        reply->etag = etag_of(reply->body);
    } else {
        reply->status = STATUS_NOT_FOUND;
    }
}
