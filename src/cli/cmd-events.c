/* cmd-events.c - carthage-net events [--follow] [--since SEQ] [--json];
 * carthage-net events watch [--once]: public_address when the outbound
 * address changes, spoof-dropped when guests send forged frames */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "paths.h"
#include "events-notify.h"
#include "events.h"
#include "link.h"
#include "netaddr.h"
#include "ops-spoof.h"
#include "outbound.h"

/* "SEQ TIME EVENT {other fields}" from a log line. */
static void print_human(const char *line, guint64 seq, gpointer data)
{
    const char *time_start = strstr(line, "\"time\":\"");
    const char *event_start = strstr(line, "\"event\":\"");
    if (!time_start || !event_start) {
        printf("%s\n", line);
        return;
    }
    time_start += 8;
    event_start += 9;
    const char *event_end = strchr(event_start, '"');
    if (!event_end) {
        printf("%s\n", line);
        return;
    }
    const char *rest = event_end + 1;
    if (*rest == ',')
        rest++;
    printf("%" G_GUINT64_FORMAT " %.*s %.*s {%s\n", seq, (int)(strchr(time_start, '"') - time_start), time_start,
           (int)(event_end - event_start), event_start, rest);
    fflush(stdout);
}

static void print_json(const char *line, guint64 seq, gpointer data)
{
    printf("%s\n", line);
    fflush(stdout);
}

#define WATCH_SETTLE_MS 200          /* changes come in bursts */
#define WATCH_BURST_MS 2000          /* but a burst is not waited out longer */
#define WATCH_SAFETY_MS (CN_SPOOF_LOOK_SECONDS * 1000) /* look anyway, now and then (and at the spoofers) */

static int ms_until(gint64 deadline)
{
    gint64 left = (deadline - g_get_monotonic_time()) / 1000;
    return left < 0 ? 0 : (int)left;
}

/* Waits for a route, address or link change and for its burst to settle
 * (at most WATCH_BURST_MS), or for the safety interval; FALSE when the
 * notifications cannot be read. */
static gboolean wait_for_change(CnRouteWatch *watch, GError **error)
{
    struct pollfd fd = { .fd = cn_route_watch_fd(watch), .events = POLLIN };
    gint64 now = g_get_monotonic_time();
    gint64 safety = now + (gint64)WATCH_SAFETY_MS * 1000, burst_end = 0, settle = 0;
    for (;;) {
        gint64 deadline = burst_end ? MIN(settle, burst_end) : safety;
        int ready = poll(&fd, 1, ms_until(deadline));
        if (ready < 0 && errno != EINTR) {
            g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "poll: %s", g_strerror(errno));
            return FALSE;
        }
        if (ready <= 0) {
            if (g_get_monotonic_time() >= deadline)
                return TRUE;
            continue;
        }
        gboolean changed = FALSE;
        if (!cn_route_watch_drain(watch, &changed, error))
            return FALSE;
        if (changed) {
            now = g_get_monotonic_time();
            if (!burst_end)
                burst_end = now + (gint64)WATCH_BURST_MS * 1000;
            settle = now + (gint64)WATCH_SETTLE_MS * 1000;
        }
    }
}

/* spoof-dropped for the ports that sent forged frames since the last
 * look (ops-spoof.h), with the definitions as they are now; FALSE (said
 * why) when the definitions do not load or the kernel cannot be asked. */
static gboolean report_spoofers(CnCli *cli, const CnOutboundPlaces *places)
{
    int exit_code;
    g_autoptr(CnSite) site = cn_cli_load_site(cli, FALSE, &exit_code);
    if (!site)
        return FALSE;
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);
    guint reported;
    gboolean ok = cn_ops_spoof_report(site, places->run_dir, places->state_dir, places->events_dir, &reported,
                                      warnings, &error);
    for (guint i = 0; i < warnings->len; i++)
        cn_cli_warning("%s", (char *)warnings->pdata[i]);
    if (!ok) {
        cn_cli_error("%s", error->message);
        return FALSE;
    }
    if (reported) {
        printf("forged frames: %u spoof-dropped event(s)\n", reported);
        fflush(stdout);
    }
    return TRUE;
}

