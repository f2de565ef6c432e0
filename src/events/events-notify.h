/* events-notify.h - handing an event to the subscribers: every executable
 * in a directory ($(sysconfdir)/carthage-net/events.d) gets the JSON line on
 * stdin, in a process detached from the caller (new session, stdout and
 * stderr on /dev/null, no inherited descriptors), each with a time limit
 * after which it is killed and the failure logged.  The caller (the hook,
 * which libvirt waits for) returns at once.  Subscribers run as the caller
 * (root): a subscriber, or the directory, that someone other than root (or
 * the caller) owns or may write is not run, and that is logged. */
#pragma once

#include <glib.h>

#define CN_EVENTS_SUBSCRIBER_SECONDS 30

/* Starts the detached notifiers for LINES: one per subscriber, each
 * running it once per line, in order; FALSE only when fork failed. */
gboolean cn_events_notify(const char *dir, GPtrArray *lines, guint timeout_seconds, GError **error);

/* Logs EVENTS (CnEvent*) in STATE_DIR's event log with one fsync, then
 * hands the lines to the subscribers in EVENTS_DIR; the error says which
 * of the two failed. */
gboolean cn_events_publish(const char *state_dir, const char *events_dir, GPtrArray *events, GError **error);
