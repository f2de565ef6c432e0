/* glib-lean.h - for the programs linked with GLib's static archive (the
 * hook and carthage-net's front; configure's --enable-static-hook defines
 * CN_GLIB_STATIC for them).  Include it in the program's main.c only: it
 * defines a constructor.
 *
 * GLib 2.74's slice allocator (g_slice_*, behind every GHashTable,
 * GArray, GString and GSList) takes a page of its own for each size of
 * object: a short-lived program touches a fresh page, a page fault, for
 * each kind of object it makes.  Switched to malloc before GLib's own
 * constructor first uses it (GLib 2.76 does the same for everyone), the
 * hook's start takes fewer faults (docs/performance.md).  With a shared
 * GLib its constructor has run before ours, and the switch would be
 * refused with a critical message on stderr: hence only when static.
 */
#pragma once

#include <glib.h>

#ifdef CN_GLIB_STATIC
G_GNUC_BEGIN_IGNORE_DEPRECATIONS
/* Priority 101: before the constructors without one, GLib's among them. */
__attribute__((constructor(101))) static void cn_glib_slice_uses_malloc(void)
{
    g_slice_set_config(G_SLICE_CONFIG_ALWAYS_MALLOC, TRUE);
}
G_GNUC_END_IGNORE_DEPRECATIONS
#endif
