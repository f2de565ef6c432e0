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
    memset(reply, 0, sizeof *reply);
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
                                    &reply->content_type) == CN_METADATA_FOUND)
        reply->status = STATUS_OK;
    else
        reply->status = STATUS_NOT_FOUND;
}
