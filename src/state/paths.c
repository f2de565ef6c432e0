/* paths.c - see paths.h */
#include <stdlib.h>
#include <sys/stat.h>
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

/* Whether this program is the one in the build tree it was built in.
 * What counts is where the running file is (/proc/self/exe: not argv[0],
 * not the working directory): its directory must be the build directory
 * itself, compared by device and inode so that symbolic links in either
 * path do not matter.  A copy elsewhere, or an installed program, is never
 * taken for a build tree's.  The programs are plain executables (no
 * libtool wrappers), so the file that runs is the file that was linked.
 * CN_ABS_BUILDDIR and CN_ABS_SRCDIR come from Makefile.am; other builds
 * (the fuzz targets) have no build tree. */
static gboolean in_build_tree(void)
{
#if defined(CN_ABS_BUILDDIR) && defined(CN_ABS_SRCDIR)
    static gsize checked;
    static gboolean inside;
    if (g_once_init_enter(&checked)) {
        g_autofree char *self = g_file_read_link("/proc/self/exe", NULL);
        g_autofree char *dir = self ? g_path_get_dirname(self) : NULL;
        struct stat here, build;
        inside = dir && stat(dir, &here) == 0 && stat(CN_ABS_BUILDDIR, &build) == 0 &&
                 here.st_dev == build.st_dev && here.st_ino == build.st_ino;
        g_once_init_leave(&checked, 1);
    }
    return inside;
#else
    return FALSE;
#endif
}

/* The source tree's xml-templates/ when this program runs in its build
 * tree, else NULL. */
static const char *build_tree_templates_dir(void)
{
#if defined(CN_ABS_BUILDDIR) && defined(CN_ABS_SRCDIR)
    static gsize checked;
    static char *templates;
    if (g_once_init_enter(&checked)) {
        if (in_build_tree()) {
            /* abs_top_srcdir is often BUILDDIR/../..: named plainly, as
             * messages and --paths show it. */
            char *source = realpath(CN_ABS_SRCDIR, NULL);
            templates = g_build_filename(source ? source : CN_ABS_SRCDIR, "xml-templates", NULL);
            free(source);
        }
        g_once_init_leave(&checked, 1);
    }
    return templates;
#else
    return NULL;
#endif
}

const char *cn_paths_full_program(void)
{
    const char *installed = CN_PATHS_FULL_PROGRAM;
#if defined(CN_ABS_BUILDDIR) && defined(CN_ABS_SRCDIR)
    if (in_build_tree())
        installed = CN_ABS_BUILDDIR "/" CN_PATHS_FULL_PROGRAM_NAME;
#endif
    return from_environment("CARTHAGE_NET_FULL_PROGRAM", installed);
}

const char *const *cn_paths_template_dirs(void)
{
    static const char *dirs[5];
    guint n = 0;
    const char *override = g_getenv("CARTHAGE_NET_TEMPLATE_DIR");
    if (override && *override)
        dirs[n++] = override;
    const char *build_tree = build_tree_templates_dir();
    if (build_tree)
        dirs[n++] = build_tree;
    dirs[n++] = SYSCONFDIR "/carthage-net/xml-templates";
    dirs[n++] = PKGDATADIR "/xml-templates";
    dirs[n] = NULL;
    return dirs;
}
