/* outbound.h - Carthage's public_address for links on masqueraded
 * networks: the host address their traffic leaves from (the route toward
 * the outside, link.h), announced when a guest's port is attached and
 * again for every running guest whenever that address changes.
 *
 * The run directory keeps the address last announced, "outbound-address":
 *
 *   carthage-net-outbound 1
 *   address A.B.C.D [DEVICE]      (or "address none": no route out)
 *
 * The qemu hook and `carthage-net events watch` both go through
 * cn_outbound_refresh, under that file's lock, so a change is announced
 * once for every guest whoever notices it first.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

#define CN_OUTBOUND_FILE "outbound-address"

typedef struct {
    uint32_t address; /* 0: no route toward the outside */
    char device[16];
} CnOutbound;

/* The record (core, pure). */
gboolean cn_outbound_parse(const char *file, const char *text, gsize length, CnOutbound *outbound,
                           GError **error);
char *cn_outbound_format(const CnOutbound *outbound);

/* Appends to EVENTS (CnEvent*) one public_address event per address of
 * each of DOMAIN's PORTS (CnHookPort*) on a network MASQUERADING maps to
 * non-NULL (network name -> whether libvirt masquerades it); nothing when
 * OUTBOUND has no address. */
void cn_outbound_port_events(GPtrArray *events, const char *domain, GPtrArray *ports, GHashTable *masquerading,
                             const CnOutbound *outbound);

/* Looks up the outbound address (libcn-host) and compares it with the one
 * last announced in RUN_DIR.  Changed: records it and appends events for
 * every domain the hook recorded.  Unchanged: events for DOMAIN only (NULL:
 * none).  *CURRENT (when not NULL) gets the address. */
gboolean cn_outbound_refresh(const char *run_dir, const char *domain, GPtrArray *events, CnOutbound *current,
                             GError **error);
