/* metadata-token.h - IMDSv2 session tokens, stateless.
 *
 * A guest asks PUT /latest/api/token with
 * "X-aws-ec2-metadata-token-ttl-seconds: N" (1-21600) and sends the token
 * back in "X-aws-ec2-metadata-token" on its reads.  Nothing is stored per
 * token: a token is
 *
 *     "v1." EXPIRY "." base64url(HMAC-SHA256(KEY, binding))
 *
 * where EXPIRY is the Unix time it stops being valid and the binding
 * names the link it was issued to: its machine, interface, network and
 * MAC.  A token is valid only from the same link (the server knows the
 * caller by its pinned source address, never by the token), before its
 * expiry, and under the KEY it was made with.  The key is a secret of 32
 * random bytes in the run directory (tmpfs: one per host boot), so a
 * restarted server accepts the tokens it gave before, and a host reboot
 * ends them all.  Pure functions; cn_metadata_token_key_load reads or makes
 * the key.
 */
#pragma once

#include <glib.h>

#include "model.h"

#define CN_METADATA_TOKEN_KEY_BYTES 32
#define CN_METADATA_TOKEN_TTL_MAX 21600
#define CN_METADATA_TOKEN_KEY_FILE "metadata-token.key"

typedef struct {
    guint8 bytes[CN_METADATA_TOKEN_KEY_BYTES];
} CnMetadataTokenKey;

typedef enum {
    CN_TOKEN_VALID,
    CN_TOKEN_EXPIRED,
    CN_TOKEN_INVALID, /* malformed, another link's, or another key's */
} CnTokenVerdict;

/* The TTL header's value: decimal 1-CN_METADATA_TOKEN_TTL_MAX, nothing
 * else (no sign, no spaces, no leading zeros beyond "0" itself). */
gboolean cn_metadata_token_ttl_parse(const char *text, guint *ttl);
/* A token for LINK valid for TTL seconds from NOW (Unix time). */
char *cn_metadata_token_issue(const CnMetadataTokenKey *key, const CnLink *link, gint64 now, guint ttl);
CnTokenVerdict cn_metadata_token_check(const CnMetadataTokenKey *key, const CnLink *link, const char *token,
                                       gint64 now);

/* RUN_DIR/metadata-token.key: read, or made (mode 0600) when missing. */
gboolean cn_metadata_token_key_load(const char *run_dir, CnMetadataTokenKey *key, GError **error);
