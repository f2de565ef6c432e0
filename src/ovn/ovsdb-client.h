/* ovsdb-client.h - an RFC 7047 client: one connection, one request at a
 * time (transact), over unix:, tcp: or ssl: (GIO; TLS with this host's key
 * and certificate, the server checked against a CA file, as ovn-nbctl
 * does: by chain, not by name).  Answers the server's echo requests while
 * it waits.  Errors are CN_OVSDB_ERROR, naming the remote. */
#pragma once

#include "ovsdb-json.h"
#include "ovsdb-remote.h"

typedef struct {
    const char *private_key, *certificate, *ca_certificate; /* ssl: files */
    guint timeout_seconds;                                   /* connect and each read; 0: 30 */
    const char *label; /* errors name the server so (static); NULL: "northbound database" */
} CnOvsdbTls;

typedef struct CnOvsdbClient CnOvsdbClient;

/* TEXT: a remote as cn_ovsdb_remote_parse takes it. */
CnOvsdbClient *cn_ovsdb_connect(const char *text, const CnOvsdbTls *tls, GError **error);
void cn_ovsdb_close(CnOvsdbClient *client);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CnOvsdbClient, cn_ovsdb_close)

const char *cn_ovsdb_client_remote(const CnOvsdbClient *client);

/* Sends one transact of OPS (JsonNode* operations, not taken) on DB; the
 * results, one per operation, when every operation succeeded.  A failed
 * operation is CN_OVSDB_ERROR_REFUSED with the server's error and details,
 * CN_OVSDB_ERROR_CONFLICT for a wait that failed. */
JsonArray *cn_ovsdb_transact(CnOvsdbClient *client, const char *db, GPtrArray *ops, GError **error);

/* The request text of a transact (for --dry-run and the goldens). */
JsonNode *cn_ovsdb_transact_request(const char *db, GPtrArray *ops, gint64 id);

/* A reply to request ID: its results, or the error it carries (as
 * cn_ovsdb_transact).  Exposed for tests and the fuzz target. */
JsonArray *cn_ovsdb_parse_transact_reply(JsonNode *reply, guint n_ops, GError **error);
