/* paths.c - see paths.h */
#include "paths.h"

static const char *from_environment(const char *variable, const char *fallback)
{
    const char *value = g_getenv(variable);
    return value && *value ? value : fallback;
}

const char *cn_paths_state_dir(void)
{
    return from_environment("CARTHAGE_NET_STATE_DIR", CN_PATHS_STATE_DIR);
}

const char *cn_paths_run_dir(void)
{
    return from_environment("CARTHAGE_NET_RUN_DIR", CN_PATHS_RUN_DIR);
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
