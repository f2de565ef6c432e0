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

#include "events.h"

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

/* A public_address event: NAT is "one-to-one" or "masquerade"; DEVICE may
 * be NULL or "". */
CnEvent *cn_event_public_address(const char *machine, const char *network, uint32_t address,
                                 uint32_t public_address, const char *nat, const char *device);

/* Where refreshing reads and writes (libcn-host). */
typedef struct {
    const char *run_dir;    /* the hook's records and outbound-address */
    const char *state_dir;  /* the event log */
    const char *events_dir; /* subscribers */
    int lock_timeout_ms;    /* negative: wait as long as it takes */
} CnOutboundPlaces;

/* Looks up the outbound address and compares it (address and device)
 * with the one last announced.  Changed: announces it for every domain the
 * hook recorded.  Unchanged: for DOMAIN only (NULL: nobody).  The events
 * are logged and handed to subscribers under the record's lock, and the
 * record is written only once they are logged: whoever notices a change
 * announces it, in order, and a failure leaves it to be announced again.
 * *CURRENT and *ANNOUNCED (when not NULL) get the address and the number
 * of events. */
gboolean cn_outbound_refresh(const CnOutboundPlaces *places, const char *domain, CnOutbound *current,
                             guint *announced, GError **error);
