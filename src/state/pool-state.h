/* pool-state.h - the TAP pool state file, "pool-NAME" in the state dir.
 *
 *   carthage-net-pool 1
 *   tap TAPNAME HOLDER MAC SINCE
 *
 * HOLDER is a machine name or "-" when the TAP is free; MAC is the MAC
 * the holder uses on it or "-"; SINCE is when it was acquired (Unix
 * seconds, 0 when free).  Pure parse and format; pool.c does the I/O.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

typedef struct {
    char *tap;
    char *machine; /* NULL when free */
    gboolean has_mac;
    uint8_t mac[6];
    gint64 since;
} CnPoolTap;

typedef struct {
    GPtrArray *taps; /* CnPoolTap*, in TAP order */
} CnPoolState;

CnPoolState *cn_pool_state_new(void);
void cn_pool_state_free(CnPoolState *state);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CnPoolState, cn_pool_state_free)
CnPoolTap *cn_pool_state_add(CnPoolState *state, const char *tap);

CnPoolState *cn_pool_state_parse(const char *file, const char *text, gsize length, GError **error);
char *cn_pool_state_format(const CnPoolState *state);
char *cn_pool_state_file_name(const char *pool);

/* The TAP MACHINE holds for the link with MAC: one recorded with that MAC,
 * else the only one it holds without a MAC.  NULL when none. */
const CnPoolTap *cn_pool_state_find_held(const CnPoolState *state, const char *machine,
                                         const uint8_t mac[6]);
