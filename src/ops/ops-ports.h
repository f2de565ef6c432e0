/* ops-ports.h - guest ports, isolated by the hook at qemu start and by
 * `attach --live` (libvirt runs no hook for a hot-plug), the same way:
 * each port is recorded in its domain's record (hook-record.h) before its
 * elements go into the kernel, so that a process killed between the two
 * leaves a record that the hook's "stopped" and `repair` act on, never
 * elements nobody knows of. */
#pragma once

#include <glib.h>

#include "hook-record.h"
#include "nft.h"
#include "ops.h"

/* DOMAIN's record of ports in RUN_DIR: *PORTS (CnHookPort*), empty when
 * there is none. */
gboolean cn_ports_load(const char *run_dir, const char *domain, GPtrArray **ports, GError **error);
/* Writes PORTS as DOMAIN's record; no ports: no record. */
gboolean cn_ports_save(const char *run_dir, const char *domain, GPtrArray *ports, GError **error);

typedef enum {
    CN_PORT_ATTACHED,     /* recorded and isolated */
    CN_PORT_NOT_ISOLATED, /* the kernel refused its elements: it left the record again */
    CN_PORT_NOT_RECORDED, /* the record could not be written: nothing was done */
} CnPortResult;

/* Records GUEST's port on NETWORK in PORTS (DOMAIN's record, saved at
 * once), then adds its elements to NET's tables.  ERROR says why when
 * the result is not CN_PORT_ATTACHED. */
CnPortResult cn_ports_attach(const char *run_dir, const char *domain, GPtrArray *ports, const char *network,
                             const CnIsoNetwork *net, const CnIsoGuest *guest, GError **error);

typedef struct {
    const char *network;
    const CnIsoNetwork *net;
    const CnIsoGuest *guest;
} CnPortAttach;

/* cn_ports_attach for several ports (ATTACHES: CnPortAttach*) at once:
 * one record write, then one batch for all their elements; only when the
 * kernel refuses that batch, port by port.  RESULTS[i] and ERRORS[i]
 * (NULL unless the result is not CN_PORT_ATTACHED; the caller frees) are
 * ATTACHES[i]'s. */
void cn_ports_attach_many(const char *run_dir, const char *domain, GPtrArray *ports, GPtrArray *attaches,
                          CnPortResult *results, GError **errors);

/* Removes the elements of every port in DOMAIN's record, then the record.
 * *DETACHED: the ports it had (for events); REPORT: one line per port. */
gboolean cn_ports_detach_domain(const char *run_dir, const char *domain, GPtrArray **detached, GPtrArray *report,
                                GError **error);
