/* owned-bridges.h - which host bridges carthage-net made, so that it
 * deletes only those (Carthage's BridgeNetwork.delete_bridge).  The state
 * file "bridges": "carthage-net-bridges 1", then "bridge NAME NETWORK". */
#pragma once

#include <glib.h>

typedef struct CnOwnedBridges {
    GHashTable *networks; /* bridge name -> network name */
} CnOwnedBridges;

CnOwnedBridges *cn_owned_bridges_new(void);
void cn_owned_bridges_free(CnOwnedBridges *owned);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CnOwnedBridges, cn_owned_bridges_free)

CnOwnedBridges *cn_owned_bridges_parse(const char *file, const char *text, gsize length,
                                       GError **error);
char *cn_owned_bridges_format(const CnOwnedBridges *owned);
#define CN_OWNED_BRIDGES_FILE "bridges"
