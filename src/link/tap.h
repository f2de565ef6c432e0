/* tap.h - persistent TAP devices, many at a time.
 *
 * A TAP can only be made with /dev/net/tun ioctls (one open and TUNSETIFF
 * each); everything else goes over rtnetlink in batches: one sendmsg
 * carries the RTM_NEWLINK requests for up to a few hundred TAPs (MTU,
 * bridge master, interface group, then the bridge port's isolated flag
 * and IFF_UP), which the kernel runs one after the other in that call.
 * What exists is read with one RTM_GETLINK dump (the tun owner and group
 * and the bridge port flags come in its link info), not a round trip and
 * a sysfs read per TAP.  Deleting uses interface groups: one RTM_DELLINK
 * for a group unregisters all its links together, paying the kernel's
 * RCU grace period once instead of once per TAP.
 *
 * Crash safety: a TAP becomes persistent only after it is configured, so
 * a process killed in between leaves none half-made (the last close of a
 * TAP that is not persistent removes it); a group delete is one request,
 * which the kernel does whole.
 */
#pragma once

#include <glib.h>
#include <net/if.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct {
    uint32_t mtu;       /* 0: leave as is */
    const char *master; /* bridge to join, NULL: none */
    gboolean isolated;  /* bridge port flag (with master) */
    uid_t owner;        /* (uid_t)-1: anyone with CAP_NET_ADMIN */
    gid_t group;        /* (gid_t)-1: none */
    uint32_t ifgroup;   /* interface group, 0: leave as is */
} CnTapConfig;

typedef struct {
    gboolean exists;
    gboolean is_tap;
    gboolean up;
    uint32_t mtu;
    char master[IFNAMSIZ]; /* "" when none */
    gboolean isolated;
    long owner, group;     /* -1 when none */
    uint32_t ifgroup;
    gboolean carrier;      /* a TAP: a process (QEMU) has it open */
} CnTapInfo;

typedef struct CnTapContext CnTapContext;

CnTapContext *cn_tap_context_new(GError **error);
void cn_tap_context_free(CnTapContext *context);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CnTapContext, cn_tap_context_free)

/* Every link of the network namespace, read with one dump. */
typedef struct CnTapScan CnTapScan;
CnTapScan *cn_tap_scan(CnTapContext *context, GError **error);
void cn_tap_scan_free(CnTapScan *scan);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CnTapScan, cn_tap_scan_free)
/* What SCAN saw of link NAME (exists FALSE when none). */
void cn_tap_scan_lookup(const CnTapScan *scan, const char *name, CnTapInfo *info);

/* Makes each of NAMES persistent with CONFIG's owner and group (adopting
 * those that exist) and applies the rest of CONFIG. */
gboolean cn_tap_ensure_many(CnTapContext *context, GPtrArray *names, const CnTapConfig *config,
                            GError **error);
/* Applies MTU, master, interface group, isolated and up to existing links. */
gboolean cn_tap_configure_many(CnTapContext *context, GPtrArray *names, const CnTapConfig *config,
                               GError **error);
/* Deletes the TAPs among NAMES that SCAN saw: moves them into interface
 * group IFGROUP (or, when a link not among NAMES is in that group, into a
 * group no link uses) and deletes the group.  Refuses, deleting nothing,
 * when one of them is not a TAP. */
gboolean cn_tap_delete_many(CnTapContext *context, const CnTapScan *scan, GPtrArray *names,
                            uint32_t ifgroup, GError **error);
