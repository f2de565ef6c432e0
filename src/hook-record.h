/* hook-record.h - what the network hook leaves for the qemu hook: the
 * state file "hook-network-NAME" written when a carthage-net network
 * starts and removed when it stops:
 *
 *   carthage-net-hook-network 1
 *   network NAME BRIDGE metadata|plain [masquerade] [handler=A.B.C.D:PORT]
 *
 * "masquerade" when libvirt masquerades the network (forward mode nat);
 * "handler=" the network's own metadata handler.
 * The qemu hook sees only the domain XML; this tells it which networks
 * are carthage-net's and which of them must fail closed. */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "model.h"

typedef struct {
    char *name;
    char *bridge;
    gboolean metadata;
    gboolean masquerade;
    CnEndpoint default_handler; /* set: FALSE when none */
} CnHookRecord;

CnHookRecord *cn_hook_record_parse(const char *file, const char *text, gsize length, GError **error);
char *cn_hook_record_format(const CnHookRecord *record);
void cn_hook_record_free(CnHookRecord *record);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CnHookRecord, cn_hook_record_free)
char *cn_hook_record_file_name(const char *network);

/* The ports the qemu hook isolated for one domain, "hook-domain-NAME":
 *
 *   carthage-net-hook-domain 1
 *   port NETWORK TAP MAC [A.B.C.D ...]
 *
 * with the port's IPv4 addresses when carthage-net knows them (for
 * public_address events on masqueraded networks; see outbound.h).
 * libvirt drops the tap names from the domain XML before the "stopped"
 * event, so this is how the hook finds them again. */
typedef struct {
    char *network;
    char tap[16];
    uint8_t mac[6];
    GArray *addresses; /* uint32_t */
} CnHookPort;

GPtrArray *cn_hook_ports_parse(const char *file, const char *text, gsize length, GError **error);
char *cn_hook_ports_format(GPtrArray *ports);
GPtrArray *cn_hook_ports_new(void);
/* ADDRESSES (uint32_t) may be NULL. */
void cn_hook_ports_add(GPtrArray *ports, const char *network, const char *tap, const uint8_t mac[6],
                       const GArray *addresses);
char *cn_hook_ports_file_name(const char *domain);
