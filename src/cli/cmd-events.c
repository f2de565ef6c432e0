/* cmd-events.c - carthage-net events [--follow] [--since SEQ] [--json] */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "events.h"

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

int cn_cmd_events(CnCli *cli, int argc, char **argv)
{
    static const CnCommand self = {
        "events", "[--follow] [--since SEQ] [--json]",
        "The event log: resolved, public_address, network-started, network-stopped, guest-attached, "
        "guest-detached.", NULL
    };
    gboolean follow = FALSE;
    gint64 since = 0;
    const GOptionEntry entries[] = {
        { "follow", 'F', 0, G_OPTION_ARG_NONE, &follow, "Wait for new events (across rotation)", NULL },
        { "since", 0, 0, G_OPTION_ARG_INT64, &since, "Only events after sequence number SEQ", "SEQ" },
        { NULL },
    };
    g_autoptr(GError) error = NULL;

    if (!cn_cli_parse_options(&self, entries, &argc, &argv))
        return CN_EXIT_USAGE;
    if (argc > 1 || since < 0) {
        cn_cli_error("usage: carthage-net events [--follow] [--since SEQ] [--json]");
        return CN_EXIT_USAGE;
    }
    CnEventFunc print = cli->json ? print_json : print_human;
    guint64 last = (guint64)since;
    do {
        if (!cn_events_read(cli->state_dir, last, print, NULL, &last, &error)) {
            cn_cli_error("%s", error->message);
            return CN_EXIT_SYSTEM;
        }
        if (follow)
            g_usleep(200 * 1000);
    } while (follow);
    return CN_EXIT_OK;
}
