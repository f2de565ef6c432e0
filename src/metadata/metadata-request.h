/* metadata-request.h - what the built-in metadata handler answers a
 * request with, decided apart from HTTP: the server (metadata-server.c)
 * collects the method, path, the headers below and the guest it has
 * identified, and sends what comes back.  Pure, but for the outbound
 * address read through the snapshot.
 *
 *   - methods GET and HEAD, and PUT on /latest/api/token only (405, with
 *     Allow, otherwise);
 *   - any request carrying X-Forwarded-For: 403 (a proxy in the guest is
 *     relaying someone else's request);
 *   - an unknown guest: 403;
 *   - PUT /latest/api/token: 400 without a valid
 *     X-aws-ec2-metadata-token-ttl-seconds (1-21600), else the token
 *     (metadata-token.h), sent with IP TTL = the link's metadata.hop_limit;
 *   - a read with X-aws-ec2-metadata-token: 401 unless it is valid for the
 *     calling link; without one: 401 when the link's metadata.tokens is
 *     required;
 *   - then the document (metadata-docs.h), or 404.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "metadata-snapshot.h"
#include "metadata-token.h"

#define CN_METADATA_TOKEN_PATH "/latest/api/token"
#define CN_METADATA_TOKEN_HEADER "X-aws-ec2-metadata-token"
#define CN_METADATA_TOKEN_TTL_HEADER "X-aws-ec2-metadata-token-ttl-seconds"

typedef struct {
    const char *method;
    const char *path;
    const char *token;     /* X-aws-ec2-metadata-token; NULL: none */
    const char *token_ttl; /* X-aws-ec2-metadata-token-ttl-seconds; NULL: none */
    gboolean forwarded;    /* X-Forwarded-For present */
    const CnLink *link;    /* the calling guest; NULL: nobody known */
    uint32_t address;      /* its source address */
    gint64 now;            /* Unix time */
} CnMetadataRequest;

typedef struct {
    guint status;
    GBytes *body;             /* NULL: "STATUS REASON" as text */
    const char *content_type; /* with BODY */
    char *token_ttl;          /* X-aws-ec2-metadata-token-ttl-seconds to send; NULL: none */
    guint ip_ttl;             /* send with this IP TTL; 0: the system's */
    const char *allow;        /* 405: the methods allowed */
    const char *refusal;      /* 400/401/403: why, for the log and the events; NULL otherwise */
} CnMetadataReply;

void cn_metadata_reply_clear(CnMetadataReply *reply);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(CnMetadataReply, cn_metadata_reply_clear)

void cn_metadata_reply(const CnMetadataSnapshot *snapshot, const CnMetadataTokenKey *key,
                       const CnMetadataRequest *request, CnMetadataReply *reply);
