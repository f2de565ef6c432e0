/* paths.c - see paths.h */
#include <unistd.h>

#include "paths.h"

static const char *from_environment(const char *variable, const char *fallback)
{
    const char *value = g_getenv(variable);
    return value && *value ? value : fallback;
}

/* A user's own place for DIR (not root): $VARIABLE/carthage-net, else
 * $HOME/HOME_RELATIVE/carthage-net when HOME_RELATIVE; NULL when neither. */
static char *user_dir(const char *variable, const char *home_relative)
{
    const char *base = g_getenv(variable);
    if (base && g_path_is_absolute(base))
        return g_build_filename(base, "carthage-net", NULL);
    if (home_relative)
        return g_build_filename(g_get_home_dir(), home_relative, "carthage-net", NULL);
    return NULL;
}

const char *cn_paths_state_dir(void)
{
    static char *user;
    if (geteuid() != 0 && !user)
        user = user_dir("XDG_STATE_HOME", ".local/state");
    return from_environment("CARTHAGE_NET_STATE_DIR", user ? user : CN_PATHS_STATE_DIR);
}

const char *cn_paths_run_dir(void)
{
    static char *user;
    if (geteuid() != 0 && !user)
        user = user_dir("XDG_RUNTIME_DIR", NULL);
    return from_environment("CARTHAGE_NET_RUN_DIR", user ? user : CN_PATHS_RUN_DIR);
}

const char *cn_paths_socket_dir(void)
{
    static char *below_run;
    if (!below_run)
        below_run = g_build_filename(cn_paths_run_dir(), "metadata", NULL);
    return from_environment("CARTHAGE_NET_SOCKET_DIR", below_run);
}

const char *cn_paths_events_dir(void)
{
    return from_environment("CARTHAGE_NET_EVENTS_DIR", CN_PATHS_EVENTS_DIR);
}

const char *cn_paths_metadata_dir(void)
{
    return from_environment("CARTHAGE_NET_METADATA_DIR", CN_PATHS_METADATA_DIR);
}

const char *cn_paths_identity_key(void)
{
    return from_environment("CARTHAGE_NET_IDENTITY_KEY", CN_PATHS_IDENTITY_KEY);
}

const char *const *cn_paths_template_dirs(void)
{
    static const char *dirs[4];
    guint n = 0;
    const char *override = g_getenv("CARTHAGE_NET_TEMPLATE_DIR");
    if (override && *override)
        dirs[n++] = override;
    dirs[n++] = SYSCONFDIR "/carthage-net/xml-templates";
    dirs[n++] = PKGDATADIR "/xml-templates";
    dirs[n] = NULL;
    return dirs;
}
