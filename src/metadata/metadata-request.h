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
 *   - then the document (metadata-docs.h), with its ETag, or 404.
 *
 * Long-poll, for guests that watch for changes: a read with
 * "?wait=true" (or GCE's "?wait_for_change=true") and the ETag it has
 * ("last_etag=" or If-None-Match) is held until the answer differs (the
 * operator changed the machine's files or the definitions: a reload), or
 * "timeout_sec=" seconds (1-CN_METADATA_WAIT_MAX, default
 * CN_METADATA_WAIT_DEFAULT) pass: then 304 Not Modified.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "metadata-snapshot.h"
#include "metadata-token.h"

#define CN_METADATA_TOKEN_PATH "/latest/api/token"
#define CN_METADATA_TOKEN_HEADER "X-aws-ec2-metadata-token"
#define CN_METADATA_TOKEN_TTL_HEADER "X-aws-ec2-metadata-token-ttl-seconds"

#define CN_METADATA_WAIT_DEFAULT 60
#define CN_METADATA_WAIT_MAX 600
/* Long-polls one guest may have held at once (more: 429), and never all
 * of its --max-per-guest connections; all guests together at most half of
 * --max-connections. */
#define CN_METADATA_WAIT_PER_GUEST 2

/* A long-poll asked for: wait until the answer's ETag is no longer ETAG. */
typedef struct {
    gboolean asked;
    char *etag;      /* with its quotes; NULL: answer at once */
    guint seconds;
} CnMetadataWait;

void cn_metadata_wait_clear(CnMetadataWait *wait);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(CnMetadataWait, cn_metadata_wait_clear)
/* From the request's QUERY (may be NULL) and If-None-Match (may be
 * NULL); FALSE (400) when timeout_sec is not a number in range. */
gboolean cn_metadata_wait_parse(GHashTable *query, const char *if_none_match, CnMetadataWait *wait);

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
    char *etag;               /* a document's: "\"HEX\"" (SHA-256 of it, 16 digits); NULL otherwise */
} CnMetadataReply;

void cn_metadata_reply_clear(CnMetadataReply *reply);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(CnMetadataReply, cn_metadata_reply_clear)

void cn_metadata_reply(const CnMetadataSnapshot *snapshot, const CnMetadataTokenKey *key,
                       const CnMetadataRequest *request, CnMetadataReply *reply);
