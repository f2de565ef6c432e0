/* pool.h - the TAP pool: taskcluster-worker's network.Pool for libvirt.
 *
 * A fixed set of persistent TAPs ("PREFIX0".."PREFIX<size-1>"), made up
 * front on the network's bridge (isolated when the network isolates
 * guests) and handed to one VM at a time.  Which TAP is held by whom lives
 * in the state file pool-NAME (pool-state.h).  Every function here expects
 * the caller to hold the state directory's lock for the whole call, so
 * parallel acquires never hand out one TAP twice.
 */
#pragma once

#include "model.h"
#include "pool-state.h"
#include "state.h"

#define CN_POOL_ERROR (cn_pool_error_quark())
GQuark cn_pool_error_quark(void);
typedef enum {
    CN_POOL_ERROR_BUSY,    /* all in use, or in use where that forbids the change */
    CN_POOL_ERROR_UNKNOWN, /* no such TAP in the pool */
    CN_POOL_ERROR_FAILED,  /* the system said no */
} CnPoolError;

char *cn_pool_tap_name(const CnPool *pool, guint index);

/* The interface group of the pool's TAPs (`ip link show group N`), made
 * from its name: CN_POOL_IFGROUP_BASE plus 16 bits of a hash.  Dispose
 * deletes the group in one request (another group when a link that is not
 * the pool's shares this one). */
#define CN_POOL_IFGROUP_BASE 0x636e0000u /* "cn" */
uint32_t cn_pool_ifgroup(const CnPool *pool);

/* Reads the pool's state (an empty state when there is none yet). */
CnPoolState *cn_pool_load(CnState *state, const CnPool *pool, GError **error);
gboolean cn_pool_save(CnState *state, const CnPool *pool, const CnPoolState *pool_state,
                      GError **error);

/* Makes every TAP (adopting those that exist), fixes what differs, and
 * records them.  Each line of REPORT says what was done or found. */
gboolean cn_pool_create(CnState *state, const CnPool *pool, GPtrArray *report, GError **error);
/* The hook's view: puts the TAPs recorded for pool POOL_NAME back on
 * BRIDGE (up, isolated when asked, with MTU when non-zero).  TAPs that do
 * not exist are skipped.  One line per TAP moved goes to REPORT. */
gboolean cn_pool_reattach_taps(CnState *state, const char *pool_name, const char *bridge,
                               gboolean isolated, uint32_t mtu, GPtrArray *report, GError **error);
/* What is out of step for the pool, one line each: recorded TAPs that do
 * not exist, TAPs off their bridge or configured otherwise.  Read-only. */
gboolean cn_pool_check(CnState *state, const CnPool *pool, GPtrArray *drift, GError **error);
/* Hands out a free TAP to MACHINE (MAC may be NULL): *TAP is its name. */
gboolean cn_pool_acquire(CnState *state, const CnPool *pool, const char *machine,
                         const uint8_t *mac, char **tap, GError **error);
/* Gives TAP back; *WAS_HELD FALSE when it was free already. */
gboolean cn_pool_release(CnState *state, const CnPool *pool, const char *tap, gboolean *was_held,
                         GError **error);
/* Gives back every TAP whose holder is not a machine of SITE; their names
 * go to RELEASED. */
gboolean cn_pool_release_stale(CnState *state, const CnPool *pool, const CnSite *site,
                               GPtrArray *released, GError **error);
/* Deletes every TAP and the state; refused (BUSY) while any is held,
 * unless FORCE. */
gboolean cn_pool_dispose(CnState *state, const CnPool *pool, gboolean force, GError **error);
