/* paths.h - every directory carthage-net reads or writes by default, each
 * with the environment variable that overrides it (tests, build trees).
 * libvirt passes the hook no environment of ours, so installed hooks
 * always use the defaults.
 *
 * Not root, state and run are the user's own: $XDG_STATE_HOME/carthage-net
 * (else ~/.local/state/carthage-net) and $XDG_RUNTIME_DIR/carthage-net.
 *
 *   definitions   SYSCONFDIR/carthage-net           (-f/-d instead)
 *   state         LOCALSTATEDIR/lib/carthage-net     CARTHAGE_NET_STATE_DIR (and --state-dir)
 *   run           RUNSTATEDIR/carthage-net           CARTHAGE_NET_RUN_DIR
 *   events        SYSCONFDIR/carthage-net/events.d   CARTHAGE_NET_EVENTS_DIR
 *   metadata      SYSCONFDIR/carthage-net/metadata   CARTHAGE_NET_METADATA_DIR (and --data-dir)
 *   identity key  SYSCONFDIR/carthage-net/metadata-identity.key
 *                                                    CARTHAGE_NET_IDENTITY_KEY (and --identity-key)
 *   sockets       RUN/metadata                       CARTHAGE_NET_SOCKET_DIR (and --socket-dir):
 *                 one UNIX socket per user-mode VM (metadata serve --socket-dir)
 *   templates     CARTHAGE_NET_TEMPLATE_DIR, then SYSCONFDIR/carthage-net/xml-templates,
 *                 then PKGDATADIR/xml-templates; a program run from its
 *                 build tree reads its source tree's xml-templates/ right
 *                 after the variable (as libvirt's binaries do)
 *   full program  LIBEXECDIR/carthage-net-full       CARTHAGE_NET_FULL_PROGRAM:
 *                 carthage-net runs the pool and validate commands itself
 *                 and hands the others to it; the build tree's own from a
 *                 build tree
 */
#pragma once

#include <glib.h>

#define CN_PATHS_DEFINITIONS_DIR SYSCONFDIR "/carthage-net"
#define CN_PATHS_STATE_DIR LOCALSTATEDIR "/lib/carthage-net"
#define CN_PATHS_RUN_DIR RUNSTATEDIR "/carthage-net"
#define CN_PATHS_EVENTS_DIR SYSCONFDIR "/carthage-net/events.d"
#define CN_PATHS_METADATA_DIR SYSCONFDIR "/carthage-net/metadata"
#define CN_PATHS_IDENTITY_KEY SYSCONFDIR "/carthage-net/metadata-identity.key"
#define CN_PATHS_FULL_PROGRAM_NAME "carthage-net-full"
#define CN_PATHS_FULL_PROGRAM LIBEXECDIR "/" CN_PATHS_FULL_PROGRAM_NAME

/* Each: the environment's override when set and not empty, else the default. */
const char *cn_paths_state_dir(void);
const char *cn_paths_run_dir(void);
const char *cn_paths_events_dir(void);
const char *cn_paths_metadata_dir(void);
const char *cn_paths_identity_key(void);
const char *cn_paths_socket_dir(void);
/* Where templates are looked for, in order; NULL-terminated (entries
 * whose variable is unset are left out).  The source tree's xml-templates/
 * is among them only when the running program is the one in the build
 * directory it was built in (the executable's own directory, from
 * /proc/self/exe); an installed or copied program never reads it. */
const char *const *cn_paths_template_dirs(void);
/* The program with every command (libvirt, libsoup, OVN) that the lean
 * carthage-net hands the others to: CARTHAGE_NET_FULL_PROGRAM when set,
 * else the build directory's when the running program is the one in its
 * build directory (as for templates), else the installed one. */
const char *cn_paths_full_program(void);
