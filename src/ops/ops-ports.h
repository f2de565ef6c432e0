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

/* The lock of the domains' records of ports (RUN_DIR/hook-ports.lock,
 * made when missing): held by every writer of them, from reading a record
 * to writing it back and sending its batch, and by repair while it brings
 * a network's elements in step with them, since a record may also be
 * changed by another domain's start (a tap taken over, below).  Waits up
 * to CN_PORTS_LOCK_MS for it (its holders hold it for a record write and a
 * batch; repair, for a network's reads and one batch); the descriptor to
 * close, or -1 with ERROR (CN_STATE_ERROR_BUSY when the time ran out). */
#define CN_PORTS_LOCK_MS 10000
#define CN_PORTS_LOCK_FILE "hook-ports.lock"
int cn_ports_lock(const char *run_dir, GError **error);

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

/* A tap that libvirt gave to a domain while another domain's record
 * still named it: a domain that never stopped in libvirt's eyes (libvirtd
 * killed in its start leaves one "paused (starting up)" with no QEMU), or
 * whose "stopped" has not run yet.  The kernel lets one device have a
 * name, so the tap is the new domain's: the other's port leaves its record
 * and its elements go in the batch that adds the new ones. */
typedef struct {
    char *domain;      /* the domain whose record named the tap; NULL: no record did */
    CnHookPort *port;  /* its port, as recorded (or as the kernel had it) */
} CnPortTakenOver;
void cn_port_taken_over_free(CnPortTakenOver *taken);

/* Records GUEST's port on NETWORK in DOMAIN's record (read and saved at
 * once, under cn_ports_lock), then adds its elements to NET's tables,
 * taking its tap over from any other domain's record (into TAKEN_OVER,
 * CnPortTakenOver*).  ERROR says why when the result is not
 * CN_PORT_ATTACHED. */
CnPortResult cn_ports_attach(const char *run_dir, const char *domain, const char *network, const CnIsoNetwork *net,
                             const CnIsoGuest *guest, GPtrArray *taken_over, GError **error);

typedef struct {
    const char *network;
    const CnIsoNetwork *net;
    const CnIsoGuest *guest;
} CnPortAttach;

/* cn_ports_attach for several ports (ATTACHES: CnPortAttach*) at once,
 * into PORTS (DOMAIN's record as it is to be; saved at once): one record
 * write, then one batch for all their elements; only when the kernel
 * refuses that batch, port by port.  CLAIM (a start: libvirt has just
 * given the domain its taps): the ports of the domain's own record, left
 * by a previous run whose "stopped" never ran, go in the same batch (but
 * for taps another record names now), also when ATTACHES is empty (and
 * the record with them); a tap already in its network's set `ports`
 * refuses the batch (it costs nothing when none is), and the records of
 * other domains that name it are looked for, as cn_ports_attach does (and
 * when none does, the elements on it that no record names).  Without
 * CLAIM (reconnect: the ports are the domain's own already) none of this.
 * RESULTS[i] and ERRORS[i] (NULL unless the result is not
 * CN_PORT_ATTACHED; the caller frees) are ATTACHES[i]'s; TAKEN_OVER
 * (CnPortTakenOver*) gets every port whose elements went. */
void cn_ports_attach_many(const char *run_dir, const char *domain, GPtrArray *ports, GPtrArray *attaches,
                          gboolean claim, CnPortResult *results, GError **errors, GPtrArray *taken_over);

/* Removes the elements of every port in DOMAIN's record, then the record
 * (under cn_ports_lock).  *DETACHED: the ports it had (for events);
 * REPORT: one line per port. */
gboolean cn_ports_detach_domain(const char *run_dir, const char *domain, GPtrArray **detached, GPtrArray *report,
                                GError **error);
