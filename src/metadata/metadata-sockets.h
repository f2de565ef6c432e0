/* metadata-sockets.h - the socket directory of metadata serve --socket-dir:
 * one UNIX socket per machine with a link on a metadata network, which
 * QEMU user-mode guests reach through guestfwd (render netdev --user), so
 * that a connection is its machine's by construction, not by address.
 *
 *   DIR/.lock          held (flock) while a server runs: one server per DIR
 *   DIR/MACHINE.sock   the server listening for MACHINE (0600), or, when
 *                      MACHINE's metadata.handler is a socket path, a
 *                      symlink to it (replaced at once on reload)
 *
 * Side effects only; which machines and which handler is the model's. */
#pragma once

#include <glib.h>

#include "metadata-server.h"
#include "model.h"

typedef struct CnSocketDir CnSocketDir;

/* Takes DIR (made 0700 when missing): it must be ours, writable, and not
 * writable by others; no other server may hold it.  Sockets and links
 * left by a server that was killed are removed. */
CnSocketDir *cn_socket_dir_open(const char *path, GError **error);
/* DIR in step with SITE: new machines get their socket (or link), gone
 * ones lose it, changed handlers are re-pointed.  Goes on past a machine
 * that fails (its handler socket missing, say) and reports them all. */
gboolean cn_socket_dir_sync(CnSocketDir *dir, CnMetadataServer *server, const CnSite *site, GError **error);
guint cn_socket_dir_count(const CnSocketDir *dir);
/* MACHINE's socket (or link) removed now, its VM gone; FALSE when it has
 * none.  The next sync makes it again while MACHINE is defined. */
gboolean cn_socket_dir_release(CnSocketDir *dir, CnMetadataServer *server, const char *machine);
/* Removes every socket and link it made. */
void cn_socket_dir_close(CnSocketDir *dir, CnMetadataServer *server);