/* Announces public_address for masqueraded guests whenever the host's
 * outbound address changes (see outbound.h); the hook announces it when
 * a guest starts.  Every CN_SPOOF_LOOK_SECONDS, spoof-dropped for guest
 * ports that sent forged frames.  ONCE: look once and exit. */
static int events_watch(CnCli *cli, gboolean once)
{
    CnOutboundPlaces places = { cn_paths_run_dir(), cli->state_dir, cn_paths_events_dir(), -1 };
    g_autoptr(GError) error = NULL;
    /* Subscribed before the first look, so no change falls in between. */
    g_autoptr(CnRouteWatch) watch = once ? NULL : cn_route_watch_new(&error);
    if (!once && !watch)
        return cn_cli_fail(error);
    CnOutbound last = { .address = G_MAXUINT32 };
    for (;;) {
        CnOutbound current;
        guint announced;
        if (!cn_outbound_refresh(&places, NULL, &current, &announced, &error)) {
            cn_cli_error("%s", error->message);
            if (once)
                return CN_EXIT_SYSTEM;
            g_clear_error(&error);
        } else if (current.address != last.address || strcmp(current.device, last.device) != 0) {
            char address[CN_V4_STR_MAX] = "none";
            if (current.address)
                cn_v4_format(current.address, address);
            printf("outbound address %s%s%s%s: %u public_address event(s)\n", address,
                   current.device[0] ? " (" : "", current.device, current.device[0] ? ")" : "", announced);
            fflush(stdout);
            last = current;
        }
        if (!report_spoofers(cli, &places))
            cn_cli_warning("spoof-dropped events not reported this time");
        if (once)
            return CN_EXIT_OK;
        if (!wait_for_change(watch, &error))
            return cn_cli_fail(error);
    }
}

int cn_cmd_events(CnCli *cli, int argc, char **argv)
{
    static const CnCommand self = {
        "events", "[--follow] [--since SEQ] [--json] | watch [--once]",
        "The event log: resolved, public_address, network-started, network-stopped, guest-attached, "
        "guest-detached.  'events watch' announces public_address again for guests on masqueraded "
        "networks whenever the host's outbound address changes.", NULL
    };
    gboolean follow = FALSE, once = FALSE;
    gint64 since = 0;
    const GOptionEntry entries[] = {
        { "follow", 'F', 0, G_OPTION_ARG_NONE, &follow, "Wait for new events (across rotation)", NULL },
        { "since", 0, 0, G_OPTION_ARG_INT64, &since, "Only events after sequence number SEQ", "SEQ" },
        { "once", 0, 0, G_OPTION_ARG_NONE, &once, "watch: look at the outbound address once and exit", NULL },
        { NULL },
    };
    g_autoptr(GError) error = NULL;

    if (!cn_cli_parse_options(&self, entries, &argc, &argv))
        return CN_EXIT_USAGE;
    gboolean watch = argc == 2 && strcmp(argv[1], "watch") == 0;
    if ((argc > 1 && !watch) || since < 0 || (watch && (follow || since)) || (once && !watch)) {
        cn_cli_error("usage: carthage-net events [--follow] [--since SEQ] [--json] | events watch [--once]");
        return CN_EXIT_USAGE;
    }
    if (watch)
        return events_watch(cli, once);
    CnEventFunc print = cli->json ? print_json : print_human;
    guint64 last = (guint64)since;
    do {
        if (!cn_events_read(cli->state_dir, last, print, NULL, &last, &error))
            return cn_cli_fail(error);
        if (follow)
            g_usleep(200 * 1000);
    } while (follow);
    return CN_EXIT_OK;
}
