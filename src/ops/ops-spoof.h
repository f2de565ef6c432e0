/* ops-spoof.h - spoof-dropped events: the frames each guest port of the
 * site's isolated networks sent forged (another MAC, another machine's
 * address, an address its port is not pinned to, a neighbour
 * advertisement for another's IPv6 address), as counted per port in the
 * bridge table's dynamic set @spoofers, reported when the count grew
 * since the last look.  One event per port per look: carthage-net events
 * watch looks every CN_SPOOF_LOOK_SECONDS, so that is the rate limit.
 * What was seen is kept in the runtime file spoof-seen.h describes. */
#pragma once

#include <glib.h>

#include "model.h"

#define CN_SPOOF_LOOK_SECONDS 10

/* Looks at SITE's isolated networks; publishes one spoof-dropped event
 * (network, port, machine, interface, mac, dropped since the last look,
 * total) per port that sent more, into STATE_DIR's log and EVENTS_DIR's
 * subscribers; *REPORTED: how many.  A damaged spoof-seen record is
 * counted again from nothing, with a line in WARNINGS (char*). */
gboolean cn_ops_spoof_report(const CnSite *site, const char *run_dir, const char *state_dir, const char *events_dir,
                             guint *reported, GPtrArray *warnings, GError **error);
