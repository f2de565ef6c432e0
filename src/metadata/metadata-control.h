/* metadata-control.h - the root-only control socket of a running
 * carthage-net metadata serve: RUN_DIR/metadata.sock (metadata-ovn-NETWORK.sock
 * for an OVN network's end), a Unix stream socket of mode 0600 whose peer
 * must also be root (or the server's own user, by SO_PEERCRED).  One line
 * in, one line out:
 *
 *   reload   ->  "ok reloaded: N machine(s); C connection(s) open; L long-poll(s) answered"
 *                |  "error MESSAGE"
 *   ping     ->  "ok"
 *
 * `carthage-net metadata set` (new user-data and the like) and `metadata
 * reload` (after define changed handlers) use it so that a change takes
 * effect without a restart and the caller knows it did. */
#pragma once

#include <glib.h>

#define CN_METADATA_CONTROL_PREFIX "metadata"
#define CN_METADATA_CONTROL_SUFFIX ".sock"
/* The control socket of metadata serve --socket-dir (user-mode guests). */
#define CN_METADATA_CONTROL_USER CN_METADATA_CONTROL_PREFIX "-user" CN_METADATA_CONTROL_SUFFIX

/* COMMAND (one line, without its end) -> the reply line (newly allocated). */
typedef char *(*CnMetadataControlFunc)(const char *command, gpointer data);

typedef struct CnMetadataControl CnMetadataControl;
/* Listens at PATH; refused when another server answers there (a stale
 * socket file is replaced). */
CnMetadataControl *cn_metadata_control_new(const char *path, CnMetadataControlFunc func, gpointer data,
                                           GError **error);
/* Stops listening and removes the socket file. */
void cn_metadata_control_free(CnMetadataControl *control);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CnMetadataControl, cn_metadata_control_free)

/* The socket's name for the plain server, or (NETWORK) an OVN network's end. */
char *cn_metadata_control_name(const char *ovn_network);
/* Sends COMMAND to the server at PATH; *REPLY its line. */
gboolean cn_metadata_control_send(const char *path, const char *command, char **reply, GError **error);
