/* tap.h - persistent TAP devices: made with /dev/net/tun ioctls (they
 * cannot be made over rtnetlink), then configured with libnl (MTU, up,
 * bridge master) and a hand-built AF_BRIDGE RTM_SETLINK for the bridge
 * port "isolated" flag (libnl 3.7 has no setter for it).
 *
 * One CnTapContext holds the netlink socket for many TAPs, so a pool of a
 * thousand costs a thousand small round trips, not a thousand sockets.
 */
#pragma once

#include <glib.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct {
    uint32_t mtu;      /* 0: leave as is */
    const char *master; /* bridge to join, NULL: none */
    gboolean isolated; /* bridge port flag (with master) */
    uid_t owner;       /* (uid_t)-1: anyone with CAP_NET_ADMIN */
    gid_t group;       /* (gid_t)-1: none */
} CnTapConfig;

typedef struct {
    gboolean exists;
    gboolean is_tap;
    gboolean up;
    uint32_t mtu;
    char master[16];   /* "" when none */
    gboolean isolated;
    long owner, group; /* -1 when none */
} CnTapInfo;

typedef struct CnTapContext CnTapContext;

CnTapContext *cn_tap_context_new(GError **error);
void cn_tap_context_free(CnTapContext *context);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CnTapContext, cn_tap_context_free)

/* Makes NAME persistent with CONFIG's owner and group (adopting it when it
 * exists: *CREATED tells which), then applies the rest of CONFIG. */
gboolean cn_tap_ensure(CnTapContext *context, const char *name, const CnTapConfig *config,
                       gboolean *created, GError **error);
/* Applies MTU, master, up and isolated to an existing link. */
gboolean cn_tap_configure(CnTapContext *context, const char *name, const CnTapConfig *config,
                          GError **error);
/* Reads back what the kernel has (owner, group and isolated from sysfs). */
gboolean cn_tap_inspect(CnTapContext *context, const char *name, CnTapInfo *info, GError **error);
/* Deletes a persistent TAP; a missing one is not an error. */
gboolean cn_tap_delete(CnTapContext *context, const char *name, GError **error);
