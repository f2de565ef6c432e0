/* metadata-server.h - the built-in metadata handler's HTTP side (libsoup 3).
 *
 * Connections are accepted in a GSocketService of our own and handed to a
 * SoupServer with soup_server_accept_iostream, because libsoup 3.2 has no
 * connection cap or idle timeout: here every connection counts against a
 * total and a per-guest cap (excess ones are closed at once), must finish
 * each request within a time limit counted from its accept or from its
 * previous response (idle keep-alive and slow senders alike are cut off),
 * and may send at most a fixed number of bytes per request (request line,
 * headers and any body).  One request per connection ("Connection:
 * close": libsoup 3.2 keeps connections alive only when it accepted them
 * itself), so no guest holds idle connections.  What each request gets is
 * decided in metadata-request.h (methods, tokens, X-Forwarded-For, unknown
 * guests); the documents come from metadata-docs.h.
 *
 * What the server answers with is a snapshot of the definitions and the
 * machines' metadata directories; a new one replaces it (SIGHUP) without
 * touching open connections.
 */
#pragma once

#include <gio/gio.h>
#include <glib.h>
#include <stdint.h>

#include "metadata-snapshot.h"
#include "metadata-token.h"

typedef struct {
    guint max_connections;   /* all guests together */
    guint max_per_guest;     /* per source address */
    guint timeout_seconds;   /* per request, from accept or the previous response */
    gsize max_request_bytes; /* request line, headers and body */
    guint log_burst;         /* log lines per source address per 10 s */
} CnMetadataLimits;

#define CN_METADATA_LIMITS_DEFAULT { 256, 8, 10, 16384, 20 }

typedef struct CnMetadataServer CnMetadataServer;
/* Takes SNAPSHOT; TOKEN_KEY signs and checks IMDSv2 tokens
 * (metadata-token.h). */
CnMetadataServer *cn_metadata_server_new(const CnMetadataLimits *limits, const CnMetadataTokenKey *token_key,
                                         CnMetadataSnapshot *snapshot);
void cn_metadata_server_free(CnMetadataServer *server);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CnMetadataServer, cn_metadata_server_free)
/* Listens on HOST:PORT, with IP_FREEBIND: the address may come later
 * (libvirt makes the bridge when the network starts). */
gboolean cn_metadata_server_listen(CnMetadataServer *server, uint32_t host, uint16_t port, GError **error);
/* Also listens on the UNIX socket PATH (made owner-only; it must not
 * exist) for MACHINE's user-mode guest: a connection there is MACHINE's,
 * by construction.  forget_unix: connections there are nobody's from now
 * on (the caller removes the file). */
gboolean cn_metadata_server_listen_unix(CnMetadataServer *server, const char *path, const char *machine,
                                        GError **error);
void cn_metadata_server_forget_unix(CnMetadataServer *server, const char *path);
/* Serves one accepted connection, as for one from a listener (the fuzz
 * target hands it socket pairs). */
void cn_metadata_server_take(CnMetadataServer *server, GSocketConnection *connection);
/* Takes SNAPSHOT; requests from now on are answered from it, and held
 * long-polls whose answer changed are answered now. */
void cn_metadata_server_set_snapshot(CnMetadataServer *server, CnMetadataSnapshot *snapshot);
/* Connections open now. */
/* Whether OVN pins SOURCE to LINK's port now (asked for each request). */
typedef gboolean (*CnMetadataOvnVerify)(const CnLink *link, uint32_t source, gpointer data);
/* Serves the guests of OVN network NETWORK only: a request from SOURCE is
 * LINK's when SOURCE is LINK's address and VERIFY says OVN's port
 * security pins it to LINK's port; every other link is nobody here. */
void cn_metadata_server_set_ovn_network(CnMetadataServer *server, const char *network, CnMetadataOvnVerify verify,
                                        gpointer data);
guint cn_metadata_server_connections(const CnMetadataServer *server);
/* Long-polls held now. */
guint cn_metadata_server_waiting(const CnMetadataServer *server);

/* A guest refused (401, 403, 400 for a token request, or a connection
 * over the caps), as the metadata-refused event says it; at most
 * CN_METADATA_REFUSAL_BURST per source address per 10 s. */
#define CN_METADATA_REFUSAL_BURST 3
typedef struct {
    const char *address;  /* the source address */
    const CnLink *link;   /* the guest; NULL: nobody known */
    const char *method;   /* escaped as in the log; NULL: no request read */
    const char *path;
    guint status;         /* 0: no request read */
    const char *reason;
    guint suppressed;     /* refusals of this source not reported since its last report */
} CnMetadataRefusal;
typedef void (*CnMetadataRefusalFunc)(const CnMetadataRefusal *refusal, gpointer data);
void cn_metadata_server_set_refusal_handler(CnMetadataServer *server, CnMetadataRefusalFunc func, gpointer data);
