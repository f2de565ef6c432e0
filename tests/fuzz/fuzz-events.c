/* fuzz-events.c - libFuzzer target: the event log as found on disk (a
 * crash, a full disk or a hand edit can leave anything there).  The input
 * is split at its first NUL into events.log.1 and events.log; then the log
 * is read and one event appended.  Checks: the reader delivers whole
 * records in increasing order; the appended record is the file's last
 * line, intact, with a number above the last whole record's; a reader
 * that saw everything before sees it. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "events.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
    guint64 last;
    guint count;
} Seen;

static void check_line(const char *line, guint64 seq, gpointer data)
{
    Seen *seen = data;
    if (seq <= seen->last || !g_str_has_prefix(line, "{\"seq\":") || !g_str_has_suffix(line, "}")) {
        fprintf(stderr, "bad delivery after %" G_GUINT64_FORMAT ": %s\n", seen->last, line);
        abort();
    }
    seen->last = seq;
    seen->count++;
}

static const char *work_dir(void)
{
    static char *dir;
    if (!dir)
        dir = g_dir_make_tmp("cn-fuzz-events-XXXXXX", NULL);
    return dir;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *dir = work_dir();
    g_autofree char *log = g_build_filename(dir, CN_EVENTS_LOG, NULL);
    g_autofree char *rotated = g_strconcat(log, ".1", NULL);
    const uint8_t *nul = memchr(data, 0, size);
    size_t first = nul ? (size_t)(nul - data) : 0;
    size_t second_start = nul ? first + 1 : 0;
    if (!g_file_set_contents(rotated, (const char *)data, (gssize)first, NULL) ||
        !g_file_set_contents(log, (const char *)data + second_start, (gssize)(size - second_start), NULL))
        abort();

    Seen seen = { 0, 0 };
    guint64 last = 0;
    if (!cn_events_read(dir, 0, check_line, &seen, &last, NULL))
        abort();

    g_autoptr(CnEvent) event = cn_event_new("fuzz");
    cn_event_add_string(event, "k", "v");
    guint64 seq = 0;
    g_autofree char *line = NULL;
    g_autoptr(GError) error = NULL;
    if (!cn_events_append(dir, event, 1 << 30, &seq, &line, &error)) {
        if (!strstr(error->message, "sequence numbers exhausted"))
            abort();
        return 0;
    }
    g_autofree char *text = NULL;
    gsize length;
    if (seq == 0 || seq > CN_EVENTS_SEQ_MAX || !g_file_get_contents(log, &text, &length, NULL))
        abort();
    g_autofree char *tail = g_strconcat(line, "\n", NULL);
    size_t tail_length = strlen(tail);
    /* memcmp: the damaged part may hold NUL bytes. */
    if (length < tail_length || memcmp(text + length - tail_length, tail, tail_length) != 0 ||
        (length > tail_length && text[length - tail_length - 1] != '\n')) {
        fprintf(stderr, "appended record not whole on a line of its own\n");
        abort();
    }
    /* A reader that has seen everything before gets the new event, unless
     * the damaged log had numbers out of order (then it is enough that
     * the new number follows the last whole record). */
    Seen after = { 0, 0 };
    guint64 last_after = 0;
    if (!cn_events_read(dir, 0, check_line, &after, &last_after, NULL))
        abort();
    if (seq > last && last_after != seq) {
        fprintf(stderr, "a follower misses event %" G_GUINT64_FORMAT "\n", seq);
        abort();
    }
    return 0;
}
