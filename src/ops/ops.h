/* ops.h - what every operation of src/ops/ shares: its errors.
 *
 * The operations both dispatchers (the carthage-net commands, the libvirt
 * hook) run return GErrors and put what they did into a report (char*
 * lines for people); the dispatcher prints or logs them, and the CLI maps
 * errors to exit codes in one place (cn_cli_fail).  Errors of other
 * domains (state, nftables, libvirt) are system failures. */
#pragma once

#include <glib.h>

#define CN_OPS_ERROR (cn_ops_error_quark())
GQuark cn_ops_error_quark(void);

/* The codes are the exit codes of the command-line contract. */
typedef enum {
    CN_OPS_ERROR_INVALID = 1, /* invalid input or unknown name; nothing changed */
    CN_OPS_ERROR_BUSY = 3,    /* in use, exhausted */
    CN_OPS_ERROR_SYSTEM = 4,  /* the system or libvirt refused */
} CnOpsError;
