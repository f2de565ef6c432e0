/* ops-isolation.h - a carthage-net network's isolation kept in step with
 * the definitions, shared by status, repair and define.
 *
 * Three things must agree for a running network: the hook's record of it
 * (hook-record.h: which machine owns which MAC, its addresses and
 * handler, what the qemu hook must do), the kernel's tables (rules built
 * for these definitions, every set element), and the guest ports the hook
 * recorded.  Drift names what differs; repair and define change only the
 * difference, in one nftables batch, so no running guest is unpinned
 * while they do.  Errors are GErrors; what was done goes into REPORT
 * (char*, one line each) for the caller to print.
 */
#pragma once

#include <glib.h>

#include "model.h"
#include "nft.h"

/* One difference. */
typedef struct {
    char *what;         /* one line for people */
    const char *set;    /* an element's: its set, else NULL */
    char *element;      /* as nft shows it */
    const char *change; /* missing, extra, changed */
    char *guest;        /* whose it is: "machine web.example iface eth0", "domain web port vnet3", or NULL */
} CnIsolationDrift;

void cn_isolation_drift_free(CnIsolationDrift *drift);

/* The guest ports the hook recorded on NET (CnIsoGuest*), from the domain
 * records in RUN_DIR, as the hook added them. */
GPtrArray *cn_isolation_recorded_guests(const CnNetwork *net, const char *run_dir);

/* What differs for the running NET (CnIsolationDrift* into DRIFT). */
gboolean cn_isolation_drift(const CnNetwork *net, const char *run_dir, GPtrArray *drift, GError **error);

/* Brings NET's isolation in step: tables missing or not as built are
 * applied again with the recorded guests (one batch); otherwise only the
 * elements that differ change; the record is rewritten when it differs.
 * Nothing to do: TRUE and nothing in REPORT. */
gboolean cn_isolation_repair(const CnNetwork *net, const char *run_dir, GPtrArray *report, GError **error);

/* After define changed the definitions of the running NET: its record
 * and the network's own elements (reservations, handlers, NAT, retired
 * addresses) follow at once.  RULES_MAY_CHANGE: libvirt needs no restart,
 * so tables built for other settings are applied again now; otherwise
 * the record keeps the settings the tables were built with, until the
 * restart.  Nothing when the network has no record (the hook is not
 * installed: status says so).  DRY_RUN: REPORT says what would change. */
gboolean cn_isolation_sync_live(const CnNetwork *net, const char *run_dir, gboolean rules_may_change,
                                gboolean dry_run, GPtrArray *report, GError **error);
